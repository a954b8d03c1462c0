// `/unlock` jobs: show the state lock, and act on the view's Confirm/Cancel buttons. The safety rules live
// in src/locks (conditional deletes, single-use confirmations bound to the viewer, RBAC re-checked on
// click, refusal while a run is in progress); this module resolves who the user is and answers in Slack.
import type { AccessPolicy } from '../domain/access.js';
import type { Actor, Environment } from '../domain/types.js';
import {
  handleUnlockCancel,
  handleUnlockCommand,
  handleUnlockConfirm,
  type UnlockDeps,
} from '../locks/handlers.js';
import type { UnlockActionJob, UnlockJob } from '../queue/jobs.js';
import type { Responder } from './responder.js';

export interface UnlockJobDeps {
  unlock: UnlockDeps;
  responder: Responder;
  /** Cached Slack user-group membership (see GroupDirectory). */
  groupsOf(userId: string, groupIds: readonly string[]): Promise<string[]>;
}

async function withGroups(
  actor: Actor,
  access: AccessPolicy,
  deps: UnlockJobDeps,
  env?: Environment,
): Promise<Actor> {
  const groups = env
    ? access.unlock[env].groups
    : [...access.unlock.dev.groups, ...access.unlock.prod.groups];
  return { ...actor, groupIds: await deps.groupsOf(actor.slackUserId, groups) };
}

export async function processUnlock(job: UnlockJob, deps: UnlockJobDeps): Promise<void> {
  const actor = await withGroups(job.actor, deps.unlock.access, deps, job.environment);
  const reply = await handleUnlockCommand(
    { environment: job.environment, actor, channelId: job.reply.channelId, requestId: job.requestId },
    deps.unlock,
  );
  await deps.responder.reply(job.reply.responseUrl, {
    text: reply.message.text,
    blocks: reply.message.blocks,
  });
}

export async function processUnlockAction(job: UnlockActionJob, deps: UnlockJobDeps): Promise<void> {
  // The environment named in the (untrusted) button is checked against the stored confirmation by the
  // handler; group membership is resolved for both environments and the handler picks what applies.
  const actor = await withGroups(job.actor, deps.unlock.access, deps);
  const input = {
    actionValue: job.actionValue,
    actor,
    channelId: job.reply.channelId,
    requestId: job.requestId,
  };
  const reply =
    job.action === 'confirm'
      ? await handleUnlockConfirm(input, deps.unlock)
      : await handleUnlockCancel(input, deps.unlock);
  await deps.responder.reply(job.reply.responseUrl, {
    text: reply.message.text,
    blocks: reply.message.blocks,
    replaceOriginal: reply.replaceOriginal,
  });
}
