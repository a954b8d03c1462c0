import { describe, expect, it } from '@jest/globals';
import { isFreightAvailable, summarizeBlocker } from '../../src/domain/availability.js';
import type { FreightSummary, StageSummary } from '../../src/domain/types.js';
import { devStage, freight, prodStage } from './builders.js';

const NOW = new Date('2026-11-27T12:00:00Z');
const minutesAgo = (minutes: number): string => new Date(NOW.getTime() - minutes * 60_000).toISOString();

const verifiedIn = (...stages: string[]): FreightSummary['verifiedIn'] =>
  Object.fromEntries(stages.map((stage) => [stage, { verifiedAt: minutesAgo(5) }]));

const twoUpstreams = (availabilityStrategy: 'OneOf' | 'All' | '', requiredSoakTime?: string): StageSummary =>
  prodStage({ stages: ['dev', 'qa'], availabilityStrategy, requiredSoakTime });

describe('isFreightAvailable: origin', () => {
  it('accepts freight from the warehouse the stage requests', () => {
    expect(isFreightAvailable(devStage(), freight(), NOW)).toEqual({ available: true, via: 'direct' });
  });

  it('refuses freight from another warehouse, even when approved for the stage (Kargo 1.11, #6562)', () => {
    const other = freight({ warehouse: 'charts', approvedFor: { prod: { approvedAt: minutesAgo(1) } } });
    const result = isFreightAvailable(prodStage(), other, NOW);
    expect(result).toMatchObject({ available: false, blocker: { kind: 'origin' } });
    expect(!result.available && result.reason).toBe(
      'f5f87aa (frozen-tauntaun) comes from warehouse charts, but prod only takes freight from warehouse infra',
    );
  });

  it('explains a stage that requests no freight at all', () => {
    const result = isFreightAvailable({ ...prodStage(), requestedFreight: [] }, freight(), NOW);
    expect(!result.available && result.reason).toMatch(/prod does not request any freight/);
  });
});

describe('isFreightAvailable: approval and direct', () => {
  it('makes approved freight available, bypassing verification and soak', () => {
    const approved = freight({ approvedFor: { prod: { approvedAt: minutesAgo(1) } } });
    expect(
      isFreightAvailable(prodStage({ stages: ['dev'], requiredSoakTime: '24h' }), approved, NOW),
    ).toEqual({
      available: true,
      via: 'approved',
    });
  });

  it('does not count an approval for another stage', () => {
    const approvedForDev = freight({ approvedFor: { dev: {} } });
    expect(isFreightAvailable(prodStage(), approvedForDev, NOW).available).toBe(false);
  });

  it('takes anything from the warehouse on a direct stage', () => {
    expect(isFreightAvailable(devStage(), freight(), NOW)).toMatchObject({ available: true, via: 'direct' });
  });
});

describe('isFreightAvailable: upstream verification', () => {
  it('makes freight verified in dev available to prod', () => {
    expect(isFreightAvailable(prodStage(), freight({ verifiedIn: verifiedIn('dev') }), NOW)).toEqual({
      available: true,
      via: 'upstream',
    });
  });

  it('says plainly when freight is not verified in dev yet', () => {
    const result = isFreightAvailable(prodStage(), freight(), NOW);
    expect(result).toEqual({
      available: false,
      reason: 'f5f87aa (frozen-tauntaun) is not verified in dev yet',
      blocker: { kind: 'unverified', missing: ['dev'], strategy: 'OneOf' },
    });
  });

  it('does not count being deployed in dev as verified', () => {
    const deployed = freight({ currentlyIn: { dev: { since: minutesAgo(600) } } });
    expect(isFreightAvailable(prodStage(), deployed, NOW).available).toBe(false);
  });

  it('OneOf: one verified upstream is enough', () => {
    expect(
      isFreightAvailable(twoUpstreams('OneOf'), freight({ verifiedIn: verifiedIn('qa') }), NOW).available,
    ).toBe(true);
  });

  it('OneOf: none verified names every candidate', () => {
    const result = isFreightAvailable(twoUpstreams('OneOf'), freight(), NOW);
    expect(!result.available && result.reason).toBe(
      'f5f87aa (frozen-tauntaun) is not verified in dev or qa yet',
    );
  });

  it('treats an empty strategy as OneOf', () => {
    expect(
      isFreightAvailable(twoUpstreams(''), freight({ verifiedIn: verifiedIn('dev') }), NOW).available,
    ).toBe(true);
  });

  it('All: needs every upstream stage', () => {
    expect(
      isFreightAvailable(twoUpstreams('All'), freight({ verifiedIn: verifiedIn('dev', 'qa') }), NOW)
        .available,
    ).toBe(true);
  });

  it('All: one verified is not enough, and the reason names what is missing', () => {
    const result = isFreightAvailable(twoUpstreams('All'), freight({ verifiedIn: verifiedIn('dev') }), NOW);
    expect(result).toMatchObject({
      available: false,
      blocker: { kind: 'unverified', missing: ['qa'], strategy: 'All' },
    });
    expect(!result.available && result.reason).toBe(
      'f5f87aa (frozen-tauntaun) is not verified in qa yet (prod needs it verified in every upstream stage)',
    );
  });

  it('replicates Kargo on an empty upstream list: All is vacuously true, OneOf false', () => {
    expect(
      isFreightAvailable(prodStage({ stages: [], availabilityStrategy: 'All' }), freight(), NOW).available,
    ).toBe(true);
    const oneOf = isFreightAvailable(prodStage({ stages: [] }), freight(), NOW);
    expect(oneOf).toMatchObject({ available: false, blocker: { kind: 'no-sources' } });
  });
});

describe('isFreightAvailable: soak time', () => {
  const soak1h = prodStage({ stages: ['dev'], requiredSoakTime: '1h' });

  it('is available once it has been in dev long enough', () => {
    const soaked = freight({
      verifiedIn: verifiedIn('dev'),
      currentlyIn: { dev: { since: minutesAgo(61) } },
    });
    expect(isFreightAvailable(soak1h, soaked, NOW)).toEqual({ available: true, via: 'upstream' });
  });

  it('is soaking while in dev for less than that, with the time left', () => {
    const soaking = freight({
      verifiedIn: verifiedIn('dev'),
      currentlyIn: { dev: { since: minutesAgo(40) } },
    });
    const result = isFreightAvailable(soak1h, soaking, NOW);
    expect(result).toMatchObject({
      available: false,
      blocker: { kind: 'soaking', stage: 'dev', remainingMs: 20 * 60_000 },
    });
    expect(!result.available && result.reason).toBe(
      'f5f87aa (frozen-tauntaun) is soaking in dev: 20m left of the 1h prod requires',
    );
    expect(!result.available && summarizeBlocker(result.blocker)).toBe('soaking: 20m left');
  });

  it('counts the longest past soak (longestSoak, a Go duration) after the freight left dev', () => {
    const soakedBefore = freight({
      verifiedIn: { dev: { verifiedAt: minutesAgo(300), longestSoak: '1h5m0s' } },
    });
    expect(isFreightAvailable(soak1h, soakedBefore, NOW).available).toBe(true);
  });

  it('reports a soak cut short when the freight left dev too early', () => {
    const leftEarly = freight({ verifiedIn: { dev: { verifiedAt: minutesAgo(300), longestSoak: '10m0s' } } });
    const result = isFreightAvailable(soak1h, leftEarly, NOW);
    expect(result).toMatchObject({
      available: false,
      blocker: { kind: 'soak-interrupted', stages: ['dev'] },
    });
    expect(!result.available && result.reason).toMatch(/left dev before soaking 1h there/);
  });

  it('parses compound Go durations such as 1h30m', () => {
    const stage = prodStage({ stages: ['dev'], requiredSoakTime: '1h30m' });
    const at80 = freight({ verifiedIn: verifiedIn('dev'), currentlyIn: { dev: { since: minutesAgo(80) } } });
    const at95 = freight({ verifiedIn: verifiedIn('dev'), currentlyIn: { dev: { since: minutesAgo(95) } } });
    expect(isFreightAvailable(stage, at80, NOW)).toMatchObject({
      available: false,
      blocker: { remainingMs: 10 * 60_000 },
    });
    expect(isFreightAvailable(stage, at95, NOW).available).toBe(true);
  });

  it('treats a zero soak time as none', () => {
    const stage = prodStage({ stages: ['dev'], requiredSoakTime: '0s' });
    expect(isFreightAvailable(stage, freight({ verifiedIn: verifiedIn('dev') }), NOW).available).toBe(true);
  });

  it('refuses rather than guesses when requiredSoakTime does not parse', () => {
    const stage = prodStage({ stages: ['dev'], requiredSoakTime: 'an hour' });
    const result = isFreightAvailable(stage, freight({ verifiedIn: verifiedIn('dev') }), NOW);
    expect(result).toMatchObject({
      available: false,
      blocker: { kind: 'invalid-soak-time', value: 'an hour' },
    });
  });

  it('never counts negative soak from a clock in the future', () => {
    const skewed = freight({
      verifiedIn: verifiedIn('dev'),
      currentlyIn: { dev: { since: minutesAgo(-30) } },
    });
    expect(isFreightAvailable(soak1h, skewed, NOW)).toMatchObject({
      blocker: { kind: 'soaking', remainingMs: 3_600_000 },
    });
  });

  it('OneOf: the first clock to finish decides', () => {
    const stage = twoUpstreams('OneOf', '1h');
    const both = freight({
      verifiedIn: verifiedIn('dev', 'qa'),
      currentlyIn: { dev: { since: minutesAgo(10) }, qa: { since: minutesAgo(45) } },
    });
    expect(isFreightAvailable(stage, both, NOW)).toMatchObject({
      blocker: { kind: 'soaking', stage: 'qa', remainingMs: 15 * 60_000 },
    });
  });

  it('OneOf: an unverified stage does not hide a soaking one', () => {
    const stage = twoUpstreams('OneOf', '1h');
    const devOnly = freight({
      verifiedIn: verifiedIn('dev'),
      currentlyIn: { dev: { since: minutesAgo(30) } },
    });
    expect(isFreightAvailable(stage, devOnly, NOW)).toMatchObject({
      blocker: { kind: 'soaking', stage: 'dev' },
    });
  });

  it('All: the last clock to finish decides', () => {
    const stage = twoUpstreams('All', '1h');
    const both = freight({
      verifiedIn: { dev: { longestSoak: '2h' }, qa: {} },
      currentlyIn: { qa: { since: minutesAgo(20) } },
    });
    expect(isFreightAvailable(stage, both, NOW)).toMatchObject({
      blocker: { kind: 'soaking', stage: 'qa', remainingMs: 40 * 60_000 },
    });
  });

  it('All: a stage whose soak was cut short blocks even while another still soaks', () => {
    const stage = twoUpstreams('All', '1h');
    const mixed = freight({
      verifiedIn: { dev: { longestSoak: '5m' }, qa: {} },
      currentlyIn: { qa: { since: minutesAgo(20) } },
    });
    expect(isFreightAvailable(stage, mixed, NOW)).toMatchObject({
      blocker: { kind: 'soak-interrupted', stages: ['dev'] },
    });
  });
});
