// Everything the bot learns about a promotion is an event. A promotion's card is fold(applyEvent, events)
// (card.ts); what Slack shows is render(card) (render.ts). Events are facts in the past tense, carry a
// stable `id` so that applying one twice changes nothing (duplicate webhooks, retried jobs), and are
// appended to the audit stream before anything reports them.
import type { GateResult, PlanSummary, TerraformOutputs } from '../artifacts/types.js';
import type { Actor, Environment, FreightSummary, PromotionPhase } from './types.js';

interface EventBase {
  /** Stable identity of the fact, e.g. `phase:<promotion>:<phase>`: the idempotency key. */
  id: string;
  /** The card this event belongs to (see cardIdFor* in card.ts). */
  cardId: string;
  /** When it happened (ISO 8601). */
  at: string;
}

/** An authorized `/promote` was accepted and queued. */
export interface PromotionRequested extends EventBase {
  type: 'PromotionRequested';
  environment: Environment;
  stage: string;
  /** What the user asked for: alias, name, `latest`, or `previous` (a rollback). */
  freightQuery: string;
  requestedBy: Actor;
  /** A /rollback: the freight the stage ran when it was asked for (alias or short name). */
  rollback?: { from?: string };
  /** Promoted through a change freeze by an approver, with their reason. */
  override?: { reason: string; freezeReason: string };
  /** Channel the command came from (the card itself lives in #infra-deployments). */
  sourceChannelId: string;
}

/** The worker resolved the request to a concrete Freight. */
export interface FreightResolved extends EventBase {
  type: 'FreightResolved';
  freight: FreightSummary;
}

/** The request could not become a Promotion (freight not available, unknown stage, Kargo refused...). */
export interface PromotionRejected extends EventBase {
  type: 'PromotionRejected';
  /** Machine-readable reason, from ErrorCode in errors.ts. */
  code: string;
  reason: string;
}

/** The Kargo Promotion exists (created by the bot, or discovered by the watch for promotions made elsewhere). */
export interface PromotionCreated extends EventBase {
  type: 'PromotionCreated';
  promotionName: string;
  stage: string;
  freightName: string;
  /** Who created it, as Kargo reports the actor (`kubernetes:system:serviceaccount:...`, `admin`, ...). */
  createdBy?: string;
  /** The Kargo project (= the Promotion's namespace); lets the card link to the Kargo UI. */
  project?: string;
}

/** Kargo moved the Promotion to a new phase. */
export interface PromotionPhaseChanged extends EventBase {
  type: 'PromotionPhaseChanged';
  promotionName: string;
  phase: PromotionPhase;
  message?: string;
}

/** A promotion step (status.stepExecutionMetadata[]) changed status. */
export interface PromotionStepChanged extends EventBase {
  type: 'PromotionStepChanged';
  promotionName: string;
  alias: string;
  status: string;
  message?: string;
  /**
   * Position of the step in status.stepExecutionMetadata[] (= spec.steps[]). Keeps the checklist in
   * template order however late or out of order the events arrive.
   */
  index?: number;
}

/** The GitHub Actions run that carries out this promotion is known (from the dispatch step output). */
export interface RunLinked extends EventBase {
  type: 'RunLinked';
  runId: number;
  runUrl?: string;
}

// ---- The GitHub Actions run that carries out a promotion (followed by webhooks and polling) ----------

/** GitHub's status of a workflow run (workflow_run webhook or GET /actions/runs/{id}). */
export interface RunStatusChanged extends EventBase {
  type: 'RunStatusChanged';
  runId: number;
  runAttempt?: number;
  /** requested | queued | in_progress | waiting | pending | completed */
  status: string;
  /** success | failure | cancelled | timed_out | skipped | neutral | action_required | stale (when completed) */
  conclusion?: string;
  htmlUrl?: string;
  /** GitHub login of whoever triggered the run (four-eyes on approvals). */
  triggeredBy?: string;
}

export interface RunJobStep {
  number: number;
  name: string;
  status: string;
  conclusion?: string;
  startedAt?: string;
  completedAt?: string;
}

/** A job of the run changed (workflow_job webhook or GET /actions/runs/{id}/jobs). */
export interface RunJobChanged extends EventBase {
  type: 'RunJobChanged';
  runId: number;
  jobId: number;
  /**
   * The run attempt the job belongs to (workflow_job.run_attempt). Optional; when known, the card can tell
   * a failed job of an earlier attempt (about to be re-run) from a current one without waiting for the
   * re-run job to appear.
   */
  runAttempt?: number;
  /** The job's display name, e.g. "aws gates (dev)". */
  name: string;
  /** queued | in_progress | waiting | completed */
  status: string;
  conclusion?: string;
  startedAt?: string;
  completedAt?: string;
  htmlUrl?: string;
  steps: RunJobStep[];
}

/** A gate-result artifact of the run, validated against schemas/gate-result.schema.json. */
export interface GateReported extends EventBase {
  type: 'GateReported';
  runId: number;
  result: GateResult;
}

/** The plan-summary artifact of the run, validated against schemas/plan-summary.schema.json. */
export interface PlanSummarized extends EventBase {
  type: 'PlanSummarized';
  runId: number;
  summary: PlanSummary;
}

/** The terraform-outputs artifact of the run, validated against schemas/terraform-outputs.schema.json. */
export interface OutputsPublished extends EventBase {
  type: 'OutputsPublished';
  runId: number;
  outputs: TerraformOutputs;
}

/** An expected artifact was missing, late, expired or malformed: a clear line on the card, never a crash. */
export interface ArtifactProblem extends EventBase {
  type: 'ArtifactProblem';
  runId: number;
  artifact: string;
  problem: 'missing' | 'malformed' | 'expired' | 'too-large' | 'unreadable';
  detail: string;
}

// ---- Approvals of a gated environment (src/approvals; the card shows them, render-approval.ts) ------

/** How the bot takes part in a deployment approval (APPROVAL_MODE). */
export type ApprovalMode = 'protection-rule' | 'reviewer';
export type ApprovalDecision = 'approved' | 'rejected';

/**
 * A deployment of the card's run waits for an approval the bot handles: GitHub asked the bot's App (its
 * custom deployment protection rule), or the environment's required reviewers are waiting (reviewer mode).
 */
export interface ApprovalRequested extends EventBase {
  type: 'ApprovalRequested';
  runId: number;
  environment: Environment;
  mode: ApprovalMode;
  /** When GitHub started waiting (from the delivery, never "now": a redelivery is the same event). */
  requestedAt: string;
  /**
   * Which wait this is: `deployment:<id>` (protection rule) or `job:<id>` (reviewer mode). A re-run waits
   * again under a new key; decisions and button nonces are bound to it.
   */
  requestKey: string;
  /** The protection rule's deployment_callback_url. Kept for the record only: never shown, never audited. */
  deploymentCallbackUrl?: string;
  /** GitHub's page of the run (its "Review deployments" button in reviewer mode). */
  reviewUrl: string;
  /**
   * The opaque, server-side nonce the card's Approve / Reject buttons carry (src/approvals/nonces.ts binds
   * it to this card, environment and wait). Never audited.
   */
  nonce?: string;
}

/** Someone decided an approval (through the bot: the decision was accepted by GitHub). */
export interface ApprovalDecided extends EventBase {
  type: 'ApprovalDecided';
  runId: number;
  environment: Environment;
  decision: ApprovalDecision;
  by: Actor;
  /** The approver's GitHub login, when known (reviewer mode: the identity GitHub recorded). */
  githubLogin?: string;
  /** The rejection reason (or an approval comment). */
  comment?: string;
  /** The wait decided (ApprovalRequested.requestKey); absent = the card's current one. */
  requestKey?: string;
}

// ---- Keeping Kargo and GitHub in step, and stopping what should not run ----------------------------

/** Someone asked, through the bot, for the promotion to be stopped (/cancel, or Withdraw on the card). */
export interface CancelRequested extends EventBase {
  type: 'CancelRequested';
  by: Actor;
  reason: string;
  via: 'command' | 'button';
}

/** The Promotion disappeared from Kargo (deleted by someone) before it reached a terminal phase. */
export interface PromotionDeleted extends EventBase {
  type: 'PromotionDeleted';
  promotionName: string;
}

/** Why a Pending promotion waits: Kargo runs one Promotion per Stage at a time, in creation order. */
export interface PromotionWaiting extends EventBase {
  type: 'PromotionWaiting';
  promotionName: string;
  /** One sentence, e.g. "behind prod.01k….f5f87aa, which is running". */
  reason: string;
  /** The promotion ahead of it in the Stage's queue, when there is one. */
  behind?: { promotionName: string; cardId?: string };
}

/**
 * The promotion ended in Kargo while its GitHub run had not: the bot stopped the run (cancelled it, or
 * rejected the deployment it waited for), found it ended already, or could not — then the run may still
 * apply, and the card and #infra-alerts say so.
 */
export interface RunStopAttempted extends EventBase {
  type: 'RunStopAttempted';
  runId: number;
  outcome: 'cancelled' | 'rejected' | 'already-ended' | 'failed';
  detail: string;
}

/**
 * Kargo 1.11 marked the Promotion `kargo.akuity.io/auto-promotion-hold`: a person chose freight other than
 * the stage's auto-promotion candidate (a rollback, an older freight), so once it succeeds Kargo stops
 * auto-promoting newer freight of that origin into the stage until the newest is promoted by hand.
 */
export interface AutoPromotionHeld extends EventBase {
  type: 'AutoPromotionHeld';
  promotionName: string;
  /** The origin held, `Warehouse/<name>`. */
  origin: string;
}

/** A change freeze of the card's environment began (`freeze` set) or ended (absent) while it was open. */
export interface FreezeChanged extends EventBase {
  type: 'FreezeChanged';
  environment: Environment;
  freeze?: { by: Actor; reason: string; until: string; open: boolean };
}

export type CardEvent =
  | PromotionRequested
  | FreightResolved
  | PromotionRejected
  | PromotionCreated
  | PromotionPhaseChanged
  | PromotionStepChanged
  | RunLinked
  | RunStatusChanged
  | RunJobChanged
  | GateReported
  | PlanSummarized
  | OutputsPublished
  | ArtifactProblem
  | ApprovalRequested
  | ApprovalDecided
  | CancelRequested
  | PromotionDeleted
  | PromotionWaiting
  | RunStopAttempted
  | AutoPromotionHeld
  | FreezeChanged;

export type CardEventType = CardEvent['type'];
