// A dependency that is down (the Kubernetes API, Redis behind it, GitHub) is one incident, not one failure
// per job. While it is down the promotions lane pauses (BullMQ's queue-wide rate limit: jobs wait, none
// burns its attempts) and retries with backoff; #infra-alerts gets ONE message that says what is down,
// updated in place when it recovers. Shared by every worker replica through Redis.
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export type Dependency = 'kubernetes' | 'github';

const LABEL: Readonly<Record<Dependency, string>> = {
  kubernetes: 'The Kubernetes API (Kargo)',
  github: 'GitHub',
};

export interface OutageAlerts {
  /** Shows (first call) or updates (later calls) the alert under `key` in #infra-alerts. */
  upsert(key: string, text: string): Promise<void>;
}

interface OutageState {
  since: number;
  failures: number;
  detail: string;
  alertKey: string;
}

export interface OutagesOptions {
  redis: Redis;
  prefix: string;
  alerts: OutageAlerts;
  logger: Logger;
  /** First pause after a failure, and the longest one (ms). */
  backoff?: { baseMs: number; maxMs: number };
  now?: () => number;
}

const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);

/**
 * Down again this soon after recovering is the same incident (an API server that flaps while it restarts):
 * its alert is updated, not posted again. Longer apart, an outage gets a new alert, because an edited
 * message higher up the channel notifies nobody.
 */
const FLAP_WINDOW_SECONDS = 60;

export class Outages {
  private readonly backoff: { baseMs: number; maxMs: number };
  private readonly now: () => number;
  /** Last recovery per dependency, in this process (for "recently recovered" checks). */
  private readonly recovered = new Map<Dependency, number>();

  constructor(private readonly options: OutagesOptions) {
    this.backoff = options.backoff ?? { baseMs: 1000, maxMs: 30_000 };
    this.now = options.now ?? Date.now;
  }

  private key(dependency: Dependency): string {
    return `${this.options.prefix}:outage:${dependency}`;
  }

  /** The alert of an outage that ended within FLAP_WINDOW_SECONDS: a flapping dependency reuses it. */
  private recentKey(dependency: Dependency): string {
    return `${this.options.prefix}:outage-recent:${dependency}`;
  }

  /**
   * Records a failure to reach `dependency`; returns how long the lane should pause before trying again.
   * The first failure of an outage posts the alert.
   */
  async down(dependency: Dependency, detail: string): Promise<number> {
    const { redis } = this.options;
    const now = this.now();
    const key = this.key(dependency);
    // Down again shortly after recovering (a restart that flaps, a rolling update): the same incident,
    // the same alert message, updated in place.
    const recent = await redis.get(this.recentKey(dependency));
    const ended = recent ? (JSON.parse(recent) as OutageState & { recoveredAt: number }) : undefined;
    const previous = ended && now - ended.recoveredAt <= FLAP_WINDOW_SECONDS * 1000 ? ended : undefined;
    const fresh: OutageState = {
      since: previous?.since ?? now,
      failures: (previous?.failures ?? 0) + 1,
      detail,
      alertKey: previous?.alertKey ?? `outage-${dependency}-${now}`,
    };
    // Outage records live a day at most: a dependency nobody tried for that long is not known to be down.
    const created = await redis.set(key, JSON.stringify(fresh), 'EX', 86_400, 'NX');
    let state = fresh;
    if (created !== 'OK') {
      const raw = await redis.get(key);
      state = raw ? (JSON.parse(raw) as OutageState) : fresh;
      state = { ...state, failures: state.failures + 1, detail };
      await redis.set(key, JSON.stringify(state), 'EX', 86_400);
    } else {
      this.options.logger.error({ dependency, detail }, `${LABEL[dependency]} is unreachable: pausing`);
      await this.options.alerts
        .upsert(
          state.alertKey,
          `:red_circle: *${LABEL[dependency]} is unreachable*${previous ? ' again' : ''} since ${hhmm(state.since)} UTC (${detail}). ` +
            'Promotions are paused, not lost: they resume on their own when it answers again.',
        )
        .catch((err: unknown) => this.options.logger.warn({ err }, 'could not post the outage alert'));
    }
    return Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.min(state.failures - 1, 16));
  }

  /** Records that `dependency` answered; ends the outage (and updates its alert) if there was one. */
  async up(dependency: Dependency): Promise<void> {
    const { redis } = this.options;
    // GETDEL: exactly one worker ends the outage and updates the alert.
    const raw = (await redis.call('GETDEL', this.key(dependency))) as string | null;
    if (!raw) return;
    const state = JSON.parse(raw) as OutageState;
    const now = this.now();
    this.recovered.set(dependency, now);
    await redis.set(
      this.recentKey(dependency),
      JSON.stringify({ ...state, recoveredAt: now }),
      'EX',
      FLAP_WINDOW_SECONDS * 2,
    );
    const minutes = Math.max(1, Math.round((now - state.since) / 60_000));
    this.options.logger.info({ dependency, minutes }, `${LABEL[dependency]} answers again`);
    await this.options.alerts
      .upsert(
        state.alertKey,
        `:large_green_circle: *${LABEL[dependency]} answers again* (unreachable from ${hhmm(state.since)} to ${hhmm(now)} UTC, about ${minutes} min, ${state.failures} failed attempts). Paused promotions resumed.`,
      )
      .catch((err: unknown) => this.options.logger.warn({ err }, 'could not update the outage alert'));
  }

  /** Whether `dependency` is down now (any replica may have noticed). */
  async isDown(dependency: Dependency): Promise<boolean> {
    return (await this.options.redis.exists(this.key(dependency))) === 1;
  }

  /** True when this process saw `dependency` recover within the last `withinMs`. */
  recentlyRecovered(dependency: Dependency, withinMs: number): boolean {
    const at = this.recovered.get(dependency);
    return at !== undefined && this.now() - at < withinMs;
  }
}
