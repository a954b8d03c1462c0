// The value of a details button is the only thing a click carries into the worker: which card, which
// page. It is parsed strictly; anything the bot did not render is refused.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { cardIdForPromotion, cardIdForRequest } from '../../src/domain/card.js';
import { MAX_DETAILS_PAGE, detailsButtonValue, parseDetailsValue } from '../../src/domain/details.js';
import { cardDetailsJob } from '../../src/queue/jobs.js';

describe('details button values', () => {
  const card = cardIdForRequest('trigger-4711');

  it('round-trip the card and the page', () => {
    expect(parseDetailsValue(detailsButtonValue(card))).toEqual({ cardId: card, page: 1 });
    expect(parseDetailsValue(detailsButtonValue(card, 7))).toEqual({ cardId: card, page: 7 });
    const promo = cardIdForPromotion('dev.01k3x9.f5f87aa');
    expect(parseDetailsValue(`${promo}:${MAX_DETAILS_PAGE}`)).toEqual({
      cardId: promo,
      page: MAX_DETAILS_PAGE,
    });
  });

  it('refuse anything the bot did not render', () => {
    for (const value of [
      undefined,
      null,
      42,
      '',
      'req-',
      'req-XYZ',
      `${card}:0`,
      `${card}:01`,
      `${card}:${MAX_DETAILS_PAGE + 1}`,
      `${card}:2:3`,
      `${card} `,
      `../${card}`,
      `${card}\n`,
      'card-0123456789abcdef',
      `req-${'a'.repeat(17)}`,
      JSON.stringify({ card, page: 1 }),
    ]) {
      expect([value, parseDetailsValue(value)]).toEqual([value, undefined]);
    }
  });

  it('whatever parses makes a valid job (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (value) => {
        const parsed = parseDetailsValue(value);
        if (!parsed) return;
        expect(
          cardDetailsJob.safeParse({
            kind: 'card-details',
            requestId: 'r',
            view: 'plan',
            ...parsed,
            actor: { slackUserId: 'U0BOB' },
            reply: { channelId: 'C0DEPLOYS' },
          }).success,
        ).toBe(true);
      }),
    );
    expect(
      cardDetailsJob.safeParse({
        kind: 'card-details',
        requestId: 'r',
        view: 'plan',
        cardId: '*',
        page: 1,
        actor: { slackUserId: 'U0BOB' },
        reply: { channelId: 'C0DEPLOYS' },
      }).success,
    ).toBe(false);
  });
});
