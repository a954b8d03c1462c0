// Approvers' linked GitHub accounts: Slack user → GitHub login, and the GitHub App user access token (and
// refresh token) the bot approves with in reviewer mode. Tokens are encrypted at rest:
//
//   AES-256-GCM, a random 96-bit IV per write, the 128-bit tag checked on read, and the Slack user id as
//   additional authenticated data (a blob copied to another user's record does not decrypt).
//   Stored as `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url): the key id (sha256 of the key, 8 hex)
//   picks the key, so TOKEN_ENCRYPTION_KEY can rotate — the old key goes to
//   TOKEN_ENCRYPTION_PREVIOUS_KEYS, records written with it are still read and re-encrypted with the new
//   one on their next read.
//
// Anything that does not decrypt (unknown key id, tampered blob, wrong user) reads as "not linked": the
// user links again; nothing breaks and nothing is guessed. Tokens never reach a log line, an error message,
// an audit record or Slack; only logins and key ids do.
//
// Redis keys (prefix = Config.redis.prefix):
//   <prefix>:approvals:link:<slack user id>       hash {login, githubUserId, linkedAt, secret}
//   <prefix>:approvals:github-login:<login, lower> the Slack user id linked to that GitHub login
//   <prefix>:approvals:refresh-lock:<slack user>  held while a token is refreshed (refresh tokens rotate)
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../logging.js';
import type { TokenKey, TokenKeyring } from './config.js';

/** What a linked account holds (decrypted). */
export interface TokenSet {
  accessToken: string;
  /** ISO; absent = does not expire (App with expiring tokens disabled). */
  accessTokenExpiresAt?: string;
  refreshToken?: string;
  refreshTokenExpiresAt?: string;
}

export interface LinkedAccount extends TokenSet {
  slackUserId: string;
  githubLogin: string;
  githubUserId: number;
  linkedAt: string;
  refreshedAt?: string;
}

/** Tokens that never expire are re-checked a year after the link (or last refresh): linking again is cheap. */
const NON_EXPIRING_LINK_MS = 365 * 24 * 3600 * 1000;

/**
 * When a link stops being useful: when neither its access token nor its refresh token can be used any
 * more. The link's Redis keys expire then (retention.ts: every key has a TTL derived from what it serves).
 */
export function linkExpiry(account: TokenSet, now: Date): number {
  const times = [account.refreshTokenExpiresAt, account.accessTokenExpiresAt]
    .map((t) => (t ? Date.parse(t) : Number.NaN))
    .filter((t) => Number.isFinite(t));
  const latest = times.length > 0 ? Math.max(...times) : now.getTime() + NON_EXPIRING_LINK_MS;
  return Math.max(latest, now.getTime() + 60_000);
}

/** Public part of a link (no token): safe to show and log. */
export interface LinkInfo {
  slackUserId: string;
  githubLogin: string;
  githubUserId: number;
  linkedAt: string;
}

// ---------------------------------------------------------------------------------------------------
// The cipher

const VERSION = 'v1';

export class TokenCipher {
  constructor(private readonly keys: TokenKeyring) {
    for (const k of [keys.current, ...keys.previous]) {
      if (k.key.length !== 32) throw new Error(`TokenCipher: key ${k.id} is not 32 bytes`);
    }
  }

  get currentKeyId(): string {
    return this.keys.current.id;
  }

  encrypt(plaintext: string, aad: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.current.key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, this.keys.current.id, iv, body, tag]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  /** The plaintext and the id of the key that opened it, or undefined for anything that does not decrypt. */
  decrypt(blob: string, aad: string): { plaintext: string; keyId: string } | undefined {
    const parts = blob.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) return undefined;
    const [, keyId, ivText, bodyText, tagText] = parts as [string, string, string, string, string];
    const key = this.keyById(keyId);
    if (!key) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.key, Buffer.from(ivText, 'base64url'));
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(Buffer.from(tagText, 'base64url'));
      const plain = Buffer.concat([decipher.update(Buffer.from(bodyText, 'base64url')), decipher.final()]);
      return { plaintext: plain.toString('utf8'), keyId };
    } catch {
      return undefined;
    }
  }

  private keyById(id: string): TokenKey | undefined {
    return [this.keys.current, ...this.keys.previous].find((k) => k.id === id);
  }
}

// ---------------------------------------------------------------------------------------------------
// The store

export interface TokenStoreOptions {
  redis: Redis;
  prefix: string;
  cipher: TokenCipher;
  logger?: Logger;
  now?: () => Date;
  /** Refresh an access token this long before it expires (ms). Default 10 minutes. */
  refreshMarginMs?: number;
}

/** Exchanges a refresh token for a new token set (device-flow.ts GithubDeviceFlow.refresh). */
export type Refresher = (
  refreshToken: string,
) => Promise<{ ok: true; tokens: TokenSet } | { ok: false; error: string; permanent: boolean }>;

export type AccessTokenResult =
  | { status: 'ok'; token: string; login: string; refreshed: boolean }
  | { status: 'not-linked' }
  /** The token expired and could not be refreshed (refresh token expired or revoked): link again. */
  | { status: 'expired'; login: string; reason: string }
  /** Refreshing failed for a transient reason (GitHub unreachable): try again later. */
  | { status: 'unavailable'; login: string; reason: string };

const secretAad = (slackUserId: string): string => `approvals-link:${slackUserId}`;

export class TokenStore {
  private readonly now: () => Date;
  private readonly margin: number;

  constructor(private readonly options: TokenStoreOptions) {
    if (!options.prefix) throw new Error('TokenStore: prefix is required');
    this.now = options.now ?? (() => new Date());
    this.margin = options.refreshMarginMs ?? 10 * 60_000;
    if (!(this.margin >= 0)) throw new Error('TokenStore: refreshMarginMs must be ≥ 0');
  }

  private linkKey(slackUserId: string): string {
    return `${this.options.prefix}:approvals:link:${slackUserId}`;
  }

  private loginKey(login: string): string {
    return `${this.options.prefix}:approvals:github-login:${login.toLowerCase()}`;
  }

  private lockKey(slackUserId: string): string {
    return `${this.options.prefix}:approvals:refresh-lock:${slackUserId}`;
  }

  /**
   * Links the Slack user to the GitHub account (replacing an earlier link of either). Returns the Slack
   * user the login was linked to before, when it was someone else (that link is removed: one GitHub
   * identity, one Slack user).
   */
  async link(account: LinkedAccount): Promise<{ previousSlackUser?: string }> {
    const { redis } = this.options;
    const previous = await redis.get(this.loginKey(account.githubLogin));
    const before = await redis.hget(this.linkKey(account.slackUserId), 'login');
    const multi = redis.multi();
    if (previous && previous !== account.slackUserId) multi.del(this.linkKey(previous));
    if (before && before.toLowerCase() !== account.githubLogin.toLowerCase()) {
      multi.del(this.loginKey(before));
    }
    multi.hset(this.linkKey(account.slackUserId), {
      login: account.githubLogin,
      githubUserId: String(account.githubUserId),
      linkedAt: account.linkedAt,
      secret: this.seal(account),
    });
    multi.set(this.loginKey(account.githubLogin), account.slackUserId);
    const expiresAt = linkExpiry(account, this.now());
    multi.pexpireat(this.linkKey(account.slackUserId), expiresAt);
    multi.pexpireat(this.loginKey(account.githubLogin), expiresAt);
    await multi.exec();
    return previous && previous !== account.slackUserId ? { previousSlackUser: previous } : {};
  }

  /** The account with its tokens; null when not linked or when the record does not decrypt. */
  async get(slackUserId: string): Promise<LinkedAccount | null> {
    const h = await this.options.redis.hgetall(this.linkKey(slackUserId));
    if (!h.secret || !h.login) return null;
    const opened = this.options.cipher.decrypt(h.secret, secretAad(slackUserId));
    if (!opened) {
      this.options.logger?.warn(
        { slackUserId, githubLogin: h.login, keyId: h.secret.split('.')[1] },
        'linked GitHub token does not decrypt (key rotated away or record damaged): treated as not linked',
      );
      return null;
    }
    let account: LinkedAccount;
    try {
      account = JSON.parse(opened.plaintext) as LinkedAccount;
    } catch {
      return null;
    }
    if (account.slackUserId !== slackUserId || typeof account.accessToken !== 'string') return null;
    if (opened.keyId !== this.options.cipher.currentKeyId) {
      // Written with a previous key: re-encrypt with the current one (rotation completes as users act).
      await this.options.redis.hset(this.linkKey(slackUserId), 'secret', this.seal(account));
    }
    return account;
  }

  /** The public part of the link (no decryption: shown even when the token no longer opens). */
  async info(slackUserId: string): Promise<LinkInfo | null> {
    const h = await this.options.redis.hgetall(this.linkKey(slackUserId));
    if (!h.login) return null;
    return {
      slackUserId,
      githubLogin: h.login,
      githubUserId: Number(h.githubUserId ?? 0),
      linkedAt: h.linkedAt ?? '',
    };
  }

  /** The Slack user linked to a GitHub login (four-eyes: who triggered a run), or undefined. */
  async slackUserForLogin(login: string): Promise<string | undefined> {
    return (await this.options.redis.get(this.loginKey(login))) ?? undefined;
  }

  async unlink(slackUserId: string): Promise<boolean> {
    const login = await this.options.redis.hget(this.linkKey(slackUserId), 'login');
    const multi = this.options.redis.multi().del(this.linkKey(slackUserId));
    if (login) {
      const owner = await this.options.redis.get(this.loginKey(login));
      if (owner === slackUserId) multi.del(this.loginKey(login));
    }
    const results = await multi.exec();
    return (results?.[0]?.[1] as number) === 1;
  }

  /**
   * A usable access token for the Slack user: refreshed first when it expires within the margin (GitHub App
   * user tokens live 8 hours). Refresh tokens rotate on use, so one refresh at a time per user (a Redis
   * lock); a concurrent caller waits for it and reads the new token.
   */
  async accessToken(slackUserId: string, refresh: Refresher): Promise<AccessTokenResult> {
    const account = await this.get(slackUserId);
    if (!account) return { status: 'not-linked' };
    if (!this.needsRefresh(account)) {
      return { status: 'ok', token: account.accessToken, login: account.githubLogin, refreshed: false };
    }
    const lock = this.lockKey(slackUserId);
    const owner = randomBytes(8).toString('hex');
    const locked = await this.options.redis.set(lock, owner, 'PX', 20_000, 'NX');
    if (locked !== 'OK') return this.waitForRefresh(slackUserId, account.githubLogin);
    try {
      // Someone may have refreshed between our read and the lock.
      const fresh = (await this.get(slackUserId)) ?? account;
      if (!this.needsRefresh(fresh)) {
        return { status: 'ok', token: fresh.accessToken, login: fresh.githubLogin, refreshed: false };
      }
      return await this.refreshNow(fresh, refresh);
    } finally {
      await this.options.redis.eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        1,
        lock,
        owner,
      );
    }
  }

  private needsRefresh(account: LinkedAccount): boolean {
    if (!account.accessTokenExpiresAt) return false;
    return Date.parse(account.accessTokenExpiresAt) - this.now().getTime() <= this.margin;
  }

  private async refreshNow(account: LinkedAccount, refresh: Refresher): Promise<AccessTokenResult> {
    const login = account.githubLogin;
    const now = this.now();
    const refreshUsable =
      account.refreshToken !== undefined &&
      (!account.refreshTokenExpiresAt || Date.parse(account.refreshTokenExpiresAt) > now.getTime());
    const stillValid =
      !account.accessTokenExpiresAt || Date.parse(account.accessTokenExpiresAt) > now.getTime();
    if (!refreshUsable) {
      if (stillValid) return { status: 'ok', token: account.accessToken, login, refreshed: false };
      await this.unlink(account.slackUserId);
      return { status: 'expired', login, reason: 'the GitHub token expired and cannot be refreshed' };
    }
    const result = await refresh(account.refreshToken as string);
    if (!result.ok) {
      this.options.logger?.warn(
        { slackUserId: account.slackUserId, githubLogin: login, error: result.error },
        'refreshing a linked GitHub token failed',
      );
      if (result.permanent) {
        await this.unlink(account.slackUserId);
        return { status: 'expired', login, reason: `GitHub refused the refresh (${result.error})` };
      }
      if (stillValid) return { status: 'ok', token: account.accessToken, login, refreshed: false };
      return { status: 'unavailable', login, reason: result.error };
    }
    const updated: LinkedAccount = {
      ...account,
      ...stripUndefined(result.tokens),
      refreshedAt: now.toISOString(),
    };
    const expiresAt = linkExpiry(updated, now);
    await this.options.redis
      .multi()
      .hset(this.linkKey(account.slackUserId), 'secret', this.seal(updated))
      .pexpireat(this.linkKey(account.slackUserId), expiresAt)
      .pexpireat(this.loginKey(login), expiresAt)
      .exec();
    this.options.logger?.info(
      { slackUserId: account.slackUserId, githubLogin: login, expiresAt: updated.accessTokenExpiresAt },
      'linked GitHub token refreshed',
    );
    return { status: 'ok', token: updated.accessToken, login, refreshed: true };
  }

  private async waitForRefresh(slackUserId: string, login: string): Promise<AccessTokenResult> {
    for (let i = 0; i < 100; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if ((await this.options.redis.exists(this.lockKey(slackUserId))) === 0) break;
    }
    const account = await this.get(slackUserId);
    if (!account) return { status: 'not-linked' };
    if (Date.parse(account.accessTokenExpiresAt ?? '') <= this.now().getTime()) {
      return { status: 'unavailable', login, reason: 'a refresh of the token is still in progress' };
    }
    return { status: 'ok', token: account.accessToken, login: account.githubLogin, refreshed: false };
  }

  private seal(account: LinkedAccount): string {
    return this.options.cipher.encrypt(JSON.stringify(account), secretAad(account.slackUserId));
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
