// The benchmark's Redis: REDIS_URL when it is set (shared: every key the benchmark makes lives under a
// unique prefix and is deleted at the end), otherwise a private redis-server on a free loopback port,
// configured as compose and deploy/ run it (AOF everysec, noeviction), removed at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, sleep } from './util.js';

export interface BenchRedis {
  url: string;
  /** `bench-<hex>`: sections add `-<section>`; every key the bot writes starts with it. */
  prefix: string;
  /** True when REDIS_URL was given (a shared server: only INFO-free, prefix-scoped figures are exact). */
  shared: boolean;
  /** Bytes (MEMORY USAGE) and count of the keys under `prefix`. */
  usage(prefix: string): Promise<{ keys: number; bytes: number; byKey: Map<string, number> }>;
  /** INFO memory used_memory of the whole server. */
  usedMemory(): Promise<number>;
  /** The private redis-server's pid (undefined with REDIS_URL). */
  pid?: number;
  /** A plain client (closed by close()). */
  client: Redis;
  /** Deletes every key of the benchmark's prefix; stops a private server. */
  close(): Promise<void>;
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const given = process.env.REDIS_URL?.trim();
  let child: ChildProcess | undefined;
  let dir: string | undefined;
  let url: string;
  if (given) {
    url = given;
  } else {
    dir = mkdtempSync(path.join(tmpdir(), 'bench-redis-'));
    const port = await freePort();
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    url = `redis://127.0.0.1:${port}`;
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 1 });
    probe.on('error', () => undefined); // refused until the server is up
    for (let i = 0; ; i += 1) {
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') break;
      } catch {
        if (i > 100 || child.exitCode !== null) throw new Error(`redis-server on port ${port} did not start`);
        await sleep(100);
      }
    }
    probe.disconnect();
  }
  const client = new Redis(url, { maxRetriesPerRequest: 3 });

  const scan = async (match: string): Promise<string[]> => {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    return keys;
  };

  return {
    url,
    prefix,
    shared: Boolean(given),
    ...(child?.pid ? { pid: child.pid } : {}),
    client,
    usage: async (p) => {
      const byKey = new Map<string, number>();
      let bytes = 0;
      for (const key of await scan(`${p}*`)) {
        const b = Number((await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
        byKey.set(key, b);
        bytes += b;
      }
      return { keys: byKey.size, bytes, byKey };
    },
    usedMemory: async () => {
      const info = await client.info('memory');
      return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
    },
    close: async () => {
      try {
        const keys = await scan(`${prefix}*`);
        for (let i = 0; i < keys.length; i += 500) await client.del(...keys.slice(i, i + 500));
      } finally {
        client.disconnect();
        if (child && child.exitCode === null) {
          const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
          child.kill('SIGTERM');
          await exited;
        }
        if (dir) rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
