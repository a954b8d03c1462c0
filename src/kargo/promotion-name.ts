// Promotion names in Kargo's own convention, computed deterministically from the bot's request.
//
// Kargo names Promotions `<stage>.<ULID lower-case>.<first 7 chars of the freight>`
// (`pkg/kargo/promotion_builder.go` @ v1.9.10; the 1.11 mutating webhook generates the same shape) and relies
// on it: Promotions of a Stage run one at a time, ordered by name, i.e. by the ULID's time part.
//
// Kargo draws the ULID's 80 random bits from a PRNG. The bot instead derives them from a hash of the
// request id, and the 48-bit time part from the moment the request was accepted. A retried job (BullMQ is
// at-least-once), or two workers racing on the same request, therefore compute the SAME name, and the API
// server's name uniqueness turns the second create into 409 AlreadyExists: exactly one Promotion per request.
// This holds wherever Kargo keeps the caller's name (≤ 1.10, and an API server without Kargo's webhooks).
// Kargo 1.11+ overwrites the name on admission; there the request-id label is what finds the earlier
// Promotion (see KubernetesKargoGateway.createPromotion).
//
// Pure functions only: no I/O, no clock, no randomness.
import { createHash } from 'node:crypto';

/** Crockford's base32 alphabet, as used by ULID (no I, L, O, U). */
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export const ULID_LENGTH = 26;
const TIME_CHARS = 10;
const RANDOM_CHARS = 16;
const RANDOM_BYTES = 10; // 80 bits
const MAX_ULID_TIME = 2 ** 48 - 1;

/** Kubernetes object names (DNS-1123 subdomains) are at most 253 characters. */
export const MAX_NAME_LENGTH = 253;
export const SHORT_FREIGHT_LENGTH = 7;
/** 253 - 1 (.) - 26 (ULID) - 1 (.) - 7 (freight) = 218, Kargo's maxStageNamePrefixLength. */
export const MAX_STAGE_PREFIX_LENGTH = MAX_NAME_LENGTH - 1 - ULID_LENGTH - 1 - SHORT_FREIGHT_LENGTH;

/** Encodes a ULID (upper-case, as the spec writes it) from a millisecond timestamp and 10 random bytes. */
export function encodeUlid(timeMs: number, randomness: Uint8Array): string {
  if (!Number.isInteger(timeMs) || timeMs < 0 || timeMs > MAX_ULID_TIME) {
    throw new RangeError(`ULID time must be an integer in [0, 2^48): got ${timeMs}`);
  }
  if (randomness.length !== RANDOM_BYTES) {
    throw new RangeError(`ULID randomness must be ${RANDOM_BYTES} bytes: got ${randomness.length}`);
  }
  let time = '';
  let t = timeMs;
  for (let i = 0; i < TIME_CHARS; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  // 80 bits = 16 groups of 5 bits, most significant first.
  let bits = 0n;
  for (const byte of randomness) bits = (bits << 8n) | BigInt(byte);
  let random = '';
  for (let i = RANDOM_CHARS - 1; i >= 0; i--) {
    random += CROCKFORD[Number((bits >> BigInt(i * 5)) & 31n)]!;
  }
  return time + random;
}

/** Decodes the time part of a ULID (case-insensitive) back to milliseconds. */
export function ulidTime(ulid: string): number {
  let t = 0;
  for (const ch of ulid.slice(0, TIME_CHARS).toUpperCase()) {
    const v = CROCKFORD.indexOf(ch);
    if (v < 0) throw new RangeError(`not a ULID: ${ulid}`);
    t = t * 32 + v;
  }
  return t;
}

/** Parses `requestedAt` (ISO 8601 string, epoch milliseconds or Date) to epoch milliseconds. */
export function toEpochMs(requestedAt: string | number | Date): number {
  const ms =
    requestedAt instanceof Date
      ? requestedAt.getTime()
      : typeof requestedAt === 'number'
        ? requestedAt
        : Date.parse(requestedAt);
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_ULID_TIME) {
    throw new RangeError(`requestedAt is not a valid timestamp: ${String(requestedAt)}`);
  }
  return Math.floor(ms);
}

/**
 * The ULID of a request: time part = when the request was accepted, randomness = the first 80 bits of
 * SHA-256(requestId). Same request → same ULID, on every worker and every retry. Lower-case, like Kargo's names.
 */
export function requestUlid(requestId: string, requestedAt: string | number | Date): string {
  if (requestId.length === 0) throw new RangeError('requestId must not be empty');
  const digest = createHash('sha256').update(requestId, 'utf8').digest();
  return encodeUlid(toEpochMs(requestedAt), digest.subarray(0, RANDOM_BYTES)).toLowerCase();
}

/**
 * `<stage>.<ulid>.<freight[0:7]>`, lower-case, with the stage prefix truncated to 218 characters exactly as
 * Kargo does. One deliberate difference: a truncated prefix that would end in `-` or `.` is trimmed further,
 * because a DNS-1123 label must end alphanumerically (Kargo would produce an invalid name there).
 */
export function promotionName(stage: string, ulid: string, freight: string): string {
  if (stage.length === 0 || freight.length === 0) throw new RangeError('stage and freight must not be empty');
  if (ulid.length !== ULID_LENGTH) throw new RangeError(`not a ULID: ${ulid}`);
  let prefix = stage.length > MAX_STAGE_PREFIX_LENGTH ? stage.slice(0, MAX_STAGE_PREFIX_LENGTH) : stage;
  if (prefix.length !== stage.length) prefix = prefix.replace(/[-.]+$/, '');
  return `${prefix}.${ulid}.${freight.slice(0, SHORT_FREIGHT_LENGTH)}`.toLowerCase();
}

export interface PromotionNameInput {
  stage: string;
  freight: string;
  requestId: string;
  requestedAt: string | number | Date;
}

/** The deterministic Promotion name for a request. */
export function buildPromotionName(input: PromotionNameInput): string {
  return promotionName(input.stage, requestUlid(input.requestId, input.requestedAt), input.freight);
}

/** Label values: at most 63 characters, alphanumeric at both ends, `-_.` inside. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
export const isValidLabelValue = (value: string): boolean => value.length <= 63 && LABEL_VALUE.test(value);

/**
 * The value of the request-id label. The request id itself when it is a valid label value; otherwise (it may
 * contain `:` or be longer than 63 characters) `sha256-` + the first 56 hex digits of its SHA-256. The exact id
 * is always in the request-id annotation, which lookups compare as well.
 */
export function requestIdLabelValue(requestId: string): string {
  if (requestId.length > 0 && isValidLabelValue(requestId)) return requestId;
  return `sha256-${createHash('sha256').update(requestId, 'utf8').digest('hex').slice(0, 56)}`;
}
