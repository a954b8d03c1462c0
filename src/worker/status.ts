// The `status` job: `/status` answered through response_url, or the Home tab of a user who opened it
// (views.publish). Gathers a StatusSnapshot (src/domain/status.ts): Kargo's Stages and Promotions from the
// watch cache (no API request), the cards of running promotions (why they wait), the promotions lane's
// backlog, the freezes, and the Terraform state lock (one read per environment; a failure is shown, not
// thrown: a dashboard that cannot read one thing still shows the rest).
import type { KnownBlock } from '@slack/types';
import type { Logger } from 'pino';
import { renderStatus, type StageStatus, type StatusPromotion } from '../domain/status.js';
import {
  ENVIRONMENTS,
  isTerminalPhase,
  type Environment,
  type FreightSummary,
  type PromotionSummary,
} from '../domain/types.js';
import { newestCandidate } from '../domain/availability.js';
import { freightWordOf } from '../domain/format.js';
import type { CardStore } from '../cards/store.js';
import { ANNOTATION_REQUESTED_BY, type KargoGateway } from '../kargo/gateway.js';
import type { LockInspection } from '../locks/service.js';
import type { StatusJob } from '../queue/jobs.js';
import type { FreezeStore } from './freeze-store.js';
import type { Responder } from './responder.js';

export interface StatusDeps {
  kargo: Pick<KargoGateway, 'getStage' | 'listPromotions' | 'listFreight'>;
  stages: Record<Environment, string>;
  store: Pick<CardStore, 'cardForPromotion' | 'load'>;
  cardLink: (cardId: string) => Promise<string | undefined>;
  freezes: Pick<FreezeStore, 'active'>;
  /** The Terraform state lock of an environment; absent when no lock store is configured. */
  inspectLock?: (environment: Environment) => Promise<Pick<LockInspection, 'locks'>>;
  /** Promotion requests waiting for a worker. */
  queued: () => Promise<number>;
  responder: Responder;
  /** views.publish of the Home tab. */
  publishHome: (userId: string, blocks: KnownBlock[]) => Promise<void>;
  logger: Logger;
  now?: () => Date;
}

/** The dashboard does not wait longer than this for the lock store (AWS). */
const LOCK_READ_TIMEOUT_MS = 5_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function byWhom(p: PromotionSummary): string {
  const requested = p.annotations[ANNOTATION_REQUESTED_BY];
  if (requested?.startsWith('slack:')) return `<@${requested.slice('slack:'.length)}>`;
  return p.annotations['kargo.akuity.io/create-actor'] ? 'Kargo UI or CLI' : 'Kargo auto-promotion';
}

async function stageStatus(
  environment: Environment,
  freight: readonly FreightSummary[],
  deps: StatusDeps,
  now: Date,
): Promise<StageStatus> {
  const stageName = deps.stages[environment];
  const [stage, promotions, freeze] = await Promise.all([
    deps.kargo.getStage(stageName),
    deps.kargo.listPromotions(stageName),
    deps.freezes.active(environment, now),
  ]);
  const byName = new Map(freight.map((f) => [f.name, f]));
  const word = (name: string): string => freightWordOf(name, byName.get(name)?.alias);
  const toStatus = async (p: PromotionSummary): Promise<StatusPromotion> => {
    const cardId = await deps.store.cardForPromotion(p.name);
    const card = cardId ? await deps.store.load(cardId) : undefined;
    const cardUrl = cardId ? await deps.cardLink(cardId) : undefined;
    const waiting =
      card?.approval?.status === 'waiting'
        ? 'waiting for approval'
        : p.phase === 'Pending' || !p.phase
          ? card?.waiting?.reason
          : card?.cancel
            ? 'cancellation requested'
            : undefined;
    return {
      name: p.name,
      freight: word(p.freight),
      ...(p.phase ? { phase: p.phase } : {}),
      by: byWhom(p),
      ...(p.createdAt ? { createdAt: p.createdAt } : {}),
      ...(p.phase && isTerminalPhase(p.phase) && p.steps.at(-1)?.finishedAt
        ? { finishedAt: p.steps.at(-1)!.finishedAt! }
        : {}),
      ...(waiting ? { waiting } : {}),
      ...(cardUrl ? { cardUrl } : {}),
    };
  };
  const active = promotions.filter((p) => !p.phase || !isTerminalPhase(p.phase));
  const finished = promotions
    .filter((p) => p.phase && isTerminalPhase(p.phase))
    .reverse()
    .slice(0, 5);

  let lock: StageStatus['lock'] = { state: 'unknown', why: 'no lock store is configured' };
  if (deps.inspectLock) {
    try {
      const [held] = (await withTimeout(deps.inspectLock(environment), LOCK_READ_TIMEOUT_MS)).locks;
      lock = held
        ? { state: 'held', who: held.who, operation: held.operation, since: held.created }
        : { state: 'free' };
    } catch (error) {
      deps.logger.warn({ err: error, environment }, 'status: could not read the Terraform state lock');
      lock = { state: 'unknown', why: (error as Error).message };
    }
  }

  const currentName = stage ? Object.values(stage.currentFreight)[0] : undefined;
  const current = currentName ? byName.get(currentName) : undefined;
  const since = current?.currentlyIn[stageName]?.since;
  const candidate = stage ? newestCandidate(stage, freight, now) : undefined;
  return {
    environment,
    stage: stageName,
    ...(currentName ? { current: { freight: word(currentName), ...(since ? { since } : {}) } } : {}),
    ...(stage?.health ? { health: stage.health } : {}),
    active: await Promise.all(active.map(toStatus)),
    recent: await Promise.all(finished.map(toStatus)),
    lock,
    ...(freeze ? { freeze } : {}),
    holds: (stage?.autoPromotionHolds ?? []).map((hold) => ({
      ...hold,
      freight: word(hold.freightName),
    })),
    ...(stage?.autoPromotionEnabled !== undefined ? { autoPromotion: stage.autoPromotionEnabled } : {}),
    ...(candidate
      ? { candidate: { word: word(candidate.name), ref: candidate.alias ?? candidate.name } }
      : {}),
  };
}

export async function processStatus(job: StatusJob, deps: StatusDeps): Promise<void> {
  const now = (deps.now ?? (() => new Date()))();
  // One freight list for both stages (what they run, their candidates, the freight of their promotions).
  const [freight, queued] = await Promise.all([deps.kargo.listFreight(), deps.queued()]);
  const stages = await Promise.all(
    ENVIRONMENTS.map((environment) => stageStatus(environment, freight, deps, now)),
  );
  const message = renderStatus({ stages, queued, at: now.toISOString() });
  const blocks = message.blocks as KnownBlock[];
  if (job.reply) {
    await deps.responder.reply(job.reply.responseUrl, {
      text: message.text,
      blocks,
      ...(job.share ? { visibility: 'in_channel' as const } : {}),
    });
  }
  if (job.homeUserId) await deps.publishHome(job.homeUserId, blocks);
}
