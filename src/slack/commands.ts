// Slash commands at the edge: parse → authorize → enqueue → reply. Everything before the ack shares ONE
// deadline (deadline.ts) well inside Slack's 3 s: a cached group lookup, the enqueue, and for a refusal its
// audit record. No Kargo or Slack call. The worker does the slow work and answers through response_url.
//
// What a user is told when the enqueue fails depends on whether the command may have reached Redis:
// "nothing was started" only when that is certain; otherwise "it may still run — check before retrying",
// and a retry is harmless anyway (a second request for the same freight joins the first).
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { authorize, otherApprovers, type AccessAction } from '../domain/access.js';
import { commandAudit } from '../domain/audit-records.js';
import { auditAccessRefusal } from '../domain/audit-trail.js';
import { cardIdForRequest } from '../domain/card.js';
import {
  SLASH_COMMANDS,
  helpText,
  parseCommand,
  usage,
  type ParsedCommand,
  type SlashCommand,
} from '../domain/commands.js';
import type { Actor, Environment } from '../domain/types.js';
import type { Config } from '../config/load.js';
import type { AuditSink } from '../cards/service.js';
import { freezeUntil } from '../domain/freeze.js';
import type { CommandJob, PromoteJob } from '../queue/jobs.js';
import { Deadline, enqueueOutcome } from './deadline.js';

/** The fields of Slack's slash-command payload the bot uses (the edge checked their shape). */
export interface SlashCommandPayload {
  command: string;
  text: string;
  user_id: string;
  user_name?: string;
  channel_id: string;
  trigger_id: string;
  response_url?: string;
}

export interface CommandReply {
  response_type: 'ephemeral' | 'in_channel';
  text: string;
}

export interface CommandQueue {
  /** Adds the job under `jobId`; a second add with the same id is a no-op ('duplicate'). */
  add(job: CommandJob, jobId: string): Promise<'queued' | 'duplicate'>;
}

export interface CommandDeps {
  config: Pick<Config, 'access' | 'kargo' | 'slack'> & { approvals?: { enabled: boolean } };
  queue: CommandQueue;
  audit: AuditSink;
  groups: {
    groupsOf(userId: string, groupIds: readonly string[]): Promise<string[]>;
    members?(groupIds: readonly string[]): Promise<Map<string, string[]>>;
  };
  logger: Logger;
  now?: () => Date;
  /** Budget for all work before the ack (ms). Default 2,000: Slack allows 3,000 including the network. */
  budgetMs?: number;
}

const ephemeral = (text: string): CommandReply => ({ response_type: 'ephemeral', text });

const requestIdFor = (kind: string, triggerId: string): string =>
  `${kind}-${createHash('sha256').update(triggerId).digest('hex').slice(0, 16)}`;

export async function handleSlashCommand(
  payload: SlashCommandPayload,
  deps: CommandDeps,
): Promise<CommandReply> {
  const deadline = new Deadline(deps.budgetMs ?? 2_000);
  try {
    return await answerSlashCommand(payload, deps, deadline);
  } finally {
    deadline.close();
  }
}

async function answerSlashCommand(
  payload: SlashCommandPayload,
  deps: CommandDeps,
  deadline: Deadline,
): Promise<CommandReply> {
  const now = (deps.now ?? (() => new Date()))();
  const name = payload.command as SlashCommand;
  if (!SLASH_COMMANDS.includes(name)) {
    return ephemeral(`I don't know ${payload.command}. Try ${SLASH_COMMANDS.join(', ')} with \`help\`.`);
  }
  const parsed = parseCommand(name, payload.text ?? '');
  if (!parsed.ok) return ephemeral(parsed.message);
  const command = parsed.command;
  const actor: Actor = {
    slackUserId: payload.user_id,
    ...(payload.user_name ? { slackUserName: payload.user_name } : {}),
  };
  const reply = {
    channelId: payload.channel_id,
    ...(payload.response_url ? { responseUrl: payload.response_url } : {}),
  };

  /** Enqueues; turns every failure into the truthful answer. */
  const enqueue = async (
    job: CommandJob,
    jobId: string,
    accepted: (outcome: 'queued' | 'duplicate') => string,
  ): Promise<CommandReply> => {
    try {
      const outcome = await deadline.run(deps.queue.add(job, jobId), 'queue');
      return ephemeral(accepted(outcome));
    } catch (error) {
      const outcome = enqueueOutcome(error);
      deps.logger.error(
        { err: error, command: payload.command, outcome },
        'slash command could not be confirmed as queued',
      );
      return ephemeral(
        outcome === 'not-sent'
          ? ':warning: I could not queue that right now (the queue is unreachable). Nothing was started — please try again in a minute.'
          : `:hourglass: I could not confirm that \`${payload.command} ${payload.text.trim()}\` was queued: the queue answered too slowly. ` +
              `It may still run. Before trying again, look for its card in <#${deps.config.slack.channels.deployments}> or ask \`/status\`; ` +
              'sending it again is safe (a second request for the same freight joins the first).',
      );
    }
  };

  const denied = async (
    action: string,
    environment: Environment | undefined,
    detail: string,
  ): Promise<void> => {
    // Recorded before the user is told; a slow Redis costs the record, never the answer (logged).
    await deadline
      .run(
        deps.audit.append(
          commandAudit({
            id: `cmd:${payload.trigger_id}:denied`,
            at: now.toISOString(),
            actor,
            command: action,
            ...(environment ? { environment } : {}),
            outcome: 'denied',
            detail,
            channelId: payload.channel_id,
          }),
        ),
        'audit',
      )
      .catch((err: unknown) => deps.logger.error({ err }, 'could not audit a denied command'));
  };

  /** Access check with the actor's cached user groups; undefined when the check itself failed. */
  const decide = async (
    action: AccessAction,
    environment: Environment,
  ): Promise<{ allowed: true; actor: Actor } | { allowed: false; reason: string } | undefined> => {
    const configured = deps.config.access[action][environment].groups;
    try {
      const groupIds = await deadline.run(deps.groups.groupsOf(actor.slackUserId, configured), 'user groups');
      const withGroups: Actor = { ...actor, groupIds };
      const result = authorize(deps.config.access, action, environment, withGroups);
      return result.allowed
        ? { allowed: true, actor: withGroups }
        : { allowed: false, reason: result.reason };
    } catch (error) {
      deps.logger.error({ err: error }, 'could not read user groups before the ack');
      return undefined;
    }
  };
  const cannotCheck = ephemeral(
    ':warning: I could not check your permissions right now (the bot’s store is unreachable). Nothing was started — please try again in a minute.',
  );

  switch (command.kind) {
    case 'help':
      return ephemeral(helpText(command.command));
    case 'freight':
      return enqueue(
        {
          kind: 'freight',
          requestId: requestIdFor('freight', payload.trigger_id),
          limit: command.limit,
          share: command.share,
          actor,
          reply,
        },
        requestIdFor('freight', payload.trigger_id),
        () => ':mag: Looking up freight…',
      );
    case 'promote':
    case 'rollback':
      return promote(command);
    case 'freeze':
    case 'unfreeze':
      return freeze(command);
    // Read-only, like /freight: anyone in the workspace may look.
    case 'status': {
      const requestId = requestIdFor('status', payload.trigger_id);
      return enqueue(
        { kind: 'status', requestId, share: command.share, actor, reply },
        requestId,
        () => ':mag: Looking up the state of dev and prod…',
      );
    }
    case 'unlock':
      return enqueue(
        {
          kind: 'unlock',
          requestId: requestIdFor('unlock', payload.trigger_id),
          environment: command.environment,
          actor,
          reply,
        },
        requestIdFor('unlock', payload.trigger_id),
        () => `:lock: Looking up the Terraform state lock of *${command.environment}*…`,
      );
    case 'approve':
    case 'approve-link': {
      // The worker checks approver lists and four-eyes against the card and GitHub, and answers through
      // response_url; every attempt is audited there.
      const requestId = requestIdFor('approve', payload.trigger_id);
      const target = command.kind === 'approve' ? command.target : undefined;
      return enqueue(
        {
          kind: 'approve',
          requestId,
          ...(target ? { target } : {}),
          link: command.kind === 'approve-link',
          actor,
          reply,
        },
        requestId,
        () =>
          command.kind === 'approve-link'
            ? ':link: Starting the GitHub account link…'
            : target
              ? `:hourglass_flowing_sand: Checking the approval of *${target}*…`
              : ':mag: Looking up what waits for approval…',
      );
    }
    case 'cancel': {
      // Who may cancel depends on the promotion (its requester, or an approver): the worker decides.
      const requestId = requestIdFor('cancel', payload.trigger_id);
      return enqueue(
        {
          kind: 'cancel',
          requestId,
          via: 'command',
          target: command.target,
          ...(command.reason ? { reason: command.reason } : {}),
          actor,
          reply,
        },
        requestId,
        () => `:octagonal_sign: Stopping *${command.target}*…`,
      );
    }
    // Read-only views anyone in the workspace may ask for (like /freight); the worker answers.
    case 'drift': {
      const requestId = requestIdFor('drift', payload.trigger_id);
      const environment = command.environment;
      return enqueue(
        { kind: 'drift', requestId, ...(environment ? { environment } : {}), actor, reply },
        requestId,
        () => `:mag: Looking up the latest drift check${environment ? ` of *${environment}*` : ''}…`,
      );
    }
    case 'stats': {
      const requestId = requestIdFor('stats', payload.trigger_id);
      return enqueue(
        { kind: 'stats', requestId, days: command.days, actor, reply },
        requestId,
        () => `:bar_chart: Computing the delivery metrics of the last ${command.days} days…`,
      );
    }
    // The full record of a promotion, for whoever can see #infra-audit: asked from inside it (the worker
    // checks again, src/worker/audit-record.ts).
    case 'audit': {
      const auditChannel = deps.config.slack.channels.audit;
      if (payload.channel_id !== auditChannel) return ephemeral(auditAccessRefusal(auditChannel));
      const requestId = requestIdFor('audit', payload.trigger_id);
      return enqueue(
        { kind: 'audit-record', requestId, via: 'command', target: command.target, page: 1, actor, reply },
        requestId,
        () => `:scroll: Looking up the audit record of *${command.target}*…`,
      );
    }
  }

  /** /promote and /rollback: the same access rules, four-eyes and job; a rollback names no freight or `to`. */
  async function promote(
    cmd: Extract<ParsedCommand, { kind: 'promote' } | { kind: 'rollback' }>,
  ): Promise<CommandReply> {
    const rollback = cmd.kind === 'rollback';
    const typed = `${payload.command} ${payload.text.trim()}`;
    const decision = await decide('promote', cmd.environment);
    if (!decision) return cannotCheck;
    const freight: PromoteJob['freight'] = rollback ? (cmd.to ?? { by: 'previous' }) : cmd.freight;
    const what =
      freight.by === 'latest'
        ? 'the latest freight'
        : freight.by === 'previous'
          ? 'the previous verified freight'
          : `freight ${freight.value}`;
    if (!decision.allowed) {
      await denied(cmd.kind, cmd.environment, `${typed}: ${decision.reason}`);
      return ephemeral(
        `:no_entry: You can't ${rollback ? 'roll back' : 'promote to'} *${cmd.environment}*: ${decision.reason}`,
      );
    }
    let actorWithGroups = decision.actor;
    if (cmd.override) {
      // Only an approver of the environment may go through its freeze; the worker trusts the job on this.
      const approver = await decide('approve', cmd.environment);
      if (!approver) return cannotCheck;
      if (!approver.allowed) {
        const why = `only approvers of ${cmd.environment} can override a change freeze`;
        await denied(`${cmd.kind}.override`, cmd.environment, `${typed}: ${why}`);
        return ephemeral(`:no_entry: You can't use \`override\`: ${why}.`);
      }
      actorWithGroups = {
        ...decision.actor,
        groupIds: [...new Set([...(decision.actor.groupIds ?? []), ...(approver.actor.groupIds ?? [])])],
      };
    }
    const refusal = await fourEyesRefusal(cmd.environment);
    if (refusal) {
      await denied(cmd.kind, cmd.environment, `${typed}: ${refusal}`);
      return ephemeral(`:no_entry: ${refusal}`);
    }
    const cardId = cardIdForRequest(payload.trigger_id);
    return enqueue(
      {
        kind: 'promote',
        cardId,
        environment: cmd.environment,
        stage: deps.config.kargo.stages[cmd.environment],
        freight,
        ...(rollback ? { rollback: true } : {}),
        ...(cmd.override ? { override: cmd.override } : {}),
        actor: actorWithGroups,
        reply,
        requestedAt: now.toISOString(),
      },
      cardId,
      (outcome) =>
        `${rollback ? ':rewind: Rollback' : ':rocket: Promotion'} of ${what} to *${cmd.environment}* is queued${
          outcome === 'duplicate' ? ' (already queued — this request was received before)' : ''
        }. Its card will appear in <#${deps.config.slack.channels.deployments}>; I'll reply here with the promotion's name and a link.`,
    );
  }

  /** /freeze and /unfreeze: approvers of the environment. The worker keeps the freeze and tells the channel. */
  async function freeze(
    cmd: Extract<ParsedCommand, { kind: 'freeze' } | { kind: 'unfreeze' }>,
  ): Promise<CommandReply> {
    const typed = `${payload.command} ${payload.text.trim()}`;
    const decision = await decide('approve', cmd.environment);
    if (!decision) return cannotCheck;
    if (!decision.allowed) {
      const why = `only approvers of ${cmd.environment} can ${cmd.kind} it`;
      await denied(cmd.kind, cmd.environment, `${typed}: ${why}`);
      return ephemeral(`:no_entry: You can't ${cmd.kind} *${cmd.environment}*: ${why}.`);
    }
    const stage = deps.config.kargo.stages[cmd.environment];
    const requestId = requestIdFor(cmd.kind, payload.trigger_id);
    if (cmd.kind === 'unfreeze') {
      return enqueue(
        { kind: 'unfreeze', requestId, environment: cmd.environment, stage, actor: decision.actor, reply },
        requestId,
        () => `:sunny: Ending the change freeze of *${cmd.environment}*…`,
      );
    }
    const end = freezeUntil(cmd.end, now);
    if ('problem' in end)
      return ephemeral(`:warning: No freeze was started: ${end.problem}.\n${usage('/freeze')}`);
    return enqueue(
      {
        kind: 'freeze',
        requestId,
        environment: cmd.environment,
        stage,
        reason: cmd.reason,
        until: end.until.toISOString(),
        open: cmd.end.kind === 'default',
        actor: decision.actor,
        reply,
      },
      requestId,
      () => `:snowflake: Freezing *${cmd.environment}*…`,
    );
  }

  /**
   * Prod with bot-run approvals: refused up front when nobody but the requester could approve it (four-eyes
   * would leave it waiting forever). Undefined when someone else can.
   */
  async function fourEyesRefusal(environment: Environment): Promise<string | undefined> {
    if (environment !== 'prod' || !deps.config.approvals?.enabled || !deps.groups.members) return undefined;
    const approvers = deps.config.access.approve.prod;
    let members: Map<string, string[]>;
    try {
      members = await deadline.run(deps.groups.members(approvers.groups), 'approver groups');
    } catch (error) {
      // Unknown membership: let the request through; the worker and the approval card still apply four-eyes.
      deps.logger.warn({ err: error }, 'could not read approver groups before the ack');
      return undefined;
    }
    if (otherApprovers(approvers, members, actor.slackUserId).length > 0) return undefined;
    return (
      'Nobody but you could approve this prod promotion (four-eyes: the requester cannot approve their own), so it would wait forever. ' +
      'Ask someone else on the prod approver list to promote it, or a platform admin to add a second approver.'
    );
  }
}
