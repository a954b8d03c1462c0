// The drift follower end to end on real parts: the GitHub stand-in runs this repository's drift.yaml (its
// jobs and drift artifacts, every request checked against GitHub's OpenAPI description) and sends signed
// workflow_run deliveries; the follower reads the artifacts with the real Octokit client, keeps its state in
// real Redis, appends to the real audit stream and posts through the real notifier to the Slack stand-in.
// Asserted: what #infra-alerts shows (one card per environment and drift, updated in place), what the audit
// stream holds, what /drift answers, and how many GitHub requests a check costs. Never timings.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis } from '../../src/queue/connection.js';
import { summariseDrift } from '../../src/artifacts/drift.js';
import { AuditLog } from '../../src/audit/stream.js';
import { startDriftFollower, type DriftFollower } from '../../src/drift/follower.js';
import { DriftStore } from '../../src/drift/store.js';
import type { ArtifactContext, Scenario } from '../../src/sandbox/github-scenarios.js';
import { syntheticDriftPlan } from '../../src/sandbox/github-scenarios.js';
import type { GithubStandIn } from '../../src/sandbox/github-standin.js';
import { SlackStandIn } from '../../src/sandbox/slack-standin.js';
import { queueNameFor } from '../../src/slack/notifier-keys.js';
import { SlackNotifier } from '../../src/slack/notifier.js';
import { processDrift } from '../../src/worker/drift.js';
import { githubConfig, startReceiver, startStandIn } from '../github/helpers.js';
import { REDIS_URL } from '../support/redis.js';
import { deleteKeys, recordingLogger, uniquePrefix, waitFor } from '../slack/test-support.js';

const PREFIX = uniquePrefix('drift');
const CHANNELS = { deployments: 'C0DEPLOYS', alerts: 'C0ALERTS', audit: 'C0AUDIT' } as const;

let github: GithubStandIn;
let slack: SlackStandIn;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let redis: Redis;
let notifier: SlackNotifier;
let audit: AuditLog;
let follower: DriftFollower;
let alertsQueue: Queue;
const log = recordingLogger();

beforeAll(async () => {
  receiver = await startReceiver();
  github = await startStandIn({ webhook: { url: receiver.url, secret: 'drift-test' } });
  slack = await SlackStandIn.start({ rateLimits: false });
  redis = createRedis(REDIS_URL, 'worker', PREFIX);
  notifier = new SlackNotifier({
    connection: redis,
    prefix: PREFIX,
    channels: CHANNELS,
    slack: { token: slack.token, apiUrl: slack.apiUrl },
    logger: log.logger,
    limiter: { max: 50, duration: 1000 },
  });
  await notifier.start();
  audit = new AuditLog({ connection: redis, prefix: PREFIX });
  alertsQueue = new Queue(queueNameFor('alerts'), { connection: redis, prefix: PREFIX });
  follower = startDriftFollower({
    config: { github: { ...githubConfig(github, 'app'), webhookSecret: 'drift-test' } },
    redis,
    prefix: PREFIX,
    logger: log.logger,
    notifier,
    audit,
    ttlSeconds: 3600,
    artifactAttempts: 2,
    artifactBackoffMs: 50,
    retryAfterUnitMs: 1,
  });
}, 30_000);

afterAll(async () => {
  await follower?.close();
  await notifier?.close();
  await alertsQueue?.close();
  await audit?.close();
  await deleteKeys(redis, PREFIX);
  redis?.disconnect();
  await slack?.close();
  await github?.stop();
  await receiver?.close();
});

beforeEach(() => {
  github.assertNoViolations();
});

const store = (): DriftStore => new DriftStore(redis, PREFIX, 3600);
const alerts = () => slack.messages(CHANNELS.alerts);
const textOf = (m: { text: string; blocks?: unknown[] }): string =>
  `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;

/** Nothing left to post in #infra-alerts. */
async function alertsIdle(): Promise<boolean> {
  const counts = await alertsQueue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  return Object.values(counts).every((n) => n === 0);
}

/**
 * GitHub's schedule fires: the stand-in runs drift.yaml to its end and delivers its webhooks, which the
 * bot's router hands to the follower (only the drift run's workflow_run deliveries are claimed). Resolves
 * once the run's artifacts were read and everything it posted is out.
 */
async function driftRun(scenario: Scenario | string): Promise<{ runId: number; requests: number }> {
  const before = github.requestCount();
  receiver.received.length = 0;
  const run = github.startDriftRun({ scenario: scenario as Scenario });
  await github.runUntilIdle();
  for (const d of receiver.received) {
    const event = d.headers['x-github-event']!;
    const payload = JSON.parse(d.body) as unknown;
    if (follower.claims(event, payload))
      await follower.onDelivery(event, payload, d.headers['x-github-delivery']!);
  }
  await waitFor(`drift run ${run.id} read`, () => store().wasRead(run.id));
  await waitFor('#infra-alerts idle', alertsIdle);
  github.assertNoViolations();
  return { runId: run.id, requests: github.requestCount() - before };
}

/** drift-dev's drift plus a security group rule deleted by hand: the drift changed. */
const moreDrift: Scenario = {
  name: 'drift-dev-more',
  description: 'aws dev drifted further: a security group rule deleted outside Terraform',
  jobs: { 'aws-dev': { outputs: { plan: { code: '2' } } } },
  artifacts: {
    'drift-aws-dev': {
      json: (ctx: ArtifactContext) => {
        const plan = syntheticDriftPlan('dev') as { resource_drift: unknown[] };
        plan.resource_drift.push({
          address: 'aws_vpc_security_group_ingress_rule.https',
          mode: 'managed',
          type: 'aws_vpc_security_group_ingress_rule',
          change: { actions: ['delete'], before: { cidr_ipv4: '10.0.0.0/16' }, after: null },
        });
        return summariseDrift(plan, {
          cloud: 'aws',
          environment: 'dev',
          exitCode: 2,
          checkedAt: ctx.uploadedAt,
          run: ctx.run,
        });
      },
    },
  },
};

async function auditActions(): Promise<string[]> {
  const entries = await audit.read({ count: 1000 });
  return entries.map((e) => e.record.action).filter((a) => a.startsWith('drift.'));
}

describe('drift runs → #infra-alerts', () => {
  it('claims only the drift workflow’s workflow_run deliveries (terraform.yaml runs stay with their cards)', async () => {
    receiver.received.length = 0;
    github.startRun({ environment: 'dev', deployProd: false, scenario: 'dev-pass' });
    await github.runUntilIdle();
    const claimed = receiver.received.filter((d) =>
      follower.claims(d.headers['x-github-event']!, JSON.parse(d.body) as unknown),
    );
    expect(receiver.received.length).toBeGreaterThan(0);
    expect(claimed).toEqual([]);
  });

  it('in sync: nothing in Slack, nothing audited, and /drift says when it was checked', async () => {
    const { requests } = await driftRun('drift-in-sync');
    expect(alerts()).toEqual([]);
    expect(await auditActions()).toEqual([]);
    // One artifact list and one download per artifact (aws dev and prod), plus the App's installation token.
    expect(requests).toBe(4);
    const views = await follower.status();
    expect(views.map((v) => [v.environment, v.status])).toEqual([
      ['dev', 'in-sync'],
      ['prod', 'in-sync'],
    ]);
  });

  it('drift in dev: exactly one card, grouped by action, names only; audited first; /drift dev shows it', async () => {
    const { runId, requests } = await driftRun('drift-dev');
    expect(requests).toBe(3); // the installation token is reused
    expect(alerts()).toHaveLength(1);
    const card = alerts()[0]!;
    const shown = textOf(card);
    expect(card.text).toMatch(
      /^⚠️ Drift in dev: 2 resources changed outside Terraform \(1 changed, 1 deleted\)/,
    );
    expect(shown).toContain('aws_security_group.eks_nodes');
    expect(shown).toContain('ingress, tags');
    expect(shown).toContain('aws_cloudwatch_log_group.eks');
    expect(shown).toContain('Deleted outside Terraform');
    expect(shown).toContain(`runs/${runId}`);
    // Never a value of the plan.
    expect(shown).not.toMatch(/0\.0\.0\.0\/0|sg-0a1b2c3d|edited-by|console/);
    expect(await auditActions()).toEqual(['drift.detected']);

    const replies: Array<{ text: string }> = [];
    await processDrift(
      {
        kind: 'drift',
        requestId: 'drift-1',
        environment: 'dev',
        actor: { slackUserId: 'U0ALICE' },
        reply: { channelId: CHANNELS.deployments, responseUrl: 'https://hooks.slack.test/x' },
      },
      { drift: follower, responder: { reply: async (_url, r) => void replies.push(r) } },
    );
    expect(replies).toHaveLength(1);
    const answer = JSON.stringify(replies[0]);
    expect(answer).toContain('drifted: 2 resources');
    expect(answer).toContain('aws_cloudwatch_log_group.eks');
    expect(answer).not.toContain('*prod*');
  });

  it('the same drift again: nothing new in Slack, nothing audited', async () => {
    await driftRun('drift-dev');
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0]!.updateCount).toBe(0);
    expect(alerts()[0]!.replies).toEqual([]);
    expect(await auditActions()).toEqual(['drift.detected']);
  });

  it('the drift changes: the same card is updated and one thread reply says what is new', async () => {
    await driftRun(moreDrift);
    expect(alerts()).toHaveLength(1);
    const card = alerts()[0]!;
    expect(card.updateCount).toBeGreaterThanOrEqual(1);
    expect(card.text).toMatch(/Drift in dev: 3 resources/);
    expect(card.replies).toHaveLength(1);
    expect(card.replies[0]!.text).toMatch(/New: `aws_vpc_security_group_ingress_rule\.https` \(delete\)/);
    expect(await auditActions()).toEqual(['drift.detected', 'drift.changed']);
  });

  it('back in sync: the card says so, no new message; the next drift gets a card of its own', async () => {
    await driftRun('drift-in-sync');
    expect(alerts()).toHaveLength(1);
    expect(alerts()[0]!.text).toMatch(/^✅ dev is back in sync/);
    expect(alerts()[0]!.replies).toHaveLength(1);
    expect(await auditActions()).toEqual(['drift.detected', 'drift.changed', 'drift.resolved']);
    await driftRun('drift-dev');
    expect(alerts()).toHaveLength(2);
    expect(alerts()[1]!.text).toMatch(/^⚠️ Drift in dev/);
  });

  it('a malformed and a missing artifact: a clear log line each, no card, no crash; the state stays', async () => {
    const before = alerts().length;
    const errorsBefore = log.lines.filter((l) => l.level >= 50).length;
    await driftRun('drift-broken');
    expect(alerts()).toHaveLength(before);
    const errors = log.lines.filter((l) => l.level >= 50).slice(errorsBefore);
    expect(errors.map((l) => [l.msg, l.artifact])).toEqual(
      expect.arrayContaining([
        ['drift artifact missing from the run: no drift card for it (did its job run?)', 'drift-aws-prod'],
        ['drift artifact unusable: no drift card for it', 'drift-aws-dev'],
      ]),
    );
    expect((await follower.status()).find((v) => v.environment === 'dev')?.status).toBe('drifted');
  });
});

describe('without a webhook secret: a bounded poll', () => {
  it('finds the newest completed drift run with one request per interval, and reads it once', async () => {
    const prefix = `${PREFIX}-poll`;
    const polled = startDriftFollower({
      config: { github: githubConfig(github, 'app') },
      redis,
      prefix,
      logger: log.logger,
      notifier,
      audit,
      ttlSeconds: 3600,
      pollEveryMs: 200,
      retryAfterUnitMs: 1,
    });
    try {
      const run = github.startDriftRun({ scenario: 'drift-in-sync' });
      await github.runUntilIdle();
      const marker = new DriftStore(redis, prefix, 3600);
      await waitFor('the polled run read', () => marker.wasRead(run.id));
      const lists = github.requestCount({ operationId: 'actions/list-workflow-runs' });
      await waitFor('two more polls', () =>
        github.requestCount({ operationId: 'actions/list-workflow-runs' }) >= lists + 2 ? true : undefined,
      );
      // Each poll lists the newest completed drift run only; the run was read once.
      const polls = github.requests({ operationId: 'actions/list-workflow-runs' });
      expect(
        polls.every((r) => /workflows\/drift\.yaml\/runs$/.test(r.path) && /per_page=1/.test(r.query)),
      ).toBe(true);
      expect(
        github
          .requests({ operationId: 'actions/list-workflow-run-artifacts' })
          .filter((r) => r.path.includes(`/runs/${run.id}/`)),
      ).toHaveLength(1);
      github.assertNoViolations();
    } finally {
      await polled.close();
      await deleteKeys(redis, prefix);
    }
  });
});
