// Pieces shared by the card renderer (render.ts) and the run renderers (render-run.ts): how a phase looks,
// how untrusted text becomes safe mrkdwn, links, and packing lines into sections that fit Slack's limits.
import {
  BLOCK_KIT_LIMITS,
  contextBlock,
  escapeMrkdwn,
  fitMrkdwn,
  headerBlock,
  moreItemsNote,
  plainText,
  sectionBlock,
  truncate,
} from './blockkit.js';
import type { Block, ButtonElement, SlackMessage } from './blockkit.js';
import type { Card, CardFreight, CardPhase } from './card.js';
import { detailsButtonValue } from './details.js';
import { formatDuration } from './duration.js';
import { authorName, commitSubject, commitUrl, shortSha, utcTime } from './format.js';
import type { Actor } from './types.js';

export interface PhaseLook {
  emoji: string;
  word: string;
}

export const PHASE_LOOK: Readonly<Record<CardPhase, PhaseLook>> = {
  Requested: { emoji: '🕓', word: 'Requested' },
  Pending: { emoji: '⏳', word: 'Pending' },
  Running: { emoji: '🔄', word: 'Running' },
  Succeeded: { emoji: '✅', word: 'Succeeded' },
  Failed: { emoji: '❌', word: 'Failed' },
  Errored: { emoji: '💥', word: 'Errored' },
  Aborted: { emoji: '⛔', word: 'Aborted' },
  Rejected: { emoji: '🚫', word: 'Rejected' },
};

/** Lengths for the pieces of free text, well inside the limits of the blocks that hold them. */
export const PIECE = {
  target: 100,
  alias: 80,
  subject: 150,
  author: 60,
  stepAlias: 60,
  stepMessage: 150,
  actor: 80,
  fallbackDetail: 300,
  jobName: 120,
  rowLabel: 80,
  note: 160,
  findingId: 60,
  findingResource: 120,
  findingTitle: 120,
  address: 200,
  outputName: 80,
  outputValue: 300,
  problemDetail: 150,
} as const;

export const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** Inline code for untrusted text: escaped, backticks removed (they would end the span), bounded. */
export const code = (text: string, max: number): string => {
  const inner = escapeMrkdwn(truncate(oneLine(text).replace(/`/g, "'"), max));
  return inner === '' ? '—' : `\`${inner}\``;
};

/** Escaped, single-line, bounded plain text for mrkdwn. */
export const plain = (text: string, max: number): string => escapeMrkdwn(truncate(oneLine(text), max));

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;

/** `<@U123>` for a real Slack id; anything else is shown as escaped text rather than trusted as markup. */
export function mention(actor: Actor): string {
  if (SLACK_USER_ID.test(actor.slackUserId)) return `<@${actor.slackUserId}>`;
  return escapeMrkdwn(truncate(actor.slackUserName ?? actor.slackUserId, PIECE.actor)) || 'someone';
}

/** Slack renders `<!date>` in each reader's time zone; the fallback is UTC. */
export function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  const fallback = utcTime(iso);
  if (Number.isNaN(ms) || !fallback) return escapeMrkdwn(truncate(iso, 40));
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${new Date(ms).toISOString().slice(0, 10)} ${fallback}>`;
}

const SAFE_URL = /^https?:\/\/[^\s<>|]+$/;
export const safeUrl = (url: string | undefined): string | undefined =>
  url !== undefined && url.length <= 2000 && SAFE_URL.test(url) ? url : undefined;

/** `<url|label>` when the url is safe to link, the (already mrkdwn) label alone otherwise. */
export function link(url: string | undefined, labelMrkdwn: string): string {
  const safe = safeUrl(url);
  return safe ? `<${escapeMrkdwn(safe)}|${labelMrkdwn}>` : labelMrkdwn;
}

export function elapsed(fromIso: string | undefined, toIso: string | undefined): string | undefined {
  if (!fromIso || !toIso) return undefined;
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  return Number.isFinite(ms) && ms >= 0 ? formatDuration(ms) : undefined;
}

/** How long the promotion took (or has taken so far, up to `finishedAt`). */
export const tookOf = (card: Card): string | undefined =>
  elapsed(card.startedAt ?? card.promotion?.createdAt ?? card.request?.requestedAt, card.finishedAt);

export const plural = (count: number, unit: string): string =>
  `${count.toLocaleString('en-US')} ${unit}${count === 1 ? '' : 's'}`;

export const targetOf = (card: Card): string =>
  truncate(oneLine(card.environment ?? card.stage ?? '') || 'unknown stage', PIECE.target);

// ---------------------------------------------------------------------------------------------------
// Freight and Promotion

/** `frozen-tauntaun` · <https://github.com/acme/infra/commit/f5f8…|f5f87aa> Fix NAT routes — Jane Doe */
export function freightMrkdwn(card: Card): string {
  if (!card.freight) {
    const query = card.request?.freightQuery;
    return query ? `${code(query, PIECE.alias)} (resolving…)` : '_not known yet_';
  }
  return [freightName(card.freight), commitMrkdwn(card.freight)].filter(Boolean).join(' · ');
}

export const freightName = (freight: CardFreight): string =>
  freight.alias ? code(freight.alias, PIECE.alias) : code(shortSha(freight.name), PIECE.alias);

/** The freight as people say it: its alias, else its short name (plain text, unescaped). */
export const freightWord = (card: Card): string | undefined =>
  card.freight ? (card.freight.alias ?? shortSha(card.freight.name)) : card.request?.freightQuery;

function commitMrkdwn(freight: CardFreight): string | undefined {
  const [commit, ...others] = freight.commits;
  if (!commit) return undefined;
  const url = commitUrl(commit);
  const sha = escapeMrkdwn(shortSha(commit.id));
  const parts = [url ? `<${escapeMrkdwn(url)}|${sha}>` : code(commit.id.slice(0, 7), 7)];
  const subject = commitSubject(commit.message);
  if (subject) parts.push(escapeMrkdwn(truncate(subject, PIECE.subject)));
  const author = authorName(commit.author);
  if (author) parts.push(`— ${escapeMrkdwn(truncate(author, PIECE.author))}`);
  if (others.length > 0) parts.push(`(+${others.length} more commit${others.length === 1 ? '' : 's'})`);
  return parts.join(' ');
}

/** Links the Promotion to its Stage page in the Kargo UI (`/project/<p>/stage/<s>`), a route every 1.x UI has. */
export function promotionLink(card: Card, name: string, kargoUrl: string | undefined): string {
  const base = safeUrl(kargoUrl?.replace(/\/+$/, ''));
  if (!base || !card.project || !card.stage) return code(name, 120);
  const url = `${base}/project/${encodeURIComponent(card.project)}/stage/${encodeURIComponent(card.stage)}`;
  return `<${escapeMrkdwn(url)}|${escapeMrkdwn(truncate(name, 120))}>`;
}

/** Who asked: the Slack user, else Kargo's actor. */
export function requesterMrkdwn(card: Card): string {
  if (card.request) return mention(card.request.requestedBy);
  return escapeMrkdwn(truncate(card.promotion?.createdBy ?? 'Kargo', PIECE.actor));
}

// ---------------------------------------------------------------------------------------------------
// Packing lines into sections

/** Joins lines into chunks of at most `max` characters, never splitting a line. */
export function packLines(lines: readonly string[], max: number): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const line of lines) {
    const candidate = current === '' ? line : `${current}\n${line}`;
    if (candidate.length <= max) current = candidate;
    else {
      if (current !== '') chunks.push(current);
      current = line;
    }
  }
  if (current !== '') chunks.push(current);
  return chunks;
}

export interface FitItem {
  /** mrkdwn; may hold several lines that must stay together (a row and its findings). */
  text: string;
  /** Lower shows first when not everything fits. */
  priority: number;
}

export interface FitOptions {
  heading?: string;
  maxSections: number;
  /** The last line when items were left out, e.g. `… and 12 more gates — <run|see the run>`. */
  overflow: (hidden: number) => string;
  /** Longest an item may be; longer ones are cut (default 1,500). */
  maxItem?: number;
}

/**
 * Section texts holding the heading and as many items as fit in `maxSections` sections, in their original
 * order; when not all fit, the higher-priority ones win and the overflow line says how many are hidden.
 *
 * Why it always fits: packLines only closes a section when the next piece would overflow it, so every
 * closed section holds more than `sectionText − longest` characters; the budget below is at most
 * `maxSections × (sectionText − longest − 100)`, hence at most `maxSections` sections.
 */
export function fitSections(items: readonly FitItem[], options: FitOptions): string[] {
  const limit = BLOCK_KIT_LIMITS.sectionText;
  const maxItem = Math.min(options.maxItem ?? 1500, 2000);
  const texts = items.map((item) => fitItem(item.text, maxItem));
  const heading = options.heading === undefined ? undefined : fitItem(options.heading, 300);
  const overflowWidest = fitItem(options.overflow(items.length), 300);
  const longest = Math.max(40, heading?.length ?? 0, overflowWidest.length, ...texts.map((t) => t.length));
  const perSection = limit - longest - 100;
  let budget = options.maxSections * perSection - (heading?.length ?? 0) - overflowWidest.length - 2;
  const order = items
    .map((item, index) => ({ index, priority: item.priority }))
    .sort((a, b) => a.priority - b.priority || a.index - b.index);
  const visible = new Set<number>();
  for (const { index } of order) {
    const cost = (texts[index]?.length ?? 0) + 1;
    if (cost > budget) break;
    visible.add(index);
    budget -= cost;
  }
  const hidden = items.length - visible.size;
  const lines = [
    ...(heading === undefined ? [] : [heading]),
    ...texts.filter((_, index) => visible.has(index)),
    ...(hidden > 0 ? [fitItem(options.overflow(hidden), 300)] : []),
  ];
  return packLines(lines, limit).slice(0, options.maxSections);
}

/** Cuts a piece of our own mrkdwn to `max`, never inside a link or an entity (see fitMrkdwn). */
function fitItem(text: string, max: number): string {
  if (text.length <= max) return text;
  // Cut at a line boundary when one is close, so a row keeps its whole first findings.
  const lines = text.split('\n');
  let kept = '';
  for (const line of lines) {
    const candidate = kept === '' ? line : `${kept}\n${line}`;
    if (candidate.length > max - 40) break;
    kept = candidate;
  }
  const omitted = lines.length - (kept === '' ? 0 : kept.split('\n').length);
  if (kept !== '' && omitted > 0) return `${kept}\n${moreItemsNote(omitted, 'line')}`;
  return fitMrkdwn(text, max);
}

// ---------------------------------------------------------------------------------------------------
// Pages: answers on demand (plan details, all findings) too long for one message

/**
 * Characters of block text per page. Slack's documented caps would allow 50 sections of 3,000, but it
 * refuses far shorter messages as `msg_blocks_too_long` (reported from about 13,000 characters of blocks,
 * slackapi/bolt-js#2509), so a page stays well below that.
 */
export const PAGE_CHARACTERS = 11_000;

export interface Page {
  /** Section texts of this page. */
  sections: string[];
  /** 1-based, clamped to the pages there are. */
  page: number;
  pages: number;
}

/**
 * Splits items (mrkdwn; an item's lines stay together, one too long is cut with a note) into pages of at
 * most PAGE_CHARACTERS, and returns the requested one packed into sections. Nothing is dropped up to
 * `maxPages`; past it the last page ends with `overflow(hidden)`.
 */
export function paginate(
  items: readonly string[],
  page: number,
  options: { maxPages: number; overflow: (hidden: number) => string },
): Page {
  const fitted = items.map((item) => fitItem(item, 2_500));
  const pages: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const item of fitted) {
    const cost = item.length + 1;
    if (current.length > 0 && size + cost > PAGE_CHARACTERS) {
      pages.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += cost;
  }
  if (current.length > 0 || pages.length === 0) pages.push(current);
  if (pages.length > options.maxPages) {
    const hidden = pages.slice(options.maxPages).reduce((sum, p) => sum + p.length, 0);
    pages.length = options.maxPages;
    pages[pages.length - 1]?.push(fitItem(options.overflow(hidden), 300));
  }
  const index = Math.min(Math.max(Math.floor(page), 1), pages.length) - 1;
  return {
    sections: packLines(pages[index] ?? [], BLOCK_KIT_LIMITS.sectionText),
    page: index + 1,
    pages: pages.length,
  };
}

export interface PagedMessageOptions {
  /** Header text (plain), e.g. `Plan · prod`; ` · page 2 of 3` is added when there are pages. */
  title: string;
  /** Notification fallback (plain, one line). */
  text: string;
  page: Page;
  /** The card the answer is about and the button that asks for more of it (details.ts). */
  cardId: string;
  actionId: string;
  /** Context lines at the bottom of every page (mrkdwn). */
  footer?: readonly string[];
}

/** One page of an answer on demand: header, sections, a "More" button for the next page, a footer. */
export function pagedMessage(options: PagedMessageOptions): SlackMessage {
  const { page } = options;
  const paged = page.pages > 1 ? ` · page ${page.page} of ${page.pages}` : '';
  const blocks: Block[] = [headerBlock(`${options.title}${paged}`), ...page.sections.map(sectionBlock)];
  if (page.page < page.pages) {
    const more: ButtonElement = {
      type: 'button',
      action_id: options.actionId,
      text: plainText(`More (page ${page.page + 1} of ${page.pages})`, BLOCK_KIT_LIMITS.buttonText),
      value: detailsButtonValue(options.cardId, page.page + 1),
    };
    blocks.push({ type: 'actions', elements: [more] });
  }
  if (options.footer && options.footer.length > 0) blocks.push(contextBlock(options.footer));
  return {
    text: fitMrkdwn(escapeMrkdwn(oneLine(`${options.text}${paged}`)), BLOCK_KIT_LIMITS.messageText),
    blocks,
  };
}
