// The full record of one promotion: every audit record the stream keeps for its card, oldest first, paged
// like the details on demand (render-parts.ts: ~11,000 characters a page, a "More" button for the next).
// Pure. Asked for with the "Full record" button on a #infra-audit line (audit-mirror.ts) and with
// `/audit <promotion | card id>`; the worker (src/worker/audit-record.ts) loads the records and answers
// ephemerally.
//
// Who may look: whoever can see #infra-audit. The bot holds no list of a channel's members, so it asks
// for proof the way Slack gives it: the click or the command has to come from #infra-audit itself (Slack
// signs the channel a request came from; only someone who can read a channel can type or click in it). The
// answer holds nothing the channel's lines and the stream do not: records never hold secrets (audit.ts).
import type { AuditRecord } from './audit.js';
import { escapeMrkdwn } from './blockkit.js';
import type { SlackMessage } from './blockkit.js';
import { AUDIT_RECORD_ACTION_ID, formatAuditLine, mirrorKindOf } from './audit-mirror.js';
import { MAX_DETAILS_PAGE } from './details.js';
import { link, pagedMessage, paginate } from './render-parts.js';
import type { Environment } from './types.js';

/** The promotion whose record is shown. */
export interface AuditTrailSubject {
  cardId: string;
  /** The Kargo Promotion's name, once it was created. */
  promotionName?: string;
  /** The card's permalink in #infra-deployments. */
  cardUrl?: string;
  /** The promotion's environment, for records that do not name one (as on the #infra-audit lines). */
  environment?: Environment;
}

export const AUDIT_TRAIL_FOOTER =
  'Every record the audit stream keeps for this promotion, oldest first; 📣 marks the ones #infra-audit shows as a line. Times are UTC.';

/** `2026-11-27 10:00:01` from an ISO instant (as written: the records' own clock, UTC). */
export function recordTime(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]}` : escapeMrkdwn(iso.slice(0, 25));
}

/** One item of the full record: when, then the record as its #infra-audit line would read. */
export function trailItem(record: AuditRecord, environment?: Environment): string {
  const mirrored = mirrorKindOf(record) ? ' 📣' : '';
  return `\`${recordTime(record.at)}\`${mirrored} ${formatAuditLine(record, environment ? { environment } : {})}`;
}

/** Page `page` (1-based, clamped) of the full record of one promotion. */
export function renderAuditTrail(
  records: readonly AuditRecord[],
  subject: AuditTrailSubject,
  page = 1,
): SlackMessage {
  const name = subject.promotionName ?? subject.cardId;
  const environment = subject.environment ?? environmentOf(records);
  const items =
    records.length > 0
      ? records.map((record) => trailItem(record, environment))
      : [
          '_The audit stream keeps no record of this promotion any more (records age out after the retention)._',
        ];
  const count = `${records.length.toLocaleString('en-US')} record${records.length === 1 ? '' : 's'}`;
  const card = subject.cardUrl ? ` · ${link(subject.cardUrl, 'its card')}` : '';
  return pagedMessage({
    title: `Audit record · ${name}`,
    text: `Full audit record of ${name}: ${count}`,
    page: paginate(items, page, {
      maxPages: MAX_DETAILS_PAGE,
      overflow: (hidden) =>
        `… and ${hidden.toLocaleString('en-US')} more records, too many for Slack: the audit stream keeps them all.`,
    }),
    cardId: subject.cardId,
    actionId: AUDIT_RECORD_ACTION_ID,
    footer: [`*${escapeMrkdwn(name)}* · ${count}${card}`, AUDIT_TRAIL_FOOTER],
  });
}

/** The answer to someone asking from anywhere but #infra-audit. */
export const auditAccessRefusal = (auditChannelId: string): string =>
  `:lock: The full audit record is for whoever can see <#${auditChannelId}>: ask there, with \`/audit <promotion>\` or the *Full record* button on a line. Nothing was shown.`;

/** The answer for a promotion or card the stream knows nothing of. */
export const unknownAuditTarget = (target: string): string =>
  `:grey_question: I know no audit record of \`${target.replace(/[`<>&*_~]/g, '').slice(0, 80)}\`. ` +
  'Give a Kargo Promotion name (like `prod.01k3….f5f87aa`, as on its card) or a card id (`req-…`, `promo-…`); ' +
  'records are found for promotions the bot followed, as long as the audit stream keeps them.';

/** The promotion's environment, from its request or its `promotion.created` record. */
export const environmentOf = (records: readonly AuditRecord[]): Environment | undefined =>
  records.find((r) => (r.action === 'promote' || r.action === 'promotion.created') && r.environment)
    ?.environment;

/** The Kargo Promotion's name, from its `promotion.created` record. */
export const promotionNameOf = (records: readonly AuditRecord[]): string | undefined =>
  records.find((r) => r.action === 'promotion.created' && r.target)?.target;
