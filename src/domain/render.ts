// render(card) -> Block Kit: the live message a platform engineer watches in #infra-deployments.
//
//   ✅ Promotion to prod                                    header
//   *Succeeded* in 12m                                      what is happening, in a word
//   *Freight* `frozen-tauntaun` · <commit|f5f87aa> Fix NAT routes — Jane Doe
//   Requested by | Promotion | GitHub run                   fields
//   *Why it failed* ```message```                           on Failed / Errored / Aborted / Rejected
//   *Steps* (2/3 done) ✅ `dispatch` ⏳ `waitRun` …           checklist
//   Last: Phase Succeeded · 10:14 UTC                       context
//
// Everything user- or Kargo-provided is escaped, and every piece is cut to fit Slack's limits by the
// blockkit builders, so a 2 MB commit message or 500 steps still produce a message Slack accepts.
import {
  BLOCK_KIT_LIMITS,
  contextBlock,
  escapeMrkdwn,
  fieldsBlock,
  fitMrkdwn,
  headerBlock,
  moreItemsNote,
  sectionBlock,
  truncate,
} from './blockkit.js';
import type { Block, SlackMessage } from './blockkit.js';
import { isFinishedStepStatus } from './card.js';
import type { Card, CardFreight, CardPhase, CardStep } from './card.js';
import { formatAge, formatDuration } from './duration.js';
import { authorName, commitSubject, commitUrl, freightLabel, shortSha, utcTime } from './format.js';
import type { Actor } from './types.js';

export interface RenderCardOptions {
  /** Base URL of the Kargo UI (https://kargo.example.com); links the Promotion to its Stage page. */
  kargoUrl?: string;
  /** Enables relative times ("running for 5m", "updated 3m ago"). Without it, output depends on the card only. */
  now?: Date;
}

interface PhaseLook {
  emoji: string;
  word: string;
}

const PHASE_LOOK: Readonly<Record<CardPhase, PhaseLook>> = {
  Requested: { emoji: '🕓', word: 'Requested' },
  Pending: { emoji: '⏳', word: 'Pending' },
  Running: { emoji: '🔄', word: 'Running' },
  Succeeded: { emoji: '✅', word: 'Succeeded' },
  Failed: { emoji: '❌', word: 'Failed' },
  Errored: { emoji: '💥', word: 'Errored' },
  Aborted: { emoji: '⛔', word: 'Aborted' },
  Rejected: { emoji: '🚫', word: 'Rejected' },
};

export const phaseLook = (phase: CardPhase): PhaseLook => PHASE_LOOK[phase];

const STEP_EMOJI: Readonly<Record<string, string>> = {
  Pending: '◻️',
  Running: '⏳',
  Succeeded: '✅',
  Failed: '❌',
  Errored: '❌',
  Skipped: '⏭️',
  Aborted: '⛔',
};

export const stepEmoji = (status: string): string => STEP_EMOJI[status] ?? '❔';

/** Lengths for the pieces of free text, well inside the limits of the blocks that hold them. */
const PIECE = {
  target: 100,
  alias: 80,
  subject: 150,
  author: 60,
  stepAlias: 60,
  stepMessage: 150,
  actor: 80,
  fallbackDetail: 300,
} as const;

const MAX_STEP_SECTIONS = 4;
const MAX_VISIBLE_STEPS = 50;

export function renderCard(card: Card, options: RenderCardOptions = {}): SlackMessage {
  const blocks: Block[] = [
    headerBlock(`${PHASE_LOOK[card.phase].emoji} Promotion to ${targetOf(card)}`),
    sectionBlock([statusLine(card, options.now), `*Freight* ${freightMrkdwn(card)}`].join('\n')),
  ];
  const fields = detailFields(card, options.kargoUrl);
  if (fields.length > 0) blocks.push(fieldsBlock(fields));
  const problem = problemText(card);
  if (problem) blocks.push(sectionBlock(problem));
  blocks.push(...stepSections(card.steps));
  const context = contextElements(card, options.now);
  if (context.length > 0) blocks.push(contextBlock(context));
  return { text: fallbackText(card), blocks };
}

// ---------------------------------------------------------------------------------------------------
// Pieces

const targetOf = (card: Card): string =>
  truncate(oneLine(card.environment ?? card.stage ?? '') || 'unknown stage', PIECE.target);

function statusLine(card: Card, now: Date | undefined): string {
  const word = `*${PHASE_LOOK[card.phase].word}*`;
  const took = elapsed(
    card.startedAt ?? card.promotion?.createdAt ?? card.request?.requestedAt,
    card.finishedAt,
  );
  switch (card.phase) {
    case 'Requested':
      return `${word} — waiting for Kargo to create the Promotion`;
    case 'Pending':
      return `${word} — queued in Kargo`;
    case 'Running': {
      const position = runningPosition(card.steps);
      const since = card.startedAt && now ? elapsed(card.startedAt, now.toISOString()) : undefined;
      return [word, position, since && `running for ${since}`].filter(Boolean).join(' — ');
    }
    case 'Succeeded':
      return took ? `${word} in ${took}` : word;
    case 'Failed':
    case 'Errored':
      return took ? `${word} after ${took}` : word;
    case 'Aborted':
      return word;
    case 'Rejected':
      return `${word} — no Promotion was created`;
  }
}

function runningPosition(steps: CardStep[]): string | undefined {
  const running = steps.findIndex((step) => !isFinishedStepStatus(step.status) && step.status !== 'Pending');
  if (running === -1) return undefined;
  return `step ${running + 1} of ${steps.length}`;
}

function elapsed(fromIso: string | undefined, toIso: string | undefined): string | undefined {
  if (!fromIso || !toIso) return undefined;
  const ms = Date.parse(toIso) - Date.parse(fromIso);
  return Number.isFinite(ms) && ms >= 0 ? formatDuration(ms) : undefined;
}

/** `frozen-tauntaun` · <https://github.com/acme/infra/commit/f5f8…|f5f87aa> Fix NAT routes — Jane Doe */
function freightMrkdwn(card: Card): string {
  if (!card.freight) {
    const query = card.request?.freightQuery;
    return query ? `${code(query, PIECE.alias)} (resolving…)` : '_not known yet_';
  }
  return [freightName(card.freight), commitMrkdwn(card.freight)].filter(Boolean).join(' · ');
}

const freightName = (freight: CardFreight): string =>
  freight.alias ? code(freight.alias, PIECE.alias) : code(shortSha(freight.name), PIECE.alias);

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

function detailFields(card: Card, kargoUrl: string | undefined): string[] {
  const fields: string[] = [];
  if (card.request) fields.push(`*Requested by*\n${mention(card.request.requestedBy)}`);
  else if (card.promotion)
    fields.push(`*Started by*\n${escapeMrkdwn(truncate(card.promotion.createdBy ?? 'Kargo', PIECE.actor))}`);
  if (card.promotion) fields.push(`*Promotion*\n${promotionLink(card, card.promotion.name, kargoUrl)}`);
  if (card.run) {
    const label = `#${card.run.id}`;
    const url = safeUrl(card.run.url);
    fields.push(`*GitHub run*\n${url ? `<${escapeMrkdwn(url)}|${label}>` : label}`);
  }
  return fields;
}

/** Links the Promotion to its Stage page in the Kargo UI (`/project/<p>/stage/<s>`), a route every 1.x UI has. */
function promotionLink(card: Card, name: string, kargoUrl: string | undefined): string {
  const base = safeUrl(kargoUrl?.replace(/\/+$/, ''));
  if (!base || !card.project || !card.stage) return code(name, 120);
  const url = `${base}/project/${encodeURIComponent(card.project)}/stage/${encodeURIComponent(card.stage)}`;
  return `<${escapeMrkdwn(url)}|${escapeMrkdwn(truncate(name, 120))}>`;
}

const PROBLEM_TITLE: Partial<Record<CardPhase, string>> = {
  Failed: '*Why it failed*',
  Errored: '*What went wrong*',
  Aborted: '*Aborted*',
};

function problemText(card: Card): string | undefined {
  if (card.phase === 'Rejected') {
    const reason = card.rejection?.reason ?? 'no reason given';
    return fitMrkdwn(`*Not promoted:* ${escapeMrkdwn(reason)}`, BLOCK_KIT_LIMITS.sectionText);
  }
  const title = PROBLEM_TITLE[card.phase];
  if (!title) return undefined;
  if (!card.phaseMessage)
    return `${title}\n_Kargo gave no message; the steps below and the GitHub run have the details._`;
  // A code block keeps multi-line tool output readable; our own fences must survive the cut.
  const fence = '```';
  const budget = BLOCK_KIT_LIMITS.sectionText - title.length - 1 - 2 * fence.length;
  const body = fitMrkdwn(escapeMrkdwn(card.phaseMessage.replace(/```/g, "'''")), budget);
  return `${title}\n${fence}${body}${fence}`;
}

/**
 * The checklist, over as many sections as needed (at most MAX_STEP_SECTIONS). When not everything fits,
 * steps that need attention (failed, running) win the space, and a last line says how many are hidden.
 */
function stepSections(steps: CardStep[]): Block[] {
  if (steps.length === 0) return [];
  const lines = steps.map(stepLine);
  const visible = chooseVisibleSteps(steps, lines);
  const done = steps.filter((step) => isFinishedStepStatus(step.status)).length;
  const text = [
    `*Steps* (${done} of ${steps.length} finished)`,
    ...lines.filter((_, index) => visible.has(index)),
    ...(visible.size < steps.length ? [moreItemsNote(steps.length - visible.size, 'step')] : []),
  ];
  return packLines(text, BLOCK_KIT_LIMITS.sectionText).map(sectionBlock);
}

function stepLine(step: CardStep): string {
  const alias = code(step.alias, PIECE.stepAlias);
  const message = step.message
    ? ` — ${escapeMrkdwn(truncate(oneLine(step.message), PIECE.stepMessage))}`
    : '';
  return `${stepEmoji(step.status)} ${alias}${message}`;
}

/**
 * Indices of the steps to show. The character budget leaves each section room for one more line than
 * packLines could strand, so whatever is chosen always packs into MAX_STEP_SECTIONS sections.
 */
function chooseVisibleSteps(steps: CardStep[], lines: string[]): Set<number> {
  // 40 covers the heading and the "… and N more steps" line, which are packed along with the steps.
  const longestLine = lines.reduce((longest, line) => Math.max(longest, line.length), 40);
  const perSection = BLOCK_KIT_LIMITS.sectionText - longestLine - 100;
  let budget = MAX_STEP_SECTIONS * perSection;
  const needsAttention = (step: CardStep): boolean =>
    !isFinishedStepStatus(step.status)
      ? step.status !== 'Pending'
      : step.status !== 'Succeeded' && step.status !== 'Skipped';
  const byPriority = steps
    .map((step, index) => ({ index, first: needsAttention(step) ? 0 : 1 }))
    .sort((a, b) => a.first - b.first || a.index - b.index);
  const visible = new Set<number>();
  for (const { index } of byPriority) {
    const cost = (lines[index]?.length ?? 0) + 1;
    if (visible.size >= MAX_VISIBLE_STEPS || cost > budget) break;
    visible.add(index);
    budget -= cost;
  }
  return visible;
}

/** Joins lines into chunks of at most `max` characters, never splitting a line. */
function packLines(lines: string[], max: number): string[] {
  const chunks: string[] = [];
  let current = '';
  for (const line of lines) {
    const candidate = current === '' ? line : `${current}\n${line}`;
    if (candidate.length <= max) current = candidate;
    else {
      chunks.push(current);
      current = line;
    }
  }
  if (current !== '') chunks.push(current);
  return chunks;
}

function contextElements(card: Card, now: Date | undefined): string[] {
  const elements: string[] = [];
  const last = card.timeline[card.timeline.length - 1];
  if (last) elements.push(`Last: ${escapeMrkdwn(oneLine(last.summary))} · ${slackDate(last.at)}`);
  if (card.request) elements.push(`Requested ${slackDate(card.request.requestedAt)}`);
  const age = now ? formatAge(card.updatedAt, now) : undefined;
  if (age) elements.push(`Updated ${age}`);
  return elements;
}

/** One line for notifications: `❌ Promotion to prod failed: f5f87aa (frozen-tauntaun) — step waitRun failed`. */
function fallbackText(card: Card): string {
  const look = PHASE_LOOK[card.phase];
  const detail =
    card.phase === 'Rejected' ? card.rejection?.reason : card.isTerminal ? card.phaseMessage : undefined;
  const line = [
    `${look.emoji} Promotion to ${targetOf(card)} ${look.word.toLowerCase()}`,
    card.freight && `: ${truncate(freightLabel(card.freight), PIECE.alias)}`,
    detail && ` — ${truncate(oneLine(detail), PIECE.fallbackDetail)}`,
  ].join('');
  return fitMrkdwn(escapeMrkdwn(oneLine(line)), BLOCK_KIT_LIMITS.messageText);
}

// ---------------------------------------------------------------------------------------------------
// Formatting helpers

const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** Inline code for untrusted text: escaped, backticks removed (they would end the span), bounded. */
const code = (text: string, max: number): string => {
  const inner = escapeMrkdwn(truncate(oneLine(text).replace(/`/g, "'"), max));
  return inner === '' ? '—' : `\`${inner}\``;
};

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,}$/;

/** `<@U123>` for a real Slack id; anything else is shown as escaped text rather than trusted as markup. */
function mention(actor: Actor): string {
  if (SLACK_USER_ID.test(actor.slackUserId)) return `<@${actor.slackUserId}>`;
  return escapeMrkdwn(truncate(actor.slackUserName ?? actor.slackUserId, PIECE.actor)) || 'someone';
}

/** Slack renders `<!date>` in each reader's time zone; the fallback is UTC. */
function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  const fallback = utcTime(iso);
  if (Number.isNaN(ms) || !fallback) return escapeMrkdwn(truncate(iso, 40));
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${new Date(ms).toISOString().slice(0, 10)} ${fallback}>`;
}

const SAFE_URL = /^https?:\/\/[^\s<>|]+$/;
const safeUrl = (url: string | undefined): string | undefined =>
  url !== undefined && url.length <= 2000 && SAFE_URL.test(url) ? url : undefined;
