// Events and commands -> audit records (one line of #infra-audit each). Pure: the audit adapter appends
// them to the durable stream and mirrors them to Slack. Sentences are plain text; the mirror escapes them.
import type { FindingCounts } from '../artifacts/types.js';
import type { AuditOutcome, AuditRecord } from './audit.js';
import { truncate } from './blockkit.js';
import type { CardEvent, RunJobChanged } from './events.js';
import { freightLabel } from './format.js';
import { artifactProblemSentence } from './gates.js';
import { ENVIRONMENTS } from './types.js';
import type { Actor, Environment, PromotionPhase } from './types.js';

/** Free text from users or Kargo is bounded so one record never swamps the stream or the channel. */
const MAX_DETAIL_PIECE = 300;
const piece = (text: string): string => truncate(text.replace(/\s+/g, ' ').trim(), MAX_DETAIL_PIECE);

const SYSTEM = 'system';

export const slackActor = (actor: Actor | string): string =>
  `slack:${typeof actor === 'string' ? actor : actor.slackUserId}`;

const PHASE_SENTENCE: Readonly<Record<PromotionPhase, string>> = {
  Pending: 'is pending',
  Running: 'is running',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Errored: 'errored',
  Aborted: 'was aborted',
};

const PHASE_OUTCOME: Readonly<Record<PromotionPhase, AuditOutcome>> = {
  Pending: 'info',
  Running: 'info',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Errored: 'failed',
  Aborted: 'failed',
};

/** One record per event, keyed `event:<event id>` so replaying the stream never duplicates the audit. */
export function auditRecordFor(event: CardEvent): AuditRecord {
  return withoutUndefined(eventRecord(event));
}

function eventRecord(event: CardEvent): AuditRecord {
  const base = { id: `event:${event.id}`, at: event.at, cardId: event.cardId };
  switch (event.type) {
    case 'PromotionRequested':
      return {
        ...base,
        actor: slackActor(event.requestedBy),
        action: 'promote',
        environment: event.environment,
        target: piece(event.freightQuery),
        outcome: 'accepted',
        detail: `${displayName(event.requestedBy)} requested a promotion of ${piece(event.freightQuery)} to ${event.environment}.`,
        channelId: event.sourceChannelId,
      };
    case 'FreightResolved':
      return {
        ...base,
        actor: SYSTEM,
        action: 'freight.resolved',
        target: event.freight.alias ?? event.freight.name,
        outcome: 'info',
        detail: `The request was resolved to freight ${piece(freightLabel(event.freight))}.`,
        facts: {
          freight: event.freight.name,
          ...(event.freight.commits[0] ? { commit: event.freight.commits[0].id } : {}),
          commitAt: event.freight.createdAt,
        },
      };
    case 'PromotionRejected':
      return {
        ...base,
        actor: SYSTEM,
        action: 'promote',
        outcome: 'rejected',
        detail: `The promotion was not created (${event.code}): ${piece(event.reason)}`,
      };
    case 'PromotionCreated':
      return {
        ...base,
        actor: event.createdBy ? `kargo:${event.createdBy}` : SYSTEM,
        action: 'promotion.created',
        environment: asEnvironment(event.stage),
        target: event.promotionName,
        outcome: 'info',
        detail: `Kargo Promotion ${event.promotionName} was created for stage ${event.stage} with freight ${event.freightName.slice(0, 7)}.`,
        facts: { freight: event.freightName },
      };
    case 'PromotionPhaseChanged':
      return {
        ...base,
        actor: abortActor(event.message) ?? SYSTEM,
        action: 'promotion.phase',
        target: event.promotionName,
        outcome: PHASE_OUTCOME[event.phase],
        detail: `Promotion ${event.promotionName} ${PHASE_SENTENCE[event.phase]}${event.message ? `: ${piece(event.message)}` : '.'}`,
        facts: { phase: event.phase },
      };
    case 'PromotionStepChanged':
      return {
        ...base,
        actor: SYSTEM,
        action: 'promotion.step',
        target: event.promotionName,
        outcome: 'info',
        detail: `Step ${piece(event.alias)} of ${event.promotionName} is ${piece(event.status)}${event.message ? `: ${piece(event.message)}` : '.'}`,
      };
    case 'RunLinked':
      return {
        ...base,
        actor: SYSTEM,
        action: 'promotion.run',
        target: String(event.runId),
        outcome: 'info',
        detail: `GitHub Actions run ${event.runId} carries out this promotion${event.runUrl ? `: ${event.runUrl}` : '.'}`,
      };
    // The run's records name counts and verdicts, never values (addresses, outputs, finding texts).
    case 'RunStatusChanged':
      return {
        ...base,
        actor: event.triggeredBy ? `github:${piece(event.triggeredBy)}` : SYSTEM,
        action: 'run.status',
        target: String(event.runId),
        outcome: completionOutcome(event.status, event.conclusion),
        detail: `GitHub Actions run ${event.runId}${attemptText(event.runAttempt)} ${statusSentence(event.status, event.conclusion)}.`,
      };
    case 'RunJobChanged':
      return {
        ...base,
        actor: SYSTEM,
        action: 'run.job',
        target: piece(event.name),
        outcome: completionOutcome(event.status, event.conclusion),
        detail: `Job ${piece(event.name)} of run ${event.runId} ${statusSentence(event.status, event.conclusion)}${failedStepText(event)}.`,
      };
    case 'GateReported': {
      const { gate, cloud, environment, status } = event.result;
      return {
        ...base,
        actor: SYSTEM,
        action: 'gate.result',
        environment: asEnvironment(environment),
        target: `${gate}/${cloud}/${environment}`,
        outcome:
          status === 'passed' ? 'succeeded' : status === 'failed' || status === 'errored' ? 'failed' : 'info',
        detail: `Gate ${gate}${scopeText(cloud, environment)} ${GATE_SENTENCE[status] ?? status}${findingsText(event.result.findings)}.`,
      };
    }
    case 'PlanSummarized': {
      const { cloud, environment, counts } = event.summary;
      return {
        ...base,
        actor: SYSTEM,
        action: 'plan.summary',
        environment: asEnvironment(environment),
        target: `${cloud}/${environment}`,
        outcome: 'info',
        detail: `Plan for ${cloud} ${environment}: ${counts.add} to add, ${counts.change} to change, ${counts.destroy} to destroy${counts.replace > 0 ? ` (${counts.replace} replaced)` : ''}.`,
      };
    }
    case 'OutputsPublished': {
      const { cloud, environment } = event.outputs;
      const shown = Object.keys(event.outputs.outputs ?? {}).length;
      const hidden = event.outputs.excludedSensitive?.length ?? 0;
      return {
        ...base,
        actor: SYSTEM,
        action: 'terraform.outputs',
        environment: asEnvironment(environment),
        target: `${cloud}/${environment}`,
        outcome: 'info',
        detail: `Terraform outputs for ${cloud} ${environment} were published: ${plural(shown, 'output')}${hidden > 0 ? `, ${plural(hidden, 'sensitive output')} left out` : ''}.`,
      };
    }
    case 'ArtifactProblem':
      return {
        ...base,
        actor: SYSTEM,
        action: 'artifact.problem',
        target: piece(event.artifact),
        outcome: 'failed',
        detail: `${piece(artifactProblemSentence(event))} (run ${event.runId}): ${piece(event.detail)}`,
      };
    // Approvals: who and what, never the nonce or the protection rule's callback URL.
    case 'ApprovalRequested':
      return {
        ...base,
        actor: SYSTEM,
        action: 'approval.requested',
        environment: event.environment,
        target: String(event.runId),
        outcome: 'info',
        detail: `GitHub Actions run ${event.runId} waits for approval to deploy to ${event.environment} (${
          event.mode === 'protection-rule'
            ? "the bot's custom deployment protection rule decides"
            : "the environment's required reviewers decide"
        }; ${piece(event.requestKey)}).`,
      };
    case 'ApprovalDecided': {
      const slackUser = /^[UW][A-Z0-9]{2,}$/.test(event.by.slackUserId);
      const who = slackUser
        ? displayName(event.by)
        : `GitHub user ${piece(event.githubLogin ?? event.by.slackUserName ?? 'unknown')}`;
      const github = slackUser && event.githubLogin ? ` (GitHub: ${piece(event.githubLogin)})` : '';
      return {
        ...base,
        actor: slackUser ? slackActor(event.by) : `github:${piece(event.githubLogin ?? 'unknown')}`,
        action: event.decision === 'approved' ? 'approve' : 'reject',
        environment: event.environment,
        target: String(event.runId),
        outcome: event.decision === 'approved' ? 'succeeded' : 'rejected',
        detail: `${who}${github} ${event.decision} the ${event.environment} deployment of GitHub Actions run ${event.runId}${
          event.comment ? `: ${piece(event.comment)}` : '.'
        }`,
      };
    }
    case 'CancelRequested':
      return {
        ...base,
        actor: slackActor(event.by),
        action: 'cancel',
        outcome: 'accepted',
        detail: `${displayName(event.by)} asked to stop the promotion (${event.via === 'button' ? 'Withdraw on the card' : '/cancel'}): ${piece(event.reason)}`,
      };
    case 'PromotionDeleted':
      return {
        ...base,
        actor: SYSTEM,
        action: 'promotion.deleted',
        target: event.promotionName,
        outcome: 'failed',
        detail: `Promotion ${event.promotionName} was deleted in Kargo before it finished.`,
      };
    case 'PromotionWaiting':
      return {
        ...base,
        actor: SYSTEM,
        action: 'promotion.waiting',
        target: event.promotionName,
        outcome: 'info',
        detail: `Promotion ${event.promotionName} is pending: ${piece(event.reason)}`,
      };
    case 'AutoPromotionHeld':
      return {
        ...base,
        actor: SYSTEM,
        action: 'promotion.hold',
        target: event.promotionName,
        outcome: 'info',
        detail: `Kargo holds auto-promotion of ${piece(event.origin)} once ${event.promotionName} succeeds: it chose freight other than the newest.`,
      };
    case 'FreezeChanged':
      return {
        ...base,
        actor: SYSTEM,
        action: 'freeze.noted',
        environment: event.environment,
        outcome: 'info',
        detail: event.freeze
          ? `The card shows the freeze of ${event.environment} (${piece(event.freeze.reason)}), which began while it was open.`
          : `The freeze of ${event.environment} ended while the card was open.`,
      };
    case 'RunStopAttempted':
      return {
        ...base,
        actor: SYSTEM,
        action: 'run.stop',
        target: String(event.runId),
        outcome: event.outcome === 'failed' ? 'failed' : 'succeeded',
        detail: `GitHub Actions run ${event.runId} outlived its promotion: ${piece(event.detail)}`,
      };
  }
}

export interface CommandAuditInput {
  /** Idempotency key, e.g. `cmd:<trigger_id>`. */
  id: string;
  at: string;
  actor: Actor | string;
  /** `/promote`, `/approve`, … or an action name such as `approve.button`. */
  command: string;
  environment?: Environment;
  target?: string;
  outcome: AuditOutcome;
  detail: string;
  channelId?: string;
  cardId?: string;
}

/** The record for a slash command or button, accepted or denied. */
export function commandAudit(input: CommandAuditInput): AuditRecord {
  return withoutUndefined({
    id: input.id,
    at: input.at,
    actor: slackActor(input.actor),
    action: input.command.replace(/^\//, ''),
    environment: input.environment,
    target: input.target === undefined ? undefined : piece(input.target),
    outcome: input.outcome,
    detail: truncate(input.detail, 1000),
    channelId: input.channelId,
    cardId: input.cardId,
  });
}

// ---------------------------------------------------------------------------------------------------
// Run sentences

const attemptText = (attempt: number | undefined): string =>
  attempt !== undefined && attempt > 1 ? ` (attempt ${attempt})` : '';

function statusSentence(status: string, conclusion: string | undefined): string {
  if (status === 'completed') return `completed${conclusion ? `: ${piece(conclusion)}` : ''}`;
  if (status === 'waiting') return 'is waiting for approval';
  return `is ${piece(status.replace(/_/g, ' '))}`;
}

function completionOutcome(status: string, conclusion: string | undefined): AuditOutcome {
  if (status !== 'completed') return 'info';
  if (conclusion === 'success') return 'succeeded';
  return conclusion === 'failure' || conclusion === 'timed_out' || conclusion === 'cancelled'
    ? 'failed'
    : 'info';
}

function failedStepText(event: RunJobChanged): string {
  const step = event.steps.find((s) => s.conclusion === 'failure' || s.conclusion === 'timed_out');
  return step ? ` at step ${piece(step.name)}` : '';
}

/** " for aws prod", " for aws", or nothing for repository-wide gates (cloud and environment `all`). */
function scopeText(cloud: string, environment: string): string {
  const parts = [cloud, environment].filter((part) => part !== 'all');
  return parts.length > 0 ? ` for ${parts.join(' ')}` : '';
}

const GATE_SENTENCE: Readonly<Record<string, string>> = {
  passed: 'passed',
  failed: 'failed',
  'soft-failed': 'reported findings (soft gate, not blocking)',
  skipped: 'was skipped',
  errored: 'could not run',
};

function findingsText(counts: FindingCounts | undefined): string {
  if (!counts) return '';
  const parts = (['critical', 'high', 'medium', 'low', 'unknown'] as const)
    .filter((severity) => (counts[severity] ?? 0) > 0)
    .map((severity) => `${counts[severity]} ${severity}`);
  return parts.length > 0
    ? ` with ${parts.join(', ')} finding${parts.length === 1 && sumOf(counts) === 1 ? '' : 's'}`
    : '';
}

const sumOf = (counts: FindingCounts): number =>
  counts.critical + counts.high + counts.medium + counts.low + counts.unknown;

const plural = (count: number, unit: string): string => `${count} ${unit}${count === 1 ? '' : 's'}`;

/** Records go to a Redis stream field by field: an absent field must be absent, not "undefined". */
const withoutUndefined = (record: AuditRecord): AuditRecord =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as AuditRecord;

const displayName = (actor: Actor): string =>
  actor.slackUserName ? `${piece(actor.slackUserName)} (${actor.slackUserId})` : actor.slackUserId;

const asEnvironment = (stage: string): Environment | undefined =>
  ENVIRONMENTS.find((environment) => environment === stage);

/** Kargo's abort message names who aborted: "Promotion terminated by <actor>". */
function abortActor(message: string | undefined): string | undefined {
  const actor = /^Promotion terminated by (\S+)/.exec(message ?? '')?.[1];
  return actor ? `kargo:${actor}` : undefined;
}
