// `/freight [n]`: the newest freight and where each piece stands in every stage. buildFreightView decides
// (pure data, easy to assert on); renderFreightView only draws it, ephemeral or shared alike.
import { explainBlocker, isFreightAvailable, summarizeBlocker } from './availability.js';
import type { AvailabilityVia } from './availability.js';
import {
  contextBlock,
  escapeMrkdwn,
  fitMrkdwn,
  headerBlock,
  sectionBlock,
  truncate,
  BLOCK_KIT_LIMITS,
} from './blockkit.js';
import type { Block, SlackMessage } from './blockkit.js';
import { formatAge } from './duration.js';
import { authorName, commitSubject, commitUrl, freightLabel, shortSha } from './format.js';
import type { FreightSummary, StageSummary } from './types.js';

export const FREIGHT_VIEW_MAX_ROWS = 20;

/** Where one freight stands in one stage, strongest fact first. */
export type StageStanding =
  | { kind: 'current'; since?: string }
  | { kind: 'verified'; verifiedAt?: string }
  | { kind: 'approved'; approvedAt?: string }
  | { kind: 'available'; via: AvailabilityVia }
  | { kind: 'not-available'; reason: string; summary: string };

export interface FreightRow {
  name: string;
  alias?: string;
  /** `f5f87aa (frozen-tauntaun)`. */
  label: string;
  commit?: { sha: string; shortSha: string; url?: string; subject?: string; author?: string };
  createdAt: string;
  /** "3h ago" (empty when createdAt does not parse). */
  age: string;
  stages: Array<{ stage: string; standing: StageStanding }>;
}

export interface FreightView {
  rows: FreightRow[];
  /** How many freight exist in all; rows hold the newest of them. */
  total: number;
  /** Upstream stages first (dev before prod). */
  stageNames: string[];
}

export function buildFreightView(
  freight: readonly FreightSummary[],
  stages: readonly StageSummary[],
  n: number,
  now: Date,
): FreightView {
  const ordered = upstreamFirst(stages);
  const limit = Math.min(FREIGHT_VIEW_MAX_ROWS, Math.max(1, Math.floor(Number.isFinite(n) ? n : 1)));
  const rows = newestFirst(freight)
    .slice(0, limit)
    .map((item) => buildRow(item, ordered, now));
  return { rows, total: freight.length, stageNames: ordered.map((stage) => stage.name) };
}

function buildRow(freight: FreightSummary, stages: StageSummary[], now: Date): FreightRow {
  const [commit] = freight.commits;
  return {
    name: freight.name,
    alias: freight.alias,
    label: freightLabel(freight),
    commit: commit && {
      sha: commit.id,
      shortSha: shortSha(commit.id),
      url: commitUrl(commit),
      subject: commitSubject(commit.message),
      author: authorName(commit.author),
    },
    createdAt: freight.createdAt,
    age: formatAge(freight.createdAt, now) ?? '',
    stages: stages.map((stage) => ({ stage: stage.name, standing: standingIn(stage, freight, now) })),
  };
}

export function standingIn(stage: StageSummary, freight: FreightSummary, now: Date): StageStanding {
  const deployed = freight.currentlyIn[stage.name];
  if (deployed || Object.values(stage.currentFreight).includes(freight.name)) {
    return { kind: 'current', since: deployed?.since };
  }
  const verified = freight.verifiedIn[stage.name];
  if (verified) return { kind: 'verified', verifiedAt: verified.verifiedAt };
  const approved = freight.approvedFor[stage.name];
  if (approved) return { kind: 'approved', approvedAt: approved.approvedAt };
  const availability = isFreightAvailable(stage, freight, now);
  if (availability.available) return { kind: 'available', via: availability.via };
  return {
    kind: 'not-available',
    reason: explainBlocker(availability.blocker, stage.name, freight),
    summary: summarizeBlocker(availability.blocker),
  };
}

/** Newest first by creation time; Kargo's list order is not guaranteed. Unparsable times sink. */
function newestFirst(freight: readonly FreightSummary[]): FreightSummary[] {
  const time = (item: FreightSummary): number => {
    const ms = Date.parse(item.createdAt);
    return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
  };
  return [...freight].sort((a, b) => time(b) - time(a) || 0);
}

/**
 * Stages in pipeline order: a stage comes after the upstream stages it takes freight from. Ties (and
 * cycles, which Kargo would not admit) fall back to name order, so the columns never jump around.
 */
export function upstreamFirst(stages: readonly StageSummary[]): StageSummary[] {
  const byName = new Map(stages.map((stage) => [stage.name, stage]));
  const upstreamOf = (stage: StageSummary): string[] =>
    stage.requestedFreight.flatMap((req) => req.sources.stages ?? []).filter((name) => byName.has(name));
  const placed = new Set<string>();
  const order: StageSummary[] = [];
  const remaining = [...stages].sort((a, b) => a.name.localeCompare(b.name));
  while (remaining.length > 0) {
    const readyIndex = remaining.findIndex((stage) => upstreamOf(stage).every((up) => placed.has(up)));
    const [next] = remaining.splice(readyIndex === -1 ? 0 : readyIndex, 1);
    if (!next) break;
    placed.add(next.name);
    order.push(next);
  }
  return order;
}

// ---------------------------------------------------------------------------------------------------
// Rendering

const STANDING_LOOK: Readonly<Record<StageStanding['kind'], { emoji: string; word: string }>> = {
  current: { emoji: '🟢', word: 'current' },
  verified: { emoji: '✅', word: 'verified' },
  approved: { emoji: '👍', word: 'approved' },
  available: { emoji: '🔓', word: 'available' },
  'not-available': { emoji: '🔒', word: 'not available' },
};

export interface RenderFreightViewOptions {
  /** Header text; defaults to "Freight". */
  title?: string;
}

export function renderFreightView(view: FreightView, options: RenderFreightViewOptions = {}): SlackMessage {
  const title = options.title ?? 'Freight';
  if (view.rows.length === 0) {
    const message = 'No freight yet: Kargo creates freight when its warehouse discovers a new commit.';
    return {
      text: escapeMrkdwn(`📦 ${truncate(title, 100)}: no freight yet`),
      blocks: [headerBlock(`📦 ${title}`), sectionBlock(message)],
    };
  }
  const blocks: Block[] = [
    headerBlock(`📦 ${title}`),
    ...view.rows.map((row) => sectionBlock(rowMrkdwn(row))),
  ];
  blocks.push(contextBlock([footer(view), legend()]));
  return { text: fallbackText(view, title), blocks };
}

function rowMrkdwn(row: FreightRow): string {
  const name = `*\`${escapeMrkdwn(truncate(row.alias ?? shortSha(row.name), 80).replace(/`/g, "'"))}\`*`;
  const header = [name, commitMrkdwn(row), row.age].filter(Boolean).join(' · ');
  const stages = row.stages.map(({ stage, standing }) => standingMrkdwn(stage, standing)).join('\n');
  return fitMrkdwn(stages ? `${header}\n${stages}` : header, BLOCK_KIT_LIMITS.sectionText);
}

function commitMrkdwn(row: FreightRow): string | undefined {
  if (!row.commit) return undefined;
  const sha = escapeMrkdwn(row.commit.shortSha);
  const link = row.commit.url ? `<${escapeMrkdwn(row.commit.url)}|${sha}>` : sha;
  const subject = row.commit.subject ? ` ${escapeMrkdwn(truncate(row.commit.subject, 120))}` : '';
  const author = row.commit.author ? ` — ${escapeMrkdwn(truncate(row.commit.author, 60))}` : '';
  return `${link}${subject}${author}`;
}

function standingMrkdwn(stage: string, standing: StageStanding): string {
  const look = STANDING_LOOK[standing.kind];
  const detail =
    standing.kind === 'not-available' ? `: ${escapeMrkdwn(truncate(standing.summary, 120))}` : '';
  return `${look.emoji} *${escapeMrkdwn(truncate(stage, 60))}* ${look.word}${detail}`;
}

function footer(view: FreightView): string {
  return view.total > view.rows.length
    ? `Newest ${view.rows.length} of ${view.total} · \`/freight 20\` shows more`
    : `${view.total} freight`;
}

const legend = (): string =>
  Object.values(STANDING_LOOK)
    .map((look) => `${look.emoji} ${look.word}`)
    .join('  ');

function fallbackText(view: FreightView, title: string): string {
  const rows = view.rows.map(
    (row) =>
      `${row.alias ?? shortSha(row.name)} (${row.stages.map(({ stage, standing }) => `${stage}: ${STANDING_LOOK[standing.kind].word}`).join(', ')})`,
  );
  return fitMrkdwn(
    escapeMrkdwn(`📦 ${truncate(title, 100)}: ${rows.join('; ')}`),
    BLOCK_KIT_LIMITS.messageText,
  );
}
