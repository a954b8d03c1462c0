// Turns what the Kargo watch sees into card events. Runs in every worker replica: all events carry
// deterministic ids, so two replicas recording the same phase change append it once.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { cardIdForPromotion } from '../domain/card.js';
import type { CardEvent } from '../domain/events.js';
import { isTerminalPhase, type PromotionSummary } from '../domain/types.js';
import type { CardService } from '../cards/service.js';
import type { CardStore } from '../cards/store.js';
import {
  ANNOTATION_REQUEST_ID,
  type KargoGateway,
  type WatchEvent,
  type WatchHandle,
} from '../kargo/gateway.js';

/** Finished promotions older than this, found at start-up without a card, are history: not shown. */
export const STALE_AFTER_MS = 60 * 60 * 1000;

/** Set by Kargo 1.11's admission on a person's Promotion of freight other than the auto-promotion candidate. */
export const ANNOTATION_AUTO_PROMOTION_HOLD = 'kargo.akuity.io/auto-promotion-hold';

/** Step whose outputs carry the GitHub run id (kargo/stages.yaml: `as: dispatch`). */
export const DISPATCH_STEP_ALIAS = 'dispatch';

export function eventsForPromotion(p: PromotionSummary, cardId: string, at: string): CardEvent[] {
  const events: CardEvent[] = [
    {
      type: 'PromotionCreated',
      id: `created:${p.name}`,
      cardId,
      at: p.createdAt ?? at,
      promotionName: p.name,
      stage: p.stage,
      freightName: p.freight,
      project: p.namespace,
      ...(p.annotations['kargo.akuity.io/create-actor']
        ? { createdBy: p.annotations['kargo.akuity.io/create-actor'] }
        : {}),
    },
  ];
  const held = p.annotations[ANNOTATION_AUTO_PROMOTION_HOLD];
  if (held)
    events.push({
      type: 'AutoPromotionHeld',
      id: `hold:${p.name}`,
      cardId,
      at: p.createdAt ?? at,
      promotionName: p.name,
      origin: held,
    });
  for (const [index, step] of p.steps.entries()) {
    if (!step.status) continue;
    events.push({
      type: 'PromotionStepChanged',
      id: `step:${p.name}:${step.alias}:${step.status}`,
      cardId,
      at: step.finishedAt ?? step.startedAt ?? at,
      promotionName: p.name,
      alias: step.alias,
      index,
      status: step.status,
      ...(step.message ? { message: step.message } : {}),
    });
  }
  const runId = Number(p.stepOutputs[DISPATCH_STEP_ALIAS]?.runId);
  if (Number.isInteger(runId) && runId > 0) {
    const runUrl = p.stepOutputs[DISPATCH_STEP_ALIAS]?.runUrl;
    events.push({
      type: 'RunLinked',
      id: `run:${p.name}:${runId}`,
      cardId,
      at,
      runId,
      ...(typeof runUrl === 'string' ? { runUrl } : {}),
    });
  }
  if (p.phase) {
    events.push({
      type: 'PromotionPhaseChanged',
      id: `phase:${p.name}:${p.phase}`,
      cardId,
      at,
      promotionName: p.name,
      phase: p.phase,
      ...(p.message ? { message: p.message } : {}),
    });
  }
  return events;
}

export interface KargoSyncDeps {
  /** Follows the GitHub run once Kargo's dispatch step names it (or finds it by promotion name). */
  runs?: {
    track(runId: number, cardId: string): Promise<void>;
    locate(promotion: string, cardId: string, createdAfter: string): Promise<void>;
  };
  kargo: KargoGateway;
  cards: CardService;
  store: CardStore;
  logger: Logger;
  now?: () => Date;
}

/** Which card a Promotion belongs to: the bot's annotation, then the link table, else its own card. */
export async function cardIdOf(p: PromotionSummary, store: CardStore): Promise<string> {
  return (
    p.annotations[ANNOTATION_REQUEST_ID] ??
    (await store.cardForPromotion(p.name)) ??
    cardIdForPromotion(p.name)
  );
}

/**
 * Why a Pending Promotion waits. Kargo runs one Promotion per Stage at a time, oldest first (names begin
 * with the Stage and a ULID, so creation order is name order within a Stage).
 */
export function pendingReason(
  p: PromotionSummary,
  stagePromotions: readonly PromotionSummary[],
): { reason: string; behind?: { promotionName: string } } {
  const ahead = stagePromotions.filter(
    (other) =>
      other.name !== p.name &&
      (!other.phase || !isTerminalPhase(other.phase)) &&
      ((other.createdAt ?? '') < (p.createdAt ?? '') ||
        ((other.createdAt ?? '') === (p.createdAt ?? '') && other.name < p.name)),
  );
  const running = ahead.find((other) => other.phase === 'Running');
  if (running) {
    return {
      reason: `behind ${running.name} (freight ${running.freight.slice(0, 7)}), which is running on ${p.stage}; Kargo runs one promotion per stage at a time`,
      behind: { promotionName: running.name },
    };
  }
  const first = ahead[0];
  if (first) {
    return {
      reason: `behind ${ahead.length} older promotion${ahead.length === 1 ? '' : 's'} of ${p.stage}, next ${first.name}`,
      behind: { promotionName: first.name },
    };
  }
  return {
    reason: `queued in Kargo: nothing is ahead of it on ${p.stage}; the Stage starts it on its next reconcile`,
  };
}

export function startKargoSync(deps: KargoSyncDeps): WatchHandle {
  const now = () => (deps.now ?? (() => new Date()))().toISOString();
  /** What the bot knows of a Promotion it did not create: its freight's alias and commits. */
  const describeFreight = async (p: PromotionSummary, cardId: string): Promise<void> => {
    const card = await deps.store.load(cardId);
    if (!card || card.request || card.freight?.alias || (card.freight?.commits.length ?? 0) > 0) return;
    const freight = await deps.kargo.findFreight(p.freight).catch(() => undefined);
    if (freight)
      await deps.cards.record({
        type: 'FreightResolved',
        id: `freight:${cardId}`,
        cardId,
        at: now(),
        freight,
      });
  };
  /**
   * The newest state this watch saw of each Promotion. The gateway's list (a cache with a watch of its
   * own) can trail this watch by a moment: a Pending promotion explained from it alone may not yet know
   * that the one ahead started running, and would keep saying so until it changes itself.
   */
  const seen = new Map<string, PromotionSummary>();
  const SEEN_MAX = 2_000;
  const remember = (p: PromotionSummary): void => {
    seen.delete(p.name);
    seen.set(p.name, p);
    if (seen.size > SEEN_MAX) seen.delete(seen.keys().next().value as string);
  };
  const fresher = (listed: PromotionSummary): PromotionSummary => {
    const watched = seen.get(listed.name);
    if (!watched) return listed;
    const [a, b] = [Number(watched.resourceVersion), Number(listed.resourceVersion)];
    return Number.isFinite(a) && Number.isFinite(b) && b > a ? listed : watched;
  };
  const stagePromotions = async (stage: string): Promise<PromotionSummary[]> =>
    (await deps.kargo.listPromotions(stage)).map(fresher);
  const explainPending = async (
    p: PromotionSummary,
    cardId: string,
    promotions?: readonly PromotionSummary[],
  ): Promise<void> => {
    const { reason, behind } = pendingReason(p, promotions ?? (await stagePromotions(p.stage)));
    const aheadCard = behind ? await deps.store.cardForPromotion(behind.promotionName) : undefined;
    await deps.cards.record({
      type: 'PromotionWaiting',
      // One event per distinct reason: the same queue position is recorded once, a change (the one ahead
      // started running, finished) is news.
      id: `waiting:${p.name}:${createHash('sha256').update(reason).digest('hex').slice(0, 12)}`,
      cardId,
      at: now(),
      promotionName: p.name,
      reason,
      ...(behind ? { behind: { ...behind, ...(aheadCard ? { cardId: aheadCard } : {}) } } : {}),
    });
  };
  const explainWaitingBehind = async (moved: PromotionSummary): Promise<void> => {
    const promotions = await stagePromotions(moved.stage);
    for (const other of promotions) {
      if (other.name === moved.name || other.phase !== 'Pending') continue;
      const cardId = await cardIdOf(other, deps.store);
      if (await deps.store.exists(cardId)) await explainPending(other, cardId, promotions);
    }
  };
  const deleted = async (p: PromotionSummary): Promise<void> => {
    if (p.phase && isTerminalPhase(p.phase)) return;
    const cardId = await cardIdOf(p, deps.store);
    if (!(await deps.store.exists(cardId))) return;
    await deps.cards.record({
      type: 'PromotionDeleted',
      id: `deleted:${p.name}`,
      cardId,
      at: now(),
      promotionName: p.name,
    });
  };
  const sync = async (p: PromotionSummary, fromResync: boolean): Promise<void> => {
    const cardId = await cardIdOf(p, deps.store);
    // On (re)start the watch lists every Promotion Kargo still keeps (up to 20 per stage). Old,
    // finished ones the bot never showed would flood #infra-deployments with stale cards: skip them.
    if (fromResync && p.phase && isTerminalPhase(p.phase) && !(await deps.store.exists(cardId))) {
      const age = Date.now() - Date.parse(p.createdAt ?? '');
      if (!(age < STALE_AFTER_MS)) return;
    }
    const events = eventsForPromotion(p, cardId, now());
    await deps.cards.recordAll(events);
    await describeFreight(p, cardId);
    if (p.phase === 'Pending') await explainPending(p, cardId);
    else if (p.phase === 'Running' || (p.phase && isTerminalPhase(p.phase) && !fromResync)) {
      // The queue of the stage moved: what the Pending ones wait behind may have changed.
      await explainWaitingBehind(p);
    }
    if (!deps.runs || (p.phase && isTerminalPhase(p.phase) && fromResync)) return;
    const linked = events.find((e) => e.type === 'RunLinked');
    if (linked && linked.type === 'RunLinked') await deps.runs.track(linked.runId, cardId);
    else if (p.steps.some((s) => s.alias === DISPATCH_STEP_ALIAS && s.status === 'Succeeded')) {
      // The dispatch went out but returned no run id: find the run by the promotion name in its run-name.
      await deps.runs.locate(p.name, cardId, p.createdAt ?? now());
    }
  };
  // Serialise handling so events of one promotion are recorded in the order the watch saw them.
  let chain: Promise<void> = Promise.resolve();
  const enqueue = (fn: () => Promise<void>): void => {
    chain = chain.then(fn).catch((err: unknown) => deps.logger.error({ err }, 'kargo sync failed'));
  };
  return deps.kargo.watchPromotions((event: WatchEvent<PromotionSummary>) => {
    if (event.type === 'RESYNC') {
      for (const p of event.objects) remember(p);
      for (const p of event.objects) enqueue(() => sync(p, true));
    } else if (event.type === 'DELETED') {
      seen.delete(event.object.name);
      enqueue(() => deleted(event.object));
    } else {
      remember(event.object);
      enqueue(() => sync(event.object, false));
    }
  });
}
