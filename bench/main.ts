// `npm run bench`: every benchmark of issue 13 §5–6 in one run, one report.
//
//   npm run bench                          everything (about 10 minutes on 2 cores)
//   npm run bench -- --quick               shorter runs, /freight up to 1,000 Freight (about 5 minutes)
//   npm run bench -- --only ack,forged     some sections (names below); --list shows them
//   npm run bench -- --tsx                 run the processes through tsx instead of compiled JavaScript
//   npm run bench -- --out /tmp/results    write the report elsewhere (default: bench/results/ for a full
//                                          run, .cache/bench/ for --quick or --only)
//
// Redis: REDIS_URL when set (every key under a unique bench-<hex> prefix, deleted at the end), otherwise a
// private redis-server on a free loopback port. The Kubernetes API (sections burst and freight) is a local
// etcd + kube-apiserver with Kargo's CRDs (npm run tools:install builds them). Every process talks to
// loopback only. Nothing here asserts a timing: the figures go to bench/results/README.md and results.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import { ackSection } from './sections/ack.js';
import { ackProfileSection } from './sections/ack-profile.js';
import { apiCallsSection, redisSizingSection } from './sections/api-calls.js';
import { burstSection } from './sections/burst.js';
import { forgedSection } from './sections/forged.js';
import { freightScaleSection } from './sections/freight-scale.js';
import { buildForBench } from './lib/build.js';
import { currentRuntime, useRuntime } from './lib/children.js';
import { startBenchKube, type BenchKube } from './lib/kube.js';
import { machineInfo } from './lib/machine.js';
import { startBenchRedis } from './lib/redis.js';
import { table, type BenchContext, type Section, type SectionOutput } from './lib/section.js';
import { log, repoRoot } from './lib/util.js';

const SECTIONS: Array<{ name: string; letter: string; title: string; run: Section }> = [
  { name: 'ack', letter: 'a, b', title: 'Ack latency and web memory, bot vs bare Bolt', run: ackSection },
  { name: 'forged', letter: 'c', title: 'Forged requests: storage and memory', run: forgedSection },
  {
    name: 'ack-profile',
    letter: '6',
    title: 'CPU profile of the ack path at 1,000/s',
    run: ackProfileSection,
  },
  { name: 'burst', letter: 'd', title: 'A burst of 200 /promote through one worker', run: burstSection },
  { name: 'freight', letter: 'e', title: '/freight against 100 – 10,000 Freight', run: freightScaleSection },
  { name: 'api-calls', letter: 'f', title: 'GitHub and Slack calls per promotion', run: apiCallsSection },
  { name: 'redis-sizing', letter: 'sizing', title: 'What the bot keeps in Redis', run: redisSizingSection },
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      list: { type: 'boolean', default: false },
      out: { type: 'string' },
      'card-wait': { type: 'string' },
      'ack-seconds': { type: 'string' },
      tsx: { type: 'boolean', default: false },
    },
  });
  if (values.list) {
    for (const s of SECTIONS) console.log(`${s.name.padEnd(14)} §${s.letter.padEnd(7)} ${s.title}`);
    return;
  }
  const only = values.only?.split(',').map((s) => s.trim());
  const unknown = only?.filter((n) => !SECTIONS.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0) {
    throw new Error(
      `unknown section(s) ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.name).join(', ')}`,
    );
  }
  const selected = SECTIONS.filter((s) => !only || only.includes(s.name));
  // Only a complete, full-length run replaces the committed report; partial and quick runs go to .cache/.
  const partial = Boolean(only) || (values.quick ?? false);
  const outDir = path.resolve(
    values.out ??
      (partial ? path.join(repoRoot, '.cache', 'bench') : path.join(repoRoot, 'bench', 'results')),
  );
  const started = Date.now();

  if (values.tsx) useRuntime('tsx');
  else {
    const build = buildForBench();
    useRuntime('compiled');
    log(`transpiled ${build.files} files to ${path.relative(repoRoot, build.dir)} in ${build.ms} ms`);
  }
  const redis = await startBenchRedis();
  const machine = machineInfo(
    redis.shared ? 'REDIS_URL (shared server, keys under a unique prefix)' : 'private redis-server',
  );
  let kube: Promise<BenchKube> | undefined;
  const interrupts = new Set<() => Promise<void>>();
  const stopAll = async (): Promise<void> => {
    for (const cleanup of [...interrupts].reverse()) await cleanup().catch(() => undefined);
    interrupts.clear();
    if (kube) await (await kube.catch(() => undefined))?.stop();
    await redis.close();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping everything the benchmark started`);
      void stopAll().finally(() => process.exit(130));
    });
  }
  const ctx: BenchContext = {
    redis,
    quick: values.quick ?? false,
    kube: () => (kube ??= startBenchKube()),
    onInterrupt: (cleanup) => {
      interrupts.add(cleanup);
      return () => interrupts.delete(cleanup);
    },
    options: {
      ...(values['card-wait'] ? { cardWaitSeconds: Number(values['card-wait']) } : {}),
      ...(values['ack-seconds'] ? { ackSeconds: Number(values['ack-seconds']) } : {}),
    },
  };
  log(
    `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadAverageAtStart.join(' ')}; ` +
      `sections: ${selected.map((s) => s.name).join(', ')}${ctx.quick ? ' (quick)' : ''}`,
  );

  const results: Array<{
    name: string;
    letter: string;
    title: string;
    seconds: number;
    output?: SectionOutput;
    error?: string;
  }> = [];
  try {
    for (const section of selected) {
      const t0 = Date.now();
      log(`── ${section.name}: ${section.title}`);
      try {
        const output = await section.run(ctx);
        results.push({ ...section, seconds: Math.round((Date.now() - t0) / 1000), output });
      } catch (err) {
        // One section failing must not lose the others' figures: the report says what failed and why.
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        log(`${section.name} FAILED: ${message}`);
        results.push({
          ...section,
          seconds: Math.round((Date.now() - t0) / 1000),
          error: message.split('\n')[0] ?? message,
        });
      }
      log(`── ${section.name} done in ${Math.round((Date.now() - t0) / 1000)} s`);
    }
  } finally {
    await stopAll();
  }

  const seconds = Math.round((Date.now() - started) / 1000);
  const report = {
    machine,
    runtime: currentRuntime(),
    quick: ctx.quick,
    totalSeconds: seconds,
    sections: results.map((r) => ({
      name: r.name,
      section: r.letter,
      title: r.title,
      seconds: r.seconds,
      ...(r.error ? { error: r.error } : { headline: r.output?.headline, data: r.output?.data }),
    })),
  };
  mkdirSync(outDir, { recursive: true });
  // Formatted as the repository's Prettier settings want it, so the committed file passes `npm run lint`.
  const resultsFile = path.join(outDir, 'results.json');
  writeFileSync(
    resultsFile,
    await prettier.format(JSON.stringify(report, null, 2), {
      ...(await prettier.resolveConfig(path.join(repoRoot, 'bench', 'results', 'results.json'))),
      parser: 'json',
    }),
  );
  const headline = results.flatMap((r) =>
    r.error
      ? [[`§${r.letter}`, r.title, `**not measured**: ${r.error}`]]
      : (r.output?.headline ?? []).map((h) => [`§${h.section}`, h.what, h.figure]),
  );
  const md = [
    '# Benchmark results',
    '',
    `Measured by \`npm run bench${ctx.quick ? ' -- --quick' : ''}\` on ${machine.date.slice(0, 16).replace('T', ' ')} UTC, ` +
      `commit \`${machine.gitCommit.slice(0, 12)}\`${machine.gitDirty.length > 0 ? ` (working tree with ${machine.gitDirty.length} uncommitted changes, listed in results.json)` : ' (clean working tree)'}; ` +
      `${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, ${machine.platform} ${machine.kernel}, Node ${machine.node}, ` +
      `load average at start ${machine.loadAverageAtStart.join(' / ')}; Redis: ${machine.redis}. Total ${Math.round(seconds / 60)} min. ` +
      (currentRuntime() === 'compiled'
        ? 'The bot and the bare app run as compiled JavaScript (bench/lib/build.ts: what `npm run build` emits), as production runs dist/main.js. '
        : 'The bot and the bare app run through tsx (--tsx). ') +
      'How to rerun: bench/README.md. Nothing here is asserted by a test.',
    '',
    table(['§', 'What', 'Figure'], headline),
    '',
    ...results.flatMap((r) => [
      `## §${r.letter} ${r.title} (\`--only ${r.name}\`, ${r.seconds} s)`,
      '',
      r.error ? `Not measured in this run: ${r.error}` : (r.output?.markdown ?? ''),
      '',
    ]),
  ].join('\n');
  writeFileSync(path.join(outDir, 'README.md'), md);
  log(
    `report written to ${path.relative(process.cwd(), outDir) || '.'}/README.md and results.json (${seconds} s)`,
  );
  if (results.some((r) => r.error)) process.exitCode = 1;
}

await main();
