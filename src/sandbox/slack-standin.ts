// A local stand-in for the Slack Web API, for tests and the sandbox. It speaks Slack's wire protocol
// (POST /api/<method>, form-encoded or JSON bodies, `Authorization: Bearer xoxb-…`, `{ok:false,error}` with
// HTTP 200, HTTP 429 + `Retry-After` in seconds) so that the real `@slack/web-api` WebClient and Bolt's
// `respond()` can be pointed at it unchanged (`slackApiUrl: standIn.apiUrl`).
//
// It behaves like Slack at its documented limits, because those limits are what the notifier has to
// survive: chat.postMessage ~1 message/s per channel with a small burst, chat.update Tier 3 (50+/min),
// Block Kit sizes (50 blocks, section text 3000, header 150, 10 section fields, block_id 255) and message
// text (40000 → msg_too_long). Error names and response shapes follow docs.slack.dev/reference/methods/*.
// Every Block Kit payload — messages, response_url replies, modals (views.open / views.update) and Home
// tabs (views.publish) — is checked against ./blockkit-schema.ts, written from Slack's Block Kit reference
// and independent of the bot's own builders (src/domain/blockkit.ts), so the bot is checked by something
// it did not write: unknown block or element types, missing or unknown fields, bad enums and lengths.
//
// Where Slack's behaviour is undocumented the stand-in is deliberately strict and says so in a comment
// (thread_ts of a message that does not exist; the response_url error bodies).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { describeViolation, validateMessageBlocks, validateView } from './blockkit-schema.js';

// ── configuration ────────────────────────────────────────────────────────────────────────────────

export interface StandInChannel {
  id: string;
  name: string;
  isPrivate?: boolean;
  /** Posting answers `is_archived`, updating answers `is_inactive`. */
  isArchived?: boolean;
  /** When false the bot is not a member: posting answers `not_in_channel`. Default true. */
  isMember?: boolean;
  /** Members for chat.postEphemeral (`user_not_in_channel`); undefined = every known user. */
  members?: string[];
}

export interface StandInUser {
  id: string;
  name: string;
  realName?: string;
  isBot?: boolean;
  deleted?: boolean;
  tz?: string;
}

export interface SlackStandInRateLimits {
  /** Sustained chat.postMessage rate per channel. Slack: "one message per second per channel". */
  postMessagePerSecond: number;
  /** Messages a channel may post back to back before 429s start ("short bursts >1 allowed"). */
  postMessageBurst: number;
  /** Sustained chat.update rate per workspace. Slack: Tier 3, 50+ per minute. */
  updatePerMinute: number;
  /** Updates that may be made back to back ("sporadic bursts are welcome"). */
  updateBurst: number;
}

export interface SlackStandInOptions {
  /** Accepted bot token(s). Default `xoxb-standin-token`. Anything else answers `invalid_auth`. */
  tokens?: string[];
  team?: { id: string; name: string; domain: string };
  bot?: { userId: string; botId: string; appId: string; name: string };
  channels?: StandInChannel[];
  users?: StandInUser[];
  /** User-group id → member user ids (usergroups.users.list). */
  userGroups?: Record<string, string[]>;
  /** Slack-like limits (defaults below); `false` disables the organic limits (injected 429s still work). */
  rateLimits?: Partial<SlackStandInRateLimits> | false;
  /** Clock for rate limits, message ts and response_url expiry. Default Date.now. */
  now?: () => number;
  /** response_url: uses per URL (Slack: 5) and lifetime (Slack: 30 minutes). */
  responseUrl?: { maxUses?: number; ttlMs?: number };
  /** Interface to listen on. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Port to listen on. Default 0 (a random free port). */
  port?: number;
}

export const DEFAULT_STANDIN_TOKEN = 'xoxb-standin-token';

const DEFAULT_RATE_LIMITS: SlackStandInRateLimits = {
  postMessagePerSecond: 1,
  postMessageBurst: 3,
  updatePerMinute: 50,
  updateBurst: 10,
};

const DEFAULT_CHANNELS: StandInChannel[] = [
  { id: 'C0DEPLOYS', name: 'infra-deployments' },
  { id: 'C0ALERTS', name: 'infra-alerts' },
  { id: 'C0AUDIT', name: 'infra-audit' },
];

const DEFAULT_USERS: StandInUser[] = [
  { id: 'U0ALICE', name: 'alice', realName: 'Alice Admin', tz: 'Europe/Berlin' },
  { id: 'U0BOB', name: 'bob', realName: 'Bob Builder', tz: 'Europe/Berlin' },
];

// ── what tests see ───────────────────────────────────────────────────────────────────────────────

export interface StandInMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  /** Author: the bot user id for bot posts, a human id for seeded messages. */
  user: string;
  bot_id?: string;
  thread_ts?: string;
  /** Set on thread replies posted with reply_broadcast: they also appear in the channel. */
  reply_broadcast?: boolean;
  metadata?: unknown;
  edited?: { user: string; ts: string };
  /** How many times chat.update / replace_original changed this message. */
  updateCount: number;
  /** Thread replies, oldest first (only on parents). */
  replies: StandInMessage[];
}

export interface StandInEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks?: unknown[];
  message_ts: string;
  thread_ts?: string;
  via: 'chat.postEphemeral' | 'response_url';
}

export interface RecordedCall {
  /** The API method, or `response_url`. */
  method: string;
  /** Arguments as the server understood them (JSON fields parsed; the token is never recorded). */
  args: Record<string, unknown>;
  /** HTTP status answered; 0 when the response was deliberately lost. */
  status: number;
  /** `ok` of the answer; `error` when not ok. */
  ok: boolean;
  error?: string;
  at: number;
}

/** A modal opened with views.open (see "views (modals) and the change feed"). */
export interface StandInView {
  id: string;
  /** Whose trigger_id opened it: the user who sees it. */
  user: string;
  /** The view as Slack returns it from views.open / views.update. */
  view: Record<string, unknown>;
  openedAt: number;
  closed: boolean;
}

interface InjectOptions {
  /** How many calls the fault applies to. Default 1. */
  times?: number;
}

type Fault =
  | { kind: 'error'; error: string; httpStatus: number; remaining: number }
  | { kind: 'ratelimit'; retryAfterSeconds: number; remaining: number }
  | { kind: 'lost'; remaining: number };

// ── Block Kit limits ─────────────────────────────────────────────────────────────────────────────

/** Slack's own cap on `text` (chat.postMessage); the bot's tighter 4,000 is a project rule, not Slack's. */
export const SLACK_MESSAGE_TEXT_LIMIT = 40_000;

interface LimitViolation {
  error: string;
  /** Slack's `errors` array: `<what> [json-pointer:/blocks/…]`. */
  errors?: string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks one message body the way Slack does; null when Slack would accept it. Blocks are checked against
 * Slack's Block Kit reference (./blockkit-schema.ts), never against the bot's own rules.
 */
export function checkMessageLimits(text: unknown, blocks: unknown): LimitViolation | null {
  if (typeof text === 'string' && text.length > SLACK_MESSAGE_TEXT_LIMIT) return { error: 'msg_too_long' };
  if (blocks === undefined) return null;
  if (!Array.isArray(blocks)) return { error: 'invalid_blocks_format' };
  const errors = validateMessageBlocks(blocks).map(describeViolation);
  return errors.length > 0 ? { error: 'invalid_blocks', errors } : null;
}

/** A view Slack would refuse: `invalid_arguments` with one `[ERROR] …` line per problem, as Slack answers. */
function checkView(view: Record<string, unknown>, surface: 'modal' | 'home'): void {
  const problems = validateView(view, surface).map(describeViolation);
  if (problems.length > 0) {
    throw new SlackApiError('invalid_arguments', {
      response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) },
    });
  }
}

// ── rate limiting ────────────────────────────────────────────────────────────────────────────────

/** Classic token bucket on an injectable clock: `capacity` back to back, then `perMs` sustained. */
class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly capacity: number,
    private readonly perMs: number,
    private readonly now: () => number,
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /** Takes a token; otherwise says how long until one is available. */
  take(): { ok: true } | { ok: false; waitMs: number } {
    const t = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (t - this.last) * this.perMs);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, waitMs: Math.ceil((1 - this.tokens) / this.perMs) };
  }
}

// ── the server ───────────────────────────────────────────────────────────────────────────────────

class SlackApiError extends Error {
  constructor(
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(error);
  }
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body: Record<string, unknown>;
}

interface ResponseUrlState {
  channel: string;
  user: string;
  messageTs?: string;
  uses: number;
  createdAt: number;
}

interface ChannelState {
  info: StandInChannel;
  /** Top-level messages and broadcast replies, oldest first. */
  timeline: StandInMessage[];
  byTs: Map<string, StandInMessage>;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;
const JSON_FIELDS = new Set(['blocks', 'attachments', 'metadata']);
const truthy = (v: unknown): boolean => v === true || v === 'true' || v === '1' || v === 1;

export class SlackStandIn {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** What WebClient takes as `slackApiUrl`: `<url>/api/`. */
  readonly apiUrl: string;
  /** The first accepted token, for convenience. */
  readonly token: string;

  private readonly tokens: Set<string>;
  private readonly team: { id: string; name: string; domain: string };
  private readonly bot: { userId: string; botId: string; appId: string; name: string };
  private readonly limits: SlackStandInRateLimits | false;
  private readonly now: () => number;
  private readonly responseUrlMaxUses: number;
  private readonly responseUrlTtlMs: number;
  private readonly channelConfig: StandInChannel[];
  private users: Map<string, StandInUser>;
  private userGroups: Map<string, string[]>;

  private channels = new Map<string, ChannelState>();
  private ephemerals: StandInEphemeral[] = [];
  private recorded: RecordedCall[] = [];
  private faults = new Map<string, Fault[]>();
  /** Method (or method + channel) → clock time before which every call answers 429. */
  private penaltyUntil = new Map<string, number>();
  private buckets = new Map<string, TokenBucket>();
  private responseUrls = new Map<string, ResponseUrlState>();
  private lastTsMicros = 0;

  private constructor(
    private readonly server: Server,
    port: number,
    host: string,
    opts: SlackStandInOptions,
  ) {
    this.url = `http://${host}:${port}`;
    this.apiUrl = `${this.url}/api/`;
    const tokens = opts.tokens ?? [DEFAULT_STANDIN_TOKEN];
    if (tokens.length === 0) throw new Error('SlackStandIn needs at least one accepted token');
    this.token = tokens[0] as string;
    this.tokens = new Set(tokens);
    this.team = opts.team ?? { id: 'T0STANDIN', name: 'Stand-in Workspace', domain: 'standin' };
    this.bot = opts.bot ?? { userId: 'U0CHATOPS', botId: 'B0CHATOPS', appId: 'A0CHATOPS', name: 'chatops' };
    this.limits = opts.rateLimits === false ? false : { ...DEFAULT_RATE_LIMITS, ...opts.rateLimits };
    if (this.limits) {
      for (const [name, value] of Object.entries(this.limits)) {
        if (!(value > 0)) throw new Error(`rateLimits.${name} must be > 0`);
      }
    }
    this.now = opts.now ?? Date.now;
    this.responseUrlMaxUses = opts.responseUrl?.maxUses ?? 5;
    this.responseUrlTtlMs = opts.responseUrl?.ttlMs ?? 30 * 60 * 1000;
    this.channelConfig = opts.channels ?? DEFAULT_CHANNELS;
    this.users = new Map((opts.users ?? DEFAULT_USERS).map((u) => [u.id, u]));
    this.users.set(this.bot.userId, { id: this.bot.userId, name: this.bot.name, isBot: true });
    this.userGroups = new Map(Object.entries(opts.userGroups ?? {}));
    this.resetChannels();
  }

  /** Starts the stand-in on a random loopback port. */
  static async start(opts: SlackStandInOptions = {}): Promise<SlackStandIn> {
    const host = opts.host ?? '127.0.0.1';
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const instance = new SlackStandIn(server, port, host, opts);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      instance.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    return instance;
  }

  // ── test controls ────────────────────────────────────────────────────────────────────────────────

  /** Every call so far (optionally one method), oldest first. */
  calls(method?: string): RecordedCall[] {
    return method ? this.recorded.filter((c) => c.method === method) : [...this.recorded];
  }

  /** Top-level messages of a channel (id or name), oldest first, each with its thread replies. */
  messages(channel: string): StandInMessage[] {
    return [...this.channelState(channel).timeline];
  }

  /** One message (top-level or reply) by ts. */
  message(channel: string, ts: string): StandInMessage | undefined {
    return this.channelState(channel).byTs.get(ts);
  }

  /** Ephemeral messages, optionally for one channel and/or user. */
  ephemeral(filter: { channel?: string; user?: string } = {}): StandInEphemeral[] {
    const channelId = filter.channel ? this.channelState(filter.channel).info.id : undefined;
    return this.ephemerals.filter(
      (e) => (!channelId || e.channel === channelId) && (!filter.user || e.user === filter.user),
    );
  }

  /** The next `times` calls of `method` answer `{ok:false, error}` (HTTP `httpStatus`, default 200). */
  injectError(method: string, error: string, opts: InjectOptions & { httpStatus?: number } = {}): void {
    this.addFault(method, {
      kind: 'error',
      error,
      httpStatus: opts.httpStatus ?? 200,
      remaining: opts.times ?? 1,
    });
  }

  /**
   * The next `times` calls of `method` answer HTTP 429 with `Retry-After: retryAfterSeconds`, and every call
   * of that method until the Retry-After has passed is refused too, as Slack does.
   */
  injectRateLimit(method: string, retryAfterSeconds: number, opts: InjectOptions = {}): void {
    if (!Number.isInteger(retryAfterSeconds) || retryAfterSeconds < 1) {
      throw new Error('Retry-After is whole seconds ≥ 1 (WebClient parses it with parseInt)');
    }
    this.addFault(method, { kind: 'ratelimit', retryAfterSeconds, remaining: opts.times ?? 1 });
  }

  /**
   * The next `times` calls of `method` are carried out, but the connection is dropped before the answer:
   * the client cannot know whether Slack acted (the double-post hazard of a retried chat.postMessage).
   */
  injectLostResponse(method: string, opts: InjectOptions = {}): void {
    this.addFault(method, { kind: 'lost', remaining: opts.times ?? 1 });
  }

  setUserGroups(groups: Record<string, string[]>): void {
    this.userGroups = new Map(Object.entries(groups));
  }

  setUsers(users: StandInUser[]): void {
    this.users = new Map(users.map((u) => [u.id, u]));
    this.users.set(this.bot.userId, { id: this.bot.userId, name: this.bot.name, isBot: true });
  }

  /** Archives (or unarchives) a channel. */
  setArchived(channel: string, archived: boolean): void {
    this.channelState(channel).info.isArchived = archived;
  }

  /** Adds a message written by a person (the bot may not update it: `cant_update_message`). */
  seedMessage(channel: string, msg: { user: string; text: string; thread_ts?: string }): StandInMessage {
    const state = this.channelState(channel);
    const stored = this.store(state, { text: msg.text, user: msg.user, thread_ts: msg.thread_ts });
    this.changed();
    return stored;
  }

  /** A response_url for a slash command or interaction, as Slack would send in the payload. */
  createResponseUrl(ctx: { channel: string; user: string; messageTs?: string }): string {
    const token = randomBytes(12).toString('hex');
    const channel = this.channelState(ctx.channel).info.id;
    this.responseUrls.set(token, { ...ctx, channel, uses: 0, createdAt: this.now() });
    return `${this.url}/response/${token}`;
  }

  /** Forgets messages, calls, faults, rate-limit state and response URLs; keeps configuration. */
  reset(): void {
    this.resetChannels();
    this.ephemerals = [];
    this.recorded = [];
    this.faults.clear();
    this.penaltyUntil.clear();
    this.buckets.clear();
    this.responseUrls.clear();
    this.views.clear();
    this.homeViews.clear();
    this.triggers.clear();
    this.changed();
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // ── views (modals) and the change feed ──────────────────────────────────────────────────────────
  // Added for the browser console (src/sandbox/console): onChange tells it when to refresh, and views.open /
  // views.update record modals per user so the console can show them and submit them back to the bot.
  // Slack's documented behaviour: a trigger_id is good for 3 seconds and one exchange
  // (expired_trigger_id / exchanged_trigger_id); an unknown one answers invalid_trigger_id; views.update
  // takes view_id or external_id and refuses a stale `hash` (hash_conflict).

  private changeListeners = new Set<() => void>();
  private views = new Map<string, StandInView>();
  private homeViews = new Map<string, StandInView>();
  private triggers = new Map<string, { user: string; issuedAt: number; used: boolean }>();

  /** Calls `listener` after anything that may change what a Slack client shows. Returns unsubscribe. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.changeListeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own business; the stand-in keeps serving.
      }
    }
  }

  /** A trigger_id for an interaction by `user`, as Slack puts in the payload; views.open accepts it once. */
  issueTriggerId(user: string): string {
    const id = `${Math.floor(this.now())}.${randomBytes(4).readUInt32BE()}.${randomBytes(16).toString('hex')}`;
    this.triggers.set(id, { user, issuedAt: this.now(), used: false });
    return id;
  }

  /** Modals that are open (optionally for one user), oldest first; the last one is on top. */
  openViews(user?: string): StandInView[] {
    return [...this.views.values()].filter((v) => !v.closed && (!user || v.user === user));
  }

  /** What Slack does when the user cancels a modal or a view_submission ack closes it. */
  closeView(viewId: string): void {
    const view = this.views.get(viewId);
    if (view && !view.closed) {
      view.closed = true;
      this.changed();
    }
  }

  /** A view_submission ack with `response_action: 'update'`: the modal shows the new view. */
  replaceView(viewId: string, view: Record<string, unknown>): StandInView {
    const current = this.views.get(viewId);
    if (!current || current.closed) throw new Error(`stand-in has no open view ${viewId}`);
    const problems = validateView(view, 'modal').map(describeViolation);
    if (problems.length > 0) throw new Error(`Slack would refuse this view: ${problems.join('; ')}`);
    current.view = this.wireView(viewId, view, current.view);
    this.changed();
    return current;
  }

  private viewsOpen(a: Record<string, unknown>): Record<string, unknown> {
    const triggerId = typeof a.trigger_id === 'string' ? a.trigger_id : '';
    const view = parseView(a.view);
    if (!triggerId || !view) throw new SlackApiError('invalid_arguments');
    checkView(view, 'modal');
    const trigger = this.triggers.get(triggerId);
    if (!trigger) throw new SlackApiError('invalid_trigger_id');
    if (trigger.used) throw new SlackApiError('exchanged_trigger_id');
    if (this.now() - trigger.issuedAt > 3_000) throw new SlackApiError('expired_trigger_id');
    trigger.used = true;
    const id = `V${randomBytes(5).toString('hex').toUpperCase()}`;
    const stored: StandInView = {
      id,
      user: trigger.user,
      view: this.wireView(id, view),
      openedAt: this.now(),
      closed: false,
    };
    this.views.set(id, stored);
    return { view: stored.view };
  }

  private viewsUpdate(a: Record<string, unknown>): Record<string, unknown> {
    const view = parseView(a.view);
    if (!view) throw new SlackApiError('invalid_arguments');
    checkView(view, 'modal');
    const current =
      typeof a.view_id === 'string' && a.view_id !== ''
        ? this.views.get(a.view_id)
        : [...this.views.values()].find((v) => a.external_id && v.view.external_id === a.external_id);
    if (!current) throw new SlackApiError('not_found');
    if (typeof a.hash === 'string' && a.hash !== '' && a.hash !== current.view.hash) {
      throw new SlackApiError('hash_conflict');
    }
    current.view = this.wireView(current.id, view, current.view);
    return { view: current.view };
  }

  /** The Home tab published for a user with views.publish, as Slack would return it. */
  homeView(user: string): StandInView | undefined {
    return this.homeViews.get(user);
  }

  /**
   * views.publish: the user's Home tab (view type `home`), created or replaced; a stale `hash` answers
   * hash_conflict and an unknown user invalid_arguments ("invalid `user_id`"), as Slack's reference says.
   */
  private viewsPublish(a: Record<string, unknown>): Record<string, unknown> {
    const userId = typeof a.user_id === 'string' ? a.user_id : '';
    const view = parseView(a.view);
    if (!view) throw new SlackApiError('invalid_arguments');
    checkView(view, 'home');
    if (!this.users.has(userId)) {
      throw new SlackApiError('invalid_arguments', {
        response_metadata: { messages: ['[ERROR] invalid `user_id`'] },
      });
    }
    const current = this.homeViews.get(userId);
    if (typeof a.hash === 'string' && a.hash !== '' && current && a.hash !== current.view.hash) {
      throw new SlackApiError('hash_conflict');
    }
    const id = current?.id ?? `V${randomBytes(5).toString('hex').toUpperCase()}`;
    const stored: StandInView = {
      id,
      user: userId,
      view: this.wireView(id, view, current?.view),
      openedAt: current?.openedAt ?? this.now(),
      closed: false,
    };
    this.homeViews.set(userId, stored);
    this.changed();
    return { view: stored.view };
  }

  /** A view as Slack returns it: the app's fields plus id, hash, state and the app/team ids. */
  private wireView(
    id: string,
    view: Record<string, unknown>,
    previous?: Record<string, unknown>,
  ): Record<string, unknown> {
    return {
      id,
      team_id: this.team.id,
      type: view.type,
      title: view.title,
      ...(view.submit !== undefined ? { submit: view.submit } : {}),
      ...(view.close !== undefined ? { close: view.close } : {}),
      blocks: view.blocks,
      private_metadata: typeof view.private_metadata === 'string' ? view.private_metadata : '',
      callback_id: typeof view.callback_id === 'string' ? view.callback_id : '',
      state: { values: {} },
      hash: `${Math.floor(this.now() / 1000)}.${randomBytes(4).toString('hex')}`,
      clear_on_close: truthy(view.clear_on_close),
      notify_on_close: truthy(view.notify_on_close),
      root_view_id: previous?.root_view_id ?? id,
      previous_view_id: null,
      app_id: this.bot.appId,
      external_id: typeof view.external_id === 'string' ? view.external_id : '',
      app_installed_team_id: this.team.id,
      bot_id: this.bot.botId,
    };
  }

  // ── HTTP ─────────────────────────────────────────────────────────────────────────────────────────

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const raw = await readBody(req);
    if (raw === null) {
      this.reply(res, { status: 413, body: { ok: false, error: 'request_too_large' } });
      return;
    }
    const responseMatch = /^\/response\/([0-9a-f]+)$/.exec(url.pathname);
    if (req.method === 'POST' && responseMatch) {
      this.handleResponseUrl(responseMatch[1] as string, req, raw, res);
      return;
    }
    const apiMatch = /^\/api\/([A-Za-z0-9_.]+)$/.exec(url.pathname);
    if (req.method !== 'POST' || !apiMatch) {
      this.reply(res, { status: 404, body: { ok: false, error: 'unknown_method' } });
      return;
    }
    const method = apiMatch[1] as string;
    const parsed = parseArgs(req.headers['content-type'], raw);
    if ('error' in parsed) {
      this.answer(res, method, {}, { status: 200, body: { ok: false, error: parsed.error } });
      return;
    }
    const { token, ...args } = parsed.args;
    const auth = this.authenticate(req.headers.authorization, token);
    if (auth) {
      this.answer(res, method, args, { status: 200, body: { ok: false, error: auth } });
      return;
    }

    const fault = this.takeFault(method);
    if (fault?.kind === 'error') {
      this.answer(res, method, args, { status: fault.httpStatus, body: { ok: false, error: fault.error } });
      return;
    }
    if (fault?.kind === 'ratelimit') {
      this.penaltyUntil.set(method, this.now() + fault.retryAfterSeconds * 1000);
    }
    const limited = this.rateLimited(method, args);
    if (limited) {
      this.answer(res, method, args, limited);
      return;
    }

    const result = this.dispatch(method, args);
    if (fault?.kind === 'lost') {
      // Slack acted; the client never hears about it.
      this.record(method, args, 0, result.body);
      res.socket?.destroy();
      return;
    }
    this.answer(res, method, args, result);
  }

  private authenticate(header: string | undefined, bodyToken: unknown): string | null {
    const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
    const token = bearer ?? (typeof bodyToken === 'string' && bodyToken !== '' ? bodyToken : undefined);
    if (!token) return 'not_authed';
    return this.tokens.has(token) ? null : 'invalid_auth';
  }

  private answer(res: ServerResponse, method: string, args: Record<string, unknown>, a: Answer): void {
    this.record(method, args, a.status, a.body);
    this.reply(res, a);
  }

  private record(
    method: string,
    args: Record<string, unknown>,
    status: number,
    body: Record<string, unknown>,
  ): void {
    const ok = body.ok === true;
    this.recorded.push({
      method,
      args,
      status,
      ok,
      ...(ok ? {} : { error: String(body.error) }),
      at: this.now(),
    });
    this.changed();
  }

  private reply(res: ServerResponse, a: Answer): void {
    res.writeHead(a.status, { 'content-type': 'application/json; charset=utf-8', ...a.headers });
    res.end(JSON.stringify(a.body));
  }

  // ── faults and limits ────────────────────────────────────────────────────────────────────────────

  private addFault(method: string, fault: Fault): void {
    if (fault.remaining < 1) throw new Error('times must be ≥ 1');
    const list = this.faults.get(method) ?? [];
    list.push(fault);
    this.faults.set(method, list);
  }

  private takeFault(method: string): Fault | undefined {
    const list = this.faults.get(method);
    const fault = list?.[0];
    if (!list || !fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) list.shift();
    return fault;
  }

  /** Slack's limits: a penalty box after a 429, then per-channel postMessage and per-workspace update. */
  private rateLimited(method: string, args: Record<string, unknown>): Answer | null {
    const channel = typeof args.channel === 'string' ? this.findChannel(args.channel)?.info.id : undefined;
    const boxes = [method, channel ? `${method}:${channel}` : undefined].filter((k): k is string => !!k);
    for (const box of boxes) {
      const until = this.penaltyUntil.get(box);
      if (until !== undefined && until > this.now()) return tooManyRequests(until - this.now());
    }
    if (!this.limits) return null;
    let bucketKey: string | undefined;
    let make: (() => TokenBucket) | undefined;
    const limits = this.limits;
    if (method === 'chat.postMessage' && channel) {
      bucketKey = `${method}:${channel}`;
      make = () => new TokenBucket(limits.postMessageBurst, limits.postMessagePerSecond / 1000, this.now);
    } else if (method === 'chat.update') {
      bucketKey = method;
      make = () => new TokenBucket(limits.updateBurst, limits.updatePerMinute / 60_000, this.now);
    }
    if (!bucketKey || !make) return null;
    const bucket = this.buckets.get(bucketKey) ?? make();
    this.buckets.set(bucketKey, bucket);
    const taken = bucket.take();
    if (taken.ok) return null;
    this.penaltyUntil.set(bucketKey, this.now() + taken.waitMs);
    return tooManyRequests(taken.waitMs);
  }

  // ── methods ──────────────────────────────────────────────────────────────────────────────────────

  private dispatch(method: string, args: Record<string, unknown>): Answer {
    const handlers: Record<string, (a: Record<string, unknown>) => Record<string, unknown>> = {
      'auth.test': () => this.authTest(),
      'chat.postMessage': (a) => this.postMessage(a),
      'chat.update': (a) => this.update(a),
      'chat.postEphemeral': (a) => this.postEphemeral(a),
      'chat.getPermalink': (a) => this.getPermalink(a),
      'conversations.info': (a) => this.conversationsInfo(a),
      'conversations.history': (a) => this.conversationsHistory(a),
      'conversations.replies': (a) => this.conversationsReplies(a),
      'users.info': (a) => this.usersInfo(a),
      'usergroups.users.list': (a) => this.usergroupsUsersList(a),
      // views.* — see "views (modals) and the change feed" above.
      'views.open': (a) => this.viewsOpen(a),
      'views.update': (a) => this.viewsUpdate(a),
      'views.publish': (a) => this.viewsPublish(a),
    };
    const handler = handlers[method];
    if (!handler) return { status: 200, body: { ok: false, error: 'unknown_method' } };
    try {
      return { status: 200, body: { ok: true, ...handler(args) } };
    } catch (err) {
      if (err instanceof SlackApiError)
        return { status: 200, body: { ok: false, error: err.error, ...err.extra } };
      throw err;
    }
  }

  private authTest(): Record<string, unknown> {
    return {
      url: `https://${this.team.domain}.slack.com/`,
      team: this.team.name,
      user: this.bot.name,
      team_id: this.team.id,
      user_id: this.bot.userId,
      bot_id: this.bot.botId,
      app_id: this.bot.appId,
      is_enterprise_install: false,
    };
  }

  private postMessage(a: Record<string, unknown>): Record<string, unknown> {
    // Only chat.postMessage takes a user's id for their direct-message channel; other methods need its id.
    const state =
      typeof a.channel === 'string' && !this.findChannel(a.channel)
        ? (this.directMessage(a.channel) ?? this.requireChannel(a.channel))
        : this.requireChannel(a.channel);
    if (state.info.isArchived) throw new SlackApiError('is_archived');
    if (state.info.isMember === false) throw new SlackApiError('not_in_channel');
    this.checkContent(a.text, a.blocks);
    const threadTs = this.resolveThread(state, a.thread_ts);
    const msg = this.store(state, {
      text: typeof a.text === 'string' ? a.text : '',
      blocks: a.blocks as unknown[] | undefined,
      user: this.bot.userId,
      bot_id: this.bot.botId,
      thread_ts: threadTs,
      reply_broadcast: threadTs !== undefined && truthy(a.reply_broadcast),
      metadata: a.metadata,
    });
    return { channel: state.info.id, ts: msg.ts, message: this.wire(msg, true) };
  }

  private update(a: Record<string, unknown>): Record<string, unknown> {
    const state = this.requireChannel(a.channel);
    const msg = typeof a.ts === 'string' ? state.byTs.get(a.ts) : undefined;
    if (!msg) throw new SlackApiError('message_not_found');
    if (state.info.isArchived) throw new SlackApiError('is_inactive');
    if (msg.user !== this.bot.userId) throw new SlackApiError('cant_update_message');
    if (a.text === undefined && a.blocks === undefined) throw new SlackApiError('no_text');
    this.checkContent(a.text ?? msg.text, a.blocks);
    if (typeof a.text === 'string') msg.text = a.text;
    // Slack: "If you don't include [blocks], the message's previous blocks will be retained."
    if (a.blocks !== undefined) msg.blocks = a.blocks as unknown[];
    msg.edited = { user: this.bot.userId, ts: this.nextTs() };
    msg.updateCount += 1;
    return { channel: state.info.id, ts: msg.ts, text: msg.text, message: this.wire(msg, true) };
  }

  private postEphemeral(a: Record<string, unknown>): Record<string, unknown> {
    const state = this.requireChannel(a.channel);
    if (state.info.isArchived) throw new SlackApiError('is_archived');
    const user = typeof a.user === 'string' ? a.user : '';
    const known = this.users.has(user);
    const member = state.info.members ? state.info.members.includes(user) : known;
    if (!known || !member) throw new SlackApiError('user_not_in_channel');
    this.checkContent(a.text, a.blocks);
    const messageTs = this.nextTs();
    this.ephemerals.push({
      channel: state.info.id,
      user,
      text: typeof a.text === 'string' ? a.text : '',
      ...(a.blocks !== undefined ? { blocks: a.blocks as unknown[] } : {}),
      message_ts: messageTs,
      ...(typeof a.thread_ts === 'string' ? { thread_ts: a.thread_ts } : {}),
      via: 'chat.postEphemeral',
    });
    return { message_ts: messageTs };
  }

  private getPermalink(a: Record<string, unknown>): Record<string, unknown> {
    const state = this.requireChannel(a.channel);
    const msg = typeof a.message_ts === 'string' ? state.byTs.get(a.message_ts) : undefined;
    if (!msg) throw new SlackApiError('message_not_found');
    const base = `https://${this.team.domain}.slack.com/archives/${state.info.id}/p${msg.ts.replace('.', '')}`;
    const permalink = msg.thread_ts ? `${base}?thread_ts=${msg.thread_ts}&cid=${state.info.id}` : base;
    return { channel: state.info.id, permalink };
  }

  private conversationsInfo(a: Record<string, unknown>): Record<string, unknown> {
    const { info } = this.requireChannel(a.channel);
    return {
      channel: {
        id: info.id,
        name: info.name,
        name_normalized: info.name,
        is_channel: !info.isPrivate,
        is_group: !!info.isPrivate,
        is_im: false,
        is_private: !!info.isPrivate,
        is_archived: !!info.isArchived,
        is_member: info.isMember !== false,
        created: 1_700_000_000,
      },
    };
  }

  /** Newest first; `oldest`/`latest` exclusive unless `inclusive`; cursor = offset. */
  private conversationsHistory(a: Record<string, unknown>): Record<string, unknown> {
    const state = this.requireChannel(a.channel);
    const inRange = timeFilter(a);
    const all = state.timeline.filter((m) => inRange(m.ts)).reverse();
    return this.page(all, a);
  }

  private conversationsReplies(a: Record<string, unknown>): Record<string, unknown> {
    const state = this.requireChannel(a.channel);
    const parent = typeof a.ts === 'string' ? state.byTs.get(a.ts) : undefined;
    if (!parent) throw new SlackApiError('thread_not_found');
    const root = parent.thread_ts ? state.byTs.get(parent.thread_ts) : parent;
    if (!root) throw new SlackApiError('thread_not_found');
    const inRange = timeFilter(a);
    return this.page([root, ...root.replies.filter((m) => inRange(m.ts))], a);
  }

  private page(list: StandInMessage[], a: Record<string, unknown>): Record<string, unknown> {
    const limit = Math.min(Math.max(Number(a.limit ?? 100) || 100, 1), 999);
    const offset = typeof a.cursor === 'string' && a.cursor !== '' ? decodeCursor(a.cursor) : 0;
    const slice = list.slice(offset, offset + limit);
    const hasMore = offset + limit < list.length;
    const withMetadata = truthy(a.include_all_metadata);
    return {
      messages: slice.map((m) => this.wire(m, withMetadata)),
      has_more: hasMore,
      response_metadata: { next_cursor: hasMore ? encodeCursor(offset + limit) : '' },
    };
  }

  private usersInfo(a: Record<string, unknown>): Record<string, unknown> {
    const user = typeof a.user === 'string' ? this.users.get(a.user) : undefined;
    if (!user) throw new SlackApiError('user_not_found');
    return {
      user: {
        id: user.id,
        team_id: this.team.id,
        name: user.name,
        deleted: !!user.deleted,
        real_name: user.realName ?? user.name,
        tz: user.tz ?? 'UTC',
        is_bot: !!user.isBot,
        is_admin: false,
        profile: { real_name: user.realName ?? user.name, display_name: user.name },
      },
    };
  }

  private usergroupsUsersList(a: Record<string, unknown>): Record<string, unknown> {
    const users = typeof a.usergroup === 'string' ? this.userGroups.get(a.usergroup) : undefined;
    if (!users) throw new SlackApiError('no_such_subteam');
    return { users: [...users] };
  }

  // ── response_url ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Bolt's respond(): JSON body {text, blocks, response_type, replace_original, delete_original, thread_ts}.
   * Slack documents "up to 5 times within 30 minutes"; the error bodies for a used-up or expired URL are not
   * documented, so the stand-in answers 404 `{ok:false,error:'used_url'|'expired_url'}` (Bolt throws on
   * any non-2xx, which is the behaviour that matters).
   */
  private handleResponseUrl(token: string, req: IncomingMessage, raw: string, res: ServerResponse): void {
    const state = this.responseUrls.get(token);
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = raw === '' ? {} : JSON.parse(raw);
      if (isRecord(parsed)) body = parsed;
    } catch {
      this.answer(res, 'response_url', {}, { status: 400, body: { ok: false, error: 'invalid_payload' } });
      return;
    }
    if (!state) {
      this.answer(res, 'response_url', body, { status: 404, body: { ok: false, error: 'invalid_url' } });
      return;
    }
    if (this.now() - state.createdAt > this.responseUrlTtlMs) {
      this.answer(res, 'response_url', body, { status: 404, body: { ok: false, error: 'expired_url' } });
      return;
    }
    if (state.uses >= this.responseUrlMaxUses) {
      this.answer(res, 'response_url', body, { status: 404, body: { ok: false, error: 'used_url' } });
      return;
    }
    const violation = body.delete_original ? null : checkMessageLimits(body.text, body.blocks);
    if (violation) {
      this.answer(res, 'response_url', body, { status: 400, body: { ok: false, ...violation } });
      return;
    }
    state.uses += 1;
    const channel = this.channelState(state.channel);
    const original = state.messageTs ? channel.byTs.get(state.messageTs) : undefined;
    const text = typeof body.text === 'string' ? body.text : '';
    const blocks = Array.isArray(body.blocks) ? body.blocks : undefined;
    if (truthy(body.delete_original) && original) {
      this.remove(channel, original);
    } else if (truthy(body.replace_original) && original) {
      original.text = text;
      if (blocks) original.blocks = blocks;
      original.edited = { user: this.bot.userId, ts: this.nextTs() };
      original.updateCount += 1;
    } else if (truthy(body.replace_original) && state.messageTs) {
      const eph = this.ephemerals.find((e) => e.message_ts === state.messageTs);
      if (eph) {
        eph.text = text;
        if (blocks) eph.blocks = blocks;
      }
    } else if (body.response_type === 'in_channel') {
      const threadTs = typeof body.thread_ts === 'string' ? body.thread_ts : undefined;
      this.store(channel, {
        text,
        blocks,
        user: this.bot.userId,
        bot_id: this.bot.botId,
        thread_ts: threadTs,
      });
    } else {
      this.ephemerals.push({
        channel: channel.info.id,
        user: state.user,
        text,
        ...(blocks ? { blocks } : {}),
        message_ts: this.nextTs(),
        via: 'response_url',
      });
    }
    this.answer(res, 'response_url', body, { status: 200, body: { ok: true } });
  }

  // ── state helpers ────────────────────────────────────────────────────────────────────────────────

  private resetChannels(): void {
    this.channels = new Map(
      this.channelConfig.map((c) => [
        c.id,
        { info: { ...c }, timeline: [], byTs: new Map<string, StandInMessage>() },
      ]),
    );
  }

  private findChannel(idOrName: string): ChannelState | undefined {
    const name = idOrName.replace(/^#/, '');
    return this.channels.get(idOrName) ?? [...this.channels.values()].find((c) => c.info.name === name);
  }

  private channelState(idOrName: string): ChannelState {
    const state = this.findChannel(idOrName);
    if (!state) throw new Error(`stand-in has no channel ${idOrName}`);
    return state;
  }

  private requireChannel(channel: unknown): ChannelState {
    const state = typeof channel === 'string' ? this.findChannel(channel) : undefined;
    if (!state) throw new SlackApiError('channel_not_found');
    return state;
  }

  /**
   * Slack: a bot token posting with a user's id as `channel` writes to the app's direct-message channel
   * with that user (its Messages tab), opening it if needed; the answer names the `D…` channel.
   */
  private directMessage(userId: string): ChannelState | undefined {
    const user = this.users.get(userId);
    if (!user || user.isBot || user.deleted) return undefined;
    const id = `D${userId.slice(1)}`;
    let state = this.channels.get(id);
    if (!state) {
      state = {
        info: { id, name: `dm-${user.name}`, isPrivate: true, members: [userId] },
        timeline: [],
        byTs: new Map(),
      };
      this.channels.set(id, state);
    }
    return state;
  }

  private checkContent(text: unknown, blocks: unknown): void {
    const hasText = typeof text === 'string' && text !== '';
    const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
    if (!hasText && !hasBlocks) throw new SlackApiError('no_text');
    const violation = checkMessageLimits(text, blocks);
    if (violation) {
      const extra: Record<string, unknown> = {};
      if (violation.errors) {
        extra.errors = violation.errors;
        extra.response_metadata = { messages: violation.errors.map((e) => `[ERROR] ${e}`) };
      }
      throw new SlackApiError(violation.error, extra);
    }
  }

  /**
   * Slack: "Avoid using a reply's ts value; use its parent instead" — a reply's ts is mapped to its parent.
   * A thread_ts that matches no message is undocumented; the stand-in refuses it (`thread_not_found`) so
   * that a bot replying under a parent that was never posted is caught in tests.
   */
  private resolveThread(state: ChannelState, threadTs: unknown): string | undefined {
    if (threadTs === undefined || threadTs === '') return undefined;
    const parent = typeof threadTs === 'string' ? state.byTs.get(threadTs) : undefined;
    if (!parent) throw new SlackApiError('thread_not_found');
    return parent.thread_ts ?? parent.ts;
  }

  private store(
    state: ChannelState,
    m: {
      text: string;
      blocks?: unknown[] | undefined;
      user: string;
      bot_id?: string;
      thread_ts?: string | undefined;
      reply_broadcast?: boolean;
      metadata?: unknown;
    },
  ): StandInMessage {
    const msg: StandInMessage = {
      channel: state.info.id,
      ts: this.nextTs(),
      text: m.text,
      user: m.user,
      updateCount: 0,
      replies: [],
      ...(m.blocks !== undefined ? { blocks: m.blocks } : {}),
      ...(m.bot_id ? { bot_id: m.bot_id } : {}),
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      ...(m.reply_broadcast ? { reply_broadcast: true } : {}),
      ...(m.metadata !== undefined ? { metadata: m.metadata } : {}),
    };
    state.byTs.set(msg.ts, msg);
    const parent = m.thread_ts ? state.byTs.get(m.thread_ts) : undefined;
    if (parent) parent.replies.push(msg);
    if (!parent || msg.reply_broadcast) state.timeline.push(msg);
    return msg;
  }

  private remove(state: ChannelState, msg: StandInMessage): void {
    state.byTs.delete(msg.ts);
    state.timeline = state.timeline.filter((m) => m !== msg);
    for (const m of state.timeline) m.replies = m.replies.filter((r) => r !== msg);
  }

  /** A message as the Web API returns it. */
  private wire(m: StandInMessage, withMetadata: boolean): Record<string, unknown> {
    const isBot = m.user === this.bot.userId;
    return {
      type: 'message',
      ...(m.reply_broadcast ? { subtype: 'thread_broadcast' } : {}),
      text: m.text,
      user: m.user,
      ts: m.ts,
      team: this.team.id,
      ...(isBot ? { bot_id: this.bot.botId, app_id: this.bot.appId } : {}),
      ...(m.blocks ? { blocks: m.blocks } : {}),
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      ...(m.replies.length > 0 ? { thread_ts: m.ts, reply_count: m.replies.length } : {}),
      ...(m.edited ? { edited: m.edited } : {}),
      ...(withMetadata && m.metadata !== undefined ? { metadata: m.metadata } : {}),
    };
  }

  /** Slack ts: "<seconds>.<6 digits>", unique and increasing within the workspace here. */
  private nextTs(): string {
    const micros = Math.max(Math.floor(this.now()) * 1000, this.lastTsMicros + 1);
    this.lastTsMicros = micros;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  }
}

// ── wire helpers ─────────────────────────────────────────────────────────────────────────────────

function tooManyRequests(waitMs: number): Answer {
  // Retry-After is whole seconds; WebClient parses it with parseInt.
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return {
    status: 429,
    headers: { 'retry-after': String(seconds) },
    body: { ok: false, error: 'ratelimited' },
  };
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Form or JSON body → arguments, with Slack's JSON-in-a-form-field arguments (blocks, metadata) parsed. */
function parseArgs(
  contentType: string | undefined,
  raw: string,
): { args: Record<string, unknown> } | { error: string } {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  let args: Record<string, unknown> = {};
  if (raw === '') return { args };
  if (!type) return { error: 'missing_post_type' };
  if (type === 'application/json') {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (!isRecord(parsed)) return { error: 'invalid_json' };
      args = parsed;
    } catch {
      return { error: 'invalid_json' };
    }
  } else if (type === 'application/x-www-form-urlencoded') {
    args = Object.fromEntries(new URLSearchParams(raw));
  } else {
    return { error: 'invalid_post_type' };
  }
  for (const field of JSON_FIELDS) {
    const value = args[field];
    if (typeof value !== 'string') continue;
    try {
      args[field] = JSON.parse(value);
    } catch {
      return { error: field === 'blocks' ? 'invalid_blocks_format' : `invalid_${field}` };
    }
  }
  return { args };
}

function timeFilter(a: Record<string, unknown>): (ts: string) => boolean {
  const inclusive = truthy(a.inclusive);
  const oldest = a.oldest !== undefined && a.oldest !== '' ? Number(a.oldest) : undefined;
  const latest = a.latest !== undefined && a.latest !== '' ? Number(a.latest) : undefined;
  return (ts) => {
    const t = Number(ts);
    if (oldest !== undefined && (inclusive ? t < oldest : t <= oldest)) return false;
    if (latest !== undefined && (inclusive ? t > latest : t >= latest)) return false;
    return true;
  };
}

/** views.* `view`: a JSON string in a form body, an object in a JSON body; checked by checkView. */
function parseView(raw: unknown): Record<string, unknown> | null {
  let view: unknown = raw;
  if (typeof raw === 'string') {
    try {
      view = JSON.parse(raw);
    } catch {
      return null;
    }
  }
  return isRecord(view) ? view : null;
}

const encodeCursor = (offset: number): string => Buffer.from(`offset:${offset}`).toString('base64');
const decodeCursor = (cursor: string): number => {
  const m = /^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64').toString('utf8'));
  return m ? Number(m[1]) : 0;
};
