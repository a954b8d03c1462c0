// The `freight` job: what is in the project and where it stands, answered to the requester (ephemeral)
// or to the whole channel with `/freight share`.
import type { Logger } from 'pino';
import { buildFreightView, renderFreightView } from '../domain/freight-view.js';
import type { KargoGateway } from '../kargo/gateway.js';
import type { FreightJob } from '../queue/jobs.js';
import type { Responder } from './responder.js';

export interface FreightDeps {
  kargo: KargoGateway;
  responder: Responder;
  logger: Logger;
  /** Kargo project name, shown in the header. */
  project: string;
  now?: () => Date;
}

export async function processFreight(job: FreightJob, deps: FreightDeps): Promise<void> {
  const now = (deps.now ?? (() => new Date()))();
  const [freight, stages] = await Promise.all([deps.kargo.listFreight(), deps.kargo.listStages()]);
  const view = buildFreightView(freight, stages, job.limit, now);
  const message = renderFreightView(view, { title: `Freight in ${deps.project}` });
  await deps.responder.reply(job.reply.responseUrl, {
    text: message.text,
    blocks: message.blocks,
    visibility: job.share ? 'in_channel' : 'ephemeral',
  });
}
