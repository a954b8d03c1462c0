// Outbound Slack: every message the bot posts goes through here, as a BullMQ job on the queue of its
// channel (#infra-deployments, #infra-alerts, #infra-audit). The web process only enqueues; the worker
// process calls start() and runs one worker per channel.
//
// Why a queue per channel: Slack allows about one chat.postMessage per second per channel, and BullMQ's
// limiter is per queue (per-group limits are BullMQ Pro). Each worker runs one job at a time, so a
// channel's messages go out in the order they were enqueued.
//
// DESIGN.md's reliability rules and how they are met:
//   - the bot owns backoff: the WebClient never retries (retries: 0, rejectRateLimitedCalls: true); a 429
//     pauses the channel's queue for Retry-After and puts the job back at the head without using an
//     attempt; other transient failures pause the channel with exponential backoff the same way, which
//     keeps the channel's order (a job moved to "delayed" would let later messages overtake it);
//   - permanent failures (channel_not_found, invalid_auth, invalid_blocks, msg_too_long, …) fail the job
//     at once (UnrecoverableError) and are logged;
//   - never the same message twice: see post() and delivery.ts;
//   - card updates are coalesced: see upsert().
//
// Limits, stated so nobody relies on more:
//   - "once per key" holds for recordTtlSeconds (30 days); a key reused later posts again;
//   - after a lost answer the retry searches the last RECONCILE_PAGES × 200 messages (channel or thread)
//     for the key; a message deleted by a person in between, or a token without channels:history /
//     groups:history, means a second post (logged) rather than none;
//   - a post that failed for good keeps its job id for 7 days: posting the same key again in that time is
//     a no-op; use a new key;
//   - a worker frozen past BullMQ's lock (30 s) while its job is re-run elsewhere could post twice;
//   - coalescing bounds Slack calls per card to about one per limiter interval; with many live cards
//     chat.update's Tier 3 limit (50+/min per workspace) applies and 429s pause the channel as above.
import { DelayedError, Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import { LogLevel, WebClient, type Logger as SlackLogger } from '@slack/web-api';
import type { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { CardContentStore } from './card-content.js';
import { SlackDelivery, type PostedMessage } from './delivery.js';
import {
  SLACK_CHANNELS,
  cardDeduplicationId,
  messageLink,
  notifierKeys,
  postJobId,
  queueNameFor,
  type NotifierKeys,
  type SlackChannel,
} from './notifier-keys.js';
import {
  closeClient,
  openClient,
  openPatientClient,
  quietly,
  workerConnection,
  type OpenedClient,
  type RedisConnection,
} from './redis-connection.js';
import { SlackCallError, type SlackFailure } from './slack-failures.js';
import { closeWorker } from '../queue/shutdown.js';

export type { SlackChannel } from './notifier-keys.js';
export type { PostedMessage } from './delivery.js';

export interface SlackNotifierOptions {
  /** Redis: an ioredis instance (shared, not closed by the notifier) or options for one. */
  connection: RedisConnection;
  /** Namespace for every key and for the BullMQ queues (BullMQ `prefix`). */
  prefix: string;
  /** Slack channel ids per logical channel. */
  channels: Record<SlackChannel, string>;
  slack: {
    /** Bot token (xoxb-…). Only the worker side uses it. */
    token: string;
    /** Web API base, e.g. the stand-in's `http://127.0.0.1:1234/api/`. Default Slack's. */
    apiUrl?: string;
    /** Per-request timeout; a call that times out counts as "Slack may have acted". Default 10 s. */
    timeoutMs?: number;
  };
  logger?: Logger;
  /** Per-channel pace. Default one job per second, Slack's documented chat.postMessage rate. */
  limiter?: { max: number; duration: number };
  /** Backoff for transient failures (5xx, network, internal_error). */
  retry?: {
    /** First pause. Default 1 s. */
    baseDelayMs?: number;
    /** Longest pause. Default 60 s. */
    maxDelayMs?: number;
    /** Consecutive transient failures of one job before it is failed and logged. Default 50 (≈ 45 min). */
    maxTransientFailures?: number;
  };
  /** How long a thread reply waits for its parent to be posted before it fails. Default 10 min. */
  parentWaitMs?: number;
  /** How often a waiting reply checks for its parent. Default 1 s. */
  parentPollMs?: number;
  /** Lifetime of the key → message records and card contents. Default 30 days. */
  recordTtlSeconds?: number;
}

export interface PostRequest {
  channel: SlackChannel;
  /** Idempotency key: a message is posted once per key and channel, however often post() is called. */
  key: string;
  /** Notification text; with blocks, the accessibility fallback. */
  text: string;
  blocks?: unknown[];
  /** Post as a reply in the thread of the message posted under this key (waits until it exists). */
  threadKey?: string;
}

export interface UpsertRequest {
  channel: SlackChannel;
  /** The card's key: the first upsert posts it, later ones update that message. */
  key: string;
  /** The content to show, rendered by the caller from the card's latest state. */
  text: string;
  blocks?: unknown[];
  /**
   * The card's version (e.g. Card.version). Content older than or equal to what is stored is ignored, so a
   * late or replayed render can never replace a newer one. Omitted: each upsert counts as newer.
   */
  version?: number;
}

interface PostJob {
  kind: 'post';
  key: string;
  text: string;
  blocks?: unknown[];
  threadKey?: string;
  /** Consecutive transient failures so far (drives the backoff). */
  transientFailures?: number;
}

interface CardJob {
  kind: 'card';
  key: string;
  transientFailures?: number;
}

type NotifierJob = PostJob | CardJob;

const DEFAULTS = {
  limiter: { max: 1, duration: 1000 },
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxTransientFailures: 50,
  parentWaitMs: 10 * 60 * 1000,
  parentPollMs: 1000,
  recordTtlSeconds: 30 * 24 * 3600,
  timeoutMs: 10_000,
};

// Attempts only matter for failures outside Slack calls (e.g. Redis unreachable mid-job): Slack failures
// are paced by the channel pause and never use attempts.
const BASE_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};

export class SlackNotifier {
  private readonly opts: Required<Omit<SlackNotifierOptions, 'logger' | 'retry' | 'slack' | 'connection'>> & {
    retry: Required<NonNullable<SlackNotifierOptions['retry']>>;
  };
  private readonly logger: Logger;
  private readonly keys: NotifierKeys;
  private readonly cards: CardContentStore;
  private readonly producer: OpenedClient;
  private readonly queues: Record<SlackChannel, Queue>;
  private workers: Worker[] = [];
  private workerRedis: Redis | undefined;
  private delivery: SlackDelivery | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: SlackNotifierOptions) {
    if (!options.prefix) throw new Error('SlackNotifier: prefix is required');
    for (const channel of SLACK_CHANNELS) {
      if (!options.channels?.[channel])
        throw new Error(`SlackNotifier: channels.${channel} (a Slack channel id) is required`);
    }
    if (!options.slack?.token) throw new Error('SlackNotifier: slack.token is required');
    const limiter = options.limiter ?? DEFAULTS.limiter;
    if (!(limiter.max >= 1) || !(limiter.duration >= 1)) {
      throw new Error('SlackNotifier: limiter.max and limiter.duration must be ≥ 1');
    }
    this.opts = {
      prefix: options.prefix,
      channels: options.channels,
      limiter,
      retry: {
        baseDelayMs: options.retry?.baseDelayMs ?? DEFAULTS.baseDelayMs,
        maxDelayMs: options.retry?.maxDelayMs ?? DEFAULTS.maxDelayMs,
        maxTransientFailures: options.retry?.maxTransientFailures ?? DEFAULTS.maxTransientFailures,
      },
      parentWaitMs: options.parentWaitMs ?? DEFAULTS.parentWaitMs,
      parentPollMs: options.parentPollMs ?? DEFAULTS.parentPollMs,
      recordTtlSeconds: options.recordTtlSeconds ?? DEFAULTS.recordTtlSeconds,
    };
    if (!(this.opts.retry.baseDelayMs >= 1) || this.opts.retry.maxDelayMs < this.opts.retry.baseDelayMs) {
      throw new Error('SlackNotifier: retry.baseDelayMs must be ≥ 1 and ≤ retry.maxDelayMs');
    }
    this.logger = (options.logger ?? pino({ name: 'chatops' })).child({ component: 'slack-notifier' });
    this.keys = notifierKeys(options.prefix);
    this.cards = new CardContentStore(this.keys, this.opts.recordTtlSeconds);
    this.producer = openClient(options.connection);
    const queues = {} as Record<SlackChannel, Queue>;
    for (const channel of SLACK_CHANNELS) {
      const queue = new Queue(queueNameFor(channel), {
        connection: this.producer.client,
        prefix: options.prefix,
      });
      queue.on('error', (err) => this.logger.warn({ err, channel }, 'queue connection error'));
      queues[channel] = queue;
    }
    this.queues = queues;
  }

  // ───────────────────────────── producer side (any process) ─────────────────────────────

  /**
   * Enqueues a message. Posted once per (channel, key): the job id is derived from the key, so adding it
   * again while the job exists is a no-op, and the worker checks the key → message record before posting,
   * so adding it again later is one too.
   */
  async post(req: PostRequest): Promise<void> {
    assertKey(req.key);
    const data: PostJob = {
      kind: 'post',
      key: req.key,
      text: req.text,
      ...(req.blocks ? { blocks: req.blocks } : {}),
      ...(req.threadKey ? { threadKey: req.threadKey } : {}),
    };
    await this.queue(req.channel).add('post', data, {
      ...BASE_JOB_OPTIONS,
      jobId: postJobId(req.key),
      // Finished posts need not be kept: the posted-message record (not the job) makes a re-post a no-op.
      removeOnComplete: { age: 3600, count: 1_000 },
    });
  }

  /**
   * Shows a live card: the first call posts it, later calls update the same message. Coalesced: the content
   * is stored as the card's latest, and at most one job per card waits in the queue (BullMQ deduplication,
   * keepLastIfActive: one running + one waiting). The job shows whatever is latest when it runs, so a burst
   * of changes costs one post and a few updates, paced by the channel limiter, and the last change is
   * always shown. Resolves 'stale' (and enqueues nothing) when `version` is not newer than the stored one.
   */
  async upsert(req: UpsertRequest): Promise<'queued' | 'stale'> {
    assertKey(req.key);
    const content = { text: req.text, ...(req.blocks ? { blocks: req.blocks } : {}) };
    const stored = await this.cards.store(this.producer.client, req.channel, req.key, content, req.version);
    if (stored === null) return 'stale';
    const data: CardJob = { kind: 'card', key: req.key };
    await this.queue(req.channel).add('card', data, {
      ...BASE_JOB_OPTIONS,
      deduplication: { id: cardDeduplicationId(req.key), keepLastIfActive: true },
      removeOnComplete: true,
    });
    return 'queued';
  }

  /**
   * Sends `text` through `responseUrl` once the message under `key` is posted, with its link appended:
   * a job need not wait for Slack's pace to tell a user where their card is. At once when it is posted
   * already. The reply is best effort (response_url allows 5 posts in 30 minutes), and kept 30 minutes.
   */
  async replyWhenPosted(
    channel: SlackChannel,
    key: string,
    responseUrl: string,
    text: string,
  ): Promise<void> {
    assertKey(key);
    const list = this.keys.followUps(channel, key);
    await this.producer.client
      .multi()
      .rpush(list, JSON.stringify({ responseUrl, text }))
      .expire(list, 30 * 60)
      .exec();
    const posted = await this.lookup(channel, key);
    // Posted in the meantime: whoever pops an entry sends it, so each reply goes out once.
    if (posted) await this.sendFollowUps(this.producer.client, channel, key, posted);
  }

  /** Where the message posted under `key` is, once it has been posted. */
  async lookup(channel: SlackChannel, key: string): Promise<PostedMessage | null> {
    const raw = await this.producer.client.get(this.keys.posted(channel, key));
    return raw ? (JSON.parse(raw) as PostedMessage) : null;
  }

  // ───────────────────────────── worker side ─────────────────────────────

  /** Starts one worker per channel. Call in the worker process only. */
  async start(): Promise<void> {
    if (this.closing) throw new Error('SlackNotifier was closed; create a new one');
    if (this.workers.length > 0) return;
    const slack = this.options.slack;
    const web = new WebClient(slack.token, {
      ...(slack.apiUrl ? { slackApiUrl: slack.apiUrl } : {}),
      // The bot owns retries: a client-side retry of a chat.postMessage whose answer was lost double-posts.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: slack.timeoutMs ?? DEFAULTS.timeoutMs,
      logger: slackLogger(this.logger),
    });
    this.workerRedis = openPatientClient(this.options.connection);
    this.workerRedis.on('error', (err) => this.logger.warn({ err }, 'redis connection error'));
    this.delivery = new SlackDelivery(web, this.keys, this.opts.recordTtlSeconds, this.logger);
    for (const channel of SLACK_CHANNELS) {
      const worker = new Worker<NotifierJob>(
        queueNameFor(channel),
        (job, token) => this.process(channel, job, token),
        {
          connection: workerConnection(this.options.connection),
          prefix: this.opts.prefix,
          concurrency: 1,
          limiter: this.opts.limiter,
          autorun: false,
        },
      );
      worker.on('error', (err) => this.logger.warn({ err, channel }, 'worker error'));
      worker.on('failed', (job, err) => {
        if (!job) return;
        const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
        if (!final) return;
        const { key, kind } = job.data;
        this.logger.error({ channel, key, kind, err: err.message }, 'slack message dropped');
      });
      void worker.run().catch((err: unknown) => this.logger.error({ err, channel }, 'worker stopped'));
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  /**
   * Stops the workers (a running job gets `graceMs` to finish, src/queue/shutdown.ts), then the queues and connections we opened.
   * Idempotent; a closed notifier stays closed.
   */
  close(graceMs?: number): Promise<void> {
    this.closing ??= this.shutdown(graceMs);
    return this.closing;
  }

  private async shutdown(graceMs?: number): Promise<void> {
    await Promise.all(this.workers.map((w) => closeWorker(w, graceMs)));
    this.workers = [];
    if (this.workerRedis) await quietly(this.workerRedis);
    this.workerRedis = undefined;
    await Promise.all(Object.values(this.queues).map((q) => q.close()));
    await closeClient(this.producer);
  }

  private async process(channel: SlackChannel, job: Job<NotifierJob>, token?: string): Promise<unknown> {
    try {
      return job.data.kind === 'card'
        ? await this.showCard(channel, job.data)
        : await this.postMessage(channel, job as Job<PostJob>, token);
    } catch (err) {
      if (err instanceof SlackCallError) await this.onSlackFailure(channel, job, err);
      throw err;
    }
  }

  private async postMessage(
    channel: SlackChannel,
    job: Job<PostJob>,
    token?: string,
  ): Promise<PostedMessage> {
    const { redis, delivery } = this.running();
    const { key, text, blocks, threadKey } = job.data;
    let threadTs: string | undefined;
    if (threadKey) {
      const parent = await delivery.lookup(redis, channel, threadKey);
      if (!parent) {
        if (Date.now() - job.timestamp > this.opts.parentWaitMs) {
          throw new UnrecoverableError(`parent message ${threadKey} was never posted`);
        }
        // Not a failure: check again shortly, without blocking the channel for the messages behind it.
        await job.moveToDelayed(Date.now() + this.opts.parentPollMs, token);
        throw new DelayedError();
      }
      threadTs = parent.ts;
    }
    const posted = await delivery.postOnce(redis, {
      channel,
      channelId: this.opts.channels[channel],
      key,
      text,
      ...(blocks ? { blocks } : {}),
      ...(threadTs ? { threadTs } : {}),
    });
    this.logger.debug({ channel, key, ts: posted.ts }, 'slack message posted');
    return posted;
  }

  /** Shows the card's latest content: posts it the first time, updates it afterwards. */
  private async showCard(channel: SlackChannel, data: CardJob): Promise<{ version: number } | null> {
    const { redis, delivery } = this.running();
    const card = await this.cards.load(redis, channel, data.key);
    if (!card || card.version <= card.renderedVersion) return null;
    const content = { text: card.text, ...(card.blocks ? { blocks: card.blocks } : {}) };
    const existing = await delivery.lookup(redis, channel, data.key);
    if (existing) await delivery.update(existing, content);
    else {
      await delivery.postOnce(redis, {
        channel,
        channelId: this.opts.channels[channel],
        key: data.key,
        ...content,
      });
    }
    await this.cards.markRendered(redis, channel, data.key, card.version);
    const posted = await delivery.lookup(redis, channel, data.key);
    if (posted) await this.sendFollowUps(redis, channel, data.key, posted);
    return { version: card.version };
  }

  private async sendFollowUps(
    redis: Redis,
    channel: SlackChannel,
    key: string,
    posted: PostedMessage,
  ): Promise<void> {
    const list = this.keys.followUps(channel, key);
    for (let raw = await redis.lpop(list); raw; raw = await redis.lpop(list)) {
      const { responseUrl, text } = JSON.parse(raw) as { responseUrl: string; text: string };
      const link = messageLink(posted.channel, posted.ts);
      await fetch(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          response_type: 'ephemeral',
          replace_original: false,
          text: `${text} Follow it on its card: ${link}`,
        }),
        signal: AbortSignal.timeout(10_000),
      })
        .then((res) => {
          if (!res.ok) this.logger.warn({ status: res.status, key }, 'response_url refused the follow-up');
        })
        .catch((err: unknown) => this.logger.warn({ err, key }, 'follow-up through response_url failed'));
    }
  }

  /**
   * Turns a Slack failure into what the queue should do. Rate limits and transient failures pause the whole
   * channel (the job goes back to the head of the queue, no attempt used): Slack being unavailable affects
   * every message of the channel, and the pause keeps their order.
   */
  private async onSlackFailure(
    channel: SlackChannel,
    job: Job<NotifierJob>,
    err: SlackCallError,
  ): Promise<never> {
    const failure: SlackFailure = err.failure;
    const context = {
      channel,
      key: job.data.key,
      kind: job.data.kind,
      method: err.method,
      error: failure.error,
    };
    if (failure.kind === 'permanent') {
      this.logger.error(context, 'slack refused the message for good; not retrying');
      throw new UnrecoverableError(err.message);
    }
    if (failure.kind === 'rate-limited') {
      this.logger.warn(
        { ...context, retryAfterMs: failure.retryAfterMs },
        'slack rate limit; pausing the channel',
      );
      await this.queue(channel).rateLimit(failure.retryAfterMs);
      throw Worker.RateLimitError();
    }
    const failures = (job.data.transientFailures ?? 0) + 1;
    if (failures > this.opts.retry.maxTransientFailures) {
      this.logger.error({ ...context, failures }, 'slack kept failing; giving up on the message');
      throw new UnrecoverableError(err.message);
    }
    await job.updateData({ ...job.data, transientFailures: failures });
    const delay = backoffDelay(failures, this.opts.retry.baseDelayMs, this.opts.retry.maxDelayMs);
    this.logger.warn({ ...context, failures, delayMs: delay }, 'slack call failed; retrying after a pause');
    // Queue.rateLimit is BullMQ 6's name for worker.rateLimit: both set the queue's limiter key.
    await this.queue(channel).rateLimit(delay);
    throw Worker.RateLimitError();
  }

  private queue(channel: SlackChannel): Queue {
    const queue = this.queues[channel];
    if (!queue) throw new Error(`unknown Slack channel "${String(channel)}" (deployments | alerts | audit)`);
    return queue;
  }

  private running(): { redis: Redis; delivery: SlackDelivery } {
    if (!this.workerRedis || !this.delivery) throw new Error('SlackNotifier.start() was not called');
    return { redis: this.workerRedis, delivery: this.delivery };
  }
}

/** Exponential with ±20 % jitter, so several channels recovering together do not retry in lockstep. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
  return Math.max(1, Math.round(raw * (0.8 + Math.random() * 0.4)));
}

function assertKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new Error('a Slack message needs a non-empty key');
}

/** The WebClient's own logging, into ours (its request-level chatter at debug). */
function slackLogger(logger: Logger): SlackLogger {
  const child = logger.child({ component: 'slack-web-api' });
  let level: LogLevel = LogLevel.WARN;
  const line = (msg: unknown[]): string => msg.map(String).join(' ');
  return {
    debug: (...msg: unknown[]) => child.debug(line(msg)),
    info: (...msg: unknown[]) => child.debug(line(msg)),
    warn: (...msg: unknown[]) => child.warn(line(msg)),
    error: (...msg: unknown[]) => child.warn(line(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
