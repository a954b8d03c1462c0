// GitHub webhook deliveries (already verified and de-duplicated on X-GitHub-Delivery by the web process)
// → the card events of src/domain/events.ts. Pure: no I/O, no clock.
//
// Event ids make duplicates and reordering harmless. Redeliveries, the two `waiting` deliveries GitHub
// sends for one wait, and the same state seen by polling (getRun/listJobs through the same mappers below)
// all produce the same id, and the reducer applies an id once:
//   run:<run id>:<attempt>:<status>                    one per status of each attempt
//   job:<job id>:<status>:<completed_at|started_at>    job ids are per attempt
// `at` comes from the payload too (never "now"), so a duplicate is identical, not just same-id.
//
// Also here: the run-name of .github/workflows/terraform.yaml, which is how a run is matched to its Kargo
// Promotion when no run id is known (runs.ts findRunForPromotion).
import type { DeployEnvironment } from '../artifacts/types.js';
import type { RunJobChanged, RunJobStep, RunStatusChanged } from '../domain/events.js';

export interface DeliveryContext {
  /** The card that follows this run; undefined = not a run the bot follows (the delivery yields nothing). */
  cardIdForRun(runId: number): string | undefined;
}

export type RunEvent = RunStatusChanged | RunJobChanged;

// ---- the fields read (webhook workflow_run / REST workflow-run; webhook workflow_job / REST job) ------

interface UserLike {
  login?: string | null;
}

/** The fields of a workflow run the bot reads: shared by the workflow_run webhook and GET …/runs/{id}. */
export interface RunLike {
  id: number;
  run_attempt?: number | null;
  status?: string | null;
  conclusion?: string | null;
  html_url?: string | null;
  updated_at?: string | null;
  created_at?: string | null;
  name?: string | null;
  display_title?: string | null;
  actor?: UserLike | null;
  triggering_actor?: UserLike | null;
}

interface StepLike {
  number: number;
  name: string;
  status: string;
  conclusion?: string | null;
  started_at?: string | null;
  completed_at?: string | null;
}

/** The fields of a job the bot reads: shared by the workflow_job webhook and GET …/runs/{id}/jobs. */
export interface JobLike {
  id: number;
  run_id: number;
  name: string;
  status: string;
  conclusion?: string | null;
  created_at?: string | null;
  started_at?: string | null;
  completed_at?: string | null;
  html_url?: string | null;
  steps?: StepLike[] | null;
}

// ---- ids and mappers (used for webhooks and for polling) ---------------------------------------------

export const runStatusEventId = (run: Pick<RunLike, 'id' | 'run_attempt' | 'status'>): string =>
  `run:${run.id}:${run.run_attempt ?? 1}:${run.status ?? 'unknown'}`;

export const jobEventId = (job: Pick<JobLike, 'id' | 'status' | 'completed_at' | 'started_at'>): string =>
  `job:${job.id}:${job.status}:${job.completed_at ?? job.started_at ?? ''}`;

const opt = <K extends string, V>(key: K, value: V | null | undefined): Partial<Record<K, V>> =>
  value === null || value === undefined || value === '' ? {} : ({ [key]: value } as Record<K, V>);

/** A workflow run (webhook or REST) as a RunStatusChanged for `cardId`. */
export function runStatusEvent(run: RunLike, cardId: string): RunStatusChanged {
  const status = run.status ?? 'unknown';
  return {
    type: 'RunStatusChanged',
    id: runStatusEventId(run),
    cardId,
    at: run.updated_at ?? run.created_at ?? '',
    runId: run.id,
    runAttempt: run.run_attempt ?? 1,
    status,
    // GitHub sends conclusion null until completed; "action_required" can precede completion.
    ...opt('conclusion', run.conclusion),
    ...opt('htmlUrl', run.html_url),
    // Whoever re-ran the run is the triggering actor; `actor` is who first started it.
    ...opt('triggeredBy', run.triggering_actor?.login ?? run.actor?.login),
  };
}

function stepOf(step: StepLike): RunJobStep {
  return {
    number: step.number,
    name: step.name,
    status: step.status,
    ...opt('conclusion', step.conclusion),
    ...opt('startedAt', step.started_at),
    ...opt('completedAt', step.completed_at),
  };
}

/** A job (webhook or REST) as a RunJobChanged for `cardId`. */
export function jobEvent(job: JobLike, cardId: string): RunJobChanged {
  return {
    type: 'RunJobChanged',
    id: jobEventId(job),
    cardId,
    at: job.completed_at ?? job.started_at ?? job.created_at ?? '',
    runId: job.run_id,
    jobId: job.id,
    name: job.name,
    status: job.status,
    ...opt('conclusion', job.conclusion),
    ...opt('startedAt', job.started_at),
    ...opt('completedAt', job.completed_at),
    ...opt('htmlUrl', job.html_url),
    steps: [...(job.steps ?? [])].sort((a, b) => a.number - b.number).map(stepOf),
  };
}

// ---- deliveries --------------------------------------------------------------------------------------

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isRunLike = (v: unknown): v is RunLike => isRecord(v) && typeof v.id === 'number';
const isJobLike = (v: unknown): v is JobLike =>
  isRecord(v) &&
  typeof v.id === 'number' &&
  typeof v.run_id === 'number' &&
  typeof v.name === 'string' &&
  typeof v.status === 'string';

const RUN_ACTIONS = new Set(['requested', 'in_progress', 'completed']);
const JOB_ACTIONS = new Set(['queued', 'in_progress', 'completed', 'waiting']);

/**
 * The card events one delivery carries: `workflow_run` requested/in_progress/completed → RunStatusChanged,
 * `workflow_job` queued/in_progress/completed/waiting → RunJobChanged. Anything else (other events, other
 * actions, a payload without the expected object, a run no card follows) → [].
 */
export function eventsFromDelivery(event: string, payload: unknown, ctx: DeliveryContext): RunEvent[] {
  if (!isRecord(payload) || typeof payload.action !== 'string') return [];
  if (event === 'workflow_run' && RUN_ACTIONS.has(payload.action) && isRunLike(payload.workflow_run)) {
    const cardId = ctx.cardIdForRun(payload.workflow_run.id);
    return cardId === undefined ? [] : [runStatusEvent(payload.workflow_run, cardId)];
  }
  if (event === 'workflow_job' && JOB_ACTIONS.has(payload.action) && isJobLike(payload.workflow_job)) {
    const cardId = ctx.cardIdForRun(payload.workflow_job.run_id);
    return cardId === undefined ? [] : [jobEvent(payload.workflow_job, cardId)];
  }
  return [];
}

/** `…/actions/runs/<id>/…` in a URL (deployment_protection_rule's deployment_callback_url). */
const RUN_IN_URL = /\/actions\/runs\/(\d+)(?:\/|$)/;

/**
 * The workflow run a delivery is about, so the caller can look up its card before parsing:
 * workflow_run → workflow_run.id; workflow_job → workflow_job.run_id; deployment_review and
 * deployment_status → workflow_run.id; deployment_protection_rule → the id in deployment_callback_url
 * (`…/actions/runs/<id>/deployment_protection_rule`). Undefined when the delivery names no run.
 */
export function runIdOf(event: string, payload: unknown): number | undefined {
  if (!isRecord(payload)) return undefined;
  switch (event) {
    case 'workflow_run':
    case 'deployment_review':
    case 'deployment_status':
      return isRunLike(payload.workflow_run) ? payload.workflow_run.id : undefined;
    case 'workflow_job':
      return isRecord(payload.workflow_job) && typeof payload.workflow_job.run_id === 'number'
        ? payload.workflow_job.run_id
        : undefined;
    case 'deployment_protection_rule': {
      const url = payload.deployment_callback_url;
      const m = typeof url === 'string' ? RUN_IN_URL.exec(url) : null;
      return m ? Number(m[1]) : undefined;
    }
    default:
      return undefined;
  }
}

// ---- run-name ----------------------------------------------------------------------------------------

/** The dispatch inputs as the workflow's run-name shows them. */
export interface RunNameInputs {
  environment: DeployEnvironment;
  deployProd: boolean;
  /** The Kargo Promotion name; undefined = a manual run ("promotion=manual"). */
  promotion?: string;
}

/**
 * terraform.yaml's `run-name` (GitHub's `display_title`) for these inputs:
 * `terraform <environment> promotion=<promotion name|manual> deploy_prod=<no|yes>`.
 */
export function runNameFor(inputs: RunNameInputs): string {
  return `terraform ${inputs.environment} promotion=${inputs.promotion || 'manual'} deploy_prod=${inputs.deployProd ? 'yes' : 'no'}`;
}

const RUN_NAME = /^terraform (dev|prod) promotion=(\S+) deploy_prod=(no|yes)$/;

/** Reads a run-name back; undefined for any other title. */
export function parseRunName(title: string | null | undefined): RunNameInputs | undefined {
  const m = RUN_NAME.exec((title ?? '').replace(/\s+/g, ' ').trim());
  if (!m) return undefined;
  const [, environment, promotion, deployProd] = m as unknown as [string, DeployEnvironment, string, string];
  return { environment, deployProd: deployProd === 'yes', ...(promotion === 'manual' ? {} : { promotion }) };
}

/**
 * The Kargo Promotion a run belongs to, from its run-name: `display_title` (REST and webhooks), else `name`
 * (which some payloads fill with the run-name). Undefined for manual runs and other workflows.
 */
export function promotionNameFromRun(run: Pick<RunLike, 'display_title' | 'name'>): string | undefined {
  return parseRunName(run.display_title)?.promotion ?? parseRunName(run.name)?.promotion;
}
