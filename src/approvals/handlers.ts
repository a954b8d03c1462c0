// `/approve`, `/approve <promotion>`, `/approve link`, the card's Approve / Reject buttons and the Reject
// reason modal, as framework-free functions the Bolt app and the worker call. Each returns what to show
// (ephemeral), the modal to open when there is one, and the audit records it appended — every path appends
// at least one before returning.
//
// Buttons carry {card, env, nonce} (domain/approval.ts). On a click, nothing in the payload is trusted:
//   1. the value must parse as one the bot wrote (else: refused as tampered, audited);
//   2. the clicking user must be on the environment's approver list (before the nonce is even read);
//   3. the nonce must exist and be bound to the same card and environment as the button (an edited payload
//      naming another promotion or environment: refused as tampered, audited), and to the wait the card
//      still shows (a button from before a re-run acts on nothing);
//   4. then ApprovalService.decide re-checks everything against the card and GitHub (four-eyes, waiting,
//      one decision per wait).
// Reject first opens a modal asking for the reason (its private_metadata carries the same value); the
// decision is made on submission, with the same checks.
import { randomBytes } from 'node:crypto';
import type { AccessPolicy } from '../domain/access.js';
import { authorize, authorizeApproval } from '../domain/access.js';
import type { AuditOutcome, AuditRecord } from '../domain/audit.js';
import { commandAudit } from '../domain/audit-records.js';
import { approvalActionValue, approvalView, parseApprovalAction } from '../domain/approval.js';
import type { ApprovalActionValue } from '../domain/approval.js';
import { sectionBlock, type SlackMessage } from '../domain/blockkit.js';
import type { Card } from '../domain/card.js';
import type { ApprovalDecision } from '../domain/events.js';
import {
  approvalSubject,
  rejectReasonProblem,
  renderPendingList,
  renderRejectModal,
  REJECT_REASON_BLOCK_ID,
  type PendingListItem,
  type SlackModalView,
} from '../domain/render-approval.js';
import type { Actor } from '../domain/types.js';
import type { Logger } from '../logging.js';
import type { ApprovalsConfig } from './config.js';
import { DeviceFlowError, type DeviceLinks, type ReplyTarget } from './device-flow.js';
import type { ApprovalService, AuditSink, DecisionStatus } from './service.js';
import type { ApprovalState, NonceBinding } from './state.js';
import type { TokenStore } from './token-store.js';

export interface ApprovalHandlerDeps {
  service: ApprovalService;
  state: ApprovalState;
  cards: { load(cardId: string): Promise<Card | undefined> };
  /** Config.access (approve.<env>). */
  access: AccessPolicy;
  config: Pick<ApprovalsConfig, 'mode'>;
  audit: AuditSink;
  /** `/approve link` (reviewer mode; optional in protection-rule mode, where it maps run triggerers). */
  links?: DeviceLinks;
  tokens?: TokenStore;
  logger: Logger;
  now?: () => Date;
}

export type ApprovalReplyStatus =
  | DecisionStatus
  | 'listed'
  | 'ambiguous'
  | 'reject-prompt'
  | 'invalid-reason'
  | 'refused-tampered'
  | 'refused-expired'
  | 'link-started'
  | 'link-unavailable'
  | 'link-failed';

export interface ApprovalReply {
  status: ApprovalReplyStatus;
  /** Ephemeral: only the user sees it. */
  message: SlackMessage;
  /**
   * Always false: a click on the card (a channel message) must never replace the card. A click from the
   * ephemeral `/approve` list (payload.container.is_ephemeral) may be answered in place by the caller.
   */
  replaceOriginal: boolean;
  /** Reject: open this with views.open(trigger_id, modal). */
  modal?: SlackModalView;
  /** Modal submission with a bad reason: ack({response_action: 'errors', errors}). */
  errors?: Record<string, string>;
  /**
   * Modal submission: the channel the Reject was clicked in (from private_metadata), for answering with
   * chat.postEphemeral (a view submission has no response_url).
   */
  channelId?: string;
  audit: AuditRecord[];
}

export interface ApproveCommandInput {
  /** `/approve <target>`: promotion name, freight alias or name; absent = list what is waiting. */
  target?: string;
  actor: Actor;
  channelId?: string;
  /** Slack trigger_id (idempotent audit ids). */
  requestId?: string;
}

export interface ApproveLinkInput {
  actor: Actor;
  reply: ReplyTarget;
  requestId?: string;
}

export interface ApprovalClickInput {
  /** actions[0].value, as received (untrusted). */
  actionValue: unknown;
  actor: Actor;
  /** approve_prod → approved, reject_prod → rejected. */
  decision: ApprovalDecision;
  channelId?: string;
  /** trigger_id or action_ts. */
  requestId?: string;
}

export interface RejectSubmissionInput {
  /** view.private_metadata, as received (untrusted). */
  viewPrivateMetadata: unknown;
  /** view.state.values.reject_reason.reason.value (reasonFromViewState). */
  reason: string | undefined;
  actor: Actor;
  /** view.id or the submission's trigger id. */
  requestId?: string;
}

// ---------------------------------------------------------------------------------------------------
// `/approve` and `/approve <promotion>`

export async function handleApproveCommand(
  input: ApproveCommandInput,
  deps: ApprovalHandlerDeps,
): Promise<ApprovalReply> {
  const requestId = input.requestId ?? randomId();
  const { record, records } = recorder(
    deps,
    input.actor,
    '/approve',
    `approve-cmd:${requestId}`,
    input.channelId,
  );
  const target = input.target?.trim();
  const waiting = await waitingCards(deps);

  if (!target) {
    const items: PendingListItem[] = [];
    for (const card of waiting) {
      const approval = card.approval as NonNullable<Card['approval']>;
      const actor = await deps.service.withGroups(input.actor, approval.environment);
      const verdict = await mayDecide(deps, actor, card);
      items.push({ card, allowed: verdict.allowed, ...(verdict.allowed ? {} : { why: verdict.reason }) });
    }
    await record(
      'list',
      'info',
      `${nameOf(input.actor)} listed what waits for approval: ${waiting.length === 0 ? 'nothing' : waiting.map((c) => c.promotion?.name ?? c.id).join(', ')}.`,
    );
    return reply('listed', renderPendingList(items, now(deps)), false, records);
  }

  const matches = waiting.filter((card) => matchesTarget(card, target));
  if (matches.length === 0) {
    await record(
      'nomatch',
      'info',
      `${nameOf(input.actor)} ran /approve ${target}: nothing waiting for approval matches. Nothing was approved.`,
    );
    const listed = waiting.map((c) => `\`${c.promotion?.name ?? c.id}\``).join(', ');
    return reply(
      'not-found',
      text(
        `Nothing waiting for approval matches “${target}”.${listed ? ` Waiting: ${listed}.` : ' Nothing is waiting.'}`,
      ),
      false,
      records,
    );
  }
  if (matches.length > 1) {
    await record(
      'ambiguous',
      'info',
      `${nameOf(input.actor)} ran /approve ${target}: it matches ${matches.length} waiting approvals. Nothing was approved.`,
    );
    return reply(
      'ambiguous',
      text(
        `“${target}” matches ${matches.length} waiting approvals: ${matches.map((c) => `\`${c.promotion?.name ?? c.id}\``).join(', ')}. Name the promotion.`,
      ),
      false,
      records,
    );
  }
  const card = matches[0] as Card;
  const approval = card.approval as NonNullable<Card['approval']>;
  const result = await deps.service.decide({
    cardId: card.id,
    environment: approval.environment,
    decision: 'approved',
    actor: input.actor,
    via: 'command',
    requestId,
    ...(input.channelId ? { channelId: input.channelId } : {}),
  });
  return reply(result.status, result.message, false, [...records, ...result.audit]);
}

// ---------------------------------------------------------------------------------------------------
// `/approve link`

export async function handleApproveLink(
  input: ApproveLinkInput,
  deps: ApprovalHandlerDeps,
): Promise<ApprovalReply> {
  const requestId = input.requestId ?? randomId();
  const { record, records } = recorder(
    deps,
    input.actor,
    'approve.link',
    `approve-link-cmd:${requestId}`,
    input.reply.channelId,
  );
  if (!deps.links) {
    await record(
      'unavailable',
      'info',
      `${nameOf(input.actor)} ran /approve link; linking is not configured (GITHUB_APP_CLIENT_ID, TOKEN_ENCRYPTION_KEY).`,
    );
    return reply(
      'link-unavailable',
      text(
        deps.config.mode === 'protection-rule'
          ? 'No link needed: approvals here are sent to GitHub by the bot (protection-rule mode).'
          : 'Linking GitHub accounts is not configured on this bot (GITHUB_APP_CLIENT_ID, TOKEN_ENCRYPTION_KEY). Ask a platform admin.',
      ),
      false,
      records,
    );
  }
  const existing = await deps.tokens?.info(input.actor.slackUserId);
  try {
    const started = await deps.links.start(input.actor, input.reply);
    const minutes = Math.round(started.expiresIn / 60);
    await record(
      'started',
      'info',
      `${nameOf(input.actor)} started linking a GitHub account (device flow${existing ? `; currently linked to ${existing.githubLogin}` : ''}).`,
    );
    const lines = [
      `🔗 *Link your GitHub account* — open ${started.verificationUri} and enter the code \`${started.userCode}\` within ${minutes} minutes.`,
      `_I'll tell you here once GitHub confirms. ${existing ? `You are linked to *${existing.githubLogin}* now; this replaces it.` : 'Only you can see this code; do not share it.'}_`,
    ];
    return reply(
      'link-started',
      { text: lines.join('\n'), blocks: [sectionBlock(lines.join('\n'))] },
      false,
      records,
    );
  } catch (error) {
    deps.logger.warn(
      { err: error, slackUserId: input.actor.slackUserId },
      '/approve link: the device flow did not start',
    );
    const why = error instanceof DeviceFlowError ? error.message : 'an unexpected error';
    await record(
      'failed',
      'failed',
      `${nameOf(input.actor)} ran /approve link; the device flow did not start (${why}).`,
    );
    return reply(
      'link-failed',
      text(`⚠️ Linking could not start: ${why}. Try again in a minute.`),
      false,
      records,
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// Buttons

export async function handleApprovalClick(
  input: ApprovalClickInput,
  deps: ApprovalHandlerDeps,
): Promise<ApprovalReply> {
  const requestId = input.requestId ?? randomId();
  const command = input.decision === 'approved' ? 'approve.button' : 'reject.button';
  const checked = await checkButton(
    input.actionValue,
    input.actor,
    command,
    `approval-click:${requestId}`,
    input.channelId,
    deps,
  );
  if ('reply' in checked) return checked.reply;
  const { claimed, actor, card, records, record } = checked;

  if (input.decision === 'approved') {
    const result = await deps.service.decide({
      cardId: claimed.card,
      environment: claimed.env,
      decision: 'approved',
      actor,
      via: 'button',
      requestId,
      ...(input.channelId ? { channelId: input.channelId } : {}),
    });
    return reply(result.status, result.message, false, [...records, ...result.audit]);
  }

  // Reject: ask why first (the decision is made on submission, with every check again).
  const verdict = await mayDecide(deps, actor, card);
  if (!verdict.allowed) {
    await record(
      'refused',
      'denied',
      `${nameOf(actor)} clicked Reject on ${approvalSubject(card, claimed.env)}: ${verdict.reason} Nothing was sent to GitHub.`,
      card.promotion?.name,
    );
    return reply(
      verdict.code === 'self' ? 'denied-self-approval' : 'denied-forbidden',
      text(`⛔ ${verdict.reason}`),
      false,
      records,
    );
  }
  await record(
    'prompt',
    'info',
    `${nameOf(actor)} clicked Reject on ${approvalSubject(card, claimed.env)}; asked for the reason.`,
    card.promotion?.name,
  );
  const metadata = JSON.stringify({
    ...JSON.parse(approvalActionValue(claimed)),
    ...(input.channelId ? { channel: input.channelId } : {}),
  });
  return {
    status: 'reject-prompt',
    message: text(`Rejecting ${approvalSubject(card, claimed.env)}: say why in the dialog.`),
    replaceOriginal: false,
    modal: renderRejectModal(card, claimed.env, metadata),
    audit: records,
  };
}

export async function handleRejectSubmission(
  input: RejectSubmissionInput,
  deps: ApprovalHandlerDeps,
): Promise<ApprovalReply> {
  const requestId = input.requestId ?? randomId();
  const { value, channelId } = splitMetadata(input.viewPrivateMetadata);
  const checked = await checkButton(
    value,
    input.actor,
    'reject.modal',
    `approval-reject:${requestId}`,
    channelId,
    deps,
  );
  if ('reply' in checked) return checked.reply;
  const { claimed, actor, card, records, record } = checked;
  const problem = rejectReasonProblem(input.reason);
  if (problem) {
    await record(
      'invalid',
      'info',
      `${nameOf(actor)} submitted a rejection of ${approvalSubject(card, claimed.env)} without a usable reason; asked again.`,
      card.promotion?.name,
    );
    return {
      status: 'invalid-reason',
      message: text(problem),
      replaceOriginal: false,
      errors: { [REJECT_REASON_BLOCK_ID]: problem },
      audit: records,
    };
  }
  const result = await deps.service.decide({
    cardId: claimed.card,
    environment: claimed.env,
    decision: 'rejected',
    actor,
    reason: (input.reason ?? '').trim(),
    via: 'modal',
    requestId,
    ...(channelId ? { channelId } : {}),
  });
  return {
    ...reply(result.status, result.message, false, [...records, ...result.audit]),
    ...(channelId ? { channelId } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------
// The checks every button path shares

type Recorder = (step: string, outcome: AuditOutcome, detail: string, target?: string) => Promise<void>;

interface Checked {
  claimed: ApprovalActionValue;
  actor: Actor;
  card: Card;
  binding: NonceBinding;
  records: AuditRecord[];
  record: Recorder;
}

async function checkButton(
  value: unknown,
  rawActor: Actor,
  command: string,
  auditId: string,
  channelId: string | undefined,
  deps: ApprovalHandlerDeps,
): Promise<Checked | { reply: ApprovalReply }> {
  const claimed = parseApprovalAction(value);
  const actor = claimed ? await deps.service.withGroups(rawActor, claimed.env) : rawActor;
  const { record, records } = recorder(deps, actor, command, auditId, channelId, claimed?.env);
  const who = nameOf(actor);
  if (!claimed) {
    await record(
      'refused',
      'denied',
      `${who} clicked an approval button whose value the bot did not write (${describeValue(value)}). Refused as tampered; nothing was sent to GitHub.`,
    );
    return {
      reply: reply(
        'refused-tampered',
        text('⛔ That button is not one of mine (its value was changed). Nothing was done.'),
        false,
        records,
      ),
    };
  }
  // RBAC before the nonce is touched.
  const allowed = authorize(deps.access, 'approve', claimed.env, actor);
  if (!allowed.allowed) {
    await record(
      'refused',
      'denied',
      `${who} clicked an approval button for ${claimed.env} (card ${claimed.card}): not on the ${claimed.env} approver list. Nothing was sent to GitHub.`,
    );
    return { reply: reply('denied-forbidden', text(`⛔ ${allowed.reason}`), false, records) };
  }
  const binding = await deps.state.binding(claimed.nonce);
  if (!binding) {
    await record(
      'refused',
      'denied',
      `${who} clicked an approval button for ${claimed.env} (card ${claimed.card}) with an unknown or expired nonce. Nothing was sent to GitHub.`,
    );
    return {
      reply: reply(
        'refused-expired',
        text('This approval button has expired. Run `/approve` to see what is waiting.'),
        false,
        records,
      ),
    };
  }
  if (binding.cardId !== claimed.card || binding.environment !== claimed.env) {
    await record(
      'refused',
      'denied',
      `${who} clicked an approval button naming card ${claimed.card} (${claimed.env}), but its nonce belongs to card ${binding.cardId} (${binding.environment}). Refused as tampered; nothing was sent to GitHub.`,
    );
    return {
      reply: reply(
        'refused-tampered',
        text(
          '⛔ That button does not match the approval it claims (its value was changed). Nothing was done.',
        ),
        false,
        records,
      ),
    };
  }
  const card = await deps.cards.load(binding.cardId);
  const approval = card?.approval;
  if (binding.decided) {
    await record(
      'noop',
      'info',
      `${who} clicked an approval button of a wait already ${binding.decided.decision} by ${binding.decided.by}. Nothing was sent to GitHub.`,
      card?.promotion?.name,
    );
    return {
      reply: reply(
        'noop-decided',
        text(
          `ℹ️ Nothing to do: it was already ${binding.decided.decision} by ${mention(binding.decided.by)}.`,
        ),
        false,
        records,
      ),
    };
  }
  if (!card || !approval || approval.runId !== binding.runId || approval.requestKey !== binding.requestKey) {
    await record(
      'noop',
      'info',
      `${who} clicked an approval button of an earlier wait of card ${binding.cardId} (run ${binding.runId}); it no longer applies. Nothing was sent to GitHub.`,
    );
    return {
      reply: reply(
        'noop-not-waiting',
        text('ℹ️ Nothing to do: that approval is no longer waiting (the run was re-run or ended).'),
        false,
        records,
      ),
    };
  }
  return { claimed, actor, card, binding, records, record };
}

/** The approver list and four-eyes as far as the card tells (decide() checks again, with GitHub). */
async function mayDecide(
  deps: ApprovalHandlerDeps,
  actor: Actor,
  card: Card,
): Promise<{ allowed: true } | { allowed: false; reason: string; code: 'forbidden' | 'self' }> {
  const approval = card.approval as NonNullable<Card['approval']>;
  const triggeredBy = card.run?.triggeredBy;
  const triggerer = triggeredBy ? await deps.tokens?.slackUserForLogin(triggeredBy) : undefined;
  const result = authorizeApproval(deps.access, approval.environment, actor, {
    requestedBy: card.request?.requestedBy.slackUserId ?? '',
    ...(triggerer ? { runTriggeredBy: triggerer } : {}),
  });
  if (result.allowed) return { allowed: true };
  return {
    allowed: false,
    reason: result.reason,
    code: result.code === 'chatops_self_approval' ? 'self' : 'forbidden',
  };
}

/** Cards whose approval still waits (the index is cleaned of the others as it is read). */
async function waitingCards(deps: ApprovalHandlerDeps): Promise<Card[]> {
  const cards: Card[] = [];
  for (const { cardId, environment } of await deps.state.waiting()) {
    const card = await deps.cards.load(cardId);
    const view = card ? approvalView(card) : undefined;
    if (!card || !view?.actionable || view.approval.environment !== environment) {
      await deps.state.clearWaiting(cardId, environment);
      continue;
    }
    cards.push(card);
  }
  return cards;
}

function matchesTarget(card: Card, target: string): boolean {
  const t = target.toLowerCase().replace(/^#/, '');
  const candidates = [
    card.promotion?.name,
    card.freight?.alias,
    card.id,
    card.run ? String(card.run.id) : undefined,
  ]
    .filter((c): c is string => c !== undefined)
    .map((c) => c.toLowerCase());
  if (candidates.includes(t)) return true;
  return t.length >= 7 && /^[0-9a-f]+$/.test(t) && (card.freight?.name.toLowerCase().startsWith(t) ?? false);
}

function splitMetadata(metadata: unknown): { value: unknown; channelId?: string } {
  if (typeof metadata !== 'string' || metadata.length > 3000) return { value: metadata };
  try {
    const data = JSON.parse(metadata) as Record<string, unknown>;
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return { value: metadata };
    const { channel, ...rest } = data;
    if (channel !== undefined && (typeof channel !== 'string' || !/^[CDG][A-Z0-9]{2,}$/.test(channel))) {
      return { value: metadata };
    }
    return { value: JSON.stringify(rest), ...(typeof channel === 'string' ? { channelId: channel } : {}) };
  } catch {
    return { value: metadata };
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers

function recorder(
  deps: ApprovalHandlerDeps,
  actor: Actor,
  command: string,
  idBase: string,
  channelId: string | undefined,
  environment?: AuditRecord['environment'],
): { record: Recorder; records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  const at = now(deps).toISOString();
  const record: Recorder = async (step, outcome, detail, target) => {
    const entry = commandAudit({
      id: `${idBase}:${step}`,
      at,
      actor,
      command,
      ...(environment ? { environment } : {}),
      ...(target ? { target } : {}),
      outcome,
      detail,
      ...(channelId ? { channelId } : {}),
    });
    await deps.audit.append(entry);
    records.push(entry);
  };
  return { record, records };
}

const reply = (
  status: ApprovalReplyStatus,
  message: SlackMessage,
  replaceOriginal: boolean,
  audit: AuditRecord[],
): ApprovalReply => ({ status, message, replaceOriginal, audit });

const text = (t: string): SlackMessage => ({ text: t, blocks: [sectionBlock(t)] });

const now = (deps: ApprovalHandlerDeps): Date => (deps.now ?? (() => new Date()))();

const nameOf = (actor: Actor): string =>
  actor.slackUserName ? `${actor.slackUserName} (${actor.slackUserId})` : actor.slackUserId;

const mention = (slackUserId: string): string =>
  /^[UW][A-Z0-9]{2,}$/.test(slackUserId) ? `<@${slackUserId}>` : slackUserId;

const randomId = (): string => randomBytes(8).toString('hex');

function describeValue(value: unknown): string {
  if (typeof value !== 'string') return `a ${value === null ? 'null' : typeof value}`;
  return `${value.length} characters`;
}
