// Reduces `terraform show -json tfplan` to the plan-summary artifact: counts, addresses, and for replaced
// and updated resources what changes inside them — attribute paths, which of them force the replacement,
// and short before → after values only where Terraform says the value is neither sensitive nor unknown.
// No other resource attribute (and no secret the plan holds in clear) ever leaves the job.
//
// Sensitivity is decided fail-closed, per attribute path:
//   - Terraform's own marks: `before_sensitive` / `after_sensitive` mirror the values with `true` on every
//     sensitive leaf (or `true` for a whole subtree); a path under any mark, or holding one, is hidden;
//   - attribute names that say they hold a secret (password, token, private_key, user_data, …) are hidden
//     even when the provider did not mark them;
//   - values are shown only for primitives (string, number, boolean, null); objects and lists are named
//     as changed, never printed.
// Unknown values (`after_unknown`) are named as "known after apply".
import type {
  DeployCloud,
  DeployEnvironment,
  PlanAttributeChange,
  PlanResourceChange,
  PlanSummary,
  RunRef,
} from './types.js';

export const MAX_ADDRESSES_PER_ACTION = 500;
/** Replaced and updated resources described attribute by attribute (replacements first). */
export const MAX_DETAILED_CHANGES = 100;
export const MAX_ATTRIBUTES_PER_CHANGE = 20;
/** Longest display value (`"ami-0123…"`); the schema allows 100. */
export const MAX_VALUE_LENGTH = 80;
const MAX_PATH_LENGTH = 300;
/** Attribute paths deeper than this are named at this depth (`ingress[0].cidr_blocks` rather than each entry). */
const MAX_PATH_DEPTH = 4;

/** Path segments that name secrets, whatever the provider says. */
const SECRET_LIKE =
  /(^|_)(password|passwd|passphrase|secret|token|private_key|privatekey|credentials?|api_?key|access_key|secret_key|user_data|user_data_base64|custom_data|connection_string|kubeconfig|sas)(_|$)/i;

interface ResourceChange {
  address?: unknown;
  mode?: unknown;
  action_reason?: unknown;
  change?: {
    actions?: unknown;
    before?: unknown;
    after?: unknown;
    after_unknown?: unknown;
    before_sensitive?: unknown;
    after_sensitive?: unknown;
    replace_paths?: unknown;
  };
}

type Segment = string | number;

export function summarisePlan(
  plan: unknown,
  meta: { cloud: DeployCloud; environment: DeployEnvironment; generatedAt?: string; run?: RunRef },
): PlanSummary {
  const root = (plan ?? {}) as { resource_changes?: unknown; terraform_version?: unknown };
  if (!Array.isArray(root.resource_changes) && root.resource_changes !== undefined) {
    throw new Error('plan JSON: resource_changes is not an array');
  }
  const buckets = {
    add: [] as string[],
    change: [] as string[],
    destroy: [] as string[],
    replace: [] as string[],
  };
  const replaced: PlanResourceChange[] = [];
  const updated: PlanResourceChange[] = [];
  for (const rc of (root.resource_changes ?? []) as ResourceChange[]) {
    if (rc.mode === 'data') continue;
    const address = typeof rc.address === 'string' ? rc.address : '(unknown address)';
    const actions = Array.isArray(rc.change?.actions) ? (rc.change.actions as string[]) : [];
    const has = (a: string): boolean => actions.includes(a);
    // Terraform reports a replacement as ["delete","create"] or ["create","delete"] and counts it as
    // one add and one destroy; we keep that arithmetic and list it under replace as well.
    if (has('create') && has('delete')) {
      buckets.replace.push(address);
      buckets.add.push(address);
      buckets.destroy.push(address);
      replaced.push(describeChange(address, 'replace', rc));
    } else if (has('create')) buckets.add.push(address);
    else if (has('delete')) buckets.destroy.push(address);
    else if (has('update')) {
      buckets.change.push(address);
      updated.push(describeChange(address, 'update', rc));
    }
  }
  const counts = {
    add: buckets.add.length,
    change: buckets.change.length,
    destroy: buckets.destroy.length,
    replace: buckets.replace.length,
  };
  const truncated = Object.values(buckets).some((list) => list.length > MAX_ADDRESSES_PER_ACTION);
  const changes = [...replaced, ...updated];
  const summary: PlanSummary = {
    schemaVersion: 1,
    cloud: meta.cloud,
    environment: meta.environment,
    counts,
    resources: {
      add: buckets.add.slice(0, MAX_ADDRESSES_PER_ACTION),
      change: buckets.change.slice(0, MAX_ADDRESSES_PER_ACTION),
      destroy: buckets.destroy.slice(0, MAX_ADDRESSES_PER_ACTION),
      replace: buckets.replace.slice(0, MAX_ADDRESSES_PER_ACTION),
    },
    changes: changes.slice(0, MAX_DETAILED_CHANGES),
  };
  if (changes.length > MAX_DETAILED_CHANGES) summary.changesOmitted = changes.length - MAX_DETAILED_CHANGES;
  if (truncated) summary.truncated = true;
  if (typeof root.terraform_version === 'string') summary.terraformVersion = root.terraform_version;
  if (meta.generatedAt) summary.generatedAt = meta.generatedAt;
  if (meta.run) summary.run = meta.run;
  return summary;
}

// ---------------------------------------------------------------------------------------------------
// One resource, attribute by attribute

function describeChange(
  address: string,
  action: PlanResourceChange['action'],
  rc: ResourceChange,
): PlanResourceChange {
  const change = rc.change ?? {};
  const replacePaths = (Array.isArray(change.replace_paths) ? change.replace_paths : [])
    .filter((path): path is Segment[] => Array.isArray(path))
    .map((path) => path.filter((s): s is Segment => typeof s === 'string' || typeof s === 'number'));
  const leaves: Segment[][] = [];
  let total = 0;
  collectChangedPaths(change.before, change.after, change.after_unknown, [], (path) => {
    total += 1;
    // Keep a few more than shown so the ordering below can still put the important ones first.
    if (leaves.length < MAX_ATTRIBUTES_PER_CHANGE * 5) leaves.push(path);
  });
  // A replacement Terraform forces through a path nothing else reports (e.g. a tainted resource) still names it.
  for (const path of replacePaths) {
    if (!leaves.some((leaf) => startsWith(leaf, path) || startsWith(path, leaf))) leaves.push(path);
  }
  total = Math.max(total, leaves.length);
  const attributes = leaves
    .map((path) => describeAttribute(path, change, replacePaths))
    .map((attribute, index) => ({ attribute, index }))
    .sort((a, b) => rank(a.attribute) - rank(b.attribute) || a.index - b.index)
    .map(({ attribute }) => attribute)
    .slice(0, MAX_ATTRIBUTES_PER_CHANGE);
  const reason =
    typeof rc.action_reason === 'string' && rc.action_reason !== '' ? cut(rc.action_reason, 100) : undefined;
  return {
    address: cut(address, 500),
    action,
    ...(reason ? { reason } : {}),
    attributes,
    ...(total > attributes.length ? { attributesOmitted: total - attributes.length } : {}),
  };
}

/** Forcing the replacement first, then values people can read, then hidden ones. */
const rank = (a: PlanAttributeChange): number =>
  a.forcesReplacement ? 0 : a.hidden === undefined ? 1 : a.hidden === 'sensitive' ? 2 : 3;

function describeAttribute(
  path: Segment[],
  change: NonNullable<ResourceChange['change']>,
  replacePaths: Segment[][],
): PlanAttributeChange {
  const attribute: PlanAttributeChange = { path: cut(formatPath(path), MAX_PATH_LENGTH) };
  if (replacePaths.some((rp) => startsWith(path, rp) || startsWith(rp, path))) {
    attribute.forcesReplacement = true;
  }
  const sensitive =
    path.some((segment) => typeof segment === 'string' && SECRET_LIKE.test(segment)) ||
    touchesMark(change.before_sensitive, path) ||
    touchesMark(change.after_sensitive, path);
  if (sensitive) return { ...attribute, hidden: 'sensitive' };
  if (touchesMark(change.after_unknown, path)) return { ...attribute, hidden: 'unknown' };
  const before = valueAt(change.before, path);
  const after = valueAt(change.after, path);
  if (isPrimitive(before) && isPrimitive(after)) {
    attribute.before = display(before);
    attribute.after = display(after);
  }
  return attribute;
}

/**
 * Calls `found` with the path of every leaf that differs between `before` and `after` (objects and lists
 * are walked, to MAX_PATH_DEPTH), including leaves Terraform only knows after apply.
 */
function collectChangedPaths(
  before: unknown,
  after: unknown,
  unknown: unknown,
  path: Segment[],
  found: (path: Segment[]) => void,
): void {
  const leaf = (): void => {
    if (path.length > 0) found(path);
  };
  if (unknown === true) return leaf();
  if (sameValue(before, after) && !containsMark(unknown)) return;
  if (path.length >= MAX_PATH_DEPTH) return leaf();
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    for (let i = 0; i < length; i += 1) {
      collectChangedPaths(before[i], after[i], childOf(unknown, i), [...path, i], found);
    }
    return;
  }
  const objectOrNothing = (value: unknown): boolean =>
    isObject(value) || value === null || value === undefined;
  if (!objectOrNothing(before) || !objectOrNothing(after) || !(isObject(before) || isObject(after))) {
    return leaf();
  }
  const b = isObject(before) ? before : {};
  const a = isObject(after) ? after : {};
  const u = isObject(unknown) ? unknown : {};
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a), ...Object.keys(u)])].sort();
  for (const key of keys) collectChangedPaths(b[key], a[key], u[key], [...path, key], found);
}

// ---------------------------------------------------------------------------------------------------
// Marks (`*_sensitive`, `after_unknown`): `true` on a leaf or a whole subtree

/** True when the mark covers the path (a `true` on it or above it) or anything below it. */
function touchesMark(mark: unknown, path: readonly Segment[]): boolean {
  let node = mark;
  for (const segment of path) {
    if (node === true) return true;
    node = childOf(node, segment);
  }
  return containsMark(node);
}

function containsMark(mark: unknown): boolean {
  if (mark === true) return true;
  if (Array.isArray(mark)) return mark.some(containsMark);
  if (isObject(mark)) return Object.values(mark).some(containsMark);
  return false;
}

function childOf(node: unknown, segment: Segment): unknown {
  if (Array.isArray(node) && typeof segment === 'number') return node[segment];
  if (isObject(node) && typeof segment === 'string') return node[segment];
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Helpers

function valueAt(value: unknown, path: readonly Segment[]): unknown {
  let node = value;
  for (const segment of path) node = childOf(node, segment);
  return node;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isPrimitive = (value: unknown): value is string | number | boolean | null | undefined =>
  value === null || value === undefined || ['string', 'number', 'boolean'].includes(typeof value);

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => sameValue(a[key], b[key]));
  }
  return false;
}

const startsWith = (path: readonly Segment[], prefix: readonly Segment[]): boolean =>
  prefix.length <= path.length && prefix.every((segment, i) => segment === path[i]);

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `tags.Owner`, `root_block_device[0].volume_size`, `labels["app.kubernetes.io/name"]`. */
export function formatPath(path: readonly Segment[]): string {
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      if (IDENTIFIER.test(segment)) return i === 0 ? segment : `.${segment}`;
      return `[${JSON.stringify(segment)}]`;
    })
    .join('');
}

/** `"ami-0123"`, `20`, `true`, `null`: JSON forms (control characters escaped), cut to MAX_VALUE_LENGTH. */
function display(value: string | number | boolean | null | undefined): string {
  return cut(JSON.stringify(value ?? null), MAX_VALUE_LENGTH);
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
