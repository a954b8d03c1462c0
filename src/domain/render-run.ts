// The GitHub Actions run, rendered: the card's run sections (failed job, plan, gate checklist, artifact
// problems) and the messages around the card — the plan details shown on demand, the Terraform outputs in
// the card's thread, the success line for #infra-deployments and the alert for #infra-alerts.
//
// Everything goes through the blockkit builders and fitSections, so any number of gates, findings,
// addresses or outputs, of any length, still makes a message Slack accepts: lists are cut with a count and
// a link to the run, never by failing to post.
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
import { totalFindings } from './run-state.js';
import type { CardArtifactProblem, CardOutputs, CardPlan, PlanAction } from './run-state.js';
import type { FindingCounts } from '../artifacts/types.js';

/** The button on the plan line; the Slack adapter answers it with renderPlanDetails, ephemerally. */
export const PLAN_DETAILS_ACTION_ID = 'plan_details';

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

const CLOUD_LABEL: Readonly<Record<string, string>> = { aws: 'AWS', gcp: 'GCP', azure: 'Azure', all: 'all' };
const CLOUD_ORDER: Readonly<Record<string, number>> = { aws: 0, gcp: 1, azure: 2 };
const byCloud = <T extends { cloud: string; environment: string }>(list: readonly T[]): T[] =>
  [...list].sort(
    (a, b) =>
      (CLOUD_ORDER[a.cloud] ?? 9) - (CLOUD_ORDER[b.cloud] ?? 9) || a.environment.localeCompare(b.environment),
  );

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
  blocks.push(...checklistSections(card, gateChecklist(card), now, MAX_GATE_SECTIONS).map(sectionBlock));
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

export function planCountsText(plan: Pick<CardPlan, 'counts'>): string {
  const { add, change, destroy, replace } = plan.counts;
  if (add + change + destroy + replace === 0) return 'no changes';
  return `+${add} ~${change} −${destroy}${replace > 0 ? ` (${replace} replaced)` : ''}`;
}

const planName = (plan: Pick<CardPlan, 'cloud' | 'environment'>): string =>
  `${CLOUD_LABEL[plan.cloud] ?? plan.cloud} ${plan.environment}`;

function planSection(card: Card): SectionBlock | undefined {
  if (card.plans.length === 0) return undefined;
  const plans = byCloud(card.plans);
  const text = `*Plan* — ${plans.map((plan) => `${escapeMrkdwn(planName(plan))}: ${planCountsText(plan)}`).join(' · ')}`;
  const block = sectionBlock(text);
  const changes = plans.some((plan) => Object.values(plan.counts).some((count) => count > 0));
  if (!changes) return block;
  return {
    ...block,
    accessory: {
      type: 'button',
      action_id: PLAN_DETAILS_ACTION_ID,
      text: { type: 'plain_text', text: 'Show resources', emoji: true },
      value: truncate(card.id, BLOCK_KIT_LIMITS.buttonValue),
    },
  };
}

/** The checklist as section texts: one line per row, findings under rows that did not pass. */
export function checklistSections(
  card: Card,
  rows: readonly GateRow[],
  now: Date | undefined,
  maxSections: number,
): string[] {
  if (rows.length === 0) return [];
  const counts = checklistCounts(rows);
  const cancelled = card.run?.status === 'completed' && card.run.conclusion === 'cancelled';
  const heading = [
    `*Gates* (${counts.done} of ${counts.total} done${counts.failed > 0 ? ` · ${counts.failed} failed` : ''})`,
    cancelled ? '⛔ *GitHub run cancelled*' : undefined,
  ]
    .filter(Boolean)
    .join(' · ');
  const runUrl = card.run?.url;
  return fitSections(
    rows.map((row) => ({ text: rowText(row, now, runUrl), priority: needsAttention(row.status) ? 0 : 1 })),
    {
      heading,
      maxSections,
      overflow: (hidden) => `… and ${plural(hidden, 'more gate')} — ${link(runUrl, 'see the run')}`,
    },
  );
}

export function rowText(row: GateRow, now: Date | undefined, runUrl: string | undefined): string {
  const parts = [`${rowEmoji(row.status)} ${link(row.jobUrl, plain(row.label, PIECE.rowLabel))}`];
  if (row.durationMs !== undefined) parts.push(formatDuration(row.durationMs));
  else if ((row.status === 'running' || row.status === 'waiting') && row.startedAt && now) {
    const since = elapsed(row.startedAt, now.toISOString());
    if (since) parts.push(`${row.status} for ${since}`);
  }
  if (row.findings && totalFindings(row.findings) > 0) parts.push(findingsText(row.findings));
  let line = parts.join(' · ');
  if (row.note) line += ` — _${plain(row.note, PIECE.note)}_`;
  const showFindings = ['failed', 'soft-failed', 'errored', 'unknown'].includes(row.status);
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
// Plan details (on demand, ephemeral)

const ACTION_ORDER: readonly PlanAction[] = ['destroy', 'replace', 'change', 'add'];
const ACTION_TITLE: Readonly<Record<PlanAction, string>> = {
  destroy: 'To destroy',
  replace: 'To replace',
  change: 'To change',
  add: 'To add',
};
/** What must never be cut first: destructive changes. */
const ACTION_PRIORITY: Readonly<Record<PlanAction, number>> = { destroy: 1, replace: 1, change: 2, add: 3 };

/**
 * The resource addresses of every plan, by action (destroy and replace first: they are what an approver
 * must not miss), cut with counts and a link to the run when they do not fit.
 */
export function renderPlanDetails(card: Card): SlackMessage {
  const plans = byCloud(card.plans);
  const runUrl = card.run?.url;
  const items: FitItem[] = [];
  for (const plan of plans) {
    items.push({ text: `*${escapeMrkdwn(planName(plan))}* · ${planCountsText(plan)}`, priority: 0 });
    if (plan.counts.replace > 0) {
      items.push({
        text: '_Replacements count as one add and one destroy, as Terraform counts them._',
        priority: 0,
      });
    }
    for (const action of ACTION_ORDER) {
      const count = plan.counts[action];
      if (count === 0) continue;
      items.push({ text: `*${ACTION_TITLE[action]} (${count.toLocaleString('en-US')})*`, priority: 0 });
      for (const address of plan.resources[action]) {
        items.push({ text: `• ${code(address, PIECE.address)}`, priority: ACTION_PRIORITY[action] });
      }
      const unlisted = count - plan.resources[action].length;
      if (unlisted > 0) {
        items.push({
          text: `… and ${unlisted.toLocaleString('en-US')} more address${unlisted === 1 ? '' : 'es'} not listed here — ${link(runUrl, 'see the run')}`,
          priority: 0,
        });
      }
    }
  }
  const problems = openArtifactProblems(card).filter((p) => p.artifact.startsWith('plan-summary-'));
  items.push(...problems.map((problem) => ({ text: problemLine(problem), priority: 0 })));
  if (plans.length === 0 && problems.length === 0) {
    items.push({ text: '_No plan summary has been published for this promotion yet._', priority: 0 });
  }
  const freight = freightWord(card);
  const sections = fitSections(items, {
    maxSections: MAX_MESSAGE_SECTIONS,
    overflow: (hidden) =>
      `… and ${plural(hidden, 'more line')} — ${link(runUrl, 'the run')} has the whole plan`,
  });
  const text = oneLine(
    `Plan for ${targetOf(card)}${freight ? ` (${freight})` : ''}: ${
      plans.length > 0
        ? plans.map((plan) => `${planName(plan)} ${planCountsText(plan)}`).join(', ')
        : 'not published yet'
    }`,
  );
  return {
    text: fitMrkdwn(escapeMrkdwn(text), BLOCK_KIT_LIMITS.messageText),
    blocks: [headerBlock(`Plan · ${targetOf(card)}`), ...sections.map(sectionBlock)],
  };
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
  blocks.push(sectionBlock(failedJobText(card) ?? whereText(card)));
  const fields = [
    `*Promotion*\n${card.promotion ? promotionLink(card, card.promotion.name, options.kargoUrl) : '_not created_'}`,
    `*Freight*\n${freightMrkdwn(card)}`,
    `*Requested by*\n${requesterMrkdwn(card)}`,
  ];
  const run = runFieldText(card);
  if (run) fields.push(`*GitHub run*\n${run}`);
  blocks.push(fieldsBlock(fields));
  const message = card.phase === 'Rejected' ? card.rejection?.reason : card.phaseMessage;
  if (message) blocks.push(sectionBlock(codeBlockText('*Kargo says*', message)));
  const failing = gateChecklist(card).filter((row) => row.status === 'failed' || row.status === 'errored');
  blocks.push(...checklistSectionsFor(failing, card.run?.url).map(sectionBlock));
  const problems = openArtifactProblems(card);
  blocks.push(...problemSections(problems, card.run?.url, 1).map(sectionBlock));
  if (options.cardUrl) blocks.push(contextBlock([link(options.cardUrl, 'View the promotion card')]));
  const failed = card.failedJob;
  const text = [
    `🚨 Promotion to ${target} ${word}`,
    card.freight || card.request ? `: ${freightWord(card) ?? ''}` : '',
    failed ? ` — job ${failed.name} failed${failed.step ? ` at step ${failed.step}` : ''}` : '',
    !failed && message ? ` — ${truncate(oneLine(message), PIECE.fallbackDetail)}` : '',
  ].join('');
  return { text: fitMrkdwn(escapeMrkdwn(oneLine(text)), BLOCK_KIT_LIMITS.messageText), blocks };
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

function checklistSectionsFor(rows: readonly GateRow[], runUrl: string | undefined): string[] {
  if (rows.length === 0) return [];
  return fitSections(
    rows.map((row) => ({ text: rowText(row, undefined, runUrl), priority: 0 })),
    {
      heading: '*Failed gates*',
      maxSections: 2,
      overflow: (hidden) => `… and ${plural(hidden, 'more failed gate')} — ${link(runUrl, 'see the run')}`,
    },
  );
}

/** `title` and then `message` in a code block; our own fences survive any cut. */
export function codeBlockText(title: string, message: string): string {
  const fence = '```';
  const budget = BLOCK_KIT_LIMITS.sectionText - title.length - 1 - 2 * fence.length;
  const body = fitMrkdwn(escapeMrkdwn(message.replace(/```/g, "'''")), budget);
  return `${title}\n${fence}${body || ' '}${fence}`;
}
