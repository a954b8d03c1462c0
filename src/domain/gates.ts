// The gate checklist: every gate of the promotion's GitHub Actions run, in pipeline order, with its status
// as it runs. Derived, never stored: gateChecklist(card) reads the run, its jobs and the artifacts the card
// folded in (card.ts), so it can never disagree with them.
//
// Where a row's status comes from, in order of authority:
//   1. the gate-result artifact(s) of the row (GateReported), once the row's job has completed (a job that
//      is running again — a re-run — outranks an older artifact);
//   2. the job's steps, matched by name through GATE_TABLE below;
//   3. the run: once it has completed, a row nothing ever reported is `skipped` (or `cancelled` when it
//      was in flight and GitHub cancelled the run).
//
// Most tool steps in .github/workflows/terraform.yaml never fail by themselves: they run with `set +e`
// (fmt, validate, TFLint, OPA, Conftest, plan, apply) or `continue-on-error` (Trivy) and record an exit
// code, which a later "Fail on …"/"Fail when …" step (the row's *verdict* step) turns into the job's
// result. So a tool step that succeeded only means "it ran"; the row passes once its verdict step passes
// (or the job succeeds). When the verdict step fails and the row is the only one that step judges, the
// row failed; otherwise the row is `unknown` until its artifact says which gate it was. A tool step that
// does fail (a crash, a timeout) fails its row at once.
import type { Finding, FindingCounts, GateCloud, GateName, Severity } from '../artifacts/types.js';
import { actorName, approvalView } from './approval.js';
import type { Card } from './card.js';
import {
  currentJobs,
  deployKey,
  gateArtifactName,
  gateReportKey,
  isCompleted,
  isFailedConclusion,
  outputsArtifactName,
  planArtifactName,
  statusRank,
} from './run-state.js';
import type { CardArtifactProblem, CardGateReport, CardJob, CardJobStep, CardRun } from './run-state.js';

export type GateRowStatus =
  | 'pending'
  | 'running'
  | 'waiting'
  | 'passed'
  | 'failed'
  | 'soft-failed'
  | 'skipped'
  | 'errored'
  /** In flight when the run was cancelled. */
  | 'cancelled'
  /** Finished, but nothing says how (its job failed on a verdict step that judges several gates). */
  | 'unknown';

export type GateRowKind = 'policy' | 'check' | 'plan' | 'approval' | 'apply';
export type RunEnvironment = 'dev' | 'prod';

export interface GateRow {
  /** Stable per row: `opa`, `aws-trivy`, `approval`, … (`report:<gate>/<cloud>/<env>` for extra artifacts). */
  key: string;
  label: string;
  kind: GateRowKind;
  cloud?: 'aws' | 'gcp' | 'azure';
  status: GateRowStatus;
  durationMs?: number;
  /** When a running or waiting row started (renderers with a clock show "for 5m"). */
  startedAt?: string;
  /** From the gate-result artifact(s), when they are in. */
  findings?: FindingCounts;
  /** Most severe first. */
  topFindings?: Finding[];
  jobName?: string;
  jobUrl?: string;
  /** A short plain-text explanation ("verdict pending", "run cancelled", "not approved"). */
  note?: string;
}

// ---------------------------------------------------------------------------------------------------
// The mapping: one table, in pipeline order. A row appears for the run environments it lists; the same
// key may appear twice when the gate runs in a different job per environment (Trivy for AWS).
//
// `job` and `steps` are prefixes of the names GitHub reports (the workflow's `name:` with its inputs
// substituted); test/domain/gates.test.ts checks every one of them against the workflow file.

interface GateSource {
  /** Prefix of the job's display name. */
  job: string;
  /** Prefixes of the steps that run the gate (the row spans all of them). */
  steps: readonly string[];
  /** Prefix of the step that fails the job on the gate's recorded result; absent when the tool step's own result is the gate's. */
  verdict?: string;
}

interface ReportRef {
  gate: GateName;
  cloud: GateCloud;
  /** `run`: the run's environment (dev or prod). */
  environment: 'run' | 'all';
}

export interface GateSpec {
  key: string;
  label: string;
  kind: GateRowKind;
  cloud?: 'aws' | 'gcp' | 'azure';
  envs: readonly RunEnvironment[];
  source: GateSource;
  /** The gate-result artifacts that settle the row. */
  reports: readonly ReportRef[];
  /** A plan summary for this cloud (and the run's environment) settles the row as planned. */
  planOf?: 'aws' | 'gcp' | 'azure';
}

const BOTH: readonly RunEnvironment[] = ['dev', 'prod'];
const DEV: readonly RunEnvironment[] = ['dev'];
const PROD: readonly RunEnvironment[] = ['prod'];

/** Job display names (prefixes): `name:` of each job in .github/workflows/terraform.yaml. */
export const JOBS = {
  policy: 'policy (',
  awsGates: 'aws gates (',
  gcpGates: 'gcp gates (',
  azureGates: 'azure gates (',
  awsDevApply: 'aws dev apply',
  gcpPlan: 'gcp plan',
  azurePlan: 'azure plan',
  prodGates: 'prod gates (',
  awsProdApply: 'aws prod apply',
} as const;

const VERDICT = {
  hardGate: 'Fail on a failed hard gate',
  prodGate: 'Fail on a failed prod gate',
  /** Both applies end on the same verdict: plan, the Conftest check of the plan JSON, apply. */
  apply: 'Fail when plan, plan policy or apply failed',
  plan: 'Fail when the plan failed',
} as const;

const ref = (gate: GateName, cloud: GateCloud, environment: 'run' | 'all' = 'run'): ReportRef => ({
  gate,
  cloud,
  environment,
});

// prettier-ignore
export const GATE_TABLE: readonly GateSpec[] = [
  { key: 'opa', label: 'OPA policies', kind: 'policy', envs: BOTH,
    source: { job: JOBS.policy, steps: ['OPA (', 'Conftest on every Terraform root'], verdict: VERDICT.hardGate },
    reports: [ref('opa', 'all', 'all'), ref('conftest', 'all', 'all')] },
  // AWS: fmt -> validate -> TFLint -> Trivy (soft in "aws gates" on dev; hard in "prod gates" on prod)
  { key: 'aws-fmt', label: 'AWS · fmt', kind: 'check', cloud: 'aws', envs: BOTH,
    source: { job: JOBS.awsGates, steps: ['terraform fmt'], verdict: VERDICT.hardGate },
    reports: [ref('fmt', 'aws')] },
  { key: 'aws-validate', label: 'AWS · validate', kind: 'check', cloud: 'aws', envs: BOTH,
    source: { job: JOBS.awsGates, steps: ['terraform validate'], verdict: VERDICT.hardGate },
    reports: [ref('validate', 'aws')] },
  { key: 'aws-tflint', label: 'AWS · TFLint', kind: 'check', cloud: 'aws', envs: BOTH,
    source: { job: JOBS.awsGates, steps: ['TFLint'], verdict: VERDICT.hardGate },
    reports: [ref('tflint', 'aws')] },
  { key: 'aws-trivy', label: 'AWS · Trivy', kind: 'check', cloud: 'aws', envs: DEV,
    source: { job: JOBS.awsGates, steps: ['Trivy ('] },
    reports: [ref('trivy', 'aws')] },
  { key: 'aws-trivy', label: 'AWS · Trivy', kind: 'check', cloud: 'aws', envs: PROD,
    source: { job: JOBS.prodGates, steps: ['Trivy ('], verdict: VERDICT.prodGate },
    reports: [ref('trivy', 'aws')] },
  // GCP: the same four; Trivy is soft on dev runs, judged by the hard-gate step on prod runs
  { key: 'gcp-fmt', label: 'GCP · fmt', kind: 'check', cloud: 'gcp', envs: BOTH,
    source: { job: JOBS.gcpGates, steps: ['terraform fmt'], verdict: VERDICT.hardGate },
    reports: [ref('fmt', 'gcp')] },
  { key: 'gcp-validate', label: 'GCP · validate', kind: 'check', cloud: 'gcp', envs: BOTH,
    source: { job: JOBS.gcpGates, steps: ['terraform validate'], verdict: VERDICT.hardGate },
    reports: [ref('validate', 'gcp')] },
  { key: 'gcp-tflint', label: 'GCP · TFLint', kind: 'check', cloud: 'gcp', envs: BOTH,
    source: { job: JOBS.gcpGates, steps: ['TFLint'], verdict: VERDICT.hardGate },
    reports: [ref('tflint', 'gcp')] },
  { key: 'gcp-trivy', label: 'GCP · Trivy', kind: 'check', cloud: 'gcp', envs: DEV,
    source: { job: JOBS.gcpGates, steps: ['Trivy ('] },
    reports: [ref('trivy', 'gcp')] },
  { key: 'gcp-trivy', label: 'GCP · Trivy', kind: 'check', cloud: 'gcp', envs: PROD,
    source: { job: JOBS.gcpGates, steps: ['Trivy ('], verdict: VERDICT.hardGate },
    reports: [ref('trivy', 'gcp')] },
  // Azure: likewise
  { key: 'azure-fmt', label: 'Azure · fmt', kind: 'check', cloud: 'azure', envs: BOTH,
    source: { job: JOBS.azureGates, steps: ['terraform fmt'], verdict: VERDICT.hardGate },
    reports: [ref('fmt', 'azure')] },
  { key: 'azure-validate', label: 'Azure · validate', kind: 'check', cloud: 'azure', envs: BOTH,
    source: { job: JOBS.azureGates, steps: ['terraform validate'], verdict: VERDICT.hardGate },
    reports: [ref('validate', 'azure')] },
  { key: 'azure-tflint', label: 'Azure · TFLint', kind: 'check', cloud: 'azure', envs: BOTH,
    source: { job: JOBS.azureGates, steps: ['TFLint'], verdict: VERDICT.hardGate },
    reports: [ref('tflint', 'azure')] },
  { key: 'azure-trivy', label: 'Azure · Trivy', kind: 'check', cloud: 'azure', envs: DEV,
    source: { job: JOBS.azureGates, steps: ['Trivy ('] },
    reports: [ref('trivy', 'azure')] },
  { key: 'azure-trivy', label: 'Azure · Trivy', kind: 'check', cloud: 'azure', envs: PROD,
    source: { job: JOBS.azureGates, steps: ['Trivy ('], verdict: VERDICT.hardGate },
    reports: [ref('trivy', 'azure')] },
  // Prod only: OPA on the prod HCL and a read-only preview plan, before anyone is asked to approve
  { key: 'prod-opa', label: 'OPA on prod (HCL + plan)', kind: 'policy', cloud: 'aws', envs: PROD,
    source: { job: JOBS.prodGates, steps: ['Conftest on terraform/aws/prod'], verdict: VERDICT.prodGate },
    reports: [ref('conftest', 'aws')] },
  { key: 'aws-plan-preview', label: 'AWS plan (preview)', kind: 'plan', cloud: 'aws', envs: PROD,
    source: { job: JOBS.prodGates, steps: ['Preview plan'], verdict: VERDICT.prodGate },
    reports: [], planOf: 'aws' },
  // Plans
  { key: 'aws-plan', label: 'AWS plan', kind: 'plan', cloud: 'aws', envs: DEV,
    source: { job: JOBS.awsDevApply, steps: ['terraform plan', 'Conftest on the plan JSON'], verdict: VERDICT.apply },
    reports: [ref('plan', 'aws')] },
  { key: 'gcp-plan', label: 'GCP plan', kind: 'plan', cloud: 'gcp', envs: BOTH,
    source: { job: JOBS.gcpPlan, steps: ['terraform plan'], verdict: VERDICT.plan },
    reports: [ref('plan', 'gcp')] },
  { key: 'azure-plan', label: 'Azure plan', kind: 'plan', cloud: 'azure', envs: BOTH,
    source: { job: JOBS.azurePlan, steps: ['terraform plan'], verdict: VERDICT.plan },
    reports: [ref('plan', 'azure')] },
  // Prod: the approval is GitHub Environment prod on the apply job (the job waits until approved)
  { key: 'approval', label: 'Approval (Environment prod)', kind: 'approval', envs: PROD,
    source: { job: JOBS.awsProdApply, steps: [] },
    reports: [] },
  { key: 'aws-plan', label: 'AWS plan', kind: 'plan', cloud: 'aws', envs: PROD,
    source: { job: JOBS.awsProdApply, steps: ['terraform plan', 'Conftest on the plan JSON'], verdict: VERDICT.apply },
    reports: [ref('plan', 'aws')] },
  // Apply
  { key: 'aws-apply', label: 'AWS apply', kind: 'apply', cloud: 'aws', envs: DEV,
    source: { job: JOBS.awsDevApply, steps: ['terraform apply'], verdict: VERDICT.apply },
    reports: [ref('apply', 'aws')] },
  { key: 'aws-apply', label: 'AWS apply', kind: 'apply', cloud: 'aws', envs: PROD,
    source: { job: JOBS.awsProdApply, steps: ['terraform apply'], verdict: VERDICT.apply },
    reports: [ref('apply', 'aws')] },
];

// ---------------------------------------------------------------------------------------------------
// The checklist

/** Rows for the card's run, in pipeline order; empty while the card knows nothing about a run. */
export function gateChecklist(card: Card): GateRow[] {
  if (!card.run && card.jobs.length === 0 && card.gateReports.length === 0) return [];
  const environment = runEnvironment(card);
  const jobs = currentJobs(card.jobs, card.run?.attempt);
  const specs = GATE_TABLE.filter((spec) => spec.envs.includes(environment));
  const working = specs.map((spec) => evaluate(spec, environment, jobs, card));
  resolveVerdicts(working);
  const rows = working.map((w) => finalize(w.row, card.run));
  return [...rows, ...extraReportRows(card, specs, environment)];
}

/** The environment the run deploys: the card's, else what the job names or artifacts say, else dev. */
export function runEnvironment(card: Card): RunEnvironment {
  if (card.environment) return card.environment;
  for (const job of card.jobs) {
    const match = /\((dev|prod)\)$/.exec(job.name);
    if (match?.[1] === 'dev' || match?.[1] === 'prod') return match[1];
    if (job.name.startsWith(JOBS.prodGates) || job.name.startsWith(JOBS.awsProdApply)) return 'prod';
  }
  const reported = card.gateReports.find((r) => r.environment === 'dev' || r.environment === 'prod');
  return reported?.environment === 'prod' ? 'prod' : 'dev';
}

export interface ChecklistCounts {
  total: number;
  done: number;
  passed: number;
  failed: number;
  running: number;
}

const DONE: ReadonlySet<GateRowStatus> = new Set([
  'passed',
  'failed',
  'soft-failed',
  'skipped',
  'errored',
  'cancelled',
  'unknown',
]);
export const isDoneStatus = (status: GateRowStatus): boolean => DONE.has(status);
export const needsAttention = (status: GateRowStatus): boolean =>
  ['failed', 'errored', 'soft-failed', 'cancelled', 'unknown', 'running', 'waiting'].includes(status);

export function checklistCounts(rows: readonly GateRow[]): ChecklistCounts {
  return {
    total: rows.length,
    done: rows.filter((row) => isDoneStatus(row.status)).length,
    passed: rows.filter((row) => row.status === 'passed' || row.status === 'soft-failed').length,
    failed: rows.filter((row) => row.status === 'failed' || row.status === 'errored').length,
    running: rows.filter((row) => row.status === 'running' || row.status === 'waiting').length,
  };
}

// ---------------------------------------------------------------------------------------------------
// Evaluation of one row

interface Working {
  spec: GateSpec;
  job?: CardJob;
  row: GateRow;
  /** An artifact (or, for the preview plan, a plan summary) decided the row. */
  settled: boolean;
  /** The tool ran and the verdict step failed: resolved over the verdict's group by resolveVerdicts. */
  verdictFailed: boolean;
}

interface Live {
  status: GateRowStatus;
  durationMs?: number;
  startedAt?: string;
  note?: string;
  verdictFailed?: boolean;
}

function evaluate(spec: GateSpec, environment: RunEnvironment, jobs: CardJob[], card: Card): Working {
  const job = jobs
    .filter((candidate) => candidate.name.startsWith(spec.source.job))
    .sort((a, b) => b.id - a.id)[0];
  const live = spec.kind === 'approval' ? approvalRowStatus(job, card) : liveStatus(spec, job);
  const row: GateRow = compact({
    key: spec.key,
    label: spec.label,
    kind: spec.kind,
    cloud: spec.cloud,
    status: live.status,
    durationMs: live.durationMs,
    startedAt: live.startedAt,
    note: live.note,
    jobName: job?.name,
    jobUrl: job?.url,
  });
  const working: Working = { spec, job, row, settled: false, verdictFailed: live.verdictFailed === true };
  if (job && !isCompleted(job.status)) return working; // a running job outranks any (older) artifact
  // A cancelled tool step stays cancelled: the `if: always()` artifact step records a missing exit code
  // as a failure, which is not what happened.
  if (live.status === 'cancelled') return working;
  applyReports(working, environment, card);
  if (!working.settled && spec.planOf) {
    const planned = card.plans.some(
      (p) => deployKey(p) === deployKey({ cloud: spec.planOf ?? '', environment }),
    );
    if (planned && ['pending', 'running', 'unknown', 'passed'].includes(live.status)) {
      working.row = { ...working.row, status: 'passed', note: undefined };
      working.settled = true;
      working.verdictFailed = false;
    }
  }
  return working;
}

function liveStatus(spec: GateSpec, job: CardJob | undefined): Live {
  if (!job || statusRank(job.status) === 0) return { status: 'pending' };
  const jobDone = isCompleted(job.status);
  const steps = spec.source.steps.map((prefix) => job.steps.find((step) => step.name.startsWith(prefix)));
  const found = steps.filter((step): step is CardJobStep => step !== undefined);
  const startedAt = earliestOf(found.map((step) => step.startedAt));
  const span = durationOf(startedAt, latestOf(found.map((step) => step.completedAt)));
  if (found.some((step) => !isCompleted(step.status) && statusRank(step.status) >= 1)) {
    return { status: 'running', startedAt };
  }
  if (found.some((step) => isFailedConclusion(step.conclusion)))
    return { status: 'failed', durationMs: span };
  if (found.some((step) => step.conclusion === 'cancelled')) return { status: 'cancelled', durationMs: span };
  const allFinished = steps.every((step) => step !== undefined && isCompleted(step.status));
  if (!allFinished && !jobDone) {
    return found.some((step) => isCompleted(step.status) && step.conclusion !== 'skipped')
      ? { status: 'running', startedAt }
      : { status: 'pending' };
  }
  if (found.length === 0) {
    // The job ended and never reported the gate's step(s).
    if (job.conclusion === 'skipped') return { status: 'skipped' };
    if (job.conclusion === 'cancelled') return { status: 'cancelled' };
    if (isFailedConclusion(job.conclusion)) return { status: 'skipped', note: 'the job failed before it' };
    return { status: 'unknown', note: 'its step was not reported' };
  }
  // Steps the finished job never reported count as skipped.
  const ran = found.filter((step) => step.conclusion !== 'skipped');
  if (ran.length === 0) return { status: 'skipped' };
  return verdictOf(spec, job, span);
}

/** The tool step(s) ran; whether the gate passed is the verdict step's (or the job's) to say. */
function verdictOf(spec: GateSpec, job: CardJob, durationMs: number | undefined): Live {
  if (!spec.source.verdict) return { status: 'passed', durationMs };
  const prefix = spec.source.verdict;
  const verdict = job.steps.find((step) => step.name.startsWith(prefix));
  if (verdict && isCompleted(verdict.status)) {
    if (verdict.conclusion === 'success') return { status: 'passed', durationMs };
    if (isFailedConclusion(verdict.conclusion)) {
      return {
        status: 'unknown',
        durationMs,
        verdictFailed: true,
        note: `the job failed at “${verdict.name}”; the gate results will say which gate`,
      };
    }
  }
  if (isCompleted(job.status)) {
    if (job.conclusion === 'success') return { status: 'passed', durationMs };
    if (job.conclusion === 'cancelled')
      return { status: 'cancelled', durationMs, note: 'cancelled before its verdict' };
    return { status: 'unknown', durationMs, note: 'the job ended without a verdict' };
  }
  return { status: 'running', durationMs, note: 'checked; verdict pending' };
}

/**
 * The approval row: what the job says (below), refined by the approval the bot handles (card.approval,
 * approval.ts) — who approved or rejected, and why; an approval given while the job still waits means the
 * environment's wait timer (or another rule) still holds it.
 */
function approvalRowStatus(job: CardJob | undefined, card: Card): Live {
  const fromJob = approvalStatus(job);
  const view = approvalView(card);
  if (!view) return fromJob;
  const { approval } = view;
  const who = approval.by ? actorName(approval.by) : approval.githubLogin;
  switch (view.phase) {
    case 'waiting':
      return {
        status: 'waiting',
        startedAt: job?.waitingAt ?? approval.requestedAt,
        note: approval.mode === 'reviewer' ? 'awaiting a required reviewer' : 'awaiting approval in Slack',
      };
    case 'approved':
      if (fromJob.status === 'waiting') {
        return {
          status: 'waiting',
          startedAt: job?.waitingAt ?? approval.requestedAt,
          note: `approved by ${who ?? 'someone'}; the environment's other rules (wait timer) still hold it`,
        };
      }
      if (fromJob.status !== 'passed' && fromJob.status !== 'pending') return fromJob;
      return { ...fromJob, status: 'passed', note: `approved by ${who ?? 'someone'}` };
    case 'rejected':
      return {
        status: 'failed',
        note: `rejected by ${who ?? 'someone'}${approval.reason ? `: ${approval.reason}` : ''}`,
      };
    case 'moved-on':
    case 'ended':
      return fromJob;
  }
}

function approvalStatus(job: CardJob | undefined): Live {
  if (!job || statusRank(job.status) === 0) return { status: 'pending' };
  if (job.status === 'waiting') {
    return { status: 'waiting', startedAt: job.waitingAt, note: 'waiting for a reviewer' };
  }
  const started = job.steps.filter((step) => step.startedAt !== undefined && step.conclusion !== 'skipped');
  const approvedAt =
    earliestOf(started.map((step) => step.startedAt)) ?? (isCompleted(job.status) ? undefined : job.statusAt);
  const approved: Live = {
    status: 'passed',
    durationMs: durationOf(job.waitingAt, approvedAt),
    note: job.waitingAt ? 'approved' : undefined,
  };
  if (!isCompleted(job.status) || job.conclusion === 'success' || started.length > 0) return approved;
  if (job.conclusion === 'cancelled') return { status: 'cancelled' };
  if (job.conclusion === 'skipped') return { status: 'skipped', note: 'an earlier gate failed' };
  return {
    status: 'failed',
    note: job.waitingAt ? 'not approved (rejected or timed out)' : 'the job failed before its first step',
  };
}

// ---------------------------------------------------------------------------------------------------
// Artifacts settle rows

const STATUS_WEIGHT: Readonly<Record<CardGateReport['status'], number>> = {
  failed: 4,
  errored: 3,
  'soft-failed': 2,
  passed: 1,
  skipped: 0,
};

function applyReports(working: Working, environment: RunEnvironment, card: Card): void {
  const keys = working.spec.reports.map((r) =>
    gateReportKey({
      gate: r.gate,
      cloud: r.cloud,
      environment: r.environment === 'all' ? 'all' : environment,
    }),
  );
  const present = keys
    .map((key) => card.gateReports.find((report) => gateReportKey(report) === key))
    .filter((report): report is CardGateReport => report !== undefined)
    .filter((report) => isCurrentReport(report, working.job, card.run));
  if (present.length === 0) return;
  const worst = present.reduce((a, b) => (STATUS_WEIGHT[b.status] > STATUS_WEIGHT[a.status] ? b : a));
  const findings = sumFindings(present.map((report) => report.findings));
  const topFindings = mergeTopFindings(present.map((report) => report.topFindings));
  const decisive = present.length === keys.length || worst.status === 'failed' || worst.status === 'errored';
  const durations = present.map((report) => report.durationMs).filter((ms): ms is number => ms !== undefined);
  working.row = compact({
    ...working.row,
    findings,
    topFindings: topFindings.length > 0 ? topFindings : undefined,
    ...(decisive
      ? {
          status: worst.status,
          durationMs: durations.length > 0 ? durations.reduce((a, b) => a + b, 0) : working.row.durationMs,
          note: worst.status === 'errored' ? worst.summary : undefined,
        }
      : {}),
  });
  if (decisive) {
    working.settled = true;
    working.verdictFailed = false;
  }
}

/**
 * An artifact speaks for the row unless it comes from an older attempt than the row's job, or — when the
 * job's attempt is unknown — it is a failure from an older attempt of the run (that job is being re-run).
 */
function isCurrentReport(
  report: CardGateReport,
  job: CardJob | undefined,
  run: CardRun | undefined,
): boolean {
  if (report.attempt === undefined) return true;
  if (job?.attempt !== undefined) return report.attempt >= job.attempt;
  if (run?.attempt === undefined || report.attempt >= run.attempt) return true;
  return report.status !== 'failed' && report.status !== 'errored';
}

/** A failed verdict step names no gate: it fails the one row it judges, or leaves its rows `unknown`. */
function resolveVerdicts(rows: Working[]): void {
  for (const row of rows) {
    if (!row.verdictFailed || !row.job) continue;
    const group = rows.filter(
      (other) => other.job?.id === row.job?.id && other.spec.source.verdict === row.spec.source.verdict,
    );
    const explained = group.some(
      (m) => !m.verdictFailed && (m.row.status === 'failed' || m.row.status === 'errored'),
    );
    const open = group.filter((m) => m.verdictFailed);
    if (!explained && open.length === 1) {
      row.row = { ...row.row, status: 'failed', note: undefined };
    }
  }
}

/** Rows nothing settled when the run is over: never ran (skipped), or caught by a cancellation. */
function finalize(row: GateRow, run: CardRun | undefined): GateRow {
  if (!run?.status || !isCompleted(run.status)) return row;
  if (row.status !== 'pending' && row.status !== 'running' && row.status !== 'waiting') return row;
  if (run.conclusion === 'cancelled') {
    return compact({
      ...row,
      status: row.status === 'pending' ? 'skipped' : 'cancelled',
      startedAt: undefined,
      note: 'run cancelled',
    });
  }
  return compact({
    ...row,
    status: row.status === 'pending' ? 'skipped' : 'unknown',
    startedAt: undefined,
    note: row.status === 'pending' ? undefined : 'the run ended before this was reported',
  });
}

/** Gate results the table has no row for (another environment, actionlint, …): shown after the rest. */
function extraReportRows(card: Card, specs: readonly GateSpec[], environment: RunEnvironment): GateRow[] {
  const known = new Set(
    specs.flatMap((spec) =>
      spec.reports.map((r) =>
        gateReportKey({
          gate: r.gate,
          cloud: r.cloud,
          environment: r.environment === 'all' ? 'all' : environment,
        }),
      ),
    ),
  );
  return card.gateReports
    .filter((report) => !known.has(gateReportKey(report)))
    .map((report) =>
      compact({
        key: `report:${gateReportKey(report)}`,
        label: `${GATE_LABEL[report.gate] ?? report.gate} · ${report.cloud} ${report.environment}`,
        kind: 'check' as const,
        status: report.status,
        durationMs: report.durationMs,
        findings: report.findings,
        topFindings: report.topFindings.length > 0 ? report.topFindings : undefined,
        note: report.status === 'errored' ? report.summary : undefined,
      }),
    );
}

export const GATE_LABEL: Readonly<Record<string, string>> = {
  opa: 'OPA',
  conftest: 'Conftest',
  fmt: 'fmt',
  validate: 'validate',
  tflint: 'TFLint',
  trivy: 'Trivy',
  actionlint: 'actionlint',
  'kargo-schema': 'Kargo schema',
  plan: 'plan',
  apply: 'apply',
};

// ---------------------------------------------------------------------------------------------------
// Artifact problems

/** Problems still worth a line: an artifact that arrived after all (late, or fixed by a re-run) has none. */
export function openArtifactProblems(card: Card): CardArtifactProblem[] {
  const present = new Set([
    ...card.gateReports.map(gateArtifactName),
    ...card.plans.map(planArtifactName),
    ...card.outputs.map(outputsArtifactName),
  ]);
  return card.artifactProblems.filter((problem) => !present.has(problem.artifact));
}

const PROBLEM_VERB: Readonly<Record<CardArtifactProblem['problem'], string>> = {
  missing: 'is missing',
  malformed: 'is malformed',
  expired: 'has expired',
  'too-large': 'is too large to read',
  unreadable: 'could not be read',
};

/** "plan-summary-aws-dev is missing: the plan could not be summarised" (plain text). */
export function artifactProblemSentence(problem: Pick<CardArtifactProblem, 'artifact' | 'problem'>): string {
  return `${problem.artifact} ${PROBLEM_VERB[problem.problem] ?? 'has a problem'}: ${consequenceOf(problem.artifact)}`;
}

function consequenceOf(artifact: string): string {
  if (artifact.startsWith('plan-summary-')) return 'the plan could not be summarised';
  if (artifact.startsWith('terraform-outputs-')) return 'the Terraform outputs cannot be shown';
  const gate = /^gate-(.+)-(aws|gcp|azure|all)-(dev|prod|bootstrap|all)$/.exec(artifact);
  if (gate) {
    const [, name = '', cloud = '', environment = ''] = gate;
    const where = cloud === 'all' ? '' : ` for ${cloud} ${environment}`;
    return `the ${GATE_LABEL[name] ?? name} result${where} (verdict and findings) is not known`;
  }
  return 'what it holds is not shown';
}

// ---------------------------------------------------------------------------------------------------
// Helpers

const SEVERITY_ORDER: Readonly<Record<Severity, number>> = {
  CRITICAL: 0,
  HIGH: 1,
  MEDIUM: 2,
  LOW: 3,
  UNKNOWN: 4,
};

function sumFindings(all: readonly FindingCounts[]): FindingCounts {
  return all.reduce(
    (sum, counts) => ({
      critical: sum.critical + counts.critical,
      high: sum.high + counts.high,
      medium: sum.medium + counts.medium,
      low: sum.low + counts.low,
      unknown: sum.unknown + counts.unknown,
    }),
    { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
  );
}

function mergeTopFindings(lists: readonly Finding[][]): Finding[] {
  return lists
    .flat()
    .map((finding, index) => ({ finding, index }))
    .sort(
      (a, b) =>
        (SEVERITY_ORDER[a.finding.severity] ?? 4) - (SEVERITY_ORDER[b.finding.severity] ?? 4) ||
        a.index - b.index,
    )
    .slice(0, 20)
    .map(({ finding }) => finding);
}

function durationOf(from: string | undefined, to: string | undefined): number | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

function earliestOf(times: readonly (string | undefined)[]): string | undefined {
  return pick(times, (a, b) => a < b);
}

function latestOf(times: readonly (string | undefined)[]): string | undefined {
  return pick(times, (a, b) => a > b);
}

function pick(
  times: readonly (string | undefined)[],
  better: (a: number, b: number) => boolean,
): string | undefined {
  let best: { iso: string; ms: number } | undefined;
  for (const iso of times) {
    const ms = iso === undefined ? Number.NaN : Date.parse(iso);
    if (iso === undefined || Number.isNaN(ms)) continue;
    if (!best || better(ms, best.ms)) best = { iso, ms };
  }
  return best?.iso;
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
