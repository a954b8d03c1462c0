// The durable audit stream: every AuditRecord, once, in order, in a Redis stream (`<prefix>:audit`).
// #infra-audit is only a mirror of it (mirror.ts), so a Slack outage delays the channel, never the record.
//
// Callers append BEFORE they report the effect (ack a command, update a card, answer a button): if the
// process dies in between, the record exists and the report can be replayed from it; the other order
// would leave effects nobody can account for. Appending is idempotent on record.id, so a retried job
// appends again without fear.
//
// Retention is by age only (AUDIT_RETENTION_DAYS, trim()): entries older than the retention are removed
// with XTRIM MINID, never a count cap that would silently drop recent records under load. Archive the
// stream before it ages out if you need it longer (README: Redis sizing).
//
// The full record of one promotion (`/audit`, the "Full record" button) is found through an index kept by
// the same append: per card, the entry ids of its records (`<prefix>:audit:card:<card id>`, a list), and per
// Kargo Promotion its card (`<prefix>:audit:promotion:<name>`, from the `promotion.created` record). Both
// live as long as the stream keeps records (indexTtlSeconds, refreshed by every append to them); an entry
// id whose record was trimmed reads as nothing. Records appended before the index existed are in the
// stream only.
import type { AuditRecord } from '../domain/audit.js';
import { DEFAULT_RETENTION } from '../retention.js';
import {
  closeClient,
  openClient,
  type OpenedClient,
  type RedisConnection,
} from '../slack/redis-connection.js';

export interface AuditLogOptions {
  /** Redis: an ioredis instance (shared, not closed here) or options for one. */
  connection: RedisConnection;
  /** Namespace: the stream is `<prefix>:audit`. */
  prefix: string;
  /**
   * Lifetime of the id → entry guard; a record re-appended after that is stored again. It must outlive
   * every replay of the same record (a card's events are replayed while the card lives): default the card
   * retention (35 days).
   */
  idTtlSeconds?: number;
  /**
   * Lifetime of the per-card and per-promotion index after its last append: as long as the stream keeps
   * records (AUDIT_RETENTION_DAYS). Default the default audit retention (400 days).
   */
  indexTtlSeconds?: number;
}

export interface AuditEntry {
  /** The stream entry id (`<ms>-<seq>`), usable as `since` for read(). */
  entryId: string;
  record: AuditRecord;
}

export interface AppendResult {
  /** False when a record with this id was appended before (nothing was written). */
  appended: boolean;
  entryId: string;
}

export const auditStreamKey = (prefix: string): string => `${prefix}:audit`;
const auditIdKey = (prefix: string, id: string): string => `${prefix}:audit:id:${id}`;
export const auditCardIndexKey = (prefix: string, cardId: string): string => `${prefix}:audit:card:${cardId}`;
export const auditPromotionKey = (prefix: string, promotionName: string): string =>
  `${prefix}:audit:promotion:${promotionName}`;

// KEYS[1] stream, KEYS[2] id guard, [KEYS[3] the card's index, [KEYS[4] the promotion's card]];
// ARGV[1] record id, ARGV[2] record JSON, ARGV[3] guard TTL (s), ARGV[4] index TTL (s), ARGV[5] card id.
// One script, so "already appended?", "append" and "index" cannot be split by a crash or a concurrent append.
const APPEND_ONCE = `
local existing = redis.call('GET', KEYS[2])
if existing then return {0, existing} end
local entryId = redis.call('XADD', KEYS[1], '*', 'id', ARGV[1], 'record', ARGV[2])
redis.call('SET', KEYS[2], entryId, 'EX', ARGV[3])
if KEYS[3] then
  redis.call('RPUSH', KEYS[3], entryId)
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
if KEYS[4] then redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[4]) end
return {1, entryId}`;

const DEFAULT_ID_TTL_SECONDS = DEFAULT_RETENTION.cardSeconds;
/** The full record of a promotion reads at most this many records (far more than one promotion makes). */
export const MAX_RECORDS_PER_CARD = 5_000;

export class AuditLog {
  private readonly redis: OpenedClient;
  private readonly streamKey: string;
  private readonly idTtlSeconds: number;
  private readonly indexTtlSeconds: number;

  constructor(private readonly options: AuditLogOptions) {
    if (!options.prefix) throw new Error('AuditLog: prefix is required');
    this.idTtlSeconds = options.idTtlSeconds ?? DEFAULT_ID_TTL_SECONDS;
    if (!(this.idTtlSeconds >= 1)) throw new Error('AuditLog: idTtlSeconds must be ≥ 1');
    this.indexTtlSeconds = options.indexTtlSeconds ?? DEFAULT_RETENTION.auditSeconds;
    if (!(this.indexTtlSeconds >= 1)) throw new Error('AuditLog: indexTtlSeconds must be ≥ 1');
    this.redis = openClient(options.connection);
    this.streamKey = auditStreamKey(options.prefix);
  }

  /** Appends the record unless one with the same id was appended before. Rejects only on storage failure. */
  async append(record: AuditRecord): Promise<AppendResult> {
    assertRecord(record);
    const { prefix } = this.options;
    const keys = [this.streamKey, auditIdKey(prefix, record.id)];
    const cardId = record.cardId;
    if (cardId) {
      keys.push(auditCardIndexKey(prefix, cardId));
      if (record.action === 'promotion.created' && record.target) {
        keys.push(auditPromotionKey(prefix, record.target));
      }
    }
    const [appended, entryId] = (await this.redis.client.eval(
      APPEND_ONCE,
      keys.length,
      ...keys,
      record.id,
      JSON.stringify(record),
      String(this.idTtlSeconds),
      String(this.indexTtlSeconds),
      cardId ?? '',
    )) as [number, string];
    return { appended: appended === 1, entryId };
  }

  /**
   * Every record of one card (promotion) the stream still keeps, in append order, at most
   * MAX_RECORDS_PER_CARD; undefined when the index knows no record of it.
   */
  async forCard(cardId: string): Promise<AuditRecord[] | undefined> {
    const client = this.redis.client;
    const ids = await client.lrange(
      auditCardIndexKey(this.options.prefix, cardId),
      0,
      MAX_RECORDS_PER_CARD - 1,
    );
    if (ids.length === 0) return undefined;
    const pipeline = client.pipeline();
    for (const id of ids) pipeline.xrange(this.streamKey, id, id);
    const replies = (await pipeline.exec()) ?? [];
    const records: AuditRecord[] = [];
    for (const [err, entries] of replies) {
      if (err) throw err;
      for (const [, fields] of entries as Array<[string, string[]]>) {
        records.push(parseAuditFields(fields));
      }
    }
    return records;
  }

  /** The card of a Kargo Promotion, from its `promotion.created` record; undefined when unknown. */
  async cardOfPromotion(promotionName: string): Promise<string | undefined> {
    return (await this.redis.client.get(auditPromotionKey(this.options.prefix, promotionName))) ?? undefined;
  }

  /** Records in append order, after `since` (an entry id, exclusive) or from the start. */
  async read(opts: { since?: string; count: number }): Promise<AuditEntry[]> {
    if (!(opts.count >= 1)) throw new Error('AuditLog.read: count must be ≥ 1');
    const start = opts.since ? `(${opts.since}` : '-';
    const entries = await this.redis.client.xrange(this.streamKey, start, '+', 'COUNT', opts.count);
    return entries.map(([entryId, fields]) => ({ entryId, record: parseAuditFields(fields) }));
  }

  /**
   * Removes entries older than `maxAgeSeconds` (stream ids start with their append time in ms). Returns
   * how many were removed. Exact (no `~`): what the retention promises is what is kept.
   */
  async trim(maxAgeSeconds: number, now = Date.now()): Promise<number> {
    const minId = `${Math.max(0, now - maxAgeSeconds * 1000)}-0`;
    return (await this.redis.client.xtrim(this.streamKey, 'MINID', minId)) as number;
  }

  async close(): Promise<void> {
    await closeClient(this.redis);
  }
}

/** A stream entry's fields (`id <id> record <json>`) back to the record. Throws on a malformed entry. */
export function parseAuditFields(fields: string[]): AuditRecord {
  const at = fields.indexOf('record');
  const json = at >= 0 ? fields[at + 1] : undefined;
  if (json === undefined) throw new Error('audit entry has no record field');
  const record = JSON.parse(json) as AuditRecord;
  assertRecord(record);
  return record;
}

function assertRecord(record: AuditRecord): void {
  const missing = (['id', 'at', 'actor', 'action', 'outcome', 'detail'] as const).filter(
    (field) => typeof record?.[field] !== 'string' || (field === 'id' && record.id === ''),
  );
  if (missing.length > 0) throw new Error(`audit record is missing ${missing.join(', ')}`);
}
