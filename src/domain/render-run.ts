// The GitHub Actions run, rendered: the card's run sections (failed job, plan, gate checklist, artifact
// problems) and the messages around the card — the plan details shown on demand, the Terraform outputs in
// the card's thread, the success line for #infra-deployments and the alert for #infra-alerts.
//
// Everything goes through the blockkit builders and fitSections, so any number of gates, findings,
// addresses or outputs, of any length, still makes a message Slack accepts: lists are cut with a count and
// a link to the run, never by failing to post.
import { approvalView } from './approval.js';
import {
  BLOCK_KIT_LIMITS,
  contextBlock,
  escapeMrkdwn,
  fieldsBlock,
  fitMrkdwn,
  headerBlock,
  sectionBlock,
  truncate,
} from './blockkit.js';
import type { Block, SectionBlock, SlackMessage } from './blockkit.js';
import type { Card } from './card.js';
import { PLAN_DETAILS_ACTION_ID } from './details.js';
import { formatDuration } from './duration.js';
import {
  artifactProblemSentence,
  checklistCounts,
  gateChecklist,
  needsAttention,
  openArtifactProblems,
} from './gates.js';
import type { GateRow, GateRowStatus } from './gates.js';
import {
  PHASE_LOOK,
  PIECE,
  code,
  elapsed,
  fitSections,
  freightMrkdwn,
  freightWord,
  link,
  oneLine,
  plain,
  plural,
  promotionLink,
  requesterMrkdwn,
  targetOf,
  tookOf,
} from './render-parts.js';
import type { FitItem } from './render-parts.js';
import { failureLead, failurePlain, isFailedRow, kargoSaysText } from './render-failure.js';
import { totalFindings } from './run-state.js';
import type { CardArtifactProblem, CardOutputs } from './run-state.js';
import type { FindingCounts } from '../artifacts/types.js';
import {
  byCloud,
  planCountsText,
  planHasChanges,
  planLineText,
  planName,
  renderPlanDetails,
  showResourcesButton,
} from './render-plan.js';

export { PLAN_DETAILS_ACTION_ID };
export { planCountsText, renderPlanDetails };

const ROW_EMOJI: Readonly<Record<GateRowStatus, string>> = {
  pending: '◻️',
  running: '⏳',
  waiting: '✋',
  passed: '✅',
  failed: '❌',
  'soft-failed': '⚠️',
  skipped: '⏭️',
  errored: '💥',
  cancelled: '⛔',
  unknown: '❔',
};

export const rowEmoji = (status: GateRowStatus): string => ROW_EMOJI[status] ?? '❔';

const MAX_GATE_SECTIONS = 4;
const TOP_FINDINGS_PER_ROW = 3;
/** Messages around the card leave room for a header and a context block under Slack's 50 blocks. */
const MAX_MESSAGE_SECTIONS = 45;

// ---------------------------------------------------------------------------------------------------
// On the card

/** "#12345 · attempt 2 · in progress", linked to the run. */
export function runFieldText(card: Card): string | undefined {
  const run = card.run;
  if (!run) return undefined;
  const parts = [link(run.url, `#${run.id}`)];
  if (run.attempt !== undefined && run.attempt > 1) parts.push(`attempt ${run.attempt}`);
  const state = runStateWord(run.status, run.conclusion);
  if (state) parts.push(state);
  return parts.join(' · ');
}

function runStateWord(status: string | undefined, conclusion: string | undefined): string | undefined {
  if (status === undefined) return undefined;
  if (status !== 'completed')
    return status === 'waiting' ? 'waiting for approval' : plain(status.replace(/_/g, ' '), 30);
  const word: Record<string, string> = {
    success: 'succeeded',
    failure: 'failed',
    cancelled: 'cancelled',
    timed_out: 'timed out',
    skipped: 'skipped',
  };
  return conclusion ? (word[conclusion] ?? plain(conclusion.replace(/_/g, ' '), 30)) : 'completed';
}

/** The run's blocks on the card, in order: failed job, plan, checklist, artifact problems. */
export function runBlocks(card: Card, now: Date | undefined): Block[] {
  const blocks: Block[] = [];
  const failed = failedJobText(card);
  if (failed) blocks.push(sectionBlock(failed));
  const plan = planSection(card);
  if (plan) blocks.push(plan);
  const rows = gateChecklist(card);
  // A failure card leads with the failure: the gates that passed or were skipped fold into one line.
  const collapse = card.phase === 'Failed' || card.phase === 'Errored';
  blocks.push(...checklistSections(card, rows, now, MAX_GATE_SECTIONS, { collapse }).map(sectionBlock));
  const problems = problemSections(openArtifactProblems(card), card.run?.url, 1);
  blocks.push(...problems.map(sectionBlock));
  return blocks;
}

/** `*Failed job:* <job|aws gates (prod)> at step `Trivy (HIGH/CRITICAL, hard)``. */
export function failedJobText(card: Card): string | undefined {
  const failed = card.failedJob;
  if (!failed) return undefined;
  const job = link(failed.url ?? card.run?.url, plain(failed.name, PIECE.jobName));
  const where = failed.step
    ? `at step ${code(failed.step, PIECE.jobName)}`
    : failed.conclusion === 'timed_out'
      ? '(timed out)'
      : '(failed before any step did)';
  return `*Failed job:* ${job} ${where}`;
}

/**
 * The plan line, with "Show resources"; the risk line under it when something is destroyed or replaced
 * (unless the approval prompt already states it, right above).
 */
function planSection(card: Card): SectionBlock | undefined {
  if (card.plans.length === 0) return undefined;
  const block = sectionBlock(planLineText(card, !approvalView(card)?.actionable));
  if (!card.plans.some(planHasChanges)) return block;
  return { ...block, accessory: showResourcesButton(card.id) };
}

export interface ChecklistOptions {
  /**
   * On a failure card: passed and skipped gates collapse into one line (`✅ 17 passed · ⏭️ 2 skipped: GCP
   * plan, Azure plan`), and a failed gate's findings are left to the failure's lead.
   */
  collapse?: boolean;
}

/** The checklist as section texts: one line per row, findings under rows that did not pass. */
export function checklistSections(
  card: Card,
  rows: readonly GateRow[],
  now: Date | undefined,
  maxSections: number,
  options: ChecklistOptions = {},
): string[] {
  if (rows.length === 0) return [];
  const counts = checklistCounts(rows);
  const cancelled = card.run?.status === 'completed' && card.run.conclusion === 'cancelled';
  const headingLine = [
    `*Gates* (${counts.done} of ${counts.total} done${counts.failed > 0 ? ` · ${counts.failed} failed` : ''})`,
    cancelled ? '⛔ *GitHub run cancelled*' : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  const runUrl = card.run?.url;
  const collapsed = options.collapse ? collapsedLine(rows) : undefined;
  const listed = options.collapse
    ? rows.filter((row) => row.status !== 'passed' && row.status !== 'skipped')
    : rows;
  const leadHasFindings = options.collapse === true;
  return fitSections(
    listed.map((row) => ({
      text: rowText(row, now, runUrl, { findings: !(leadHasFindings && isFailedRow(row)) }),
      priority: needsAttention(row.status) ? 0 : 1,
    })),
    {
      heading: collapsed ? `${headingLine}\n${collapsed}` : headingLine,
      maxSections,
      overflow: (hidden) => `… and ${plural(hidden, 'more gate')} — ${link(runUrl, 'see the run')}`,
    },
  );
}

/** `✅ 17 passed · ⏭️ 2 skipped: GCP plan, Azure plan` (undefined when nothing passed or was skipped). */
function collapsedLine(rows: readonly GateRow[]): string | undefined {
  const passed = rows.filter((row) => row.status === 'passed').length;
  const skipped = rows.filter((row) => row.status === 'skipped');
  const parts: string[] = [];
  if (passed > 0) parts.push(`✅ ${passed.toLocaleString('en-US')} passed`);
  if (skipped.length > 0) {
    const names = skipped.slice(0, 4).map((row) => plain(row.label, 40));
    const more = skipped.length - names.length;
    parts.push(`⏭️ ${skipped.length} skipped: ${names.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
  }
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

export function rowText(
  row: GateRow,
  now: Date | undefined,
  runUrl: string | undefined,
  options: { findings?: boolean } = {},
): string {
  const parts = [`${rowEmoji(row.status)} ${link(row.jobUrl, plain(row.label, PIECE.rowLabel))}`];
  if (row.durationMs !== undefined) parts.push(formatDuration(row.durationMs));
  else if ((row.status === 'running' || row.status === 'waiting') && row.startedAt && now) {
    const since = elapsed(row.startedAt, now.toISOString());
    if (since) parts.push(`${row.status} for ${since}`);
  }
  if (row.findings && totalFindings(row.findings) > 0) parts.push(findingsText(row.findings));
  let line = parts.join(' · ');
  if (row.note) line += ` — _${plain(row.note, PIECE.note)}_`;
  const showFindings =
    options.findings !== false && ['failed', 'soft-failed', 'errored', 'unknown'].includes(row.status);
  const top = showFindings ? (row.topFindings ?? []) : [];
  if (top.length === 0) return line;
  const shown = top.slice(0, TOP_FINDINGS_PER_ROW);
  const total = Math.max(row.findings ? totalFindings(row.findings) : 0, top.length);
  const lines = [line, ...shown.map((finding) => `      ↳ ${findingText(finding)}`)];
  if (total > shown.length) {
    lines.push(
      `      ↳ … and ${plural(total - shown.length, 'more finding')} — ${link(row.jobUrl ?? runUrl, 'see the job')}`,
    );
  }
  return lines.join('\n');
}

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;

/** "2 critical · 3 high" (only the severities that occur). */
export function findingsText(counts: FindingCounts): string {
  return SEVERITIES.filter((severity) => counts[severity] > 0)
    .map((severity) => `${counts[severity].toLocaleString('en-US')} ${severity}`)
    .join(' · ');
}

function findingText(finding: {
  id: string;
  severity: string;
  resource?: string;
  title?: string;
  message?: string;
}): string {
  const what = finding.title ?? finding.message;
  return [
    `${escapeMrkdwn(String(finding.severity))} ${code(finding.id, PIECE.findingId)}`,
    finding.resource ? ` on ${code(finding.resource, PIECE.findingResource)}` : '',
    what ? ` — ${plain(what, PIECE.findingTitle)}` : '',
  ].join('');
}

/** "⚠️ plan-summary-aws-dev is missing: the plan could not be summarised — <detail>" lines. */
export function problemSections(
  problems: readonly CardArtifactProblem[],
  runUrl: string | undefined,
  maxSections: number,
): string[] {
  if (problems.length === 0) return [];
  return fitSections(
    problems.map((problem) => ({ text: problemLine(problem), priority: 0 })),
    {
      maxSections,
      overflow: (hidden) =>
        `… and ${plural(hidden, 'more artifact problem')} — ${link(runUrl, 'see the run')}`,
    },
  );
}

export function problemLine(problem: CardArtifactProblem): string {
  const sentence = plain(artifactProblemSentence(problem), 400);
  const detail = oneLine(problem.detail);
  return `⚠️ ${sentence}${detail ? ` — _${plain(detail, PIECE.problemDetail)}_` : ''}`;
}

// ---------------------------------------------------------------------------------------------------
// Terraform outputs (in the card's thread)

/** Shown first, in this order: what people look for after an apply. */
export const WELL_KNOWN_OUTPUTS: readonly string[] = [
  'instance_id',
  'public_ip',
  'private_ip',
  'cluster_name',
  'cluster_endpoint',
  'vpc_id',
];

function orderedEntries(set: CardOutputs): CardOutputs['entries'] {
  const rank = (name: string): number => {
    const index = WELL_KNOWN_OUTPUTS.indexOf(name);
    return index === -1 ? WELL_KNOWN_OUTPUTS.length : index;
  };
  return [...set.entries].sort(
    (a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

/**
 * The thread reply with the Terraform outputs: well-known keys first, then the rest by name, sensitive
 * ones named as hidden. Undefined when there is nothing to say (no outputs, no problem reading them).
 */
export function renderOutputsThread(card: Card): SlackMessage | undefined {
  const sets = byCloud(card.outputs);
  const problems = openArtifactProblems(card).filter((p) => p.artifact.startsWith('terraform-outputs-'));
  if (sets.length === 0 && problems.length === 0) return undefined;
  const runUrl = card.run?.url;
  const items: FitItem[] = [];
  for (const set of sets) {
    items.push({ text: `*Terraform outputs · ${escapeMrkdwn(planName(set))}*`, priority: 0 });
    for (const entry of orderedEntries(set)) {
      items.push({
        text: `${code(entry.name, PIECE.outputName)} ${code(entry.value, PIECE.outputValue)}`,
        priority: WELL_KNOWN_OUTPUTS.includes(entry.name) ? 1 : 2,
      });
    }
    if (set.entries.length === 0) items.push({ text: '_No non-sensitive outputs._', priority: 0 });
    if (set.omitted > 0) {
      items.push({
        text: `… and ${plural(set.omitted, 'more output')} — ${link(runUrl, 'see the run')}`,
        priority: 0,
      });
    }
    if (set.excludedSensitive.length > 0) {
      const names = set.excludedSensitive.map((name) => code(name, PIECE.outputName)).join(', ');
      const more = set.excludedSensitiveOmitted > 0 ? ` and ${set.excludedSensitiveOmitted} more` : '';
      items.push({ text: `hidden: ${names}${more} _(sensitive, never shown)_`, priority: 0 });
    }
  }
  items.push(...problems.map((problem) => ({ text: problemLine(problem), priority: 0 })));
  const sections = fitSections(items, {
    maxSections: MAX_MESSAGE_SECTIONS,
    overflow: (hidden) => `… and ${plural(hidden, 'more output')} — ${link(runUrl, 'see the run')}`,
  });
  const wellKnown = sets
    .flatMap((set) => orderedEntries(set).filter((entry) => WELL_KNOWN_OUTPUTS.includes(entry.name)))
    .map((entry) => `${entry.name}=${truncate(oneLine(entry.value), 80)}`);
  const freight = freightWord(card);
  const text = `Terraform outputs for ${freight ? `${freight} → ` : ''}${targetOf(card)}${
    wellKnown.length > 0 ? `: ${wellKnown.join(', ')}` : sets.length === 0 ? ': not available' : ''
  }`;
  return {
    text: fitMrkdwn(escapeMrkdwn(oneLine(text)), BLOCK_KIT_LIMITS.messageText),
    blocks: sections.map(sectionBlock),
  };
}

// ---------------------------------------------------------------------------------------------------
// Success line (#infra-deployments) and failure alert (#infra-alerts)

export interface AroundCardOptions {
  /** Permalink of the card message (chat.getPermalink), linked as "view the card". */
  cardUrl?: string;
  /** Base URL of the Kargo UI, to link the Promotion. */
  kargoUrl?: string;
}

/** "✅ brave-wampa → prod in 14m · <card|view the card>" — one short line. */
export function renderSuccessLine(card: Card, options: AroundCardOptions = {}): SlackMessage {
  const look = PHASE_LOOK[card.phase];
  const who = freightWord(card) ?? 'promotion';
  const took = tookOf(card);
  const how =
    card.phase === 'Succeeded'
      ? took
        ? ` in ${took}`
        : ''
      : ` ${look.word.toLowerCase()}${took ? ` after ${took}` : ''}`;
  const target = targetOf(card);
  const plainLine = `${look.emoji} ${truncate(oneLine(who), PIECE.alias)} → ${target}${how}`;
  const links = [
    options.cardUrl ? link(options.cardUrl, 'view the card') : undefined,
    card.run?.url ? link(card.run.url, `run #${card.run.id}`) : undefined,
  ].filter((piece): piece is string => piece !== undefined && piece.startsWith('<'));
  const mrkdwnLine = `${look.emoji} ${plain(who, PIECE.alias)} → ${escapeMrkdwn(target)}${how}${
    links.length > 0 ? ` · ${links.join(' · ')}` : ''
  }`;
  return {
    text: fitMrkdwn(escapeMrkdwn(plainLine), BLOCK_KIT_LIMITS.messageText),
    blocks: [sectionBlock(mrkdwnLine)],
  };
}

const ALERT_WORD: Readonly<Record<string, string>> = {
  Failed: 'failed',
  Errored: 'errored',
  Aborted: 'was aborted',
  Rejected: 'was rejected',
  Succeeded: 'succeeded',
};

/**
 * The #infra-alerts message: the failed job and step with a direct link (the run's when no job is
 * known), the promotion, the freight, who requested it, Kargo's message, and the gates that failed.
 */
export function renderFailureAlert(card: Card, options: AroundCardOptions = {}): SlackMessage {
  const target = targetOf(card);
  const word = ALERT_WORD[card.phase] ?? (card.failedJob ? 'is failing' : `is ${card.phase.toLowerCase()}`);
  const blocks: Block[] = [headerBlock(`🚨 Promotion to ${target} ${word}`)];
  // Lead with the failure: the failed gate, its findings, the resource and the fix (render-failure.ts).
  blocks.push(...alertLead(card));
  // Where it failed: the job and step (the lead names the run itself when no job failed).
  const where = failedJobText(card) ?? (card.run ? undefined : whereText(card));
  if (where) blocks.push(sectionBlock(where));
  const fields = [
    `*Promotion*\n${card.promotion ? promotionLink(card, card.promotion.name, options.kargoUrl) : '_not created_'}`,
    `*Freight*\n${freightMrkdwn(card)}`,
    `*Requested by*\n${requesterMrkdwn(card)}`,
  ];
  const run = runFieldText(card);
  if (run) fields.push(`*GitHub run*\n${run}`);
  blocks.push(fieldsBlock(fields));
  const problems = openArtifactProblems(card);
  blocks.push(...problemSections(problems, card.run?.url, 1).map(sectionBlock));
  // Kargo's own wording last: the step detail, for whoever wants it.
  const message = card.phase === 'Rejected' ? undefined : card.phaseMessage;
  if (message) blocks.push(sectionBlock(kargoSaysText(message)));
  if (options.cardUrl) blocks.push(contextBlock([link(options.cardUrl, 'View the promotion card')]));
  const failed = card.failedJob;
  const gate = gateChecklist(card).some(isFailedRow);
  const reason = card.phase === 'Rejected' ? card.rejection?.reason : (failurePlain(card) ?? message);
  const text = [
    `🚨 Promotion to ${target} ${word}`,
    card.freight || card.request ? `: ${freightWord(card) ?? ''}` : '',
    reason ? ` — ${truncate(oneLine(reason), PIECE.fallbackDetail)}` : '',
    gate && failed ? `; job ${failed.name} failed${failed.step ? ` at step ${failed.step}` : ''}` : '',
  ].join('');
  return { text: fitMrkdwn(escapeMrkdwn(oneLine(text)), BLOCK_KIT_LIMITS.messageText), blocks };
}

/** The alert's first sections: the failure's lead; for a rejection or an abort, its reason. */
function alertLead(card: Card): Block[] {
  if (card.phase === 'Failed' || card.phase === 'Errored') return failureLead(card);
  if (card.phase === 'Rejected') {
    const reason = card.rejection?.reason ?? 'no reason given';
    return [
      sectionBlock(fitMrkdwn(`🚫 *Not promoted:* ${escapeMrkdwn(reason)}`, BLOCK_KIT_LIMITS.sectionText)),
    ];
  }
  if (card.phaseMessage) {
    return [
      sectionBlock(
        fitMrkdwn(
          `⛔ *${escapeMrkdwn(card.phase)}:* ${plain(card.phaseMessage, 1_000)}`,
          BLOCK_KIT_LIMITS.sectionText,
        ),
      ),
    ];
  }
  return [];
}

/**
 * #infra-alerts when Kargo ended a promotion but its GitHub run goes on and the bot could not stop it: the
 * run could still apply, with Kargo showing the promotion over. Names the run, why it should have stopped,
 * and what to do.
 */
export function renderRunStillGoingAlert(card: Card, options: AroundCardOptions = {}): SlackMessage {
  const target = targetOf(card);
  const run = card.run;
  const runText = run ? (runFieldText(card) ?? `#${run.id}`) : 'its run';
  const blocks: Block[] = [
    headerBlock(`⚠️ Promotion to ${target} ended, its GitHub run did not`),
    sectionBlock(
      fitMrkdwn(
        `Kargo ended ${card.promotion ? promotionLink(card, card.promotion.name, options.kargoUrl) : 'the promotion'} (*${card.phase}*), ` +
          `but GitHub run ${runText} is still ${escapeMrkdwn((run?.status ?? 'running').replace(/_/g, ' '))} and could still apply. ` +
          `The bot could not stop it: ${escapeMrkdwn(truncate(oneLine(card.runStop?.detail ?? 'unknown'), 400))}\n` +
          '*Do now:* cancel the run on GitHub (or reject its waiting deployment). The card keeps following it until it ends.',
        BLOCK_KIT_LIMITS.sectionText,
      ),
    ),
    fieldsBlock([`*Freight*\n${freightMrkdwn(card)}`, `*Requested by*\n${requesterMrkdwn(card)}`]),
  ];
  if (options.cardUrl) blocks.push(contextBlock([link(options.cardUrl, 'View the promotion card')]));
  const text = `⚠️ Promotion to ${target} ended in Kargo but GitHub run #${run?.id ?? '?'} is still going and could still apply`;
  return { text: fitMrkdwn(escapeMrkdwn(text), BLOCK_KIT_LIMITS.messageText), blocks };
}

function whereText(card: Card): string {
  if (card.run) return `*GitHub run:* ${runFieldText(card) ?? `#${card.run.id}`} — no failed job reported`;
  return '_No GitHub Actions run was started for this promotion._';
}

/** `title` and then `message` in a code block; our own fences survive any cut. */
export function codeBlockText(title: string, message: string): string {
  const fence = '```';
  const budget = BLOCK_KIT_LIMITS.sectionText - title.length - 1 - 2 * fence.length;
  const body = fitMrkdwn(escapeMrkdwn(message.replace(/```/g, "'''")), budget);
  return `${title}\n${fence}${body || ' '}${fence}`;
}
