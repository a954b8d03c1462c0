// One budget for everything the web process does before it acknowledges Slack. Slack shows an error
// after 3 s; our Redis reads and the enqueue share one deadline well inside that, instead of each getting
// its own timeout (which added up to 5.7 s against a slow Redis).
export class DeadlineExceeded extends Error {
  constructor(readonly what: string) {
    super(`no answer in time (${what})`);
    this.name = 'DeadlineExceeded';
  }
}

export class Deadline {
  private readonly end: number;
  /** The step in flight, named by the rejection when the budget runs out during it. */
  private current = '';
  /** One timer for the whole budget, started by the first step and stopped by close(). */
  private timer: NodeJS.Timeout | undefined;
  private expiry: Promise<never> | undefined;

  constructor(budgetMs: number, now = Date.now()) {
    this.end = now + budgetMs;
  }

  remainingMs(): number {
    return Math.max(0, this.end - Date.now());
  }

  /** Resolves with `promise`, or rejects with DeadlineExceeded when the budget runs out first. */
  run<T>(promise: Promise<T>, what: string): Promise<T> {
    promise.catch(() => undefined); // the caller may give up on it: never an unhandled rejection
    const remaining = this.remainingMs();
    if (remaining <= 0) return Promise.reject(new DeadlineExceeded(what));
    this.current = what;
    // One timer per deadline rather than one per step: a timer per step, each with a slightly different
    // duration, cost an allocation-heavy timer list per request on the ack path (bench/results/ack-profile.md).
    if (!this.expiry) {
      this.expiry = new Promise<never>((_, reject) => {
        this.timer = setTimeout(() => reject(new DeadlineExceeded(this.current)), remaining);
      });
      this.expiry.catch(() => undefined); // expiring after the last step is no unhandled rejection
    }
    return Promise.race([promise, this.expiry]);
  }

  /** Stops the timer: call when the work under this budget is over, so nothing waits out the budget. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * What a failed enqueue means for the user. `not-sent`: the command never left this process (the Redis
 * connection was not writable, or Redis refused the write): nothing was started, trying again is right.
 * `unknown`: it may have reached Redis (no answer in time, connection lost mid-flight): it may run, and
 * the user must be told so — retrying is harmless only because a second request for the same freight
 * joins the first (worker/promote.ts).
 */
export function enqueueOutcome(error: unknown): 'not-sent' | 'unknown' {
  if (error instanceof DeadlineExceeded) return 'unknown';
  const message = error instanceof Error ? error.message : String(error);
  if (/Stream isn't writeable|enableOfflineQueue/i.test(message)) return 'not-sent';
  // An error reply (OOM, READONLY, NOSCRIPT …) is Redis refusing the write: nothing was stored.
  if ((error as { name?: string } | undefined)?.name === 'ReplyError') return 'not-sent';
  return 'unknown';
}
