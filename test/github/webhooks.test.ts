// Webhook deliveries of the GitHub stand-in, received by a plain HTTP endpoint: every payload validates
// against @octokit/webhooks-schemas (and, inside the stand-in, against the OpenAPI description's x-webhooks),
// every signature verifies with @octokit/webhooks-methods, and eventsFromDelivery turns them into card events
// whose ids make duplicates, redeliveries, the double `waiting` and out-of-order arrival harmless — and match
// the ids polling produces for the same state.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { sign, verify } from '@octokit/webhooks-methods';
import {
  eventsFromDelivery,
  jobEvent,
  parseRunName,
  promotionNameFromRun,
  runIdOf,
  runNameFor,
  runStatusEvent,
  type RunEvent,
} from '../../src/github/webhooks.js';
import type { GithubStandIn } from '../../src/sandbox/github-standin.js';
import { SCENARIOS } from '../../src/sandbox/github-scenarios.js';
import {
  captureLog,
  clientFor,
  runsFor,
  startReceiver,
  startStandIn,
  webhookSchema,
  type ReceivedDelivery,
} from './helpers.js';

const SECRET = "It's a Secret to Everybody";
const CARD = 'promo-card-1';
const follow = { cardIdForRun: () => CARD };

const eventsOf = (deliveries: ReceivedDelivery[]): RunEvent[] =>
  deliveries.flatMap((d) =>
    eventsFromDelivery(d.headers['x-github-event'] as string, JSON.parse(d.body), follow),
  );

describe('webhook deliveries', () => {
  let standIn: GithubStandIn;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeAll(async () => {
    receiver = await startReceiver();
    standIn = await startStandIn({ webhook: { url: receiver.url, secret: SECRET } });
  });
  afterEach(() => {
    standIn.assertNoViolations();
    standIn.reset();
    receiver.received.length = 0;
  });
  afterAll(async () => {
    await standIn.stop();
    await receiver.close();
  });

  it('are signed over the exact body and validate against @octokit/webhooks-schemas, for every action', async () => {
    standIn.startRun({ environment: 'dev', deployProd: false, promotion: 'dev.01khooks.abc1234' });
    const prod = standIn.startRun({
      environment: 'prod',
      deployProd: true,
      promotion: 'prod.01khooks.abc1234',
      scenario: { ...SCENARIOS['prod-pass'], waitAtEnvironments: ['prod'] },
    });
    await standIn.runUntilIdle();
    expect(standIn.run(prod.id)?.status).toBe('waiting');
    expect(await standIn.approve(prod.id, 'prod')).toBe(1);
    await standIn.runUntilIdle();
    expect(standIn.run(prod.id)?.conclusion).toBe('success');

    const seen = new Set<string>();
    for (const d of receiver.received) {
      const event = d.headers['x-github-event'] as string;
      const payload = JSON.parse(d.body) as { action: string };
      seen.add(`${event}.${payload.action}`);
      expect(d.headers['x-github-delivery']).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      );
      expect(d.headers['content-type']).toBe('application/json');
      expect(await verify(SECRET, d.body, d.headers['x-hub-signature-256'] as string)).toBe(true);
      expect(await verify('another secret', d.body, d.headers['x-hub-signature-256'] as string)).toBe(false);
      const validate = webhookSchema(event, payload.action);
      const valid = validate(payload);
      expect([`${event}.${payload.action}`, valid ? [] : validate.errors?.slice(0, 3)]).toEqual([
        `${event}.${payload.action}`,
        [],
      ]);
    }
    expect([...seen].sort()).toEqual([
      'workflow_job.completed',
      'workflow_job.in_progress',
      'workflow_job.queued',
      'workflow_job.waiting',
      'workflow_run.completed',
      'workflow_run.in_progress',
      'workflow_run.requested',
    ]);
  });

  it("the signature is GitHub's: sha256 HMAC of the raw body (documented test vector)", async () => {
    expect(await sign(SECRET, 'Hello, World!')).toBe(
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
    standIn.startRun({ environment: 'dev', deployProd: false });
    await standIn.advance(0);
    const [first] = receiver.received;
    expect(first?.headers['x-hub-signature-256']).toBe(await sign(SECRET, first?.body ?? ''));
    await standIn.runUntilIdle();
  });

  it('eventsFromDelivery maps workflow_run and workflow_job actions to RunStatusChanged / RunJobChanged', async () => {
    const run = standIn.startRun({
      environment: 'prod',
      deployProd: true,
      promotion: 'prod.01kmap.abc1234',
      scenario: 'prod-trivy-fail',
    });
    await standIn.runUntilIdle();
    const events = eventsOf(receiver.received);
    const runEvents = events.filter((e) => e.type === 'RunStatusChanged');
    expect(runEvents.map((e) => [e.id, e.status, e.conclusion ?? null])).toEqual([
      [`run:${run.id}:1:queued`, 'queued', null],
      [`run:${run.id}:1:in_progress`, 'in_progress', null],
      [`run:${run.id}:1:completed`, 'completed', 'failure'],
    ]);
    expect(runEvents[2]).toMatchObject({
      cardId: CARD,
      runId: run.id,
      runAttempt: 1,
      triggeredBy: 'deployer',
      htmlUrl: `https://github.com/acme/gitops-infra-pipeline/actions/runs/${run.id}`,
    });
    const gates = events.filter((e) => e.type === 'RunJobChanged' && e.name.startsWith('prod gates'));
    expect(gates.map((e) => e.status)).toEqual(['queued', 'in_progress', 'completed']);
    const done = gates[2];
    expect(done).toMatchObject({ type: 'RunJobChanged', conclusion: 'failure', runId: run.id });
    if (done?.type !== 'RunJobChanged') throw new Error('unreachable');
    expect(done.steps.find((s) => s.name === 'Fail on a failed prod gate')).toMatchObject({
      status: 'completed',
      conclusion: 'failure',
    });
    expect(done.steps.map((s) => s.number)).toEqual(done.steps.map((_s, i) => i + 1));
    const skipped = events.find((e) => e.type === 'RunJobChanged' && e.name === 'aws prod apply');
    expect(skipped).toMatchObject({ status: 'completed', conclusion: 'skipped', steps: [] });
  });

  it('`waiting` arrives twice and maps to one event id', async () => {
    const run = standIn.startRun({
      environment: 'prod',
      deployProd: true,
      scenario: { ...SCENARIOS['prod-pass'], waitAtEnvironments: ['prod'] },
    });
    await standIn.runUntilIdle();
    const waiting = standIn.deliveries({ event: 'workflow_job', action: 'waiting', runId: run.id });
    expect(waiting).toHaveLength(2);
    expect(waiting[0]?.id).not.toBe(waiting[1]?.id);
    const ids = eventsOf(receiver.received)
      .filter((e) => e.type === 'RunJobChanged' && e.status === 'waiting')
      .map((e) => e.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
    await standIn.approve(run.id, 'prod');
    await standIn.runUntilIdle();
  });

  it('redeliveries keep their X-GitHub-Delivery and body, and add no new event id', async () => {
    standIn.startRun({ environment: 'dev', deployProd: false });
    await standIn.runUntilIdle();
    const firstPass = new Set(eventsOf(receiver.received).map((e) => e.id));
    const originals = standIn.deliveries();
    for (const d of [...originals].reverse()) await standIn.redeliver(d.id);
    const redelivered = receiver.received.slice(originals.length);
    expect(redelivered.map((d) => d.headers['x-github-delivery'])).toEqual(
      [...originals].reverse().map((d) => d.id),
    );
    expect(redelivered.map((d) => d.body)).toEqual([...originals].reverse().map((d) => d.body));
    expect(new Set(eventsOf(receiver.received).map((e) => e.id))).toEqual(firstPass);
  });

  it('polling-only mode: nothing is delivered', async () => {
    standIn.sendWebhooksFor(false);
    try {
      standIn.startRun({ environment: 'dev', deployProd: false });
      await standIn.runUntilIdle();
      expect(receiver.received).toEqual([]);
      expect(standIn.deliveries()).toEqual([]);
    } finally {
      standIn.sendWebhooksFor(true);
    }
  });
});

describe('duplicates and out-of-order deliveries', () => {
  /** One prod run (with an approval wait) on a fresh stand-in; the events its deliveries carry. */
  async function followOnce(outOfOrder: boolean): Promise<{ events: RunEvent[]; polled: Set<string> }> {
    const receiver = await startReceiver();
    const standIn = await startStandIn({
      webhook: { url: receiver.url, secret: SECRET },
      startTime: Date.parse('2026-11-27T09:00:00Z'),
    });
    try {
      standIn.deliverOutOfOrder(outOfOrder);
      const run = standIn.startRun({
        environment: 'prod',
        deployProd: true,
        promotion: 'prod.01korder.abc1234',
        scenario: { ...SCENARIOS['prod-pass'], waitAtEnvironments: ['prod'] },
      });
      await standIn.runUntilIdle();
      await standIn.approve(run.id, 'prod');
      await standIn.runUntilIdle();
      // Out of order *and* duplicated: every delivery again, newest first.
      if (outOfOrder) for (const d of [...standIn.deliveries()].reverse()) await standIn.redeliver(d.id);
      // What polling sees at the end, through the same mappers.
      const runs = runsFor(standIn, clientFor(standIn, 'app', captureLog('warn').logger));
      const polled = new Set([
        runStatusEvent(await runs.getRun(run.id), CARD).id,
        ...(await runs.listJobs(run.id)).map((j) => jobEvent(j, CARD).id),
      ]);
      standIn.assertNoViolations();
      return { events: eventsOf(receiver.received), polled };
    } finally {
      await standIn.stop();
      await receiver.close();
    }
  }

  it('yield the same set of event ids (and the same events) as in-order delivery', async () => {
    const inOrder = await followOnce(false);
    const shuffled = await followOnce(true);
    expect(shuffled.events.length).toBeGreaterThan(inOrder.events.length);
    const byId = (events: RunEvent[]) => new Map(events.map((e) => [e.id, e]));
    expect([...byId(shuffled.events).keys()].sort()).toEqual([...byId(inOrder.events).keys()].sort());
    // Same id → same content: a duplicate is identical, not just same-named.
    expect(byId(shuffled.events)).toEqual(byId(inOrder.events));
    // The final state seen by polling is among the webhook-derived ids: the two sources de-duplicate.
    for (const id of inOrder.polled) expect(byId(inOrder.events).has(id)).toBe(true);
  });
});

describe('eventsFromDelivery, runIdOf, run-names (pure)', () => {
  it('returns [] for other events, other actions, malformed payloads and runs no card follows', () => {
    const run = { id: 7, status: 'completed', run_attempt: 1 };
    expect(eventsFromDelivery('push', { action: 'completed', workflow_run: run }, follow)).toEqual([]);
    expect(eventsFromDelivery('workflow_run', { action: 'deleted', workflow_run: run }, follow)).toEqual([]);
    expect(eventsFromDelivery('workflow_run', { action: 'completed' }, follow)).toEqual([]);
    expect(
      eventsFromDelivery('workflow_job', { action: 'completed', workflow_job: { id: 1 } }, follow),
    ).toEqual([]);
    expect(eventsFromDelivery('workflow_run', 'not an object', follow)).toEqual([]);
    expect(
      eventsFromDelivery(
        'workflow_run',
        { action: 'completed', workflow_run: run },
        { cardIdForRun: () => undefined },
      ),
    ).toEqual([]);
  });

  it('triggeredBy is the triggering actor (a re-run), else the actor', () => {
    const base = {
      id: 7,
      status: 'completed',
      conclusion: 'success',
      run_attempt: 2,
      actor: { login: 'alice' },
    };
    const [withTrigger] = eventsFromDelivery(
      'workflow_run',
      { action: 'completed', workflow_run: { ...base, triggering_actor: { login: 'bob' } } },
      follow,
    );
    const [withoutTrigger] = eventsFromDelivery(
      'workflow_run',
      { action: 'completed', workflow_run: base },
      follow,
    );
    expect(withTrigger).toMatchObject({ triggeredBy: 'bob', id: 'run:7:2:completed' });
    expect(withoutTrigger).toMatchObject({ triggeredBy: 'alice' });
  });

  it('runIdOf finds the run of each delivery kind', () => {
    expect(runIdOf('workflow_run', { workflow_run: { id: 11 } })).toBe(11);
    expect(runIdOf('workflow_job', { workflow_job: { id: 5, run_id: 12 } })).toBe(12);
    expect(runIdOf('deployment_review', { workflow_run: { id: 13 } })).toBe(13);
    expect(
      runIdOf('deployment_protection_rule', {
        deployment_callback_url:
          'https://api.github.com/repos/acme/infra/actions/runs/9100000042/deployment_protection_rule',
      }),
    ).toBe(9100000042);
    expect(
      runIdOf('deployment_protection_rule', { deployment_callback_url: 'https://example.com/x' }),
    ).toBeUndefined();
    expect(runIdOf('push', { workflow_run: { id: 1 } })).toBeUndefined();
  });

  it("run-names: the workflow's format, read back; manual runs name no promotion", () => {
    const name = runNameFor({ environment: 'prod', deployProd: true, promotion: 'prod.01kxyz.abc1234' });
    expect(name).toBe('terraform prod promotion=prod.01kxyz.abc1234 deploy_prod=yes');
    expect(parseRunName(name)).toEqual({
      environment: 'prod',
      deployProd: true,
      promotion: 'prod.01kxyz.abc1234',
    });
    expect(parseRunName('terraform dev promotion=manual deploy_prod=no')).toEqual({
      environment: 'dev',
      deployProd: false,
    });
    expect(parseRunName('Update README.md')).toBeUndefined();
    expect(promotionNameFromRun({ display_title: name, name: 'terraform' })).toBe('prod.01kxyz.abc1234');
    expect(promotionNameFromRun({ display_title: 'something else', name })).toBe('prod.01kxyz.abc1234');
    expect(
      promotionNameFromRun({ display_title: 'terraform dev promotion=manual deploy_prod=no' }),
    ).toBeUndefined();
  });
});
