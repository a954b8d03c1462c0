// Follow-up replies to a slash command through its response_url (Slack allows 5 within 30 minutes).
// Best effort by design: the card and the audit stream are the durable record; a lost follow-up is
// logged, never retried into a double post.
import type { KnownBlock } from '@slack/types';
import type { Logger } from 'pino';

export interface Reply {
  text: string;
  /** Block Kit, as Slack types it (every renderer's `Block` is one). */
  blocks?: KnownBlock[];
  /** ephemeral (only the requester sees it) or in_channel (posted for everyone, e.g. /freight share). */
  visibility?: 'ephemeral' | 'in_channel';
  /** Replace the message the button was clicked on (button answers), instead of adding one. */
  replaceOriginal?: boolean;
}

export interface Responder {
  reply(responseUrl: string | undefined, reply: Reply): Promise<void>;
}

export function createResponder(logger: Logger, fetchImpl: typeof fetch = fetch): Responder {
  return {
    async reply(responseUrl, reply) {
      if (!responseUrl) return;
      try {
        const res = await fetchImpl(responseUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            response_type: reply.visibility ?? 'ephemeral',
            replace_original: reply.replaceOriginal ?? false,
            text: reply.text,
            ...(reply.blocks ? { blocks: reply.blocks } : {}),
          }),
          signal: AbortSignal.timeout(10_000),
        });
        if (!res.ok) logger.warn({ status: res.status }, 'response_url rejected the follow-up');
      } catch (err) {
        logger.warn({ err }, 'response_url follow-up failed');
      }
    },
  };
}
