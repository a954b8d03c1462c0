// The worker process: runs command jobs against Kargo, follows Promotions through the Kargo watch, keeps
// the cards in #infra-deployments current, mirrors the audit stream into #infra-audit, and posts final
// failures to #infra-alerts. Scale it horizontally: every side effect is idempotent.
import { Queue, Worker, type Job } from 'bullmq';
import { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { AuditMirror } from '../audit/mirror.js';
import { AuditLog } from '../audit/stream.js';
import { CardService } from '../cards/service.js';
import { CardStore } from '../cards/store.js';
import type { Config } from '../config/load.js';
import { cardMessageKey } from '../domain/publication.js';
import { createGithubClient } from '../github/client.js';
import { CachedKargoGateway } from '../kargo/cache.js';
import { loadKubeConfig, KubernetesKargoGateway } from '../kargo/client.js';
import type { KargoGateway } from '../kargo/gateway.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { createRedis } from '../queue/connection.js';
import { retentionFrom } from '../retention.js';
import { COMMAND_JOB_OPTIONS, INTERACTIVE_QUEUE, PROMOTIONS_QUEUE, type CommandJob } from '../queue/jobs.js';
import { GroupDirectory } from '../slack/groups.js';
import { SlackNotifier } from '../slack/notifier.js';
import { messageLink } from '../slack/notifier-keys.js';
import { listenHttp } from '../web/listen.js';
import { privateRoutes } from '../web/routes.js';
import { processFreight } from '../worker/freight.js';
import { startKargoSync } from '../worker/kargo-sync.js';
import { startRunFollower, type PollSchedule } from '../worker/github-follow.js';
import { processPromote } from '../worker/promote.js';
import { processUnlock, processUnlockAction, type UnlockJobDeps } from '../worker/unlock.js';
import {
  processApprove,
  processApproveAction,
  processRejectSubmission,
  type ApproveJobDeps,
} from '../worker/approve.js';
import { createApprovalStack } from './approvals.js';
import type { UnlockDeps } from '../locks/handlers.js';
import { createLockService } from '../locks/service.js';
import { githubRunStatus } from '../worker/run-status.js';
import { createResponder } from '../worker/responder.js';
import { createCardPublisher } from '../worker/card-publisher.js';
import { processCancel } from '../worker/cancel.js';
import { processCardDetails } from '../worker/card-details.js';
import { processAuditRecord } from '../worker/audit-record.js';
import { processDrift } from '../worker/drift.js';
import { processStats } from '../worker/stats.js';
import { startDriftFollower, type DriftFollowerOptions } from '../drift/follower.js';
import { DeliveryMetrics } from '../audit/delivery.js';
import { finalizeFailedJob } from '../worker/finalize.js';
import { startCommandLanes, type LaneHandlers } from '../worker/lanes.js';
import { Outages } from '../worker/outages.js';
import { processStopRun, type StopRunJob } from '../worker/run-guard.js';
import { StageFreightLock } from '../worker/stage-lock.js';
import type { RunningProcess } from './web.js';
import { closeWorker } from '../queue/shutdown.js';
import { FreezeStore } from '../worker/freeze-store.js';
import { processFreeze, processFreezeEnd, processUnfreeze, type FreezeDeps } from '../worker/freeze.js';
import { processStatus, type StatusDeps } from '../worker/status.js';

export interface WorkerOptions {
  port?: number;
  metrics?: Metrics;
  /** Injected in tests; built from config otherwise. */
  kargo?: KargoGateway;
  /** How often user-group membership is refreshed from Slack (ms). */
  groupRefreshMs?: number;
  /** Wait for running jobs when stopping (ms); SHUTDOWN_GRACE_SECONDS otherwise. */
  shutdownGraceMs?: number;
  /** Promotions lane concurrency (default PROMOTION_CONCURRENCY). */
  concurrency?: number;
  /** How long a promotion waits out a Kubernetes outage (ms; default PROMOTE_PATIENCE_MINUTES). */
  patienceMs?: number;
  /** Pauses of the promotions lane while Kubernetes is down (tests make them short). */
  outageBackoff?: { baseMs: number; maxMs: number };
  /** Backoff of the run guard's retries (ms). */
  runGuardBackoffMs?: number;
  /** Whether a workflow run is in progress per environment (from GitHub); injected in tests. */
  runStatus?: Pick<UnlockDeps, 'isRunInProgress' | 'recentRuns'>;
  /** GitHub polling cadence and budget (tests make it fast). */
  pollSchedule?: PollSchedule;
  /** Backoff before re-reading late artifacts (ms). */
  artifactBackoffMs?: number;
  /** Pace of each Slack channel queue (default one message per second, Slack's documented rate). */
  slackLimiter?: { max: number; duration: number };
  /** Drift polling and artifact retries (tests make them fast; src/drift/follower.ts has the defaults). */
  drift?: Pick<DriftFollowerOptions, 'pollEveryMs' | 'artifactBackoffMs'>;
  /** How often the delivery metrics are read from the audit stream (ms). Default 5 minutes. */
  deliveryRefreshMs?: number;
}

/** Without GitHub credentials the bot cannot tell whether a run holds the lock: /unlock fails closed. */
const noGithubRunStatus = async (): Promise<never> => {
  throw new Error(
    'GitHub is not configured (GITHUB_APP_* or GITHUB_TOKEN): cannot check for runs in progress',
  );
};

function runStatusFor(
  config: Config,
  logger: Logger,
  injected: WorkerOptions['runStatus'],
): Pick<UnlockDeps, 'isRunInProgress' | 'recentRuns'> {
  if (injected) return injected;
  if (config.github.auth.kind === 'none') return { isRunInProgress: noGithubRunStatus };
  const source = githubRunStatus(config, logger);
  return {
    isRunInProgress: (env) => source.isRunInProgress(env),
    recentRuns: (env) => source.recentRuns(env),
  };
}

export const cardKey = (cardId: string): string => cardMessageKey(cardId);
export { messageLink };

const RUN_GUARD_QUEUE = 'run-guard';

export async function startWorker(
  config: Config,
  logger: Logger,
  options: WorkerOptions = {},
): Promise<RunningProcess> {
  const metrics = options.metrics ?? createMetrics('worker');
  const prefix = config.redis.prefix;
  const redis = createRedis(config.redis.url, 'worker', `${config.redis.prefix}-worker`);
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error (worker)'));

  // Kargo reads come from an informer-style cache (src/kargo/cache.ts); consistent reads and writes go
  // straight to the API. A gateway injected by a test is wrapped the same way.
  const countRequest = (verb: 'list' | 'get' | 'create' | 'patch' | 'update') =>
    metrics.kubernetesRequests.inc({ verb });
  const direct =
    options.kargo ??
    new KubernetesKargoGateway({
      kubeConfig: loadKubeConfig(config.kargo.kubeconfig ? { kubeconfigPath: config.kargo.kubeconfig } : {}),
      project: config.kargo.project,
      logger,
      countRequest,
    });
  const kargoCache =
    direct instanceof KubernetesKargoGateway
      ? new CachedKargoGateway({ gateway: direct, logger }).start()
      : undefined;
  const kargo: KargoGateway = kargoCache ?? direct;
  const retention = retentionFrom(config);
  const notifier = new SlackNotifier({
    connection: redis,
    prefix,
    channels: config.slack.channels,
    slack: { token: config.slack.botToken, ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}) },
    logger,
    recordTtlSeconds: retention.cardSeconds,
    limiter: options.slackLimiter ?? { max: config.queues.slackChannelRate, duration: 1000 },
  });
  const auditLog = new AuditLog({
    connection: redis,
    prefix,
    idTtlSeconds: retention.cardSeconds,
    indexTtlSeconds: retention.auditSeconds,
  });
  const mirror = new AuditMirror({
    connection: redis,
    prefix,
    notifier,
    logger,
    // A line of a promotion links its card and run, and names the card's environment.
    context: async (record) => {
      const card = record.cardId ? await store.load(record.cardId) : undefined;
      const link = card ? await cardUrl(card.id) : undefined;
      return {
        ...(link ? { cardUrl: link } : {}),
        ...(card?.run?.url ? { runUrl: card.run.url } : {}),
        ...(card?.environment ? { environment: card.environment } : {}),
      };
    },
  });
  const store = new CardStore(redis, prefix, { ttlSeconds: retention.cardSeconds });
  // The audit stream is trimmed by age (never by count), hourly and at start; several workers trimming
  // at once is harmless.
  const trimAudit = () =>
    auditLog
      .trim(retention.auditSeconds)
      .then(
        (removed) => removed > 0 && logger.info({ removed }, 'audit records past their retention trimmed'),
      )
      .catch((err: unknown) => logger.warn({ err }, 'audit trim failed'));
  void trimAudit();
  const trimTimer = setInterval(() => void trimAudit(), 3600_000);
  trimTimer.unref();

  /** The card's permalink once it is posted; never waits for Slack's pace. */
  const cardUrl = async (cardId: string): Promise<string | undefined> => {
    const posted = await notifier.lookup('deployments', cardKey(cardId));
    return posted ? messageLink(posted.channel, posted.ts) : undefined;
  };
  // Runs that outlive their promotion are stopped by the run guard (one job per run, retried).
  const runGuardQueue = new Queue<StopRunJob>(RUN_GUARD_QUEUE, { connection: redis, prefix });
  const stopRun = async (cardId: string, runId: number): Promise<void> => {
    await runGuardQueue.add(
      'stop-run',
      { cardId, runId },
      {
        jobId: `stop-run-${runId}`,
        attempts: 5,
        backoff: { type: 'exponential', delay: options.runGuardBackoffMs ?? 5_000 },
        removeOnComplete: { age: 7 * 24 * 3600, count: 1_000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
      },
    );
  };
  const publisher = createCardPublisher({
    store,
    notifier,
    stopRun,
    ...(config.kargo.url ? { kargoUrl: config.kargo.url } : {}),
  });
  const cards = new CardService(store, auditLog, publisher);
  const responder = createResponder(logger);
  // Drift runs (drift.yaml) follow no card: their own follower, fed by the webhook router (src/drift/).
  const drift = startDriftFollower({
    config,
    redis,
    prefix,
    logger,
    notifier,
    audit: auditLog,
    ttlSeconds: retention.cardSeconds,
    ...options.drift,
  });
  // Delivery metrics (DORA) from the audit stream: Prometheus gauges refreshed periodically, and /stats.
  const delivery = new DeliveryMetrics({ audit: auditLog, gauges: metrics.dora, logger });
  delivery.start(options.deliveryRefreshMs ?? 5 * 60_000);
  const outages = new Outages({
    redis,
    prefix,
    logger,
    alerts: {
      upsert: async (key, text) => {
        await notifier.upsert({ channel: 'alerts', key, text });
      },
    },
    ...(options.outageBackoff ? { backoff: options.outageBackoff } : {}),
  });

  const groups = new GroupDirectory(redis, prefix);
  const unlockDeps: UnlockJobDeps = {
    responder,
    groupsOf: (userId, groupIds) => groups.groupsOf(userId, groupIds),
    unlock: {
      locks: createLockService({
        region: config.aws.region,
        ...(config.aws.dynamodbEndpoint ? { dynamodbEndpoint: config.aws.dynamodbEndpoint } : {}),
        ...(config.aws.s3Endpoint ? { s3Endpoint: config.aws.s3Endpoint } : {}),
      }),
      access: config.access,
      ...runStatusFor(config, logger, options.runStatus),
      audit: auditLog,
      redis,
      prefix,
      logger,
    },
  };

  const slackClient = new WebClient(config.slack.botToken, {
    ...(config.slack.apiUrl ? { slackApiUrl: config.slack.apiUrl } : {}),
    retryConfig: { retries: 0 },
  });
  const approvalStack = createApprovalStack({
    config,
    redis,
    logger,
    cards,
    audit: auditLog,
    groupsOf: (userId, groupIds) => groups.groupsOf(userId, groupIds),
    worker: {
      post: (message) =>
        notifier.post({
          channel: 'deployments',
          key: message.key,
          text: message.text,
          blocks: message.blocks,
        }),
      notify: (reply, message) =>
        responder.reply(reply.responseUrl, { text: message.text, blocks: message.blocks }),
      cardUrl,
    },
  });
  const approveDeps: ApproveJobDeps = {
    approvals: approvalStack.deps,
    responder,
    slack: slackClient,
    groupsOf: (userId, groupIds) => groups.groupsOf(userId, groupIds),
  };

  const github = () => createGithubClient(config.github, { logger });
  const runGuard = new Worker<StopRunJob>(
    RUN_GUARD_QUEUE,
    async (job: Job<StopRunJob>) =>
      processStopRun(
        job.data,
        {
          store,
          cards,
          github,
          repo: { owner: config.github.owner, repo: config.github.repo },
          ...(config.approvals.enabled ? { approvalMode: config.approvals.mode } : {}),
          logger,
        },
        { final: job.attemptsMade + 1 >= (job.opts.attempts ?? 1) },
      ),
    { connection: redis, prefix, concurrency: 2 },
  );
  runGuard.on('error', (err) => logger.warn({ err }, 'run guard worker error'));

  const lock = new StageFreightLock({ redis, prefix });
  const freezes = new FreezeStore(redis, prefix);
  // Jobs the worker schedules itself (a freeze's end) and the promotions backlog (/status).
  const interactiveQueue = new Queue<CommandJob>(INTERACTIVE_QUEUE, {
    connection: redis,
    prefix,
    defaultJobOptions: COMMAND_JOB_OPTIONS,
  });
  const promotionsQueue = new Queue<CommandJob>(PROMOTIONS_QUEUE, { connection: redis, prefix });
  const freezeDeps: FreezeDeps = {
    freezes,
    kargo,
    audit: auditLog,
    responder,
    notifier,
    scheduleEnd: async (job) => {
      await interactiveQueue.add(job.kind, job, {
        jobId: `freeze-end-${job.requestId}`,
        delay: Math.max(0, Date.parse(job.until) - Date.now()),
      });
    },
    deploymentsChannelId: config.slack.channels.deployments,
    cards,
    store,
    logger,
  };
  const statusDeps: StatusDeps = {
    kargo,
    stages: config.kargo.stages,
    store,
    cardLink: cardUrl,
    freezes,
    inspectLock: (environment) => unlockDeps.unlock.locks.inspect(environment),
    queued: async () => {
      const counts = await promotionsQueue.getJobCounts('waiting', 'prioritized', 'delayed');
      return Object.values(counts).reduce((sum, n) => sum + n, 0);
    },
    responder,
    publishHome: async (userId, blocks) => {
      await slackClient.views.publish({ user_id: userId, view: { type: 'home', blocks } });
    },
    logger,
  };
  const handlers: LaneHandlers = {
    run: async (data: CommandJob) => {
      switch (data.kind) {
        case 'promote': {
          const outcome = await processPromote(data, {
            kargo,
            cards,
            store,
            audit: auditLog,
            responder,
            lock,
            logger,
            cardLink: cardUrl,
            replyWhenPosted: (cardId, responseUrl, text) =>
              notifier.replyWhenPosted('deployments', cardKey(cardId), responseUrl, text),
            freezes,
          });
          metrics.promotions.inc({ environment: data.environment, outcome });
          return outcome;
        }
        case 'freight':
          return processFreight(data, {
            kargo,
            responder,
            logger,
            project: config.kargo.project,
            freezes,
            stages: config.kargo.stages,
          });
        case 'freeze':
          return processFreeze(data, freezeDeps);
        case 'unfreeze':
          return processUnfreeze(data, freezeDeps);
        case 'freeze-end':
          return processFreezeEnd(data, freezeDeps);
        case 'status':
          return processStatus(data, statusDeps);
        case 'unlock':
          return processUnlock(data, unlockDeps);
        case 'unlock-action':
          return processUnlockAction(data, unlockDeps);
        case 'approve':
          return processApprove(data, approveDeps);
        case 'approve-action':
          return processApproveAction(data, approveDeps);
        case 'reject-submission':
          return processRejectSubmission(data, approveDeps);
        case 'card-details':
          return processCardDetails(data, { store, responder, logger });
        case 'cancel':
          return processCancel(data, {
            store,
            cards,
            kargo,
            audit: auditLog,
            responder,
            access: config.access,
            groupsOf: (userId, groupIds) => groups.groupsOf(userId, groupIds),
            stopRun,
            cardLink: cardUrl,
            logger,
          });
        case 'drift':
          return processDrift(data, { drift, responder });
        case 'stats':
          return processStats(data, { delivery, responder });
        case 'audit-record':
          return processAuditRecord(data, {
            audit: auditLog,
            cards: store,
            auditChannelId: config.slack.channels.audit,
            cardLink: cardUrl,
            responder,
            logger,
          });
      }
    },
    finalize: (data, error) =>
      finalizeFailedJob(data, error, {
        kargo,
        store,
        cards,
        audit: auditLog,
        responder,
        alert: (key, text) => notifier.post({ channel: 'alerts', key, text }),
        logger,
      }),
  };
  const lanes = startCommandLanes({
    connection: redis,
    prefix,
    logger,
    metrics,
    outages,
    apiServerReady: () => kargo.apiServerReady(),
    handlers,
    settings: {
      promotionConcurrency: options.concurrency ?? config.queues.promotionConcurrency,
      interactiveConcurrency: config.queues.interactiveConcurrency,
      patienceMs: options.patienceMs ?? config.queues.promotePatienceMinutes * 60_000,
      lockMs: config.queues.jobLockSeconds * 1000,
    },
  });

  const runs = startRunFollower({
    config,
    redis,
    prefix,
    cards,
    store,
    logger,
    ...(options.pollSchedule ? { schedule: options.pollSchedule } : {}),
    ...(options.artifactBackoffMs ? { artifactBackoffMs: options.artifactBackoffMs } : {}),
    onDelivery: (event, payload, deliveryId) => approvalStack.onDelivery(event, payload, deliveryId),
    drift,
  });

  await notifier.start();
  await mirror.start();
  const watch = startKargoSync({ kargo, cards, store, logger, runs });

  const configuredGroups = [
    ...new Set(
      Object.values(config.access).flatMap((perEnv) => Object.values(perEnv).flatMap((p) => p.groups)),
    ),
  ];
  const refreshGroups = () =>
    groups
      .refresh(slackClient, configuredGroups)
      .catch((err: unknown) => logger.warn({ err }, 'user-group refresh failed'));
  await refreshGroups();
  const groupTimer = setInterval(() => void refreshGroups(), options.groupRefreshMs ?? 5 * 60_000);
  groupTimer.unref();

  const privateServer = await listenHttp(
    privateRoutes({ metrics, ready: async () => (await redis.ping()) === 'PONG' }),
    config.http.host,
    options.port ?? config.http.workerPort,
  );
  const port = privateServer.port;
  logger.info({ port }, 'worker started');

  return {
    port,
    stop: async () => {
      clearInterval(groupTimer);
      clearInterval(trimTimer);
      watch.stop();
      kargoCache?.stop();
      // Every consumer stops taking jobs at once; running jobs share one grace period (src/queue/shutdown.ts).
      const graceMs = options.shutdownGraceMs ?? config.queues.shutdownGraceSeconds * 1000;
      await Promise.all([
        lanes.close(graceMs),
        closeWorker(runGuard, graceMs),
        runs.close(graceMs),
        drift.close(graceMs),
        approvalStack.close(graceMs),
      ]);
      await runGuardQueue.close();
      await interactiveQueue.close();
      await promotionsQueue.close();
      await delivery.stop();
      await mirror.close();
      // Last, so what the jobs above posted on their way out still goes to Slack.
      await notifier.close(graceMs);
      await privateServer.close();
      redis.disconnect();
    },
  };
}
