// Kubernetes objects (kargo.akuity.io/v1alpha1 and core/v1 Event, as plain JSON) → the domain summaries.
// Pure: no I/O. Field names follow the vendored CRDs (../shared/vendor/kargo-crds, Kargo v1.11.2); every
// field is treated as optional because older Kargo versions (1.9, 1.10) and half-reconciled objects lack some.
import type {
  FreightCommit,
  FreightSummary,
  PromotionPhase,
  PromotionSummary,
  StageSummary,
} from '../domain/types.js';
import type { KubernetesEventSummary } from './gateway.js';

export const KARGO_GROUP = 'kargo.akuity.io';
export const KARGO_VERSION = 'v1alpha1';
export const LABEL_ALIAS = 'kargo.akuity.io/alias';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: string | Date;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface FreightOrigin {
  kind?: string;
  name?: string;
}

export interface KargoFreight {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  alias?: string;
  origin?: FreightOrigin;
  discoveredAt?: string;
  commits?: Array<{
    repoURL?: string;
    id?: string;
    branch?: string;
    tag?: string;
    message?: string;
    author?: string;
    committer?: string;
  }>;
  images?: unknown[];
  charts?: unknown[];
  artifacts?: unknown[];
  status?: {
    currentlyIn?: Record<string, { since?: string }>;
    verifiedIn?: Record<string, { verifiedAt?: string; longestSoak?: string }>;
    approvedFor?: Record<string, { approvedAt?: string }>;
  };
}

export interface ExpressionVariable {
  name: string;
  value?: string;
}

/** A promotion step as the Stage template and the Promotion spec hold it (kept verbatim, `config` included). */
export interface PromotionStep {
  uses?: string;
  task?: { name: string; kind?: string };
  as?: string;
  if?: string;
  continueOnError?: boolean;
  retry?: { timeout?: string; errorThreshold?: number };
  vars?: ExpressionVariable[];
  config?: unknown;
  [key: string]: unknown;
}

export interface KargoAutoPromotionHold {
  freightName?: string;
  origin?: FreightOrigin;
  actor?: string;
  promotionName?: string;
  createdAt?: string;
}

export interface KargoStage {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: {
    shard?: string;
    vars?: ExpressionVariable[];
    requestedFreight?: Array<{
      origin?: FreightOrigin;
      sources?: {
        direct?: boolean;
        stages?: string[];
        requiredSoakTime?: string;
        availabilityStrategy?: string;
      };
    }>;
    promotionTemplate?: { spec?: { vars?: ExpressionVariable[]; steps?: PromotionStep[] } };
  };
  status?: {
    freightHistory?: Array<{
      id?: string;
      items?: Record<string, { name?: string; origin?: FreightOrigin }>;
    }>;
    autoPromotionEnabled?: boolean;
    autoPromotionHolds?: Record<string, KargoAutoPromotionHold>;
    /** Recomputed every reconcile from the durable holds plus in-flight Promotions: the current state. */
    effectiveAutoPromotionHolds?: Record<string, KargoAutoPromotionHold>;
    currentPromotion?: {
      name?: string;
      finishedAt?: string;
      status?: { phase?: string; finishedAt?: string };
    };
    lastPromotion?: { name?: string; finishedAt?: string; status?: { phase?: string; finishedAt?: string } };
    health?: { status?: string };
  };
}

export interface KargoPromotion {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: {
    stage?: string;
    freight?: string;
    origin?: FreightOrigin;
    vars?: ExpressionVariable[];
    steps?: PromotionStep[];
  };
  status?: {
    phase?: string;
    message?: string;
    freight?: { name?: string };
    startedAt?: string;
    finishedAt?: string;
    currentStep?: number;
    stepExecutionMetadata?: Array<{
      alias?: string;
      startedAt?: string;
      finishedAt?: string;
      errorCount?: number;
      status?: string;
      message?: string;
    }>;
    state?: Record<string, unknown>;
  };
}

/** core/v1 Event as JSON (watch) or as client-node's typed CoreV1Event (list; timestamps are Dates there). */
export interface CoreEvent {
  metadata?: ObjectMeta;
  reason?: string;
  message?: string;
  type?: string;
  involvedObject?: { kind?: string; name?: string; namespace?: string };
  firstTimestamp?: string | Date;
  lastTimestamp?: string | Date;
  eventTime?: string | Date;
  series?: { lastObservedTime?: string | Date };
}

const PHASES: readonly PromotionPhase[] = ['Pending', 'Running', 'Succeeded', 'Failed', 'Errored', 'Aborted'];
const toPhase = (phase: string | undefined): PromotionPhase | undefined => PHASES.find((p) => p === phase);

/**
 * ISO 8601 string for a timestamp that may arrive as a string (raw JSON: kept as the API server wrote it) or a
 * Date (client-node's typed models). Dates are written like metav1.Time (RFC 3339, whole seconds: no `.000`),
 * so the same object maps to the same string whether it came from a typed LIST or a raw WATCH.
 */
export function isoTime(value: string | Date | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return undefined;
    return value.toISOString().replace(/\.000Z$/, 'Z');
  }
  return value === '' ? undefined : value;
}

/** Drops keys whose value is undefined, so summaries compare cleanly and serialise without noise. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function copyMap<V extends object>(
  source: Record<string, V> | undefined,
  pick: (v: V) => V,
): Record<string, V> {
  const out: Record<string, V> = {};
  for (const [key, value] of Object.entries(source ?? {})) out[key] = compact(pick(value ?? ({} as V)));
  return out;
}

export function toFreightSummary(freight: KargoFreight): FreightSummary {
  const meta = freight.metadata ?? {};
  const alias = freight.alias ?? meta.labels?.[LABEL_ALIAS];
  const commits: FreightCommit[] = (freight.commits ?? []).map((c) =>
    compact({
      repoURL: c.repoURL ?? '',
      id: c.id ?? '',
      branch: c.branch,
      message: c.message,
      author: c.author,
    }),
  );
  return compact({
    name: meta.name ?? '',
    alias: alias === '' ? undefined : alias,
    warehouse: freight.origin?.name ?? '',
    createdAt: freightTime(freight) ?? '',
    commits,
    currentlyIn: copyMap(freight.status?.currentlyIn, (v) => ({ since: v.since })),
    verifiedIn: copyMap(freight.status?.verifiedIn, (v) => ({
      verifiedAt: v.verifiedAt,
      longestSoak: v.longestSoak,
    })),
    approvedFor: copyMap(freight.status?.approvedFor, (v) => ({ approvedAt: v.approvedAt })),
  });
}

/** When the Freight came to be: `discoveredAt` (Kargo 1.11+) or, before that, the object's creation time. */
export const freightTime = (freight: KargoFreight): string | undefined =>
  freight.discoveredAt ?? isoTime(freight.metadata?.creationTimestamp);

/** Newest first; ties broken by creation time, then name, so the order is total and stable. */
export function compareFreightNewestFirst(a: KargoFreight, b: KargoFreight): number {
  const ta = Date.parse(freightTime(a) ?? '') || 0;
  const tb = Date.parse(freightTime(b) ?? '') || 0;
  if (ta !== tb) return tb - ta;
  const ca = Date.parse(isoTime(a.metadata?.creationTimestamp) ?? '') || 0;
  const cb = Date.parse(isoTime(b.metadata?.creationTimestamp) ?? '') || 0;
  if (ca !== cb) return cb - ca;
  return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}

const STRATEGIES = ['OneOf', 'All', ''] as const;

export function toStageSummary(stage: KargoStage): StageSummary {
  const status = stage.status ?? {};
  const currentFreight: Record<string, string> = {};
  for (const [origin, ref] of Object.entries(status.freightHistory?.[0]?.items ?? {})) {
    if (ref?.name) currentFreight[origin] = ref.name;
  }
  const last = status.lastPromotion;
  const history = (status.freightHistory ?? []).map((entry) => {
    const names: Record<string, string> = {};
    for (const [origin, ref] of Object.entries(entry.items ?? {})) if (ref?.name) names[origin] = ref.name;
    return names;
  });
  // Kargo's API docs: clients read the effective holds (durable ones plus those of in-flight Promotions);
  // a status written before they existed has only the durable map.
  const holds = Object.entries(status.effectiveAutoPromotionHolds ?? status.autoPromotionHolds ?? {}).flatMap(
    ([origin, hold]) =>
      hold?.freightName
        ? [
            compact({
              origin,
              freightName: hold.freightName,
              actor: hold.actor,
              promotionName: hold.promotionName,
              createdAt: hold.createdAt,
            }),
          ]
        : [],
  );
  return compact({
    name: stage.metadata?.name ?? '',
    requestedFreight: (stage.spec?.requestedFreight ?? []).map((req) => ({
      origin: { kind: req.origin?.kind ?? 'Warehouse', name: req.origin?.name ?? '' },
      sources: compact({
        direct: req.sources?.direct,
        stages: req.sources?.stages,
        requiredSoakTime: req.sources?.requiredSoakTime,
        availabilityStrategy: STRATEGIES.find((s) => s === req.sources?.availabilityStrategy),
      }),
    })),
    currentFreight,
    history: history.length > 0 ? history : undefined,
    autoPromotionHolds: holds.length > 0 ? holds : undefined,
    autoPromotionEnabled: status.autoPromotionEnabled,
    currentPromotion: status.currentPromotion?.name,
    lastPromotion: last?.name
      ? compact({
          name: last.name,
          phase: toPhase(last.status?.phase),
          finishedAt: last.finishedAt ?? last.status?.finishedAt,
        })
      : undefined,
    health: status.health?.status,
  });
}

/** Step alias as Kargo assigns it: `as`, or `step-<index>` when unset. */
export const stepAlias = (step: PromotionStep, index: number): string => step.as ?? `step-${index}`;

export function toPromotionSummary(promotion: KargoPromotion): PromotionSummary {
  const meta = promotion.metadata ?? {};
  const status = promotion.status ?? {};
  const executed = new Map((status.stepExecutionMetadata ?? []).map((m) => [m.alias ?? '', m]));
  const steps: PromotionSummary['steps'] = (promotion.spec?.steps ?? []).map((step, i) => {
    const alias = stepAlias(step, i);
    const m = executed.get(alias);
    executed.delete(alias);
    return compact({
      alias,
      status: m?.status,
      message: m?.message,
      startedAt: m?.startedAt,
      finishedAt: m?.finishedAt,
    });
  });
  // Metadata for aliases the spec does not list (should not happen; keep them rather than lose them).
  for (const [alias, m] of executed) {
    steps.push(
      compact({
        alias,
        status: m.status,
        message: m.message,
        startedAt: m.startedAt,
        finishedAt: m.finishedAt,
      }),
    );
  }
  const stepOutputs: Record<string, Record<string, unknown>> = {};
  for (const [alias, outputs] of Object.entries(status.state ?? {})) {
    if (typeof outputs === 'object' && outputs !== null && !Array.isArray(outputs)) {
      stepOutputs[alias] = { ...(outputs as Record<string, unknown>) };
    }
  }
  return compact({
    name: meta.name ?? '',
    namespace: meta.namespace ?? '',
    stage: promotion.spec?.stage ?? '',
    freight: promotion.spec?.freight ?? status.freight?.name ?? '',
    createdAt: isoTime(meta.creationTimestamp),
    phase: toPhase(status.phase),
    message: status.message === '' ? undefined : status.message,
    annotations: { ...(meta.annotations ?? {}) },
    steps,
    stepOutputs,
    resourceVersion: meta.resourceVersion,
  });
}

export function toEventSummary(event: CoreEvent): KubernetesEventSummary {
  return compact({
    name: event.metadata?.name ?? '',
    reason: event.reason ?? '',
    message: event.message,
    involvedObject: { kind: event.involvedObject?.kind ?? '', name: event.involvedObject?.name ?? '' },
    annotations: { ...(event.metadata?.annotations ?? {}) },
    firstTimestamp: isoTime(event.firstTimestamp) ?? isoTime(event.eventTime),
    lastTimestamp:
      isoTime(event.lastTimestamp) ?? isoTime(event.series?.lastObservedTime) ?? isoTime(event.eventTime),
  });
}
