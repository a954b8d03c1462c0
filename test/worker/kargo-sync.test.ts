// What the Kargo watch turns into card events, on a real CardStore (Redis at REDIS_URL) with the gateway
// played here: the watch the sync follows and the list it reads (in the worker a cache with a watch of
// its own) are separate, and the list may trail the watch — here it is held back on purpose.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { CardService } from '../../src/cards/service.js';
import { CardStore } from '../../src/cards/store.js';
import { cardIdForPromotion } from '../../src/domain/card.js';
import type { PromotionSummary } from '../../src/domain/types.js';
import type { KargoGateway, WatchEvent } from '../../src/kargo/gateway.js';
import { startKargoSync } from '../../src/worker/kargo-sync.js';
import { redisOptionsFromUrl } from '../support/redis.js';

const promotion = (name: string, createdAt: string, resourceVersion: string): PromotionSummary => ({
  name,
  namespace: 'gitops-infra',
  stage: 'dev',
  freight: name.slice(-7).padEnd(40, '0'),
  createdAt,
  annotations: {},
  steps: [],
  stepOutputs: {},
  resourceVersion,
});

/**
 * The sync on a gateway whose list is `listed`, whatever the watch says since; `emit` plays the watch.
 */
function startSync(store: CardStore, cards: CardService, listed: readonly PromotionSummary[]) {
  let onEvent: (event: WatchEvent<PromotionSummary>) => void = () => {};
  const kargo = {
    listPromotions: async () => listed,
    findFreight: async () => undefined,
    watchPromotions: (handler: typeof onEvent) => {
      onEvent = handler;
      return { stop: async () => {} };
    },
  } as unknown as KargoGateway;
  const handle = startKargoSync({ kargo, cards, store, logger: pino({ level: 'silent' }) });
  return { emit: (event: WatchEvent<PromotionSummary>) => onEvent(event), handle };
}

describe('kargo-sync: why a Pending promotion waits', () => {
  let redis: Redis;
  const prefix = `test-kargo-sync-${randomBytes(4).toString('hex')}`;

  beforeAll(() => {
    redis = new Redis(redisOptionsFromUrl());
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('names the running promotion ahead even when the listed copy has not caught up with the watch', async () => {
    const store = new CardStore(redis, prefix);
    const cards = new CardService(store, { append: async () => undefined }, { publishCard: async () => {} });
    const older = promotion('dev.01kolder00000000000000000.aaaaaaa', '2026-12-07T10:00:00Z', '100');
    const newer = promotion('dev.01knewer00000000000000000.bbbbbbb', '2026-12-07T10:00:05Z', '101');
    // The list the sync reads: both promotions as first seen, before either has a phase.
    const listed = [older, newer];
    const { emit, handle } = startSync(store, cards, listed);
    try {
      emit({ type: 'RESYNC', objects: [older, newer] });
      // Kargo starts the older one, then marks the newer Pending; the list still shows neither change.
      emit({ type: 'MODIFIED', object: { ...older, phase: 'Running', resourceVersion: '102' } });
      emit({ type: 'MODIFIED', object: { ...newer, phase: 'Pending', resourceVersion: '103' } });
      const cardId = cardIdForPromotion(newer.name);
      let waiting: string | undefined;
      for (let i = 0; i < 100 && !waiting?.includes('which is running'); i += 1) {
        waiting = (await store.load(cardId))?.waiting?.reason;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(waiting).toMatch(
        new RegExp(`^behind ${older.name.replace(/\./g, '\\.')} .*which is running on dev`),
      );
      expect((await store.load(cardId))?.waiting?.behind).toEqual({
        promotionName: older.name,
        cardId: undefined,
      });
    } finally {
      await handle.stop();
    }
  });

  it('says again what a Pending promotion waits behind when the one ahead starts running', async () => {
    const store = new CardStore(redis, `${prefix}-2`);
    const cards = new CardService(store, { append: async () => undefined }, { publishCard: async () => {} });
    const older = promotion('dev.01kolder00000000000000000.ccccccc', '2026-12-07T10:00:00Z', '200');
    const newer = promotion('dev.01knewer00000000000000000.ddddddd', '2026-12-07T10:00:05Z', '201');
    const { emit, handle } = startSync(store, cards, [older, { ...newer, phase: 'Pending' }]);
    try {
      // The newer one is Pending first, while the older one has not started: it waits in the queue.
      emit({ type: 'RESYNC', objects: [older] });
      emit({ type: 'ADDED', object: { ...newer, phase: 'Pending', resourceVersion: '202' } });
      const cardId = cardIdForPromotion(newer.name);
      const reason = async (): Promise<string | undefined> => (await store.load(cardId))?.waiting?.reason;
      for (let i = 0; i < 100 && !(await reason()); i += 1) await new Promise((r) => setTimeout(r, 20));
      expect(await reason()).toMatch(/^behind 1 older promotion of dev/);
      // Then the older one runs: nothing changes on the newer one itself, but its card says the news.
      emit({ type: 'MODIFIED', object: { ...older, phase: 'Running', resourceVersion: '203' } });
      for (let i = 0; i < 100 && !(await reason())?.includes('which is running'); i += 1) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(await reason()).toMatch(/which is running on dev/);
    } finally {
      await handle.stop();
    }
  });
});
