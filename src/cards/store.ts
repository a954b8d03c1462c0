// Cards persist as their event log: an append-only Redis list per card, guarded by a set of applied
// event ids, so appending is atomic and idempotent across any number of workers. The card itself is
// always fold(applyEvent, events) — never a separately written document that two workers could race on.
import type { Redis } from 'ioredis';
import { foldEvents, type Card } from '../domain/card.js';
import type { CardEvent } from '../domain/events.js';

// KEYS[1] = seen-ids set, KEYS[2] = event list; ARGV[1] = event id, ARGV[2] = event JSON.
const APPEND_ONCE = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0`;

export class CardStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(cardId: string, part: 'events' | 'seen'): string {
    return `${this.prefix}:card:${cardId}:${part}`;
  }

  /** Appends the event unless an event with the same id was appended before. True when it was new. */
  async append(event: CardEvent): Promise<boolean> {
    const added = (await this.redis.eval(
      APPEND_ONCE,
      2,
      this.key(event.cardId, 'seen'),
      this.key(event.cardId, 'events'),
      event.id,
      JSON.stringify(event),
    )) as number;
    if (added === 1) {
      await this.redis.zadd(`${this.prefix}:cards`, Date.parse(event.at) || Date.now(), event.cardId);
    }
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

  /** Remembers which card a Kargo Promotion belongs to (set when the bot creates it). */
  async linkPromotion(promotionName: string, cardId: string): Promise<void> {
    await this.redis.hset(`${this.prefix}:promotion-cards`, promotionName, cardId);
  }

  async cardForPromotion(promotionName: string): Promise<string | undefined> {
    return (await this.redis.hget(`${this.prefix}:promotion-cards`, promotionName)) ?? undefined;
  }

  /** Card ids, most recently active first. */
  async recent(limit: number): Promise<string[]> {
    return this.redis.zrevrange(`${this.prefix}:cards`, 0, limit - 1);
  }
}
