// The `stats` job (`/stats [7d|30d|90d]`): the delivery metrics of prod from the audit stream, after reading
// what was appended since the last refresh (bounded: src/audit/delivery.ts).
import { renderDoraStats, type DoraMetrics } from '../domain/dora.js';
import type { StatsJob } from '../queue/jobs.js';
import type { Responder } from './responder.js';

export interface StatsJobDeps {
  delivery: {
    refresh(): Promise<{ caughtUp: boolean }>;
    metrics(days: number): DoraMetrics;
  };
  responder: Responder;
}

export async function processStats(job: StatsJob, deps: StatsJobDeps): Promise<void> {
  const { caughtUp } = await deps.delivery.refresh();
  const message = renderDoraStats(deps.delivery.metrics(job.days));
  const note = caughtUp
    ? ''
    : '\n_Still reading older audit records: these numbers may grow over the next minutes._';
  await deps.responder.reply(job.reply.responseUrl, {
    text: `${message.text}${note}`,
    blocks:
      note === ''
        ? message.blocks
        : [...message.blocks, { type: 'context', elements: [{ type: 'mrkdwn', text: note.trim() }] }],
  });
}
