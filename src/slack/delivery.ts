// Posting a message at most once per idempotency key, even though queue jobs run at least once.
//
//   1. `posted` record (key → channel + ts) present → it was posted; done.
//   2. Otherwise mark the key in flight, call chat.postMessage with the key in the message metadata,
//      and write the `posted` record as soon as Slack answers.
//   3. A failure after which Slack may have posted anyway (no answer, 5xx, internal_error) leaves the
//      in-flight mark. The next attempt sees it and first looks for the message in the channel (or the
//      thread) by its metadata; found → record it instead of posting again.
//
// Step 3 closes the gap a plain "check, post, record" leaves: a response lost in transit, or a worker that
// dies between Slack's answer and the record. What remains (see notifier.ts): a message that
// cannot be found because it was deleted, or scrolled out of the searched window (RECONCILE_PAGES pages).
import type { ChatPostMessageArguments, WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { NotifierKeys, SlackChannel } from './notifier-keys.js';
import { classifySlackError, SlackCallError } from './slack-failures.js';

/** event_type of the metadata every notifier message carries; event_payload.key is the idempotency key. */
export const MESSAGE_METADATA_TYPE = 'chatops_message';

/** How far back to search when reconciling: pages of 200 messages (Tier 3 calls, made only on retries). */
const RECONCILE_PAGES = 5;
/** Slack's clock and ours may disagree a little; search from a minute before the first attempt. */
const CLOCK_SKEW_SECONDS = 60;

export interface PostedMessage {
  channel: string;
  ts: string;
}

export interface MessageToPost {
  channel: SlackChannel;
  channelId: string;
  key: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
}

export class SlackDelivery {
  constructor(
    private readonly web: WebClient,
    private readonly keys: NotifierKeys,
    private readonly recordTtlSeconds: number,
    private readonly logger: Logger,
  ) {}

  /** Where the message posted under `key` is; null when it has not been posted (yet). */
  async lookup(redis: Redis, channel: SlackChannel, key: string): Promise<PostedMessage | null> {
    const raw = await redis.get(this.keys.posted(channel, key));
    return raw ? (JSON.parse(raw) as PostedMessage) : null;
  }

  /** Posts the message unless it was posted before; resolves where it is. Throws SlackCallError. */
  async postOnce(redis: Redis, msg: MessageToPost): Promise<PostedMessage> {
    const already = await this.lookup(redis, msg.channel, msg.key);
    if (already) return already;

    const inflightKey = this.keys.inflight(msg.channel, msg.key);
    const since = await redis.get(inflightKey);
    if (since) {
      const found = await this.findPosted(msg, Number(since));
      if (found) {
        this.logger.info(
          { channel: msg.channel, key: msg.key, ts: found.ts },
          'found the message a lost answer hid',
        );
        await this.record(redis, msg, found);
        await redis.del(inflightKey);
        return found;
      }
    } else {
      const startedAt = Math.floor(Date.now() / 1000) - CLOCK_SKEW_SECONDS;
      await redis.set(inflightKey, String(startedAt), 'EX', this.recordTtlSeconds, 'NX');
    }

    const args = {
      channel: msg.channelId,
      text: msg.text,
      ...(msg.blocks ? { blocks: msg.blocks } : {}),
      ...(msg.threadTs ? { thread_ts: msg.threadTs } : {}),
      metadata: { event_type: MESSAGE_METADATA_TYPE, event_payload: { key: msg.key } },
    } as ChatPostMessageArguments;
    let posted: PostedMessage;
    try {
      const res = await this.web.chat.postMessage(args);
      posted = { channel: res.channel ?? msg.channelId, ts: res.ts as string };
    } catch (err) {
      const failure = classifySlackError(err);
      // Slack answered and did not post: the next attempt need not search.
      if (!(failure.kind === 'transient' && failure.uncertain)) await redis.del(inflightKey);
      throw new SlackCallError('chat.postMessage', failure, err);
    }
    await this.record(redis, msg, posted);
    await redis.del(inflightKey);
    return posted;
  }

  /** Replaces the content of a message the notifier posted. Throws SlackCallError. */
  async update(at: PostedMessage, content: { text: string; blocks?: unknown[] }): Promise<void> {
    try {
      await this.web.chat.update({
        channel: at.channel,
        ts: at.ts,
        text: content.text,
        ...(content.blocks ? { blocks: content.blocks } : {}),
      } as Parameters<WebClient['chat']['update']>[0]);
    } catch (err) {
      throw new SlackCallError('chat.update', classifySlackError(err), err);
    }
  }

  private async record(redis: Redis, msg: MessageToPost, posted: PostedMessage): Promise<void> {
    await redis.set(
      this.keys.posted(msg.channel, msg.key),
      JSON.stringify(posted),
      'EX',
      this.recordTtlSeconds,
    );
  }

  /**
   * Looks for a message carrying our metadata for `key`, posted since `sinceSeconds`. A search Slack
   * refuses for good (e.g. missing channels:history scope) is logged and treated as "not found": posting
   * twice is better than never. A transient failure is thrown so the job retries the search.
   */
  private async findPosted(msg: MessageToPost, sinceSeconds: number): Promise<PostedMessage | null> {
    let cursor: string | undefined;
    for (let page = 0; page < RECONCILE_PAGES; page++) {
      let res: { messages?: unknown[]; response_metadata?: { next_cursor?: string } };
      const common = {
        channel: msg.channelId,
        oldest: String(sinceSeconds),
        include_all_metadata: true,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      };
      const method = msg.threadTs ? 'conversations.replies' : 'conversations.history';
      try {
        res = msg.threadTs
          ? await this.web.conversations.replies({ ...common, ts: msg.threadTs })
          : await this.web.conversations.history(common);
      } catch (err) {
        const failure = classifySlackError(err);
        if (failure.kind === 'permanent') {
          this.logger.warn(
            { channel: msg.channel, key: msg.key, error: failure.error },
            'cannot search for a possibly posted message; posting again',
          );
          return null;
        }
        throw new SlackCallError(method, failure, err);
      }
      const hit = (res.messages ?? []).find((m) => carriesKey(m, msg.key)) as { ts?: unknown } | undefined;
      if (hit && typeof hit.ts === 'string') return { channel: msg.channelId, ts: hit.ts };
      cursor = res.response_metadata?.next_cursor;
      if (!cursor) break;
    }
    return null;
  }
}

function carriesKey(message: unknown, key: string): boolean {
  const metadata = (message as { metadata?: unknown } | undefined)?.metadata as
    { event_type?: unknown; event_payload?: { key?: unknown } } | undefined;
  return metadata?.event_type === MESSAGE_METADATA_TYPE && metadata.event_payload?.key === key;
}
