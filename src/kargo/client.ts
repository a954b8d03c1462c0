// KargoGateway over the Kubernetes API (@kubernetes/client-node 1.4, ESM). Everything happens in one Kargo
// project namespace, with the bot's ServiceAccount; deploy/rbac.yaml grants exactly the calls made here:
//
//   get/list/watch freights      listFreight, findFreight, createPromotion (freight exists?)
//   get/list/watch stages        listStages, getStage, createPromotion (template steps and vars)
//   get/list/watch promotions    getPromotion, findPromotionByRequestId, createPromotion, watchPromotions
//   create promotions            createPromotion (+ the custom verb `promote` on the Stage, checked by Kargo)
//   list/watch events            watchEvents
import * as fs from 'node:fs';
import {
  CoreV1Api,
  CustomObjectsApi,
  Health,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type CoreV1Event,
  type CoreV1EventList,
} from '@kubernetes/client-node';
import { ChatOpsError, ErrorCode } from '../domain/errors.js';
import { isTerminalPhase } from '../domain/types.js';
import type { FreightSummary, PromotionPhase, PromotionSummary, StageSummary } from '../domain/types.js';
import { httpStatusOf, isAlreadyExists, isNotFound, toChatOpsError, type ErrorContext } from './errors.js';
import { pausedPolicies, resumedPolicies, type PromotionPolicy } from './promotion-policies.js';
import {
  ANNOTATION_ABORT,
  ANNOTATION_REQUEST_ID,
  ANNOTATION_REQUESTED_BY,
  LABEL_REQUEST_ID,
  type CreatePromotionInput,
  type KargoGateway,
  type KubernetesEventSummary,
  type WatchEvent,
  type WatchOptions,
} from './gateway.js';
import {
  KARGO_GROUP,
  KARGO_VERSION,
  LABEL_ALIAS,
  compareFreightNewestFirst,
  toEventSummary,
  toFreightSummary,
  toPromotionSummary,
  toStageSummary,
  type CoreEvent,
  type KargoFreight,
  type KargoPromotion,
  type KargoStage,
} from './mapping.js';
import { buildPromotionName, isValidLabelValue, requestIdLabelValue } from './promotion-name.js';
import {
  startListWatch,
  type BackoffOptions,
  type ListResult,
  type ListWatchHandle,
  type WatchLogger,
} from './watch.js';

export type { ListWatchHandle, WatchLogger } from './watch.js';

/** Where Kubernetes mounts a pod's ServiceAccount credentials. */
export const SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadKubeConfigOptions {
  /** Kubeconfig file to use outside a cluster. Default: $KUBECONFIG, else ~/.kube/config. */
  kubeconfigPath?: string;
  /** For tests: a directory standing in for `/` when looking for the mounted ServiceAccount. */
  rootDir?: string;
}

/**
 * The bot's credentials:
 * - in a pod (KUBERNETES_SERVICE_HOST is set and the ServiceAccount token is mounted): the in-cluster
 *   ServiceAccount. client-node re-reads the token file on every request, so kubelet's rotation of the
 *   projected token is picked up without a restart;
 * - otherwise `kubeconfigPath` if given, else the default ($KUBECONFIG, then ~/.kube/config).
 */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const root = options.rootDir ?? '';
  const kc = new KubeConfig();
  if (process.env.KUBERNETES_SERVICE_HOST && fs.existsSync(`${root}${SERVICEACCOUNT_DIR}/token`)) {
    kc.loadFromCluster(root);
  } else if (options.kubeconfigPath) {
    kc.loadFromFile(options.kubeconfigPath);
  } else {
    kc.loadFromDefault();
  }
  return kc;
}

export interface KubernetesKargoGatewayOptions {
  kubeConfig: KubeConfig;
  /** The Kargo project, i.e. its namespace. */
  project: string;
  logger?: WatchLogger;
  /** Backoff of watches after errors. */
  watchBackoff?: BackoffOptions;
  /** Called once per API request made (LIST pages, GET, POST, PATCH), for metrics and the benchmark. */
  countRequest?: (verb: 'list' | 'get' | 'create' | 'patch' | 'update') => void;
}

const PLURAL = {
  freights: 'freights',
  stages: 'stages',
  promotions: 'promotions',
  projectconfigs: 'projectconfigs',
} as const;

/** The part of a ProjectConfig the bot changes (the rest is written back as read). */
interface KargoProjectConfig {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { promotionPolicies?: PromotionPolicy[]; [field: string]: unknown };
  [field: string]: unknown;
}
const LIST_PAGE_SIZE = 500;

interface RawList<T> {
  items?: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export class KubernetesKargoGateway implements KargoGateway {
  readonly project: string;
  private readonly kubeConfig: KubeConfig;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly watcher: Watch;
  private readonly logger: WatchLogger | undefined;
  private readonly watchBackoff: BackoffOptions | undefined;
  private readonly count: (verb: 'list' | 'get' | 'create' | 'patch' | 'update') => void;
  /** Where createPromotion takes the Stage from when it can (the cache); else a GET. */
  private stageSource: ((name: string) => KargoStage | undefined) | undefined;

  constructor(options: KubernetesKargoGatewayOptions) {
    if (!options.project) throw new Error('KubernetesKargoGateway: project (namespace) is required');
    this.kubeConfig = options.kubeConfig;
    this.project = options.project;
    this.logger = options.logger;
    this.watchBackoff = options.watchBackoff;
    this.count = options.countRequest ?? (() => undefined);
    this.custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.watcher = new Watch(options.kubeConfig);
  }

  /** Lets createPromotion read the Stage from memory (the informer cache) instead of the API. */
  useStageSource(source: (name: string) => KargoStage | undefined): void {
    this.stageSource = source;
  }

  /** A list-watch of one collection of the project, raw objects (the informer cache builds on it). */
  watchRaw<Raw>(
    plural: 'freights' | 'stages' | 'promotions',
    onEvent: (event: WatchEvent<Raw>) => void | Promise<void>,
  ): ListWatchHandle {
    return startListWatch<Raw, Raw>({
      name: `${plural}/${this.project}`,
      watch: this.watcher,
      path: `/apis/${KARGO_GROUP}/${KARGO_VERSION}/namespaces/${encodeURIComponent(this.project)}/${plural}`,
      list: () => this.listAll<Raw>(plural, {}, { operation: `list ${plural}` }),
      map: (raw) => raw,
      onEvent,
      backoff: this.watchBackoff,
      logger: this.logger,
    });
  }

  // ---- reads -------------------------------------------------------------------------------------------

  async listFreight(): Promise<FreightSummary[]> {
    const { items } = await this.listAll<KargoFreight>(PLURAL.freights, {}, { operation: 'list Freight' });
    return items.sort(compareFreightNewestFirst).map(toFreightSummary);
  }

  async listStages(): Promise<StageSummary[]> {
    const { items } = await this.listAll<KargoStage>(PLURAL.stages, {}, { operation: 'list Stages' });
    return items
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
      .map(toStageSummary);
  }

  async getStage(name: string): Promise<StageSummary | undefined> {
    const stage = await this.getRaw<KargoStage>(PLURAL.stages, name, {
      operation: `get Stage "${name}"`,
      resource: 'stage',
      name,
    });
    return stage && toStageSummary(stage);
  }

  /**
   * By alias first (label kargo.akuity.io/alias, which Kargo keeps in sync with the `alias` field), then by
   * name, then by the `alias` field or a unique name prefix of at least 7 characters (what promotion names
   * and the Kargo UI show). Undefined when nothing matches or a prefix is ambiguous.
   */
  async findFreight(aliasOrName: string): Promise<FreightSummary | undefined> {
    const query = aliasOrName.trim();
    if (!query) return undefined;
    const ctx: ErrorContext = { operation: `find Freight "${query}"` };
    if (isValidLabelValue(query)) {
      const { items } = await this.listAll<KargoFreight>(
        PLURAL.freights,
        { labelSelector: `${LABEL_ALIAS}=${query}` },
        ctx,
      );
      const found = items.sort(compareFreightNewestFirst)[0];
      if (found) return toFreightSummary(found);
    }
    if (/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(query) && query.length <= 253) {
      const byName = await this.getRaw<KargoFreight>(PLURAL.freights, query, ctx);
      if (byName) return toFreightSummary(byName);
    }
    const { items } = await this.listAll<KargoFreight>(PLURAL.freights, {}, ctx);
    const byAlias = items.filter((f) => f.alias === query).sort(compareFreightNewestFirst)[0];
    if (byAlias) return toFreightSummary(byAlias);
    if (query.length >= 7) {
      const prefixed = items.filter((f) => f.metadata?.name?.startsWith(query.toLowerCase()));
      if (prefixed.length === 1) return toFreightSummary(prefixed[0]!);
    }
    return undefined;
  }

  async getPromotion(name: string): Promise<PromotionSummary | undefined> {
    const promotion = await this.getRaw<KargoPromotion>(PLURAL.promotions, name, {
      operation: `get Promotion "${name}"`,
      resource: 'promotion',
      name,
    });
    return promotion && toPromotionSummary(promotion);
  }

  async listPromotions(stage?: string): Promise<PromotionSummary[]> {
    const { items } = await this.listAll<KargoPromotion>(
      PLURAL.promotions,
      {},
      { operation: 'list Promotions' },
    );
    // Kargo ≤ 1.10 has no stage label: filter on spec.stage. Names start with the Stage and a ULID, so by
    // creation time then name is Kargo's own queue order.
    return items
      .filter((p) => stage === undefined || p.spec?.stage === stage)
      .map(toPromotionSummary)
      .sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.name.localeCompare(b.name));
  }

  async abortPromotion(name: string): Promise<'aborting' | 'finished' | 'gone'> {
    const operation = `abort Promotion "${name}"`;
    const current = await this.getRaw<KargoPromotion>(PLURAL.promotions, name, { operation });
    if (!current) return 'gone';
    const phase = current.status?.phase;
    if (phase && isTerminalPhase(phase as PromotionPhase)) return 'finished';
    try {
      this.count('patch');
      await this.custom.patchNamespacedCustomObject(
        {
          ...this.resource(PLURAL.promotions),
          name,
          body: { metadata: { annotations: { [ANNOTATION_ABORT]: 'terminate' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      if (isNotFound(err)) return 'gone';
      throw toChatOpsError(err, { operation, resource: 'promotion', name });
    }
    return 'aborting';
  }

  async pauseAutoPromotion(stage: string): Promise<'paused' | 'not-enabled'> {
    const changed = await this.updatePromotionPolicies(
      `pause auto-promotion of Stage "${stage}"`,
      (policies) => pausedPolicies(policies, stage),
    );
    return changed ? 'paused' : 'not-enabled';
  }

  async resumeAutoPromotion(stage: string): Promise<'resumed' | 'not-paused'> {
    const changed = await this.updatePromotionPolicies(
      `resume auto-promotion of Stage "${stage}"`,
      (policies) => resumedPolicies(policies, stage),
    );
    return changed ? 'resumed' : 'not-paused';
  }

  /**
   * Read-modify-write of the project's ProjectConfig (named like the project) promotion policies, with the
   * resourceVersion it was read at: a concurrent change (someone editing it in the Kargo UI) is a 409 and
   * is read again, at most three times. `change` returns undefined for "nothing to change".
   */
  private async updatePromotionPolicies(
    operation: string,
    change: (policies: PromotionPolicy[]) => PromotionPolicy[] | undefined,
  ): Promise<boolean> {
    const ctx: ErrorContext = { operation };
    for (let attempt = 1; ; attempt += 1) {
      const config = await this.getRaw<KargoProjectConfig>(PLURAL.projectconfigs, this.project, ctx);
      if (!config) return false;
      const next = change(config.spec?.promotionPolicies ?? []);
      if (!next) return false;
      try {
        this.count('update');
        await this.custom.replaceNamespacedCustomObject({
          ...this.resource(PLURAL.projectconfigs),
          name: this.project,
          body: { ...config, spec: { ...config.spec, promotionPolicies: next } },
        });
        return true;
      } catch (err) {
        if (httpStatusOf(err) === 409 && attempt < 3) continue;
        throw toChatOpsError(err, ctx);
      }
    }
  }

  async apiServerReady(): Promise<boolean> {
    try {
      return await new Health(this.kubeConfig).readyz({ signal: AbortSignal.timeout(3000) });
    } catch {
      return false;
    }
  }

  async findPromotionByRequestId(requestId: string): Promise<PromotionSummary | undefined> {
    const found = await this.findRawPromotionByRequestId(requestId);
    return found && toPromotionSummary(found);
  }

  // ---- createPromotion ---------------------------------------------------------------------------------

  /**
   * Creates the Promotion in the full form (kargo-api.md §2.2) that every Kargo from 1.9 to 1.11 accepts:
   * name `<stage>.<ulid>.<freight[0:7]>`, spec.steps = the Stage's promotionTemplate steps, spec.vars =
   * stage.spec.vars + promotionTemplate.spec.vars. (1.11 overwrites name, steps and vars with the same values
   * computed from the Stage; ≤ 1.10 keeps what we send and fails on empty steps.)
   *
   * Exactly one Promotion per request, however often this is retried, even by two workers at once:
   * 1. Look the request up by label first. This is the guard that works on Kargo 1.11+, whose mutating
   *    webhook replaces metadata.name with its own random ULID — there the deterministic name below does not
   *    survive admission, and a retry after a successful create (worker crashed before acking the job) is
   *    caught here. A plain LIST with no resourceVersion is a consistent read, so a Promotion whose create
   *    returned is always seen.
   * 2. Otherwise create it under a name derived from the request alone (ULID time = requestedAt, ULID
   *    randomness = SHA-256(requestId)). On ≤ 1.10 (and on an API server without Kargo's webhooks) the name is
   *    kept, so two concurrent creates for one request collide: the API server accepts one and answers the other
   *    409 AlreadyExists, and the loser returns the winner's Promotion.
   * Residual gap, on 1.11+ only: two workers that pass step 1 at the same instant both create (the name no
   * longer collides). The queue prevents that case: a BullMQ job is held by one worker at a time (job lock),
   * so concurrent execution of one request only happens after a lock expiry, and step 1 covers the retry.
   */
  async createPromotion(input: CreatePromotionInput): Promise<PromotionSummary> {
    const { stage: stageName, freight: freightName, requestId, requestedBy } = input;
    if (!stageName || !freightName || !requestId) {
      throw new ChatOpsError(
        ErrorCode.Internal,
        'createPromotion: stage, freight and requestId are required',
      );
    }
    let name: string;
    try {
      name = buildPromotionName({
        stage: stageName,
        freight: freightName,
        requestId,
        requestedAt: input.requestedAt,
      });
    } catch (err) {
      throw new ChatOpsError(ErrorCode.Internal, `createPromotion: ${(err as Error).message}`, err);
    }
    const operation = `create Promotion of Freight "${freightName}" to Stage "${stageName}"`;

    const existing = await this.findRawPromotionByRequestId(requestId);
    if (existing) return toPromotionSummary(existing);

    const stage =
      this.stageSource?.(stageName) ??
      (await this.getRaw<KargoStage>(PLURAL.stages, stageName, {
        operation,
        resource: 'stage',
        name: stageName,
      }));
    if (!stage)
      throw new ChatOpsError(
        ErrorCode.StageNotFound,
        `Stage "${stageName}" not found in project "${this.project}"`,
      );
    const steps = stage.spec?.promotionTemplate?.spec?.steps ?? [];
    if (steps.length === 0) {
      throw new ChatOpsError(
        ErrorCode.KargoRejected,
        `Stage "${stageName}" defines no promotion steps, so it cannot be promoted`,
      );
    }
    const freight = await this.getRaw<KargoFreight>(PLURAL.freights, freightName, {
      operation,
      resource: 'freight',
      name: freightName,
    });
    if (!freight) {
      throw new ChatOpsError(
        ErrorCode.FreightNotFound,
        `Freight "${freightName}" not found in project "${this.project}"`,
      );
    }

    const body: KargoPromotion = {
      apiVersion: `${KARGO_GROUP}/${KARGO_VERSION}`,
      kind: 'Promotion',
      metadata: {
        name,
        namespace: this.project,
        labels: { [LABEL_REQUEST_ID]: requestIdLabelValue(requestId) },
        annotations: { [ANNOTATION_REQUEST_ID]: requestId, [ANNOTATION_REQUESTED_BY]: requestedBy },
      },
      spec: {
        stage: stageName,
        freight: freightName,
        vars: [...(stage.spec?.vars ?? []), ...(stage.spec?.promotionTemplate?.spec?.vars ?? [])],
        steps,
      },
    };
    try {
      this.count('create');
      const created = (await this.custom.createNamespacedCustomObject({
        ...this.resource(PLURAL.promotions),
        body,
      })) as KargoPromotion;
      this.logger?.info?.(
        { promotion: created.metadata?.name, requestId, stage: stageName },
        'kargo: Promotion created',
      );
      return toPromotionSummary(created);
    } catch (err) {
      if (!isAlreadyExists(err)) throw toChatOpsError(err, { operation });
    }

    // 409: another attempt for this request got there first (same deterministic name). Return its Promotion,
    // after checking it really is ours (a foreign object under this name would be a hash collision).
    const winner = await this.getRaw<KargoPromotion>(PLURAL.promotions, name, { operation });
    if (winner && winner.metadata?.annotations?.[ANNOTATION_REQUEST_ID] === requestId) {
      return toPromotionSummary(winner);
    }
    const byLabel = await this.findRawPromotionByRequestId(requestId);
    if (byLabel) return toPromotionSummary(byLabel);
    if (winner) {
      throw new ChatOpsError(ErrorCode.Internal, `Promotion "${name}" exists but belongs to another request`);
    }
    // It existed a moment ago and is gone now (deleted in between): transient, let the queue retry.
    throw new ChatOpsError(
      ErrorCode.KargoUnavailable,
      `Promotion "${name}" vanished while being created; retry`,
    );
  }

  // ---- watches -----------------------------------------------------------------------------------------

  watchPromotions(
    onEvent: (event: WatchEvent<PromotionSummary>) => void | Promise<void>,
    options: WatchOptions = {},
  ): ListWatchHandle {
    const stage = options.stage;
    return startListWatch<KargoPromotion, PromotionSummary>({
      name: `promotions/${this.project}`,
      watch: this.watcher,
      path: `/apis/${KARGO_GROUP}/${KARGO_VERSION}/namespaces/${encodeURIComponent(this.project)}/promotions`,
      list: () => this.listAll<KargoPromotion>(PLURAL.promotions, {}, { operation: 'list Promotions' }),
      map: toPromotionSummary,
      // Kargo 1.11 labels Promotions with kargo.akuity.io/stage, ≤ 1.10 does not: filter on spec.stage here.
      filter: stage ? (p) => p.spec?.stage === stage : undefined,
      onEvent,
      resourceVersion: options.resourceVersion,
      timeoutSeconds: options.timeoutSeconds,
      backoff: this.watchBackoff,
      logger: this.logger,
    });
  }

  watchEvents(
    onEvent: (event: WatchEvent<KubernetesEventSummary>) => void | Promise<void>,
    options: Omit<WatchOptions, 'stage'> = {},
  ): ListWatchHandle {
    return startListWatch<CoreEvent, KubernetesEventSummary>({
      name: `events/${this.project}`,
      watch: this.watcher,
      path: `/api/v1/namespaces/${encodeURIComponent(this.project)}/events`,
      list: () => this.listEvents(),
      map: toEventSummary,
      onEvent,
      resourceVersion: options.resourceVersion,
      timeoutSeconds: options.timeoutSeconds,
      backoff: this.watchBackoff,
      logger: this.logger,
    });
  }

  /** The KubeConfig this gateway uses (e.g. to build a second client with the same credentials). */
  get config(): KubeConfig {
    return this.kubeConfig;
  }

  // ---- helpers -----------------------------------------------------------------------------------------

  private resource(plural: string) {
    return { group: KARGO_GROUP, version: KARGO_VERSION, namespace: this.project, plural };
  }

  private async findRawPromotionByRequestId(requestId: string): Promise<KargoPromotion | undefined> {
    const { items } = await this.listAll<KargoPromotion>(
      PLURAL.promotions,
      { labelSelector: `${LABEL_REQUEST_ID}=${requestIdLabelValue(requestId)}` },
      { operation: `find Promotion of request "${requestId}"` },
    );
    // The label may be a hash of the id: compare the exact id too. Oldest first, should there ever be two.
    return items
      .filter((p) => p.metadata?.annotations?.[ANNOTATION_REQUEST_ID] === requestId)
      .sort(
        (a, b) =>
          String(a.metadata?.creationTimestamp ?? '').localeCompare(
            String(b.metadata?.creationTimestamp ?? ''),
          ) || (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
      )[0];
  }

  private async getRaw<T>(plural: string, name: string, ctx: ErrorContext): Promise<T | undefined> {
    try {
      this.count('get');
      return (await this.custom.getNamespacedCustomObject({ ...this.resource(plural), name })) as T;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw toChatOpsError(err, ctx);
    }
  }

  /** LIST with pagination; the resourceVersion is the snapshot's (the same on every page). */
  private async listAll<T>(
    plural: string,
    query: { labelSelector?: string },
    ctx: ErrorContext,
  ): Promise<ListResult<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    try {
      do {
        this.count('list');
        const page = (await this.custom.listNamespacedCustomObject({
          ...this.resource(plural),
          labelSelector: query.labelSelector,
          limit: LIST_PAGE_SIZE,
          _continue: cont,
        })) as RawList<T>;
        items.push(...(page.items ?? []));
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        cont = page.metadata?.continue || undefined;
      } while (cont);
    } catch (err) {
      throw toChatOpsError(err, ctx);
    }
    return { items, resourceVersion };
  }

  private async listEvents(): Promise<ListResult<CoreEvent>> {
    const items: CoreV1Event[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    try {
      do {
        const page: CoreV1EventList = await this.core.listNamespacedEvent({
          namespace: this.project,
          limit: LIST_PAGE_SIZE,
          _continue: cont,
        });
        items.push(...page.items);
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        cont = page.metadata?._continue || undefined;
      } while (cont);
    } catch (err) {
      throw toChatOpsError(err, { operation: 'list Events' });
    }
    return { items: items as CoreEvent[], resourceVersion };
  }
}
