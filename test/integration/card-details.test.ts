// "Show resources" and "Show all findings" through the whole bot: a signed block_actions click on the card
// (or its alert) in the Slack stand-in reaches the real web process, which queues only "which card, which
// page"; the worker loads that card and answers the clicker through the click's response_url, ephemerally.
// The run is the GitHub stand-in's simulation of this repository's workflow, whose plan-summary artifact is
// made by the real converter from a `terraform show -json` with sensitive values.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { cardIdForRequest } from '../../src/domain/card.js';
import { DEFAULT_STANDIN_PAT, GithubStandIn } from '../../src/sandbox/github-standin.js';
import type { ScenarioName } from '../../src/sandbox/github-scenarios.js';
import { blockActionsBody, newTriggerId, signedSlackRequest } from '../../src/sandbox/slack-requests.js';
import type { StandInEphemeral, StandInMessage } from '../../src/sandbox/slack-standin.js';
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

interface Element {
  type: string;
  action_id?: string;
  value?: string;
}

describeWithEnvtest('details on demand: Show resources, Show all findings', (env) => {
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

  /** /promote, then Kargo's part: dispatch the workflow, report the run, end the promotion. */
  async function promoteAndRun(environment: 'dev' | 'prod', user: string, scenario: ScenarioName) {
    await h.send('/promote', `${environment} frozen-tauntaun`, user);
    const promotion = await eventually(
      async () =>
        (await h.promotions()).find((p) => p.spec.stage === environment && !seen.has(p.metadata.name)),
      `a new ${environment} Promotion`,
    );
    const name = promotion.metadata.name;
    seen.add(name);
    github.queueScenario(scenario);
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
    await github.runUntilIdle();
    const conclusion = github.run(runId)?.conclusion;
    await h.setPromotionStatus(name, {
      phase: conclusion === 'success' ? 'Succeeded' : 'Failed',
      ...(conclusion === 'success'
        ? {}
        : { message: 'step "waitRun": HTTP (200) response met failure criteria' }),
      stepExecutionMetadata: [
        { alias: 'dispatch', status: 'Succeeded' },
        { alias: 'waitRun', status: conclusion === 'success' ? 'Succeeded' : 'Failed' },
      ],
    });
    return { name, card: () => h.cardMessages().find((m) => textOf(m).includes(name)) };
  }

  const buttonOf = (message: StandInMessage, actionId: string): Element | undefined =>
    ((message.blocks ?? []) as Array<{ type: string; accessory?: Element; elements?: Element[] }>)
      .flatMap((b) => [b.accessory, ...(b.elements ?? [])])
      .find((e): e is Element => e?.action_id === actionId);

  /** A signed click on a button of `message`, as Slack sends it (its response_url bound to user and channel). */
  async function click(
    user: string,
    channel: string,
    message: StandInMessage,
    actionId: string,
    value = buttonOf(message, actionId)?.value,
  ): Promise<number> {
    const body = blockActionsBody({
      type: 'block_actions',
      user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0SANDBOX' },
      api_app_id: 'A0SANDBOX',
      token: 'deprecated',
      container: { type: 'message', message_ts: message.ts, channel_id: channel, is_ephemeral: false },
      trigger_id: newTriggerId(),
      team: { id: 'T0SANDBOX', domain: 'sandbox' },
      channel: { id: channel, name: 'infra' },
      message: { ts: message.ts, text: message.text, blocks: message.blocks },
      response_url: h.slack.createResponseUrl({ channel, user, messageTs: message.ts }),
      actions: [
        { action_id: actionId, block_id: 'b', value, type: 'button', action_ts: `${Date.now() / 1000}` },
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

  const ephemeralText = (e: StandInEphemeral): string => `${e.text}\n${JSON.stringify(e.blocks ?? [])}`;

  it('Show resources answers the clicker with the plan: replacements first, what forces them, no secret', async () => {
    const { card } = await promoteAndRun('dev', 'U0BOB', 'dev-pass');
    const shown = await eventually(
      () =>
        card() && buttonOf(card()!, 'plan_details') && /Succeeded/.test(textOf(card()!)) ? card() : undefined,
      'the card with the plan and its Show resources button',
    );
    expect(await click('U0BOB', CHANNELS.deployments, shown, 'plan_details')).toBe(200);
    const answer = await eventually(
      () => h.slack.ephemeral({ user: 'U0BOB' }).find((e) => e.text.startsWith('Plan for dev')),
      'the plan details, ephemeral to the clicker',
    );
    expect(answer).toMatchObject({ channel: CHANNELS.deployments, via: 'response_url' });
    const text = ephemeralText(answer);
    expect(text).toContain('🟠 *Replaced (1)* — destroyed and created again');
    expect(text).toContain(
      '`cidr_blocks[0]`: `\\"10.0.0.0/16\\"` → `\\"10.0.0.0/8\\"` · *forces replacement*',
    );
    expect(text).toContain('`user_data`: _sensitive, not shown_');
    expect(text).not.toContain('sandbox-token');
    // Nobody else sees it, and the card itself is left alone (never replace_original).
    expect(h.slack.ephemeral({ user: 'U0ALICE' }).filter((e) => e.text.startsWith('Plan for'))).toEqual([]);
    const sent = h.slack.calls('response_url').filter((c) => String(c.args.text).startsWith('Plan for'));
    expect(sent.map((c) => [c.args.response_type, c.args.replace_original])).toEqual([['ephemeral', false]]);
    expect(textOf(card()!)).not.toContain('Plan for dev');
  }, 120_000);

  it('Show all findings answers from the failed card and from its alert', async () => {
    const { name, card } = await promoteAndRun('prod', 'U0ALICE', 'prod-trivy-fail');
    const failed = await eventually(
      () => (card() && buttonOf(card()!, 'findings_details') ? card() : undefined),
      'the failed card leading with the Trivy findings',
    );
    expect(textOf(failed)).toMatch(/Why it failed:.*AWS · Trivy/);
    expect(await click('U0ALICE', CHANNELS.deployments, failed, 'findings_details')).toBe(200);
    const answer = await eventually(
      () =>
        h.slack
          .ephemeral({ user: 'U0ALICE' })
          .find((e) => e.text.startsWith('Findings for the promotion to prod')),
      'all findings, ephemeral to the clicker',
    );
    expect(ephemeralText(answer)).toMatch(/AVD-AWS-\d{4}/);

    const alert = await eventually(
      () =>
        h.slack
          .messages(CHANNELS.alerts)
          .find((m) => textOf(m).includes(name) && buttonOf(m, 'findings_details')),
      'the alert with its Show all findings button',
    );
    expect(await click('U0BOB', CHANNELS.alerts, alert, 'findings_details')).toBe(200);
    await eventually(
      () =>
        h.slack
          .ephemeral({ user: 'U0BOB', channel: CHANNELS.alerts })
          .find((e) => e.text.startsWith('Findings for the promotion to prod')),
      'all findings, answered in #infra-alerts',
    );
  }, 120_000);

  it('a click naming a card the bot does not keep is answered plainly, never with another card', async () => {
    const someCard = h.cardMessages()[0];
    if (!someCard) throw new Error('no card posted yet');
    const gone = cardIdForRequest('a-request-nobody-made');
    expect(await click('U0BOB', CHANNELS.deployments, someCard, 'plan_details', `${gone}:2`)).toBe(200);
    await eventually(
      () =>
        h.slack
          .ephemeral({ user: 'U0BOB' })
          .find((e) => e.text.startsWith('That promotion card is no longer kept')),
      'the answer for a card that is not kept',
    );
  }, 60_000);
});
