// A hand-built delivery history for the DORA tests: ten promotions written as the bot records them
// (CardEvent → auditRecordFor, the real mapping), with the numbers they must give worked out by hand.
//
//   days before NOW   card  env   freight (made)      outcome
//   40                p9    prod  D (41 d)            Succeeded                 outside 30 d, inside 90 d
//   19 (+2 h)         p1    prod  A (20 d)            Succeeded                 lead 26 h
//   14                p2    prod  B (15 d)            Failed                    incident opens
//   13                p3    prod  B                   Errored                   same incident
//   12                p4    prod  C (13 d)            Succeeded                 lead 24 h; restores: 48 h
//   10                p5    prod  C                   Aborted                   not counted (stopped on purpose)
//   8                 p6    prod  C                   Failed, approval rejected not counted (a decision)
//   5                 p7    dev   E (6 d)             Succeeded                 not counted (dev)
//   3                 p8    prod  C, via the Kargo UI Succeeded                 lead 10 d (freight C's time)
//   2                 p10   prod  C                   Failed (record written    incident open since then
//                                                     before `facts` existed)
//   (no phase)        p11   prod  —                   never became a Promotion  not counted
import type { AuditRecord } from '../../src/domain/audit.js';
import { auditRecordFor } from '../../src/domain/audit-records.js';
import type { CardEvent } from '../../src/domain/events.js';
import type { Environment, PromotionPhase } from '../../src/domain/types.js';

export const NOW = new Date('2026-12-01T00:00:00Z');
const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
export const daysAgo = (d: number, hours = 0): string =>
  new Date(NOW.getTime() - d * DAY + hours * HOUR).toISOString();

const FREIGHT: Record<string, { name: string; createdAt: string }> = {
  A: { name: 'a'.repeat(40), createdAt: daysAgo(20) },
  B: { name: 'b'.repeat(40), createdAt: daysAgo(15) },
  C: { name: 'c'.repeat(40), createdAt: daysAgo(13) },
  D: { name: 'd'.repeat(40), createdAt: daysAgo(41) },
  E: { name: 'e'.repeat(40), createdAt: daysAgo(6) },
};

interface Story {
  card: string;
  environment: Environment;
  freight: keyof typeof FREIGHT;
  /** false: created in Kargo directly (no /promote, no freight.resolved on the card). */
  viaBot?: boolean;
  outcome?: [PromotionPhase, string];
  approvalRejectedAt?: string;
  /** The phase record as written before `facts` existed. */
  oldFormat?: boolean;
}

function recordsOf(story: Story): AuditRecord[] {
  const { card: cardId, environment } = story;
  const f = FREIGHT[story.freight]!;
  const promotion = `${environment}.${cardId}.${f.name.slice(0, 7)}`;
  const start = story.outcome ? new Date(Date.parse(story.outcome[1]) - HOUR).toISOString() : daysAgo(1);
  const events: CardEvent[] = [];
  if (story.viaBot !== false) {
    events.push(
      {
        type: 'PromotionRequested',
        id: `request:${cardId}`,
        cardId,
        at: start,
        environment,
        stage: environment,
        freightQuery: 'latest',
        requestedBy: { slackUserId: 'U0ALICE' },
        sourceChannelId: 'C0DEPLOYS',
      },
      {
        type: 'FreightResolved',
        id: `resolved:${cardId}`,
        cardId,
        at: start,
        freight: {
          name: f.name,
          warehouse: 'infra',
          createdAt: f.createdAt,
          commits: [{ repoURL: 'https://github.com/acme/gitops-infra-pipeline.git', id: f.name }],
          currentlyIn: {},
          verifiedIn: {},
          approvedFor: {},
        },
      },
    );
  }
  if (story.outcome) {
    events.push(
      {
        type: 'PromotionCreated',
        id: `created:${promotion}`,
        cardId,
        at: start,
        promotionName: promotion,
        stage: environment,
        freightName: f.name,
      },
      {
        type: 'PromotionPhaseChanged',
        id: `phase:${promotion}:Running`,
        cardId,
        at: start,
        promotionName: promotion,
        phase: 'Running',
      },
    );
    if (story.approvalRejectedAt) {
      events.push({
        type: 'ApprovalDecided',
        id: `decided:${cardId}`,
        cardId,
        at: story.approvalRejectedAt,
        runId: 1,
        environment,
        decision: 'rejected',
        by: { slackUserId: 'U0BOB' },
        comment: 'not during the freeze',
      });
    }
    events.push({
      type: 'PromotionPhaseChanged',
      id: `phase:${promotion}:${story.outcome[0]}`,
      cardId,
      at: story.outcome[1],
      promotionName: promotion,
      phase: story.outcome[0],
    });
  } else {
    events.push({
      type: 'PromotionRejected',
      id: `rejected:${cardId}`,
      cardId,
      at: start,
      code: 'chatops_freight_not_available',
      reason: 'not verified in dev',
    });
  }
  const records = events.map(auditRecordFor);
  if (story.oldFormat) {
    for (const r of records) if (r.action === 'promotion.phase') delete r.facts;
  }
  return records;
}

const STORIES: Story[] = [
  { card: 'p9', environment: 'prod', freight: 'D', outcome: ['Succeeded', daysAgo(40)] },
  { card: 'p1', environment: 'prod', freight: 'A', outcome: ['Succeeded', daysAgo(19, 2)] },
  { card: 'p2', environment: 'prod', freight: 'B', outcome: ['Failed', daysAgo(14)] },
  { card: 'p3', environment: 'prod', freight: 'B', outcome: ['Errored', daysAgo(13)] },
  { card: 'p4', environment: 'prod', freight: 'C', outcome: ['Succeeded', daysAgo(12)] },
  { card: 'p5', environment: 'prod', freight: 'C', outcome: ['Aborted', daysAgo(10)] },
  {
    card: 'p6',
    environment: 'prod',
    freight: 'C',
    outcome: ['Failed', daysAgo(8)],
    approvalRejectedAt: daysAgo(8, -1),
  },
  { card: 'p7', environment: 'dev', freight: 'E', outcome: ['Succeeded', daysAgo(5)] },
  { card: 'p8', environment: 'prod', freight: 'C', viaBot: false, outcome: ['Succeeded', daysAgo(3)] },
  { card: 'p10', environment: 'prod', freight: 'C', outcome: ['Failed', daysAgo(2)], oldFormat: true },
  { card: 'p11', environment: 'prod', freight: 'C' },
];

/** Every record of the history, in the order the bot appended them. */
export const HISTORY: AuditRecord[] = STORIES.flatMap(recordsOf);

/** What the history must give, worked out by hand (see the table on top). */
export const EXPECTED = {
  30: {
    deployments: 3,
    failures: 3,
    finished: 6,
    changeFailureRate: 0.5,
    leadMedianHours: 26,
    leadP90Hours: 26 + (240 - 26) * 0.8,
    restoreMedianHours: 48,
    openSince: daysAgo(2),
    buckets: [0, 0, 1, 1, 1],
  },
  7: { deployments: 1, failures: 1, changeFailureRate: 0.5, restored: 0, buckets: [0, 0, 0, 1, 0, 0, 0] },
  90: { deployments: 4, leadMedianHours: 25, failures: 3 },
} as const;
