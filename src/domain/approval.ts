// The approval of a gated environment (prod), as the card knows it: the pure merge rules that fold
// ApprovalRequested / ApprovalDecided into `card.approval`, what the card should offer now (approvalView),
// and the Approve / Reject button values. card.ts calls the merges; gates.ts and render-approval.ts read
// approvalView; src/approvals does the I/O (GitHub, nonces, Redis) around them.
//
// Rules (the same "only forward" rules as the rest of the card):
//   - one approval per wait (requestKey: a deployment id, or the waiting job's id). A request for another
//     wait replaces the current one only when it started later (a re-run waits again);
//   - the first decision of a wait is final: a second ApprovalDecided (double click, a retried job, a
//     decision also made on GitHub) changes nothing;
//   - what the card offers is derived, never stored: buttons only while the approval waits AND GitHub still
//     waits as far as the card knows (the job has not moved on, the run has not ended). A decision made on
//     GitHub directly therefore hides the buttons as soon as the job moves.
import { BLOCK_KIT_LIMITS, truncate } from './blockkit.js';
import type { Card } from './card.js';
import type { ApprovalDecided, ApprovalDecision, ApprovalMode, ApprovalRequested } from './events.js';
import { isCompleted } from './run-state.js';
import { ENVIRONMENTS } from './types.js';
import type { Actor, Environment } from './types.js';

/** Button action ids on the card (and in the /approve list). */
export const APPROVE_ACTION_ID = 'approve_prod';
export const REJECT_ACTION_ID = 'reject_prod';
/** Withdraw on an approval card: the requester (or an approver) stops the promotion instead of deciding it. */
export const WITHDRAW_ACTION_ID = 'withdraw_promotion';

export const APPROVAL_LIMITS = {
  /** GitHub's limit for a protection rule comment; we keep stored reasons within it. */
  comment: 1000,
  login: 100,
  url: 2000,
} as const;

export type ApprovalStatus = 'waiting' | ApprovalDecision;

export interface CardApproval {
  runId: number;
  environment: Environment;
  mode: ApprovalMode;
  /** The wait (ApprovalRequested.requestKey); absent when a decision arrived before its request. */
  requestKey?: string;
  status: ApprovalStatus;
  /** Since when the status holds: the request time while waiting, the decision time after. */
  since: string;
  requestedAt?: string;
  reviewUrl?: string;
  /** The buttons' nonce (opaque; server-side binding in src/approvals/nonces.ts). */
  nonce?: string;
  by?: Actor;
  githubLogin?: string;
  /** Rejection reason (or approval comment). */
  reason?: string;
}

// ---------------------------------------------------------------------------------------------------
// Merges (called by card.ts's reducer)

/** The approval after a request; the very same object when it changes nothing. */
export function mergeApprovalRequested(
  current: CardApproval | undefined,
  event: ApprovalRequested,
): CardApproval | undefined {
  const incoming: CardApproval = withoutUndefined({
    runId: event.runId,
    environment: event.environment,
    mode: event.mode,
    requestKey: event.requestKey,
    status: 'waiting' as const,
    since: event.requestedAt,
    requestedAt: event.requestedAt,
    reviewUrl: safeStored(event.reviewUrl),
    nonce: event.nonce,
  });
  if (!current) return incoming;
  if (current.requestKey === event.requestKey) {
    // The same wait told twice (or after its decision): only fill in what is missing.
    const filled = withoutUndefined({
      ...current,
      requestedAt: current.requestedAt ?? incoming.requestedAt,
      reviewUrl: current.reviewUrl ?? incoming.reviewUrl,
      nonce: current.nonce ?? incoming.nonce,
    });
    return JSON.stringify(filled) === JSON.stringify(current) ? current : filled;
  }
  // Another wait: a later one (re-run, a second deployment) replaces the current approval.
  const reference = current.requestedAt ?? current.since;
  return timeOf(event.requestedAt) > timeOf(reference) ? incoming : current;
}

/** The approval after a decision; the very same object when it changes nothing (first decision wins). */
export function mergeApprovalDecided(
  current: CardApproval | undefined,
  event: ApprovalDecided,
): CardApproval | undefined {
  const decided = (base: Partial<CardApproval>): CardApproval =>
    withoutUndefined({
      runId: event.runId,
      environment: event.environment,
      mode: base.mode ?? 'protection-rule',
      ...base,
      requestKey: base.requestKey ?? event.requestKey,
      status: event.decision,
      since: event.at,
      by: event.by,
      githubLogin: event.githubLogin === undefined ? undefined : truncate(event.githubLogin, 100),
      reason: event.comment === undefined ? undefined : truncate(event.comment, APPROVAL_LIMITS.comment),
    });
  if (!current) return decided({});
  if (current.runId !== event.runId || current.environment !== event.environment) return current;
  if (event.requestKey !== undefined && current.requestKey !== undefined) {
    if (event.requestKey !== current.requestKey) return current;
  }
  if (current.status !== 'waiting') return current;
  return decided(current);
}

// ---------------------------------------------------------------------------------------------------
// What the card offers now

export type ApprovalPhase =
  /** Waiting, and GitHub still waits as far as the card knows: Approve / Reject are offered. */
  | 'waiting'
  | 'approved'
  | 'rejected'
  /** No decision through the bot, but the job went on (approved on GitHub, or the wait timer ran out). */
  | 'moved-on'
  /** No decision, and the run ended (cancelled, failed, timed out after 30 days…). */
  | 'ended';

export interface ApprovalView {
  approval: CardApproval;
  phase: ApprovalPhase;
  /** Whether the Approve / Reject buttons belong on the card. */
  actionable: boolean;
}

/** Job display name of the job that waits at prod (gates.ts JOBS.awsProdApply). */
const APPROVAL_JOB_PREFIX = 'aws prod apply';

export function approvalView(card: Card): ApprovalView | undefined {
  const approval = card.approval;
  if (!approval) return undefined;
  if (approval.status !== 'waiting') return { approval, phase: approval.status, actionable: false };
  const runEnded =
    card.run?.id === approval.runId && card.run.status !== undefined && isCompleted(card.run.status);
  if (runEnded || card.isTerminal) return { approval, phase: 'ended', actionable: false };
  const job = card.jobs
    .filter((candidate) => candidate.name.startsWith(APPROVAL_JOB_PREFIX))
    .sort((a, b) => b.id - a.id)[0];
  // A job of an earlier attempt (its status older than this wait) says nothing about this wait.
  const movedOn =
    job !== undefined &&
    (job.status === 'in_progress' || job.status === 'completed') &&
    timeOf(job.statusAt) >= timeOf(approval.requestedAt ?? approval.since);
  if (movedOn) return { approval, phase: 'moved-on', actionable: false };
  return { approval, phase: 'waiting', actionable: true };
}

// ---------------------------------------------------------------------------------------------------
// Button values: {card, env, nonce}, checked against the server-side nonce (src/approvals/nonces.ts)

export interface ApprovalActionValue {
  /** The card (= promotion) the button was rendered on. */
  card: string;
  env: Environment;
  nonce: string;
}

/** 128 random bits, base64url: 22 characters. */
export const APPROVAL_NONCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const CARD_ID_PATTERN = /^(req|promo)-[0-9a-f]{16}$/;

export const approvalActionValue = (value: ApprovalActionValue): string =>
  JSON.stringify({ card: value.card, env: value.env, nonce: value.nonce });

/** The value as the bot wrote it, or null for anything else (edited, truncated, foreign). */
export function parseApprovalAction(text: unknown): ApprovalActionValue | null {
  if (typeof text !== 'string' || text.length > BLOCK_KIT_LIMITS.buttonValue) return null;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const record = data as Record<string, unknown>;
  if (Object.keys(record).sort().join(',') !== 'card,env,nonce') return null;
  const { card, env, nonce } = record;
  if (typeof card !== 'string' || !CARD_ID_PATTERN.test(card)) return null;
  if (typeof env !== 'string' || !ENVIRONMENTS.includes(env as Environment)) return null;
  if (typeof nonce !== 'string' || !APPROVAL_NONCE_PATTERN.test(nonce)) return null;
  return { card, env: env as Environment, nonce };
}

// ---------------------------------------------------------------------------------------------------
// Helpers

/** "jane (U012ABCDEF)" or "U012ABCDEF" (plain text). */
export const actorName = (actor: Actor): string =>
  actor.slackUserName ? `${actor.slackUserName} (${actor.slackUserId})` : actor.slackUserId;

const timeOf = (iso: string | undefined): number => {
  const ms = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
};

const SAFE_URL = /^https?:\/\/[^\s<>|]+$/;
const safeStored = (url: string | undefined): string | undefined =>
  url !== undefined && url.length <= APPROVAL_LIMITS.url && SAFE_URL.test(url) ? url : undefined;

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
