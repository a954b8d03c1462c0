// The #infra-audit mirror on real Redis, through the real notifier, against the Slack stand-in: every
// record #infra-audit shows (one per decision and phase change) reaches the channel once and in order,
// through Slack failures and restarts; the others stay in the stream only.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { AuditMirror, type AuditMirrorOptions } from '../../src/audit/mirror.js';
import { AUDIT_RECORD_ACTION_ID, formatAuditLine } from '../../src/domain/audit-mirror.js';
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
  const mirror = (
    poster: SlackNotifier,
    consumer = 'mirror-1',
    claimIdleMs = 60_000,
    context?: AuditMirrorOptions['context'],
  ): AuditMirror => {
    const m = new AuditMirror({
      connection: REDIS,
      prefix,
      notifier: poster,
      consumer,
      claimIdleMs,
      blockMs: 200,
      logger,
      ...(context ? { context } : {}),
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

  it('shows decisions and phase changes only, with a Full record button; the stream keeps every record', async () => {
    const { audit, notifier, mirror, settled } = setup();
    const card = 'req-00000000000000aa';
    const story: AuditRecord[] = [
      record(1, { id: 'event:requested', cardId: card, detail: 'alice requested a promotion' }),
      record(2, { id: 'event:freight', cardId: card, action: 'freight.resolved', outcome: 'info' }),
      record(3, {
        id: 'event:created',
        cardId: card,
        actor: 'kargo:slack:U1',
        action: 'promotion.created',
        target: 'dev.01k.abc1234',
        outcome: 'info',
      }),
      record(4, { id: 'event:step', cardId: card, action: 'promotion.step', outcome: 'info' }),
      record(5, { id: 'event:job', cardId: card, action: 'run.job', outcome: 'succeeded' }),
      record(6, { id: 'event:gate', cardId: card, action: 'gate.result', outcome: 'succeeded' }),
      record(7, {
        id: 'event:done',
        cardId: card,
        actor: 'system',
        action: 'promotion.phase',
        environment: undefined,
        outcome: 'succeeded',
        detail: 'Promotion dev.01k.abc1234 succeeded.',
        facts: { phase: 'Succeeded' },
      }),
      record(8, { id: 'cmd:looked', action: 'unlock', outcome: 'info', detail: 'showed the lock' }),
    ];
    const poster = notifier();
    await poster.start();
    const context: AuditMirrorOptions['context'] = () =>
      Promise.resolve({ environment: 'dev', runUrl: 'https://github.com/acme/infra/actions/runs/42' });
    await mirror(poster, 'mirror-1', 60_000, context).start();
    for (const r of story) await audit.append(r);
    await waitFor('stream and queue settled', async () => (await settled()) && auditTexts().length >= 3);

    const lines = standIn.messages('C0AUDIT');
    expect(lines.map((m) => m.text)).toEqual([
      ':white_check_mark: *promote* prod by <@U1> — accepted: alice requested a promotion · <https://github.com/acme/infra/actions/runs/42|run>',
      ':information_source: *promotion.created* prod by kargo:slack:U1 — info: request 3 · `dev.01k.abc1234` · <https://github.com/acme/infra/actions/runs/42|run>',
      ':large_green_circle: *promotion.phase* dev by system — succeeded: Promotion dev.01k.abc1234 succeeded. · <https://github.com/acme/infra/actions/runs/42|run>',
    ]);
    for (const line of lines) {
      const accessory = (line.blocks as Array<{ accessory?: { action_id?: string; value?: string } }>)[0]
        ?.accessory;
      expect(accessory).toMatchObject({ action_id: AUDIT_RECORD_ACTION_ID, value: card });
    }
    expect((await audit.read({ count: 100 })).map((e) => e.record.id)).toEqual(story.map((r) => r.id));
    expect(await audit.forCard(card)).toHaveLength(7);
  });
});
