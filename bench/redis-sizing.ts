// What the bot keeps in Redis, measured, for the README's sizing table: every key under the bot's prefix
// weighed (MEMORY USAGE) by what it serves — per-card data, the audit stream (bytes per record), queue jobs.
// `npm run bench -- --only redis-sizing` weighs Redis after the sandbox story of bench/sections/api-calls.ts
// (a dev and a prod promotion with approval, gates, outputs); `npx tsx bench/redis-sizing.ts` on its own plays
// the sandbox's whole `pass` story (src/sandbox/headless.ts) first, as before. Nothing here is asserted.
import { Redis } from 'ioredis';
import { playStory } from '../src/sandbox/headless.js';
import { loadScenario, startSandbox } from '../src/sandbox/stack.js';

export interface RedisSizing {
  prefix: string;
  cards: number;
  bytesPerCard: number;
  auditRecords: number;
  bytesPerAuditRecord: number;
  auditRecordsPerPromotion: number;
  queueBytes: number;
  otherBytes: number;
  /** Bytes by category. */
  breakdown: Record<string, number>;
  /** Keys that fell in no category (their names with ids masked), to keep the categories honest. */
  otherKeys: string[];
}

const categories = (prefix: string): Array<[RegExp, string]> => {
  const p = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [
    [new RegExp(`^${p}:audit$`), 'audit stream'],
    [new RegExp(`^${p}:audit:id:`), 'audit id guards'],
    // The stream's index (src/audit/stream.ts): each card's entry ids, each Promotion's card; kept with the stream.
    [new RegExp(`^${p}:audit:(card|promotion):`), 'audit index'],
    [new RegExp(`^${p}:card:[^:]+:(events|seen|stats)$`), 'card events'],
    [new RegExp(`^${p}:(promotion-card|run-card|tracked-run):`), 'card links'],
    [new RegExp(`^${p}:slack:(posted|inflight|card):`), 'slack message records'],
    [new RegExp(`^${p}:cards$`), 'recent-cards index'],
    [new RegExp(`^${p}:approvals?:`), 'approvals state'],
    [new RegExp(`^${p}:promote-inflight:`), 'promote in-flight markers'],
    [
      new RegExp(
        `^${p}:(promotions|interactive|commands|github-[a-z]+|slack-[a-z-]+|approval-[a-z]+|run-guard|[a-z-]+):`,
      ),
      'queue jobs (BullMQ)',
    ],
  ];
};

/** Weighs every key under `prefix` on the Redis at `url`. */
export async function weighRedis(url: string, prefix: string): Promise<RedisSizing> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  try {
    const breakdown: Record<string, number> = {};
    const otherKeys = new Set<string>();
    const rules = categories(prefix);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const bytes = Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
        let category = rules.find(([p]) => p.test(key))?.[1] ?? 'other';
        if (category === 'queue jobs (BullMQ)')
          category = `queue ${key.slice(prefix.length + 1).split(':')[0]}`;
        if (category === 'other')
          otherKeys.add(key.slice(prefix.length + 1).replace(/[0-9a-f]{8,}|\d{4,}/g, '…'));
        breakdown[category] = (breakdown[category] ?? 0) + bytes;
      }
    } while (cursor !== '0');
    const cards = await redis.zcard(`${prefix}:cards`);
    const auditRecords = await redis.xlen(`${prefix}:audit`);
    const perCard =
      (breakdown['card events'] ?? 0) +
      (breakdown['card links'] ?? 0) +
      (breakdown['slack message records'] ?? 0) +
      (breakdown['audit id guards'] ?? 0);
    return {
      prefix,
      cards,
      bytesPerCard: Math.round(perCard / Math.max(1, cards)),
      auditRecords,
      bytesPerAuditRecord: Math.round((breakdown['audit stream'] ?? 0) / Math.max(1, auditRecords)),
      auditRecordsPerPromotion: Math.round(auditRecords / Math.max(1, cards)),
      queueBytes: Object.entries(breakdown)
        .filter(([k]) => k.startsWith('queue '))
        .reduce((n, [, v]) => n + v, 0),
      otherBytes: breakdown.other ?? 0,
      breakdown,
      otherKeys: [...otherKeys].sort().slice(0, 30),
    };
  } finally {
    redis.disconnect();
  }
}

/** The standalone measurement: the sandbox's whole `pass` story, then the weighing. */
export async function measureRedisSizing(log: (line: string) => void = console.log): Promise<RedisSizing> {
  const sandbox = await startSandbox({
    scenario: loadScenario('pass'),
    gates: 'scenario',
    kargo: 'simulator',
  });
  try {
    log('redis-sizing: sandbox up, playing the pass story (dev + prod)…');
    const result = await playStory(sandbox, { log: () => undefined });
    if (!result.ok) throw new Error('the pass story did not complete');
    // Let the Slack queues and the audit mirror catch up.
    await new Promise((r) => setTimeout(r, 20_000));
    return await weighRedis(sandbox.redisUrl, sandbox.config.redis.prefix);
  } finally {
    await sandbox.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  measureRedisSizing()
    .then((s) => {
      console.log(JSON.stringify(s, null, 2));
      process.exit(0);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
