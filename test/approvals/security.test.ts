// The approval buttons under attack: a value edited to name another promotion or environment, a foreign
// or truncated value, an unknown nonce, a modal's private_metadata edited, a button from before a re-run —
// each refused (nothing reaches GitHub) and audited. Plus: a run whose state GitHub knows better than the
// card (webhooks lost) is still a clear no-op.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { APPROVE_ACTION_ID } from '../../src/domain/approval.js';
import { createGithubClient } from '../../src/github/client.js';
import { handleApprovalClick, handleRejectSubmission } from '../../src/approvals/handlers.js';
import { ApprovalService } from '../../src/approvals/service.js';
import { BOB, POLICY, buttonValue, secretsOf, startHarness, type Harness } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    mode: 'protection-rule',
    standIn: { environments: { prod: { customRule: true } } },
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

async function waiting() {
  const p = await h.promote();
  await h.standIn.runUntilIdle();
  const value = buttonValue(h.rendered.get(p.cardId), APPROVE_ACTION_ID);
  if (!value) throw new Error('no buttons on the card');
  return { ...p, value, parsed: JSON.parse(value) as { card: string; env: string; nonce: string } };
}

const reviewsOf = (runId: number) => h.standIn.reviews().filter((r) => r.runId === runId);

describe('tampered approval buttons', () => {
  it('refuses a value edited to name another promotion (its nonce belongs to the first)', async () => {
    const a = await waiting();
    const b = await waiting();
    const edited = JSON.stringify({ ...a.parsed, card: b.cardId });
    const reply = await handleApprovalClick(
      { actionValue: edited, actor: BOB, decision: 'approved', requestId: 'tamper-card' },
      h.deps,
    );
    expect(reply.status).toBe('refused-tampered');
    expect(reviewsOf(a.runId)).toHaveLength(0);
    expect(reviewsOf(b.runId)).toHaveLength(0);
    expect((await h.auditRecords()).find((r) => r.id === 'approval-click:tamper-card:refused')).toMatchObject(
      {
        actor: 'slack:U0BOB',
        outcome: 'denied',
        detail: expect.stringContaining(
          `naming card ${b.cardId} (prod), but its nonce belongs to card ${a.cardId} (prod)`,
        ),
      },
    );
    // Both stay open to their own buttons.
    expect(
      (
        await handleApprovalClick(
          { actionValue: b.value, actor: BOB, decision: 'approved', requestId: 'tamper-card-ok' },
          h.deps,
        )
      ).status,
    ).toBe('approved');
  });

  it('refuses a value edited to name another environment', async () => {
    const a = await waiting();
    const edited = JSON.stringify({ ...a.parsed, env: 'dev' }); // Bob may approve dev too: RBAC passes
    const reply = await handleApprovalClick(
      { actionValue: edited, actor: BOB, decision: 'approved', requestId: 'tamper-env' },
      h.deps,
    );
    expect(reply.status).toBe('refused-tampered');
    expect(reviewsOf(a.runId)).toHaveLength(0);
    expect((await h.auditRecords()).find((r) => r.id === 'approval-click:tamper-env:refused')).toMatchObject({
      outcome: 'denied',
      detail: expect.stringContaining('(dev), but its nonce belongs to card'),
    });
  });

  it('refuses values the bot did not write, and unknown nonces', async () => {
    const a = await waiting();
    const cases: Array<[string, unknown, string]> = [
      ['junk', 'approve-everything', 'refused-tampered'],
      ['extra-key', JSON.stringify({ ...a.parsed, runId: 1 }), 'refused-tampered'],
      ['truncated', a.value.slice(0, -3), 'refused-tampered'],
      ['not-a-string', { ...a.parsed }, 'refused-tampered'],
      ['bad-card-id', JSON.stringify({ ...a.parsed, card: 'req-../../etc' }), 'refused-tampered'],
      ['unknown-nonce', JSON.stringify({ ...a.parsed, nonce: 'AAAAAAAAAAAAAAAAAAAAAA' }), 'refused-expired'],
    ];
    for (const [name, value, status] of cases) {
      const reply = await handleApprovalClick(
        { actionValue: value, actor: BOB, decision: 'approved', requestId: `bad-${name}` },
        h.deps,
      );
      expect([name, reply.status]).toEqual([name, status]);
      expect(
        (await h.auditRecords()).find((r) => r.id === `approval-click:bad-${name}:refused`),
      ).toMatchObject({ outcome: 'denied' });
    }
    expect(reviewsOf(a.runId)).toHaveLength(0);
  });

  it('refuses a Reject modal whose private_metadata was edited, and checks the clicking user again on submit', async () => {
    const a = await waiting();
    const b = await waiting();
    const click = await handleApprovalClick(
      { actionValue: a.value, actor: BOB, decision: 'rejected', channelId: 'C0DEPLOYS', requestId: 'meta-1' },
      h.deps,
    );
    const metadata = JSON.parse(click.modal?.private_metadata ?? '{}') as Record<string, unknown>;
    expect(metadata).toEqual({ ...a.parsed, channel: 'C0DEPLOYS' });
    const edited = JSON.stringify({ ...metadata, card: b.cardId });
    const reply = await handleRejectSubmission(
      { viewPrivateMetadata: edited, reason: 'looks wrong to me', actor: BOB, requestId: 'meta-2' },
      h.deps,
    );
    expect(reply.status).toBe('refused-tampered');
    const outsider = await handleRejectSubmission(
      {
        viewPrivateMetadata: click.modal?.private_metadata,
        reason: 'looks wrong to me',
        actor: { slackUserId: 'U0EVE' },
        requestId: 'meta-3',
      },
      h.deps,
    );
    expect(outsider.status).toBe('denied-forbidden');
    expect(reviewsOf(a.runId)).toHaveLength(0);
    expect(reviewsOf(b.runId)).toHaveLength(0);
    const records = await h.auditRecords();
    expect(records.find((r) => r.id === 'approval-reject:meta-2:refused')).toMatchObject({
      outcome: 'denied',
    });
    expect(records.find((r) => r.id === 'approval-reject:meta-3:refused')).toMatchObject({
      actor: 'slack:U0EVE',
      outcome: 'denied',
    });
  });

  it('a button from an earlier wait acts on nothing once the card waits for a newer one', async () => {
    const a = await waiting();
    // The card learns of a later wait (a re-run): the old button's nonce names the old wait.
    const card = await h.card(a.cardId);
    await h.cards.record({
      type: 'ApprovalRequested',
      id: `approval-requested:${a.runId}:prod:deployment:999`,
      cardId: a.cardId,
      at: new Date(Date.parse(card.approval?.requestedAt ?? '') + 60_000).toISOString(),
      runId: a.runId,
      environment: 'prod',
      mode: 'protection-rule',
      requestedAt: new Date(Date.parse(card.approval?.requestedAt ?? '') + 60_000).toISOString(),
      requestKey: 'deployment:999',
      reviewUrl: card.approval?.reviewUrl ?? '',
    });
    const reply = await handleApprovalClick(
      { actionValue: a.value, actor: BOB, decision: 'approved', requestId: 'old-wait' },
      h.deps,
    );
    expect(reply.status).toBe('noop-not-waiting');
    expect(reviewsOf(a.runId)).toHaveLength(0);
  });

  it('asks GitHub when the card does not know the run ended (webhooks lost): still a clear no-op', async () => {
    const a = await waiting();
    h.standIn.sendWebhooksFor(false);
    try {
      const octokit = createGithubClient(h.github, { logger: h.log.logger });
      await octokit.rest.actions.cancelWorkflowRun({
        owner: h.standIn.owner,
        repo: h.standIn.repo,
        run_id: a.runId,
      });
      await h.standIn.runUntilIdle();
    } finally {
      h.standIn.sendWebhooksFor(true);
    }
    expect((await h.card(a.cardId)).run?.status).not.toBe('completed');
    const reply = await handleApprovalClick(
      { actionValue: a.value, actor: BOB, decision: 'approved', requestId: 'lost-hooks' },
      h.deps,
    );
    expect(reply.status).toBe('noop-not-waiting');
    expect(reply.message.text).toContain('has ended (cancelled)');
    expect(reviewsOf(a.runId)).toHaveLength(0);
    // The claim was released: nothing is stuck "in flight".
    expect(
      await h.state.readClaim(`${a.runId}:prod:${(await h.card(a.cardId)).approval?.requestKey}`),
    ).toBeNull();
  });

  it('a decision GitHub took but the card did not record (worker died) is finished by the next click, never sent twice', async () => {
    const a = await waiting();
    let failOnce = true;
    const crashing = new ApprovalService({
      config: h.config,
      github: h.github,
      access: POLICY,
      cards: {
        load: (id) => h.cards.load(id),
        record: async (event) => {
          if (failOnce) {
            failOnce = false;
            throw new Error('Redis went away');
          }
          await h.cards.record(event);
        },
      },
      state: h.state,
      tokens: h.tokens,
      installation: () => createGithubClient(h.github, { logger: h.log.logger }),
      userClient: () => {
        throw new Error('not used in protection-rule mode');
      },
      audit: h.audit,
      logger: h.log.logger,
      now: h.now,
    });
    await expect(
      crashing.decide({
        cardId: a.cardId,
        environment: 'prod',
        decision: 'approved',
        actor: BOB,
        via: 'button',
        requestId: 'crash-1',
      }),
    ).rejects.toThrow('Redis went away');
    expect(reviewsOf(a.runId)).toHaveLength(1);
    expect((await h.card(a.cardId)).approval?.status).toBe('waiting');
    const next = await handleApprovalClick(
      { actionValue: a.value, actor: BOB, decision: 'approved', requestId: 'crash-2' },
      h.deps,
    );
    expect(next.status).toBe('noop-decided');
    expect((await h.card(a.cardId)).approval).toMatchObject({
      status: 'approved',
      by: { slackUserId: 'U0BOB' },
    });
    expect(reviewsOf(a.runId)).toHaveLength(1);
    expect(
      (await h.auditRecords()).filter((r) => r.action === 'approve' && r.target === String(a.runId)),
    ).toHaveLength(1);
  });
});
