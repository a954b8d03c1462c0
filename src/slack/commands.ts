// Slash commands at the edge: parse → authorize → enqueue → reply. Everything here finishes well within
// Slack's 3-second ack budget: no Kargo or Slack call, only a Redis read (group cache) and a queue add,
// each bounded by a timeout. The slow work happens in the worker, which answers through response_url.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { authorize, type AccessAction } from '../domain/access.js';
import { commandAudit } from '../domain/audit-records.js';
import { cardIdForRequest } from '../domain/card.js';
import {
  SLASH_COMMANDS,
  helpText,
  parseCommand,
  type ParsedCommand,
  type SlashCommand,
} from '../domain/commands.js';
import type { Actor, Environment } from '../domain/types.js';
import type { Config } from '../config/load.js';
import type { AuditSink } from '../cards/service.js';
import type { CommandJob } from '../queue/jobs.js';

/** The fields of Slack's slash-command payload the bot uses. */
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
  config: Pick<Config, 'access' | 'kargo' | 'slack'>;
  queue: CommandQueue;
  audit: AuditSink;
  groups: { groupsOf(userId: string, groupIds: readonly string[]): Promise<string[]> };
  logger: Logger;
  now?: () => Date;
  /** Budget for Redis work before the ack (ms). */
  budgetMs?: number;
}

const ephemeral = (text: string): CommandReply => ({ response_type: 'ephemeral', text });

class BudgetExceeded extends Error {}

function withinBudget<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BudgetExceeded(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function handleSlashCommand(
  payload: SlashCommandPayload,
  deps: CommandDeps,
): Promise<CommandReply> {
  const now = (deps.now ?? (() => new Date()))();
  const budget = deps.budgetMs ?? 2_000;
  const name = payload.command as SlashCommand;
  if (!SLASH_COMMANDS.includes(name)) {
    return ephemeral(
      `I don't know ${payload.command}. Try /freight, /promote, /approve or /unlock with \`help\`.`,
    );
  }
  const parsed = parseCommand(name, payload.text ?? '');
  if (!parsed.ok) return ephemeral(parsed.message);
  const command = parsed.command;
  const actor: Actor = {
    slackUserId: payload.user_id,
    ...(payload.user_name ? { slackUserName: payload.user_name } : {}),
  };

  try {
    switch (command.kind) {
      case 'help':
        return ephemeral(helpText(command.command));
      case 'freight':
        return await enqueueFreight(command, payload, actor, deps, budget);
      case 'promote':
        return await enqueuePromote(command, payload, actor, deps, now, budget);
      case 'unlock':
        return await enqueueUnlock(command, payload, actor, deps, budget);
      case 'approve':
      case 'approve-link':
        return await enqueueApprove(command, payload, actor, deps, budget);
      default:
        return ephemeral(
          `${payload.command} ${payload.text} is not available yet in this version of the bot.`,
        );
    }
  } catch (error) {
    deps.logger.error({ err: error, command: payload.command }, 'slash command could not be queued');
    return ephemeral(
      ':warning: I could not queue that right now (the queue is unreachable). Nothing was started — please try again in a minute.',
    );
  }

  async function audited(
    action: string,
    environment: Environment | undefined,
    outcome: 'accepted' | 'denied',
    detail: string,
  ): Promise<void> {
    await withinBudget(
      deps.audit.append(
        commandAudit({
          id: `cmd:${payload.trigger_id}:${outcome}`,
          at: now.toISOString(),
          actor,
          command: action,
          ...(environment ? { environment } : {}),
          outcome,
          detail,
          channelId: payload.channel_id,
        }),
      ),
      budget,
    );
  }

  async function enqueuePromote(
    cmd: Extract<ParsedCommand, { kind: 'promote' }>,
    p: SlashCommandPayload,
    who: Actor,
    d: CommandDeps,
    at: Date,
    ms: number,
  ): Promise<CommandReply> {
    const decision = await decide(d, 'promote', cmd.environment, who, ms);
    const what = cmd.freight.by === 'latest' ? 'the latest freight' : `freight ${cmd.freight.value}`;
    if (!decision.allowed) {
      await audited('promote', cmd.environment, 'denied', `/promote ${p.text.trim()}: ${decision.reason}`);
      return ephemeral(`:no_entry: You can't promote to *${cmd.environment}*: ${decision.reason}`);
    }
    const cardId = cardIdForRequest(p.trigger_id);
    const outcome = await withinBudget(
      d.queue.add(
        {
          kind: 'promote',
          cardId,
          environment: cmd.environment,
          stage: d.config.kargo.stages[cmd.environment],
          freight: cmd.freight,
          actor: decision.actor,
          reply: { channelId: p.channel_id, ...(p.response_url ? { responseUrl: p.response_url } : {}) },
          requestedAt: at.toISOString(),
        },
        cardId,
      ),
      ms,
    );
    await audited('promote', cmd.environment, 'accepted', `/promote ${p.text.trim()} queued as ${cardId}`);
    const again = outcome === 'duplicate' ? ' (already queued — this request was received before)' : '';
    return ephemeral(
      `:rocket: Promotion of ${what} to *${cmd.environment}* is queued${again}. Its card will appear in <#${d.config.slack.channels.deployments}>; I'll reply here with the promotion's name and a link.`,
    );
  }

  async function enqueueApprove(
    cmd: Extract<ParsedCommand, { kind: 'approve' | 'approve-link' }>,
    p: SlashCommandPayload,
    who: Actor,
    d: CommandDeps,
    ms: number,
  ): Promise<CommandReply> {
    // The worker checks approver lists and four-eyes against the card and GitHub, and answers through
    // response_url; every attempt is audited there.
    const requestId = `approve-${createHash('sha256').update(p.trigger_id).digest('hex').slice(0, 16)}`;
    const target = cmd.kind === 'approve' ? cmd.target : undefined;
    await withinBudget(
      d.queue.add(
        {
          kind: 'approve',
          requestId,
          ...(target ? { target } : {}),
          link: cmd.kind === 'approve-link',
          actor: who,
          reply: { channelId: p.channel_id, ...(p.response_url ? { responseUrl: p.response_url } : {}) },
        },
        requestId,
      ),
      ms,
    );
    return ephemeral(
      cmd.kind === 'approve-link'
        ? ':link: Starting the GitHub account link…'
        : target
          ? `:hourglass_flowing_sand: Checking the approval of *${target}*…`
          : ':mag: Looking up what waits for approval…',
    );
  }

  async function enqueueUnlock(
    cmd: Extract<ParsedCommand, { kind: 'unlock' }>,
    p: SlashCommandPayload,
    who: Actor,
    d: CommandDeps,
    ms: number,
  ): Promise<CommandReply> {
    // Access is decided by the worker, which also reads the lock and the runs: the reply (the lock, a
    // refusal, or the Confirm button for those allowed) comes through response_url, and every view is audited.
    const requestId = `unlock-${createHash('sha256').update(p.trigger_id).digest('hex').slice(0, 16)}`;
    await withinBudget(
      d.queue.add(
        {
          kind: 'unlock',
          requestId,
          environment: cmd.environment,
          actor: who,
          reply: { channelId: p.channel_id, ...(p.response_url ? { responseUrl: p.response_url } : {}) },
        },
        requestId,
      ),
      ms,
    );
    return ephemeral(`:lock: Looking up the Terraform state lock of *${cmd.environment}*…`);
  }

  async function enqueueFreight(
    cmd: Extract<ParsedCommand, { kind: 'freight' }>,
    p: SlashCommandPayload,
    who: Actor,
    d: CommandDeps,
    ms: number,
  ): Promise<CommandReply> {
    const requestId = `freight-${createHash('sha256').update(p.trigger_id).digest('hex').slice(0, 16)}`;
    await withinBudget(
      d.queue.add(
        {
          kind: 'freight',
          requestId,
          limit: cmd.limit,
          share: cmd.share,
          actor: who,
          reply: { channelId: p.channel_id, ...(p.response_url ? { responseUrl: p.response_url } : {}) },
        },
        requestId,
      ),
      ms,
    );
    return ephemeral(':mag: Looking up freight…');
  }
}

async function decide(
  deps: CommandDeps,
  action: AccessAction,
  environment: Environment,
  actor: Actor,
  ms: number,
): Promise<{ allowed: true; actor: Actor } | { allowed: false; reason: string }> {
  const configuredGroups = deps.config.access[action][environment].groups;
  const groupIds = await withinBudget(deps.groups.groupsOf(actor.slackUserId, configuredGroups), ms);
  const withGroups: Actor = { ...actor, groupIds };
  const result = authorize(deps.config.access, action, environment, withGroups);
  return result.allowed ? { allowed: true, actor: withGroups } : { allowed: false, reason: result.reason };
}
