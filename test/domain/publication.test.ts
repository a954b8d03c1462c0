// What the worker tells Slack (and does) on each card change: the publication policy, a pure function.
import { describe, expect, it } from '@jest/globals';
import { foldEvents, type Card } from '../../src/domain/card.js';
import type { CardEvent } from '../../src/domain/events.js';
import { publicationsFor } from '../../src/domain/publication.js';
import { renderCard } from '../../src/domain/render.js';
import { CARD_ID, PROMOTION, RUN_ID, at, ev, happyPath, runEv } from './builders.js';

const fold = (...events: CardEvent[]): Card => foldEvents(events)!;
const kinds = (card: Card) =>
  publicationsFor(card).map((p) => (p.kind === 'alert' ? `alert:${p.reason}` : p.kind));
const text = (card: Card): string => JSON.stringify(renderCard(card).blocks);

const cancel = (minute: number): CardEvent => ({
  type: 'CancelRequested',
  id: `cancel:${CARD_ID}`,
  cardId: CARD_ID,
  at: at(minute),
  by: { slackUserId: 'U012ABCDEF', slackUserName: 'jane' },
  reason: 'wrong freight',
  via: 'command',
});

const running = (): CardEvent[] => [
  ev.requested(0),
  ev.resolved(0),
  ev.created(1),
  ev.phase('Running', 2),
  ev.run(3),
  runEv.status('waiting', 4),
];

describe('publication policy', () => {
  it('a successful promotion is its card and nothing else: no second post, no alert', () => {
    expect(kinds(fold(...happyPath()))).toEqual(['card']);
  });

  it('a failure alerts once the run has ended (so the alert can name the failed job), not before', () => {
    const failing = [...running(), ev.phase('Failed', 9, 'step "waitRun" failed')];
    expect(kinds(fold(...failing))).toEqual(['card', 'stop-run']);
    const ended = fold(...failing, runEv.status('completed', 10, { conclusion: 'failure' }));
    expect(kinds(ended)).toEqual(['card', 'alert:failed']);
  });

  it('a rejection the system caused alerts; one the requester caused does not', () => {
    const kargoRefused = fold(ev.requested(0), {
      ...ev.rejected(1, 'Kargo refused: the bot lacks promote'),
      code: 'chatops_kargo_rejected',
    });
    expect(kinds(kargoRefused)).toEqual(['card', 'alert:rejected']);
    const cancelled = fold(ev.requested(0), { ...ev.rejected(1, 'cancelled'), code: 'chatops_cancelled' });
    expect(kinds(cancelled)).toEqual(['card']);
  });

  it('a promotion that ends in Kargo while its run goes on: stop the run; if that fails, say it could still apply', () => {
    const aborted = [...running(), cancel(5), ev.phase('Aborted', 6, 'Promotion terminated by kubernetes:…')];
    expect(kinds(fold(...aborted))).toEqual(['card', 'stop-run']);
    expect(text(fold(...aborted))).toContain('Unknown — run still going');

    const couldNot = fold(...aborted, {
      type: 'RunStopAttempted',
      id: `run-stop:${RUN_ID}:failed:x`,
      cardId: CARD_ID,
      at: at(7),
      runId: RUN_ID,
      outcome: 'failed',
      detail: 'GitHub did not let the bot stop it (403)',
    });
    expect(kinds(couldNot)).toEqual(['card', 'alert:run-still-going']);
    expect(text(couldNot)).toContain('could still apply');
    expect(text(couldNot)).toContain('The bot could not stop it');

    const stopped = fold(...aborted, {
      type: 'RunStopAttempted',
      id: `run-stop:${RUN_ID}:cancelled`,
      cardId: CARD_ID,
      at: at(7),
      runId: RUN_ID,
      outcome: 'cancelled',
      detail: 'the run was cancelled',
    });
    // Aborted on purpose, run stopped: not an incident.
    expect(kinds(stopped)).toEqual(['card']);
    expect(text(stopped)).toContain('The bot stopped');
    expect(text(stopped)).toContain('cancelled by <@U012ABCDEF>: wrong freight');
  });

  it('a Promotion deleted in Kargo before it finished ends the card Aborted and alerts', () => {
    const card = fold(ev.requested(0), ev.resolved(0), ev.created(1), ev.phase('Pending', 1), {
      type: 'PromotionDeleted',
      id: `deleted:${PROMOTION}`,
      cardId: CARD_ID,
      at: at(3),
      promotionName: PROMOTION,
    });
    expect(card.phase).toBe('Aborted');
    expect(kinds(card)).toEqual(['card', 'alert:failed']);
  });

  it('outputs go into the card’s thread, one reply per outputs artifact', () => {
    const card = fold(...happyPath(), {
      type: 'OutputsPublished',
      id: 'outputs:1',
      cardId: CARD_ID,
      at: at(15),
      runId: 12345,
      outputs: {
        schemaVersion: 1,
        cloud: 'aws',
        environment: 'prod',
        outputs: { instance_id: 'i-1' },
      } as never,
    });
    expect(publicationsFor(card)).toContainEqual({
      kind: 'outputs',
      key: `outputs-${CARD_ID}-1`,
      threadKey: `card-${CARD_ID}`,
    });
  });

  it('a Pending card says why it waits', () => {
    const card = fold(ev.requested(0), ev.resolved(0), ev.created(1), ev.phase('Pending', 1), {
      type: 'PromotionWaiting',
      id: `waiting:${PROMOTION}:prod.older`,
      cardId: CARD_ID,
      at: at(2),
      promotionName: PROMOTION,
      reason: 'behind prod.older (freight 1234567), which is running on prod',
      behind: { promotionName: 'prod.older' },
    });
    expect(text(card)).toContain('behind prod.older (freight 1234567), which is running on prod');
  });

  it('an auto-promotion says so, with the freight alias', () => {
    const card = fold(
      { ...ev.created(1, { createdBy: undefined }), cardId: CARD_ID },
      ev.resolved(1),
      ev.phase('Running', 2),
    );
    expect(text(card)).toContain('Kargo auto-promotion');
    expect(text(card)).toContain('frozen-tauntaun');
  });
});
