// `/approve link`: an approver links their GitHub account once, through GitHub's device flow for the bot's
// GitHub App (user access tokens; reviewer mode approves with them).
//
//   1. POST {GITHUB_WEB_URL}/login/device/code {client_id}        → device_code, user_code, verification_uri,
//      expires_in (900 s), interval (5 s). The user code and the URL are shown to the user only (ephemeral).
//   2. POST {GITHUB_WEB_URL}/login/oauth/access_token {client_id, device_code,
//      grant_type=urn:ietf:params:oauth:grant-type:device_code}, every `interval` seconds, until GitHub
//      answers with tokens or with a final error. `authorization_pending`: ask again later; `slow_down`:
//      the interval grows (by 5 s, or to the `interval` GitHub returns) and stays grown; `expired_token`,
//      `access_denied`: stop and say so. Each poll is one delayed BullMQ job (no worker sleeps for minutes).
//   3. GET /user with the new token → the GitHub login. TokenStore saves the tokens encrypted and maps the
//      login to the Slack user.
//   Refresh (token-store.ts calls refresher()): POST …/access_token {client_id, grant_type=refresh_token,
//   refresh_token[, client_secret]} before the 8-hour access token expires; refresh tokens last 6 months and
//   rotate on use. GitHub documents client_secret as required for a refresh; tokens from the device flow
//   are refreshed without it by public clients (unconfirmed: set GITHUB_APP_CLIENT_SECRET to send it).
//
// HTTP goes through @octokit/oauth-methods (see GithubDeviceFlow for why not @octokit/auth-oauth-device).
// The device code is a credential until it expires: it is kept encrypted (TokenCipher) in Redis, never in a
// job's data, never in a log. Responses are parsed field by field; bodies are never logged.
import { randomBytes } from 'node:crypto';
import {
  createDeviceCode,
  exchangeDeviceCode,
  refreshToken as refreshUserToken,
} from '@octokit/oauth-methods';
import { request as octokitRequest } from '@octokit/request';
import { RequestError } from '@octokit/request-error';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { AuditRecord } from '../domain/audit.js';
import { commandAudit } from '../domain/audit-records.js';
import { sectionBlock, type SlackMessage } from '../domain/blockkit.js';
import type { Actor } from '../domain/types.js';
import type { GithubClient } from '../github/client.js';
import type { Logger } from '../logging.js';
import { getAuthenticatedUser } from './github.js';
import type { Refresher, TokenCipher, TokenSet, TokenStore } from './token-store.js';
import { closeWorker } from '../queue/shutdown.js';

export const DEVICE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
export const APPROVAL_LINK_QUEUE = 'approval-links';

// ---------------------------------------------------------------------------------------------------
// GitHub's endpoints

export interface DeviceFlowOptions {
  /** GITHUB_WEB_URL: https://github.com (no trailing slash). */
  webUrl: string;
  clientId: string;
  clientSecret?: string;
  fetch?: typeof fetch;
  now?: () => Date;
  /** Per request. Default 10 s. */
  timeoutMs?: number;
}

export interface DeviceCode {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  /** Seconds. */
  expiresIn: number;
  /** Seconds between polls. */
  interval: number;
}

export type DevicePoll =
  | { kind: 'pending' }
  | { kind: 'slow-down'; interval: number }
  | { kind: 'expired' }
  | { kind: 'denied' }
  | { kind: 'tokens'; tokens: TokenSet }
  /** Anything else: `permanent` = asking again cannot help (bad client id, device flow disabled, …). */
  | { kind: 'failed'; error: string; permanent: boolean };

export class DeviceFlowError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'DeviceFlowError';
  }
}

const codeSchema = z.object({
  device_code: z.string().min(1),
  user_code: z.string().min(1),
  verification_uri: z.string().min(1),
  expires_in: z.number().positive(),
  interval: z.number().nonnegative(),
});

const tokenSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().optional(),
  refresh_token: z.string().min(1).optional(),
  refresh_token_expires_in: z.number().optional(),
});

const errorSchema = z.object({ error: z.string(), interval: z.number().optional() });

/**
 * GitHub's device-flow endpoints through @octokit/oauth-methods (the requests, the OAuth base URL of
 * github.com, GHE.com and GHES, and OAuth errors as RequestError). Not @octokit/auth-oauth-device: its
 * `auth()` waits for the user inside one process (setTimeout between polls for up to 15 minutes), so a
 * worker restart loses the link and a job holds its slot meanwhile, and after `slow_down` it waits
 * `interval + 7` once without keeping the grown interval that RFC 8628 §3.5 asks for. Here each poll is
 * one call, scheduled as a delayed job by DeviceLinks.
 */
export class GithubDeviceFlow {
  private readonly now: () => Date;

  constructor(private readonly options: DeviceFlowOptions) {
    if (!options.clientId) throw new Error('GithubDeviceFlow: clientId (GITHUB_APP_CLIENT_ID) is required');
    this.now = options.now ?? (() => new Date());
  }

  /** Step 1. Throws DeviceFlowError (never with a secret in its message). */
  async requestCode(): Promise<DeviceCode> {
    let body: unknown;
    try {
      ({ data: body } = await createDeviceCode({
        clientType: 'github-app',
        clientId: this.options.clientId,
        request: this.request(),
      }));
    } catch (error) {
      const failure = describeFailure(error);
      throw new DeviceFlowError(
        failure.oauthError
          ? `GitHub refused to start the device flow (${failure.oauthError})`
          : `GitHub could not start the device flow (${failure.detail})`,
        failure.permanent,
      );
    }
    const parsed = codeSchema.safeParse(body);
    if (!parsed.success)
      throw new DeviceFlowError('GitHub refused to start the device flow (unexpected answer)', true);
    return {
      deviceCode: parsed.data.device_code,
      userCode: parsed.data.user_code,
      verificationUri: parsed.data.verification_uri,
      expiresIn: parsed.data.expires_in,
      interval: parsed.data.interval,
    };
  }

  /** Step 2, once. `interval` is the current one (for slow_down without a number). */
  async poll(deviceCode: string, interval: number): Promise<DevicePoll> {
    let body: unknown;
    try {
      ({ data: body } = await exchangeDeviceCode({
        clientType: 'github-app',
        clientId: this.options.clientId,
        code: deviceCode,
        request: this.request(),
      }));
    } catch (error) {
      const failure = describeFailure(error);
      switch (failure.oauthError) {
        case undefined:
          return { kind: 'failed', error: failure.detail, permanent: false };
        case 'authorization_pending':
          return { kind: 'pending' };
        case 'slow_down':
          return { kind: 'slow-down', interval: failure.interval ?? interval + 5 };
        case 'expired_token':
          return { kind: 'expired' };
        case 'access_denied':
          return { kind: 'denied' };
        default:
          return { kind: 'failed', error: failure.oauthError, permanent: true };
      }
    }
    const tokens = this.tokensFrom(body);
    return tokens
      ? { kind: 'tokens', tokens }
      : { kind: 'failed', error: 'unexpected answer from GitHub', permanent: false };
  }

  /** Refresh: a new access token and a new refresh token (the old ones stop working). */
  refresher(): Refresher {
    return async (refreshToken) => {
      let body: unknown;
      try {
        ({ data: body } = await refreshUserToken({
          clientType: 'github-app',
          clientId: this.options.clientId,
          // GitHub documents the secret as required for a refresh; public clients refresh without it.
          clientSecret: this.options.clientSecret as string,
          refreshToken,
          request: this.request(),
        }));
      } catch (error) {
        const failure = describeFailure(error);
        return failure.oauthError
          ? { ok: false, error: failure.oauthError, permanent: true }
          : { ok: false, error: failure.detail, permanent: false };
      }
      const tokens = this.tokensFrom(body);
      if (tokens) return { ok: true, tokens };
      return { ok: false, error: 'unexpected answer from GitHub', permanent: false };
    };
  }

  private tokensFrom(body: unknown): TokenSet | undefined {
    const parsed = tokenSchema.safeParse(body);
    if (!parsed.success) return undefined;
    const now = this.now().getTime();
    const at = (seconds: number | undefined): string | undefined =>
      seconds === undefined ? undefined : new Date(now + seconds * 1000).toISOString();
    const tokens: TokenSet = { accessToken: parsed.data.access_token };
    const accessExpiry = at(parsed.data.expires_in);
    if (accessExpiry) tokens.accessTokenExpiresAt = accessExpiry;
    if (parsed.data.refresh_token) tokens.refreshToken = parsed.data.refresh_token;
    const refreshExpiry = at(parsed.data.refresh_token_expires_in);
    if (refreshExpiry) tokens.refreshTokenExpiresAt = refreshExpiry;
    return tokens;
  }

  /**
   * A request function for one call, with its own timeout. oauth-methods derives the OAuth host from the
   * REST base URL: api.github.com → github.com, otherwise the base URL without `/api/v3`; so the web URL
   * itself is given, except for github.com.
   */
  private request(): typeof octokitRequest {
    const webUrl = this.options.webUrl.replace(/\/+$/, '');
    return octokitRequest.defaults({
      baseUrl: webUrl === 'https://github.com' ? 'https://api.github.com' : webUrl,
      headers: { 'user-agent': 'gitops-infra-pipeline-chatops' },
      request: {
        ...(this.options.fetch ? { fetch: this.options.fetch } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      },
    });
  }
}

interface FailureDescription {
  /** The OAuth `error` code GitHub answered with (`authorization_pending`, `bad_refresh_token`, ...). */
  oauthError?: string;
  /** `interval` of a slow_down answer. */
  interval?: number;
  /** Asking again cannot help. */
  permanent: boolean;
  /** For logs and the user: status or error name, never a body or a credential. */
  detail: string;
}

/** What went wrong in a call to GitHub's OAuth endpoints; bodies are read field by field, never logged. */
function describeFailure(error: unknown): FailureDescription {
  if (error instanceof RequestError) {
    const oauth = errorSchema.safeParse(error.response?.data);
    if (oauth.success)
      return {
        oauthError: oauth.data.error,
        ...(oauth.data.interval !== undefined ? { interval: oauth.data.interval } : {}),
        permanent: true,
        detail: oauth.data.error,
      };
    // No OAuth error in the body: a server error or an unreachable host (status 500 from @octokit/request
    // when fetch itself failed) can pass; another 4xx will not.
    const status = error.status;
    return {
      permanent: status >= 400 && status < 500,
      detail:
        status >= 500 ? `GitHub answered ${status} or could not be reached` : `GitHub answered ${status}`,
    };
  }
  return { permanent: false, detail: (error as Error).name || 'error' };
}

// ---------------------------------------------------------------------------------------------------
// Linking: a pending link per user, polled by delayed jobs

export interface ReplyTarget {
  channelId: string;
  /** Slack response_url of the `/approve link` command (valid 30 minutes: longer than a device code). */
  responseUrl?: string;
}

interface PendingLink {
  linkId: string;
  slackUserId: string;
  slackUserName?: string;
  /** The device code, encrypted (TokenCipher, bound to the link id). */
  sealedDeviceCode: string;
  userCode: string;
  /** Seconds between polls (grows on slow_down). */
  interval: number;
  /** ISO, as GitHub counts it. */
  expiresAt: string;
  /** Real ms after which the bot stops asking even without GitHub's expired_token (a grace of 2 polls). */
  giveUpAt: number;
  startedAt: string;
  polls: number;
  reply: ReplyTarget;
}

const pendingSchema = z.object({
  linkId: z.string(),
  slackUserId: z.string(),
  slackUserName: z.string().optional(),
  sealedDeviceCode: z.string(),
  userCode: z.string(),
  interval: z.number(),
  expiresAt: z.string(),
  giveUpAt: z.number(),
  startedAt: z.string(),
  polls: z.number(),
  reply: z.object({ channelId: z.string(), responseUrl: z.string().optional() }),
});

export type LinkOutcome = 'pending' | 'linked' | 'expired' | 'denied' | 'failed' | 'gone';

export interface DeviceLinksOptions {
  redis: Redis;
  prefix: string;
  flow: GithubDeviceFlow;
  tokens: TokenStore;
  cipher: TokenCipher;
  /** A client acting with the new token (github.ts userClient), for GET /user. */
  userClient: (token: string) => GithubClient;
  audit: { append(record: AuditRecord): Promise<unknown> };
  /** Tells the user how the link went (the lead: Responder.reply through response_url). */
  notify: (reply: ReplyTarget, message: SlackMessage) => Promise<void>;
  logger: Logger;
  now?: () => Date;
  /** Real milliseconds per second of GitHub's interval (tests shrink it). Default 1000. */
  secondsMs?: number;
}

const AAD = (linkId: string): string => `approvals-device-code:${linkId}`;

export class DeviceLinks {
  private readonly queue: Queue<{ linkId: string }>;
  private worker: Worker<{ linkId: string }> | undefined;
  private readonly now: () => Date;
  private readonly unit: number;

  constructor(private readonly options: DeviceLinksOptions) {
    if (!options.prefix) throw new Error('DeviceLinks: prefix is required');
    this.now = options.now ?? (() => new Date());
    this.unit = options.secondsMs ?? 1000;
    this.queue = new Queue(APPROVAL_LINK_QUEUE, { connection: options.redis, prefix: options.prefix });
  }

  private pendingKey(linkId: string): string {
    return `${this.options.prefix}:approvals:link-pending:${linkId}`;
  }

  private userKey(slackUserId: string): string {
    return `${this.options.prefix}:approvals:link-user:${slackUserId}`;
  }

  /** Starts the worker that polls pending links (in the worker process). */
  startWorker(concurrency = 4): void {
    if (this.worker) return;
    this.worker = new Worker(
      APPROVAL_LINK_QUEUE,
      async (job: Job<{ linkId: string }>) => {
        await this.pollOnce(job.data.linkId);
      },
      { connection: this.options.redis, prefix: this.options.prefix, concurrency },
    );
    this.worker.on('error', (err) => this.options.logger.warn({ err }, 'approval link worker error'));
  }

  /** Stops polling (the queue stays usable: start() still schedules). */
  async stopWorker(graceMs?: number): Promise<void> {
    if (this.worker) await closeWorker(this.worker, graceMs);
    this.worker = undefined;
  }

  async close(graceMs?: number): Promise<void> {
    await this.stopWorker(graceMs);
    await this.queue.close();
  }

  /**
   * Step 1 for `actor`: asks GitHub for a user code, stores the pending link (replacing the user's earlier
   * one) and schedules the first poll. Returns what to show the user; throws DeviceFlowError when GitHub
   * would not start.
   */
  async start(
    actor: Actor,
    reply: ReplyTarget,
  ): Promise<{ userCode: string; verificationUri: string; expiresIn: number }> {
    const code = await this.options.flow.requestCode();
    const linkId = randomBytes(12).toString('base64url');
    const now = this.now();
    const pending: PendingLink = {
      linkId,
      slackUserId: actor.slackUserId,
      ...(actor.slackUserName ? { slackUserName: actor.slackUserName } : {}),
      sealedDeviceCode: this.options.cipher.encrypt(code.deviceCode, AAD(linkId)),
      userCode: code.userCode,
      interval: Math.max(1, code.interval),
      expiresAt: new Date(now.getTime() + code.expiresIn * 1000).toISOString(),
      giveUpAt: Date.now() + (code.expiresIn + 2 * Math.max(1, code.interval)) * this.unit,
      startedAt: now.toISOString(),
      polls: 0,
      reply,
    };
    const ttl = Math.ceil(((code.expiresIn + 2 * Math.max(1, code.interval)) * this.unit) / 1000) + 60;
    const previous = await this.options.redis.get(this.userKey(actor.slackUserId));
    const multi = this.options.redis.multi();
    if (previous) multi.del(this.pendingKey(previous));
    multi.set(this.pendingKey(linkId), JSON.stringify(pending), 'EX', ttl);
    multi.set(this.userKey(actor.slackUserId), linkId, 'EX', ttl);
    await multi.exec();
    await this.schedule(linkId, 0, pending.interval);
    return { userCode: code.userCode, verificationUri: code.verificationUri, expiresIn: code.expiresIn };
  }

  /** One poll of a pending link (what each delayed job runs). Reschedules itself while pending. */
  async pollOnce(linkId: string): Promise<LinkOutcome> {
    const { logger } = this.options;
    const pending = await this.load(linkId);
    if (!pending) return 'gone';
    const deviceCode = this.options.cipher.decrypt(pending.sealedDeviceCode, AAD(linkId))?.plaintext;
    if (!deviceCode) {
      await this.finish(
        pending,
        'failed',
        'failed',
        'the pending link could not be read (encryption key changed)',
      );
      return 'failed';
    }
    if (Date.now() > pending.giveUpAt) {
      await this.finish(pending, 'expired', 'failed', 'the code expired before it was entered');
      return 'expired';
    }
    const result = await this.options.flow.poll(deviceCode, pending.interval);
    pending.polls += 1;
    switch (result.kind) {
      case 'pending':
        await this.save(pending);
        await this.schedule(linkId, pending.polls, pending.interval);
        return 'pending';
      case 'slow-down':
        pending.interval = Math.max(pending.interval + 1, result.interval);
        logger.info(
          { linkId, slackUserId: pending.slackUserId, interval: pending.interval },
          'device flow: slow_down, polling less often',
        );
        await this.save(pending);
        await this.schedule(linkId, pending.polls, pending.interval);
        return 'pending';
      case 'expired':
        await this.finish(pending, 'expired', 'failed', 'the code expired before it was entered');
        return 'expired';
      case 'denied':
        await this.finish(pending, 'denied', 'denied', 'the authorization was declined on GitHub');
        return 'denied';
      case 'failed':
        if (!result.permanent) {
          logger.warn(
            { linkId, slackUserId: pending.slackUserId, error: result.error },
            'device flow poll failed; retrying',
          );
          await this.save(pending);
          await this.schedule(linkId, pending.polls, pending.interval * 2);
          return 'pending';
        }
        await this.finish(pending, 'failed', 'failed', `GitHub refused the device flow (${result.error})`);
        return 'failed';
      case 'tokens':
        return this.complete(pending, result.tokens);
    }
  }

  private async complete(pending: PendingLink, tokens: TokenSet): Promise<LinkOutcome> {
    let user: { login: string; id: number };
    try {
      user = await getAuthenticatedUser(this.options.userClient(tokens.accessToken));
    } catch (error) {
      this.options.logger.warn(
        { err: error, slackUserId: pending.slackUserId },
        'device flow: GET /user failed',
      );
      await this.finish(pending, 'failed', 'failed', 'GitHub did not say who authorized the link');
      return 'failed';
    }
    const { previousSlackUser } = await this.options.tokens.link({
      slackUserId: pending.slackUserId,
      githubLogin: user.login,
      githubUserId: user.id,
      linkedAt: this.now().toISOString(),
      ...tokens,
    });
    const moved = previousSlackUser
      ? ` (it was linked to ${previousSlackUser} before; that link was removed)`
      : '';
    await this.finish(
      pending,
      'linked',
      'succeeded',
      `linked to GitHub user ${user.login}${moved}`,
      user.login,
    );
    return 'linked';
  }

  private async finish(
    pending: PendingLink,
    outcome: Exclude<LinkOutcome, 'pending' | 'gone'>,
    auditOutcome: 'succeeded' | 'failed' | 'denied',
    detail: string,
    login?: string,
  ): Promise<void> {
    const { redis } = this.options;
    await redis.del(this.pendingKey(pending.linkId));
    const owner = await redis.get(this.userKey(pending.slackUserId));
    if (owner === pending.linkId) await redis.del(this.userKey(pending.slackUserId));
    const actor: Actor = {
      slackUserId: pending.slackUserId,
      ...(pending.slackUserName ? { slackUserName: pending.slackUserName } : {}),
    };
    await this.options.audit.append(
      commandAudit({
        id: `approve-link:${pending.linkId}:${outcome}`,
        at: this.now().toISOString(),
        actor,
        command: 'approve.link',
        ...(login ? { target: login } : {}),
        outcome: auditOutcome,
        detail: `GitHub account link for ${pending.slackUserName ?? pending.slackUserId}: ${detail} (after ${pending.polls} poll${pending.polls === 1 ? '' : 's'}).`,
        channelId: pending.reply.channelId,
      }),
    );
    const text =
      outcome === 'linked'
        ? `🔗 Your GitHub account *${login ?? ''}* is linked. Approvals you make here are made with it.`
        : outcome === 'expired'
          ? '⌛ The code expired before it was entered on GitHub. Run `/approve link` again.'
          : outcome === 'denied'
            ? '✋ You declined the authorization on GitHub; nothing was linked.'
            : `⚠️ Linking failed: ${detail}. Run \`/approve link\` again.`;
    await this.options
      .notify(pending.reply, { text, blocks: [sectionBlock(text)] })
      .catch((error: unknown) => {
        this.options.logger.warn(
          { err: error, slackUserId: pending.slackUserId },
          'could not tell the user how linking went',
        );
      });
  }

  private async schedule(linkId: string, poll: number, intervalSeconds: number): Promise<void> {
    await this.queue.add(
      'poll',
      { linkId },
      {
        jobId: `link-${linkId}-${poll}`,
        delay: Math.max(0, Math.round(intervalSeconds * this.unit)),
        removeOnComplete: { age: 3600 },
        removeOnFail: { age: 24 * 3600 },
        attempts: 3,
        backoff: { type: 'exponential', delay: 1000 },
      },
    );
  }

  private async load(linkId: string): Promise<PendingLink | null> {
    const raw = await this.options.redis.get(this.pendingKey(linkId));
    if (!raw) return null;
    try {
      const parsed = pendingSchema.safeParse(JSON.parse(raw));
      return parsed.success ? (parsed.data as PendingLink) : null;
    } catch {
      return null;
    }
  }

  private async save(pending: PendingLink): Promise<void> {
    await this.options.redis.set(this.pendingKey(pending.linkId), JSON.stringify(pending), 'KEEPTTL');
  }
}
