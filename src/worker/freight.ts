// The `freight` job: what is in the project and where it stands, answered to the requester (ephemeral)
// or to the whole channel with `/freight share`.
import type { Logger } from 'pino';
import { sectionBlock, type ButtonElement } from '../domain/blockkit.js';
import { newestCandidate } from '../domain/availability.js';
import { releaseHoldButton } from '../domain/hold-release.js';
import { buildFreightView, renderFreightView } from '../domain/freight-view.js';
import { freightWordOf } from '../domain/format.js';
import { freezeLine } from '../domain/freeze.js';
import { holdLine } from '../domain/status.js';
import { ENVIRONMENTS, type Environment } from '../domain/types.js';
import type { FreezeStore } from './freeze-store.js';
import type { KargoGateway } from '../kargo/gateway.js';
import type { FreightJob } from '../queue/jobs.js';
import type { Responder } from './responder.js';

export interface FreightDeps {
  kargo: KargoGateway;
  responder: Responder;
  logger: Logger;
  /** Kargo project name, shown in the header. */
  project: string;
  /** A freeze in force, and Kargo's auto-promotion holds, lead the answer. */
  freezes?: Pick<FreezeStore, 'active'>;
  stages?: Record<Environment, string>;
  now?: () => Date;
}

export async function processFreight(job: FreightJob, deps: FreightDeps): Promise<void> {
  const now = (deps.now ?? (() => new Date()))();
  const [freight, stages] = await Promise.all([deps.kargo.listFreight(), deps.kargo.listStages()]);
  const view = buildFreightView(freight, stages, job.limit, now);
  const message = renderFreightView(view, { title: `Freight in ${deps.project}` });
  const notices: string[] = [];
  // A held stage offers to release the hold: promote its newest candidate (hold-release.ts).
  const releases: ButtonElement[] = [];
  for (const environment of ENVIRONMENTS) {
    const freeze = await deps.freezes?.active(environment, now);
    if (freeze) notices.push(freezeLine(freeze, now));
    const stage = stages.find((s) => s.name === deps.stages?.[environment]);
    if (!stage) continue;
    for (const hold of stage.autoPromotionHolds ?? []) {
      const alias = freight.find((f) => f.name === hold.freightName)?.alias;
      notices.push(
        holdLine(environment, stage.name, { ...hold, freight: freightWordOf(hold.freightName, alias) }),
      );
    }
    const candidate = stage.autoPromotionHolds?.length ? newestCandidate(stage, freight, now) : undefined;
    if (candidate) {
      releases.push({
        ...releaseHoldButton({ environment, freight: candidate.alias ?? candidate.name }),
        text: { type: 'plain_text', text: `Release ${environment} hold`, emoji: true },
      });
    }
  }
  const [header, ...rest] = message.blocks;
  const leading = [
    ...(notices.length > 0 ? [sectionBlock(notices.join('\n'))] : []),
    ...(releases.length > 0 ? [{ type: 'actions' as const, elements: releases }] : []),
  ];
  await deps.responder.reply(job.reply.responseUrl, {
    text: message.text,
    blocks: leading.length > 0 && header ? [header, ...leading, ...rest] : message.blocks,
    visibility: job.share ? 'in_channel' : 'ephemeral',
  });
}
