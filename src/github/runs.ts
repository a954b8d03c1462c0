// GithubRuns: what the worker asks GitHub about the run that carries out a promotion — the run, its jobs
// and steps, and its result artifacts (gate results, plan summaries, Terraform outputs) — over the Octokit
// of client.ts. Artifact trouble (missing, expired, too large, malformed, unreadable) is *reported*, never
// thrown: it is a line on the card. Only GitHub itself failing (unreachable, unauthorized, rate limited
// beyond the in-process retries) throws, as GithubError, so the BullMQ job is retried or failed.
//
// Approvals (pending deployments, custom deployment protection rules) will live beside these methods.
import { unzipSync, type UnzipFileInfo } from 'fflate';
import type { RestEndpointMethodTypes } from '@octokit/rest';
import { validateArtifact } from '../artifacts/validate.js';
import {
  RUN_RESULTS_ARTIFACT,
  RUN_RESULTS_FILE,
  parseRunResults,
  type RunResultsEntry,
} from '../artifacts/run-results.js';
import type {
  ArtifactKind,
  DeployEnvironment,
  GateResult,
  PlanSummary,
  TerraformOutputs,
} from '../artifacts/types.js';
import type { ArtifactProblem } from '../domain/events.js';
import type { Logger } from '../logging.js';
import { toGithubError, type GithubClient } from './client.js';
import { parseRunName } from './webhooks.js';

export type WorkflowRun = RestEndpointMethodTypes['actions']['getWorkflowRun']['response']['data'];
export type WorkflowJob =
  RestEndpointMethodTypes['actions']['listJobsForWorkflowRun']['response']['data']['jobs'][number];
export type RunArtifact =
  RestEndpointMethodTypes['actions']['listWorkflowRunArtifacts']['response']['data']['artifacts'][number];

// ---- what the workflow uploads -----------------------------------------------------------------------

/** The jobs of .github/workflows/terraform.yaml by key, with the display name GitHub reports. */
export function jobName(id: string, environment: DeployEnvironment): string {
  const names: Record<string, string> = {
    policy: 'policy (OPA + Conftest)',
    aws: `aws gates (${environment})`,
    gcp: `gcp gates (${environment})`,
    azure: `azure gates (${environment})`,
    'aws-dev': 'aws dev apply',
    'gcp-plan': 'gcp plan',
    'azure-plan': 'azure plan',
    'prod-gates': 'prod gates (Trivy hard, OPA on HCL + plan)',
    'aws-prod': 'aws prod apply',
    results: 'results (one artifact for the bot)',
    notify: 'notify (Slack webhooks)',
  };
  const name = names[id];
  if (!name) throw new Error(`terraform.yaml has no job "${id}"`);
  return name;
}

/**
 * When a job that ran is expected to have uploaded an artifact: `always` (upload step `if: always()`,
 * file always written), or only when the named gate artifact of the same run says `passed`.
 */
export type ArtifactCondition = 'always' | { gatePassed: string };

export interface ExpectedArtifact {
  /** e.g. `plan-summary-aws-dev` */
  name: string;
  kind: ArtifactKind;
  /** Display name of the job that uploads it. */
  job: string;
  when: ArtifactCondition;
}

/**
 * The result artifacts a run of .github/workflows/terraform.yaml uploads, read off its upload steps
 * (`toolchain` is not a result and is left out):
 *
 *  every run      policy         gate-opa-all-all, gate-conftest-all-all
 *                 aws gates      gate-{fmt,validate,tflint}-aws-<env>; gate-trivy-aws-dev on dev only (the
 *                                hard prod Trivy gate is in prod gates)
 *                 gcp/azure gates gate-{fmt,validate,tflint,trivy}-{gcp,azure}-<env>
 *  dev            aws dev apply  gate-plan-aws-dev; plan-summary-aws-dev only when the plan succeeded;
 *                                gate-apply-aws-dev and terraform-outputs-aws-dev only when apply ran
 *                                (apply runs iff the plan succeeded, i.e. gate-plan-aws-dev passed)
 *  prod           prod gates     gate-trivy-aws-prod, gate-conftest-aws-prod; plan-summary-aws-prod
 *                                (preview) when the preview plan succeeded — Conftest fails without it, so
 *                                a passed gate-conftest-aws-prod implies the summary
 *  prod + deploy  aws prod apply gate-plan-aws-prod; plan-summary-aws-prod (the applied plan, overwriting
 *                                the preview); gate-apply-aws-prod, terraform-outputs-aws-prod when apply
 *                                ran (plan and plan policy passed = gate-plan-aws-prod passed)
 *
 * gcp plan / azure plan run only when repository variables say so, which the bot cannot see: their
 * artifacts are read when present but never expected. A name listed twice (plan-summary-aws-prod) is
 * expected when either entry is. test/github/workflow-contract.test.ts checks this list against the YAML.
 */
export function expectedArtifacts(environment: DeployEnvironment, deployProd: boolean): ExpectedArtifact[] {
  const gates = (names: string[], cloud: string, env: string, job: string): ExpectedArtifact[] =>
    names.map((g) => ({ name: `gate-${g}-${cloud}-${env}`, kind: 'gate-result', job, when: 'always' }));
  const apply = (env: DeployEnvironment, job: string): ExpectedArtifact[] => {
    const plan = `gate-plan-aws-${env}`;
    return [
      { name: plan, kind: 'gate-result', job, when: 'always' },
      { name: `plan-summary-aws-${env}`, kind: 'plan-summary', job, when: { gatePassed: plan } },
      { name: `gate-apply-aws-${env}`, kind: 'gate-result', job, when: { gatePassed: plan } },
      { name: `terraform-outputs-aws-${env}`, kind: 'terraform-outputs', job, when: { gatePassed: plan } },
    ];
  };
  const job = (id: string): string => jobName(id, environment);
  const all = ['fmt', 'validate', 'tflint', 'trivy'];
  const list = [
    ...gates(['opa', 'conftest'], 'all', 'all', job('policy')),
    ...gates(environment === 'dev' ? all : ['fmt', 'validate', 'tflint'], 'aws', environment, job('aws')),
    ...gates(all, 'gcp', environment, job('gcp')),
    ...gates(all, 'azure', environment, job('azure')),
  ];
  if (environment === 'dev') list.push(...apply('dev', job('aws-dev')));
  if (environment === 'prod') {
    list.push(...gates(['trivy', 'conftest'], 'aws', 'prod', job('prod-gates')), {
      name: 'plan-summary-aws-prod',
      kind: 'plan-summary',
      job: job('prod-gates'),
      when: { gatePassed: 'gate-conftest-aws-prod' },
    });
    if (deployProd) list.push(...apply('prod', job('aws-prod')));
  }
  return list;
}

export interface ArtifactName {
  kind: ArtifactKind;
  /** Gate results only: the gate (`trivy`, `kargo-schema`, ...). */
  gate?: string;
  cloud: string;
  environment: string;
}

const KIND_PREFIXES: ReadonlyArray<[string, ArtifactKind]> = [
  ['gate-', 'gate-result'],
  ['plan-summary-', 'plan-summary'],
  ['terraform-outputs-', 'terraform-outputs'],
];

/** `gate-<gate>-<cloud>-<env>`, `plan-summary-<cloud>-<env>`, `terraform-outputs-<cloud>-<env>`; else undefined. */
export function parseArtifactName(name: string): ArtifactName | undefined {
  for (const [prefix, kind] of KIND_PREFIXES) {
    if (!name.startsWith(prefix)) continue;
    const parts = name.slice(prefix.length).split('-');
    const environment = parts.pop();
    const cloud = parts.pop();
    if (!environment || !cloud) return undefined;
    if (kind !== 'gate-result') return parts.length === 0 ? { kind, cloud, environment } : undefined;
    return parts.length > 0 ? { kind, gate: parts.join('-'), cloud, environment } : undefined;
  }
  return undefined;
}

/** The one file in each kind of artifact zip. */
export const ARTIFACT_FILE: Record<ArtifactKind, string> = {
  'gate-result': 'gate-result.json',
  'plan-summary': 'plan-summary.json',
  'terraform-outputs': 'terraform-outputs.json',
  drift: 'drift.json',
};

// ---- results -----------------------------------------------------------------------------------------

export type ArtifactProblemKind = ArtifactProblem['problem'];

export interface ArtifactProblemReport {
  artifact: string;
  problem: ArtifactProblemKind;
  detail: string;
}

export interface RunArtifacts {
  gates: GateResult[];
  plans: PlanSummary[];
  outputs: TerraformOutputs[];
  problems: ArtifactProblemReport[];
  /** The artifacts read successfully (name, id), in the order of the lists above. */
  read: Array<{ name: string; id: number; kind: ArtifactKind }>;
  /**
   * Where the texts came from: the run's `run-results` artifact (one download), or each artifact on its
   * own (`fallback` says why the bundle was not used).
   */
  source: { kind: 'run-results'; artifactId: number } | { kind: 'artifacts'; fallback: string };
}

/** An artifact could not be turned into JSON text; readRunArtifacts reports it as a problem. */
export class ArtifactDownloadError extends Error {
  constructor(
    readonly problem: ArtifactProblemKind,
    message: string,
  ) {
    super(message);
    this.name = 'ArtifactDownloadError';
  }
}

// ---- the service -------------------------------------------------------------------------------------

export interface GithubRunsOptions {
  owner: string;
  repo: string;
  /** Workflow file name (or id), e.g. `terraform.yaml`. */
  workflow: string;
  logger?: Logger;
  /** Largest artifact zip downloaded. Default 5 MB. */
  maxZipBytes?: number;
  /** Largest JSON file accepted inside it. Default 5 MB. */
  maxJsonBytes?: number;
  /** Largest run-results artifact (zip, and the JSON inside) read; a larger one is not used. Default 20 MB. */
  maxBundleBytes?: number;
  /** Pages of runs findRunForPromotion looks through (100 runs each). Default 3. */
  maxRunPages?: number;
  /** Artifacts downloaded at once. Default 4 (GitHub allows 100 concurrent requests). */
  downloadConcurrency?: number;
  /** Storage download timeout in ms. Default 30 s. */
  downloadTimeoutMs?: number;
}

export interface DispatchResult {
  /** Present when GitHub returned run details (return_run_details: true, github.com since 2026-02). */
  runId?: number;
  runUrl?: string;
  htmlUrl?: string;
}

const MB = 1024 * 1024;

export class GithubRuns {
  private readonly opts: Required<Omit<GithubRunsOptions, 'logger'>> & { logger?: Logger };

  constructor(
    private readonly octokit: GithubClient,
    options: GithubRunsOptions,
  ) {
    this.opts = {
      maxZipBytes: 5 * MB,
      maxJsonBytes: 5 * MB,
      maxBundleBytes: 20 * MB,
      maxRunPages: 3,
      downloadConcurrency: 4,
      downloadTimeoutMs: 30_000,
      ...options,
    };
    for (const key of [
      'maxZipBytes',
      'maxJsonBytes',
      'maxBundleBytes',
      'maxRunPages',
      'downloadConcurrency',
    ] as const) {
      if (!(this.opts[key] >= 1)) throw new Error(`GithubRuns: ${key} must be ≥ 1`);
    }
  }

  private get repo(): { owner: string; repo: string } {
    return { owner: this.opts.owner, repo: this.opts.repo };
  }

  /** Wraps an Octokit call: any failure becomes a GithubError saying what was being done. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toGithubError(error, what);
    }
  }

  /**
   * Starts the workflow (what Kargo's http step does; the bot uses it for manual runs and the sandbox).
   * With `returnRunDetails` (default) GitHub answers 200 with the run id; GHES without it answers 204 and
   * the run is found by its run-name (findRunForPromotion).
   */
  async dispatch(
    inputs: { environment: DeployEnvironment; deployProd: boolean; promotion?: string; freightSha?: string },
    options: { ref: string; returnRunDetails?: boolean },
  ): Promise<DispatchResult> {
    const returnRunDetails = options.returnRunDetails ?? true;
    const res = await this.call(`dispatch ${this.opts.workflow}`, () =>
      this.octokit.rest.actions.createWorkflowDispatch({
        ...this.repo,
        workflow_id: this.opts.workflow,
        ref: options.ref,
        inputs: {
          environment: inputs.environment,
          deploy_prod: inputs.deployProd ? 'yes' : 'no',
          promotion: inputs.promotion ?? '',
          freight_sha: inputs.freightSha ?? '',
        },
        ...(returnRunDetails ? { return_run_details: true } : {}),
      }),
    );
    // Octokit's types know only the 204 answer (they predate return_run_details).
    if ((res.status as number) !== 200 || !res.data) return {};
    const data = res.data as { workflow_run_id: number; run_url: string; html_url: string };
    return { runId: data.workflow_run_id, runUrl: data.run_url, htmlUrl: data.html_url };
  }

  async getRun(runId: number): Promise<WorkflowRun> {
    const res = await this.call(`get run ${runId}`, () =>
      this.octokit.rest.actions.getWorkflowRun({ ...this.repo, run_id: runId, exclude_pull_requests: true }),
    );
    return res.data;
  }

  /**
   * A conditional GET of the run (GitHub's REST best practices): with the ETag of the last answer, an
   * unchanged run is a 304, which GitHub does not charge to the rate limit. `unchanged` then.
   */
  async getRunIfChanged(
    runId: number,
    etag: string | undefined,
  ): Promise<{ run: WorkflowRun; etag?: string } | 'unchanged'> {
    try {
      const res = await this.octokit.rest.actions.getWorkflowRun({
        ...this.repo,
        run_id: runId,
        exclude_pull_requests: true,
        ...(etag ? { headers: { 'if-none-match': etag } } : {}),
      });
      return { run: res.data, ...(res.headers.etag ? { etag: res.headers.etag } : {}) };
    } catch (error) {
      if (isNotModified(error)) return 'unchanged';
      throw toGithubError(error, `get run ${runId}`);
    }
  }

  /**
   * The jobs of the run's latest attempt (or of `attempt`), conditionally like getRunIfChanged. One page
   * of 100 is asked for (the workflow has a dozen jobs); a longer list is paginated without an ETag.
   */
  async listJobsIfChanged(
    runId: number,
    attempt: number | undefined,
    etag: string | undefined,
  ): Promise<{ jobs: WorkflowJob[]; etag?: string } | 'unchanged'> {
    const conditional = etag ? { headers: { 'if-none-match': etag } } : {};
    try {
      const res =
        attempt === undefined
          ? await this.octokit.rest.actions.listJobsForWorkflowRun({
              ...this.repo,
              run_id: runId,
              filter: 'latest',
              per_page: 100,
              ...conditional,
            })
          : await this.octokit.rest.actions.listJobsForWorkflowRunAttempt({
              ...this.repo,
              run_id: runId,
              attempt_number: attempt,
              per_page: 100,
              ...conditional,
            });
      if (res.data.total_count > res.data.jobs.length) return { jobs: await this.listJobs(runId, attempt) };
      return { jobs: res.data.jobs, ...(res.headers.etag ? { etag: res.headers.etag } : {}) };
    } catch (error) {
      if (isNotModified(error)) return 'unchanged';
      throw toGithubError(error, `list jobs of run ${runId}`);
    }
  }

  /** Every job (with steps) of the run's latest attempt, or of `attempt`. */
  async listJobs(runId: number, attempt?: number): Promise<WorkflowJob[]> {
    return this.call(`list jobs of run ${runId}`, () =>
      attempt === undefined
        ? this.octokit.paginate(this.octokit.rest.actions.listJobsForWorkflowRun, {
            ...this.repo,
            run_id: runId,
            filter: 'latest',
            per_page: 100,
          })
        : this.octokit.paginate(this.octokit.rest.actions.listJobsForWorkflowRunAttempt, {
            ...this.repo,
            run_id: runId,
            attempt_number: attempt,
            per_page: 100,
          }),
    );
  }

  /**
   * Fallback when Kargo gave no run id: the newest workflow_dispatch run of the workflow created at or after
   * `createdAfter` whose run-name names the promotion. Looks through at most `maxRunPages` pages; null
   * when none matches (not started yet, or too many runs since: the caller retries later).
   */
  async findRunForPromotion(
    promotionName: string,
    options: { createdAfter: Date | string },
  ): Promise<WorkflowRun | null> {
    // GitHub's search syntax for `created`; whole seconds, as GitHub stores them.
    const since = new Date(options.createdAfter);
    if (Number.isNaN(since.getTime())) throw new Error('findRunForPromotion: createdAfter is not a date');
    const created = `>=${since.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
    const matches: WorkflowRun[] = [];
    for (let page = 1; page <= this.opts.maxRunPages; page += 1) {
      const res = await this.call(`list runs of ${this.opts.workflow}`, () =>
        this.octokit.rest.actions.listWorkflowRuns({
          ...this.repo,
          workflow_id: this.opts.workflow,
          event: 'workflow_dispatch',
          created,
          exclude_pull_requests: true,
          per_page: 100,
          page,
        }),
      );
      const runs = res.data.workflow_runs;
      for (const run of runs) {
        const parsed = parseRunName(run.display_title) ?? parseRunName(run.name);
        if (parsed?.promotion === promotionName) matches.push(run);
      }
      if (runs.length < 100) break;
    }
    if (matches.length > 1) {
      this.opts.logger?.warn(
        { promotion: promotionName, runs: matches.map((r) => r.id) },
        'several runs carry this promotion in their run-name; following the newest',
      );
    }
    matches.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id);
    return matches[0] ?? null;
  }

  async listArtifacts(runId: number): Promise<RunArtifact[]> {
    return this.call(`list artifacts of run ${runId}`, () =>
      this.octokit.paginate(this.octokit.rest.actions.listWorkflowRunArtifacts, {
        ...this.repo,
        run_id: runId,
        per_page: 100,
      }),
    );
  }

  /**
   * The JSON text inside an artifact zip. GitHub answers the download with a 302 to a short-lived storage
   * URL (valid ~1 minute): it is fetched at once, without our token, and never stored or logged. The zip is
   * streamed with a size cap, then unzipped with fflate; `file` picks the JSON file when the zip holds
   * several. Throws ArtifactDownloadError for artifact trouble (expired, gone, too large, not a zip, no JSON,
   * not UTF-8) and GithubError when GitHub or its storage cannot be reached.
   */
  async downloadArtifact(
    artifactId: number,
    options: { file?: string; maxBytes?: number } = {},
  ): Promise<string> {
    const zip = await this.fetchZip(artifactId, options.maxBytes ?? this.opts.maxZipBytes);
    return this.jsonFromZip(zip, options.file, options.maxBytes ?? this.opts.maxJsonBytes);
  }

  private async fetchZip(artifactId: number, maxBytes: number): Promise<Uint8Array> {
    // A storage URL is single-use and short-lived: when storage refuses it, one fresh redirect is worth it.
    let lastStatus = 0;
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      const location = await this.redirectFor(artifactId);
      let res: Response;
      try {
        res = await fetch(location, {
          redirect: 'follow',
          signal: AbortSignal.timeout(this.opts.downloadTimeoutMs),
        });
      } catch (error) {
        throw toGithubError(error, `download artifact ${artifactId} from storage`);
      }
      if (res.ok) return this.readCapped(res, artifactId, maxBytes);
      lastStatus = res.status;
      await res.body?.cancel();
      if (res.status >= 500)
        throw toGithubError(
          { status: res.status, message: 'storage error' },
          `download artifact ${artifactId}`,
        );
    }
    throw new ArtifactDownloadError(
      'unreadable',
      `artifact storage refused the download (HTTP ${lastStatus})`,
    );
  }

  /** One download per result artifact (what run-results saves). */
  private async downloadEach(
    results: ReadonlyArray<{ artifact: RunArtifact; name: ArtifactName }>,
  ): Promise<ArtifactText[]> {
    return mapLimit(
      results,
      this.opts.downloadConcurrency,
      async ({ artifact, name }): Promise<ArtifactText> => {
        if (artifact.expired) {
          return {
            problem: 'expired' as const,
            detail: `expired${artifact.expires_at ? ` at ${artifact.expires_at}` : ''}`,
          };
        }
        if (artifact.size_in_bytes > this.opts.maxZipBytes) {
          return {
            problem: 'too-large' as const,
            detail: `${artifact.size_in_bytes} bytes (limit ${this.opts.maxZipBytes})`,
          };
        }
        try {
          return { text: await this.downloadArtifact(artifact.id, { file: ARTIFACT_FILE[name.kind] }) };
        } catch (error) {
          if (error instanceof ArtifactDownloadError)
            return { problem: error.problem, detail: error.message };
          throw error;
        }
      },
    );
  }

  /**
   * The texts of `results` from the run's run-results artifact, in the same order; or why it cannot be
   * used. Artifact trouble means falling back; GitHub failing throws (the job is retried).
   */
  private async readBundle(
    runId: number,
    bundle: RunArtifact | undefined,
    results: ReadonlyArray<{ artifact: RunArtifact; name: ArtifactName }>,
  ): Promise<{ texts: ArtifactText[]; artifactId: number } | { fallback: string }> {
    if (!bundle) return { fallback: 'the run has no run-results artifact' };
    if (bundle.expired) return { fallback: 'run-results has expired' };
    const max = this.opts.maxBundleBytes;
    if (bundle.size_in_bytes > max)
      return { fallback: `run-results is ${bundle.size_in_bytes} bytes (limit ${max})` };
    const bundledAt = Date.parse(bundle.created_at ?? '');
    const newer = results.find(({ artifact }) => Date.parse(artifact.created_at ?? '') > bundledAt);
    if (newer) return { fallback: `${newer.artifact.name} is newer than run-results` };
    let text: string;
    try {
      text = await this.downloadArtifact(bundle.id, { file: RUN_RESULTS_FILE, maxBytes: max });
    } catch (error) {
      if (error instanceof ArtifactDownloadError)
        return { fallback: `run-results could not be read (${error.message})` };
      throw error;
    }
    const parsed = parseRunResults(text);
    if (!parsed.ok) return { fallback: `run-results ${parsed.problem}` };
    if (parsed.value.run.id !== runId)
      return { fallback: `run-results is for run ${parsed.value.run.id}, not ${runId}` };
    const entries = new Map(parsed.value.artifacts.map((a) => [a.name, a]));
    const listed = new Set(results.map((r) => r.artifact.name));
    const absent = results.find((r) => !entries.has(r.artifact.name));
    if (absent) return { fallback: `run-results does not hold ${absent.artifact.name}` };
    const extra = parsed.value.artifacts.find((a) => !listed.has(a.name));
    if (extra) return { fallback: `run-results holds ${extra.name}, which the run does not list` };
    const texts = results.map(({ artifact, name }): ArtifactText => {
      const entry = entries.get(artifact.name) as RunResultsEntry;
      const file = ARTIFACT_FILE[name.kind];
      if (entry.content === undefined || entry.file !== file)
        return { problem: 'malformed', detail: `the artifact holds no ${file}` };
      const bytes = Buffer.byteLength(entry.content, 'utf8');
      if (bytes > this.opts.maxJsonBytes)
        return {
          problem: 'too-large',
          detail: `${file} is ${bytes} bytes (limit ${this.opts.maxJsonBytes})`,
        };
      return { text: entry.content };
    });
    return { texts, artifactId: bundle.id };
  }

  /** GET …/artifacts/{id}/zip without following: the Location, used once, right away. */
  private async redirectFor(artifactId: number): Promise<string> {
    let res;
    try {
      res = await this.octokit.request(
        'GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}',
        {
          ...this.repo,
          artifact_id: artifactId,
          archive_format: 'zip',
          request: { redirect: 'manual' },
        },
      );
    } catch (error) {
      const status = (error as { status?: unknown }).status;
      if (status === 410)
        throw new ArtifactDownloadError('expired', 'GitHub: the artifact has expired (410 Gone)');
      if (status === 404)
        throw new ArtifactDownloadError('unreadable', 'GitHub: the artifact no longer exists (404)');
      throw toGithubError(error, `download artifact ${artifactId}`);
    }
    const location = (res.headers as Record<string, string | undefined>).location;
    if ((res.status as number) !== 302 || !location) {
      throw new ArtifactDownloadError(
        'unreadable',
        `GitHub answered ${res.status} without a download location`,
      );
    }
    return location;
  }

  private async readCapped(res: Response, artifactId: number, max: number): Promise<Uint8Array> {
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > max) {
      await res.body?.cancel();
      throw new ArtifactDownloadError('too-large', `the zip is ${declared} bytes (limit ${max})`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    if (!res.body) return new Uint8Array(0);
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > max) {
          await reader.cancel();
          throw new ArtifactDownloadError('too-large', `the zip is larger than ${max} bytes`);
        }
        chunks.push(value);
      }
    } catch (error) {
      if (error instanceof ArtifactDownloadError) throw error;
      throw toGithubError(error, `download artifact ${artifactId} from storage`);
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.byteLength;
    }
    return out;
  }

  private jsonFromZip(zip: Uint8Array, preferred: string | undefined, max: number): string {
    const entries: UnzipFileInfo[] = [];
    let files: Record<string, Uint8Array>;
    try {
      // The filter sees the central directory first: nothing too big (or not JSON) is ever inflated.
      files = unzipSync(zip, {
        filter: (f) => {
          entries.push(f);
          return f.name.endsWith('.json') && f.originalSize <= max;
        },
      });
    } catch (error) {
      throw new ArtifactDownloadError(
        'unreadable',
        `not a readable zip archive: ${(error as Error).message}`,
      );
    }
    const json = entries.filter((e) => e.name.endsWith('.json'));
    const big = json.find((e) => e.originalSize > max);
    if (big)
      throw new ArtifactDownloadError('too-large', `${big.name} is ${big.originalSize} bytes (limit ${max})`);
    const pick =
      json.find(
        (e) => preferred !== undefined && (e.name === preferred || e.name.endsWith(`/${preferred}`)),
      ) ?? (json.length === 1 ? json[0] : undefined);
    if (!pick) {
      throw new ArtifactDownloadError(
        'malformed',
        json.length === 0
          ? 'the zip holds no JSON file'
          : `the zip holds ${json.length} JSON files and none is ${preferred ?? 'named'}`,
      );
    }
    const bytes = files[pick.name] ?? new Uint8Array(0);
    if (bytes.byteLength > max)
      throw new ArtifactDownloadError('too-large', `${pick.name} inflates beyond ${max} bytes`);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new ArtifactDownloadError('malformed', `${pick.name} is not UTF-8 text`);
    }
  }

  /**
   * Every result artifact of the run, parsed and validated against its JSON Schema, plus a problem line
   * for each one that is expired, too large, unreadable, malformed, or expected but missing
   * (expectedArtifacts; a missing artifact counts only once the job that uploads it has finished, and only
   * when its condition held). `jobs` are the run's jobs if the caller has them (from workflow_job
   * webhooks); otherwise they are listed (one more request).
   *
   * Requests: one list, then the run's `run-results` artifact (one download) when it agrees with the list
   * — the same names, and no result artifact newer than it (a re-run that replaced one) — otherwise one
   * download per artifact.
   */
  async readRunArtifacts(
    runId: number,
    options: {
      environment: DeployEnvironment;
      deployProd: boolean;
      jobs?: ReadonlyArray<{ name: string; status: string; conclusion?: string | null }>;
    },
  ): Promise<RunArtifacts> {
    const latest = newestByName(await this.listArtifacts(runId));
    const results = [...latest.values()]
      .map((artifact) => ({ artifact, name: parseArtifactName(artifact.name) }))
      .filter((x): x is { artifact: RunArtifact; name: ArtifactName } => x.name !== undefined)
      .sort((a, b) => a.artifact.name.localeCompare(b.artifact.name));

    const bundled = await this.readBundle(runId, latest.get(RUN_RESULTS_ARTIFACT), results);
    const out: RunArtifacts = {
      gates: [],
      plans: [],
      outputs: [],
      problems: [],
      read: [],
      source:
        'texts' in bundled
          ? { kind: 'run-results', artifactId: bundled.artifactId }
          : { kind: 'artifacts', fallback: bundled.fallback },
    };
    if (!('texts' in bundled))
      this.opts.logger?.info(
        { runId, reason: bundled.fallback },
        'run-results not used: reading the artifacts one by one',
      );
    const texts = 'texts' in bundled ? bundled.texts : await this.downloadEach(results);

    const passedGates = new Set<string>();
    results.forEach(({ artifact, name }, i) => {
      const got = texts[i] as ArtifactText;
      if (got.problem) {
        out.problems.push({ artifact: artifact.name, problem: got.problem, detail: got.detail ?? '' });
        return;
      }
      const parsed = parseAndValidate(artifact.name, name, got.text ?? '');
      if ('problem' in parsed) {
        out.problems.push({ artifact: artifact.name, problem: 'malformed', detail: parsed.problem });
        return;
      }
      out.read.push({ name: artifact.name, id: artifact.id, kind: name.kind });
      if (parsed.kind === 'gate-result') {
        out.gates.push(parsed.value);
        if (parsed.value.status === 'passed') passedGates.add(artifact.name);
      } else if (parsed.kind === 'plan-summary') out.plans.push(parsed.value);
      else out.outputs.push(parsed.value);
    });

    const jobs = options.jobs ?? (await this.listJobs(runId));
    const finished = new Map(
      jobs
        .filter((j) => j.status === 'completed' && (j.conclusion === 'success' || j.conclusion === 'failure'))
        .map((j) => [j.name, j.conclusion]),
    );
    const missing = new Map<string, string>();
    for (const e of expectedArtifacts(options.environment, options.deployProd)) {
      if (latest.has(e.name) || missing.has(e.name)) continue;
      if (!finished.has(e.job)) continue; // skipped, cancelled or still running: nothing was promised
      if (e.when !== 'always' && !passedGates.has(e.when.gatePassed)) continue;
      missing.set(e.name, `not uploaded by job "${e.job}" (${finished.get(e.job)})`);
    }
    for (const [artifact, detail] of missing) out.problems.push({ artifact, problem: 'missing', detail });
    return out;
  }
}

/** Octokit reports a 304 answer to a conditional request as an error with that status. */
const isNotModified = (error: unknown): boolean => (error as { status?: unknown }).status === 304;

/** An artifact's file text, or the problem that kept it from being read. */
type ArtifactText =
  | { text: string; problem?: undefined; detail?: undefined }
  | {
      text?: undefined;
      problem: ArtifactProblemKind;
      detail: string;
    };

/** Re-runs and `overwrite: true` leave several artifacts of one name: the newest is the one that counts. */
function newestByName(artifacts: RunArtifact[]): Map<string, RunArtifact> {
  const out = new Map<string, RunArtifact>();
  for (const a of artifacts) {
    const seen = out.get(a.name);
    const newer =
      !seen ||
      Date.parse(a.created_at ?? '') > Date.parse(seen.created_at ?? '') ||
      (a.created_at === seen.created_at && a.id > seen.id);
    if (newer) out.set(a.name, a);
  }
  return out;
}

type Parsed =
  | { kind: 'gate-result'; value: GateResult }
  | { kind: 'plan-summary'; value: PlanSummary }
  | { kind: 'terraform-outputs'; value: TerraformOutputs }
  | { problem: string };

/** JSON → schema-valid artifact whose content matches its name (a gate-trivy-aws-prod must say so). */
function parseAndValidate(artifact: string, name: ArtifactName, text: string): Parsed {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { problem: `not JSON: ${(error as Error).message}` };
  }
  const result = validateArtifact(name.kind, data);
  if (!result.ok) {
    const shown = result.errors.slice(0, 5).join('; ');
    const more = result.errors.length > 5 ? ` (+${result.errors.length - 5} more)` : '';
    return { problem: `does not match schemas/${name.kind}.schema.json: ${shown}${more}` };
  }
  const value = result.value as { cloud: string; environment: string; gate?: string };
  const mismatch =
    value.cloud !== name.cloud ||
    value.environment !== name.environment ||
    (name.gate !== undefined && value.gate !== name.gate);
  if (mismatch) {
    const says = `${value.gate ? `${value.gate}/` : ''}${value.cloud}/${value.environment}`;
    return { problem: `${artifact} holds a result for ${says}` };
  }
  return { kind: name.kind, value: result.value } as Parsed;
}

/** Promise.all with at most `limit` in flight; results in input order; the first rejection wins. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
