// The Slack stand-in, exercised with the real @slack/web-api WebClient: if the client the bot uses
// understands it exactly as it understands Slack (results, WebAPIPlatformError, WebAPIRateLimitedError,
// WebAPIRequestError), every other test may trust it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from '@slack/web-api';
import { App } from '@slack/bolt';
import { SlackStandIn } from '../../src/sandbox/slack-standin.js';
import { quietSlackLogger } from '../support/quiet-slack-logger.js';

/** The client as the notifier configures it: no retries of its own, 429s thrown. */
const clientFor = (standIn: SlackStandIn, token = standIn.token): WebClient =>
  new WebClient(token, {
    slackApiUrl: standIn.apiUrl,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logger: quietSlackLogger,
  });

async function platformError(call: Promise<unknown>): Promise<WebAPIPlatformError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WebAPIPlatformError);
  return err as WebAPIPlatformError;
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

describe('Slack stand-in, through the real WebClient', () => {
  let now = 1_790_000_000_000;
  let standIn: SlackStandIn;
  let web: WebClient;

  beforeAll(async () => {
    // A manual clock: rate limits are checked by moving time, not by waiting.
    standIn = await SlackStandIn.start({ now: () => now, userGroups: { S0DEPLOYERS: ['U0ALICE'] } });
    web = clientFor(standIn);
  });
  beforeEach(() => {
    standIn.reset();
    now += 60_000;
  });
  afterAll(async () => {
    await standIn.close();
  });

  it('answers auth.test with the bot identity Bolt reads on its first request', async () => {
    const res = await web.auth.test();
    expect(res).toMatchObject({
      ok: true,
      team_id: 'T0STANDIN',
      user_id: 'U0CHATOPS',
      bot_id: 'B0CHATOPS',
      url: 'https://standin.slack.com/',
    });
  });

  it('lets a Bolt app initialise against it (Bolt verifies its token with auth.test)', async () => {
    const app = new App({
      token: standIn.token,
      signingSecret: 'standin-signing-secret',
      clientOptions: { slackApiUrl: standIn.apiUrl },
      deferInitialization: true,
      logLevel: LogLevel.ERROR,
    });
    await app.init();
    expect(standIn.calls('auth.test')).toHaveLength(1);
  });

  it('refuses a missing token (not_authed) and an unknown one (invalid_auth)', async () => {
    const anonymous = new WebClient(undefined, {
      slackApiUrl: standIn.apiUrl,
      logger: quietSlackLogger,
      retryConfig: { retries: 0 },
    });
    expect((await platformError(anonymous.auth.test())).data.error).toBe('not_authed');
    expect((await platformError(clientFor(standIn, 'xoxb-wrong').auth.test())).data.error).toBe(
      'invalid_auth',
    );
  });

  it('posts messages and thread replies, updates them and links to them', async () => {
    const parent = await web.chat.postMessage({
      channel: 'C0DEPLOYS',
      text: 'promote prod',
      blocks: [section('*promote* prod')],
    });
    expect(parent).toMatchObject({
      ok: true,
      channel: 'C0DEPLOYS',
      message: { text: 'promote prod', bot_id: 'B0CHATOPS' },
    });
    const parentTs = parent.ts as string;

    const reply = await web.chat.postMessage({
      channel: 'infra-deployments',
      text: 'gates passed',
      thread_ts: parentTs,
    });
    const updated = await web.chat.update({
      channel: 'C0DEPLOYS',
      ts: parentTs,
      text: 'promote prod: running',
    });
    expect(updated).toMatchObject({ ok: true, ts: parentTs, text: 'promote prod: running' });

    const [message] = standIn.messages('C0DEPLOYS');
    expect(message).toMatchObject({
      text: 'promote prod: running',
      updateCount: 1,
      blocks: [section('*promote* prod')],
    });
    expect(message?.replies.map((r) => r.text)).toEqual(['gates passed']);

    const link = await web.chat.getPermalink({ channel: 'C0DEPLOYS', message_ts: reply.ts as string });
    expect(link.permalink).toBe(
      `https://standin.slack.com/archives/C0DEPLOYS/p${(reply.ts as string).replace('.', '')}?thread_ts=${parentTs}&cid=C0DEPLOYS`,
    );
  });

  it('keeps ephemeral messages per user and answers with message_ts', async () => {
    const res = await web.chat.postEphemeral({
      channel: 'C0DEPLOYS',
      user: 'U0ALICE',
      text: 'only you can see this',
    });
    expect(res.message_ts).toMatch(/^\d+\.\d{6}$/);
    expect(standIn.ephemeral({ user: 'U0ALICE' })).toMatchObject([
      { channel: 'C0DEPLOYS', text: 'only you can see this' },
    ]);
    expect(standIn.messages('C0DEPLOYS')).toEqual([]);
    expect(
      (await platformError(web.chat.postEphemeral({ channel: 'C0DEPLOYS', user: 'U0NOBODY', text: 'x' })))
        .data.error,
    ).toBe('user_not_in_channel');
  });

  it('answers channel_not_found, message_not_found, cant_update_message and is_archived as Slack does', async () => {
    const notFound = await platformError(web.chat.postMessage({ channel: 'C0NOPE', text: 'hello' }));
    expect(notFound.data).toMatchObject({ ok: false, error: 'channel_not_found' });
    expect(
      (await platformError(web.chat.update({ channel: 'C0DEPLOYS', ts: '1.000001', text: 'x' }))).data.error,
    ).toBe('message_not_found');
    const human = standIn.seedMessage('C0DEPLOYS', { user: 'U0BOB', text: 'hi' });
    expect(
      (await platformError(web.chat.update({ channel: 'C0DEPLOYS', ts: human.ts, text: 'x' }))).data.error,
    ).toBe('cant_update_message');
    standIn.setArchived('C0ALERTS', true);
    expect((await platformError(web.chat.postMessage({ channel: 'C0ALERTS', text: 'x' }))).data.error).toBe(
      'is_archived',
    );
    standIn.setArchived('C0ALERTS', false);
  });

  it("posts to a user's direct-message channel when chat.postMessage names the user, and nowhere else", async () => {
    const posted = await web.chat.postMessage({ channel: 'U0BOB', text: 'only for you' });
    expect(posted.channel).toBe('D0BOB');
    expect(standIn.messages('D0BOB').map((m) => m.text)).toEqual(['only for you']);
    // Other methods need the channel's id, as on Slack; an unknown user has no such channel.
    expect(
      (await platformError(web.chat.update({ channel: 'U0BOB', ts: posted.ts!, text: 'x' }))).data.error,
    ).toBe('channel_not_found');
    expect((await web.chat.update({ channel: 'D0BOB', ts: posted.ts!, text: 'edited' })).ok).toBe(true);
    expect((await platformError(web.chat.postMessage({ channel: 'U0NOBODY', text: 'x' }))).data.error).toBe(
      'channel_not_found',
    );
  });

  it('rejects what breaks Block Kit limits: too many blocks, long section text, long text', async () => {
    // Refused calls still count against the channel's rate limit, as at Slack: space them out.
    const post = (args: { text: string; blocks?: object[] }) => {
      now += 1_000;
      return web.chat.postMessage({ channel: 'C0DEPLOYS', ...args });
    };
    const tooMany = await platformError(
      post({ text: 'x', blocks: Array.from({ length: 51 }, (_, i) => section(`#${i}`)) }),
    );
    expect(tooMany.data.error).toBe('invalid_blocks');
    expect((tooMany.data as { errors?: string[] }).errors?.[0]).toMatch(
      /51 blocks \(limit 50\) \[json-pointer:\/blocks\]/,
    );

    const longSection = await platformError(post({ text: 'x', blocks: [section('a'.repeat(3001))] }));
    expect((longSection.data as { errors?: string[] }).errors).toEqual([
      'must be at most 3000 characters (is 3001) [json-pointer:/blocks/0/text/text]',
    ]);

    expect((await platformError(post({ text: 'a'.repeat(40_001) }))).data.error).toBe('msg_too_long');
    expect((await platformError(post({ text: '' }))).data.error).toBe('no_text');
    expect(standIn.messages('C0DEPLOYS')).toEqual([]);
  });

  it('throws WebAPIRateLimitedError with retryAfter for an injected 429, and refuses until Retry-After passed', async () => {
    standIn.injectRateLimit('chat.postMessage', 7);
    const err = await web.chat.postMessage({ channel: 'C0DEPLOYS', text: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebAPIRateLimitedError);
    expect((err as WebAPIRateLimitedError).retryAfter).toBe(7);

    now += 6_000;
    await expect(web.chat.postMessage({ channel: 'C0DEPLOYS', text: 'x' })).rejects.toBeInstanceOf(
      WebAPIRateLimitedError,
    );
    now += 1_000;
    await expect(web.chat.postMessage({ channel: 'C0DEPLOYS', text: 'x' })).resolves.toMatchObject({
      ok: true,
    });
    expect(standIn.calls('chat.postMessage').map((c) => c.status)).toEqual([429, 429, 200]);
  });

  it('limits chat.postMessage per channel (burst, then 1/s) and chat.update per workspace', async () => {
    const burst = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => web.chat.postMessage({ channel: 'C0DEPLOYS', text: `m${i}` })),
    );
    expect(burst.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const limited = burst.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(limited.reason).toBeInstanceOf(WebAPIRateLimitedError);
    expect((limited.reason as WebAPIRateLimitedError).retryAfter).toBe(1);
    // Another channel has its own allowance.
    await expect(web.chat.postMessage({ channel: 'C0ALERTS', text: 'elsewhere' })).resolves.toMatchObject({
      ok: true,
    });
    now += 1_000;
    await expect(web.chat.postMessage({ channel: 'C0DEPLOYS', text: 'later' })).resolves.toMatchObject({
      ok: true,
    });

    const ts = standIn.messages('C0DEPLOYS')[0]?.ts as string;
    const updates = await Promise.allSettled(
      Array.from({ length: 11 }, (_, i) => web.chat.update({ channel: 'C0DEPLOYS', ts, text: `u${i}` })),
    );
    expect(updates.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    expect((updates[10] as PromiseRejectedResult).reason).toBeInstanceOf(WebAPIRateLimitedError);
  });

  it('can lose a response after acting on the request, and fail with HTTP errors', async () => {
    standIn.injectLostResponse('chat.postMessage');
    await expect(web.chat.postMessage({ channel: 'C0DEPLOYS', text: 'did it post?' })).rejects.toBeInstanceOf(
      WebAPIRequestError,
    );
    expect(standIn.messages('C0DEPLOYS').map((m) => m.text)).toEqual(['did it post?']);

    standIn.injectError('chat.postMessage', 'service_unavailable', { httpStatus: 503 });
    const http = await web.chat.postMessage({ channel: 'C0DEPLOYS', text: 'x' }).catch((e: unknown) => e);
    expect(http).toBeInstanceOf(WebAPIHTTPError);
    expect((http as WebAPIHTTPError).statusCode).toBe(503);

    standIn.injectError('chat.postMessage', 'internal_error', { times: 2 });
    for (let i = 0; i < 2; i++) {
      expect(
        (await platformError(web.chat.postMessage({ channel: 'C0DEPLOYS', text: 'x' }))).data.error,
      ).toBe('internal_error');
    }
    await expect(web.chat.postMessage({ channel: 'C0DEPLOYS', text: 'recovered' })).resolves.toMatchObject({
      ok: true,
    });
  });

  it('answers conversations.info, users.info, usergroups.users.list and history with metadata', async () => {
    expect((await web.conversations.info({ channel: 'C0AUDIT' })).channel).toMatchObject({
      name: 'infra-audit',
      is_archived: false,
    });
    expect((await web.users.info({ user: 'U0ALICE' })).user).toMatchObject({
      name: 'alice',
      real_name: 'Alice Admin',
    });
    expect((await platformError(web.users.info({ user: 'U0NOBODY' }))).data.error).toBe('user_not_found');

    expect((await web.usergroups.users.list({ usergroup: 'S0DEPLOYERS' })).users).toEqual(['U0ALICE']);
    standIn.setUserGroups({ S0DEPLOYERS: ['U0ALICE', 'U0BOB'] });
    expect((await web.usergroups.users.list({ usergroup: 'S0DEPLOYERS' })).users).toEqual([
      'U0ALICE',
      'U0BOB',
    ]);
    expect((await platformError(web.usergroups.users.list({ usergroup: 'S0NOPE' }))).data.error).toBe(
      'no_such_subteam',
    );

    await web.chat.postMessage({
      channel: 'C0AUDIT',
      text: 'with metadata',
      metadata: { event_type: 'chatops_message', event_payload: { key: 'k1' } },
    });
    const plain = await web.conversations.history({ channel: 'C0AUDIT' });
    expect(plain.messages?.[0]).not.toHaveProperty('metadata');
    const withMeta = await web.conversations.history({ channel: 'C0AUDIT', include_all_metadata: true });
    expect(withMeta.messages?.[0]?.metadata).toEqual({
      event_type: 'chatops_message',
      event_payload: { key: 'k1' },
    });
  });

  it('accepts JSON bodies with a bearer token, as Slack does', async () => {
    const res = await fetch(`${standIn.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        authorization: `Bearer ${standIn.token}`,
      },
      body: JSON.stringify({ channel: 'C0ALERTS', text: 'json', blocks: [section('json')] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, channel: 'C0ALERTS' });
  });

  it('serves response_url like respond(): ephemeral, in_channel, replace_original, at most 5 uses', async () => {
    const original = await web.chat.postMessage({ channel: 'C0DEPLOYS', text: 'card' });
    const url = standIn.createResponseUrl({
      channel: 'C0DEPLOYS',
      user: 'U0ALICE',
      messageTs: original.ts as string,
    });
    const respond = (body: object) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    expect((await respond({ text: 'working on it' })).status).toBe(200);
    expect((await respond({ text: 'for everyone', response_type: 'in_channel' })).status).toBe(200);
    expect((await respond({ text: 'card (approved)', replace_original: true })).status).toBe(200);
    expect((await respond({ text: 'a' })).status).toBe(200);
    expect((await respond({ text: 'b' })).status).toBe(200);
    const sixth = await respond({ text: 'one too many' });
    expect(sixth.status).toBe(404);

    expect(standIn.ephemeral({ user: 'U0ALICE' }).map((e) => e.text)).toEqual(['working on it', 'a', 'b']);
    expect(standIn.messages('C0DEPLOYS').map((m) => m.text)).toEqual(['card (approved)', 'for everyone']);
  });
});
