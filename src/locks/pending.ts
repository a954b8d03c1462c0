// The lock a user was shown, kept server-side under a random nonce until they confirm or cancel.
//
// The Confirm button carries only {env, lockId, nonce}; the fingerprints that release() is conditioned on
// live here, in Redis (`<prefix>:unlock:<nonce>`, 10-minute TTL), bound to the Slack user who viewed the
// lock. A click is honoured only if the nonce exists, belongs to the clicking user, and names the same
// environment and lock as the button. Taking the entry is GETDEL, so a nonce works once: a double click,
// a replayed payload or a second tab finds nothing.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { ENVIRONMENTS, type Environment } from '../domain/types.js';
import type { LockFingerprints } from './types.js';

export const PENDING_UNLOCK_TTL_SECONDS = 600;

/** 128 random bits, base64url: 22 characters. Anything else in a button is not ours. */
export const NONCE_PATTERN = /^[A-Za-z0-9_-]{22}$/;
export const newNonce = (): string => randomBytes(16).toString('base64url');

export const pendingUnlockKey = (prefix: string, nonce: string): string => `${prefix}:unlock:${nonce}`;

export interface PendingUnlock {
  environment: Environment;
  lockId: string;
  fingerprints: LockFingerprints;
  /** Slack user id of whoever was shown the lock: the only user whose click counts. */
  viewedBy: string;
  viewedAt: string;
  channelId?: string;
}

const pendingSchema = z.object({
  environment: z.enum(ENVIRONMENTS as [Environment, ...Environment[]]),
  lockId: z.string().min(1),
  fingerprints: z.object({ dynamodb: z.string().min(1).optional(), s3: z.string().min(1).optional() }),
  viewedBy: z.string().min(1),
  viewedAt: z.string(),
  channelId: z.string().optional(),
});

export interface PendingUnlocksOptions {
  /** A shared ioredis client (not closed here). */
  redis: Redis;
  /** Namespace: keys are `<prefix>:unlock:<nonce>`. */
  prefix: string;
  /** Default 600 (10 minutes). */
  ttlSeconds?: number;
}

export class PendingUnlocks {
  private readonly ttlSeconds: number;

  constructor(private readonly options: PendingUnlocksOptions) {
    if (!options.prefix) throw new Error('PendingUnlocks: prefix is required');
    this.ttlSeconds = options.ttlSeconds ?? PENDING_UNLOCK_TTL_SECONDS;
    if (!(this.ttlSeconds >= 1)) throw new Error('PendingUnlocks: ttlSeconds must be ≥ 1');
  }

  /** Stores what was shown under a new nonce and returns the nonce. */
  async create(pending: PendingUnlock): Promise<string> {
    const nonce = newNonce();
    const stored = await this.options.redis.set(
      pendingUnlockKey(this.options.prefix, nonce),
      JSON.stringify(pending),
      'EX',
      this.ttlSeconds,
      'NX',
    );
    if (stored !== 'OK') throw new Error('PendingUnlocks: nonce collision'); // 2^-128: never in practice
    return nonce;
  }

  /** Removes and returns the entry (single use). Null when unknown, expired, already used or malformed. */
  async take(nonce: string): Promise<PendingUnlock | null> {
    if (!NONCE_PATTERN.test(nonce)) return null;
    return parse(await this.options.redis.getdel(pendingUnlockKey(this.options.prefix, nonce)));
  }

  /** Reads without consuming (for cancel checks). */
  async peek(nonce: string): Promise<PendingUnlock | null> {
    if (!NONCE_PATTERN.test(nonce)) return null;
    return parse(await this.options.redis.get(pendingUnlockKey(this.options.prefix, nonce)));
  }

  /** Deletes the entry; true when it existed. */
  async discard(nonce: string): Promise<boolean> {
    if (!NONCE_PATTERN.test(nonce)) return false;
    return (await this.options.redis.del(pendingUnlockKey(this.options.prefix, nonce))) === 1;
  }
}

function parse(raw: string | null): PendingUnlock | null {
  if (raw === null) return null;
  try {
    const parsed = pendingSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) return null;
    const { channelId, ...rest } = parsed.data;
    const fingerprints: LockFingerprints = {};
    if (rest.fingerprints.dynamodb) fingerprints.dynamodb = rest.fingerprints.dynamodb;
    if (rest.fingerprints.s3) fingerprints.s3 = rest.fingerprints.s3;
    return { ...rest, fingerprints, ...(channelId === undefined ? {} : { channelId }) };
  } catch {
    return null;
  }
}
