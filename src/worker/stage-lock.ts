// One promotion decision per (stage, freight) at a time, across every worker replica: the check "is this
// freight already there, or already on its way?" and the create that follows must not interleave with
// another worker doing the same for the same pair (two /promote clicks 100 ms apart, a retried job whose
// first run is still alive). A Redis lock with an owner token, released only by its owner; it expires on
// its own if the holder dies, after which the next holder re-reads Kargo and finds what was created.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export interface StageLockOptions {
  redis: Redis;
  prefix: string;
  /** How long the lock is held at most (the holder's work must finish well within it). Default 30 s. */
  ttlMs?: number;
  /** How long a second caller waits for the lock before giving up (transient: the job retries). Default 20 s. */
  waitMs?: number;
}

export class StageFreightLock {
  private readonly ttlMs: number;
  private readonly waitMs: number;

  constructor(private readonly options: StageLockOptions) {
    this.ttlMs = options.ttlMs ?? 30_000;
    this.waitMs = options.waitMs ?? 20_000;
  }

  private key(stage: string, freight: string): string {
    return `${this.options.prefix}:promote-lock:${stage}:${freight}`;
  }

  /**
   * The Promotion this bot last created for (stage, freight), whatever request it was for. A consistent
   * read (Redis), unlike the watch cache, which may not yet show what another worker created a moment ago.
   */
  async inflight(stage: string, freight: string): Promise<string | undefined> {
    return (await this.options.redis.get(this.inflightKey(stage, freight))) ?? undefined;
  }

  /** Records the Promotion just created for (stage, freight); call it while holding the lock. */
  async markInflight(stage: string, freight: string, promotion: string, ttlSeconds: number): Promise<void> {
    await this.options.redis.set(this.inflightKey(stage, freight), promotion, 'EX', ttlSeconds);
  }

  private inflightKey(stage: string, freight: string): string {
    return `${this.options.prefix}:promote-inflight:${stage}:${freight}`;
  }

  /** Runs `fn` holding the lock of (stage, freight). */
  async withLock<T>(stage: string, freight: string, fn: () => Promise<T>): Promise<T> {
    const key = this.key(stage, freight);
    const token = randomUUID();
    const deadline = Date.now() + this.waitMs;
    let delay = 25;
    while ((await this.options.redis.set(key, token, 'PX', this.ttlMs, 'NX')) !== 'OK') {
      if (Date.now() > deadline) {
        // Not an outage: another worker holds the decision. A plain error: the job retries with backoff.
        throw new Error(`another promotion of this freight to ${stage} is still being decided; retrying`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 500);
    }
    try {
      return await fn();
    } finally {
      await this.options.redis.eval(RELEASE, 1, key, token).catch(() => undefined);
    }
  }
}
