// Which audit records #infra-audit shows, and the line each gets (pure: src/domain/audit-mirror.ts). The
// records are the ones the bot writes, made by its own record builders from card events and commands.
import { describe, expect, it } from '@jest/globals';
import type { AuditRecord } from '../../src/domain/audit.js';
import {
  AUDIT_RECORD_ACTION_ID,
  actorLabel,
  auditLine,
  formatAuditLine,
  mirrorKindOf,
} from '../../src/domain/audit-mirror.js';
import { auditRecordFor, commandAudit } from '../../src/domain/audit-records.js';
import { BLOCK_KIT_LIMITS, checkMessageLimits } from '../../src/domain/blockkit.js';
import type { CardEvent } from '../../src/domain/events.js';
import { CARD_ID, PROMOTION, at, ev, happyPath } from '../domain/builders.js';

const command = (overrides: Partial<Parameters<typeof commandAudit>[0]> = {}): AuditRecord =>
  commandAudit({
    id: 'cmd:1',
    at: at(0),
    actor: { slackUserId: 'U0ALICE', slackUserName: 'alice' },
    command: '/promote',
    environment: 'prod',
    outcome: 'denied',
    detail: '/promote prod: not allowed',
    ...overrides,
  });

const mirrored = (records: AuditRecord[]): string[] =>
  records.filter((r) => mirrorKindOf(r) !== undefined).map((r) => r.id);

describe('mirrorKindOf: one line per decision and per phase change', () => {
  it('a whole promotion: the request, created, running, succeeded — not its steps, run or freight', () => {
    const events: CardEvent[] = [...happyPath(), ev.step('waitRun', 'Running', 4, 1), ev.run(5)];
    const records = events.map(auditRecordFor);
    expect(records.length).toBeGreaterThan(8);
    expect(mirrored(records)).toEqual([
      `event:request:${CARD_ID}`,
      `event:created:${PROMOTION}`,
      `event:phase:${PROMOTION}:Running`,
      `event:phase:${PROMOTION}:Succeeded`,
    ]);
    expect(mirrorKindOf(auditRecordFor(ev.requested(0)))).toBe('decision');
    expect(mirrorKindOf(auditRecordFor(ev.phase('Failed', 3)))).toBe('phase');
    expect(mirrorKindOf(auditRecordFor(ev.phase('Pending', 1)))).toBeUndefined();
  });

  it('commands and buttons with a verdict are decisions; looking (info) is not', () => {
    expect(mirrorKindOf(command())).toBe('decision');
    expect(mirrorKindOf(command({ command: 'unlock.confirm', outcome: 'succeeded' }))).toBe('decision');
    expect(
      mirrorKindOf(command({ command: '/unlock', outcome: 'info', detail: 'looked at dev' })),
    ).toBeUndefined();
    expect(mirrorKindOf(command({ command: '/approve', outcome: 'info', detail: 'listed' }))).toBeUndefined();
    expect(mirrorKindOf(command({ command: '/freight', outcome: 'accepted' }))).toBeUndefined();
  });

  it('the controls added for freezes and rollbacks are decisions', () => {
    for (const action of ['freeze', 'unfreeze', 'rollback', 'promote.override']) {
      expect([action, mirrorKindOf(command({ command: action, outcome: 'accepted' }))]).toEqual([
        action,
        'decision',
      ]);
    }
  });

  it('a copy of a decision that has its own line gets none', () => {
    // The approval's "allowed, sending it to GitHub" step: its verdict follows as approve / reject.
    expect(
      mirrorKindOf(
        command({ id: 'approval:button:req-1:accepted', command: 'approve.button', outcome: 'accepted' }),
      ),
    ).toBeUndefined();
    expect(mirrorKindOf(command({ id: 'approval:button:req-1:refused', command: 'approve.button' }))).toBe(
      'decision',
    );
    // An unlock's "confirmed, releasing it if unchanged" step: its result follows, whatever it is.
    expect(
      mirrorKindOf(
        command({ id: 'unlock:confirm:r1:confirmed', command: 'unlock.confirm', outcome: 'accepted' }),
      ),
    ).toBeUndefined();
    expect(
      mirrorKindOf(command({ id: 'unlock:confirm:r1:result', command: 'unlock.confirm', outcome: 'info' })),
    ).toBe('decision');
    expect(
      mirrorKindOf(
        command({ id: 'approval:button:req-1:result', command: 'approve.button', outcome: 'info' }),
      ),
    ).toBe('decision');
    // The card's copy of a cancel: the cancel command records the verdict.
    const cancelEvent = auditRecordFor({
      type: 'CancelRequested',
      id: 'cancel:1',
      cardId: CARD_ID,
      at: at(2),
      by: { slackUserId: 'U0ALICE' },
      via: 'command',
      reason: 'wrong freight',
    } as CardEvent);
    expect(mirrorKindOf(cancelEvent)).toBeUndefined();
    expect(mirrorKindOf(command({ id: 'cancel:r1:aborted', command: '/cancel', outcome: 'accepted' }))).toBe(
      'decision',
    );
  });

  it('a job that failed for good is a decision of the bot; summaries stay summaries', () => {
    expect(mirrorKindOf(command({ id: 'failed:req-1', command: 'promote', outcome: 'failed' }))).toBe(
      'decision',
    );
    for (const action of ['edge.refused', 'drift.detected', 'drift.changed', 'drift.resolved']) {
      expect(mirrorKindOf(command({ command: action, outcome: 'info' }))).toBe('summary');
    }
  });
});

describe('the line', () => {
  it('reads who, what, where and the outcome; the sentence follows', () => {
    const requested = auditRecordFor(
      ev.requested(0, {
        environment: 'dev',
        requestedBy: { slackUserId: 'U0ALICE', slackUserName: 'alice' },
      }),
    );
    expect(formatAuditLine(requested)).toBe(
      ':white_check_mark: *promote* dev by <@U0ALICE> — accepted: alice (U0ALICE) requested a promotion of frozen-tauntaun to dev.',
    );
    expect(formatAuditLine(command())).toBe(
      ':no_entry: *promote* prod by <@U0ALICE> — denied: /promote prod: not allowed',
    );
  });

  it('names the target only when the sentence does not, escaped', () => {
    expect(
      formatAuditLine({
        ...command(),
        actor: 'github:octo<cat>',
        target: 'frozen-`tiger`',
        detail: 'four-eyes & co',
      }),
    ).toBe(
      ":no_entry: *promote* prod by github:octo&lt;cat&gt; — denied: four-eyes &amp; co · `frozen-'tiger'`",
    );
    const phase = auditRecordFor(ev.phase('Succeeded', 9));
    expect(formatAuditLine(phase)).not.toContain(`\`${PROMOTION}\``);
    expect(formatAuditLine(phase)).toContain(`Promotion ${PROMOTION} succeeded.`);
  });

  it('takes the environment and the links from the card when the record has none', () => {
    const phase = auditRecordFor(ev.phase('Running', 2));
    expect(
      formatAuditLine(phase, {
        environment: 'prod',
        cardUrl: 'https://acme.slack.com/archives/C0DEPLOYS/p1700000000000100',
        runUrl: 'https://github.com/acme/infra/actions/runs/42',
      }),
    ).toBe(
      `:information_source: *promotion.phase* prod by system — info: Promotion ${PROMOTION} is running. · <https://acme.slack.com/archives/C0DEPLOYS/p1700000000000100|card> · <https://github.com/acme/infra/actions/runs/42|run>`,
    );
    // A link that is not http(s) is left out, never rendered.
    const unsafe = formatAuditLine(phase, { runUrl: 'javascript:alert(1)' });
    expect(unsafe).not.toContain('javascript');
    expect(unsafe).not.toContain('|run>');
  });

  it('a promotion line carries the Full record button; others have none; nothing else gets a message', () => {
    const line = auditLine(auditRecordFor(ev.phase('Failed', 3)));
    expect(line?.blocks?.[0]).toMatchObject({
      type: 'section',
      accessory: { type: 'button', action_id: AUDIT_RECORD_ACTION_ID, value: CARD_ID },
    });
    expect(auditLine(command())?.blocks?.[0]).not.toHaveProperty('accessory');
    expect(auditLine(auditRecordFor(ev.step('dispatch', 'Running', 2, 0)))).toBeUndefined();
  });

  it('stays within Block Kit limits for the longest sentence', () => {
    const line = auditLine(command({ detail: `${'&<>'.repeat(400)} ${'x'.repeat(2000)}`, cardId: CARD_ID }));
    expect(line).toBeDefined();
    expect(checkMessageLimits(line!)).toEqual([]);
    expect(line!.text.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.sectionText);
  });

  it('mentions Slack users, and writes anyone else as plain text', () => {
    expect(actorLabel('slack:U0ALICE')).toBe('<@U0ALICE>');
    expect(actorLabel('kargo:admin')).toBe('kargo:admin');
    expect(actorLabel('slack:<!channel>')).toBe('slack:&lt;!channel&gt;');
  });
});
