// The notifier on real Redis (BullMQ) against the Slack stand-in, which enforces Slack's limits. Every test
// asserts what ends up in the channel and which calls Slack received, never how long anything took.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { SlackStandIn } from '../../src/sandbox/slack-standin.js';
import { postJobId, queueNameFor } from '../../src/slack/notifier-keys.js';
import { SlackNotifier, type SlackNotifierOptions } from '../../src/slack/notifier.js';
import {
  REDIS,
  deleteKeys,
  killConnections,
  recordingLogger,
  uniquePrefix,
  waitFor,
  type LogLine,
} from './test-support.js';

const FILE_PREFIX = uniquePrefix('notifier');
const CHANNELS = { deployments: 'C0DEPLOYS', alerts: 'C0ALERTS', audit: 'C0AUDIT' } as const;
const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

let standIn: SlackStandIn;
let admin: Redis;
let testNo = 0;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  standIn = await SlackStandIn.start();
  admin = new Redis(REDIS);
});
beforeEach(() => standIn.reset());
afterAll(async () => {
  for (const o of open) await o.close();
  await deleteKeys(admin, FILE_PREFIX);
  await admin.quit();
  await standIn.close();
});

/** A notifier in its own namespace (so tests cannot see each other's jobs); logs recorded. */
function setup(overrides: Partial<SlackNotifierOptions> = {}) {
  testNo += 1;
  const prefix = `${FILE_PREFIX}-${testNo}`;
  const { logger, lines } = recordingLogger();
  const make = (): SlackNotifier => {
    const notifier = new SlackNotifier({
      // The client name lets a test find (and kill) exactly this test's connections.
      connection: { ...REDIS, connectionName: prefix },
      prefix,
      channels: CHANNELS,
      slack: { token: standIn.token, apiUrl: standIn.apiUrl },
      logger,
      retry: { baseDelayMs: 100, maxDelayMs: 1000 },
      parentPollMs: 100,
      ...overrides,
    });
    open.push(notifier);
    return notifier;
  };
  const queues = Object.fromEntries(
    (['deployments', 'alerts', 'audit'] as const).map((c) => [
      c,
      new Queue(queueNameFor(c), { connection: admin, prefix }),
    ]),
  ) as Record<keyof typeof CHANNELS, Queue>;
  open.push(...Object.values(queues));
  /** No job left to run in any channel. */
  const idle = async (): Promise<boolean> => {
    for (const q of Object.values(queues)) {
      const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
      if (Object.values(counts).some((n) => n > 0)) return false;
    }
    return true;
  };
  return { prefix, make, queues, idle, lines };
}

const texts = (channel: string): string[] => standIn.messages(channel).map((m) => m.text);
const okCalls = (method: string) => standIn.calls(method).filter((c) => c.ok);
const errorsLogged = (lines: LogLine[]) => lines.filter((l) => l.level >= 50);

describe('SlackNotifier', () => {
  it('posts once per key, however often post() is called', async () => {
    const { make, idle } = setup();
    const notifier = make();
    await Promise.all([
      notifier.post({ channel: 'deployments', key: 'promote:prod:1', text: 'first' }),
      notifier.post({ channel: 'deployments', key: 'promote:prod:1', text: 'first' }),
      notifier.post({ channel: 'deployments', key: 'promote:prod:1', text: 'first' }),
      notifier.post({ channel: 'deployments', key: 'promote:prod:2', text: 'second' }),
    ]);
    await notifier.start();
    await waitFor('both messages', () => texts('C0DEPLOYS').length === 2);
    await waitFor('queues to drain', idle);
    expect(texts('C0DEPLOYS')).toEqual(['first', 'second']);
    expect(standIn.calls('chat.postMessage')).toHaveLength(2);
    await expect(notifier.lookup('deployments', 'promote:prod:1')).resolves.toMatchObject({
      channel: 'C0DEPLOYS',
    });
    await notifier.close();
  });

  it('posts once per key across a worker restart, even after finished jobs were removed', async () => {
    const { make, idle, queues } = setup();
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const first = make();
    for (const key of keys) await first.post({ channel: 'alerts', key, text: `alert ${key}` });
    await first.start();
    await waitFor('two alerts', () => texts('C0ALERTS').length >= 2);
    await first.close();

    // Whatever the first worker finished is forgotten by BullMQ; only the key → message records remain.
    await queues.alerts.clean(0, 1000, 'completed');
    const second = make();
    for (const key of keys) await second.post({ channel: 'alerts', key, text: `alert ${key}` });
    await second.start();
    await waitFor('all five alerts', () => texts('C0ALERTS').length >= 5);
    await waitFor('queues to drain', idle);
    expect(texts('C0ALERTS')).toEqual(keys.map((k) => `alert ${k}`));
    await second.close();
  });

  it('honours Retry-After: after a 429 the message arrives once, and Slack is not asked again too early', async () => {
    const { make, idle } = setup();
    standIn.injectRateLimit('chat.postMessage', 1);
    const notifier = make();
    await notifier.post({ channel: 'deployments', key: 'k1', text: 'after the 429' });
    await notifier.start();
    await waitFor('the message', () => texts('C0DEPLOYS').length === 1);
    await waitFor('queues to drain', idle);
    expect(texts('C0DEPLOYS')).toEqual(['after the 429']);
    // One refusal, one success: a retry inside the Retry-After window would have been refused too.
    expect(standIn.calls('chat.postMessage').map((c) => c.status)).toEqual([429, 200]);
    await notifier.close();
  });

  it('coalesces a burst of 30 card changes into one post and a few updates, ending on the last change', async () => {
    const { make, idle } = setup();
    const notifier = make();
    await notifier.start();
    for (let i = 1; i <= 30; i++) {
      await notifier.upsert({
        channel: 'deployments',
        key: 'card-1',
        text: `v${i}`,
        blocks: [section(`*v${i}*`)],
      });
    }
    await waitFor('the last version on the card', () => texts('C0DEPLOYS')[0] === 'v30');
    await waitFor('queues to drain', idle);
    expect(okCalls('chat.postMessage')).toHaveLength(1);
    expect(okCalls('chat.update').length).toBeLessThanOrEqual(3);
    expect(standIn.messages('C0DEPLOYS')).toMatchObject([{ text: 'v30', blocks: [section('*v30*')] }]);
    await notifier.close();
  });

  it('never lets an older card version replace a newer one', async () => {
    const { make, idle } = setup();
    const notifier = make();
    await expect(
      notifier.upsert({ channel: 'deployments', key: 'card-2', text: 'v5', version: 5 }),
    ).resolves.toBe('queued');
    await expect(
      notifier.upsert({ channel: 'deployments', key: 'card-2', text: 'v3', version: 3 }),
    ).resolves.toBe('stale');
    await notifier.start();
    await waitFor('the card', () => texts('C0DEPLOYS').length === 1);
    await expect(
      notifier.upsert({ channel: 'deployments', key: 'card-2', text: 'v5 again', version: 5 }),
    ).resolves.toBe('stale');
    await notifier.upsert({ channel: 'deployments', key: 'card-2', text: 'v6', version: 6 });
    await waitFor('v6', () => texts('C0DEPLOYS')[0] === 'v6');
    await waitFor('queues to drain', idle);
    expect(okCalls('chat.postMessage')).toHaveLength(1);
    await notifier.close();
  });

  it('threads a reply under its parent, waiting for the parent when the reply comes first', async () => {
    const { make, idle } = setup();
    const notifier = make();
    await notifier.post({
      channel: 'deployments',
      key: 'card-7:gates',
      text: 'gates passed',
      threadKey: 'card-7',
    });
    await notifier.upsert({ channel: 'deployments', key: 'card-7', text: 'promote prod' });
    await notifier.start();
    await waitFor('the reply', () => standIn.messages('C0DEPLOYS')[0]?.replies.length === 1);
    await waitFor('queues to drain', idle);
    const [card] = standIn.messages('C0DEPLOYS');
    expect(standIn.messages('C0DEPLOYS')).toHaveLength(1);
    expect(card?.text).toBe('promote prod');
    expect(card?.replies.map((r) => [r.text, r.thread_ts])).toEqual([['gates passed', card?.ts]]);
    await notifier.close();
  });

  it('fails permanent errors at once, without retrying, and logs them', async () => {
    const { make, idle, queues, lines } = setup({ channels: { ...CHANNELS, alerts: 'C0MISSING' } });
    const notifier = make();
    await notifier.post({ channel: 'alerts', key: 'lost-alert', text: 'nobody will see this' });
    const tooBig = Array.from({ length: 51 }, (_, i) => section(`block ${i}`));
    await notifier.post({ channel: 'deployments', key: 'too-big', text: 'too big', blocks: tooBig });
    await notifier.start();
    await waitFor('both failures', async () => {
      const states = await Promise.all([
        queues.alerts.getJobState(postJobId('lost-alert')),
        queues.deployments.getJobState(postJobId('too-big')),
      ]);
      return states.every((s) => s === 'failed');
    });
    await waitFor('queues to drain', idle);
    expect(standIn.calls('chat.postMessage').map((c) => c.error)).toEqual(
      expect.arrayContaining(['channel_not_found', 'invalid_blocks']),
    );
    expect(standIn.calls('chat.postMessage')).toHaveLength(2);
    const logged = errorsLogged(lines).map((l) => l.error);
    expect(logged).toEqual(expect.arrayContaining(['channel_not_found', 'invalid_blocks']));
    await notifier.close();
  });

  it('does not post twice when Slack posted but the answer was lost', async () => {
    const { make, idle } = setup();
    standIn.injectLostResponse('chat.postMessage');
    const notifier = make();
    await notifier.post({ channel: 'audit', key: 'audit-1', text: 'exactly once' });
    await notifier.start();
    await waitFor(
      'the message and a drained queue',
      async () => texts('C0AUDIT').length === 1 && (await idle()),
    );
    expect(texts('C0AUDIT')).toEqual(['exactly once']);
    // The retry looked for the message instead of posting it again.
    expect(standIn.calls('chat.postMessage')).toHaveLength(1);
    expect(okCalls('conversations.history').length).toBeGreaterThanOrEqual(1);
    await expect(notifier.lookup('audit', 'audit-1')).resolves.toEqual({
      channel: 'C0AUDIT',
      ts: standIn.messages('C0AUDIT')[0]?.ts,
    });
    await notifier.close();
  });

  it('keeps the channel order through transient Slack failures', async () => {
    const { make, idle } = setup();
    standIn.injectError('chat.postMessage', 'internal_error');
    standIn.injectError('chat.postMessage', 'service_unavailable', { httpStatus: 503 });
    const notifier = make();
    for (const n of [1, 2, 3])
      await notifier.post({ channel: 'deployments', key: `m${n}`, text: `message ${n}` });
    await notifier.start();
    await waitFor('three messages', () => texts('C0DEPLOYS').length === 3);
    await waitFor('queues to drain', idle);
    expect(texts('C0DEPLOYS')).toEqual(['message 1', 'message 2', 'message 3']);
    await notifier.close();
  });

  it('survives its Redis connections being killed and carries on', async () => {
    const { make, idle, prefix } = setup();
    const notifier = make();
    for (const n of [1, 2, 3])
      await notifier.post({ channel: 'deployments', key: `before-${n}`, text: `before ${n}` });
    await notifier.start();
    await waitFor('the first message', () => texts('C0DEPLOYS').length >= 1);

    const killed = await killConnections(admin, prefix);
    expect(killed).toBeGreaterThanOrEqual(4);

    for (const n of [1, 2, 3])
      await notifier.post({ channel: 'deployments', key: `after-${n}`, text: `after ${n}` });
    await waitFor('all six messages', () => texts('C0DEPLOYS').length >= 6, 25_000);
    await waitFor('queues to drain', idle);
    expect(texts('C0DEPLOYS')).toEqual(['before 1', 'before 2', 'before 3', 'after 1', 'after 2', 'after 3']);
    await notifier.close();
  }, 40_000);

  it('rejects bad configuration when constructed', () => {
    const base = {
      connection: REDIS,
      prefix: 'x',
      channels: CHANNELS,
      slack: { token: 'xoxb-x' },
    };
    expect(() => new SlackNotifier({ ...base, channels: { ...CHANNELS, audit: '' } })).toThrow(
      /channels\.audit/,
    );
    expect(() => new SlackNotifier({ ...base, limiter: { max: 0, duration: 1000 } })).toThrow(/limiter/);
    expect(() => new SlackNotifier({ ...base, slack: { token: '' } })).toThrow(/slack\.token/);
  });
});
