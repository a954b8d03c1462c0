// A promotion's GitHub Actions run followed end to end: Kargo's dispatch step (played by the test) starts a
// run on the GitHub stand-in, which simulates this repository's workflow and sends signed webhooks to the
// real web process; the worker turns deliveries (or, with webhooks off, polling) into card events and reads
// the run's artifacts. Every request the bot makes is checked against GitHub's OpenAPI description.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { DEFAULT_STANDIN_PAT, GithubStandIn } from '../../src/sandbox/github-standin.js';
import type { ScenarioName } from '../../src/sandbox/github-scenarios.js';
import {
  CHANNELS,
  VERIFIED_FREIGHT,
  WEBHOOK_SECRET,
  eventually,
  keyOf,
  seedKargo,
  startHarness,
  textOf,
  type Harness,
} from '../support/bot-harness.js';
import { describeWithEnvtest } from '../support/envtest.js';

describeWithEnvtest('following the GitHub run of a promotion', (env) => {
  let github: GithubStandIn;
  let h: Harness;
  const seen = new Set<string>();

  beforeAll(async () => {
    await seedKargo(env());
    github = await GithubStandIn.start({ owner: 'acme', repo: 'gitops-infra-pipeline' });
    h = await startHarness(env(), {
      env: {
        GITHUB_API_URL: github.url,
        GITHUB_TOKEN: DEFAULT_STANDIN_PAT,
        GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        PROMOTE_PROD_USERS: 'U0ALICE',
      },
      worker: {
        pollSchedule: { steps: [[Number.POSITIVE_INFINITY, 500]], budget: 200 },
        artifactBackoffMs: 300,
      },
    });
    github.setWebhook({ url: `http://127.0.0.1:${h.web.port}/github/webhook`, secret: WEBHOOK_SECRET });
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
    await github?.stop();
  });

  /** /promote from Slack, then Kargo's part: dispatch the workflow, report the run, end the promotion. */
  async function promoteAndRun(
    environment: 'dev' | 'prod',
    user: string,
    scenario: ScenarioName,
    /** Runs once the card links the run, before the run is played to its end. */
    midway?: (runId: number) => Promise<void>,
  ) {
    await h.send('/promote', `${environment} frozen-tauntaun`, user);
    const promotion = await eventually(
      async () =>
        (await h.promotions()).find((p) => p.spec.stage === environment && !seen.has(p.metadata.name)),
      `a new ${environment} Promotion`,
    );
    const name = promotion.metadata.name;
    seen.add(name);
    github.queueScenario(scenario);
    // Kargo's `dispatch` http step, as kargo/stages.yaml sends it.
    const res = await fetch(
      `${github.url}/repos/acme/gitops-infra-pipeline/actions/workflows/terraform.yaml/dispatches`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${DEFAULT_STANDIN_PAT}`,
          accept: 'application/vnd.github+json',
          'content-type': 'application/json',
          'x-github-api-version': '2022-11-28',
        },
        body: JSON.stringify({
          ref: 'main',
          inputs: {
            environment,
            deploy_prod: environment === 'prod' ? 'yes' : 'no',
            promotion: name,
            freight_sha: VERIFIED_FREIGHT,
          },
          return_run_details: true,
        }),
      },
    );
    expect(res.status).toBe(200);
    const { workflow_run_id: runId, html_url: runUrl } = (await res.json()) as {
      workflow_run_id: number;
      html_url: string;
    };
    await h.setPromotionStatus(name, {
      phase: 'Running',
      stepExecutionMetadata: [
        { alias: 'dispatch', status: 'Succeeded' },
        { alias: 'waitRun', status: 'Running' },
      ],
      state: { dispatch: { runId, runUrl } },
    });
    const card = () => h.cardMessages().find((m) => textOf(m).includes(name));
    await eventually(() => card() && textOf(card()!).includes(`runs/${runId}`), 'the card linking the run');
    await midway?.(runId);
    await github.runUntilIdle();
    const conclusion = github.run(runId)?.conclusion;
    // Kargo's `waitRun` step sees the run end.
    await h.setPromotionStatus(name, {
      phase: conclusion === 'success' ? 'Succeeded' : 'Failed',
      ...(conclusion === 'success' ? {} : { message: `workflow run ${runId} concluded ${conclusion}` }),
      stepExecutionMetadata: [
        { alias: 'dispatch', status: 'Succeeded' },
        { alias: 'waitRun', status: conclusion === 'success' ? 'Succeeded' : 'Failed' },
      ],
    });
    return { name, runId, card };
  }

  it('shows a passing dev run live on its one card: every gate, the plan summary, outputs in the thread', async () => {
    const downloadsBefore = github.requestCount({ operationId: 'actions/download-artifact' });
    let pollsWhileHeard = -1;
    const { name, card } = await promoteAndRun('dev', 'U0BOB', 'dev-pass', async () => {
      // Part of the run plays out: deliveries arrive. For two seconds (four poll intervals here) the bot
      // has heard from the run lately, so the safety-net poller asks GitHub nothing.
      await github.advance(1500);
      await eventually(() => github.deliveries().length > 0 || undefined, 'a delivery');
      await new Promise((r) => setTimeout(r, 1000));
      const before = github.requestCount({ operationId: 'actions/get-workflow-run' });
      await new Promise((r) => setTimeout(r, 2000));
      pollsWhileHeard = github.requestCount({ operationId: 'actions/get-workflow-run' }) - before;
    });
    const shown = await eventually(() => {
      const c = card();
      return c && /Succeeded/.test(textOf(c)) && /\+\d+/.test(textOf(c)) ? c : undefined;
    }, 'the card with the plan summary and Succeeded');
    const text = textOf(shown);
    for (const gate of [
      'OPA policies',
      'AWS · fmt',
      'AWS · TFLint',
      'AWS · Trivy',
      'AWS plan',
      'AWS apply',
    ]) {
      expect(text).toContain(gate);
    }
    expect(text).not.toMatch(/❌/);
    const thread = await eventually(
      () => (shown.replies.length > 0 ? shown.replies : undefined),
      'the outputs thread',
    );
    expect(textOf(thread[0]!)).toContain('i-0123456789abcdef0');
    // The card is the promotion's only top-level message in #infra-deployments.
    expect(h.slack.messages(CHANNELS.deployments).filter((m) => keyOf(m) === keyOf(shown))).toHaveLength(1);
    expect(h.slack.messages(CHANNELS.deployments).filter((m) => keyOf(m).startsWith('success-'))).toEqual([]);
    const stats = await h.redis.hgetall(
      `${h.prefix}:card:${(await h.auditRecords()).find((r) => r.target === name)?.cardId}:stats`,
    );
    // With webhooks: no polling while deliveries flow, and the artifacts in one download (run-results).
    expect(pollsWhileHeard).toBe(0);
    expect(Number(stats.github ?? 0)).toBeGreaterThan(0);
    expect(Number(stats.github ?? 0)).toBeLessThanOrEqual(10);
    expect(github.requestCount({ operationId: 'actions/download-artifact' }) - downloadsBefore).toBe(1);
    github.assertNoViolations();
  }, 90_000);

  it('sends a failing prod Trivy gate to #infra-alerts with the failed job and step, and marks the card failed', async () => {
    const { name, card } = await promoteAndRun('prod', 'U0ALICE', 'prod-trivy-fail');
    const alert = await eventually(
      () => h.slack.messages(CHANNELS.alerts).find((m) => textOf(m).includes(name)),
      'the alert',
    );
    expect(textOf(alert)).toMatch(/prod gates/);
    expect(textOf(alert)).toMatch(/Trivy|prod gate/);
    expect(textOf(alert)).toMatch(/\/actions\/runs\/\d+/);
    // Failed as soon as Kargo says so; the Trivy counts arrive with the gate-result artifacts just after.
    const shown = await eventually(
      () =>
        card() && /Failed/.test(textOf(card()!)) && /critical/i.test(textOf(card()!)) ? card() : undefined,
      'the failed card with the Trivy findings',
    );
    expect(textOf(shown)).toMatch(/AWS · Trivy/);
    github.assertNoViolations();
  }, 90_000);

  it('says clearly on the card when an artifact is missing, instead of crashing', async () => {
    const { card } = await promoteAndRun('dev', 'U0BOB', 'missing-artifact');
    await eventually(
      () => card() && textOf(card()!).includes('plan-summary-aws-dev') && /missing/.test(textOf(card()!)),
      'the missing-artifact line',
    );
    github.assertNoViolations();
  }, 90_000);

  it('shows a run that GitHub cancels as cancelled', async () => {
    const { card } = await promoteAndRun('dev', 'U0BOB', 'cancelled');
    await eventually(() => card() && /cancel/i.test(textOf(card()!)), 'the cancelled card');
    github.assertNoViolations();
  }, 90_000);

  it('follows a run through polling alone when no webhook arrives, asking conditionally (304s are free)', async () => {
    github.sendWebhooksFor(false);
    try {
      const before = github.deliveries().length;
      const notModifiedBefore = github.requests().filter((r) => r.status === 304).length;
      const { card, runId, name } = await promoteAndRun('dev', 'U0BOB', 'dev-pass', async () => {
        // The run does not move for a few polls: each asks with the last ETags and gets 304s.
        await eventually(
          () =>
            github.requests().filter((r) => r.status === 304).length >= notModifiedBefore + 4 || undefined,
          'polls answered 304 Not Modified',
        );
      });
      const shown = await eventually(
        () =>
          card() && /Succeeded/.test(textOf(card()!)) && card()!.replies.length > 0 ? card() : undefined,
        'the card followed by polling',
      );
      expect(textOf(shown)).toContain('AWS · TFLint');
      expect(github.deliveries({ runId }).length).toBe(0);
      expect(github.deliveries().length).toBe(before);
      const stats = await h.redis.hgetall(
        `${h.prefix}:card:${(await h.auditRecords()).find((r) => r.target === name)?.cardId}:stats`,
      );
      expect(Number(stats.notModified ?? 0)).toBeGreaterThanOrEqual(4);
      // The bot has a webhook secret, so polling is the safety net: it asks for the run (conditionally)
      // and lists the jobs only when the run changed.
      const conditional = github
        .requests()
        .filter((r) => r.status === 304)
        .map((r) => r.operationId);
      expect(new Set(conditional)).toEqual(new Set(['actions/get-workflow-run']));
      github.assertNoViolations();
    } finally {
      github.sendWebhooksFor(true);
    }
  }, 90_000);

  it('ignores deliveries for runs no card follows', async () => {
    const run = github.startRun({
      environment: 'dev',
      deployProd: false,
      promotion: 'made-by-hand',
      scenario: 'dev-pass',
    });
    await github.runUntilIdle();
    await eventually(() => github.deliveries({ runId: run.id }).length > 0, 'deliveries for the foreign run');
    await new Promise((r) => setTimeout(r, 500));
    expect(h.cardMessages().some((m) => textOf(m).includes(String(run.id)))).toBe(false);
  });
});
