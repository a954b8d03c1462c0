// The web process: Slack requests in (HTTP or Socket Mode), GitHub webhooks in, jobs out. It holds no
// Kargo or GitHub credentials and does no slow I/O before acknowledging Slack.
//
// Two listeners: the public edge on HOST:PORT (Slack, GitHub, /healthz, /readyz; src/web/edge.ts) and a
// private one on HOST:METRICS_PORT (/metrics, /healthz, /readyz), never to be exposed.
import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { AuditLog } from '../audit/stream.js';
import type { Config } from '../config/load.js';
import { commandAudit } from '../domain/audit-records.js';
import { createMetrics, type Metrics } from '../metrics.js';
import {
  COMMAND_JOB_OPTIONS,
  INTERACTIVE_QUEUE,
  PROMOTIONS_QUEUE,
  laneOf,
  type CommandJob,
  type Lane,
} from '../queue/jobs.js';
import {
  DELIVERY_MARKER_TTL_SECONDS,
  GITHUB_EVENTS_QUEUE,
  GITHUB_EVENT_JOB_OPTIONS,
  deliveryMarkerKey,
} from '../queue/github.js';
import { createRedis } from '../queue/connection.js';
import { retentionFrom } from '../retention.js';
import { startSlackApp } from '../slack/app.js';
import { GroupDirectory } from '../slack/groups.js';
import { CardStore } from '../cards/store.js';
import {
  REJECT_REASON_BLOCK_ID,
  reasonFromViewState,
  rejectReasonProblem,
} from '../domain/render-approval.js';
import { createEdge, DEFAULT_EDGE_LIMITS } from '../web/edge.js';
import { listenHttp } from '../web/listen.js';
import { RefusalTracker } from '../web/refusals.js';
import { privateRoutes } from '../web/routes.js';
import type { ApprovalStack } from './approvals.js';

export interface RunningProcess {
  port: number;
  stop(): Promise<void>;
}

export interface RunningWeb extends RunningProcess {
  /** The private port (/metrics). */
  metricsPort: number;
}

export async function startWeb(
  config: Config,
  logger: Logger,
  options: { port?: number; metricsPort?: number; metrics?: Metrics } = {},
): Promise<RunningWeb> {
  const metrics = options.metrics ?? createMetrics('web');
  const redis = createRedis(config.redis.url, 'producer', `${config.redis.prefix}-web`);
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error (web)'));
  const prefix = config.redis.prefix;
  // One queue per lane (queue/jobs.ts): the worker runs each with its own concurrency.
  const lanes: Record<Lane, Queue> = {
    [PROMOTIONS_QUEUE]: new Queue(PROMOTIONS_QUEUE, {
      connection: redis,
      prefix,
      defaultJobOptions: COMMAND_JOB_OPTIONS,
    }),
    [INTERACTIVE_QUEUE]: new Queue(INTERACTIVE_QUEUE, {
      connection: redis,
      prefix,
      defaultJobOptions: COMMAND_JOB_OPTIONS,
    }),
  };
  const githubEvents = new Queue(GITHUB_EVENTS_QUEUE, {
    connection: redis,
    prefix,
    defaultJobOptions: GITHUB_EVENT_JOB_OPTIONS,
  });
  const retention = retentionFrom(config);
  // As the worker's: the web appends only records without a card today (refusals), which touch no index,
  // but one configuration of retention for every writer keeps it so when that changes.
  const audit = new AuditLog({
    connection: redis,
    prefix,
    idTtlSeconds: retention.cardSeconds,
    indexTtlSeconds: retention.auditSeconds,
  });
  const groups = new GroupDirectory(redis, prefix);
  const refusals = new RefusalTracker({
    counter: metrics.refusedRequests,
    audit,
    logger,
    intervalMs: config.edge.refusalSummarySeconds * 1000,
  });

  // The Reject dialog opens here (Slack's trigger_id lives 3 s); decisions themselves are the worker's.
  // Loaded on the first Reject click: most web processes never need the approvals code (~5 MB).
  const store = new CardStore(redis, config.redis.prefix, { ttlSeconds: retention.cardSeconds });
  let approvals: Promise<ApprovalStack> | undefined;
  const approvalStack = (): Promise<ApprovalStack> =>
    (approvals ??= import('./approvals.js').then(({ createApprovalStack }) =>
      createApprovalStack({
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
      }),
    ));
  const addJob = async (job: CommandJob, jobId: string): Promise<'queued' | 'duplicate'> => {
    // A custom jobId makes a second add a no-op while the job is kept (7 days): Slack retries and
    // double clicks enqueue once. Whether the job was there already only chooses the wording of the
    // reply, so it costs one EXISTS on the job's hash, sent before the add on the same connection (Redis
    // answers in order, so it sees the state before the add) and not awaited first: one round trip per
    // ack, not two, and no job read or parse (the profile in bench/results/ack-profile.md).
    const queue = lanes[laneOf(job.kind)];
    const existed = redis.exists(queue.toKey(jobId)).then(
      (count) => count > 0,
      () => false, // a lookup that failed says nothing about the add; its own outcome decides
    );
    await queue.add(job.kind, job, { jobId });
    const outcome = (await existed) ? 'duplicate' : 'queued';
    metrics.slashCommands.inc({ command: job.kind, outcome });
    return outcome;
  };
  const actorOf = async (user: { id: string; name?: string; username?: string }) => ({
    slackUserId: user.id,
    ...(user.username || user.name ? { slackUserName: user.username ?? user.name } : {}),
    groupIds: await groups.groupsOf(user.id, [
      ...config.access.approve.dev.groups,
      ...config.access.approve.prod.groups,
    ]),
  });

  const slack = await startSlackApp({
    config,
    logger,
    metrics,
    rejectPrompt: {
      click: async (payload) => {
        const [{ handleApprovalClick }, stack] = await Promise.all([
          import('../approvals/handlers.js'),
          approvalStack(),
        ]);
        const reply = await handleApprovalClick(
          {
            actionValue: payload.actions[0]?.value ?? null,
            actor: await actorOf(payload.user),
            decision: 'rejected',
            ...(payload.channel?.id ? { channelId: payload.channel.id } : {}),
            ...(payload.trigger_id ? { requestId: payload.trigger_id } : {}),
          },
          stack.deps,
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
    commands: { config, audit, groups, logger, queue: { add: addJob } },
  });

  const ready = async (): Promise<boolean> => (await redis.ping()) === 'PONG';
  const edge = createEdge({
    logger,
    refusals,
    ready,
    limits: {
      ...DEFAULT_EDGE_LIMITS,
      slackMaxBytes: config.edge.slackMaxBytes,
      githubMaxBytes: config.edge.githubMaxBytes,
      concurrentBodies: config.edge.concurrentBodies,
    },
    ...(slack.dispatch && config.slack.signingSecret
      ? {
          slack: {
            signingSecret: config.slack.signingSecret,
            dispatch: slack.dispatch,
            malformed: (reason, userId) => {
              metrics.slashCommands.inc({ command: 'unknown', outcome: 'invalid' });
              logger.warn({ reason, user: userId }, 'signed Slack request is malformed');
              // Signed by Slack: an authenticated request, so it keeps an individual record when its
              // sender is named (a nameless one is only logged and counted).
              if (userId) {
                void audit
                  .append(
                    commandAudit({
                      id: `malformed:${createHash('sha256').update(`${userId}:${reason}:${Date.now()}`).digest('hex').slice(0, 24)}`,
                      at: new Date().toISOString(),
                      actor: { slackUserId: userId },
                      command: 'slack.request',
                      outcome: 'rejected',
                      detail: `A request from Slack was refused as malformed: ${reason}`,
                    }),
                  )
                  .catch((err: unknown) => logger.warn({ err }, 'could not audit a malformed request'));
              }
            },
          },
        }
      : {}),
    ...(config.github.webhookSecret
      ? {
          github: {
            secret: config.github.webhookSecret,
            accept: async (delivery) => {
              // Queue first, then mark: a crash in between means a redelivery is queued again (the
              // worker is idempotent), never that a delivery is marked but lost. Two copies arriving at
              // once share the job id, which BullMQ keeps unique while the job exists.
              const marker = deliveryMarkerKey(prefix, delivery.deliveryId);
              if ((await redis.exists(marker)) === 1) return 'duplicate';
              await githubEvents.add(delivery.event, delivery, { jobId: delivery.deliveryId });
              await redis.set(marker, '1', 'EX', DELIVERY_MARKER_TTL_SECONDS);
              return 'queued';
            },
          },
        }
      : {}),
    onGithubOutcome: (outcome) =>
      metrics.webhooks.inc({ source: 'github', outcome: outcome === 'refused' ? 'rejected' : outcome }),
  });
  const host = config.http.host;
  const publicServer = await listenHttp(edge, host, options.port ?? config.http.port);
  const privateServer = await listenHttp(
    privateRoutes({ metrics, ready }),
    host,
    options.metricsPort ?? config.http.metricsPort,
  );
  logger.info(
    { host, port: publicServer.port, metricsPort: privateServer.port, slackMode: config.slack.mode },
    'web process listening',
  );

  return {
    port: publicServer.port,
    metricsPort: privateServer.port,
    stop: async () => {
      await publicServer.close();
      await privateServer.close();
      await slack.stop();
      await refusals.close();
      if (approvals) await (await approvals).close();
      await Promise.all(Object.values(lanes).map((q) => q.close()));
      await githubEvents.close();
      redis.disconnect();
    },
  };
}
