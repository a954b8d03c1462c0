// `/cancel <promotion | card | freight alias> [reason]` and Withdraw on an approval card: stop a promotion
// that is pending, running or waiting for approval.
//
//   1. find the card (promotion name, card id, or the live card of that freight alias);
//   2. only its requester, or an approver of its environment, may stop it (domain/access.ts);
//   3. record who asked and why (CancelRequested: audited, shown on the card);
//   4. abort the Promotion through Kargo's own mechanism (annotation `kargo.akuity.io/abort: terminate`,
//      as the UI and CLI do); not created yet: the promote job sees the request and creates nothing;
//   5. stop the GitHub run at once if it is waiting or running (run-guard.ts: reject its waiting
//      deployment, cancel it) — not only once Kargo reports Aborted.
import type { Logger } from 'pino';
import { authorizeCancel } from '../domain/access.js';
import { parseApprovalAction } from '../domain/approval.js';
import { commandAudit } from '../domain/audit-records.js';
import type { AuditOutcome } from '../domain/audit.js';
import type { Card } from '../domain/card.js';
import { freightLabel } from '../domain/format.js';
import type { AccessPolicy } from '../domain/access.js';
import type { AuditSink, CardService } from '../cards/service.js';
import type { CardStore } from '../cards/store.js';
import type { KargoGateway } from '../kargo/gateway.js';
import type { CancelJob } from '../queue/jobs.js';
import type { Responder } from './responder.js';

export interface CancelDeps {
  store: CardStore;
  cards: CardService;
  kargo: KargoGateway;
  audit: AuditSink;
  responder: Responder;
  access: AccessPolicy;
  groupsOf: (userId: string, groupIds: readonly string[]) => Promise<string[]>;
  /** Enqueues the run guard for this card's run (idempotent per run). */
  stopRun: (cardId: string, runId: number) => Promise<void>;
  cardLink: (cardId: string) => Promise<string | undefined>;
  logger: Logger;
  now?: () => Date;
}

export type CancelOutcome = 'cancelling' | 'not-found' | 'finished' | 'denied' | 'stale-button';

/** The card a /cancel target names: card id, promotion name, or the newest live card of a freight alias. */
async function findCard(target: string, store: CardStore): Promise<Card | undefined> {
  if (/^(req|promo)-[0-9a-f]{16}$/.test(target)) return store.load(target);
  const byPromotion = await store.cardForPromotion(target);
  if (byPromotion) return store.load(byPromotion);
  for (const cardId of await store.recent(200)) {
    const card = await store.load(cardId);
    if (card && !card.isTerminal && (card.freight?.alias === target || card.freight?.name === target))
      return card;
  }
  return undefined;
}

export async function processCancel(job: CancelJob, deps: CancelDeps): Promise<CancelOutcome> {
  const at = (deps.now ?? (() => new Date()))().toISOString();
  const said = job.via === 'button' ? 'Withdraw' : `/cancel ${job.target ?? ''}`.trim();
  const finish = async (
    outcome: CancelOutcome,
    auditOutcome: AuditOutcome,
    detail: string,
    text: string,
    card?: Card,
  ): Promise<CancelOutcome> => {
    await deps.audit.append(
      commandAudit({
        id: `cancel:${job.requestId}:${outcome}`,
        at,
        actor: job.actor,
        command: 'cancel',
        ...(card?.environment ? { environment: card.environment } : {}),
        ...(card?.promotion ? { target: card.promotion.name } : {}),
        outcome: auditOutcome,
        detail,
        channelId: job.reply.channelId,
        ...(card ? { cardId: card.id } : {}),
      }),
    );
    await deps.responder.reply(job.reply.responseUrl, { text });
    return outcome;
  };

  let card: Card | undefined;
  if (job.via === 'button') {
    const value = parseApprovalAction(job.actionValue);
    card = value ? await deps.store.load(value.card) : undefined;
    if (!value || !card || card.approval?.nonce !== value.nonce) {
      return finish(
        'stale-button',
        'denied',
        `${said}: the button no longer matches a waiting approval (edited, or out of date).`,
        ':warning: That button is out of date: nothing was stopped. Use `/cancel <promotion>` if it still runs.',
        card,
      );
    }
  } else {
    card = await findCard(job.target ?? '', deps.store);
  }
  if (!card) {
    return finish(
      'not-found',
      'rejected',
      `${said}: no promotion the bot follows matches.`,
      `:grey_question: I follow no promotion called \`${job.target ?? ''}\`. Give its promotion name (on the card) or the freight alias.`,
    );
  }
  const subject = `the promotion of ${card.freight ? freightLabel(card.freight) : 'freight'} to ${card.environment ?? card.stage ?? '?'}`;
  if (card.isTerminal) {
    return finish(
      'finished',
      'info',
      `${said}: ${subject} had already ended (${card.phase}).`,
      `:information_source: Nothing to stop: ${subject} already ended (${card.phase}).`,
      card,
    );
  }
  const environment = card.environment ?? 'prod';
  const groupIds = await deps.groupsOf(job.actor.slackUserId, deps.access.approve[environment].groups);
  const allowed = authorizeCancel(
    deps.access,
    environment,
    { ...job.actor, groupIds },
    card.request?.requestedBy.slackUserId,
  );
  if (!allowed.allowed) {
    return finish('denied', 'denied', `${said}: ${allowed.reason}`, `:no_entry: ${allowed.reason}`, card);
  }

  const reason = job.reason?.trim() || 'no reason given';
  await deps.cards.record({
    type: 'CancelRequested',
    id: `cancel:${card.id}`,
    cardId: card.id,
    at,
    by: job.actor,
    reason,
    via: job.via,
  });
  // The Promotion by the card's link, or (a request the promote job is creating right now) by request id.
  const promotionName = card.promotion?.name ?? (await deps.kargo.findPromotionByRequestId(card.id))?.name;
  let kargoSays = 'Kargo had not created it yet: it will not be';
  if (promotionName) {
    const aborted = await deps.kargo.abortPromotion(promotionName);
    kargoSays =
      aborted === 'aborting'
        ? `Kargo is aborting ${promotionName}`
        : aborted === 'finished'
          ? `${promotionName} had just ended in Kargo`
          : `${promotionName} no longer exists in Kargo`;
  }
  if (card.run && card.run.status !== 'completed') await deps.stopRun(card.id, card.run.id);
  const link = await deps.cardLink(card.id);
  return finish(
    'cancelling',
    'accepted',
    `${said}: stopping ${subject} (${reason}). ${kargoSays}${card.run ? `; GitHub run ${card.run.id} is being stopped` : ''}.`,
    `:octagonal_sign: Stopping ${subject}: ${kargoSays}${
      card.run && card.run.status !== 'completed'
        ? `, and its GitHub run #${card.run.id} is being stopped`
        : ''
    }.${link ? ` The card: ${link}` : ''}`,
    card,
  );
}
