// Button clicks (block_actions) at the edge: ack at once, hand the click to the worker with everything it
// needs to re-check the user and answer through response_url. Nothing in the payload is trusted: the
// worker re-authorizes the clicking user and checks the value against server-side state.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { APPROVE_ACTION_ID, WITHDRAW_ACTION_ID } from '../domain/approval.js';
import { AUDIT_RECORD_ACTION_ID } from '../domain/audit-mirror.js';
import { PLAN_DETAILS_ACTION_ID, FINDINGS_DETAILS_ACTION_ID, parseDetailsValue } from '../domain/details.js';
import { UNLOCK_CANCEL_ACTION_ID, UNLOCK_CONFIRM_ACTION_ID } from '../locks/view.js';
import type { CommandQueue } from './commands.js';

/** The fields of Slack's block_actions payload the bot uses. */
export interface BlockActionPayload {
  user: { id: string; name?: string; username?: string };
  channel?: { id: string };
  container?: { channel_id?: string };
  trigger_id?: string;
  response_url?: string;
  actions: Array<{ action_id: string; value?: string; action_ts?: string }>;
}

export interface ActionDeps {
  queue: CommandQueue;
  logger: Logger;
}

const idFor = (kind: string, payload: BlockActionPayload, actionTs: string | undefined): string =>
  `${kind}-${createHash('sha256')
    .update(`${payload.trigger_id ?? ''}:${actionTs ?? ''}:${payload.user.id}`)
    .digest('hex')
    .slice(0, 16)}`;

/** Queues the click; returns false for actions this bot does not know (logged, ignored). */
export async function handleBlockAction(payload: BlockActionPayload, deps: ActionDeps): Promise<boolean> {
  const action = payload.actions[0];
  if (!action) return false;
  const channelId = payload.channel?.id ?? payload.container?.channel_id ?? '';
  const reply = { channelId, ...(payload.response_url ? { responseUrl: payload.response_url } : {}) };
  const actor = {
    slackUserId: payload.user.id,
    ...(payload.user.username || payload.user.name
      ? { slackUserName: payload.user.username ?? payload.user.name }
      : {}),
  };
  switch (action.action_id) {
    case UNLOCK_CONFIRM_ACTION_ID:
    case UNLOCK_CANCEL_ACTION_ID: {
      const requestId = idFor('unlock-action', payload, action.action_ts);
      await deps.queue.add(
        {
          kind: 'unlock-action',
          action: action.action_id === UNLOCK_CONFIRM_ACTION_ID ? 'confirm' : 'cancel',
          requestId,
          actionValue: action.value ?? null,
          actor,
          reply,
        },
        requestId,
      );
      return true;
    }
    case APPROVE_ACTION_ID: {
      const requestId = idFor('approve-action', payload, action.action_ts);
      await deps.queue.add(
        { kind: 'approve-action', requestId, actionValue: action.value ?? null, actor, reply },
        requestId,
      );
      return true;
    }
    case WITHDRAW_ACTION_ID: {
      const requestId = idFor('withdraw-action', payload, action.action_ts);
      await deps.queue.add(
        {
          kind: 'cancel',
          requestId,
          via: 'button',
          actionValue: action.value ?? null,
          reason: 'withdrawn from the approval card',
          actor,
          reply,
        },
        requestId,
      );
      return true;
    }
    case PLAN_DETAILS_ACTION_ID:
    case FINDINGS_DETAILS_ACTION_ID: {
      // Only "which card, which page" is taken from the click; the worker loads the card itself.
      const requested = parseDetailsValue(action.value);
      if (!requested) {
        deps.logger.warn(
          { actionId: action.action_id, user: payload.user.id },
          'details click with a bad value ignored',
        );
        return false;
      }
      const requestId = idFor('card-details', payload, action.action_ts);
      const view = action.action_id === PLAN_DETAILS_ACTION_ID ? 'plan' : 'findings';
      await deps.queue.add({ kind: 'card-details', requestId, view, ...requested, actor, reply }, requestId);
      return true;
    }
    case AUDIT_RECORD_ACTION_ID: {
      // "Full record" on a #infra-audit line, "More" on its pages: only "which card, which page" is taken.
      const requested = parseDetailsValue(action.value);
      if (!requested) {
        deps.logger.warn(
          { actionId: action.action_id, user: payload.user.id },
          'Full record click with a bad value ignored',
        );
        return false;
      }
      const requestId = idFor('audit-record', payload, action.action_ts);
      await deps.queue.add(
        {
          kind: 'audit-record',
          requestId,
          via: 'button',
          target: requested.cardId,
          page: requested.page,
          actor,
          reply,
        },
        requestId,
      );
      return true;
    }
    default:
      deps.logger.warn({ actionId: action.action_id, user: payload.user.id }, 'unknown Slack action ignored');
      return false;
  }
}
