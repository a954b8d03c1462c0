// What the card knows about the GitHub Actions run that carries out a promotion, and the pure merge rules
// that fold run, job and artifact events into it. card.ts calls these from its reducer; gates.ts derives
// the gate checklist from the result.
//
// The same rules as for the rest of the card: events arrive late, twice and out of order, so every merge
// only moves forward and ends in the same state whatever the delivery order:
//   - the run: a higher attempt wins; within an attempt, status climbs queued < in_progress|waiting <
//     completed, and between equal ranks the later event time wins;
//   - jobs (by job id): the same climb per job, and per step (by step number); a late `in_progress` for a
//     job already `completed` changes nothing, but may still fill in what was missing (url, start time);
//   - artifacts (gate results, plan summaries, outputs), one per gate/cloud/environment: the one from the
//     higher run attempt wins, then the later one;
//   - everything stored is bounded (RUN_LIMITS), so a run with 5,000 resources or a 2 MB output value still
//     makes a card that is cheap to fold and store.
import type {
  Finding,
  FindingCounts,
  GateResult,
  PlanAttributeChange,
  PlanResourceChange,
  PlanSummary,
  TerraformOutputs,
} from '../artifacts/types.js';
import { truncate } from './blockkit.js';
import type { ArtifactProblem, RunJobChanged, RunJobStep, RunStatusChanged } from './events.js';

export const RUN_LIMITS = {
  /** A prod run has 10 jobs; re-runs add new job ids. */
  jobs: 40,
  /** GitHub allows 1,000 steps per job; ours have at most ~35 (with GitHub's own set-up and post steps). */
  stepsPerJob: 60,
  jobName: 200,
  stepName: 200,
  gateReports: 40,
  topFindingsPerReport: 20,
  /** Title, resource, location of a finding, and a gate's summary (the artifact caps them at 300 too). */
  findingText: 300,
  /** The artifact's own cap on a finding's message (1,000): "Show all findings" shows it whole. */
  findingMessage: 1000,
  plans: 6,
  /** Per action; the counts stay exact, the details say how many addresses are not listed. */
  planAddressesPerAction: 100,
  planAddress: 200,
  /** Replaced/updated resources described attribute by attribute (the artifact allows 100). */
  planChanges: 50,
  planAttributes: 20,
  planAttributePath: 300,
  planValue: 100,
  outputSets: 6,
  outputsPerSet: 50,
  outputName: 100,
  outputValue: 500,
  excludedSensitive: 50,
  artifactProblems: 20,
  artifactName: 200,
  problemDetail: 300,
  url: 2000,
  login: 100,
} as const;

// ---------------------------------------------------------------------------------------------------
// Types stored on the card

export interface CardRun {
  id: number;
  url?: string;
  /** The latest attempt seen (re-runs count up from 1). */
  attempt?: number;
  /** GitHub's run status: requested | queued | pending | in_progress | waiting | completed. */
  status?: string;
  /** success | failure | cancelled | timed_out | … once completed. */
  conclusion?: string;
  /** GitHub login of whoever triggered the latest attempt. */
  triggeredBy?: string;
  /** Event time of the status shown (orders same-rank updates). */
  statusAt?: string;
}

export interface CardJobStep {
  number: number;
  name: string;
  status: string;
  conclusion?: string;
  startedAt?: string;
  completedAt?: string;
}

export interface CardJob {
  id: number;
  name: string;
  /** queued | in_progress | waiting | completed (GitHub's words). */
  status: string;
  conclusion?: string;
  startedAt?: string;
  completedAt?: string;
  url?: string;
  /** The run attempt the job belongs to, when the event said. */
  attempt?: number;
  /** Event time of the status shown. */
  statusAt: string;
  /** Earliest time the job was seen `waiting` (for an Environment's approval). */
  waitingAt?: string;
  /** By step number. */
  steps: CardJobStep[];
}

/** The first failed job of the run and its first failed step: what #infra-alerts links to. */
export interface CardFailedJob {
  name: string;
  jobId: number;
  /** Absent when the job failed before any step did (e.g. a rejected approval). */
  step?: string;
  /** The job's page, or the run's when the job has none. */
  url?: string;
  conclusion: string;
}

export interface CardGateReport {
  gate: GateResult['gate'];
  cloud: GateResult['cloud'];
  environment: GateResult['environment'];
  status: GateResult['status'];
  enforcement: GateResult['enforcement'];
  summary?: string;
  durationMs?: number;
  findings: FindingCounts;
  /** Most severe first, at most RUN_LIMITS.topFindingsPerReport. */
  topFindings: Finding[];
  /** Run attempt that produced it (GateResult.run.attempt). */
  attempt?: number;
  at: string;
}

export type PlanAction = 'add' | 'change' | 'destroy' | 'replace';
export const PLAN_ACTIONS: readonly PlanAction[] = ['add', 'change', 'destroy', 'replace'];

export interface CardPlan {
  cloud: PlanSummary['cloud'];
  environment: PlanSummary['environment'];
  /** Exact, as Terraform counted (a replacement counts as one add and one destroy). */
  counts: Record<PlanAction, number>;
  /** The first RUN_LIMITS.planAddressesPerAction addresses per action. */
  resources: Record<PlanAction, string[]>;
  /** The artifact itself left addresses out (over its own limit). */
  truncated: boolean;
  /**
   * Attribute-level changes of replaced and updated resources (replacements first), at most
   * RUN_LIMITS.planChanges; undefined when the artifact predates them (addresses only).
   */
  changes?: CardPlanChange[];
  /** Replaced/updated resources the artifact or the card left out of `changes`. */
  changesOmitted?: number;
  attempt?: number;
  generatedAt?: string;
  at: string;
}

export type CardPlanChange = PlanResourceChange;
export type CardPlanAttribute = PlanAttributeChange;

export interface CardOutputEntry {
  name: string;
  /** The value as shown: strings as they are, anything else as JSON; bounded. */
  value: string;
}

export interface CardOutputs {
  cloud: TerraformOutputs['cloud'];
  environment: TerraformOutputs['environment'];
  /** In the artifact's order; at most RUN_LIMITS.outputsPerSet. */
  entries: CardOutputEntry[];
  /** Outputs not kept (over the bound). */
  omitted: number;
  /** Names of the sensitive outputs the workflow left out (never their values: it does not have them). */
  excludedSensitive: string[];
  excludedSensitiveOmitted: number;
  attempt?: number;
  at: string;
}

export interface CardArtifactProblem {
  artifact: string;
  problem: ArtifactProblem['problem'];
  detail: string;
  at: string;
}

// ---------------------------------------------------------------------------------------------------
// Status order

/** queued-like 0 < running-like 1 < completed 2; statuses GitHub adds later count as running. */
const STATUS_RANK: Readonly<Record<string, number>> = {
  requested: 0,
  pending: 0,
  queued: 0,
  waiting: 1,
  in_progress: 1,
  completed: 2,
};
/** Between equal ranks at the same time: `in_progress` follows `waiting` (an approval was given). */
const STATUS_TIE: Readonly<Record<string, number>> = {
  requested: 0,
  pending: 1,
  queued: 2,
  waiting: 0,
  in_progress: 1,
  completed: 0,
};

export const statusRank = (status: string): number => STATUS_RANK[status] ?? 1;
export const isCompleted = (status: string): boolean => status === 'completed';

/** Conclusions that mean "this broke" (as opposed to cancelled or skipped). */
const FAILED_CONCLUSIONS: ReadonlySet<string> = new Set(['failure', 'timed_out', 'startup_failure']);
export const isFailedConclusion = (conclusion: string | undefined): boolean =>
  conclusion !== undefined && FAILED_CONCLUSIONS.has(conclusion);

/** Milliseconds since the epoch; an unparsable time never counts as later than a parsable one. */
export const timeOrMinus = (iso: string | undefined): number => {
  const ms = iso === undefined ? Number.NaN : Date.parse(iso);
  return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
};

/** True when key `a` sorts strictly after key `b` (lexicographic over numbers). */
function after(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    const [x = 0, y = 0] = [a[i], b[i]];
    if (x !== y) return x > y;
  }
  return false;
}

const statusKey = (status: string, at: string | undefined): number[] => [
  statusRank(status),
  timeOrMinus(at),
  STATUS_TIE[status] ?? 0,
];

// ---------------------------------------------------------------------------------------------------
// The run

/** The run after a status event; the very same object when it teaches nothing. */
export function mergeRunStatus(run: CardRun | undefined, event: RunStatusChanged): CardRun {
  return withoutUndefined(runAfter(run, event));
}

function runAfter(run: CardRun | undefined, event: RunStatusChanged): CardRun {
  const base: CardRun = run ?? { id: event.runId };
  const current = base.attempt ?? 1;
  const incoming = event.runAttempt ?? base.attempt ?? 1;
  const filled: CardRun = {
    ...base,
    url: base.url ?? safeStored(event.htmlUrl),
  };
  if (incoming < current) {
    return filled;
  }
  const triggeredBy =
    event.triggeredBy === undefined ? undefined : truncate(event.triggeredBy, RUN_LIMITS.login);
  if (incoming > current || base.status === undefined) {
    // A new attempt starts over: its own status, its own conclusion, its own actor.
    return {
      ...filled,
      attempt: event.runAttempt ?? base.attempt,
      status: event.status,
      conclusion: isCompleted(event.status) ? event.conclusion : undefined,
      statusAt: event.at,
      triggeredBy: triggeredBy ?? (incoming > current ? undefined : base.triggeredBy),
    };
  }
  const newer = after(statusKey(event.status, event.at), statusKey(base.status, base.statusAt));
  return {
    ...filled,
    attempt: base.attempt ?? event.runAttempt,
    // The newest word on who triggered the attempt wins (same rule as the status), so order cannot matter.
    triggeredBy: newer ? (triggeredBy ?? base.triggeredBy) : (base.triggeredBy ?? triggeredBy),
    ...(newer
      ? {
          status: event.status,
          conclusion: isCompleted(event.status) ? (event.conclusion ?? base.conclusion) : undefined,
          statusAt: event.at,
        }
      : { conclusion: base.conclusion ?? (isCompleted(base.status) ? event.conclusion : undefined) }),
  };
}

// ---------------------------------------------------------------------------------------------------
// Jobs

/** The job list after a job event (sorted by job id, bounded); the same list when it is full and the job new. */
export function mergeJobs(jobs: readonly CardJob[], event: RunJobChanged): CardJob[] {
  const existing = jobs.find((job) => job.id === event.jobId);
  if (!existing && jobs.length >= RUN_LIMITS.jobs) return [...jobs];
  const merged = mergeJob(existing, event);
  const others = jobs.filter((job) => job.id !== event.jobId);
  return [...others, merged].sort((a, b) => a.id - b.id);
}

function mergeJob(existing: CardJob | undefined, event: RunJobChanged): CardJob {
  const steps = mergeSteps(existing?.steps ?? [], event.steps);
  const waitingAt = earliest(existing?.waitingAt, event.status === 'waiting' ? event.at : undefined);
  if (!existing) {
    return withoutUndefined({
      id: event.jobId,
      name: truncate(event.name, RUN_LIMITS.jobName),
      status: event.status,
      conclusion: isCompleted(event.status) ? event.conclusion : undefined,
      startedAt: event.startedAt,
      completedAt: isCompleted(event.status) ? event.completedAt : undefined,
      url: safeStored(event.htmlUrl),
      attempt: event.runAttempt,
      statusAt: event.at,
      waitingAt,
      steps,
    });
  }
  const newer = after(statusKey(event.status, event.at), statusKey(existing.status, existing.statusAt));
  const status = newer
    ? {
        status: event.status,
        conclusion: isCompleted(event.status) ? (event.conclusion ?? existing.conclusion) : undefined,
        completedAt: isCompleted(event.status) ? (event.completedAt ?? existing.completedAt) : undefined,
        statusAt: event.at,
      }
    : {
        status: existing.status,
        conclusion: existing.conclusion ?? (isCompleted(existing.status) ? event.conclusion : undefined),
        completedAt: existing.completedAt ?? (isCompleted(existing.status) ? event.completedAt : undefined),
        statusAt: existing.statusAt,
      };
  return withoutUndefined({
    ...existing,
    ...status,
    name: existing.name || truncate(event.name, RUN_LIMITS.jobName),
    startedAt: earliest(existing.startedAt, event.startedAt),
    url: existing.url ?? safeStored(event.htmlUrl),
    attempt: existing.attempt ?? event.runAttempt,
    waitingAt,
    steps,
  });
}

function mergeSteps(existing: readonly CardJobStep[], incoming: readonly RunJobStep[]): CardJobStep[] {
  const byNumber = new Map<number, CardJobStep>(existing.map((step) => [step.number, step]));
  for (const raw of incoming) {
    if (!Number.isFinite(raw.number)) continue;
    const step: CardJobStep = withoutUndefined({
      number: raw.number,
      name: truncate(raw.name, RUN_LIMITS.stepName),
      status: raw.status,
      conclusion: isCompleted(raw.status) ? raw.conclusion : undefined,
      startedAt: raw.startedAt,
      completedAt: isCompleted(raw.status) ? raw.completedAt : undefined,
    });
    const known = byNumber.get(step.number);
    byNumber.set(step.number, known ? mergeStep(known, step) : step);
  }
  return [...byNumber.values()].sort((a, b) => a.number - b.number).slice(0, RUN_LIMITS.stepsPerJob);
}

function mergeStep(known: CardJobStep, incoming: CardJobStep): CardJobStep {
  const newer = after(statusKey(incoming.status, undefined), statusKey(known.status, undefined));
  const [winner, other] = newer ? [incoming, known] : [known, incoming];
  return withoutUndefined({
    number: known.number,
    name: known.name || incoming.name,
    status: winner.status,
    conclusion: winner.conclusion ?? (winner.status === other.status ? other.conclusion : undefined),
    startedAt: earliest(known.startedAt, incoming.startedAt),
    completedAt: winner.completedAt ?? (winner.status === other.status ? other.completedAt : undefined),
  });
}

/**
 * The jobs that describe the run now: for each job name the latest job (GitHub gives a re-run job a new,
 * higher id), minus jobs of an earlier attempt that did not succeed (a re-run is about to replace them;
 * successful ones are carried over by "Re-run failed jobs").
 */
export function currentJobs(jobs: readonly CardJob[], runAttempt: number | undefined): CardJob[] {
  const latest = new Map<string, CardJob>();
  for (const job of jobs) {
    const seen = latest.get(job.name);
    if (!seen || job.id > seen.id) latest.set(job.name, job);
  }
  return [...latest.values()]
    .filter(
      (job) =>
        !(
          runAttempt !== undefined &&
          job.attempt !== undefined &&
          job.attempt < runAttempt &&
          job.conclusion !== 'success'
        ),
    )
    .sort((a, b) => a.id - b.id);
}

/** The first failed job (by completion time, then id) and its first failed step. */
export function findFailedJob(jobs: readonly CardJob[], run: CardRun | undefined): CardFailedJob | undefined {
  const failed = currentJobs(jobs, run?.attempt)
    .filter((job) => isCompleted(job.status) && isFailedConclusion(job.conclusion))
    .sort((a, b) => completionOrder(a) - completionOrder(b) || a.id - b.id);
  const job = failed[0];
  if (!job) return undefined;
  const step = job.steps.find((candidate) => isFailedConclusion(candidate.conclusion));
  return withoutUndefined({
    name: job.name,
    jobId: job.id,
    step: step?.name,
    url: job.url ?? run?.url,
    conclusion: job.conclusion ?? 'failure',
  });
}

const completionOrder = (job: CardJob): number => {
  const ms = Date.parse(job.completedAt ?? '');
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
};

// ---------------------------------------------------------------------------------------------------
// Artifacts

export const gateReportKey = (r: { gate: string; cloud: string; environment: string }): string =>
  `${r.gate}/${r.cloud}/${r.environment}`;
export const deployKey = (r: { cloud: string; environment: string }): string => `${r.cloud}/${r.environment}`;

/** Artifact names, as the workflow uploads them (see .github/workflows/terraform.yaml). */
export const gateArtifactName = (r: { gate: string; cloud: string; environment: string }): string =>
  `gate-${r.gate}-${r.cloud}-${r.environment}`;
export const planArtifactName = (r: { cloud: string; environment: string }): string =>
  `plan-summary-${r.cloud}-${r.environment}`;
export const outputsArtifactName = (r: { cloud: string; environment: string }): string =>
  `terraform-outputs-${r.cloud}-${r.environment}`;

interface Versioned {
  attempt?: number;
  at: string;
}

/**
 * Upserts by key: the higher attempt wins, then the later event. The list stays sorted by key, so its
 * content does not depend on arrival order; when it is full, new keys are dropped.
 */
function upsertNewer<T extends Versioned>(
  list: readonly T[],
  keyOf: (item: T) => string,
  incoming: T,
  max: number,
): T[] {
  const key = keyOf(incoming);
  const existing = list.find((item) => keyOf(item) === key);
  const byKey = (a: T, b: T): number => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);
  if (!existing) return list.length >= max ? [...list] : [...list, incoming].sort(byKey);
  const newer = after(
    [incoming.attempt ?? 0, timeOrMinus(incoming.at)],
    [existing.attempt ?? 0, timeOrMinus(existing.at)],
  );
  return newer ? list.map((item) => (item === existing ? incoming : item)) : [...list];
}

export function mergeGateReport(
  reports: readonly CardGateReport[],
  result: GateResult,
  at: string,
): CardGateReport[] {
  const report: CardGateReport = withoutUndefined({
    gate: result.gate,
    cloud: result.cloud,
    environment: result.environment,
    status: result.status,
    enforcement: result.enforcement,
    summary: result.summary === undefined ? undefined : truncate(result.summary, RUN_LIMITS.findingText),
    durationMs: reportDuration(result),
    findings: countsOf(result.findings),
    topFindings: (Array.isArray(result.topFindings) ? result.topFindings : [])
      .slice(0, RUN_LIMITS.topFindingsPerReport)
      .map(boundFinding),
    attempt: validAttempt(result.run?.attempt),
    at,
  });
  return upsertNewer(reports, gateReportKey, report, RUN_LIMITS.gateReports);
}

export function mergePlan(plans: readonly CardPlan[], summary: PlanSummary, at: string): CardPlan[] {
  const resources = {} as Record<PlanAction, string[]>;
  const counts = {} as Record<PlanAction, number>;
  let cut = false;
  for (const action of PLAN_ACTIONS) {
    const list = Array.isArray(summary.resources?.[action]) ? summary.resources[action] : [];
    resources[action] = list
      .slice(0, RUN_LIMITS.planAddressesPerAction)
      .map((address) => truncate(String(address), RUN_LIMITS.planAddress));
    counts[action] = Math.max(nonNegative(summary.counts?.[action]), list.length);
    cut ||= list.length > RUN_LIMITS.planAddressesPerAction;
  }
  const plan: CardPlan = withoutUndefined({
    cloud: summary.cloud,
    environment: summary.environment,
    counts,
    resources,
    truncated: summary.truncated === true || cut,
    ...planChangesOf(summary),
    attempt: validAttempt(summary.run?.attempt),
    generatedAt: summary.generatedAt,
    at,
  });
  return upsertNewer(plans, deployKey, plan, RUN_LIMITS.plans);
}

/** The artifact's attribute changes, bounded and re-checked: a hidden attribute never keeps a value. */
function planChangesOf(summary: PlanSummary): Pick<CardPlan, 'changes' | 'changesOmitted'> {
  if (!Array.isArray(summary.changes)) return {};
  const valid = summary.changes.filter(
    (c) => typeof c?.address === 'string' && (c.action === 'replace' || c.action === 'update'),
  );
  const changes = valid.slice(0, RUN_LIMITS.planChanges).map((c) => {
    const attributes = (Array.isArray(c.attributes) ? c.attributes : []).filter(
      (a) => typeof a?.path === 'string',
    );
    const kept = attributes.slice(0, RUN_LIMITS.planAttributes).map(boundAttribute);
    const omitted = nonNegative(c.attributesOmitted) + attributes.length - kept.length;
    return withoutUndefined({
      address: truncate(c.address, RUN_LIMITS.planAddress),
      action: c.action,
      reason: typeof c.reason === 'string' ? truncate(c.reason, 100) : undefined,
      attributes: kept,
      attributesOmitted: omitted > 0 ? omitted : undefined,
    });
  });
  const omitted = nonNegative(summary.changesOmitted) + valid.length - changes.length;
  return omitted > 0 ? { changes, changesOmitted: omitted } : { changes };
}

function boundAttribute(a: PlanAttributeChange): CardPlanAttribute {
  const hidden = a.hidden === 'sensitive' || a.hidden === 'unknown' ? a.hidden : undefined;
  const value = (v: unknown): string | undefined =>
    hidden === undefined && typeof v === 'string' ? truncate(v, RUN_LIMITS.planValue) : undefined;
  return withoutUndefined({
    path: truncate(a.path, RUN_LIMITS.planAttributePath),
    forcesReplacement: a.forcesReplacement === true ? true : undefined,
    hidden,
    before: value(a.before),
    after: value(a.after),
  });
}

export function mergeOutputs(
  sets: readonly CardOutputs[],
  outputs: TerraformOutputs,
  at: string,
): CardOutputs[] {
  const all = Object.entries(outputs.outputs ?? {});
  const excluded = Array.isArray(outputs.excludedSensitive) ? outputs.excludedSensitive : [];
  const set: CardOutputs = withoutUndefined({
    cloud: outputs.cloud,
    environment: outputs.environment,
    entries: all.slice(0, RUN_LIMITS.outputsPerSet).map(([name, entry]) => ({
      name: truncate(name, RUN_LIMITS.outputName),
      value: truncate(showValue(entry?.value), RUN_LIMITS.outputValue),
    })),
    omitted: Math.max(0, all.length - RUN_LIMITS.outputsPerSet),
    excludedSensitive: excluded
      .slice(0, RUN_LIMITS.excludedSensitive)
      .map((name) => truncate(String(name), RUN_LIMITS.outputName)),
    excludedSensitiveOmitted: Math.max(0, excluded.length - RUN_LIMITS.excludedSensitive),
    attempt: validAttempt(outputs.run?.attempt),
    at,
  });
  return upsertNewer(sets, deployKey, set, RUN_LIMITS.outputSets);
}

export function mergeArtifactProblem(
  problems: readonly CardArtifactProblem[],
  event: ArtifactProblem,
): CardArtifactProblem[] {
  const problem: CardArtifactProblem = {
    artifact: truncate(event.artifact, RUN_LIMITS.artifactName),
    problem: event.problem,
    detail: truncate(event.detail, RUN_LIMITS.problemDetail),
    at: event.at,
  };
  return upsertNewer(problems, (p) => `${p.artifact}:${p.problem}`, problem, RUN_LIMITS.artifactProblems);
}

// ---------------------------------------------------------------------------------------------------
// Helpers

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;

const countsOf = (counts: Partial<FindingCounts> | undefined): FindingCounts => ({
  critical: nonNegative(counts?.critical),
  high: nonNegative(counts?.high),
  medium: nonNegative(counts?.medium),
  low: nonNegative(counts?.low),
  unknown: nonNegative(counts?.unknown),
});

export const totalFindings = (counts: FindingCounts): number =>
  SEVERITIES.reduce((sum, severity) => sum + counts[severity], 0);

function boundFinding(finding: Finding): Finding {
  return withoutUndefined({
    id: truncate(String(finding.id ?? 'unknown'), 100),
    severity: finding.severity,
    message: truncate(String(finding.message ?? ''), RUN_LIMITS.findingMessage),
    title: finding.title === undefined ? undefined : truncate(finding.title, RUN_LIMITS.findingText),
    resource: finding.resource === undefined ? undefined : truncate(finding.resource, RUN_LIMITS.findingText),
    location: finding.location === undefined ? undefined : truncate(finding.location, RUN_LIMITS.findingText),
  });
}

function reportDuration(result: GateResult): number | undefined {
  if (typeof result.durationSeconds === 'number' && Number.isFinite(result.durationSeconds)) {
    return Math.max(0, Math.round(result.durationSeconds * 1000));
  }
  const ms = Date.parse(result.finishedAt ?? '') - Date.parse(result.startedAt ?? '');
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

const nonNegative = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : 0;

const validAttempt = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;

function showValue(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return '(unprintable)';
  }
}

/** URLs are kept only when they can be linked safely (http(s), no characters that break `<url|label>`). */
const SAFE_URL = /^https?:\/\/[^\s<>|]+$/;
const safeStored = (url: string | undefined): string | undefined =>
  url !== undefined && url.length <= RUN_LIMITS.url && SAFE_URL.test(url) ? url : undefined;

/** The earlier of two times; a parsable time beats an unparsable one, whatever the order. */
function earliest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const [msA, msB] = [Date.parse(a), Date.parse(b)];
  if (Number.isNaN(msB)) return Number.isNaN(msA) && b < a ? b : a;
  if (Number.isNaN(msA)) return b;
  return msB < msA || (msB === msA && b < a) ? b : a;
}

/** Stored objects carry no `undefined` fields, so equal content means equal JSON whatever the path. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
