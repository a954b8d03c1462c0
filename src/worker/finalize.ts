// What happens when a command job fails for good — last attempt used, a permanent error, the Kubernetes
// API unreachable longer than a promotion is worth waiting, or its worker died too often. No job ever
// ends silently: the person who asked is told, the outcome is recorded, and on-call is alerted, naming
// the command they actually ran (queue/jobs.ts commandLabel).
//
// A promote job is special: its worker may have died AFTER Kargo created the Promotion. Kargo is asked
// first; if the Promotion exists, the request succeeded and its card follows it like any other.
import type { Logger } from 'pino';
import { commandAudit } from '../domain/audit-records.js';
import { ErrorCode } from '../domain/errors.js';
import type { AuditSink, CardService } from '../cards/service.js';
import type { CardStore } from '../cards/store.js';
import type { KargoGateway } from '../kargo/gateway.js';
import { commandLabel, freightQueryOf, type CommandJob, type PromoteJob } from '../queue/jobs.js';
import type { Responder } from './responder.js';

export interface FinalizeDeps {
  kargo: Pick<KargoGateway, 'findPromotionByRequestId'>;
  store: CardStore;
  cards: CardService;
  audit: AuditSink;
  responder: Responder;
  /** #infra-alerts, posted once per key. */
  alert: (key: string, text: string) => Promise<void>;
  logger: Logger;
  now?: () => Date;
}

const STALLED = /stalled more than allowable limit/;

/** The error code an UnrecoverableError carries as its prefix (`chatops_…: message`), if any. */
function codeOf(error: Error): string {
  if (STALLED.test(error.message)) return ErrorCode.WorkerLost;
  return /^(chatops_[a-z_]+): /.exec(error.message)?.[1] ?? ErrorCode.Internal;
}

function reasonOf(error: Error): string {
  if (STALLED.test(error.message)) return 'the worker running it stopped twice before it finished';
  return error.message.replace(/^chatops_[a-z_]+: /, '');
}

export async function finalizeFailedJob(job: CommandJob, error: Error, deps: FinalizeDeps): Promise<void> {
  if (job.kind === 'promote') return finalizePromote(job, error, deps);
  const at = (deps.now ?? (() => new Date()))().toISOString();
  const label = commandLabel(job);
  const reason = reasonOf(error);
  const requestId = 'requestId' in job ? job.requestId : 'unknown';
  await deps.audit.append(
    commandAudit({
      id: `failed:${requestId}`,
      at,
      actor: job.actor,
      command: job.kind,
      outcome: 'failed',
      detail: `${label} could not be completed: ${reason}`,
      ...('reply' in job && job.reply ? { channelId: job.reply.channelId } : {}),
    }),
  );
  if ('reply' in job && job.reply) {
    await deps.responder.reply(job.reply.responseUrl, {
      text: `:x: ${label} could not be completed: ${reason}. Nothing was changed; please try again.`,
    });
  }
  await deps.alert(
    `job-failed-${requestId}`,
    `:rotating_light: ${label} by <@${job.actor.slackUserId}> failed: ${reason}`,
  );
}

async function finalizePromote(job: PromoteJob, error: Error, deps: FinalizeDeps): Promise<void> {
  const at = (deps.now ?? (() => new Date()))().toISOString();
  let created;
  try {
    created = await deps.kargo.findPromotionByRequestId(job.cardId);
  } catch (err) {
    deps.logger.warn(
      { err, cardId: job.cardId },
      'could not ask Kargo whether a failed job created its Promotion',
    );
  }
  const requested = {
    type: 'PromotionRequested' as const,
    id: `requested:${job.cardId}`,
    cardId: job.cardId,
    at: job.requestedAt,
    environment: job.environment,
    stage: job.stage,
    freightQuery: freightQueryOf(job.freight),
    requestedBy: job.actor,
    sourceChannelId: job.reply.channelId,
  };
  if (created) {
    // The work was done before the worker died: the card follows the Promotion; nothing failed.
    await deps.cards.record(requested);
    await deps.store.linkPromotion(created.name, job.cardId);
    await deps.cards.record({
      type: 'PromotionCreated',
      id: `created:${created.name}`,
      cardId: job.cardId,
      at,
      promotionName: created.name,
      stage: created.stage,
      freightName: created.freight,
    });
    await deps.responder.reply(job.reply.responseUrl, {
      text: `:white_check_mark: Kargo promotion *${created.name}* was created (its job was interrupted after creating it).`,
    });
    return;
  }
  // Nothing was created: the card (public: a system failure, which publication.ts alerts on) says why.
  const code = codeOf(error);
  const reason = reasonOf(error);
  await deps.cards.record(requested);
  await deps.cards.record({
    type: 'PromotionRejected',
    id: `rejected:${job.cardId}`,
    cardId: job.cardId,
    at,
    code,
    reason,
  });
  await deps.responder.reply(job.reply.responseUrl, {
    text: `:x: ${commandLabel(job)} could not be carried out: ${reason}. No Kargo Promotion was created; try again once the problem is fixed.`,
  });
  deps.logger.warn({ cardId: job.cardId, code, reason }, 'promotion not created');
}
