// Open-loop load: requests leave on schedule whether or not earlier ones were answered, as Slack's do.
// Latency is measured from the moment a request is handed to the socket to the end of its answer. The
// driver's own lateness (how far behind schedule requests left) is reported, so a driver that could not
// keep up is visible instead of silently lowering the rate.
import { Agent, request } from 'node:http';
import { newTriggerId, signedSlackRequest, slashCommandBody } from '../../src/sandbox/slack-requests.js';
import { CHANNELS, SIGNING_SECRET } from './children.js';
import { msSince, round, summarize, type LatencySummary } from './util.js';

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

export async function openLoop(options: {
  port: number;
  rate: number;
  seconds: number;
  make: (i: number) => LoadRequest;
  /** Keep-alive (Slack reuses connections); refused answers close theirs anyway. */
  keepAlive?: boolean;
}): Promise<LoadResult> {
  const { port, rate, seconds, make } = options;
  const agent = new Agent({ keepAlive: options.keepAlive ?? true, maxSockets: 1024 });
  const latencies: number[] = [];
  const lags: number[] = [];
  const statuses: Record<string, number> = {};
  let sent = 0;
  let non2xx = 0;
  let errors = 0;
  const inflight: Array<Promise<void>> = [];
  const total = Math.round(rate * seconds);
  // Bodies are prepared ahead (signing is the sender's cost, not the server's), but signed with a fresh
  // timestamp: requests older than 5 minutes would be refused.
  const prepared = Array.from({ length: total }, (_, i) => make(i));
  const fire = (i: number, lagMs: number): void => {
    const r = prepared[i]!;
    lags.push(lagMs);
    sent += 1;
    inflight.push(
      new Promise<void>((resolve) => {
        const started = process.hrtime.bigint();
        const req = request(
          {
            host: '127.0.0.1',
            port,
            path: r.path,
            method: 'POST',
            agent,
            headers: r.headers,
            timeout: 10_000,
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              latencies.push(msSince(started));
              const status = res.statusCode ?? 0;
              statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
              if (status < 200 || status >= 300) non2xx += 1;
              resolve();
            });
          },
        );
        req.on('error', () => {
          errors += 1;
          resolve();
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end(r.body);
      }),
    );
  };
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = performance.now() - start;
      const due = Math.min(total, Math.floor((elapsed / 1000) * rate) + 1);
      while (sent < due) fire(sent, elapsed - (sent / rate) * 1000);
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await Promise.all(inflight);
  agent.destroy();
  const lagSummary = summarize(lags);
  return {
    rate,
    seconds,
    sent,
    answered: latencies.length,
    non2xx,
    errors,
    statuses,
    latencyMs: summarize(latencies),
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
