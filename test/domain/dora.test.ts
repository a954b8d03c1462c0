import { describe, expect, it } from '@jest/globals';
import {
  addDeliveryRecord,
  computeDora,
  doraFrom,
  emptyDeliveryHistory,
  quantile,
  renderDoraStats,
  sparkline,
} from '../../src/domain/dora.js';
import { checkBlockKitLimits } from '../../src/domain/blockkit.js';
import { EXPECTED, HISTORY, NOW, daysAgo } from './dora-history.js';

const HOUR_S = 3600;

describe('computeDora: the four metrics from a hand-built history', () => {
  it('30 days: 3 deployments, lead time, change failure rate 50%, one restore of 48 h, one incident open', () => {
    const m = computeDora(HISTORY, { now: NOW, days: 30 });
    const e = EXPECTED[30];
    expect(m.deployments).toBe(e.deployments);
    expect(m.deploymentsPerDay).toBeCloseTo(3 / 30, 10);
    expect(m.failures).toBe(e.failures);
    expect(m.finished).toBe(e.finished);
    expect(m.changeFailureRate).toBe(e.changeFailureRate);
    expect(m.leadTime.medianSeconds).toBe(e.leadMedianHours * HOUR_S);
    expect(m.leadTime.p90Seconds).toBeCloseTo(e.leadP90Hours * HOUR_S, 6);
    expect(m.leadTime.measured).toBe(3);
    expect(m.timeToRestore).toEqual({
      medianSeconds: e.restoreMedianHours * HOUR_S,
      restored: 1,
      openSince: e.openSince,
    });
    expect(m.bucketDays).toBe(7);
    expect(m.buckets.map((b) => b.deployments)).toEqual(e.buckets);
    expect(m.buckets[0]!.from).toBe(daysAgo(30));
    expect(m.buckets.at(-1)!.to).toBe(NOW.toISOString());
  });

  it('7 days: daily buckets; nothing restored in the window; the open incident still shows', () => {
    const m = computeDora(HISTORY, { now: NOW, days: 7 });
    expect(m.deployments).toBe(EXPECTED[7].deployments);
    expect(m.failures).toBe(EXPECTED[7].failures);
    expect(m.changeFailureRate).toBe(EXPECTED[7].changeFailureRate);
    expect(m.timeToRestore.restored).toBe(0);
    expect(m.timeToRestore.medianSeconds).toBeUndefined();
    expect(m.timeToRestore.openSince).toBe(daysAgo(2));
    expect(m.bucketDays).toBe(1);
    expect(m.buckets.map((b) => b.deployments)).toEqual(EXPECTED[7].buckets);
  });

  it('90 days: the older deployment counts too', () => {
    const m = computeDora(HISTORY, { now: NOW, days: 90 });
    expect(m.deployments).toBe(EXPECTED[90].deployments);
    expect(m.failures).toBe(EXPECTED[90].failures);
    expect(m.leadTime.medianSeconds).toBe(EXPECTED[90].leadMedianHours * HOUR_S);
    expect(m.buckets).toHaveLength(13);
  });

  it('does not count aborts, rejected approvals, dev, or requests that never became a Promotion', () => {
    const only = (cards: string[]) => HISTORY.filter((r) => cards.includes(r.cardId ?? ''));
    expect(computeDora(only(['p5', 'p6', 'p7', 'p11']), { now: NOW, days: 30 })).toMatchObject({
      deployments: 0,
      failures: 0,
      finished: 0,
      timeToRestore: { restored: 0 },
    });
    expect(computeDora(only(['p5']), { now: NOW, days: 30 }).changeFailureRate).toBeUndefined();
  });

  it('reads the phase of records written before `facts` existed from their sentence', () => {
    const p10 = HISTORY.filter((r) => r.cardId === 'p10');
    const phase = p10.find((r) => r.action === 'promotion.phase' && r.outcome === 'failed')!;
    expect(phase.facts).toBeUndefined();
    expect(computeDora(p10, { now: NOW, days: 30 }).failures).toBe(1);
  });

  it('takes a Kargo-made promotion’s lead time from its freight seen on another card; unknown → not measured', () => {
    const p8 = HISTORY.filter((r) => r.cardId === 'p8');
    expect(computeDora(p8, { now: NOW, days: 30 }).leadTime).toEqual({ measured: 0 });
    const withC = HISTORY.filter((r) => r.cardId === 'p4' || r.cardId === 'p8');
    expect(computeDora(withC, { now: NOW, days: 30 }).leadTime.measured).toBe(2);
  });

  it('is idempotent and order-insensitive for duplicates: the first terminal phase stays', () => {
    const history = emptyDeliveryHistory();
    for (const r of [...HISTORY, ...HISTORY]) addDeliveryRecord(history, r);
    expect(doraFrom(history, { now: NOW, days: 30 })).toEqual(computeDora(HISTORY, { now: NOW, days: 30 }));
    // A later phase record of an ended card changes nothing.
    const late = { ...HISTORY.find((r) => r.cardId === 'p1' && r.facts?.phase === 'Succeeded')! };
    late.facts = { phase: 'Failed' };
    late.at = daysAgo(1);
    addDeliveryRecord(history, late);
    expect(doraFrom(history, { now: NOW, days: 30 }).failures).toBe(3);
  });

  it('an empty history: zeros and no rates', () => {
    const m = computeDora([], { now: NOW, days: 30 });
    expect(m).toMatchObject({ deployments: 0, deploymentsPerDay: 0, failures: 0, finished: 0 });
    expect(m.changeFailureRate).toBeUndefined();
    expect(m.leadTime).toEqual({ measured: 0 });
  });
});

describe('quantile and sparkline', () => {
  it('median of odd and even counts, interpolated percentiles', () => {
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([0, 10], 0.9)).toBe(9);
    expect(quantile([], 0.5)).toBeUndefined();
  });

  it('zero at the floor, the largest at the top, anything else above zero', () => {
    expect(sparkline([0, 0, 1, 1, 1])).toBe('▁▁███');
    expect(sparkline([0, 1, 2, 4, 8])).toBe('▁▃▄▅█');
    expect(sparkline([0, 0])).toBe('▁▁');
    expect(sparkline([])).toBe('');
  });
});

describe('renderDoraStats', () => {
  it('shows the four numbers, the sparkline and the definitions, within Block Kit limits', () => {
    const message = renderDoraStats(computeDora(HISTORY, { now: NOW, days: 30 }));
    const text = JSON.stringify(message.blocks);
    expect(message.text).toBe('Delivery metrics, last 30 days: 3 prod deployments, change failure rate 50%.');
    expect(text).toContain('3 prod deployments (0.7/week)');
    expect(text).toContain('median 1d 2h');
    expect(text).toContain('50% (3 of 6 finished prod promotions failed)');
    expect(text).toContain('median 2d (1 restored)');
    expect(text).toContain('failing since 2026-11-29 00:00 UTC');
    expect(text).toContain('`▁▁███`');
    expect(checkBlockKitLimits(message.blocks)).toEqual([]);
  });
});
