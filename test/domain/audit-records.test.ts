import { describe, expect, it } from '@jest/globals';
import { auditRecordFor, commandAudit } from '../../src/domain/audit-records.js';
import { CARD_ID, PROMOTION, at, ev } from './builders.js';

describe('auditRecordFor', () => {
  it('attributes a request to the Slack user who made it', () => {
    expect(auditRecordFor(ev.requested(0))).toEqual({
      id: `event:request:${CARD_ID}`,
      at: at(0),
      actor: 'slack:U012ABCDEF',
      action: 'promote',
      environment: 'prod',
      target: 'frozen-tauntaun',
      outcome: 'accepted',
      detail: 'jane (U012ABCDEF) requested a promotion of frozen-tauntaun to prod.',
      channelId: 'C0DEPLOYS',
      cardId: CARD_ID,
    });
  });

  it('attributes a created Promotion to Kargo’s actor, or to the system when unknown', () => {
    expect(auditRecordFor(ev.created(1))).toMatchObject({
      actor: 'kargo:kubernetes:system:serviceaccount:chatops:chatops-bot',
      action: 'promotion.created',
      environment: 'prod',
      target: PROMOTION,
      detail: `Kargo Promotion ${PROMOTION} was created for stage prod with freight f5f87aa.`,
    });
    expect(auditRecordFor({ ...ev.created(1), createdBy: undefined }).actor).toBe('system');
  });

  it('writes one sentence per phase, with its outcome', () => {
    expect(auditRecordFor(ev.phase('Succeeded', 14))).toMatchObject({
      actor: 'system',
      outcome: 'succeeded',
      detail: `Promotion ${PROMOTION} succeeded.`,
    });
    expect(auditRecordFor(ev.phase('Failed', 9, 'step waitRun failed'))).toMatchObject({
      outcome: 'failed',
      detail: `Promotion ${PROMOTION} failed: step waitRun failed`,
    });
    expect(auditRecordFor(ev.phase('Running', 2)).outcome).toBe('info');
  });

  it('names who aborted, from Kargo’s abort message', () => {
    expect(auditRecordFor(ev.phase('Aborted', 5, 'Promotion terminated by admin')).actor).toBe('kargo:admin');
  });

  it('records rejections, steps, freight and runs', () => {
    expect(auditRecordFor(ev.rejected(1))).toMatchObject({
      outcome: 'rejected',
      detail:
        'The promotion was not created (chatops_freight_not_available): f5f87aa (frozen-tauntaun) is not verified in dev yet',
    });
    expect(auditRecordFor(ev.step('dispatch', 'Succeeded', 3, 0)).detail).toBe(
      `Step dispatch of ${PROMOTION} is Succeeded.`,
    );
    expect(auditRecordFor(ev.resolved(0)).detail).toBe(
      'The request was resolved to freight f5f87aa (frozen-tauntaun).',
    );
    expect(auditRecordFor(ev.run(3)).target).toBe('12345');
  });

  it('leaves absent fields out instead of writing undefined', () => {
    const record = auditRecordFor(ev.phase('Running', 2));
    expect(Object.values(record)).not.toContain(undefined);
    expect(record).not.toHaveProperty('environment');
  });

  it('bounds huge free text', () => {
    const record = auditRecordFor(ev.phase('Failed', 9, 'x'.repeat(100_000)));
    expect(record.detail.length).toBeLessThan(500);
  });
});

describe('commandAudit', () => {
  it('records a denied command with the Slack actor', () => {
    expect(
      commandAudit({
        id: 'cmd:trigger-1',
        at: at(0),
        actor: { slackUserId: 'U0BOB' },
        command: '/unlock',
        environment: 'prod',
        outcome: 'denied',
        detail: 'You are not allowed to unlock the Terraform state of prod.',
        channelId: 'C0DEPLOYS',
      }),
    ).toEqual({
      id: 'cmd:trigger-1',
      at: at(0),
      actor: 'slack:U0BOB',
      action: 'unlock',
      environment: 'prod',
      outcome: 'denied',
      detail: 'You are not allowed to unlock the Terraform state of prod.',
      channelId: 'C0DEPLOYS',
    });
  });

  it('accepts a bare user id as actor', () => {
    expect(
      commandAudit({
        id: 'x',
        at: at(0),
        actor: 'U0BOB',
        command: 'approve.button',
        outcome: 'accepted',
        detail: 'ok',
      }),
    ).toMatchObject({
      actor: 'slack:U0BOB',
      action: 'approve.button',
    });
  });
});
