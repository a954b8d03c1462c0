// The GitHub calls of approvals, over the bot's Octokit (src/github/client.ts: throttling, retry, errors
// mapped to GithubError). Two identities:
//   - the App's installation client (createGithubClient(config.github)): reads runs, and decides the
//     App's own custom deployment protection rule — only installation tokens may (protection-rule mode);
//   - an approver's client (userClient): their GitHub App user access token, for pending deployments
//     (required reviewers accept humans only: reviewer mode) and GET /user when linking.
// Nothing here logs or returns a token.
import type { Config } from '../config/load.js';
import { createGithubClient, toGithubError, type GithubClient } from '../github/client.js';
import type { Logger } from '../logging.js';
import type { ApprovalDecision } from '../domain/events.js';

export interface RepoRef {
  owner: string;
  repo: string;
}

/** An Octokit acting as the approver (their user access token), built like the bot's own client. */
export function userClient(
  github: Config['github'],
  token: string,
  logger: Logger,
  options: { retryAfterUnitMs?: number } = {},
): GithubClient {
  return createGithubClient(
    { ...github, auth: { kind: 'token', token } },
    { logger, ...(options.retryAfterUnitMs ? { retryAfterUnitMs: options.retryAfterUnitMs } : {}) },
  );
}

/** What approvals need to know about a run. */
export interface RunFacts {
  id: number;
  status: string;
  conclusion?: string;
  attempt: number;
  /** Whoever triggered the latest attempt (four-eyes), else whoever started the run. */
  triggeredBy?: string;
  htmlUrl?: string;
}

export async function getRunFacts(octokit: GithubClient, repo: RepoRef, runId: number): Promise<RunFacts> {
  try {
    const { data } = await octokit.rest.actions.getWorkflowRun({ ...repo, run_id: runId });
    const triggeredBy = data.triggering_actor?.login ?? data.actor?.login;
    return {
      id: data.id,
      status: data.status ?? 'unknown',
      ...(data.conclusion ? { conclusion: data.conclusion } : {}),
      attempt: data.run_attempt ?? 1,
      ...(triggeredBy ? { triggeredBy } : {}),
      ...(data.html_url ? { htmlUrl: data.html_url } : {}),
    };
  } catch (error) {
    throw toGithubError(error, `get run ${runId}`);
  }
}

/**
 * Protection-rule mode: the App decides its own rule for `environment` of the run (204). The comment
 * names the approver: GitHub records the App as the one who decided.
 */
export async function reviewCustomGate(
  installation: GithubClient,
  repo: RepoRef,
  params: { runId: number; environment: string; state: ApprovalDecision; comment: string },
): Promise<void> {
  try {
    await installation.rest.actions.reviewCustomGatesForRun({
      ...repo,
      run_id: params.runId,
      environment_name: params.environment,
      state: params.state,
      comment: params.comment,
    });
  } catch (error) {
    throw toGithubError(
      error,
      `${params.state === 'approved' ? 'approve' : 'reject'} the ${params.environment} protection rule of run ${params.runId}`,
    );
  }
}

export interface PendingDeployment {
  environmentId: number;
  environment: string;
  currentUserCanApprove: boolean;
  waitTimerMinutes: number;
  reviewers: string[];
}

/** Reviewer mode: what the run waits for, as the caller (the approver) sees it. */
export async function getPendingDeployments(
  octokit: GithubClient,
  repo: RepoRef,
  runId: number,
): Promise<PendingDeployment[]> {
  try {
    const { data } = await octokit.rest.actions.getPendingDeploymentsForRun({ ...repo, run_id: runId });
    return data.map((p) => ({
      environmentId: p.environment.id ?? 0,
      environment: p.environment.name ?? '',
      currentUserCanApprove: p.current_user_can_approve,
      waitTimerMinutes: p.wait_timer,
      reviewers: p.reviewers
        .map((r) =>
          r.reviewer && 'login' in r.reviewer ? r.reviewer.login : (r.reviewer as { slug?: string })?.slug,
        )
        .filter((name): name is string => typeof name === 'string'),
    }));
  } catch (error) {
    throw toGithubError(error, `get the pending deployments of run ${runId}`);
  }
}

/** Reviewer mode: the approver decides the pending deployment(s), with their own identity. */
export async function reviewPendingDeployments(
  octokit: GithubClient,
  repo: RepoRef,
  params: { runId: number; environmentIds: number[]; state: ApprovalDecision; comment: string },
): Promise<void> {
  try {
    await octokit.rest.actions.reviewPendingDeploymentsForRun({
      ...repo,
      run_id: params.runId,
      environment_ids: params.environmentIds,
      state: params.state,
      comment: params.comment,
    });
  } catch (error) {
    throw toGithubError(error, `review the pending deployments of run ${params.runId}`);
  }
}

/** GET /user with a user token: who linked. */
export async function getAuthenticatedUser(octokit: GithubClient): Promise<{ login: string; id: number }> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    return { login: data.login, id: data.id };
  } catch (error) {
    throw toGithubError(error, 'get the authenticated user');
  }
}

/** GitHub's own message of a refusal (the first line of Octokit's error), for the user and the audit. */
export function githubMessage(error: unknown): string {
  const original = (error as { original?: { response?: { data?: { message?: unknown } } } }).original;
  const fromBody = original?.response?.data?.message;
  if (typeof fromBody === 'string' && fromBody.trim()) return fromBody.trim().split('\n')[0] ?? '';
  return error instanceof Error ? error.message : String(error);
}
