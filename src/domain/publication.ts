// What the bot tells Slack (and does) when a card changes: a pure function of the card, so the policy is
// one place that unit tests can read, instead of branches inside the worker.
//
//   the card                    always: posted once in #infra-deployments, then updated in place. The card
//                               itself says "Succeeded" — there is no second top-level post per promotion
//   Terraform outputs           one reply in the card's thread per outputs artifact received
//   an alert in #infra-alerts   for failures of things that ran: Failed / Errored (once the GitHub run has
//                               ended, so the alert can name the failed job), rejections the system caused
//                               (Kargo refused, unreachable too long, worker lost) — never for a user's own
//                               cancellation or a mistyped request (those get an ephemeral answer instead)
//   a run-still-going alert     Kargo ended the promotion, its GitHub run has not, and the bot could not
//                               stop it: the run could still apply
//   stop the run                Kargo ended the promotion (Aborted, Errored, Failed, deleted) while its run
//                               goes on: cancel it / reject its waiting deployment (worker/run-guard.ts)
import { PROMOTION_DELETED_MESSAGE, runOutlivesPromotion, type Card } from './card.js';
import { ErrorCode } from './errors.js';

export type Publication =
  | { kind: 'card'; key: string }
  | { kind: 'outputs'; key: string; threadKey: string }
  | { kind: 'alert'; key: string; reason: 'failed' | 'rejected' | 'run-still-going' }
  | { kind: 'stop-run'; runId: number };

/** Rejections a person caused and was told about directly: no alert. */
export const USER_CAUSED_REJECTIONS: ReadonlySet<string> = new Set([
  ErrorCode.BadInput,
  ErrorCode.Forbidden,
  ErrorCode.SelfApproval,
  ErrorCode.FreightNotFound,
  ErrorCode.FreightNotAvailable,
  ErrorCode.Cancelled,
]);

export const cardMessageKey = (cardId: string): string => `card-${cardId}`;

export function publicationsFor(card: Card): Publication[] {
  const cardKey = cardMessageKey(card.id);
  const out: Publication[] = [{ kind: 'card', key: cardKey }];
  if (card.outputs.length > 0) {
    out.push({ kind: 'outputs', key: `outputs-${card.id}-${card.outputs.length}`, threadKey: cardKey });
  }
  if (runOutlivesPromotion(card)) {
    if (!card.runStop) out.push({ kind: 'stop-run', runId: card.run!.id });
    else if (card.runStop.outcome === 'failed') {
      out.push({ kind: 'alert', key: `run-alert-${card.id}`, reason: 'run-still-going' });
    }
  }
  if (!card.isTerminal) return out;
  switch (card.phase) {
    case 'Failed':
    case 'Errored':
      // Wait for the run's own ending (jobs and failed step known) so the alert can name the failed job.
      if (!card.run || card.run.status === 'completed') {
        out.push({ kind: 'alert', key: `alert-${card.id}`, reason: 'failed' });
      }
      break;
    case 'Rejected':
      if (!USER_CAUSED_REJECTIONS.has(card.rejection?.code ?? '')) {
        out.push({ kind: 'alert', key: `alert-${card.id}`, reason: 'rejected' });
      }
      break;
    case 'Aborted':
      // Stopped on purpose (through the bot, the Kargo UI or CLI): not a failure. A deleted Promotion that
      // nobody asked the bot to stop is news on-call wants.
      if (!card.cancel && card.phaseMessage === PROMOTION_DELETED_MESSAGE) {
        out.push({ kind: 'alert', key: `alert-${card.id}`, reason: 'failed' });
      }
      break;
    default:
      break;
  }
  return out;
}
