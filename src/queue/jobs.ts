// Job payloads of the command queues, validated with zod on both ends: the web process builds them from
// a Slack request, the worker parses them before acting (a malformed job fails permanently, loudly).
//
// Two lanes, each its own BullMQ queue with its own worker concurrency, so interactive work never waits
// behind a burst of promotions:
//   promotions   `promote` (and later `rollback`): talks to Kargo, may pause during an outage
//   interactive  everything a person waits for: /freight, /approve and its buttons, /unlock, /cancel, ...
import { z } from 'zod';
import { CARD_ID_PATTERN, MAX_DETAILS_PAGE } from '../domain/details.js';

export const PROMOTIONS_QUEUE = 'promotions';
export const INTERACTIVE_QUEUE = 'interactive';
/** Before lanes, every command went through this queue; a worker still drains it after an upgrade. */
export const LEGACY_COMMAND_QUEUE = 'commands';
export type Lane = typeof PROMOTIONS_QUEUE | typeof INTERACTIVE_QUEUE;

const actor = z.object({
  slackUserId: z.string(),
  slackUserName: z.string().optional(),
  groupIds: z.array(z.string()).optional(),
});

const replyTarget = z.object({
  channelId: z.string(),
  /** Slack's response_url for ephemeral follow-ups (5 uses / 30 min). */
  responseUrl: z.string().url().optional(),
});

export const promoteJob = z.object({
  kind: z.literal('promote'),
  cardId: z.string(),
  environment: z.enum(['dev', 'prod']),
  stage: z.string(),
  freight: z.discriminatedUnion('by', [
    z.object({ by: z.literal('latest') }),
    /** /rollback without `to`: the freight verified in the stage before the current one. */
    z.object({ by: z.literal('previous') }),
    z.object({ by: z.enum(['alias', 'name']), value: z.string() }),
  ]),
  /** /rollback: the target must be freight the stage ran and verified before. */
  rollback: z.boolean().optional(),
  /** `override <reason>` through a change freeze; only an approver's request carries it (checked at the edge). */
  override: z.string().min(1).max(300).optional(),
  actor,
  reply: replyTarget,
  requestedAt: z.string(),
});

/** /freeze: `until` and `open` were worked out at the edge from what the user wrote. */
export const freezeJob = z.object({
  kind: z.literal('freeze'),
  requestId: z.string(),
  environment: z.enum(['dev', 'prod']),
  stage: z.string(),
  reason: z.string().min(1).max(300),
  until: z.string().datetime(),
  /** No end was given (it ends after the default at the latest). */
  open: z.boolean(),
  actor,
  reply: replyTarget,
});

export const unfreezeJob = z.object({
  kind: z.literal('unfreeze'),
  requestId: z.string(),
  environment: z.enum(['dev', 'prod']),
  stage: z.string(),
  actor,
  reply: replyTarget,
});

/** Delayed to a freeze's end: ends it (restores auto-promotion) if that freeze is still the one in force. */
export const freezeEndJob = z.object({
  kind: z.literal('freeze-end'),
  requestId: z.string(),
  environment: z.enum(['dev', 'prod']),
  stage: z.string(),
  until: z.string().datetime(),
  /** Who started the freeze (its end is recorded under their request). */
  actor,
});

/** /status, or the Home tab of `homeUserId` (app_home_opened) when there is no command to answer. */
export const statusJob = z.object({
  kind: z.literal('status'),
  requestId: z.string(),
  share: z.boolean(),
  actor,
  reply: replyTarget.optional(),
  homeUserId: z.string().optional(),
});

export const freightJob = z.object({
  kind: z.literal('freight'),
  requestId: z.string(),
  limit: z.number().int().min(1).max(20),
  share: z.boolean(),
  actor,
  reply: replyTarget,
});

/** `/unlock dev|prod`: show the state lock (the worker reads AWS and GitHub). */
export const unlockJob = z.object({
  kind: z.literal('unlock'),
  requestId: z.string(),
  environment: z.enum(['dev', 'prod']),
  actor,
  reply: replyTarget,
});

/** A click on the unlock view's Confirm or Cancel button. `actionValue` is untrusted input. */
export const unlockActionJob = z.object({
  kind: z.literal('unlock-action'),
  action: z.enum(['confirm', 'cancel']),
  requestId: z.string(),
  actionValue: z.unknown(),
  actor,
  reply: replyTarget,
});

/** `/approve [target]` and `/approve link`. */
export const approveJob = z.object({
  kind: z.literal('approve'),
  requestId: z.string(),
  target: z.string().optional(),
  link: z.boolean(),
  actor,
  reply: replyTarget,
});

/** A click on a card's Approve button (Reject is prompted by the web process, then submitted). */
export const approveActionJob = z.object({
  kind: z.literal('approve-action'),
  requestId: z.string(),
  actionValue: z.unknown(),
  actor,
  reply: replyTarget,
});

/** The Reject dialog was submitted with a reason. */
export const rejectSubmissionJob = z.object({
  kind: z.literal('reject-submission'),
  requestId: z.string(),
  viewPrivateMetadata: z.unknown(),
  reason: z.string(),
  actor,
});

/**
 * "Show resources" / "Show all findings" on a card or its alert, or "More" on their pages: which card and
 * page (parsed and checked at the edge, src/domain/details.ts), answered ephemerally to the clicker.
 */
export const cardDetailsJob = z.object({
  kind: z.literal('card-details'),
  requestId: z.string(),
  view: z.enum(['plan', 'findings']),
  cardId: z.string().regex(CARD_ID_PATTERN),
  page: z.number().int().min(1).max(MAX_DETAILS_PAGE),
  actor,
  reply: replyTarget,
});

/** `/cancel <target> [reason]`, or Withdraw on an approval card (`actionValue` is untrusted input). */
export const cancelJob = z.object({
  kind: z.literal('cancel'),
  requestId: z.string(),
  via: z.enum(['command', 'button']),
  /** /cancel: promotion name, card id or freight alias. */
  target: z.string().optional(),
  /** Withdraw: the button's value (card, environment, nonce). */
  actionValue: z.unknown().optional(),
  reason: z.string().optional(),
  actor,
  reply: replyTarget,
});

/** `/drift [dev|prod]`: the latest drift check, from what the bot stored (no GitHub call). */
export const driftJob = z.object({
  kind: z.literal('drift'),
  requestId: z.string(),
  environment: z.enum(['dev', 'prod']).optional(),
  actor,
  reply: replyTarget,
});

/** `/stats [7d|30d|90d]`: delivery metrics of prod from the audit stream. */
export const statsJob = z.object({
  kind: z.literal('stats'),
  requestId: z.string(),
  days: z.union([z.literal(7), z.literal(30), z.literal(90)]),
  actor,
  reply: replyTarget,
});

/**
 * `/audit <promotion | card id>`, or "Full record" on a #infra-audit line and "More" on its pages: every
 * audit record of one promotion, answered ephemerally to whoever asked from #infra-audit.
 */
export const auditRecordJob = z.object({
  kind: z.literal('audit-record'),
  requestId: z.string(),
  via: z.enum(['command', 'button']),
  /** A card id (the button) or what was typed: a Promotion name or card id (commands.ts checked it). */
  target: z.string().min(1).max(253),
  page: z.number().int().min(1).max(MAX_DETAILS_PAGE),
  actor,
  reply: replyTarget,
});

export const commandJob = z.discriminatedUnion('kind', [
  promoteJob,
  freightJob,
  unlockJob,
  unlockActionJob,
  approveJob,
  approveActionJob,
  rejectSubmissionJob,
  cardDetailsJob,
  cancelJob,
  driftJob,
  statsJob,
  freezeJob,
  unfreezeJob,
  freezeEndJob,
  statusJob,
  auditRecordJob,
]);
export type PromoteJob = z.infer<typeof promoteJob>;

/** What the request asked for, as words: `latest`, `previous` (a rollback) or the alias or name. */
export const freightQueryOf = (selector: PromoteJob['freight']): string =>
  selector.by === 'latest' || selector.by === 'previous' ? selector.by : selector.value;
export type FreightJob = z.infer<typeof freightJob>;
export type UnlockJob = z.infer<typeof unlockJob>;
export type UnlockActionJob = z.infer<typeof unlockActionJob>;
export type ApproveJob = z.infer<typeof approveJob>;
export type ApproveActionJob = z.infer<typeof approveActionJob>;
export type RejectSubmissionJob = z.infer<typeof rejectSubmissionJob>;
export type CardDetailsJob = z.infer<typeof cardDetailsJob>;
export type CancelJob = z.infer<typeof cancelJob>;
export type DriftJob = z.infer<typeof driftJob>;
export type StatsJob = z.infer<typeof statsJob>;
export type FreezeJob = z.infer<typeof freezeJob>;
export type UnfreezeJob = z.infer<typeof unfreezeJob>;
export type FreezeEndJob = z.infer<typeof freezeEndJob>;
export type StatusJob = z.infer<typeof statusJob>;
export type AuditRecordJob = z.infer<typeof auditRecordJob>;
export type CommandJob = z.infer<typeof commandJob>;

/** The lane a job runs in. */
export const laneOf = (kind: CommandJob['kind']): Lane =>
  kind === 'promote' ? PROMOTIONS_QUEUE : INTERACTIVE_QUEUE;

/** What a person typed or clicked, for messages about the job ("/promote prod", "the Approve button"). */
export function commandLabel(job: CommandJob): string {
  switch (job.kind) {
    case 'promote':
      return `${job.rollback ? '/rollback' : '/promote'} ${job.environment}`;
    case 'freeze':
      return `/freeze ${job.environment}`;
    case 'unfreeze':
      return `/unfreeze ${job.environment}`;
    case 'freeze-end':
      return `the end of the ${job.environment} freeze`;
    case 'status':
      return job.homeUserId && !job.reply ? 'the Home tab' : '/status';
    case 'freight':
      return '/freight';
    case 'unlock':
      return `/unlock ${job.environment}`;
    case 'unlock-action':
      return job.action === 'confirm' ? 'the unlock Confirm button' : 'the unlock Cancel button';
    case 'approve':
      return job.link ? '/approve link' : '/approve';
    case 'approve-action':
      return 'the Approve button';
    case 'reject-submission':
      return 'the Reject dialog';
    case 'card-details':
      return job.view === 'plan' ? 'the Show resources button' : 'the Show all findings button';
    case 'cancel':
      return job.via === 'button' ? 'the Withdraw button' : '/cancel';
    case 'drift':
      return job.environment ? `/drift ${job.environment}` : '/drift';
    case 'stats':
      return `/stats ${job.days}d`;
    case 'audit-record':
      return job.via === 'button' ? 'the Full record button' : `/audit ${job.target}`;
  }
}

/** Retry policy: transient failures back off exponentially; permanent ones throw UnrecoverableError. */
export const COMMAND_JOB_OPTIONS = {
  attempts: 6,
  backoff: { type: 'exponential' as const, delay: 2_000, jitter: 0.3 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
  removeOnFail: { age: 30 * 24 * 3600, count: 10_000 },
};
