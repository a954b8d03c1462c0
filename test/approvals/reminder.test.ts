// The reminder: one line to #infra-deployments after APPROVAL_REMINDER_MINUTES (here 1 minute = 2.5 s),
// with the card link and the approvers; it fires once, never approves anything, and a decision cancels it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { APPROVE_ACTION_ID } from '../../src/domain/approval.js';
import { handleApprovalClick } from '../../src/approvals/handlers.js';
import { BOB, buttonValue, eventually, secretsOf, startHarness, textOf, type Harness } from './harness.js';

let h: Harness;
const MINUTE_MS = 2500;

beforeAll(async () => {
  h = await startHarness({
    mode: 'protection-rule',
    standIn: { environments: { prod: { customRule: true } } },
    reminderMinutes: 1,
    minuteMs: MINUTE_MS,
    workers: true,
  });
});

afterEach(() => {
  h.standIn.assertNoViolations();
});

afterAll(async () => {
  const logs = h.log.text();
  for (const secret of secretsOf(h)) expect(logs).not.toContain(secret);
  await h.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('approval reminders', () => {
  it('reminds #infra-deployments once, with the card link and the approvers, and approves nothing', async () => {
    const p = await h.promote();
    await h.standIn.runUntilIdle();
    h.clock.offsetMs = 60_000; // the bot's clock when the reminder is due (the stand-in's stands still)
    // A redelivery of the request schedules nothing twice.
    const [delivery] = h.standIn.deliveries({ event: 'deployment_protection_rule', runId: p.runId });
    await h.standIn.redeliver(delivery?.id ?? '');
    const reminder = await eventually('the reminder', () =>
      h.posted.find((m) => textOf(m).includes(p.promotion) || textOf(m).includes(`runs/${p.runId}`)),
    );
    expect(reminder.text).toMatch(/has been waiting for approval for \d+m/);
    expect(textOf(reminder)).toContain('|view the card>');
    expect(textOf(reminder)).toContain('<@U0BOB>');
    expect(textOf(reminder)).toContain('<!subteam^S0SRE>');
    await sleep(MINUTE_MS);
    h.clock.offsetMs = 0;
    expect(h.posted.filter((m) => textOf(m).includes(`runs/${p.runId}`))).toHaveLength(1);
    // Never approved by timeout: GitHub still waits, nothing was decided.
    expect(h.standIn.pendingGates(p.runId)).toEqual([
      { environment: 'prod', customRule: true, reviewers: false },
    ]);
    expect(h.standIn.reviews().filter((r) => r.runId === p.runId)).toHaveLength(0);
    expect((await h.card(p.cardId)).approval?.status).toBe('waiting');
    expect(
      (await h.auditRecords()).filter((r) => r.action === 'approval.reminder' && r.cardId === p.cardId),
    ).toEqual([
      expect.objectContaining({ outcome: 'info', detail: expect.stringContaining('nothing was approved') }),
    ]);
  });

  it('a decision cancels the reminder; a reminder that runs anyway finds it decided and posts nothing', async () => {
    const p = await h.promote();
    await h.standIn.runUntilIdle();
    const value = buttonValue(h.rendered.get(p.cardId), APPROVE_ACTION_ID);
    expect(
      (
        await handleApprovalClick(
          { actionValue: value, actor: BOB, decision: 'approved', requestId: 'rem-1' },
          h.deps,
        )
      ).status,
    ).toBe('approved');
    await sleep(1.5 * MINUTE_MS);
    expect(h.posted.filter((m) => textOf(m).includes(`runs/${p.runId}`))).toHaveLength(0);
    const card = await h.card(p.cardId);
    const posted = await h.reminders.remind({
      cardId: p.cardId,
      environment: 'prod',
      wait: `${p.runId}:prod:${card.approval?.requestKey}`,
      requestKey: card.approval?.requestKey ?? '',
    });
    expect(posted).toBe(false);
    await h.standIn.runUntilIdle();
  });
});
