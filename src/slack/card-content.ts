// The latest content of each live card, in Redis. Producers write it (any process, any time); the queue
// job that shows the card reads it when it runs. That is what makes coalescing safe: however many
// changes arrive while a job waits, the job shows the newest one, and a version number tells the job
// whether there is anything new to show at all.
import type { Redis } from 'ioredis';
import type { NotifierKeys, SlackChannel } from './notifier-keys.js';

export interface CardContent {
  text: string;
  blocks?: unknown[];
}

export interface StoredCard extends CardContent {
  /** Version of this content: the caller's (e.g. the card reducer's) or one more than the last. */
  version: number;
  /** Highest version Slack has shown; 0 before the first post. */
  renderedVersion: number;
}

// KEYS[1] card hash; ARGV[1] text, ARGV[2] blocks JSON ('' = none), ARGV[3] version ('' = next),
// ARGV[4] ttl in seconds.
// Returns the stored version, or 0 when the caller's version is not newer than what is stored (a late or
// replayed render must never overwrite a newer one).
const STORE_LATEST = `
local current = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local version
if ARGV[3] == '' then
  version = current + 1
else
  version = tonumber(ARGV[3])
  if version <= current then return 0 end
end
redis.call('HSET', KEYS[1], 'text', ARGV[1], 'blocks', ARGV[2], 'version', version)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return version`;

// KEYS[1] card hash; ARGV[1] version now shown. Only moves forward.
const MARK_RENDERED = `
local rendered = tonumber(redis.call('HGET', KEYS[1], 'renderedVersion') or '0')
if tonumber(ARGV[1]) > rendered then redis.call('HSET', KEYS[1], 'renderedVersion', ARGV[1]) end
return 1`;

export class CardContentStore {
  constructor(
    private readonly keys: NotifierKeys,
    private readonly ttlSeconds: number,
  ) {}

  /** Stores the content as the card's latest; resolves the version stored, or null when it was stale. */
  async store(
    redis: Redis,
    channel: SlackChannel,
    key: string,
    content: CardContent,
    version?: number,
  ): Promise<number | null> {
    const stored = (await redis.eval(
      STORE_LATEST,
      1,
      this.keys.card(channel, key),
      content.text,
      content.blocks ? JSON.stringify(content.blocks) : '',
      version === undefined ? '' : String(version),
      String(this.ttlSeconds),
    )) as number;
    return stored === 0 ? null : stored;
  }

  /** Resolves null when no content was ever stored (or it expired). */
  async load(redis: Redis, channel: SlackChannel, key: string): Promise<StoredCard | null> {
    const h = await redis.hgetall(this.keys.card(channel, key));
    if (h.version === undefined || h.text === undefined) return null;
    return {
      text: h.text,
      ...(h.blocks ? { blocks: JSON.parse(h.blocks) as unknown[] } : {}),
      version: Number(h.version),
      renderedVersion: Number(h.renderedVersion ?? 0),
    };
  }

  async markRendered(redis: Redis, channel: SlackChannel, key: string, version: number): Promise<void> {
    await redis.eval(MARK_RENDERED, 1, this.keys.card(channel, key), String(version));
  }
}
