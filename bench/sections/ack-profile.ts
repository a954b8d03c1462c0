// Issue 13 §6: what the web process spends its CPU on while acking 1,000 signed `/promote dev` per second.
// The V8 sampling profiler runs inside the web child (started and stopped through its private inspector,
// exactly around the load), then the profile is summarised: self time per function and per module, and the
// inclusive time of the bot's own frames and of the libraries it calls before `ack()`. The raw profile is
// written to .cache/bench/ack-1000.cpuprofile (open it in Chrome DevTools → Performance, or speedscope).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SlackStandIn } from '../../src/sandbox/slack-standin.js';
import { botEnv, spawnWeb, type Child } from '../lib/children.js';
import { inclusiveOf, summarizeProfile, type FunctionTime } from '../lib/cpuprofile.js';
import { openLoop, signedCommand } from '../lib/load.js';
import { table, type BenchContext, type SectionOutput } from '../lib/section.js';
import { log, repoRoot, round } from '../lib/util.js';

const rows = (list: FunctionTime[]): Array<Array<string | number>> =>
  list.map((f) => [`\`${f.fn}\``, f.where ? `\`${f.where}\`` : '', `${f.ms} ms`, `${f.share} %`]);

export async function ackProfileSection(ctx: BenchContext): Promise<SectionOutput> {
  const rate = 1000;
  const seconds = ctx.quick ? 4 : 10;
  const prefix = `${ctx.redis.prefix}-profile`;
  const slack = await SlackStandIn.start({ rateLimits: false });
  let web: Child | undefined;
  const cleanup = async (): Promise<void> => {
    await web?.stop();
    await slack.close();
  };
  const forget = ctx.onInterrupt(cleanup);
  try {
    // LOG_LEVEL info, as deploy/ ships it: the profile includes the one log line per command after the ack.
    web = await spawnWeb({
      ...botEnv({ redisUrl: ctx.redis.url, prefix, slackApiUrl: slack.apiUrl, slackToken: slack.token }),
      LOG_LEVEL: 'info',
    });
    const w = web;
    let user = 0;
    const promote = () =>
      signedCommand({
        command: '/promote',
        text: 'dev latest',
        userId: `U0P${String(user++).padStart(7, '0')}`,
      });
    await openLoop({ port: w.port, rate: 200, seconds: 3, make: promote });
    const { result, profile } = await w.profile(
      () => openLoop({ port: w.port, rate, seconds, make: promote }),
      250,
    );
    const file = path.join(repoRoot, '.cache', 'bench', `ack-${rate}.cpuprofile`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(profile));
    const summary = summarizeProfile(profile);
    const perRequest = round(summary.busyMs / result.sent, 3);
    log(
      `ack-profile: ${result.sent} requests, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms; busy ${summary.busyMs} ms of ${summary.totalMs} ms (${perRequest} ms/request)`,
    );
    const ours = inclusiveOf(summary, / @ (src|bench)\//).slice(0, 30);
    const libraries = inclusiveOf(
      summary,
      /^(?!\(root\)|\(program\)|\(garbage collector\)).* @ (@slack|bullmq|ioredis|pino|prom-client|zod|raw-body|tsscmp|@octokit)/,
    ).slice(0, 30);
    const markdown = [
      `${result.sent} signed \`/promote dev latest\` at ${rate}/s for ${seconds} s (after 3 s at 200/s), sampled every 250 µs ` +
        `inside the web process, which runs with LOG_LEVEL=info as deploy/ ships it (the other sections use warn). Answers: ${Object.entries(
          result.statuses,
        )
          .map(([s, n]) => `${n}× ${s}`)
          .join(
            ', ',
          )}; ack p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms (with the profiler on). ` +
        `The process was busy ${summary.busyMs} ms of ${summary.totalMs} ms, ${perRequest} ms of CPU per request on its main thread. ` +
        `Raw profile: \`.cache/bench/ack-${rate}.cpuprofile\` (not committed). Interpretation: bench/results/ack-profile.md.`,
      '',
      '**Self time by module** (share of busy time; native frames, which have no module, under their own name):',
      '',
      table(
        ['module', 'self', 'share'],
        summary.byModule.map((m) => [`\`${m.fn}\``, `${m.ms} ms`, `${m.share} %`]),
      ),
      '',
      "**Self time by module, with native frames and Node's internals charged to the package or bot code that called them** (socket writes, HMAC, parsing…):",
      '',
      table(
        ['module', 'self', 'share'],
        summary.byModuleCharged.map((m) => [`\`${m.fn}\``, `${m.ms} ms`, `${m.share} %`]),
      ),
      '',
      '**Native and Node-internal frames, and the package or bot frame that led to them:**',
      '',
      table(
        ['frame', 'self', 'charged to'],
        summary.nativeCallers.map((n) => [
          `\`${n.native}\``,
          `${n.ms} ms`,
          n.callers.map((c) => `\`${c.fn}\` (${c.where}) ${c.ms} ms`).join('; '),
        ]),
      ),
      '',
      '**Top functions by self time:**',
      '',
      table(['function', 'where', 'self', 'share'], rows(summary.topSelf.slice(0, 25))),
      '',
      "**The bot's own frames, inclusive** (every sample with the frame anywhere on the stack):",
      '',
      table(['function', 'where', 'inclusive', 'share'], rows(ours)),
      '',
      '**Library frames, inclusive:**',
      '',
      table(['function', 'where', 'inclusive', 'share'], rows(libraries)),
    ].join('\n');
    const top = summary.byModuleCharged.slice(0, 4).map((m) => `${m.fn} ${m.share} %`);
    return {
      headline: [
        {
          section: '6',
          what: `Web CPU per ack at ${rate}/s (profiled), biggest modules by self time`,
          figure: `${perRequest} ms/request; ${top.join(', ')}`,
        },
      ],
      markdown,
      data: {
        rate,
        seconds,
        load: result,
        busyMs: summary.busyMs,
        totalMs: summary.totalMs,
        cpuMsPerRequest: perRequest,
        byModule: summary.byModule,
        byModuleCharged: summary.byModuleCharged,
        nativeCallers: summary.nativeCallers,
        topSelf: summary.topSelf,
        ownInclusive: ours,
        libraryInclusive: libraries,
      },
    };
  } finally {
    forget();
    await cleanup();
  }
}
