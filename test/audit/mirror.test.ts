// The #infra-audit mirror on real Redis, through the real notifier, against the Slack stand-in: every
// record reaches the channel once and in order, through Slack failures and restarts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AuditMirror, formatAuditLine } from '../../src/audit/mirror.js';
import { AuditLog, auditStreamKey } from '../../src/audit/stream.js';
import type { AuditRecord } from '../../src/domain/audit.js';
import { SlackStandIn } from '../../src/sandbox/slack-standin.js';
import { queueNameFor } from '../../src/slack/notifier-keys.js';
import { SlackNotifier } from '../../src/slack/notifier.js';
import { REDIS, deleteKeys, recordingLogger, uniquePrefix, waitFor } from '../slack/test-support.js';

const FILE_PREFIX = uniquePrefix('audit-mirror');
const CHANNELS = { deployments: 'C0DEPLOYS', alerts: 'C0ALERTS', audit: 'C0AUDIT' } as const;

const record = (n: number, overrides: Partial<AuditRecord> = {}): AuditRecord => ({
  id: `evt:${n}`,
  at: `2026-11-27T10:00:${String(n).padStart(2, '0')}.000Z`,
  actor: 'slack:U1',
  action: 'promote',
  environment: 'prod',
  outcome: 'accepted',
  detail: `request ${n}`,
  ...overrides,
});

let standIn: SlackStandIn;
let admin: Redis;
let testNo = 0;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  // A little faster than Slack's 1/s so that tests with many records stay short; the limits still apply.
  standIn = await SlackStandIn.start({ rateLimits: { postMessagePerSecond: 5, postMessageBurst: 5 } });
  admin = new Redis(REDIS);
});
beforeEach(() => standIn.reset());
afterAll(async () => {
  for (const o of open) await o.close();
  await deleteKeys(admin, FILE_PREFIX);
  await admin.quit();
  await standIn.close();
});

function setup() {
  const prefix = `${FILE_PREFIX}-${++testNo}`;
  const { logger } = recordingLogger();
  const audit = new AuditLog({ connection: REDIS, prefix });
  open.push(audit);
  const notifier = (): SlackNotifier => {
    const n = new SlackNotifier({
      connection: REDIS,
      prefix,
      channels: CHANNELS,
      slack: { token: standIn.token, apiUrl: standIn.apiUrl },
      limiter: { max: 5, duration: 1000 },
      retry: { baseDelayMs: 100, maxDelayMs: 500 },
      logger,
    });
    open.push(n);
    return n;
  };
  const mirror = (poster: SlackNotifier, consumer = 'mirror-1', claimIdleMs = 60_000): AuditMirror => {
    const m = new AuditMirror({
      connection: REDIS,
      prefix,
      notifier: poster,
      consumer,
      claimIdleMs,
      blockMs: 200,
      logger,
    });
    open.push(m);
    return m;
  };
  const auditQueue = new Queue(queueNameFor('audit'), { connection: admin, prefix });
  open.push(auditQueue);
  /** Every stream entry acknowledged and every Slack job finished. */
  const settled = async (): Promise<boolean> => {
    const [pending] = (await admin.xpending(auditStreamKey(prefix), 'slack-mirror')) as [number];
    const counts = await auditQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return Number(pending) === 0 && Object.values(counts).every((n) => n === 0);
  };
  return { prefix, audit, notifier, mirror, settled };
}

const auditTexts = (): string[] => standIn.messages('C0AUDIT').map((m) => m.text);
const linesFor = (ns: number[]): string[] => ns.map((n) => formatAuditLine(record(n)));
const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('AuditMirror', () => {
  it('formats a record as one compact #infra-audit line', () => {
    expect(formatAuditLine(record(1))).toBe(
      ':white_check_mark: *promote* prod by <@U1> — accepted: request 1',
    );
    expect(
      formatAuditLine(
        record(2, {
          actor: 'github:octo<cat>',
          outcome: 'denied',
          target: 'frozen-`tiger`',
          detail: 'four-eyes & co',
        }),
      ),
    ).toBe(
      ":no_entry: *promote* prod `frozen-'tiger'` by github:octo&lt;cat&gt; — denied: four-eyes &amp; co",
    );
  });

  it('posts each record exactly once, in stream order', async () => {
    const { audit, notifier, mirror, settled } = setup();
    for (const n of range(1, 5)) await audit.append(record(n));
    await audit.append(record(3)); // a retried job appending the same fact again
    const poster = notifier();
    await poster.start();
    await mirror(poster).start();
    await waitFor('five audit lines', () => auditTexts().length >= 5);
    await waitFor('stream and queue settled', settled);
    expect(auditTexts()).toEqual(linesFor(range(1, 5)));
  });

  it('posts what was appended while Slack failed, once Slack recovers', async () => {
    const { audit, notifier, mirror, settled } = setup();
    standIn.injectError('chat.postMessage', 'service_unavailable', { httpStatus: 503, times: 3 });
    standIn.injectError('chat.postMessage', 'internal_error', { times: 2 });
    const poster = notifier();
    await poster.start();
    await mirror(poster).start();
    for (const n of range(1, 4)) await audit.append(record(n));
    await waitFor('four audit lines', () => auditTexts().length >= 4);
    await waitFor('stream and queue settled', settled);
    expect(auditTexts()).toEqual(linesFor(range(1, 4)));
    expect(standIn.calls('chat.postMessage').filter((c) => !c.ok)).toHaveLength(5);
  });

  it('neither loses nor duplicates records when restarted mid-way', async () => {
    const { audit, notifier, mirror, settled } = setup();
    for (const n of range(1, 10)) await audit.append(record(n));
    const poster1 = notifier();
    await poster1.start();
    const mirror1 = mirror(poster1);
    await mirror1.start();
    await waitFor('the first lines', () => auditTexts().length >= 3);
    await mirror1.close();
    await poster1.close();

    for (const n of range(11, 15)) await audit.append(record(n)); // appended while nothing mirrors
    const poster2 = notifier();
    await poster2.start();
    await mirror(poster2).start();
    await waitFor('all fifteen lines', () => auditTexts().length >= 15, 25_000);
    await waitFor('stream and queue settled', settled);
    expect(auditTexts()).toEqual(linesFor(range(1, 15)));
  }, 40_000);

  it('takes over entries a dead mirror read but never acknowledged, without posting them twice', async () => {
    const { prefix, audit, notifier, mirror, settled } = setup();
    for (const n of range(1, 6)) await audit.append(record(n));
    // A mirror on another pod read three entries, enqueued the first two, and died before acknowledging.
    const stream = auditStreamKey(prefix);
    await admin.xgroup('CREATE', stream, 'slack-mirror', '0', 'MKSTREAM');
    await admin.call('XREADGROUP', 'GROUP', 'slack-mirror', 'dead-pod', 'COUNT', '3', 'STREAMS', stream, '>');
    const poster = notifier();
    for (const n of [1, 2])
      await poster.post({ channel: 'audit', key: record(n).id, text: formatAuditLine(record(n)) });

    await poster.start();
    await mirror(poster, 'live-pod', 300).start();
    await waitFor('six audit lines', () => auditTexts().length >= 6);
    await waitFor('stream and queue settled', settled);
    expect(auditTexts()).toEqual(linesFor(range(1, 6)));
    const consumers = (await admin.xinfo('CONSUMERS', stream, 'slack-mirror')) as unknown[][];
    const pendingOf = (name: string) => {
      const c = consumers.find((fields) => fields[fields.indexOf('name') + 1] === name);
      return c ? Number(c[c.indexOf('pending') + 1]) : 0;
    };
    expect(pendingOf('dead-pod')).toBe(0);
  });
});
