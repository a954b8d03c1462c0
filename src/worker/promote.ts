// The `promote` job: resolve the freight, check it is available to the stage (prod: verified in dev),
// create the Kargo Promotion exactly once, and record each step as an event on the card.
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { isFreightAvailable } from '../domain/availability.js';
import { ChatOpsError, ErrorCode } from '../domain/errors.js';
import type { CardEvent } from '../domain/events.js';
import type { FreightSummary } from '../domain/types.js';
import type { CardService } from '../cards/service.js';
import type { CardStore } from '../cards/store.js';
import type { KargoGateway } from '../kargo/gateway.js';
import type { PromoteJob } from '../queue/jobs.js';
import type { Responder } from './responder.js';

export interface PromoteDeps {
  kargo: KargoGateway;
  cards: CardService;
  store: CardStore;
  responder: Responder;
  logger: Logger;
  /** Slack permalink of a card, once it is posted (undefined while pending). */
  cardLink: (cardId: string) => Promise<string | undefined>;
  now?: () => Date;
}

const shortName = (f: FreightSummary): string =>
  f.alias ? `${f.alias} (${f.name.slice(0, 7)})` : f.name.slice(0, 7);

async function resolveFreight(job: PromoteJob, kargo: KargoGateway): Promise<FreightSummary> {
  if (job.freight.by === 'latest') {
    const all = await kargo.listFreight();
    const newest = all[0];
    if (!newest) throw new ChatOpsError(ErrorCode.FreightNotFound, 'there is no freight in the project yet');
    return newest;
  }
  const found = await kargo.findFreight(job.freight.value);
  if (!found) {
    throw new ChatOpsError(
      ErrorCode.FreightNotFound,
      `no freight is called ${job.freight.value} (try /freight to list the newest)`,
    );
  }
  return found;
}

export async function processPromote(
  job: PromoteJob,
  deps: PromoteDeps,
  attempt: { final: boolean },
): Promise<void> {
  const now = (deps.now ?? (() => new Date()))();
  const at = now.toISOString();
  const record = (event: CardEvent) => deps.cards.record(event);

  await record({
    type: 'PromotionRequested',
    id: `requested:${job.cardId}`,
    cardId: job.cardId,
    at: job.requestedAt,
    environment: job.environment,
    stage: job.stage,
    freightQuery: job.freight.by === 'latest' ? 'latest' : job.freight.value,
    requestedBy: job.actor,
    sourceChannelId: job.reply.channelId,
  });

  try {
    const freight = await resolveFreight(job, deps.kargo);
    await record({ type: 'FreightResolved', id: `freight:${job.cardId}`, cardId: job.cardId, at, freight });

    const stage = await deps.kargo.getStage(job.stage);
    if (!stage) throw new ChatOpsError(ErrorCode.StageNotFound, `Kargo has no stage called ${job.stage}`);
    const availability = isFreightAvailable(stage, freight, now);
    if (!availability.available) {
      throw new ChatOpsError(ErrorCode.FreightNotAvailable, availability.reason);
    }

    const promotion = await deps.kargo.createPromotion({
      stage: job.stage,
      freight: freight.name,
      requestId: job.cardId,
      requestedBy: `slack:${job.actor.slackUserId}`,
      requestedAt: job.requestedAt,
    });
    await deps.store.linkPromotion(promotion.name, job.cardId);
    await record({
      type: 'PromotionCreated',
      id: `created:${promotion.name}`,
      cardId: job.cardId,
      at,
      promotionName: promotion.name,
      stage: promotion.stage,
      freightName: promotion.freight,
    });
    const link = await deps.cardLink(job.cardId);
    await deps.responder.reply(job.reply.responseUrl, {
      text: `:white_check_mark: Kargo promotion *${promotion.name}* created: ${shortName(freight)} → *${job.environment}*.${
        link ? ` Follow it on its card: ${link}` : ''
      }`,
    });
  } catch (error) {
    const chatops =
      error instanceof ChatOpsError
        ? error
        : new ChatOpsError(ErrorCode.Internal, (error as Error).message, error);
    if (!chatops.permanent && !attempt.final) throw chatops; // transient: BullMQ retries with backoff
    await record({
      type: 'PromotionRejected',
      id: `rejected:${job.cardId}`,
      cardId: job.cardId,
      at,
      code: chatops.code,
      reason: chatops.message,
    });
    await deps.responder.reply(job.reply.responseUrl, {
      text: `:x: Could not promote to *${job.environment}*: ${chatops.message}`,
    });
    deps.logger.warn(
      { cardId: job.cardId, code: chatops.code, reason: chatops.message },
      'promotion rejected',
    );
    throw new UnrecoverableError(`${chatops.code}: ${chatops.message}`);
  }
}
