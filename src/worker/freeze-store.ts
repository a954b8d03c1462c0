// Change freezes in Redis, one key per environment, expiring with the freeze itself (plus a day, so an
// ended freeze can still be shown and its auto-promotion restored). History goes to the audit stream.
import type { Redis } from 'ioredis';
import { isFrozen, type Freeze } from '../domain/freeze.js';
import type { Environment } from '../domain/types.js';

export class FreezeStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(environment: Environment): string {
    return `${this.prefix}:freeze:${environment}`;
  }

  /** The freeze of `environment`, ended or not (undefined when none was set or it is long gone). */
  async get(environment: Environment): Promise<Freeze | undefined> {
    const raw = await this.redis.get(this.key(environment));
    if (!raw) return undefined;
    try {
      return JSON.parse(raw) as Freeze;
    } catch {
      return undefined;
    }
  }

  /** The freeze of `environment` if it is in force at `now`. */
  async active(environment: Environment, now: Date): Promise<Freeze | undefined> {
    const freeze = await this.get(environment);
    return isFrozen(freeze, now) ? freeze : undefined;
  }

  /** Both environments' freezes in force at `now`. */
  async allActive(now: Date): Promise<Partial<Record<Environment, Freeze>>> {
    const [dev, prod] = await Promise.all([this.active('dev', now), this.active('prod', now)]);
    return { ...(dev ? { dev } : {}), ...(prod ? { prod } : {}) };
  }

  async put(freeze: Freeze): Promise<void> {
    const ttl = Math.max(60, Math.ceil((Date.parse(freeze.until) - Date.now()) / 1000) + 86_400);
    await this.redis.set(this.key(freeze.environment), JSON.stringify(freeze), 'EX', ttl);
  }

  async remove(environment: Environment): Promise<void> {
    await this.redis.del(this.key(environment));
  }
}
