// A local stand-in for the part of GitHub the bot uses: the REST endpoints of workflow runs, jobs and
// artifacts, workflow_dispatch, GitHub App installation tokens and /rate_limit, plus workflow_run and
// workflow_job webhooks — all simulating runs of this repository's real workflow (github-workflow.ts,
// github-simulator.ts, github-scenarios.ts). Loopback, random port, for tests and the sandbox.
//
// Every request it receives is matched to an operation of GitHub's OpenAPI description and checked
// (parameters, body); every answer it sends is checked too (status declared, body schema), and so is every
// webhook payload (the description's x-webhooks). Problems are recorded as violations(), never hidden: a
// test that talks to the stand-in must end with assertNoViolations(). Unknown routes answer 404 and are
// violations as well.
//
// Artifact downloads work as on GitHub: GET …/artifacts/{id}/zip answers 302 to a one-time URL on a second
// listener (a different origin, so fetch drops the Authorization header on the redirect, as it does for
// GitHub's blob storage), valid for 60 s of stand-in time.
//
// Approvals (added with the approvals feature; sections marked "── approvals"): environments with
// protection rules (`environments` option: the bot's custom rule, required reviewers, prevent self-review,
// a wait timer) make their jobs wait; a custom rule sends the `deployment_protection_rule` webhook and is
// decided with POST …/runs/{run_id}/deployment_protection_rule (installation tokens only); reviewers decide
// with GET/POST …/runs/{run_id}/pending_deployments (user tokens of a listed reviewer only; the run's
// triggering actor is refused when self-review is prevented). The GitHub App's OAuth side — the device flow
// (`/login/device/code`) and the token endpoint (`/login/oauth/access_token`, device codes and refresh
// tokens) — lives on a third listener, `webUrl`, standing for https://github.com. Those two endpoints are
// not part of the REST API, so its OpenAPI description cannot check them: they are the only requests the
// checker does not see (every other path on the web listener is a violation). They are logged instead
// (webRequests()). User access tokens minted there are "user" principals; they expire on the stand-in
// clock (8 h by default), refresh tokens rotate on use, as GitHub documents.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createHash,
  createHmac,
  createPublicKey,
  randomBytes,
  randomUUID,
  verify as verifySignature,
  type KeyObject,
} from 'node:crypto';
import { GithubOpenApi, type OperationMatch } from './github-openapi.js';
import {
  defaultDriftWorkflowFile,
  loadWorkflow,
  validateDispatchInputs,
  type WorkflowModel,
} from './github-workflow.js';
import { RunSimulator, type SimActor, type SimEvent, type SimRun } from './github-simulator.js';
import { scenarioNamed, type Scenario, type ScenarioName } from './github-scenarios.js';
import {
  RestShapes,
  WebhookShapes,
  authenticatedUserShape,
  deploymentShape,
  iso,
  pendingDeploymentShape,
  type PayloadContext,
  type SimDeployment,
} from './github-payloads.js';

// ── configuration ────────────────────────────────────────────────────────────────────────────────

export interface GithubStandInOptions {
  owner?: string;
  repo?: string;
  /** The workflow file simulated. Default: this repository's .github/workflows/terraform.yaml. */
  workflowFile?: string;
  /** The scheduled drift workflow simulated beside it. Default: this repository's .github/workflows/drift.yaml. */
  driftWorkflowFile?: string;
  /** Personal access tokens accepted, each with the login it acts as. */
  tokens?: Record<string, string>;
  /**
   * GitHub App: installation tokens are minted for app JWTs signed by `publicKey`'s private key (RS256).
   * `permissions`: what the installation was granted (default Actions: write — cancelling runs —, Deployments:
   * write, Metadata: read); a write an installation lacks is answered 403 "Resource not accessible by
   * integration", as GitHub does.
   */
  app?: {
    id: string | number;
    publicKey: string | KeyObject;
    installationId: number;
    slug?: string;
    permissions?: { actions?: 'read' | 'write'; deployments?: 'read' | 'write' };
  };
  /** Where workflow_run / workflow_job deliveries go (signed with `secret`). */
  webhook?: { url: string; secret: string };
  /** Branches (and tags) a dispatch may name as `ref`. Default ['main']. */
  refs?: string[];
  /** Stand-in clock start (ms). Default: now. */
  startTime?: number;
  /** Real-time mode: stand-in milliseconds per real millisecond. Default: manual clock (advance()). */
  speed?: number;
  /** The scenario of a dispatch when none was queued. Default: dev → dev-pass, prod → prod-pass. */
  defaultScenario?: (inputs: Record<string, string>) => Scenario;
  host?: string;
  port?: number;
  // ── approvals (added with the approvals feature) ──
  /** Protection rules per environment name (Settings → Environments). A job targeting one of them waits. */
  environments?: Record<string, EnvironmentRules>;
  /** The GitHub App's OAuth side (device flow, user access tokens) on the web listener. */
  oauth?: OAuthOptions;
}

// ── approvals (added with the approvals feature) ──
export interface EnvironmentRules {
  /** The bot's GitHub App is the environment's custom deployment protection rule. */
  customRule?: boolean;
  /** Required reviewers (GitHub logins); one approval suffices. */
  reviewers?: string[];
  /** The run's triggering actor may not approve it. */
  preventSelfReview?: boolean;
  /** Minutes a job waits at least, from the moment it started waiting (an approval does not shorten it). */
  waitTimerMinutes?: number;
}

export interface OAuthOptions {
  clientId: string;
  /** The App's client secret; a refresh that sends one must send this one. */
  clientSecret?: string;
  /** Device-flow poll interval (seconds). Default 5, as GitHub. */
  interval?: number;
  /** Device code lifetime (seconds). Default 900, as GitHub. */
  expiresIn?: number;
  /** Real milliseconds per second of `interval` and `expiresIn` (tests shrink them). Default 1000. */
  unitMs?: number;
  /** User access token lifetime (seconds of stand-in time). Default 28800 (8 h). */
  accessTokenSeconds?: number;
  /** Refresh token lifetime (seconds of stand-in time). Default 15897600 (about 6 months). */
  refreshTokenSeconds?: number;
}

/** One request to the web listener (device flow, token endpoint); never holds the secrets sent. */
export interface WebRequest {
  method: string;
  path: string;
  grantType?: string;
  /** `error` of the answer (authorization_pending, slow_down, …), or `ok`. */
  outcome: string;
  /** Real time (ms). */
  at: number;
}

/** A decision GitHub recorded (for tests: who decided what, with which credential). */
export interface RecordedReview {
  runId: number;
  environment: string;
  gate: 'custom-rule' | 'reviewers';
  state: 'approved' | 'rejected' | 'comment';
  login: string;
  auth: RecordedRequest['auth'];
  comment?: string;
}

interface Gate {
  runId: number;
  environment: string;
  jobId: number;
  deployment: SimDeployment;
  /** Stand-in ms when the job started waiting. */
  since: number;
  /** Rules still to pass. */
  customRule: boolean;
  reviewers: boolean;
}

interface DeviceGrant {
  deviceCode: string;
  userCode: string;
  /** Real ms. */
  createdAt: number;
  expiresAt: number;
  interval: number;
  lastPollAt?: number;
  authorizedAs?: SimActor;
  denied?: boolean;
  used?: boolean;
}

interface UserGrant {
  actor: SimActor;
  /** Stand-in ms. */
  expiresAt: number;
}

export const DEFAULT_STANDIN_PAT = 'ghp_standinPersonalAccessToken0000000000';
/** The id GitHub would give drift.yaml (terraform.yaml's is 161335001). */
const DRIFT_WORKFLOW_ID = 161_335_002;

// ── what tests see ───────────────────────────────────────────────────────────────────────────────

export type ViolationKind =
  'unknown-operation' | 'request' | 'response' | 'webhook' | 'storage' | 'not-simulated';

export interface Violation {
  kind: ViolationKind;
  method?: string;
  path?: string;
  operationId?: string;
  status?: number;
  problems: string[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  operationId?: string;
  status: number;
  /** `user`: a user access token from the device flow (approvals). */
  auth: 'none' | 'token' | 'user' | 'installation' | 'app-jwt' | 'invalid';
  /** Stand-in time. */
  at: number;
}

export interface RecordedDelivery {
  id: string;
  event: string;
  action: string;
  runId: number;
  body: string;
  headers: Record<string, string>;
  /** HTTP status the receiver answered; 0 when it could not be reached. */
  status: number;
  error?: string;
  redelivery: boolean;
}

export interface StorageRequest {
  path: string;
  status: number;
  /** True when the request carried an Authorization header (a token leaked to storage). */
  authorization: boolean;
}

interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface Fault {
  operationId?: string;
  remaining: number;
  answer: () => Answer;
}

interface Principal {
  kind: RecordedRequest['auth'];
  actor?: SimActor;
  /** Rate-limit bucket. */
  key: string;
}

const DOCS = 'https://docs.github.com/rest';
const error = (status: number, message: string, documentation_url = DOCS): Answer => ({
  status,
  body: { message, documentation_url, status: String(status) },
});
const NOT_FOUND = (): Answer => error(404, 'Not Found');
const MAX_BODY = 1024 * 1024;
const STORAGE_URL_TTL_MS = 60_000;

// ── the server ───────────────────────────────────────────────────────────────────────────────────

export class GithubStandIn {
  /** API base URL (what Octokit takes as baseUrl). */
  readonly url: string;
  /** Base URL of the artifact storage listener. */
  readonly storageUrl: string;
  readonly owner: string;
  readonly repo: string;
  readonly openapi: GithubOpenApi;
  readonly workflow: WorkflowModel;
  /** drift.yaml: scheduled (startDriftRun plays the cron firing) or dispatched; runs beside terraform.yaml's. */
  readonly driftWorkflow: WorkflowModel;

  private clock: number;
  private readonly sim: RunSimulator;
  private readonly rest: RestShapes;
  private readonly hooks: WebhookShapes;
  private webhook: { url: string; secret: string } | undefined;
  private webhooksEnabled = true;
  private outOfOrder = false;
  private outbox: Array<Omit<RecordedDelivery, 'status' | 'headers' | 'redelivery'>> = [];
  private delivered: RecordedDelivery[] = [];
  private recorded: RecordedRequest[] = [];
  private storageLog: StorageRequest[] = [];
  private violationLog: Violation[] = [];
  private faults: Fault[] = [];
  private scenarioQueue: Scenario[] = [];
  private installationTokens = new Map<string, { expiresAt: number }>();
  private storageUrls = new Map<string, { artifactId: number; expiresAt: number }>();
  private rateUsed = new Map<string, number>();
  private readonly tokens: Record<string, string>;
  private readonly app:
    | {
        id: string;
        publicKey: KeyObject;
        installationId: number;
        slug: string;
        permissions: { actions: 'read' | 'write'; deployments: 'read' | 'write' };
      }
    | undefined;
  private readonly refs: Set<string>;
  private readonly defaultScenario: (inputs: Record<string, string>) => Scenario;
  private ticker: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();
  // ── approvals (added with the approvals feature) ──
  /** Base URL standing for https://github.com (device flow, token endpoint). */
  readonly webUrl: string;
  /**
   * Base of the web pages the API links (`html_url` of runs, jobs, environments): https://github.com, or
   * what setPagesUrl() says serves them (the sandbox console, so that no link leaves the machine).
   */
  private pagesUrl = 'https://github.com';
  private readonly envRules: Record<string, EnvironmentRules>;
  private readonly oauth: OAuthOptions | undefined;
  private gates = new Map<string, Gate>();
  private deploymentSeq = 0;
  private reviewLog: RecordedReview[] = [];
  private webLog: WebRequest[] = [];
  private deviceGrants = new Map<string, DeviceGrant>();
  private userTokens = new Map<string, UserGrant>();
  private refreshTokens = new Map<string, UserGrant>();
  private minted: string[] = [];

  private constructor(
    private readonly server: Server,
    private readonly storage: Server,
    apiPort: number,
    storagePort: number,
    host: string,
    opts: GithubStandInOptions,
    private readonly web: Server,
    webPort: number,
  ) {
    this.url = `http://${host}:${apiPort}`;
    this.storageUrl = `http://${host}:${storagePort}`;
    this.webUrl = `http://${host}:${webPort}`;
    this.envRules = opts.environments ?? {};
    this.oauth = opts.oauth;
    this.owner = opts.owner ?? 'acme';
    this.repo = opts.repo ?? 'gitops-infra-pipeline';
    this.openapi = GithubOpenApi.load();
    this.workflow = loadWorkflow(opts.workflowFile);
    this.driftWorkflow = loadWorkflow(opts.driftWorkflowFile ?? defaultDriftWorkflowFile());
    this.clock = opts.startTime ?? Date.now();
    this.tokens = opts.tokens ?? { [DEFAULT_STANDIN_PAT]: 'deployer' };
    this.app = opts.app
      ? {
          id: String(opts.app.id),
          publicKey:
            typeof opts.app.publicKey === 'string' ? createPublicKey(opts.app.publicKey) : opts.app.publicKey,
          installationId: opts.app.installationId,
          slug: opts.app.slug ?? 'gitops-chatops',
          permissions: {
            actions: opts.app.permissions?.actions ?? 'write',
            deployments: opts.app.permissions?.deployments ?? 'write',
          },
        }
      : undefined;
    this.webhook = opts.webhook;
    this.refs = new Set(opts.refs ?? ['main']);
    this.defaultScenario =
      opts.defaultScenario ??
      ((inputs) => scenarioNamed(inputs.environment === 'prod' ? 'prod-pass' : 'dev-pass'));
    this.rest = new RestShapes(this.openapi);
    this.hooks = new WebhookShapes(this.rest);
    this.sim = new RunSimulator({
      model: this.workflow,
      onEvent: (e) => {
        this.onSimEvent(e);
        this.onSimEventForApprovals(e);
      },
      htmlUrlFor: (runId) => `${this.pagesUrl}/${this.owner}/${this.repo}/actions/runs/${runId}`,
      isProtected: (environment) => this.hasRules(environment),
    });
  }

  /** Starts the API and storage listeners on random loopback ports. */
  static async start(opts: GithubStandInOptions = {}): Promise<GithubStandIn> {
    const host = opts.host ?? '127.0.0.1';
    const listen = async (server: Server, port: number): Promise<number> => {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      return (server.address() as AddressInfo).port;
    };
    const api = createServer();
    const storage = createServer();
    const web = createServer();
    const apiPort = await listen(api, opts.port ?? 0);
    const storagePort = await listen(storage, 0);
    const webPort = await listen(web, 0);
    const instance = new GithubStandIn(api, storage, apiPort, storagePort, host, opts, web, webPort);
    const guard =
      (fn: (req: IncomingMessage, res: ServerResponse) => Promise<void>) =>
      (req: IncomingMessage, res: ServerResponse) => {
        fn(req, res).catch((err: unknown) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        });
      };
    api.on(
      'request',
      guard((req, res) => instance.handleApi(req, res)),
    );
    storage.on(
      'request',
      guard((req, res) => instance.handleStorage(req, res)),
    );
    web.on(
      'request',
      guard((req, res) => instance.handleWeb(req, res)),
    );
    if (opts.speed !== undefined) instance.runAtSpeed(opts.speed);
    return instance;
  }

  async stop(): Promise<void> {
    if (this.ticker) clearTimeout(this.ticker);
    this.ticker = undefined;
    await this.busy;
    await Promise.all(
      [this.server, this.storage, this.web].map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
  }

  // ── clock ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * Where the pages `html_url` names are served (`<base>/<owner>/<repo>/actions/runs/<id>`, …), instead of
   * https://github.com. Links handed out before keep their address.
   */
  setPagesUrl(base: string): void {
    const url = new URL(base);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`not a web address: ${base}`);
    this.pagesUrl = url.toString().replace(/\/+$/, '');
  }

  /** Stand-in time (ms). */
  now(): number {
    return this.clock;
  }

  /** Moves the clock, plays every transition due by then, and delivers the webhooks they produced. */
  async advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new Error('advance() takes a duration ≥ 0');
    await this.exclusive(async () => {
      this.clock += ms;
      this.sim.processUntil(this.clock);
      await this.flush();
    });
  }

  /** Advances from one transition to the next until nothing is scheduled (or `maxMs` have passed). */
  async runUntilIdle(maxMs = 24 * 60 * 60 * 1000): Promise<void> {
    const limit = this.clock + maxMs;
    for (;;) {
      const next = this.sim.nextDue();
      if (next === undefined || next > limit) break;
      await this.advance(Math.max(0, next - this.clock));
    }
    await this.exclusive(() => this.flush());
  }

  private runAtSpeed(speed: number): void {
    if (!(speed > 0)) throw new Error('speed must be > 0');
    let last = Date.now();
    const tick = (): void => {
      const now = Date.now();
      const elapsed = (now - last) * speed;
      last = now;
      void this.advance(elapsed).finally(() => {
        if (this.ticker) this.ticker = setTimeout(tick, 25);
      });
    };
    this.ticker = setTimeout(tick, 25);
  }

  /** One clock/outbox operation at a time (advance() and redeliveries never interleave). */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.busy;
    let release = (): void => undefined;
    this.busy = new Promise<void>((r) => (release = r));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  // ── runs ───────────────────────────────────────────────────────────────────────────────────────

  /** The next dispatch runs this scenario (queue several for several dispatches). */
  queueScenario(scenario: ScenarioName | Scenario): void {
    this.scenarioQueue.push(typeof scenario === 'string' ? scenarioNamed(scenario) : scenario);
  }

  /** Starts a run directly (as a dispatch would, without HTTP). */
  startRun(params: {
    environment: 'dev' | 'prod';
    deployProd: boolean;
    promotion?: string;
    freightSha?: string;
    scenario?: ScenarioName | Scenario;
    actor?: SimActor;
    ref?: string;
  }): SimRun {
    const inputs = {
      environment: params.environment,
      deploy_prod: params.deployProd ? 'yes' : 'no',
      promotion: params.promotion ?? '',
      freight_sha: params.freightSha ?? '',
    };
    const checked = validateDispatchInputs(this.workflow, inputs);
    if (!checked.ok) throw new Error(checked.message);
    const scenario = typeof params.scenario === 'string' ? scenarioNamed(params.scenario) : params.scenario;
    return this.createRun(
      checked.values,
      params.ref ?? 'main',
      params.actor ?? { login: 'deployer', id: 7_000_001, type: 'User' },
      scenario,
    );
  }

  /**
   * A run of drift.yaml, as its cron schedule (or Run workflow) starts it. `scenario` scripts its jobs and
   * drift artifacts (default `drift-in-sync`: every environment in sync).
   */
  startDriftRun(
    params: {
      scenario?: ScenarioName | Scenario;
      event?: 'schedule' | 'workflow_dispatch';
      actor?: SimActor;
    } = {},
  ): SimRun {
    const scenario =
      typeof params.scenario === 'object'
        ? params.scenario
        : scenarioNamed(params.scenario ?? 'drift-in-sync');
    return this.sim.createRun({
      inputs: {},
      ref: 'main',
      headSha: createHmac('sha1', 'head').update(`main:${this.clock}`).digest('hex'),
      actor: params.actor ?? { login: 'deployer', id: 7_000_001, type: 'User' },
      scenario,
      now: this.clock,
      model: this.driftWorkflow,
      workflowId: DRIFT_WORKFLOW_ID,
      event: params.event ?? 'schedule',
    });
  }

  run(runId: number): SimRun | undefined {
    return this.sim.get(runId);
  }

  runs(): SimRun[] {
    return this.sim.all;
  }

  /** Releases jobs waiting at `environment` (hook for the approvals feature). Returns how many. */
  async approve(runId: number, environment: string): Promise<number> {
    return this.exclusive(async () => this.sim.approve(runId, environment, this.clock));
  }

  private createRun(
    inputs: Record<string, string>,
    ref: string,
    actor: SimActor,
    scenario?: Scenario,
  ): SimRun {
    const chosen = scenario ?? this.scenarioQueue.shift() ?? this.defaultScenario(inputs);
    const headSha =
      inputs.freight_sha || createHmac('sha1', 'head').update(`${ref}:${this.clock}`).digest('hex');
    return this.sim.createRun({ inputs, ref, headSha, actor, scenario: chosen, now: this.clock });
  }

  // ── webhooks ───────────────────────────────────────────────────────────────────────────────────

  setWebhook(webhook: { url: string; secret: string } | undefined): void {
    this.webhook = webhook;
  }

  /** false: no deliveries at all (polling-only mode); what happens meanwhile is never delivered. */
  sendWebhooksFor(enabled: boolean): void {
    this.webhooksEnabled = enabled;
  }

  /** true: each batch of deliveries (one advance()) is sent newest first. */
  deliverOutOfOrder(enabled: boolean): void {
    this.outOfOrder = enabled;
  }

  deliveries(filter: { event?: string; action?: string; runId?: number } = {}): RecordedDelivery[] {
    return this.delivered.filter(
      (d) =>
        (!filter.event || d.event === filter.event) &&
        (!filter.action || d.action === filter.action) &&
        (filter.runId === undefined || d.runId === filter.runId),
    );
  }

  /** Sends a delivery again, byte for byte, with the same X-GitHub-Delivery (as GitHub's redeliver does). */
  async redeliver(deliveryId: string): Promise<RecordedDelivery> {
    const original = this.delivered.find((d) => d.id === deliveryId && !d.redelivery);
    if (!original) throw new Error(`no delivery ${deliveryId}`);
    return this.exclusive(() => this.post({ ...original }, true));
  }

  private onSimEvent(e: SimEvent): void {
    const ctx = this.payloadContext();
    const payload =
      e.kind === 'workflow_run'
        ? this.hooks.workflowRun(e.action, e.run, ctx)
        : this.hooks.workflowJob(e.action, e.run, e.job, ctx);
    const problems = this.openapi.checkWebhook(e.kind, e.action, payload);
    if (problems.length > 0)
      this.violationLog.push({ kind: 'webhook', operationId: `${e.kind}.${e.action}`, problems });
    if (!this.webhook || !this.webhooksEnabled) return;
    this.outbox.push({
      id: randomUUID(),
      event: e.kind,
      action: e.action,
      runId: e.run.id,
      body: JSON.stringify(payload),
    });
  }

  private async flush(): Promise<void> {
    const batch = this.outbox;
    this.outbox = [];
    if (this.outOfOrder) batch.reverse();
    for (const d of batch) await this.post(d, false);
  }

  private async post(
    d: Omit<RecordedDelivery, 'status' | 'headers' | 'redelivery'> & { headers?: Record<string, string> },
    redelivery: boolean,
  ): Promise<RecordedDelivery> {
    const hook = this.webhook;
    const headers = d.headers ?? {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/standin',
      'x-github-event': d.event,
      'x-github-delivery': d.id,
      'x-github-hook-id': '424242',
      'x-github-hook-installation-target-type': this.app ? 'integration' : 'repository',
      'x-github-hook-installation-target-id': this.app ? this.app.id : String(this.repoId),
      'x-hub-signature': `sha1=${createHmac('sha1', hook?.secret ?? '')
        .update(d.body)
        .digest('hex')}`,
      'x-hub-signature-256': `sha256=${createHmac('sha256', hook?.secret ?? '')
        .update(d.body)
        .digest('hex')}`,
    };
    const record: RecordedDelivery = {
      id: d.id,
      event: d.event,
      action: d.action,
      runId: d.runId,
      body: d.body,
      headers,
      status: 0,
      redelivery,
    };
    if (hook) {
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers,
          body: d.body,
          signal: AbortSignal.timeout(10_000),
        });
        record.status = res.status;
        await res.body?.cancel();
      } catch (err) {
        record.error = (err as Error).message;
      }
    }
    this.delivered.push(record);
    return record;
  }

  // ── faults ─────────────────────────────────────────────────────────────────────────────────────

  /**
   * The next `times` requests (of `operationId`, or any) are refused for a rate limit, as GitHub does:
   * secondary → 403 (or 429) with `retry-after` and a "secondary rate limit" message; primary → 403 with
   * `x-ratelimit-remaining: 0` and `x-ratelimit-reset` (real epoch seconds) `retryAfterSeconds` ahead.
   */
  injectRateLimit(opts: {
    kind: 'primary' | 'secondary';
    status?: 403 | 429;
    retryAfterSeconds?: number;
    times?: number;
    operationId?: string;
  }): void {
    const after = opts.retryAfterSeconds ?? 1;
    const status = opts.status ?? 403;
    this.faults.push({
      ...(opts.operationId ? { operationId: opts.operationId } : {}),
      remaining: opts.times ?? 1,
      answer: (): Answer =>
        opts.kind === 'secondary'
          ? {
              ...error(
                status,
                `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${this.requestId()}.`,
                'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
              ),
              headers: { 'retry-after': String(after) },
            }
          : {
              ...error(
                status,
                'API rate limit exceeded for installation.',
                'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit',
              ),
              headers: {
                'x-ratelimit-remaining': '0',
                'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + after),
              },
            },
    });
  }

  /** The next `times` requests (of `operationId`, or any) answer `status` with a GitHub error body. */
  injectError(opts: { status: number; times?: number; operationId?: string; message?: string }): void {
    this.faults.push({
      ...(opts.operationId ? { operationId: opts.operationId } : {}),
      remaining: opts.times ?? 1,
      answer: () => error(opts.status, opts.message ?? (opts.status >= 500 ? 'Server Error' : 'Error')),
    });
  }

  /** The next `times` requests of `operationId` get exactly this answer (for testing the checker itself). */
  injectResponse(opts: {
    operationId: string;
    status: number;
    body?: unknown;
    headers?: Record<string, string>;
    times?: number;
  }): void {
    this.faults.push({
      operationId: opts.operationId,
      remaining: opts.times ?? 1,
      answer: () => ({
        status: opts.status,
        body: opts.body,
        ...(opts.headers ? { headers: opts.headers } : {}),
      }),
    });
  }

  // ── records ────────────────────────────────────────────────────────────────────────────────────

  requests(filter: { operationId?: string } = {}): RecordedRequest[] {
    return this.recorded.filter((r) => !filter.operationId || r.operationId === filter.operationId);
  }

  requestCount(filter: { operationId?: string } = {}): number {
    return this.requests(filter).length;
  }

  storageRequests(): StorageRequest[] {
    return [...this.storageLog];
  }

  violations(): Violation[] {
    return [...this.violationLog];
  }

  /** Throws, listing every violation, unless every request, answer and delivery matched the description. */
  assertNoViolations(): void {
    if (this.violationLog.length === 0) return;
    const lines = this.violationLog.map(
      (v) =>
        `- ${v.kind} ${v.method ?? ''} ${v.path ?? v.operationId ?? ''} ${v.status ?? ''}: ${v.problems.join('; ')}`,
    );
    const shown =
      lines.slice(0, 20).join('\n') + (lines.length > 20 ? `\n… and ${lines.length - 20} more` : '');
    throw new Error(`GitHub stand-in: ${this.violationLog.length} OpenAPI violation(s)\n${shown}`);
  }

  /** Forgets recorded requests, deliveries, violations, pending faults and queued scenarios (runs stay). */
  reset(): void {
    this.scenarioQueue = [];
    this.recorded = [];
    this.delivered = [];
    this.storageLog = [];
    this.violationLog = [];
    this.faults = [];
  }

  // ── HTTP: API ──────────────────────────────────────────────────────────────────────────────────

  private get repoId(): number {
    return 880_000_001;
  }

  private payloadContext(): PayloadContext {
    return {
      owner: this.owner,
      repo: this.repo,
      repoId: this.repoId,
      ownerId: 990_000_001,
      apiUrl: this.url,
      webUrl: this.pagesUrl,
      workflowName: this.workflow.name,
      workflowPath: this.workflow.path,
      ...(this.app ? { installationId: this.app.installationId } : {}),
      now: this.clock,
    };
  }

  private requestId(): string {
    return randomBytes(8).toString('hex').toUpperCase();
  }

  private async handleApi(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', this.url);
    const rawBody = await readBody(req);
    this.sim.processUntil(this.clock);

    const match = this.openapi.match(method, url.pathname);
    const principal = this.authenticate(req.headers.authorization, url.pathname);
    const record = (status: number, operationId?: string): void => {
      this.recorded.push({
        method,
        path: url.pathname,
        query: url.search,
        ...(operationId ? { operationId } : {}),
        status,
        auth: principal.kind,
        at: this.clock,
      });
    };
    if (!match) {
      this.violationLog.push({
        kind: 'unknown-operation',
        method,
        path: url.pathname,
        problems: ['no operation in the OpenAPI description matches'],
      });
      record(404);
      this.send(res, NOT_FOUND(), principal);
      return;
    }
    const { operationId } = match.operation;
    const requestProblems = this.openapi.checkRequest(match, {
      query: url.searchParams,
      rawBody,
      ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
    });
    if (requestProblems.length > 0) {
      this.violationLog.push({
        kind: 'request',
        method,
        path: url.pathname,
        operationId,
        problems: requestProblems,
      });
    }

    let answer: Answer;
    const fault = this.takeFault(operationId);
    if (fault) answer = fault;
    else if (requestProblems.some((p) => p.startsWith('body') || p.startsWith('a JSON request body'))) {
      answer = error(422, 'Invalid request.\n\n' + requestProblems.join('\n'));
    } else answer = this.route(match, principal, url.searchParams, rawBody);

    const body =
      answer.body === undefined
        ? ''
        : typeof answer.body === 'string'
          ? answer.body
          : JSON.stringify(answer.body);
    const headers = { ...(answer.headers ?? {}) };
    // Conditional requests (GitHub's REST best practices): a GET answer carries an ETag; the same
    // If-None-Match gets 304 without a body, which an authorized caller is not charged for. The OpenAPI
    // description leaves 304 out of most operations, so it is checked here instead.
    if (method === 'GET' && answer.status === 200 && principal.kind !== 'invalid') {
      const etag = `W/"${createHash('sha256').update(body).digest('hex').slice(0, 40)}"`;
      headers.etag = etag;
      const sent = req.headers['if-none-match'];
      if (sent !== undefined && sent.split(',').some((t) => t.trim() === etag)) {
        record(304, operationId);
        this.send(res, { status: 304, headers: { etag } }, principal, { charged: false });
        return;
      }
    }
    const responseProblems = this.openapi.checkResponse(operationId, {
      status: answer.status,
      body,
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    });
    if (responseProblems.length > 0) {
      this.violationLog.push({
        kind: 'response',
        method,
        path: url.pathname,
        operationId,
        status: answer.status,
        problems: responseProblems,
      });
    }
    record(answer.status, operationId);
    this.send(res, { ...answer, body, headers }, principal);
  }

  private takeFault(operationId: string): Answer | undefined {
    const fault = this.faults.find(
      (f) => f.remaining > 0 && (!f.operationId || f.operationId === operationId),
    );
    if (!fault) return undefined;
    fault.remaining -= 1;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return fault.answer();
  }

  private send(
    res: ServerResponse,
    answer: Answer,
    principal: Principal,
    options: { charged?: boolean } = {},
  ): void {
    const body = answer.body === undefined ? '' : String(answer.body);
    const charge = principal.kind === 'none' || options.charged === false ? 0 : 1;
    const used = (this.rateUsed.get(principal.key) ?? 0) + charge;
    this.rateUsed.set(principal.key, used);
    const limit = principal.kind === 'none' ? 60 : 5000;
    const headers: Record<string, string> = {
      date: new Date().toUTCString(),
      'x-github-request-id': this.requestId(),
      'x-github-api-version-selected': '2022-11-28',
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, limit - used)),
      'x-ratelimit-used': String(used),
      'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
      ...(body === '' ? {} : { 'content-type': 'application/json; charset=utf-8' }),
      ...(answer.headers ?? {}),
    };
    res.writeHead(answer.status, headers);
    res.end(body);
  }

  private authenticate(header: string | undefined, pathname: string): Principal {
    if (!header) return { kind: 'none', key: 'anonymous' };
    const m = /^(token|bearer)\s+(\S+)$/i.exec(header.trim());
    if (!m) return { kind: 'invalid', key: 'invalid' };
    const credential = m[2] as string;
    if (credential.split('.').length === 3 && pathname.startsWith('/app')) {
      return this.verifyJwt(credential) === undefined
        ? { kind: 'app-jwt', key: `app:${this.app?.id ?? ''}` }
        : { kind: 'invalid', key: 'invalid' };
    }
    const installation = this.installationTokens.get(credential);
    if (installation && installation.expiresAt > Date.now() && this.app) {
      return {
        kind: 'installation',
        key: `installation:${this.app.installationId}`,
        actor: { login: `${this.app.slug}[bot]`, id: 41_000_001, type: 'Bot' },
      };
    }
    // ── approvals: user access tokens from the device flow (they expire on the stand-in clock) ──
    const user = this.userTokens.get(credential);
    if (user) {
      return user.expiresAt > this.clock
        ? { kind: 'user', key: `user:${user.actor.login}`, actor: user.actor }
        : { kind: 'invalid', key: 'invalid' };
    }
    const login = this.tokens[credential];
    if (login)
      return {
        kind: 'token',
        key: `user:${login}`,
        actor: { login, id: 7_000_000 + login.length, type: 'User' },
      };
    return { kind: 'invalid', key: 'invalid' };
  }

  /** Why an app JWT is refused (GitHub's messages), or undefined when it is good. Expiry is real time. */
  private verifyJwt(jwt: string): string | undefined {
    if (!this.app) return 'No GitHub App is configured';
    const [h, p, s] = jwt.split('.') as [string, string, string];
    let header: { alg?: string };
    let payload: { iat?: unknown; exp?: unknown; iss?: unknown };
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as { alg?: string };
      payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as typeof payload;
    } catch {
      return 'A JSON web token could not be decoded';
    }
    if (header.alg !== 'RS256') return 'A JSON web token could not be decoded';
    const ok = verifySignature(
      'RSA-SHA256',
      Buffer.from(`${h}.${p}`),
      this.app.publicKey,
      Buffer.from(s, 'base64url'),
    );
    if (!ok) return 'A JSON web token could not be decoded';
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.iat !== 'number' || payload.iat > now + 60) {
      return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
    }
    if (typeof payload.exp !== 'number' || payload.exp <= now) {
      return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
    }
    if (payload.exp - payload.iat > 600) return "'Expiration time' claim ('exp') is too far in the future";
    if (String(payload.iss) !== this.app.id) return "'Issuer' claim ('iss') must be an Integer";
    return undefined;
  }

  private route(
    match: OperationMatch,
    principal: Principal,
    query: URLSearchParams,
    rawBody: string,
  ): Answer {
    const { operationId } = match.operation;
    const p = match.params;
    if (operationId === 'rate-limit/get') return this.rateLimit(principal);
    if (operationId === 'apps/create-installation-access-token') return this.mintToken(p, principal, rawBody);
    if (principal.kind === 'none') return error(401, 'Requires authentication');
    if (principal.kind === 'invalid' || principal.kind === 'app-jwt') return error(401, 'Bad credentials');
    if (
      p.owner !== undefined &&
      (p.owner.toLowerCase() !== this.owner.toLowerCase() ||
        p.repo?.toLowerCase() !== this.repo.toLowerCase())
    ) {
      return NOT_FOUND();
    }
    switch (operationId) {
      case 'actions/create-workflow-dispatch':
        return this.dispatch(p, principal, rawBody);
      case 'actions/get-workflow-run': {
        const run = this.sim.get(Number(p.run_id));
        return run ? { status: 200, body: this.rest.run(run, this.payloadContext()) } : NOT_FOUND();
      }
      case 'actions/list-jobs-for-workflow-run':
      case 'actions/list-jobs-for-workflow-run-attempt': {
        const run = this.sim.get(Number(p.run_id));
        if (!run || (p.attempt_number !== undefined && Number(p.attempt_number) !== run.attempt))
          return NOT_FOUND();
        const ctx = this.payloadContext();
        const jobs = run.jobs.filter((j) => j.status !== 'pending').map((j) => this.rest.job(run, j, ctx));
        return this.page(match, query, jobs, 'jobs');
      }
      case 'actions/list-workflow-runs': {
        const model = this.workflowFor(p.workflow_id);
        if (!model) return NOT_FOUND();
        return this.page(match, query, this.listRuns(query, model), 'workflow_runs');
      }
      case 'actions/list-workflow-run-artifacts': {
        const run = this.sim.get(Number(p.run_id));
        if (!run) return NOT_FOUND();
        const ctx = this.payloadContext();
        const name = query.get('name');
        const list = run.artifacts
          .filter((a) => a.createdAt <= this.clock && (!name || a.name === name))
          .sort((a, b) => (query.get('direction') === 'asc' ? a.id - b.id : b.id - a.id))
          .map((a) => this.rest.artifact(a, run, ctx));
        return this.page(match, query, list, 'artifacts');
      }
      case 'actions/download-artifact': {
        const artifact = this.sim.artifact(Number(p.artifact_id));
        if (!artifact || artifact.createdAt > this.clock || p.archive_format !== 'zip') return NOT_FOUND();
        if (artifact.expired || artifact.expiresAt <= this.clock) return error(410, 'Artifact has expired');
        const token = randomBytes(24).toString('base64url');
        this.storageUrls.set(token, { artifactId: artifact.id, expiresAt: this.clock + STORAGE_URL_TTL_MS });
        const expires = encodeURIComponent(iso(this.clock + STORAGE_URL_TTL_MS));
        return {
          status: 302,
          headers: {
            location: `${this.storageUrl}/artifacts/${artifact.id}/${token}?se=${expires}&sig=${token.slice(0, 12)}`,
          },
        };
      }
      case 'actions/cancel-workflow-run': {
        if (principal.kind === 'installation' && this.app?.permissions.actions !== 'write') {
          return error(403, 'Resource not accessible by integration');
        }
        const run = this.sim.get(Number(p.run_id));
        if (!run) return NOT_FOUND();
        if (!this.sim.cancel(run.id, this.clock))
          return error(409, 'Cannot cancel a workflow run that is completed.');
        return { status: 202, body: {} };
      }
      // ── approvals (added with the approvals feature) ──
      case 'actions/review-custom-gates-for-run':
        return this.reviewCustomGates(p, principal, rawBody);
      case 'actions/get-pending-deployments-for-run':
        return this.getPendingDeployments(p, principal);
      case 'actions/review-pending-deployments-for-run':
        return this.reviewPendingDeployments(p, principal, rawBody);
      case 'users/get-authenticated':
        if (principal.kind !== 'user' && principal.kind !== 'token')
          return error(403, 'Resource not accessible by integration');
        return {
          status: 200,
          body: authenticatedUserShape(this.openapi, principal.actor as SimActor, this.payloadContext()),
        };
      default:
        this.violationLog.push({
          kind: 'not-simulated',
          operationId,
          problems: [`${operationId} is in the description but the stand-in does not simulate it`],
        });
        return NOT_FOUND();
    }
  }

  private isOurWorkflow(id: string | undefined): boolean {
    return id === this.workflow.file || id === this.workflow.path || id === '161335001';
  }

  /** The workflow a `{workflow_id}` names (file name, path or id): terraform.yaml or drift.yaml. */
  private workflowFor(id: string | undefined): WorkflowModel | undefined {
    if (this.isOurWorkflow(id)) return this.workflow;
    const drift = this.driftWorkflow;
    return id === drift.file || id === drift.path || id === String(DRIFT_WORKFLOW_ID) ? drift : undefined;
  }

  private dispatch(p: Record<string, string>, principal: Principal, rawBody: string): Answer {
    if (this.workflowFor(p.workflow_id) === this.driftWorkflow) return this.dispatchDrift(principal, rawBody);
    if (!this.isOurWorkflow(p.workflow_id)) return NOT_FOUND();
    const body = JSON.parse(rawBody) as {
      ref: string;
      inputs?: Record<string, unknown>;
      return_run_details?: boolean;
    };
    const ref = body.ref.replace(/^refs\/(heads|tags)\//, '');
    if (!this.refs.has(ref)) return error(422, `No ref found for: ${body.ref}`);
    const checked = validateDispatchInputs(this.workflow, body.inputs ?? {});
    if (!checked.ok) return error(422, checked.message);
    const run = this.createRun(checked.values, ref, principal.actor as SimActor);
    if (body.return_run_details !== true) return { status: 204 };
    const ctx = this.payloadContext();
    return {
      status: 200,
      body: {
        workflow_run_id: run.id,
        run_url: `${ctx.apiUrl}/repos/${this.owner}/${this.repo}/actions/runs/${run.id}`,
        html_url: `${ctx.webUrl}/${this.owner}/${this.repo}/actions/runs/${run.id}`,
      },
    };
  }

  /** Run workflow on drift.yaml (it has no inputs): a drift run in sync unless a test starts one itself. */
  private dispatchDrift(principal: Principal, rawBody: string): Answer {
    const body = JSON.parse(rawBody) as { ref: string; inputs?: Record<string, unknown> };
    if (!this.refs.has(body.ref.replace(/^refs\/(heads|tags)\//, '')))
      return error(422, `No ref found for: ${body.ref}`);
    const checked = validateDispatchInputs(this.driftWorkflow, body.inputs ?? {});
    if (!checked.ok) return error(422, checked.message);
    this.startDriftRun({ event: 'workflow_dispatch', actor: principal.actor as SimActor });
    return { status: 204 };
  }

  /**
   * GET …/workflows/{id}/runs of one workflow; filters: event, status (status or conclusion), created,
   * actor, branch, head_sha.
   */
  private listRuns(query: URLSearchParams, model: WorkflowModel = this.workflow): unknown[] {
    const ctx = this.payloadContext();
    const created = query.get('created');
    const inCreated = created ? createdFilter(created) : () => true;
    const event = query.get('event');
    return this.sim.all
      .filter((r) => r.workflowPath === model.path && (!event || r.event === event))
      .filter(
        (r) =>
          !query.get('status') || r.status === query.get('status') || r.conclusion === query.get('status'),
      )
      .filter((r) => !query.get('actor') || r.actor.login === query.get('actor'))
      .filter((r) => !query.get('branch') || r.ref === query.get('branch'))
      .filter((r) => !query.get('head_sha') || r.headSha === query.get('head_sha'))
      .filter((r) => inCreated(Math.floor(r.createdAt / 1000) * 1000))
      .sort((a, b) => b.createdAt - a.createdAt || b.id - a.id)
      .map((r) => this.rest.run(r, ctx));
  }

  /** A page of a list, with GitHub's Link header (rel next/last/first/prev) for Octokit's paginate. */
  private page(match: OperationMatch, query: URLSearchParams, items: unknown[], key: string): Answer {
    const perPage = Math.min(100, Math.max(1, Number(query.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(query.get('page') ?? 1) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (n: number, rel: string): string => {
      const q = new URLSearchParams(query);
      q.set('per_page', String(perPage));
      q.set('page', String(n));
      const path = match.operation.path.replace(/\{(\w+)\}/g, (_m, name: string) =>
        encodeURIComponent(match.params[name] ?? ''),
      );
      return `<${this.url}${path}?${q.toString()}>; rel="${rel}"`;
    };
    const links = [
      ...(page < last ? [link(page + 1, 'next'), link(last, 'last')] : []),
      ...(page > 1 ? [link(1, 'first'), link(page - 1, 'prev')] : []),
    ];
    return {
      status: 200,
      body: { total_count: items.length, [key]: items.slice((page - 1) * perPage, page * perPage) },
      ...(links.length > 0 ? { headers: { link: links.join(', ') } } : {}),
    };
  }

  private mintToken(p: Record<string, string>, principal: Principal, _rawBody: string): Answer {
    if (!this.app) return NOT_FOUND();
    if (principal.kind !== 'app-jwt') return error(401, 'A JSON web token could not be decoded');
    if (Number(p.installation_id) !== this.app.installationId) return NOT_FOUND();
    const token = `ghs_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x').slice(0, 36)}`;
    const expiresAt = Date.now() + 60 * 60 * 1000;
    this.installationTokens.set(token, { expiresAt });
    return {
      status: 201,
      body: {
        token,
        expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        permissions: { ...this.app.permissions, metadata: 'read' },
        repository_selection: 'selected',
      },
    };
  }

  private rateLimit(principal: Principal): Answer {
    const limit = principal.kind === 'none' ? 60 : 5000;
    const used = this.rateUsed.get(principal.key) ?? 0;
    const reset = Math.ceil(Date.now() / 1000) + 3600;
    const core = { limit, used, remaining: Math.max(0, limit - used), reset };
    const other = { limit: 30, used: 0, remaining: 30, reset };
    return {
      status: 200,
      body: {
        resources: { core, search: other, graphql: { ...core, used: 0, remaining: limit } },
        rate: core,
      },
    };
  }

  // ── approvals (added with the approvals feature) ─────────────────────────────────────────────

  /** Decisions GitHub recorded, oldest first. */
  reviews(): RecordedReview[] {
    return [...this.reviewLog];
  }

  /** Requests to the web listener (device flow, token endpoint), oldest first. */
  webRequests(): WebRequest[] {
    return [...this.webLog];
  }

  /**
   * Every credential the stand-in handed out (installation tokens, device codes, user access and refresh
   * tokens): what a test looks for in logs that must never hold one.
   */
  issuedSecrets(): string[] {
    return [...this.minted, ...this.installationTokens.keys()];
  }

  /** The environments a run is waiting at, with the rules still to pass. */
  pendingGates(runId: number): Array<{ environment: string; customRule: boolean; reviewers: boolean }> {
    return [...this.gates.values()]
      .filter((g) => g.runId === runId && this.gateOpen(g))
      .map((g) => ({ environment: g.environment, customRule: g.customRule, reviewers: g.reviewers }));
  }

  /** The user enters `userCode` at the verification page and authorizes the App as `login`. */
  authorizeDevice(userCode: string, login: string): void {
    const grant = this.grantByUserCode(userCode);
    grant.authorizedAs = { login, id: actorIdFor(login), type: 'User' };
  }

  /** The user declines the authorization. */
  denyDevice(userCode: string): void {
    this.grantByUserCode(userCode).denied = true;
  }

  /** The device code expires now (as it does after `expires_in`). */
  expireDevice(userCode: string): void {
    this.grantByUserCode(userCode).expiresAt = Date.now() - 1;
  }

  /** The user access token expires now (stand-in clock), as after 8 hours. */
  expireUserToken(token: string): void {
    const grant = this.userTokens.get(token);
    if (grant) grant.expiresAt = this.clock - 1;
  }

  private grantByUserCode(userCode: string): DeviceGrant {
    const grant = [...this.deviceGrants.values()].find((g) => g.userCode === userCode);
    if (!grant) throw new Error(`no device authorization with user code ${userCode}`);
    return grant;
  }

  private hasRules(environment: string): boolean {
    const rules = this.envRules[environment];
    return rules !== undefined && (rules.customRule === true || (rules.reviewers ?? []).length > 0);
  }

  private environmentId(name: string): number {
    const names = Object.keys(this.envRules).sort();
    const index = names.indexOf(name);
    return 161_171_000 + (index === -1 ? 500 + name.length : index);
  }

  private gateOpen(gate: Gate): boolean {
    const job = this.sim.get(gate.runId)?.jobs.find((j) => j.id === gate.jobId);
    return job?.status === 'waiting';
  }

  /** Opens a gate when a job starts waiting at an environment; the custom rule's webhook goes out once. */
  private onSimEventForApprovals(e: SimEvent): void {
    if (e.kind !== 'workflow_job' || e.action !== 'waiting') return;
    const environment = e.job.def.environment;
    if (!environment) return;
    const key = `${e.run.id}/${environment}`;
    if (this.gates.get(key)?.jobId === e.job.id) return; // `waiting` is delivered twice for one wait
    const rules = this.envRules[environment] ?? {};
    this.deploymentSeq += 1;
    const deployment: SimDeployment = {
      id: 1_800_000_000 + this.deploymentSeq,
      environment,
      runId: e.run.id,
      sha: e.run.headSha,
      ref: e.run.ref,
      creator: e.run.actor,
      createdAt: this.clock,
    };
    this.gates.set(key, {
      runId: e.run.id,
      environment,
      jobId: e.job.id,
      deployment,
      since: this.clock,
      customRule: rules.customRule === true,
      reviewers: (rules.reviewers ?? []).length > 0,
    });
    if (rules.customRule !== true) return;
    const payload = this.hooks.deploymentProtectionRule(e.run, deployment, this.payloadContext());
    const problems = this.openapi.checkWebhook('deployment_protection_rule', 'requested', payload);
    if (problems.length > 0)
      this.violationLog.push({
        kind: 'webhook',
        operationId: 'deployment_protection_rule.requested',
        problems,
      });
    if (!this.webhook || !this.webhooksEnabled) return;
    this.outbox.push({
      id: randomUUID(),
      event: 'deployment_protection_rule',
      action: 'requested',
      runId: e.run.id,
      body: JSON.stringify(payload),
    });
  }

  /** Releases the job once no rule is left (after the wait timer), or fails it on a rejection. */
  private settle(gate: Gate, state: 'approved' | 'rejected'): void {
    const key = `${gate.runId}/${gate.environment}`;
    if (state === 'rejected') {
      this.gates.delete(key);
      this.sim.reject(gate.runId, gate.environment, this.clock);
      return;
    }
    if (gate.customRule || gate.reviewers) return;
    this.gates.delete(key);
    const timer = (this.envRules[gate.environment]?.waitTimerMinutes ?? 0) * 60_000;
    this.sim.approve(gate.runId, gate.environment, this.clock, gate.since + timer);
  }

  private parseJsonBody(rawBody: string): Record<string, unknown> {
    try {
      const data = JSON.parse(rawBody) as unknown;
      return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }

  /** POST …/runs/{run_id}/deployment_protection_rule: the App decides (or reports on) its own rule. */
  private reviewCustomGates(p: Record<string, string>, principal: Principal, rawBody: string): Answer {
    if (principal.kind !== 'installation') {
      return error(403, 'GitHub Apps can only review their own custom deployment protection rules');
    }
    const run = this.sim.get(Number(p.run_id));
    if (!run) return NOT_FOUND();
    const body = this.parseJsonBody(rawBody);
    const environment = String(body.environment_name ?? '');
    const gate = this.gates.get(`${run.id}/${environment}`);
    if (!gate || !this.gateOpen(gate) || !gate.customRule) {
      return error(422, `No pending custom deployment protection rule for environment ${environment}`);
    }
    const state = body.state === 'approved' || body.state === 'rejected' ? body.state : undefined;
    this.reviewLog.push({
      runId: run.id,
      environment,
      gate: 'custom-rule',
      state: state ?? 'comment',
      login: principal.actor?.login ?? '',
      auth: principal.kind,
      ...(typeof body.comment === 'string' ? { comment: body.comment } : {}),
    });
    if (!state) return { status: 204 };
    gate.customRule = false;
    this.settle(gate, state);
    return { status: 204 };
  }

  private canReview(gate: Gate, principal: Principal): { ok: true } | { ok: false; message: string } {
    const login = principal.actor?.login ?? '';
    const rules = this.envRules[gate.environment] ?? {};
    const run = this.sim.get(gate.runId);
    if (!(rules.reviewers ?? []).some((r) => r.toLowerCase() === login.toLowerCase())) {
      return {
        ok: false,
        message: `${login} is not a required reviewer for the environment ${gate.environment}`,
      };
    }
    if (rules.preventSelfReview && run && run.actor.login.toLowerCase() === login.toLowerCase()) {
      return {
        ok: false,
        message: `Self-review is prevented for the environment ${gate.environment}: ${login} triggered this run`,
      };
    }
    return { ok: true };
  }

  /** GET …/runs/{run_id}/pending_deployments. */
  private getPendingDeployments(p: Record<string, string>, principal: Principal): Answer {
    const run = this.sim.get(Number(p.run_id));
    if (!run) return NOT_FOUND();
    const ctx = this.payloadContext();
    const human = principal.kind === 'user' || principal.kind === 'token';
    const list = [...this.gates.values()]
      .filter((g) => g.runId === run.id && this.gateOpen(g))
      .map((g) => {
        const rules = this.envRules[g.environment] ?? {};
        return pendingDeploymentShape(
          this.openapi,
          { id: this.environmentId(g.environment), name: g.environment },
          {
            waitTimerMinutes: rules.waitTimerMinutes ?? 0,
            waitTimerStartedAt: rules.waitTimerMinutes ? g.since : null,
            canApprove: human && g.reviewers && this.canReview(g, principal).ok,
            reviewers: (rules.reviewers ?? []).map((login) => ({
              login,
              id: actorIdFor(login),
              type: 'User' as const,
            })),
          },
          ctx,
        );
      });
    return { status: 200, body: list };
  }

  /** POST …/runs/{run_id}/pending_deployments: a required reviewer decides, with their own identity. */
  private reviewPendingDeployments(p: Record<string, string>, principal: Principal, rawBody: string): Answer {
    const run = this.sim.get(Number(p.run_id));
    if (!run) return NOT_FOUND();
    const body = this.parseJsonBody(rawBody);
    const ids = Array.isArray(body.environment_ids) ? body.environment_ids.map(Number) : [];
    const state = body.state === 'rejected' ? 'rejected' : 'approved';
    const open = [...this.gates.values()].filter(
      (g) => g.runId === run.id && this.gateOpen(g) && g.reviewers,
    );
    const targets = ids.map((id) => open.find((g) => this.environmentId(g.environment) === id));
    if (ids.length === 0 || targets.some((g) => g === undefined)) {
      return validationError('There are no pending deployments for the given environment ids');
    }
    if (principal.kind !== 'user' && principal.kind !== 'token') {
      return validationError('A GitHub App cannot be a required reviewer');
    }
    for (const gate of targets as Gate[]) {
      const allowed = this.canReview(gate, principal);
      if (!allowed.ok) return validationError(allowed.message);
    }
    const ctx = this.payloadContext();
    const deployments = (targets as Gate[]).map((gate) => {
      this.reviewLog.push({
        runId: run.id,
        environment: gate.environment,
        gate: 'reviewers',
        state,
        login: principal.actor?.login ?? '',
        auth: principal.kind,
        ...(typeof body.comment === 'string' ? { comment: body.comment } : {}),
      });
      const shape = deploymentShape(gate.deployment, ctx);
      gate.reviewers = false;
      this.settle(gate, state);
      return shape;
    });
    return { status: 200, body: deployments };
  }

  // ── HTTP: the web listener (github.com: device flow and the token endpoint) ───────────────────

  private async handleWeb(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', this.webUrl);
    const raw = await readBody(req);
    const params = parseFormOrJson(raw, req.headers['content-type']);
    const answer = (status: number, body: Record<string, unknown>, outcome: string): void => {
      this.webLog.push({
        method,
        path: url.pathname,
        ...(params.grant_type ? { grantType: params.grant_type } : {}),
        outcome,
        at: Date.now(),
      });
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    };
    const oauthError = (code: string, description: string, extra: Record<string, unknown> = {}): void =>
      answer(
        200,
        {
          error: code,
          error_description: description,
          error_uri:
            'https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow',
          ...extra,
        },
        code,
      );
    if (
      method !== 'POST' ||
      (url.pathname !== '/login/device/code' && url.pathname !== '/login/oauth/access_token')
    ) {
      this.violationLog.push({
        kind: 'unknown-operation',
        method,
        path: url.pathname,
        problems: ['the web listener serves only POST /login/device/code and POST /login/oauth/access_token'],
      });
      answer(404, { message: 'Not Found' }, 'not-found');
      return;
    }
    const oauth = this.oauth;
    if (!oauth || params.client_id !== oauth.clientId) {
      oauthError('incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.');
      return;
    }
    const unit = oauth.unitMs ?? 1000;
    if (url.pathname === '/login/device/code') {
      const deviceCode = randomBytes(20).toString('hex');
      const userCode = `${randomLetters(4)}-${randomLetters(4)}`;
      const interval = oauth.interval ?? 5;
      const expiresIn = oauth.expiresIn ?? 900;
      this.deviceGrants.set(deviceCode, {
        deviceCode,
        userCode,
        createdAt: Date.now(),
        expiresAt: Date.now() + expiresIn * unit,
        interval,
      });
      this.minted.push(deviceCode);
      answer(
        200,
        {
          device_code: deviceCode,
          user_code: userCode,
          verification_uri: `${this.webUrl}/login/device`,
          expires_in: expiresIn,
          interval,
        },
        'ok',
      );
      return;
    }
    if (params.grant_type === 'urn:ietf:params:oauth:grant-type:device_code') {
      const grant = this.deviceGrants.get(params.device_code ?? '');
      if (!grant || grant.used) {
        oauthError('incorrect_device_code', 'The device_code provided is not valid.');
        return;
      }
      const now = Date.now();
      if (grant.expiresAt <= now) {
        oauthError('expired_token', 'The `device_code` has expired.');
        return;
      }
      if (grant.denied) {
        oauthError('access_denied', 'The authorization request was denied.');
        return;
      }
      const tooSoon = grant.lastPollAt !== undefined && now - grant.lastPollAt < grant.interval * unit;
      grant.lastPollAt = now;
      if (tooSoon) {
        grant.interval += 5;
        oauthError('slow_down', 'Too many requests have been made in the same timeframe.', {
          interval: grant.interval,
        });
        return;
      }
      if (!grant.authorizedAs) {
        oauthError('authorization_pending', 'The authorization request is still pending.');
        return;
      }
      grant.used = true;
      answer(200, this.issueUserTokens(grant.authorizedAs, oauth), 'ok');
      return;
    }
    if (params.grant_type === 'refresh_token') {
      if (
        oauth.clientSecret !== undefined &&
        params.client_secret !== undefined &&
        params.client_secret !== oauth.clientSecret
      ) {
        oauthError(
          'incorrect_client_credentials',
          'The client_id and/or client_secret passed are incorrect.',
        );
        return;
      }
      const grant = this.refreshTokens.get(params.refresh_token ?? '');
      if (!grant || grant.expiresAt <= this.clock) {
        oauthError('bad_refresh_token', 'The refresh token passed is incorrect or expired.');
        return;
      }
      // Rotation: the refresh token and every access token of that user issued before are spent.
      this.refreshTokens.delete(params.refresh_token ?? '');
      for (const [token, user] of this.userTokens)
        if (user.actor.login === grant.actor.login) this.userTokens.delete(token);
      answer(200, this.issueUserTokens(grant.actor, oauth), 'ok');
      return;
    }
    oauthError('unsupported_grant_type', 'The grant type is not supported.');
  }

  private issueUserTokens(actor: SimActor, oauth: OAuthOptions): Record<string, unknown> {
    const access = `ghu_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x').slice(0, 36)}`;
    const refresh = `ghr_${randomBytes(60).toString('base64url').replace(/[-_]/g, 'x').slice(0, 76)}`;
    const accessSeconds = oauth.accessTokenSeconds ?? 28_800;
    const refreshSeconds = oauth.refreshTokenSeconds ?? 15_897_600;
    this.userTokens.set(access, { actor, expiresAt: this.clock + accessSeconds * 1000 });
    this.refreshTokens.set(refresh, { actor, expiresAt: this.clock + refreshSeconds * 1000 });
    this.minted.push(access, refresh);
    return {
      access_token: access,
      expires_in: accessSeconds,
      refresh_token: refresh,
      refresh_token_expires_in: refreshSeconds,
      token_type: 'bearer',
      scope: '',
    };
  }

  // ── HTTP: artifact storage ─────────────────────────────────────────────────────────────────────

  private async handleStorage(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await readBody(req);
    const url = new URL(req.url ?? '/', this.storageUrl);
    const authorization = req.headers.authorization !== undefined;
    const m = /^\/artifacts\/(\d+)\/([\w-]+)$/.exec(url.pathname);
    const grant = m ? this.storageUrls.get(m[2] as string) : undefined;
    // One use per URL; an expired or reused one is refused as blob storage does (403).
    if (m) this.storageUrls.delete(m[2] as string);
    const artifact =
      grant && grant.expiresAt > this.clock && String(grant.artifactId) === m?.[1]
        ? this.sim.artifact(grant.artifactId)
        : undefined;
    if (authorization) {
      this.violationLog.push({
        kind: 'storage',
        path: url.pathname,
        problems: ['an Authorization header was sent to artifact storage'],
      });
    }
    if (req.method !== 'GET' || !artifact) {
      this.storageLog.push({ path: url.pathname, status: 403, authorization });
      res.writeHead(403, { 'content-type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Signature not valid or expired.</Message></Error>',
      );
      return;
    }
    this.storageLog.push({ path: url.pathname, status: 200, authorization });
    res.writeHead(200, {
      'content-type': 'application/zip',
      'content-length': String(artifact.zip.byteLength),
    });
    res.end(Buffer.from(artifact.zip));
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `created` search syntax → predicate on a creation time (ms). */
function createdFilter(raw: string): (ms: number) => boolean {
  const parse = (d: string): number => Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(d) ? `${d}T00:00:00Z` : d);
  const range = /^(.+)\.\.(.+)$/.exec(raw);
  if (range) {
    const from = range[1] === '*' ? -Infinity : parse(range[1] as string);
    const to = range[2] === '*' ? Infinity : parse(range[2] as string);
    return (ms) => ms >= from && ms <= to;
  }
  const m = /^(>=|<=|>|<)?(.+)$/.exec(raw) as RegExpExecArray;
  const at = parse(m[2] as string);
  switch (m[1]) {
    case '>=':
      return (ms) => ms >= at;
    case '>':
      return (ms) => ms > at;
    case '<=':
      return (ms) => ms <= at;
    case '<':
      return (ms) => ms < at;
    default:
      return (ms) => new Date(ms).toISOString().slice(0, 10) === new Date(at).toISOString().slice(0, 10);
  }
}

// ── approvals (added with the approvals feature) ──

/** A 422 with GitHub's validation-error body. */
function validationError(message: string): Answer {
  return {
    status: 422,
    body: {
      message,
      documentation_url:
        'https://docs.github.com/rest/actions/workflow-runs#review-pending-deployments-for-a-workflow-run',
    },
  };
}

/** A stable user id per login (the stand-in has no user directory). */
function actorIdFor(login: string): number {
  let hash = 0;
  for (const ch of login.toLowerCase()) hash = (hash * 31 + ch.charCodeAt(0)) % 1_000_000;
  return 8_000_000 + hash;
}

const LETTERS = 'BCDFGHJKLMNPQRSTVWXZ';
function randomLetters(n: number): string {
  return [...randomBytes(n)].map((b) => LETTERS[b % LETTERS.length]).join('');
}

/** The token endpoint takes form-encoded parameters (and JSON). */
function parseFormOrJson(raw: string, contentType: string | undefined): Record<string, string | undefined> {
  if (/application\/json/i.test(contentType ?? '')) {
    try {
      const data = JSON.parse(raw) as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, v === undefined ? undefined : String(v)]),
      );
    } catch {
      return {};
    }
  }
  return Object.fromEntries(new URLSearchParams(raw));
}
