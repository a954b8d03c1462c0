// Following a promotion's GitHub Actions run: webhook deliveries (verified by the web process) and a
// bounded polling fallback both become card events; when the run ends its artifacts (gate results, plan
// summary, Terraform outputs) are read and validated. Everything is idempotent: a redelivery, a poll that
// sees what a webhook already said, or two worker replicas produce the same event ids.
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { CardService } from '../cards/service.js';
import type { CardStore } from '../cards/store.js';
import type { Config } from '../config/load.js';
import type { CardEvent } from '../domain/events.js';
import type { Environment } from '../domain/types.js';
import { createGithubClient } from '../github/client.js';
import { GithubRuns } from '../github/runs.js';
import {
  eventsFromDelivery,
  jobEvent,
  promotionNameFromRun,
  runIdOf,
  runStatusEvent,
} from '../github/webhooks.js';
import { GITHUB_EVENTS_QUEUE, type GithubEventJob } from '../queue/github.js';
import { closeWorker } from '../queue/shutdown.js';

export const GITHUB_POLL_QUEUE = 'github-poll';
export const GITHUB_ARTIFACTS_QUEUE = 'github-artifacts';
export const GITHUB_LOCATE_QUEUE = 'github-locate';

/** Poll cadence by the run's age; slower when webhooks are configured (polling is then only a safety net). */
export interface PollSchedule {
  /** [max age in ms, interval in ms], youngest first; the last entry applies beyond. */
  steps: Array<[number, number]>;
  /** GitHub requests one run may cost through polling before the bot stops polling it. */
  budget: number;
}

export const DEFAULT_POLL_SCHEDULE: PollSchedule = {
  steps: [
    [10 * 60_000, 15_000],
    [60 * 60_000, 60_000],
    [Number.POSITIVE_INFINITY, 300_000],
  ],
  budget: 240,
};
export const SAFETY_NET_POLL_SCHEDULE: PollSchedule = {
  steps: [
    [60 * 60_000, 120_000],
    [Number.POSITIVE_INFINITY, 600_000],
  ],
  budget: 60,
};

export interface FollowDeps {
  config: Config;
  redis: Redis;
  prefix: string;
  cards: CardService;
  store: CardStore;
  logger: Logger;
  schedule?: PollSchedule;
  /** Attempts to find late artifacts before declaring them missing. */
  artifactAttempts?: number;
  artifactBackoffMs?: number;
  /** Other consumers of verified deliveries (approvals: deployment_protection_rule, jobs waiting). */
  onDelivery?: (event: string, payload: unknown, deliveryId: string) => Promise<void>;
  /** Runs of the drift workflow follow no card: their workflow_run deliveries go to src/drift/ instead. */
  drift?: {
    claims(event: string, payload: unknown): boolean;
    onDelivery(event: string, payload: unknown, deliveryId: string): Promise<void>;
  };
  /** Test hook: retry-after unit for the GitHub client (ms per second). */
  retryAfterUnitMs?: number;
  /**
   * With webhooks: a run heard from (a delivery) within this long is not polled — the deliveries already
   * say what a poll would. Default 10 minutes.
   */
  quietMs?: number;
}

interface PollJob {
  runId: number;
  cardId: string;
  trackedAt: string;
}

interface LocateJob {
  promotionName: string;
  cardId: string;
  createdAfter: string;
}

interface ArtifactsJob {
  runId: number;
  cardId: string;
  environment: Environment;
}

export interface RunFollower {
  /** Starts following a run for a card (idempotent). */
  track(runId: number, cardId: string): Promise<void>;
  /**
   * Kargo gave no run id (GitHub Enterprise without return_run_details, or a dispatch made by hand):
   * find the run by the promotion name in its run-name, then follow it (idempotent, bounded retries).
   */
  locate(promotionName: string, cardId: string, createdAfter: string): Promise<void>;
  /** Running jobs get `graceMs` to finish (src/queue/shutdown.ts). */
  close(graceMs?: number): Promise<void>;
}

/**
 * A GitHub client per job, so requests are counted per card (installation tokens are shared by every
 * client of the configuration: client.ts). `notModified` counts the 304 answers to conditional requests,
 * which GitHub does not charge to the rate limit.
 */
function githubFor(deps: FollowDeps, count: { n: number; notModified?: number }): GithubRuns {
  const octokit = createGithubClient(deps.config.github, {
    logger: deps.logger,
    ...(deps.retryAfterUnitMs ? { retryAfterUnitMs: deps.retryAfterUnitMs } : {}),
  });
  octokit.hook.before('request', () => {
    count.n += 1;
  });
  octokit.hook.error('request', (error) => {
    if ((error as { status?: unknown }).status === 304) count.notModified = (count.notModified ?? 0) + 1;
    throw error;
  });
  return new GithubRuns(octokit, {
    owner: deps.config.github.owner,
    repo: deps.config.github.repo,
    workflow: deps.config.github.workflow,
    logger: deps.logger,
  });
}

export function startRunFollower(deps: FollowDeps): RunFollower {
  const { redis, prefix, store, cards, logger } = deps;
  const schedule =
    deps.schedule ?? (deps.config.github.webhookSecret ? SAFETY_NET_POLL_SCHEDULE : DEFAULT_POLL_SCHEDULE);
  const pollQueue = new Queue<PollJob>(GITHUB_POLL_QUEUE, { connection: redis, prefix });
  const artifactsQueue = new Queue<ArtifactsJob>(GITHUB_ARTIFACTS_QUEUE, { connection: redis, prefix });
  const locateQueue = new Queue<LocateJob>(GITHUB_LOCATE_QUEUE, { connection: redis, prefix });
  // Which runs are followed: one key per run, kept as long as its card (retention.ts).
  const trackedKey = (runId: number) => `${prefix}:tracked-run:${runId}`;
  // When a delivery about the run last arrived, and the ETags of the last poll answers (a day each).
  const heardKey = (runId: number) => `${prefix}:run-heard:${runId}`;
  const etagKey = (runId: number) => `${prefix}:poll-etag:${runId}`;
  const webhooks = Boolean(deps.config.github.webhookSecret);
  const quietMs = deps.quietMs ?? 10 * 60_000;

  const intervalFor = (ageMs: number): number =>
    (schedule.steps.find(([maxAge]) => ageMs < maxAge) ?? schedule.steps[schedule.steps.length - 1]!)[1];

  const schedulePoll = async (runId: number, cardId: string, trackedAt: string): Promise<void> => {
    const every = intervalFor(Date.now() - Date.parse(trackedAt));
    await pollQueue.upsertJobScheduler(
      `poll-${runId}`,
      { every },
      {
        name: 'poll',
        data: { runId, cardId, trackedAt },
        // Every poll is a job: keep only the recent ones.
        opts: {
          removeOnComplete: { age: 24 * 3600, count: 1_000 },
          removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
        },
      },
    );
  };

  const cardForRun = async (runId: number, run?: { display_title?: string | null; name?: string | null }) => {
    const linked = await store.cardForRun(runId);
    if (linked) return linked;
    const promotion = run ? promotionNameFromRun(run) : undefined;
    const cardId = promotion ? await store.cardForPromotion(promotion) : undefined;
    if (cardId) await store.linkRun(runId, cardId);
    return cardId;
  };

  const environmentOf = async (cardId: string): Promise<Environment> =>
    (await store.load(cardId))?.environment ?? 'dev';

  const onCompleted = async (runId: number, attempt: number, cardId: string): Promise<void> => {
    await artifactsQueue.add(
      'artifacts',
      { runId, cardId, environment: await environmentOf(cardId) },
      {
        jobId: `artifacts-${runId}-${attempt}`,
        attempts: deps.artifactAttempts ?? 4,
        backoff: { type: 'exponential', delay: deps.artifactBackoffMs ?? 15_000 },
        removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
      },
    );
    await pollQueue.removeJobScheduler(`poll-${runId}`);
  };

  const record = async (events: CardEvent[], cardId: string, requests: number): Promise<void> => {
    await cards.recordAll(events);
    if (requests > 0) await store.count(cardId, 'github', requests);
  };

  // Webhook deliveries, verified and deduplicated on X-GitHub-Delivery by the web process.
  const deliveries = new Worker<GithubEventJob>(
    GITHUB_EVENTS_QUEUE,
    async (job: Job<GithubEventJob>) => {
      const { event, payload, deliveryId } = job.data;
      if (deps.drift?.claims(event, payload)) return deps.drift.onDelivery(event, payload, deliveryId);
      const runId = runIdOf(event, payload);
      const run = (payload as { workflow_run?: { display_title?: string; name?: string } }).workflow_run;
      const cardId = runId === undefined ? undefined : await cardForRun(runId, run);
      if (runId !== undefined && cardId) {
        await redis.set(heardKey(runId), String(Date.now()), 'EX', 86_400);
        await record(eventsFromDelivery(event, payload, { cardIdForRun: () => cardId }), cardId, 0);
      }
      // Approvals next (after the run's own events, so the card knows the job that waits); they audit
      // requests for unknown runs themselves.
      await deps.onDelivery?.(event, payload, deliveryId);
      if (runId === undefined || !cardId) {
        logger.info({ deliveryId, event, runId }, 'github delivery for a run no card follows: ignored');
        return;
      }
      const events = eventsFromDelivery(event, payload, { cardIdForRun: () => cardId });
      const completed = events.find((e) => e.type === 'RunStatusChanged' && e.status === 'completed');
      if (completed && completed.type === 'RunStatusChanged')
        await onCompleted(runId, completed.runAttempt ?? 1, cardId);
    },
    { connection: redis, prefix, concurrency: 4 },
  );

  // Polling: the fallback without webhooks and the safety net for missed deliveries.
  const poller = new Worker<PollJob>(
    GITHUB_POLL_QUEUE,
    async (job: Job<PollJob>) => {
      const { runId, cardId, trackedAt } = job.data;
      const spent = (await store.stats(cardId)).poll ?? 0;
      if (spent >= schedule.budget) {
        logger.warn({ runId, cardId, spent }, 'polling budget of this run spent: no more polling');
        await pollQueue.removeJobScheduler(`poll-${runId}`);
        return;
      }
      // With webhooks, polling is a safety net for missed deliveries: a run heard from lately is left be.
      if (webhooks && Date.now() - Number((await redis.get(heardKey(runId))) ?? 0) < quietMs) {
        await schedulePoll(runId, cardId, trackedAt);
        return;
      }
      const count = { n: 0, notModified: 0 };
      const github = githubFor(deps, count);
      // Conditional requests: what did not change since the last poll answers 304, free of rate limit.
      const etags = await redis.hgetall(etagKey(runId));
      const got = await github.getRunIfChanged(runId, etags.run);
      const run = got === 'unchanged' ? undefined : got.run;
      const attempt = run?.run_attempt ?? (etags.attempt ? Number(etags.attempt) : undefined);
      const events: CardEvent[] = run ? [runStatusEvent(run, cardId)] : [];
      const fresh: Record<string, string> = {};
      if (got !== 'unchanged' && got.etag) fresh.run = got.etag;
      if (attempt !== undefined) fresh.attempt = String(attempt);
      // Jobs on every poll without webhooks; with them only when the run itself changed.
      if (!webhooks || run) {
        const jobs = await github.listJobsIfChanged(runId, attempt, etags.jobs);
        if (jobs !== 'unchanged') {
          events.push(...jobs.jobs.map((j) => jobEvent(j, cardId)));
          if (jobs.etag) fresh.jobs = jobs.etag;
        }
      }
      if (Object.keys(fresh).length > 0)
        await redis.multi().hset(etagKey(runId), fresh).expire(etagKey(runId), 86_400).exec();
      await record(events, cardId, count.n);
      await store.count(cardId, 'poll', count.n);
      if (count.notModified > 0) await store.count(cardId, 'notModified', count.notModified);
      if (run?.status === 'completed') await onCompleted(runId, run.run_attempt ?? 1, cardId);
      else await schedulePoll(runId, cardId, trackedAt); // slows down as the run ages
    },
    { connection: redis, prefix, concurrency: 2 },
  );

  // Artifacts of an ended run: gate results, plan summary, Terraform outputs.
  const artifacts = new Worker<ArtifactsJob>(
    GITHUB_ARTIFACTS_QUEUE,
    async (job: Job<ArtifactsJob>) => {
      const { runId, cardId, environment } = job.data;
      const count = { n: 0 };
      const github = githubFor(deps, count);
      const card = await store.load(cardId);
      const jobs = (card?.jobs ?? []).map((j) => ({
        name: j.name,
        status: j.status,
        ...(j.conclusion ? { conclusion: j.conclusion } : {}),
      }));
      const read = await github.readRunArtifacts(runId, {
        environment,
        deployProd: environment === 'prod',
        jobs,
      });
      const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      // A missing artifact may only be late (uploads finish after the run reports completed): retry
      // before saying so on the card.
      if (read.problems.some((p) => p.problem === 'missing') && !final) {
        await store.count(cardId, 'github', count.n);
        throw new Error(`artifacts not all there yet: ${read.problems.map((p) => p.artifact).join(', ')}`);
      }
      const at = new Date().toISOString();
      const base = { cardId, at, runId };
      const events: CardEvent[] = [
        ...read.gates.map((result): CardEvent => ({
          ...base,
          type: 'GateReported',
          id: `gate:${runId}:${result.gate}-${result.cloud}-${result.environment}`,
          result,
        })),
        ...read.plans.map((summary): CardEvent => ({
          ...base,
          type: 'PlanSummarized',
          id: `plan:${runId}:${summary.cloud}-${summary.environment}`,
          summary,
        })),
        ...read.outputs.map((outputs): CardEvent => ({
          ...base,
          type: 'OutputsPublished',
          id: `outputs:${runId}:${outputs.cloud}-${outputs.environment}`,
          outputs,
        })),
        ...read.problems.map((p): CardEvent => ({
          ...base,
          type: 'ArtifactProblem',
          id: `artifact-problem:${runId}:${p.artifact}:${p.problem}`,
          artifact: p.artifact,
          problem: p.problem,
          detail: p.detail,
        })),
      ];
      await record(events, cardId, count.n);
      const stats = await store.stats(cardId);
      logger.info(
        {
          cardId,
          runId,
          githubRequests: Number(stats.github ?? 0),
          pollRequests: Number(stats.poll ?? 0),
          notModified: Number(stats.notModified ?? 0),
          artifactsFrom: read.source.kind,
          slackMessagesRequested: Number(stats.slack ?? 0),
        },
        'run followed to its end',
      );
    },
    { connection: redis, prefix, concurrency: 2 },
  );
  artifacts.on('failed', (job, err) => {
    if (job && (err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1))) {
      logger.error({ runId: job.data.runId, err }, 'could not read the run artifacts');
    }
  });
  const locator = new Worker<LocateJob>(
    GITHUB_LOCATE_QUEUE,
    async (job: Job<LocateJob>) => {
      const { promotionName, cardId, createdAfter } = job.data;
      const count = { n: 0 };
      const run = await githubFor(deps, count).findRunForPromotion(promotionName, { createdAfter });
      await store.count(cardId, 'github', count.n);
      if (!run) throw new Error(`no run names promotion ${promotionName} yet`);
      await store.linkRun(run.id, cardId);
      await cards.record({
        type: 'RunLinked',
        id: `run:${promotionName}:${run.id}`,
        cardId,
        at: new Date().toISOString(),
        runId: run.id,
        runUrl: run.html_url,
      });
      await follower.track(run.id, cardId);
    },
    { connection: redis, prefix, concurrency: 1 },
  );

  for (const w of [deliveries, poller, artifacts, locator])
    w.on('error', (err) => logger.warn({ err }, 'github worker error'));

  const follower: RunFollower = {
    async track(runId, cardId) {
      await store.linkRun(runId, cardId);
      const isNew = (await redis.set(trackedKey(runId), cardId, 'EX', store.retentionSeconds, 'NX')) === 'OK';
      if (isNew) await schedulePoll(runId, cardId, new Date().toISOString());
    },
    async locate(promotionName, cardId, createdAfter) {
      await locateQueue.add(
        'locate',
        { promotionName, cardId, createdAfter },
        {
          jobId: `locate-${promotionName}`,
          attempts: 10,
          backoff: { type: 'fixed', delay: 15_000 },
          removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
          removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
        },
      );
    },
    async close(graceMs) {
      await Promise.all([deliveries, poller, artifacts, locator].map((w) => closeWorker(w, graceMs)));
      await Promise.all([pollQueue.close(), artifactsQueue.close(), locateQueue.close()]);
    },
  };
  return follower;
}
