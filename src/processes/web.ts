// The web process: Slack requests in (HTTP or Socket Mode), GitHub webhooks in, jobs out. It holds no
// Kargo or GitHub credentials and does no slow I/O before acknowledging Slack.
import { createHash, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { AuditLog } from '../audit/stream.js';
import type { Config } from '../config/load.js';
import { commandAudit } from '../domain/audit-records.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { COMMAND_JOB_OPTIONS, COMMAND_QUEUE, type CommandJob } from '../queue/jobs.js';
import { GITHUB_EVENTS_QUEUE } from '../queue/github.js';
import { createRedis } from '../queue/connection.js';
import { startSlackApp } from '../slack/app.js';
import { GroupDirectory } from '../slack/groups.js';
import { buildRoutes } from '../web/routes.js';
import { CardStore } from '../cards/store.js';
import { handleApprovalClick } from '../approvals/handlers.js';
import {
  REJECT_REASON_BLOCK_ID,
  reasonFromViewState,
  rejectReasonProblem,
} from '../domain/render-approval.js';
import { createApprovalStack } from './approvals.js';

export interface RunningProcess {
  port: number;
  stop(): Promise<void>;
}

export async function startWeb(
  config: Config,
  logger: Logger,
  options: { port?: number; metrics?: Metrics } = {},
): Promise<RunningProcess> {
  const metrics = options.metrics ?? createMetrics('web');
  const redis = createRedis(config.redis.url, 'producer', `${config.redis.prefix}-web`);
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error (web)'));
  const prefix = config.redis.prefix;
  const commands = new Queue(COMMAND_QUEUE, {
    connection: redis,
    prefix,
    defaultJobOptions: COMMAND_JOB_OPTIONS,
  });
  const githubEvents = new Queue(GITHUB_EVENTS_QUEUE, {
    connection: redis,
    prefix,
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: 'exponential', delay: 2000 },
      removeOnComplete: { age: 3 * 24 * 3600 },
    },
  });
  const audit = new AuditLog({ connection: redis, prefix });
  const groups = new GroupDirectory(redis, prefix);

  const auditRejected = (source: string, reason: string, ref?: string): Promise<void> =>
    audit
      .append(
        commandAudit({
          id: `rejected:${source}:${ref ?? randomUUID()}`,
          at: new Date().toISOString(),
          actor: 'system',
          command: `auth.${source}`,
          outcome: 'denied',
          detail: `${source === 'slack' ? 'Slack' : 'GitHub'} request rejected: ${reason}`,
        }),
      )
      .then(() => undefined)
      .catch((err: unknown) => logger.error({ err }, 'could not audit a rejected request'));

  const routes = buildRoutes({
    logger,
    metrics,
    ready: async () => (await redis.ping()) === 'PONG',
    ...(config.github.webhookSecret
      ? {
          github: {
            secret: config.github.webhookSecret,
            accept: async (delivery) => {
              const existed = await githubEvents.getJob(delivery.deliveryId);
              await githubEvents.add(delivery.event, delivery, { jobId: delivery.deliveryId });
              return existed ? 'duplicate' : 'queued';
            },
            rejected: (reason, deliveryId) => auditRejected('github', reason, deliveryId),
          },
        }
      : {}),
  });

  // The Reject dialog opens here (Slack's trigger_id lives 3 s); decisions themselves are the worker's.
  const store = new CardStore(redis, config.redis.prefix);
  const approvals = createApprovalStack({
    config,
    redis,
    logger,
    audit,
    groupsOf: (userId, groupIds) => groups.groupsOf(userId, groupIds),
    cards: {
      load: (cardId) => store.load(cardId),
      record: async () => {
        throw new Error('approval decisions are recorded by the worker');
      },
    },
  });
  const addJob = async (job: CommandJob, jobId: string): Promise<'queued' | 'duplicate'> => {
    // A custom jobId makes a second add a no-op while the job is kept (7 days): Slack retries and
    // double clicks enqueue once. getJob first only to tell the user which case it was.
    const existed = await commands.getJob(jobId);
    await commands.add(job.kind, job, { jobId });
    metrics.slashCommands.inc({ command: job.kind, outcome: existed ? 'duplicate' : 'queued' });
    return existed ? 'duplicate' : 'queued';
  };
  const actorOf = async (user: { id: string; name?: string; username?: string }) => ({
    slackUserId: user.id,
    ...(user.username || user.name ? { slackUserName: user.username ?? user.name } : {}),
    groupIds: await groups.groupsOf(user.id, [
      ...config.access.approve.dev.groups,
      ...config.access.approve.prod.groups,
    ]),
  });

  const app = await startSlackApp(
    {
      config,
      logger,
      metrics,
      routes,
      rejectPrompt: {
        click: async (payload) => {
          const reply = await handleApprovalClick(
            {
              actionValue: payload.actions[0]?.value ?? null,
              actor: await actorOf(payload.user),
              decision: 'rejected',
              ...(payload.channel?.id ? { channelId: payload.channel.id } : {}),
              ...(payload.trigger_id ? { requestId: payload.trigger_id } : {}),
            },
            approvals.deps,
          );
          return { ...(reply.modal ? { modal: reply.modal } : {}), message: { text: reply.message.text } };
        },
        submit: async (view, user) => {
          const reason = reasonFromViewState(view.state);
          const problem = rejectReasonProblem(reason);
          if (problem) return { errors: { [REJECT_REASON_BLOCK_ID]: problem } };
          const requestId = `reject-${createHash('sha256').update(view.id).digest('hex').slice(0, 16)}`;
          await addJob(
            {
              kind: 'reject-submission',
              requestId,
              viewPrivateMetadata: view.private_metadata ?? null,
              reason: reason ?? '',
              actor: await actorOf(user),
            },
            requestId,
          );
          return { ok: true };
        },
      },
      onRejectedRequest: (reason) => void auditRejected('slack', reason),
      commands: {
        config,
        audit,
        groups,
        logger,
        queue: { add: addJob },
      },
    },
    options.port ?? config.http.port,
  );

  return {
    port: app.port,
    stop: async () => {
      await app.stop();
      await approvals.close();
      await commands.close();
      await githubEvents.close();
      redis.disconnect();
    },
  };
}
