// The promotion card: everything the bot knows about one promotion, as a pure fold over events.
//
//   card = foldEvents(events)            render(card) -> Slack
//
// Events arrive late, twice, and out of order (Kubernetes watches re-list, GitHub redelivers, BullMQ is
// at-least-once). The reducer therefore only ever moves *forward*:
//   - an event whose id was already applied changes nothing (ids kept in a bounded list on the card);
//   - phases climb Requested -> Pending -> Running -> terminal and never come back down; the first
//     terminal phase (Succeeded, Failed, Errored, Aborted, or Rejected by the bot) is final;
//   - facts that cannot change (who requested, which freight, which Promotion, which run) are
//     first-writer-wins; later events may only fill in what is still missing;
//   - each step's status climbs the same way (Pending -> Running -> finished);
//   - the GitHub Actions run, its jobs and its artifacts follow the rules in run-state.ts (higher attempt
//     wins; statuses climb queued -> in_progress|waiting -> completed; one artifact per gate/cloud/env).
// The run never moves the card's phase: that stays Kargo's Promotion phase. The run adds the detail (the
// gate checklist in gates.ts, the plan, the outputs, the failed job) and `failedJob` for the alert.
// An event that moves nothing returns the very same card object: `version` counts effective changes
// only, so the Slack notifier can coalesce updates by comparing versions.
import { createHash } from 'node:crypto';
import { mergeApprovalDecided, mergeApprovalRequested } from './approval.js';
import type { CardApproval } from './approval.js';
import { truncate } from './blockkit.js';
import type {
  AutoPromotionHeld,
  FreezeChanged,
  ApprovalDecided,
  ApprovalRequested,
  ArtifactProblem,
  CancelRequested,
  PromotionDeleted,
  PromotionWaiting,
  RunStopAttempted,
  CardEvent,
  CardEventType,
  FreightResolved,
  GateReported,
  OutputsPublished,
  PlanSummarized,
  PromotionCreated,
  PromotionPhaseChanged,
  PromotionRejected,
  PromotionRequested,
  PromotionStepChanged,
  RunJobChanged,
  RunLinked,
  RunStatusChanged,
} from './events.js';
import { freightLabel } from './format.js';
import { artifactProblemSentence } from './gates.js';
import {
  findFailedJob,
  mergeArtifactProblem,
  mergeGateReport,
  mergeJobs,
  mergeOutputs,
  mergePlan,
  mergeRunStatus,
} from './run-state.js';
import type {
  CardArtifactProblem,
  CardFailedJob,
  CardGateReport,
  CardJob,
  CardOutputs,
  CardPlan,
  CardRun,
} from './run-state.js';
import { ENVIRONMENTS, TERMINAL_PHASES } from './types.js';
import type { Actor, Environment, FreightCommit, PromotionPhase } from './types.js';

/** Kargo's phases, plus `Requested` (accepted, no Promotion yet) and `Rejected` (never became one). */
export type CardPhase = 'Requested' | PromotionPhase | 'Rejected';

export const CARD_TERMINAL_PHASES: readonly CardPhase[] = [...TERMINAL_PHASES, 'Rejected'];
export const isTerminalCardPhase = (phase: CardPhase): boolean => CARD_TERMINAL_PHASES.includes(phase);

/** Bounds that keep a card small enough to store in Redis and replay, whatever arrives. */
export const CARD_LIMITS = {
  timelineEntries: 20,
  /** Far more than one promotion produces; a duplicate older than this is still harmless (see top). */
  appliedEventIds: 256,
  steps: 100,
  commits: 10,
  /** Messages from Kargo and commit messages, kept for rendering (Slack shows ≤ 3,000 anyway). */
  storedText: 2000,
  timelineSummary: 300,
} as const;

export interface CardFreight {
  name: string;
  alias?: string;
  warehouse?: string;
  commits: FreightCommit[];
}

export interface CardRequest {
  freightQuery: string;
  requestedBy: Actor;
  rollback?: { from?: string };
  override?: { reason: string; freezeReason: string };
  sourceChannelId: string;
  requestedAt: string;
}

export interface CardPromotion {
  name: string;
  /** Kargo's actor for the creation (`kubernetes:system:serviceaccount:…`, `admin`, …). */
  createdBy?: string;
  createdAt?: string;
}

export interface CardStep {
  alias: string;
  /** Kargo's step status: Running | Succeeded | Failed | Errored | Aborted | Skipped (or Pending). */
  status: string;
  message?: string;
  index?: number;
}

export interface TimelineEntry {
  at: string;
  event: CardEventType;
  /** Plain text; the renderer escapes it. */
  summary: string;
}

export interface Card {
  id: string;
  /** Increases by one on every event that changed anything else on the card. */
  version: number;
  phase: CardPhase;
  isTerminal: boolean;
  environment?: Environment;
  stage?: string;
  /** Kargo project (namespace), when the Promotion told us. */
  project?: string;
  /** Present when the bot created the promotion; absent for ones it discovered (auto-promotion). */
  request?: CardRequest;
  freight?: CardFreight;
  promotion?: CardPromotion;
  /** Kargo's status.message for the current phase (on failure: the worst step's message). */
  phaseMessage?: string;
  rejection?: { code: string; reason: string };
  steps: CardStep[];
  /** The GitHub Actions run that carries out the promotion (one per promotion; re-runs are attempts). */
  run?: CardRun;
  /** The run's jobs, by job id (all attempts; see currentJobs in run-state.ts). */
  jobs: CardJob[];
  /** The first failed job of the current attempt and its first failed step (derived from `jobs`). */
  failedJob?: CardFailedJob;
  /** Gate-result artifacts, one per gate/cloud/environment. */
  gateReports: CardGateReport[];
  /** Plan summaries, one per cloud/environment. */
  plans: CardPlan[];
  /** Terraform outputs after an apply, one set per cloud/environment. */
  outputs: CardOutputs[];
  /** Artifacts that were missing, late, expired or malformed (see openArtifactProblems in gates.ts). */
  artifactProblems: CardArtifactProblem[];
  /** The approval of the run's gated deployment (prod), when the bot was asked for one (approval.ts). */
  approval?: CardApproval;
  /** Who asked the bot to stop this promotion, and why (the first request counts). */
  cancel?: { by: Actor; reason: string; at: string; via: 'command' | 'button' };
  /** Kargo holds auto-promotion of this origin (`Warehouse/<name>`) because of this promotion. */
  autoPromotionHold?: string;
  /** The change freeze of the card's environment that began while the card was open (cleared when it ends). */
  freeze?: { by: Actor; reason: string; until: string; open: boolean };
  /** Why a Pending promotion waits (cleared in effect once it runs: rendered only while Pending). */
  waiting?: { reason: string; behind?: { promotionName: string; cardId?: string } };
  /** What the bot did about a run that outlived its promotion (RunStopAttempted). */
  runStop?: { outcome: 'cancelled' | 'rejected' | 'already-ended' | 'failed'; detail: string; at: string };
  startedAt?: string;
  finishedAt?: string;
  /** Latest event time seen (event time, not arrival time). */
  updatedAt: string;
  /** Oldest first, at most CARD_LIMITS.timelineEntries. */
  timeline: TimelineEntry[];
  appliedEventIds: string[];
}

// ---------------------------------------------------------------------------------------------------
// Card ids

const hash16 = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 16);

/**
 * Card id for a promotion the bot was asked for. `source` is whatever identifies the Slack request
 * (its trigger_id, or the action payload id): retries of the same request land on the same card.
 */
export const cardIdForRequest = (source: string): string => `req-${hash16(source)}`;

/** Card id for a Promotion the bot did not create (e.g. Kargo auto-promoting freight to dev). */
export const cardIdForPromotion = (promotionName: string): string => `promo-${hash16(promotionName)}`;

// ---------------------------------------------------------------------------------------------------
// The reducer

export function applyEvent(card: Card | undefined, event: CardEvent): Card {
  const current = card ?? emptyCard(event);
  if (event.cardId !== current.id || current.appliedEventIds.includes(event.id)) return current;
  const { next, summary } = transition(current, event);
  if (contentOf(next) === contentOf(current)) return current;
  return {
    ...next,
    isTerminal: isTerminalCardPhase(next.phase),
    version: current.version + 1,
    updatedAt: later(current.updatedAt, event.at),
    timeline: insertChronologically(current.timeline, {
      at: event.at,
      event: event.type,
      summary: truncate(summary, CARD_LIMITS.timelineSummary),
    }),
    appliedEventIds: [...current.appliedEventIds, event.id].slice(-CARD_LIMITS.appliedEventIds),
  };
}

/** The card the events describe; undefined when there are none. Events for other cards are ignored. */
export function foldEvents(events: Iterable<CardEvent>): Card | undefined {
  let card: Card | undefined;
  for (const event of events) card = applyEvent(card, event);
  return card;
}

function emptyCard(event: CardEvent): Card {
  return {
    id: event.cardId,
    version: 0,
    phase: 'Requested',
    isTerminal: false,
    steps: [],
    jobs: [],
    gateReports: [],
    plans: [],
    outputs: [],
    artifactProblems: [],
    updatedAt: event.at,
    timeline: [],
    appliedEventIds: [],
  };
}

/** What makes two cards "the same": everything except the bookkeeping an applied event always touches. */
const contentOf = (card: Card): string =>
  JSON.stringify({ ...card, version: 0, updatedAt: '', timeline: [], appliedEventIds: [] });

interface Transition {
  next: Card;
  /** Timeline line, used only when the transition turns out to change something. */
  summary: string;
}

function transition(card: Card, event: CardEvent): Transition {
  switch (event.type) {
    case 'PromotionRequested':
      return onRequested(card, event);
    case 'FreightResolved':
      return onFreightResolved(card, event);
    case 'PromotionRejected':
      return onRejected(card, event);
    case 'PromotionCreated':
      return onCreated(card, event);
    case 'PromotionPhaseChanged':
      return onPhaseChanged(card, event);
    case 'PromotionStepChanged':
      return onStepChanged(card, event);
    case 'RunLinked':
      return onRunLinked(card, event);
    case 'RunStatusChanged':
      return onRunStatusChanged(card, event);
    case 'RunJobChanged':
      return onRunJobChanged(card, event);
    case 'GateReported':
      return onGateReported(card, event);
    case 'PlanSummarized':
      return onPlanSummarized(card, event);
    case 'OutputsPublished':
      return onOutputsPublished(card, event);
    case 'ArtifactProblem':
      return onArtifactProblem(card, event);
    case 'ApprovalRequested':
      return onApprovalRequested(card, event);
    case 'ApprovalDecided':
      return onApprovalDecided(card, event);
    case 'CancelRequested':
      return onCancelRequested(card, event);
    case 'PromotionDeleted':
      return onPromotionDeleted(card, event);
    case 'PromotionWaiting':
      return onPromotionWaiting(card, event);
    case 'RunStopAttempted':
      return onRunStopAttempted(card, event);
    case 'AutoPromotionHeld':
      return onAutoPromotionHeld(card, event);
    case 'FreezeChanged':
      return onFreezeChanged(card, event);
  }
}

function onRequested(card: Card, event: PromotionRequested): Transition {
  const who = event.requestedBy.slackUserName ?? event.requestedBy.slackUserId;
  const summary = `Requested by ${who}: ${event.freightQuery} to ${event.environment}`;
  // The request is a fact about the past: a second one (retry with a new id) cannot rewrite it.
  if (card.request) return { next: card, summary };
  const request: CardRequest = {
    freightQuery: event.freightQuery,
    requestedBy: event.requestedBy,
    ...(event.rollback ? { rollback: event.rollback } : {}),
    ...(event.override ? { override: event.override } : {}),
    sourceChannelId: event.sourceChannelId,
    requestedAt: event.at,
  };
  // The request names the environment authoritatively; Kargo's own stage (PromotionCreated) wins for `stage`.
  return {
    next: { ...card, request, environment: event.environment, stage: card.stage ?? event.stage },
    summary,
  };
}

function onFreightResolved(card: Card, event: FreightResolved): Transition {
  const freight: CardFreight = {
    name: event.freight.name,
    alias: event.freight.alias,
    warehouse: event.freight.warehouse,
    commits: event.freight.commits.slice(0, CARD_LIMITS.commits).map((commit) => ({
      ...commit,
      message: commit.message === undefined ? undefined : truncate(commit.message, CARD_LIMITS.storedText),
    })),
  };
  const summary = `Freight resolved: ${freightLabel(freight)}`;
  // A promotion's freight never changes; the same freight may be enriched (alias, commits).
  if (card.freight && card.freight.name !== freight.name) return { next: card, summary };
  return { next: { ...card, freight }, summary };
}

function onRejected(card: Card, event: PromotionRejected): Transition {
  const reason = truncate(event.reason, CARD_LIMITS.storedText);
  const summary = `Rejected: ${reason}`;
  if (card.isTerminal) return { next: card, summary };
  return {
    next: { ...card, phase: 'Rejected', finishedAt: event.at, rejection: { code: event.code, reason } },
    summary,
  };
}

function onCreated(card: Card, event: PromotionCreated): Transition {
  const summary = `Kargo Promotion ${event.promotionName} created${event.createdBy ? ` by ${event.createdBy}` : ''}`;
  if (!belongsToCard(card, event.promotionName)) return { next: card, summary };
  const promotion: CardPromotion = {
    name: event.promotionName,
    createdBy: card.promotion?.createdBy ?? event.createdBy,
    createdAt: card.promotion?.createdAt ?? event.at,
  };
  const next: Card = {
    ...card,
    promotion,
    // Kargo's word on the stage beats what the request intended.
    stage: event.stage,
    project: card.project ?? event.project,
    environment: card.environment ?? asEnvironment(event.stage),
    freight: card.freight ?? { name: event.freightName, commits: [] },
  };
  // A Promotion that exists is at least queued.
  return { next: { ...next, ...advancePhase(card, 'Pending', undefined, event.at) }, summary };
}

function onPhaseChanged(card: Card, event: PromotionPhaseChanged): Transition {
  const summary = `Phase ${event.phase}${event.message ? `: ${event.message}` : ''}`;
  if (!belongsToCard(card, event.promotionName)) return { next: card, summary };
  const message = event.message === undefined ? undefined : truncate(event.message, CARD_LIMITS.storedText);
  const change = advancePhase(card, event.phase, message, event.at);
  // Stale phase news teaches nothing, not even the Promotion's name.
  if (Object.keys(change).length === 0) return { next: card, summary };
  return { next: { ...withPromotion(card, event.promotionName), ...change }, summary };
}

function onStepChanged(card: Card, event: PromotionStepChanged): Transition {
  const summary = `Step ${event.alias}: ${event.status}${event.message ? ` (${event.message})` : ''}`;
  if (!belongsToCard(card, event.promotionName)) return { next: card, summary };
  const next = withPromotion(card, event.promotionName);
  const existing = card.steps.find((step) => step.alias === event.alias);
  if (!existing && card.steps.length >= CARD_LIMITS.steps) return { next, summary };
  const incoming: CardStep = {
    alias: event.alias,
    status: event.status,
    message: event.message === undefined ? undefined : truncate(event.message, CARD_LIMITS.storedText),
    index: event.index,
  };
  const merged = existing ? advanceStep(existing, incoming) : incoming;
  const steps = existing
    ? card.steps.map((step) => (step === existing ? merged : step))
    : [...card.steps, merged];
  return { next: { ...next, steps: inTemplateOrder(steps) }, summary };
}

function onRunLinked(card: Card, event: RunLinked): Transition {
  const summary = `GitHub run #${event.runId} linked`;
  // One promotion, one run: a re-run keeps its id, a retry is a new Promotion (and a new card).
  if (card.run && card.run.id !== event.runId) return { next: card, summary };
  return {
    next: { ...card, run: { ...card.run, id: event.runId, url: card.run?.url ?? event.runUrl } },
    summary,
  };
}

// ---------------------------------------------------------------------------------------------------
// The GitHub Actions run (merge rules in run-state.ts)

/**
 * Run events concern the card's run only: the first run id the card learns (RunLinked, or any run event
 * when none came first) is its run. A Rejected card never had a Promotion, hence no run.
 */
const acceptsRun = (card: Card, runId: number): boolean =>
  card.phase !== 'Rejected' && (card.run === undefined || card.run.id === runId);

const runOf = (card: Card, runId: number): CardRun => card.run ?? { id: runId };

function onRunStatusChanged(card: Card, event: RunStatusChanged): Transition {
  const attempt =
    event.runAttempt !== undefined && event.runAttempt > 1 ? ` (attempt ${event.runAttempt})` : '';
  const outcome = event.conclusion && event.status === 'completed' ? `: ${event.conclusion}` : '';
  const summary = `GitHub run #${event.runId}${attempt} ${event.status.replace(/_/g, ' ')}${outcome}`;
  if (!acceptsRun(card, event.runId)) return { next: card, summary };
  const run = mergeRunStatus(card.run, event);
  return { next: { ...card, run, failedJob: findFailedJob(card.jobs, run) }, summary };
}

function onRunJobChanged(card: Card, event: RunJobChanged): Transition {
  const outcome = event.conclusion && event.status === 'completed' ? `: ${event.conclusion}` : '';
  const summary = `Job ${event.name} ${event.status.replace(/_/g, ' ')}${outcome}`;
  if (!acceptsRun(card, event.runId)) return { next: card, summary };
  const run = runOf(card, event.runId);
  const jobs = mergeJobs(card.jobs, event);
  return { next: { ...card, run, jobs, failedJob: findFailedJob(jobs, run) }, summary };
}

function onGateReported(card: Card, event: GateReported): Transition {
  const { gate, cloud, environment, status } = event.result;
  const summary = `Gate ${gate} (${cloud} ${environment}): ${status}`;
  if (!acceptsRun(card, event.runId)) return { next: card, summary };
  const gateReports = mergeGateReport(card.gateReports, event.result, event.at);
  return { next: { ...card, run: runOf(card, event.runId), gateReports }, summary };
}

function onPlanSummarized(card: Card, event: PlanSummarized): Transition {
  const { cloud, environment, counts } = event.summary;
  const summary = `Plan ${cloud} ${environment}: +${counts.add} ~${counts.change} −${counts.destroy}`;
  if (!acceptsRun(card, event.runId)) return { next: card, summary };
  const plans = mergePlan(card.plans, event.summary, event.at);
  return { next: { ...card, run: runOf(card, event.runId), plans }, summary };
}

function onOutputsPublished(card: Card, event: OutputsPublished): Transition {
  const { cloud, environment } = event.outputs;
  const count = Object.keys(event.outputs.outputs ?? {}).length;
  const summary = `Terraform outputs ${cloud} ${environment}: ${count} output${count === 1 ? '' : 's'}`;
  if (!acceptsRun(card, event.runId)) return { next: card, summary };
  const outputs = mergeOutputs(card.outputs, event.outputs, event.at);
  return { next: { ...card, run: runOf(card, event.runId), outputs }, summary };
}

function onArtifactProblem(card: Card, event: ArtifactProblem): Transition {
  const summary = artifactProblemSentence(event);
  if (!acceptsRun(card, event.runId)) return { next: card, summary };
  const artifactProblems = mergeArtifactProblem(card.artifactProblems, event);
  return { next: { ...card, run: runOf(card, event.runId), artifactProblems }, summary };
}

// ---------------------------------------------------------------------------------------------------
// Approvals (merge rules in approval.ts)

const MODE_WORD = { 'protection-rule': 'the bot’s protection rule', reviewer: 'required reviewers' } as const;

function onApprovalRequested(card: Card, event: ApprovalRequested): Transition {
  const summary = `Approval requested for ${event.environment} (${MODE_WORD[event.mode]}, run #${event.runId})`;
  if (!acceptsRun(card, event.runId)) return { next: card, summary };
  const approval = mergeApprovalRequested(card.approval, event);
  if (approval === card.approval) return { next: card, summary };
  return { next: { ...card, run: runOf(card, event.runId), approval }, summary };
}

function onApprovalDecided(card: Card, event: ApprovalDecided): Transition {
  const who = event.by.slackUserName ?? event.githubLogin ?? event.by.slackUserId;
  const verb = event.decision === 'approved' ? 'Approved' : 'Rejected';
  const summary = `${verb} by ${who} for ${event.environment}${event.comment ? `: ${event.comment}` : ''}`;
  if (!acceptsRun(card, event.runId)) return { next: card, summary };
  const approval = mergeApprovalDecided(card.approval, event);
  if (approval === card.approval) return { next: card, summary };
  return { next: { ...card, run: runOf(card, event.runId), approval }, summary };
}

// ---------------------------------------------------------------------------------------------------
// Stopping: cancel requests, deleted Promotions, runs that outlive their promotion

function onCancelRequested(card: Card, event: CancelRequested): Transition {
  const who = event.by.slackUserName ?? event.by.slackUserId;
  const summary = `Cancellation requested by ${who}: ${event.reason}`;
  // The first request is the one that counts; a finished promotion has nothing left to cancel.
  if (card.cancel || card.isTerminal) return { next: card, summary };
  return {
    next: {
      ...card,
      cancel: {
        by: event.by,
        reason: truncate(event.reason, CARD_LIMITS.timelineSummary),
        at: event.at,
        via: event.via,
      },
    },
    summary,
  };
}

export const PROMOTION_DELETED_MESSAGE = 'The Promotion was deleted in Kargo before it finished.';

function onPromotionDeleted(card: Card, event: PromotionDeleted): Transition {
  const summary = `Promotion ${event.promotionName} was deleted in Kargo`;
  if (!belongsToCard(card, event.promotionName) || card.isTerminal) return { next: card, summary };
  const change = advancePhase(card, 'Aborted', PROMOTION_DELETED_MESSAGE, event.at);
  return { next: { ...withPromotion(card, event.promotionName), ...change }, summary };
}

function onPromotionWaiting(card: Card, event: PromotionWaiting): Transition {
  const summary = `Waiting: ${event.reason}`;
  if (!belongsToCard(card, event.promotionName) || card.isTerminal) return { next: card, summary };
  const waiting = {
    reason: truncate(event.reason, CARD_LIMITS.timelineSummary),
    ...(event.behind ? { behind: event.behind } : {}),
  };
  return { next: { ...withPromotion(card, event.promotionName), waiting }, summary };
}

function onAutoPromotionHeld(card: Card, event: AutoPromotionHeld): Transition {
  const summary = `Kargo holds auto-promotion of ${event.origin} because of ${event.promotionName}`;
  if (!belongsToCard(card, event.promotionName) || card.autoPromotionHold === event.origin)
    return { next: card, summary };
  return { next: { ...withPromotion(card, event.promotionName), autoPromotionHold: event.origin }, summary };
}

function onFreezeChanged(card: Card, event: FreezeChanged): Transition {
  const summary = event.freeze
    ? `${event.environment} frozen until ${event.freeze.until}: ${event.freeze.reason}`
    : `The freeze of ${event.environment} ended`;
  // Only an open card of that environment shows a freeze; a finished one keeps what it showed.
  if (card.environment !== event.environment || card.isTerminal) return { next: card, summary };
  if (!event.freeze) {
    if (!card.freeze) return { next: card, summary };
    const { freeze: _ended, ...rest } = card;
    return { next: rest, summary };
  }
  const freeze = { ...event.freeze, reason: truncate(event.freeze.reason, CARD_LIMITS.timelineSummary) };
  return { next: { ...card, freeze }, summary };
}

function onRunStopAttempted(card: Card, event: RunStopAttempted): Transition {
  const summary = `GitHub run #${event.runId}: ${event.detail}`;
  if (!acceptsRun(card, event.runId)) return { next: card, summary };
  // A failed attempt may be followed by one that worked; an outcome that stopped the run is final.
  if (card.runStop && card.runStop.outcome !== 'failed') return { next: card, summary };
  const runStop = {
    outcome: event.outcome,
    detail: truncate(event.detail, CARD_LIMITS.timelineSummary),
    at: event.at,
  };
  return { next: { ...card, run: runOf(card, event.runId), runStop }, summary };
}

/**
 * True when Kargo ended the promotion (anything but success) while its GitHub run has not ended: the run
 * could still reach its apply. The bot stops it (run-guard), or says it could not.
 */
export function runOutlivesPromotion(card: Card): boolean {
  return (
    card.isTerminal &&
    card.phase !== 'Succeeded' &&
    card.phase !== 'Rejected' &&
    card.run !== undefined &&
    card.run.status !== 'completed'
  );
}

/** How the promotion came about: asked for in Slack, Kargo's auto-promotion, or someone elsewhere (UI, CLI). */
export function originOf(card: Card): 'request' | 'auto-promotion' | 'external' {
  if (card.request) return 'request';
  const actor = card.promotion?.createdBy;
  return !actor || actor.startsWith('controller:') ? 'auto-promotion' : 'external';
}

// ---------------------------------------------------------------------------------------------------
// Phases and steps only move forward

const PHASE_RANK: Readonly<Record<CardPhase, number>> = {
  Requested: 0,
  Pending: 1,
  Running: 2,
  Succeeded: 3,
  Failed: 3,
  Errored: 3,
  Aborted: 3,
  Rejected: 3,
};

/** The fields a phase event may change, or none when it would move the card backwards. */
function advancePhase(card: Card, phase: CardPhase, message: string | undefined, at: string): Partial<Card> {
  if (card.isTerminal) {
    // Final; the only thing still welcome is the message Kargo had not given yet for that same phase.
    return phase === card.phase && card.phaseMessage === undefined && message
      ? { phaseMessage: message }
      : {};
  }
  const from = PHASE_RANK[card.phase];
  const to = PHASE_RANK[phase];
  if (to < from) return {};
  if (to === from) return message === undefined ? {} : { phaseMessage: message };
  return {
    phase,
    phaseMessage: message,
    startedAt: phase === 'Running' ? at : card.startedAt,
    finishedAt: isTerminalCardPhase(phase) ? at : undefined,
  };
}

const STEP_FINISHED: ReadonlySet<string> = new Set(['Succeeded', 'Failed', 'Errored', 'Aborted', 'Skipped']);

/** Pending 0, finished 2, anything else (Running, or a status Kargo adds later) 1. */
const stepRank = (status: string): number => (status === 'Pending' ? 0 : STEP_FINISHED.has(status) ? 2 : 1);

export const isFinishedStepStatus = (status: string): boolean => STEP_FINISHED.has(status);

function advanceStep(existing: CardStep, incoming: CardStep): CardStep {
  const index = existing.index ?? incoming.index;
  const finished = STEP_FINISHED.has(existing.status);
  if (finished || stepRank(incoming.status) < stepRank(existing.status)) {
    // Stale news: keep the status; a message for that very status may still fill a gap.
    const fillMessage = incoming.status === existing.status && existing.message === undefined;
    return { ...existing, index, message: fillMessage ? incoming.message : existing.message };
  }
  const sameStatus = incoming.status === existing.status;
  return {
    ...incoming,
    index,
    message: sameStatus ? (incoming.message ?? existing.message) : incoming.message,
  };
}

/** Template order when Kargo told us the index; steps without one keep their arrival order, last. */
const inTemplateOrder = (steps: CardStep[]): CardStep[] =>
  [...steps].sort(
    (a, b) => (a.index ?? Number.POSITIVE_INFINITY) - (b.index ?? Number.POSITIVE_INFINITY) || 0,
  );

// ---------------------------------------------------------------------------------------------------
// Helpers

/**
 * A card follows exactly one Promotion: the first one an event names. A Rejected card never had one, so
 * Promotion events cannot be about it.
 */
const belongsToCard = (card: Card, promotionName: string): boolean =>
  card.phase !== 'Rejected' && (card.promotion === undefined || card.promotion.name === promotionName);

const withPromotion = (card: Card, promotionName: string): Card =>
  card.promotion ? card : { ...card, promotion: { name: promotionName } };

const asEnvironment = (stage: string): Environment | undefined =>
  ENVIRONMENTS.find((environment) => environment === stage);

const timeOf = (iso: string): number => {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
};

/** The later of two ISO times; an unparsable one never wins over a parsable one. */
function later(a: string, b: string): string {
  const [msA, msB] = [Date.parse(a), Date.parse(b)];
  if (Number.isNaN(msB)) return a;
  return Number.isNaN(msA) || msB > msA ? b : a;
}

/** Keeps the timeline in event-time order however events arrive, and only its newest entries. */
function insertChronologically(timeline: TimelineEntry[], entry: TimelineEntry): TimelineEntry[] {
  let position = timeline.length;
  while (position > 0 && timeOf(timeline[position - 1]?.at ?? '') > timeOf(entry.at)) position -= 1;
  return [...timeline.slice(0, position), entry, ...timeline.slice(position)].slice(
    -CARD_LIMITS.timelineEntries,
  );
}
