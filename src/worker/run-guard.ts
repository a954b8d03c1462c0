// Kargo and GitHub must never disagree about whether prod runs. When a Promotion ends without its GitHub run
// having ended — aborted from anywhere (the bot's /cancel, the Kargo UI or CLI), `waitRun` timed out or
// errored, the Promotion deleted — the run could still reach its apply. This stops it:
//
//   1. a run that already ended: nothing to do (recorded as such);
//   2. protection-rule mode, a deployment waiting for the bot's rule: reject it (the App may, with its
//      installation token: Deployments write) — the gated job then never runs;
//   3. cancel the run (Actions: write on the App or token);
//   4. if GitHub refuses or cannot be reached after the job's retries, the card says "unknown — run still
//      going" and #infra-alerts gets the run link (publication.ts); the run keeps being followed until it
//      really ends.
import { UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { getRunFacts, reviewCustomGate } from '../approvals/github.js';
import type { CardService } from '../cards/service.js';
import type { CardStore } from '../cards/store.js';
import type { Card } from '../domain/card.js';
import type { RunStopAttempted } from '../domain/events.js';
import { GithubError, toGithubError, type GithubClient } from '../github/client.js';

export interface StopRunJob {
  cardId: string;
  runId: number;
}

export interface RunGuardDeps {
  store: CardStore;
  cards: CardService;
  /** An installation-token client; throws when GitHub is not configured. */
  github: () => GithubClient;
  repo: { owner: string; repo: string };
  approvalMode?: 'protection-rule' | 'reviewer';
  logger: Logger;
  now?: () => Date;
}

const why = (card: Card): string =>
  card.cancel
    ? `cancelled in Slack by ${card.cancel.by.slackUserName ?? card.cancel.by.slackUserId}`
    : `ended in Kargo as ${card.phase}${card.phaseMessage ? ` (${card.phaseMessage.slice(0, 200)})` : ''}`;

/** One attempt; throws to be retried. `final` records the failure on the card instead of throwing. */
export async function processStopRun(
  job: StopRunJob,
  deps: RunGuardDeps,
  attempt: { final: boolean },
): Promise<RunStopAttempted['outcome']> {
  const at = (deps.now ?? (() => new Date()))().toISOString();
  const card = await deps.store.load(job.cardId);
  if (!card) throw new UnrecoverableError(`no card ${job.cardId}`);
  const record = async (outcome: RunStopAttempted['outcome'], detail: string) => {
    await deps.cards.record({
      type: 'RunStopAttempted',
      id: `run-stop:${job.runId}:${outcome}${outcome === 'failed' ? `:${at}` : ''}`,
      cardId: job.cardId,
      at,
      runId: job.runId,
      outcome,
      detail,
    });
    return outcome;
  };
  if (card.run?.status === 'completed') return record('already-ended', 'the run had already ended');

  const reason = `Promotion ${card.promotion?.name ?? card.id} ${why(card)}`;
  try {
    const github = deps.github();
    const run = await getRunFacts(github, deps.repo, job.runId);
    if (run.status === 'completed') {
      return record('already-ended', `the run had already ended (${run.conclusion ?? 'completed'})`);
    }
    let rejected = false;
    const environment = card.approval?.environment ?? card.environment;
    if (deps.approvalMode === 'protection-rule' && environment && run.status === 'waiting') {
      try {
        await reviewCustomGate(github, deps.repo, {
          runId: job.runId,
          environment,
          state: 'rejected',
          comment: `Rejected by the ChatOps bot: ${reason}.`,
        });
        rejected = true;
      } catch (error) {
        // 422: nothing of ours waits (another rule, or decided already): cancelling still stops the run.
        if (!(error instanceof GithubError && error.status === 422)) throw error;
      }
    }
    try {
      await github.rest.actions.cancelWorkflowRun({ ...deps.repo, run_id: job.runId });
    } catch (error) {
      const e = toGithubError(error, `cancel run ${job.runId}`);
      // 409: the run completed meanwhile (a rejected deployment ends it at once).
      if (e.status === 409 && !rejected) {
        return record('already-ended', 'the run had ended by the time it was cancelled');
      }
      if (!rejected) throw e;
      if (e.status !== 409) {
        deps.logger.warn(
          { err: e, runId: job.runId },
          'deployment rejected but the run could not be cancelled',
        );
      }
    }
    deps.logger.info(
      { runId: job.runId, cardId: job.cardId, rejected },
      'stopped a run that outlived its promotion',
    );
    return record(
      rejected ? 'rejected' : 'cancelled',
      rejected
        ? `its waiting deployment was rejected and the run cancelled: ${reason}`
        : `the run was cancelled: ${reason}`,
    );
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (!attempt.final) throw error;
    deps.logger.error({ err: error, runId: job.runId }, 'could not stop a run that outlived its promotion');
    return record(
      'failed',
      `GitHub did not let the bot stop it (${message.slice(0, 200)}); cancel it on GitHub, or reject its deployment`,
    );
  }
}
