// A tiny stand-in for Kargo's controller, for the sandbox: it plays the parts of Kargo that the bot watches,
// on top of the Kubernetes API stand-in (kargo-standin.ts), in-process. Where it and the real Kargo v1.11.2
// controller disagreed (test/integration/kargo-controller.test.ts runs the real one), the real one won: the
// points marked [real] were corrected from what the real controller did.
//
// - loadManifests(): applies this repository's kargo/*.yaml (Project → its namespace, ProjectConfig,
//   Warehouse, Stages; core kinds such as the Secret example are skipped: secrets come from `secrets`).
// - discoverFreight(): Freight from this repository's own git history — the newest `freightCount` (default 1:
//   [real] a Warehouse makes Freight of its newest commit only; the sandbox asks for more as a seeded history)
//   commits of the current branch (`gitRef`, default HEAD) that touch each Warehouse's first git
//   subscription's includePaths/excludePaths, oldest created first. name = Kargo's Freight ID (kargo-freight.ts
//   freightId: SHA-1 over `Warehouse:<name>|<repoURL>:<sha>`), alias = adjective-animal derived from the name,
//   commits[0] = {repoURL and branch from the subscription, id, message = [real] the subject cut to 80 bytes
//   with "...", author, committer}, discoveredAt = the commit's committer date (so a seeded history keeps git
//   order; Kargo writes the discovery time). A Warehouse annotated kargo.akuity.io/refresh is rescanned.
// - auto-promotion (option `autoPromotion`, default true): a Stage selected by a ProjectConfig promotion policy
//   with autoPromotionEnabled (stageSelector.name exact, `glob:` or `regex:`; label selectors not supported)
//   gets a Promotion (generateName `promo-`, named by the webhook) for its newest available Freight when that
//   is not what it runs and no Promotion for it exists yet. Auto-promotion holds (Stage
//   status.autoPromotionHolds) are not simulated; the hold/resume annotations are (kargo-admission.ts).
// - Promotions, one at a time per Stage in name order: (no phase) → Pending → stage.status.currentPromotion
//   → Running → each step in order → Succeeded | Failed | Errored | Aborted, with status.startedAt/finishedAt,
//   currentStep ([real] the last step's index once done), stepExecutionMetadata[] (alias, startedAt,
//   finishedAt, errorCount only once a step erred, status, message) and state[<alias>] = the step's outputs.
//   Only `http` steps run (others → Errored). [real] Every step is visited: after a failure, a step whose `if`
//   (default: all previous steps succeeded) is false is recorded Skipped without times; the phase is the worst
//   step status (Errored > Failed > Aborted > Running > Skipped > Succeeded) among steps without
//   continueOnError, with that step's message.
// - http steps, with Kargo's semantics (kargo-api.md §9): config evaluated as a `${{ }}` template
//   (kargo-expr.ts) with vars (promotion vars, then step vars, each evaluated in order), ctx
//   {project, promotion, stage, targetFreight, meta.promotion.actor}, outputs (earlier steps' state),
//   secret(name), commitFrom(repoURL).ID/.RepoURL/.Branch/..., warehouse(name), success(), failure(),
//   always(), status(alias); then validated against json-schemas/http-config.json. The request is sent for
//   real; failureExpression true → Failed (wins), successExpression true → Succeeded (outputs evaluated),
//   neither defined → 2xx succeeds and anything else is an error, otherwise Running: the whole request is
//   re-sent every `pollIntervalMs` (the sandbox's poll interval replaces config.pollInterval; Kargo 1.11
//   polls every 30 s by default) until retry.timeout (→ Errored). Errors (network, timeouts, expression
//   errors) count against retry.errorThreshold (default 1), consecutively; [real] messages as Kargo's
//   orchestrator writes them: `error running step "x": …; step will be retried`, then
//   `step "x" met error threshold of N: error running step "x": …`, `step "x" timed out after 5h0m0s`, and a
//   network error as Go reports it (`Post "<url>": dial tcp 127.0.0.1:9: connect: connection refused`).
//   URLs are rewritten by prefix (`githubApiUrl` replaces https://api.github.com, since the Stages' ghApi var
//   names the real API; `urlRewrites` adds more), and only loopback hosts are called unless
//   `allowExternalHosts` is set: a step that would reach the internet errors instead.
// - On success: the Freight is currentlyIn and (no verification is defined) verifiedIn the Stage at once
//   ([real] a later promotion of the same Freight keeps the first verifiedAt), the Stage's freightHistory gets
//   a new entry at index 0 (max 10; [real] also when it is the Freight already there, each entry with a
//   Successful verificationHistory), the previous Freight leaves currentlyIn and its longestSoak is updated,
//   health Healthy. [real] While a Promotion runs, and after one that did not succeed, health is Unknown with
//   Kargo's issue text. Always: stage.status.lastPromotion (with the full status), currentPromotion cleared.
// - Events as Kargo sends them [real]: FreightCreated "Freight created from discovered artifacts"
//   (controller:warehouse-controller); PromotionCreated "Automatically promoted Freight from origin
//   "Warehouse/<w>" for Stage "<s>"" (controller:stage-controller); Promotion<Phase> "Promotion <Phase>[:
//   message]" (actor: the Promotion's creator, else controller:promotion-controller; Succeeded with
//   verification-pending "false"); FreightVerificationSucceeded per successful promotion.
// - Abort: annotation kargo.akuity.io/abort (`terminate` or {"action":"terminate"}; the webhook adds the actor)
//   on a Pending or Running Promotion → Aborted, "Promotion terminated by <actor>" (the running step Aborted).
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { parseGoDuration } from '../domain/duration.js';
import {
  ANNOTATION_ABORT,
  ANNOTATION_CREATE_ACTOR,
  KARGO_API_VERSION,
  candidateFreight,
  freightEventAnnotations,
  parseAbortRequest,
  promotionEventAnnotations,
  recordKargoEvent,
  stageAutoPromotionEnabled,
} from './kargo-admission.js';
import { ExprError, evaluateConfig, evaluateExpr, evaluateTemplate, type ExprEnv } from './kargo-expr.js';
import {
  commitsFromGit,
  freightId,
  freightReference,
  longestSoak,
  originKey,
  type GitSubscription,
} from './kargo-freight.js';
import { ApiError, clone, formatGoDuration, isObject, metaTime, type JsonObject } from './kargo-k8s.js';
import { defaultCrdDir, findRepoRoot, loadHttpConfigSchema } from './kargo-schema.js';
import { KargoStandIn, type KargoStandInLogger, type KargoStandInOptions } from './kargo-standin.js';
import type { KargoStore, ResourceType, StoreEvent, WriteContext } from './kargo-store.js';

export interface KargoSimulatorOptions {
  standIn: KargoStandIn;
  /** The git repository Freight is made from, and whose kargo/ is loaded. Default: this repository. */
  repoDir?: string;
  /** Default `<repoDir>/kargo`. */
  manifestsDir?: string;
  /** How many commits (per Warehouse) become Freight. Default 5. */
  freightCount?: number;
  /**
   * The repository URL, as an installation edits it (kargo/README.md): the Warehouse subscriptions' repoURL
   * and the Stages' repoURL var. Freight is still made from repoDir. Default: the manifests' own.
   */
  repoURL?: string;
  /** The branch/ref whose history is scanned. Default HEAD (the current branch). */
  gitRef?: string;
  /** Base URL that replaces `https://api.github.com` in step URLs (the GitHub stand-in). */
  githubApiUrl?: string;
  /** More URL prefix rewrites, applied before githubApiUrl. */
  urlRewrites?: Record<string, string>;
  /** What secret(name) returns: name → data. Missing secrets evaluate to {} as in Kargo. */
  secrets?: Record<string, Record<string, string>>;
  /** Poll interval of steps that are still Running (and retry delay after an error). Default 2000 ms. */
  pollIntervalMs?: number;
  /** Follow the ProjectConfig's auto-promotion policies. Default true (tests turn it off). */
  autoPromotion?: boolean;
  /** Allow step requests to non-loopback hosts. Default false: the sandbox never calls the internet. */
  allowExternalHosts?: boolean;
  crdDir?: string;
  fetch?: typeof fetch;
  logger?: KargoStandInLogger;
  now?: () => Date;
}

const CONTROLLER: WriteContext = { user: 'system:serviceaccount:kargo:kargo-controller', controlPlane: true };
/** The actors Kargo's controllers name in their Events (`controller:<name>`). */
const PROMOTION_CONTROLLER = 'controller:promotion-controller';
const STAGE_CONTROLLER = 'controller:stage-controller';
const WAREHOUSE_CONTROLLER = 'controller:warehouse-controller';
const MAX_RESPONSE_BYTES = 2 * 1024 * 1024;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const obj = (v: unknown): JsonObject => (isObject(v) ? v : {});
const metaOf = (o: JsonObject): JsonObject => obj(o.metadata);

type StepStatus = 'Running' | 'Succeeded' | 'Failed' | 'Errored' | 'Aborted' | 'Skipped';
type Phase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Errored' | 'Aborted';

interface Execution {
  namespace: string;
  stage: string;
  promotion: string;
  controller: AbortController;
  /** Why the execution was cut short: an abort annotation (with its actor) or the simulator stopping. */
  cancel?: { reason: 'abort'; actor: string | undefined } | { reason: 'stop' };
  done: Promise<void>;
}

interface StepOutcome {
  status: Exclude<StepStatus, 'Running' | 'Skipped'>;
  message?: string;
  outputs?: Record<string, unknown>;
}

class Cancelled extends Error {}

export class KargoSimulator {
  readonly store: KargoStore;
  private readonly options: KargoSimulatorOptions;
  private readonly repoDir: string;
  private readonly now: () => Date;
  private readonly fetch: typeof fetch;
  private readonly httpConfig: ValidateFunction;
  private readonly executions = new Map<string, Execution>();
  private readonly dirty = new Set<string>();
  private scheduled = false;
  private reconciling: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private readonly refreshTokens = new Map<string, string>();

  constructor(options: KargoSimulatorOptions) {
    this.options = options;
    this.store = options.standIn.store;
    this.repoDir = options.repoDir ?? findRepoRoot();
    this.now = options.now ?? (() => new Date());
    this.fetch = options.fetch ?? globalThis.fetch;
    this.httpConfig = loadHttpConfigSchema(options.crdDir ?? defaultCrdDir());
  }

  /** Loads the manifests, makes Freight from git and starts reconciling. */
  static async start(options: KargoSimulatorOptions): Promise<KargoSimulator> {
    const sim = new KargoSimulator(options);
    sim.loadManifests();
    await sim.discoverFreight();
    sim.run();
    return sim;
  }

  /** Starts reacting to changes (idempotent). */
  run(): void {
    if (this.unsubscribe || this.stopped) return;
    this.unsubscribe = this.store.subscribe((e) => this.onEvent(e));
    for (const stage of this.store.list(this.kargo('stages'))) this.markDirty(str(metaOf(stage).namespace));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const e of this.executions.values()) {
      e.cancel = { reason: 'stop' };
      e.controller.abort();
    }
    await Promise.allSettled([...this.executions.values()].map((e) => e.done));
    await this.reconciling;
  }

  /** Resolves once nothing is scheduled or running (promotions that keep polling keep it busy). */
  async idle(): Promise<void> {
    for (;;) {
      await this.reconciling;
      await Promise.allSettled([...this.executions.values()].map((e) => e.done));
      if (!this.scheduled && this.executions.size === 0 && this.dirty.size === 0) return;
      await new Promise((r) => setImmediate(r));
    }
  }

  // ---- manifests and freight ------------------------------------------------------------------------------

  /** Applies kargo/*.yaml: Projects first, then ProjectConfigs, Warehouses, Stages, anything else Kargo. */
  loadManifests(dir: string = this.options.manifestsDir ?? path.join(this.repoDir, 'kargo')): JsonObject[] {
    const order = ['Project', 'ProjectConfig', 'Warehouse', 'Stage'];
    const docs: JsonObject[] = [];
    for (const file of readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()) {
      for (const doc of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))) {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
        const value = doc.toJS() as unknown;
        if (isObject(value) && value.apiVersion === KARGO_API_VERSION) docs.push(this.withRepoURL(value));
      }
    }
    const rank = (o: JsonObject) => {
      const i = order.indexOf(str(o.kind));
      return i < 0 ? order.length : i;
    };
    docs.sort((a, b) => rank(a) - rank(b));
    const applied: JsonObject[] = [];
    for (const doc of docs) {
      const r = [...this.store.resources.values()].find(
        (x) => x.group === 'kargo.akuity.io' && x.kind === doc.kind,
      );
      if (!r) throw new Error(`unknown Kargo kind ${str(doc.kind)}`);
      const meta = metaOf(doc);
      const ns = r.namespaced ? str(meta.namespace) : undefined;
      const existing = this.store.get(r, ns, str(meta.name));
      if (existing) {
        const body = clone(doc);
        metaOf(body).resourceVersion = metaOf(existing).resourceVersion;
        applied.push(this.store.update(r, ns, str(meta.name), body, CONTROLLER).object);
      } else {
        applied.push(this.store.create(r, ns, doc, CONTROLLER).object);
      }
    }
    return applied;
  }

  /** The documented repository URL edit (options.repoURL), on a Warehouse or a Stage. */
  private withRepoURL(doc: JsonObject): JsonObject {
    const repoURL = this.options.repoURL;
    if (!repoURL || (doc.kind !== 'Warehouse' && doc.kind !== 'Stage')) return doc;
    const edited = clone(doc);
    const spec = obj(edited.spec);
    for (const sub of Array.isArray(spec.subscriptions) ? spec.subscriptions : []) {
      if (isObject(sub) && isObject(sub.git)) sub.git.repoURL = repoURL;
    }
    for (const v of Array.isArray(spec.vars) ? spec.vars : []) {
      if (isObject(v) && v.name === 'repoURL') v.value = repoURL;
    }
    return edited;
  }

  /** Makes Freight from git for every Warehouse (or those of `namespace`); returns the Freight created. */
  async discoverFreight(namespace?: string): Promise<JsonObject[]> {
    const created: JsonObject[] = [];
    for (const warehouse of this.store.list(this.kargo('warehouses'), namespace)) {
      const wm = metaOf(warehouse);
      const ns = str(wm.namespace);
      const subscriptions = Array.isArray(obj(warehouse.spec).subscriptions)
        ? (obj(warehouse.spec).subscriptions as unknown[])
        : [];
      const git = subscriptions.map((s) => obj(s).git).find(isObject) as GitSubscription | undefined;
      if (!git?.repoURL) continue;
      const commits = await commitsFromGit(this.repoDir, git, {
        limit: this.options.freightCount ?? 1,
        ref: this.options.gitRef,
      });
      for (const commit of [...commits].reverse()) {
        const body: JsonObject = {
          apiVersion: KARGO_API_VERSION,
          kind: 'Freight',
          metadata: { namespace: ns },
          origin: { kind: 'Warehouse', name: str(wm.name) },
          commits: [
            {
              repoURL: git.repoURL,
              id: commit.id,
              ...(git.branch ? { branch: git.branch } : {}),
              message: shortenSubject(commit.subject),
              author: commit.author,
              committer: commit.committer,
            },
          ],
          discoveredAt: metaTime(new Date(commit.committedAt)),
        };
        const name = freightId(body);
        (body.metadata as JsonObject).name = name;
        if (this.store.get(this.kargo('freights'), ns, name)) continue;
        const freight = this.store.create(this.kargo('freights'), ns, body, CONTROLLER).object;
        created.push(freight);
        recordKargoEvent(this.store, {
          namespace: ns,
          reason: 'FreightCreated',
          message: 'Freight created from discovered artifacts',
          involved: freight,
          annotations: {
            'event.kargo.akuity.io/actor': WAREHOUSE_CONTROLLER,
            'event.kargo.akuity.io/project': ns,
            ...freightEventAnnotations(freight),
          },
          now: this.now(),
          component: 'warehouse-controller',
        });
      }
      const newest = commits[0];
      if (newest) {
        const lastFreightID = freightId({
          origin: { kind: 'Warehouse', name: str(wm.name) },
          commits: [{ repoURL: git.repoURL, id: newest.id }],
        });
        this.store.modify(
          this.kargo('warehouses'),
          ns,
          str(wm.name),
          (w) => {
            w.status = { ...obj(w.status), lastFreightID, observedGeneration: metaOf(w).generation };
            return w;
          },
          CONTROLLER,
          { subresource: 'status' },
        );
      }
    }
    return created;
  }

  // ---- reconciliation -------------------------------------------------------------------------------------

  private kargo(plural: string): ResourceType {
    return this.store.kargo(plural);
  }

  private onEvent(e: StoreEvent): void {
    if (e.resource.group !== 'kargo.akuity.io') return;
    const m = metaOf(e.object);
    const ns = str(m.namespace);
    if (e.resource.plural === 'warehouses' && e.type !== 'DELETED') {
      const token = str(obj(m.annotations)['kargo.akuity.io/refresh']);
      const key = `${ns}/${str(m.name)}`;
      if (token && this.refreshTokens.get(key) !== token) {
        this.refreshTokens.set(key, token);
        void this.discoverFreight(ns).catch((err: unknown) =>
          this.options.logger?.warn({ err }, 'kargo simulator: freight discovery failed'),
        );
      }
    }
    if (e.resource.plural === 'promotions' && e.type === 'MODIFIED') {
      const exec = this.executions.get(`${ns}/${str(obj(e.object.spec).stage)}`);
      if (exec && exec.promotion === str(m.name) && !exec.cancel && abortRequested(e.object)) {
        exec.cancel = { reason: 'abort', actor: abortActor(e.object) };
        exec.controller.abort();
      }
    }
    if (['promotions', 'stages', 'freights', 'projectconfigs', 'warehouses'].includes(e.resource.plural))
      this.markDirty(ns);
  }

  private markDirty(ns: string): void {
    if (!ns || this.stopped) return;
    this.dirty.add(ns);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const namespaces = [...this.dirty];
      this.dirty.clear();
      this.reconciling = this.reconciling.then(() => {
        for (const n of namespaces) {
          try {
            this.reconcile(n);
          } catch (err) {
            this.options.logger?.warn({ err, namespace: n }, 'kargo simulator: reconcile failed');
          }
        }
      });
    });
  }

  private reconcile(ns: string): void {
    if (this.stopped) return;
    const promotions = this.store.list(this.kargo('promotions'), ns);
    for (const p of promotions) {
      const phase = str(obj(p.status).phase);
      const name = str(metaOf(p).name);
      if (!phase) {
        this.promotionStatus(ns, name, (s) => {
          s.phase = 'Pending';
        });
      } else if (phase === 'Pending' && abortRequested(p)) {
        const exec = this.executions.get(`${ns}/${str(obj(p.spec).stage)}`);
        if (!exec || exec.promotion !== name) {
          this.finish(ns, p, 'Aborted', terminatedBy(abortActor(p)));
        }
      }
    }
    const stages = this.store.list(this.kargo('stages'), ns);
    for (const stage of stages) {
      const stageName = str(metaOf(stage).name);
      const auto =
        this.options.autoPromotion !== false && stageAutoPromotionEnabled(this.store, ns, stageName);
      if (obj(stage.status).autoPromotionEnabled !== auto) {
        this.stageStatus(ns, stageName, (s) => {
          s.autoPromotionEnabled = auto;
        });
      }
      if (this.executions.has(`${ns}/${stageName}`)) continue;
      const pending = this.store
        .list(this.kargo('promotions'), ns)
        .filter(
          (p) =>
            obj(p.spec).stage === stageName && str(obj(p.status).phase) === 'Pending' && !abortRequested(p),
        )
        .sort((a, b) => str(metaOf(a).name).localeCompare(str(metaOf(b).name)));
      const next = pending[0];
      if (next) {
        this.execute(ns, stageName, str(metaOf(next).name));
        continue;
      }
      if (auto) this.autoPromote(ns, stage, promotions);
    }
  }

  private autoPromote(ns: string, stage: JsonObject, promotions: JsonObject[]): void {
    const stageName = str(metaOf(stage).name);
    const current = obj(
      obj(
        (Array.isArray(obj(stage.status).freightHistory)
          ? (obj(stage.status).freightHistory as unknown[])
          : [])[0],
      ).items,
    );
    for (const req of Array.isArray(obj(stage.spec).requestedFreight)
      ? (obj(stage.spec).requestedFreight as unknown[])
      : []) {
      const origin = obj(obj(req).origin);
      const candidate = candidateFreight(this.store, stage, origin, this.now());
      if (!candidate) continue;
      const freightName = str(metaOf(candidate).name);
      if (str(obj(current[originKey(origin)]).name) === freightName) continue;
      if (promotions.some((p) => obj(p.spec).stage === stageName && obj(p.spec).freight === freightName))
        continue;
      // As Kargo's Stage controller: generateName only, the webhook names it <stage>.<ulid>.<freight7>.
      const created = this.store.create(
        this.kargo('promotions'),
        ns,
        {
          apiVersion: KARGO_API_VERSION,
          kind: 'Promotion',
          metadata: { generateName: 'promo-', namespace: ns },
          spec: { stage: stageName, freight: freightName },
        },
        CONTROLLER,
      ).object;
      recordKargoEvent(this.store, {
        namespace: ns,
        reason: 'PromotionCreated',
        message: `Automatically promoted Freight from origin "${originKey(origin)}" for Stage "${stageName}"`,
        involved: created,
        annotations: promotionEventAnnotations(ns, created, candidate, STAGE_CONTROLLER),
        now: this.now(),
        component: 'stage-controller',
      });
      return;
    }
  }

  // ---- status writes --------------------------------------------------------------------------------------

  private promotionStatus(
    ns: string,
    name: string,
    change: (status: JsonObject) => void,
  ): JsonObject | undefined {
    try {
      return this.store.modify(
        this.kargo('promotions'),
        ns,
        name,
        (p) => {
          const status = obj(p.status);
          change(status);
          p.status = status;
          return p;
        },
        CONTROLLER,
        { subresource: 'status' },
      ).object;
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return undefined;
      throw err;
    }
  }

  private stageStatus(ns: string, name: string, change: (status: JsonObject) => void): void {
    try {
      this.store.modify(
        this.kargo('stages'),
        ns,
        name,
        (s) => {
          const status = obj(s.status);
          change(status);
          s.status = status;
          return s;
        },
        CONTROLLER,
        { subresource: 'status' },
      );
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }

  private freightStatus(ns: string, name: string, change: (status: JsonObject) => void): void {
    try {
      this.store.modify(
        this.kargo('freights'),
        ns,
        name,
        (f) => {
          const status = obj(f.status);
          change(status);
          f.status = status;
          return f;
        },
        CONTROLLER,
        { subresource: 'status' },
      );
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }

  // ---- executing a promotion ------------------------------------------------------------------------------

  private execute(ns: string, stage: string, promotion: string): void {
    const controller = new AbortController();
    const exec: Execution = { namespace: ns, stage, promotion, controller, done: Promise.resolve() };
    this.executions.set(`${ns}/${stage}`, exec);
    exec.done = this.runPromotion(exec)
      .catch((err: unknown) => {
        this.options.logger?.warn({ err, promotion }, 'kargo simulator: promotion crashed');
        if (!this.stopped) {
          const p = this.store.get(this.kargo('promotions'), ns, promotion);
          if (p) this.finish(ns, p, 'Errored', `simulator error: ${(err as Error).message}`);
        }
      })
      .finally(() => {
        this.executions.delete(`${ns}/${stage}`);
        this.markDirty(ns);
      });
  }

  private async runPromotion(exec: Execution): Promise<void> {
    const { namespace: ns, promotion: name } = exec;
    const promo = this.store.get(this.kargo('promotions'), ns, name);
    if (!promo) return;
    const spec = obj(promo.spec);
    const stageName = str(spec.stage);
    const freight = this.store.get(this.kargo('freights'), ns, str(spec.freight));
    if (!freight) {
      this.finish(ns, promo, 'Errored', `Freight "${str(spec.freight)}" not found`);
      return;
    }
    const ref = freightReference(freight);
    const items = { [originKey(freight.origin)]: ref };
    const collection = { id: collectionId(items), items };
    this.stageStatus(ns, stageName, (s) => {
      s.currentPromotion = { name, freight: ref };
      s.health = {
        status: 'Unknown',
        issues: ['Cannot assess health because a Promotion is currently in progress'],
      };
    });
    const startedAt = metaTime(this.now());
    this.promotionStatus(ns, name, (s) => {
      s.phase = 'Running';
      s.startedAt = startedAt;
      s.freight = ref;
      s.freightCollection = collection;
      s.currentStep = 0;
      s.stepExecutionMetadata = [];
      s.state = {};
    });

    const actor = str(obj(metaOf(promo).annotations)[ANNOTATION_CREATE_ACTOR]);
    const ctx = {
      project: ns,
      promotion: name,
      stage: stageName,
      targetFreight: { name: str(metaOf(freight).name), origin: { name: str(obj(freight.origin).name) } },
      meta: { promotion: { actor } },
    };
    const state: Record<string, Record<string, unknown>> = {};
    const statuses = new Map<string, StepStatus>();
    const tolerated = new Set<string>();
    const functions = this.functions(freight, statuses, tolerated);
    const steps = Array.isArray(spec.steps) ? (spec.steps as unknown[]).map(obj) : [];
    let phase: Phase;
    let message: string | undefined;
    const messages = new Map<string, string>();
    try {
      const vars: Record<string, unknown> = {};
      for (const v of Array.isArray(spec.vars) ? (spec.vars as unknown[]).map(obj) : []) {
        vars[str(v.name)] =
          v.value === undefined
            ? null
            : evaluateTemplate(str(v.value), { ...functions, ctx, vars: { ...vars }, outputs: state });
      }
      // As Kargo's orchestrator: every step in order; after a failure the later steps still get their `if`
      // evaluated (default: all previous steps succeeded, so they are Skipped); the phase is the worst step
      // status among those without continueOnError, with that step's message.
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i]!;
        const alias = str(step.as) || `step-${i}`;
        const baseEnv: ExprEnv = { ...functions, ctx, vars, outputs: state };
        let runIt = (functions.success as () => boolean)();
        let ifError: string | undefined;
        if (str(step.if)) {
          try {
            const v = evaluateTemplate(str(step.if), baseEnv);
            if (typeof v !== 'boolean')
              throw new Error(`if: expression must evaluate to a boolean, got ${JSON.stringify(v)}`);
            runIt = v;
          } catch (err) {
            ifError = `error checking if step "${alias}" should be skipped: ${(err as Error).message}`;
          }
        }
        if (ifError || !runIt) {
          const status: StepStatus = ifError ? 'Errored' : 'Skipped';
          statuses.set(alias, status);
          if (ifError) messages.set(alias, ifError);
          this.promotionStatus(ns, name, (s) => {
            s.currentStep = i;
            s.stepExecutionMetadata = [
              ...arrOf(s.stepExecutionMetadata),
              { alias, status, ...(ifError ? { message: ifError } : {}) },
            ];
          });
          continue;
        }
        statuses.set(alias, 'Running');
        this.promotionStatus(ns, name, (s) => {
          s.currentStep = i;
          s.stepExecutionMetadata = [
            ...arrOf(s.stepExecutionMetadata),
            {
              alias,
              startedAt: metaTime(this.now()),
              status: 'Running',
              ...(step.continueOnError === true ? { continueOnError: true } : {}),
            },
          ];
        });
        const stepVars = { ...vars };
        for (const v of Array.isArray(step.vars) ? (step.vars as unknown[]).map(obj) : []) {
          stepVars[str(v.name)] =
            v.value === undefined
              ? null
              : evaluateTemplate(str(v.value), { ...baseEnv, vars: { ...stepVars } });
        }
        const outcome = await this.runStep(exec, step, alias, { ...baseEnv, vars: stepVars });
        statuses.set(alias, outcome.status);
        if (outcome.message) messages.set(alias, outcome.message);
        if (outcome.status !== 'Succeeded' && step.continueOnError === true) tolerated.add(alias);
        if (outcome.outputs) state[alias] = outcome.outputs;
        this.promotionStatus(ns, name, (s) => {
          s.stepExecutionMetadata = arrOf(s.stepExecutionMetadata).map((m) => {
            if (m.alias !== alias) return m;
            const next: JsonObject = { ...m, status: outcome.status, finishedAt: metaTime(this.now()) };
            if (outcome.message) next.message = outcome.message;
            else delete next.message;
            return next;
          });
          if (outcome.outputs) s.state = { ...obj(s.state), [alias]: outcome.outputs };
        });
      }
      ({ phase, message } = finalPhase(steps, statuses, messages));
      this.promotionStatus(ns, name, (s) => {
        s.currentStep = Math.max(0, steps.length - 1);
      });
    } catch (err) {
      if (err instanceof Cancelled || exec.cancel) {
        if (exec.cancel?.reason === 'stop') return;
        phase = 'Aborted';
        message = terminatedBy(exec.cancel?.reason === 'abort' ? exec.cancel.actor : PROMOTION_CONTROLLER);
        this.promotionStatus(ns, name, (s) => {
          s.stepExecutionMetadata = arrOf(s.stepExecutionMetadata).map((m) =>
            m.status === 'Running' || (m.status === 'Errored' && !m.finishedAt)
              ? { ...m, status: 'Aborted', finishedAt: metaTime(this.now()) }
              : m,
          );
        });
      } else {
        phase = 'Errored';
        message = (err as Error).message;
      }
    }
    if (exec.cancel?.reason === 'stop') return;
    const current = this.store.get(this.kargo('promotions'), ns, name);
    if (current) this.finish(ns, current, phase, message, ref, collection);
  }

  /** One step, with retries and polling; resolves with its terminal outcome. */
  private async runStep(
    exec: Execution,
    step: JsonObject,
    alias: string,
    env: ExprEnv,
  ): Promise<StepOutcome> {
    if (step.uses !== 'http') {
      return {
        status: 'Errored',
        message: `step "${alias}": step kind "${str(step.uses) || str(obj(step.task).name)}" is not supported by the sandbox's Kargo simulator`,
      };
    }
    const retry = obj(step.retry);
    const threshold =
      typeof retry.errorThreshold === 'number' && retry.errorThreshold > 0 ? retry.errorThreshold : 1;
    const timeoutMs = str(retry.timeout) ? (parseGoDuration(str(retry.timeout)) ?? 0) : 0;
    const started = Date.now();
    let errors = 0;
    let retried = false;
    for (;;) {
      this.checkCancelled(exec);
      let outcome: StepOutcome | 'running';
      try {
        outcome = await this.httpAttempt(exec, step, alias, env);
        errors = 0;
      } catch (err) {
        if (err instanceof Cancelled || exec.cancel) throw new Cancelled();
        errors++;
        // Kargo's orchestrator: the executor wraps the runner's error, the threshold message wraps that.
        const msg = `error running step "${alias}": ${(err as Error).message}`;
        if (errors >= threshold) {
          return {
            status: 'Errored',
            message: `step "${alias}" met error threshold of ${threshold}: ${msg}`,
          };
        }
        retried = true;
        this.updateStepMetadata(exec, alias, {
          status: 'Errored',
          errorCount: errors,
          message: `${msg}; step will be retried`,
        });
        outcome = 'running';
      }
      if (outcome !== 'running') return outcome;
      if (timeoutMs > 0 && Date.now() - started >= timeoutMs) {
        return {
          status: 'Errored',
          message: `step "${alias}" timed out after ${formatGoDuration(timeoutMs)}`,
        };
      }
      if (errors === 0 && retried) {
        // Polled fine again after an error: the step is Running again (Kargo keeps its errorCount).
        retried = false;
        this.updateStepMetadata(exec, alias, { status: 'Running' }, ['message']);
      }
      await this.sleep(exec, this.options.pollIntervalMs ?? 2000);
    }
  }

  private updateStepMetadata(exec: Execution, alias: string, patch: JsonObject, remove: string[] = []): void {
    this.promotionStatus(exec.namespace, exec.promotion, (s) => {
      s.stepExecutionMetadata = arrOf(s.stepExecutionMetadata).map((m) => {
        if (m.alias !== alias) return m;
        const next: JsonObject = { ...m, ...patch };
        for (const key of remove) delete next[key];
        return next;
      });
    });
  }

  /** One request of an http step: a terminal outcome, 'running' (poll again), or a thrown error. */
  private async httpAttempt(
    exec: Execution,
    step: JsonObject,
    alias: string,
    env: ExprEnv,
  ): Promise<StepOutcome | 'running'> {
    const config = evaluateConfig(step.config ?? {}, env);
    if (!this.httpConfig(config)) {
      const why = (this.httpConfig.errors ?? [])
        .map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}`)
        .join('; ');
      throw new Error(`invalid http step config: ${why}`);
    }
    const cfg = config as JsonObject;
    const url = new URL(this.rewrite(str(cfg.url)));
    for (const q of Array.isArray(cfg.queryParams) ? (cfg.queryParams as unknown[]).map(obj) : [])
      url.searchParams.append(str(q.name), str(q.value));
    if (!this.options.allowExternalHosts && !isLoopback(url.hostname)) {
      throw new Error(
        `the sandbox does not call ${url.origin} (only loopback hosts; set githubApiUrl or urlRewrites to point it at a stand-in)`,
      );
    }
    const headers = new Headers();
    for (const h of Array.isArray(cfg.headers) ? (cfg.headers as unknown[]).map(obj) : [])
      headers.append(str(h.name), str(h.value));
    const timeoutMs = parseGoDuration(str(cfg.timeout) || '10s') ?? 10_000;
    const method = str(cfg.method) || 'GET';
    let response: Response;
    try {
      response = await this.fetch(url, {
        method,
        headers,
        body: typeof cfg.body === 'string' && method !== 'GET' && method !== 'HEAD' ? cfg.body : undefined,
        signal: AbortSignal.any([exec.controller.signal, AbortSignal.timeout(timeoutMs)]),
      });
    } catch (err) {
      if (exec.cancel) throw new Cancelled();
      throw new Error(`error sending HTTP request: ${goRequestError(method, url, err)}`, { cause: err });
    }
    const text = await readLimited(response);
    const contentType =
      str(cfg.responseContentType) || (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    let body: unknown = text;
    if (contentType !== 'text/plain') {
      try {
        body = text.trim() === '' ? null : (JSON.parse(text) as unknown);
      } catch {
        body = text;
      }
    }
    const responseEnv: ExprEnv = {
      ...env,
      response: {
        status: response.status,
        header: (n: unknown) => response.headers.get(String(n)) ?? '',
        headers: Object.fromEntries(response.headers.entries()),
        body,
      },
    };
    const verdict = httpStepVerdict(cfg, responseEnv);
    if (verdict === 'Failed') {
      let detail = '';
      if (str(cfg.errorExpression)) {
        try {
          const v = evaluateExpr(str(cfg.errorExpression), responseEnv);
          if (v !== null && v !== undefined && v !== '')
            detail = `: ${typeof v === 'string' ? v : JSON.stringify(v)}`;
        } catch {
          // the message is a nicety
        }
      }
      return {
        status: 'Failed',
        message: `step "${alias}": HTTP (${response.status}) response met failure criteria${detail}`,
      };
    }
    if (verdict === 'Retried') throw new Error(`received unexpected HTTP status code ${response.status}`);
    if (verdict === 'Running') return 'running';
    const outputs: Record<string, unknown> = {};
    for (const o of Array.isArray(cfg.outputs) ? (cfg.outputs as unknown[]).map(obj) : []) {
      outputs[str(o.name)] = evaluateExpr(str(o.fromExpression), responseEnv);
    }
    return { status: 'Succeeded', outputs };
  }

  private functions(freight: JsonObject, statuses: Map<string, StepStatus>, tolerated: Set<string>): ExprEnv {
    const secrets = this.options.secrets ?? {};
    const commits = Array.isArray(freight.commits) ? (freight.commits as unknown[]).map(obj) : [];
    // success()/failure() look at earlier steps; a failure tolerated by continueOnError does not count.
    const failed = () =>
      [...statuses.entries()].some(
        ([alias, s]) => (s === 'Failed' || s === 'Errored') && !tolerated.has(alias),
      );
    return {
      secret: (name: unknown) => ({ ...(secrets[String(name)] ?? {}) }),
      commitFrom: (repoURL: unknown) => {
        const c = commits.find((x) => normalizeRepoURL(str(x.repoURL)) === normalizeRepoURL(String(repoURL)));
        if (!c) return null;
        return {
          RepoURL: str(c.repoURL),
          ID: str(c.id),
          Branch: str(c.branch),
          Tag: str(c.tag),
          Message: str(c.message),
          Author: str(c.author),
          Committer: str(c.committer),
        };
      },
      warehouse: (name: unknown) => ({ kind: 'Warehouse', name: String(name) }),
      success: () => !failed(),
      failure: () => failed(),
      always: () => true,
      status: (alias: unknown) => statuses.get(String(alias)) ?? '',
    };
  }

  /** Terminal status of a Promotion, the Stage's and Freight's status after it, and its Event. */
  private finish(
    ns: string,
    promo: JsonObject,
    phase: Phase,
    message?: string,
    ref?: JsonObject,
    collection?: JsonObject,
  ): void {
    const name = str(metaOf(promo).name);
    const spec = obj(promo.spec);
    const stageName = str(spec.stage);
    const finishedAt = metaTime(this.now());
    const final = this.promotionStatus(ns, name, (s) => {
      s.phase = phase;
      s.finishedAt = finishedAt;
      if (message) s.message = message;
      else delete s.message;
    });
    const freight = this.store.get(this.kargo('freights'), ns, str(spec.freight));
    const freightRef = ref ?? (freight ? freightReference(freight) : { name: str(spec.freight) });
    let previousFreight: string | undefined;
    this.stageStatus(ns, stageName, (s) => {
      if (obj(s.currentPromotion).name === name) delete s.currentPromotion;
      s.lastPromotion = { name, freight: freightRef, status: clone(obj(final?.status)), finishedAt };
      if (phase === 'Succeeded' && collection) {
        const history = arrOf(s.freightHistory);
        const key = Object.keys(obj(collection.items))[0] ?? '';
        previousFreight = str(obj(obj(history[0]?.items)[key]).name) || undefined;
        // Kargo adds an entry per successful promotion, also when the Freight is the one already there;
        // with no verification defined, the Freight is verified at once.
        s.freightHistory = [
          {
            id: collection.id,
            items: collection.items,
            verificationHistory: [
              { id: randomUUID(), phase: 'Successful', startTime: finishedAt, finishTime: finishedAt },
            ],
          },
          ...history,
        ].slice(0, 10);
        s.health = { status: 'Healthy' };
        s.freightSummary = str(freightRef.name);
      } else {
        s.health = {
          status: 'Unknown',
          issues: ['Cannot assess health because last Promotion did not succeed'],
        };
      }
    });
    if (phase === 'Succeeded' && freight) {
      const now = this.now();
      const freightName = str(metaOf(freight).name);
      if (previousFreight && previousFreight !== freightName) {
        this.freightStatus(ns, previousFreight, (s) => {
          const currentlyIn = obj(s.currentlyIn);
          const since = str(obj(currentlyIn[stageName]).since);
          delete currentlyIn[stageName];
          s.currentlyIn = currentlyIn;
          const verifiedIn = obj(s.verifiedIn);
          if (isObject(verifiedIn[stageName])) {
            const v = obj(verifiedIn[stageName]);
            const soak = longestSoak(str(v.longestSoak) || undefined, since || undefined, now);
            verifiedIn[stageName] = { ...v, ...(soak ? { longestSoak: soak } : {}) };
            s.verifiedIn = verifiedIn;
          }
        });
      }
      this.freightStatus(ns, freightName, (s) => {
        const currentlyIn = obj(s.currentlyIn);
        if (!isObject(currentlyIn[stageName])) currentlyIn[stageName] = { since: metaTime(now) };
        s.currentlyIn = currentlyIn;
        const verifiedIn = obj(s.verifiedIn);
        // The first verification's time stays (Kargo verifies again, but keeps verifiedAt).
        verifiedIn[stageName] = { verifiedAt: metaTime(now), ...obj(verifiedIn[stageName]) };
        s.verifiedIn = verifiedIn;
      });
    }
    // Events as Kargo's controllers send them: the Promotion's creator as actor when there is one.
    const creator = str(obj(metaOf(promo).annotations)[ANNOTATION_CREATE_ACTOR]);
    const involved = final ?? promo;
    const aborted = phase === 'Aborted';
    recordKargoEvent(this.store, {
      namespace: ns,
      reason: `Promotion${phase}`,
      message: aborted
        ? (message ?? terminatedBy(undefined))
        : `Promotion ${phase}${message ? `: ${message}` : ''}`,
      involved,
      annotations: {
        ...promotionEventAnnotations(
          ns,
          involved,
          freight,
          creator || (aborted && abortActor(promo)) || PROMOTION_CONTROLLER,
        ),
        ...(phase === 'Succeeded' ? { 'event.kargo.akuity.io/verification-pending': 'false' } : {}),
      },
      now: this.now(),
      component: 'promotion-controller',
    });
    if (phase === 'Succeeded' && freight) {
      const at = metaTime(this.now());
      recordKargoEvent(this.store, {
        namespace: ns,
        reason: 'FreightVerificationSucceeded',
        message: 'Freight verification succeeded',
        involved: this.store.get(this.kargo('freights'), ns, str(metaOf(freight).name)) ?? freight,
        annotations: {
          'event.kargo.akuity.io/actor': STAGE_CONTROLLER,
          'event.kargo.akuity.io/project': ns,
          'event.kargo.akuity.io/stage-name': stageName,
          'event.kargo.akuity.io/verification-start-time': at,
          'event.kargo.akuity.io/verification-finish-time': at,
          ...freightEventAnnotations(freight),
        },
        now: this.now(),
        component: 'stage-controller',
      });
    }
  }

  // ---- helpers --------------------------------------------------------------------------------------------

  private rewrite(url: string): string {
    const rewrites: Record<string, string> = { ...(this.options.urlRewrites ?? {}) };
    if (this.options.githubApiUrl) rewrites['https://api.github.com'] = this.options.githubApiUrl;
    for (const [from, to] of Object.entries(rewrites)) {
      if (url === from || url.startsWith(from.endsWith('/') ? from : `${from}/`)) {
        return to.replace(/\/$/, '') + url.slice(from.replace(/\/$/, '').length);
      }
    }
    return url;
  }

  private checkCancelled(exec: Execution): void {
    if (exec.cancel || exec.controller.signal.aborted) throw new Cancelled();
  }

  private sleep(exec: Execution, ms: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const signal = exec.controller.signal;
      if (signal.aborted) {
        reject(new Cancelled());
        return;
      }
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(new Cancelled());
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** Kargo's DetermineFinalPhase: the worst step status (continueOnError steps excluded), with its message. */
const SEVERITY: Readonly<Record<StepStatus, number>> = {
  Succeeded: 0,
  Skipped: 1,
  Running: 2,
  Aborted: 3,
  Failed: 4,
  Errored: 5,
};

function finalPhase(
  steps: JsonObject[],
  statuses: Map<string, StepStatus>,
  messages: Map<string, string>,
): { phase: Phase; message?: string } {
  let worst: StepStatus = 'Succeeded';
  let message: string | undefined;
  steps.forEach((step, i) => {
    if (step.continueOnError === true) return;
    const alias = str(step.as) || `step-${i}`;
    const status = statuses.get(alias);
    if (status && SEVERITY[status] > SEVERITY[worst]) {
      worst = status;
      message = messages.get(alias);
    }
  });
  const phase: Phase =
    worst === 'Succeeded' || worst === 'Skipped' ? 'Succeeded' : worst === 'Running' ? 'Errored' : worst;
  return { phase, ...(message ? { message } : {}) };
}

function abortRequested(promotion: JsonObject): boolean {
  return parseAbortRequest(obj(metaOf(promotion).annotations)[ANNOTATION_ABORT])?.action === 'terminate';
}

/** Who asked for the abort (the webhook writes it into the annotation); the controller when nobody is named. */
function abortActor(promotion: JsonObject): string | undefined {
  return parseAbortRequest(obj(metaOf(promotion).annotations)[ANNOTATION_ABORT])?.actor;
}

/** Kargo keeps a commit's subject, cut to 80 bytes with "..." (pkg/controller/git/commit shortenString). */
export function shortenSubject(subject: string, length = 80): string {
  const bytes = Buffer.from(subject, 'utf8');
  if (length < 3 || bytes.length <= length) return subject;
  return `${bytes.subarray(0, length - 3).toString('utf8')}...`;
}

/** A failed request as Go's net/http reports it: `Post "<url>": dial tcp 127.0.0.1:9: connect: connection refused`. */
function goRequestError(method: string, url: URL, err: unknown): string {
  const verb = method.charAt(0).toUpperCase() + method.slice(1).toLowerCase();
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const host = `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
  let detail = cause?.message ?? (err as Error).message;
  if (cause?.code === 'ECONNREFUSED') detail = `dial tcp ${host}: connect: connection refused`;
  else if ((err as Error).name === 'TimeoutError')
    detail = 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)';
  return `${verb} "${url.toString()}": ${detail}`;
}

function terminatedBy(actor: string | undefined): string {
  return actor ? `Promotion terminated by ${actor}` : 'Promotion terminated per user request';
}

const arrOf = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isObject) : []);

function collectionId(items: Record<string, JsonObject>): string {
  const parts = Object.keys(items)
    .sort()
    .map((k) => `${k}:${str(items[k]!.name)}`);
  return createHash('sha1').update(parts.join(',')).digest('hex');
}

function normalizeRepoURL(url: string): string {
  return url
    .trim()
    .toLowerCase()
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
}

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

async function readLimited(response: Response): Promise<string> {
  const buf = Buffer.from(await response.arrayBuffer());
  if (buf.length > MAX_RESPONSE_BYTES) throw new Error(`response body exceeds ${MAX_RESPONSE_BYTES} bytes`);
  return buf.toString('utf8');
}

// ---- what the http step makes of a response -----------------------------------------------------------------

/**
 * What Kargo's `http` step makes of one response (pkg/promotion/runner/builtin/http_requester.go), given its
 * config and the expression environment with `response` ({status, header(), headers, body}):
 * failureExpression true → Failed (terminal; it wins); else successExpression true → Succeeded; neither
 * expression set → a 2xx Succeeded, any other code an error the step retries (Retried); anything else →
 * Running, and the whole request is sent again on the next check. An expression that is not a boolean is
 * an error (ExprError), as in Kargo.
 */
export type HttpStepVerdict = 'Succeeded' | 'Failed' | 'Running' | 'Retried';

export function httpStepVerdict(cfg: JsonObject, env: ExprEnv): HttpStepVerdict {
  const boolOf = (expression: string, what: string): boolean => {
    const v = evaluateExpr(expression, env);
    if (typeof v !== 'boolean')
      throw new ExprError(`${what} must evaluate to a boolean, got ${JSON.stringify(v)}`);
    return v;
  };
  const failure = str(cfg.failureExpression)
    ? boolOf(str(cfg.failureExpression), 'failureExpression')
    : undefined;
  const success = str(cfg.successExpression)
    ? boolOf(str(cfg.successExpression), 'successExpression')
    : undefined;
  if (failure === true) return 'Failed';
  const status = Number(obj(env.response).status);
  const ok = status >= 200 && status < 300;
  if (success === undefined && failure === undefined) return ok ? 'Succeeded' : 'Retried';
  return (success ?? false) ? 'Succeeded' : 'Running';
}

// ---- one call for the sandbox ------------------------------------------------------------------------------

export interface KargoSandbox {
  standIn: KargoStandIn;
  simulator: KargoSimulator;
  /** The Kargo project (namespace) the repository's manifests define (the first Project). */
  project: string;
  /** A kubeconfig for the bot, with the project as default namespace. */
  kubeconfigYaml: string;
  stop(): Promise<void>;
}

export type KargoSandboxOptions = Omit<KargoSimulatorOptions, 'standIn'> & { standIn?: KargoStandInOptions };

/**
 * Starts the Kubernetes API stand-in, loads this repository's kargo/ manifests, makes Freight from its git
 * history and starts the controller simulator.
 */
export async function startKargoSandbox(options: KargoSandboxOptions = {}): Promise<KargoSandbox> {
  const standIn = await KargoStandIn.start(options.standIn);
  try {
    const { standIn: _ignored, ...rest } = options;
    const simulator = new KargoSimulator({
      ...rest,
      crdDir: rest.crdDir ?? options.standIn?.crdDir,
      standIn,
    });
    const applied = simulator.loadManifests();
    await simulator.discoverFreight();
    simulator.run();
    const project = str(metaOf(applied.find((o) => o.kind === 'Project') ?? {}).name);
    return {
      standIn,
      simulator,
      project,
      kubeconfigYaml: standIn.kubeconfigYaml({ namespace: project || undefined }),
      async stop() {
        await simulator.stop();
        await standIn.stop();
      },
    };
  } catch (err) {
    await standIn.stop();
    throw err;
  }
}
