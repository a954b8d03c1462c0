// Vocabulary shared by the whole bot. Pure types: no I/O, no framework imports.

/** The Kargo stages the bot promotes to; each maps to a GitHub Environment of the same name. */
export type Environment = 'dev' | 'prod';
export const ENVIRONMENTS: readonly Environment[] = ['dev', 'prod'];

/** A Slack user as the bot sees them (ids are authoritative; names are for display only). */
export interface Actor {
  slackUserId: string;
  slackUserName?: string;
  /** Slack user-group ids the user belongs to, when known (resolved by the Slack adapter). */
  groupIds?: string[];
}

/** Kargo Promotion phases (kargo.akuity.io/v1alpha1 Promotion.status.phase). */
export type PromotionPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Errored' | 'Aborted';
export const TERMINAL_PHASES: readonly PromotionPhase[] = ['Succeeded', 'Failed', 'Errored', 'Aborted'];
export const isTerminalPhase = (phase: PromotionPhase): boolean => TERMINAL_PHASES.includes(phase);

/** One git commit carried by a Freight (Freight.commits[]). */
export interface FreightCommit {
  repoURL: string;
  id: string;
  branch?: string;
  message?: string;
  author?: string;
}

/** What the bot needs to know about a Freight, independent of the Kubernetes object. */
export interface FreightSummary {
  /** metadata.name: the deterministic id (SHA-1 over the artifacts). */
  name: string;
  alias?: string;
  warehouse: string;
  createdAt: string;
  commits: FreightCommit[];
  /** Stage name -> since (ISO) where this freight is currently deployed. */
  currentlyIn: Record<string, { since?: string }>;
  /** Stage name -> verifiedAt (ISO). */
  verifiedIn: Record<string, { verifiedAt?: string; longestSoak?: string }>;
  /** Stage name -> approvedAt (ISO). */
  approvedFor: Record<string, { approvedAt?: string }>;
}

/** The parts of a Kargo Stage the bot reasons about. */
export interface StageSummary {
  name: string;
  /** requestedFreight[]: where the stage takes freight from. */
  requestedFreight: Array<{
    origin: { kind: string; name: string };
    sources: {
      direct?: boolean;
      stages?: string[];
      requiredSoakTime?: string;
      availabilityStrategy?: 'OneOf' | 'All' | '';
    };
  }>;
  /** status.freightHistory[0]: freight names deployed now, by origin ("Warehouse/<name>"). */
  currentFreight: Record<string, string>;
  /** status.freightHistory, newest first: the freight names of each entry, by origin ([0] is current). */
  history?: Array<Record<string, string>>;
  /** status.autoPromotionHolds: auto-promotion of an origin held since someone promoted older freight. */
  autoPromotionHolds?: AutoPromotionHold[];
  /** status.autoPromotionEnabled: whether new Freight is auto-promoted into the stage (ProjectConfig). */
  autoPromotionEnabled?: boolean;
  currentPromotion?: string;
  lastPromotion?: { name: string; phase?: PromotionPhase; finishedAt?: string };
  health?: string;
}

/** Kargo 1.11: a person promoted Freight other than the auto-promotion candidate; auto-promotion waits. */
export interface AutoPromotionHold {
  /** "Warehouse/<name>" */
  origin: string;
  freightName: string;
  actor?: string;
  promotionName?: string;
  createdAt?: string;
}

/** The parts of a Kargo Promotion the bot follows. */
export interface PromotionSummary {
  name: string;
  namespace: string;
  stage: string;
  freight: string;
  createdAt?: string;
  phase?: PromotionPhase;
  message?: string;
  /** Annotations the bot set on create (request id, Slack user). */
  annotations: Record<string, string>;
  steps: Array<{ alias: string; status?: string; message?: string; startedAt?: string; finishedAt?: string }>;
  /** status.state[<step alias>][<output>] — e.g. the GitHub run id from the dispatch step. */
  stepOutputs: Record<string, Record<string, unknown>>;
  resourceVersion?: string;
}
