// Delivery metrics from the audit stream: a worker-side reader that folds the stream into the delivery
// history (domain/dora.ts) page by page, exports the four DORA metrics as Prometheus gauges per window
// (7d, 30d, 90d), and answers /stats.
//
// Bounded work: a refresh reads at most `maxPages` × `pageSize` records (XRANGE with COUNT) after the last
// entry it read, so a large backlog is caught up over several refreshes instead of in one burst; the first
// refresh starts `maxDays` + 30 days back (older records cannot change a 90-day window). The history keeps
// only what a window needs (cards that ended within the same span), so memory stays bounded too.
import type { Logger } from 'pino';
import {
  addDeliveryRecord,
  doraFrom,
  emptyDeliveryHistory,
  pruneDeliveryHistory,
  type DoraMetrics,
} from '../domain/dora.js';
import type { DoraGauges } from '../metrics.js';
import type { AuditEntry } from './stream.js';

const DAY_MS = 24 * 3600 * 1000;
/** Windows exported as gauges (`window` label). */
export const DORA_WINDOWS = [7, 30, 90] as const;

export interface DeliveryMetricsOptions {
  /** The audit stream (AuditLog satisfies it). */
  audit: { read(opts: { since?: string; count: number }): Promise<AuditEntry[]> };
  /** Where the numbers go; absent = computed for /stats only. */
  gauges?: DoraGauges;
  logger: Logger;
  /** Records per XRANGE page. Default 1,000. */
  pageSize?: number;
  /** Pages per refresh. Default 20 (20,000 records). */
  maxPages?: number;
  /** Longest window asked for, in days. Default 90. */
  maxDays?: number;
  now?: () => Date;
}

export interface RefreshResult {
  /** Records read by this refresh. */
  read: number;
  /** False while a backlog remains (the next refresh continues where this one stopped). */
  caughtUp: boolean;
}

export class DeliveryMetrics {
  private readonly history = emptyDeliveryHistory();
  private cursor: string | undefined;
  private caughtUp = false;
  private busy: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private readonly pageSize: number;
  private readonly maxPages: number;
  private readonly maxDays: number;
  private readonly now: () => Date;

  constructor(private readonly options: DeliveryMetricsOptions) {
    this.pageSize = options.pageSize ?? 1_000;
    this.maxPages = options.maxPages ?? 20;
    this.maxDays = options.maxDays ?? 90;
    this.now = options.now ?? (() => new Date());
    if (!(this.pageSize >= 1) || !(this.maxPages >= 1) || !(this.maxDays >= 1))
      throw new Error('DeliveryMetrics: pageSize, maxPages and maxDays must be ≥ 1');
  }

  /** Whether the reader has read the stream to its end at least once (the numbers are complete). */
  get complete(): boolean {
    return this.caughtUp;
  }

  /** Reads what was appended since the last refresh (bounded), then updates the gauges. One at a time. */
  refresh(): Promise<RefreshResult> {
    const next = this.busy.then(() => this.readAndExport());
    this.busy = next.catch(() => undefined);
    return next;
  }

  /** The metrics over the last `days` from what has been read so far. */
  metrics(days: number): DoraMetrics {
    return doraFrom(this.history, { now: this.now(), days });
  }

  /** Refreshes now and every `intervalMs` (failures are logged; the next tick tries again). */
  start(intervalMs: number): void {
    const tick = (): void =>
      void this.refresh().catch((err: unknown) =>
        this.options.logger.warn({ err }, 'delivery metrics: reading the audit stream failed'),
      );
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.busy;
  }

  private async readAndExport(): Promise<RefreshResult> {
    const now = this.now().getTime();
    const keepFrom = now - (this.maxDays + 30) * DAY_MS;
    this.cursor ??= `${Math.max(0, keepFrom)}-0`;
    let read = 0;
    let end = false;
    for (let page = 0; page < this.maxPages && !end; page += 1) {
      const entries = await this.options.audit.read({ since: this.cursor, count: this.pageSize });
      for (const entry of entries) addDeliveryRecord(this.history, entry.record);
      read += entries.length;
      if (entries.length > 0) this.cursor = entries[entries.length - 1]!.entryId;
      end = entries.length < this.pageSize;
    }
    if (end) this.caughtUp = true;
    pruneDeliveryHistory(this.history, keepFrom);
    this.export();
    if (!end)
      this.options.logger.info(
        { read, cursor: this.cursor },
        'delivery metrics: audit backlog left for the next refresh',
      );
    return { read, caughtUp: end };
  }

  private export(): void {
    const gauges = this.options.gauges;
    if (!gauges) return;
    for (const days of DORA_WINDOWS) {
      const m = this.metrics(days);
      const window = `${days}d`;
      const set = (g: DoraGauges['deployments'], value: number | undefined): void => {
        if (value === undefined) g.remove({ window });
        else g.set({ window }, value);
      };
      set(gauges.deployments, m.deployments);
      set(gauges.deploymentsPerDay, m.deploymentsPerDay);
      set(gauges.leadTimeSeconds, m.leadTime.medianSeconds);
      set(gauges.changeFailureRatio, m.changeFailureRate);
      set(gauges.timeToRestoreSeconds, m.timeToRestore.medianSeconds);
    }
    gauges.refreshedAt.set(this.now().getTime() / 1000);
  }
}
