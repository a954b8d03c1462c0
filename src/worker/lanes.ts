// The command lanes (queue/jobs.ts): a BullMQ Worker per lane with its own concurrency, and the rules for
// what happens when a job fails.
//
//   promotions   a Kubernetes outage (refused connections, 5xx, timeouts — and a 403 while the API server
//                is still starting) pauses the whole lane with backoff (the queue-wide rate limit: no job
//                burns its attempts) and raises ONE alert (outages.ts), for as long as a promotion can still
//                be useful (PROMOTE_PATIENCE_MINUTES); then the job fails for good;
//   interactive  ordinary retries with backoff;
//   both         a permanent error (ChatOpsError.permanent) fails at once; a job whose worker died is
//                retried (maxStalledCount) and, when it finally fails — for whatever reason — is answered,
//                recorded and alerted (finalize): no job ever ends silently.
import { Queue, UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ChatOpsError, ErrorCode } from '../domain/errors.js';
import { httpStatusOf } from '../kargo/errors.js';
import type { Metrics } from '../metrics.js';
import {
  INTERACTIVE_QUEUE,
  LEGACY_COMMAND_QUEUE,
  PROMOTIONS_QUEUE,
  commandJob,
  type CommandJob,
} from '../queue/jobs.js';
import type { Outages } from './outages.js';
import { closeWorker } from '../queue/shutdown.js';

export interface LaneSettings {
  promotionConcurrency: number;
  interactiveConcurrency: number;
  /** How long a promotion waits out a Kubernetes outage before it fails (ms). */
  patienceMs: number;
  /** How often a job may lose its worker before it fails (BullMQ maxStalledCount). Default 2. */
  maxStalledCount?: number;
  /** Lock of a running job and the stalled-job check interval (ms). Default BullMQ's 30 s. */
  lockMs?: number;
}

export interface LaneHandlers {
  run(job: CommandJob): Promise<unknown>;
  /**
   * The job failed for good (last attempt, permanent error, or its worker died too often): answer the
   * user, record the outcome, alert. Must be idempotent (any replica may call it).
   */
  finalize(job: CommandJob, error: Error): Promise<void>;
}

export interface LaneDeps {
  connection: Redis;
  prefix: string;
  logger: Logger;
  metrics: Metrics;
  outages: Outages;
  /** For the "403 while starting" check. */
  apiServerReady: () => Promise<boolean>;
  handlers: LaneHandlers;
  settings: LaneSettings;
}

export interface RunningLanes {
  /** Stops the lanes: running jobs get `graceMs` to finish (src/queue/shutdown.ts). */
  close(graceMs?: number): Promise<void>;
}

const STALLED = /stalled more than allowable limit/;

const toChatOps = (error: unknown): ChatOpsError =>
  error instanceof ChatOpsError
    ? error
    : new ChatOpsError(ErrorCode.Internal, (error as Error).message, error);

export function startCommandLanes(deps: LaneDeps): RunningLanes {
  const { logger, metrics, outages, handlers, settings } = deps;
  const parse = (job: Job<CommandJob>): CommandJob => {
    const parsed = commandJob.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed ${job.name} job: ${parsed.error.message}`);
    return parsed.data;
  };

  /** Whether a Kubernetes error is worth waiting out (the API server is down, or not ready yet). */
  const kubernetesDown = async (error: ChatOpsError): Promise<boolean> => {
    if (error.code === ErrorCode.KargoUnavailable) return true;
    if (error.code === ErrorCode.KargoRejected && httpStatusOf(error) === 403) {
      // While kube-apiserver starts, RBAC answers 403 before its roles are loaded; /readyz says so. Right
      // after an outage the authorizer may lag a moment behind /readyz.
      if (outages.recentlyRecovered('kubernetes', 60_000)) return true;
      return !(await deps.apiServerReady());
    }
    return false;
  };

  // The processor pauses its own Worker (rateLimit): declared first, assigned once the Worker exists.
  const lane: { promotions?: Worker<CommandJob> } = {};
  const promotionProcessor: Processor<CommandJob> = async (job) => {
    const data = parse(job);
    try {
      const result = await handlers.run(data);
      await outages.up('kubernetes');
      return result;
    } catch (raw) {
      const error = toChatOps(raw);
      if (await kubernetesDown(error)) {
        const since = data.kind === 'promote' ? Date.parse(data.requestedAt) : job.timestamp;
        if (Date.now() - since < settings.patienceMs) {
          const pauseMs = await outages.down('kubernetes', error.message.slice(0, 160));
          metrics.jobs.inc({ queue: PROMOTIONS_QUEUE, kind: job.name, outcome: 'paused' });
          await lane.promotions?.rateLimit(pauseMs);
          throw Worker.RateLimitError();
        }
        throw new UnrecoverableError(
          `the Kubernetes API could not be reached for ${Math.round(settings.patienceMs / 60_000)} min (${error.message})`,
        );
      }
      if (error.permanent) throw new UnrecoverableError(`${error.code}: ${error.message}`);
      throw error;
    }
  };
  const interactiveProcessor: Processor<CommandJob> = async (job) => {
    try {
      return await handlers.run(parse(job));
    } catch (raw) {
      const error = toChatOps(raw);
      if (error.permanent) throw new UnrecoverableError(`${error.code}: ${error.message}`);
      throw raw;
    }
  };

  const common = {
    connection: deps.connection,
    prefix: deps.prefix,
    maxStalledCount: settings.maxStalledCount ?? 2,
    ...(settings.lockMs ? { lockDuration: settings.lockMs, stalledInterval: settings.lockMs } : {}),
  };
  const promotions = new Worker<CommandJob>(PROMOTIONS_QUEUE, promotionProcessor, {
    ...common,
    concurrency: settings.promotionConcurrency,
  });
  lane.promotions = promotions;
  const interactive = new Worker<CommandJob>(INTERACTIVE_QUEUE, interactiveProcessor, {
    ...common,
    concurrency: settings.interactiveConcurrency,
  });
  // Jobs queued before the lanes existed (an upgrade with work in flight) are still run.
  const legacy = new Worker<CommandJob>(
    LEGACY_COMMAND_QUEUE,
    (job, token) =>
      job.name === 'promote' ? promotionProcessor(job, token) : interactiveProcessor(job, token),
    { ...common, concurrency: 1 },
  );

  const finalize = (job: Job<CommandJob>, error: Error): void => {
    const parsed = commandJob.safeParse(job.data);
    if (!parsed.success) return;
    void handlers
      .finalize(parsed.data, error)
      .catch((err: unknown) => logger.error({ err, jobId: job.id }, 'could not finalize a failed job'));
  };
  const lookups: Queue[] = [];
  for (const [name, worker] of [
    [PROMOTIONS_QUEUE, promotions],
    [INTERACTIVE_QUEUE, interactive],
    [LEGACY_COMMAND_QUEUE, legacy],
  ] as const) {
    const queue = new Queue<CommandJob>(name, { connection: deps.connection, prefix: deps.prefix });
    lookups.push(queue);
    worker.on('completed', (job) => metrics.jobs.inc({ queue: name, kind: job.name, outcome: 'completed' }));
    worker.on('failed', (job, error) => {
      if (!job) return;
      const final =
        error.name === 'UnrecoverableError' ||
        STALLED.test(error.message) ||
        job.attemptsMade >= (job.opts.attempts ?? 1);
      metrics.jobs.inc({ queue: name, kind: job.name, outcome: final ? 'failed' : 'retried' });
      logger.warn(
        { jobId: job.id, kind: job.name, attempts: job.attemptsMade, final, err: error },
        'command job failed',
      );
      if (final) finalize(job, error);
    });
    // A job whose worker died: BullMQ puts it back (retried) or, past maxStalledCount, fails it without
    // running it again — and says so only as 'stalled'. Look, and finalize what failed.
    worker.on('stalled', (jobId) => {
      void (async () => {
        const job = await queue.getJob(jobId);
        if (!job || !(await job.isFailed())) return;
        metrics.jobs.inc({ queue: name, kind: job.name, outcome: 'failed' });
        logger.error({ jobId, kind: job.name }, 'command job failed: its worker stopped too often');
        finalize(job, new Error(job.failedReason || 'job stalled more than allowable limit'));
      })().catch((err: unknown) => logger.error({ err, jobId }, 'could not inspect a stalled job'));
    });
    worker.on('error', (err) => logger.warn({ err, queue: name }, 'command worker error'));
  }

  return {
    async close(graceMs) {
      await Promise.all([promotions, interactive, legacy].map((w) => closeWorker(w, graceMs)));
      await Promise.all(lookups.map((q) => q.close()));
    },
  };
}
