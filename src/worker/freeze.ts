// /freeze, /unfreeze and a freeze's end. The edge checked the access rule (approvers of the environment)
// and worked out when the freeze ends; here the freeze is stored, Kargo's auto-promotion of the stage is
// paused for as long as it lasts (and restored after), its end is scheduled, and #infra-deployments is
// told. Every step is idempotent, so a retried job changes nothing twice:
//   - the freeze is stored first: refusing /promote and /rollback is the bot's own promise and must hold
//     even while Kargo is unreachable (the job then retries the pause);
//   - a freeze replaced by a new /freeze keeps the pause it made; only the freeze in force when its end job
//     runs is ended (a lifted or replaced freeze's end job finds another `until` and does nothing).
import type { Logger } from 'pino';
import { commandAudit } from '../domain/audit-records.js';
import { freezeEndText, freezeLine, type Freeze } from '../domain/freeze.js';
import type { AuditSink, CardService } from '../cards/service.js';
import type { CardStore } from '../cards/store.js';
import type { KargoGateway } from '../kargo/gateway.js';
import type { FreezeEndJob, FreezeJob, UnfreezeJob } from '../queue/jobs.js';
import type { SlackNotifier } from '../slack/notifier.js';
import type { FreezeStore } from './freeze-store.js';
import type { Responder } from './responder.js';

export interface FreezeDeps {
  freezes: FreezeStore;
  kargo: Pick<KargoGateway, 'pauseAutoPromotion' | 'resumeAutoPromotion'>;
  audit: AuditSink;
  responder: Responder;
  notifier: Pick<SlackNotifier, 'post'>;
  /** Enqueues `job` to run at `job.until` (idempotent per environment and end). */
  scheduleEnd: (job: FreezeEndJob) => Promise<void>;
  deploymentsChannelId: string;
  /** The open cards of the environment show the freeze while it lasts. */
  cards?: Pick<CardService, 'record'>;
  store?: Pick<CardStore, 'recent' | 'load'>;
  logger: Logger;
  now?: () => Date;
}

/** How many of the most recent cards are looked at for open ones (open cards are recent by nature). */
const OPEN_CARDS_SCAN = 100;

/**
 * Tells the open cards of `environment` that a freeze began (`freeze`) or ended (undefined): a promotion
 * that was already running goes on, and its card says the stage is frozen around it. Idempotent per
 * freeze (its start and end); a card that cannot be updated is logged, never fails the freeze.
 */
async function noteOnOpenCards(
  environment: Freeze['environment'],
  freeze: Freeze,
  ended: boolean,
  deps: FreezeDeps,
  at: string,
): Promise<void> {
  if (!deps.cards || !deps.store) return;
  const key = `${environment}:${freeze.since}:${freeze.until}`;
  for (const cardId of await deps.store.recent(OPEN_CARDS_SCAN)) {
    try {
      const card = await deps.store.load(cardId);
      if (!card || card.isTerminal || card.environment !== environment) continue;
      await deps.cards.record({
        type: 'FreezeChanged',
        id: `${ended ? 'unfreeze' : 'freeze'}:${key}`,
        cardId,
        at,
        environment,
        ...(ended
          ? {}
          : { freeze: { by: freeze.by, reason: freeze.reason, until: freeze.until, open: freeze.open } }),
      });
    } catch (error) {
      deps.logger.warn({ err: error, cardId, environment }, 'could not show the freeze on an open card');
    }
  }
}

const who = (freeze: Freeze): string => `<@${freeze.by.slackUserId}>`;

export async function processFreeze(job: FreezeJob, deps: FreezeDeps): Promise<'frozen'> {
  const now = (deps.now ?? (() => new Date()))();
  const previous = await deps.freezes.active(job.environment, now);
  const freeze: Freeze = {
    environment: job.environment,
    by: job.actor,
    reason: job.reason,
    since: previous?.since ?? now.toISOString(),
    until: job.until,
    open: job.open,
    // A freeze that replaces another keeps what that one paused, so its end restores it.
    ...(previous?.autoPromotion ? { autoPromotion: previous.autoPromotion } : {}),
  };
  await deps.freezes.put(freeze);

  const pause = await deps.kargo.pauseAutoPromotion(job.stage);
  if (pause === 'paused' && !freeze.autoPromotion?.paused) {
    freeze.autoPromotion = { stage: job.stage, paused: true };
    await deps.freezes.put(freeze);
  }
  await deps.scheduleEnd({
    kind: 'freeze-end',
    requestId: `${job.environment}-${Date.parse(job.until)}`,
    environment: job.environment,
    stage: job.stage,
    until: job.until,
    actor: job.actor,
  });

  const auto = freeze.autoPromotion?.paused
    ? 'auto-promotion of the stage is paused'
    : 'nothing auto-promotes into the stage';
  await deps.audit.append(
    commandAudit({
      id: `freeze:${job.requestId}`,
      at: now.toISOString(),
      actor: job.actor,
      command: 'freeze',
      environment: job.environment,
      outcome: 'accepted',
      detail: `${job.environment} frozen ${freezeEndText(freeze, now)}${previous ? ' (replacing the freeze before)' : ''}: ${job.reason}; ${auto}.`,
      channelId: job.reply.channelId,
    }),
  );
  await noteOnOpenCards(job.environment, freeze, false, deps, now.toISOString());
  const line = freezeLine(freeze, now);
  await deps.notifier.post({
    channel: 'deployments',
    key: `freeze-${job.requestId}`,
    text: `${line}\n/promote and /rollback of ${job.environment} are refused until then; an approver can add \`override &lt;reason&gt;\`. \`/unfreeze ${job.environment}\` ends it.`,
  });
  await deps.responder.reply(job.reply.responseUrl, {
    text: `${line}\nAnnounced in <#${deps.deploymentsChannelId}>; ${auto}.`,
  });
  return 'frozen';
}

/** Ends `freeze` now: auto-promotion back as it was, the key gone. Idempotent. */
async function lift(freeze: Freeze, stage: string, deps: FreezeDeps): Promise<boolean> {
  let resumed = false;
  if (freeze.autoPromotion?.paused) resumed = (await deps.kargo.resumeAutoPromotion(stage)) === 'resumed';
  await deps.freezes.remove(freeze.environment);
  return resumed;
}

export async function processUnfreeze(
  job: UnfreezeJob,
  deps: FreezeDeps,
): Promise<'unfrozen' | 'not-frozen'> {
  const now = (deps.now ?? (() => new Date()))();
  const freeze = await deps.freezes.active(job.environment, now);
  if (!freeze) {
    await deps.responder.reply(job.reply.responseUrl, {
      text: `:information_source: *${job.environment}* is not frozen; nothing to end.`,
    });
    return 'not-frozen';
  }
  const resumed = await lift(freeze, job.stage, deps);
  await noteOnOpenCards(job.environment, freeze, true, deps, now.toISOString());
  await deps.audit.append(
    commandAudit({
      id: `unfreeze:${job.requestId}`,
      at: now.toISOString(),
      actor: job.actor,
      command: 'unfreeze',
      environment: job.environment,
      outcome: 'accepted',
      detail: `Ended the freeze of ${job.environment} set by ${freeze.by.slackUserName ?? freeze.by.slackUserId} (${freeze.reason})${resumed ? '; auto-promotion resumed' : ''}.`,
      channelId: job.reply.channelId,
    }),
  );
  const text = `:sunny: *${job.environment} is no longer frozen*: <@${job.actor.slackUserId}> ended the freeze ${who(freeze)} set (${freeze.reason}).${
    resumed ? ' Auto-promotion is back on.' : ''
  }`;
  await deps.notifier.post({ channel: 'deployments', key: `unfreeze-${job.requestId}`, text });
  await deps.responder.reply(job.reply.responseUrl, { text });
  return 'unfrozen';
}

export async function processFreezeEnd(job: FreezeEndJob, deps: FreezeDeps): Promise<'ended' | 'stale'> {
  const now = (deps.now ?? (() => new Date()))();
  const freeze = await deps.freezes.get(job.environment);
  // Lifted, or replaced by a freeze with another end: that one has its own end job.
  if (!freeze || freeze.until !== job.until) return 'stale';
  const resumed = await lift(freeze, job.stage, deps);
  await noteOnOpenCards(job.environment, freeze, true, deps, now.toISOString());
  await deps.audit.append(
    commandAudit({
      id: `freeze-end:${job.requestId}`,
      at: now.toISOString(),
      actor: job.actor,
      command: 'freeze.ended',
      environment: job.environment,
      outcome: 'info',
      detail: `The freeze of ${job.environment} (${freeze.reason}) ended as planned${resumed ? '; auto-promotion resumed' : ''}.`,
    }),
  );
  await deps.notifier.post({
    channel: 'deployments',
    key: `freeze-end-${job.requestId}`,
    text: `:sunny: *${job.environment} is no longer frozen*: the freeze ${who(freeze)} set (${freeze.reason}) ended as planned.${
      resumed ? ' Auto-promotion is back on.' : ''
    }`,
  });
  return 'ended';
}
