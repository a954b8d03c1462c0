// Delivery metrics — the DORA four — computed from the audit stream, the bot's record of every promotion.
// Pure: records in, numbers out (src/metrics/delivery.ts reads the stream and exports them; /stats shows them).
//
// Definitions (over a window of the last N days, ending now; prod only):
//   prod promotion        a card whose environment is prod (its `promote` request, or its Kargo Promotion
//                         created for the prod stage). Its outcome is its first terminal Promotion phase.
//   deployment            a prod promotion that ended Succeeded. Deployment frequency = deployments in the
//                         window ÷ its days (also shown per week).
//   lead time             from the freight's commit entering the pipeline to the deployment's success. Kargo
//                         records no commit timestamp, so the start is the Freight's creation by the
//                         Warehouse (within its discovery interval of the push): `commitAt` on the
//                         `freight.resolved` record of the card — or of any card with the same freight, for
//                         promotions made outside the bot. Median (and 90th percentile) of the deployments
//                         in the window whose start is known.
//   change failure rate   failed ÷ finished prod promotions in the window. Failed = ended Failed or Errored.
//                         Finished = Succeeded + Failed. Not counted at all: Aborted (someone stopped it on
//                         purpose: /cancel, Withdraw, the Kargo UI), a prod approval rejected by a person (a
//                         decision, not a failure), requests that never became a Promotion (a user's mistake).
//   time to restore       from the first failed prod promotion after a success to the next successful one
//                         (consecutive failures are one incident). Median over the incidents restored in the
//                         window; an incident still open is reported with its start.
// The stream keeps AUDIT_RETENTION_DAYS (default 400), so every window here (≤ 90 days) is complete once
// the reader has caught up.
import type { AuditRecord } from './audit.js';
import { contextBlock, headerBlock, sectionBlock, type SlackMessage } from './blockkit.js';
import { formatDuration } from './duration.js';
import type { Environment } from './types.js';

const DAY_MS = 24 * 3600 * 1000;

type TerminalPhase = 'Succeeded' | 'Failed' | 'Errored' | 'Aborted';
const TERMINAL: ReadonlySet<string> = new Set<TerminalPhase>(['Succeeded', 'Failed', 'Errored', 'Aborted']);

/** What one card contributes, gathered from its records. */
export interface PromotionFacts {
  cardId: string;
  environment?: Environment;
  freight?: string;
  commitAt?: string;
  phase?: TerminalPhase;
  finishedAt?: string;
  /** A person rejected its prod approval. */
  approvalRejected?: boolean;
}

/** The facts of every card seen so far, plus the commit time of every freight seen. */
export interface DeliveryHistory {
  promotions: Map<string, PromotionFacts>;
  freightCommitAt: Map<string, string>;
}

export const emptyDeliveryHistory = (): DeliveryHistory => ({
  promotions: new Map(),
  freightCommitAt: new Map(),
});

/** Phase sentences of records written before `facts.phase` existed (audit-records.ts PHASE_SENTENCE). */
const PHASE_IN_DETAIL = /^Promotion \S+ (succeeded|failed|errored|was aborted)\b/;
const PHASE_OF_SENTENCE: Readonly<Record<string, TerminalPhase>> = {
  succeeded: 'Succeeded',
  failed: 'Failed',
  errored: 'Errored',
  'was aborted': 'Aborted',
};

function phaseOf(record: AuditRecord): TerminalPhase | undefined {
  const phase = record.facts?.phase;
  if (phase !== undefined) return TERMINAL.has(phase) ? (phase as TerminalPhase) : undefined;
  const said = PHASE_IN_DETAIL.exec(record.detail)?.[1];
  return said ? PHASE_OF_SENTENCE[said] : undefined;
}

/**
 * Adds one record to the history (in stream order). Only the records that say something about a
 * promotion's environment, freight, outcome or approval are read; the rest are ignored. Idempotent: the
 * same record twice changes nothing (the first terminal phase stays, as on the card).
 */
export function addDeliveryRecord(history: DeliveryHistory, record: AuditRecord): void {
  const { cardId } = record;
  if (record.action === 'freight.resolved' && record.facts?.freight && record.facts.commitAt) {
    if (!history.freightCommitAt.has(record.facts.freight))
      history.freightCommitAt.set(record.facts.freight, record.facts.commitAt);
  }
  if (!cardId) return;
  const facts = (): PromotionFacts => {
    let p = history.promotions.get(cardId);
    if (!p) {
      p = { cardId };
      history.promotions.set(cardId, p);
    }
    return p;
  };
  switch (record.action) {
    case 'promote':
      if (record.outcome === 'accepted' && record.environment) facts().environment ??= record.environment;
      break;
    case 'promotion.created': {
      const p = facts();
      if (record.environment) p.environment ??= record.environment;
      if (record.facts?.freight) p.freight ??= record.facts.freight;
      break;
    }
    case 'freight.resolved': {
      const p = facts();
      if (record.facts?.freight) p.freight ??= record.facts.freight;
      if (record.facts?.commitAt) p.commitAt ??= record.facts.commitAt;
      break;
    }
    case 'promotion.phase': {
      const phase = phaseOf(record);
      const p = facts();
      if (phase && !p.phase) {
        p.phase = phase;
        p.finishedAt = record.at;
      }
      break;
    }
    case 'reject':
      if (record.outcome === 'rejected') facts().approvalRejected = true;
      break;
    default:
      break;
  }
}

/** Forgets cards that ended before `before` (ms): the reader keeps the history bounded. */
export function pruneDeliveryHistory(history: DeliveryHistory, before: number): void {
  for (const [id, p] of history.promotions) {
    if (p.finishedAt && Date.parse(p.finishedAt) < before) history.promotions.delete(id);
  }
}

export interface DoraMetrics {
  days: number;
  from: string;
  to: string;
  /** Successful prod promotions in the window. */
  deployments: number;
  deploymentsPerDay: number;
  leadTime: { medianSeconds?: number; p90Seconds?: number; measured: number };
  /** failed ÷ finished; undefined when nothing finished. */
  changeFailureRate?: number;
  failures: number;
  finished: number;
  timeToRestore: { medianSeconds?: number; restored: number; openSince?: string };
  /** Deployments per bucket, oldest first: daily for 7 days, weekly otherwise (the oldest week may be partial). */
  buckets: Array<{ from: string; to: string; deployments: number }>;
  bucketDays: 1 | 7;
}

/** The four metrics over the last `days` ending `now`, from a history (see the definitions on top). */
export function doraFrom(history: DeliveryHistory, options: { now: Date; days: number }): DoraMetrics {
  if (!(options.days >= 1)) throw new Error('doraFrom: days must be ≥ 1');
  const to = options.now.getTime();
  const from = to - options.days * DAY_MS;
  const inWindow = (iso: string | undefined): boolean => {
    const t = Date.parse(iso ?? '');
    return t > from && t <= to;
  };
  const prod = [...history.promotions.values()]
    .filter((p) => p.environment === 'prod' && p.phase && p.finishedAt && Date.parse(p.finishedAt) <= to)
    .sort((a, b) => Date.parse(a.finishedAt!) - Date.parse(b.finishedAt!));
  const counted = prod.filter(
    (p) =>
      p.phase === 'Succeeded' || ((p.phase === 'Failed' || p.phase === 'Errored') && !p.approvalRejected),
  );
  const deployments = counted.filter((p) => p.phase === 'Succeeded' && inWindow(p.finishedAt));
  const failures = counted.filter((p) => p.phase !== 'Succeeded' && inWindow(p.finishedAt));

  const leads = deployments.flatMap((p) => {
    const start = p.commitAt ?? (p.freight ? history.freightCommitAt.get(p.freight) : undefined);
    const ms = Date.parse(p.finishedAt!) - Date.parse(start ?? '');
    return Number.isFinite(ms) && ms >= 0 ? [ms / 1000] : [];
  });

  const restores: number[] = [];
  let openSince: string | undefined;
  for (const p of counted) {
    if (p.phase === 'Succeeded') {
      if (openSince && inWindow(p.finishedAt))
        restores.push((Date.parse(p.finishedAt!) - Date.parse(openSince)) / 1000);
      openSince = undefined;
    } else openSince ??= p.finishedAt;
  }

  const bucketDays = options.days <= 7 ? 1 : 7;
  const n = Math.ceil(options.days / bucketDays);
  const buckets = Array.from({ length: n }, (_, i) => {
    const end = to - (n - 1 - i) * bucketDays * DAY_MS;
    const start = Math.max(from, end - bucketDays * DAY_MS);
    return {
      from: new Date(start).toISOString(),
      to: new Date(end).toISOString(),
      deployments: deployments.filter((p) => {
        const t = Date.parse(p.finishedAt!);
        return t > start && t <= end;
      }).length,
    };
  });

  const finished = deployments.length + failures.length;
  return {
    days: options.days,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    deployments: deployments.length,
    deploymentsPerDay: deployments.length / options.days,
    leadTime: {
      ...optional('medianSeconds', quantile(leads, 0.5)),
      ...optional('p90Seconds', quantile(leads, 0.9)),
      measured: leads.length,
    },
    ...optional('changeFailureRate', finished > 0 ? failures.length / finished : undefined),
    failures: failures.length,
    finished,
    timeToRestore: {
      ...optional('medianSeconds', quantile(restores, 0.5)),
      restored: restores.length,
      ...optional('openSince', openSince),
    },
    buckets,
    bucketDays,
  };
}

/** The metrics straight from records (in stream order): the pure function the reader's fold agrees with. */
export function computeDora(
  records: Iterable<AuditRecord>,
  options: { now: Date; days: number },
): DoraMetrics {
  const history = emptyDeliveryHistory();
  for (const record of records) addDeliveryRecord(history, record);
  return doraFrom(history, options);
}

/** Linear-interpolated quantile (q = 0.5: the median; even counts average the middle two). */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lower = Math.floor(pos);
  const upper = Math.ceil(pos);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (pos - lower);
}

const SPARKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/** ▁ for zero, ▂…█ scaled to the largest value (any non-zero value stands above zero). */
export function sparkline(values: readonly number[]): string {
  const max = Math.max(0, ...values);
  return values
    .map((v) => (v <= 0 || max === 0 ? SPARKS[0] : SPARKS[1 + Math.round((v / max) * 6)]))
    .join('');
}

const optional = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> =>
  value === undefined ? {} : ({ [key]: value } as Record<K, V>);

const seconds = (s: number | undefined): string | undefined =>
  s === undefined ? undefined : formatDuration(s * 1000);

/** `/stats`: the four numbers and a sparkline of deployments (ephemeral). */
export function renderDoraStats(m: DoraMetrics): SlackMessage {
  const per =
    m.deploymentsPerDay >= 1
      ? `${m.deploymentsPerDay.toFixed(1)}/day`
      : `${(m.deploymentsPerDay * 7).toFixed(1)}/week`;
  const lead = seconds(m.leadTime.medianSeconds);
  const restore = seconds(m.timeToRestore.medianSeconds);
  const cfr =
    m.changeFailureRate === undefined
      ? 'no prod promotion finished'
      : `${Math.round(m.changeFailureRate * 100)}% (${m.failures} of ${m.finished} finished prod promotions failed)`;
  const lines = [
    `• *Deployment frequency:* ${m.deployments} prod deployment${m.deployments === 1 ? '' : 's'} (${per})`,
    `• *Lead time, commit → prod:* ${lead ? `median ${lead}${m.leadTime.p90Seconds !== undefined ? `, 90th percentile ${seconds(m.leadTime.p90Seconds)}` : ''} (${m.leadTime.measured} measured)` : 'no deployment with a known commit time'}`,
    `• *Change failure rate:* ${cfr}`,
    `• *Time to restore:* ${restore ? `median ${restore} (${m.timeToRestore.restored} restored)` : 'no failure restored in the window'}${m.timeToRestore.openSince ? ` · failing since ${m.timeToRestore.openSince.slice(0, 16).replace('T', ' ')} UTC` : ''}`,
  ];
  const spark = sparkline(m.buckets.map((b) => b.deployments));
  const unit = m.bucketDays === 1 ? 'day' : 'week';
  const counts = m.buckets.map((b) => b.deployments).join(' ');
  return {
    text: `Delivery metrics, last ${m.days} days: ${m.deployments} prod deployments, change failure rate ${m.changeFailureRate === undefined ? 'n/a' : `${Math.round(m.changeFailureRate * 100)}%`}.`,
    blocks: [
      headerBlock(`Delivery metrics: prod, last ${m.days} days`),
      sectionBlock(lines.join('\n')),
      sectionBlock(`*Deployments per ${unit}* (oldest → newest): \`${spark}\`  ${counts}`),
      contextBlock([
        'From the audit trail. Failed = Failed or Errored; aborts and rejected approvals are not failures. ' +
          'Lead time starts when Kargo made the freight from the commit. Definitions: README, “Delivery metrics”.',
      ]),
    ],
  };
}
