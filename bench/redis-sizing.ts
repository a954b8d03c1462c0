// `npm run bench -- --only redis-sizing`: what the bot keeps in Redis, measured, for the README's sizing
// table. Plays the sandbox's `pass` story (a dev and a prod promotion, gates, approval, outputs) on a
// private redis-server, then weighs every key (MEMORY USAGE) by what it serves: per-card data, the audit
// stream (bytes per record), queue jobs. Nothing here is asserted; the figures are written to
// bench/results/redis-sizing.{json,md}.
import { Redis } from 'ioredis';
import { playStory } from '../src/sandbox/headless.js';
import { loadScenario, startSandbox } from '../src/sandbox/stack.js';

export interface RedisSizing {
  cards: number;
  bytesPerCard: number;
  auditRecords: number;
  bytesPerAuditRecord: number;
  auditRecordsPerPromotion: number;
  queueBytes: number;
  otherBytes: number;
  breakdown: Record<string, number>;
}

const CATEGORY: Array<[RegExp, string]> = [
  [/^chatops:audit$/, 'audit stream'],
  [/^chatops:audit:id:/, 'audit id guards'],
  [/^chatops:card:[^:]+:(events|seen|stats)$/, 'card events'],
  [/^chatops:(promotion-card|run-card|tracked-run):/, 'card links'],
  [/^chatops:slack:(posted|inflight|card):/, 'slack message records'],
  [/^chatops:cards$/, 'recent-cards index'],
  [/^chatops:approvals:/, 'approvals state'],
  [/^chatops:(commands|github-[a-z]+|slack-[a-z]+|approval-[a-z]+|[a-z-]+):/, 'queue jobs (BullMQ)'],
];

export async function measureRedisSizing(log: (line: string) => void = console.log): Promise<RedisSizing> {
  const sandbox = await startSandbox({
    scenario: loadScenario('pass'),
    gates: 'scenario',
    redisUrl: undefined,
  });
  try {
    log(`redis-sizing: sandbox up, playing the pass story (dev + prod)…`);
    const result = await playStory(sandbox, { log: () => undefined });
    if (!result.ok) throw new Error('the pass story did not complete');
    // Let the Slack queues and the audit mirror catch up.
    await new Promise((r) => setTimeout(r, 20_000));
    const redis = new Redis(sandbox.redisUrl);
    try {
      const breakdown: Record<string, number> = {};
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          const bytes = Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
          let category = CATEGORY.find(([p]) => p.test(key))?.[1] ?? 'other';
          if (category === 'queue jobs (BullMQ)') category = `queue ${key.split(':')[1]}`;
          breakdown[category] = (breakdown[category] ?? 0) + bytes;
        }
      } while (cursor !== '0');
      const cards = await redis.zcard('chatops:cards');
      const auditRecords = await redis.xlen('chatops:audit');
      const perCard =
        (breakdown['card events'] ?? 0) +
        (breakdown['card links'] ?? 0) +
        (breakdown['slack message records'] ?? 0) +
        (breakdown['audit id guards'] ?? 0);
      return {
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
      };
    } finally {
      redis.disconnect();
    }
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
