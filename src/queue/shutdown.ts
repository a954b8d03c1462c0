// Bounded shutdown of a BullMQ Worker. Worker.close() waits for every running job to finish, however long
// that takes: a drift poll or a promotion step waiting out a GitHub or Kubernetes outage (the retry plugin's
// backoff alone is 14 s per request) kept a stopping worker alive past Kubernetes' grace period, where it
// is killed without closing anything. Here the worker stops taking jobs, waits for the running ones at
// most `graceMs`, then closes without waiting. A job cut off that way keeps its lock until the lock
// expires and is then taken over by another replica as a stalled job, exactly as after a crash; every job
// of the bot is written to be run again (idempotent keys, state read back from Kargo and GitHub).
import type { Worker } from 'bullmq';

/** Default wait for running jobs: well inside Kubernetes' default 30 s terminationGracePeriodSeconds. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 20_000;

export type CloseOutcome = 'drained' | 'cut-off';

export async function closeWorker(
  worker: Worker,
  graceMs: number = DEFAULT_SHUTDOWN_GRACE_MS,
): Promise<CloseOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'cut-off'>((resolve) => {
    timer = setTimeout(() => resolve('cut-off'), graceMs);
  });
  // pause() stops fetching new jobs and resolves when the running ones have finished.
  const drained = worker.pause().then(
    () => 'drained' as const,
    () => 'drained' as const,
  );
  const outcome = await Promise.race([drained, expired]);
  clearTimeout(timer);
  await worker.close(outcome === 'cut-off');
  return outcome;
}
