import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BLOCK_KIT_LIMITS, checkMessageLimits } from '../../src/domain/blockkit.js';
import type { SectionBlock } from '../../src/domain/blockkit.js';
import { buildFreightView, renderFreightView, upstreamFirst } from '../../src/domain/freight-view.js';
import type { FreightSummary, StageSummary } from '../../src/domain/types.js';
import { COMMIT_SHA, devStage, freight, prodStage } from './builders.js';

const NOW = new Date('2026-11-27T12:00:00Z');
const hoursAgo = (hours: number): string => new Date(NOW.getTime() - hours * 3_600_000).toISOString();

const older = freight({
  name: 'a'.repeat(40),
  alias: 'old-wookiee',
  createdAt: hoursAgo(30),
  currentlyIn: { prod: { since: hoursAgo(20) } },
  verifiedIn: { dev: {}, prod: {} },
});
const inDev = freight({
  name: 'b'.repeat(40),
  alias: 'frozen-tauntaun',
  createdAt: hoursAgo(3),
  currentlyIn: { dev: { since: hoursAgo(2) } },
  verifiedIn: { dev: { verifiedAt: hoursAgo(2) } },
});
const fresh = freight({ name: 'c'.repeat(40), alias: 'brave-ewok', createdAt: hoursAgo(0.25) });
const STAGES: StageSummary[] = [prodStage({ stages: ['dev'] }), devStage()];

describe('buildFreightView', () => {
  const view = buildFreightView([older, inDev, fresh], STAGES, 5, NOW);

  it('lists the newest freight first, with age and commit', () => {
    expect(view.rows.map((row) => [row.alias, row.age])).toEqual([
      ['brave-ewok', '15m ago'],
      ['frozen-tauntaun', '3h ago'],
      ['old-wookiee', '1d ago'],
    ]);
    expect(view.rows[0]?.commit).toMatchObject({
      shortSha: '3c9e97f',
      subject: 'Route private subnets through the NAT gateway',
      author: 'Jane Doe',
      url: `https://github.com/acme/gitops-infra-pipeline/commit/${COMMIT_SHA}`,
    });
  });

  it('orders stages as the pipeline runs: dev before prod', () => {
    expect(view.stageNames).toEqual(['dev', 'prod']);
  });

  it('says where each freight stands in each stage', () => {
    const standings = view.rows.map((row) => row.stages.map(({ standing }) => standing.kind));
    expect(standings).toEqual([
      ['available', 'not-available'], // brave-ewok: dev takes anything; prod needs dev's verification
      ['current', 'available'], // frozen-tauntaun: in dev and verified there, so prod may take it
      ['verified', 'current'], // old-wookiee: verified in dev long ago, now in prod
    ]);
  });

  it('explains why freight is not available, briefly and in full', () => {
    const prod = view.rows[0]?.stages[1]?.standing;
    expect(prod).toEqual({
      kind: 'not-available',
      summary: 'needs verification in dev',
      reason: 'ccccccc (brave-ewok) is not verified in dev yet',
    });
  });

  it('reports soaking with the time left', () => {
    const soaking = buildFreightView(
      [inDev],
      [devStage(), prodStage({ stages: ['dev'], requiredSoakTime: '2h20m' })],
      5,
      NOW,
    );
    expect(soaking.rows[0]?.stages[1]?.standing).toMatchObject({ summary: 'soaking: 20m left' });
  });

  it('shows approval for a stage', () => {
    const approved = freight({ approvedFor: { prod: { approvedAt: hoursAgo(1) } } });
    expect(buildFreightView([approved], STAGES, 5, NOW).rows[0]?.stages[1]?.standing.kind).toBe('approved');
  });

  it('counts a stage’s deployed freight as current even without currentlyIn', () => {
    const stage = { ...devStage(), currentFreight: { 'Warehouse/infra': fresh.name } };
    expect(buildFreightView([fresh], [stage], 5, NOW).rows[0]?.stages[0]?.standing.kind).toBe('current');
  });

  it('keeps n within 1..20 and reports the total', () => {
    const many = Array.from({ length: 30 }, (_, i) =>
      freight({ name: `${i}`.padStart(40, '0'), createdAt: hoursAgo(i) }),
    );
    expect(buildFreightView(many, STAGES, 2, NOW).rows).toHaveLength(2);
    expect(buildFreightView(many, STAGES, 500, NOW).rows).toHaveLength(20);
    expect(buildFreightView(many, STAGES, 0, NOW).rows).toHaveLength(1);
    expect(buildFreightView(many, STAGES, 2, NOW).total).toBe(30);
  });
});

describe('upstreamFirst', () => {
  it('sorts a chain and breaks ties by name', () => {
    const qa = prodStage({ stages: ['dev'] });
    const stages = [
      { ...prodStage({ stages: ['qa', 'staging'], availabilityStrategy: 'All' }), name: 'prod' },
      { ...qa, name: 'staging' },
      { ...qa, name: 'qa' },
      devStage(),
    ];
    expect(upstreamFirst(stages).map((stage) => stage.name)).toEqual(['dev', 'qa', 'staging', 'prod']);
  });

  it('survives a cycle Kargo would not admit', () => {
    const a = { ...prodStage({ stages: ['b'] }), name: 'a' };
    const b = { ...prodStage({ stages: ['a'] }), name: 'b' };
    expect(upstreamFirst([b, a]).map((stage) => stage.name)).toEqual(['a', 'b']);
  });
});

describe('renderFreightView', () => {
  it('draws one section per freight with commit link and stage standings', () => {
    const { blocks, text } = renderFreightView(buildFreightView([inDev], STAGES, 5, NOW));
    expect(blocks[0]).toMatchObject({ type: 'header', text: { text: '📦 Freight' } });
    expect((blocks[1] as SectionBlock).text?.text).toBe(
      `*\`frozen-tauntaun\`* · <https://github.com/acme/gitops-infra-pipeline/commit/${COMMIT_SHA}|3c9e97f> ` +
        'Route private subnets through the NAT gateway — Jane Doe · 3h ago\n' +
        '🟢 *dev* current\n🔓 *prod* available',
    );
    expect(blocks.at(-1)?.type).toBe('context');
    expect(text).toBe('📦 Freight: frozen-tauntaun (dev: current, prod: available)');
  });

  it('says why a stage cannot take it', () => {
    const { blocks } = renderFreightView(buildFreightView([fresh], STAGES, 5, NOW));
    expect((blocks[1] as SectionBlock).text?.text).toContain(
      '🔒 *prod* not available: needs verification in dev',
    );
  });

  it('says clearly when there is no freight yet', () => {
    const { blocks, text } = renderFreightView(buildFreightView([], STAGES, 5, NOW));
    expect(text).toBe('📦 Freight: no freight yet');
    expect((blocks[1] as SectionBlock).text?.text).toMatch(/^No freight yet/);
  });

  it('stays within Slack limits for any freight and stages (property)', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc
        .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), fc.nat({ max: 3000 }))
        .map(([s, n]) => s.repeat(n)),
      fc.constantFrom('<>&', '`', '<!channel>'),
    );
    const anyFreight: fc.Arbitrary<FreightSummary> = fc.record({
      name: text,
      alias: fc.option(text, { nil: undefined }),
      warehouse: fc.constantFrom('infra', 'other'),
      createdAt: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      commits: fc.array(
        fc.record({
          repoURL: text,
          id: text,
          message: fc.option(text, { nil: undefined }),
          author: fc.option(text, { nil: undefined }),
        }),
        {
          maxLength: 2,
        },
      ),
      currentlyIn: fc.dictionary(
        fc.constantFrom('dev', 'prod'),
        fc.record({ since: fc.option(text, { nil: undefined }) }),
      ),
      verifiedIn: fc.dictionary(
        fc.constantFrom('dev', 'prod'),
        fc.record({ longestSoak: fc.option(text, { nil: undefined }) }),
      ),
      approvedFor: fc.dictionary(fc.constantFrom('dev', 'prod'), fc.constant({})),
    });
    const anyStage: fc.Arbitrary<StageSummary> = fc.record({
      name: text,
      requestedFreight: fc.array(
        fc.record({
          origin: fc.record({ kind: fc.constant('Warehouse'), name: fc.constantFrom('infra', 'other') }),
          sources: fc.record({
            direct: fc.boolean(),
            stages: fc.array(fc.constantFrom('dev', 'prod'), { maxLength: 2 }),
            requiredSoakTime: fc.option(fc.oneof(fc.constantFrom('1h', '30m'), text), { nil: undefined }),
            availabilityStrategy: fc.constantFrom('OneOf' as const, 'All' as const, '' as const),
          }),
        }),
        { maxLength: 2 },
      ),
      currentFreight: fc.constant({}),
    });
    fc.assert(
      fc.property(
        fc.array(anyFreight, { maxLength: 25 }),
        fc.array(anyStage, { maxLength: 12 }),
        fc.integer(),
        (items, stages, n) => {
          const message = renderFreightView(buildFreightView(items, stages, n, NOW));
          expect(checkMessageLimits(message)).toEqual([]);
          expect(message.text.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.messageText);
        },
      ),
      { numRuns: 60 },
    );
  });
});
