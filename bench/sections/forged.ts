// §c forged requests: what an unauthenticated sender can make the web process keep. Slash commands with a
// bad signature, without signature headers, signed with a wrong secret and with a timestamp outside the
// 5-minute window, mixed, at 500/s. Before and after (each after a warm-up and two forced GCs): the bytes of
// every Redis key under the bot's prefix (MEMORY USAGE), the server's used_memory, the web's RSS and heap.
// Refusals cost a Prometheus counter and one audit summary per interval, route and reason (src/web/refusals.ts):
// the storage per 1,000 forged requests should be about zero.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { SlackStandIn } from '../../src/sandbox/slack-standin.js';
import { slackSignature, slashCommandBody } from '../../src/sandbox/slack-requests.js';
import { botEnv, spawnWeb, type Child, CHANNELS, SIGNING_SECRET } from '../lib/children.js';
import { openLoop, type LoadRequest } from '../lib/load.js';
import { table, type BenchContext, type SectionOutput } from '../lib/section.js';
import { log, metricValue, mib, round, sleep } from '../lib/util.js';

const KINDS = ['bad signature', 'no signature headers', 'wrong secret', 'stale timestamp'] as const;

function forged(i: number): LoadRequest {
  const kind = KINDS[i % KINDS.length]!;
  const body = slashCommandBody({
    command: '/promote',
    text: `prod ${randomBytes(4).toString('hex')}`,
    userId: 'U0MALLORY',
    channelId: CHANNELS.deployments,
    responseUrl: 'http://127.0.0.1:9/response/none',
  });
  const now = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (kind === 'bad signature') {
    headers['x-slack-request-timestamp'] = String(now);
    headers['x-slack-signature'] = `v0=${randomBytes(32).toString('hex')}`;
  } else if (kind === 'wrong secret') {
    headers['x-slack-request-timestamp'] = String(now);
    headers['x-slack-signature'] = slackSignature('not-the-signing-secret', now, body);
  } else if (kind === 'stale timestamp') {
    // Properly signed (a replay of a captured request), 10 minutes old.
    headers['x-slack-request-timestamp'] = String(now - 600);
    headers['x-slack-signature'] = slackSignature(SIGNING_SECRET, now - 600, body);
  }
  return { path: '/slack/events', headers, body };
}

interface Snapshot {
  keys: number;
  keyBytes: number;
  usedMemory: number;
  auditRecords: number;
  rss: number;
  heapUsed: number | null;
}

export async function forgedSection(ctx: BenchContext): Promise<SectionOutput> {
  const prefix = `${ctx.redis.prefix}-forged`;
  const total = ctx.quick ? 2000 : 10_000;
  const rate = 500;
  const slack = await SlackStandIn.start({ rateLimits: false });
  let web: Child | undefined;
  const cleanup = async (): Promise<void> => {
    await web?.stop();
    await slack.close();
  };
  const forget = ctx.onInterrupt(cleanup);
  try {
    web = await spawnWeb(
      botEnv({ redisUrl: ctx.redis.url, prefix, slackApiUrl: slack.apiUrl, slackToken: slack.token }),
    );
    const w = web;
    const snapshot = async (): Promise<Snapshot> => {
      await sleep(1000);
      const gc = await w.memoryAfterGc();
      const usage = await ctx.redis.usage(prefix);
      const auditRecords = await ctx.redis.client.xlen(`${prefix}:audit`).catch(() => 0);
      return {
        keys: usage.keys,
        keyBytes: usage.bytes,
        usedMemory: await ctx.redis.usedMemory(),
        auditRecords,
        rss: w.rssBytes(),
        heapUsed: gc?.heapUsed ?? null,
      };
    };
    // Warm-up with the same mix (the first refusal of each reason writes its audit summary).
    await openLoop({ port: w.port, rate, seconds: 1, make: forged, keepAlive: false });
    const before = await snapshot();
    const cpu0 = w.cpuMs();
    const result = await openLoop({
      port: w.port,
      rate,
      seconds: total / rate,
      make: forged,
      keepAlive: false,
    });
    const cpu = w.cpuMs() - cpu0;
    const after = await snapshot();
    const metrics = await w.metrics();
    log(
      `forged: ${result.sent} sent, statuses ${JSON.stringify(result.statuses)}; Redis keys ${before.keyBytes} → ${after.keyBytes} B; ` +
        `RSS ${mib(before.rss)} → ${mib(after.rss)} MiB`,
    );
    const per1000 = (a: number, b: number): number => round(((b - a) / result.sent) * 1000, 1);
    const data = {
      sent: result.sent,
      rate,
      statuses: result.statuses,
      latencyMs: result.latencyMs,
      before,
      after,
      perThousand: {
        redisKeyBytes: per1000(before.keyBytes, after.keyBytes),
        redisUsedMemoryBytes: per1000(before.usedMemory, after.usedMemory),
        auditRecords: per1000(before.auditRecords, after.auditRecords),
        rssKiB: round(per1000(before.rss, after.rss) / 1024, 1),
        heapUsedKiB:
          before.heapUsed !== null && after.heapUsed !== null
            ? round(per1000(before.heapUsed, after.heapUsed) / 1024, 1)
            : null,
      },
      serverCpuMsPerRequest: round(cpu / result.sent, 3),
      refusedCounter: metricValue(metrics, 'chatops_refused_requests_total', { route: '/slack/events' }),
      loadAverage: round(os.loadavg()[0] ?? NaN),
    };
    const markdown = [
      `${result.sent} forged \`/promote prod\` requests at ${rate}/s (new connection each; the edge closes refused ones), ` +
        `a quarter each: ${KINDS.join(', ')}. Answers: ${Object.entries(result.statuses)
          .map(([s, n]) => `${n}× ${s}`)
          .join(', ')}${result.errors ? `, ${result.errors} connection errors` : ''}; ` +
        `p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms. ` +
        `Snapshots after a 1 s warm-up with the same mix and after the run, each after two forced GCs.`,
      '',
      table(
        ['', 'before', 'after', 'per 1,000 forged'],
        [
          [
            'Redis: keys under the bot prefix',
            before.keys,
            after.keys,
            round(((after.keys - before.keys) / result.sent) * 1000, 2),
          ],
          [
            'Redis: bytes of those keys (MEMORY USAGE)',
            before.keyBytes,
            after.keyBytes,
            `${data.perThousand.redisKeyBytes} B`,
          ],
          [
            `Redis: used_memory (whole server${ctx.redis.shared ? ', shared: others write too' : ''})`,
            before.usedMemory,
            after.usedMemory,
            `${data.perThousand.redisUsedMemoryBytes} B`,
          ],
          ['audit records', before.auditRecords, after.auditRecords, data.perThousand.auditRecords],
          ['web RSS', `${mib(before.rss)} MiB`, `${mib(after.rss)} MiB`, `${data.perThousand.rssKiB} KiB`],
          [
            'web heap used after GC',
            before.heapUsed === null ? '–' : `${mib(before.heapUsed)} MiB`,
            after.heapUsed === null ? '–' : `${mib(after.heapUsed)} MiB`,
            data.perThousand.heapUsedKiB === null ? '–' : `${data.perThousand.heapUsedKiB} KiB`,
          ],
        ],
      ),
      '',
      `Web CPU per forged request: ${data.serverCpuMsPerRequest} ms. chatops_refused_requests_total{route="/slack/events"} = ${data.refusedCounter}.`,
    ].join('\n');
    return {
      headline: [
        {
          section: 'c',
          what: 'Forged requests: Redis bytes and web RSS per 1,000',
          figure: `${data.perThousand.redisKeyBytes} B in the bot's keys (${data.perThousand.auditRecords} audit records), RSS ${data.perThousand.rssKiB} KiB, heap ${data.perThousand.heapUsedKiB ?? '–'} KiB; ${Object.entries(
            result.statuses,
          )
            .map(([s, n]) => `${n}× ${s}`)
            .join(', ')}`,
        },
      ],
      markdown,
      data,
    };
  } finally {
    forget();
    await cleanup();
  }
}
