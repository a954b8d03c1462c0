// The `drift` job (`/drift [dev|prod]`): the latest drift check of each environment asked for, from what the
// drift follower stored (src/drift/). No GitHub call: the answer is as fresh as the last drift run.
import { renderDriftStatus, type EnvironmentDrift } from '../domain/drift.js';
import type { DriftJob } from '../queue/jobs.js';
import type { Responder } from './responder.js';

export interface DriftJobDeps {
  drift: { status(): Promise<EnvironmentDrift[]> };
  responder: Responder;
  now?: () => Date;
}

export async function processDrift(job: DriftJob, deps: DriftJobDeps): Promise<void> {
  const views = (await deps.drift.status()).filter(
    (v) => job.environment === undefined || v.environment === job.environment,
  );
  const message = renderDriftStatus(views, (deps.now ?? (() => new Date()))());
  await deps.responder.reply(job.reply.responseUrl, { text: message.text, blocks: message.blocks });
}
