// The audit stream on real Redis: append is idempotent on record.id (also under concurrency), read()
// returns records in append order, and the per-card index finds every record of one promotion.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { AuditLog, auditCardIndexKey, auditPromotionKey, auditStreamKey } from '../../src/audit/stream.js';
import type { AuditRecord } from '../../src/domain/audit.js';
import { REDIS, deleteKeys, uniquePrefix } from '../slack/test-support.js';

const PREFIX = uniquePrefix('audit-stream');

const record = (n: number, overrides: Partial<AuditRecord> = {}): AuditRecord => ({
  id: `cmd:${n}`,
  at: `2026-11-27T10:00:${String(n).padStart(2, '0')}.000Z`,
  actor: 'slack:U0ALICE',
  action: 'promote',
  environment: 'prod',
  outcome: 'accepted',
  detail: `promotion ${n} requested`,
  ...overrides,
});

describe('AuditLog', () => {
  let admin: Redis;
  let testNo = 0;
  const logs: AuditLog[] = [];
  const newLog = (): { log: AuditLog; prefix: string } => {
    const prefix = `${PREFIX}-${++testNo}`;
    const log = new AuditLog({ connection: REDIS, prefix });
    logs.push(log);
    return { log, prefix };
  };

  beforeAll(() => {
    admin = new Redis(REDIS);
  });
  afterAll(async () => {
    for (const log of logs) await log.close();
    await deleteKeys(admin, PREFIX);
    await admin.quit();
  });

  it('appends a record once: a second append of the same id is a no-op', async () => {
    const { log, prefix } = newLog();
    const first = await log.append(record(1));
    const again = await log.append(record(1, { detail: 'a retried job, same fact' }));
    expect(first.appended).toBe(true);
    expect(again).toEqual({ appended: false, entryId: first.entryId });
    expect(await admin.xlen(auditStreamKey(prefix))).toBe(1);
    expect(await log.read({ count: 10 })).toEqual([{ entryId: first.entryId, record: record(1) }]);
  });

  it('stays idempotent when the same record is appended concurrently', async () => {
    const { log, prefix } = newLog();
    const results = await Promise.all(Array.from({ length: 20 }, () => log.append(record(7))));
    expect(results.filter((r) => r.appended)).toHaveLength(1);
    expect(new Set(results.map((r) => r.entryId)).size).toBe(1);
    expect(await admin.xlen(auditStreamKey(prefix))).toBe(1);
  });

  it('reads in append order, page by page', async () => {
    const { log } = newLog();
    for (const n of [1, 2, 3, 4, 5]) await log.append(record(n));
    const page1 = await log.read({ count: 2 });
    const page2 = await log.read({ since: page1[1]?.entryId, count: 2 });
    const page3 = await log.read({ since: page2[1]?.entryId, count: 2 });
    expect([...page1, ...page2, ...page3].map((e) => e.record.id)).toEqual([
      'cmd:1',
      'cmd:2',
      'cmd:3',
      'cmd:4',
      'cmd:5',
    ]);
    expect(await log.read({ since: page3[0]?.entryId, count: 10 })).toEqual([]);
  });

  it('refuses a record without the fields every audit line needs', async () => {
    const { log } = newLog();
    await expect(log.append({ ...record(1), id: '' })).rejects.toThrow(/id/);
    await expect(log.append({ ...record(1), detail: undefined } as unknown as AuditRecord)).rejects.toThrow(
      /detail/,
    );
  });

  it('trims by age only: entries older than the retention go, younger ones stay however many there are', async () => {
    const { log, prefix } = newLog();
    const key = auditStreamKey(prefix);
    const day = 24 * 3600 * 1000;
    const now = Date.now();
    // Entries with explicit ids: 3 of 40 days ago, 500 of 10 days ago.
    for (let i = 0; i < 3; i++)
      await admin.xadd(key, `${now - 40 * day}-${i}`, 'id', `old-${i}`, 'record', '{}');
    for (let i = 0; i < 500; i++)
      await admin.xadd(key, `${now - 10 * day}-${i}`, 'id', `young-${i}`, 'record', '{}');
    expect(await log.trim(30 * 24 * 3600, now)).toBe(3);
    expect(await admin.xlen(key)).toBe(500);
    expect(await log.trim(30 * 24 * 3600, now)).toBe(0);
  });

  it('keeps each id guard only as long as records can be replayed (the card retention), not forever', async () => {
    const { log, prefix } = newLog();
    await log.append(record(3));
    const ttl = await admin.ttl(`${prefix}:audit:id:cmd:3`);
    expect(ttl).toBeGreaterThan(34 * 24 * 3600);
    expect(ttl).toBeLessThanOrEqual(35 * 24 * 3600);
  });

  describe('the full record of a promotion', () => {
    const CARD = 'req-0123456789abcdef';
    const OTHER = 'req-fedcba9876543210';

    it('finds every record of a card, in append order, once however often a record is appended', async () => {
      const { log } = newLog();
      await log.append(record(1, { cardId: CARD }));
      await log.append(record(2, { cardId: OTHER }));
      await log.append(record(3)); // no card: a refused command
      await log.append(record(4, { cardId: CARD, action: 'promotion.step', outcome: 'info' }));
      await log.append(record(4, { cardId: CARD, action: 'promotion.step', outcome: 'info' })); // replayed
      await log.append(record(5, { cardId: CARD }));
      expect((await log.forCard(CARD))?.map((r) => r.id)).toEqual(['cmd:1', 'cmd:4', 'cmd:5']);
      expect((await log.forCard(OTHER))?.map((r) => r.id)).toEqual(['cmd:2']);
      expect(await log.forCard('req-0000000000000000')).toBeUndefined();
    });

    it('knows the card of a Kargo Promotion from its promotion.created record', async () => {
      const { log } = newLog();
      const name = 'prod.01k3v2x9qdw7k1m5r8t2y4z6a0.f5f87aa';
      await log.append(
        record(1, { cardId: CARD, action: 'promotion.created', target: name, outcome: 'info' }),
      );
      await log.append(
        record(2, { cardId: OTHER, action: 'promotion.phase', target: 'dev.x.y', outcome: 'info' }),
      );
      expect(await log.cardOfPromotion(name)).toBe(CARD);
      expect(await log.cardOfPromotion('dev.x.y')).toBeUndefined();
    });

    it('keeps the index as long as the stream keeps records, and leaves out records trimmed from it', async () => {
      const { log, prefix } = newLog();
      const name = 'dev.01k3v2x9qdw7k1m5r8t2y4z6a0.f5f87aa';
      await log.append(record(1, { cardId: CARD, action: 'promotion.created', target: name }));
      await log.append(record(2, { cardId: CARD }));
      for (const key of [auditCardIndexKey(prefix, CARD), auditPromotionKey(prefix, name)]) {
        const ttl = await admin.ttl(key);
        expect(ttl).toBeGreaterThan(399 * 24 * 3600);
        expect(ttl).toBeLessThanOrEqual(400 * 24 * 3600);
      }
      const [first] = await log.read({ count: 1 });
      await admin.xdel(auditStreamKey(prefix), first!.entryId);
      expect((await log.forCard(CARD))?.map((r) => r.id)).toEqual(['cmd:2']);
    });
  });
});
