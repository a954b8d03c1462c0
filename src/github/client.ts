// The one place an Octokit is built for the bot: @octokit/rest with the throttling and retry plugins, and
// GitHub App installation tokens (minted and refreshed by @octokit/auth-app, shared by the clients of one
// configuration, never logged) or a PAT.
// Also maps what Octokit throws to GithubError, so the worker can tell "retry later" from "fix config".
//
// Rate limits (shared/reference/slack-github-bullmq.md §2.6): primary and secondary limits go to the
// throttling plugin only. It retries at most `maxRateLimitRetries` times (default 2), waiting what GitHub
// says (retry-after, or until x-ratelimit-reset), and gives up when the wait would be longer than
// `maxRetryAfterSeconds`: a worker must not sleep for an hour; the BullMQ job is re-enqueued with the
// delay instead (GithubError.retryAfterSeconds). The retry plugin keeps its defaults (3 retries of 5xx and
// other transient answers, never 400/401/403/404/410/422/451) and additionally leaves 429 to throttling,
// so a rate-limited request is not retried twice over.
import { Octokit } from '@octokit/rest';
import { throttling } from '@octokit/plugin-throttling';
import { retry } from '@octokit/plugin-retry';
import { createAppAuth } from '@octokit/auth-app';
import type { Config } from '../config/load.js';
import type { Logger } from '../logging.js';

export const GithubOctokit = Octokit.plugin(throttling, retry);
export type GithubClient = InstanceType<typeof GithubOctokit>;

export interface GithubClientOptions {
  logger: Logger;
  /** Prefix of the User-Agent (Octokit appends its own). */
  userAgent?: string;
  /** How many times a rate-limited request is retried in-process before it fails. Default 2. */
  maxRateLimitRetries?: number;
  /** Longest rate-limit wait (seconds) sat out in-process; longer ones fail at once. Default 60. */
  maxRetryAfterSeconds?: number;
  /**
   * Milliseconds per second of retry-after and of the retry plugin's backoff. 1000 (real time) unless a test
   * wants the same sequence of requests without the wall-clock wait.
   */
  retryAfterUnitMs?: number;
  /** Retries of transient (5xx, network) failures by the retry plugin. Default 3 (the plugin's). */
  retries?: number;
}

/**
 * The retry plugin's defaults plus 429, which belongs to the throttling plugin, and 409: GitHub's conflict
 * answers (cancelling a run that has completed, a stale update) say something final about the resource;
 * asking again only delays the caller.
 */
const DO_NOT_RETRY = [400, 401, 403, 404, 409, 410, 422, 429, 451];

export const DEFAULT_USER_AGENT = 'gitops-infra-pipeline-chatops';

/**
 * Installation tokens shared by every client built from one GitHub configuration (the worker builds a
 * client per job): a token lives an hour, so minting one per job would cost a request per job. Entries
 * are @octokit/auth-app's cache lines (`token|createdAt|expiresAt|…`), dropped 5 minutes before the
 * token expires; in memory only, like the library's own cache.
 */
export class InstallationTokenCache {
  private readonly entries = new Map<string, string>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 100,
  ) {}

  get(key: string): string {
    const value = this.entries.get(key);
    if (value === undefined) return '';
    const expiresAt = Date.parse(value.split('|')[2] ?? '');
    if (!(expiresAt - 5 * 60_000 > this.now())) {
      this.entries.delete(key);
      return '';
    }
    return value;
  }

  set(key: string, value: string): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

const tokenCaches = new WeakMap<Config['github'], InstallationTokenCache>();

function tokenCacheFor(github: Config['github']): InstallationTokenCache {
  let cache = tokenCaches.get(github);
  if (!cache) {
    cache = new InstallationTokenCache();
    tokenCaches.set(github, cache);
  }
  return cache;
}

export function createGithubClient(github: Config['github'], options: GithubClientOptions): GithubClient {
  const logger = options.logger.child({ component: 'github' });
  const maxRetries = options.maxRateLimitRetries ?? 2;
  const maxWait = options.maxRetryAfterSeconds ?? 60;
  const unit = options.retryAfterUnitMs ?? 1000;

  type LimitOptions = { method?: string; url?: string };
  const onLimit =
    (kind: 'primary' | 'secondary') =>
    (retryAfter: number, request: LimitOptions, _octokit: unknown, retryCount: number): boolean => {
      const retrying = retryCount < maxRetries && retryAfter <= maxWait;
      const fields = { kind, method: request.method, url: request.url, retryAfter, retryCount, retrying };
      if (retrying) logger.warn(fields, `GitHub ${kind} rate limit: retrying after ${retryAfter}s`);
      else logger.warn(fields, `GitHub ${kind} rate limit: giving up (the job will be re-enqueued)`);
      return retrying;
    };

  const auth =
    github.auth.kind === 'app'
      ? {
          authStrategy: createAppAuth,
          auth: {
            appId: github.auth.appId,
            privateKey: github.auth.privateKey,
            installationId: github.auth.installationId,
            cache: tokenCacheFor(github),
          },
        }
      : github.auth.kind === 'token'
        ? { auth: github.auth.token }
        : {};
  if (github.auth.kind === 'none') {
    logger.warn('GitHub: no credentials configured; requests are anonymous (60/h, public repositories only)');
  }

  return new GithubOctokit({
    ...auth,
    baseUrl: github.apiUrl.replace(/\/+$/, ''),
    userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
    // Octokit's info lines are one per request: debug for us. Its messages carry URLs, never tokens.
    log: {
      debug: (message: string, extra?: unknown) => logger.trace({ extra }, message),
      info: (message: string, extra?: unknown) => logger.debug({ extra }, message),
      warn: (message: string, extra?: unknown) => logger.warn({ extra }, message),
      error: (message: string, extra?: unknown) => logger.error({ extra }, message),
    },
    throttle: {
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
      retryAfterBaseValue: unit,
    },
    retry: {
      doNotRetry: DO_NOT_RETRY,
      retryAfterBaseValue: unit,
      ...(options.retries === undefined ? {} : { retries: options.retries }),
    },
  });
}

// ---- errors ------------------------------------------------------------------------------------------

export const GithubErrorCode = {
  /** Network failure, 5xx after retries: transient, retry later. */
  Unavailable: 'github_unavailable',
  /** Primary or secondary rate limit outlasted the in-process retries: retry after `retryAfterSeconds`. */
  RateLimited: 'github_rate_limited',
  /** 401: the token or App credentials are wrong or revoked. */
  Unauthorized: 'github_unauthorized',
  /** 403 (not a rate limit): the token lacks a permission (e.g. Actions: read). */
  Forbidden: 'github_forbidden',
  /** 404: no such run/artifact/workflow, or no access to the repository. */
  NotFound: 'github_not_found',
  /** 400/409/422: GitHub refused the request as sent. */
  Rejected: 'github_rejected',
} as const;
export type GithubErrorCode = (typeof GithubErrorCode)[keyof typeof GithubErrorCode];

const TRANSIENT: ReadonlySet<GithubErrorCode> = new Set([
  GithubErrorCode.Unavailable,
  GithubErrorCode.RateLimited,
]);

export class GithubError extends Error {
  constructor(
    readonly code: GithubErrorCode,
    message: string,
    readonly status?: number,
    /** For rate limits: seconds to wait before trying again (from retry-after or x-ratelimit-reset). */
    readonly retryAfterSeconds?: number,
    readonly original?: unknown,
  ) {
    super(message);
    this.name = 'GithubError';
  }

  /** True when retrying the same call cannot help (the queue should not retry it). */
  get permanent(): boolean {
    return !TRANSIENT.has(this.code);
  }
}

interface OctokitErrorShape {
  status?: unknown;
  message?: unknown;
  cause?: unknown;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Seconds to wait, from retry-after or x-ratelimit-reset; undefined when GitHub said neither. */
function retryAfterOf(
  headers: Record<string, string | undefined> | undefined,
  now = Date.now(),
): number | undefined {
  const after = Number(headers?.['retry-after']);
  if (Number.isFinite(after) && after >= 0) return after;
  if (headers?.['x-ratelimit-remaining'] === '0') {
    const reset = Number(headers['x-ratelimit-reset']);
    if (Number.isFinite(reset)) return Math.max(0, Math.ceil(reset - now / 1000));
  }
  return undefined;
}

/**
 * Any error from an Octokit call → GithubError. `what` says what the call was for ("get run 42").
 * Octokit reports network failures as status 500 with a `cause`; they are `Unavailable` like real 5xx.
 */
export function toGithubError(error: unknown, what: string): GithubError {
  if (error instanceof GithubError) return error;
  const e: OctokitErrorShape = isRecord(error) ? (error as OctokitErrorShape) : {};
  const status = typeof e.status === 'number' ? e.status : undefined;
  const message = (typeof e.message === 'string' ? e.message : String(error)).split('\n')[0] ?? '';
  const headers = e.response?.headers;
  const rateLimited =
    status === 429 ||
    (status === 403 && (/\brate limit\b/i.test(message) || headers?.['x-ratelimit-remaining'] === '0'));
  if (rateLimited) {
    const after = retryAfterOf(headers);
    return new GithubError(
      GithubErrorCode.RateLimited,
      `GitHub rate limit (${what}): ${message}`,
      status,
      after ?? 60,
      error,
    );
  }
  if (status === undefined || status >= 500 || status === 408) {
    return new GithubError(
      GithubErrorCode.Unavailable,
      `GitHub unreachable (${what}): ${message}`,
      status,
      undefined,
      error,
    );
  }
  if (status === 401) {
    return new GithubError(
      GithubErrorCode.Unauthorized,
      `GitHub rejected the bot's credentials (${what}): ${message}`,
      status,
      undefined,
      error,
    );
  }
  if (status === 403) {
    return new GithubError(
      GithubErrorCode.Forbidden,
      `GitHub denied the bot (${what}): ${message}`,
      status,
      undefined,
      error,
    );
  }
  if (status === 404) {
    return new GithubError(GithubErrorCode.NotFound, `GitHub: not found (${what})`, status, undefined, error);
  }
  return new GithubError(
    GithubErrorCode.Rejected,
    `GitHub refused (${what}): ${status} ${message}`,
    status,
    undefined,
    error,
  );
}
