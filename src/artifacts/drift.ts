// Reduces a refresh-only plan (`terraform plan -refresh-only -detailed-exitcode`, then `terraform show -json`)
// to the drift artifact (schemas/drift.schema.json): which resources differ from the Terraform state, with
// what action, and the NAMES of the attributes that differ. Values never leave the job: the plan JSON holds
// them in clear, secrets included (iac.md §2.1), so only keys are compared and kept.
//
// Why refresh-only: drift is the real infrastructure differing from what Terraform last recorded. A
// refresh-only plan compares exactly that (provider reads vs state) and nothing else; a normal plan would
// also report every configuration change not applied yet (commits on main not promoted to the stage), which
// is not drift. Exit codes of -detailed-exitcode: 0 = no changes, 1 = error, 2 = changes (the refresh would
// update the state). The changes are in the JSON's `resource_drift` (`resource_changes` stays empty or no-op).
import type {
  DeployCloud,
  DeployEnvironment,
  DriftAction,
  DriftReport,
  DriftResource,
  RunRef,
} from './types.js';

export const MAX_DRIFT_RESOURCES = 200;
export const MAX_CHANGED_ATTRIBUTES = 50;
const ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,99}$/;
const DRIFT_ACTIONS: ReadonlySet<string> = new Set<DriftAction>(['create', 'update', 'delete']);

export interface DriftMeta {
  cloud: DeployCloud;
  environment: DeployEnvironment;
  /** Exit code of `terraform plan -refresh-only -detailed-exitcode` (anything but 0 and 2 is an error). */
  exitCode: number;
  checkedAt: string;
  /** Why the check could not run (a deploy in progress, credentials refused …); kept on errored reports. */
  detail?: string;
  run?: RunRef;
}

interface DriftEntry {
  address?: unknown;
  mode?: unknown;
  type?: unknown;
  change?: { actions?: unknown; before?: unknown; after?: unknown };
}

/**
 * The drift report for one cloud/environment. `plan` is the parsed `terraform show -json` of the
 * refresh-only plan, or undefined when there is none (the plan failed, or was never run).
 */
export function summariseDrift(plan: unknown, meta: DriftMeta): DriftReport {
  const base = {
    schemaVersion: 1 as const,
    cloud: meta.cloud,
    environment: meta.environment,
    checkedAt: meta.checkedAt,
    ...(meta.run ? { run: meta.run } : {}),
  };
  const none = { resources: 0, update: 0, delete: 0, create: 0 };
  const errored = (detail: string): DriftReport => ({
    ...base,
    status: 'errored',
    detail: clip(detail),
    resources: [],
    counts: none,
  });
  if (meta.exitCode !== 0 && meta.exitCode !== 2) {
    return errored(
      meta.detail ?? `terraform plan -refresh-only failed (exit code ${meta.exitCode}); see the job log`,
    );
  }
  const root = (plan ?? {}) as { resource_drift?: unknown; terraform_version?: unknown };
  const version =
    typeof root.terraform_version === 'string' ? { terraformVersion: root.terraform_version } : {};
  if (meta.exitCode === 0) {
    return { ...base, ...version, status: 'in-sync', resources: [], counts: none };
  }
  if (plan === undefined || plan === null || typeof plan !== 'object') {
    return errored('terraform found drift (exit code 2) but its plan JSON could not be read');
  }
  if (root.resource_drift !== undefined && !Array.isArray(root.resource_drift)) {
    return errored('the plan JSON has a resource_drift that is not a list');
  }
  const all: DriftResource[] = [];
  for (const entry of (root.resource_drift ?? []) as DriftEntry[]) {
    if (entry?.mode !== 'managed') continue;
    const rawActions = Array.isArray(entry.change?.actions) ? (entry.change.actions as unknown[]) : [];
    const actions = [...new Set(rawActions.filter((a): a is DriftAction => DRIFT_ACTIONS.has(String(a))))];
    if (actions.length === 0) continue; // no-op or read: nothing differs
    all.push({
      address: typeof entry.address === 'string' && entry.address !== '' ? clip(entry.address) : '(unknown)',
      type: typeof entry.type === 'string' && entry.type !== '' ? entry.type.slice(0, 200) : '(unknown)',
      actions: actions.sort(),
      changedAttributes: changedAttributeNames(entry.change?.before, entry.change?.after),
    });
  }
  // Exit code 2 without a managed resource that differs: only outputs changed. Nothing drifted.
  if (all.length === 0) return { ...base, ...version, status: 'in-sync', resources: [], counts: none };
  all.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  const count = (action: DriftAction): number => all.filter((r) => r.actions.includes(action)).length;
  const report: DriftReport = {
    ...base,
    ...version,
    status: 'drifted',
    resources: all.slice(0, MAX_DRIFT_RESOURCES),
    counts: {
      resources: all.length,
      update: count('update'),
      delete: count('delete'),
      create: count('create'),
    },
  };
  if (all.length > MAX_DRIFT_RESOURCES) report.truncated = true;
  return report;
}

/**
 * Top-level attribute names whose values differ between `before` and `after` (compared as JSON, never
 * returned). A deleted resource (`after` null) has none: the whole resource is gone.
 */
export function changedAttributeNames(before: unknown, after: unknown): string[] {
  const asObject = (v: unknown): Record<string, unknown> | undefined =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const b = asObject(before);
  const a = asObject(after);
  if (!b || !a) return [];
  const names = new Set([...Object.keys(b), ...Object.keys(a)]);
  return [...names]
    .filter((name) => ATTRIBUTE_NAME.test(name) && stableJson(b[name]) !== stableJson(a[name]))
    .sort()
    .slice(0, MAX_CHANGED_ATTRIBUTES);
}

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` compare equal. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

const clip = (text: string): string => (text.length <= 500 ? text : `${text.slice(0, 499)}…`);
