// The bot's web (or worker) process as its own OS process (`node src/main.ts web`, through tsx), for tests that need
// what only a separate process shows: its memory under a limit, surviving floods, being killed. Optional
// memory limit: the process joins the cgroup before Node starts (so every byte it uses is charged), or
// runs with a V8 heap limit when no cgroup can be made.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { repoRoot } from './envtest.js';
import type { MemoryLimit } from './memory-limit.js';
import {
  signedSlackRequest,
  slashCommandBody,
  type SlashCommandFields,
} from '../../src/sandbox/slack-requests.js';

export interface WebProcess {
  child: ChildProcess;
  port: number;
  metricsPort: number;
  output(): string;
  /** Resident set size now (bytes), from /proc. */
  rssBytes(): number;
  alive(): boolean;
  /** SIGKILL: the process dies mid-work, as an OOM kill or a node failure does. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The settings a web process under test needs besides Redis: a signing secret, a bot identity, the three
 * channels, a repository, and a Slack API on a closed loopback port (nothing may leave loopback). One copy
 * for every test that starts the web, so a new required setting is added once.
 */
export function webTestEnv(o: {
  redisUrl: string;
  prefix: string;
  signingSecret: string;
  token?: string;
}): Record<string, string> {
  return {
    REDIS_URL: o.redisUrl,
    REDIS_PREFIX: o.prefix,
    SLACK_BOT_TOKEN: o.token ?? 'xoxb-web-test-0000',
    SLACK_SIGNING_SECRET: o.signingSecret,
    SLACK_API_URL: 'http://127.0.0.1:9/api/',
    SLACK_BOT_USER_ID: 'U0BOT12345',
    SLACK_BOT_ID: 'B0BOT12345',
    SLACK_CHANNEL_DEPLOYMENTS: 'C0DEPLOY001',
    SLACK_CHANNEL_ALERTS: 'C0ALERTS001',
    SLACK_CHANNEL_AUDIT: 'C0AUDIT0001',
    GITHUB_REPOSITORY: 'acme/gitops-infra-pipeline',
  };
}

export const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const p = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });

export const httpStatus = (port: number, urlPath: string): Promise<number> =>
  new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: urlPath, timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });

export async function spawnWeb(options: {
  env: Record<string, string>;
  memoryLimit?: MemoryLimit;
  /** V8 old-space limit (MiB), when there is no cgroup. */
  maxOldSpaceMb?: number;
}): Promise<WebProcess> {
  return spawnBotProcess('web', options);
}

/** `node src/main.ts worker`: its /healthz is on the returned `port` (WORKER_PORT). */
export async function spawnWorker(options: { env: Record<string, string> }): Promise<WebProcess> {
  return spawnBotProcess('worker', options);
}

async function spawnBotProcess(
  role: 'web' | 'worker',
  options: { env: Record<string, string>; memoryLimit?: MemoryLimit; maxOldSpaceMb?: number },
): Promise<WebProcess> {
  const port = await freePort();
  const metricsPort = await freePort();
  const nodeArgs = [
    ...(options.maxOldSpaceMb ? [`--max-old-space-size=${options.maxOldSpaceMb}`] : []),
    '--import',
    'tsx',
    path.join(repoRoot, 'src', 'main.ts'),
    role,
  ];
  const env = {
    PATH: process.env.PATH ?? '',
    HOST: '127.0.0.1',
    ...(role === 'web'
      ? { PORT: String(port), METRICS_PORT: String(metricsPort) }
      : { WORKER_PORT: String(port) }),
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  const child = options.memoryLimit
    ? spawn(
        '/bin/sh',
        ['-c', 'echo $$ > "$0" && exec "$@"', options.memoryLimit.procsPath, process.execPath, ...nodeArgs],
        {
          cwd: repoRoot,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
    : spawn(process.execPath, nodeArgs, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while ((await httpStatus(port, '/healthz')) !== 200) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${role} process exited (${child.exitCode ?? child.signalCode}) before serving:\n${out}`,
      );
    }
    if (Date.now() > deadline) throw new Error(`${role} process did not serve /healthz within 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    port,
    metricsPort,
    output: () => out,
    rssBytes: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    alive: () => child.exitCode === null && child.signalCode === null,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Sends one signed slash command to the web process on `port`, as Slack does, and returns the HTTP status
 * and the text of the bot's answer (the raw body when it is not JSON).
 */
export async function postSlashCommand(
  port: number,
  signingSecret: string,
  fields: SlashCommandFields,
  timestamp?: number,
): Promise<{ status: number; text: string }> {
  const body = slashCommandBody(fields);
  const signed = signedSlackRequest(signingSecret, body, timestamp);
  const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
    method: 'POST',
    headers: signed.headers,
    body,
  });
  const raw = await res.text();
  try {
    return { status: res.status, text: (JSON.parse(raw) as { text?: string }).text ?? raw };
  } catch {
    return { status: res.status, text: raw };
  }
}
