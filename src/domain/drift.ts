// Drift detection, the pure part: what the bot keeps of each drift check (.github/workflows/drift.yaml,
// schemas/drift.schema.json), how an environment's drift is judged, when Slack hears about it, and what it
// shows. No I/O: src/drift/ reads the artifacts, stores the state and posts.
//
// When #infra-alerts hears about drift — one card per environment and drift episode, nothing otherwise:
//   drift appears (in sync or unknown → drifted)      the card is posted
//   the drifted resources or their actions change     the same card is updated in place, and one short
//                                                     reply in its thread says what changed (a silent edit
//                                                     would go unnoticed)
//   the same drift is found again                     nothing
//   back in sync                                      the same card is updated to say so (no new message);
//                                                     the episode ends, the next drift gets a new card
//   a check that could not run (errored)              nothing in Slack (logged, shown by /drift); the
//                                                     environment keeps its last known state
// "Changed" compares cloud, address and actions of every drifted resource (the fingerprint); attribute
// names alone changing does not re-notify.
import { createHash } from 'node:crypto';
import type {
  DeployCloud,
  DeployEnvironment,
  DriftAction,
  DriftReport,
  DriftResource,
} from '../artifacts/types.js';
import type { AuditRecord } from './audit.js';
import {
  contextBlock,
  headerBlock,
  moreItemsNote,
  sectionBlock,
  type Block,
  type SlackMessage,
} from './blockkit.js';
import { formatAge } from './duration.js';
import { code, link, packLines, plain, plural, slackDate } from './render-parts.js';

export const DRIFT_WORKFLOW_FILE = 'drift.yaml';
export const DRIFT_WORKFLOW_PATH = `.github/workflows/${DRIFT_WORKFLOW_FILE}`;

export interface DriftTarget {
  cloud: DeployCloud;
  environment: DeployEnvironment;
  /** The repository variable that switches the job on; absent = always checked. */
  enabledBy?: 'GCP_ENABLED' | 'AZURE_ENABLED';
}

/** What drift.yaml checks (test/pipeline/workflow.test.ts holds the workflow's uploads to this list). */
export const DRIFT_TARGETS: readonly DriftTarget[] = [
  { cloud: 'aws', environment: 'dev' },
  { cloud: 'aws', environment: 'prod' },
  { cloud: 'gcp', environment: 'dev', enabledBy: 'GCP_ENABLED' },
  { cloud: 'azure', environment: 'dev', enabledBy: 'AZURE_ENABLED' },
];

export const driftArtifactName = (t: Pick<DriftTarget, 'cloud' | 'environment'>): string =>
  `drift-${t.cloud}-${t.environment}`;

/** `drift-<cloud>-<environment>` → the target, or undefined for any other artifact. */
export function parseDriftArtifactName(name: string): DriftTarget | undefined {
  return DRIFT_TARGETS.find((t) => driftArtifactName(t) === name);
}

// ---------------------------------------------------------------------------------------------------
// State

/** One drift check of one target, as the bot keeps it. */
export interface DriftCheck {
  report: DriftReport;
  runId: number;
  runUrl?: string;
}

/** What the bot knows about one target: its newest check that ran, and whether a newer one could not. */
export interface DriftTargetState {
  cloud: DeployCloud;
  environment: DeployEnvironment;
  /** The newest check that ran (in-sync or drifted). */
  known?: DriftCheck;
  /** The newest check when it errored (newer than `known`); cleared by the next check that runs. */
  failed?: DriftCheck;
}

const checkTime = (check: DriftCheck | undefined): number =>
  check ? Date.parse(check.report.checkedAt) : -1;

/** True when `a` is a later check than `b` (by check time, then run id). */
function isNewer(a: DriftCheck, b: DriftCheck | undefined): boolean {
  if (!b) return true;
  const ta = checkTime(a);
  const tb = checkTime(b);
  return ta !== tb ? ta > tb : a.runId > b.runId;
}

/**
 * Folds a check into its target's state. Checks arrive twice and out of order (webhook and poll, retried
 * jobs): a check no newer than what is known changes nothing, so the result is the same either way.
 */
export function applyDriftCheck(state: DriftTargetState | undefined, check: DriftCheck): DriftTargetState {
  const current: DriftTargetState = state ?? {
    cloud: check.report.cloud,
    environment: check.report.environment,
  };
  if (check.report.status === 'errored') {
    if (!isNewer(check, current.known) || !isNewer(check, current.failed)) return current;
    return { ...current, failed: check };
  }
  if (!isNewer(check, current.known)) return current;
  const { failed, ...rest } = current;
  return { ...rest, known: check, ...(failed && isNewer(failed, check) ? { failed } : {}) };
}

/** A drifted resource with the cloud it belongs to. */
export interface EnvironmentDriftResource extends DriftResource {
  cloud: DeployCloud;
}

/** An environment's drift across its clouds, from the targets' states. */
export interface EnvironmentDrift {
  environment: DeployEnvironment;
  /** drifted: some cloud's newest check that ran found drift; in-sync: all such checks found none. */
  status: 'drifted' | 'in-sync' | 'unknown';
  resources: EnvironmentDriftResource[];
  /** Drifted resources in total (also beyond the listed ones). */
  total: number;
  truncated: boolean;
  /** The newest check that ran, for "checked …" and the run link. */
  latest?: DriftCheck;
  /** Checks newer than the last good one that could not run, with why. */
  failures: DriftCheck[];
  targets: DriftTargetState[];
}

export function environmentDrift(
  environment: DeployEnvironment,
  states: readonly DriftTargetState[],
): EnvironmentDrift {
  const targets = states.filter((s) => s.environment === environment);
  const known = targets.flatMap((s) => (s.known ? [s.known] : []));
  const drifted = known.filter((c) => c.report.status === 'drifted');
  const resources = drifted
    .flatMap((c) => c.report.resources.map((r) => ({ ...r, cloud: c.report.cloud })))
    .sort((a, b) => a.cloud.localeCompare(b.cloud) || (a.address < b.address ? -1 : 1));
  const latest = known.reduce<DriftCheck | undefined>((a, c) => (isNewer(c, a) ? c : a), undefined);
  return {
    environment,
    status: drifted.length > 0 ? 'drifted' : known.length > 0 ? 'in-sync' : 'unknown',
    resources,
    total: drifted.reduce((n, c) => n + c.report.counts.resources, 0),
    truncated: drifted.some((c) => c.report.truncated === true),
    ...(latest ? { latest } : {}),
    failures: targets.flatMap((s) => (s.failed ? [s.failed] : [])),
    targets,
  };
}

/** What identifies "the same drift": every drifted resource's cloud, address and actions. */
export function driftFingerprint(view: Pick<EnvironmentDrift, 'resources' | 'total'>): string {
  const lines = view.resources
    .map((r) => `${r.cloud} ${r.address} ${[...r.actions].sort().join('+')}`)
    .sort();
  return createHash('sha256')
    .update(`${view.total}\n${lines.join('\n')}`)
    .digest('hex')
    .slice(0, 16);
}

// ---------------------------------------------------------------------------------------------------
// Episodes and what Slack hears

/** One stretch of drift in an environment: from the check that found it to the one back in sync. */
export interface DriftEpisode {
  environment: DeployEnvironment;
  /** The run that first found it: with the environment, the card's key. */
  id: string;
  openedAt: string;
  fingerprint: string;
  /** 1 when opened, +1 per change and on resolution (the card's version for the notifier). */
  version: number;
  total: number;
  /** When the drift last changed (or opened). */
  changedAt: string;
  resolvedAt?: string;
  resolvedRunUrl?: string;
}

export type DriftDecision =
  | { kind: 'none' }
  | { kind: 'opened'; episode: DriftEpisode }
  | { kind: 'changed'; episode: DriftEpisode; previous: DriftEpisode }
  | { kind: 'resolved'; episode: DriftEpisode };

export const driftCardKey = (episode: Pick<DriftEpisode, 'environment' | 'id'>): string =>
  `drift-${episode.environment}-${episode.id}`;

/** What to tell #infra-alerts after a check, given the environment's last episode (see the top). */
export function decideDrift(last: DriftEpisode | undefined, view: EnvironmentDrift): DriftDecision {
  const open = last && !last.resolvedAt ? last : undefined;
  const at = view.latest?.report.checkedAt;
  if (view.status === 'drifted' && at) {
    const fingerprint = driftFingerprint(view);
    if (!open) {
      return {
        kind: 'opened',
        episode: {
          environment: view.environment,
          id: String(view.latest?.runId ?? 0),
          openedAt: at,
          fingerprint,
          version: 1,
          total: view.total,
          changedAt: at,
        },
      };
    }
    if (open.fingerprint === fingerprint) return { kind: 'none' };
    return {
      kind: 'changed',
      previous: open,
      episode: { ...open, fingerprint, version: open.version + 1, total: view.total, changedAt: at },
    };
  }
  if (view.status === 'in-sync' && open && at) {
    const runUrl = view.latest?.runUrl;
    return {
      kind: 'resolved',
      episode: {
        ...open,
        version: open.version + 1,
        resolvedAt: at,
        ...(runUrl ? { resolvedRunUrl: runUrl } : {}),
      },
    };
  }
  return { kind: 'none' };
}

/** The audit record of a decision (counts, never addresses or values). Undefined for `none`. */
export function driftAuditRecord(decision: DriftDecision, view: EnvironmentDrift): AuditRecord | undefined {
  if (decision.kind === 'none') return undefined;
  const { episode } = decision;
  const run = view.latest ? ` (run ${view.latest.runId})` : '';
  const counts = actionCounts(view);
  const base = {
    id: `drift:${episode.environment}:${episode.id}:${episode.version}`,
    at: episode.resolvedAt ?? episode.changedAt,
    actor: 'system',
    environment: episode.environment,
  };
  switch (decision.kind) {
    case 'opened':
      return {
        ...base,
        action: 'drift.detected',
        outcome: 'failed',
        detail: `Drift check of ${episode.environment} found ${plural(view.total, 'resource')} changed outside Terraform (${counts})${run}.`,
      };
    case 'changed':
      return {
        ...base,
        action: 'drift.changed',
        outcome: 'failed',
        detail: `The drift in ${episode.environment} changed: now ${plural(view.total, 'resource')} (${counts}), was ${decision.previous.total}${run}.`,
      };
    case 'resolved':
      return {
        ...base,
        action: 'drift.resolved',
        outcome: 'succeeded',
        detail: `${episode.environment} is back in sync with its Terraform state${run}; drift first seen ${episode.openedAt}.`,
      };
  }
}

function actionCounts(view: EnvironmentDrift): string {
  const count = (action: DriftAction): number =>
    view.resources.filter((r) => r.actions.includes(action)).length;
  const parts = [
    [count('update'), 'changed'],
    [count('delete'), 'deleted'],
    [count('create'), 'created'],
  ] as const;
  const shown = parts.filter(([n]) => n > 0).map(([n, word]) => `${n} ${word}`);
  return shown.length > 0 ? shown.join(', ') : 'none listed';
}

// ---------------------------------------------------------------------------------------------------
// Rendering

const ACTION_HEADING: Readonly<Record<DriftAction, string>> = {
  update: 'Changed outside Terraform',
  delete: 'Deleted outside Terraform (still in the state)',
  create: 'Created, as the refresh reports it',
};
const ACTION_ORDER: readonly DriftAction[] = ['delete', 'update', 'create'];
const MAX_LINES_PER_ACTION = 15;
const MAX_ATTRIBUTES_SHOWN = 6;

/** Resource lines grouped by action (a resource with two actions shows under each). */
function groupedLines(view: EnvironmentDrift): string[] {
  const clouds = new Set(view.resources.map((r) => r.cloud));
  const out: string[] = [];
  for (const action of ACTION_ORDER) {
    const resources = view.resources.filter((r) => r.actions.includes(action));
    if (resources.length === 0) continue;
    out.push(`*${ACTION_HEADING[action]}* (${resources.length})`);
    for (const r of resources.slice(0, MAX_LINES_PER_ACTION)) {
      const attrs = r.changedAttributes.slice(0, MAX_ATTRIBUTES_SHOWN).map((a) => plain(a, 60));
      const more = r.changedAttributes.length > MAX_ATTRIBUTES_SHOWN ? ', …' : '';
      const where = clouds.size > 1 ? `${r.cloud} ` : '';
      out.push(`• ${where}${code(r.address, 200)}${attrs.length > 0 ? ` — ${attrs.join(', ')}${more}` : ''}`);
    }
    if (resources.length > MAX_LINES_PER_ACTION)
      out.push(moreItemsNote(resources.length - MAX_LINES_PER_ACTION, 'resource'));
  }
  const listed = view.resources.length;
  if (view.truncated || view.total > listed) out.push(moreItemsNote(view.total - listed, 'resource'));
  return out;
}

const runLink = (check: DriftCheck | undefined, label = 'drift run'): string =>
  check ? link(check.runUrl, `${label} ${check.runId}`) : label;

/** The drift card in #infra-alerts for an episode (open: what drifted; resolved: back in sync). */
export function renderDriftCard(episode: DriftEpisode, view: EnvironmentDrift): SlackMessage {
  const env = episode.environment;
  if (episode.resolvedAt) {
    const runPart = link(episode.resolvedRunUrl, 'the drift check');
    return {
      text: `✅ ${env} is back in sync with its Terraform state (drift first seen ${episode.openedAt}).`,
      blocks: [
        headerBlock(`✅ Drift in ${env} resolved: back in sync`),
        sectionBlock(
          `${runPart} of ${slackDate(episode.resolvedAt)} found the real infrastructure matching the Terraform state again.`,
        ),
        contextBlock([
          `Drift first seen ${slackDate(episode.openedAt)} (${plural(episode.total, 'resource')} at the last count) · \`/drift ${env}\` shows the latest check`,
        ]),
      ],
    };
  }
  const blocks: Block[] = [
    headerBlock(`⚠️ Drift in ${env}: ${plural(view.total, 'resource')} differ from Terraform`),
    sectionBlock(
      `The ${runLink(view.latest)} of ${slackDate(view.latest?.report.checkedAt ?? episode.changedAt)} found the real infrastructure of *${env}* ` +
        'no longer matching its Terraform state: someone changed or deleted these outside Terraform.',
    ),
    ...packLines(groupedLines(view), 2900)
      .slice(0, 8)
      .map((text) => sectionBlock(text)),
    contextBlock([
      `First seen ${slackDate(episode.openedAt)}${episode.version > 1 ? ` · changed ${slackDate(episode.changedAt)}` : ''} · ` +
        `To fix: apply the stage's configuration again (promote its freight once more) or bring the change into the code. \`/drift ${env}\` shows the latest check.`,
    ]),
  ];
  return {
    text: `⚠️ Drift in ${env}: ${plural(view.total, 'resource')} changed outside Terraform (${actionCounts(view)}).`,
    blocks,
  };
}

/** The thread reply when an open drift changed: what is new, what is gone. */
export function renderDriftChange(previous: EnvironmentDriftResource[], view: EnvironmentDrift): string {
  const key = (r: EnvironmentDriftResource): string => `${r.cloud} ${r.address} ${r.actions.join('+')}`;
  const before = new Set(previous.map(key));
  const now = new Set(view.resources.map(key));
  const added = view.resources.filter((r) => !before.has(key(r)));
  const gone = previous.filter((r) => !now.has(key(r)));
  const list = (rs: EnvironmentDriftResource[]): string =>
    rs
      .slice(0, 5)
      .map((r) => `${code(r.address, 120)} (${r.actions.join('+')})`)
      .join(', ') + (rs.length > 5 ? ` ${moreItemsNote(rs.length - 5, 'resource')}` : '');
  const parts = [
    `The drift in *${view.environment}* changed (${runLink(view.latest)}): now ${plural(view.total, 'resource')}.`,
    ...(added.length > 0 ? [`New: ${list(added)}.`] : []),
    ...(gone.length > 0 ? [`No longer drifted: ${list(gone)}.`] : []),
  ];
  return parts.join(' ');
}

/** `/drift [dev|prod]`: the latest state of each environment asked for (ephemeral). */
export function renderDriftStatus(views: readonly EnvironmentDrift[], now: Date): SlackMessage {
  const blocks: Block[] = [headerBlock('Drift: real infrastructure vs Terraform state')];
  const lines: string[] = [];
  for (const view of views) {
    const env = view.environment;
    const checked = view.latest
      ? `checked ${formatAge(view.latest.report.checkedAt, now) ?? slackDate(view.latest.report.checkedAt)} (${slackDate(view.latest.report.checkedAt)}), ${runLink(view.latest)}`
      : undefined;
    let text: string;
    if (view.status === 'unknown') {
      text =
        `*${env}* — no drift check recorded yet. drift.yaml runs every 6 hours; ` +
        'GitHub → Actions → drift → Run workflow starts one now.';
    } else if (view.status === 'in-sync') {
      text = `*${env}* — ✅ in sync with its Terraform state · ${checked ?? ''}`;
    } else {
      text = [
        `*${env}* — ⚠️ drifted: ${plural(view.total, 'resource')} differ from the Terraform state · ${checked ?? ''}`,
        ...groupedLines(view),
      ].join('\n');
    }
    for (const failure of view.failures) {
      text += `\n:grey_question: The ${failure.report.cloud} check of ${slackDate(failure.report.checkedAt)} (${runLink(failure)}) could not run: ${plain(failure.report.detail ?? 'no reason given', 300)}`;
    }
    lines.push(text);
    blocks.push(...packLines(text.split('\n'), 2900).map((t) => sectionBlock(t)));
  }
  return { text: lines.map((l) => l.split('\n')[0]).join('\n'), blocks: blocks.slice(0, 50) };
}
