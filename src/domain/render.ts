// render(card) -> Block Kit: the live message a platform engineer watches in #infra-deployments.
//
//   ✅ Promotion to prod                                    header
//   *Succeeded* in 12m                                      what is happening, in a word
//   *Freight* `frozen-tauntaun` · <commit|f5f87aa> Fix NAT routes — Jane Doe
//   ❌ *Why it failed:* AWS · Trivy found 2 critical …      on Failed / Errored: the failed gate, its
//   • *CRITICAL* on `aws_security_group.web` — …           findings, resource and fix, what to do now
//         *Fix:* …                     [Show all findings]  (render-failure.ts)
//   Requested by | Promotion | GitHub run #123 · failed     fields
//   ⏳ Awaiting approval … ⚠️ *Risk:* replaces `…`  [Approve] [Reject]   (render-approval.ts)
//   *Failed job:* <job|prod gates (…)> at step `Trivy …`    the run's first failed job and step
//   *Plan* — AWS prod: +3 ~1 −0          [Show resources]   plan summary, addresses on demand (render-plan.ts)
//   *Gates* (9 of 14 done · 1 failed)                       gate checklist (gates.ts), per-job links; on a
//   ✅ 17 passed · ⏭️ 2 skipped: GCP plan, Azure plan        failure, passed and skipped gates in one line
//   ⚠️ plan-summary-aws-prod is missing: …                  artifact problems
//   *Steps* (2/3 done) ✅ `dispatch` ⏳ `waitRun` …           Kargo's steps
//   *Kargo says* ```step "waitRun": …```                    Kargo's wording, last
//   Last: Phase Succeeded · 10:14 UTC                       context
//
// The run-related pieces and the messages around the card (plan details, outputs thread, success line,
// failure alert) live in render-run.ts and are re-exported here.
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
import { isFinishedStepStatus, originOf, runOutlivesPromotion } from './card.js';
import type { Card, CardPhase, CardStep } from './card.js';
import { formatAge } from './duration.js';
import { freightLabel } from './format.js';
import {
  PHASE_LOOK,
  PIECE,
  code,
  elapsed,
  freightMrkdwn,
  mention,
  oneLine,
  packLines,
  promotionLink,
  slackDate,
  targetOf,
  tookOf,
} from './render-parts.js';
import type { PhaseLook } from './render-parts.js';
import { codeBlockText, runBlocks, runFieldText } from './render-run.js';
import { approvalBlocks, approvalFallbackText } from './render-approval.js';
import { failureLead, failurePlain, kargoSaysText } from './render-failure.js';

export {
  PLAN_DETAILS_ACTION_ID,
  WELL_KNOWN_OUTPUTS,
  renderFailureAlert,
  renderOutputsThread,
  renderPlanDetails,
  renderRunStillGoingAlert,
  renderSuccessLine,
  rowEmoji,
} from './render-run.js';
export type { AroundCardOptions } from './render-run.js';
export { FINDINGS_DETAILS_ACTION_ID } from './details.js';
export { renderFindingsDetails } from './render-failure.js';
export { riskLine } from './render-plan.js';
export { gateChecklist } from './gates.js';

export interface RenderCardOptions {
  /** Base URL of the Kargo UI (https://kargo.example.com); links the Promotion to its Stage page. */
  kargoUrl?: string;
  /** Enables relative times ("running for 5m", "updated 3m ago"). Without it, output depends on the card only. */
  now?: Date;
}

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

const MAX_STEP_SECTIONS = 4;
const MAX_VISIBLE_STEPS = 50;

export function renderCard(card: Card, options: RenderCardOptions = {}): SlackMessage {
  const rollback = card.request?.rollback;
  const blocks: Block[] = [
    headerBlock(
      `${PHASE_LOOK[card.phase].emoji} ${rollback ? 'Rollback of' : 'Promotion to'} ${targetOf(card)}`,
    ),
    sectionBlock(
      [
        statusLine(card, options.now),
        rollback ? rollbackLine(card, rollback.from) : `*Freight* ${freightMrkdwn(card)}`,
        ...(card.request?.override ? [overrideLine(card)] : []),
        ...(card.freeze && !card.isTerminal ? [freezeNoticeLine(card)] : []),
        ...holdLines(card),
      ].join('\n'),
    ),
  ];
  const stillRunning = runStillGoingText(card);
  if (stillRunning) blocks.push(sectionBlock(stillRunning));
  // A failure leads with what failed and what to do (render-failure.ts); Kargo's wording comes last.
  const failed = card.phase === 'Failed' || card.phase === 'Errored';
  if (failed) blocks.push(...failureLead(card));
  else {
    const problem = problemText(card);
    if (problem) blocks.push(sectionBlock(problem));
  }
  const fields = detailFields(card, options.kargoUrl);
  if (fields.length > 0) blocks.push(fieldsBlock(fields));
  blocks.push(...approvalBlocks(card, options.now));
  blocks.push(...runBlocks(card, options.now));
  blocks.push(...stepSections(card.steps));
  if (failed && card.phaseMessage) blocks.push(sectionBlock(kargoSaysText(card.phaseMessage)));
  const context = contextElements(card, options.now);
  if (context.length > 0) blocks.push(contextBlock(context));
  return { text: fallbackText(card), blocks };
}

// ---------------------------------------------------------------------------------------------------
// Pieces

/** "*Rollback* of prod from `brave-wampa` to `frozen-tauntaun` · <commit> …" */
function rollbackLine(card: Card, from: string | undefined): string {
  const target = targetOf(card);
  return `*Rollback* of ${target}${from ? ` from ${code(from, PIECE.alias)}` : ''} to ${freightMrkdwn(card)}`;
}

/** Started through a change freeze by an approver: who, why, and which freeze. */
function overrideLine(card: Card): string {
  const override = card.request!.override!;
  return `:snowflake: *Through the ${targetOf(card)} freeze* (${escapeMrkdwn(truncate(oneLine(override.freezeReason), 200))}) — override by ${mention(
    card.request!.requestedBy,
  )}: ${escapeMrkdwn(truncate(oneLine(override.reason), 300))}`;
}

/** A freeze that began while this promotion was open: it goes on; new requests are refused. */
function freezeNoticeLine(card: Card): string {
  const freeze = card.freeze!;
  const until = freeze.open ? 'until lifted' : `until ${slackDate(freeze.until)}`;
  return `:snowflake: *${targetOf(card)} is frozen* ${until} by <@${freeze.by.slackUserId}>: ${escapeMrkdwn(
    truncate(oneLine(freeze.reason), 200),
  )}. This promotion began before the freeze and carries on; new /promote and /rollback are refused.`;
}

/**
 * Kargo 1.11's hold: this promotion chose freight other than the newest, so Kargo stops auto-promoting
 * newer freight into the stage once it succeeds — until someone promotes the newest by hand.
 */
function holdLines(card: Card): string[] {
  if (!card.autoPromotionHold) return [];
  const release = card.environment ? ` \`/promote ${card.environment} latest\` releases it.` : '';
  if (card.phase === 'Succeeded')
    return [
      `:raised_hand: *Auto-promotion of ${targetOf(card)} is on hold*: this promotion chose older freight, so Kargo will not auto-promote newer freight into it until the newest is promoted by hand.${release}`,
    ];
  if (card.isTerminal) return [];
  return [
    `:raised_hand: When this succeeds, Kargo holds auto-promotion of ${targetOf(card)}: it chose older freight than the newest.${release}`,
  ];
}

function statusLine(card: Card, now: Date | undefined): string {
  const word = `*${PHASE_LOOK[card.phase].word}*`;
  const took = tookOf(card);
  switch (card.phase) {
    case 'Requested':
      return card.cancel
        ? `${word} — cancellation requested by ${mention(card.cancel.by)}`
        : `${word} — waiting for Kargo to create the Promotion`;
    case 'Pending':
      return `${word} — ${card.waiting ? escapeMrkdwn(truncate(card.waiting.reason, 300)) : 'queued in Kargo'}${
        card.cancel ? ` · cancellation requested by ${mention(card.cancel.by)}` : ''
      }`;
    case 'Running': {
      const position = runningPosition(card.steps);
      const since = card.startedAt && now ? elapsed(card.startedAt, now.toISOString()) : undefined;
      const cancelling = card.cancel && `cancellation requested by ${mention(card.cancel.by)}`;
      return [word, position, since && `running for ${since}`, cancelling].filter(Boolean).join(' — ');
    }
    case 'Succeeded':
      return took ? `${word} in ${took}` : word;
    case 'Failed':
    case 'Errored':
      return took ? `${word} after ${took}` : word;
    case 'Aborted':
      return card.cancel
        ? `${word} — cancelled by ${mention(card.cancel.by)}: ${escapeMrkdwn(truncate(oneLine(card.cancel.reason), 300))}`
        : word;
    case 'Rejected':
      return `${word} — no Promotion was created`;
  }
}

function runningPosition(steps: CardStep[]): string | undefined {
  const running = steps.findIndex((step) => !isFinishedStepStatus(step.status) && step.status !== 'Pending');
  if (running === -1) return undefined;
  return `step ${running + 1} of ${steps.length}`;
}

function detailFields(card: Card, kargoUrl: string | undefined): string[] {
  const fields: string[] = [];
  if (card.request) fields.push(`*Requested by*\n${mention(card.request.requestedBy)}`);
  else if (card.promotion) {
    fields.push(
      originOf(card) === 'auto-promotion'
        ? '*Started by*\nKargo auto-promotion'
        : `*Started by*\n${escapeMrkdwn(truncate(card.promotion.createdBy ?? 'Kargo', PIECE.actor))}`,
    );
  }
  if (card.promotion) fields.push(`*Promotion*\n${promotionLink(card, card.promotion.name, kargoUrl)}`);
  const run = runFieldText(card);
  if (run) fields.push(`*GitHub run*\n${run}`);
  return fields;
}

/**
 * What became of a GitHub run that outlived its promotion. Leads the card when the run could still apply:
 * Kargo says the promotion is over, GitHub may still deploy.
 */
function runStillGoingText(card: Card): string | undefined {
  const run = card.run;
  if (!run) return undefined;
  const runLink = run.url ? `<${run.url}|GitHub run #${run.id}>` : `GitHub run #${run.id}`;
  const stop = card.runStop;
  if (stop && stop.outcome !== 'failed' && stop.outcome !== 'already-ended') {
    return `🛑 The bot stopped ${runLink} (${stop.outcome === 'cancelled' ? 'cancelled' : 'deployment rejected'}) because the promotion ended in Kargo.`;
  }
  if (!runOutlivesPromotion(card)) return undefined;
  const why =
    stop?.outcome === 'failed'
      ? ` The bot could not stop it: ${escapeMrkdwn(truncate(oneLine(stop.detail), 300))}`
      : ' The bot is stopping it.';
  return fitMrkdwn(
    `⚠️ *Unknown — run still going:* Kargo ended this promotion, but ${runLink} is still ${escapeMrkdwn((run.status ?? 'running').replace(/_/g, ' '))} and could still apply.${why}`,
    BLOCK_KIT_LIMITS.sectionText,
  );
}

/** Failed and Errored lead with failureLead instead. */
const PROBLEM_TITLE: Partial<Record<CardPhase, string>> = {
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
  return codeBlockText(title, card.phaseMessage);
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
  const awaiting = approvalFallbackText(card);
  if (awaiting) return fitMrkdwn(escapeMrkdwn(oneLine(awaiting)), BLOCK_KIT_LIMITS.messageText);
  const look = PHASE_LOOK[card.phase];
  const detail =
    card.phase === 'Rejected'
      ? card.rejection?.reason
      : card.phase === 'Failed' || card.phase === 'Errored'
        ? failurePlain(card)
        : card.isTerminal
          ? card.phaseMessage
          : undefined;
  const line = [
    `${look.emoji} Promotion to ${targetOf(card)} ${look.word.toLowerCase()}`,
    card.freight && `: ${truncate(freightLabel(card.freight), PIECE.alias)}`,
    detail && ` — ${truncate(oneLine(detail), PIECE.fallbackDetail)}`,
  ].join('');
  return fitMrkdwn(escapeMrkdwn(oneLine(line)), BLOCK_KIT_LIMITS.messageText);
}
