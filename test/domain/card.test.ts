import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  CARD_LIMITS,
  applyEvent,
  cardIdForPromotion,
  cardIdForRequest,
  foldEvents,
  type Card,
} from '../../src/domain/card.js';
import type { CardEvent } from '../../src/domain/events.js';
import type { PromotionPhase } from '../../src/domain/types.js';
import { CARD_ID, PROMOTION, at, deepFreeze, ev, happyPath } from './builders.js';

const fold = (...events: CardEvent[]): Card => {
  const card = foldEvents(events);
  if (!card) throw new Error('no card');
  return card;
};

describe('card ids', () => {
  it('derives a stable request card id from the Slack trigger', () => {
    expect(cardIdForRequest('trigger-4711')).toBe(cardIdForRequest('trigger-4711'));
    expect(cardIdForRequest('trigger-4711')).toMatch(/^req-[0-9a-f]{16}$/);
  });

  it('gives different triggers and discovered promotions different ids', () => {
    expect(cardIdForRequest('trigger-4711')).not.toBe(cardIdForRequest('trigger-4712'));
    expect(cardIdForPromotion(PROMOTION)).toMatch(/^promo-[0-9a-f]{16}$/);
    expect(cardIdForPromotion(PROMOTION)).not.toBe(cardIdForRequest(PROMOTION));
  });
});

describe('applyEvent: the request', () => {
  it('opens the card in Requested with who asked for what', () => {
    const card = applyEvent(undefined, ev.requested(0));
    expect(card).toMatchObject({
      id: CARD_ID,
      version: 1,
      phase: 'Requested',
      isTerminal: false,
      environment: 'prod',
      stage: 'prod',
      request: {
        freightQuery: 'frozen-tauntaun',
        requestedBy: { slackUserId: 'U012ABCDEF' },
        requestedAt: at(0),
      },
    });
    expect(card.timeline).toHaveLength(1);
  });

  it('does not let a second request (a retry with a new id) rewrite the first', () => {
    const card = applyEvent(undefined, ev.requested(0));
    const retry = ev.requested(5, { id: 'request:retry', requestedBy: { slackUserId: 'U0OTHER' } });
    expect(applyEvent(card, retry)).toBe(card);
  });

  it('ignores an event that belongs to another card', () => {
    const card = applyEvent(undefined, ev.requested(0));
    expect(applyEvent(card, { ...ev.created(1), cardId: cardIdForRequest('another') })).toBe(card);
  });

  it('returns undefined when folding nothing', () => {
    expect(foldEvents([])).toBeUndefined();
  });
});

describe('applyEvent: idempotency', () => {
  it('applies a new event once and bumps the version', () => {
    const card = fold(ev.requested(0));
    const next = applyEvent(card, ev.created(1));
    expect(next.version).toBe(card.version + 1);
    expect(next.appliedEventIds).toContain(ev.created(1).id);
  });

  it('returns the very same card for an event id already applied', () => {
    const card = fold(ev.requested(0), ev.created(1));
    expect(applyEvent(card, ev.created(1))).toBe(card);
    // Same id, different content (a redelivery after an edit) is still the same fact.
    expect(applyEvent(card, { ...ev.created(1), createdBy: 'admin' })).toBe(card);
  });

  it('keeps the applied id list bounded', () => {
    let card = fold(ev.requested(0), ev.created(1));
    for (let i = 0; i < CARD_LIMITS.appliedEventIds + 10; i += 1) {
      card = applyEvent(card, { ...ev.step('waitRun', 'Running', 2, 1, `poll ${i}`), id: `step-${i}` });
    }
    expect(card.version).toBe(CARD_LIMITS.appliedEventIds + 12);
    expect(card.appliedEventIds).toHaveLength(CARD_LIMITS.appliedEventIds);
  });

  it('never mutates the card or the event it is given', () => {
    const card = deepFreeze(fold(...happyPath().slice(0, 5)));
    const events = happyPath().slice(5).map(deepFreeze);
    expect(() => events.reduce<Card>((acc, event) => applyEvent(acc, event), card)).not.toThrow();
  });
});

describe('applyEvent: phases only move forward', () => {
  it('climbs Requested -> Pending -> Running -> Succeeded', () => {
    const phases = happyPath()
      .map((_, i, all) => fold(...all.slice(0, i + 1)).phase)
      .filter((phase, i, all) => phase !== all[i - 1]);
    expect(phases).toEqual(['Requested', 'Pending', 'Running', 'Succeeded']);
    const card = fold(...happyPath());
    expect(card).toMatchObject({ isTerminal: true, startedAt: at(2), finishedAt: at(14) });
  });

  it('ignores a late Running after Succeeded', () => {
    const card = fold(ev.requested(0), ev.created(1), ev.phase('Succeeded', 14));
    expect(applyEvent(card, ev.phase('Running', 2))).toBe(card);
  });

  it('moves to Pending when Kargo creates the Promotion', () => {
    expect(fold(ev.requested(0), ev.created(1)).phase).toBe('Pending');
  });

  it('does not fall back to Pending when PromotionCreated arrives after Running', () => {
    const card = fold(ev.requested(0), ev.phase('Running', 2));
    const next = applyEvent(card, ev.created(1));
    expect(next.phase).toBe('Running');
    expect(next.promotion).toMatchObject({
      name: PROMOTION,
      createdBy: expect.stringContaining('chatops-bot'),
    });
  });

  it('keeps the first terminal phase: Failed then Succeeded stays Failed', () => {
    const card = fold(ev.created(1), ev.phase('Failed', 9, 'step waitRun failed: run concluded failure'));
    expect(applyEvent(card, ev.phase('Succeeded', 10))).toBe(card);
    expect(card).toMatchObject({
      phase: 'Failed',
      phaseMessage: 'step waitRun failed: run concluded failure',
    });
  });

  it('fills a terminal message Kargo had not given yet, but never replaces one', () => {
    const silent = fold(ev.created(1), { ...ev.phase('Failed', 9), id: 'failed-1' });
    const explained = applyEvent(silent, { ...ev.phase('Failed', 9, 'boom'), id: 'failed-2' });
    expect(explained.phaseMessage).toBe('boom');
    expect(applyEvent(explained, { ...ev.phase('Failed', 9, 'other'), id: 'failed-3' })).toBe(explained);
  });

  it('follows only the Promotion it started with', () => {
    const card = fold(ev.requested(0), ev.created(1));
    expect(applyEvent(card, ev.phase('Failed', 3, 'x', 'prod.other.1234567'))).toBe(card);
  });

  it('handles out-of-order delivery: Succeeded first, then the rest', () => {
    const events = happyPath();
    const reversed = fold(...[...events].reverse());
    expect(reversed.phase).toBe('Succeeded');
    expect(reversed.steps.map((s) => [s.alias, s.status])).toEqual([
      ['dispatch', 'Succeeded'],
      ['waitRun', 'Succeeded'],
    ]);
    expect(reversed.timeline.map((entry) => entry.at)).toEqual(
      [...reversed.timeline.map((e) => e.at)].sort(),
    );
  });
});

describe('applyEvent: rejected requests', () => {
  it('ends a request that never became a Promotion in Rejected, with the reason', () => {
    const card = fold(ev.requested(0), ev.rejected(1));
    expect(card).toMatchObject({
      phase: 'Rejected',
      isTerminal: true,
      rejection: {
        code: 'chatops_freight_not_available',
        reason: expect.stringContaining('not verified in dev'),
      },
    });
  });

  it('lets nothing move a Rejected card', () => {
    const card = fold(ev.requested(0), ev.rejected(1));
    expect(applyEvent(card, ev.phase('Running', 2))).toBe(card);
    expect(applyEvent(card, ev.step('dispatch', 'Running', 2))).toBe(card);
    expect(applyEvent(card, { ...ev.rejected(2, 'again'), id: 'rejected-again' })).toBe(card);
  });
});

describe('applyEvent: version counts effective changes only', () => {
  it('increments by one for each event that changes the card', () => {
    const events = happyPath();
    // The Pending phase event tells nothing new: PromotionCreated already made the card Pending.
    expect(fold(...events).version).toBe(events.length - 1);
    expect(fold(ev.requested(0), ev.created(1), ev.phase('Pending', 1)).version).toBe(2);
  });

  it('stays put for a new event id that changes nothing', () => {
    const card = fold(...happyPath());
    const stale = [
      { ...ev.phase('Running', 2), id: 'phase-running-again' },
      { ...ev.step('dispatch', 'Running', 2, 0), id: 'step-running-again' },
      { ...ev.run(3), id: 'run-again' },
      { ...ev.resolved(0), id: 'resolved-again' },
    ];
    for (const event of stale) expect(applyEvent(card, event)).toBe(card);
  });
});

describe('applyEvent: steps', () => {
  it('records a step and moves it to Succeeded', () => {
    const card = fold(
      ev.created(1),
      ev.step('dispatch', 'Running', 2, 0),
      ev.step('dispatch', 'Succeeded', 3, 0),
    );
    expect(card.steps).toEqual([{ alias: 'dispatch', status: 'Succeeded', index: 0 }]);
  });

  it('ignores a late Running for a step that already finished', () => {
    const card = fold(ev.created(1), ev.step('dispatch', 'Succeeded', 3, 0));
    expect(applyEvent(card, ev.step('dispatch', 'Running', 2, 0))).toBe(card);
  });

  it('keeps template order by index whatever the arrival order', () => {
    const card = fold(
      ev.created(1),
      ev.step('waitRun', 'Running', 3, 1),
      ev.step('dispatch', 'Succeeded', 3, 0),
    );
    expect(card.steps.map((step) => step.alias)).toEqual(['dispatch', 'waitRun']);
  });

  it('does not add steps beyond the bound', () => {
    let card = fold(ev.created(1));
    for (let i = 0; i < CARD_LIMITS.steps; i += 1) card = applyEvent(card, ev.step(`s${i}`, 'Running', 2, i));
    expect(card.steps).toHaveLength(CARD_LIMITS.steps);
    expect(applyEvent(card, ev.step('one-too-many', 'Running', 2))).toBe(card);
  });

  it('updates a running step message, and keeps it when the next update has none', () => {
    const card = fold(
      ev.created(1),
      { ...ev.step('waitRun', 'Running', 3, 1, 'run queued'), id: 'a' },
      { ...ev.step('waitRun', 'Running', 4, 1, 'run in progress'), id: 'b' },
      { ...ev.step('waitRun', 'Running', 5, 1), id: 'c' },
    );
    expect(card.steps[0]?.message).toBe('run in progress');
  });
});

describe('applyEvent: run link and freight', () => {
  it('links the GitHub run', () => {
    expect(fold(ev.created(1), ev.run(3)).run).toEqual({
      id: 12345,
      url: 'https://github.com/acme/gitops-infra-pipeline/actions/runs/12345',
    });
  });

  it('keeps the first run when another run id shows up', () => {
    const card = fold(ev.created(1), ev.run(3));
    expect(applyEvent(card, ev.run(4, 999))).toBe(card);
  });

  it('enriches the freight PromotionCreated named, whatever the order', () => {
    const a = fold(ev.requested(0), ev.created(1), ev.resolved(0));
    const b = fold(ev.requested(0), ev.resolved(0), ev.created(1));
    expect(a.freight).toEqual(b.freight);
    expect(a.freight).toMatchObject({ alias: 'frozen-tauntaun', warehouse: 'infra' });
  });

  it('refuses a different freight once one is known', () => {
    const card = fold(ev.requested(0), ev.resolved(0));
    const other = { ...ev.resolved(1, { name: 'a'.repeat(40), alias: 'other' }), id: 'resolved-other' };
    expect(applyEvent(card, other)).toBe(card);
  });

  it('bounds what it stores from huge commit and Kargo messages', () => {
    const huge = 'x'.repeat(100_000);
    const card = fold(
      ev.resolved(0, {
        commits: Array.from({ length: 50 }, (_, i) => ({ repoURL: 'https://x', id: `${i}`, message: huge })),
      }),
      ev.phase('Failed', 2, huge),
    );
    expect(card.freight?.commits).toHaveLength(CARD_LIMITS.commits);
    expect(card.freight?.commits[0]?.message?.length).toBeLessThanOrEqual(CARD_LIMITS.storedText);
    expect(card.phaseMessage?.length).toBeLessThanOrEqual(CARD_LIMITS.storedText);
    expect(JSON.stringify(card).length).toBeLessThan(40_000);
  });
});

describe('applyEvent: timeline', () => {
  it('keeps the last entries in event-time order', () => {
    let card = fold(ev.created(1));
    for (let minute = 40; minute > 0; minute -= 1) {
      card = applyEvent(card, { ...ev.step(`s${minute}`, 'Running', minute), id: `t${minute}` });
    }
    expect(card.timeline).toHaveLength(CARD_LIMITS.timelineEntries);
    const times = card.timeline.map((entry) => entry.at);
    expect(times).toEqual([...times].sort());
    expect(times[times.length - 1]).toBe(at(40));
    expect(card.updatedAt).toBe(at(40));
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties

const TERMINAL: PromotionPhase[] = ['Succeeded', 'Failed', 'Errored', 'Aborted'];
const STEP_END = ['Succeeded', 'Failed', 'Errored', 'Skipped', 'Aborted'];

/** A valid life of one promotion: request, resolution, creation, phases, steps, run, a terminal phase. */
const validLife = fc
  .record({
    requested: fc.boolean(),
    terminal: fc.constantFrom<PromotionPhase>(...TERMINAL),
    steps: fc.array(fc.constantFrom(...STEP_END), { maxLength: 5 }),
    run: fc.boolean(),
  })
  .map(({ requested, terminal, steps, run }) => {
    const events: CardEvent[] = [
      ...(requested ? [ev.requested(0), ev.resolved(0)] : []),
      ev.created(1),
      ev.phase('Pending', 1),
      ev.phase('Running', 2),
      ...steps.flatMap((end, index) => [
        ev.step(`step-${index}`, 'Running', 2 + index, index, 'working'),
        ev.step(`step-${index}`, end, 3 + index, index, `${end} step`),
      ]),
      ...(run ? [ev.run(3)] : []),
      ev.phase(terminal, 20, `${terminal} message`),
    ];
    return { events, terminal, steps };
  });

const rejectedLife = fc.boolean().map((resolved) => ({
  events: [ev.requested(0), ...(resolved ? [ev.resolved(0)] : []), ev.rejected(1)] as CardEvent[],
  terminal: 'Rejected' as const,
  steps: [] as string[],
}));

/** Every event at least once, in any order, some of them again anywhere. */
const deliveries = <T>(events: T[]) =>
  fc
    .tuple(
      fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
      fc.array(fc.tuple(fc.nat({ max: events.length - 1 }), fc.nat()), { maxLength: events.length }),
    )
    .map(([shuffled, duplicates]) => {
      const delivered = [...shuffled];
      for (const [which, where] of duplicates)
        delivered.splice(where % (delivered.length + 1), 0, events[which] as T);
      return delivered;
    });

/** What must not depend on delivery order (the timeline and version legitimately do). */
const outcome = (card: Card) => ({
  phase: card.phase,
  isTerminal: card.isTerminal,
  phaseMessage: card.phaseMessage,
  steps: card.steps,
  run: card.run,
  promotion: card.promotion?.name,
  request: card.request,
  freight: card.freight,
  rejection: card.rejection,
});

describe('properties', () => {
  it('folding any permutation with duplicates ends where in-order delivery ends', () => {
    fc.assert(
      fc.property(
        fc
          .oneof(validLife, rejectedLife)
          .chain((life) => fc.tuple(fc.constant(life), deliveries(life.events))),
        ([life, delivered]) => {
          const inOrder = fold(...life.events);
          const shuffled = fold(...delivered);
          expect(shuffled.phase).toBe(life.terminal);
          expect(shuffled.steps.map((step) => step.status)).toEqual(life.steps);
          expect(outcome(shuffled)).toEqual(outcome(inOrder));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('applying any event twice equals applying it once', () => {
    fc.assert(
      fc.property(
        validLife.chain((life) => fc.tuple(fc.subarray(life.events), fc.constantFrom(...life.events))),
        ([prefix, event]) => {
          const card = foldEvents(prefix);
          const once = applyEvent(card, event);
          expect(applyEvent(once, event)).toBe(once);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a redelivery under a new id changes nothing either (idempotent by meaning, not only by id)', () => {
    fc.assert(
      fc.property(
        validLife.chain((life) => fc.tuple(fc.subarray(life.events), fc.constantFrom(...life.events))),
        ([prefix, event]) => {
          const once = applyEvent(foldEvents(prefix), event);
          expect(applyEvent(once, { ...event, id: `${event.id}:redelivered` })).toBe(once);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('version equals the number of effective events, and never decreases', () => {
    fc.assert(
      fc.property(
        validLife.chain((life) => deliveries(life.events)),
        (delivered) => {
          let card: Card | undefined;
          let effective = 0;
          for (const event of delivered) {
            const next = applyEvent(card, event);
            if (next !== card) effective += 1;
            expect(next.version).toBeGreaterThanOrEqual(card?.version ?? 0);
            card = next;
          }
          expect(card?.version).toBe(effective);
        },
      ),
    );
  });
});
