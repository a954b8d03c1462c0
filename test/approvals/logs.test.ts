// No token in the logs. Everything the approvals code does with credentials, at `trace` level (Octokit's
// own debug lines included), on the happy paths and on the failure paths that log errors (a token GitHub
// no longer takes, a refresh GitHub refuses, a code that expired): then every captured log line — and the
// audit stream, and everything shown in Slack — is searched for every secret the stand-in ever handed out
// (installation tokens, device codes, user access and refresh tokens) and the configured ones (client
// secret, encryption keys).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { APPROVE_ACTION_ID } from '../../src/domain/approval.js';
import {
  handleApprovalClick,
  handleApproveLink,
  handleRejectSubmission,
} from '../../src/approvals/handlers.js';
import {
  BOB,
  CAROL,
  DAVE,
  buttonValue,
  linkThroughDeviceFlow,
  secretsOf,
  startHarness,
  type Harness,
} from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    mode: 'reviewer',
    standIn: { environments: { prod: { reviewers: ['bob-gh', 'carol-gh'], preventSelfReview: true } } },
  });
});

afterAll(async () => {
  await h.close();
});

it('never writes a token to the logs, the audit stream or Slack', async () => {
  // Link (device flow, GET /user), approve, reject.
  await linkThroughDeviceFlow(h, BOB, 'bob-gh');
  await linkThroughDeviceFlow(h, CAROL, 'carol-gh');
  const first = await h.promote();
  await h.standIn.runUntilIdle();
  const value = buttonValue(h.rendered.get(first.cardId), APPROVE_ACTION_ID);
  expect(
    (
      await handleApprovalClick(
        { actionValue: value, actor: BOB, decision: 'approved', requestId: 'log-1' },
        h.deps,
      )
    ).status,
  ).toBe('approved');
  await h.standIn.runUntilIdle();

  const second = await h.promote();
  await h.standIn.runUntilIdle();
  const value2 = buttonValue(h.rendered.get(second.cardId), APPROVE_ACTION_ID);
  const prompt = await handleApprovalClick(
    { actionValue: value2, actor: CAROL, decision: 'rejected', requestId: 'log-2' },
    h.deps,
  );
  expect(
    (
      await handleRejectSubmission(
        {
          viewPrivateMetadata: prompt.modal?.private_metadata,
          reason: 'not today',
          actor: CAROL,
          requestId: 'log-3',
        },
        h.deps,
      )
    ).status,
  ).toBe('rejected');
  await h.standIn.runUntilIdle();

  // Refresh before expiry.
  h.clock.offsetMs = 8 * 60 * 60_000;
  expect(await h.tokens.accessToken(BOB.slackUserId, h.flow.refresher())).toMatchObject({ refreshed: true });
  h.clock.offsetMs = 0;

  // A token GitHub no longer takes: the error (with Octokit's request inside) is logged.
  const third = await h.promote();
  await h.standIn.runUntilIdle();
  const bob = await h.tokens.get(BOB.slackUserId);
  h.standIn.expireUserToken(bob?.accessToken ?? '');
  const value3 = buttonValue(h.rendered.get(third.cardId), APPROVE_ACTION_ID);
  const failed = await handleApprovalClick(
    { actionValue: value3, actor: BOB, decision: 'approved', requestId: 'log-4' },
    h.deps,
  );
  expect(failed.status).toBe('failed');
  expect(failed.message.text).toContain('/approve link');

  // A refresh GitHub refuses (refresh token spent), and a link that expires.
  const carol = await h.tokens.get(CAROL.slackUserId);
  await h.flow.refresher()(carol?.refreshToken ?? '');
  h.clock.offsetMs = 8 * 60 * 60_000;
  expect(await h.tokens.accessToken(CAROL.slackUserId, h.flow.refresher())).toMatchObject({
    status: 'expired',
  });
  h.clock.offsetMs = 0;
  const link = await handleApproveLink(
    { actor: DAVE, reply: { channelId: 'C0DEPLOYS' }, requestId: 'log-5' },
    h.deps,
  );
  const code = /`([A-Z]{4}-[A-Z]{4})`/.exec(link.message.text)?.[1] ?? '';
  h.standIn.expireDevice(code);
  await new Promise((r) => setTimeout(r, 60));
  const linkId = (await h.redis.get(`${h.prefix}:approvals:link-user:${DAVE.slackUserId}`)) ?? '';
  expect(await h.links.pollOnce(linkId)).toBe('expired');

  // The search.
  const secrets = secretsOf(h);
  const kinds = (prefix: string) => secrets.filter((s) => s.startsWith(prefix)).length;
  expect(kinds('ghu_')).toBeGreaterThanOrEqual(4); // user access tokens, incl. refreshed ones
  expect(kinds('ghr_')).toBeGreaterThanOrEqual(4); // refresh tokens
  expect(kinds('ghs_')).toBeGreaterThanOrEqual(1); // installation tokens
  expect(secrets.filter((s) => /^[0-9a-f]{40}$/.test(s)).length).toBeGreaterThanOrEqual(3); // device codes
  const lines = h.log.lines;
  expect(lines.length).toBeGreaterThan(20);
  expect(lines.some((l) => l.level === 10)).toBe(true); // trace lines were captured too
  expect(lines.some((l) => String(l.msg).includes('linked GitHub token refreshed'))).toBe(true);
  expect(lines.some((l) => String(l.msg).includes('GitHub no longer accepts your linked token'))).toBe(true);
  const text = h.log.text();
  const audit = JSON.stringify(await h.auditRecords());
  const slack = JSON.stringify([
    ...h.rendered.values(),
    ...h.notified.map((n) => n.message),
    failed.message,
    link.message,
  ]);
  const leaks = secrets.filter((s) => text.includes(s) || audit.includes(s) || slack.includes(s));
  expect(leaks).toEqual([]);
  h.standIn.assertNoViolations();
});
