// Change freezes, pure: how /freeze's end is written and worked out, when one is in force, how it reads.
import { describe, expect, it } from '@jest/globals';
import { formatCommand, parseCommand } from '../../src/domain/commands.js';
import {
  DEFAULT_FREEZE_MS,
  MAX_FREEZE_MS,
  freezeLine,
  freezeUntil,
  isFrozen,
  parseFreezeEnd,
  type Freeze,
} from '../../src/domain/freeze.js';

import { foldEvents } from '../../src/domain/card.js';
import type { AutoPromotionHeld, CardEvent, FreezeChanged } from '../../src/domain/events.js';
import { renderCard } from '../../src/domain/render.js';
import { CARD_ID, PROMOTION, at, ev, happyPath } from './builders.js';

const now = new Date('2026-12-07T10:00:00Z');

describe('parseFreezeEnd and freezeUntil', () => {
  it.each([
    ['for', '2h', '2026-12-07T12:00:00.000Z'],
    ['for', '90m', '2026-12-07T11:30:00.000Z'],
    ['for', '3d', '2026-12-10T10:00:00.000Z'],
    ['until', '18:00', '2026-12-07T18:00:00.000Z'],
    // A time of day already past today is tomorrow's.
    ['until', '09:30', '2026-12-08T09:30:00.000Z'],
    ['until', '2026-12-24T00:00Z', '2026-12-24T00:00:00.000Z'],
    ['until', '2026-12-08T01:00+02:00', '2026-12-07T23:00:00.000Z'],
  ])('%s %s ends at %s', (keyword, value, expected) => {
    const end = parseFreezeEnd(keyword, value);
    expect(end).toBeDefined();
    const until = freezeUntil(end!, now);
    expect('until' in until && until.until.toISOString()).toBe(expected);
  });

  it.each([
    ['for', 'soon'],
    ['for', '0h'],
    ['for', '-2h'],
    ['until', '25:00'],
    ['until', 'tomorrow'],
    ['until', '2026-12-24'],
    ['when', '2h'],
  ])('refuses %s %s', (keyword, value) => {
    expect(parseFreezeEnd(keyword, value)).toBeUndefined();
  });

  it('refuses an end in the past and one beyond the longest freeze', () => {
    expect(freezeUntil({ kind: 'until-instant', iso: '2026-12-06T00:00:00.000Z' }, now)).toEqual({
      problem: '2026-12-06T00:00:00.000Z has already passed',
    });
    expect(freezeUntil({ kind: 'for', ms: MAX_FREEZE_MS + 60_000 }, now)).toHaveProperty('problem');
    expect(freezeUntil({ kind: 'for', ms: MAX_FREEZE_MS }, now)).toHaveProperty('until');
  });

  it('ends by itself after the default when no end is given', () => {
    const until = freezeUntil({ kind: 'default' }, now);
    expect('until' in until && until.until.getTime() - now.getTime()).toBe(DEFAULT_FREEZE_MS);
  });
});

describe('a freeze in force and on a card', () => {
  const freeze: Freeze = {
    environment: 'prod',
    by: { slackUserId: 'U0OLIVIA', slackUserName: 'olivia' },
    reason: 'payments *release* <!channel>',
    since: '2026-12-07T09:00:00.000Z',
    until: '2026-12-07T18:00:00.000Z',
    open: false,
    autoPromotion: { stage: 'prod', paused: true },
  };

  it('is in force until its end, not after', () => {
    expect(isFrozen(freeze, now)).toBe(true);
    expect(isFrozen(freeze, new Date('2026-12-07T18:00:00Z'))).toBe(false);
    expect(isFrozen(undefined, now)).toBe(false);
  });

  it('reads as one line with who, until when, why, and the paused auto-promotion; markup is escaped', () => {
    expect(freezeLine(freeze, now)).toBe(
      ':snowflake: *prod is frozen* until 18:00 UTC (in 8h) by <@U0OLIVIA>: payments *release* &lt;!channel&gt;. Auto-promotion is paused.',
    );
  });
});

describe('the commands', () => {
  it.each([
    ['/freeze', 'prod for 2h payments release'],
    ['/freeze', 'dev until 18:00 game day'],
    ['/freeze', 'prod quarter end'],
    ['/unfreeze', 'prod'],
    ['/rollback', 'prod'],
    ['/rollback', 'dev to frozen-tauntaun'],
    ['/rollback', 'prod override INC-42 bad NAT routes'],
    ['/promote', 'prod brave-wampa override hotfix for INC-42'],
    ['/status', ''],
    ['/status', 'share'],
  ] as const)('%s %s parses and formats back to the same command', (command, text) => {
    const parsed = parseCommand(command, text);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const formatted = formatCommand(parsed.command);
    expect(parseCommand(formatted.command, formatted.text)).toEqual(parsed);
  });

  it('reads the parts: environment, end, reason, target and override', () => {
    expect(parseCommand('/freeze', 'PROD for 2h payments release')).toEqual({
      ok: true,
      command: {
        kind: 'freeze',
        environment: 'prod',
        end: { kind: 'for', ms: 7_200_000 },
        reason: 'payments release',
      },
    });
    expect(parseCommand('/rollback', 'dev to frozen-tauntaun')).toEqual({
      ok: true,
      command: { kind: 'rollback', environment: 'dev', to: { by: 'alias', value: 'frozen-tauntaun' } },
    });
    expect(parseCommand('/promote', 'prod latest override hotfix')).toEqual({
      ok: true,
      command: { kind: 'promote', environment: 'prod', freight: { by: 'latest' }, override: 'hotfix' },
    });
  });

  it.each([
    ['/freeze', 'prod', /Say why/],
    ['/freeze', 'prod for 2h', /Say why/],
    ['/freeze', 'prod for soon release', /`soon` is not a duration/],
    ['/freeze', 'prod until 25:00 release', /`25:00` is not a time/],
    ['/freeze', 'staging for 2h x', /`staging` is not an environment/],
    ['/unfreeze', 'prod now', /Too many words/],
    ['/rollback', 'prod to latest', /`latest` is not a freight alias/],
    ['/rollback', 'prod to a b', /Too many words/],
    ['/promote', 'prod brave-wampa override', /Say why after `override`/],
    ['/status', 'everything', /I don't understand/],
  ] as const)('%s %s is refused with the usage', (command, text, problem) => {
    const parsed = parseCommand(command, text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message).toMatch(problem);
    expect(parsed.message).toContain(`Usage: ${command}`);
  });
});

describe('a freeze and Kargo’s auto-promotion hold on the cards they concern', () => {
  const frozen: FreezeChanged = {
    type: 'FreezeChanged',
    id: 'freeze:prod:a:b',
    cardId: CARD_ID,
    at: at(5),
    environment: 'prod',
    freeze: { by: { slackUserId: 'U0ALICE' }, reason: 'quarter-end close', until: at(50), open: false },
  };
  const lifted: FreezeChanged = { ...frozen, id: 'unfreeze:prod:a:b', at: at(6), freeze: undefined };
  const text = (events: CardEvent[]): string => JSON.stringify(renderCard(foldEvents(events)!).blocks);

  it('an open card of the frozen environment says it is frozen around it, and stops saying so when it ends', () => {
    const running = [ev.requested(0), ev.resolved(0), ev.created(1), ev.phase('Running', 2)];
    expect(text([...running, frozen])).toContain('prod is frozen');
    expect(text([...running, frozen])).toContain('quarter-end close');
    expect(text([...running, frozen])).toContain('<@U0ALICE>');
    expect(text([...running, frozen, lifted])).not.toContain('is frozen');
    // Another environment's freeze, and a card that had finished, show nothing.
    expect(text([...running, { ...frozen, environment: 'dev' }])).not.toContain('is frozen');
    expect(text([...happyPath(), frozen])).not.toContain('is frozen');
  });

  it('a promotion Kargo marked auto-promotion-hold says so, and how to release it once it succeeded', () => {
    const held: AutoPromotionHeld = {
      type: 'AutoPromotionHeld',
      id: `hold:${PROMOTION}`,
      cardId: CARD_ID,
      at: at(1),
      promotionName: PROMOTION,
      origin: 'Warehouse/infra',
    };
    const [requested, resolved, created] = happyPath();
    expect(text([requested!, resolved!, created!, held])).toContain(
      'When this succeeds, Kargo holds auto-promotion of prod',
    );
    const succeeded = text([...happyPath(), held]);
    expect(succeeded).toContain('Auto-promotion of prod is on hold');
    expect(succeeded).toContain('`/promote prod latest` releases it');
    expect(text([...happyPath().slice(0, -1), ev.phase('Failed', 14), held])).not.toContain('hold');
    // Another promotion's hold is not this card's.
    expect(text([...happyPath(), { ...held, promotionName: 'prod.other.0000000' }])).not.toContain('on hold');
  });
});
