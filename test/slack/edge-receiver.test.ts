// The Slack receiver behind the edge (src/slack/edge-receiver.ts), which replaced Bolt's HTTPReceiver: the
// edge parses each request once and the receiver hands that body to the app. What Bolt's receiver answered,
// this one must answer too:
//   - through the real web process with signed requests: Slack's url_verification challenge (Event
//     Subscriptions refuse a Request URL that does not echo it), ssl_check, an Events API event with retry
//     headers, and an interaction no listener takes (answered 404 when the listeners are done, not after 3 s);
//   - through a real Bolt App on a real HTTP server: a listener that fails before ack() gives 500, one that
//     fails after it keeps the answer it gave, a second ack() is refused, ack(object) is JSON.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { App } from '@slack/bolt';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startWeb, type RunningProcess } from '../../src/processes/web.js';
import { blockActionsBody, signedSlackRequest } from '../../src/sandbox/slack-requests.js';
import { EdgeReceiver, type SlackDelivery } from '../../src/slack/edge-receiver.js';
import { REDIS_URL } from '../support/redis.js';
import { webTestEnv } from '../support/web-process.js';
import { quietSlackLogger } from '../support/quiet-slack-logger.js';

const SIGNING_SECRET = 'edge-receiver-signing-secret-0123';
const PREFIX = `edgerecv${process.pid}`;

async function post(
  port: number,
  body: string,
  contentType: string,
  extraHeaders: Record<string, string> = {},
): Promise<{ status: number; type: string | null; body: string }> {
  const signed = signedSlackRequest(SIGNING_SECRET, body);
  const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
    method: 'POST',
    headers: { ...signed.headers, 'content-type': contentType, ...extraHeaders },
    body,
  });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

describe('Slack protocol answers through the real web process', () => {
  let web: RunningProcess;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    const config = loadConfig(
      webTestEnv({ redisUrl: REDIS_URL, prefix: PREFIX, signingSecret: SIGNING_SECRET }),
    );
    web = await startWeb(config, pino({ level: 'silent' }), { port: 0, metricsPort: 0 });
  }, 30_000);

  afterAll(async () => {
    await web?.stop();
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('echoes the url_verification challenge as JSON', async () => {
    const reply = await post(
      web.port,
      JSON.stringify({
        token: 'legacy',
        challenge: 'c-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
        type: 'url_verification',
      }),
      'application/json',
    );
    expect(reply.status).toBe(200);
    expect(reply.type).toMatch(/^application\/json/);
    expect(JSON.parse(reply.body)).toEqual({
      challenge: 'c-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
    });
  });

  it('answers ssl_check with an empty 200 and queues nothing', async () => {
    const reply = await post(web.port, 'ssl_check=1&token=legacy', 'application/x-www-form-urlencoded');
    expect(reply).toMatchObject({ status: 200, body: '' });
    expect(await redis.keys(`${PREFIX}:*:id`)).toEqual([]); // BullMQ counts each add in <queue>:id
  });

  it('acknowledges a redelivered Events API event at once', async () => {
    const reply = await post(
      web.port,
      JSON.stringify({
        type: 'event_callback',
        team_id: 'T0TEAM0001',
        api_app_id: 'A0APP00001',
        event_id: 'Ev0RETRY0001',
        event_time: Math.floor(Date.now() / 1000),
        event: { type: 'reaction_added', user: 'U0ALICE001', reaction: 'eyes', event_ts: '1.000001' },
      }),
      'application/json',
      { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' },
    );
    expect(reply).toMatchObject({ status: 200, body: '' });
  });

  it('answers 404 for an interaction no listener takes, once the listeners are done', async () => {
    const reply = await post(
      web.port,
      blockActionsBody({
        type: 'shortcut',
        callback_id: 'nobody_listens',
        trigger_id: '1.2.3',
        user: { id: 'U0ALICE001' },
        team: { id: 'T0TEAM0001' },
      }),
      'application/x-www-form-urlencoded',
    );
    expect(reply.status).toBe(404);
  });
});

describe('EdgeReceiver with a real Bolt app', () => {
  let server: Server;
  let port: number;
  const receiver = new EdgeReceiver(pino({ level: 'silent' }));
  const secondAck: { error?: unknown } = {};

  beforeAll(async () => {
    const app = new App({
      token: 'xoxb-edge-receiver',
      receiver,
      logger: quietSlackLogger,
      botId: 'B0BOT12345',
      botUserId: 'U0BOT12345',
    });
    app.command('/fails-first', async () => {
      throw new Error('listener failed before ack');
    });
    app.command('/fails-after', async ({ ack }) => {
      await ack({ response_type: 'ephemeral', text: 'taken' });
      throw new Error('listener failed after ack');
    });
    app.command('/acks-twice', async ({ ack }) => {
      await ack('first');
      try {
        await ack('second');
      } catch (err) {
        secondAck.error = err;
      }
    });
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const delivery: SlackDelivery = {
          body: Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
        };
        receiver.dispatch(delivery, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const command = async (name: string) => {
    const body = new URLSearchParams({
      command: name,
      text: '',
      user_id: 'U0ALICE001',
      channel_id: 'C0DEPLOY001',
      team_id: 'T0TEAM0001',
      trigger_id: '1.2.3',
    }).toString();
    const res = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  };

  it('answers 500 when a listener fails before it acknowledges', async () => {
    expect((await command('/fails-first')).status).toBe(500);
  });

  it('keeps the answer a listener gave before failing, as JSON', async () => {
    const reply = await command('/fails-after');
    expect(reply.status).toBe(200);
    expect(reply.type).toMatch(/^application\/json/);
    expect(JSON.parse(reply.body)).toEqual({ response_type: 'ephemeral', text: 'taken' });
  });

  it('sends the first ack as plain text and refuses a second', async () => {
    const reply = await command('/acks-twice');
    expect(reply).toMatchObject({ status: 200, body: 'first' });
    expect((secondAck.error as { code?: string } | undefined)?.code).toBe(
      'slack_bolt_receiver_ack_multiple_error',
    );
  });
});
