// `/approve` jobs: list what waits, decide one, link a GitHub account, act on Approve clicks and Reject
// reasons. The rules (approver lists, four-eyes, single-use nonces, no-op on stale or double decisions)
// live in src/approvals; this module resolves the user's groups and answers in Slack.
import type { WebClient } from '@slack/web-api';
import type { AccessPolicy } from '../domain/access.js';
import type { Actor } from '../domain/types.js';
import {
  handleApprovalClick,
  handleApproveCommand,
  handleApproveLink,
  handleRejectSubmission,
  type ApprovalHandlerDeps,
} from '../approvals/handlers.js';
import type { ApproveActionJob, ApproveJob, RejectSubmissionJob } from '../queue/jobs.js';
import type { Responder } from './responder.js';

export interface ApproveJobDeps {
  approvals: ApprovalHandlerDeps;
  responder: Responder;
  /** For ephemeral answers to a dialog submission (no response_url comes with it). */
  slack: WebClient;
  groupsOf(userId: string, groupIds: readonly string[]): Promise<string[]>;
}

async function withGroups(actor: Actor, access: AccessPolicy, deps: ApproveJobDeps): Promise<Actor> {
  const groups = [...access.approve.dev.groups, ...access.approve.prod.groups];
  return { ...actor, groupIds: await deps.groupsOf(actor.slackUserId, groups) };
}

export async function processApprove(job: ApproveJob, deps: ApproveJobDeps): Promise<void> {
  const actor = await withGroups(job.actor, deps.approvals.access, deps);
  const reply = job.link
    ? await handleApproveLink({ actor, reply: job.reply, requestId: job.requestId }, deps.approvals)
    : await handleApproveCommand(
        {
          ...(job.target ? { target: job.target } : {}),
          actor,
          channelId: job.reply.channelId,
          requestId: job.requestId,
        },
        deps.approvals,
      );
  await deps.responder.reply(job.reply.responseUrl, {
    text: reply.message.text,
    blocks: reply.message.blocks,
  });
}

export async function processApproveAction(job: ApproveActionJob, deps: ApproveJobDeps): Promise<void> {
  const actor = await withGroups(job.actor, deps.approvals.access, deps);
  const reply = await handleApprovalClick(
    {
      actionValue: job.actionValue,
      actor,
      decision: 'approved',
      channelId: job.reply.channelId,
      requestId: job.requestId,
    },
    deps.approvals,
  );
  // Never replace_original: the click came from the card itself, which must stay.
  await deps.responder.reply(job.reply.responseUrl, {
    text: reply.message.text,
    blocks: reply.message.blocks,
  });
}

export async function processRejectSubmission(job: RejectSubmissionJob, deps: ApproveJobDeps): Promise<void> {
  const actor = await withGroups(job.actor, deps.approvals.access, deps);
  const reply = await handleRejectSubmission(
    { viewPrivateMetadata: job.viewPrivateMetadata, reason: job.reason, actor, requestId: job.requestId },
    deps.approvals,
  );
  const channel = (reply as { channelId?: string }).channelId;
  if (channel) {
    await deps.slack.chat.postEphemeral({
      channel,
      user: actor.slackUserId,
      text: reply.message.text,
      blocks: reply.message.blocks as never,
    });
  }
}
