// Workflow runs of the GitHub stand-in, as a discrete-event simulation on a virtual clock: nothing happens
// until the stand-in's clock moves (advance() in tests, a speed factor in the sandbox), so tests are
// deterministic. Each run follows the real workflow (github-workflow.ts): a job is evaluated when all its
// `needs` have finished — its `if:` decides queued or skipped —, runs its steps (each step's `if:` is
// evaluated too, so `if: always()` uploads happen after a failure), and uploads the artifacts of the upload
// steps that ran. The scenario (github-scenarios.ts) decides which step fails and what each upload holds.
//
// Status transitions follow GitHub: run queued → in_progress (first job starts) → completed; job queued →
// (waiting at a protected environment) → in_progress → completed; skipped jobs are reported completed with
// conclusion `skipped`; cancelling completes every unfinished job as `cancelled`, after which only jobs with
// `if: always()` still run. Not simulated: concurrency groups (a second run of an environment does not
// queue behind the first), re-runs (run_attempt is always 1), job logs.
//
// Executed for real: the `run:` steps named in EXECUTED_STEPS (scripts that need only bash and jq, such as
// the results job's bundle), in a scratch workspace where the job's download-artifact steps have put this
// run's artifacts as GitHub would; what their upload steps then find is what gets uploaded.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { unzipSync, zipSync } from 'fflate';
import type { RunRef } from '../artifacts/types.js';
import { buildArtifactZip, type ArtifactScript, type JobScript, type Scenario } from './github-scenarios.js';
import {
  condition,
  jobLevelStatus,
  render,
  type ExpressionContext,
  type WorkflowJobDef,
  type WorkflowModel,
  type WorkflowStep,
} from './github-workflow.js';

/** `run:` steps (by `id:`) the stand-in executes as written: they need nothing but bash and jq. */
const EXECUTED_STEPS: ReadonlySet<string> = new Set(['bundle']);

export interface SimActor {
  login: string;
  id: number;
  type: 'User' | 'Bot';
}

export type StepConclusion = 'success' | 'failure' | 'skipped' | 'cancelled';

export interface SimStep {
  number: number;
  name: string;
  /** Virtual ms when the step starts and ends (equal for skipped steps). */
  start: number;
  end: number;
  conclusion: StepConclusion;
}

export type JobStatus = 'pending' | 'queued' | 'waiting' | 'in_progress' | 'completed';

export interface SimJob {
  id: number;
  /** Key under `jobs:`. */
  key: string;
  /** Rendered display name, e.g. `aws gates (dev)`. */
  name: string;
  def: WorkflowJobDef;
  /** `pending`: its needs have not finished; GitHub does not list it yet. */
  status: JobStatus;
  conclusion: string | null;
  createdAt?: number;
  startedAt?: number;
  completedAt?: number;
  /** When a queued job starts / an in-progress job completes. */
  startAt?: number;
  endAt?: number;
  steps: SimStep[];
  runnerId?: number;
}

export interface SimArtifact {
  id: number;
  name: string;
  runId: number;
  jobKey: string;
  /** Virtual ms of the upload; listed from then on. */
  createdAt: number;
  expiresAt: number;
  expired: boolean;
  zip: Uint8Array;
}

export interface SimRun {
  id: number;
  runNumber: number;
  attempt: number;
  workflowId: number;
  /** The workflow this run belongs to (`name:`, `.github/workflows/<file>`): runs of several workflows share the simulator. */
  workflowName: string;
  workflowPath: string;
  /** What started it: `workflow_dispatch` (Kargo, a person) or `schedule` (cron). */
  event: 'workflow_dispatch' | 'schedule';
  inputs: Record<string, string>;
  displayTitle: string;
  ref: string;
  headSha: string;
  actor: SimActor;
  status: 'queued' | 'in_progress' | 'waiting' | 'completed';
  conclusion: string | null;
  createdAt: number;
  updatedAt: number;
  runStartedAt: number;
  jobs: SimJob[];
  artifacts: SimArtifact[];
  scenario: Scenario;
  vars: Record<string, string>;
  cancelAt?: number;
  cancelled: boolean;
  checkSuiteId: number;
}

export type SimEvent =
  | { kind: 'workflow_run'; action: 'requested' | 'in_progress' | 'completed'; run: SimRun }
  | {
      kind: 'workflow_job';
      action: 'queued' | 'waiting' | 'in_progress' | 'completed';
      run: SimRun;
      job: SimJob;
    };

export interface SimulatorOptions {
  model: WorkflowModel;
  /** Called synchronously for each transition, in order: snapshot what you need now. */
  onEvent: (event: SimEvent) => void;
  /** `run.url` for the RunRef inside artifacts (the html URL of the run). */
  htmlUrlFor: (runId: number) => string;
  /** Artifact retention (workflow uses retention-days: 30). */
  retentionMs?: number;
  // ── approvals (added with the approvals feature) ──
  /** Environments with protection rules (required reviewers, a custom rule): their jobs wait, as on GitHub. */
  isProtected?: (environment: string) => boolean;
}

const DAY = 24 * 60 * 60 * 1000;

export class RunSimulator {
  private readonly runs = new Map<number, SimRun>();
  private seq = { run: 0, job: 0, artifact: 0, runner: 0 };

  constructor(private readonly opts: SimulatorOptions) {}

  get all(): SimRun[] {
    return [...this.runs.values()];
  }

  get(runId: number): SimRun | undefined {
    return this.runs.get(runId);
  }

  artifact(artifactId: number): SimArtifact | undefined {
    for (const run of this.runs.values()) {
      const found = run.artifacts.find((a) => a.id === artifactId);
      if (found) return found;
    }
    return undefined;
  }

  /**
   * A new run (status queued, `requested` emitted). Inputs must already be validated. `model` (default the
   * simulator's) and `workflowId` pick another workflow of the repository, e.g. drift.yaml; `event` what
   * started it (default workflow_dispatch).
   */
  createRun(params: {
    inputs: Record<string, string>;
    ref: string;
    headSha: string;
    actor: SimActor;
    scenario: Scenario;
    now: number;
    model?: WorkflowModel;
    workflowId?: number;
    event?: SimRun['event'];
  }): SimRun {
    const model = params.model ?? this.opts.model;
    this.seq.run += 1;
    const vars = params.scenario.vars ?? {};
    const ctx = this.context(params.inputs, vars, { failed: false, cancelled: false });
    const run: SimRun = {
      id: 9_100_000_000 + this.seq.run,
      runNumber: 100 + this.seq.run,
      attempt: 1,
      workflowId: params.workflowId ?? 161_335_001,
      workflowName: model.name,
      workflowPath: model.path,
      event: params.event ?? 'workflow_dispatch',
      inputs: params.inputs,
      displayTitle: model.runName ? render(model.runName, ctx).replace(/\s+/g, ' ').trim() : model.name,
      ref: params.ref,
      headSha: params.headSha,
      actor: params.actor,
      status: 'queued',
      conclusion: null,
      createdAt: params.now,
      updatedAt: params.now,
      runStartedAt: params.now,
      jobs: model.jobs.map((def) => {
        this.seq.job += 1;
        return {
          id: 31_000_000_000 + this.seq.job,
          key: def.id,
          name: render(def.name, ctx),
          def,
          status: 'pending' as const,
          conclusion: null,
          steps: [],
        };
      }),
      artifacts: [],
      scenario: params.scenario,
      vars,
      cancelled: false,
      checkSuiteId: 40_000_000_000 + this.seq.run,
    };
    if (params.scenario.cancelAfterMs !== undefined)
      run.cancelAt = params.now + params.scenario.cancelAfterMs;
    this.runs.set(run.id, run);
    this.emit({ kind: 'workflow_run', action: 'requested', run });
    return run;
  }

  /** Cancels a run (POST …/cancel); false when it has already completed (GitHub answers 409). */
  cancel(runId: number, now: number): boolean {
    const run = this.runs.get(runId);
    if (!run || run.status === 'completed') return false;
    if (!run.cancelled) this.doCancel(run, now);
    return true;
  }

  /**
   * Releases the jobs waiting at `environment` (the hook for deployment approvals). `notBefore` (virtual
   * ms): the environment's wait timer, which an approval does not shorten.
   */
  approve(runId: number, environment: string, now: number, notBefore = now): number {
    const run = this.runs.get(runId);
    let released = 0;
    for (const job of run?.jobs ?? []) {
      if (job.status === 'waiting' && job.def.environment === environment) {
        job.status = 'queued';
        job.startAt = Math.max(now, notBefore) + (run?.scenario.queueDelayMs ?? 10);
        released += 1;
      }
    }
    if (run && released > 0 && run.status === 'waiting') run.status = 'in_progress';
    return released;
  }

  // ── approvals (added with the approvals feature) ──
  /**
   * Rejects the deployment of the jobs waiting at `environment`: each fails without running a step (as on
   * GitHub: "The deployment was rejected or didn't satisfy other protection rules"); the run goes on with
   * whatever still runs after a failure, then concludes `failure`. Returns how many jobs were rejected.
   */
  reject(runId: number, environment: string, now: number): number {
    const run = this.runs.get(runId);
    let rejected = 0;
    for (const job of run?.jobs ?? []) {
      if (job.status === 'waiting' && job.def.environment === environment) {
        job.status = 'completed';
        job.conclusion = 'failure';
        job.startedAt = now;
        job.completedAt = now;
        job.steps = [];
        rejected += 1;
        this.emit({ kind: 'workflow_job', action: 'completed', run: run as SimRun, job });
      }
    }
    if (run && rejected > 0 && run.status === 'waiting') run.status = 'in_progress';
    return rejected;
  }

  /** When the next transition is due (virtual ms), or undefined when nothing is scheduled. */
  nextDue(): number | undefined {
    let min: number | undefined;
    for (const run of this.runs.values()) {
      const due = this.due(run);
      if (due && (min === undefined || due.at < min)) min = due.at;
    }
    return min;
  }

  /** Applies every transition due at or before `now`, in time order. */
  processUntil(now: number): void {
    for (let guard = 0; guard < 100_000; guard += 1) {
      let next: { run: SimRun; at: number; apply: () => void } | undefined;
      for (const run of this.runs.values()) {
        const due = this.due(run);
        if (due && due.at <= now && (!next || due.at < next.at)) next = { run, ...due };
      }
      if (!next) return;
      next.apply();
      next.run.updatedAt = Math.max(next.run.updatedAt, next.at);
    }
    throw new Error('simulator: too many transitions (a cycle?)');
  }

  // ---- the state machine --------------------------------------------------------------------------

  private due(run: SimRun): { at: number; apply: () => void } | undefined {
    if (run.status === 'completed') return undefined;
    const candidates: Array<{ at: number; apply: () => void }> = [];
    if (run.cancelAt !== undefined && !run.cancelled) {
      const at = run.cancelAt;
      candidates.push({ at, apply: () => this.doCancel(run, at) });
    }
    const byKey = new Map(run.jobs.map((j) => [j.key, j]));
    for (const job of run.jobs) {
      if (job.status === 'pending') {
        const needs = job.def.needs.map((k) => byKey.get(k));
        if (needs.every((n) => n?.status === 'completed')) {
          const at = Math.max(run.createdAt, ...needs.map((n) => n?.completedAt ?? 0));
          candidates.push({ at, apply: () => this.evaluate(run, job, at) });
        }
      } else if (job.status === 'queued' && job.startAt !== undefined) {
        const at = job.startAt;
        candidates.push({ at, apply: () => this.start(run, job, at) });
      } else if (job.status === 'in_progress' && job.endAt !== undefined) {
        const at = job.endAt;
        candidates.push({ at, apply: () => this.complete(run, job, at) });
      }
    }
    if (candidates.length === 0 && run.jobs.every((j) => j.status === 'completed')) {
      const at = Math.max(run.createdAt, ...run.jobs.map((j) => j.completedAt ?? 0));
      candidates.push({ at, apply: () => this.finish(run, at) });
    }
    // Earliest first; at equal times, the order above (cancel, then jobs in workflow order) holds.
    return candidates.reduce<{ at: number; apply: () => void } | undefined>(
      (a, b) => (!a || b.at < a.at ? b : a),
      undefined,
    );
  }

  private evaluate(run: SimRun, job: SimJob, at: number): void {
    const jobs = new Map(run.jobs.map((j) => [j.key, { needs: j.def.needs, conclusion: j.conclusion }]));
    const needs = Object.fromEntries(
      job.def.needs.map((k) => [k, { result: jobs.get(k)?.conclusion ?? 'skipped' }]),
    );
    const status = jobLevelStatus(job.def.needs, jobs, run.cancelled);
    const ctx = { ...this.context(run.inputs, run.vars, status), needs };
    job.createdAt = at;
    if (!condition(job.def.if, ctx)) {
      job.status = 'completed';
      job.conclusion = 'skipped';
      job.startedAt = at;
      job.completedAt = at;
      this.emit({ kind: 'workflow_job', action: 'completed', run, job });
      return;
    }
    job.status = 'queued';
    this.emit({ kind: 'workflow_job', action: 'queued', run, job });
    const protectedEnv =
      job.def.environment !== undefined &&
      (run.scenario.waitAtEnvironments?.includes(job.def.environment) === true ||
        this.opts.isProtected?.(job.def.environment) === true);
    if (job.def.environment && protectedEnv) {
      job.status = 'waiting';
      run.status = 'waiting';
      // GitHub has been seen to deliver `waiting` twice for one wait (community discussion #63097).
      this.emit({ kind: 'workflow_job', action: 'waiting', run, job });
      this.emit({ kind: 'workflow_job', action: 'waiting', run, job });
      return;
    }
    job.startAt = at + (run.scenario.queueDelayMs ?? 10);
  }

  private start(run: SimRun, job: SimJob, at: number): void {
    job.status = 'in_progress';
    job.startedAt = at;
    job.startAt = undefined;
    this.seq.runner += 1;
    job.runnerId = this.seq.runner;
    const script = run.scenario.jobs?.[job.key] ?? {};
    const duration = script.durationMs ?? run.scenario.jobDurationMs ?? 1000;
    const { steps, failed, uploads } = this.planSteps(run, job, script, at, duration);
    job.steps = steps;
    job.endAt = at + duration;
    job.conclusion = failed ? 'failure' : 'success';
    for (const upload of uploads) this.upload(run, job, upload, at);
    if (run.status === 'queued') {
      run.status = 'in_progress';
      run.runStartedAt = at;
      this.emit({ kind: 'workflow_run', action: 'in_progress', run });
    }
    this.emit({ kind: 'workflow_job', action: 'in_progress', run, job });
  }

  private complete(run: SimRun, job: SimJob, at: number): void {
    job.status = 'completed';
    job.completedAt = at;
    job.endAt = undefined;
    this.emit({ kind: 'workflow_job', action: 'completed', run, job });
  }

  private finish(run: SimRun, at: number): void {
    run.status = 'completed';
    run.conclusion = run.cancelled
      ? 'cancelled'
      : run.jobs.some((j) => j.conclusion === 'failure')
        ? 'failure'
        : 'success';
    run.updatedAt = at;
    this.emit({ kind: 'workflow_run', action: 'completed', run });
  }

  private doCancel(run: SimRun, at: number): void {
    run.cancelled = true;
    run.cancelAt = undefined;
    for (const job of run.jobs) {
      if (job.status === 'pending' || job.status === 'completed') continue;
      const wasRunning = job.status === 'in_progress';
      job.status = 'completed';
      job.conclusion = 'cancelled';
      job.startedAt ??= at;
      job.completedAt = at;
      job.startAt = undefined;
      job.endAt = undefined;
      if (wasRunning) {
        job.steps = job.steps.map((s) =>
          s.end <= at
            ? s
            : s.start <= at
              ? { ...s, end: at, conclusion: 'cancelled' }
              : { ...s, start: at, end: at, conclusion: 'skipped' },
        );
        // Uploads that had not happened yet never will.
        run.artifacts = run.artifacts.filter((a) => a.jobKey !== job.key || a.createdAt <= at);
      }
      this.emit({ kind: 'workflow_job', action: 'completed', run, job });
    }
    if (run.status === 'waiting') run.status = 'in_progress';
  }

  /** Steps of a job as they will play out: `Set up job`, the workflow's steps, `Complete job`. */
  private planSteps(
    run: SimRun,
    job: SimJob,
    script: JobScript,
    at: number,
    duration: number,
  ): { steps: SimStep[]; failed: boolean; uploads: PlannedUpload[] } {
    const ranSteps: NonNullable<ExpressionContext['steps']> = {};
    const outcomes: Array<{
      name: string;
      ran: boolean;
      conclusion: StepConclusion;
      upload?: { name: string; step: WorkflowStep };
    }> = [{ name: 'Set up job', ran: true, conclusion: 'success' }];
    let failed = false;
    for (const step of job.def.steps) {
      const ctx = { ...this.context(run.inputs, run.vars, { failed, cancelled: false }), steps: ranSteps };
      const name = render(step.name, ctx);
      if (!condition(step.if, ctx)) {
        outcomes.push({ name, ran: false, conclusion: 'skipped' });
        if (step.id) ranSteps[step.id] = { outcome: 'skipped', conclusion: 'skipped', outputs: {} };
        continue;
      }
      const is = (ref: string | undefined): boolean => ref !== undefined && (ref === step.id || ref === name);
      const outcome: StepConclusion =
        is(script.failStep) || (script.softFailSteps ?? []).some((s) => is(s)) ? 'failure' : 'success';
      const conclusion: StepConclusion = outcome === 'failure' && step.continueOnError ? 'success' : outcome;
      if (conclusion === 'failure') failed = true;
      if (step.id) {
        ranSteps[step.id] = { outcome, conclusion, outputs: script.outputs?.[step.id] ?? { code: '0' } };
      }
      const isUpload = step.uses?.split('@')[0] === 'actions/upload-artifact' && conclusion === 'success';
      outcomes.push({
        name,
        ran: true,
        conclusion,
        ...(isUpload ? { upload: { name: render(String(step.with.name ?? ''), ctx), step } } : {}),
      });
    }
    outcomes.push({ name: 'Complete job', ran: true, conclusion: failed ? 'failure' : 'success' });
    const slice = duration / outcomes.filter((o) => o.ran).length;
    let cursor = at;
    const uploads: PlannedUpload[] = [];
    const steps = outcomes.map((o, i): SimStep => {
      const start = cursor;
      if (o.ran) cursor += slice;
      const end = Math.round(cursor);
      if (o.upload) uploads.push({ ...o.upload, at: end });
      return { number: i + 1, name: o.name, start: Math.round(start), end, conclusion: o.conclusion };
    });
    return { steps, failed, uploads };
  }

  private upload(run: SimRun, job: SimJob, upload: PlannedUpload, jobStartedAt: number): void {
    const { name, at } = upload;
    const script: ArtifactScript | undefined = run.scenario.artifacts?.[name];
    const ref: RunRef = { id: run.id, attempt: run.attempt, job: job.key, url: this.opts.htmlUrlFor(run.id) };
    const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const executed = script === undefined && this.executes(job);
    const zip = executed
      ? this.executeForUpload(run, job, upload, jobStartedAt)
      : buildArtifactZip(
          {
            name,
            jobKey: job.key,
            inputs: run.inputs,
            run: ref,
            startedAt: iso(jobStartedAt),
            uploadedAt: iso(at),
          },
          script,
        );
    if (!zip) return;
    // `overwrite: true` (and a re-upload of one name) replaces the earlier artifact.
    run.artifacts = run.artifacts.filter((a) => a.name !== name);
    this.seq.artifact += 1;
    run.artifacts.push({
      id: 4_500_000_000 + this.seq.artifact,
      name,
      runId: run.id,
      jobKey: job.key,
      createdAt: at,
      expiresAt: at + (this.opts.retentionMs ?? 30 * DAY),
      expired: script !== undefined && 'expired' in script,
      zip,
    });
  }

  private executes(job: SimJob): boolean {
    return job.def.steps.some((s) => s.id !== undefined && EXECUTED_STEPS.has(s.id));
  }

  /**
   * Plays the job's download-artifact and executed `run:` steps in a scratch workspace (at the job's start:
   * every artifact the run had by then), and zips the file the upload step names, as upload-artifact does
   * for a single file. A failing script is a broken workflow or stand-in: it throws with the script's
   * stderr.
   */
  private executeForUpload(
    run: SimRun,
    job: SimJob,
    upload: PlannedUpload,
    jobStartedAt: number,
  ): Uint8Array | undefined {
    const workspace = mkdtempSync(path.join(tmpdir(), 'standin-job-'));
    const temp = path.join(workspace, '.runner-temp');
    mkdirSync(temp);
    try {
      for (const step of job.def.steps) {
        if (step.uses?.split('@')[0] === 'actions/download-artifact') {
          this.materialize(run, step, workspace, jobStartedAt);
        } else if (step.run !== undefined && step.id !== undefined && EXECUTED_STEPS.has(step.id)) {
          const script = path.join(temp, `${step.id}.sh`);
          writeFileSync(script, step.run);
          try {
            execFileSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
              cwd: workspace,
              env: {
                PATH: process.env.PATH ?? '/usr/bin:/bin',
                HOME: temp,
                CI: 'true',
                GITHUB_ACTIONS: 'true',
                GITHUB_WORKSPACE: workspace,
                RUNNER_TEMP: temp,
                GITHUB_RUN_ID: String(run.id),
                GITHUB_RUN_ATTEMPT: String(run.attempt),
                GITHUB_JOB: job.key,
              },
              stdio: ['ignore', 'pipe', 'pipe'],
              timeout: 30_000,
            });
          } catch (error) {
            const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
            throw new Error(`stand-in: step "${step.name}" of job ${job.key} failed: ${stderr.trim()}`, {
              cause: error,
            });
          }
        }
      }
      const file = path.join(workspace, String(upload.step.with.path ?? ''));
      if (!existsSync(file)) return undefined;
      return zipSync({ [path.basename(file)]: new Uint8Array(readFileSync(file)) });
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  }

  /**
   * download-artifact: by `name` (into `path` itself) or by `pattern` (each into `path/<name>/`, or all
   * into `path` with merge-multiple). Expired or unreadable artifacts are left out (the workflow's download
   * steps continue on error).
   */
  private materialize(run: SimRun, step: WorkflowStep, workspace: string, at: number): void {
    const target = path.join(workspace, String(step.with.path ?? '.'));
    const name = step.with.name === undefined ? undefined : String(step.with.name);
    const pattern = step.with.pattern === undefined ? undefined : globToRegExp(String(step.with.pattern));
    const merge = String(step.with['merge-multiple'] ?? 'false') === 'true';
    for (const artifact of run.artifacts) {
      if (artifact.createdAt > at || artifact.expired) continue;
      if (name !== undefined ? artifact.name !== name : pattern ? !pattern.test(artifact.name) : false)
        continue;
      let files: Record<string, Uint8Array>;
      try {
        files = unzipSync(artifact.zip);
      } catch {
        continue;
      }
      const dir = name !== undefined || merge ? target : path.join(target, artifact.name);
      for (const [file, bytes] of Object.entries(files)) {
        if (file.endsWith('/')) continue;
        const out = path.join(dir, file);
        if (!out.startsWith(dir + path.sep)) continue; // a zip entry may not climb out of the workspace
        mkdirSync(path.dirname(out), { recursive: true });
        writeFileSync(out, bytes);
      }
    }
  }

  private context(
    inputs: Record<string, string>,
    vars: Record<string, string>,
    status: ExpressionContext['status'],
  ): ExpressionContext {
    return { inputs, vars, status, env: {}, github: {} };
  }

  private emit(event: SimEvent): void {
    this.opts.onEvent(event);
  }
}

interface PlannedUpload {
  /** Artifact name (rendered). */
  name: string;
  step: WorkflowStep;
  /** Virtual ms the upload step ends. */
  at: number;
}

/**
 * A download-artifact `pattern` (minimatch on the artifact name) with `*` and `?` only; braces, classes and
 * negation are refused rather than guessed.
 */
function globToRegExp(glob: string): RegExp {
  if (/[{}[\]!]/.test(glob))
    throw new Error(
      `stand-in: download-artifact pattern "${glob}" uses glob syntax the stand-in does not model`,
    );
  const body = glob
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}
