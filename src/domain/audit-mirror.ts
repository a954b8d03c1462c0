// #infra-audit that people can read: which audit records the channel shows, and the one line each gets.
// Pure. The stream keeps every record (src/audit/stream.ts); the mirror (src/audit/mirror.ts) posts a line
// only for the records mirrorKindOf picks, at most one per decision and per phase change:
//
//   decision  what a person decided (or the bot decided on its own), with its verdict: a command accepted
//             or refused — by the access rules, four-eyes, a stale or edited button —, approve / reject,
//             cancel / Withdraw, the unlock confirmation, linking a GitHub account, a signed but malformed
//             Slack request refused, a command that failed for good, the bot stopping a run that outlived
//             its promotion, a change freeze set or lifted, a rollback, an approver overriding a freeze.
//             A control that is added puts its action in DECISION_ACTIONS.
//   phase     a promotion's phase changes: created, running, waiting for approval, succeeded / failed /
//             errored / aborted, deleted in Kargo before it finished.
//   summary   what is summarised before it is recorded: the public edge's refusals (one record per route
//             and reason per interval), drift found / changed / back in sync (one per episode change).
//
// Everything else stays in the stream only: freight resolved, steps, the run's status and jobs, gate
// results, plan summaries, outputs, artifact problems, the Pending phase (the `created` line says it
// exists), reminders, and a command's `info` answers — /unlock showing a lock, /approve listing what
// waits, a click on something already decided: looking changes nothing. Three records are copies of a
// decision that has its own line: the card's copy of a cancel (`event:…`, the cancel command records the
// verdict), an approval's `…:accepted` step ("allowed, sending it to GitHub"), whose verdict follows as
// `approve` / `reject` (or a `…:result` record when GitHub refuses, fails or has nothing waiting), and an
// unlock's `…:confirmed` step, whose `…:result` follows (released, changed, failed, already gone). A
// `…:result` record is that decision's line whatever its outcome, `info` included.
//
// Every record of a promotion is a click away: the line's "Full record" button and `/audit <promotion>`
// (src/domain/audit-trail.ts).
import type { AuditOutcome, AuditRecord } from './audit.js';
import {
  BLOCK_KIT_LIMITS,
  escapeMrkdwn,
  fitMrkdwn,
  plainText,
  truncate,
  type ButtonElement,
  type SectionBlock,
  type SlackMessage,
} from './blockkit.js';
import { CARD_ID_PATTERN, detailsButtonValue } from './details.js';
import { link } from './render-parts.js';
import type { Environment } from './types.js';

export type MirrorKind = 'decision' | 'phase' | 'summary';

/** "Full record" on a line, and "More" on the pages of the answer: the card (and page) to show. */
export const AUDIT_RECORD_ACTION_ID = 'audit_record';

/** Commands and controls: a line when the record carries a verdict (not `info`). */
const DECISION_ACTIONS: ReadonlySet<string> = new Set([
  'promote',
  'approve',
  'reject',
  'approve.button',
  'reject.button',
  'approve.modal',
  'reject.modal',
  'approve.link',
  'cancel',
  'unlock',
  'unlock.confirm',
  'unlock.cancel',
  'slack.request',
  'run.stop',
  'freeze',
  'unfreeze',
  'rollback',
  'promote.override',
]);

/** A job that failed for good is recorded by src/worker/finalize.ts as `failed:<request id>`. */
const FAILED_JOB_ID = /^failed:/;

const PHASE_ACTIONS: ReadonlySet<string> = new Set([
  'promotion.created',
  'promotion.phase',
  'approval.requested',
  'promotion.deleted',
]);

const SUMMARY_ACTIONS: ReadonlySet<string> = new Set([
  'edge.refused',
  'drift.detected',
  'drift.changed',
  'drift.resolved',
]);

const VERDICTS: ReadonlySet<AuditOutcome> = new Set([
  'accepted',
  'denied',
  'rejected',
  'succeeded',
  'failed',
]);

/** Decisions recorded in two steps (approvals/service.ts, locks/handlers.ts): "allowed, doing it", then the result. */
const ACCEPTED_STEP = /^(?:approval:[^:]+:.+:accepted|unlock:confirm:.+:confirmed)$/;
const RESULT_STEP = /^(?:approval:[^:]+|unlock:confirm):.+:result$/;

/** Card events are recorded as `event:<event id>` (audit-records.ts). */
const isCardEvent = (record: AuditRecord): boolean => record.id.startsWith('event:');

/** Whether #infra-audit shows this record, and as what; undefined: the stream keeps it, the channel not. */
export function mirrorKindOf(record: AuditRecord): MirrorKind | undefined {
  const { action } = record;
  if (SUMMARY_ACTIONS.has(action)) return 'summary';
  if (PHASE_ACTIONS.has(action)) {
    return action === 'promotion.phase' && phaseOf(record) === 'Pending' ? undefined : 'phase';
  }
  if (DECISION_ACTIONS.has(action) && RESULT_STEP.test(record.id)) return 'decision';
  if (!VERDICTS.has(record.outcome)) return undefined;
  if (FAILED_JOB_ID.test(record.id) && !isCardEvent(record)) return 'decision';
  if (!DECISION_ACTIONS.has(action)) return undefined;
  if (action === 'cancel' && isCardEvent(record)) return undefined;
  if (ACCEPTED_STEP.test(record.id)) return undefined;
  return 'decision';
}

/** The Promotion's phase: the record's fact, or (records written before facts existed) its sentence. */
function phaseOf(record: AuditRecord): string | undefined {
  if (record.facts?.phase) return record.facts.phase;
  return /^Promotion \S+ is pending\b/.test(record.detail) ? 'Pending' : undefined;
}

// ───────────────────────────── the line ─────────────────────────────

/** What the mirror knows about the promotion a record belongs to (from the card), when it has one. */
export interface AuditLineContext {
  /** The card's permalink in #infra-deployments, once posted. */
  cardUrl?: string;
  /** The promotion's GitHub Actions run. */
  runUrl?: string;
  /** The card's environment, for records that do not name one (phase changes). */
  environment?: Environment;
}

const OUTCOME_EMOJI: Record<AuditOutcome, string> = {
  accepted: ':white_check_mark:',
  succeeded: ':large_green_circle:',
  denied: ':no_entry:',
  rejected: ':x:',
  failed: ':red_circle:',
  info: ':information_source:',
};

const DETAIL_LIMIT = 1000;

/**
 * `:white_check_mark: *promote* prod by <@U1> — accepted: alice requested a promotion of frozen-tiger to
 * prod. · card · run`: what and where, who, the outcome in words, and the links the mirror knows. The
 * record's target follows the sentence (`· \`lock-1\``) only when the sentence does not name it already.
 */
export function formatAuditLine(record: AuditRecord, context: AuditLineContext = {}): string {
  const emoji = OUTCOME_EMOJI[record.outcome] ?? ':grey_question:';
  const environment = record.environment ?? context.environment;
  const where = environment ? ` ${environment}` : '';
  const sentence = truncate(record.detail, DETAIL_LIMIT);
  const detail = escapeMrkdwn(sentence);
  const what =
    record.target && !sentence.includes(record.target)
      ? ` · \`${escapeMrkdwn(record.target.replace(/`/g, "'"))}\``
      : '';
  const who = actorLabel(record.actor);
  const links = [
    context.cardUrl ? link(context.cardUrl, 'card') : undefined,
    context.runUrl ? link(context.runUrl, 'run') : undefined,
  ].filter((part): part is string => part !== undefined && part.startsWith('<'));
  const tail = links.length > 0 ? ` · ${links.join(' · ')}` : '';
  return `${emoji} *${escapeMrkdwn(record.action)}*${where} by ${who} — ${record.outcome}: ${detail}${what}${tail}`;
}

/**
 * The #infra-audit message for a record, or undefined when the channel does not show it. A record of a
 * promotion carries a "Full record" button: every record of that promotion, to whoever clicks.
 */
export function auditLine(record: AuditRecord, context: AuditLineContext = {}): SlackMessage | undefined {
  if (!mirrorKindOf(record)) return undefined;
  const text = fitMrkdwn(formatAuditLine(record, context), BLOCK_KIT_LIMITS.sectionText);
  const section: SectionBlock = {
    type: 'section',
    text: { type: 'mrkdwn', text },
    ...(record.cardId && CARD_ID_PATTERN.test(record.cardId)
      ? { accessory: fullRecordButton(record.cardId) }
      : {}),
  };
  return { text, blocks: [section] };
}

export const fullRecordButton = (cardId: string): ButtonElement => ({
  type: 'button',
  action_id: AUDIT_RECORD_ACTION_ID,
  text: plainText('Full record', BLOCK_KIT_LIMITS.buttonText),
  value: detailsButtonValue(cardId),
});

/** `slack:U123` → a mention; anyone else (`github:octocat`, `kargo:admin`, `system`) as plain text. */
export function actorLabel(actor: string): string {
  const slackUser = /^slack:([UW][A-Z0-9]+)$/.exec(actor);
  return slackUser ? `<@${slackUser[1]}>` : escapeMrkdwn(actor);
}
