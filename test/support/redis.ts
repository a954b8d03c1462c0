// The Redis every test uses: REDIS_URL (default redis://127.0.0.1:6379), never a hard-coded address, so a
// run can point the whole suite at another server. test/support/global-setup.ts checks it answers before
// any test starts and stops the run with one clear line when it does not: a test that needs Redis never
// passes by not running.
import type { RedisOptions } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL?.trim() || 'redis://127.0.0.1:6379';

/** ioredis options for REDIS_URL (host, port, db, credentials, TLS). */
export function redisOptionsFromUrl(url = REDIS_URL): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 6379),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    db: Number.isInteger(db) ? db : 0,
  };
}

/** host/port of REDIS_URL, for the tests that open raw connections. */
export const REDIS = redisOptionsFromUrl() as { host: string; port: number; db: number };
