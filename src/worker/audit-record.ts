// The `audit-record` job: the full record of one promotion, for `/audit <promotion | card id>` and for the
// "Full record" button on a #infra-audit line (and the "More" buttons of its pages). The request named only
// a promotion or card and a page (checked at the edge); the worker finds the card, reads every record the
// audit stream keeps for it (src/audit/stream.ts) and answers whoever asked through the response_url,
// ephemerally. Nothing is changed, so nothing is audited.
//
// Who may look: whoever can see #infra-audit — proven by asking from inside it (the channel Slack signed the
// request with); see src/domain/audit-trail.ts.
import type { Logger } from 'pino';
import type { AuditRecord } from '../domain/audit.js';
import {
  auditAccessRefusal,
  promotionNameOf,
  renderAuditTrail,
  unknownAuditTarget,
} from '../domain/audit-trail.js';
import { CARD_ID_PATTERN } from '../domain/details.js';
import type { AuditRecordJob } from '../queue/jobs.js';
import type { Reply, Responder } from './responder.js';

export interface AuditRecordDeps {
  audit: {
    forCard(cardId: string): Promise<AuditRecord[] | undefined>;
    cardOfPromotion(promotionName: string): Promise<string | undefined>;
  };
  /** The card store's promotion → card link, for Promotions created before the audit index existed. */
  cards?: { cardForPromotion(promotionName: string): Promise<string | undefined> };
  /** #infra-audit's channel id. */
  auditChannelId: string;
  cardLink?: (cardId: string) => Promise<string | undefined>;
  responder: Responder;
  logger: Logger;
}

export async function processAuditRecord(job: AuditRecordJob, deps: AuditRecordDeps): Promise<void> {
  const answer = (text: string, blocks?: Reply['blocks']) =>
    deps.responder.reply(job.reply.responseUrl, blocks ? { text, blocks } : { text });
  if (job.reply.channelId !== deps.auditChannelId) {
    deps.logger.info(
      { user: job.actor.slackUserId, channel: job.reply.channelId },
      'audit record asked for outside #infra-audit; refused',
    );
    await answer(auditAccessRefusal(deps.auditChannelId));
    return;
  }
  const cardId = CARD_ID_PATTERN.test(job.target)
    ? job.target
    : ((await deps.audit.cardOfPromotion(job.target)) ?? (await deps.cards?.cardForPromotion(job.target)));
  const records = cardId ? await deps.audit.forCard(cardId) : undefined;
  if (!cardId || !records) {
    await answer(unknownAuditTarget(job.target));
    return;
  }
  const promotionName = promotionNameOf(records);
  const cardUrl = await deps.cardLink?.(cardId);
  const message = renderAuditTrail(
    records,
    { cardId, ...(promotionName ? { promotionName } : {}), ...(cardUrl ? { cardUrl } : {}) },
    job.page,
  );
  // Ephemeral and never replace_original: the click comes from a #infra-audit line, which must stay.
  await answer(message.text, message.blocks);
}
