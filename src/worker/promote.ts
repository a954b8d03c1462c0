// The `promote` job: resolve the freight, check it can go to the stage, and create the Kargo Promotion —
// at most one per (stage, freight) in flight, and none for freight the stage already runs.
//
//   1. resolve the freight (alias, name, or `latest` = the newest freight available to the stage) and check
//      availability. A request that cannot be carried out because of what was asked (no such freight, not
//      verified in dev) is answered to the requester alone and audited: no public card, no alert;
//   2. under a lock on (stage, freight) shared by every worker: if a Promotion of that freight to that stage
//      is already pending or running — whoever created it: this bot, Kargo's auto-promotion, the UI or CLI —
//      the request joins it (the requester gets its card's link); if the stage already runs that freight,
//      the requester is told so; a cancel asked for before creation is honoured;
//   3. otherwise the card appears (PromotionRequested), the Promotion is created exactly once (idempotent on
//      the request id, even across Kargo 1.11's rename on admission) and linked to the card.
// Errors are thrown as ChatOpsError; the promotions lane decides about retries, pauses and final answers.
import type { Logger } from 'pino';
import { isFreightAvailable } from '../domain/availability.js';
import { commandAudit } from '../domain/audit-records.js';
import type { AuditOutcome } from '../domain/audit.js';
import { ChatOpsError, ErrorCode } from '../domain/errors.js';
import type { CardEvent } from '../domain/events.js';
import { freightLabel, freightWordOf } from '../domain/format.js';
import {
  isTerminalPhase,
  type FreightSummary,
  type PromotionSummary,
  type StageSummary,
} from '../domain/types.js';
import type { AuditSink, CardService } from '../cards/service.js';
import type { CardStore } from '../cards/store.js';
import { ANNOTATION_REQUEST_ID, type KargoGateway } from '../kargo/gateway.js';
import { freezeLine } from '../domain/freeze.js';
import { freightQueryOf, type PromoteJob } from '../queue/jobs.js';
import type { FreezeStore } from './freeze-store.js';
import type { Responder } from './responder.js';
import type { StageFreightLock } from './stage-lock.js';

export interface PromoteDeps {
  kargo: KargoGateway;
  cards: CardService;
  store: CardStore;
  audit: AuditSink;
  responder: Responder;
  lock: StageFreightLock;
  logger: Logger;
  /** Slack permalink of a card when it is posted already (never waits for Slack). */
  cardLink: (cardId: string) => Promise<string | undefined>;
  /** Sends `text` to the requester once the card is posted, with the card's link appended. */
  replyWhenPosted: (cardId: string, responseUrl: string, text: string) => Promise<void>;
  /** Change freezes (src/worker/freeze-store.ts): a frozen environment refuses requests without override. */
  freezes?: Pick<FreezeStore, 'active'>;
  now?: () => Date;
}

export type PromoteOutcome =
  'created' | 'joined' | 'already-current' | 'not-found' | 'not-available' | 'cancelled' | 'frozen';

const shortName = (f: FreightSummary): string =>
  f.alias ? `${f.alias} (${f.name.slice(0, 7)})` : f.name.slice(0, 7);

const inFlight = (p: PromotionSummary): boolean => !p.phase || !isTerminalPhase(p.phase);

/** `latest`: the newest freight the stage accepts now (Kargo's own rule), not merely the newest one. */
async function resolveFreight(
  job: Pick<PromoteJob, 'freight' | 'rollback'>,
  stage: StageSummary,
  kargo: KargoGateway,
  now: Date,
): Promise<FreightSummary | { missing: string }> {
  if (job.rollback || job.freight.by === 'previous') return resolveRollback(job, stage, kargo);
  if (job.freight.by === 'latest') {
    const all = await kargo.listFreight();
    if (all.length === 0) return { missing: 'there is no freight in the project yet' };
    const available = all.find((f) => isFreightAvailable(stage, f, now).available);
    if (!available) {
      const newest = all[0]!;
      const why = isFreightAvailable(stage, newest, now);
      return {
        missing: `no freight is available to ${stage.name} yet${why.available ? '' : ` (the newest, ${shortName(newest)}: ${why.reason})`}`,
      };
    }
    return available;
  }
  const found = await kargo.findFreight(job.freight.value);
  return found ?? { missing: `no freight is called ${job.freight.value} (try /freight to list the newest)` };
}

/** The freight names a stage ran, newest first, one per history entry (its first origin), without repeats. */
function historyNames(stage: StageSummary): string[] {
  const names = (stage.history ?? []).map((entry) => Object.values(entry)[0]).filter(Boolean) as string[];
  return names.filter((name, i) => names.indexOf(name) === i);
}

/**
 * /rollback: the freight verified in the stage before the one it runs now (Kargo's freight history, newest
 * first), or the one named, which must have been verified in the stage before.
 */
async function resolveRollback(
  job: Pick<PromoteJob, 'freight'>,
  stage: StageSummary,
  kargo: KargoGateway,
): Promise<FreightSummary | { missing: string }> {
  const current = Object.values(stage.currentFreight)[0];
  if (job.freight.by === 'alias' || job.freight.by === 'name') {
    const named = await kargo.findFreight(job.freight.value);
    if (!named)
      return { missing: `no freight is called ${job.freight.value} (try /freight to list the newest)` };
    if (named.name === current) return { missing: `${stage.name} runs ${shortName(named)} already` };
    if (!named.verifiedIn[stage.name]) {
      return {
        missing: `${shortName(named)} was never verified in ${stage.name}, so going there is not a rollback (use /promote)`,
      };
    }
    return named;
  }
  for (const name of historyNames(stage)) {
    if (name === current) continue;
    const freight = await kargo.findFreight(name);
    if (freight?.verifiedIn[stage.name]) return freight;
  }
  return { missing: `${stage.name} has no earlier freight that was verified there to roll back to` };
}

/**
 * The Stage and the freight the job names, as Kargo has them. Read from the gateway (the cache); when that
 * would refuse — no such freight, or not available to the Stage — read again straight from the API, since
 * the cache can trail Kargo by a moment (a verification recorded just now) and a refusal must not rest on
 * a stale copy.
 */
export async function checkFreight(
  job: Pick<PromoteJob, 'stage' | 'freight' | 'rollback'>,
  kargo: KargoGateway,
  now: Date,
): Promise<{ stage: StageSummary; freight: FreightSummary | { missing: string } }> {
  const read = async (gateway: KargoGateway) => {
    const stage = await gateway.getStage(job.stage);
    if (!stage) throw new ChatOpsError(ErrorCode.StageNotFound, `Kargo has no stage called ${job.stage}`);
    return { stage, freight: await resolveFreight(job, stage, gateway, now) };
  };
  const cached = await read(kargo);
  const refused =
    'missing' in cached.freight || !isFreightAvailable(cached.stage, cached.freight, now).available;
  const direct = kargo.direct?.();
  return refused && direct ? read(direct) : cached;
}

/** A stage this freight was promoted to successfully in the last two minutes, if any. */
async function justPromoted(
  freight: FreightSummary,
  kargo: KargoGateway,
  now: Date,
): Promise<string | undefined> {
  const recent = (await kargo.listPromotions()).find(
    (p) =>
      p.freight === freight.name &&
      p.phase === 'Succeeded' &&
      now.getTime() - Date.parse(p.steps.at(-1)?.finishedAt ?? p.createdAt ?? '') < 2 * 60_000,
  );
  return recent?.stage;
}

/** The freight a stage runs now, as people say it (alias, else short name). */
async function currentFreightWord(stage: StageSummary, kargo: KargoGateway): Promise<string | undefined> {
  const name = Object.values(stage.currentFreight)[0];
  if (!name) return undefined;
  return freightWordOf(name, (await kargo.findFreight(name))?.alias);
}

export async function processPromote(job: PromoteJob, deps: PromoteDeps): Promise<PromoteOutcome> {
  const now = (deps.now ?? (() => new Date()))();
  const at = now.toISOString();
  const verb = job.rollback ? 'rollback' : 'promote';
  const command = `/${verb} ${job.environment}`;
  const record = (event: CardEvent) => deps.cards.record(event);
  const answer = async (
    outcome: PromoteOutcome,
    auditOutcome: AuditOutcome,
    detail: string,
    text: string,
  ): Promise<PromoteOutcome> => {
    // Append before reporting: the record exists even if the reply is lost.
    await deps.audit.append(
      commandAudit({
        id: `promote:${job.cardId}:${outcome}`,
        at,
        actor: job.actor,
        command: verb,
        environment: job.environment,
        outcome: auditOutcome,
        detail,
        channelId: job.reply.channelId,
      }),
    );
    await deps.responder.reply(job.reply.responseUrl, { text });
    return outcome;
  };

  // A change freeze refuses every request but an approver's override (the edge let only those carry one).
  const freeze = await deps.freezes?.active(job.environment, now);
  if (freeze && !job.override) {
    return answer(
      'frozen',
      'denied',
      `${command} ${freightQueryOf(job.freight)}: refused, ${job.environment} is frozen (${freeze.reason})`,
      `${freezeLine(freeze, now)}\nNothing was started. An approver of *${job.environment}* can go ahead anyway with ` +
        `\`${command} … override &lt;reason&gt;\` (recorded in the audit trail), or end the freeze with \`/unfreeze ${job.environment}\`.`,
    );
  }

  const checked = await checkFreight(job, deps.kargo, now);
  const { stage, freight } = checked;
  if ('missing' in freight) {
    return answer(
      'not-found',
      'rejected',
      `${command} ${freightQueryOf(job.freight)}: ${freight.missing}.`,
      `:grey_question: Nothing was ${job.rollback ? 'rolled back' : 'promoted'}: ${freight.missing}.`,
    );
  }
  const availability = isFreightAvailable(stage, freight, now);
  if (!availability.available) {
    const settling = await justPromoted(freight, deps.kargo, now);
    const hint = settling
      ? ` (Kargo finished promoting it to ${settling} moments ago and may still be recording that; try again in a few seconds)`
      : '';
    return answer(
      'not-available',
      'rejected',
      `${command} ${shortName(freight)}: ${availability.reason}${hint}`,
      `:no_entry_sign: ${shortName(freight)} cannot go to *${job.environment}*: ${availability.reason}${hint}`,
    );
  }

  return deps.lock.withLock(job.stage, freight.name, async () => {
    const ours = await deps.kargo.findPromotionByRequestId(job.cardId);
    if (!ours) {
      const card = await deps.store.load(job.cardId);
      if (card?.cancel) {
        await record({
          type: 'PromotionRejected',
          id: `rejected:${job.cardId}`,
          cardId: job.cardId,
          at,
          code: ErrorCode.Cancelled,
          reason: `cancelled by ${card.cancel.by.slackUserName ?? card.cancel.by.slackUserId} before Kargo created it`,
        });
        await deps.responder.reply(job.reply.responseUrl, {
          text: ':octagonal_sign: Your promotion was cancelled before it started; nothing runs.',
        });
        return 'cancelled';
      }
      const stagePromotions = await deps.kargo.listPromotions(job.stage);
      const running = stagePromotions.find(
        (p) =>
          p.freight === freight.name && inFlight(p) && p.annotations[ANNOTATION_REQUEST_ID] !== job.cardId,
      );
      if (running) {
        const otherCard =
          running.annotations[ANNOTATION_REQUEST_ID] ?? (await deps.store.cardForPromotion(running.name));
        const link = otherCard ? await deps.cardLink(otherCard) : undefined;
        return answer(
          'joined',
          'info',
          `${command} ${shortName(freight)}: already on its way in Promotion ${running.name}; no second promotion created.`,
          `:arrows_clockwise: ${shortName(freight)} is already being promoted to *${job.environment}* (${running.name}${
            running.annotations[ANNOTATION_REQUEST_ID] ? '' : ', started by Kargo'
          }). Nothing new was started${link ? `: follow it on its card ${link}` : '.'}`,
        );
      }
      if (Object.values(stage.currentFreight).includes(freight.name)) {
        const since = freight.currentlyIn[job.stage]?.since;
        return answer(
          'already-current',
          'info',
          `${command} ${shortName(freight)}: ${job.stage} runs it already; nothing to do.`,
          `:white_check_mark: *${job.environment}* already runs ${shortName(freight)}${since ? ` (since ${since})` : ''}. Nothing was started.`,
        );
      }
    }

    if (freeze && job.override) {
      // The override is a decision of its own in the audit trail, recorded before anything starts.
      await deps.audit.append(
        commandAudit({
          id: `promote:${job.cardId}:override`,
          at,
          actor: job.actor,
          command: 'promote.override',
          environment: job.environment,
          outcome: 'accepted',
          detail: `${command} ${shortName(freight)} through the ${job.environment} freeze (${freeze.reason}): ${job.override}`,
          channelId: job.reply.channelId,
        }),
      );
    }
    const from = job.rollback ? await currentFreightWord(stage, deps.kargo) : undefined;
    await record({
      type: 'PromotionRequested',
      id: `requested:${job.cardId}`,
      cardId: job.cardId,
      at: job.requestedAt,
      environment: job.environment,
      stage: job.stage,
      freightQuery: freightQueryOf(job.freight),
      requestedBy: job.actor,
      ...(job.rollback ? { rollback: from ? { from } : {} } : {}),
      ...(freeze && job.override ? { override: { reason: job.override, freezeReason: freeze.reason } } : {}),
      sourceChannelId: job.reply.channelId,
    });
    await record({ type: 'FreightResolved', id: `freight:${job.cardId}`, cardId: job.cardId, at, freight });
    const promotion =
      ours ??
      (await deps.kargo.createPromotion({
        stage: job.stage,
        freight: freight.name,
        requestId: job.cardId,
        requestedBy: `slack:${job.actor.slackUserId}`,
        requestedAt: job.requestedAt,
      }));
    await deps.store.linkPromotion(promotion.name, job.cardId);
    await deps.lock.markInflight(job.stage, freight.name, promotion.name, deps.store.retentionSeconds);
    await record({
      type: 'PromotionCreated',
      id: `created:${promotion.name}`,
      cardId: job.cardId,
      at,
      promotionName: promotion.name,
      stage: promotion.stage,
      freightName: promotion.freight,
    });
    // A /cancel that arrived while the Promotion was being created found nothing to abort yet: do it now.
    if ((await deps.store.load(job.cardId))?.cancel) await deps.kargo.abortPromotion(promotion.name);
    const text = `:white_check_mark: Kargo promotion *${promotion.name}* created: ${freightLabel(freight)} → *${job.environment}*.`;
    const link = await deps.cardLink(job.cardId);
    if (link)
      await deps.responder.reply(job.reply.responseUrl, { text: `${text} Follow it on its card: ${link}` });
    else if (job.reply.responseUrl) await deps.replyWhenPosted(job.cardId, job.reply.responseUrl, text);
    return 'created';
  });
}
