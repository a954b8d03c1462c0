// `/approve link` against the stand-in's device flow (its web listener plays github.com): the user code
// shown only to the user, polling that honours `interval`, `authorization_pending` and `slow_down`,
// expiry and refusal, the login found with GET /user; then the stored token: encrypted at rest, refreshed
// before it expires (rotating the refresh token), unreadable after a key rotation that dropped the old
// key (= not linked), re-encrypted with the new key when the old one is still listed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Queue } from 'bullmq';
import { handleApproveLink } from '../../src/approvals/handlers.js';
import { APPROVAL_LINK_QUEUE } from '../../src/approvals/device-flow.js';
import { TokenCipher, TokenStore } from '../../src/approvals/token-store.js';
import { resolveApprovalsConfig } from '../../src/approvals/config.js';
import { createGithubClient } from '../../src/github/client.js';
import type { Actor } from '../../src/domain/types.js';
import {
  BOB,
  CAROL,
  DAVE,
  KEY_A,
  KEY_B,
  eventually,
  secretsOf,
  startHarness,
  type Harness,
} from './harness.js';

let h: Harness;
const UNIT = 40; // ms per second of GitHub's interval: interval 5 s = 200 ms

beforeAll(async () => {
  h = await startHarness({ mode: 'reviewer', secondsMs: UNIT });
});

afterEach(() => {
  h.standIn.assertNoViolations();
});

afterAll(async () => {
  const logs = h.log.text();
  for (const secret of secretsOf(h)) expect(logs).not.toContain(secret);
  const audit = JSON.stringify(await h.auditRecords());
  for (const secret of secretsOf(h)) expect(audit).not.toContain(secret);
  for (const { message } of h.notified)
    for (const secret of secretsOf(h)) expect(JSON.stringify(message)).not.toContain(secret);
  await h.close();
});

async function startLink(actor: Actor, requestId: string) {
  const reply = await handleApproveLink(
    { actor, reply: { channelId: 'C0DEPLOYS', responseUrl: 'https://hooks.slack.com/x' }, requestId },
    h.deps,
  );
  expect(reply.status).toBe('link-started');
  const userCode = /`([A-Z]{4}-[A-Z]{4})`/.exec(reply.message.text)?.[1] as string;
  expect(reply.message.text).toContain(`${h.standIn.webUrl}/login/device`);
  const linkId = (await h.redis.get(`${h.prefix}:approvals:link-user:${actor.slackUserId}`)) as string;
  return { reply, userCode, linkId };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const outcomes = () => h.standIn.webRequests().map((r) => r.outcome);

describe('linking with the device flow', () => {
  it('polls through authorization_pending, slows down on slow_down, and links the GitHub login', async () => {
    const before = h.standIn.webRequests().length;
    const { linkId, userCode, reply } = await startLink(BOB, 'link-bob');
    expect(reply.message.text).toContain('within 15 minutes');
    const queue = new Queue(APPROVAL_LINK_QUEUE, { connection: h.redis, prefix: h.prefix });
    try {
      // The first poll is scheduled one interval ahead.
      expect((await queue.getJob(`link-${linkId}-0`))?.opts.delay).toBe(5 * UNIT);
      await sleep(5 * UNIT + 10);
      expect(await h.links.pollOnce(linkId)).toBe('pending'); // authorization_pending
      expect((await queue.getJob(`link-${linkId}-1`))?.opts.delay).toBe(5 * UNIT);
      // Polling again at once is too fast: GitHub says slow_down with a new interval (+5 s) …
      expect(await h.links.pollOnce(linkId)).toBe('pending');
      expect((await queue.getJob(`link-${linkId}-2`))?.opts.delay).toBe(10 * UNIT);
      // … which the bot keeps: after 10 s, with the user done, the next poll gets the token.
      h.standIn.authorizeDevice(userCode, 'bob-gh');
      await sleep(10 * UNIT + 10);
      expect(await h.links.pollOnce(linkId)).toBe('linked');
    } finally {
      await queue.close();
    }
    const seen = h.standIn.webRequests().slice(before);
    expect(seen.map((r) => [r.path, r.grantType ?? '', r.outcome])).toEqual([
      ['/login/device/code', '', 'ok'],
      ['/login/oauth/access_token', 'urn:ietf:params:oauth:grant-type:device_code', 'authorization_pending'],
      ['/login/oauth/access_token', 'urn:ietf:params:oauth:grant-type:device_code', 'slow_down'],
      ['/login/oauth/access_token', 'urn:ietf:params:oauth:grant-type:device_code', 'ok'],
    ]);
    expect(await h.tokens.info(BOB.slackUserId)).toMatchObject({ githubLogin: 'bob-gh' });
    expect(await h.tokens.slackUserForLogin('BOB-gh')).toBe(BOB.slackUserId);
    expect(h.standIn.requests({ operationId: 'users/get-authenticated' }).at(-1)).toMatchObject({
      auth: 'user',
      status: 200,
    });
    expect(h.notified.at(-1)?.message.text).toContain('*bob-gh* is linked');
    // At rest: encrypted, with the key id in front; no token in Redis in clear.
    const stored = await h.redis.hgetall(`${h.prefix}:approvals:link:${BOB.slackUserId}`);
    expect(stored.secret).toMatch(new RegExp(`^v1\\.${KEY_A.id}\\.`));
    const dump = JSON.stringify(stored);
    for (const secret of h.standIn.issuedSecrets()) expect(dump).not.toContain(secret);
    expect(
      (await h.auditRecords()).find((r) => r.action === 'approve.link' && r.outcome === 'succeeded'),
    ).toMatchObject({
      actor: 'slack:U0BOB',
      target: 'bob-gh',
    });
  });

  it('the BullMQ worker does the polling by itself, each poll a delayed job', async () => {
    h.links.startWorker();
    const { userCode } = await startLink(DAVE, 'link-dave');
    await sleep(3 * 5 * UNIT);
    h.standIn.authorizeDevice(userCode, 'dave-gh');
    await eventually('dave told', () =>
      h.notified.some((n) => n.message.text.includes('*dave-gh* is linked')),
    );
    expect((await h.tokens.info(DAVE.slackUserId))?.githubLogin).toBe('dave-gh');
    await h.links.stopWorker();
  });

  it('an expired code ends the link and says so; a declined one too', async () => {
    const carol = await startLink(CAROL, 'link-carol-1');
    h.standIn.expireDevice(carol.userCode);
    await sleep(5 * UNIT + 5);
    expect(await h.links.pollOnce(carol.linkId)).toBe('expired');
    expect(outcomes().at(-1)).toBe('expired_token');
    expect(h.notified.at(-1)?.message.text).toContain('expired');
    expect(await h.links.pollOnce(carol.linkId)).toBe('gone');
    expect(await h.tokens.info(CAROL.slackUserId)).toBeNull();

    const again = await startLink(CAROL, 'link-carol-2');
    h.standIn.denyDevice(again.userCode);
    await sleep(5 * UNIT + 5);
    expect(await h.links.pollOnce(again.linkId)).toBe('denied');
    expect(outcomes().at(-1)).toBe('access_denied');
    expect(h.notified.at(-1)?.message.text).toContain('declined');
    const records = await h.auditRecords();
    expect(
      records.filter((r) => r.action === 'approve.link' && r.actor === 'slack:U0CAROL').map((r) => r.outcome),
    ).toEqual(expect.arrayContaining(['info', 'failed', 'denied']));
  });
});

describe('the stored token', () => {
  it('is refreshed before it expires (8 h), and the refresh token rotates', async () => {
    const first = await h.tokens.accessToken(BOB.slackUserId, h.flow.refresher());
    expect(first).toMatchObject({ status: 'ok', login: 'bob-gh', refreshed: false });
    if (first.status !== 'ok') return;
    // 7 h 55 min later: inside the 10-minute margin.
    h.clock.offsetMs = (8 * 60 - 5) * 60_000;
    try {
      const second = await h.tokens.accessToken(BOB.slackUserId, h.flow.refresher());
      expect(second).toMatchObject({ status: 'ok', refreshed: true });
      if (second.status !== 'ok') return;
      expect(second.token).not.toBe(first.token);
      expect(h.standIn.webRequests().at(-1)).toMatchObject({ grantType: 'refresh_token', outcome: 'ok' });
      // GitHub no longer accepts the old access token; the new one works.
      const oldClient = createGithubClient(
        { ...h.github, auth: { kind: 'token', token: first.token } },
        { logger: h.log.logger },
      );
      await expect(oldClient.rest.users.getAuthenticated()).rejects.toMatchObject({ status: 401 });
      const newClient = createGithubClient(
        { ...h.github, auth: { kind: 'token', token: second.token } },
        { logger: h.log.logger },
      );
      expect((await newClient.rest.users.getAuthenticated()).data.login).toBe('bob-gh');
      // Asked again at the same time: no second refresh.
      const third = await h.tokens.accessToken(BOB.slackUserId, h.flow.refresher());
      expect(third).toMatchObject({ status: 'ok', refreshed: false });
    } finally {
      h.clock.offsetMs = 0;
    }
  });

  it('two callers needing a refresh at once refresh it once (refresh tokens are single-use)', async () => {
    h.clock.offsetMs = 2 * 8 * 60 * 60_000;
    try {
      const before = h.standIn.webRequests().filter((r) => r.grantType === 'refresh_token').length;
      const [a, b] = await Promise.all([
        h.tokens.accessToken(BOB.slackUserId, h.flow.refresher()),
        h.tokens.accessToken(BOB.slackUserId, h.flow.refresher()),
      ]);
      expect(a.status).toBe('ok');
      expect(b.status).toBe('ok');
      expect(h.standIn.webRequests().filter((r) => r.grantType === 'refresh_token').length - before).toBe(1);
    } finally {
      h.clock.offsetMs = 0;
    }
  });

  it('a refresh token GitHub no longer takes unlinks the account (reads as not linked)', async () => {
    const dave = await h.tokens.get(DAVE.slackUserId);
    if (!dave?.refreshToken) throw new Error('dave is linked with a refresh token');
    // The refresh token is spent elsewhere (refresh tokens are single-use): GitHub says bad_refresh_token.
    expect((await h.flow.refresher()(dave.refreshToken)).ok).toBe(true);
    h.clock.offsetMs = 8 * 60 * 60_000;
    try {
      const result = await h.tokens.accessToken(DAVE.slackUserId, h.flow.refresher());
      expect(result).toMatchObject({
        status: 'expired',
        login: 'dave-gh',
        reason: expect.stringContaining('bad_refresh_token'),
      });
      expect(h.standIn.webRequests().at(-1)).toMatchObject({
        grantType: 'refresh_token',
        outcome: 'bad_refresh_token',
      });
    } finally {
      h.clock.offsetMs = 0;
    }
    expect(await h.tokens.info(DAVE.slackUserId)).toBeNull();
    expect(await h.tokens.slackUserForLogin('dave-gh')).toBeUndefined();
  });

  it('past the refresh token’s six months the bot does not even ask: link again', async () => {
    h.clock.offsetMs = 200 * 24 * 60 * 60_000;
    try {
      const result = await h.tokens.accessToken(BOB.slackUserId, h.flow.refresher());
      expect(result).toMatchObject({ status: 'expired', login: 'bob-gh' });
    } finally {
      h.clock.offsetMs = 0;
    }
    expect(await h.tokens.info(BOB.slackUserId)).toBeNull();
  });

  it('decrypts with a rotated key while the old one is listed (and re-encrypts); without it, not linked', async () => {
    await h.tokens.link({
      slackUserId: 'U0ROT',
      githubLogin: 'rot-gh',
      githubUserId: 42,
      linkedAt: new Date().toISOString(),
      accessToken: 'ghu_rotationTestToken000000000000000000',
    });
    const rotated = new TokenStore({
      redis: h.redis,
      prefix: h.prefix,
      cipher: new TokenCipher({ current: KEY_B, previous: [KEY_A] }),
      logger: h.log.logger,
    });
    expect((await rotated.get('U0ROT'))?.accessToken).toBe('ghu_rotationTestToken000000000000000000');
    expect(
      (await h.redis.hget(`${h.prefix}:approvals:link:U0ROT`, 'secret'))?.startsWith(`v1.${KEY_B.id}.`),
    ).toBe(true);
    // Now only the old key: the record (re-encrypted with B) no longer opens.
    expect(await h.tokens.get('U0ROT')).toBeNull();
    const onlyB = new TokenStore({
      redis: h.redis,
      prefix: h.prefix,
      cipher: new TokenCipher({ current: KEY_B, previous: [] }),
      logger: h.log.logger,
    });
    expect(await onlyB.get('U0ROT')).not.toBeNull();
    // A blob moved to another user does not open either (the user id is authenticated data).
    const blob = (await h.redis.hget(`${h.prefix}:approvals:link:U0ROT`, 'secret')) as string;
    await h.redis.hset(`${h.prefix}:approvals:link:U0THIEF`, {
      login: 'rot-gh',
      githubUserId: '42',
      linkedAt: '',
      secret: blob,
    });
    expect(await onlyB.get('U0THIEF')).toBeNull();
    expect(await onlyB.accessToken('U0THIEF', h.flow.refresher())).toEqual({ status: 'not-linked' });
    expect(h.log.lines.some((l) => String(l.msg).includes('does not decrypt'))).toBe(true);
  });

  it('configuration: the key must be 32 bytes of base64; reviewer mode needs a key and a client id', () => {
    const good = Buffer.alloc(32, 7).toString('base64');
    expect(resolveApprovalsConfig({}, 'app')).toMatchObject({
      config: { mode: 'protection-rule', reminderMinutes: 30, webUrl: 'https://github.com' },
    });
    expect(resolveApprovalsConfig({ mode: 'reviewer' }, 'app').problems).toEqual([
      expect.stringContaining('TOKEN_ENCRYPTION_KEY is required'),
      expect.stringContaining('GITHUB_APP_CLIENT_ID is required'),
    ]);
    expect(
      resolveApprovalsConfig({ mode: 'reviewer', tokenEncryptionKey: 'c2hvcnQ=', clientId: 'x' }, 'app')
        .problems,
    ).toEqual([expect.stringContaining('must be 32 bytes')]);
    expect(resolveApprovalsConfig({ mode: 'protection-rule' }, 'token').problems).toEqual([
      expect.stringContaining('needs GitHub App credentials'),
    ]);
    const ok = resolveApprovalsConfig(
      {
        mode: 'reviewer',
        tokenEncryptionKey: good,
        tokenEncryptionPreviousKeys: `${KEY_A.key.toString('base64')}`,
        clientId: 'Iv1',
        reminderMinutes: '45',
        webUrl: 'https://ghe.example.com/',
      },
      'token',
    );
    expect(ok.problems).toEqual([]);
    expect(ok.config).toMatchObject({
      mode: 'reviewer',
      reminderMinutes: 45,
      webUrl: 'https://ghe.example.com',
      tokenKeys: { previous: [{ id: KEY_A.id }] },
    });
    expect(resolveApprovalsConfig({ reminderMinutes: '0' }, 'app').problems).toEqual([
      expect.stringContaining('APPROVAL_REMINDER_MINUTES'),
    ]);
  });
});
