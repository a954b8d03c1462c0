// The public edge under attack, end to end: the real web process (its own OS process, under the memory
// limit deploy/web.yaml gives the pod when this machine allows a cgroup) against real Redis.
//
//   - 1,000 forged requests of every kind (bad/stale/future/missing signatures, attacker-sized headers,
//     oversized and chunked bodies, malformed headers, unknown paths) add a constant, small amount to
//     Redis — the refusal summaries — and no per-request record; a genuine signed /promote sent in the
//     middle of the flood is queued;
//   - every signed-but-malformed case is answered 400 with its reason, and future Slack timestamps 401;
//   - 64 concurrent 25 MB unsigned bodies and a burst of 2,000 signed commands leave it running.
// Timings are not asserted (bench/ measures them); sizes and survival are.
import { createHmac, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  blockActionsBody,
  newTriggerId,
  signedSlackRequest,
  slashCommandBody,
} from '../../src/sandbox/slack-requests.js';
import { repoRoot } from '../support/envtest.js';
import { createMemoryLimit, type MemoryLimit } from '../support/memory-limit.js';
import { REDIS_URL } from '../support/redis.js';
import { httpStatus, spawnWeb, webTestEnv, type WebProcess } from '../support/web-process.js';

const SIGNING_SECRET = 'edge-attack-signing-secret-0123456789';
const WEBHOOK_SECRET = 'edge-attack-webhook-secret-0123456789';
const PREFIX = `edge-attack-${randomBytes(4).toString('hex')}`;

/** The memory limit the web pod runs with (deploy/web.yaml). */
function podMemoryLimitBytes(): number {
  const docs = readFileSync(path.join(repoRoot, 'deploy', 'web.yaml'), 'utf8')
    .split(/^---$/m)
    .map(
      (d) =>
        parseYaml(d) as {
          kind?: string;
          spec?: {
            template?: { spec?: { containers?: Array<{ resources?: { limits?: { memory?: string } } }> } };
          };
        },
    );
  const limit = docs.find((d) => d?.kind === 'Deployment')?.spec?.template?.spec?.containers?.[0]?.resources
    ?.limits?.memory;
  const m = /^(\d+)Mi$/.exec(limit ?? '');
  if (!m) throw new Error(`deploy/web.yaml has no memory limit in Mi (found ${String(limit)})`);
  return Number(m[1]) * 1024 * 1024;
}

interface Sent {
  status: number;
  body: string;
}

/** One HTTP request; a connection the server cut after refusing counts as status -1. */
function send(
  port: number,
  opts: {
    method?: string;
    path: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    chunks?: number;
    chunkBytes?: number;
  },
): Promise<Sent> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'POST',
        path: opts.path,
        headers: opts.headers ?? {},
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', () => resolve({ status: res.statusCode ?? -1, body }));
      },
    );
    req.on('error', () => resolve({ status: -1, body: '' }));
    if (opts.chunks) {
      const chunk = Buffer.alloc(opts.chunkBytes ?? 1024 * 1024, 0x61);
      let left = opts.chunks;
      const pump = (): void => {
        while (left > 0) {
          left -= 1;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      req.on('close', () => (left = 0));
      pump();
    } else req.end(opts.body ?? '');
  });
}

const githubSignature = (body: string, secret = WEBHOOK_SECRET): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

const bigHeader = (n: number): string => 'x'.repeat(n);

/** Every kind of forged request, cycling. */
function forged(i: number): Parameters<typeof send>[1] {
  const now = Math.floor(Date.now() / 1000);
  const command = slashCommandBody({
    command: '/promote',
    text: 'prod',
    userId: 'U0MALLORY1',
    channelId: 'C0DEPLOY001',
  });
  switch (i % 12) {
    case 0: // a wrong signature, with attacker-sized headers
      return {
        path: '/slack/events',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(now),
          'x-slack-signature': `v0=${randomBytes(32).toString('hex')}`,
          'x-padding': bigHeader(12_000),
        },
        body: command,
      };
    case 1: // replayed: signed 10 minutes ago
      return { path: '/slack/events', ...signedSlackRequest(SIGNING_SECRET, command, now - 600) };
    case 2: // signed "in the future"
      return { path: '/slack/events', ...signedSlackRequest(SIGNING_SECRET, command, now + 600) };
    case 3: // no signature at all
      return {
        path: '/slack/events',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: command,
      };
    case 4: // declares 25 MB
      return { path: '/slack/events', headers: { 'content-length': String(25 * 1024 * 1024) }, body: 'x' };
    case 5: // streams 1 MB without a length
      return { path: '/slack/events', headers: { 'transfer-encoding': 'chunked' }, chunks: 1 };
    case 6: // GitHub: a delivery id of 8 KB
      return {
        path: '/github/webhook',
        headers: {
          'x-github-event': 'workflow_run',
          'x-github-delivery': bigHeader(8_000),
          'x-hub-signature-256': githubSignature('{}', 'wrong-secret'),
        },
        body: '{}',
      };
    case 7: // GitHub: well-formed headers, forged signature, a 100 KB body
      return {
        path: '/github/webhook',
        headers: {
          'x-github-event': 'workflow_run',
          'x-github-delivery': randomBytes(16).toString('hex'),
          'x-hub-signature-256': githubSignature('x', 'wrong-secret'),
        },
        body: JSON.stringify({ pad: bigHeader(100_000) }),
      };
    case 8: // GitHub: unsigned
      return {
        path: '/github/webhook',
        headers: { 'x-github-event': 'ping', 'x-github-delivery': 'abc' },
        body: '{}',
      };
    case 9: // GitHub: 25 MB declared
      return {
        path: '/github/webhook',
        headers: {
          'x-github-event': 'workflow_run',
          'x-github-delivery': 'abc',
          'x-hub-signature-256': githubSignature('x'),
          'content-length': String(25 * 1024 * 1024),
        },
        body: 'x',
      };
    case 10:
      return { method: 'GET', path: `/${randomBytes(8).toString('hex')}` };
    default:
      return { method: 'GET', path: '/github/webhook' };
  }
}

async function inParallel<T>(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await task(i);
      }
    }),
  );
  return results;
}

/** Bytes Redis holds for everything under the prefix (MEMORY USAGE summed over SCAN). */
async function bytesUnder(redis: Redis, prefix: string): Promise<{ bytes: number; keys: number }> {
  let cursor = '0';
  let bytes = 0;
  let keys = 0;
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    for (const key of found) {
      bytes += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
      keys += 1;
    }
    cursor = next;
  } while (cursor !== '0');
  return { bytes, keys };
}

function genuinePromote(port: number, text = 'dev'): Promise<Sent> {
  const body = slashCommandBody({
    command: '/promote',
    text,
    userId: 'U0ALICE001',
    channelId: 'C0DEPLOY001',
    triggerId: newTriggerId(),
  });
  return send(port, { path: '/slack/events', ...signedSlackRequest(SIGNING_SECRET, body) });
}

describe('the public edge under attack (real web process, real Redis)', () => {
  let redis: Redis;
  let web: WebProcess;
  let limit: MemoryLimit | undefined;
  const limitBytes = podMemoryLimitBytes();

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    limit = createMemoryLimit(`edge-attack-${process.pid}`, limitBytes);
    if (!limit) {
      process.stderr.write(
        `\n[edge-attack] no writable memory cgroup here: limiting the V8 heap instead (${limitBytes / 2 ** 20} MiB), which does not bound buffers\n`,
      );
    }
    web = await spawnWeb({
      memoryLimit: limit,
      ...(limit ? {} : { maxOldSpaceMb: Math.floor(limitBytes / 2 ** 20 / 2) }),
      env: {
        ...webTestEnv({
          redisUrl: REDIS_URL,
          prefix: PREFIX,
          signingSecret: SIGNING_SECRET,
          token: 'xoxb-edge-attack-0000',
        }),
        GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        PROMOTE_PROD_USERS: 'U0ALICE001',
        REFUSAL_SUMMARY_SECONDS: '1',
      },
    });
  }, 90_000);

  afterAll(async () => {
    await web?.stop();
    limit?.remove();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
  });

  it('1,000 forged requests cost Redis a constant few KB (summaries), and a genuine /promote is still queued', async () => {
    // Warm up: the first genuine command creates the queue's own keys (they are not the flood's cost).
    expect((await genuinePromote(web.port)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    const before = await bytesUnder(redis, PREFIX);
    const streamBefore = await redis.xlen(`${PREFIX}:audit`);

    let genuine: Sent | undefined;
    const results = await inParallel(1000, 32, async (i) => {
      if (i === 500) genuine = await genuinePromote(web.port);
      return send(web.port, forged(i));
    });
    // Every forged request was refused (or its connection cut after the refusal), none accepted.
    expect(results.filter((r) => r.status >= 200 && r.status < 300)).toEqual([]);
    expect([...new Set(results.map((r) => r.status))]).toEqual(expect.arrayContaining([401, 404, 405, 400]));
    expect(genuine?.status).toBe(200);
    expect(genuine?.body).toContain('queued');

    await new Promise((r) => setTimeout(r, 2500)); // the last refusal summaries are written
    const after = await bytesUnder(redis, PREFIX);
    const summaries = (await redis.xrange(`${PREFIX}:audit`, '-', '+'))
      .map(
        ([, fields]) =>
          JSON.parse(fields[fields.indexOf('record') + 1]!) as { action: string; detail: string },
      )
      .filter((r) => r.action === 'edge.refused');
    process.stdout.write(
      `\n[edge-attack] Redis under ${PREFIX}: ${before.bytes} B → ${after.bytes} B (+${after.bytes - before.bytes} B, ` +
        `${after.keys - before.keys} new keys) after 1,000 forged requests; ${summaries.length} summary records, e.g. "${summaries[0]?.detail}"\n`,
    );
    // Constant, not per request: a few hundred KB at most in total, from summary records only.
    expect(after.bytes - before.bytes).toBeLessThan(300 * 1024);
    // Per interval (1 s here), one record per route and reason: far fewer than the requests.
    const streamAfter = await redis.xlen(`${PREFIX}:audit`);
    expect(streamAfter - streamBefore).toBeLessThanOrEqual(summaries.length + 2);
    expect(summaries.length).toBeLessThan(100);
    expect(summaries.reduce((n, r) => n + Number(/^(\d+)/.exec(r.detail)?.[1] ?? 0), 0)).toBeGreaterThan(500);
  }, 120_000);

  it('answers every signed-but-malformed case 400 with its reason, and a future Slack timestamp 401', async () => {
    const signedGithub = (body: string, headers: Record<string, string> = {}) =>
      send(web.port, {
        path: '/github/webhook',
        headers: {
          'x-github-event': 'workflow_run',
          'x-github-delivery': randomBytes(8).toString('hex'),
          'x-hub-signature-256': githubSignature(body),
          ...headers,
        },
        body,
      });
    expect(await signedGithub('{"action":"completed"}', { 'x-github-delivery': 'abc:def' })).toEqual({
      status: 400,
      body: 'malformed X-GitHub-Delivery\n',
    });
    expect(await signedGithub(`{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`)).toEqual({
      status: 400,
      body: 'malformed delivery: JSON nested deeper than 64 levels\n',
    });
    expect(await signedGithub('null')).toEqual({
      status: 400,
      body: 'malformed delivery: body is not a JSON object\n',
    });

    const signedSlack = (body: string) =>
      send(web.port, { path: '/slack/events', ...signedSlackRequest(SIGNING_SECRET, body) });
    const noUser = new URLSearchParams(
      slashCommandBody({ command: '/promote', text: 'dev', userId: 'U0ALICE001', channelId: 'C0DEPLOY001' }),
    );
    noUser.delete('user_id');
    const r1 = await signedSlack(noUser.toString());
    expect(r1.status).toBe(400);
    expect(r1.body).toMatch(/^malformed Slack request: slash command: user_id: /);
    const r2 = await signedSlack(
      blockActionsBody({ type: 'block_actions', actions: [{ action_id: 'approve' }] }),
    );
    expect(r2.status).toBe(400);
    expect(r2.body).toMatch(/^malformed Slack request: block_actions: user: /);
    expect(await signedSlack('payload=null')).toEqual({
      status: 400,
      body: 'malformed Slack request: payload: body is not a JSON object\n',
    });
    const future = signedSlackRequest(
      SIGNING_SECRET,
      slashCommandBody({ command: '/freight', text: '', userId: 'U0ALICE001', channelId: 'C0DEPLOY001' }),
      Math.floor(Date.now() / 1000) + 400,
    );
    expect(await send(web.port, { path: '/slack/events', ...future })).toEqual({
      status: 401,
      body: 'timestamp outside ±5 minutes\n',
    });
  }, 60_000);

  it('stays up under 64 concurrent 25 MB unsigned bodies and a burst of 2,000 signed commands', async () => {
    const big = await inParallel(64, 64, (i) =>
      i % 2 === 0
        ? send(web.port, { path: i % 4 === 0 ? '/github/webhook' : '/slack/events', chunks: 25 })
        : send(web.port, {
            path: '/slack/events',
            headers: { 'content-length': String(25 * 1024 * 1024) },
            chunks: 25,
          }),
    );
    expect(big.filter((r) => r.status >= 200 && r.status < 300)).toEqual([]);
    expect(web.alive()).toBe(true);
    expect(await httpStatus(web.port, '/healthz')).toBe(200);
    const rssAfterBodies = web.rssBytes();

    const burst = await inParallel(2000, 100, () => genuinePromote(web.port));
    expect(burst.filter((r) => r.status !== 200)).toEqual([]);
    expect(web.alive()).toBe(true);
    expect((await genuinePromote(web.port)).status).toBe(200);
    process.stdout.write(
      `\n[edge-attack] web RSS ${Math.round(rssAfterBodies / 2 ** 20)} MiB after 64 × 25 MB bodies, ` +
        `${Math.round(web.rssBytes() / 2 ** 20)} MiB after 2,000 signed commands; limit ${limitBytes / 2 ** 20} MiB ` +
        `(${limit ? `${limit.kind}, peak ${Math.round((limit.peakBytes() ?? 0) / 2 ** 20)} MiB, OOM events ${limit.oomEvents()}` : 'V8 heap only'})\n`,
    );
    if (limit) expect(limit.oomEvents()).toBe(0);
  }, 180_000);
});
