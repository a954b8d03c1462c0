// Delivery metrics read from a real Redis audit stream: the hand-built history (test/domain/dora-history.ts)
// is appended as the bot appends records, then read back in bounded pages. Asserted: the numbers equal the
// pure computation, the Prometheus gauges carry them per window, and /stats answers them.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { DeliveryMetrics } from '../../src/audit/delivery.js';
import { AuditLog } from '../../src/audit/stream.js';
import { computeDora } from '../../src/domain/dora.js';
import { createMetrics } from '../../src/metrics.js';
import { processStats } from '../../src/worker/stats.js';
import type { Reply } from '../../src/worker/responder.js';
import { EXPECTED, HISTORY, NOW } from '../domain/dora-history.js';
import { REDIS, deleteKeys, recordingLogger, uniquePrefix } from '../slack/test-support.js';

const PREFIX = uniquePrefix('delivery');
let redis: Redis;
let audit: AuditLog;

beforeAll(async () => {
  redis = new Redis(REDIS);
  audit = new AuditLog({ connection: redis, prefix: PREFIX });
  // Records unrelated to delivery sit in between, as in the real stream.
  for (const [i, record] of HISTORY.entries()) {
    await audit.append(record);
    await audit.append({
      id: `noise:${i}`,
      at: record.at,
      actor: 'slack:U0ALICE',
      action: 'freight',
      outcome: 'accepted',
      detail: '/freight',
    });
  }
});

afterAll(async () => {
  await audit?.close();
  await deleteKeys(redis, PREFIX);
  await redis?.quit();
});

describe('DeliveryMetrics on the audit stream', () => {
  it('reads in bounded pages, catching up over several refreshes, then agrees with the pure computation', async () => {
    const metrics = createMetrics('worker');
    const reader = new DeliveryMetrics({
      audit,
      gauges: metrics.dora,
      logger: recordingLogger().logger,
      pageSize: 10,
      maxPages: 3,
      now: () => NOW,
    });
    const total = HISTORY.length * 2;
    const first = await reader.refresh();
    expect(first).toEqual({ read: 30, caughtUp: false });
    expect(reader.complete).toBe(false);
    let read = first.read;
    for (let i = 0; i < 10 && !reader.complete; i += 1) read += (await reader.refresh()).read;
    expect(read).toBe(total);
    expect(reader.complete).toBe(true);
    // Nothing new: nothing read.
    expect(await reader.refresh()).toEqual({ read: 0, caughtUp: true });

    for (const days of [7, 30, 90]) {
      expect(reader.metrics(days)).toEqual(computeDora(HISTORY, { now: NOW, days }));
    }
    const m = reader.metrics(30);
    expect(m.deployments).toBe(EXPECTED[30].deployments);
    expect(m.changeFailureRate).toBe(EXPECTED[30].changeFailureRate);

    const exposition = await metrics.registry.metrics();
    const sample = (name: string, window: string): number | undefined => {
      const line = exposition
        .split('\n')
        .find((l) => l.startsWith(`${name}{`) && l.includes(`window="${window}"`));
      return line === undefined ? undefined : Number(line.split(' ').at(-1));
    };
    expect(sample('chatops_dora_deployments', '30d')).toBe(3);
    expect(sample('chatops_dora_deployments', '90d')).toBe(4);
    expect(sample('chatops_dora_deployments_per_day', '30d')).toBeCloseTo(0.1, 10);
    expect(sample('chatops_dora_lead_time_seconds', '30d')).toBe(26 * 3600);
    expect(sample('chatops_dora_change_failure_ratio', '30d')).toBe(0.5);
    expect(sample('chatops_dora_time_to_restore_seconds', '30d')).toBe(48 * 3600);
    // Nothing restored in the last 7 days: no sample rather than a made-up zero.
    expect(sample('chatops_dora_time_to_restore_seconds', '7d')).toBeUndefined();
    expect(exposition).toMatch(
      new RegExp(`chatops_dora_last_refresh_timestamp_seconds\\{[^}]*\\} ${NOW.getTime() / 1000}`),
    );
  });

  it('/stats answers the requester (ephemeral) with the four numbers and the weekly sparkline', async () => {
    const reader = new DeliveryMetrics({ audit, logger: recordingLogger().logger, now: () => NOW });
    const replies: Reply[] = [];
    await processStats(
      {
        kind: 'stats',
        requestId: 'stats-1',
        days: 30,
        actor: { slackUserId: 'U0ALICE' },
        reply: { channelId: 'C0DEPLOYS', responseUrl: 'https://hooks.slack.test/stats' },
      },
      { delivery: reader, responder: { reply: async (_url, reply) => void replies.push(reply) } },
    );
    expect(replies).toHaveLength(1);
    const reply = replies[0]!;
    expect(reply.visibility ?? 'ephemeral').toBe('ephemeral');
    expect(reply.text).toBe('Delivery metrics, last 30 days: 3 prod deployments, change failure rate 50%.');
    const shown = JSON.stringify(reply.blocks);
    expect(shown).toContain('`▁▁███`');
    expect(shown).toContain('Lead time, commit → prod:* median 1d 2h');
  });
});
