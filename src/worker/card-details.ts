// The `card-details` job: "Show resources" and "Show all findings" on a card or its alert, and the "More"
// buttons of their pages. The click named only a card and a page (checked at the edge,
// src/domain/details.ts); the worker loads that card from the store and answers whoever clicked through
// the click's response_url, ephemerally — no trigger_id, so no 3-second window to meet. The card itself is
// never touched.
//
// Who may look: anyone who can see the card (the channel it is in). The answer holds nothing the card's
// artifacts do not: addresses, attribute names, and values Terraform does not call sensitive.
import type { Logger } from 'pino';
import type { CardStore } from '../cards/store.js';
import { renderFindingsDetails } from '../domain/render-failure.js';
import { renderPlanDetails } from '../domain/render-plan.js';
import type { CardDetailsJob } from '../queue/jobs.js';
import type { Responder } from './responder.js';

export interface CardDetailsDeps {
  store: Pick<CardStore, 'load'>;
  responder: Responder;
  logger: Logger;
}

export async function processCardDetails(job: CardDetailsJob, deps: CardDetailsDeps): Promise<void> {
  const card = await deps.store.load(job.cardId);
  if (!card) {
    deps.logger.info({ cardId: job.cardId, view: job.view }, 'details asked for a card that is not kept');
    await deps.responder.reply(job.reply.responseUrl, {
      text: 'That promotion card is no longer kept (cards expire some weeks after their last change), so its details cannot be shown.',
    });
    return;
  }
  const message =
    job.view === 'plan' ? renderPlanDetails(card, job.page) : renderFindingsDetails(card, job.page);
  // Ephemeral and never replace_original: the click may come from the card itself, which must stay.
  await deps.responder.reply(job.reply.responseUrl, { text: message.text, blocks: message.blocks });
}
