// The sandbox's browser console, driven by a real browser (playwright-core + Debian's chromium) against
// the Slack stand-in and a small echo "bot" defined here (not the real bot: this test is about the
// console). The bot checks every request's v0 signature the way Slack documents it, acks slash commands,
// posts a promotion card with buttons through the stand-in's Web API, updates it when a button is clicked
// and opens a modal for `/approve link`, so the console's whole surface is exercised:
// slash command → ephemeral ack → live card → button → signed block_actions → edited card → thread →
// user switch (ephemerals per user) → modal → view_submission. Screenshots: test/e2e/screenshots/console-*.png.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { WebClient } from '@slack/web-api';
import { SlackStandIn } from '../../src/sandbox/slack-standin.js';
import { startConsole, type RunningConsole } from '../../src/sandbox/console/server.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.resolve('test', 'e2e', 'screenshots');
const SIGNING_SECRET = 'console-test-signing-secret';

const CHANNELS = { deployments: 'C0DEPLOYS', alerts: 'C0ALERTS', audit: 'C0AUDIT' };
const REQUESTER = { id: 'U0ALICE', name: 'alice', realName: 'Alice Andersen', role: 'requester' };
const APPROVER = { id: 'U0BOB', name: 'bob', realName: 'Bob Berger', role: 'approver' };
const OUTSIDER = { id: 'U0OLIVIA', name: 'olivia', realName: 'Olivia Ortiz', role: 'outsider' };

// ── the echo bot ─────────────────────────────────────────────────────────────────────────────────

interface Received {
  kind: 'command' | 'block_actions' | 'view_submission' | 'view_closed' | 'other';
  /** The signature checked out (v0, HMAC-SHA256 over `v0:<ts>:<raw body>`, within 5 minutes). */
  verified: boolean;
  headers: Record<string, string | string[] | undefined>;
  form: Record<string, string>;
  payload?: Record<string, unknown>;
}

function verifySlackSignature(secret: string, headers: Received['headers'], raw: string): boolean {
  const ts = String(headers['x-slack-request-timestamp'] ?? '');
  const sig = String(headers['x-slack-signature'] ?? '');
  if (!/^\d+$/.test(ts) || Math.abs(Date.now() / 1000 - Number(ts)) > 300) return false;
  const expected = `v0=${createHmac('sha256', secret).update(`v0:${ts}:${raw}`).digest('hex')}`;
  return sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
}

function cardBlocks(phase: 'Pending' | 'Approved', approver?: string): unknown[] {
  const status =
    phase === 'Pending'
      ? ':hourglass_flowing_sand: *Waiting for approval* — prod needs a second pair of eyes'
      : `:white_check_mark: *Approved* by <@${approver}> — Kargo is running the promotion`;
  return [
    { type: 'header', text: { type: 'plain_text', text: '⏳ Promotion to prod', emoji: true } },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `${status}\n*Freight* \`frozen-tauntaun\` · <https://github.example.com/acme/infra/commit/f5f87aa|f5f87aa> Fix NAT routes — Jane Doe`,
      },
    },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Requested by*\n<@${REQUESTER.id}>` },
        {
          type: 'mrkdwn',
          text: '*Promotion*\n<https://kargo.example.com/project/infra/stage/prod|prod.01jx7k2m>',
        },
        {
          type: 'mrkdwn',
          text: '*GitHub run*\n<https://github.example.com/acme/infra/actions/runs/42|#42> _queued_',
        },
        {
          type: 'mrkdwn',
          text: '*Gates*\n:white_check_mark: OPA · :white_check_mark: Trivy · :warning: TFLint (2)',
        },
      ],
    },
    { type: 'divider' },
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '*Steps* (1 of 3 finished)\n✅ `dispatch` — workflow_dispatch sent\n⏳ `waitRun` — waiting for the run\n◻️ `verify`',
      },
    },
    ...(phase === 'Pending'
      ? [
          {
            type: 'actions',
            block_id: 'approval',
            elements: [
              {
                type: 'button',
                action_id: 'approve',
                style: 'primary',
                text: { type: 'plain_text', text: 'Approve', emoji: true },
                value: 'prod.01jx7k2m',
              },
              {
                type: 'button',
                action_id: 'reject',
                style: 'danger',
                text: { type: 'plain_text', text: 'Reject', emoji: true },
                value: 'prod.01jx7k2m',
                confirm: {
                  title: { type: 'plain_text', text: 'Reject this promotion?' },
                  text: {
                    type: 'plain_text',
                    text: 'frozen-tauntaun will not reach prod. The requester is told why.',
                  },
                  confirm: { type: 'plain_text', text: 'Reject it' },
                  deny: { type: 'plain_text', text: 'Keep it' },
                  style: 'danger',
                },
              },
            ],
          },
        ]
      : []),
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: 'Last: Promotion created · `frozen-tauntaun` → prod · 10:14 UTC' }],
    },
  ];
}

async function startEchoBot(
  slack: SlackStandIn,
): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  let cardTs: string | undefined;
  const web = async (method: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const res = await fetch(`${slack.apiUrl}${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${slack.token}` },
      body: JSON.stringify(args),
    });
    const body = (await res.json()) as Record<string, unknown>;
    if (body.ok !== true) throw new Error(`${method}: ${String(body.error)}`);
    return body;
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const verified = verifySlackSignature(SIGNING_SECRET, req.headers, raw);
      const form = Object.fromEntries(new URLSearchParams(raw));
      const payload = form.payload ? (JSON.parse(form.payload) as Record<string, unknown>) : undefined;
      const kind = (payload ? String(payload.type) : form.command ? 'command' : 'other') as Received['kind'];
      received.push({ kind, verified, headers: req.headers, form, ...(payload ? { payload } : {}) });
      if (!verified) {
        res.writeHead(401).end();
        return;
      }
      const ack = (body?: unknown): void => {
        if (body === undefined) res.writeHead(200).end();
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      };
      const later = (work: () => Promise<unknown>): void => {
        setTimeout(() => void work().catch((err: unknown) => console.error('echo bot:', err)), 30);
      };

      if (kind === 'command') {
        const user = form.user_id;
        if (form.command === '/approve' && form.text === 'link') {
          ack();
          void web('views.open', {
            trigger_id: form.trigger_id,
            view: {
              type: 'modal',
              callback_id: 'github_link',
              private_metadata: 'link-1',
              title: { type: 'plain_text', text: 'Link GitHub' },
              submit: { type: 'plain_text', text: 'Link' },
              close: { type: 'plain_text', text: 'Cancel' },
              blocks: [
                {
                  type: 'section',
                  text: { type: 'mrkdwn', text: 'Approvals on prod are made with *your* GitHub identity.' },
                },
                {
                  type: 'input',
                  block_id: 'login',
                  label: { type: 'plain_text', text: 'GitHub login' },
                  element: {
                    type: 'plain_text_input',
                    action_id: 'value',
                    placeholder: { type: 'plain_text', text: 'octocat' },
                  },
                  hint: { type: 'plain_text', text: 'The account that reviews deployments.' },
                },
              ],
            },
          }).catch((err: unknown) => console.error('echo bot views.open:', err));
          return;
        }
        if (form.command === '/unlock') {
          // Ack empty, answer later through response_url with an ephemeral offer (as the bot's /unlock does).
          ack();
          later(() =>
            fetch(String(form.response_url), {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                text: 'Release the prod state lock?',
                blocks: [
                  {
                    type: 'section',
                    text: { type: 'mrkdwn', text: ':warning: No workflow run for *prod* is in progress.' },
                  },
                  {
                    type: 'actions',
                    block_id: 'unlock_actions',
                    elements: [
                      {
                        type: 'button',
                        action_id: 'unlock_confirm',
                        style: 'danger',
                        text: { type: 'plain_text', text: 'Release lock' },
                        value: 'prod:lock-1',
                        confirm: {
                          title: { type: 'plain_text', text: 'Release the prod state lock?' },
                          text: { type: 'plain_text', text: 'Only this exact lock is deleted.' },
                          confirm: { type: 'plain_text', text: 'Release it' },
                          deny: { type: 'plain_text', text: 'Keep it' },
                          style: 'danger',
                        },
                      },
                      {
                        type: 'button',
                        action_id: 'unlock_cancel',
                        text: { type: 'plain_text', text: 'Cancel' },
                        value: 'prod:lock-1',
                      },
                    ],
                  },
                ],
              }),
            }),
          );
          return;
        }
        if (form.command === '/promote' && user === OUTSIDER.id) {
          ack({
            response_type: 'ephemeral',
            text: ":no_entry: You can't promote to *prod*: you are not in the prod deployers group.",
          });
          return;
        }
        if (form.command === '/promote') {
          ack({
            response_type: 'ephemeral',
            text: `:rocket: Promotion of freight ${(form.text ?? '').split(' ')[1] ?? 'latest'} to *prod* is queued. Its card will appear in <#${CHANNELS.deployments}>.`,
          });
          later(async () => {
            const posted = await web('chat.postMessage', {
              channel: CHANNELS.deployments,
              text: 'Promotion to prod: waiting for approval',
              blocks: cardBlocks('Pending'),
            });
            cardTs = String(posted.ts);
            await web('chat.postMessage', {
              channel: CHANNELS.deployments,
              thread_ts: cardTs,
              text: ':satellite: GitHub run <https://github.example.com/acme/infra/actions/runs/42|#42> started: `plan (aws, prod)`',
            });
            await web('chat.postMessage', {
              channel: CHANNELS.audit,
              text: `:memo: \`command.accepted\` /promote prod frozen-tauntaun by <@${user}>`,
            });
          });
          return;
        }
        ack({ response_type: 'ephemeral', text: ':mag: Looking up freight…' });
        return;
      }

      if (kind === 'block_actions' && payload) {
        ack();
        const action = (payload.actions as Array<Record<string, unknown>>)[0];
        const clicker = (payload.user as Record<string, unknown>).id as string;
        later(async () => {
          if (action?.action_id === 'unlock_cancel') {
            await fetch(String(payload.response_url), {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                replace_original: true,
                text: 'Nothing was released.',
                blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Nothing was released.' } }],
              }),
            });
            return;
          }
          if (action?.action_id === 'approve' && cardTs) {
            await web('chat.update', {
              channel: CHANNELS.deployments,
              ts: cardTs,
              text: 'Promotion to prod: approved',
              blocks: cardBlocks('Approved', clicker),
            });
          }
          await fetch(String(payload.response_url), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              response_type: 'ephemeral',
              text: `:white_check_mark: You approved \`prod.01jx7k2m\`.`,
            }),
          });
        });
        return;
      }
      ack();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ── the console's API, without a browser ───────────────────────────────────────────────────────────

describe('sandbox console API', () => {
  let slack: SlackStandIn;
  let consoleServer: RunningConsole;
  let slowBot: Server;
  let slowBotUrl: string;
  let mode: 'slow' | 'in_channel' = 'slow';

  const api = async (pathName: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(new URL(pathName, consoleServer.url), {
      method: body === undefined ? 'GET' : 'POST',
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return (await res.json()) as Record<string, unknown>;
  };
  const ephemeralTexts = async (user: string): Promise<string[]> => {
    const state = await api(`/api/state?user=${user}`);
    const channels = state.channels as Array<{ ephemerals: Array<{ text: string }> }>;
    return channels.flatMap((c) => c.ephemerals.map((e) => e.text));
  };

  beforeAll(async () => {
    slack = await SlackStandIn.start({
      rateLimits: false,
      users: [REQUESTER, APPROVER].map((u) => ({ id: u.id, name: u.name })),
    });
    slowBot = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (mode === 'slow') setTimeout(() => res.writeHead(200).end(), 600);
        else {
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ response_type: 'in_channel', text: ':package: 3 freight available' }));
        }
      });
    });
    await new Promise<void>((resolve) => slowBot.listen(0, '127.0.0.1', () => resolve()));
    slowBotUrl = `http://127.0.0.1:${(slowBot.address() as AddressInfo).port}`;
    consoleServer = await startConsole({
      slack,
      botUrl: slowBotUrl,
      signingSecret: SIGNING_SECRET,
      users: [REQUESTER, APPROVER],
      channels: CHANNELS,
      ackTimeoutMs: 300,
    });
  });

  afterAll(async () => {
    await consoleServer?.close();
    await new Promise<void>((resolve) => {
      slowBot?.close(() => resolve());
      slowBot?.closeAllConnections();
    });
    await slack?.close();
  });

  it('serves the page and its assets from its own address', async () => {
    const page = await fetch(consoleServer.url);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('data-testid="composer"');
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/); // no CDN
    for (const asset of ['app.js', 'style.css']) {
      expect((await fetch(new URL(asset, consoleServer.url))).status).toBe(200);
    }
    expect((await fetch(new URL('../server.ts', consoleServer.url))).status).toBe(404);
  });

  it('says operation_timeout, only to the sender, when the bot does not ack within 3 s (here 300 ms)', async () => {
    mode = 'slow';
    const result = await api('/api/command', {
      user: REQUESTER.id,
      channel: CHANNELS.deployments,
      text: '/freight',
    });
    expect(result).toEqual({ ok: false, error: 'operation_timeout' });
    expect(await ephemeralTexts(REQUESTER.id)).toContain(
      '`/freight` failed with the error "operation_timeout"',
    );
    expect(await ephemeralTexts(APPROVER.id)).toEqual([]);
  });

  it('says dispatch_failed when the bot is not there', async () => {
    const down = await startConsole({
      slack,
      botUrl: 'http://127.0.0.1:9', // discard port: nothing listens
      signingSecret: SIGNING_SECRET,
      users: [REQUESTER],
      channels: CHANNELS,
    });
    try {
      const res = await fetch(new URL('/api/command', down.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: REQUESTER.id, channel: CHANNELS.alerts, text: '/unlock dev' }),
      });
      expect(await res.json()).toEqual({ ok: false, error: 'dispatch_failed' });
    } finally {
      await down.close();
    }
  });

  it('shows an in_channel ack to everyone: the command, then the answer', async () => {
    mode = 'in_channel';
    const result = await api('/api/command', {
      user: APPROVER.id,
      channel: CHANNELS.alerts,
      text: '/freight 3 share',
    });
    expect(result).toEqual({ ok: true });
    const [command, answer] = slack.messages(CHANNELS.alerts);
    expect(command).toMatchObject({ user: APPROVER.id, text: '/freight 3 share' });
    expect(answer).toMatchObject({ text: ':package: 3 freight available', bot_id: expect.any(String) });
  });

  it("opens the app's Home tab: a signed app_home_opened event, then what the bot publishes", async () => {
    // A bot that answers app_home_opened the way Bolt apps do: ack, then views.publish for that user.
    const received: Array<{ verified: boolean; contentType: string; event: Record<string, unknown> }> = [];
    const web = new WebClient(slack.token, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const homeBot = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(raw) as { type: string; event: Record<string, unknown> };
        received.push({
          verified: verifySlackSignature(SIGNING_SECRET, req.headers, raw),
          contentType: String(req.headers['content-type']),
          event: body.event,
        });
        res.writeHead(200).end();
        void web.views.publish({
          user_id: String(body.event.user),
          view: {
            type: 'home',
            blocks: [{ type: 'header', text: { type: 'plain_text', text: 'Infrastructure status' } }],
          },
        });
      });
    });
    await new Promise<void>((resolve) => homeBot.listen(0, '127.0.0.1', () => resolve()));
    const withHome = await startConsole({
      slack,
      botUrl: `http://127.0.0.1:${(homeBot.address() as AddressInfo).port}`,
      signingSecret: SIGNING_SECRET,
      users: [REQUESTER, APPROVER],
      channels: CHANNELS,
    });
    try {
      const before = (await (
        await fetch(new URL(`/api/state?user=${REQUESTER.id}`, withHome.url))
      ).json()) as {
        home: unknown;
      };
      expect(before.home).toBeNull();
      const res = await fetch(new URL('/api/home', withHome.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user: REQUESTER.id }),
      });
      expect(await res.json()).toEqual({ ok: true });
      expect(received).toEqual([
        {
          verified: true,
          contentType: 'application/json',
          event: expect.objectContaining({ type: 'app_home_opened', user: REQUESTER.id, tab: 'home' }),
        },
      ]);
      type HomeView = { type?: string; blocks?: unknown[] } | null;
      let home: HomeView = null;
      for (let i = 0; i < 50 && !home; i += 1) {
        const state = (await (
          await fetch(new URL(`/api/state?user=${REQUESTER.id}`, withHome.url))
        ).json()) as {
          home: HomeView;
        };
        home = state.home;
        if (!home) await new Promise((r) => setTimeout(r, 50));
      }
      expect(home?.type).toBe('home');
      expect(JSON.stringify(home?.blocks)).toContain('Infrastructure status');
      // Another person's Home tab is theirs alone.
      const other = (await (await fetch(new URL(`/api/state?user=${APPROVER.id}`, withHome.url))).json()) as {
        home: unknown;
      };
      expect(other.home).toBeNull();
    } finally {
      await withHome.close();
      await new Promise<void>((resolve) => {
        homeBot.close(() => resolve());
        homeBot.closeAllConnections();
      });
    }
  });

  it('takes JSON only, from a loopback Host only', async () => {
    const form = await fetch(new URL('/api/command', consoleServer.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'user=U0ALICE&channel=C0DEPLOYS&text=/promote+prod',
    });
    expect(form.status).toBe(415);
    const { port } = new URL(consoleServer.url);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: '/api/state', headers: { host: `evil.example:${port}` } },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('refuses unknown users and channels', async () => {
    const res = await fetch(new URL('/api/command', consoleServer.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'U0NOBODY', channel: CHANNELS.deployments, text: '/freight' }),
    });
    expect(res.status).toBe(400);
  });

  it('lets the bot open and update modals through the stand-in, as Slack does (views.open / views.update)', async () => {
    const web = new WebClient(slack.token, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const view = {
      type: 'modal' as const,
      callback_id: 'cb',
      title: { type: 'plain_text' as const, text: 'First' },
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hello' } }],
    };
    const trigger = slack.issueTriggerId(APPROVER.id);
    const opened = await web.views.open({ trigger_id: trigger, view });
    expect(opened.view).toMatchObject({
      id: expect.stringMatching(/^V/),
      callback_id: 'cb',
      state: { values: {} },
    });
    expect(slack.openViews(APPROVER.id).map((v) => v.id)).toEqual([opened.view?.id]);
    await expect(web.views.open({ trigger_id: trigger, view })).rejects.toMatchObject({
      data: { error: 'exchanged_trigger_id' },
    });
    await expect(web.views.open({ trigger_id: '1.2.3', view })).rejects.toMatchObject({
      data: { error: 'invalid_trigger_id' },
    });
    await expect(
      web.views.update({ view_id: opened.view?.id as string, hash: 'stale', view }),
    ).rejects.toMatchObject({ data: { error: 'hash_conflict' } });
    const updated = await web.views.update({
      view_id: opened.view?.id as string,
      hash: opened.view?.hash as string,
      view: { ...view, title: { type: 'plain_text', text: 'Second' } },
    });
    expect(updated.view).toMatchObject({ id: opened.view?.id, title: { text: 'Second' } });
    expect(updated.view?.hash).not.toBe(opened.view?.hash);
    // The console shows it to that user only, and Cancel closes it.
    const state = await api(`/api/state?user=${APPROVER.id}`);
    expect(state.modal).toMatchObject({ id: opened.view?.id, view: { title: { text: 'Second' } } });
    expect((await api(`/api/state?user=${REQUESTER.id}`)).modal).toBeNull();
    await api('/api/view-close', { user: APPROVER.id, viewId: opened.view?.id });
    expect(slack.openViews(APPROVER.id)).toEqual([]);
  });

  it('pushes a new state version over SSE when the stand-in changes', async () => {
    const controller = new AbortController();
    const res = await fetch(new URL('/api/events', consoleServer.url), { signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let seen = '';
    const versions = (): number[] =>
      [...seen.matchAll(/data: \{"version":(\d+)\}/g)].map((m) => Number(m[1]));
    while (versions().length < 1) seen += decoder.decode((await reader.read()).value);
    const first = versions()[0] as number;
    slack.seedMessage(CHANNELS.audit, { user: REQUESTER.id, text: 'hello' });
    // A push already pending when the stream opened repeats the version the stream started with; the
    // change is told by the next, greater one.
    while (!versions().some((v) => v > first)) seen += decoder.decode((await reader.read()).value);
    expect(Math.max(...versions())).toBeGreaterThan(first);
    controller.abort();
  });
});

// ── the browser ──────────────────────────────────────────────────────────────────────────────────

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && !process.env.CI) {
  console.warn(
    `\n!!! SKIPPING the browser console test: ${CHROMIUM} is missing. Install it with \`apt-get install -y chromium\` (CI installs it). !!!\n`,
  );
}
const suite = haveChromium || process.env.CI ? describe : describe.skip;

suite('sandbox console (browser)', () => {
  let slack: SlackStandIn;
  let bot: Awaited<ReturnType<typeof startEchoBot>>;
  let consoleServer: RunningConsole;
  let browser: Browser;
  let page: Page;
  const pageErrors: Error[] = [];
  const requested: string[] = [];

  const shot = (name: string): Promise<Buffer> =>
    page.screenshot({ path: path.join(SCREENSHOTS, `console-${name}.png`), animations: 'disabled' });
  const waitFor = async <T>(what: string, get: () => T | undefined, ms = 5_000): Promise<T> => {
    const until = Date.now() + ms;
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const switchTo = async (user: { id: string }): Promise<void> => {
    await page.getByTestId('user-switcher').selectOption(user.id);
    await page.locator(`body[data-user="${user.id}"]`).waitFor({ state: 'attached' });
  };
  const send = async (text: string): Promise<void> => {
    const box = page.getByTestId('composer');
    await box.fill(text);
    await box.press('Escape'); // close the autocomplete so Enter sends
    await box.press('Enter');
  };

  beforeAll(async () => {
    if (!haveChromium) {
      throw new Error(
        `The browser console test needs Debian's chromium at ${CHROMIUM} (CI=${process.env.CI}): install it with \`apt-get install -y chromium\`.`,
      );
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
    slack = await SlackStandIn.start({
      rateLimits: false,
      channels: [
        { id: CHANNELS.deployments, name: 'infra-deployments' },
        { id: CHANNELS.alerts, name: 'infra-alerts' },
        { id: CHANNELS.audit, name: 'infra-audit' },
      ],
      users: [REQUESTER, APPROVER, OUTSIDER].map((u) => ({ id: u.id, name: u.name, realName: u.realName })),
    });
    bot = await startEchoBot(slack);
    consoleServer = await startConsole({
      slack,
      botUrl: bot.url,
      signingSecret: SIGNING_SECRET,
      users: [REQUESTER, APPROVER, OUTSIDER],
      channels: CHANNELS,
      bot: { userId: 'U0CHATOPS', name: 'chatops' },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (err) => pageErrors.push(err));
    page.on('request', (req) => requested.push(req.url()));
    await page.goto(consoleServer.url);
    await page.getByTestId('channel-infra-deployments').waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await consoleServer?.close();
    await bot?.close();
    await slack?.close();
  });

  it('shows the three channels, the user switcher and an empty #infra-deployments', async () => {
    for (const name of ['infra-deployments', 'infra-alerts', 'infra-audit']) {
      await expect(page.getByTestId(`channel-${name}`).isVisible()).resolves.toBe(true);
    }
    await expect(page.getByTestId('user-switcher').inputValue()).resolves.toBe(REQUESTER.id);
    await expect(page.getByTestId('channel-title').innerText()).resolves.toContain('infra-deployments');
    await expect(page.getByTestId('message').count()).resolves.toBe(0);
    // Everything is served by the console itself: no CDN, nothing leaves the machine.
    const origin = new URL(consoleServer.url).origin;
    expect(requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:'))).toEqual([]);
    expect(requested).toEqual(expect.arrayContaining([`${origin}/app.js`, `${origin}/style.css`]));
  });

  it('guides through the story from /promote dev, naming the people of the story', async () => {
    const steps = await page.getByTestId('guide').locator('li').allInnerTexts();
    expect(steps[0]).toMatch(/^As Alice Andersen \(@alice\): \/promote dev\b/);
    expect(steps[1]).toContain('/promote prod');
    expect(steps.join('\n')).toContain('Bob Berger (@bob)');
    expect(steps.join('\n')).toContain('Olivia Ortiz (@olivia)');
  });

  it('offers the slash commands with usage hints while typing', async () => {
    await page.getByTestId('composer').fill('/pro');
    const list = page.getByTestId('autocomplete');
    await list.waitFor({ state: 'visible' });
    await expect(list.innerText()).resolves.toMatch(/\/promote\s+dev\|prod/);
    await shot('autocomplete');
    await page.getByTestId('composer').press('Tab');
    await expect(page.getByTestId('composer').inputValue()).resolves.toBe('/promote ');
    await page.getByTestId('composer').fill('');
  });

  it('sends a signed slash command, shows the ack as an ephemeral and the card live', async () => {
    await send('/promote prod frozen-tauntaun');
    const ephemeral = page.getByTestId('ephemeral');
    await ephemeral.filter({ hasText: 'is queued' }).waitFor();
    await expect(ephemeral.first().innerText()).resolves.toContain('Only visible to you');
    // Emoji shortcodes and channel links are rendered.
    await expect(ephemeral.first().innerText()).resolves.toContain('🚀');
    await expect(ephemeral.first().innerText()).resolves.toContain('#infra-deployments');

    const command = bot.received.find((r) => r.kind === 'command');
    expect(command?.verified).toBe(true);
    expect(command?.form).toMatchObject({
      command: '/promote',
      text: 'prod frozen-tauntaun',
      user_id: REQUESTER.id,
      user_name: REQUESTER.name,
      channel_id: CHANNELS.deployments,
      channel_name: 'infra-deployments',
    });
    expect(command?.form.response_url).toMatch(new RegExp(`^${slack.url}/response/`));
    expect(command?.form.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]{32}$/);
    expect(command?.headers['content-type']).toBe('application/x-www-form-urlencoded');

    // The card arrives through the stand-in and SSE, without a reload.
    const card = page.getByTestId('message').filter({ hasText: 'Promotion to prod' });
    await card.waitFor();
    await expect(card.getByTestId('message-text').innerText()).resolves.toContain('Waiting for approval');
    await expect(card.innerText()).resolves.toContain('@alice'); // <@U0ALICE> resolved
    await expect(card.getByTestId('action-approve').isVisible()).resolves.toBe(true);
    await expect(card.getByTestId('action-reject').isVisible()).resolves.toBe(true);
    // The bot also wrote to #infra-audit, which the user is not looking at.
    await page.locator('[data-testid="channel-infra-audit"][data-unread="true"]').waitFor();
    await shot('deployments');
  });

  it('keeps ephemerals per user: the approver does not see the requester’s', async () => {
    await switchTo(APPROVER);
    await page.waitForFunction('document.querySelectorAll(\'[data-testid="ephemeral"]\').length === 0');
    await expect(page.getByTestId('message').filter({ hasText: 'Promotion to prod' }).count()).resolves.toBe(
      1,
    );
  });

  it('asks before a button with a confirm dialog, and sends nothing on "Keep it"', async () => {
    const before = bot.received.length;
    await page.getByTestId('action-reject').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor({ state: 'visible' });
    await expect(dialog.innerText()).resolves.toContain('Reject this promotion?');
    await shot('confirm');
    await page.getByTestId('confirm-deny').click();
    await dialog.waitFor({ state: 'hidden' });
    await new Promise((r) => setTimeout(r, 200));
    expect(bot.received.length).toBe(before);
  });

  it('sends a signed block_actions payload shaped as Slack’s when a button is clicked', async () => {
    // A copy: the stand-in updates its message in place once the bot answers the click.
    const card = { ...(await waitFor('the card', () => slack.messages(CHANNELS.deployments)[0])) };
    await page.getByTestId('action-approve').click();
    const got = await waitFor('block_actions', () => bot.received.find((r) => r.kind === 'block_actions'));
    expect(got.verified).toBe(true);
    expect(Object.keys(got.form)).toEqual(['payload']);
    const p = got.payload as Record<string, unknown>;
    expect(p).toMatchObject({
      type: 'block_actions',
      user: { id: APPROVER.id, username: APPROVER.name, name: APPROVER.name, team_id: 'T0SANDBOX' },
      api_app_id: expect.any(String),
      token: expect.any(String),
      container: {
        type: 'message',
        message_ts: card.ts,
        channel_id: CHANNELS.deployments,
        is_ephemeral: false,
      },
      trigger_id: expect.stringMatching(/^\d+\.\d+\.[0-9a-f]{32}$/),
      team: { id: 'T0SANDBOX', domain: expect.any(String) },
      channel: { id: CHANNELS.deployments, name: 'infra-deployments' },
      message: { type: 'message', ts: card.ts, text: card.text, user: card.user, bot_id: card.bot_id },
      response_url: expect.stringMatching(new RegExp(`^${slack.url}/response/`)),
      actions: [
        {
          action_id: 'approve',
          block_id: 'approval',
          value: 'prod.01jx7k2m',
          style: 'primary',
          type: 'button',
          text: { type: 'plain_text', text: 'Approve', emoji: true },
          action_ts: expect.stringMatching(/^\d+\.\d{6}$/),
        },
      ],
    });
    // The full message rides along, with a block_id on every block (Slack fills in missing ones).
    const blocks = (p.message as { blocks: Array<Record<string, unknown>> }).blocks;
    expect(blocks).toHaveLength((card.blocks ?? []).length);
    for (const b of blocks) expect(typeof b.block_id).toBe('string');

    // The bot updated the card (edited marker) and answered through response_url (approver-only ephemeral).
    const updated = page.getByTestId('message').filter({ hasText: 'Approved by' });
    await updated.waitFor();
    await expect(updated.getByTestId('edited').isVisible()).resolves.toBe(true);
    await expect(updated.innerText()).resolves.toContain('@bob');
    await expect(updated.getByTestId('action-approve').count()).resolves.toBe(0);
    await page.getByTestId('ephemeral').filter({ hasText: 'You approved' }).waitFor();
    await shot('approved');
  });

  it('opens a thread in the side pane', async () => {
    await page.getByTestId('thread-link').first().click();
    const thread = page.getByTestId('thread');
    await thread.waitFor({ state: 'visible' });
    await expect(thread.innerText()).resolves.toContain('plan (aws, prod)');
    await expect(thread.getByTestId('message').count()).resolves.toBe(2); // parent + 1 reply
    await shot('thread');
    await page.getByTestId('thread-close').click();
    await thread.waitFor({ state: 'hidden' });
  });

  it('shows the outsider their own denial, and the requester their own ack again', async () => {
    await switchTo(OUTSIDER);
    await page.waitForFunction('document.querySelectorAll(\'[data-testid="ephemeral"]\').length === 0');
    await send('/promote prod frozen-tauntaun');
    await page.getByTestId('ephemeral').filter({ hasText: "can't promote" }).waitFor();
    await expect(page.getByTestId('ephemeral').count()).resolves.toBe(1);
    await shot('outsider');

    await switchTo(REQUESTER);
    await page.getByTestId('ephemeral').filter({ hasText: 'is queued' }).waitFor();
    await expect(page.getByTestId('ephemeral').filter({ hasText: "can't promote" }).count()).resolves.toBe(0);
    await expect(page.getByTestId('ephemeral').filter({ hasText: 'You approved' }).count()).resolves.toBe(0);
  });

  it('answers an unknown command like Slack does, without bothering the bot', async () => {
    const before = bot.received.length;
    await send('/foo bar');
    await page.getByTestId('ephemeral').filter({ hasText: 'is not a valid command' }).waitFor();
    expect(bot.received.length).toBe(before);
  });

  it('sends is_ephemeral block_actions from an ephemeral message, which response_url then replaces', async () => {
    await send('/unlock prod');
    const offer = page.getByTestId('ephemeral').filter({ hasText: 'No workflow run for prod' });
    await offer.waitFor();
    await offer.getByTestId('action-unlock_cancel').click();
    const got = await waitFor('the ephemeral block_actions', () =>
      bot.received.find(
        (r) =>
          r.kind === 'block_actions' &&
          (r.payload?.actions as Array<{ action_id: string }>)[0]?.action_id === 'unlock_cancel',
      ),
    );
    expect(got.verified).toBe(true);
    const offered = slack
      .ephemeral({ user: REQUESTER.id })
      .find((e) => e.text === 'Release the prod state lock?');
    expect(got.payload).toMatchObject({
      container: {
        type: 'message',
        is_ephemeral: true,
        channel_id: CHANNELS.deployments,
        message_ts: offered?.message_ts,
      },
      actions: [{ action_id: 'unlock_cancel', block_id: 'unlock_actions', value: 'prod:lock-1' }],
    });
    expect(got.payload).not.toHaveProperty('message'); // Slack does not send ephemeral messages back
    await page.getByTestId('ephemeral').filter({ hasText: 'Nothing was released.' }).waitFor();
    await expect(page.getByTestId('action-unlock_confirm').count()).resolves.toBe(0);
  });

  it('shows a modal opened with views.open and submits a signed view_submission', async () => {
    await send('/approve link');
    const modal = page.getByTestId('modal');
    await modal.waitFor({ state: 'visible' });
    await expect(modal.innerText()).resolves.toContain('Link GitHub');
    await modal.getByLabel('GitHub login').fill('alice-gh');
    await shot('modal');
    await page.getByTestId('modal-submit').click();
    await modal.waitFor({ state: 'hidden' });
    const got = await waitFor('view_submission', () =>
      bot.received.find((r) => r.kind === 'view_submission'),
    );
    expect(got.verified).toBe(true);
    expect(got.payload).toMatchObject({
      type: 'view_submission',
      user: { id: REQUESTER.id, username: REQUESTER.name },
      trigger_id: expect.any(String),
      view: {
        id: expect.stringMatching(/^V/),
        callback_id: 'github_link',
        private_metadata: 'link-1',
        state: { values: { login: { value: { type: 'plain_text_input', value: 'alice-gh' } } } },
      },
    });
    expect(slack.openViews(REQUESTER.id)).toEqual([]);
  });

  it('renders Slack mrkdwn safely: formatting, links, mentions, channels and emoji', async () => {
    slack.seedMessage(CHANNELS.alerts, {
      user: APPROVER.id,
      text: [
        '*bold* _italic_ ~struck~ `inline &lt;code&gt;` :rotating_light: :x: 🔥 :not_an_emoji:',
        '<https://github.example.com/acme/infra/actions/runs/7|run #7> for <@U0ALICE> in <#C0DEPLOYS>',
        '&lt;script&gt;alert(1)&lt;/script&gt; <javascript:alert(1)|click>',
        '&gt; quoted line',
        '```terraform plan\n  + aws_instance.web```',
      ].join('\n'),
    });
    await page.getByTestId('channel-infra-alerts').click();
    const text = page.getByTestId('message').getByTestId('message-text').first();
    await text.waitFor();
    const html = await text.innerHTML();
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('<em>italic</em>');
    expect(html).toContain('<del>struck</del>');
    expect(html).toContain('<code class="mk-code">inline &lt;code&gt;</code>');
    expect(html).toContain('<pre class="mk-pre">terraform plan\n  + aws_instance.web</pre>');
    expect(html).toContain('<blockquote class="mk-quote">quoted line</blockquote>');
    expect(html).toContain('href="https://github.example.com/acme/infra/actions/runs/7"');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('href="javascript:');
    const visible = await text.innerText();
    expect(visible).toContain('🚨 ❌ 🔥 :not_an_emoji:');
    expect(visible).toContain('run #7 for @alice in #infra-deployments');
    expect(visible).toContain('<script>alert(1)</script>');
    await shot('alerts');
  });

  it('shows #infra-audit and clears its unread dot when opened', async () => {
    await page.getByTestId('channel-infra-audit').click();
    await expect(page.getByTestId('channel-title').innerText()).resolves.toContain('infra-audit');
    const entry = page.getByTestId('message').filter({ hasText: 'command.accepted' });
    await entry.waitFor();
    await expect(page.getByTestId('channel-infra-audit').getAttribute('data-unread')).resolves.toBe('false');
    await expect(page.getByTestId('ephemeral').count()).resolves.toBe(0); // ephemerals stay in their channel
    await shot('audit');
    await page.getByTestId('channel-infra-deployments').click();
  });

  it('opens a Slack archive link ("view the card") in place: its channel, the message in view and marked', async () => {
    const card = slack.seedMessage(CHANNELS.deployments, {
      user: 'U0CHATOPS',
      text: 'the card to come back to',
    });
    slack.seedMessage(CHANNELS.alerts, {
      user: 'U0CHATOPS',
      text: `Promotion failed · <https://slack.com/archives/${CHANNELS.deployments}/p${card.ts.replace('.', '')}|View the promotion card>`,
    });
    await page.getByTestId('channel-infra-alerts').click();
    const link = page.getByTestId('permalink').filter({ hasText: 'View the promotion card' });
    await expect(link.getAttribute('href')).resolves.toBe(
      `#archives/${CHANNELS.deployments}/p${card.ts.replace('.', '')}`,
    );
    await link.click();
    await expect(page.getByTestId('channel-title').innerText()).resolves.toContain('infra-deployments');
    const shownCard = page.locator(`[data-testid="message"][data-ts="${card.ts}"]`);
    await expect(shownCard.getAttribute('class')).resolves.toMatch(/\blinked\b/);
    await expect(shownCard.isVisible()).resolves.toBe(true);
    expect(requested.filter((u) => u.includes('slack.com'))).toEqual([]);
    await shot('permalink');
  });

  it('ran without a single error in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
