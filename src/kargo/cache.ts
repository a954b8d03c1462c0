// An informer-style cache of the project's Freight, Stages and Promotions: LIST once, then WATCH from the
// list's resourceVersion (watch.ts: resumes after timeouts, re-lists on 410 Gone), so /freight, `/promote
// … latest`, availability checks, Pending reasons and /status read memory — no API request, and a cost that
// does not grow with the number of Freight. Until a collection has synced (first LIST done), reads fall
// back to a direct API call.
//
// What stays a direct, consistent read: anything an exactly-once guarantee rests on — the Promotion of a
// request id (findPromotionByRequestId) and single Promotions by name (getPromotion) — because a watch can
// lag a write another worker just made.
import type { FreightSummary, PromotionSummary, StageSummary } from '../domain/types.js';
import type { KubernetesKargoGateway } from './client.js';
import type {
  CreatePromotionInput,
  KargoGateway,
  KubernetesEventSummary,
  WatchEvent,
  WatchHandle,
  WatchOptions,
} from './gateway.js';
import {
  compareFreightNewestFirst,
  toFreightSummary,
  toPromotionSummary,
  toStageSummary,
  type KargoFreight,
  type KargoPromotion,
  type KargoStage,
} from './mapping.js';
import type { WatchLogger } from './watch.js';

type Named = { metadata?: { name?: string } };

/** One watched collection: raw objects by name, and whether the first LIST is in. */
class Collection<Raw extends Named> {
  readonly byName = new Map<string, Raw>();
  synced = false;
  /** Bumped on every change: derived views (sorted lists, indexes) are rebuilt lazily when it moved. */
  generation = 0;

  apply(event: WatchEvent<Raw>): void {
    this.generation += 1;
    if (event.type === 'RESYNC') {
      this.byName.clear();
      for (const object of event.objects) this.byName.set(object.metadata?.name ?? '', object);
      this.synced = true;
      return;
    }
    const name = event.object.metadata?.name ?? '';
    if (event.type === 'DELETED') this.byName.delete(name);
    else this.byName.set(name, event.object);
  }
}

export interface KargoCacheOptions {
  /** Backs the cache (LIST/WATCH) and serves every read the cache cannot (yet) answer. */
  gateway: KubernetesKargoGateway;
  logger?: WatchLogger;
}

export class CachedKargoGateway implements KargoGateway {
  private readonly freights = new Collection<KargoFreight>();
  private readonly stages = new Collection<KargoStage>();
  private readonly promotions = new Collection<KargoPromotion>();
  private readonly handles: WatchHandle[] = [];
  private sortedFreight: { generation: number; items: FreightSummary[] } = { generation: -1, items: [] };
  private aliasIndex: { generation: number; byAlias: Map<string, KargoFreight> } = {
    generation: -1,
    byAlias: new Map(),
  };

  constructor(private readonly options: KargoCacheOptions) {
    // Promotions are created from the cached Stage (its template steps): one Stage read per promotion,
    // and that one from memory.
    options.gateway.useStageSource((name) => (this.stages.synced ? this.stages.byName.get(name) : undefined));
  }

  /** Starts the three list-watches. Reads work before they sync (directly against the API). */
  start(): this {
    const g = this.options.gateway;
    this.handles.push(
      g.watchRaw<KargoFreight>('freights', (e) => this.freights.apply(e)),
      g.watchRaw<KargoStage>('stages', (e) => this.stages.apply(e)),
      g.watchRaw<KargoPromotion>('promotions', (e) => this.promotions.apply(e)),
    );
    return this;
  }

  /** True once every collection has been listed. */
  get synced(): boolean {
    return this.freights.synced && this.stages.synced && this.promotions.synced;
  }

  stop(): void {
    for (const handle of this.handles) handle.stop();
  }

  // ---- reads from memory ----------------------------------------------------------------------------------

  async listFreight(): Promise<FreightSummary[]> {
    if (!this.freights.synced) return this.options.gateway.listFreight();
    if (this.sortedFreight.generation !== this.freights.generation) {
      this.sortedFreight = {
        generation: this.freights.generation,
        items: [...this.freights.byName.values()].sort(compareFreightNewestFirst).map(toFreightSummary),
      };
    }
    return this.sortedFreight.items;
  }

  async listStages(): Promise<StageSummary[]> {
    if (!this.stages.synced) return this.options.gateway.listStages();
    return [...this.stages.byName.values()]
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
      .map(toStageSummary);
  }

  async getStage(name: string): Promise<StageSummary | undefined> {
    if (!this.stages.synced) return this.options.gateway.getStage(name);
    const stage = this.stages.byName.get(name);
    return stage && toStageSummary(stage);
  }

  /** Same rules as the gateway's findFreight: alias, then name, then a unique name prefix of ≥ 7. */
  async findFreight(aliasOrName: string): Promise<FreightSummary | undefined> {
    if (!this.freights.synced) return this.options.gateway.findFreight(aliasOrName);
    const query = aliasOrName.trim();
    if (!query) return undefined;
    if (this.aliasIndex.generation !== this.freights.generation) {
      const byAlias = new Map<string, KargoFreight>();
      // Oldest first, so the newest of several with one alias wins.
      const all = [...this.freights.byName.values()].sort((a, b) => compareFreightNewestFirst(b, a));
      for (const f of all) {
        const alias = f.alias ?? f.metadata?.labels?.['kargo.akuity.io/alias'];
        if (alias) byAlias.set(alias, f);
      }
      this.aliasIndex = { generation: this.freights.generation, byAlias };
    }
    const found = this.aliasIndex.byAlias.get(query) ?? this.freights.byName.get(query);
    if (found) return toFreightSummary(found);
    if (query.length >= 7) {
      const prefix = query.toLowerCase();
      const matches = [...this.freights.byName.keys()].filter((name) => name.startsWith(prefix));
      if (matches.length === 1) return toFreightSummary(this.freights.byName.get(matches[0]!)!);
    }
    return undefined;
  }

  async listPromotions(stage?: string): Promise<PromotionSummary[]> {
    if (!this.promotions.synced) return this.options.gateway.listPromotions(stage);
    return [...this.promotions.byName.values()]
      .filter((p) => stage === undefined || p.spec?.stage === stage)
      .map(toPromotionSummary)
      .sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.name.localeCompare(b.name));
  }

  // ---- consistent reads and writes: straight to the API ------------------------------------------------

  direct(): KargoGateway {
    return this.options.gateway;
  }

  getPromotion(name: string): Promise<PromotionSummary | undefined> {
    return this.options.gateway.getPromotion(name);
  }

  findPromotionByRequestId(requestId: string): Promise<PromotionSummary | undefined> {
    return this.options.gateway.findPromotionByRequestId(requestId);
  }

  createPromotion(input: CreatePromotionInput): Promise<PromotionSummary> {
    return this.options.gateway.createPromotion(input);
  }

  pauseAutoPromotion(stage: string): Promise<'paused' | 'not-enabled'> {
    return this.options.gateway.pauseAutoPromotion(stage);
  }

  resumeAutoPromotion(stage: string): Promise<'resumed' | 'not-paused'> {
    return this.options.gateway.resumeAutoPromotion(stage);
  }

  abortPromotion(name: string): Promise<'aborting' | 'finished' | 'gone'> {
    return this.options.gateway.abortPromotion(name);
  }

  apiServerReady(): Promise<boolean> {
    return this.options.gateway.apiServerReady();
  }

  watchPromotions(
    onEvent: (event: WatchEvent<PromotionSummary>) => void | Promise<void>,
    options?: WatchOptions,
  ): WatchHandle {
    return this.options.gateway.watchPromotions(onEvent, options);
  }

  watchEvents(
    onEvent: (event: WatchEvent<KubernetesEventSummary>) => void | Promise<void>,
    options?: Omit<WatchOptions, 'stage'>,
  ): WatchHandle {
    return this.options.gateway.watchEvents(onEvent, options);
  }
}
