// Drift runs (.github/workflows/drift.yaml) are not promotions: no card follows them. The webhook router
// (worker/github-follow.ts) hands their workflow_run deliveries here; when a run completes its drift
// artifacts are read, validated against schemas/drift.schema.json, folded into the stored state, and
// #infra-alerts is told what changed (domain/drift.ts decides what, with one card per environment).
//
// Without a webhook secret, a bounded poll replaces the deliveries: one request per interval for the newest
// completed drift run (the workflow is scheduled, so minutes of delay cost nothing).
//
// GitHub requests per drift check: 1 artifact list + 1 per artifact download (2 with aws dev and prod;
// the download's storage redirect is not an API request); the poll adds 1 per interval. App auth adds the
// installation token when the follower's client has none yet (one per hour at most: the client is kept).
// A missing or malformed artifact is a clear log line and no card for that target, never a crash.
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { DeployEnvironment, DriftReport } from '../artifacts/types.js';
import { validateArtifact } from '../artifacts/validate.js';
import type { AuditSink } from '../cards/service.js';
import type { Config } from '../config/load.js';
import {
  DRIFT_TARGETS,
  DRIFT_WORKFLOW_FILE,
  DRIFT_WORKFLOW_PATH,
  applyDriftCheck,
  decideDrift,
  driftArtifactName,
  driftAuditRecord,
  driftCardKey,
  environmentDrift,
  parseDriftArtifactName,
  renderDriftCard,
  renderDriftChange,
  type DriftCheck,
  type DriftDecision,
  type DriftEpisode,
  type DriftTargetState,
  type EnvironmentDrift,
} from '../domain/drift.js';
import { createGithubClient, toGithubError, type GithubClient } from '../github/client.js';
import { ArtifactDownloadError, GithubRuns, type RunArtifact } from '../github/runs.js';
import type { PostRequest, UpsertRequest } from '../slack/notifier.js';
import { DriftStore } from './store.js';
import { closeWorker } from '../queue/shutdown.js';

export const DRIFT_QUEUE = 'drift';
const POLL_SCHEDULER = 'drift-poll';

export interface DriftFollowerOptions {
  config: Pick<Config, 'github'>;
  redis: Redis;
  prefix: string;
  logger: Logger;
  /** #infra-alerts through the notifier (post/upsert once per key). */
  notifier: { upsert(req: UpsertRequest): Promise<unknown>; post(req: PostRequest): Promise<unknown> };
  audit: AuditSink;
  /** How long drift state and episodes are kept after their last check (retention.ts: the card retention). */
  ttlSeconds: number;
  /**
   * Poll for the newest completed drift run every this many ms. Default: 30 minutes without a webhook
   * secret, off (0) with one (the deliveries say when a run completes).
   */
  pollEveryMs?: number;
  /** Attempts to read a run's artifacts before a missing one is reported (they may be late). Default 4. */
  artifactAttempts?: number;
  /** First backoff between those attempts (ms). Default 15 s. */
  artifactBackoffMs?: number;
  /** Test hook: retry-after unit for the GitHub client (ms per second). */
  retryAfterUnitMs?: number;
}

export interface DriftFollower {
  /** Whether a webhook delivery belongs to the drift workflow (then it is this module's, not a card's). */
  claims(event: string, payload: unknown): boolean;
  /** A claimed delivery: on workflow_run.completed the run's artifacts are read (idempotent per attempt). */
  onDelivery(event: string, payload: unknown, deliveryId: string): Promise<void>;
  /** The latest drift of each environment (for /drift). */
  status(): Promise<EnvironmentDrift[]>;
  /** GitHub API requests made so far (reading runs and polling). */
  requests(): number;
  /** A running poll or read gets `graceMs` to finish (src/queue/shutdown.ts). */
  close(graceMs?: number): Promise<void>;
}

type DriftJob = { kind: 'run'; runId: number; runUrl?: string } | { kind: 'poll' };

interface RunLike {
  id?: unknown;
  run_attempt?: unknown;
  html_url?: unknown;
  path?: unknown;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** `.github/workflows/drift.yaml`, possibly with `@<ref>` as GitHub writes it for some runs. */
const isDriftPath = (path: unknown): boolean =>
  typeof path === 'string' && (path === DRIFT_WORKFLOW_PATH || path.startsWith(`${DRIFT_WORKFLOW_PATH}@`));

export function isDriftRunDelivery(event: string, payload: unknown): boolean {
  if (event !== 'workflow_run' || !isRecord(payload)) return false;
  const run = isRecord(payload.workflow_run) ? (payload.workflow_run as RunLike) : undefined;
  const workflow = isRecord(payload.workflow) ? payload.workflow : undefined;
  return isDriftPath(run?.path) || isDriftPath(workflow?.path);
}

export const ENVIRONMENTS_CHECKED: readonly DeployEnvironment[] = ['dev', 'prod'];

export function startDriftFollower(options: DriftFollowerOptions): DriftFollower {
  const { redis, prefix, logger: parent, config } = options;
  const logger = parent.child({ component: 'drift' });
  const store = new DriftStore(redis, prefix, options.ttlSeconds);
  const queue = new Queue<DriftJob>(DRIFT_QUEUE, { connection: redis, prefix });
  let requestCount = 0;
  let client: GithubClient | undefined;
  /** One client for the follower's life: its installation token is reused until it expires. */
  const github = (): GithubClient => {
    if (!client) {
      client = createGithubClient(config.github, {
        logger,
        ...(options.retryAfterUnitMs ? { retryAfterUnitMs: options.retryAfterUnitMs } : {}),
      });
      client.hook.before('request', () => {
        requestCount += 1;
      });
    }
    return client;
  };
  const runs = (): GithubRuns =>
    new GithubRuns(github(), {
      owner: config.github.owner,
      repo: config.github.repo,
      workflow: DRIFT_WORKFLOW_FILE,
      logger,
    });

  const attempts = options.artifactAttempts ?? 4;
  const enqueueRun = async (runId: number, attempt: number, runUrl: string | undefined): Promise<void> => {
    await queue.add(
      'run',
      { kind: 'run', runId, ...(runUrl ? { runUrl } : {}) },
      {
        jobId: `drift-run-${runId}-${attempt}`,
        attempts,
        backoff: { type: 'exponential', delay: options.artifactBackoffMs ?? 15_000 },
        removeOnComplete: { age: 7 * 24 * 3600, count: 1_000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
      },
    );
  };

  /** The drift reports of a run: every valid artifact; problems logged (no card for those targets). */
  const readReports = async (runId: number, final: boolean): Promise<DriftReport[]> => {
    const reader = runs();
    const listed = await reader.listArtifacts(runId);
    const newest = new Map<string, RunArtifact>();
    for (const a of listed) {
      if (!parseDriftArtifactName(a.name)) continue;
      // Re-runs leave several artifacts of one name: the newest counts.
      const seen = newest.get(a.name);
      const [at, seenAt] = [Date.parse(a.created_at ?? ''), Date.parse(seen?.created_at ?? '')];
      if (!seen || at > seenAt || (a.created_at === seen.created_at && a.id > seen.id)) newest.set(a.name, a);
    }
    const missing = DRIFT_TARGETS.filter((t) => !t.enabledBy && !newest.has(driftArtifactName(t)));
    if (missing.length > 0 && !final) {
      // Uploads may land after the run reports completed: retry before calling them missing.
      throw new Error(`drift artifacts not there yet: ${missing.map(driftArtifactName).join(', ')}`);
    }
    for (const t of missing) {
      logger.error(
        { runId, artifact: driftArtifactName(t) },
        'drift artifact missing from the run: no drift card for it (did its job run?)',
      );
    }
    const reports: DriftReport[] = [];
    for (const [name, artifact] of newest) {
      const target = parseDriftArtifactName(name)!;
      const problem = (detail: string): void =>
        logger.error({ runId, artifact: name, detail }, 'drift artifact unusable: no drift card for it');
      if (artifact.expired) {
        problem(`expired${artifact.expires_at ? ` at ${artifact.expires_at}` : ''}`);
        continue;
      }
      let text: string;
      try {
        text = await reader.downloadArtifact(artifact.id, { file: 'drift.json' });
      } catch (error) {
        if (error instanceof ArtifactDownloadError) {
          problem(`${error.problem}: ${error.message}`);
          continue;
        }
        throw error;
      }
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (error) {
        problem(`not JSON: ${(error as Error).message}`);
        continue;
      }
      const checked = validateArtifact('drift', data);
      if (!checked.ok) {
        problem(`does not match schemas/drift.schema.json: ${checked.errors.slice(0, 5).join('; ')}`);
        continue;
      }
      if (checked.value.cloud !== target.cloud || checked.value.environment !== target.environment) {
        problem(`${name} holds a report for ${checked.value.cloud}/${checked.value.environment}`);
        continue;
      }
      reports.push(checked.value);
    }
    return reports;
  };

  /** Tells #infra-alerts (and the audit stream, first) about one environment's decision. */
  const publish = async (
    decision: DriftDecision,
    before: EnvironmentDrift,
    after: EnvironmentDrift,
  ): Promise<DriftEpisode | undefined> => {
    if (decision.kind === 'none') return undefined;
    const record = driftAuditRecord(decision, after);
    if (record) await options.audit.append(record);
    const { episode } = decision;
    const key = driftCardKey(episode);
    const card = renderDriftCard(episode, after);
    await options.notifier.upsert({
      channel: 'alerts',
      key,
      text: card.text,
      blocks: card.blocks,
      version: episode.version,
    });
    if (decision.kind === 'changed') {
      await options.notifier.post({
        channel: 'alerts',
        key: `${key}-change-${episode.version}`,
        threadKey: key,
        text: renderDriftChange(before.resources, after),
      });
    }
    return episode;
  };

  const readRun = async (job: Job<DriftJob>, runId: number, runUrl: string | undefined): Promise<void> => {
    const startedWith = requestCount;
    const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const reports = await readReports(runId, final);
    const ran = await store.withLock(async () => {
      const states = await store.targets();
      const byKey = new Map(states.map((s) => [`${s.cloud}-${s.environment}`, s]));
      for (const report of reports) {
        const check: DriftCheck = { report, runId, ...(runUrl ? { runUrl } : {}) };
        const key = `${report.cloud}-${report.environment}`;
        byKey.set(key, applyDriftCheck(byKey.get(key), check));
      }
      const next: DriftTargetState[] = [...byKey.values()];
      const decisions: Array<{ environment: DeployEnvironment; kind: DriftDecision['kind'] }> = [];
      for (const environment of ENVIRONMENTS_CHECKED) {
        if (!reports.some((r) => r.environment === environment)) continue;
        const before = environmentDrift(environment, states);
        const after = environmentDrift(environment, next);
        const last = await store.episode(environment);
        const decision = decideDrift(last, after);
        decisions.push({ environment, kind: decision.kind });
        const episode = await publish(decision, before, after);
        if (episode) await store.saveEpisode(episode);
        else if (last && !last.resolvedAt) await store.touchEpisode(environment);
      }
      for (const state of next) await store.saveTarget(state);
      await store.markRead(runId);
      logger.info(
        {
          runId,
          reports: reports.map((r) => `${r.cloud}/${r.environment}: ${r.status}`),
          decisions,
          githubRequests: requestCount - startedWith,
        },
        'drift run read',
      );
    });
    if (!ran) throw new Error('another worker is recording drift right now: trying again shortly');
  };

  const poll = async (): Promise<void> => {
    if (config.github.auth.kind === 'none') return;
    let res;
    try {
      res = await github().rest.actions.listWorkflowRuns({
        owner: config.github.owner,
        repo: config.github.repo,
        workflow_id: DRIFT_WORKFLOW_FILE,
        status: 'completed',
        exclude_pull_requests: true,
        per_page: 1,
      });
    } catch (error) {
      throw toGithubError(error, `list runs of ${DRIFT_WORKFLOW_FILE}`);
    }
    const run = res.data.workflow_runs[0];
    if (!run || (await store.wasRead(run.id))) return;
    logger.info({ runId: run.id }, 'drift run found by polling: reading its artifacts');
    await enqueueRun(run.id, run.run_attempt ?? 1, run.html_url);
  };

  const worker = new Worker<DriftJob>(
    DRIFT_QUEUE,
    async (job) => {
      const data = job.data;
      if (data.kind === 'poll') return poll();
      if (data.kind === 'run') return readRun(job, data.runId, data.runUrl);
      throw new UnrecoverableError(`unknown drift job ${JSON.stringify(data)}`);
    },
    { connection: redis, prefix, concurrency: 1 },
  );
  worker.on('error', (err) => logger.warn({ err }, 'drift worker error'));
  worker.on('failed', (job, err) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1))
      logger.error({ job: job.data, err: err.message }, 'drift job failed for good');
  });

  const pollEveryMs = options.pollEveryMs ?? (config.github.webhookSecret ? 0 : 30 * 60_000);
  const scheduling =
    pollEveryMs > 0 && config.github.auth.kind !== 'none'
      ? queue.upsertJobScheduler(
          POLL_SCHEDULER,
          { every: pollEveryMs },
          {
            name: 'poll',
            data: { kind: 'poll' },
            opts: {
              removeOnComplete: { age: 24 * 3600, count: 100 },
              removeOnFail: { age: 7 * 24 * 3600, count: 100 },
            },
          },
        )
      : queue.removeJobScheduler(POLL_SCHEDULER);
  void scheduling.catch((err: unknown) => logger.warn({ err }, 'could not set up drift polling'));
  if (pollEveryMs > 0 && config.github.auth.kind === 'none')
    logger.warn('drift: no GitHub credentials, so drift runs are not polled');

  return {
    claims: isDriftRunDelivery,
    async onDelivery(event, payload, deliveryId) {
      const run =
        isRecord(payload) && isRecord(payload.workflow_run) ? (payload.workflow_run as RunLike) : {};
      const action = isRecord(payload) ? payload.action : undefined;
      if (action !== 'completed' || typeof run.id !== 'number') {
        logger.debug({ deliveryId, action }, 'drift run delivery: nothing to read yet');
        return;
      }
      const attempt = typeof run.run_attempt === 'number' ? run.run_attempt : 1;
      await enqueueRun(run.id, attempt, typeof run.html_url === 'string' ? run.html_url : undefined);
      logger.info({ deliveryId, runId: run.id }, 'drift run completed: reading its drift artifacts');
    },
    async status() {
      const states = await store.targets();
      return ENVIRONMENTS_CHECKED.map((environment) => environmentDrift(environment, states));
    },
    requests: () => requestCount,
    async close(graceMs) {
      await scheduling.catch(() => undefined);
      await closeWorker(worker, graceMs);
      await queue.close();
    },
  };
}
