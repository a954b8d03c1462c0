// Which runs of the pipeline workflow touch an environment right now: /unlock refuses while one is in
// progress, and names the run that holds a lock. Runs are told apart by the workflow's run-name
// (`terraform <env> promotion=… deploy_prod=…`). GitHub errors propagate: the caller fails closed.
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { Environment } from '../domain/types.js';
import { createGithubClient } from '../github/client.js';
import { parseRunName } from '../github/webhooks.js';
import type { RecentRun } from '../locks/types.js';

const ACTIVE = ['queued', 'in_progress', 'waiting', 'requested', 'pending'] as const;

export interface RunStatusSource {
  isRunInProgress(environment: Environment): Promise<{ inProgress: boolean; runUrl?: string }>;
  recentRuns(environment: Environment): Promise<RecentRun[]>;
}

export function githubRunStatus(config: Config, logger: Logger): RunStatusSource {
  const octokit = createGithubClient(config.github, { logger });
  const repo = { owner: config.github.owner, repo: config.github.repo, workflow_id: config.github.workflow };
  const forEnvironment = (title: string | null | undefined, env: Environment) =>
    parseRunName(title)?.environment === env;

  return {
    async isRunInProgress(environment) {
      for (const status of ACTIVE) {
        const res = await octokit.rest.actions.listWorkflowRuns({ ...repo, status, per_page: 100 });
        const run = res.data.workflow_runs.find((r) =>
          forEnvironment(r.display_title ?? r.name, environment),
        );
        if (run) return { inProgress: true, runUrl: run.html_url };
      }
      return { inProgress: false };
    },
    async recentRuns(environment) {
      const res = await octokit.rest.actions.listWorkflowRuns({ ...repo, per_page: 30 });
      return res.data.workflow_runs
        .filter((r) => forEnvironment(r.display_title ?? r.name, environment))
        .map((r) => ({
          id: r.id,
          htmlUrl: r.html_url,
          status: r.status ?? 'unknown',
          conclusion: r.conclusion,
          startedAt: r.run_started_at ?? r.created_at,
          ...(r.status === 'completed' ? { completedAt: r.updated_at } : {}),
          ...(r.display_title ? { title: r.display_title } : {}),
          runNumber: r.run_number,
        }));
    },
  };
}
