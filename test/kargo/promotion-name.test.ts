import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import {
  MAX_NAME_LENGTH,
  MAX_STAGE_PREFIX_LENGTH,
  buildPromotionName,
  encodeUlid,
  isValidLabelValue,
  promotionName,
  requestIdLabelValue,
  requestUlid,
  toEpochMs,
  ulidTime,
} from '../../src/kargo/promotion-name.js';

const FREIGHT = 'f5f87aa23c9e97f43eb83dd63768ee41f5ba3766';
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

describe('encodeUlid', () => {
  it('matches the reference encoding of the ULID spec (time 1469918176385 → 01ARYZ6S41)', () => {
    const ulid = encodeUlid(1469918176385, new Uint8Array(10));
    expect(ulid).toBe('01ARYZ6S410000000000000000');
  });

  it('encodes 80 bits of randomness most significant first', () => {
    expect(encodeUlid(0, new Uint8Array(10).fill(0xff))).toBe('0000000000ZZZZZZZZZZZZZZZZ');
    const one = new Uint8Array(10);
    one[9] = 1;
    expect(encodeUlid(0, one)).toBe('00000000000000000000000001');
  });

  it('rejects out-of-range time and wrong-sized randomness', () => {
    expect(() => encodeUlid(-1, new Uint8Array(10))).toThrow(RangeError);
    expect(() => encodeUlid(2 ** 48, new Uint8Array(10))).toThrow(RangeError);
    expect(() => encodeUlid(1.5, new Uint8Array(10))).toThrow(RangeError);
    expect(() => encodeUlid(0, new Uint8Array(9))).toThrow(RangeError);
  });

  it('round-trips the time part and sorts like the time (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        (a, b) => {
          const ua = encodeUlid(a, new Uint8Array(10));
          const ub = encodeUlid(b, new Uint8Array(10));
          expect(ulidTime(ua)).toBe(a);
          expect(Math.sign(ua.localeCompare(ub, 'en'))).toBe(Math.sign(a - b));
        },
      ),
    );
  });
});

describe('requestUlid', () => {
  it('is deterministic: the same request gives the same ULID every time', () => {
    const at = '2026-11-27T09:15:00.123Z';
    expect(requestUlid('card-123', at)).toBe(requestUlid('card-123', at));
    expect(requestUlid('card-123', at)).toMatch(/^[0-9a-hjkmnp-tv-z]{26}$/);
    expect(ulidTime(requestUlid('card-123', at))).toBe(Date.parse(at));
  });

  it('differs between requests at the same instant, and between instants of the same request', () => {
    const at = '2026-11-27T09:15:00.123Z';
    expect(requestUlid('card-123', at)).not.toBe(requestUlid('card-124', at));
    const later = requestUlid('card-123', '2026-11-27T09:15:00.124Z');
    expect(later).not.toBe(requestUlid('card-123', at));
    // Only the time part changes: the random part comes from the request id alone.
    expect(later.slice(10)).toBe(requestUlid('card-123', at).slice(10));
  });

  it('accepts epoch milliseconds and Dates as well as ISO strings', () => {
    const ms = Date.parse('2026-11-27T09:15:00.123Z');
    expect(requestUlid('x', ms)).toBe(requestUlid('x', new Date(ms)));
    expect(toEpochMs('2026-11-27T09:15:00.123Z')).toBe(ms);
  });

  it('rejects an empty request id and unparseable timestamps', () => {
    expect(() => requestUlid('', 0)).toThrow(RangeError);
    expect(() => requestUlid('x', 'yesterday')).toThrow(RangeError);
    expect(() => requestUlid('x', -5)).toThrow(RangeError);
  });
});

describe('promotionName', () => {
  const ulid = '01k3x9q8z5w7v2m4n6p8r0s2t4';

  it('has Kargo’s shape <stage>.<ulid>.<freight[0:7]>, lower-case', () => {
    expect(promotionName('prod', ulid, FREIGHT)).toBe(`prod.${ulid}.f5f87aa`);
    expect(promotionName('Prod', ulid.toUpperCase(), 'ABCDEF0123')).toBe(`prod.${ulid}.abcdef0`);
    expect(promotionName('dev', ulid, 'abc')).toBe(`dev.${ulid}.abc`);
  });

  it('truncates a long stage name to 218 characters, giving exactly 253 (as Kargo does)', () => {
    const stage = 'a'.repeat(300);
    const name = promotionName(stage, ulid, FREIGHT);
    expect(MAX_STAGE_PREFIX_LENGTH).toBe(218);
    expect(name).toHaveLength(MAX_NAME_LENGTH);
    expect(name.split('.')[0]).toHaveLength(218);
  });

  it('keeps the name a valid DNS subdomain when truncation cuts at a dash', () => {
    const stage = `${'a'.repeat(217)}-bbbb`;
    const name = promotionName(stage, ulid, FREIGHT);
    expect(name.split('.')[0]).toBe('a'.repeat(217));
    expect(name).toMatch(DNS_SUBDOMAIN);
  });

  it('always yields a valid name of at most 253 characters for valid stage names (property)', () => {
    const stageName = fc
      .stringMatching(/^[a-z0-9]([-a-z0-9]{0,250}[a-z0-9])?$/)
      .filter((s) => s.length >= 1 && s.length <= 253);
    fc.assert(
      fc.property(
        stageName,
        fc.string({ minLength: 1 }),
        fc.date({ min: new Date(0), max: new Date(2 ** 46), noInvalidDate: true }),
        (stage, requestId, at) => {
          const name = buildPromotionName({ stage, freight: FREIGHT, requestId, requestedAt: at });
          expect(name.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
          expect(name).toMatch(DNS_SUBDOMAIN);
          expect(name.endsWith('.f5f87aa')).toBe(true);
        },
      ),
    );
  });

  it('buildPromotionName is stable for a request', () => {
    const input = {
      stage: 'prod',
      freight: FREIGHT,
      requestId: 'promote:T1:C1:1732700000.000100',
      requestedAt: '2026-11-27T09:15:00Z',
    };
    expect(buildPromotionName(input)).toBe(buildPromotionName({ ...input }));
    expect(buildPromotionName(input)).toMatch(/^prod\.[0-9a-z]{26}\.f5f87aa$/);
  });
});

describe('requestIdLabelValue', () => {
  it('uses the request id itself when it is a valid label value', () => {
    expect(requestIdLabelValue('card-01HXYZ')).toBe('card-01HXYZ');
  });

  it('hashes ids that are not valid label values (colons, too long, edge characters)', () => {
    for (const id of ['promote:T1:C1', 'x'.repeat(64), '-leading', 'trailing.']) {
      const value = requestIdLabelValue(id);
      expect(value).toMatch(/^sha256-[0-9a-f]{56}$/);
      expect(isValidLabelValue(value)).toBe(true);
      expect(requestIdLabelValue(id)).toBe(value);
    }
    expect(requestIdLabelValue('promote:T1:C1')).not.toBe(requestIdLabelValue('promote:T1:C2'));
  });
});
