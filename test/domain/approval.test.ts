// The approval on the card, pure: ApprovalRequested / ApprovalDecided folded in pairs (an event that
// changes the card, and one that must not), what the card offers (approvalView), the buttons' values, the
// rendered approval block within Slack's limits, the gate row, and the audit records (no nonce, no
// callback URL).
import { describe, expect, it } from '@jest/globals';
import {
  APPROVE_ACTION_ID,
  REJECT_ACTION_ID,
  WITHDRAW_ACTION_ID,
  approvalActionValue,
  approvalView,
  parseApprovalAction,
} from '../../src/domain/approval.js';
import { auditRecordFor } from '../../src/domain/audit-records.js';
import { checkMessageLimits } from '../../src/domain/blockkit.js';
import { applyEvent, foldEvents, type Card } from '../../src/domain/card.js';
import type { ApprovalDecided, ApprovalRequested, CardEvent } from '../../src/domain/events.js';
import { gateChecklist } from '../../src/domain/gates.js';
import {
  REJECT_REASON_CALLBACK_ID,
  reasonFromViewState,
  rejectReasonProblem,
  renderApprovalReminder,
  renderPendingList,
  renderRejectModal,
} from '../../src/domain/render-approval.js';
import { renderCard } from '../../src/domain/render.js';
import { CARD_ID, RUN_ID, atMin, deepFreeze, ev, runEv } from './builders.js';
import { JOB_ID, JOB_NAME } from './run-stories.js';

const NONCE = 'AbCdEfGhIjKlMnOpQrStUv';
const CALLBACK = `https://api.github.com/repos/acme/gitops-infra-pipeline/actions/runs/${RUN_ID}/deployment_protection_rule`;

const requested = (minute = 10, overrides: Partial<ApprovalRequested> = {}): ApprovalRequested => ({
  type: 'ApprovalRequested',
  id: `approval-requested:${RUN_ID}:prod:deployment:77`,
  cardId: CARD_ID,
  at: atMin(minute),
  runId: RUN_ID,
  environment: 'prod',
  mode: 'protection-rule',
  requestedAt: atMin(minute),
  requestKey: 'deployment:77',
  deploymentCallbackUrl: CALLBACK,
  reviewUrl: `https://github.com/acme/gitops-infra-pipeline/actions/runs/${RUN_ID}`,
  nonce: NONCE,
  ...overrides,
});

const decided = (minute = 12, overrides: Partial<ApprovalDecided> = {}): ApprovalDecided => ({
  type: 'ApprovalDecided',
  id: `approval-decided:${RUN_ID}:prod:deployment:77`,
  cardId: CARD_ID,
  at: atMin(minute),
  runId: RUN_ID,
  environment: 'prod',
  decision: 'approved',
  by: { slackUserId: 'U0BOB', slackUserName: 'bob' },
  requestKey: 'deployment:77',
  ...overrides,
});

const prodRun = (): CardEvent[] => [
  ev.requested(0),
  ev.resolved(0),
  ev.created(1),
  ev.phase('Running', 2),
  ev.run(3),
  runEv.status('waiting', 10),
  runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'waiting', 10),
];

const fold = (...events: CardEvent[]): Card => {
  const card = foldEvents(events.map((e) => deepFreeze(e)));
  if (!card) throw new Error('no card');
  return card;
};

describe('folding approvals', () => {
  it('a request opens a waiting approval; the same request again changes nothing', () => {
    const before = fold(...prodRun());
    const card = applyEvent(before, requested());
    expect(card.approval).toEqual({
      runId: RUN_ID,
      environment: 'prod',
      mode: 'protection-rule',
      requestKey: 'deployment:77',
      status: 'waiting',
      since: atMin(10),
      requestedAt: atMin(10),
      reviewUrl: `https://github.com/acme/gitops-infra-pipeline/actions/runs/${RUN_ID}`,
      nonce: NONCE,
    });
    expect(card.version).toBe(before.version + 1);
    expect(applyEvent(card, requested())).toBe(card);
    expect(applyEvent(card, requested(10, { id: 'redelivered' }))).toBe(card);
  });

  it('a request for another run is ignored; a later wait (re-run) replaces the current one, an earlier does not', () => {
    const card = fold(...prodRun(), requested());
    expect(applyEvent(card, requested(11, { id: 'other-run', runId: 999 }))).toBe(card);
    const earlier = applyEvent(card, requested(5, { id: 'older', requestKey: 'deployment:70' }));
    expect(earlier.approval?.requestKey).toBe('deployment:77');
    const decidedCard = applyEvent(card, decided());
    const rerun = applyEvent(
      decidedCard,
      requested(30, { id: 'rerun', requestKey: 'deployment:78', nonce: 'ZZZZZZZZZZZZZZZZZZZZZZ' }),
    );
    expect(rerun.approval).toMatchObject({
      status: 'waiting',
      requestKey: 'deployment:78',
      nonce: 'ZZZZZZZZZZZZZZZZZZZZZZ',
    });
  });

  it('the first decision is final; a second one (or for another wait) changes nothing', () => {
    const card = fold(...prodRun(), requested(), decided());
    expect(card.approval).toMatchObject({
      status: 'approved',
      since: atMin(12),
      by: { slackUserId: 'U0BOB' },
    });
    expect(applyEvent(card, decided(13, { id: 'second', decision: 'rejected', comment: 'no' }))).toBe(card);
    const waiting = fold(...prodRun(), requested());
    expect(applyEvent(waiting, decided(12, { requestKey: 'deployment:1' }))).toBe(waiting);
  });

  it('a decision before its request (replayed out of order) is kept, and the request does not reopen it', () => {
    const card = fold(...prodRun(), decided(12, { decision: 'rejected', comment: 'freeze' }), requested(10));
    expect(card.approval).toMatchObject({
      status: 'rejected',
      reason: 'freeze',
      requestKey: 'deployment:77',
    });
  });
});

describe('what the card offers', () => {
  it('buttons while GitHub waits; none once the job moved on, the run ended, or it was decided', () => {
    const card = fold(...prodRun(), requested());
    expect(approvalView(card)).toMatchObject({ phase: 'waiting', actionable: true });
    const movedOn = applyEvent(card, runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'in_progress', 15));
    expect(approvalView(movedOn)).toMatchObject({ phase: 'moved-on', actionable: false });
    const ended = applyEvent(card, runEv.status('completed', 20, { conclusion: 'cancelled' }));
    expect(approvalView(ended)).toMatchObject({ phase: 'ended', actionable: false });
    expect(approvalView(applyEvent(card, decided()))).toMatchObject({ phase: 'approved', actionable: false });
  });

  it('renders ⏳ Awaiting approval with Approve (primary), Reject (danger) and Withdraw (confirmed), within Slack’s limits', () => {
    const card = fold(...prodRun(), requested());
    const message = renderCard(card, { now: new Date(atMin(25)) });
    expect(checkMessageLimits(message)).toEqual([]);
    const all = JSON.stringify(message.blocks);
    expect(all).toContain('⏳ *Awaiting approval*');
    expect(all).toContain('(15m)');
    expect(message.text).toBe('⏳ Promotion to prod is awaiting approval: frozen-tauntaun');
    const actions = message.blocks.find((b) => b.type === 'actions');
    const value = approvalActionValue({ card: CARD_ID, env: 'prod', nonce: NONCE });
    expect(actions).toEqual({
      type: 'actions',
      block_id: 'approval_actions',
      elements: [
        expect.objectContaining({ action_id: APPROVE_ACTION_ID, style: 'primary', value }),
        expect.objectContaining({ action_id: REJECT_ACTION_ID, style: 'danger', value }),
        // The requester cannot approve, but can always take the request back (after Slack's confirm).
        expect.objectContaining({
          action_id: WITHDRAW_ACTION_ID,
          value,
          confirm: expect.objectContaining({
            title: expect.objectContaining({ text: 'Withdraw this promotion?' }),
          }),
        }),
      ],
    });
    expect(all).not.toContain(CALLBACK);
    expect(all).toContain('The plan summary is not in yet');
  });

  it('renders who decided, and the reason of a rejection (escaped)', () => {
    const approved = renderCard(fold(...prodRun(), requested(), decided()));
    expect(JSON.stringify(approved.blocks)).toContain('✅ *Approved* by <@U0BOB>');
    expect(approved.blocks.some((b) => b.type === 'actions')).toBe(false);
    const rejected = renderCard(
      fold(
        ...prodRun(),
        requested(),
        decided(12, { decision: 'rejected', comment: 'uses <!channel> & *bold*' }),
      ),
    );
    const text = JSON.stringify(rejected.blocks);
    expect(text).toContain('🚫 *Rejected* by <@U0BOB>');
    expect(text).toContain('&lt;!channel&gt; &amp;');
    expect(checkMessageLimits(rejected)).toEqual([]);
  });

  it('the gate checklist’s approval row follows the approval', () => {
    const row = (card: Card) => gateChecklist(card).find((r) => r.key === 'approval');
    expect(row(fold(...prodRun()))).toMatchObject({ status: 'waiting', note: 'waiting for a reviewer' });
    expect(row(fold(...prodRun(), requested()))).toMatchObject({
      status: 'waiting',
      note: 'awaiting approval in Slack',
    });
    expect(row(fold(...prodRun(), requested(), decided()))).toMatchObject({
      status: 'waiting',
      note: "approved by bob (U0BOB); the environment's other rules (wait timer) still hold it",
    });
    const started = fold(
      ...prodRun(),
      requested(),
      decided(),
      runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'in_progress', 14),
    );
    expect(row(started)).toMatchObject({ status: 'passed', note: 'approved by bob (U0BOB)' });
    const rejected = fold(
      ...prodRun(),
      requested(),
      decided(12, { decision: 'rejected', comment: 'freeze' }),
    );
    expect(row(rejected)).toMatchObject({ status: 'failed', note: 'rejected by bob (U0BOB): freeze' });
  });
});

describe('button values', () => {
  it('parses only what the bot wrote', () => {
    const value = approvalActionValue({ card: CARD_ID, env: 'prod', nonce: NONCE });
    expect(parseApprovalAction(value)).toEqual({ card: CARD_ID, env: 'prod', nonce: NONCE });
    for (const bad of [
      undefined,
      42,
      'x',
      JSON.stringify({ card: CARD_ID, env: 'prod' }),
      JSON.stringify({ card: CARD_ID, env: 'staging', nonce: NONCE }),
      JSON.stringify({ card: 'promo-zz', env: 'prod', nonce: NONCE }),
      JSON.stringify({ card: CARD_ID, env: 'prod', nonce: 'short' }),
      JSON.stringify({ card: CARD_ID, env: 'prod', nonce: NONCE, extra: 1 }),
      `${value}${' '.repeat(2000)}`,
    ]) {
      expect(parseApprovalAction(bad)).toBeNull();
    }
  });
});

describe('around the card', () => {
  it('the Reject modal asks for a reason; reasons are checked', () => {
    const modal = renderRejectModal(fold(...prodRun(), requested()), 'prod', '{"x":1}');
    expect(modal).toMatchObject({
      type: 'modal',
      callback_id: REJECT_REASON_CALLBACK_ID,
      private_metadata: '{"x":1}',
    });
    expect(modal.title.text.length).toBeLessThanOrEqual(24);
    expect(JSON.stringify(modal.blocks)).toContain('"plain_text_input"');
    expect(reasonFromViewState({ values: { reject_reason: { reason: { value: 'because' } } } })).toBe(
      'because',
    );
    expect(reasonFromViewState(undefined)).toBeUndefined();
    expect(rejectReasonProblem('  ')).toContain('Say why');
    expect(rejectReasonProblem('x'.repeat(501))).toContain('500');
    expect(rejectReasonProblem('the plan destroys the NAT gateway')).toBeUndefined();
  });

  it('the /approve list and the reminder stay within Slack’s limits', () => {
    const card = fold(...prodRun(), requested());
    const list = renderPendingList(
      Array.from({ length: 14 }, () => ({ card, allowed: true })),
      new Date(atMin(40)),
    );
    expect(checkMessageLimits(list)).toEqual([]);
    expect(list.blocks.filter((b) => b.type === 'actions')).toHaveLength(10);
    expect(renderPendingList([])).toMatchObject({ text: 'Nothing is waiting for approval.' });
    const reminder = renderApprovalReminder(card, {
      now: new Date(atMin(40)),
      cardUrl: 'https://slack.com/archives/C0DEPLOYS/p1',
      approvers: { users: ['U0BOB', 'not-an-id'], groups: ['S0SRE'] },
    });
    expect(reminder.text).toBe('⏰ frozen-tauntaun → prod has been waiting for approval for 30m');
    expect(JSON.stringify(reminder.blocks)).toContain('approvers: <@U0BOB> <!subteam^S0SRE>');
    expect(JSON.stringify(reminder.blocks)).not.toContain('not-an-id');
  });

  it('audit records name who and what, never the nonce or the callback URL', () => {
    const request = auditRecordFor(requested());
    expect(request).toMatchObject({
      action: 'approval.requested',
      environment: 'prod',
      target: String(RUN_ID),
      outcome: 'info',
    });
    expect(JSON.stringify(request)).not.toContain(NONCE);
    expect(JSON.stringify(request)).not.toContain(CALLBACK);
    expect(auditRecordFor(decided(12, { githubLogin: 'bob-gh' }))).toMatchObject({
      actor: 'slack:U0BOB',
      action: 'approve',
      outcome: 'succeeded',
      detail: `bob (U0BOB) (GitHub: bob-gh) approved the prod deployment of GitHub Actions run ${RUN_ID}.`,
    });
    expect(auditRecordFor(decided(12, { decision: 'rejected', comment: 'freeze' }))).toMatchObject({
      action: 'reject',
      outcome: 'rejected',
      detail: expect.stringContaining(': freeze'),
    });
  });
});
