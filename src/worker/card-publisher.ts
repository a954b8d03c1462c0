// Carries out what domain/publication.ts decides for a card: the card message, the outputs replies in its
// thread, alerts (a failure alert is updated in place as the card learns more, like the card), and stopping
// a run that outlived its promotion. Everything goes through the notifier's per-channel queues (coalesced,
// paced at Slack's rate, posted once per key): nothing here waits for Slack.
import type { CardPublisher } from '../cards/service.js';
import type { CardStore } from '../cards/store.js';
import { publicationsFor } from '../domain/publication.js';
import {
  renderCard,
  renderFailureAlert,
  renderOutputsThread,
  renderRunStillGoingAlert,
} from '../domain/render.js';
import type { SlackNotifier } from '../slack/notifier.js';
import { messageLink } from '../slack/notifier-keys.js';

export interface CardPublisherDeps {
  store: CardStore;
  notifier: Pick<SlackNotifier, 'upsert' | 'post' | 'lookup'>;
  /** Enqueues the run guard for a run that outlived its promotion (idempotent per run). */
  stopRun: (cardId: string, runId: number) => Promise<void>;
  kargoUrl?: string;
}

export function createCardPublisher(deps: CardPublisherDeps): CardPublisher {
  const kargoUrl = deps.kargoUrl ? { kargoUrl: deps.kargoUrl } : {};
  const cardUrl = async (key: string): Promise<string | undefined> => {
    const posted = await deps.notifier.lookup('deployments', key);
    return posted ? messageLink(posted.channel, posted.ts) : undefined;
  };
  return {
    async publishCard(cardId) {
      const card = await deps.store.load(cardId);
      if (!card) return;
      for (const publication of publicationsFor(card)) {
        switch (publication.kind) {
          case 'card': {
            // Slack requests asked for on behalf of this card (updates are coalesced by the notifier, so the
            // calls Slack sees are at most this many); logged with the GitHub count when the run ends.
            await deps.store.count(cardId, 'slack');
            const message = renderCard(card, kargoUrl);
            await deps.notifier.upsert({
              channel: 'deployments',
              key: publication.key,
              text: message.text,
              blocks: message.blocks,
              version: card.version,
            });
            break;
          }
          case 'outputs': {
            const outputs = renderOutputsThread(card);
            if (!outputs) break;
            await deps.store.count(cardId, 'slack');
            await deps.notifier.post({
              channel: 'deployments',
              key: publication.key,
              threadKey: publication.threadKey,
              text: outputs.text,
              blocks: outputs.blocks,
            });
            break;
          }
          case 'alert': {
            const link = await cardUrl(`card-${cardId}`);
            const around = { ...kargoUrl, ...(link ? { cardUrl: link } : {}) };
            const alert =
              publication.reason === 'run-still-going'
                ? renderRunStillGoingAlert(card, around)
                : renderFailureAlert(card, around);
            await deps.store.count(cardId, 'slack');
            if (publication.reason === 'run-still-going') {
              await deps.notifier.post({
                channel: 'alerts',
                key: publication.key,
                text: alert.text,
                blocks: alert.blocks,
              });
            } else {
              // Posted once, then kept current like the card: the gate results that say *why* it failed
              // (findings, resource, fix) often arrive just after Kargo ends the promotion.
              await deps.notifier.upsert({
                channel: 'alerts',
                key: publication.key,
                text: alert.text,
                blocks: alert.blocks,
                version: card.version,
              });
            }
            break;
          }
          case 'stop-run':
            await deps.stopRun(cardId, publication.runId);
            break;
        }
      }
    },
  };
}
