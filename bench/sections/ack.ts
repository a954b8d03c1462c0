// §a ack latency and §b web memory: signed `/promote dev` slash commands, open loop at 200, 500 and 1,000
// per second, against the bot's real `web` process (edge bounds, signature check, payload shape, Bolt,
// parse, access rules, BullMQ enqueue on Redis) and against a bare Bolt 5 app whose handler only acks
// (bench/bare-bolt.ts), alternating per rate. Jobs enqueued are counted in Redis (the `promotions` lane,
// src/queue/jobs.ts). Memory of both processes idle and after the load: VmRSS, VmHWM, and heap used after
// a forced GC (through each child's private inspector).
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { PROMOTIONS_QUEUE, INTERACTIVE_QUEUE } from '../../src/queue/jobs.js';
import { SlackStandIn } from '../../src/sandbox/slack-standin.js';
import { botEnv, cpuMsOf, spawnBare, spawnWeb, type Child, type MemoryReading } from '../lib/children.js';
import { openLoop, signedCommand, type LoadResult } from '../lib/load.js';
import { table, type BenchContext, type SectionOutput } from '../lib/section.js';
import os from 'node:os';
import { log, metricValue, mib, round, sleep } from '../lib/util.js';

export const ACK_RATES = [200, 500, 1000];

interface Memory {
  rssMiB: number;
  peakRssMiB: number;
  heapUsedAfterGcMiB: number | null;
  rssAfterGcMiB: number | null;
}

async function memoryOf(child: Child): Promise<Memory> {
  const gc: MemoryReading | undefined = await child.memoryAfterGc();
  return {
    rssMiB: mib(child.rssBytes()),
    peakRssMiB: mib(child.peakRssBytes()),
    heapUsedAfterGcMiB: gc ? mib(gc.heapUsed) : null,
    rssAfterGcMiB: gc ? mib(gc.rss) : null,
  };
}

interface Run extends LoadResult {
  target: 'bot' | 'bare';
  rep: number;
  promotionsJobs?: number;
  interactiveJobs?: number;
  /** CPU time of the server process per request (ms): steadier than latency on a shared machine. */
  serverCpuMsPerRequest: number;
  redisCpuMsPerRequest?: number;
  loadAverage: number;
}

const median = (values: number[]): number => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : (sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN);
};

/** The repetitions of one rate and target: medians of their p50, p99 and CPU, totals of the counts. */
function aggregate(list: Run[]) {
  const sum = (f: (r: Run) => number | undefined): number => list.reduce((n, r) => n + (f(r) ?? 0), 0);
  return {
    reps: list.length,
    p50: median(list.map((r) => r.latencyMs.p50)),
    p99: median(list.map((r) => r.latencyMs.p99)),
    max: Math.max(...list.map((r) => r.latencyMs.max)),
    p99s: list.map((r) => r.latencyMs.p99),
    sent: sum((r) => r.sent),
    failed: sum((r) => r.non2xx + r.errors),
    promotionsJobs: sum((r) => r.promotionsJobs),
    cpuMsPerRequest: median(list.map((r) => r.serverCpuMsPerRequest)),
    redisCpuMsPerRequest: median(list.map((r) => r.redisCpuMsPerRequest ?? NaN)),
    driverLagP99: Math.max(...list.map((r) => r.driverLagMs.p99)),
    load: round(list.reduce((n, r) => n + r.loadAverage, 0) / Math.max(1, list.length)),
  };
}

export async function ackSection(ctx: BenchContext): Promise<SectionOutput> {
  const seconds = ctx.options.ackSeconds ?? (ctx.quick ? 3 : 6);
  // Five: one noisy repetition (a neighbour, a GC) moves a median of five less than one of three.
  const reps = ctx.quick ? 1 : 5;
  const prefix = `${ctx.redis.prefix}-ack`;
  const slack = await SlackStandIn.start({ rateLimits: false });
  const env = botEnv({ redisUrl: ctx.redis.url, prefix, slackApiUrl: slack.apiUrl, slackToken: slack.token });
  const children: Child[] = [];
  const queueConnection = new Redis(ctx.redis.url, { maxRetriesPerRequest: null });
  const queues = [PROMOTIONS_QUEUE, INTERACTIVE_QUEUE].map(
    (name) => new Queue(name, { connection: queueConnection, prefix }),
  );
  const cleanup = async (): Promise<void> => {
    await Promise.all(children.map((c) => c.stop()));
    await Promise.all(queues.map((q) => q.close()));
    // BullMQ never closes a connection it was given: this one kept the old benchmark from exiting.
    queueConnection.disconnect();
    await slack.close();
  };
  const forget = ctx.onInterrupt(cleanup);
  try {
    const bot = await spawnWeb(env);
    children.push(bot);
    const bare = await spawnBare(env);
    children.push(bare);
    await sleep(2000);
    const idle = { bot: await memoryOf(bot), bare: await memoryOf(bare) };
    log(`ack: idle RSS bot ${idle.bot.rssMiB} MiB, bare ${idle.bare.rssMiB} MiB`);

    const jobCount = async (): Promise<number[]> =>
      Promise.all(
        queues.map(async (q) => {
          const counts = await q.getJobCounts(
            'waiting',
            'active',
            'completed',
            'failed',
            'delayed',
            'prioritized',
          );
          return Object.values(counts).reduce((a, b) => a + b, 0);
        }),
      );
    let user = 0;
    const promote = () =>
      signedCommand({
        command: '/promote',
        text: 'dev latest',
        userId: `U0B${String(user++).padStart(7, '0')}`,
      });
    // Warm-up (not reported): JIT (V8's optimising compiler runs on the process's own CPU time), connection
    // pools, lazily loaded modules — a few thousand requests each.
    for (const target of [bare, bot]) {
      await openLoop({ port: target.port, rate: 200, seconds: 3, make: promote });
      await openLoop({ port: target.port, rate: 500, seconds: 2, make: promote });
    }
    await sleep(1000);

    const runs: Run[] = [];
    for (const rate of ACK_RATES) {
      // Repetitions alternate bare and bot, so a noisy neighbour hurts both rather than one.
      for (let rep = 0; rep < reps; rep += 1) {
        for (const target of ['bare', 'bot'] as const) {
          const child = target === 'bot' ? bot : bare;
          const before = target === 'bot' ? await jobCount() : [0, 0];
          const cpu0 = child.cpuMs();
          const redisCpu0 = ctx.redis.pid ? cpuMsOf(ctx.redis.pid) : NaN;
          const result = await openLoop({ port: child.port, rate, seconds, make: promote });
          const serverCpu = child.cpuMs() - cpu0;
          const redisCpu = ctx.redis.pid ? cpuMsOf(ctx.redis.pid) - redisCpu0 : NaN;
          const after = target === 'bot' ? await jobCount() : [0, 0];
          const run: Run = {
            target,
            rep,
            ...result,
            serverCpuMsPerRequest: round(serverCpu / result.sent, 3),
            ...(Number.isFinite(redisCpu) ? { redisCpuMsPerRequest: round(redisCpu / result.sent, 3) } : {}),
            loadAverage: round(os.loadavg()[0] ?? NaN),
            ...(target === 'bot'
              ? {
                  promotionsJobs: (after[0] ?? 0) - (before[0] ?? 0),
                  interactiveJobs: (after[1] ?? 0) - (before[1] ?? 0),
                }
              : {}),
          };
          runs.push(run);
          log(
            `ack: ${target.padEnd(4)} ${rate}/s × ${seconds}s #${rep + 1}  p50 ${result.latencyMs.p50} ms  p99 ${result.latencyMs.p99} ms  ` +
              `cpu ${run.serverCpuMsPerRequest} ms/req  non-2xx ${result.non2xx}  errors ${result.errors}` +
              (target === 'bot' ? `  jobs ${run.promotionsJobs}/${result.sent}` : '') +
              `  load ${run.loadAverage}`,
          );
          await sleep(1000);
        }
      }
    }
    const botMetrics = await bot.metrics();
    await sleep(1000);
    const after = { bot: await memoryOf(bot), bare: await memoryOf(bare) };
    const outcomes = ['queued', 'duplicate', 'error', 'denied', 'invalid'].map((o) => [
      o,
      metricValue(botMetrics, 'chatops_slash_commands_total', { outcome: o }),
    ]);

    const rows = ACK_RATES.map((rate) => {
      const b = aggregate(runs.filter((r) => r.target === 'bot' && r.rate === rate));
      const base = aggregate(runs.filter((r) => r.target === 'bare' && r.rate === rate));
      return {
        rate,
        bot: b,
        bare: base,
        p50Ratio: round(b.p50 / base.p50),
        p99Ratio: round(b.p99 / base.p99),
      };
    });
    const markdown = [
      `Open loop, ${reps} × ${seconds} s per rate and target, bare and bot alternating, after a warm-up of 3 s at 200/s ` +
        'and 2 s at 500/s each. Latency from handing the request to the socket to the end of the answer; p50 and p99 ' +
        `are the median over the ${reps} repetitions (each repetition's p99 in results.json), max the largest seen. ` +
        'The driver is a process of its own (bench/lib/load-driver.ts) that collects its garbage before each ' +
        'repetition, so its pauses are not read as the server’s; it runs on the same cores as the server and Redis, ' +
        'and the machine is shared (see the load column): latency carries that noise. CPU time per request of the server process (all its ' +
        'threads, /proc/<pid>/stat over the run) is the steadier comparison; it falls with the rate as fixed costs ' +
        '(timers, GC, JIT) spread over more requests.',
      '',
      table(
        [
          'rate',
          'bot p50',
          'bot p99',
          'bot max',
          'bot p99 of each repetition',
          'bare p50',
          'bare p99',
          'bare max',
          'p99 bot/bare',
          'non-2xx bot / bare',
          'jobs enqueued (promotions) / sent',
          'server CPU / request bot vs bare',
          'Redis CPU / request (bot)',
          'driver lag p99',
          '1-min load',
        ],
        rows.map((r) => [
          `${r.rate}/s`,
          `${r.bot.p50} ms`,
          `${r.bot.p99} ms`,
          `${r.bot.max} ms`,
          r.bot.p99s.map((v) => round(v, 1)).join(' · '),
          `${r.bare.p50} ms`,
          `${r.bare.p99} ms`,
          `${r.bare.max} ms`,
          `${r.p99Ratio}×`,
          `${r.bot.failed} / ${r.bare.failed}`,
          `${r.bot.promotionsJobs} / ${r.bot.sent}`,
          `${r.bot.cpuMsPerRequest} vs ${r.bare.cpuMsPerRequest} ms`,
          Number.isFinite(r.bot.redisCpuMsPerRequest) ? `${r.bot.redisCpuMsPerRequest} ms` : '–',
          `${Math.max(r.bot.driverLagP99, r.bare.driverLagP99)} ms`,
          r.bot.load,
        ]),
      ),
      '',
      `The bot web's own counter over the whole section (warm-up included): ${outcomes
        .filter(([, v]) => Number.isFinite(v as number))
        .map(([o, v]) => `${o} ${v}`)
        .join(', ')}.`,
      '',
      '**§b Web memory** (VmRSS from /proc; heap used after two forced full GCs through the inspector):',
      '',
      table(
        [
          'process',
          'idle RSS',
          'idle heap after GC',
          'RSS after the load',
          'peak RSS (VmHWM)',
          'heap after GC, after the load',
        ],
        (['bot', 'bare'] as const).map((t) => [
          t === 'bot' ? 'bot web' : 'bare Bolt',
          `${idle[t].rssMiB} MiB`,
          `${idle[t].heapUsedAfterGcMiB ?? '–'} MiB`,
          `${after[t].rssMiB} MiB`,
          `${after[t].peakRssMiB} MiB`,
          `${after[t].heapUsedAfterGcMiB ?? '–'} MiB`,
        ]),
      ),
    ].join('\n');
    const headline = [
      ...rows.map((r) => ({
        section: 'a',
        what: `Ack p50 / p99 at ${r.rate}/s, bot vs bare Bolt`,
        figure:
          `${r.bot.p50} / ${r.bot.p99} ms vs ${r.bare.p50} / ${r.bare.p99} ms (p99 ×${r.p99Ratio}); ` +
          `non-2xx ${r.bot.failed}; ${r.bot.promotionsJobs}/${r.bot.sent} enqueued; ` +
          `CPU ${r.bot.cpuMsPerRequest} vs ${r.bare.cpuMsPerRequest} ms/request`,
      })),
      {
        section: 'b',
        what: 'Web RSS idle → after the load (heap after GC), bot vs bare',
        figure: `bot ${idle.bot.rssMiB} → ${after.bot.rssMiB} MiB (heap ${idle.bot.heapUsedAfterGcMiB} → ${after.bot.heapUsedAfterGcMiB}); bare ${idle.bare.rssMiB} → ${after.bare.rssMiB} MiB (heap ${idle.bare.heapUsedAfterGcMiB} → ${after.bare.heapUsedAfterGcMiB})`,
      },
    ];
    return {
      headline,
      markdown,
      data: { seconds, reps, rows, runs, memory: { idle, after }, outcomes: Object.fromEntries(outcomes) },
    };
  } finally {
    forget();
    await cleanup();
  }
}
