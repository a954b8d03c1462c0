// Server-side approval state in Redis: the buttons' nonces, the one-decision-per-wait claim, and the index
// of what is waiting (for `/approve` and reminders).
//
//   <prefix>:approvals:nonce:<nonce>        {cardId, environment, runId, requestKey} — what a button may act on
//   <prefix>:approvals:wait-nonce:<wait>    the nonce minted for a wait (a redelivered webhook reuses it)
//   <prefix>:approvals:claim:<wait>         {status: in-flight|done, by, decision, at} — first decision wins
//   <prefix>:approvals:waiting              sorted set of `<cardId>|<environment>`, by request time
//   (<wait> = `<run id>:<environment>:<request key>`)
//
// Buttons carry {card, env, nonce}; the nonce is 128 random bits. A click is honoured only when the nonce
// exists and is bound to the same card and environment as the button: an edited payload naming another
// promotion or environment does not match. A decided wait keeps a tombstone on its nonce (who decided),
// so a late second click gets "already approved by …" rather than "unknown".
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { APPROVAL_NONCE_PATTERN } from '../domain/approval.js';
import type { ApprovalDecided, ApprovalDecision } from '../domain/events.js';
import { ENVIRONMENTS, type Environment } from '../domain/types.js';

/** Jobs wait at most 30 days for an approval on GitHub; everything here outlives that a little. */
export const APPROVAL_STATE_TTL_SECONDS = 32 * 24 * 3600;
/** A decision being sent to GitHub holds its claim at most this long (a crashed worker frees it). */
export const IN_FLIGHT_TTL_SECONDS = 300;

export const waitKey = (runId: number, environment: string, requestKey: string): string =>
  `${runId}:${environment}:${requestKey}`;

export interface NonceBinding {
  cardId: string;
  environment: Environment;
  runId: number;
  requestKey: string;
  /** Set once the wait was decided (the nonce no longer acts). */
  decided?: { by: string; decision: ApprovalDecision; at: string };
}

const bindingSchema = z.object({
  cardId: z.string().min(1),
  environment: z.enum(ENVIRONMENTS as [Environment, ...Environment[]]),
  runId: z.number().int(),
  requestKey: z.string().min(1),
  decided: z
    .object({ by: z.string(), decision: z.enum(['approved', 'rejected']), at: z.string() })
    .optional(),
});

export interface Claim {
  status: 'in-flight' | 'done';
  /** Slack user id of whoever decides/decided. */
  by: string;
  byName?: string;
  decision: ApprovalDecision;
  at: string;
  /** Once done: the event recorded on the card (re-recorded if recording it was interrupted). */
  event?: ApprovalDecided;
}

const claimSchema = z.object({
  status: z.enum(['in-flight', 'done']),
  by: z.string(),
  byName: z.string().optional(),
  decision: z.enum(['approved', 'rejected']),
  at: z.string(),
  event: z.looseObject({ type: z.literal('ApprovalDecided'), id: z.string(), cardId: z.string() }).optional(),
});

export class ApprovalState {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!prefix) throw new Error('ApprovalState: prefix is required');
  }

  private key(...parts: string[]): string {
    return [this.prefix, 'approvals', ...parts].join(':');
  }

  // ---- nonces ------------------------------------------------------------------------------------

  /** The nonce of a wait: minted once, the same for every redelivery of its request. */
  async nonceFor(binding: Omit<NonceBinding, 'decided'>): Promise<string> {
    const wait = this.key('wait-nonce', waitKey(binding.runId, binding.environment, binding.requestKey));
    const candidate = randomBytes(16).toString('base64url');
    const set = await this.redis.set(wait, candidate, 'EX', APPROVAL_STATE_TTL_SECONDS, 'NX');
    const nonce = set === 'OK' ? candidate : ((await this.redis.get(wait)) ?? candidate);
    if (set === 'OK') {
      await this.redis.set(
        this.key('nonce', nonce),
        JSON.stringify(binding),
        'EX',
        APPROVAL_STATE_TTL_SECONDS,
      );
    }
    return nonce;
  }

  /** What the nonce is bound to; null when unknown or expired (never consumed by reading). */
  async binding(nonce: string): Promise<NonceBinding | null> {
    if (!APPROVAL_NONCE_PATTERN.test(nonce)) return null;
    const raw = await this.redis.get(this.key('nonce', nonce));
    if (raw === null) return null;
    try {
      const parsed = bindingSchema.safeParse(JSON.parse(raw));
      return parsed.success ? (parsed.data as NonceBinding) : null;
    } catch {
      return null;
    }
  }

  /** Marks the wait's nonce as used (a tombstone naming the decision). */
  async retireNonce(binding: Omit<NonceBinding, 'decided'>, decided: NonceBinding['decided']): Promise<void> {
    const wait = this.key('wait-nonce', waitKey(binding.runId, binding.environment, binding.requestKey));
    const nonce = await this.redis.get(wait);
    if (!nonce) return;
    await this.redis.set(
      this.key('nonce', nonce),
      JSON.stringify({ ...binding, decided }),
      'EX',
      APPROVAL_STATE_TTL_SECONDS,
    );
  }

  // ---- one decision per wait -----------------------------------------------------------------------

  /** Takes the wait's claim; when someone else holds it (or it is done), returns theirs instead. */
  async claim(wait: string, claim: Claim): Promise<{ taken: true } | { taken: false; holder: Claim | null }> {
    const set = await this.redis.set(
      this.key('claim', wait),
      JSON.stringify(claim),
      'EX',
      IN_FLIGHT_TTL_SECONDS,
      'NX',
    );
    if (set === 'OK') return { taken: true };
    return { taken: false, holder: await this.readClaim(wait) };
  }

  async readClaim(wait: string): Promise<Claim | null> {
    const raw = await this.redis.get(this.key('claim', wait));
    if (raw === null) return null;
    try {
      const parsed = claimSchema.safeParse(JSON.parse(raw));
      return parsed.success ? (parsed.data as unknown as Claim) : null;
    } catch {
      return null;
    }
  }

  /** The decision went through: the claim stays, as the record of who decided, for the wait's lifetime. */
  async completeClaim(wait: string, claim: Claim): Promise<void> {
    await this.redis.set(
      this.key('claim', wait),
      JSON.stringify({ ...claim, status: 'done' }),
      'EX',
      APPROVAL_STATE_TTL_SECONDS,
    );
  }

  /** The decision did not go through: free the claim (only if it is still ours). */
  async releaseClaim(wait: string, by: string): Promise<void> {
    const current = await this.readClaim(wait);
    if (current && current.status === 'in-flight' && current.by === by) {
      await this.redis.del(this.key('claim', wait));
    }
  }

  // ---- what is waiting -------------------------------------------------------------------------------

  async markWaiting(cardId: string, environment: Environment, requestedAt: string): Promise<void> {
    const score = Date.parse(requestedAt);
    // A deployment waits at most 30 days in GitHub: entries older than the approval state's lifetime are
    // dropped here, so the set cannot outgrow what can still be approved.
    await this.redis
      .multi()
      .zadd(this.key('waiting'), Number.isNaN(score) ? Date.now() : score, `${cardId}|${environment}`)
      .zremrangebyscore(this.key('waiting'), '-inf', Date.now() - APPROVAL_STATE_TTL_SECONDS * 1000)
      .exec();
  }

  async clearWaiting(cardId: string, environment: Environment): Promise<void> {
    await this.redis.zrem(this.key('waiting'), `${cardId}|${environment}`);
  }

  /** Oldest first. */
  async waiting(limit = 50): Promise<Array<{ cardId: string; environment: Environment }>> {
    const members = await this.redis.zrange(this.key('waiting'), 0, limit - 1);
    return members
      .map((m) => {
        const [cardId = '', environment = ''] = m.split('|');
        return { cardId, environment: environment as Environment };
      })
      .filter((w) => w.cardId !== '' && ENVIRONMENTS.includes(w.environment));
  }
}
