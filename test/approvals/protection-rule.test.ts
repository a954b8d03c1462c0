// Protection-rule mode against the GitHub stand-in: the bot's App is prod's custom deployment protection
// rule. GitHub's deployment_protection_rule delivery opens the approval on the card (buttons, plan);
// an approver's click is sent to POST …/runs/{run_id}/deployment_protection_rule with the installation
// token; four-eyes, the approver list, stale and double clicks, Reject with a reason, unknown runs.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID, WITHDRAW_ACTION_ID } from '../../src/domain/approval.js';
import { gateChecklist } from '../../src/domain/gates.js';
import { REJECT_REASON_CALLBACK_ID } from '../../src/domain/render-approval.js';
import {
  handleApprovalClick,
  handleApproveCommand,
  handleRejectSubmission,
} from '../../src/approvals/handlers.js';
import { webhookSchema } from '../github/helpers.js';
import {
  BOB,
  CAROL,
  DAVE,
  JANE,
  MALLORY,
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
    mode: 'protection-rule',
    standIn: { environments: { prod: { customRule: true } } },
  });
});

afterEach(() => {
  h.standIn.assertNoViolations();
});

afterAll(async () => {
  const logs = h.log.text();
  for (const secret of secretsOf(h)) expect(logs).not.toContain(secret);
  await h.close();
});

/** A prod run that waits at prod, its protection rule asked, the card showing the approval. */
async function waitingPromotion(opts: Parameters<Harness['promote']>[0] = {}) {
  const p = await h.promote(opts);
  await h.standIn.runUntilIdle();
  const card = await h.card(p.cardId);
  expect(card.approval).toMatchObject({ status: 'waiting', mode: 'protection-rule', runId: p.runId });
  return { ...p, value: buttonValue(h.rendered.get(p.cardId), APPROVE_ACTION_ID) as string };
}

describe('protection-rule mode', () => {
  it('opens the approval from the deployment_protection_rule delivery: buttons, plan summary, reminder-free', async () => {
    const p = await waitingPromotion();
    const delivery = h.standIn.deliveries({ event: 'deployment_protection_rule', runId: p.runId });
    expect(delivery).toHaveLength(1);
    expect(delivery[0]?.status).toBe(202);
    const payload = JSON.parse(delivery[0]?.body ?? '{}') as Record<string, unknown>;
    const validate = webhookSchema('deployment_protection_rule', 'requested');
    expect(validate(payload)).toBe(true);
    expect(payload.deployment_callback_url).toBe(
      `${h.standIn.url}/repos/${h.standIn.owner}/${h.standIn.repo}/actions/runs/${p.runId}/deployment_protection_rule`,
    );

    const shown = h.rendered.get(p.cardId);
    expect(textOf(shown)).toContain('⏳ *Awaiting approval*');
    expect(shown?.text).toContain('awaiting approval');
    expect(buttonValue(shown, APPROVE_ACTION_ID)).toBe(buttonValue(shown, REJECT_ACTION_ID));
    const buttons = shown?.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : [])) ?? [];
    expect(buttons.map((b) => [b.action_id, b.style])).toEqual([
      [APPROVE_ACTION_ID, 'primary'],
      [REJECT_ACTION_ID, 'danger'],
      [WITHDRAW_ACTION_ID, undefined],
    ]);
    expect(JSON.parse(p.value)).toEqual({
      card: p.cardId,
      env: 'prod',
      nonce: expect.stringMatching(/^[\w-]{22}$/),
    });
    // The preview plan (prod gates) is on the card while it waits.
    expect(textOf(shown)).toContain('*What it will apply:* AWS prod');
    const card = await h.card(p.cardId);
    expect(gateChecklist(card).find((r) => r.key === 'approval')).toMatchObject({
      status: 'waiting',
      note: 'awaiting approval in Slack',
    });
    // The callback URL and the nonce never reach the audit stream.
    const audit = JSON.stringify(await h.auditRecords());
    expect(audit).not.toContain(JSON.parse(p.value).nonce);
    expect(audit).not.toContain('/deployment_protection_rule');
  });

  it('approves: the decision goes to GitHub with the installation token and a comment naming the approver', async () => {
    const p = await waitingPromotion();
    const reply = await handleApprovalClick(
      {
        actionValue: p.value,
        actor: BOB,
        decision: 'approved',
        channelId: 'C0DEPLOYS',
        requestId: 'click-approve-1',
      },
      h.deps,
    );
    expect(reply.status).toBe('approved');
    expect(reply.replaceOriginal).toBe(false);
    expect(h.standIn.reviews().filter((r) => r.runId === p.runId)).toEqual([
      {
        runId: p.runId,
        environment: 'prod',
        gate: 'custom-rule',
        state: 'approved',
        login: 'gitops-chatops[bot]',
        auth: 'installation',
        comment: 'Approved by bob (Slack <@U0BOB>) via ChatOps',
      },
    ]);
    expect(h.standIn.requests({ operationId: 'actions/review-custom-gates-for-run' }).at(-1)?.status).toBe(
      204,
    );
    await h.standIn.runUntilIdle();
    expect(h.standIn.run(p.runId)?.conclusion).toBe('success');
    const card = await h.card(p.cardId);
    expect(card.approval).toMatchObject({ status: 'approved', by: { slackUserId: 'U0BOB' } });
    expect(gateChecklist(card).find((r) => r.key === 'approval')).toMatchObject({
      status: 'passed',
      note: 'approved by bob (U0BOB)',
    });
    expect(textOf(h.rendered.get(p.cardId))).toContain('✅ *Approved* by <@U0BOB>');
    expect(buttonValue(h.rendered.get(p.cardId), APPROVE_ACTION_ID)).toBeUndefined();
    const records = await h.auditRecords();
    expect(
      records.filter((r) => r.id.startsWith('approval:button:click-approve-1')).map((r) => r.outcome),
    ).toEqual(['accepted']);
    expect(records.find((r) => r.action === 'approve' && r.target === String(p.runId))).toMatchObject({
      actor: 'slack:U0BOB',
      outcome: 'succeeded',
    });
  });

  it('a double click is a clear no-op: GitHub is asked once', async () => {
    const p = await waitingPromotion();
    const [first, second] = await Promise.all([
      handleApprovalClick(
        { actionValue: p.value, actor: BOB, decision: 'approved', requestId: 'dbl-1' },
        h.deps,
      ),
      handleApprovalClick(
        { actionValue: p.value, actor: BOB, decision: 'approved', requestId: 'dbl-2' },
        h.deps,
      ),
    ]);
    const statuses = [first.status, second.status];
    expect(statuses.filter((s) => s === 'approved')).toHaveLength(1);
    expect(statuses.find((s) => s !== 'approved')).toMatch(/^noop-(in-flight|decided)$/);
    const third = await handleApprovalClick(
      { actionValue: p.value, actor: DAVE, decision: 'approved', requestId: 'dbl-3' },
      h.deps,
    );
    expect(third.status).toBe('noop-decided');
    expect(third.message.text).toContain('already approved by <@U0BOB>');
    expect(h.standIn.reviews().filter((r) => r.runId === p.runId)).toHaveLength(1);
    const records = await h.auditRecords();
    expect(
      records.filter((r) => /^approval-click:dbl-3|^approval:button:dbl-3/.test(r.id)).map((r) => r.outcome),
    ).toEqual(['info']);
  });

  it('rejects with a reason asked in a modal; GitHub fails the job and the card says why', async () => {
    const p = await waitingPromotion();
    const click = await handleApprovalClick(
      { actionValue: p.value, actor: BOB, decision: 'rejected', channelId: 'C0DEPLOYS', requestId: 'rej-1' },
      h.deps,
    );
    expect(click.status).toBe('reject-prompt');
    expect(click.modal).toMatchObject({ type: 'modal', callback_id: REJECT_REASON_CALLBACK_ID });
    expect(h.standIn.reviews().filter((r) => r.runId === p.runId)).toHaveLength(0);
    const metadata = click.modal?.private_metadata;
    const empty = await handleRejectSubmission(
      { viewPrivateMetadata: metadata, reason: ' ', actor: BOB, requestId: 'rej-2' },
      h.deps,
    );
    expect(empty.status).toBe('invalid-reason');
    expect(empty.errors).toEqual({ reject_reason: expect.stringContaining('Say why') });
    const done = await handleRejectSubmission(
      {
        viewPrivateMetadata: metadata,
        reason: 'The plan replaces the ingress rule during business hours',
        actor: BOB,
        requestId: 'rej-3',
      },
      h.deps,
    );
    expect(done.status).toBe('rejected');
    expect(done.channelId).toBe('C0DEPLOYS');
    expect(h.standIn.reviews().filter((r) => r.runId === p.runId)).toEqual([
      expect.objectContaining({
        state: 'rejected',
        auth: 'installation',
        comment:
          'Rejected by bob (Slack <@U0BOB>) via ChatOps: The plan replaces the ingress rule during business hours',
      }),
    ]);
    await h.standIn.runUntilIdle();
    expect(h.standIn.run(p.runId)?.conclusion).toBe('failure');
    const card = await h.card(p.cardId);
    expect(card.approval).toMatchObject({
      status: 'rejected',
      reason: 'The plan replaces the ingress rule during business hours',
    });
    expect(gateChecklist(card).find((r) => r.key === 'approval')).toMatchObject({
      status: 'failed',
      note: 'rejected by bob (U0BOB): The plan replaces the ingress rule during business hours',
    });
    expect(textOf(h.rendered.get(p.cardId))).toContain('🚫 *Rejected* by <@U0BOB>');
    expect(
      (await h.auditRecords()).find((r) => r.action === 'reject' && r.target === String(p.runId)),
    ).toMatchObject({
      outcome: 'rejected',
      detail: expect.stringContaining('The plan replaces the ingress rule'),
    });
  });

  it('four-eyes: the requester cannot approve (nor reject); audited, nothing sent', async () => {
    const p = await waitingPromotion({ requestedBy: JANE });
    const approve = await handleApprovalClick(
      { actionValue: p.value, actor: JANE, decision: 'approved', requestId: 'fe-1' },
      h.deps,
    );
    expect(approve.status).toBe('denied-self-approval');
    expect(approve.message.text).toContain('four-eyes');
    const reject = await handleApprovalClick(
      { actionValue: p.value, actor: JANE, decision: 'rejected', requestId: 'fe-2' },
      h.deps,
    );
    expect(reject.status).toBe('denied-self-approval');
    expect(reject.modal).toBeUndefined();
    const viaCommand = await handleApproveCommand(
      { target: p.promotion, actor: JANE, requestId: 'fe-3' },
      h.deps,
    );
    expect(viaCommand.status).toBe('denied-self-approval');
    expect(h.standIn.reviews().filter((r) => r.runId === p.runId)).toHaveLength(0);
    const records = await h.auditRecords();
    for (const id of [
      'approval:button:fe-1:refused',
      'approval-click:fe-2:refused',
      'approval:command:fe-3:refused',
    ]) {
      expect(records.find((r) => r.id === id)).toMatchObject({ actor: 'slack:U0JANE', outcome: 'denied' });
    }
  });

  it('four-eyes: whoever triggered the run (GitHub login linked to Slack) cannot approve it', async () => {
    await linkThroughDeviceFlow(h, CAROL, 'carol-gh');
    const p = await waitingPromotion({ actorLogin: 'carol-gh' });
    const reply = await handleApprovalClick(
      { actionValue: p.value, actor: CAROL, decision: 'approved', requestId: 'trig-1' },
      h.deps,
    );
    expect(reply.status).toBe('denied-self-approval');
    expect(reply.message.text).toContain('you triggered this run');
    expect(h.standIn.reviews().filter((r) => r.runId === p.runId)).toHaveLength(0);
    expect((await h.auditRecords()).find((r) => r.id === 'approval:button:trig-1:refused')).toMatchObject({
      outcome: 'denied',
      detail: expect.stringContaining('they triggered run'),
    });
    // Someone else may.
    expect(
      (
        await handleApprovalClick(
          { actionValue: p.value, actor: BOB, decision: 'approved', requestId: 'trig-2' },
          h.deps,
        )
      ).status,
    ).toBe('approved');
  });

  it('refuses a user outside the approver list, before the nonce is even read; audited', async () => {
    const p = await waitingPromotion();
    const reply = await handleApprovalClick(
      { actionValue: p.value, actor: MALLORY, decision: 'approved', requestId: 'mal-1' },
      h.deps,
    );
    expect(reply.status).toBe('denied-forbidden');
    const viaCommand = await handleApproveCommand(
      { target: p.promotion, actor: MALLORY, requestId: 'mal-2' },
      h.deps,
    );
    expect(viaCommand.status).toBe('denied-forbidden');
    expect(h.standIn.reviews().filter((r) => r.runId === p.runId)).toHaveLength(0);
    const records = await h.auditRecords();
    expect(records.find((r) => r.id === 'approval-click:mal-1:refused')).toMatchObject({
      actor: 'slack:U0MALLORY',
      outcome: 'denied',
    });
    expect(records.find((r) => r.id === 'approval:command:mal-2:refused')).toMatchObject({
      outcome: 'denied',
    });
    // A member of an approver group may.
    expect(
      (
        await handleApprovalClick(
          { actionValue: p.value, actor: DAVE, decision: 'approved', requestId: 'mal-3' },
          h.deps,
        )
      ).status,
    ).toBe('approved');
  });

  it('a stale approval (the run was cancelled) is a clear no-op', async () => {
    const p = await waitingPromotion();
    const octokit = (await import('../../src/github/client.js')).createGithubClient(h.github, {
      logger: h.log.logger,
    });
    await octokit.rest.actions.cancelWorkflowRun({
      owner: h.standIn.owner,
      repo: h.standIn.repo,
      run_id: p.runId,
    });
    await h.standIn.runUntilIdle();
    const reply = await handleApprovalClick(
      { actionValue: p.value, actor: BOB, decision: 'approved', requestId: 'stale-1' },
      h.deps,
    );
    expect(reply.status).toBe('noop-not-waiting');
    expect(reply.message.text).toContain('no longer waiting');
    expect(h.standIn.reviews().filter((r) => r.runId === p.runId)).toHaveLength(0);
    expect(
      h.standIn
        .requests({ operationId: 'actions/review-custom-gates-for-run' })
        .filter((r) => r.path.includes(String(p.runId))),
    ).toHaveLength(0);
    expect((await h.auditRecords()).find((r) => r.id.startsWith('approval:button:stale-1'))).toMatchObject({
      outcome: 'info',
    });
  });

  it('GitHub no longer waiting (decided elsewhere) is a no-op too: its 422 is not an error', async () => {
    const p = await waitingPromotion();
    // Someone decides on GitHub before the bot learns of it (the card still shows the buttons).
    const installation = (await import('../../src/github/client.js')).createGithubClient(h.github, {
      logger: h.log.logger,
    });
    await installation.rest.actions.reviewCustomGatesForRun({
      owner: h.standIn.owner,
      repo: h.standIn.repo,
      run_id: p.runId,
      environment_name: 'prod',
      state: 'approved',
      comment: 'approved by an admin on GitHub',
    });
    const reply = await handleApprovalClick(
      { actionValue: p.value, actor: BOB, decision: 'approved', requestId: 'gone-1' },
      h.deps,
    );
    expect(reply.status).toBe('noop-not-waiting');
    expect(h.standIn.reviews().filter((r) => r.runId === p.runId)).toHaveLength(1);
  });

  it('/approve lists what is waiting, with buttons only for those who may decide; /approve <alias> approves', async () => {
    const p = await waitingPromotion({ requestedBy: JANE });
    const forBob = await handleApproveCommand({ actor: BOB, requestId: 'list-1' }, h.deps);
    expect(forBob.status).toBe('listed');
    expect(textOf(forBob.message)).toContain(p.promotion);
    const forJane = await handleApproveCommand({ actor: JANE, requestId: 'list-2' }, h.deps);
    expect(textOf(forJane.message)).toContain('four-eyes');
    const alias = (await h.card(p.cardId)).freight?.alias as string;
    const approved = await handleApproveCommand({ target: alias, actor: BOB, requestId: 'list-3' }, h.deps);
    expect(approved.status).toBe('approved');
    const after = await handleApproveCommand({ actor: BOB, requestId: 'list-4' }, h.deps);
    expect(textOf(after.message)).not.toContain(p.promotion);
    const none = await handleApproveCommand(
      { target: 'no-such-thing', actor: BOB, requestId: 'list-5' },
      h.deps,
    );
    expect(none.status).toBe('not-found');
  });

  it('ignores (and audits) a protection rule request for a run no card follows', async () => {
    const p = await h.promote({ follow: false });
    await h.standIn.runUntilIdle();
    expect(h.standIn.deliveries({ event: 'deployment_protection_rule', runId: p.runId })[0]?.status).toBe(
      202,
    );
    const card = await h.card(p.cardId);
    expect(card.approval).toBeUndefined();
    expect(
      h.log.lines.some((l) =>
        String(l.msg).includes('approval delivery ignored: a run no promotion card follows'),
      ),
    ).toBe(true);
    expect(
      (await h.auditRecords()).find((r) => r.action === 'approval.requested' && r.target === String(p.runId)),
    ).toMatchObject({
      outcome: 'info',
      detail: expect.stringContaining('no promotion card follows'),
    });
  });

  it('refuses a delivery with a forged signature (401), counts it in the refusal summary, and opens nothing', async () => {
    h.standIn.setWebhook({ url: h.webhookUrl, secret: 'not-the-webhook-secret' });
    try {
      const p = await h.promote();
      await h.standIn.runUntilIdle();
      const [delivery] = h.standIn.deliveries({ event: 'deployment_protection_rule', runId: p.runId });
      expect(delivery?.status).toBe(401);
      expect((await h.card(p.cardId)).approval).toBeUndefined();
      // No record per forged request (anyone can send them); one summary per interval, route and reason.
      expect((await h.auditRecords()).filter((r) => r.action === 'edge.refused')).toEqual([]);
      await h.flushRefusals();
      expect((await h.auditRecords()).filter((r) => r.action === 'edge.refused')).toEqual([
        expect.objectContaining({
          outcome: 'denied',
          detail: expect.stringMatching(
            /^\d+ refused requests? on \/github\/webhook in the last .*: bad signature$/,
          ),
        }),
      ]);
    } finally {
      h.standIn.setWebhook({ url: h.webhookUrl, secret: 'approvals-webhook-secret-0123456789' });
    }
  });
});
