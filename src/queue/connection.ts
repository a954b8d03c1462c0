// Redis connections as BullMQ requires them. Workers (blocking commands) need maxRetriesPerRequest: null
// so that a Redis restart makes them wait and reconnect instead of failing; producers in the web process
// fail fast instead, so a Slack request is never held hostage by a Redis outage (the ack still goes out
// and the user is told to retry).
import { Redis, type RedisOptions } from 'ioredis';

export type ConnectionRole = 'worker' | 'producer';

export function redisOptions(url: string, role: ConnectionRole, name?: string): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    db: Number.isInteger(db) ? db : 0,
    // CLIENT LIST shows which process a connection belongs to (operators, and the Redis-restart test).
    ...(name ? { connectionName: name } : {}),
    maxRetriesPerRequest: role === 'worker' ? null : 3,
    enableOfflineQueue: true,
    // Reconnect forever with a capped backoff: Redis restarts must never need a bot restart.
    retryStrategy: (times) => Math.min(200 * 2 ** Math.min(times, 6), 5_000),
  };
}

export function createRedis(url: string, role: ConnectionRole, name?: string): Redis {
  return new Redis(redisOptions(url, role, name));
}
