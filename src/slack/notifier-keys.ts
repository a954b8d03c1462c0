// Every Redis key and BullMQ name the notifier uses, in one place. Keys are per logical channel
// (deployments | alerts | audit), so the same idempotency key may be used in two channels.
export type SlackChannel = 'deployments' | 'alerts' | 'audit';
export const SLACK_CHANNELS: readonly SlackChannel[] = ['deployments', 'alerts', 'audit'];

export interface NotifierKeys {
  /** key → `{channel, ts}` of the Slack message posted under it (written right after Slack answers). */
  posted(channel: SlackChannel, key: string): string;
  /** Present while a chat.postMessage for the key may have reached Slack without us hearing the answer. */
  inflight(channel: SlackChannel, key: string): string;
  /** The latest content of a live card (hash: text, blocks, version, renderedVersion). */
  card(channel: SlackChannel, key: string): string;
  /** Replies waiting for the message under `key` to be posted, so they can carry its link (list). */
  followUps(channel: SlackChannel, key: string): string;
}

/** Slack archive link to a message; works for every member of the workspace. */
export const messageLink = (channel: string, ts: string): string =>
  `https://slack.com/archives/${channel}/p${ts.replace('.', '')}`;

export function notifierKeys(prefix: string): NotifierKeys {
  return {
    posted: (channel, key) => `${prefix}:slack:posted:${channel}:${key}`,
    inflight: (channel, key) => `${prefix}:slack:inflight:${channel}:${key}`,
    card: (channel, key) => `${prefix}:slack:card:${channel}:${key}`,
    followUps: (channel, key) => `${prefix}:slack:followup:${channel}:${key}`,
  };
}

/** One BullMQ queue per Slack channel: BullMQ's limiter is per queue, Slack's limit is per channel. */
export const queueNameFor = (channel: SlackChannel): string => `slack-${channel}`;

// BullMQ refuses custom job ids that contain ':' or parse as integers; encodeURIComponent plus a prefix
// keeps every key usable and the mapping one-to-one.
export const postJobId = (key: string): string => `post-${encodeURIComponent(key)}`;
export const cardDeduplicationId = (key: string): string => `card-${encodeURIComponent(key)}`;
