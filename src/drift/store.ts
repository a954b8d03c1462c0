// Where the bot keeps drift: the latest state of each checked target (cloud/environment), the last drift
// episode of each environment, and which drift runs were read. Every key has a TTL (retention.ts): a state
// or episode lives `ttlSeconds` after its last write (each check rewrites it), run markers a week.
//
// Writers are serialised by a short Redis lock (several worker replicas may read two runs at once); readers
// (/drift) never take it.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DeployEnvironment } from '../artifacts/types.js';
import {
  DRIFT_TARGETS,
  type DriftEpisode,
  type DriftTarget,
  type DriftTargetState,
} from '../domain/drift.js';

/** A drift run read this long ago is not read again (the poller looks at the newest run only). */
export const DRIFT_RUN_MARKER_SECONDS = 7 * 24 * 3600;

// KEYS[1] lock; ARGV[1] token. Deletes the lock only if it is still ours.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class DriftStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {
    if (!(ttlSeconds >= 1)) throw new Error('DriftStore: ttlSeconds must be ≥ 1');
  }

  private targetKey(t: Pick<DriftTarget, 'cloud' | 'environment'>): string {
    return `${this.prefix}:drift:target:${t.cloud}-${t.environment}`;
  }

  private episodeKey(environment: DeployEnvironment): string {
    return `${this.prefix}:drift:episode:${environment}`;
  }

  private runKey(runId: number): string {
    return `${this.prefix}:drift:run:${runId}`;
  }

  /** Every target's state (absent ones left out). */
  async targets(): Promise<DriftTargetState[]> {
    const raw = await this.redis.mget(...DRIFT_TARGETS.map((t) => this.targetKey(t)));
    return raw.flatMap((r) => (r ? [JSON.parse(r) as DriftTargetState] : []));
  }

  async saveTarget(state: DriftTargetState): Promise<void> {
    await this.redis.set(this.targetKey(state), JSON.stringify(state), 'EX', this.ttlSeconds);
  }

  /** Resolves undefined when the environment never drifted (or its episode aged out). */
  async episode(environment: DeployEnvironment): Promise<DriftEpisode | undefined> {
    const raw = await this.redis.get(this.episodeKey(environment));
    return raw ? (JSON.parse(raw) as DriftEpisode) : undefined;
  }

  async saveEpisode(episode: DriftEpisode): Promise<void> {
    await this.redis.set(
      this.episodeKey(episode.environment),
      JSON.stringify(episode),
      'EX',
      this.ttlSeconds,
    );
  }

  /** Keeps an unchanged episode as long as the checks keep finding it. */
  async touchEpisode(environment: DeployEnvironment): Promise<void> {
    await this.redis.expire(this.episodeKey(environment), this.ttlSeconds);
  }

  async wasRead(runId: number): Promise<boolean> {
    return (await this.redis.exists(this.runKey(runId))) === 1;
  }

  async markRead(runId: number): Promise<void> {
    await this.redis.set(this.runKey(runId), '1', 'EX', DRIFT_RUN_MARKER_SECONDS);
  }

  /**
   * Runs `fn` holding the drift lock; resolves false (and runs nothing) when another worker holds it.
   * The lock expires after `ttlMs` should its holder die.
   */
  async withLock(fn: () => Promise<void>, ttlMs = 60_000): Promise<boolean> {
    const key = `${this.prefix}:drift:lock`;
    const token = randomBytes(8).toString('hex');
    if ((await this.redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return false;
    try {
      await fn();
    } finally {
      await this.redis.eval(RELEASE, 1, key, token);
    }
    return true;
  }
}
