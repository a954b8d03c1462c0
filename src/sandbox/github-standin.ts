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
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createHmac,
  createPublicKey,
  randomBytes,
  randomUUID,
  verify as verifySignature,
  type KeyObject,
} from 'node:crypto';
import { GithubOpenApi, type OperationMatch } from './github-openapi.js';
import { loadWorkflow, validateDispatchInputs, type WorkflowModel } from './github-workflow.js';
import { RunSimulator, type SimActor, type SimEvent, type SimRun } from './github-simulator.js';
import { scenarioNamed, type Scenario, type ScenarioName } from './github-scenarios.js';
import { RestShapes, WebhookShapes, iso, type PayloadContext } from './github-payloads.js';

// ── configuration ────────────────────────────────────────────────────────────────────────────────

export interface GithubStandInOptions {
  owner?: string;
  repo?: string;
  /** The workflow file simulated. Default: this repository's .github/workflows/terraform.yaml. */
  workflowFile?: string;
  /** Personal access tokens accepted, each with the login it acts as. */
  tokens?: Record<string, string>;
  /** GitHub App: installation tokens are minted for app JWTs signed by `publicKey`'s private key (RS256). */
  app?: { id: string | number; publicKey: string | KeyObject; installationId: number; slug?: string };
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
}

export const DEFAULT_STANDIN_PAT = 'ghp_standinPersonalAccessToken0000000000';

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
  auth: 'none' | 'token' | 'installation' | 'app-jwt' | 'invalid';
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
    { id: string; publicKey: KeyObject; installationId: number; slug: string } | undefined;
  private readonly refs: Set<string>;
  private readonly defaultScenario: (inputs: Record<string, string>) => Scenario;
  private ticker: NodeJS.Timeout | undefined;
  private busy: Promise<void> = Promise.resolve();

  private constructor(
    private readonly server: Server,
    private readonly storage: Server,
    apiPort: number,
    storagePort: number,
    host: string,
    opts: GithubStandInOptions,
  ) {
    this.url = `http://${host}:${apiPort}`;
    this.storageUrl = `http://${host}:${storagePort}`;
    this.owner = opts.owner ?? 'acme';
    this.repo = opts.repo ?? 'gitops-infra-pipeline';
    this.openapi = GithubOpenApi.load();
    this.workflow = loadWorkflow(opts.workflowFile);
    this.clock = opts.startTime ?? Date.now();
    this.tokens = opts.tokens ?? { [DEFAULT_STANDIN_PAT]: 'deployer' };
    this.app = opts.app
      ? {
          id: String(opts.app.id),
          publicKey:
            typeof opts.app.publicKey === 'string' ? createPublicKey(opts.app.publicKey) : opts.app.publicKey,
          installationId: opts.app.installationId,
          slug: opts.app.slug ?? 'gitops-chatops',
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
      onEvent: (e) => this.onSimEvent(e),
      htmlUrlFor: (runId) => `https://github.com/${this.owner}/${this.repo}/actions/runs/${runId}`,
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
    const apiPort = await listen(api, opts.port ?? 0);
    const storagePort = await listen(storage, 0);
    const instance = new GithubStandIn(api, storage, apiPort, storagePort, host, opts);
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
    if (opts.speed !== undefined) instance.runAtSpeed(opts.speed);
    return instance;
  }

  async stop(): Promise<void> {
    if (this.ticker) clearTimeout(this.ticker);
    this.ticker = undefined;
    await this.busy;
    await Promise.all(
      [this.server, this.storage].map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
  }

  // ── clock ──────────────────────────────────────────────────────────────────────────────────────

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
      webUrl: 'https://github.com',
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
    this.send(res, { ...answer, body }, principal);
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

  private send(res: ServerResponse, answer: Answer, principal: Principal): void {
    const body = answer.body === undefined ? '' : String(answer.body);
    const used = (this.rateUsed.get(principal.key) ?? 0) + (principal.kind === 'none' ? 0 : 1);
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
        if (!this.isOurWorkflow(p.workflow_id)) return NOT_FOUND();
        return this.page(match, query, this.listRuns(query), 'workflow_runs');
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
        const run = this.sim.get(Number(p.run_id));
        if (!run) return NOT_FOUND();
        if (!this.sim.cancel(run.id, this.clock))
          return error(409, 'Cannot cancel a workflow run that is completed.');
        return { status: 202, body: {} };
      }
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

  private dispatch(p: Record<string, string>, principal: Principal, rawBody: string): Answer {
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

  /** GET …/workflows/{id}/runs filters: event, status (status or conclusion), created, actor, branch, head_sha. */
  private listRuns(query: URLSearchParams): unknown[] {
    const ctx = this.payloadContext();
    const created = query.get('created');
    const inCreated = created ? createdFilter(created) : () => true;
    // Every simulated run was started by workflow_dispatch.
    const event = query.get('event');
    if (event && event !== 'workflow_dispatch') return [];
    return this.sim.all
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
        permissions: { actions: 'read', deployments: 'write', metadata: 'read' },
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
