import type { RunRef } from './types.js';

/** The current GitHub Actions job, from the runner's default environment variables (undefined locally). */
export function runRefFromEnv(env: NodeJS.ProcessEnv = process.env): RunRef | undefined {
  const id = Number(env.GITHUB_RUN_ID);
  if (!Number.isInteger(id) || id <= 0) return undefined;
  const attempt = Number(env.GITHUB_RUN_ATTEMPT ?? '1');
  const ref: RunRef = { id, attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1 };
  if (env.GITHUB_JOB) ref.job = env.GITHUB_JOB;
  if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY) {
    ref.url = `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${id}/attempts/${ref.attempt}`;
  }
  return ref;
}
