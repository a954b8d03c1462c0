// How long the bot keeps what it writes to Redis, in one place. Redis runs with `noeviction` (BullMQ
// needs it), so nothing may grow without bound: every key has a TTL or a trim policy derived from what it
// serves. The README's "Redis sizing" section turns these into memory figures.
//
//   card data (events, dedupe set, stats, run/promotion links, Slack message records)
//       as long as a promotion can still be followed or approved: CARD_RETENTION_DAYS after its last
//       change (default 35: GitHub lets a deployment wait 30 days for approval);
//   audit stream    AUDIT_RETENTION_DAYS by entry age (XTRIM MINID), never by count;
//   audit id guard  as long as a card event can be replayed into the stream: the card retention;
//   nonces          their validity (unlock confirmations 10 min, approval buttons while the card lives);
//   queue jobs      finished jobs by age and count (BullMQ removeOnComplete / removeOnFail);
//   group cache     a day without a refresh (then it reads as empty: fails closed);
//   drift state     per target and the episode per environment: the card retention after the last check
//                   that touched them (src/drift/store.ts); drift-run markers a week.
//   run following   per followed run: the last webhook delivery heard and the poll ETags, a day
//                   (src/worker/github-follow.ts); the tracked-run marker, the card retention.
export interface Retention {
  /** Card data, in seconds after the card's last change. */
  cardSeconds: number;
  /** Audit stream entries, in seconds after they were appended. */
  auditSeconds: number;
}

const DAY = 24 * 3600;

export const DEFAULT_RETENTION: Retention = { cardSeconds: 35 * DAY, auditSeconds: 400 * DAY };

export function retentionFrom(config: { retention: { cardDays: number; auditDays: number } }): Retention {
  return { cardSeconds: config.retention.cardDays * DAY, auditSeconds: config.retention.auditDays * DAY };
}

/** Cached Slack user-group membership without a refresh for this long counts as unknown (empty). */
export const GROUP_CACHE_TTL_SECONDS = DAY;
