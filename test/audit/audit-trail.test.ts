// The full record of one promotion (pure: src/domain/audit-trail.ts) and the `/audit` command's words
// (src/domain/commands.ts): every record, oldest first, in pages Slack accepts, each page asking for the next.
import { describe, expect, it } from '@jest/globals';
import type { AuditRecord } from '../../src/domain/audit.js';
import { AUDIT_RECORD_ACTION_ID } from '../../src/domain/audit-mirror.js';
import { auditRecordFor } from '../../src/domain/audit-records.js';
import {
  auditAccessRefusal,
  promotionNameOf,
  recordTime,
  renderAuditTrail,
  unknownAuditTarget,
} from '../../src/domain/audit-trail.js';
import { checkMessageLimits } from '../../src/domain/blockkit.js';
import { SLASH_COMMANDS, formatCommand, helpText, parseCommand } from '../../src/domain/commands.js';
import { parseDetailsValue } from '../../src/domain/details.js';
import { CARD_ID, PROMOTION, happyPath } from '../domain/builders.js';

interface Block {
  type: string;
  text?: { text: string };
  elements?: Array<{ action_id?: string; value?: string; text?: unknown }>;
}
const blocksOf = (message: { blocks?: unknown[] }): Block[] => (message.blocks ?? []) as Block[];
const sectionsText = (message: { blocks?: unknown[] }): string =>
  blocksOf(message)
    .filter((b) => b.type === 'section')
    .map((b) => b.text?.text ?? '')
    .join('\n');
const moreButton = (message: { blocks?: unknown[] }) =>
  blocksOf(message)
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === AUDIT_RECORD_ACTION_ID);

const gateRecord = (n: number): AuditRecord => ({
  id: `event:gate:${n}`,
  at: new Date(Date.UTC(2026, 10, 27, 10, 0, n)).toISOString(),
  actor: 'system',
  action: 'gate.result',
  environment: 'prod',
  target: `gate-${n}/aws/prod`,
  outcome: 'succeeded',
  detail: `Gate number ${n} for aws prod passed ${'with a long sentence '.repeat(8)}.`,
  cardId: CARD_ID,
});

describe('renderAuditTrail', () => {
  const records = happyPath().map(auditRecordFor);

  it('shows every record of the promotion, oldest first, with its time, marking the lines #infra-audit shows', () => {
    const message = renderAuditTrail(records, { cardId: CARD_ID, promotionName: promotionNameOf(records) });
    expect(message.text).toBe(`Full audit record of ${PROMOTION}: ${records.length} records`);
    expect(blocksOf(message)[0]).toMatchObject({ type: 'header' });
    const text = sectionsText(message);
    const lines = text.split('\n');
    expect(lines).toHaveLength(records.length);
    expect(lines[0]).toBe(
      '`2026-11-27 10:00:00` 📣 :white_check_mark: *promote* prod by <@U012ABCDEF> — accepted: jane (U012ABCDEF) requested a promotion of frozen-tauntaun to prod.',
    );
    expect(lines.filter((l) => l.includes('📣'))).toHaveLength(4);
    // Records that name no environment read with the promotion's, as on the #infra-audit lines.
    expect(lines.at(-1)).toContain('📣 :large_green_circle: *promotion.phase* prod by system — succeeded:');
    expect(text).toContain('*promotion.step*');
    expect(text).toContain('Step dispatch of');
    expect(moreButton(message)).toBeUndefined();
    expect(checkMessageLimits(message)).toEqual([]);
  });

  it('pages a long record within Block Kit limits; More asks for the next page of the same card', () => {
    const many = Array.from({ length: 300 }, (_, i) => gateRecord(i));
    const first = renderAuditTrail(many, { cardId: CARD_ID }, 1);
    const button = moreButton(first);
    expect(button?.value).toBeDefined();
    expect(parseDetailsValue(button?.value)).toEqual({ cardId: CARD_ID, page: 2 });
    const pages = Number(/page 1 of (\d+)/.exec(first.text)?.[1]);
    expect(pages).toBeGreaterThan(2);
    const shown: string[] = [];
    for (let page = 1; page <= pages; page++) {
      const message = renderAuditTrail(many, { cardId: CARD_ID }, page);
      expect(checkMessageLimits(message)).toEqual([]);
      shown.push(...sectionsText(message).split('\n'));
      if (page === pages) expect(moreButton(message)).toBeUndefined();
    }
    // Every record exactly once, in order.
    expect(shown.map((line) => /gate number (\d+)/i.exec(line)?.[1])).toEqual(many.map((_, i) => String(i)));
  });

  it('says so when the stream keeps nothing of it any more', () => {
    const message = renderAuditTrail([], { cardId: CARD_ID });
    expect(sectionsText(message)).toMatch(/keeps no record/);
    expect(message.text).toBe(`Full audit record of ${CARD_ID}: 0 records`);
  });

  it('links the card when its permalink is known', () => {
    const message = renderAuditTrail(records, {
      cardId: CARD_ID,
      cardUrl: 'https://acme.slack.com/archives/C0DEPLOYS/p1700000000000100',
    });
    expect(JSON.stringify(message.blocks)).toContain(
      '<https://acme.slack.com/archives/C0DEPLOYS/p1700000000000100|its card>',
    );
  });

  it('writes times as UTC and never trusts a malformed one', () => {
    expect(recordTime('2026-11-27T10:00:01.123Z')).toBe('2026-11-27 10:00:01');
    expect(recordTime('<!here>')).toBe('&lt;!here&gt;');
  });

  it('refusals say where to ask, and echo the input safely', () => {
    expect(auditAccessRefusal('C0AUDIT')).toContain('<#C0AUDIT>');
    const unknown = unknownAuditTarget('prod.`<!channel>`');
    expect(unknown).toContain('`prod.!channel`');
    expect(unknown).not.toContain('<!channel>');
  });
});

describe('/audit', () => {
  it('is a command with help and usage', () => {
    expect(SLASH_COMMANDS).toContain('/audit');
    expect(parseCommand('/audit', 'help')).toEqual({
      ok: true,
      command: { kind: 'help', command: '/audit' },
    });
    expect(helpText('/audit')).toMatch(/Usage: \/audit <promotion \| card id>/);
    expect(helpText('/audit')).toMatch(/#infra-audit/);
  });

  it('takes one promotion name or card id', () => {
    expect(parseCommand('/audit', ` *${PROMOTION}* `)).toEqual({
      ok: true,
      command: { kind: 'audit', target: PROMOTION },
    });
    expect(parseCommand('/audit', CARD_ID.toUpperCase())).toEqual({
      ok: true,
      command: { kind: 'audit', target: CARD_ID },
    });
    const command = parseCommand('/audit', PROMOTION);
    if (!command.ok) throw new Error(command.message);
    const text = formatCommand(command.command);
    expect(parseCommand(text.command, text.text)).toEqual(command);
  });

  it('refuses nothing, two things, or what is no name, with the usage line', () => {
    for (const text of ['', 'prod.a b', 'not/a/name', '`<@U1>`!']) {
      const result = parseCommand('/audit', text);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.message).toContain('Usage: /audit');
    }
  });
});
