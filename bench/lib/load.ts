// Open-loop load: requests leave on schedule whether or not earlier ones were answered, as Slack's do.
// Latency is measured from the moment a request is handed to the socket to the end of its answer, by a
// driver process of its own (load-driver.ts). The driver's own lateness (how far behind schedule requests
// left) is reported, so a driver that could not keep up is visible instead of silently lowering the rate.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { newTriggerId, signedSlackRequest, slashCommandBody } from '../../src/sandbox/slack-requests.js';
import { CHANNELS, SIGNING_SECRET } from './children.js';
import { round, summarize, type LatencySummary } from './util.js';

export interface LoadRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadResult {
  rate: number;
  seconds: number;
  sent: number;
  answered: number;
  non2xx: number;
  errors: number;
  statuses: Record<string, number>;
  latencyMs: LatencySummary;
  /** How late the driver sent requests against the schedule (ms, p99 / max). */
  driverLagMs: { p99: number; max: number };
}

/** What the driver process (load-driver.ts) is given, and what it sends back. */
export interface DriverJob {
  port: number;
  rate: number;
  seconds: number;
  keepAlive: boolean;
  requests: LoadRequest[];
}

export interface DriverReport {
  sent: number;
  non2xx: number;
  errors: number;
  statuses: Record<string, number>;
  latencies: number[];
  lags: number[];
}

const DRIVER = fileURLToPath(new URL('./load-driver.ts', import.meta.url));

/**
 * One driver process for the whole benchmark, started on first use. In the benchmark's own process the
 * driver's latencies carried that process's garbage collections (a heap of stand-ins, profiles and results:
 * each major GC a pause of tens of ms, read as the server's latency). The driver process holds only the
 * requests of the current run and collects its garbage before each one; it lives across runs so that its
 * code is as warmed up by the warm-up runs as the servers are. It never keeps the benchmark alive: its
 * handles are unreferenced between runs, and it exits when the benchmark's process does.
 */
let driver: ChildProcess | undefined;
function loadDriver(): ChildProcess {
  if (driver && driver.exitCode === null && driver.signalCode === null && driver.connected) return driver;
  // The parent runs under tsx: the child inherits its loader (process.execArgv) and may force a GC.
  driver = fork(DRIVER, [], { execArgv: [...process.execArgv, '--expose-gc'], stdio: 'inherit' });
  return driver;
}

/** Runs one open-loop load through the driver process. Requests are prepared here (ids, signatures). */
export async function openLoop(options: {
  port: number;
  rate: number;
  seconds: number;
  make: (i: number) => LoadRequest;
  /** Keep-alive (Slack reuses connections); refused answers close theirs anyway. */
  keepAlive?: boolean;
}): Promise<LoadResult> {
  const { port, rate, seconds, make } = options;
  const total = Math.round(rate * seconds);
  // Bodies are prepared ahead (signing is the sender's cost, not the server's), but signed with a fresh
  // timestamp: requests older than 5 minutes would be refused.
  const job: DriverJob = {
    port,
    rate,
    seconds,
    keepAlive: options.keepAlive ?? true,
    requests: Array.from({ length: total }, (_, i) => make(i)),
  };
  const child = loadDriver();
  child.ref();
  const channel = child.channel as { ref(): void; unref(): void } | undefined;
  channel?.ref();
  let onExit: ((code: number | null) => void) | undefined;
  const report = await new Promise<DriverReport>((resolve, reject) => {
    onExit = (code) => reject(new Error(`the load driver exited (${code}) without a report`));
    child.once('message', (message) => resolve(message as DriverReport));
    child.once('exit', onExit);
    child.send(job);
  }).finally(() => {
    if (onExit) child.off('exit', onExit);
    channel?.unref();
    child.unref();
  });
  const lagSummary = summarize(report.lags);
  return {
    rate,
    seconds,
    sent: report.sent,
    answered: report.latencies.length,
    non2xx: report.non2xx,
    errors: report.errors,
    statuses: report.statuses,
    latencyMs: summarize(report.latencies),
    driverLagMs: { p99: round(lagSummary.p99), max: round(lagSummary.max) },
  };
}

/** A signed `/promote` slash command as Slack sends it. */
export function signedCommand(o: {
  command: string;
  text: string;
  userId: string;
  responseUrl?: string;
  triggerId?: string;
  secret?: string;
}): LoadRequest {
  const body = slashCommandBody({
    command: o.command,
    text: o.text,
    userId: o.userId,
    channelId: CHANNELS.deployments,
    triggerId: o.triggerId ?? newTriggerId(),
    // Never Slack's real hooks URL: a stray worker answer must stay on loopback.
    responseUrl: o.responseUrl ?? 'http://127.0.0.1:9/response/none',
  });
  const signed = signedSlackRequest(o.secret ?? SIGNING_SECRET, body);
  return { path: '/slack/events', headers: signed.headers, body };
}
