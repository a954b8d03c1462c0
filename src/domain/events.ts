// Everything the bot learns about a promotion is an event. A promotion's card is fold(applyEvent, events)
// (card.ts); what Slack shows is render(card) (render.ts). Events are facts in the past tense, carry a
// stable `id` so that applying one twice changes nothing (duplicate webhooks, retried jobs), and are
// appended to the audit stream before anything reports them.
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
  /** What the user asked for: alias, name, or `latest`. */
  freightQuery: string;
  requestedBy: Actor;
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

export type CardEvent =
  | PromotionRequested
  | FreightResolved
  | PromotionRejected
  | PromotionCreated
  | PromotionPhaseChanged
  | PromotionStepChanged
  | RunLinked;

export type CardEventType = CardEvent['type'];
