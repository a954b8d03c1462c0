// Checks that hold .github/workflows/terraform.yaml (and drift.yaml: checkDriftWorkflow and the generic
// checks of permissions, pins, runtimes, scripts and variable scopes) to their promises. Each check returns the list of
// violations (empty = kept), so a test can also feed it a mutated workflow and see it object.
//
// Some checks simulate a run: for given inputs and repository variables, which jobs run and which artifact
// uploads happen, assuming every step succeeds. Job and step `if:`s are evaluated by the GitHub stand-in's
// evaluator (src/sandbox/github-workflow.ts: the part of GitHub's expression language the workflow uses);
// anything else is an error, never a silent "true".
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  condition as standInCondition,
  evaluate as evaluateExpression,
  render,
  runsDespiteFailure as standInRunsDespiteFailure,
  type ExpressionContext,
  type Value,
} from '../../src/sandbox/github-workflow.js';

export type { Value };

export interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string | boolean;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  'continue-on-error'?: boolean | string;
}

export interface Job {
  name?: string;
  needs?: string | string[];
  if?: string | boolean;
  environment?: string | { name: string; url?: string };
  permissions?: string | Record<string, string>;
  env?: Record<string, unknown>;
  steps?: Step[];
  uses?: string;
  concurrency?: unknown;
  'timeout-minutes'?: number;
}

export interface Workflow {
  name?: string;
  'run-name'?: string;
  on?: unknown;
  permissions?: string | Record<string, string>;
  concurrency?: { group?: string; 'cancel-in-progress'?: boolean | string } | string;
  env?: Record<string, unknown>;
  jobs: Record<string, Job>;
}

export const parseWorkflow = (text: string): Workflow => parse(text) as Workflow;

export function loadWorkflow(file: string): { raw: string; wf: Workflow } {
  const raw = readFileSync(file, 'utf8');
  return { raw, wf: parseWorkflow(raw) };
}

// ---------------------------------------------------------------------------------------------------------
// Expression evaluation
// ---------------------------------------------------------------------------------------------------------

export interface EvalContext {
  inputs: Record<string, string>;
  vars: Record<string, string>;
  env?: Record<string, string>;
  /** Whether every job in `needs` ran and succeeded (what success() means for a job). */
  needsSucceeded?: boolean;
}

/**
 * A run as these checks assume it: every step ran and succeeded (steps.<id>.outcome is success, every
 * output '0'), secrets and runner paths are placeholders, and the trigger is workflow_dispatch.
 */
const placeholder = <T>(value: (key: string) => T): Record<string, T> =>
  new Proxy({} as Record<string, T>, { get: (_, key) => value(String(key)) });
const SIMULATED_STEPS = placeholder(() => ({
  outcome: 'success',
  conclusion: 'success',
  outputs: placeholder(() => '0'),
}));
const SIMULATED_GITHUB = placeholder((key) => (key === 'event_name' ? 'workflow_dispatch' : `github.${key}`));
const SIMULATED_SECRETS = placeholder(() => 'secret');
const SIMULATED_RUNNER = placeholder((key) => `runner.${key}`);

/** The GitHub stand-in's expression context (src/sandbox/github-workflow.ts) for a check's context. */
const standInContext = (ctx: EvalContext): ExpressionContext => ({
  inputs: ctx.inputs,
  vars: ctx.vars,
  env: ctx.env ?? {},
  github: SIMULATED_GITHUB,
  steps: SIMULATED_STEPS,
  secrets: SIMULATED_SECRETS,
  runner: SIMULATED_RUNNER,
  // A need that did not run (skipped) makes success() false; nothing here ever fails.
  status: { failed: false, cancelled: false, succeeded: ctx.needsSucceeded ?? true },
});

/** Evaluates one GitHub expression (without the `${{ }}`), as the GitHub stand-in does. */
export const evaluate = (expression: string, ctx: EvalContext): Value =>
  evaluateExpression(expression, standInContext(ctx));

/** Whether an `if:` holds (an absent `if` holds when what the job needs succeeded). */
export function condition(expr: string | boolean | undefined, ctx: EvalContext): boolean {
  if (typeof expr === 'boolean') return expr;
  return standInCondition(expr, standInContext(ctx));
}

/** `always()`, `failure()` or `cancelled()`: the job may run although something it needs did not succeed. */
export const runsDespiteFailure = (expr: string | boolean | undefined): boolean =>
  typeof expr === 'string' && standInRunsDespiteFailure(expr);

/** Replaces every `${{ expr }}` in a string with its value. */
export const interpolate = (text: string, ctx: EvalContext): string => render(text, standInContext(ctx));

// ---------------------------------------------------------------------------------------------------------
// Job helpers and run simulation
// ---------------------------------------------------------------------------------------------------------

export const needsOf = (job: Job): string[] =>
  job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];

export function needsClosure(wf: Workflow, jobId: string): Set<string> {
  const seen = new Set<string>();
  const visit = (id: string): void => {
    for (const n of needsOf(wf.jobs[id] ?? {})) {
      if (!seen.has(n)) {
        seen.add(n);
        visit(n);
      }
    }
  };
  visit(jobId);
  return seen;
}

export const environmentOf = (job: Job): string | undefined =>
  typeof job.environment === 'string' ? job.environment : job.environment?.name;
export const stepsOf = (job: Job): Step[] => job.steps ?? [];
export const actionOf = (step: Step): string | undefined => step.uses?.split('@')[0];

const OIDC_ACTIONS = new Set([
  'aws-actions/configure-aws-credentials',
  'google-github-actions/auth',
  'azure/login',
]);
export const usesOidc = (job: Job): boolean => stepsOf(job).some((s) => OIDC_ACTIONS.has(actionOf(s) ?? ''));

export function envFor(wf: Workflow, job: Job, ctx: EvalContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const scope of [wf.env ?? {}, job.env ?? {}]) {
    for (const [k, v] of Object.entries(scope)) env[k] = interpolate(String(v), { ...ctx, env });
  }
  return env;
}

/** Terraform directories a job applies (`terraform ... apply` in a run step). */
export function appliedDirs(wf: Workflow, job: Job, ctx: EvalContext): string[] {
  const env = envFor(wf, job, ctx);
  return stepsOf(job)
    .filter((s) => typeof s.run === 'string' && /\bterraform\b[^\n]*\sapply\b/.test(s.run))
    .map((s) => {
      const chdir = /-chdir="?([^"\s]+)"?/.exec(s.run!)?.[1] ?? '';
      return chdir.replace(/\$\{?(\w+)\}?/g, (_, v: string) => env[v] ?? '');
    });
}

export interface SimulatedRun {
  /** Jobs that run, in an order where every job comes after what it needs. */
  jobs: string[];
  uploads: { job: string; name: string; path: string; overwrite: boolean }[];
}

export function simulate(
  wf: Workflow,
  inputs: Record<string, string>,
  vars: Record<string, string>,
): SimulatedRun {
  const state = new Map<string, boolean>(); // job -> ran
  const order: string[] = [];
  const ids = Object.keys(wf.jobs);
  while (state.size < ids.length) {
    const ready = ids.filter((id) => !state.has(id) && needsOf(wf.jobs[id]!).every((n) => state.has(n)));
    if (ready.length === 0) throw new Error('needs form a cycle or name a missing job');
    for (const id of ready) {
      const job = wf.jobs[id]!;
      const needsSucceeded = needsOf(job).every((n) => state.get(n) === true);
      const runs = condition(job.if, { inputs, vars, needsSucceeded });
      state.set(id, runs);
      if (runs) order.push(id);
    }
  }
  const uploads: SimulatedRun['uploads'] = [];
  for (const id of order) {
    const job = wf.jobs[id]!;
    const ctx: EvalContext = { inputs, vars, needsSucceeded: true };
    const env = envFor(wf, job, ctx);
    for (const step of stepsOf(job)) {
      if (actionOf(step) !== 'actions/upload-artifact') continue;
      if (!condition(step.if, { ...ctx, env })) continue;
      uploads.push({
        job: id,
        name: interpolate(String(step.with?.name ?? ''), { ...ctx, env }),
        path: interpolate(String(step.with?.path ?? ''), { ...ctx, env }),
        overwrite: step.with?.overwrite === true,
      });
    }
  }
  return { jobs: order, uploads };
}

/** Every combination of dispatch inputs, plus the repository variables that switch on GCP and Azure. */
export const INPUT_COMBINATIONS: Record<string, string>[] = ['dev', 'prod'].flatMap((environment) =>
  ['no', 'yes'].map((deploy_prod) => ({
    environment,
    deploy_prod,
    promotion: 'dev.01k3x.f5f87aa',
    freight_sha: '',
  })),
);
export const VAR_COMBINATIONS: Record<string, string>[] = [
  {},
  { GCP_ENABLED: 'true', AZURE_ENABLED: 'true' },
];

// ---------------------------------------------------------------------------------------------------------
// The promises
// ---------------------------------------------------------------------------------------------------------

/** Nothing starts a run but a workflow_dispatch, with the four inputs Kargo sends. */
export function checkDispatchOnly(wf: Workflow): string[] {
  const v: string[] = [];
  const on = wf.on;
  if (typeof on !== 'object' || on === null || Array.isArray(on))
    return ['`on` must be a mapping with workflow_dispatch only'];
  const triggers = Object.keys(on);
  if (triggers.length !== 1 || triggers[0] !== 'workflow_dispatch')
    v.push(`triggers must be only workflow_dispatch, found: ${triggers.join(', ')}`);
  const inputs =
    (on as Record<string, { inputs?: Record<string, Record<string, unknown>> } | null>).workflow_dispatch
      ?.inputs ?? {};
  const expectInput = (name: string, want: Record<string, unknown>): void => {
    const got = inputs[name];
    if (!got) return void v.push(`input ${name} is missing`);
    for (const [k, w] of Object.entries(want)) {
      if (JSON.stringify(got[k]) !== JSON.stringify(w))
        v.push(`input ${name}.${k} must be ${JSON.stringify(w)}, is ${JSON.stringify(got[k])}`);
    }
  };
  expectInput('environment', { type: 'choice', options: ['dev', 'prod'] });
  expectInput('deploy_prod', { type: 'choice', options: ['no', 'yes'] });
  expectInput('promotion', { type: 'string', required: false });
  expectInput('freight_sha', { type: 'string', required: false });
  const extra = Object.keys(inputs).filter(
    (k) => !['environment', 'deploy_prod', 'promotion', 'freight_sha'].includes(k),
  );
  if (extra.length > 0) v.push(`unexpected inputs: ${extra.join(', ')}`);
  const runName = String(wf['run-name'] ?? '');
  for (const input of ['environment', 'promotion']) {
    if (!runName.includes(`inputs.${input}`)) v.push(`run-name must include inputs.${input}`);
  }
  return v;
}

const isTrivy = (s: Step): boolean => actionOf(s) === 'aquasecurity/trivy-action';
/** A script line that ends the step with a failure code (`exit "$failed"`, `exit 1`), not `--exit-code`. */
const FAILS_THE_JOB = /(?<![-\w])exit\s+("?\$\w+"?|[1-9])/;

/**
 * The job that applies terraform/aws/prod: runs only when deploy_prod == 'yes' (and environment prod), only
 * in GitHub Environment prod, and only after a hard Trivy gate and the OPA gates on prod (transitively
 * through `needs`, with no always()/failure() on the way that would let it run after a failed gate).
 */
export function checkProdApplyGuarded(wf: Workflow): string[] {
  const v: string[] = [];
  const prodCtx: EvalContext = { inputs: { environment: 'prod', deploy_prod: 'yes' }, vars: {} };
  const appliers = Object.entries(wf.jobs).filter(([, job]) =>
    appliedDirs(wf, job, prodCtx).includes('terraform/aws/prod'),
  );
  if (appliers.length === 0) return ['no job applies terraform/aws/prod'];
  for (const [id, job] of appliers) {
    if (environmentOf(job) !== 'prod')
      v.push(`${id} must run in GitHub Environment prod (is ${String(environmentOf(job))})`);
    for (const combo of INPUT_COMBINATIONS) {
      for (const vars of VAR_COMBINATIONS) {
        const runs = simulate(wf, combo, vars).jobs.includes(id);
        const allowed = combo.environment === 'prod' && combo.deploy_prod === 'yes';
        if (runs && !allowed)
          v.push(`${id} runs with environment=${combo.environment} deploy_prod=${combo.deploy_prod}`);
      }
    }
    const chain = [id, ...needsClosure(wf, id)];
    for (const j of chain) {
      if (runsDespiteFailure(wf.jobs[j]?.if))
        v.push(`${j} (on the way to ${id}) can run after a failed dependency: ${String(wf.jobs[j]?.if)}`);
    }
    const before = [...needsClosure(wf, id)];
    const env = (j: string): Record<string, string> => envFor(wf, wf.jobs[j]!, prodCtx);
    const hardTrivy = before.some((j) =>
      stepsOf(wf.jobs[j]!).some((s, i, all) => {
        if (!isTrivy(s) || !condition(s.if, { ...prodCtx, env: env(j) })) return false;
        const w = s.with ?? {};
        const ref = interpolate(String(w['scan-ref'] ?? ''), { ...prodCtx, env: env(j) });
        const severities = String(w.severity ?? '').split(',');
        const blocks =
          s['continue-on-error'] !== true ||
          all
            .slice(i + 1)
            .some(
              (later) =>
                Object.values(later.env ?? {}).some((e) => String(e).includes(`steps.${s.id}.outcome`)) &&
                FAILS_THE_JOB.test(later.run ?? ''),
            );
        return (
          ref === 'terraform/aws/prod' &&
          String(w['exit-code']) === '1' &&
          severities.includes('HIGH') &&
          severities.includes('CRITICAL') &&
          blocks
        );
      }),
    );
    if (!hardTrivy)
      v.push(
        `${id} does not need a job with a hard (exit-code 1, blocking) Trivy HIGH/CRITICAL scan of terraform/aws/prod`,
      );
    const runs = (j: string, re: RegExp): boolean => stepsOf(wf.jobs[j]!).some((s) => re.test(s.run ?? ''));
    if (!before.some((j) => runs(j, /\bopa test\b/) && runs(j, /\bopa check --strict\b/))) {
      v.push(`${id} does not need the OPA job (opa check --strict, opa test)`);
    }
    const conftestOnProd = before.some(
      (j) =>
        env(j).TF_DIR === 'terraform/aws/prod' &&
        runs(j, /\bconftest test\b[\s\S]*"\$TF_DIR"/) &&
        runs(j, /\bconftest test\b[\s\S]*tfplan\.json/),
    );
    if (!conftestOnProd)
      v.push(`${id} does not need a job running Conftest on terraform/aws/prod's HCL and plan JSON`);
    if (!stepsOf(job).some((s) => /\bconftest test\b[\s\S]*tfplan\.json/.test(s.run ?? ''))) {
      v.push(`${id} does not run Conftest on its own plan JSON before apply`);
    }
  }
  return v;
}

/** A run step that reads this run from the Actions API (its creation time, for the apply deadlines). */
const READS_OWN_RUN =
  /\$\{?GITHUB_API_URL\}?\/repos\/\$\{?GITHUB_REPOSITORY\}?\/actions\/runs\/\$\{?GITHUB_RUN_ID\b/;
/** A run step that lists a workflow's runs of this repository (drift.yaml: is a deploy in progress?). */
const READS_WORKFLOW_RUNS =
  /\$\{?GITHUB_API_URL\}?\/repos\/\$\{?GITHUB_REPOSITORY\}?\/actions\/workflows\/[\w.-]+\/runs\b/;

/**
 * What a job may hold: contents: read if it checks out, id-token: write if it authenticates by OIDC,
 * actions: read if a step reads this run, or a workflow's runs, from the Actions API.
 */
export function allowedPermissions(job: Job): Record<string, string> {
  const allowed: Record<string, string> = {};
  if (stepsOf(job).some((s) => actionOf(s) === 'actions/checkout')) allowed.contents = 'read';
  if (usesOidc(job)) allowed['id-token'] = 'write';
  if (stepsOf(job).some((s) => READS_OWN_RUN.test(s.run ?? '') || READS_WORKFLOW_RUNS.test(s.run ?? '')))
    allowed.actions = 'read';
  return allowed;
}

/**
 * Least privilege: the workflow grants nothing by default; each job declares exactly the permissions its
 * steps use. No job needs `actions` (artifacts of the same run move with the runner's own token), nor any
 * write other than id-token for OIDC.
 */
export function checkPermissions(wf: Workflow): string[] {
  const v: string[] = [];
  const top = wf.permissions;
  if (
    top === undefined ||
    typeof top === 'string' ||
    Object.entries(top).some(([k, p]) => !(k === 'contents' && p === 'read'))
  ) {
    v.push(`workflow-level permissions must be {} (or contents: read), are ${JSON.stringify(top)}`);
  }
  for (const [id, job] of Object.entries(wf.jobs)) {
    const perms = job.permissions;
    if (perms === undefined || typeof perms === 'string') {
      v.push(`${id}: permissions must be an explicit mapping, are ${JSON.stringify(perms)}`);
      continue;
    }
    const allowed = allowedPermissions(job);
    for (const [scope, level] of Object.entries(perms)) {
      if (allowed[scope] === undefined) v.push(`${id}: ${scope}: ${level} is not used by the job`);
      else if (allowed[scope] !== level) v.push(`${id}: ${scope} must be ${allowed[scope]}, is ${level}`);
    }
    for (const [scope, level] of Object.entries(allowed)) {
      if (perms[scope] === undefined) v.push(`${id}: needs ${scope}: ${level} for its steps`);
    }
  }
  return v;
}

const USES_LINE = /^\s*(?:-\s+)?uses:\s*(['"]?)([^\s'"#]+)\1\s*(?:#\s*(.*?))?\s*$/;

/** Every `uses:` line of the raw text: the action reference and its trailing comment. */
export function usesLines(raw: string): { line: number; ref: string; comment: string | undefined }[] {
  return raw.split('\n').flatMap((text, i) => {
    const m = USES_LINE.exec(text);
    return m ? [{ line: i + 1, ref: m[2]!, comment: m[3] }] : [];
  });
}

/**
 * Every action that is not local (`./`) is pinned by a full 40-hex commit SHA with its version in a
 * `# vX[.Y.Z]` comment on the same line, and one action is pinned to one SHA everywhere. `known` (action ->
 * [sha, version]) are the pins whose provenance the tests document; an action outside it is a violation.
 */
export function checkPinnedActions(
  raw: string,
  wf: Workflow,
  known: Record<string, [string, string]>,
): string[] {
  const v: string[] = [];
  const lines = usesLines(raw);
  const parsed = Object.values(wf.jobs).flatMap((job) => [
    ...(job.uses ? [job.uses] : []),
    ...stepsOf(job).flatMap((s) => (s.uses ? [s.uses] : [])),
  ]);
  if (JSON.stringify(lines.map((l) => l.ref).sort()) !== JSON.stringify([...parsed].sort())) {
    v.push('the uses: lines of the file and the parsed workflow disagree (a uses: not on its own line?)');
  }
  const pins = new Map<string, string>();
  for (const { line, ref, comment } of lines) {
    if (ref.startsWith('./')) continue;
    const m = /^([\w.-]+\/[\w.-]+)(\/[\w./-]+)?@([^@]+)$/.exec(ref);
    if (!m) {
      v.push(`line ${line}: cannot read action reference ${ref}`);
      continue;
    }
    const [, repo, , version] = m;
    if (!/^[0-9a-f]{40}$/.test(version!))
      v.push(`line ${line}: ${repo!} is not pinned by a full commit SHA (${version!})`);
    if (!comment || !/^v\d+(\.\d+){0,2}$/.test(comment))
      v.push(
        `line ${line}: ${repo!} needs a "# vX.Y.Z" version comment (has ${JSON.stringify(comment ?? '')})`,
      );
    const pin = `${version!} # ${comment ?? ''}`;
    if (pins.has(repo!) && pins.get(repo!) !== pin)
      v.push(`line ${line}: ${repo!} is pinned differently elsewhere (${pins.get(repo!)!})`);
    pins.set(repo!, pin);
    const k = known[repo!];
    if (!k) v.push(`line ${line}: ${repo!} is not in the table of reviewed pins`);
    else if (k[0] !== version || k[1] !== comment) v.push(`line ${line}: ${repo!} must be ${k[0]} # ${k[1]}`);
  }
  return v;
}

/** One run per environment at a time, never cancelling a running apply. */
export function checkConcurrency(wf: Workflow): string[] {
  const c = wf.concurrency;
  if (typeof c !== 'object' || c === undefined) return ['workflow-level concurrency is missing'];
  const v: string[] = [];
  const groups = ['dev', 'prod'].map((environment) =>
    interpolate(String(c.group ?? ''), { inputs: { environment }, vars: {} }),
  );
  if (groups[0] !== 'terraform-dev' || groups[1] !== 'terraform-prod')
    v.push(`concurrency group must be terraform-<environment>, gives ${groups.join(', ')}`);
  if (c['cancel-in-progress'] !== false) v.push('cancel-in-progress must be false');
  for (const [id, job] of Object.entries(wf.jobs))
    if (job.concurrency !== undefined) v.push(`${id} overrides the concurrency group`);
  return v;
}

const ARTIFACT_NAMES = [
  /^gate-(opa|conftest|fmt|validate|tflint|trivy|actionlint|kargo-schema|plan|apply)-(aws|gcp|azure|all)-(dev|prod|bootstrap|all)$/,
  /^plan-summary-(aws|gcp|azure)-(dev|prod)$/,
  /^terraform-outputs-(aws|gcp|azure)-(dev|prod)$/,
  /^toolchain$/,
  /^run-results$/,
];
const FILE_FOR: [RegExp, string][] = [
  [/^gate-/, '/gate-result.json'],
  [/^plan-summary-/, '/plan-summary.json'],
  [/^terraform-outputs-/, '/terraform-outputs.json'],
  [/^run-results$/, '/run-results.json'],
];

/**
 * Artifacts: every job except the Slack fallback uploads what it produced, with `if: always()` so a failed
 * gate still publishes its result; the step that writes the artifacts runs `if: always()` too; names follow
 * the schemas' naming; the plan JSON is never uploaded; and no two uploads of one run collide unless the
 * later one, in a job that needs the earlier, overwrites on purpose. The `results` job (run-results, the
 * bot's one download) runs always and after every job that uploads a result, or it would miss some.
 */
export function checkArtifacts(wf: Workflow): string[] {
  const v: string[] = [];
  const results = wf.jobs.results;
  if (!results) v.push('no results job: the bot would download every artifact on its own');
  else {
    if (typeof results.if !== 'string' || !/\balways\(\)/.test(results.if))
      v.push('results: must run if: always() (a failed gate is a result too)');
    const needs = new Set(Array.isArray(results.needs) ? results.needs : [results.needs]);
    for (const [id, job] of Object.entries(wf.jobs)) {
      if (id === 'results' || id === 'notify') continue;
      const uploadsResults = stepsOf(job).some(
        (s) =>
          actionOf(s) === 'actions/upload-artifact' &&
          /^(gate|plan-summary|terraform-outputs)-/.test(String(s.with?.name ?? '')),
      );
      if (uploadsResults && !needs.has(id))
        v.push(`results: does not need ${id}, whose results it would miss`);
    }
  }
  for (const [id, job] of Object.entries(wf.jobs)) {
    if (id === 'notify') continue;
    const steps = stepsOf(job);
    if (id === 'results') continue; // checked above; its upload is the bundle, not a gate's result
    const uploads = steps.filter((s) => actionOf(s) === 'actions/upload-artifact');
    if (uploads.length === 0) v.push(`${id} uploads no artifact`);
    for (const s of uploads) {
      if (typeof s.if !== 'string' || !/\balways\(\)/.test(s.if))
        v.push(`${id}: upload "${s.name ?? ''}" must run if: always()`);
      if (/tfplan/.test(String(s.with?.path ?? '')))
        v.push(`${id}: upload "${s.name ?? ''}" would publish a plan`);
    }
    for (const s of steps.filter((x) => /src\/cli\/artifact\.ts/.test(x.run ?? ''))) {
      if (typeof s.if !== 'string' || !/\balways\(\)/.test(s.if))
        v.push(`${id}: artifact step "${s.name ?? ''}" must run if: always()`);
    }
    if (steps.some((s) => /src\/cli\/artifact\.ts/.test(s.run ?? ''))) {
      const node = steps.findIndex((s) => actionOf(s) === 'actions/setup-node');
      const ci = steps.findIndex((s) => /^npm ci\b/.test(s.run ?? ''));
      const cli = steps.findIndex((s) => /src\/cli\/artifact\.ts/.test(s.run ?? ''));
      if (node < 0 || ci < node || cli < ci)
        v.push(`${id}: the artifact CLI needs actions/setup-node and npm ci before it`);
    }
  }
  for (const inputs of INPUT_COMBINATIONS) {
    for (const vars of VAR_COMBINATIONS) {
      const run = simulate(wf, inputs, vars);
      const seen = new Map<string, string>();
      for (const u of run.uploads) {
        const label = `${inputs.environment}/${inputs.deploy_prod}: ${u.job} uploads ${u.name}`;
        if (!ARTIFACT_NAMES.some((re) => re.test(u.name)))
          v.push(`${label}: name does not follow the artifact naming`);
        const file = FILE_FOR.find(([re]) => re.test(u.name))?.[1];
        if (file && !u.path.endsWith(`${u.name}${file}`))
          v.push(`${label}: path ${u.path} should end with ${u.name}${file}`);
        const first = seen.get(u.name);
        if (first !== undefined) {
          const ordered = first !== u.job && needsClosure(wf, u.job).has(first);
          if (!ordered || !u.overwrite) v.push(`${label}: also uploaded by ${first} (collision)`);
        }
        seen.set(u.name, u.job);
      }
    }
  }
  return v;
}

/** Run scripts take everything from env: no `${{ }}` in `run:` (script injection, secrets in the log). */
export function checkRunScripts(wf: Workflow): string[] {
  const v: string[] = [];
  for (const [id, job] of Object.entries(wf.jobs)) {
    for (const s of stepsOf(job)) {
      if (typeof s.run === 'string' && s.run.includes('${{'))
        v.push(`${id}: step "${s.name ?? ''}" interpolates an expression into its script`);
      for (const [k, e] of Object.entries(s.env ?? {})) {
        if (
          /secrets\./.test(String(e)) &&
          typeof s.run === 'string' &&
          new RegExp(`(echo|printf)[^\\n|]*\\$\\{?${k}\\b`).test(s.run)
        ) {
          v.push(`${id}: step "${s.name ?? ''}" prints the secret in ${k}`);
        }
      }
    }
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Runtimes, versions, strictness, deadlines and variable scopes
// ---------------------------------------------------------------------------------------------------------

/** The runtime an action's action.yml declares (`runs.using`), for the pins the tests review. */
export type ActionRuntime = 'node24' | 'node20' | 'node16' | 'node12' | 'composite' | 'docker';

/**
 * Every action the workflow uses runs on Node 24 (or is composite/docker, whose own steps are reviewed in
 * the table's notes): GitHub's runners removed Node 20 in September 2026. `runtimes` maps action -> the
 * runtime of the pinned version; an action missing from it is a violation. The artifact CLI's Node
 * (env NODE_VERSION, used by actions/setup-node) must be 24 or later too.
 */
export function checkNodeRuntimes(wf: Workflow, runtimes: Record<string, ActionRuntime>): string[] {
  const v: string[] = [];
  const used = new Set(
    Object.values(wf.jobs).flatMap((job) => stepsOf(job).flatMap((s) => (s.uses ? [actionOf(s)!] : []))),
  );
  for (const action of [...used].sort()) {
    const runtime = runtimes[action];
    if (!runtime) v.push(`${action}: runtime of the pinned version not recorded`);
    else if (/^node(1[0-9]|2[0-3])$/.test(runtime))
      v.push(`${action} runs on ${runtime}, which runners no longer have`);
  }
  const nodeVersion = Number(String(wf.env?.NODE_VERSION ?? '').split('.')[0]);
  if (!(nodeVersion >= 24))
    v.push(`env NODE_VERSION must be 24 or later (the artifact CLI), is ${String(wf.env?.NODE_VERSION)}`);
  for (const [id, job] of Object.entries(wf.jobs)) {
    for (const s of stepsOf(job).filter((x) => actionOf(x) === 'actions/setup-node')) {
      if (s.with?.['node-version'] !== '${{ env.NODE_VERSION }}')
        v.push(
          `${id}: actions/setup-node must use env.NODE_VERSION, uses ${String(s.with?.['node-version'])}`,
        );
    }
  }
  return v;
}

const FREIGHT_OVERLAY =
  /rm -rf terraform\s+mv \.freight\/terraform terraform|git restore --source="\$FREIGHT_REF"[^\n]*-- terraform/;
const USES_TERRAFORM_TREE = /\b(terraform|conftest|tflint|trivy)\b|TF_DIR|terraform\//;

/**
 * Version skew: every job runs the pipeline (workflow, policies, schemas, tools, the artifact CLI) from the
 * workflow's own commit and takes only terraform/ from the Freight's commit, before any step reads it.
 */
export function checkFreightOverlay(wf: Workflow): string[] {
  const v: string[] = [];
  for (const [id, job] of Object.entries(wf.jobs)) {
    const steps = stepsOf(job);
    const checkouts = steps.filter((s) => actionOf(s) === 'actions/checkout');
    if (checkouts.length === 0) continue;
    const root = checkouts.filter((s) => s.with?.path === undefined);
    if (root.length !== 1 || root[0]!.with?.ref !== '${{ github.sha }}')
      v.push(
        `${id}: the repository root must be checked out once, at the workflow's commit (ref: \${{ github.sha }})`,
      );
    for (const s of checkouts.filter((x) => x.with?.path !== undefined)) {
      if (
        s.with?.ref !== '${{ env.FREIGHT_REF }}' ||
        s.with?.path !== '.freight' ||
        s.with?.['sparse-checkout'] !== 'terraform'
      )
        v.push(`${id}: a second checkout may only bring the Freight's terraform/ into .freight`);
    }
    const overlay = steps.findIndex((s) => FREIGHT_OVERLAY.test(s.run ?? ''));
    if (overlay < 0) {
      v.push(`${id}: does not take terraform/ from the Freight's commit`);
      continue;
    }
    if (overlay > 0 && /\.freight/.test(steps[overlay]!.run ?? '')) {
      const freightCheckout = steps.findIndex((s) => s.with?.path === '.freight');
      if (freightCheckout < 0 || freightCheckout > overlay)
        v.push(`${id}: moves .freight/terraform before checking it out`);
    }
    const firstUse = steps.findIndex(
      (s, i) =>
        i !== overlay &&
        !/^Check out|^Use the Freight/.test(s.name ?? '') &&
        USES_TERRAFORM_TREE.test(`${s.run ?? ''} ${JSON.stringify(s.with ?? {})}`),
    );
    if (firstUse >= 0 && firstUse < overlay)
      v.push(
        `${id}: step "${steps[firstUse]!.name ?? ''}" reads terraform/ before the Freight's tree is in place`,
      );
  }
  return v;
}

/** The conftest invocations of a job's steps (one per command line, continuation lines joined). */
export function conftestCommands(job: Job): { step: string; command: string }[] {
  return stepsOf(job).flatMap((s) =>
    (s.run ?? '')
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .filter((line) => /\bconftest test\b/.test(line))
      .map((command) => ({ step: s.name ?? '', command })),
  );
}

/**
 * Strictness: on prod (terraform/aws/prod, its plans) Conftest fails on warnings; the policy job's loop over
 * every root does the same for terraform/aws/prod and terraform/bootstrap (which holds prod's IAM); the dev
 * apply job runs Conftest on its own plan JSON and applies only when it passed.
 */
export function checkPolicyStrictness(wf: Workflow): string[] {
  const v: string[] = [];
  const prodCtx: EvalContext = { inputs: { environment: 'prod', deploy_prod: 'yes' }, vars: {} };
  const devCtx: EvalContext = { inputs: { environment: 'dev', deploy_prod: 'no' }, vars: {} };
  const strictDirs = new Set<string>();
  for (const [id, job] of Object.entries(wf.jobs)) {
    const dir = envFor(wf, job, prodCtx).TF_DIR;
    if (dir !== 'terraform/aws/prod' && dir !== 'terraform/bootstrap') continue;
    for (const { step, command } of conftestCommands(job)) {
      strictDirs.add(dir);
      if (!/--fail-on-warn\b/.test(command))
        v.push(`${id}: "${step}" runs Conftest on ${dir} without --fail-on-warn`);
    }
  }
  if (!strictDirs.has('terraform/aws/prod'))
    v.push('no job runs Conftest on terraform/aws/prod (with TF_DIR set to it)');
  const policy = wf.jobs.policy;
  const loop = stepsOf(policy ?? {}).find(
    (s) => /find terraform/.test(s.run ?? '') && /conftest test/.test(s.run ?? ''),
  );
  if (!loop) v.push('policy: no Conftest loop over every Terraform root');
  else {
    if (!/terraform\/aws\/prod \| terraform\/bootstrap\) strict=\(--fail-on-warn\)/.test(loop.run ?? ''))
      v.push(
        'policy: the root loop does not run terraform/aws/prod and terraform/bootstrap with --fail-on-warn',
      );
    if (!/-name '\*\.tf\.json'/.test(loop.run ?? ''))
      v.push('policy: the root loop does not find roots written in JSON syntax (*.tf.json)');
  }
  for (const [id, job] of Object.entries(wf.jobs)) {
    if (!appliedDirs(wf, job, devCtx).includes('terraform/aws/dev')) continue;
    const steps = stepsOf(job);
    const planPolicy = steps.findIndex((s) => /\bconftest test\b[\s\S]*tfplan\.json/.test(s.run ?? ''));
    const apply = steps.findIndex((s) => /\bterraform\b[^\n]*\sapply\b/.test(s.run ?? ''));
    if (planPolicy < 0 || planPolicy > apply) v.push(`${id}: no Conftest on the dev plan JSON before apply`);
    else if (
      !new RegExp(`steps\\.${steps[planPolicy]!.id ?? '-'}\\.outputs\\.code == '0'`).test(
        String(steps[apply]!.if ?? ''),
      )
    )
      v.push(`${id}: the dev apply does not wait for Conftest on its plan to pass`);
  }
  return v;
}

/**
 * Apply deadlines: the policy job publishes the dispatch time (read from the Actions API), and every job
 * that applies starts with a step that refuses to go on past `<ENV>_APPLY_DEADLINE_MINUTES` after it.
 * Returns the violations; `deadlines` gives the minutes per applying job (for the Kargo timeouts).
 */
export function checkApplyDeadlines(wf: Workflow): {
  violations: string[];
  deadlines: Record<string, number>;
} {
  const v: string[] = [];
  const deadlines: Record<string, number> = {};
  const policy = wf.jobs.policy;
  const output = (policy as { outputs?: Record<string, string> } | undefined)?.outputs?.dispatched_at ?? '';
  const stepId = /steps\.([\w-]+)\.outputs\.dispatched_at/.exec(output)?.[1];
  const recorder = stepsOf(policy ?? {}).find((s) => s.id === stepId);
  if (!recorder || !READS_OWN_RUN.test(recorder.run ?? '') || !/created_at/.test(recorder.run ?? ''))
    v.push("policy: must output dispatched_at, the run's created_at from the Actions API");
  for (const environment of ['dev', 'prod']) {
    const ctx: EvalContext = {
      inputs: { environment, deploy_prod: environment === 'prod' ? 'yes' : 'no' },
      vars: {},
    };
    for (const [id, job] of Object.entries(wf.jobs)) {
      if (!appliedDirs(wf, job, ctx).includes(`terraform/aws/${environment}`)) continue;
      const steps = stepsOf(job);
      const guard = steps.findIndex(
        (s) =>
          /needs\.policy\.outputs\.dispatched_at/.test(JSON.stringify(s.env ?? {})) &&
          FAILS_THE_JOB.test(s.run ?? ''),
      );
      const firstAction = steps.findIndex((s) => s.uses !== undefined);
      if (guard < 0) {
        v.push(`${id}: no step refuses to apply after the deadline`);
        continue;
      }
      if (firstAction >= 0 && guard > firstAction)
        v.push(`${id}: the deadline check must come before any other step`);
      if (!needsOf(job).includes('policy')) v.push(`${id}: must need policy (for the dispatch time)`);
      const variable = /env\.(\w+_APPLY_DEADLINE_MINUTES)/.exec(JSON.stringify(steps[guard]!.env ?? {}))?.[1];
      const minutes = Number(variable ? wf.env?.[variable] : NaN);
      if (!(minutes > 0))
        v.push(`${id}: the deadline must come from a positive workflow env *_APPLY_DEADLINE_MINUTES`);
      else deadlines[id] = minutes;
    }
  }
  return { violations: v, deadlines };
}

/**
 * The longest chain of job timeouts (minutes) from `start` to the end of the run, through every job that
 * needs it (directly or not) and runs for these inputs: what the run can still take once `start` began.
 */
export function remainingMinutes(wf: Workflow, start: string, inputs: Record<string, string>): number {
  const running = new Set(simulate(wf, inputs, {}).jobs);
  const memo = new Map<string, number>();
  const longest = (id: string): number => {
    if (memo.has(id)) return memo.get(id)!;
    const after = Object.entries(wf.jobs)
      .filter(([other, job]) => running.has(other) && needsOf(job).includes(id))
      .map(([other]) => longest(other));
    const value = (wf.jobs[id]?.['timeout-minutes'] ?? 360) + Math.max(0, ...after);
    memo.set(id, value);
    return value;
  };
  return longest(start);
}

/** Where a variable or secret may be stored: repository level only, or also on Environment dev / prod. */
export type VariableScope = 'repository' | 'dev' | 'prod';

/**
 * Variables are readable where they are used: a job without an environment sees only repository-level
 * variables and secrets, a job in Environment dev / prod also that environment's. Every vars.X / secrets.X
 * the workflow reads must be in `scopes`, and an environment-scoped one may be read only in jobs of that
 * environment. (GitHub's own github.token is not a secret of the repository.)
 */
export function checkVariableScopes(wf: Workflow, scopes: Record<string, VariableScope>): string[] {
  const v: string[] = [];
  for (const [id, job] of Object.entries(wf.jobs)) {
    const environment = environmentOf(job);
    const text = JSON.stringify({ if: job.if, env: job.env, steps: job.steps });
    const used = new Set(
      [...text.matchAll(/\b(vars|secrets)\.([A-Z][A-Z0-9_]*)/g)].map((m) => `${m[1]}.${m[2]}`),
    );
    for (const name of [...used].sort()) {
      const scope = scopes[name];
      if (!scope) v.push(`${id}: ${name} has no documented scope`);
      else if (scope !== 'repository' && scope !== environment)
        v.push(
          `${id}: reads ${name}, which may be stored on Environment ${scope}, but the job runs ${environment ? `in Environment ${environment}` : 'without an environment'}`,
        );
    }
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// drift.yaml
// ---------------------------------------------------------------------------------------------------------

/** `drift-<cloud>-<environment>`, the artifact the bot reads (schemas/drift.schema.json). */
const DRIFT_ARTIFACT = /^drift-(aws|gcp|azure)-(dev|prod)$/;
/** Terraform subcommands that write: a drift check may run none of them. */
const TERRAFORM_WRITES =
  /\bterraform\b[^\n]*\s(apply|destroy|import|force-unlock|taint|untaint|state\s+(rm|mv|push|replace-provider))\b/;

/**
 * The drift workflow keeps its promises: started by a schedule (and by hand), nothing else; its own
 * concurrency group (never a terraform-<environment> group of the deploys), no cancelling; every job runs
 * `terraform plan -refresh-only -detailed-exitcode -lock=false` and nothing that writes; converts its plan
 * with the artifact CLI (if: always()) and deletes it; uploads exactly one `drift-<cloud>-<environment>`
 * artifact (drift.json, if: always()), never a plan; prod reads with the read-only plan role and no
 * environment; GCP and Azure only behind their ENABLED variables; and for each variable combination the
 * uploads are exactly `expected(vars)`.
 */
export function checkDriftWorkflow(
  wf: Workflow,
  expected: (vars: Record<string, string>) => string[],
): string[] {
  const v: string[] = [];
  const on = wf.on;
  if (typeof on !== 'object' || on === null || Array.isArray(on)) return ['`on` must be a mapping'];
  const triggers = Object.keys(on).sort();
  if (JSON.stringify(triggers) !== JSON.stringify(['schedule', 'workflow_dispatch']))
    v.push(`triggers must be schedule and workflow_dispatch, found: ${triggers.join(', ')}`);
  const schedule = (on as Record<string, unknown>).schedule;
  if (
    !Array.isArray(schedule) ||
    schedule.length === 0 ||
    !schedule.every((c) => typeof c?.cron === 'string')
  )
    v.push('schedule needs at least one cron entry');
  const c = wf.concurrency;
  if (typeof c !== 'object' || c === undefined) v.push('workflow-level concurrency is missing');
  else {
    if (!c.group || /^terraform-/.test(String(c.group)))
      v.push(`concurrency group must be its own, not a deploy group (is ${String(c.group)})`);
    if (c['cancel-in-progress'] !== false) v.push('cancel-in-progress must be false');
  }
  for (const [id, job] of Object.entries(wf.jobs)) {
    const steps = stepsOf(job);
    const runs = steps.map((s) => s.run ?? '');
    const plan = runs.find((r) => /\bterraform\b[^\n]*\splan\b/.test(r));
    if (!plan) v.push(`${id} runs no terraform plan`);
    else {
      for (const flag of ['-refresh-only', '-detailed-exitcode', '-lock=false'])
        if (!plan.includes(flag)) v.push(`${id}: terraform plan without ${flag}`);
    }
    if (runs.some((r) => TERRAFORM_WRITES.test(r))) v.push(`${id} runs a terraform command that writes`);
    const cli = steps.filter((s) => /src\/cli\/artifact\.ts drift\b/.test(s.run ?? ''));
    if (cli.length !== 1) v.push(`${id} must convert its plan with \`artifact.ts drift\` once`);
    for (const s of cli) {
      if (typeof s.if !== 'string' || !/\balways\(\)/.test(s.if))
        v.push(`${id}: artifact step "${s.name ?? ''}" must run if: always()`);
      if (!/rm -f[^\n]*tfplan\.json/.test(s.run ?? '')) v.push(`${id}: the plan JSON is not deleted`);
    }
    const uploads = steps.filter((s) => actionOf(s) === 'actions/upload-artifact');
    if (uploads.length !== 1) v.push(`${id} must upload exactly one artifact, uploads ${uploads.length}`);
    for (const s of uploads) {
      const name = String(s.with?.name ?? '');
      const path = String(s.with?.path ?? '');
      if (typeof s.if !== 'string' || !/\balways\(\)/.test(s.if))
        v.push(`${id}: upload "${s.name ?? ''}" must run if: always()`);
      if (/tfplan/.test(path)) v.push(`${id}: upload "${s.name ?? ''}" would publish a plan`);
      if (!DRIFT_ARTIFACT.test(name)) v.push(`${id}: upload name ${name} is not drift-<cloud>-<environment>`);
      else if (!path.endsWith(`${name}/drift.json`)) v.push(`${id}: ${name} must upload ${name}/drift.json`);
    }
    const text = JSON.stringify(job);
    if (/^drift-aws-prod$/.test(String(uploads[0]?.with?.name ?? ''))) {
      if (environmentOf(job) !== undefined) v.push(`${id}: prod is read without an environment`);
      if (!/AWS_ROLE_ARN_PROD_PLAN/.test(text) || /AWS_ROLE_ARN_PROD\b(?!_)/.test(text))
        v.push(`${id}: prod must use the read-only plan role (AWS_ROLE_ARN_PROD_PLAN) only`);
    }
    for (const [cloud, variable] of [
      ['gcp', 'GCP_ENABLED'],
      ['azure', 'AZURE_ENABLED'],
    ] as const) {
      if (
        String(uploads[0]?.with?.name ?? '').startsWith(`drift-${cloud}-`) &&
        !String(job.if ?? '').includes(`vars.${variable}`)
      )
        v.push(`${id}: ${cloud} runs only when vars.${variable} says so`);
    }
  }
  for (const vars of VAR_COMBINATIONS) {
    const got = simulate(wf, {}, vars)
      .uploads.map((u) => u.name)
      .sort();
    const want = [...expected(vars)].sort();
    if (JSON.stringify(got) !== JSON.stringify(want))
      v.push(
        `with vars ${JSON.stringify(vars)} the uploads are ${got.join(', ')}, expected ${want.join(', ')}`,
      );
  }
  return v;
}
