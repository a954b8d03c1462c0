// The sandbox's browser console: a Slack-like single page for the three channels, served next to the Slack
// stand-in. The browser is Slack's client here; this server is the part of Slack that turns what a person
// does in the client into the signed requests Slack sends to an app:
//
//   composer "/promote prod x"  → POST <bot>/slack/events   slash command, form-encoded, v0-signed
//   button click                → POST <bot>/slack/events   block_actions payload, v0-signed
//   modal Submit / Cancel       → POST <bot>/slack/events   view_submission / view_closed, v0-signed
//   the app's Home tab opened   → POST <bot>/slack/events   app_home_opened (Events API, JSON), v0-signed
//
// and shows what Slack would show: channel messages and threads from the stand-in, ephemeral messages for
// the selected user only, the immediate ack of a slash command as an ephemeral "Only visible to you"
// message, modals opened with views.open, and the Home tab published with views.publish. The page learns
// about changes through Server-Sent Events (the stand-in's onChange) and re-reads GET /api/state.
//
// Two things Slack's client shows are not Slack server state, so they live here and not in the stand-in:
// the ack replies of slash commands (and "/foo is not a valid command"), and dismissed ephemerals.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SLASH_COMMANDS, usage } from '../../domain/commands.js';
import type { SlackStandIn, StandInMessage, StandInView } from '../slack-standin.js';
import { blockActionsBody, signedSlackRequest, slashCommandBody } from '../slack-requests.js';
import type { ConsolePages } from './github-pages.js';

// ── options ──────────────────────────────────────────────────────────────────────────────────────

export interface ConsoleUser {
  id: string;
  /** Slack handle, shown as the display name. */
  name: string;
  /** requester / approver / outsider, or any label: shown next to the name in the switcher. */
  role: string;
  realName?: string;
}

/** Channel ids; names default to #infra-deployments, #infra-alerts, #infra-audit. */
export interface ConsoleChannels {
  deployments: string | { id: string; name: string };
  alerts: string | { id: string; name: string };
  audit: string | { id: string; name: string };
}

export interface ConsoleCommand {
  command: string;
  usageHint: string;
  description: string;
}

export interface ConsoleOptions {
  slack: SlackStandIn;
  /**
   * The bot's base URL (http://127.0.0.1:3000) or its full events URL; `/slack/events` is added to a bare
   * base. A function when the console starts before the bot (undefined until it is up: `dispatch_failed`).
   */
  botUrl: string | (() => string | undefined);
  signingSecret: string;
  users: ConsoleUser[];
  channels: ConsoleChannels;
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** team_id in every payload. Default T0SANDBOX (as slashCommandBody). */
  teamId?: string;
  /** The workspace name in the sidebar. */
  workspaceName?: string;
  /** The bot as the stand-in knows it (for mentions and the message header). */
  bot?: { userId?: string; name?: string };
  /** The slash commands the "app" registers (autocomplete, and what is sent to the bot). */
  commands?: ConsoleCommand[];
  /** Slack gives an app 3 s to answer; after that the user sees `operation_timeout`. */
  ackTimeoutMs?: number;
  /** Where index.html, app.js and style.css are. Default: public/ next to this file (or in src/). */
  publicDir?: string;
  /** More pages to serve on GET (the sandbox: what its GitHub links open, github-pages.ts). */
  pages?: ConsolePages;
}

export interface RunningConsole {
  /** http://127.0.0.1:<port>/ */
  url: string;
  close(): Promise<void>;
}

const APP_ID = 'A0SANDBOX'; // as slashCommandBody
const TEAM_DOMAIN = 'sandbox';
const VERIFICATION_TOKEN = 'deprecated-verification-token';

const COMMAND_DESCRIPTIONS: Readonly<Record<string, string>> = {
  '/freight': 'List the newest freight and where it stands in every stage',
  '/promote': 'Promote freight to dev or prod through Kargo',
  '/approve': 'Approve a promotion waiting for approval (not your own)',
  '/unlock': 'Release a stale Terraform state lock, after confirmation',
};

/** Autocomplete entries from the bot's own usage lines: "Usage: /promote dev|prod [..]" → "dev|prod [..]". */
export const DEFAULT_COMMANDS: readonly ConsoleCommand[] = SLASH_COMMANDS.map((command) => {
  const first = usage(command).split('\n')[0] ?? '';
  return {
    command,
    usageHint: first
      .replace(/^Usage:\s*/, '')
      .replace(command, '')
      .trim(),
    description: COMMAND_DESCRIPTIONS[command] ?? '',
  };
});

const DEFAULT_CHANNEL_NAMES = {
  deployments: 'infra-deployments',
  alerts: 'infra-alerts',
  audit: 'infra-audit',
} as const;

const CHANNEL_TOPICS = {
  deployments: 'One live card per promotion, updated in place',
  alerts: 'Failed promotions and gates, with the link to the failed job',
  audit: 'Every event the bot records, mirrored from the audit stream',
} as const;

// ── what the page reads ──────────────────────────────────────────────────────────────────────────

interface ClientMessage {
  ts: string;
  user: string;
  text: string;
  blocks?: unknown[];
  bot: boolean;
  edited: boolean;
  updateCount: number;
  threadTs?: string;
  broadcast: boolean;
  replies: ClientMessage[];
}

interface ClientEphemeral {
  ts: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  via: string;
}

interface LocalEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks?: unknown[];
  message_ts: string;
  via: 'ack' | 'console';
}

interface ChannelRef {
  key: keyof ConsoleChannels;
  id: string;
  name: string;
  topic: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Slack escapes these three in message and command text (docs.slack.dev "Formatting text"). */
const slackEscape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const STATIC_TYPES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

function findPublicDir(explicit?: string): string {
  if (explicit) return explicit;
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [
    path.join(here, 'public'),
    // Compiled to dist/sandbox/console: the static files stay in the source tree.
    path.resolve(here, '..', '..', '..', 'src', 'sandbox', 'console', 'public'),
  ];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? (candidates[0] as string);
}

// ── the server ───────────────────────────────────────────────────────────────────────────────────

export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const { slack, signingSecret } = options;
  if (options.users.length === 0) throw new Error('startConsole needs at least one user');
  const host = options.host ?? '127.0.0.1';
  const teamId = options.teamId ?? 'T0SANDBOX';
  const ackTimeoutMs = options.ackTimeoutMs ?? 3_000;
  const commands = options.commands ?? DEFAULT_COMMANDS;
  const publicDir = findPublicDir(options.publicDir);
  const botName = options.bot?.name ?? 'chatops';
  const eventsUrlOf = (botUrl: string | undefined): string | undefined => {
    if (botUrl === undefined) return undefined;
    const events = new URL(botUrl);
    if (events.pathname === '/' || events.pathname === '') events.pathname = '/slack/events';
    return events.toString();
  };
  const fixedEventsUrl = typeof options.botUrl === 'string' ? eventsUrlOf(options.botUrl) : undefined;
  const botUrl = options.botUrl;
  const eventsUrlNow = (): string | undefined =>
    typeof botUrl === 'string' ? fixedEventsUrl : eventsUrlOf(botUrl());

  const channels: ChannelRef[] = (['deployments', 'alerts', 'audit'] as const).map((key) => {
    const ref = options.channels[key];
    return typeof ref === 'string'
      ? { key, id: ref, name: DEFAULT_CHANNEL_NAMES[key], topic: CHANNEL_TOPICS[key] }
      : { key, id: ref.id, name: ref.name, topic: CHANNEL_TOPICS[key] };
  });
  const users = new Map(options.users.map((u) => [u.id, u]));

  // Console-side state: ack replies, dismissed ephemerals, modal errors, and a version the page follows.
  const localEphemerals: LocalEphemeral[] = [];
  const dismissed = new Set<string>();
  const viewErrors = new Map<string, Record<string, string>>();
  let version = 0;
  let lastLocalMicros = 0;
  const streams = new Set<ServerResponse>();
  let pushTimer: NodeJS.Timeout | undefined;

  const bump = (): void => {
    version += 1;
    // Coalesce bursts (a card update touches several calls) into one push.
    if (pushTimer) return;
    pushTimer = setTimeout(() => {
      pushTimer = undefined;
      for (const res of streams) res.write(`event: state\ndata: ${JSON.stringify({ version })}\n\n`);
    }, 25);
  };
  const unsubscribe = slack.onChange(bump);

  const localTs = (): string => {
    const micros = Math.max(Date.now() * 1000, lastLocalMicros + 1);
    lastLocalMicros = micros;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  };

  const channelById = (id: unknown): ChannelRef => {
    const ref = channels.find((c) => c.id === id || c.name === id);
    if (!ref) throw new HttpError(400, `unknown channel ${String(id)}`);
    return ref;
  };
  const userById = (id: unknown): ConsoleUser => {
    const user = typeof id === 'string' ? users.get(id) : undefined;
    if (!user) throw new HttpError(400, `unknown user ${String(id)}`);
    return user;
  };
  const slackUser = (u: ConsoleUser): Record<string, unknown> => ({
    id: u.id,
    username: u.name,
    name: u.name,
    team_id: teamId,
  });

  /** POSTs a signed request to the bot, as Slack does, within Slack's ack timeout. */
  async function sendToBot(
    body: string,
    contentType?: 'application/json',
  ): Promise<{ ok: true; status: number; contentType: string; text: string } | { ok: false; error: string }> {
    const signed = signedSlackRequest(signingSecret, body);
    if (contentType) signed.headers['content-type'] = contentType;
    const eventsUrl = eventsUrlNow();
    if (eventsUrl === undefined) return { ok: false, error: 'dispatch_failed' };
    try {
      const res = await fetch(eventsUrl, {
        method: 'POST',
        headers: { ...signed.headers, 'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)' },
        body: signed.body,
        signal: AbortSignal.timeout(ackTimeoutMs),
      });
      const text = await res.text();
      if (!res.ok) return { ok: false, error: 'dispatch_failed' };
      return { ok: true, status: res.status, contentType: res.headers.get('content-type') ?? '', text };
    } catch (err) {
      // AbortSignal.timeout rejects with a DOMException named TimeoutError (not always an Error instance).
      const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
      return { ok: false, error: name === 'TimeoutError' ? 'operation_timeout' : 'dispatch_failed' };
    }
  }

  function addLocalEphemeral(e: Omit<LocalEphemeral, 'message_ts'>): void {
    localEphemerals.push({ ...e, message_ts: localTs() });
    bump();
  }

  // ── the app's Home tab ─────────────────────────────────────────────────────────────────────────

  /**
   * Opening the app's Home tab: Slack sends the Events API's app_home_opened (JSON, v0-signed) and shows
   * what the bot publishes with views.publish (state().home).
   */
  async function openHome(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const user = userById(b.user);
    const body = JSON.stringify({
      token: 'sandbox-verification-token',
      team_id: teamId,
      api_app_id: 'A0SANDBOX',
      type: 'event_callback',
      event: {
        type: 'app_home_opened',
        user: user.id,
        channel: `D${user.id.slice(1)}`,
        tab: 'home',
        event_ts: localTs(),
      },
      event_id: `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
      event_time: Math.floor(Date.now() / 1000),
    });
    const sent = await sendToBot(body, 'application/json');
    return sent.ok ? { ok: true } : { ok: false, error: sent.error };
  }

  // ── slash commands ─────────────────────────────────────────────────────────────────────────────

  async function runCommand(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const user = userById(b.user);
    const channel = channelById(b.channel);
    const input = (str(b.text) ?? '').trim();
    const match = /^(\/\S+)\s*([\s\S]*)$/.exec(input);
    if (!match) throw new HttpError(400, 'a slash command starts with /');
    const command = (match[1] as string).toLowerCase();
    const text = match[2] as string;
    if (!commands.some((c) => c.command === command)) {
      addLocalEphemeral({
        channel: channel.id,
        user: user.id,
        text:
          `\`${command}\` is not a valid command. In Slack, all messages that start with the "/" character ` +
          'are interpreted as commands. If you are trying to send a message that starts with a "/" character, ' +
          'try adding a space before it.',
        via: 'console',
      });
      return { ok: false, error: 'not_a_command' };
    }
    const responseUrl = slack.createResponseUrl({ channel: channel.id, user: user.id });
    const body = slashCommandBody({
      command,
      text: slackEscape(text),
      userId: user.id,
      userName: user.name,
      channelId: channel.id,
      channelName: channel.name,
      teamId,
      triggerId: slack.issueTriggerId(user.id),
      responseUrl,
    });
    const answer = await sendToBot(body);
    if (!answer.ok) {
      addLocalEphemeral({
        channel: channel.id,
        user: user.id,
        text: `\`${command}\` failed with the error "${answer.error}"`,
        via: 'console',
      });
      return { ok: false, error: answer.error };
    }
    const reply = parseAck(answer.contentType, answer.text);
    if (!reply) return { ok: true };
    if (reply.response_type === 'in_channel') {
      // Slack shows the command itself, then the app's answer, to everyone in the channel.
      slack.seedMessage(channel.id, { user: user.id, text: slackEscape(`${command} ${text}`.trim()) });
      await fetch(slack.createResponseUrl({ channel: channel.id, user: user.id }), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(reply),
      });
      return { ok: true };
    }
    addLocalEphemeral({
      channel: channel.id,
      user: user.id,
      text: str(reply.text) ?? '',
      ...(Array.isArray(reply.blocks) ? { blocks: reply.blocks } : {}),
      via: 'ack',
    });
    return { ok: true };
  }

  /** A slash command's ack body: nothing, plain text, or a JSON message. */
  function parseAck(contentType: string, text: string): Record<string, unknown> | null {
    if (text.trim() === '') return null;
    if (contentType.includes('application/json')) {
      try {
        const parsed: unknown = JSON.parse(text);
        if (isRecord(parsed)) return parsed;
      } catch {
        // Slack shows the raw body then.
      }
    }
    return { text };
  }

  // ── buttons ────────────────────────────────────────────────────────────────────────────────────

  async function runAction(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const user = userById(b.user);
    const channel = channelById(b.channel);
    const messageTs = str(b.messageTs);
    const actionId = str(b.actionId);
    if (!messageTs || !actionId) throw new HttpError(400, 'messageTs and actionId are required');

    // An ephemeral from the stand-in (chat.postEphemeral, response_url) can be replaced through the
    // response_url below; an ack reply lives only here, so replace_original cannot reach it (acks with
    // buttons are unusual: the bot answers with buttons through response_url).
    let message: StandInMessage | undefined;
    let ephemeral: { blocks?: unknown[]; thread_ts?: string } | undefined;
    if (b.ephemeral === true) {
      ephemeral =
        slack.ephemeral({ channel: channel.id, user: user.id }).find((e) => e.message_ts === messageTs) ??
        localEphemerals.find((e) => e.user === user.id && e.message_ts === messageTs);
    } else {
      message = slack.message(channel.id, messageTs);
    }
    const source = message ?? ephemeral;
    if (!source) throw new HttpError(404, 'message not found (deleted?)');
    const blocks = withBlockIds(messageTs, source.blocks);
    const found = findButton(blocks, actionId, str(b.blockId));
    if (!found) throw new HttpError(404, `no button ${actionId} on that message`);
    const { button, blockId } = found;

    const threadTs = message?.thread_ts ?? ephemeral?.thread_ts;
    const payload: Record<string, unknown> = {
      type: 'block_actions',
      user: slackUser(user),
      api_app_id: APP_ID,
      token: VERIFICATION_TOKEN,
      container: {
        type: 'message',
        message_ts: messageTs,
        channel_id: channel.id,
        is_ephemeral: !message,
        ...(threadTs ? { thread_ts: threadTs } : {}),
      },
      trigger_id: slack.issueTriggerId(user.id),
      team: { id: teamId, domain: TEAM_DOMAIN },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: channel.id, name: channel.name },
      // Slack includes the message for channel messages; an ephemeral message is not sent back.
      ...(message ? { message: wireMessage(message, blocks) } : {}),
      state: { values: {} },
      response_url: slack.createResponseUrl({ channel: channel.id, user: user.id, messageTs }),
      actions: [
        {
          action_id: button.action_id,
          block_id: blockId,
          text: isRecord(button.text) ? { emoji: true, ...button.text } : { type: 'plain_text', text: '' },
          ...(typeof button.value === 'string' ? { value: button.value } : {}),
          ...(typeof button.style === 'string' ? { style: button.style } : {}),
          type: 'button',
          action_ts: localTs(),
        },
      ],
    };
    const answer = await sendToBot(blockActionsBody(payload));
    return answer.ok ? { ok: true } : { ok: false, error: answer.error };
  }

  function wireMessage(m: StandInMessage, blocks: unknown[] | undefined): Record<string, unknown> {
    return {
      type: 'message',
      ...(m.reply_broadcast ? { subtype: 'thread_broadcast' } : {}),
      text: m.text,
      user: m.user,
      ts: m.ts,
      team: teamId,
      ...(m.bot_id ? { bot_id: m.bot_id, app_id: APP_ID } : {}),
      ...(blocks ? { blocks } : {}),
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      ...(m.replies.length > 0
        ? {
            thread_ts: m.ts,
            reply_count: m.replies.length,
            latest_reply: m.replies[m.replies.length - 1]?.ts,
          }
        : {}),
      ...(m.edited ? { edited: m.edited } : {}),
    };
  }

  // ── modals ─────────────────────────────────────────────────────────────────────────────────────

  function openView(user: ConsoleUser, viewId: unknown): StandInView {
    const view = slack.openViews(user.id).find((v) => v.id === viewId);
    if (!view) throw new HttpError(404, 'that modal is not open');
    return view;
  }

  async function submitView(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const user = userById(b.user);
    const open = openView(user, b.viewId);
    const submitted = isRecord(b.values) ? b.values : {};
    const values: Record<string, Record<string, unknown>> = {};
    const viewBlocks = Array.isArray(open.view.blocks) ? open.view.blocks : [];
    for (const block of viewBlocks) {
      if (!isRecord(block) || block.type !== 'input' || !isRecord(block.element)) continue;
      const blockId = str(block.block_id);
      const actionId = str(block.element.action_id);
      if (!blockId || !actionId) continue;
      const given = isRecord(submitted[blockId]) ? submitted[blockId][actionId] : undefined;
      values[blockId] = {
        [actionId]: {
          type: str(block.element.type) ?? 'plain_text_input',
          value: typeof given === 'string' && given !== '' ? given : null,
        },
      };
    }
    const payload = {
      type: 'view_submission',
      team: { id: teamId, domain: TEAM_DOMAIN },
      user: slackUser(user),
      api_app_id: APP_ID,
      token: VERIFICATION_TOKEN,
      trigger_id: slack.issueTriggerId(user.id),
      view: { ...open.view, state: { values } },
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    const answer = await sendToBot(blockActionsBody(payload));
    if (!answer.ok) {
      // Slack keeps the modal open and says it could not reach the app.
      viewErrors.set(open.id, { '': 'We had some trouble connecting. Try again?' });
      bump();
      return { ok: false, error: answer.error };
    }
    const ack = parseAck(answer.contentType, answer.text);
    viewErrors.delete(open.id);
    switch (ack?.response_action) {
      case 'errors':
        viewErrors.set(
          open.id,
          Object.fromEntries(
            Object.entries(isRecord(ack.errors) ? ack.errors : {}).map(([k, v]) => [k, String(v)]),
          ),
        );
        bump();
        return { ok: false, error: 'validation' };
      case 'update':
      case 'push': // a stack of one: the pushed view replaces the current one here
        if (isRecord(ack.view)) {
          slack.replaceView(open.id, ack.view);
          return { ok: true };
        }
        break;
      case 'clear':
        for (const v of slack.openViews(user.id)) slack.closeView(v.id);
        return { ok: true };
      default:
        break;
    }
    slack.closeView(open.id);
    return { ok: true };
  }

  async function closeView(b: Record<string, unknown>): Promise<Record<string, unknown>> {
    const user = userById(b.user);
    const open = openView(user, b.viewId);
    slack.closeView(open.id);
    viewErrors.delete(open.id);
    if (open.view.notify_on_close === true) {
      await sendToBot(
        blockActionsBody({
          type: 'view_closed',
          team: { id: teamId, domain: TEAM_DOMAIN },
          user: slackUser(user),
          api_app_id: APP_ID,
          token: VERIFICATION_TOKEN,
          view: open.view,
          is_cleared: false,
          is_enterprise_install: false,
          enterprise: null,
        }),
      );
    }
    return { ok: true };
  }

  // ── state ──────────────────────────────────────────────────────────────────────────────────────

  function clientMessage(m: StandInMessage): ClientMessage {
    return {
      ts: m.ts,
      user: m.user,
      text: m.text,
      ...(m.blocks ? { blocks: withBlockIds(m.ts, m.blocks) } : {}),
      bot: !!m.bot_id,
      edited: m.updateCount > 0,
      updateCount: m.updateCount,
      ...(m.thread_ts ? { threadTs: m.thread_ts } : {}),
      broadcast: !!m.reply_broadcast,
      replies: m.replies.map(clientMessage),
    };
  }

  function state(userId: string | undefined): Record<string, unknown> {
    const user = userId ? users.get(userId) : undefined;
    let botUserId = options.bot?.userId;
    const list = channels.map((c) => {
      let messages: StandInMessage[];
      try {
        messages = slack.messages(c.id);
      } catch {
        // Configured here but not in the stand-in: shown empty rather than breaking the page.
        return { id: c.id, name: c.name, key: c.key, topic: c.topic, messages: [], ephemerals: [] };
      }
      botUserId ??= messages.find((m) => m.bot_id)?.user;
      const ephemerals: ClientEphemeral[] = user
        ? [
            ...slack.ephemeral({ channel: c.id, user: user.id }).map((e) => ({
              ts: e.message_ts,
              text: e.text,
              ...(e.blocks ? { blocks: withBlockIds(e.message_ts, e.blocks) } : {}),
              ...(e.thread_ts ? { threadTs: e.thread_ts } : {}),
              via: e.via,
            })),
            ...localEphemerals
              .filter((e) => e.channel === c.id && e.user === user.id)
              .map((e) => ({
                ts: e.message_ts,
                text: e.text,
                ...(e.blocks ? { blocks: withBlockIds(e.message_ts, e.blocks) } : {}),
                via: e.via,
              })),
          ]
            // An ephemeral with nothing in it shows nothing in Slack either.
            .filter(
              (e) => (e.text !== '' || (e.blocks?.length ?? 0) > 0) && !dismissed.has(`${user.id}:${e.ts}`),
            )
            .sort((a, b) => Number(a.ts) - Number(b.ts))
        : [];
      return {
        id: c.id,
        name: c.name,
        key: c.key,
        topic: c.topic,
        messages: messages.map(clientMessage),
        ephemerals,
      };
    });
    const views = user ? slack.openViews(user.id) : [];
    const top = views[views.length - 1];
    return {
      version,
      workspace: options.workspaceName ?? 'Sandbox Workspace',
      bot: { id: botUserId ?? null, name: botName },
      users: [...users.values()].map((u) => ({
        id: u.id,
        name: u.name,
        role: u.role,
        realName: u.realName ?? null,
      })),
      user: user?.id ?? null,
      commands,
      channels: list,
      modal: top ? { id: top.id, view: top.view, errors: viewErrors.get(top.id) ?? {} } : null,
      home: user ? (slack.homeView(user.id)?.view ?? null) : null,
    };
  }

  // ── HTTP ───────────────────────────────────────────────────────────────────────────────────────

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (!res.headersSent) {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ ok: false, error: message }));
      } else {
        res.end();
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Loopback only, and no DNS rebinding: the Host must be this machine.
    const hostHeader = req.headers.host ?? '';
    if (!/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(hostHeader)) throw new HttpError(403, 'bad host');
    const url = new URL(req.url ?? '/', 'http://console.local');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;

    if (req.method === 'GET') {
      if (url.pathname === '/api/state') return json(res, state(url.searchParams.get('user') ?? undefined));
      if (url.pathname === '/api/events') return openStream(req, res);
      const extra = options.pages ? await options.pages(url.pathname) : undefined;
      if (extra) {
        res.writeHead(extra.status, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
        });
        res.end(extra.html);
        return;
      }
      const file = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
      const type = STATIC_TYPES[file];
      if (!type) throw new HttpError(404, 'not found');
      const body = await readFile(path.join(publicDir, file));
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
      return;
    }

    if (req.method !== 'POST') throw new HttpError(405, 'method not allowed');
    // JSON only: a plain cross-site form post cannot reach these.
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      throw new HttpError(415, 'send JSON');
    }
    const body = await readJson(req);
    switch (route) {
      case 'POST /api/command':
        return json(res, await runCommand(body));
      case 'POST /api/action':
        return json(res, await runAction(body));
      case 'POST /api/view-submission':
        return json(res, await submitView(body));
      case 'POST /api/view-close':
        return json(res, await closeView(body));
      case 'POST /api/home':
        return json(res, await openHome(body));
      case 'POST /api/message': {
        // A plain message typed by a person: Slack stores it (the bot does not listen to messages).
        const user = userById(body.user);
        const channel = channelById(body.channel);
        const text = (str(body.text) ?? '').trim();
        if (text === '') throw new HttpError(400, 'empty message');
        const threadTs = str(body.threadTs);
        slack.seedMessage(channel.id, {
          user: user.id,
          text: slackEscape(text),
          ...(threadTs ? { thread_ts: threadTs } : {}),
        });
        return json(res, { ok: true });
      }
      case 'POST /api/dismiss': {
        const user = userById(body.user);
        const ts = str(body.messageTs);
        if (!ts) throw new HttpError(400, 'messageTs is required');
        dismissed.add(`${user.id}:${ts}`);
        bump();
        return json(res, { ok: true });
      }
      default:
        throw new HttpError(404, 'not found');
    }
  }

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    res.write(`retry: 1000\nevent: state\ndata: ${JSON.stringify({ version })}\n\n`);
    streams.add(res);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(keepAlive);
      streams.delete(res);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = host === '127.0.0.1' || host === '0.0.0.0' ? '127.0.0.1' : host;

  return {
    url: `http://${shownHost}:${port}/`,
    close: async () => {
      unsubscribe();
      if (pushTimer) clearTimeout(pushTimer);
      for (const res of streams) res.end();
      streams.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// ── helpers ──────────────────────────────────────────────────────────────────────────────────────

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > 1024 * 1024) throw new HttpError(413, 'too large');
    chunks.push(buf);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (!isRecord(parsed)) throw new Error('not an object');
    return parsed;
  } catch {
    throw new HttpError(400, 'invalid JSON');
  }
}

/**
 * Slack gives every block without a block_id one of its own (and returns it in message.blocks and in
 * actions[].block_id); the stand-in keeps blocks as posted, so the console fills them in, stably per
 * message and position.
 */
export function withBlockIds(ts: string, blocks: unknown[] | undefined): unknown[] | undefined {
  if (!blocks) return blocks;
  return blocks.map((block, i) => {
    if (!isRecord(block) || typeof block.block_id === 'string') return block;
    const id = createHash('sha1').update(`${ts}:${i}`).digest('base64url').slice(0, 5);
    return { ...block, block_id: id };
  });
}

/** The button with `actionId` (in `blockId` when given) in an actions block or a section accessory. */
function findButton(
  blocks: unknown[] | undefined,
  actionId: string,
  blockId: string | undefined,
): { button: Record<string, unknown>; blockId: string } | undefined {
  for (const block of blocks ?? []) {
    if (!isRecord(block)) continue;
    const id = str(block.block_id) ?? '';
    if (blockId && id !== blockId) continue;
    const elements = [
      ...(Array.isArray(block.elements) ? block.elements : []),
      ...(isRecord(block.accessory) ? [block.accessory] : []),
    ];
    for (const el of elements) {
      if (isRecord(el) && el.type === 'button' && el.action_id === actionId)
        return { button: el, blockId: id };
    }
  }
  return undefined;
}
