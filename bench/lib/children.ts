// The processes under measurement, each its own OS process: the bot's `web` and `worker` exactly as
// production starts them (`main.js web|worker`, configured by environment only; compiled by
// bench/lib/build.ts, or through tsx with --tsx) and the bare Bolt baseline (bench/bare-bolt.ts). Each child gets a private V8
// inspector on a loopback port, used only to force a GC and read process.memoryUsage() at the moments the
// benchmark reports memory; nothing is attached while load runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { buildDir } from './build.js';
import { freePort, httpGet, repoRoot, sleep } from './util.js';

export interface Child {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Public port (web: PORT; worker: WORKER_PORT, which also serves /metrics; bare: its receiver). */
  port: number;
  /** Private /metrics port (web: METRICS_PORT; worker: = port; bare: none). */
  metricsPort?: number;
  output(): string;
  /** VmRSS now (bytes). */
  rssBytes(): number;
  /** CPU time used so far (ms). */
  cpuMs(): number;
  /** VmHWM: the highest RSS so far (bytes). */
  peakRssBytes(): number;
  /** Forces a full GC through the inspector, then process.memoryUsage() (bytes). */
  memoryAfterGc(): Promise<MemoryReading | undefined>;
  /** CPU profile of the child while `during` runs (sampling interval in µs). */
  profile<T>(during: () => Promise<T>, intervalUs?: number): Promise<{ result: T; profile: CpuProfile }>;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** Environment every child starts from: no proxies, nothing inherited that could point it off loopback. */
function baseEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    NO_PROXY: '*',
    // SDKs that probe cloud metadata endpoints: refused on loopback instead.
    AWS_EC2_METADATA_DISABLED: 'true',
    GCE_METADATA_HOST: '127.0.0.1:9',
  };
}

/**
 * NODE_OPTIONS of a role's container in deploy/ (its V8 heap geometry). The benchmark runs the processes with
 * it, as the pods run: without it V8 sizes the heap from this machine's memory instead of the container's limit
 * (semi-spaces of up to 32 MiB here, 1 MiB in a 336 MiB cgroup) and collects garbage differently from production.
 */
export function deployNodeOptions(role: 'web' | 'worker'): string {
  const text = readFileSync(path.join(repoRoot, 'deploy', `${role}.yaml`), 'utf8');
  for (const doc of parseAllDocuments(text)) {
    const manifest = doc.toJS() as {
      kind?: string;
      spec?: {
        template?: { spec?: { containers?: Array<{ env?: Array<{ name: string; value?: string }> }> } };
      };
    } | null;
    if (manifest?.kind !== 'Deployment') continue;
    const value = manifest.spec?.template?.spec?.containers?.[0]?.env?.find(
      (e) => e.name === 'NODE_OPTIONS',
    )?.value;
    if (value) return value;
  }
  throw new Error(`deploy/${role}.yaml: no NODE_OPTIONS on its Deployment's container`);
}

/** User + system CPU time a process has used so far (ms), from /proc/<pid>/stat. */
export function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at index 2 = state; utime is 14th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const CLOCK_TICKS = 100;

export function rssOf(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return NaN;
  }
}

/** A short-lived DevTools protocol session on a child's private inspector port. */
export class InspectorSession {
  private id = 0;
  private constructor(private readonly ws: WebSocket) {}

  static async open(port: number): Promise<InspectorSession> {
    const list = await httpGet(port, '/json/list');
    if (list.status !== 200) throw new Error(`no inspector on port ${port}`);
    const target = (JSON.parse(list.body) as Array<{ webSocketDebuggerUrl?: string }>)[0];
    if (!target?.webSocketDebuggerUrl) throw new Error('the inspector lists no target');
    const ws = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error('inspector connection failed')), { once: true });
    });
    return new InspectorSession(ws);
  }

  call(
    method: string,
    params: Record<string, unknown> = {},
    timeoutMs = 60_000,
  ): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const mine = ++this.id;
      const timer = setTimeout(() => reject(new Error(`${method} timed out`)), timeoutMs);
      const onMessage = (event: MessageEvent): void => {
        const msg = JSON.parse(String(event.data)) as {
          id?: number;
          result?: Record<string, unknown>;
          error?: { message?: string };
        };
        if (msg.id !== mine) return;
        clearTimeout(timer);
        this.ws.removeEventListener('message', onMessage);
        if (msg.error) reject(new Error(`${method}: ${msg.error.message ?? 'failed'}`));
        else resolve(msg.result ?? {});
      };
      this.ws.addEventListener('message', onMessage);
      this.ws.send(JSON.stringify({ id: mine, method, params }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

async function memoryAfterGc(port: number): Promise<MemoryReading | undefined> {
  let session: InspectorSession | undefined;
  try {
    session = await InspectorSession.open(port);
    await session.call('HeapProfiler.collectGarbage');
    await session.call('HeapProfiler.collectGarbage');
    const result = await session.call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    });
    const value = (result.result as { value?: unknown } | undefined)?.value;
    return typeof value === 'string' ? (JSON.parse(value) as MemoryReading) : undefined;
  } catch {
    return undefined;
  } finally {
    session?.close();
  }
}

export interface MemoryReading {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

/** A V8 CPU profile (.cpuprofile) as the inspector's Profiler.stop returns it. */
export interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    hitCount?: number;
    children?: number[];
  }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * `compiled`: node runs bench/lib/build.ts's output (as production runs dist/); `tsx`: node --import tsx
 * runs the TypeScript sources (as `npm run dev` does).
 */
let runtime: 'compiled' | 'tsx' = 'tsx';
export function useRuntime(mode: 'compiled' | 'tsx'): void {
  runtime = mode;
}
export const currentRuntime = (): 'compiled' | 'tsx' => runtime;

export interface SpawnOptions {
  name: string;
  /** Repository-relative TypeScript entry point. */
  script: string;
  scriptArgs?: string[];
  env: Record<string, string>;
  /** How to learn the port: fixed (polled on /healthz) or printed as {"port":N} on stdout. */
  port: number | 'printed';
  metricsPort?: number;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
}

export async function spawnChild(options: SpawnOptions): Promise<Child> {
  const inspectPort = await freePort();
  const entry =
    runtime === 'compiled'
      ? [path.join(buildDir, options.script.replace(/\.ts$/, '.js'))]
      : ['--import', 'tsx', options.script];
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeFlags ?? []),
      `--inspect=127.0.0.1:${inspectPort}`,
      ...entry,
      ...(options.scriptArgs ?? []),
    ],
    { cwd: repoRoot, env: { ...baseEnv(), ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const append = (d: Buffer): void => {
    out = (out + d.toString()).slice(-50_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 90_000;
  let port = typeof options.port === 'number' ? options.port : 0;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${options.name} exited (${child.exitCode ?? child.signalCode}) before serving:\n${out}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${options.name} did not start within 90 s:\n${out}`);
    }
    if (options.port === 'printed') {
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) {
        port = Number(m[1]);
        break;
      }
    } else if ((await httpGet(port, '/healthz', 2000)).status === 200) break;
    await sleep(150);
  }
  const pid = child.pid ?? 0;
  return {
    name: options.name,
    child,
    pid,
    port,
    ...(options.metricsPort ? { metricsPort: options.metricsPort } : {}),
    output: () => out,
    rssBytes: () => rssOf(pid),
    peakRssBytes: () => rssOf(pid, 'VmHWM'),
    cpuMs: () => cpuMsOf(pid),
    memoryAfterGc: () => memoryAfterGc(inspectPort),
    profile: async (during, intervalUs = 250) => {
      const session = await InspectorSession.open(inspectPort);
      try {
        await session.call('Profiler.enable');
        await session.call('Profiler.setSamplingInterval', { interval: intervalUs });
        await session.call('Profiler.start');
        const result = await during();
        const stopped = await session.call('Profiler.stop');
        return { result, profile: stopped.profile as CpuProfile };
      } finally {
        session.close();
      }
    },
    metrics: async () => (options.metricsPort ? (await httpGet(options.metricsPort, '/metrics')).body : ''),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export const SIGNING_SECRET = 'bench-signing-secret-0123456789abcdef';
export const CHANNELS = { deployments: 'C0DEPLOYS', alerts: 'C0ALERTS', audit: 'C0AUDIT' } as const;
export const BOT_IDS = { userId: 'U0CHATOPS', botId: 'B0CHATOPS' } as const;

/** The settings both bot processes share (what deploy/ puts in the Secret and ConfigMap). */
export function botEnv(o: { redisUrl: string; prefix: string; slackApiUrl: string; slackToken: string }) {
  return {
    REDIS_URL: o.redisUrl,
    REDIS_PREFIX: o.prefix,
    SLACK_BOT_TOKEN: o.slackToken,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: o.slackApiUrl,
    SLACK_BOT_USER_ID: BOT_IDS.userId,
    SLACK_BOT_ID: BOT_IDS.botId,
    SLACK_CHANNEL_DEPLOYMENTS: CHANNELS.deployments,
    SLACK_CHANNEL_ALERTS: CHANNELS.alerts,
    SLACK_CHANNEL_AUDIT: CHANNELS.audit,
    GITHUB_REPOSITORY: 'acme/gitops-infra-pipeline',
    KARGO_PROJECT: 'gitops-infra',
  };
}

export async function spawnWeb(env: Record<string, string>, nodeFlags: string[] = []): Promise<Child> {
  const port = await freePort();
  const metricsPort = await freePort();
  return spawnChild({
    name: 'web',
    script: path.join('src', 'main.ts'),
    scriptArgs: ['web'],
    env: {
      NODE_OPTIONS: deployNodeOptions('web'),
      ...env,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
    },
    port,
    metricsPort,
    nodeFlags,
  });
}

export async function spawnWorker(env: Record<string, string>): Promise<Child> {
  const port = await freePort();
  return spawnChild({
    name: 'worker',
    script: path.join('src', 'main.ts'),
    scriptArgs: ['worker'],
    env: { NODE_OPTIONS: deployNodeOptions('worker'), ...env, WORKER_PORT: String(port) },
    port,
    metricsPort: port,
  });
}

export async function spawnBare(env: Record<string, string>, nodeFlags: string[] = []): Promise<Child> {
  return spawnChild({
    name: 'bare-bolt',
    script: path.join('bench', 'bare-bolt.ts'),
    // The same V8 settings as the bot's web: the comparison is between the two programs, not two heaps.
    env: { NODE_OPTIONS: deployNodeOptions('web'), ...env, PORT: '0' },
    port: 'printed',
    nodeFlags,
  });
}

/** TCP connections of these processes to anything but loopback (from `ss`), for the report. */
export async function nonLoopbackConnections(pids: number[]): Promise<string[]> {
  const { execFileSync } = await import('node:child_process');
  try {
    const text = execFileSync('ss', ['-tunpH'], { encoding: 'utf8' });
    return text
      .split('\n')
      .filter((line) => pids.some((pid) => line.includes(`pid=${pid},`)))
      .filter((line) => {
        const peer = line.trim().split(/\s+/)[5] ?? '';
        return !/^(127\.|\[::1\]|\[::ffff:127\.)/.test(peer) && peer !== '*:*';
      });
  } catch {
    return [];
  }
}
