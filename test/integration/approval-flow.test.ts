// Prod approval from Slack through the whole bot (protection-rule mode): the run waits at the prod
// environment, GitHub's deployment_protection_rule webhook puts Approve/Reject on the card, the requester is
// refused (four-eyes), a listed approver approves with a signed click, the decision reaches GitHub's
// protection-rule endpoint with the installation token, and the run goes on to apply.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { DEFAULT_STANDIN_PAT, GithubStandIn } from '../../src/sandbox/github-standin.js';
import { blockActionsBody, newTriggerId, signedSlackRequest } from '../../src/sandbox/slack-requests.js';
import type { StandInMessage } from '../../src/sandbox/slack-standin.js';
import { APP_ID, INSTALLATION_ID, appKeys } from '../github/helpers.js';
import {
  CHANNELS,
  SIGNING_SECRET,
  VERIFIED_FREIGHT,
  WEBHOOK_SECRET,
  eventually,
  seedKargo,
  startHarness,
  textOf,
  type Harness,
} from '../support/bot-harness.js';
import { describeWithEnvtest } from '../support/envtest.js';

interface ButtonElement {
  type: string;
  action_id?: string;
  value?: string;
}

describeWithEnvtest('approving prod from Slack (protection-rule mode)', (env) => {
  let github: GithubStandIn;
  let h: Harness;

  beforeAll(async () => {
    await seedKargo(env());
    github = await GithubStandIn.start({
      owner: 'acme',
      repo: 'gitops-infra-pipeline',
      app: { id: APP_ID, publicKey: appKeys.publicKey, installationId: INSTALLATION_ID },
      environments: { prod: { customRule: true } },
    });
    h = await startHarness(env(), {
      env: {
        GITHUB_API_URL: github.url,
        GITHUB_APP_ID: APP_ID,
        GITHUB_APP_PRIVATE_KEY: appKeys.privateKey,
        GITHUB_APP_INSTALLATION_ID: String(INSTALLATION_ID),
        GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        APPROVAL_MODE: 'protection-rule',
        PROMOTE_PROD_USERS: 'U0ALICE',
        // Lets the run guard retry quickly in this test.
        PROMOTE_PATIENCE_MINUTES: '1',
        APPROVE_PROD_USERS: 'U0ALICE,U0BOB',
      },
      worker: {
        pollSchedule: { steps: [[Number.POSITIVE_INFINITY, 500]], budget: 200 },
        artifactBackoffMs: 300,
        runGuardBackoffMs: 200,
      },
    });
    github.setWebhook({ url: `http://127.0.0.1:${h.web.port}/github/webhook`, secret: WEBHOOK_SECRET });
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
    await github?.stop();
  });

  async function click(user: string, message: StandInMessage, actionId: string): Promise<number> {
    const button = ((message.blocks ?? []) as Array<{ type: string; elements?: ButtonElement[] }>)
      .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []))
      .find((e) => e.action_id === actionId);
    if (!button) throw new Error(`no ${actionId} button on the card`);
    const body = blockActionsBody({
      type: 'block_actions',
      user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0SANDBOX' },
      api_app_id: 'A0SANDBOX',
      token: 'deprecated',
      container: {
        type: 'message',
        message_ts: message.ts,
        channel_id: CHANNELS.deployments,
        is_ephemeral: false,
      },
      trigger_id: newTriggerId(),
      team: { id: 'T0SANDBOX', domain: 'sandbox' },
      channel: { id: CHANNELS.deployments, name: 'infra-deployments' },
      message: { ts: message.ts, text: message.text, blocks: message.blocks },
      response_url: h.slack.createResponseUrl({ channel: CHANNELS.deployments, user, messageTs: message.ts }),
      actions: [
        {
          action_id: actionId,
          block_id: 'approval',
          value: button.value,
          type: 'button',
          action_ts: `${Date.now() / 1000}`,
        },
      ],
    });
    const signed = signedSlackRequest(SIGNING_SECRET, body);
    const res = await fetch(`http://127.0.0.1:${h.web.port}/slack/events`, {
      method: 'POST',
      headers: signed.headers,
      body,
    });
    return res.status;
  }

  /** Plays Kargo's dispatch step for the Promotion: starts the prod run on the stand-in, and reports it. */
  async function startRun(
    name: string,
    scenario: Parameters<GithubStandIn['queueScenario']>[0] = 'prod-pass',
  ): Promise<number> {
    github.queueScenario(scenario);
    const res = await fetch(
      `${github.url}/repos/acme/gitops-infra-pipeline/actions/workflows/terraform.yaml/dispatches`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${DEFAULT_STANDIN_PAT}`,
          accept: 'application/vnd.github+json',
          'content-type': 'application/json',
        },
        body: JSON.stringify({
          ref: 'main',
          inputs: { environment: 'prod', deploy_prod: 'yes', promotion: name, freight_sha: VERIFIED_FREIGHT },
          return_run_details: true,
        }),
      },
    );
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
    return runId;
  }

  /** /promote prod by alice, the run started and waiting at the prod gate; its card with the buttons. */
  async function waitingProdPromotion(): Promise<{
    name: string;
    runId: number;
    card: () => StandInMessage | undefined;
  }> {
    const before = new Set((await h.promotions()).map((p) => p.metadata.name));
    await h.send('/promote', 'prod frozen-tauntaun', 'U0ALICE');
    const promotion = await eventually(
      async () => (await h.promotions()).find((p) => p.spec.stage === 'prod' && !before.has(p.metadata.name)),
      'the prod Promotion',
    );
    const name = promotion.metadata.name;
    const runId = await startRun(name);
    const card = () => h.cardMessages().find((m) => textOf(m).includes(name));
    await github.runUntilIdle();
    await eventually(
      () => card() && textOf(card()!).includes('approve_prod'),
      'the Approve button on the card',
    );
    return { name, runId, card };
  }

  it('the requester is refused, a listed approver approves, and the run goes on to apply', async () => {
    await h.send('/promote', 'prod frozen-tauntaun', 'U0ALICE');
    const promotion = await eventually(
      async () => (await h.promotions()).find((p) => p.spec.stage === 'prod'),
      'the prod Promotion',
    );
    const name = promotion.metadata.name;
    const runId = await startRun(name);
    const card = () => h.cardMessages().find((m) => textOf(m).includes(name));
    await eventually(() => card() && textOf(card()!).includes(`runs/${runId}`), 'the card linking the run');
    await github.runUntilIdle();

    // GitHub asks the App (deployment_protection_rule): the card offers Approve / Reject.
    const waiting = await eventually(
      () => (card() && textOf(card()!).includes('approve_prod') ? card() : undefined),
      'the Approve button on the card',
    );
    expect(github.pendingGates(runId)).toEqual([
      expect.objectContaining({ environment: 'prod', customRule: true }),
    ]);

    // Four-eyes: the requester may not approve their own promotion.
    expect(await click('U0ALICE', waiting, 'approve_prod')).toBe(200);
    await eventually(
      async () => (await h.auditRecords()).find((r) => r.actor === 'slack:U0ALICE' && r.outcome === 'denied'),
      'the refused approval in the audit stream',
    );
    expect(github.pendingGates(runId)).toHaveLength(1);

    // A second pair of eyes approves: the decision goes to GitHub with a comment naming the approver.
    expect(await click('U0BOB', card()!, 'approve_prod')).toBe(200);
    await eventually(
      () => (github.pendingGates(runId).length === 0 ? true : undefined),
      'GitHub to release the prod job',
    );
    expect(github.reviews().filter((r) => r.runId === runId)).toEqual([
      expect.objectContaining({
        state: 'approved',
        gate: 'custom-rule',
        auth: 'installation',
        comment: expect.stringContaining('<@U0BOB>'),
      }),
    ]);

    await github.runUntilIdle();
    expect(github.run(runId)?.conclusion).toBe('success');
    await h.setPromotionStatus(name, { phase: 'Succeeded' });
    const done = await eventually(
      () => (card() && /Succeeded/.test(textOf(card()!)) && card()!.replies.length > 0 ? card() : undefined),
      'the succeeded card with its outputs',
    );
    expect(textOf(done)).not.toContain('approve_prod');
    const records = await h.auditRecords();
    expect(
      records.some((r) => r.actor === 'slack:U0BOB' && r.outcome !== 'denied' && /approv/i.test(r.detail)),
    ).toBe(true);
    github.assertNoViolations();
  }, 120_000);

  it('the requester withdraws a waiting prod promotion: Kargo is asked to abort it, its deployment is rejected and its run ends', async () => {
    const { name, runId, card } = await waitingProdPromotion();
    expect(await click('U0ALICE', card()!, 'withdraw_promotion')).toBe(200);
    // Kargo's own abort mechanism, as the UI and CLI use it.
    const aborted = await eventually(
      async () =>
        (await h.promotions()).find(
          (p) => p.metadata.name === name && p.metadata.annotations['kargo.akuity.io/abort'] === 'terminate',
        ),
      'the abort annotation on the Promotion',
    );
    expect(aborted).toBeDefined();
    // The waiting deployment is rejected by the App and the run cancelled: nothing can apply any more.
    await eventually(
      () => (github.reviews().some((r) => r.runId === runId && r.state === 'rejected') ? true : undefined),
      'the rejected deployment',
    );
    await github.runUntilIdle();
    expect(github.run(runId)?.status).toBe('completed');
    expect(github.run(runId)?.conclusion).not.toBe('success');
    // Kargo (played here) ends the Promotion Aborted; the card says who stopped it and why.
    await h.setPromotionStatus(name, {
      phase: 'Aborted',
      message: 'Promotion terminated by kubernetes:chatops-bot',
    });
    const done = await eventually(
      () => (card() && /Aborted/.test(textOf(card()!)) ? card() : undefined),
      'the aborted card',
    );
    expect(textOf(done)).toContain('cancelled by <@U0ALICE>');
    expect(textOf(done)).not.toContain('approve_prod');
    const records = await h.auditRecords();
    expect(records).toContainEqual(
      expect.objectContaining({ action: 'cancel', actor: 'slack:U0ALICE', outcome: 'accepted' }),
    );
    github.assertNoViolations();
  }, 120_000);

  it('someone who is neither the requester nor an approver cannot withdraw it', async () => {
    const { name, card } = await waitingProdPromotion();
    expect(await click('U0EVE', card()!, 'withdraw_promotion')).toBe(200);
    await eventually(
      async () =>
        (await h.auditRecords()).find(
          (r) => r.action === 'cancel' && r.actor === 'slack:U0EVE' && r.outcome === 'denied',
        ),
      'the refusal in the audit stream',
    );
    const promotion = (await h.promotions()).find((p) => p.metadata.name === name)!;
    expect(promotion.metadata.annotations['kargo.akuity.io/abort']).toBeUndefined();
    // Clean up for the next test: an approver stops it.
    await h.send('/cancel', `${name} test cleanup`, 'U0BOB');
    await eventually(
      async () =>
        (await h.promotions()).find((p) => p.metadata.name === name)?.metadata.annotations[
          'kargo.akuity.io/abort'
        ],
      'the approver’s abort',
    );
    // Kargo's part: the aborted Promotion ends (else the next request for this freight would join it).
    await h.setPromotionStatus(name, {
      phase: 'Aborted',
      message: 'Promotion terminated by kubernetes:chatops-bot',
    });
  }, 120_000);

  it('a prod promotion aborted in Kargo itself while its run waits for approval: the bot rejects the deployment and cancels the run', async () => {
    const { name, runId, card } = await waitingProdPromotion();
    // Someone aborts it in the Kargo UI: the controller ends it; GitHub still waits.
    await h.setPromotionStatus(name, { phase: 'Aborted', message: 'Promotion terminated by admin' });
    await eventually(
      () => (github.reviews().some((r) => r.runId === runId && r.state === 'rejected') ? true : undefined),
      'the rejected deployment',
    );
    await github.runUntilIdle();
    expect(github.run(runId)?.status).toBe('completed');
    const done = await eventually(
      () => (card() && /The bot stopped/.test(textOf(card()!)) ? card() : undefined),
      'the card saying the run was stopped',
    );
    expect(textOf(done)).not.toContain('approve_prod');
    github.assertNoViolations();
  }, 120_000);
});
