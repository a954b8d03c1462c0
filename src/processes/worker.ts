// The worker process: runs command jobs against Kargo, follows Promotions through the Kargo watch, keeps
// the cards in #infra-deployments current, mirrors the audit stream into #infra-audit, and posts final
// failures to #infra-alerts. Scale it horizontally: every side effect is idempotent.
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { AuditMirror } from '../audit/mirror.js';
import { AuditLog } from '../audit/stream.js';
import { CardService, type CardPublisher } from '../cards/service.js';
import { CardStore } from '../cards/store.js';
import type { Config } from '../config/load.js';
import { isTerminalCardPhase } from '../domain/card.js';
import { renderCard, renderFailureAlert, renderOutputsThread, renderSuccessLine } from '../domain/render.js';
import { loadKubeConfig, KubernetesKargoGateway } from '../kargo/client.js';
import type { KargoGateway } from '../kargo/gateway.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { createRedis } from '../queue/connection.js';
import { retentionFrom } from '../retention.js';
import { COMMAND_QUEUE, commandJob, type CommandJob } from '../queue/jobs.js';
import { GroupDirectory } from '../slack/groups.js';
import { SlackNotifier } from '../slack/notifier.js';
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
import type { RunningProcess } from './web.js';

export interface WorkerOptions {
  port?: number;
  metrics?: Metrics;
  /** Injected in tests; built from config otherwise. */
  kargo?: KargoGateway;
  /** How often user-group membership is refreshed from Slack (ms). */
  groupRefreshMs?: number;
  concurrency?: number;
  /** Whether a workflow run is in progress per environment (from GitHub); injected in tests. */
  runStatus?: Pick<UnlockDeps, 'isRunInProgress' | 'recentRuns'>;
  /** GitHub polling cadence and budget (tests make it fast). */
  pollSchedule?: PollSchedule;
  /** Backoff before re-reading late artifacts (ms). */
  artifactBackoffMs?: number;
  /** Pace of each Slack channel queue (default one message per second, Slack's documented rate). */
  slackLimiter?: { max: number; duration: number };
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

export const cardKey = (cardId: string): string => `card-${cardId}`;

/** Slack archive link to a message; works for every member of the workspace. */
export const messageLink = (channel: string, ts: string): string =>
  `https://slack.com/archives/${channel}/p${ts.replace('.', '')}`;

export async function startWorker(
  config: Config,
  logger: Logger,
  options: WorkerOptions = {},
): Promise<RunningProcess> {
  const metrics = options.metrics ?? createMetrics('worker');
  const prefix = config.redis.prefix;
  const redis = createRedis(config.redis.url, 'worker', `${config.redis.prefix}-worker`);
  redis.on('error', (err) => logger.warn({ err }, 'redis connection error (worker)'));

  const kargo =
    options.kargo ??
    new KubernetesKargoGateway({
      kubeConfig: loadKubeConfig(config.kargo.kubeconfig ? { kubeconfigPath: config.kargo.kubeconfig } : {}),
      project: config.kargo.project,
      logger,
    });
  const notifier = new SlackNotifier({
    connection: redis,
    prefix,
    channels: config.slack.channels,
    slack: { token: config.slack.botToken, ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}) },
    logger,
    recordTtlSeconds: retentionFrom(config).cardSeconds,
    ...(options.slackLimiter ? { limiter: options.slackLimiter } : {}),
  });
  const retention = retentionFrom(config);
  const auditLog = new AuditLog({ connection: redis, prefix, idTtlSeconds: retention.cardSeconds });
  const mirror = new AuditMirror({ connection: redis, prefix, notifier, logger });
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

  const cardUrl = async (cardId: string): Promise<string | undefined> => {
    const posted = await notifier.lookup('deployments', cardKey(cardId));
    return posted ? messageLink(posted.channel, posted.ts) : undefined;
  };
  const publisher: CardPublisher = {
    async publishCard(cardId) {
      const card = await store.load(cardId);
      if (!card) return;
      const kargoUrl = config.kargo.url ? { kargoUrl: config.kargo.url } : {};
      // Slack requests asked for on behalf of this card (card updates are coalesced by the notifier, so
      // the calls Slack sees are at most this many); logged with the GitHub count when the run ends.
      const countSlack = () => store.count(cardId, 'slack');
      const message = renderCard(card, kargoUrl);
      await countSlack();
      await notifier.upsert({
        channel: 'deployments',
        key: cardKey(cardId),
        text: message.text,
        blocks: message.blocks,
        version: card.version,
      });
      // Terraform outputs go into the card's thread, once per outputs artifact received.
      const outputs = card.outputs.length > 0 ? renderOutputsThread(card) : undefined;
      if (outputs) {
        await countSlack();
        await notifier.post({
          channel: 'deployments',
          key: `outputs-${cardId}-${card.outputs.length}`,
          threadKey: cardKey(cardId),
          text: outputs.text,
          blocks: outputs.blocks,
        });
      }
      if (!isTerminalCardPhase(card.phase)) return;
      const link = await cardUrl(cardId);
      const around = { ...kargoUrl, ...(link ? { cardUrl: link } : {}) };
      if (card.phase === 'Succeeded') {
        const line = renderSuccessLine(card, around);
        await countSlack();
        await notifier.post({
          channel: 'deployments',
          key: `success-${cardId}`,
          text: line.text,
          blocks: line.blocks,
        });
      } else if (!card.run || card.run.status === 'completed' || card.phase === 'Rejected') {
        // Wait for the run's own ending (jobs and failed step known) so the alert can name the failed
        // job and link it; a promotion that never started a run is alerted at once.
        const alert = renderFailureAlert(card, around);
        await countSlack();
        await notifier.post({
          channel: 'alerts',
          key: `alert-${cardId}`,
          text: alert.text,
          blocks: alert.blocks,
        });
      }
    },
  };
  const cards = new CardService(store, auditLog, publisher);
  const responder = createResponder(logger);
  const cardLink = async (cardId: string): Promise<string | undefined> => {
    // The card is posted by the deployments queue (paced at ~1/s): give it a few seconds to appear.
    for (let i = 0; i < 10; i += 1) {
      const posted = await notifier.lookup('deployments', cardKey(cardId));
      if (posted) return messageLink(posted.channel, posted.ts);
      await new Promise((r) => setTimeout(r, 500));
    }
    return undefined;
  };

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

  const commandWorker = new Worker<CommandJob>(
    COMMAND_QUEUE,
    async (job: Job<CommandJob>) => {
      const parsed = commandJob.safeParse(job.data);
      if (!parsed.success) throw new UnrecoverableError(`malformed ${job.name} job: ${parsed.error.message}`);
      const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const data = parsed.data;
      switch (data.kind) {
        case 'promote':
          return processPromote(data, { kargo, cards, store, responder, logger, cardLink }, { final });
        case 'freight':
          return processFreight(data, { kargo, responder, logger, project: config.kargo.project });
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
      }
    },
    { connection: redis, prefix, concurrency: options.concurrency ?? 4 },
  );
  commandWorker.on('completed', (job) =>
    metrics.jobs.inc({ queue: COMMAND_QUEUE, kind: job.name, outcome: 'completed' }),
  );
  commandWorker.on('failed', (job, error) => {
    if (!job) return;
    const final = error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    metrics.jobs.inc({ queue: COMMAND_QUEUE, kind: job.name, outcome: final ? 'failed' : 'retried' });
    logger.warn(
      { jobId: job.id, kind: job.name, attempts: job.attemptsMade, final, err: error },
      'command job failed',
    );
    if (!final) return;
    const data = job.data as CommandJob;
    // A refused promotion already has its alert, from its card (with the reason and the card link).
    if (data.kind === 'promote' && error.name === 'UnrecoverableError') return;
    const who = `<@${data.actor.slackUserId}>`;
    const what =
      data.kind === 'promote'
        ? `/promote ${data.environment}`
        : data.kind === 'freight'
          ? '/freight'
          : '/unlock';
    void notifier
      .post({
        channel: 'alerts',
        key: `job-failed-${job.id ?? 'unknown'}`,
        text: `:rotating_light: ${what} by ${who} failed after ${job.attemptsMade} attempt(s): ${error.message}`,
      })
      .catch((err: unknown) => logger.error({ err }, 'could not post a job failure alert'));
  });
  commandWorker.on('error', (err) => logger.warn({ err }, 'command worker error'));

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
      await commandWorker.close();
      await runs.close();
      await approvalStack.close();
      await mirror.close();
      await notifier.close();
      await privateServer.close();
      redis.disconnect();
    },
  };
}
