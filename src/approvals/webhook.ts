// GitHub deliveries that open an approval (already verified on the raw body and de-duplicated on
// X-GitHub-Delivery by the web process, as every delivery):
//
//   protection-rule mode: `deployment_protection_rule` (requested) — GitHub asks the bot's App. The run id
//     comes from deployment_callback_url (…/actions/runs/<id>/deployment_protection_rule), the environment
//     from `environment`, the wait from the deployment's id;
//   reviewer mode: `workflow_job` (waiting) of the prod apply job — the environment's required reviewers
//     are asked; the wait is the job's id. GitHub delivers `waiting` twice: same event id, nothing twice.
//
// Either becomes one ApprovalRequested on the card that follows the run (with the buttons' nonce, minted
// once per wait), the approval is indexed as waiting, its reminder scheduled, and the preview plan summary
// (plan-summary-<cloud>-<env>, uploaded by the prod gates job before the wait) is read so the card shows
// what would be applied. A delivery for a run no card follows is ignored and logged (and, for a protection
// rule, audited: that deployment waits for a decision nobody is offered).
import { validateArtifact } from '../artifacts/validate.js';
import type { PlanSummary } from '../artifacts/types.js';
import type { AuditRecord } from '../domain/audit.js';
import type { Card } from '../domain/card.js';
import type { ApprovalMode, ApprovalRequested, CardEvent } from '../domain/events.js';
import { JOBS } from '../domain/gates.js';
import { ENVIRONMENTS, type Environment } from '../domain/types.js';
import type { GithubClient } from '../github/client.js';
import { GithubRuns } from '../github/runs.js';
import { runIdOf } from '../github/webhooks.js';
import type { Logger } from '../logging.js';
import type { ApprovalsConfig } from './config.js';
import type { ApprovalState } from './state.js';
import { waitKey } from './state.js';

export interface ApprovalWebhookDeps {
  config: Pick<ApprovalsConfig, 'mode' | 'webUrl'>;
  github: { owner: string; repo: string; workflow: string };
  /** The card following a run (github-follow's run → card map; see cardForRunFrom). */
  cardForRun(runId: number): Promise<string | undefined>;
  cards: { load(cardId: string): Promise<Card | undefined>; record(event: CardEvent): Promise<unknown> };
  state: ApprovalState;
  audit: { append(record: AuditRecord): Promise<unknown> };
  reminders?: {
    schedule(input: {
      cardId: string;
      environment: Environment;
      wait: string;
      requestKey: string;
    }): Promise<void>;
  };
  /** The App's client, to read the preview plan summary. Optional: without it the card waits for the run's end. */
  installation?: () => GithubClient;
  logger: Logger;
  now?: () => Date;
}

export type ApprovalWebhookResult =
  { status: 'requested'; cardId: string; event: ApprovalRequested } | { status: 'ignored'; reason: string };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** github-follow.ts keeps run → card through CardStore.linkRun; this reads the same link. */
export const cardForRunFrom =
  (store: { cardForRun(runId: number): Promise<string | undefined> }) =>
  (runId: number): Promise<string | undefined> =>
    store.cardForRun(runId);

/** True for the deliveries this module handles (the lead routes them here, in addition to github-follow). */
export function isApprovalDelivery(event: string, payload: unknown): boolean {
  if (!isRecord(payload)) return false;
  if (event === 'deployment_protection_rule') return payload.action === 'requested';
  return event === 'workflow_job' && payload.action === 'waiting';
}

export async function handleApprovalDelivery(
  event: string,
  payload: unknown,
  deliveryId: string,
  deps: ApprovalWebhookDeps,
): Promise<ApprovalWebhookResult> {
  const { logger } = deps;
  const ignore = (
    reason: string,
    fields: Record<string, unknown> = {},
    level: 'info' | 'debug' = 'info',
  ): ApprovalWebhookResult => {
    logger[level]({ deliveryId, event, ...fields }, `approval delivery ignored: ${reason}`);
    return { status: 'ignored', reason };
  };
  if (!isApprovalDelivery(event, payload) || !isRecord(payload)) return ignore('not an approval request');

  const mode: ApprovalMode = event === 'deployment_protection_rule' ? 'protection-rule' : 'reviewer';
  if (mode !== deps.config.mode) {
    if (mode === 'protection-rule') {
      logger.warn(
        { deliveryId, environment: payload.environment },
        'deployment_protection_rule delivery while APPROVAL_MODE=reviewer: the App is configured as a protection rule on GitHub but the bot does not decide it',
      );
    }
    // Every waiting job is delivered in protection-rule mode too: not worth an info line each.
    return ignore(`APPROVAL_MODE is ${deps.config.mode}`, {}, mode === 'reviewer' ? 'debug' : 'info');
  }

  const runId = runIdOf(event, payload);
  if (runId === undefined) return ignore('the delivery names no workflow run');

  let environment: Environment | undefined;
  let requestKey: string;
  let requestedAt: string;
  let callbackUrl: string | undefined;
  if (mode === 'protection-rule') {
    environment = ENVIRONMENTS.find((e) => e === payload.environment);
    const deployment = isRecord(payload.deployment) ? payload.deployment : {};
    requestKey = `deployment:${typeof deployment.id === 'number' ? deployment.id : `delivery-${deliveryId}`}`;
    requestedAt =
      typeof deployment.created_at === 'string'
        ? deployment.created_at
        : (deps.now?.() ?? new Date()).toISOString();
    callbackUrl =
      typeof payload.deployment_callback_url === 'string' ? payload.deployment_callback_url : undefined;
  } else {
    const job = isRecord(payload.workflow_job) ? payload.workflow_job : {};
    if (typeof job.name !== 'string' || !job.name.startsWith(JOBS.awsProdApply)) {
      return ignore('a waiting job that is not the prod apply job', { runId, job: job.name });
    }
    environment = 'prod';
    requestKey = `job:${String(job.id)}`;
    const when = job.started_at ?? job.created_at;
    requestedAt = typeof when === 'string' ? when : (deps.now?.() ?? new Date()).toISOString();
  }
  if (!environment)
    return ignore('an environment the bot does not promote to', { runId, environment: payload.environment });

  const cardId = await deps.cardForRun(runId);
  if (!cardId) {
    if (mode === 'protection-rule') {
      await deps.audit.append({
        id: `approval-unknown-run:${deliveryId}`,
        at: (deps.now?.() ?? new Date()).toISOString(),
        actor: 'system',
        action: 'approval.requested',
        environment,
        target: String(runId),
        outcome: 'info',
        detail: `GitHub asked the bot to decide the ${environment} deployment of run ${runId}, which no promotion card follows (not started through the bot). Not offered for approval; it waits on GitHub.`,
      });
    }
    return ignore('a run no promotion card follows', { runId, environment });
  }

  const nonce = await deps.state.nonceFor({ cardId, environment, runId, requestKey });
  const reviewUrl = `${deps.config.webUrl}/${deps.github.owner}/${deps.github.repo}/actions/runs/${runId}`;
  const requested: ApprovalRequested = {
    type: 'ApprovalRequested',
    id: `approval-requested:${waitKey(runId, environment, requestKey)}`,
    cardId,
    at: requestedAt,
    runId,
    environment,
    mode,
    requestedAt,
    requestKey,
    ...(callbackUrl ? { deploymentCallbackUrl: callbackUrl } : {}),
    reviewUrl,
    nonce,
  };
  await deps.cards.record(requested);
  const card = await deps.cards.load(cardId);
  if (card?.approval?.requestKey === requestKey && card.approval.status === 'waiting') {
    await deps.state.markWaiting(cardId, environment, requestedAt);
    await deps.reminders?.schedule({
      cardId,
      environment,
      wait: waitKey(runId, environment, requestKey),
      requestKey,
    });
  }
  if (card && deps.installation) await recordPreviewPlan(card, runId, environment, deps);
  return { status: 'requested', cardId, event: requested };
}

/** The preview plan (uploaded before the wait) on the card: best effort, never fails the delivery. */
async function recordPreviewPlan(
  card: Card,
  runId: number,
  environment: Environment,
  deps: ApprovalWebhookDeps,
): Promise<void> {
  if (card.plans.some((p) => p.environment === environment)) return;
  try {
    const runs = new GithubRuns((deps.installation as () => GithubClient)(), {
      ...deps.github,
      logger: deps.logger,
    });
    const artifacts = await runs.listArtifacts(runId);
    const wanted = artifacts
      .filter((a) => a.name.startsWith('plan-summary-') && a.name.endsWith(`-${environment}`) && !a.expired)
      .sort((a, b) => Date.parse(b.created_at ?? '') - Date.parse(a.created_at ?? ''));
    const seen = new Set<string>();
    for (const artifact of wanted) {
      if (seen.has(artifact.name)) continue;
      seen.add(artifact.name);
      const text = await runs.downloadArtifact(artifact.id, { file: 'plan-summary.json' });
      const checked = validateArtifact('plan-summary', JSON.parse(text) as unknown);
      if (!checked.ok) continue;
      const summary = checked.value as PlanSummary;
      await deps.cards.record({
        type: 'PlanSummarized',
        id: `plan-preview:${runId}:${summary.cloud}-${summary.environment}`,
        cardId: card.id,
        at: artifact.created_at ?? (deps.now?.() ?? new Date()).toISOString(),
        runId,
        summary,
      });
    }
  } catch (error) {
    deps.logger.warn(
      { err: error, runId, cardId: card.id },
      'could not read the preview plan summary for the approval',
    );
  }
}
