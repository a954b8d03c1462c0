// The JSON the GitHub stand-in sends, shaped exactly like GitHub's: REST objects start from the examples in
// GitHub's OpenAPI description (components/examples: workflow-run, job, artifact, ...), webhook payloads from
// @octokit/webhooks-examples (recorded deliveries of workflow_run and workflow_job), and only the fields
// that describe *this* run are filled in. Nested users and repositories keep the template's shape (the
// webhook schemas forbid extra properties), with names, ids and URLs moved to the configured repository.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { GithubOpenApi } from './github-openapi.js';
import type { SimActor, SimArtifact, SimJob, SimRun, SimStep } from './github-simulator.js';

type Obj = Record<string, unknown>;

export interface PayloadContext {
  owner: string;
  repo: string;
  repoId: number;
  ownerId: number;
  /** Base of API URLs in payloads (the stand-in's URL, so links can be followed). */
  apiUrl: string;
  /** Base of web URLs (html_url). */
  webUrl: string;
  workflowName: string;
  workflowPath: string;
  /** The installation deliveries carry (GitHub App webhooks); undefined for repository webhooks. */
  installationId?: number;
  now: number;
}

export const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const nodeId = (prefix: string, id: number | string): string =>
  Buffer.from(`${prefix}${id}`).toString('base64').replace(/=+$/, '');
const sha = (text: string): string => createHash('sha1').update(text).digest('hex');

/** Deep copy with every string passed through `fix` (URLs, names of the template repository). */
function mapStrings<T>(value: T, fix: (s: string) => string): T {
  if (typeof value === 'string') return fix(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => mapStrings(v, fix)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fix)])) as T;
  }
  return value;
}

/** Moves a template's repository/user references (`from`) to the configured repository. */
function retarget<T>(value: T, from: { owner: string; repo: string }, ctx: PayloadContext): T {
  const apiHost = 'https://api.github.com';
  return mapStrings(value, (s) =>
    s
      .split(`${from.owner}/${from.repo}`)
      .join(`${ctx.owner}/${ctx.repo}`)
      .split(`/${from.owner}`)
      .join(`/${ctx.owner}`)
      .split(apiHost)
      .join(ctx.apiUrl)
      .split('https://github.com')
      .join(ctx.webUrl),
  );
}

function userFrom(template: Obj, actor: SimActor, ctx: PayloadContext): Obj {
  const login = String(template.login);
  // In URLs a bot's login is percent-encoded, as GitHub does (`/users/dependabot%5Bbot%5D`).
  const inUrl = encodeURIComponent(actor.login);
  const user = mapStrings(template, (s) =>
    s.split(`/${login}`).join(`/${inUrl}`).split('https://api.github.com').join(ctx.apiUrl),
  );
  return {
    ...user,
    login: actor.login,
    id: actor.id,
    node_id: nodeId(actor.type === 'Bot' ? 'BOT_' : 'U_', actor.id),
    type: actor.type,
    site_admin: false,
  };
}

// ---- REST ----------------------------------------------------------------------------------------------

export class RestShapes {
  constructor(private readonly openapi: GithubOpenApi) {}

  private repository(ctx: PayloadContext): Obj {
    const run = this.openapi.example<Obj>('workflow-run');
    const repo = retarget(run.repository as Obj, { owner: 'octocat', repo: 'Hello-World' }, ctx);
    const owner = {
      ...(repo.owner as Obj),
      login: ctx.owner,
      id: ctx.ownerId,
      node_id: nodeId('O_', ctx.ownerId),
      type: 'Organization',
    };
    return {
      ...repo,
      id: ctx.repoId,
      node_id: nodeId('R_', ctx.repoId),
      name: ctx.repo,
      full_name: `${ctx.owner}/${ctx.repo}`,
      owner,
      private: true,
    };
  }

  user(actor: SimActor, ctx: PayloadContext): Obj {
    return userFrom(this.openapi.example<Obj>('workflow-run').actor as Obj, actor, ctx);
  }

  run(run: SimRun, ctx: PayloadContext): Obj {
    const base = this.openapi.example<Obj>('workflow-run');
    const runUrl = `${ctx.apiUrl}/repos/${ctx.owner}/${ctx.repo}/actions/runs/${run.id}`;
    const repository = this.repository(ctx);
    const actor = this.user(run.actor, ctx);
    return {
      ...base,
      id: run.id,
      name: run.workflowName,
      node_id: nodeId('WFR_', run.id),
      check_suite_id: run.checkSuiteId,
      check_suite_node_id: nodeId('CS_', run.checkSuiteId),
      head_branch: run.ref,
      head_sha: run.headSha,
      path: run.workflowPath,
      run_number: run.runNumber,
      event: run.event,
      display_title: run.displayTitle,
      status: run.status,
      conclusion: run.conclusion,
      workflow_id: run.workflowId,
      url: runUrl,
      html_url: `${ctx.webUrl}/${ctx.owner}/${ctx.repo}/actions/runs/${run.id}`,
      pull_requests: [],
      created_at: iso(run.createdAt),
      updated_at: iso(run.updatedAt),
      actor,
      triggering_actor: actor,
      run_attempt: run.attempt,
      referenced_workflows: [],
      run_started_at: iso(run.runStartedAt),
      jobs_url: `${runUrl}/jobs`,
      logs_url: `${runUrl}/logs`,
      check_suite_url: `${ctx.apiUrl}/repos/${ctx.owner}/${ctx.repo}/check-suites/${run.checkSuiteId}`,
      artifacts_url: `${runUrl}/artifacts`,
      cancel_url: `${runUrl}/cancel`,
      rerun_url: `${runUrl}/rerun`,
      previous_attempt_url: null,
      workflow_url: `${ctx.apiUrl}/repos/${ctx.owner}/${ctx.repo}/actions/workflows/${run.workflowId}`,
      head_commit: {
        id: run.headSha,
        tree_id: sha(`tree ${run.headSha}`),
        message: 'Freight commit',
        timestamp: iso(run.createdAt),
        author: { name: 'Deployer', email: 'deployer@example.com' },
        committer: { name: 'GitHub', email: 'noreply@github.com' },
      },
      repository,
      head_repository: repository,
    };
  }

  job(run: SimRun, job: SimJob, ctx: PayloadContext): Obj {
    const base = this.openapi.example<Obj>('job');
    const started = job.startedAt ?? job.createdAt ?? run.createdAt;
    const running = job.status === 'in_progress' || job.status === 'completed';
    return {
      ...base,
      id: job.id,
      run_id: run.id,
      run_url: `${ctx.apiUrl}/repos/${ctx.owner}/${ctx.repo}/actions/runs/${run.id}`,
      run_attempt: run.attempt,
      node_id: nodeId('CR_', job.id),
      head_sha: run.headSha,
      url: `${ctx.apiUrl}/repos/${ctx.owner}/${ctx.repo}/actions/jobs/${job.id}`,
      html_url: `${ctx.webUrl}/${ctx.owner}/${ctx.repo}/actions/runs/${run.id}/job/${job.id}`,
      status: job.status,
      conclusion: job.status === 'completed' ? job.conclusion : null,
      created_at: iso(job.createdAt ?? run.createdAt),
      started_at: iso(started),
      completed_at: job.status === 'completed' && job.completedAt !== undefined ? iso(job.completedAt) : null,
      name: job.name,
      steps:
        job.status === 'in_progress' || job.status === 'completed'
          ? job.steps.map((s) => restStep(s, ctx.now, job))
          : [],
      check_run_url: `${ctx.apiUrl}/repos/${ctx.owner}/${ctx.repo}/check-runs/${job.id}`,
      labels: ['ubuntu-24.04'],
      runner_id: running && job.conclusion !== 'skipped' ? (job.runnerId ?? null) : null,
      runner_name: running && job.runnerId ? `GitHub Actions ${job.runnerId}` : null,
      runner_group_id: running && job.runnerId ? 0 : null,
      runner_group_name: running && job.runnerId ? 'GitHub Actions' : null,
      workflow_name: run.workflowName,
      head_branch: run.ref,
    };
  }

  artifact(a: SimArtifact, run: SimRun, ctx: PayloadContext): Obj {
    const url = `${ctx.apiUrl}/repos/${ctx.owner}/${ctx.repo}/actions/artifacts/${a.id}`;
    return {
      ...this.openapi.example<Obj>('artifact'),
      id: a.id,
      node_id: nodeId('MDg6QXJ0aWZhY3', a.id),
      name: a.name,
      size_in_bytes: a.zip.byteLength,
      url,
      archive_download_url: `${url}/zip`,
      expired: a.expired,
      created_at: iso(a.createdAt),
      expires_at: iso(a.expiresAt),
      updated_at: iso(a.createdAt),
      digest: `sha256:${createHash('sha256').update(a.zip).digest('hex')}`,
      workflow_run: {
        id: run.id,
        repository_id: ctx.repoId,
        head_repository_id: ctx.repoId,
        head_branch: run.ref,
        head_sha: run.headSha,
      },
    };
  }
}

// ── approvals (added with the approvals feature) ────────────────────────────────────────────────
// Deployments of a waiting job, pending deployments, and the authenticated user (GET /user). Templates:
// the description's examples (deployment-items, pending-deployment-items, private-user) and the recorded
// `deployment` delivery of @octokit/webhooks-examples, moved to the configured repository.

/** A deployment GitHub created for a job that targets an environment (one per wait). */
export interface SimDeployment {
  id: number;
  environment: string;
  runId: number;
  sha: string;
  ref: string;
  creator: SimActor;
  createdAt: number;
}

/** An environment of the repository as the stand-in configures it. */
export interface SimEnvironment {
  id: number;
  name: string;
}

let deploymentTemplateCache: Obj | undefined;
function deploymentTemplate(): Obj {
  if (!deploymentTemplateCache) {
    const def = webhookExamples().find((d) => d.name === 'deployment');
    const found = def?.examples.find((e) => e.deployment !== undefined)?.deployment as Obj | undefined;
    if (!found) throw new Error('@octokit/webhooks-examples has no deployment example');
    deploymentTemplateCache = found;
  }
  return structuredClone(deploymentTemplateCache);
}

/** The deployment object (REST `deployment` and the webhooks' `deployment`: the same fields). */
export function deploymentShape(d: SimDeployment, ctx: PayloadContext): Obj {
  const t = deploymentTemplate();
  const url = `${ctx.apiUrl}/repos/${ctx.owner}/${ctx.repo}/deployments/${d.id}`;
  return {
    ...t,
    url,
    id: d.id,
    node_id: nodeId('DE_', d.id),
    sha: d.sha,
    ref: d.ref,
    task: 'deploy',
    payload: {},
    original_environment: d.environment,
    environment: d.environment,
    description: null,
    creator: userFrom(t.creator as Obj, d.creator, ctx),
    created_at: iso(d.createdAt),
    updated_at: iso(d.createdAt),
    statuses_url: `${url}/statuses`,
    repository_url: `${ctx.apiUrl}/repos/${ctx.owner}/${ctx.repo}`,
    transient_environment: false,
    production_environment: d.environment === 'prod',
  };
}

/** One entry of GET …/runs/{run_id}/pending_deployments. */
export function pendingDeploymentShape(
  openapi: GithubOpenApi,
  env: SimEnvironment,
  pending: {
    waitTimerMinutes: number;
    waitTimerStartedAt: number | null;
    canApprove: boolean;
    reviewers: SimActor[];
  },
  ctx: PayloadContext,
): Obj {
  const t = openapi.example<Obj[]>('pending-deployment-items')[0] as Obj;
  const userTemplate = ((t.reviewers as Obj[])[0] as Obj).reviewer as Obj;
  return {
    environment: {
      id: env.id,
      node_id: nodeId('EN_', env.id),
      name: env.name,
      url: `${ctx.apiUrl}/repos/${ctx.owner}/${ctx.repo}/environments/${env.name}`,
      html_url: `${ctx.webUrl}/${ctx.owner}/${ctx.repo}/deployments/activity_log?environments_filter=${env.name}`,
    },
    wait_timer: pending.waitTimerMinutes,
    wait_timer_started_at: pending.waitTimerStartedAt === null ? null : iso(pending.waitTimerStartedAt),
    current_user_can_approve: pending.canApprove,
    reviewers: pending.reviewers.map((actor) => ({
      type: 'User',
      reviewer: userFrom(userTemplate, actor, ctx),
    })),
  };
}

/** GET /user for a user token (the private view: it is the user's own profile). */
export function authenticatedUserShape(openapi: GithubOpenApi, actor: SimActor, ctx: PayloadContext): Obj {
  const t = openapi.example<Obj>('private-user');
  return {
    ...userFrom(t, actor, ctx),
    name: actor.login,
    email: null,
    created_at: iso(ctx.now),
    updated_at: iso(ctx.now),
  };
}

/** A step as the REST API shows it at `now` (steps of a running job start queued, one at a time). */
function restStep(s: SimStep, now: number, job: SimJob): Obj {
  const done = job.status === 'completed' || s.end <= now;
  if (done)
    return {
      name: s.name,
      status: 'completed',
      conclusion: s.conclusion,
      number: s.number,
      started_at: iso(s.start),
      completed_at: iso(s.end),
    };
  if (s.start <= now)
    return {
      name: s.name,
      status: 'in_progress',
      conclusion: null,
      number: s.number,
      started_at: iso(s.start),
      completed_at: null,
    };
  return {
    name: s.name,
    status: 'queued',
    conclusion: null,
    number: s.number,
    started_at: null,
    completed_at: null,
  };
}

// ---- webhooks ------------------------------------------------------------------------------------------

interface WebhookDefinition {
  name: string;
  examples: Array<Obj & { action?: string }>;
}

let examplesCache: WebhookDefinition[] | undefined;
function webhookExamples(): WebhookDefinition[] {
  examplesCache ??= createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];
  return examplesCache;
}

/**
 * The recorded delivery used as the template for `event.action`: among the examples with that action (and an
 * object in that state), the most complete one — older recordings lack fields GitHub sends today (e.g.
 * workflow_job.run_attempt). workflow_run `in_progress` has no recording: `requested` is used, its action
 * and status replaced.
 */
function template(event: 'workflow_run' | 'workflow_job', action: string): Obj {
  const def = webhookExamples().find((d) => d.name === event);
  if (!def) throw new Error(`@octokit/webhooks-examples has no ${event} examples`);
  const objectOf = (e: Obj): Obj => (e[event] as Obj | undefined) ?? {};
  const wanted = action === 'requested' ? 'queued' : action;
  const richest = (list: Obj[]): Obj | undefined =>
    list.reduce<Obj | undefined>(
      (best, e) => (!best || Object.keys(objectOf(e)).length > Object.keys(objectOf(best)).length ? e : best),
      undefined,
    );
  const found =
    richest(def.examples.filter((e) => e.action === action && objectOf(e).status === wanted)) ??
    richest(def.examples.filter((e) => e.action === action)) ??
    richest(def.examples.filter((e) => e.action === 'requested' && objectOf(e).status === 'queued'));
  if (!found) throw new Error(`no ${event} example to build "${action}" from`);
  return structuredClone(found);
}

export class WebhookShapes {
  constructor(private readonly rest: RestShapes) {}

  private repository(ctx: PayloadContext): Obj {
    const t = template('workflow_run', 'requested');
    const repo = retarget(t.repository as Obj, { owner: 'octo-org', repo: 'octo-repo' }, ctx);
    return {
      ...repo,
      id: ctx.repoId,
      node_id: nodeId('R_', ctx.repoId),
      name: ctx.repo,
      full_name: `${ctx.owner}/${ctx.repo}`,
      owner: {
        ...(repo.owner as Obj),
        login: ctx.owner,
        id: ctx.ownerId,
        node_id: nodeId('O_', ctx.ownerId),
      },
      private: true,
      visibility: 'private',
    };
  }

  private user(actor: SimActor, ctx: PayloadContext): Obj {
    return userFrom(template('workflow_run', 'requested').sender as Obj, actor, ctx);
  }

  private envelope(ctx: PayloadContext, actor: SimActor): Obj {
    return {
      repository: this.repository(ctx),
      sender: this.user(actor, ctx),
      ...(ctx.installationId === undefined
        ? {}
        : {
            installation: {
              id: ctx.installationId,
              node_id: nodeId('MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u', ctx.installationId),
            },
          }),
    };
  }

  workflowRun(action: 'requested' | 'in_progress' | 'completed', run: SimRun, ctx: PayloadContext): Obj {
    const t = template('workflow_run', action);
    const rest = this.rest.run(run, ctx);
    const tRun = t.workflow_run as Obj;
    const repoLite = retarget(tRun.repository as Obj, { owner: 'octo-org', repo: 'octo-repo' }, ctx);
    const repository = {
      ...repoLite,
      id: ctx.repoId,
      node_id: nodeId('R_', ctx.repoId),
      name: ctx.repo,
      full_name: `${ctx.owner}/${ctx.repo}`,
      owner: {
        ...(repoLite.owner as Obj),
        login: ctx.owner,
        id: ctx.ownerId,
        node_id: nodeId('O_', ctx.ownerId),
      },
      private: true,
    };
    const user = this.user(run.actor, ctx);
    // Keep the template's keys (the webhook schema forbids others), values from the REST view of the run.
    const workflowRun: Obj = {};
    for (const key of Object.keys(tRun)) workflowRun[key] = key in rest ? rest[key] : tRun[key];
    Object.assign(workflowRun, {
      repository,
      head_repository: repository,
      actor: user,
      triggering_actor: user,
      pull_requests: [],
      referenced_workflows: [],
      display_title: run.displayTitle,
    });
    const tWorkflow = t.workflow as Obj;
    const workflowUrl = `${ctx.apiUrl}/repos/${ctx.owner}/${ctx.repo}/actions/workflows/${run.workflowId}`;
    return {
      action,
      workflow_run: workflowRun,
      workflow: {
        ...tWorkflow,
        id: run.workflowId,
        node_id: nodeId('W_', run.workflowId),
        name: run.workflowName,
        path: run.workflowPath,
        state: 'active',
        url: workflowUrl,
        html_url: `${ctx.webUrl}/${ctx.owner}/${ctx.repo}/blob/main/${run.workflowPath}`,
        badge_url: `${ctx.webUrl}/${ctx.owner}/${ctx.repo}/workflows/${run.workflowName}/badge.svg`,
      },
      ...this.envelope(ctx, run.actor),
    };
  }

  workflowJob(
    action: 'queued' | 'waiting' | 'in_progress' | 'completed',
    run: SimRun,
    job: SimJob,
    ctx: PayloadContext,
  ): Obj {
    const t = template('workflow_job', action);
    const rest = this.rest.job(run, job, ctx);
    const tJob = t.workflow_job as Obj;
    const workflowJob: Obj = {};
    for (const key of Object.keys(tJob)) workflowJob[key] = key in rest ? rest[key] : tJob[key];
    // The delivery describes the job in the state of its action (the REST view may already be later).
    workflowJob.status = action === 'completed' ? 'completed' : action;
    if (action !== 'completed') {
      workflowJob.conclusion = null;
      workflowJob.completed_at = null;
    }
    if (action === 'queued' || action === 'waiting') {
      workflowJob.steps = [];
      for (const k of ['runner_id', 'runner_name', 'runner_group_id', 'runner_group_name'])
        workflowJob[k] = null;
    }
    return { action, workflow_job: workflowJob, ...this.envelope(ctx, run.actor) };
  }

  // ── approvals (added with the approvals feature) ──
  /**
   * `deployment_protection_rule` `requested`: GitHub asks the App that owns the environment's custom rule.
   * Fields as in the description's x-webhooks and @octokit/webhooks-schemas (which knows no `sha`/`ref`
   * at the top level: both are left out, as older deliveries did).
   */
  deploymentProtectionRule(run: SimRun, deployment: SimDeployment, ctx: PayloadContext): Obj {
    return {
      action: 'requested',
      environment: deployment.environment,
      event: 'workflow_dispatch',
      deployment_callback_url: `${ctx.apiUrl}/repos/${ctx.owner}/${ctx.repo}/actions/runs/${run.id}/deployment_protection_rule`,
      deployment: deploymentShape(deployment, ctx),
      pull_requests: [],
      ...this.envelope(ctx, run.actor),
    };
  }
}
