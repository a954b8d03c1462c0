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

  constructor(budgetMs: number, now = Date.now()) {
    this.end = now + budgetMs;
  }

  remainingMs(): number {
    return Math.max(0, this.end - Date.now());
  }

  /** Resolves with `promise`, or rejects with DeadlineExceeded when the budget runs out first. */
  run<T>(promise: Promise<T>, what: string): Promise<T> {
    const remaining = this.remainingMs();
    if (remaining <= 0) {
      promise.catch(() => undefined); // the caller gave up on it: never an unhandled rejection
      return Promise.reject(new DeadlineExceeded(what));
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineExceeded(what)), remaining);
    });
    promise.catch(() => undefined);
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
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
