// Unauthenticated refusals cost a counter, not storage. Anyone can send the public routes anything, so a
// refused request must not write to Redis or post to Slack on its own: that would let a stranger fill the
// bot's memory and bury #infra-audit. Each refusal increments a Prometheus counter (route, reason) and an
// in-memory tally; once per interval the tally becomes at most one audit record per route and reason
// ("37 refused requests on /github/webhook in the last minute: bad signature"). The tally's size is
// bounded by the fixed sets of routes and reasons, not by the traffic.
//
// Authenticated requests (a valid signature) keep their individual audit records wherever they are
// refused for what they say rather than for who sent them.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { AuditRecord } from '../domain/audit.js';

export type EdgeRoute = '/slack/events' | '/github/webhook';

export interface RefusalTrackerOptions {
  counter: Counter<'route' | 'reason'>;
  audit: { append(record: AuditRecord): Promise<unknown> };
  logger: Logger;
  /** How often a summary may be written, per route and reason. Default 60 s. */
  intervalMs?: number;
  now?: () => Date;
}

/** Reasons are a closed vocabulary (the metric's cardinality and the tally's size depend on it). */
const MAX_REASON_LENGTH = 80;

export class RefusalTracker {
  private tally = new Map<string, { route: EdgeRoute; reason: string; count: number }>();
  private windowStart: Date;
  private readonly timer: NodeJS.Timeout;
  /** Distinguishes this process's summaries from another replica's for the same minute. */
  private readonly source = randomUUID().slice(0, 8);
  private readonly intervalMs: number;
  private readonly now: () => Date;

  constructor(private readonly options: RefusalTrackerOptions) {
    this.intervalMs = options.intervalMs ?? 60_000;
    this.now = options.now ?? (() => new Date());
    this.windowStart = this.now();
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Counts one refused request. Synchronous, allocation-free for a known (route, reason). */
  refused(route: EdgeRoute, reason: string): void {
    const bounded = reason.slice(0, MAX_REASON_LENGTH);
    this.options.counter.inc({ route, reason: bounded });
    const key = `${route}\u0000${bounded}`;
    const entry = this.tally.get(key);
    if (entry) entry.count += 1;
    else this.tally.set(key, { route, reason: bounded, count: 1 });
  }

  /** Writes the summaries of the interval that just ended (one record per route and reason) and resets. */
  async flush(): Promise<void> {
    const entries = [...this.tally.values()];
    const from = this.windowStart;
    const to = this.now();
    this.tally = new Map();
    this.windowStart = to;
    const seconds = Math.max(1, Math.round((to.getTime() - from.getTime()) / 1000));
    const span = seconds >= 55 && seconds <= 65 ? 'the last minute' : `the last ${seconds} s`;
    for (const { route, reason, count } of entries) {
      const record: AuditRecord = {
        id: `refused:${route}:${reason}:${from.toISOString()}:${this.source}`,
        at: to.toISOString(),
        actor: 'system',
        action: 'edge.refused',
        outcome: 'denied',
        detail: `${count} refused request${count === 1 ? '' : 's'} on ${route} in ${span}: ${reason}`,
      };
      await this.options.audit
        .append(record)
        .catch((err: unknown) =>
          this.options.logger.warn({ err, route, reason, count }, 'could not record a refusal summary'),
        );
    }
  }

  /** Stops the timer and writes what is still counted. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
