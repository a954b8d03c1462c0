// The Bolt app: a thin edge. In HTTP mode it does not listen itself: the web process's edge
// (src/web/edge.ts) reads the body within its bounds, verifies Slack's signature (±5 min), checks and parses
// the payload once, and hands the parsed body to the app through its receiver (`dispatch`,
// src/slack/edge-receiver.ts). `dispatch` is reachable only through the edge, so nothing verifies, reads or
// parses a request a second time (Bolt's HTTPReceiver did all three: ~8 % of the ack path's CPU for the
// second signature check at 1,000/s, 2.5 % for the second parse). In Socket Mode
// Bolt holds the websocket. Each slash command goes to handleSlashCommand, and is acked with its reply.
import type { ServerResponse } from 'node:http';
import {
  App,
  LogLevel,
  type AllMiddlewareArgs,
  type Logger as BoltLogger,
  type SlackActionMiddlewareArgs,
} from '@slack/bolt';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { Metrics } from '../metrics.js';
import { REJECT_ACTION_ID } from '../domain/approval.js';
import {
  RELEASE_HOLD_ACTION_ID,
  parseReleaseHoldValue,
  releaseHoldCommandText,
} from '../domain/hold-release.js';
import { REJECT_REASON_CALLBACK_ID, type SlackModalView } from '../domain/render-approval.js';
import { handleBlockAction, type BlockActionPayload } from './actions.js';
import { SLASH_COMMANDS } from '../domain/commands.js';
import { handleSlashCommand, type CommandDeps } from './commands.js';
import { EdgeReceiver, type SlackDelivery } from './edge-receiver.js';

export interface SlackAppOptions {
  config: Pick<Config, 'slack'>;
  logger: Logger;
  metrics: Metrics;
  commands: CommandDeps;
  /**
   * Reject on a card asks for a reason in a dialog, which must open within Slack's 3-second trigger_id
   * window: answered here (Redis only). Absent: Reject clicks are answered with a message instead.
   */
  rejectPrompt?: {
    click(payload: BlockActionPayload): Promise<{ modal?: SlackModalView; message: { text: string } }>;
    submit(
      view: { id: string; private_metadata?: string; state?: unknown },
      user: { id: string; name?: string },
    ): Promise<{ errors: Record<string, string> } | { ok: true }>;
  };
}

export interface RunningSlackApp {
  app: App;
  /** HTTP mode: ONLY for requests the edge has read, verified and parsed. */
  dispatch?: (delivery: SlackDelivery, res: ServerResponse) => void;
  stop(): Promise<void>;
}

/** Bolt speaks its own Logger interface; route it into pino so every line is structured and scrubbed. */
function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  let level: LogLevel = LogLevel.INFO;
  return {
    debug: (...msg: unknown[]) => child.debug(msg.map(String).join(' ')),
    info: (...msg: unknown[]) => child.info(msg.map(String).join(' ')),
    warn: (...msg: unknown[]) => child.warn(msg.map(String).join(' ')),
    error: (...msg: unknown[]) => child.error(msg.map(String).join(' ')),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** Every slash command the bot knows (domain/commands.ts); the handler answers unknown ones itself. */
const SLASH_COMMAND_NAMES = new RegExp(`^(${SLASH_COMMANDS.map((c) => c.replace('/', '\\/')).join('|')})$`);

export async function startSlackApp(options: SlackAppOptions): Promise<RunningSlackApp> {
  const { config, logger } = options;
  const log = boltLogger(logger);
  const clientOptions = config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {};
  // Both ids known: Bolt needs no auth.test call before handling the first request.
  const identity =
    config.slack.botUserId && config.slack.botId
      ? { botUserId: config.slack.botUserId, botId: config.slack.botId }
      : {};

  if (config.slack.mode === 'http') {
    // Ack first, work later: ack() answers at once and the listener's work goes on to the queue.
    const receiver = new EdgeReceiver(logger.child({ component: 'bolt' }));
    const app = new App({
      token: config.slack.botToken,
      receiver,
      logger: log,
      clientOptions,
      // The bot keeps no conversation state; Bolt's default in-memory store would be asked on every
      // request with a channel and answer each miss with a new Error (~2.6 % of the ack path).
      convoStore: false,
      ...identity,
    });
    registerListeners(app, options);
    logger.info({ mode: 'http' }, 'slack app ready');
    return {
      app,
      dispatch: (delivery, res) => receiver.dispatch(delivery, res),
      stop: async () => undefined,
    };
  }
  const app = new App({
    token: config.slack.botToken,
    appToken: config.slack.appToken ?? '',
    socketMode: true,
    logger: log,
    convoStore: false,
    clientOptions,
    ...identity,
  });
  registerListeners(app, options);
  await app.start();
  logger.info({ mode: 'socket' }, 'slack app connected');
  return { app, stop: () => app.stop().then(() => undefined) };
}

function registerListeners(app: App, options: SlackAppOptions): void {
  const { commands, metrics, logger } = options;
  app.command(SLASH_COMMAND_NAMES, async ({ command, ack }) => {
    const started = process.hrtime.bigint();
    const reply = await handleSlashCommand(command, commands);
    await ack(reply);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.ackSeconds.observe({ command: command.command }, seconds);
    logger.info({ command: command.command, user: command.user_id, seconds }, 'slash command acknowledged');
  });
  // One listener per kind of request: Bolt runs every listener's middleware chain for every request (an
  // argument object copied per step), so each one registered costs all traffic, slash commands included.
  // Clicks are routed by action id here instead (clickHandlers below).
  const clicks = clickHandlers(options);
  app.action(/.*/, async (args) => {
    const actionId = (args.action as { action_id?: string }).action_id;
    const handle =
      actionId === REJECT_ACTION_ID
        ? clicks.reject
        : actionId === RELEASE_HOLD_ACTION_ID
          ? clicks.releaseHold
          : clicks.other;
    await handle(args);
  });
  app.view(REJECT_REASON_CALLBACK_ID, async ({ ack, body, view }) => {
    if (!options.rejectPrompt) return ack();
    const result = await options.rejectPrompt.submit(view, { id: body.user.id, name: body.user.name });
    if ('errors' in result) await ack({ response_action: 'errors', errors: result.errors });
    else await ack();
  });
  // The Home tab shows the status view: the worker renders it and publishes it with views.publish. One
  // job per user per 10 s however often the tab is opened (the job id dedupes).
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home' || typeof event.user !== 'string' || !/^[UW][A-Z0-9]{2,}$/.test(event.user))
      return;
    const requestId = `home-${event.user}-${Math.floor(Date.now() / 10_000)}`;
    await commands.queue
      .add(
        {
          kind: 'status',
          requestId,
          share: false,
          actor: { slackUserId: event.user },
          homeUserId: event.user,
        },
        requestId,
      )
      .catch((err: unknown) => logger.error({ err }, 'could not queue the Home tab'));
  });
  app.error(async (error) => {
    logger.error({ err: error }, 'bolt listener error');
  });
}

type ClickArgs = SlackActionMiddlewareArgs & AllMiddlewareArgs;

/** What a button click does, by action id. Each acknowledges first: Slack waits 3 s at most. */
function clickHandlers(
  options: SlackAppOptions,
): Record<'reject' | 'releaseHold' | 'other', (args: ClickArgs) => Promise<void>> {
  const { commands, logger } = options;
  return {
    // Reject asks for a reason in a dialog (rejectPrompt), opened while the click's trigger_id is valid.
    reject: async ({ ack, body, client, respond }) => {
      await ack();
      if (body.type !== 'block_actions' || !options.rejectPrompt) return;
      try {
        const answer = await options.rejectPrompt.click(body as unknown as BlockActionPayload);
        if (answer.modal) await client.views.open({ trigger_id: body.trigger_id, view: answer.modal });
        else
          await respond({ response_type: 'ephemeral', replace_original: false, text: answer.message.text });
      } catch (err) {
        logger.error({ err }, 'could not open the reject dialog');
      }
    },
    // "Release hold" (domain/hold-release.ts) is `/promote <environment> <freight>` typed by the clicker:
    // the slash-command handler decides and enqueues, and its answer goes back to the clicker — through the
    // click's response_url, or from the Home tab (which has none) as a direct message.
    releaseHold: async ({ ack, body, client, respond }) => {
      await ack();
      if (body.type !== 'block_actions') return;
      const payload = body as unknown as BlockActionPayload;
      const release = parseReleaseHoldValue(payload.actions[0]?.value);
      if (!release || !payload.trigger_id) {
        logger.warn({ user: payload.user.id }, 'release-hold click with a bad value ignored');
        return;
      }
      try {
        const reply = await handleSlashCommand(
          {
            command: '/promote',
            text: releaseHoldCommandText(release),
            user_id: payload.user.id,
            ...(payload.user.username || payload.user.name
              ? { user_name: payload.user.username ?? payload.user.name }
              : {}),
            channel_id: payload.channel?.id ?? payload.container?.channel_id ?? payload.user.id,
            trigger_id: payload.trigger_id,
            ...(payload.response_url ? { response_url: payload.response_url } : {}),
          },
          commands,
        );
        if (payload.response_url) {
          await respond({ response_type: 'ephemeral', replace_original: false, text: reply.text });
        } else {
          await client.chat.postMessage({ channel: payload.user.id, text: reply.text });
        }
      } catch (err) {
        logger.error({ err }, 'could not answer a release-hold click');
      }
    },
    // Approve, cancel, show resources …: queued for the worker (slack/actions.ts).
    other: async ({ ack, body }) => {
      await ack();
      if (body.type !== 'block_actions') return;
      await handleBlockAction(body as unknown as BlockActionPayload, { queue: commands.queue, logger }).catch(
        (err: unknown) => logger.error({ err }, 'could not queue a button click'),
      );
    },
  };
}
