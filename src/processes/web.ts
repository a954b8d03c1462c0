// The web process: Slack requests in (HTTP or Socket Mode), GitHub webhooks in, jobs out. It holds no
// Kargo or GitHub credentials and does no slow I/O before acknowledging Slack.
import { randomUUID } from 'node:crypto';
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

  const app = await startSlackApp(
    {
      config,
      logger,
      metrics,
      routes,
      onRejectedRequest: (reason) => void auditRejected('slack', reason),
      commands: {
        config,
        audit,
        groups,
        logger,
        queue: {
          add: async (job: CommandJob, jobId: string) => {
            // A custom jobId makes a second add a no-op while the job is kept (7 days): Slack retries
            // and double clicks enqueue once. getJob first only to tell the user which case it was.
            const existed = await commands.getJob(jobId);
            await commands.add(job.kind, job, { jobId });
            metrics.slashCommands.inc({ command: job.kind, outcome: existed ? 'duplicate' : 'queued' });
            return existed ? 'duplicate' : 'queued';
          },
        },
      },
    },
    options.port ?? config.http.port,
  );

  return {
    port: app.port,
    stop: async () => {
      await app.stop();
      await commands.close();
      await githubEvents.close();
      redis.disconnect();
    },
  };
}
