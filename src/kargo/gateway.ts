// What the bot needs from Kargo, as an interface the worker depends on. The implementation
// (client.ts) talks to the Kubernetes API with @kubernetes/client-node; tests run it against a real
// kube-apiserver with the vendored Kargo CRDs.
import type { FreightSummary, PromotionSummary, StageSummary } from '../domain/types.js';

/** Kargo's abort annotation on a Promotion (`terminate`), what the UI and `kargo abort` set. */
export const ANNOTATION_ABORT = 'kargo.akuity.io/abort';

/** Annotation keys the bot sets on every Promotion it creates. */
export const ANNOTATION_REQUEST_ID = 'gitops-infra-pipeline.dev/request-id';
export const ANNOTATION_REQUESTED_BY = 'gitops-infra-pipeline.dev/requested-by';
/**
 * Label carrying the request id on every Promotion the bot creates, so a retry finds the Promotion by label
 * selector even where Kargo renames it on admission (1.11+). The value is the request id when that is a
 * valid label value, else a hash of it (see requestIdLabelValue in promotion-name.ts).
 */
export const LABEL_REQUEST_ID = 'gitops-infra-pipeline.dev/request-id';

export interface CreatePromotionInput {
  stage: string;
  freight: string;
  /** Card id of the request; stored as an annotation and used as the idempotency key. */
  requestId: string;
  /** `slack:<user id>` of the person who asked. */
  requestedBy: string;
  /**
   * When the request was accepted (ISO 8601, e.g. the PromotionRequested event's `at`). Becomes the time part
   * of the Promotion's ULID, so every retry of the same request computes the same Promotion name. Must be the
   * same value on every attempt: never "now".
   */
  requestedAt: string;
}

/** Options for watchPromotions / watchEvents. All optional. */
export interface WatchOptions {
  /**
   * Resume from this resourceVersion (e.g. persisted before a restart) instead of listing first. If it has
   * expired the watch re-lists and delivers RESYNC, as after any 410 Gone.
   */
  resourceVersion?: string;
  /** Server-side timeout of each WATCH request (default: random 5–10 min); the watch resumes after it. */
  timeoutSeconds?: number;
  /** Promotions only: deliver only this Stage's Promotions (filtered client-side: Kargo ≤ 1.10 has no stage label). */
  stage?: string;
}

export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  /** The watch re-listed (first start, or after 410 Gone): `objects` is the full current set. */
  | { type: 'RESYNC'; objects: T[] };

export interface KubernetesEventSummary {
  name: string;
  reason: string;
  message?: string;
  involvedObject: { kind: string; name: string };
  annotations: Record<string, string>;
  firstTimestamp?: string;
  lastTimestamp?: string;
}

export interface WatchHandle {
  stop(): void;
}

export interface KargoGateway {
  /**
   * The same project read straight from the API, when this gateway answers from a cache that can trail
   * Kargo by a moment: a refusal is re-checked there before it is given. Absent: reads are direct already.
   */
  direct?(): KargoGateway;
  /** Freight of the project, newest first. */
  listFreight(): Promise<FreightSummary[]>;
  listStages(): Promise<StageSummary[]>;
  getStage(name: string): Promise<StageSummary | undefined>;
  /** Finds freight by alias (label kargo.akuity.io/alias) or name. */
  findFreight(aliasOrName: string): Promise<FreightSummary | undefined>;
  /**
   * Creates the Promotion in the full form that works on Kargo 1.9 through 1.11 (name, steps and vars
   * copied from the Stage's promotion template). Idempotent on `requestId`: if a Promotion carrying that
   * request id already exists, it is returned instead of creating a second one.
   */
  createPromotion(input: CreatePromotionInput): Promise<PromotionSummary>;
  getPromotion(name: string): Promise<PromotionSummary | undefined>;
  findPromotionByRequestId(requestId: string): Promise<PromotionSummary | undefined>;
  /** Promotions of one Stage (all of them when `stage` is omitted), oldest first (Kargo's queue order). */
  listPromotions(stage?: string): Promise<PromotionSummary[]>;
  /**
   * Asks Kargo to abort the Promotion (annotation `kargo.akuity.io/abort: terminate`, as the Kargo UI and
   * CLI do). Needs `patch promotions` plus the `promote` verb on its Stage. Resolves 'aborting', or
   * 'finished' when it had already ended, or 'gone' when it does not exist.
   */
  abortPromotion(name: string): Promise<'aborting' | 'finished' | 'gone'>;
  /**
   * Pauses Kargo's auto-promotion of `stage` (a change freeze) by putting a policy that disables it first in
   * the project's ProjectConfig (src/kargo/promotion-policies.ts). 'paused', or 'not-enabled' when nothing
   * auto-promotes into the stage (no ProjectConfig, or its policies leave it off): nothing was changed.
   */
  pauseAutoPromotion(stage: string): Promise<'paused' | 'not-enabled'>;
  /** Takes the freeze's policy out again: 'resumed', or 'not-paused' when it is not there. */
  resumeAutoPromotion(stage: string): Promise<'resumed' | 'not-paused'>;
  /** The API server's /readyz: false while it starts (a 403 then may only mean RBAC is not loaded yet). */
  apiServerReady(): Promise<boolean>;
  /** Watches Promotions; resumes from the last resourceVersion and re-lists on 410 Gone. */
  watchPromotions(
    onEvent: (event: WatchEvent<PromotionSummary>) => void | Promise<void>,
    options?: WatchOptions,
  ): WatchHandle;
  /** Watches core/v1 Events in the project namespace (Kargo's PromotionSucceeded, FreightVerified...). */
  watchEvents(
    onEvent: (event: WatchEvent<KubernetesEventSummary>) => void | Promise<void>,
    options?: Omit<WatchOptions, 'stage'>,
  ): WatchHandle;
}
