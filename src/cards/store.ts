// Cards persist as their event log: an append-only Redis list per card, guarded by a set of applied
// event ids, so appending is atomic and idempotent across any number of workers. The card itself is
// always fold(applyEvent, events) — never a separately written document that two workers could race on.
//
// Retention: a card's keys live `ttlSeconds` after its last event (each append renews them); the index of
// recent cards drops entries older than that on every append.
import type { Redis } from 'ioredis';
import { foldEvents, type Card } from '../domain/card.js';
import type { CardEvent } from '../domain/events.js';
import { DEFAULT_RETENTION } from '../retention.js';

// KEYS[1] seen-ids set, KEYS[2] event list, KEYS[3] stats hash, KEYS[4] recent-cards index;
// ARGV[1] event id, ARGV[2] event JSON, ARGV[3] ttl (s), ARGV[4] score (ms), ARGV[5] card id.
const APPEND_ONCE = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('EXPIRE', KEYS[3], ARGV[3]) end
  redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', tonumber(ARGV[4]) - tonumber(ARGV[3]) * 1000)
  return 1
end
return 0`;

export class CardStore {
  private readonly ttlSeconds: number;

  /** How long card data is kept after the card's last change. */
  get retentionSeconds(): number {
    return this.ttlSeconds;
  }

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    options: { ttlSeconds?: number } = {},
  ) {
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_RETENTION.cardSeconds;
  }

  private key(cardId: string, part: 'events' | 'seen' | 'stats'): string {
    return `${this.prefix}:card:${cardId}:${part}`;
  }

  /** Appends the event unless an event with the same id was appended before. True when it was new. */
  async append(event: CardEvent): Promise<boolean> {
    const score = Math.max(Date.parse(event.at) || 0, Date.now());
    const added = (await this.redis.eval(
      APPEND_ONCE,
      4,
      this.key(event.cardId, 'seen'),
      this.key(event.cardId, 'events'),
      this.key(event.cardId, 'stats'),
      `${this.prefix}:cards`,
      event.id,
      JSON.stringify(event),
      String(this.ttlSeconds),
      String(score),
      event.cardId,
    )) as number;
    return added === 1;
  }

  async exists(cardId: string): Promise<boolean> {
    return (await this.redis.exists(this.key(cardId, 'events'))) === 1;
  }

  async events(cardId: string): Promise<CardEvent[]> {
    const raw = await this.redis.lrange(this.key(cardId, 'events'), 0, -1);
    return raw.map((r) => JSON.parse(r) as CardEvent);
  }

  async load(cardId: string): Promise<Card | undefined> {
    return foldEvents(await this.events(cardId));
  }

  /** Counts requests made on behalf of a card (GitHub, Slack, polls), kept as long as the card. */
  async count(cardId: string, field: string, by = 1): Promise<void> {
    await this.redis
      .multi()
      .hincrby(this.key(cardId, 'stats'), field, by)
      .expire(this.key(cardId, 'stats'), this.ttlSeconds)
      .exec();
  }

  async stats(cardId: string): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(this.key(cardId, 'stats'));
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v)]));
  }

  /** Remembers which card a Kargo Promotion belongs to (set when the bot creates it). */
  async linkPromotion(promotionName: string, cardId: string): Promise<void> {
    await this.redis.set(this.promotionKey(promotionName), cardId, 'EX', this.ttlSeconds);
  }

  async cardForPromotion(promotionName: string): Promise<string | undefined> {
    return (await this.redis.get(this.promotionKey(promotionName))) ?? undefined;
  }

  /** Remembers which card follows a GitHub workflow run. */
  async linkRun(runId: number, cardId: string): Promise<void> {
    await this.redis.set(this.runKey(runId), cardId, 'EX', this.ttlSeconds);
  }

  async cardForRun(runId: number): Promise<string | undefined> {
    return (await this.redis.get(this.runKey(runId))) ?? undefined;
  }

  /** Card ids, most recently active first (within the retention). */
  async recent(limit: number): Promise<string[]> {
    return this.redis.zrevrange(`${this.prefix}:cards`, 0, limit - 1);
  }

  private promotionKey(promotionName: string): string {
    return `${this.prefix}:promotion-card:${promotionName}`;
  }

  private runKey(runId: number): string {
    return `${this.prefix}:run-card:${runId}`;
  }
}
