// How many GitHub requests following one promotion's run costs, from dispatch to artifacts, with App auth:
// - webhook mode: the run's progress arrives as workflow_run/workflow_job deliveries; the API is used to
//   dispatch, and on workflow_run.completed to list the artifacts and download one, run-results (the
//   workflow's results job bundles every result artifact into it; jobs come from the deliveries, so
//   readRunArtifacts lists nothing else);
// - polling mode (no webhooks): GET the run every 15 s, list its jobs when the run's updated_at moved, and
//   read the artifacts once it completed;
// - polling without a run id (GHES, 204 dispatch): one list-runs call finds it by its run-name first.
// Runs use realistic job durations (minutes of stand-in time; the clock is virtual, the test takes seconds).
// The numbers are asserted exactly (the simulation is deterministic) and printed for the documentation.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { eventsFromDelivery } from '../../src/github/webhooks.js';
import type { GithubRuns } from '../../src/github/runs.js';
import type { GithubStandIn } from '../../src/sandbox/github-standin.js';
import type { Scenario } from '../../src/sandbox/github-scenarios.js';
import { captureLog, clientFor, runsFor, startReceiver, startStandIn } from './helpers.js';

const MIN = 60_000;
const POLL_MS = 15_000;
const REALISTIC: Scenario = {
  name: 'realistic',
  description: 'every job passes, with durations like the real pipeline',
  queueDelayMs: 5_000,
  jobs: {
    policy: { durationMs: 3 * MIN },
    aws: { durationMs: 4 * MIN },
    gcp: { durationMs: 3 * MIN },
    azure: { durationMs: 3 * MIN },
    'aws-dev': { durationMs: 10 * MIN },
    'prod-gates': { durationMs: 5 * MIN },
    'aws-prod': { durationMs: 12 * MIN },
    notify: { durationMs: 20_000 },
  },
};

type Inputs = { environment: 'dev' | 'prod'; deployProd: boolean; promotion: string };

describe('GitHub requests per followed run', () => {
  let standIn: GithubStandIn;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const table: string[] = [];

  beforeAll(async () => {
    receiver = await startReceiver();
    standIn = await startStandIn({ webhook: { url: receiver.url, secret: 'counting' } });
  });
  afterEach(() => {
    standIn.assertNoViolations();
    standIn.reset();
    receiver.received.length = 0;
  });
  afterAll(async () => {
    await standIn.stop();
    await receiver.close();
    console.log(
      `GitHub requests per followed run (App auth, poll every ${POLL_MS / 1000} s):\n${table.join('\n')}`,
    );
  });

  /** A fresh client per run: its first request mints an installation token, as a new worker would. */
  const freshRuns = (): GithubRuns => runsFor(standIn, clientFor(standIn, 'app', captureLog('warn').logger));

  function counts(label: string): Record<string, number> {
    const byOp: Record<string, number> = {};
    for (const r of standIn.requests()) byOp[r.operationId ?? '?'] = (byOp[r.operationId ?? '?'] ?? 0) + 1;
    const total = standIn.requestCount();
    const storage = standIn.storageRequests().length;
    table.push(`  ${label}: ${total} API requests (+${storage} storage downloads) ${JSON.stringify(byOp)}`);
    return { total, storage, ...byOp };
  }

  async function followWithWebhooks(inputs: Inputs): Promise<Record<string, number>> {
    standIn.queueScenario(REALISTIC);
    const runs = freshRuns();
    const { runId } = await runs.dispatch(inputs, { ref: 'main' });
    await standIn.runUntilIdle();
    const events = receiver.received.flatMap((d) =>
      eventsFromDelivery(d.headers['x-github-event'] as string, JSON.parse(d.body), {
        cardIdForRun: () => 'card',
      }),
    );
    expect(events.some((e) => e.type === 'RunStatusChanged' && e.status === 'completed')).toBe(true);
    const jobs = [
      ...new Map(events.flatMap((e) => (e.type === 'RunJobChanged' ? [[e.jobId, e] as const] : []))).values(),
    ];
    const result = await runs.readRunArtifacts(runId as number, {
      environment: inputs.environment,
      deployProd: inputs.deployProd,
      jobs,
    });
    expect(result.problems).toEqual([]);
    return counts(`webhooks ${inputs.environment}${inputs.deployProd ? '+deploy' : ''}`);
  }

  async function followByPolling(inputs: Inputs, withRunId: boolean): Promise<Record<string, number>> {
    standIn.sendWebhooksFor(false);
    try {
      standIn.queueScenario(REALISTIC);
      const runs = freshRuns();
      const since = new Date(standIn.now());
      const dispatched = await runs.dispatch(inputs, { ref: 'main', returnRunDetails: withRunId });
      const runId =
        dispatched.runId ?? (await runs.findRunForPromotion(inputs.promotion, { createdAfter: since }))?.id;
      if (runId === undefined) throw new Error('run not found');
      let lastUpdate = '';
      let jobs: Awaited<ReturnType<GithubRuns['listJobs']>> = [];
      for (;;) {
        await standIn.advance(POLL_MS);
        const run = await runs.getRun(runId);
        if (run.updated_at !== lastUpdate) {
          jobs = await runs.listJobs(runId);
          lastUpdate = run.updated_at;
        }
        if (run.status === 'completed') break;
      }
      const result = await runs.readRunArtifacts(runId, {
        environment: inputs.environment,
        deployProd: inputs.deployProd,
        jobs,
      });
      expect(result.problems).toEqual([]);
      return counts(
        `polling ${inputs.environment}${inputs.deployProd ? '+deploy' : ''}${withRunId ? '' : ' (no run id)'}`,
      );
    } finally {
      standIn.sendWebhooksFor(true);
    }
  }

  it('webhook mode, dev: dispatch, then artifacts on completion', async () => {
    const c = await followWithWebhooks({
      environment: 'dev',
      deployProd: false,
      promotion: 'dev.01kcount1.abc1234',
    });
    // 18 result artifacts, read through run-results: 4 requests (21 when each artifact was downloaded).
    expect(c).toEqual({
      total: 4,
      storage: 1,
      'apps/create-installation-access-token': 1,
      'actions/create-workflow-dispatch': 1,
      'actions/list-workflow-run-artifacts': 1,
      'actions/download-artifact': 1,
    });
  });

  it('webhook mode, prod with deploy', async () => {
    const c = await followWithWebhooks({
      environment: 'prod',
      deployProd: true,
      promotion: 'prod.01kcount2.abc1234',
    });
    // 17 gates + the applied plan summary + the outputs, in one run-results download.
    expect(c).toMatchObject({
      total: 4,
      storage: 1,
      'actions/download-artifact': 1,
      'actions/list-workflow-run-artifacts': 1,
    });
  });

  it('polling mode, dev', async () => {
    const c = await followByPolling(
      { environment: 'dev', deployProd: false, promotion: 'dev.01kcount3.abc1234' },
      true,
    );
    // ~17.5 min of run at one GET per 15 s; jobs listed only when the run changed.
    expect(c).toEqual({
      total: 82,
      storage: 1,
      'apps/create-installation-access-token': 1,
      'actions/create-workflow-dispatch': 1,
      'actions/get-workflow-run': 71,
      'actions/list-jobs-for-workflow-run': 7,
      'actions/list-workflow-run-artifacts': 1,
      'actions/download-artifact': 1,
    });
  });

  it('polling mode, prod with deploy', async () => {
    const c = await followByPolling(
      { environment: 'prod', deployProd: true, promotion: 'prod.01kcount4.abc1234' },
      true,
    );
    expect(c).toMatchObject({
      total: 95,
      'actions/get-workflow-run': 83,
      'actions/list-jobs-for-workflow-run': 8,
      'actions/download-artifact': 1,
    });
  });

  it('polling mode without a run id (GHES): one list-runs call more', async () => {
    const c = await followByPolling(
      { environment: 'dev', deployProd: false, promotion: 'dev.01kcount5.abc1234' },
      false,
    );
    expect(c).toMatchObject({ total: 83, 'actions/list-workflow-runs': 1, 'actions/get-workflow-run': 71 });
  });
});
