import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { BLOCK_KIT_LIMITS, checkMessageLimits } from '../../src/domain/blockkit.js';
import { describeViolation, validateMessageBlocks } from '../../src/sandbox/blockkit-schema.js';
import type { Block, SectionBlock } from '../../src/domain/blockkit.js';
import { foldEvents, type Card, type CardPhase } from '../../src/domain/card.js';
import type { CardEvent } from '../../src/domain/events.js';
import { renderCard } from '../../src/domain/render.js';
import { COMMIT_SHA, PROMOTION, at, ev, happyPath } from './builders.js';

const cardOf = (...events: CardEvent[]): Card => {
  const card = foldEvents(events);
  if (!card) throw new Error('no card');
  return card;
};

/** All visible text of a message, for "does it say X" assertions that do not depend on layout. */
function allText(blocks: Block[]): string {
  return blocks
    .flatMap((block) => {
      switch (block.type) {
        case 'header':
          return [block.text.text];
        case 'section':
          return [block.text?.text ?? '', ...(block.fields ?? []).map((field) => field.text)];
        case 'context':
          return block.elements.map((element) => element.text);
        default:
          return [];
      }
    })
    .join('\n');
}

const sections = (blocks: Block[]): SectionBlock[] =>
  blocks.filter((b): b is SectionBlock => b.type === 'section');

describe('renderCard: what the engineer sees', () => {
  const succeeded = cardOf(...happyPath());

  it('opens with a header naming the target and the status', () => {
    const { blocks } = renderCard(succeeded);
    expect(blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '✅ Promotion to prod', emoji: true },
    });
    expect(renderCard(cardOf(ev.requested(0))).blocks[0]).toMatchObject({
      text: { text: '🕓 Promotion to prod' },
    });
  });

  it('shows the freight: alias, linked short sha, subject and author', () => {
    const text = allText(renderCard(succeeded).blocks);
    expect(text).toContain(
      `*Freight* \`frozen-tauntaun\` · <https://github.com/acme/gitops-infra-pipeline/commit/${COMMIT_SHA}|3c9e97f> ` +
        'Route private subnets through the NAT gateway — Jane Doe',
    );
    expect(text).not.toContain('Longer body');
    expect(text).not.toContain('jane@example.com');
  });

  it('shows who requested it, the Promotion and the run', () => {
    const fields = sections(renderCard(succeeded).blocks)
      .flatMap((s) => s.fields ?? [])
      .map((f) => f.text);
    expect(fields).toEqual([
      '*Requested by*\n<@U012ABCDEF>',
      `*Promotion*\n\`${PROMOTION}\``,
      '*GitHub run*\n<https://github.com/acme/gitops-infra-pipeline/actions/runs/12345|#12345>',
    ]);
  });

  it('links the Promotion to its Stage in the Kargo UI when it knows where that is', () => {
    const text = allText(renderCard(succeeded, { kargoUrl: 'https://kargo.example.com/' }).blocks);
    expect(text).toContain(`<https://kargo.example.com/project/infra/stage/prod|${PROMOTION}>`);
  });

  it('says how long it took and lists the steps as a checklist', () => {
    const text = allText(renderCard(succeeded).blocks);
    expect(text).toContain('*Succeeded* in 12m');
    expect(text).toContain('*Steps* (2 of 2 finished)\n✅ `dispatch`\n✅ `waitRun`');
  });

  it('shows the step in progress while running', () => {
    const running = cardOf(...happyPath().slice(0, 9));
    const text = allText(renderCard(running, { now: new Date(at(7)) }).blocks);
    expect(text).toContain('*Running* — step 2 of 2 — running for 5m');
    expect(text).toContain('⏳ `waitRun`');
    expect(text).toContain('Updated 4m ago');
  });

  it('shows the failure message on Failed, in a code block', () => {
    const failed = cardOf(
      ev.requested(0),
      ev.created(1),
      ev.phase('Running', 2),
      ev.step('waitRun', 'Failed', 9, 1, 'run concluded: failure'),
      ev.phase('Failed', 9, 'step "waitRun" failed: run concluded: failure'),
    );
    const { blocks, text } = renderCard(failed);
    // Leads with the failure in words; Kargo's own wording last, in a code block.
    expect(sections(blocks)[1]?.text?.text).toBe(
      "❌ *Why it failed:* Kargo's `waitRun` step failed: run concluded: failure",
    );
    expect(sections(blocks).at(-1)?.text?.text).toBe(
      '*Kargo says*\n```step "waitRun" failed: run concluded: failure```',
    );
    expect(allText(blocks)).toContain('❌ `waitRun` — run concluded: failure');
    expect(text).toBe('❌ Promotion to prod failed: f5f87aa — step "waitRun" failed: run concluded: failure');
  });

  it('does not show a failure section when nothing failed', () => {
    expect(allText(renderCard(succeeded).blocks)).not.toContain('Why it failed');
  });

  it('explains a rejected request', () => {
    const rejected = cardOf(ev.requested(0), ev.rejected(1));
    const { blocks, text } = renderCard(rejected);
    expect(blocks[0]).toMatchObject({ text: { text: '🚫 Promotion to prod' } });
    expect(allText(blocks)).toContain('*Not promoted:* f5f87aa (frozen-tauntaun) is not verified in dev yet');
    expect(text).toContain('rejected');
  });

  it('shows what was asked for before the freight is resolved', () => {
    expect(allText(renderCard(cardOf(ev.requested(0, { freightQuery: 'latest' }))).blocks)).toContain(
      '*Freight* `latest` (resolving…)',
    );
  });

  it('names Kargo as the starter of a promotion nobody requested in Slack', () => {
    const discovered = cardOf({ ...ev.created(1), createdBy: undefined, stage: 'dev' });
    const text = allText(renderCard(discovered).blocks);
    expect(text).toContain('*Started by*\nKargo');
    expect(text).toContain('Promotion to dev');
  });

  it('ends with the last thing that happened, in the reader’s time zone', () => {
    const context = renderCard(succeeded).blocks.at(-1);
    expect(context?.type).toBe('context');
    expect(allText([context as Block])).toContain(
      `Last: Phase Succeeded · <!date^${Date.parse(at(14)) / 1000}^{date_short_pretty} {time}|2026-11-27 10:14 UTC>`,
    );
  });

  it('gives a one-line notification text', () => {
    expect(renderCard(succeeded).text).toBe('✅ Promotion to prod succeeded: f5f87aa (frozen-tauntaun)');
  });

  it('renders the same card the same way (no clock unless given one)', () => {
    expect(renderCard(succeeded)).toEqual(renderCard(succeeded));
  });
});

describe('renderCard: hostile input', () => {
  it('escapes user- and Kargo-provided text', () => {
    const card = cardOf(
      ev.resolved(0, {
        alias: 'evil',
        commits: [
          { repoURL: 'https://github.com/a/b', id: COMMIT_SHA, message: 'Ship <!channel> & <https://x|y>' },
        ],
      }),
      ev.created(1),
      ev.phase('Failed', 2, '<@U999> & <!here>'),
    );
    const text = allText(renderCard(card).blocks);
    expect(text).toContain('Ship &lt;!channel&gt; &amp; &lt;https://x|y&gt;');
    expect(text).toContain('```&lt;@U999&gt; &amp; &lt;!here&gt;```');
    expect(text).not.toMatch(/<!channel>|<!here>|<@U999>/);
  });

  it('does not trust a malformed user id as a mention', () => {
    const card = cardOf(ev.requested(0, { requestedBy: { slackUserId: 'U1> <!channel' } }));
    expect(allText(renderCard(card).blocks)).not.toContain('<!channel');
  });

  it('cuts a huge failure message and says how much is missing', () => {
    const card: Card = { ...cardOf(ev.created(1), ev.phase('Failed', 2)), phaseMessage: 'e'.repeat(50_000) };
    const problem = sections(renderCard(card).blocks).find((s) => s.text?.text.startsWith('*Kargo says*'));
    expect(problem?.text?.text.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.sectionText);
    expect(problem?.text?.text).toMatch(/… \(4\d,\d{3} more characters\)```$/);
  });

  it('keeps failing steps visible when 500 steps do not fit', () => {
    const steps = Array.from({ length: 500 }, (_, index) => ({
      alias: `step-${index}`,
      status: index === 420 ? 'Failed' : 'Succeeded',
      index,
    }));
    const card: Card = { ...cardOf(ev.created(1), ev.phase('Failed', 2)), steps };
    const { blocks } = renderCard(card);
    const text = allText(blocks);
    expect(text).toContain('❌ `step-420`');
    expect(text).toMatch(/… and \d+ more steps/);
    expect(checkMessageLimits(renderCard(card))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Property: any card renders within Slack's limits

const PHASES: CardPhase[] = [
  'Requested',
  'Pending',
  'Running',
  'Succeeded',
  'Failed',
  'Errored',
  'Aborted',
  'Rejected',
];

const nasty = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }), weight: 6 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
  {
    arbitrary: fc.constantFrom('<>&', '```', '<!channel>', '<https://x|y>', '&amp;', '😀👩‍👩‍👧', '\n\n', ''),
    weight: 2,
  },
  {
    // Big strings cheaply: a random chunk repeated.
    arbitrary: fc
      .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), fc.integer({ min: 200, max: 4000 }))
      .map(([chunk, times]) => chunk.repeat(times)),
    weight: 1,
  },
);
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const isoTime = fc.oneof(
  fc
    .date({ min: new Date('2020-01-01'), max: new Date('2030-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  nasty,
);

const anyCard: fc.Arbitrary<Card> = fc
  .record({
    phase: fc.constantFrom(...PHASES),
    environment: maybe(fc.constantFrom('dev' as const, 'prod' as const)),
    stage: maybe(nasty),
    project: maybe(nasty),
    request: maybe(
      fc.record({
        freightQuery: nasty,
        requestedBy: fc.record({
          slackUserId: fc.oneof(fc.constant('U012ABCDEF'), nasty),
          slackUserName: maybe(nasty),
        }),
        sourceChannelId: nasty,
        requestedAt: isoTime,
      }),
    ),
    freight: maybe(
      fc.record({
        name: nasty,
        alias: maybe(nasty),
        warehouse: maybe(nasty),
        commits: fc.array(
          fc.record({
            repoURL: fc.oneof(fc.constant('https://github.com/acme/infra.git'), nasty),
            id: fc.oneof(fc.constant(COMMIT_SHA), nasty),
            message: maybe(nasty),
            author: maybe(nasty),
          }),
          { maxLength: 3 },
        ),
      }),
    ),
    promotion: maybe(fc.record({ name: nasty, createdBy: maybe(nasty), createdAt: maybe(isoTime) })),
    autoPromotionHold: maybe(nasty),
    freeze: maybe(
      fc.record({
        by: fc.record({ slackUserId: fc.oneof(fc.constant('U0ALICE'), nasty) }),
        reason: nasty,
        until: isoTime,
        open: fc.boolean(),
      }),
    ),
    phaseMessage: maybe(nasty),
    rejection: maybe(fc.record({ code: nasty, reason: nasty })),
    steps: fc.array(
      fc.record({
        alias: nasty,
        status: fc.oneof(
          fc.constantFrom('Running', 'Succeeded', 'Failed', 'Errored', 'Skipped', 'Aborted', 'Pending'),
          nasty,
        ),
        message: maybe(nasty),
      }),
      { maxLength: 500 },
    ),
    run: maybe(fc.record({ id: fc.integer(), url: maybe(fc.oneof(fc.webUrl(), nasty)) })),
    startedAt: maybe(isoTime),
    finishedAt: maybe(isoTime),
    updatedAt: isoTime,
    timeline: fc.array(
      fc.record({ at: isoTime, event: fc.constant('PromotionPhaseChanged' as const), summary: nasty }),
      {
        maxLength: 25,
      },
    ),
  })
  .map((fields) => ({
    ...fields,
    id: 'req-0123456789abcdef',
    version: 1,
    isTerminal: ['Succeeded', 'Failed', 'Errored', 'Aborted', 'Rejected'].includes(fields.phase),
    appliedEventIds: [],
    jobs: [],
    gateReports: [],
    plans: [],
    outputs: [],
    artifactProblems: [],
  }));

describe('renderCard: Slack limits hold for any card (property)', () => {
  it('produces no Block Kit violations and a short enough text', () => {
    fc.assert(
      fc.property(anyCard, fc.option(fc.date({ noInvalidDate: true }), { nil: undefined }), (card, now) => {
        const message = renderCard(card, { kargoUrl: 'https://kargo.example.com', now });
        expect(checkMessageLimits(message)).toEqual([]);
        expect(validateMessageBlocks(message.blocks).map(describeViolation)).toEqual([]);
        expect(message.text.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.messageText);
        expect(message.text).not.toContain('\n');
      }),
      { numRuns: 150 },
    );
  });
});
