// `npm run bench`: Slack ack latency of the bot's web process under load, beside a bare Bolt app.
//
// Drives signed `/promote dev` slash commands at fixed rates (open loop: requests leave on schedule
// whether or not earlier ones were answered, as Slack's would) against
//   - the bot's real `web` process (child process: signature check, parse, access rules, group cache,
//     BullMQ enqueue on real Redis, audit append), and
//   - a bare Bolt app whose handler only acks (bench/bare-bolt.ts),
// and reports p50/p99 ack latency, non-2xx answers, jobs enqueued and the ratio to the bare app.
// Results go to bench/results/ack-latency.json and .md. Nothing here asserts a time.
//
//   npm run bench                         rates 200 and 500 per second, 10 s each
//   npm run bench -- --rates 100 --seconds 3
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { SlackStandIn } from '../src/sandbox/slack-standin.js';
import { newTriggerId, signedSlackRequest, slashCommandBody } from '../src/sandbox/slack-requests.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SIGNING_SECRET = 'bench-signing-secret-0123456789abcdef';

interface RunResult {
  target: 'bot' | 'bare';
  rate: number;
  seconds: number;
  sent: number;
  answered: number;
  non2xx: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  jobsEnqueued?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function waitForHealth(port: number): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the web process did not answer /healthz on port ${port}`);
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function startChild(
  args: string[],
  env: NodeJS.ProcessEnv,
  readyPattern: RegExp,
): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')} did not start: ${buffer.slice(-2000)}`)),
      60_000,
    );
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString();
      const match = readyPattern.exec(buffer);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (buffer += c.toString()));
    child.on('exit', (code) =>
      reject(new Error(`${args.join(' ')} exited with ${code}: ${buffer.slice(-2000)}`)),
    );
  });
}

async function drive(
  port: number,
  rate: number,
  seconds: number,
  target: RunResult['target'],
): Promise<RunResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const latencies: number[] = [];
  let sent = 0;
  let non2xx = 0;
  let errors = 0;
  const inflight: Promise<void>[] = [];
  const fire = (): void => {
    const body = slashCommandBody({
      command: '/promote',
      text: 'dev latest',
      userId: 'U0ALICE',
      channelId: 'C0DEPLOYS',
      triggerId: newTriggerId(),
    });
    const signed = signedSlackRequest(SIGNING_SECRET, body);
    const started = process.hrtime.bigint();
    sent += 1;
    inflight.push(
      new Promise<void>((resolve) => {
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: '/slack/events',
            method: 'POST',
            agent,
            headers: signed.headers,
            timeout: 10_000,
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
              if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) non2xx += 1;
              resolve();
            });
          },
        );
        req.on('error', () => {
          errors += 1;
          resolve();
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end(signed.body);
      }),
    );
  };
  // Open loop at 10 ms ticks; the carry keeps the long-run rate exact for rates not divisible by 100.
  const total = rate * seconds;
  const start = Date.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * rate));
      while (sent < due) fire();
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 10);
  });
  await Promise.all(inflight);
  agent.destroy();
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (n: number): number => Math.round(n * 100) / 100;
  return {
    target,
    rate,
    seconds,
    sent,
    answered: latencies.length,
    non2xx,
    errors,
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted[sorted.length - 1] ?? NaN),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rates: { type: 'string' }, seconds: { type: 'string' } } });
  const rates = (values.rates ?? '200,500').split(',').map(Number);
  const seconds = Number(values.seconds ?? 10);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `bench-${Date.now()}`;
  const slack = await SlackStandIn.start({ rateLimits: false });
  const env = {
    SLACK_BOT_TOKEN: 'xoxb-standin-token',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_BOT_USER_ID: 'U0BOT',
    SLACK_CHANNEL_DEPLOYMENTS: 'C0DEPLOYS',
    SLACK_CHANNEL_ALERTS: 'C0ALERTS',
    SLACK_CHANNEL_AUDIT: 'C0AUDIT',
    GITHUB_REPOSITORY: 'acme/gitops-infra-pipeline',
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: 'error',
    PORT: '0',
  };
  // The bot logs at `warn` (per-request info lines would measure the log pipe), so it is started on a
  // known free port and polled on /healthz instead of waiting for its start-up line.
  const botPort = await freePort();
  const botChild = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'web'], {
    cwd: repoRoot,
    env: { ...process.env, ...env, PORT: String(botPort), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const bot = { child: botChild };
  // A web process that never became healthy must not outlive the benchmark.
  await waitForHealth(botPort).catch((error: unknown) => {
    botChild.kill('SIGTERM');
    throw error;
  });
  const bare = await startChild(['bench/bare-bolt.ts'], env, /\{"port":(\d+)\}/);
  const queue = new Queue('commands', {
    connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
    prefix,
  });

  const results: RunResult[] = [];
  try {
    for (const rate of rates) {
      for (const target of ['bare', 'bot'] as const) {
        const before = target === 'bot' ? await queue.count() : 0;
        const result = await drive(target === 'bot' ? botPort : bare.port, rate, seconds, target);
        if (target === 'bot') result.jobsEnqueued = (await queue.count()) - before;
        results.push(result);
        console.log(
          `${target.padEnd(4)} ${String(rate).padStart(4)}/s ${seconds}s  sent ${result.sent}  p50 ${result.p50Ms} ms  p99 ${result.p99Ms} ms  non-2xx ${result.non2xx}  errors ${result.errors}${
            result.jobsEnqueued === undefined ? '' : `  jobs ${result.jobsEnqueued}`
          }`,
        );
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  } finally {
    bot.child.kill('SIGTERM');
    bare.child.kill('SIGTERM');
    await queue.obliterate({ force: true }).catch(() => undefined);
    const cleanup = new Redis(redisUrl);
    const keys = await cleanup.keys(`${prefix}:*`);
    if (keys.length > 0) await cleanup.del(...keys);
    cleanup.disconnect();
    await queue.close();
    await slack.close();
  }

  const rows = rates.map((rate) => {
    const b = results.find((r) => r.target === 'bot' && r.rate === rate);
    const base = results.find((r) => r.target === 'bare' && r.rate === rate);
    return {
      rate,
      bot: b,
      bare: base,
      p50Ratio: b && base ? Math.round((b.p50Ms / base.p50Ms) * 100) / 100 : NaN,
      p99Ratio: b && base ? Math.round((b.p99Ms / base.p99Ms) * 100) / 100 : NaN,
    };
  });
  const outDir = path.join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    seconds,
    rows,
  };
  writeFileSync(path.join(outDir, 'ack-latency.json'), `${JSON.stringify(report, null, 2)}\n`);
  const md = [
    `Ack latency, ${seconds} s per rate, Node ${process.version}, ${report.cpus} CPUs, ${report.date.slice(0, 10)}`,
    '',
    '| rate | bot p50 | bot p99 | bare p50 | bare p99 | p50 ratio | p99 ratio | bot non-2xx | jobs enqueued / sent |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.rate}/s | ${r.bot?.p50Ms} ms | ${r.bot?.p99Ms} ms | ${r.bare?.p50Ms} ms | ${r.bare?.p99Ms} ms | ${r.p50Ratio}× | ${r.p99Ratio}× | ${r.bot?.non2xx} | ${r.bot?.jobsEnqueued} / ${r.bot?.sent} |`,
    ),
  ].join('\n');
  writeFileSync(path.join(outDir, 'ack-latency.md'), `${md}\n`);
  console.log(`\n${md}\n\nwritten to bench/results/ack-latency.{json,md}`);
}

await main();
