// The bot's spine end to end, on real components: signed Slack requests into the real Bolt app (web
// process), real Redis (BullMQ, cards, audit stream), a real kube-apiserver + etcd with Kargo's CRDs and
// this repository's own kargo/ manifests, the bot authenticated as its ServiceAccount under deploy/'s Role,
// and the Slack Web API stand-in for everything the bot posts. The test plays the Kargo controller.
import { expect, it, beforeAll, afterAll } from '@jest/globals';
import { mirrorKindOf } from '../../src/domain/audit-mirror.js';
import {
  CHANNELS,
  FRESH_FREIGHT,
  VERIFIED_FREIGHT,
  eventually,
  keyOf,
  seedKargo,
  startHarness,
  textOf,
  type Harness,
} from '../support/bot-harness.js';
import { newTriggerId } from '../../src/sandbox/slack-requests.js';
import { describeWithEnvtest } from '../support/envtest.js';

const DEPLOYS = CHANNELS.deployments;
const ALERTS = CHANNELS.alerts;
const AUDIT = CHANNELS.audit;
const VERIFIED = VERIFIED_FREIGHT;
const FRESH = FRESH_FREIGHT;

describeWithEnvtest('promotion flow: Slack → queue → Kargo → card', (env) => {
  let h: Harness;
  let slack: Harness['slack'];
  let redis: Harness['redis'];
  let prefix: string;
  const send: Harness['send'] = (...args) => h.send(...args);
  const promotions = () => h.promotions();
  const auditRecords = () => h.auditRecords();
  const cardMessages = () => h.cardMessages();
  const setStatus = (name: string, status: object) => h.setPromotionStatus(name, status);

  beforeAll(async () => {
    await seedKargo(env());
    h = await startHarness(env(), { env: { PROMOTE_PROD_USERS: 'U0ALICE', REFUSAL_SUMMARY_SECONDS: '1' } });
    ({ slack, redis, prefix } = h);
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
  });

  it('creates exactly one Promotion for a /promote dev that Slack sends three times, and its card reaches Succeeded', async () => {
    const triggerId = newTriggerId();
    const responseUrl = slack.createResponseUrl({ channel: DEPLOYS, user: 'U0BOB' });
    const replies = [];
    for (let i = 0; i < 3; i += 1)
      replies.push(await send('/promote', 'dev frozen-tauntaun', 'U0BOB', { triggerId, responseUrl }));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(replies[0]!.text).toMatch(/queued/);
    expect(replies[1]!.text).toMatch(/already queued/);

    const created = await eventually(async () => {
      const items = await promotions();
      return items.length > 0 ? items : undefined;
    }, 'the Promotion');
    // Give any duplicate a chance to appear before counting.
    await eventually(
      () => slack.ephemeral({ user: 'U0BOB' }).find((m) => /Kargo promotion/.test(m.text)),
      'the follow-up',
    );
    const items = await promotions();
    expect(items).toHaveLength(1);
    const promotion = items[0]!;
    expect(created[0]!.metadata.name).toBe(promotion.metadata.name);
    expect(promotion.spec.stage).toBe('dev');
    expect(promotion.spec.freight).toBe(VERIFIED);
    expect(promotion.spec.steps.map((s) => s.as)).toEqual(['dispatch', 'waitRun']);
    expect(promotion.metadata.annotations['gitops-infra-pipeline.dev/requested-by']).toBe('slack:U0BOB');

    const followUp = slack.ephemeral({ user: 'U0BOB' }).find((m) => /Kargo promotion/.test(m.text))!;
    expect(followUp.text).toContain(promotion.metadata.name);
    expect(followUp.text).toMatch(/https:\/\/slack\.com\/archives\/C0DEPLOYS\/p\d+/);

    // Play Kargo's controller: Pending → Running (run dispatched) → Succeeded.
    const name = promotion.metadata.name;
    await setStatus(name, { phase: 'Pending' });
    await setStatus(name, {
      phase: 'Running',
      currentStep: 1,
      stepExecutionMetadata: [
        {
          alias: 'dispatch',
          status: 'Succeeded',
          startedAt: '2026-11-27T10:00:00Z',
          finishedAt: '2026-11-27T10:00:01Z',
        },
        { alias: 'waitRun', status: 'Running', startedAt: '2026-11-27T10:00:01Z' },
      ],
      state: {
        dispatch: {
          runId: 424242,
          runUrl: 'https://github.com/acme/gitops-infra-pipeline/actions/runs/424242',
        },
      },
    });
    await eventually(() => cardMessages().find((m) => /Running/.test(textOf(m))), 'the card showing Running');
    await setStatus(name, {
      phase: 'Succeeded',
      stepExecutionMetadata: [
        {
          alias: 'dispatch',
          status: 'Succeeded',
          startedAt: '2026-11-27T10:00:00Z',
          finishedAt: '2026-11-27T10:00:01Z',
        },
        {
          alias: 'waitRun',
          status: 'Succeeded',
          startedAt: '2026-11-27T10:00:01Z',
          finishedAt: '2026-11-27T10:09:00Z',
        },
      ],
    });
    const card = await eventually(
      () => cardMessages().find((m) => /Succeeded/.test(textOf(m))),
      'the card showing Succeeded',
    );
    // One card, posted once and updated in place: the one post of this promotion in #infra-deployments
    // (the card itself says Succeeded; there is no second line beside it).
    expect(cardMessages()).toHaveLength(1);
    expect(card.updateCount).toBeGreaterThan(0);
    expect(textOf(card)).toContain('frozen-tauntaun');
    expect(textOf(card)).toContain('actions/runs/424242');
    await new Promise((r) => setTimeout(r, 1500)); // anything else would have been posted by now
    expect(slack.messages(DEPLOYS).filter((m) => keyOf(m).startsWith('success-'))).toEqual([]);
    expect(slack.calls('chat.postMessage').filter((c) => c.args.channel === DEPLOYS)).toHaveLength(1);

    // Every step is in the audit stream; #infra-audit shows one line per decision and phase change.
    const records = await auditRecords();
    const actions = records.map((r) => `${r.action}:${r.outcome}`);
    expect(actions).toEqual(expect.arrayContaining(['promote:accepted']));
    const forCard = records.filter((r) => r.target === name || r.detail.includes(name));
    expect(forCard.length).toBeGreaterThanOrEqual(3);
    const mirrored = new Set(records.filter((r) => mirrorKindOf(r) !== undefined).map((r) => r.id));
    expect(mirrored.size).toBeGreaterThan(0);
    expect(mirrored.size).toBeLessThan(records.length);
    await eventually(
      () => (slack.messages(AUDIT).length >= mirrored.size ? true : undefined),
      'a line in #infra-audit for every decision and phase change',
    );
    await new Promise((r) => setTimeout(r, 1500)); // a line too many would have been posted by now
    expect(slack.messages(AUDIT)).toHaveLength(mirrored.size);
  }, 90_000);

  it('refuses /promote prod from someone outside the allow list, says why, and audits it', async () => {
    const before = (await promotions()).length;
    const reply = await send('/promote', 'prod frozen-tauntaun', 'U0EVE');
    expect(reply.status).toBe(200);
    expect(reply.text).toMatch(/can't promote to \*prod\*/);
    const denied = await eventually(
      async () => (await auditRecords()).find((r) => r.outcome === 'denied' && r.actor === 'slack:U0EVE'),
      'the denial in the audit stream',
    );
    expect(denied).toMatchObject({ action: 'promote', environment: 'prod' });
    await eventually(
      () => slack.messages(AUDIT).find((m) => m.text.includes('U0EVE')),
      'the denial in #infra-audit',
    );
    expect(await promotions()).toHaveLength(before);
  });

  it('answers prod freight that was not verified in dev to the requester alone: no card, no alert, audited', async () => {
    const responseUrl = slack.createResponseUrl({ channel: DEPLOYS, user: 'U0ALICE' });
    const cardsBefore = cardMessages().length;
    const alertsBefore = slack.messages(ALERTS).length;
    const reply = await send('/promote', 'prod brave-wampa', 'U0ALICE', { responseUrl });
    expect(reply.text).toMatch(/queued/);
    const told = await eventually(
      () => slack.ephemeral({ user: 'U0ALICE' }).find((m) => /cannot go to \*prod\*/.test(m.text)),
      'the refusal follow-up',
    );
    expect(told.text).toMatch(/brave-wampa.*not verified in dev/);
    const record = await eventually(
      async () =>
        (await auditRecords()).find(
          (r) => r.action === 'promote' && r.outcome === 'rejected' && r.actor === 'slack:U0ALICE',
        ),
      'the audit record',
    );
    expect(record.detail).toMatch(/not verified in dev/);
    // A mistyped or not-yet-possible request is not an incident: nothing public.
    await new Promise((r) => setTimeout(r, 1500));
    expect(cardMessages()).toHaveLength(cardsBefore);
    expect(slack.messages(ALERTS)).toHaveLength(alertsBefore);
    expect((await promotions()).filter((p) => p.spec.freight === FRESH)).toHaveLength(0);
  });

  it('answers /freight with where each freight stands', async () => {
    const responseUrl = slack.createResponseUrl({ channel: DEPLOYS, user: 'U0BOB' });
    const reply = await send('/freight', '', 'U0BOB', { responseUrl });
    expect(reply.text).toMatch(/Looking up freight/);
    const answer = await eventually(
      () => slack.ephemeral({ user: 'U0BOB' }).find((m) => /brave-wampa/.test(textOf(m))),
      'the freight list',
    );
    const shown = textOf(answer);
    expect(shown).toContain('frozen-tauntaun');
    expect(shown.indexOf('brave-wampa')).toBeLessThan(shown.indexOf('frozen-tauntaun')); // newest first
    expect(shown).toMatch(/verified/i);
  });

  it('rejects forged and replayed Slack requests with 401, counted in one summary instead of a record each', async () => {
    const before = (await auditRecords()).length;
    const forged = await send('/promote', 'dev latest', 'U0BOB', {
      secret: 'not-the-signing-secret-0000000000',
    });
    expect(forged.status).toBe(401);
    const stale = await send('/promote', 'dev latest', 'U0BOB', {
      timestamp: Math.floor(Date.now() / 1000) - 6 * 60,
    });
    expect(stale.status).toBe(401);
    const future = await send('/promote', 'dev latest', 'U0BOB', {
      timestamp: Math.floor(Date.now() / 1000) + 6 * 60,
    });
    expect(future.status).toBe(401);
    const summaries = await eventually(async () => {
      const found = (await auditRecords()).filter((r) => r.action === 'edge.refused');
      return found.length >= 2 ? found : undefined;
    }, 'the refusal summaries');
    expect(summaries.map((r) => r.detail).sort()).toEqual([
      expect.stringMatching(/^1 refused request on \/slack\/events in the last .*: bad signature$/),
      expect.stringMatching(
        /^2 refused requests on \/slack\/events in the last .*: timestamp outside ±5 minutes$/,
      ),
    ]);
    // Nothing else was written for them: the summaries are the only new records.
    expect((await auditRecords()).length - before).toBe(summaries.length);
  });

  it('answers help and bad input with usage and queues nothing', async () => {
    const help = await send('/promote', 'help', 'U0BOB');
    expect(help.text).toMatch(/Usage: \/promote/);
    const bad = await send('/promote', 'staging now', 'U0BOB');
    expect(bad.text).toMatch(/Usage/);
  });

  it('carries on after its Redis connections are dropped', async () => {
    const list = (await redis.client('LIST')) as string;
    const ours = list
      .split('\n')
      .filter((line) => line.includes(`name=${prefix}`))
      .map((line) => /id=(\d+)/.exec(line)?.[1])
      .filter(Boolean) as string[];
    expect(ours.length).toBeGreaterThan(0);
    for (const id of ours) await redis.client('KILL', 'ID', id);
    const responseUrl = slack.createResponseUrl({ channel: DEPLOYS, user: 'U0BOB' });
    const reply = await eventually(async () => {
      const r = await send('/freight', 'share', 'U0BOB', { responseUrl });
      return /Looking up freight/.test(r.text) ? r : undefined;
    }, 'the web process to queue again');
    expect(reply.status).toBe(200);
    await eventually(
      () => slack.calls('response_url').find((c) => c.args.response_type === 'in_channel'),
      'the worker to answer again',
    );
  });

  it('gives every key it wrote a TTL, or keeps it in a structure with a trim policy', async () => {
    // What may live without a TTL, and why it stays bounded (src/retention.ts):
    const trimmed: Array<[RegExp, string]> = [
      [new RegExp(`^${prefix}:audit$`), 'audit stream: trimmed by age (AUDIT_RETENTION_DAYS)'],
      [
        new RegExp(`^${prefix}:cards$`),
        'recent-cards index: entries older than the card retention dropped on append',
      ],
      [new RegExp(`^${prefix}:approvals:waiting$`), 'approvals waiting: entries older than 32 days dropped'],
      // BullMQ's own queue structures: job hashes are removed by removeOnComplete/removeOnFail (age and
      // count), the lists and sets hold only live or kept jobs, the event stream is capped by BullMQ.
      [
        new RegExp(`^${prefix}:[a-z-]+:(\\d+|[a-z]+-[0-9a-f]{16}|card-[^:]+|post-[^:]+|[^:]+)$`),
        'a BullMQ job or queue structure (bounded by removeOnComplete/removeOnFail)',
      ],
      [
        new RegExp(`^${prefix}:[a-z-]+:repeat:[^:]+(:\\d+)?$`),
        'a job scheduler (removed when its run ends or its poll budget is spent) and the jobs it made (removeOnComplete)',
      ],
      [
        new RegExp(
          `^${prefix}:[a-z-]+:(wait|active|completed|failed|delayed|paused|prioritized|meta|id|events|stalled-check|marker|pc|limiter|repeat|waiting-children|stalled)$`,
        ),
        'BullMQ queue structure',
      ],
    ];
    const untimed: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const ttl = await redis.ttl(key);
        if (ttl > 0) continue;
        if (trimmed.some(([pattern]) => pattern.test(key))) continue;
        untimed.push(`${key} (${await redis.type(key)})`);
      }
    } while (cursor !== '0');
    expect(untimed).toEqual([]);
    // And the card data specifically lives as long as the card retention (35 days by default).
    const cardKeys = (await redis.keys(`${prefix}:card:*`)).filter((k) => !k.endsWith(':stats'));
    expect(cardKeys.length).toBeGreaterThan(0);
    for (const key of cardKeys) {
      expect(await redis.ttl(key)).toBeGreaterThan(34 * 24 * 3600);
      expect(await redis.ttl(key)).toBeLessThanOrEqual(35 * 24 * 3600);
    }
  });
});
