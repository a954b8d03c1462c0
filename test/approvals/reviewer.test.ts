// Reviewer mode against the GitHub stand-in: prod has GitHub-native required reviewers (and prevent
// self-review), as the seed sets up. The waiting prod apply job opens the approval on the card; an
// approver's decision is made with their own GitHub App user token (linked once with the device flow), so
// GitHub records the human and enforces its own reviewer list on top of the bot's.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { APPROVE_ACTION_ID } from '../../src/domain/approval.js';
import { GithubError, createGithubClient } from '../../src/github/client.js';
import { reviewPendingDeployments, userClient } from '../../src/approvals/github.js';
import {
  handleApprovalClick,
  handleApproveCommand,
  handleRejectSubmission,
} from '../../src/approvals/handlers.js';
import {
  BOB,
  CAROL,
  DAVE,
  LEE,
  buttonValue,
  linkThroughDeviceFlow,
  secretsOf,
  startHarness,
  textOf,
  type Harness,
} from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    mode: 'reviewer',
    standIn: {
      environments: {
        prod: { reviewers: ['bob-gh', 'carol-gh', 'kim-gh'], preventSelfReview: true, waitTimerMinutes: 0 },
      },
    },
  });
  await linkThroughDeviceFlow(h, BOB, 'bob-gh');
  await linkThroughDeviceFlow(h, CAROL, 'carol-gh');
  await linkThroughDeviceFlow(h, LEE, 'lee-gh');
});

afterEach(() => {
  h.standIn.assertNoViolations();
});

afterAll(async () => {
  const logs = h.log.text();
  for (const secret of secretsOf(h)) expect(logs).not.toContain(secret);
  await h.close();
});

async function waiting(opts: Parameters<Harness['promote']>[0] = {}) {
  const p = await h.promote(opts);
  await h.standIn.runUntilIdle();
  const card = await h.card(p.cardId);
  expect(card.approval).toMatchObject({
    status: 'waiting',
    mode: 'reviewer',
    requestKey: expect.stringMatching(/^job:\d+$/),
  });
  return { ...p, value: buttonValue(h.rendered.get(p.cardId), APPROVE_ACTION_ID) as string };
}

const reviewsOf = (runId: number) => h.standIn.reviews().filter((r) => r.runId === runId);

describe('reviewer mode', () => {
  it('opens the approval from the waiting prod apply job (GitHub delivers `waiting` twice: one approval)', async () => {
    const p = await waiting();
    expect(h.standIn.deliveries({ event: 'workflow_job', action: 'waiting', runId: p.runId })).toHaveLength(
      2,
    );
    expect(h.standIn.deliveries({ event: 'deployment_protection_rule', runId: p.runId })).toHaveLength(0);
    const card = await h.card(p.cardId);
    expect(card.approval?.reviewUrl).toBe(
      `${h.standIn.webUrl}/${h.standIn.owner}/${h.standIn.repo}/actions/runs/${p.runId}`,
    );
    expect(card.timeline.filter((t) => t.event === 'ApprovalRequested')).toHaveLength(1);
    expect(textOf(h.rendered.get(p.cardId))).toContain('Approving uses your own GitHub account');
  });

  it("approves with the approver's own user token: GitHub records the human", async () => {
    const p = await waiting();
    const reply = await handleApprovalClick(
      { actionValue: p.value, actor: BOB, decision: 'approved', requestId: 'rv-approve' },
      h.deps,
    );
    expect(reply.status).toBe('approved');
    expect(reviewsOf(p.runId)).toEqual([
      {
        runId: p.runId,
        environment: 'prod',
        gate: 'reviewers',
        state: 'approved',
        login: 'bob-gh',
        auth: 'user',
        comment: 'Approved by bob (Slack <@U0BOB>) via ChatOps',
      },
    ]);
    const calls = h.standIn.requests().filter((r) => r.path.includes(`/runs/${p.runId}/pending_deployments`));
    expect(calls.map((r) => [r.method, r.auth, r.status])).toEqual([
      ['GET', 'user', 200],
      ['POST', 'user', 200],
    ]);
    await h.standIn.runUntilIdle();
    expect(h.standIn.run(p.runId)?.conclusion).toBe('success');
    const card = await h.card(p.cardId);
    expect(card.approval).toMatchObject({ status: 'approved', githubLogin: 'bob-gh' });
    expect(textOf(h.rendered.get(p.cardId))).toContain('✅ *Approved* by <@U0BOB> (GitHub `@bob-gh`)');
    expect(
      (await h.auditRecords()).find((r) => r.action === 'approve' && r.target === String(p.runId)),
    ).toMatchObject({
      actor: 'slack:U0BOB',
      detail: expect.stringContaining('(GitHub: bob-gh) approved the prod deployment'),
    });
  });

  it('rejects with the reason, as the approver', async () => {
    const p = await waiting();
    const click = await handleApprovalClick(
      { actionValue: p.value, actor: CAROL, decision: 'rejected', requestId: 'rv-rej-1' },
      h.deps,
    );
    const done = await handleRejectSubmission(
      {
        viewPrivateMetadata: click.modal?.private_metadata,
        reason: 'Change freeze until Monday',
        actor: CAROL,
        requestId: 'rv-rej-2',
      },
      h.deps,
    );
    expect(done.status).toBe('rejected');
    expect(reviewsOf(p.runId)).toEqual([
      expect.objectContaining({
        state: 'rejected',
        login: 'carol-gh',
        auth: 'user',
        comment: 'Rejected by carol (Slack <@U0CAROL>) via ChatOps: Change freeze until Monday',
      }),
    ]);
    await h.standIn.runUntilIdle();
    expect(h.standIn.run(p.runId)?.conclusion).toBe('failure');
    expect((await h.card(p.cardId)).approval).toMatchObject({
      status: 'rejected',
      reason: 'Change freeze until Monday',
    });
  });

  it('without a link, answers with the direct link to GitHub’s review page (audited, nothing sent)', async () => {
    const p = await waiting();
    const reply = await handleApprovalClick(
      { actionValue: p.value, actor: DAVE, decision: 'approved', requestId: 'rv-nolink' },
      h.deps,
    );
    expect(reply.status).toBe('not-linked');
    expect(reply.message.text).toContain('`/approve link`');
    expect(reply.message.text).toContain(
      `${h.standIn.webUrl}/${h.standIn.owner}/${h.standIn.repo}/actions/runs/${p.runId}`,
    );
    expect(reviewsOf(p.runId)).toHaveLength(0);
    expect((await h.auditRecords()).find((r) => r.id === 'approval:button:rv-nolink:refused')).toMatchObject({
      outcome: 'denied',
    });
  });

  it('GitHub enforces its own reviewer list: a Slack approver who is not a GitHub reviewer is refused with GitHub’s error', async () => {
    const p = await waiting();
    const reply = await handleApproveCommand(
      { target: p.promotion, actor: LEE, requestId: 'rv-lee' },
      h.deps,
    );
    expect(reply.status).toBe('github-refused');
    expect(reply.message.text).toContain('lee-gh is not a required reviewer for the environment prod');
    expect(reviewsOf(p.runId)).toHaveLength(0);
    expect((await h.auditRecords()).find((r) => r.id === 'approval:command:rv-lee:result')).toMatchObject({
      outcome: 'denied',
      detail: expect.stringContaining('GitHub refused'),
    });
    // The claim was released: a real reviewer can still decide.
    expect(
      (await handleApproveCommand({ target: p.promotion, actor: BOB, requestId: 'rv-lee-2' }, h.deps)).status,
    ).toBe('approved');
  });

  it('four-eyes on the run triggerer: the bot refuses first, and GitHub (prevent self-review) refuses too', async () => {
    const p = await waiting({ actorLogin: 'carol-gh' });
    const reply = await handleApprovalClick(
      { actionValue: p.value, actor: CAROL, decision: 'approved', requestId: 'rv-self' },
      h.deps,
    );
    expect(reply.status).toBe('denied-self-approval');
    expect(reviewsOf(p.runId)).toHaveLength(0);
    // Had the bot let it through, GitHub would have said no with her own token:
    const access = await h.tokens.accessToken(CAROL.slackUserId, h.flow.refresher());
    if (access.status !== 'ok') throw new Error('carol is linked');
    const client = userClient(h.github, access.token, h.log.logger);
    const [pending] = await client.rest.actions
      .getPendingDeploymentsForRun({ owner: h.standIn.owner, repo: h.standIn.repo, run_id: p.runId })
      .then((r) => r.data);
    expect(pending?.current_user_can_approve).toBe(false);
    const refused = await reviewPendingDeployments(
      client,
      { owner: h.standIn.owner, repo: h.standIn.repo },
      {
        runId: p.runId,
        environmentIds: [pending?.environment.id ?? 0],
        state: 'approved',
        comment: 'self',
      },
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GithubError);
    expect((refused as GithubError).status).toBe(422);
    expect((refused as GithubError).message).toContain('Self-review is prevented');
    expect(reviewsOf(p.runId)).toHaveLength(0);
  });

  it('an installation token cannot pass the reviewers gate (a GitHub App is never a required reviewer)', async () => {
    const p = await waiting();
    const client = createGithubClient(h.github, { logger: h.log.logger });
    const [pending] = await client.rest.actions
      .getPendingDeploymentsForRun({ owner: h.standIn.owner, repo: h.standIn.repo, run_id: p.runId })
      .then((r) => r.data);
    expect(pending?.current_user_can_approve).toBe(false);
    const refused = await reviewPendingDeployments(
      client,
      { owner: h.standIn.owner, repo: h.standIn.repo },
      {
        runId: p.runId,
        environmentIds: [pending?.environment.id ?? 0],
        state: 'approved',
        comment: 'bot',
      },
    ).catch((e: unknown) => e);
    expect((refused as GithubError).status).toBe(422);
    // Nor can it decide a protection rule that does not exist on this environment.
    const custom = await client.rest.actions
      .reviewCustomGatesForRun({
        owner: h.standIn.owner,
        repo: h.standIn.repo,
        run_id: p.runId,
        environment_name: 'prod',
        state: 'approved',
        comment: 'x',
      })
      .catch((e: unknown) => e);
    expect((custom as { status?: number }).status).toBe(422);
  });

  it('stale (approved on GitHub directly) and double decisions are clear no-ops', async () => {
    const p = await waiting();
    expect(
      (
        await handleApprovalClick(
          { actionValue: p.value, actor: BOB, decision: 'approved', requestId: 'rv-d1' },
          h.deps,
        )
      ).status,
    ).toBe('approved');
    const again = await handleApprovalClick(
      { actionValue: p.value, actor: CAROL, decision: 'approved', requestId: 'rv-d2' },
      h.deps,
    );
    expect(again.status).toBe('noop-decided');
    expect(reviewsOf(p.runId)).toHaveLength(1);

    const q = await waiting();
    // Approved on GitHub by a reviewer, webhooks not processed yet: the card still shows the buttons.
    h.standIn.sendWebhooksFor(false);
    const carol = await h.tokens.accessToken(CAROL.slackUserId, h.flow.refresher());
    if (carol.status !== 'ok') throw new Error('carol is linked');
    const client = userClient(h.github, carol.token, h.log.logger);
    const [pending] = await client.rest.actions
      .getPendingDeploymentsForRun({ owner: h.standIn.owner, repo: h.standIn.repo, run_id: q.runId })
      .then((r) => r.data);
    await reviewPendingDeployments(
      client,
      { owner: h.standIn.owner, repo: h.standIn.repo },
      {
        runId: q.runId,
        environmentIds: [pending?.environment.id ?? 0],
        state: 'approved',
        comment: 'on GitHub',
      },
    );
    h.standIn.sendWebhooksFor(true);
    const stale = await handleApprovalClick(
      { actionValue: q.value, actor: BOB, decision: 'approved', requestId: 'rv-stale' },
      h.deps,
    );
    expect(stale.status).toBe('noop-not-waiting');
    expect(stale.message.text).toContain('no pending prod deployment');
    expect(reviewsOf(q.runId)).toHaveLength(1);
    await h.standIn.runUntilIdle();
  });
});
