// Fills #infra-audit from the audit stream, in stream order, exactly once: one line per decision and per
// phase change (src/domain/audit-mirror.ts picks the records and writes the line, with a "Full record"
// button for a promotion's records). Every other record stays in the stream only, acknowledged unposted.
//
// The mirror is a consumer in a Redis consumer group on the stream. For each entry it ENQUEUES the Slack
// post through the notifier (idempotency key = record.id) and only then acknowledges the entry (XACK).
// So:
//   - Slack down → the posts wait in the audit channel's queue (the notifier retries), nothing is lost;
//   - the mirror dies between enqueue and XACK → the entry is still pending and is enqueued again on
//     restart; the notifier posts once per key, so no duplicate;
//   - the mirror dies for good → another consumer claims its pending entries once they have been idle
//     for claimIdleMs (XAUTOCLAIM).
// Order: pending entries (own, then claimed) are mirrored before new ones, and with strictOrder (the
// default) new entries wait while another consumer still holds unacknowledged ones. Run one mirror
// replica for a strictly ordered channel; several replicas are safe but may interleave.
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import type { AuditRecord } from '../domain/audit.js';
import { auditLine, mirrorKindOf, type AuditLineContext } from '../domain/audit-mirror.js';
import type { PostRequest } from '../slack/notifier.js';
import {
  closeClient,
  openClient,
  openPatientClient,
  quietly,
  type OpenedClient,
  type RedisConnection,
} from '../slack/redis-connection.js';
import { auditStreamKey, parseAuditFields } from './stream.js';

/** What the mirror needs from the notifier (SlackNotifier satisfies it). */
export interface AuditPoster {
  post(req: PostRequest): Promise<void>;
}

export interface AuditMirrorOptions {
  /** Redis: an ioredis instance (shared, not closed here) or options for one. */
  connection: RedisConnection;
  /** Same prefix as the AuditLog: the stream is `<prefix>:audit`. */
  prefix: string;
  notifier: AuditPoster;
  /** Consumer group. Default `slack-mirror`. */
  group?: string;
  /**
   * This consumer's name; keep it stable across restarts so a restarted mirror resumes its own pending
   * entries first. Default the host name.
   */
  consumer?: string;
  /** An entry another consumer has held unacknowledged this long is taken over. Default 60 s. */
  claimIdleMs?: number;
  /** Keep new entries waiting while another consumer holds older unacknowledged ones. Default true. */
  strictOrder?: boolean;
  /** How long one blocking read waits for new entries. Default 2 s. */
  blockMs?: number;
  /** Entries per read. Default 50. */
  batchSize?: number;
  /**
   * What the line may link to (the card, the run) and the card's environment, for a record of a card. A
   * failure here is logged and the line is posted without it: links never hold the channel back.
   */
  context?: (record: AuditRecord) => Promise<AuditLineContext>;
  logger?: Logger;
}

type StreamEntry = [id: string, fields: string[] | null];

const DEFAULTS = { group: 'slack-mirror', claimIdleMs: 60_000, blockMs: 2000, batchSize: 50 };
const MAX_ERROR_PAUSE_MS = 10_000;

export class AuditMirror {
  private readonly streamKey: string;
  private readonly group: string;
  private readonly consumer: string;
  private readonly claimIdleMs: number;
  private readonly strictOrder: boolean;
  private readonly blockMs: number;
  private readonly batchSize: number;
  private readonly logger: Logger;
  private redis: OpenedClient | undefined;
  /** Blocking reads (XREADGROUP BLOCK) hold their connection; they get one of their own. */
  private blocking: Redis | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(private readonly options: AuditMirrorOptions) {
    if (!options.prefix) throw new Error('AuditMirror: prefix is required');
    this.streamKey = auditStreamKey(options.prefix);
    this.group = options.group ?? DEFAULTS.group;
    this.consumer = options.consumer ?? hostname();
    this.claimIdleMs = options.claimIdleMs ?? DEFAULTS.claimIdleMs;
    this.strictOrder = options.strictOrder ?? true;
    this.blockMs = options.blockMs ?? DEFAULTS.blockMs;
    this.batchSize = options.batchSize ?? DEFAULTS.batchSize;
    for (const [name, value] of Object.entries({
      claimIdleMs: this.claimIdleMs,
      blockMs: this.blockMs,
      batchSize: this.batchSize,
    })) {
      if (!(value >= 1)) throw new Error(`AuditMirror: ${name} must be ≥ 1`);
    }
    this.logger = (options.logger ?? pino({ name: 'chatops' })).child({ component: 'audit-mirror' });
  }

  /** Creates the consumer group if needed and starts mirroring in the background. */
  async start(): Promise<void> {
    if (this.loop) return;
    this.stopping = false;
    this.redis = openClient(this.options.connection);
    this.blocking = openPatientClient(this.options.connection);
    this.blocking.on('error', (err) => this.logger.warn({ err }, 'redis connection error'));
    await this.ensureGroup(this.redis.client);
    this.loop = this.run();
  }

  /** Stops after the entry in hand; whatever was read but not yet acknowledged stays pending for next run. */
  async close(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    // Interrupts a blocking read; entries it had already taken stay in our pending list.
    this.blocking?.disconnect();
    await this.loop;
    this.loop = undefined;
    if (this.blocking) await quietly(this.blocking);
    this.blocking = undefined;
    if (this.redis) await closeClient(this.redis);
    this.redis = undefined;
  }

  private async ensureGroup(redis: Redis): Promise<void> {
    try {
      // From the beginning of the stream: records appended before the first mirror ran are mirrored too.
      await redis.xgroup('CREATE', this.streamKey, this.group, '0', 'MKSTREAM');
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith('BUSYGROUP'))) throw err;
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.step();
        failures = 0;
      } catch (err) {
        if (this.stopping) break;
        failures += 1;
        const pause = Math.min(MAX_ERROR_PAUSE_MS, 250 * 2 ** Math.min(failures, 6));
        this.logger.warn({ err, pauseMs: pause }, 'audit mirror step failed; retrying');
        await this.sleep(pause);
      }
    }
  }

  /** One round: own pending entries, then claimable ones, then new ones. */
  private async step(): Promise<void> {
    const redis = this.client();
    const own = await this.readGroup(redis, '0');
    if (own.length > 0) {
      await this.mirror(own);
      return;
    }
    const claimed = await this.claimAbandoned(redis);
    if (claimed.length > 0) {
      await this.mirror(claimed);
      return;
    }
    if (this.strictOrder && (await this.othersHoldPending(redis))) {
      await this.sleep(Math.min(1000, Math.max(10, Math.floor(this.claimIdleMs / 4))));
      return;
    }
    if (!this.blocking) return;
    const fresh = await this.readGroup(this.blocking, '>', this.blockMs);
    await this.mirror(fresh);
  }

  private async mirror(entries: StreamEntry[]): Promise<void> {
    const redis = this.client();
    for (const [entryId, fields] of entries) {
      if (this.stopping) return;
      if (fields === null) {
        // Trimmed from the stream while pending: nothing left to mirror.
        await redis.xack(this.streamKey, this.group, entryId);
        continue;
      }
      let record: AuditRecord;
      try {
        record = parseAuditFields(fields);
      } catch (err) {
        this.logger.error({ err, entryId }, 'malformed audit entry; not mirrored');
        await redis.xack(this.streamKey, this.group, entryId);
        continue;
      }
      if (mirrorKindOf(record)) {
        const line = auditLine(record, await this.contextOf(record));
        if (line) {
          await this.options.notifier.post({
            channel: 'audit',
            key: record.id,
            text: line.text,
            blocks: line.blocks,
          });
        }
      }
      await redis.xack(this.streamKey, this.group, entryId);
    }
  }

  private async contextOf(record: AuditRecord): Promise<AuditLineContext> {
    if (!this.options.context || !record.cardId) return {};
    try {
      return await this.options.context(record);
    } catch (err) {
      this.logger.warn({ err, recordId: record.id }, 'audit line context unavailable; posted without links');
      return {};
    }
  }

  private async readGroup(redis: Redis, from: '0' | '>', blockMs?: number): Promise<StreamEntry[]> {
    const args: Array<string | number> = ['GROUP', this.group, this.consumer, 'COUNT', this.batchSize];
    if (blockMs !== undefined) args.push('BLOCK', blockMs);
    args.push('STREAMS', this.streamKey, from);
    const reply = (await redis.call('XREADGROUP', ...args)) as Array<[string, StreamEntry[]]> | null;
    return reply?.[0]?.[1] ?? [];
  }

  /** Entries other consumers read and left unacknowledged for at least claimIdleMs, oldest first. */
  private async claimAbandoned(redis: Redis): Promise<StreamEntry[]> {
    const reply = (await redis.xautoclaim(
      this.streamKey,
      this.group,
      this.consumer,
      this.claimIdleMs,
      '0-0',
      'COUNT',
      this.batchSize,
    )) as [string, StreamEntry[], string[]?];
    const claimed = reply[1] ?? [];
    if (claimed.length > 0)
      this.logger.info({ count: claimed.length }, 'took over unacknowledged audit entries');
    // Entries deleted from the stream while pending: Redis 7 drops them from the pending list itself.
    return claimed;
  }

  private async othersHoldPending(redis: Redis): Promise<boolean> {
    const summary = (await redis.xpending(this.streamKey, this.group)) as [number, ...unknown[]];
    return Number(summary[0]) > 0;
  }

  private client(): Redis {
    if (!this.redis) throw new Error('AuditMirror.start() was not called');
    return this.redis.client;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
