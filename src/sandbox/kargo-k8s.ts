// Kubernetes API machinery for the Kargo stand-in (kargo-standin.ts), written against the API server's
// documented behaviour: metav1.Status errors, label and field selectors, JSON merge patch (RFC 7386) and
// JSON patch (RFC 6902), generateName, object-name and label validation, timestamps as metav1.Time writes
// them. Pure functions: no I/O, no clock except where a caller passes one.
import { randomInt } from 'node:crypto';

export type JsonObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JsonObject =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export const clone = <T>(v: T): T => (v === undefined ? v : (structuredClone(v) as T));

/** Structural equality of JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 3339 with whole seconds, as metav1.Time serialises (`2026-11-27T10:00:00Z`). */
export const metaTime = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

// ---- metav1.Status ---------------------------------------------------------------------------------------

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error the API answers with a metav1.Status body and the Status' code as HTTP status. */
export class ApiError extends Error {
  readonly status: Status;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'ApiError';
    this.status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    };
  }
  get code(): number {
    return this.status.code;
  }
}

/** `freights.kargo.akuity.io`, or `events` for the core group: how the API server names a resource in messages. */
export const qualifiedResource = (plural: string, group: string): string =>
  group ? `${plural}.${group}` : plural;

export const notFound = (plural: string, group: string, name: string): ApiError =>
  new ApiError(404, 'NotFound', `${qualifiedResource(plural, group)} "${name}" not found`, {
    name,
    group,
    kind: plural,
  });

export const alreadyExists = (plural: string, group: string, name: string): ApiError =>
  new ApiError(409, 'AlreadyExists', `${qualifiedResource(plural, group)} "${name}" already exists`, {
    name,
    group,
    kind: plural,
  });

export const conflict = (plural: string, group: string, name: string, why?: string): ApiError =>
  new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(plural, group)} "${name}": ${
      why ?? 'the object has been modified; please apply your changes to the latest version and try again'
    }`,
    { name, group, kind: plural },
  );

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message);

export const unauthorized = (): ApiError => new ApiError(401, 'Unauthorized', 'Unauthorized');

export const gone = (message: string): ApiError => new ApiError(410, 'Expired', message);

/** 422 Invalid, formatted like apierrors.NewInvalid: `Kind.group "name" is invalid: field: message`. */
export function invalid(kind: string, group: string, name: string, causes: StatusCause[]): ApiError {
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message ?? ''}` : (c.message ?? '')));
  const what = group ? `${kind}.${group}` : kind;
  const list = parts.length === 1 ? parts[0]! : `[${parts.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${what} "${name}" is invalid: ${list}`, { name, group, kind, causes });
}

/** Go's %q-ish rendering of a value inside field error messages (`Invalid value: "x"`). */
export function fieldValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (isObject(v)) return '"object"';
  if (Array.isArray(v)) return '"array"';
  return JSON.stringify(v) ?? 'null';
}

// ---- names and labels ------------------------------------------------------------------------------------

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

export const isDns1123Subdomain = (s: string): boolean => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
export const isDns1123Label = (s: string): boolean => s.length <= 63 && DNS1123_LABEL.test(s);
export const isLabelValue = (s: string): boolean => s.length <= 63 && LABEL_VALUE.test(s);

/** A label or annotation key: `[prefix/]name`, prefix a DNS subdomain, name ≤ 63 qualified-name characters. */
export function isQualifiedKey(key: string): boolean {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || !isDns1123Subdomain(prefix))) return false;
  return name.length > 0 && name.length <= 63 && QUALIFIED_NAME.test(name);
}

/** What the API server's generateName appends: 5 characters from names.SimpleNameGenerator's alphabet. */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
export function generateNameSuffix(): string {
  let out = '';
  for (let i = 0; i < 5; i++) out += NAME_ALPHABET[randomInt(NAME_ALPHABET.length)]!;
  return out;
}

/** ObjectMeta fields the API server keeps; anything else in metadata is dropped (pruned). */
export const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

/** ObjectMeta validation of what a client may set (name, labels, annotations). */
export function metadataCauses(
  meta: JsonObject,
  options: { namespaced: boolean; nameIsLabel?: boolean },
): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = meta.name;
  if (typeof name !== 'string' || name === '') {
    causes.push({
      reason: 'FieldValueRequired',
      field: 'metadata.name',
      message: 'Required value: name or generateName is required',
    });
  } else {
    const ok = options.nameIsLabel ? isDns1123Label(name) : isDns1123Subdomain(name);
    if (!ok) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message:
          `Invalid value: ${fieldValue(name)}: a lowercase RFC 1123 ${options.nameIsLabel ? 'label' : 'subdomain'} must ` +
          "consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
      });
    }
  }
  for (const key of ['labels', 'annotations'] as const) {
    const map = meta[key];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) {
      causes.push({
        reason: 'FieldValueTypeInvalid',
        field: `metadata.${key}`,
        message: 'Invalid value: must be a map',
      });
      continue;
    }
    let size = 0;
    for (const [k, v] of Object.entries(map)) {
      if (!isQualifiedKey(k)) {
        causes.push({
          reason: 'FieldValueInvalid',
          field: `metadata.${key}`,
          message: `Invalid value: ${fieldValue(k)}: name part must consist of alphanumeric characters, '-', '_' or '.'`,
        });
      }
      if (typeof v !== 'string') {
        causes.push({
          reason: 'FieldValueTypeInvalid',
          field: `metadata.${key}.${k}`,
          message: 'Invalid value: must be a string',
        });
      } else if (key === 'labels' && !isLabelValue(v)) {
        causes.push({
          reason: 'FieldValueInvalid',
          field: `metadata.labels`,
          message: `Invalid value: ${fieldValue(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        });
      }
      size += k.length + (typeof v === 'string' ? v.length : 0);
    }
    if (key === 'annotations' && size > 256 * 1024) {
      causes.push({
        reason: 'FieldValueTooLong',
        field: 'metadata.annotations',
        message: 'Too long: must have at most 262144 bytes',
      });
    }
  }
  return causes;
}

// ---- label selectors -------------------------------------------------------------------------------------

export type LabelRequirement =
  { key: string; op: 'exists' | 'notexists' } | { key: string; op: 'in' | 'notin'; values: string[] };

/**
 * Parses a label selector as kubectl and client-go write it: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x,y)`, `a`, `!a`, comma-separated (AND). Throws ApiError 400 on anything else.
 */
export function parseLabelSelector(text: string): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  const src = text.trim();
  if (src === '') return out;
  let i = 0;
  const fail = (why: string): never => {
    throw badRequest(`unable to parse requirement: ${why} in label selector "${text}"`);
  };
  const skipWs = () => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  const readToken = (): string => {
    skipWs();
    const m = /^[A-Za-z0-9_.\-/]+/.exec(src.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };
  for (;;) {
    skipWs();
    let negate = false;
    if (src[i] === '!') {
      negate = true;
      i++;
    }
    const key = readToken();
    if (!key || !isQualifiedKey(key)) fail(`invalid label key "${key}"`);
    skipWs();
    if (negate) {
      out.push({ key, op: 'notexists' });
    } else if (src.startsWith('==', i) || src.startsWith('!=', i) || src[i] === '=') {
      const op = src.startsWith('!=', i) ? 'notin' : 'in';
      i += src.startsWith('==', i) || src.startsWith('!=', i) ? 2 : 1;
      const value = readToken();
      if (!isLabelValue(value)) fail(`invalid label value "${value}"`);
      out.push({ key, op, values: [value] });
    } else if (/^(in|notin)\s*\(/.test(src.slice(i))) {
      const op = src.startsWith('notin', i) ? 'notin' : 'in';
      i += op.length;
      skipWs();
      i++; // (
      const values: string[] = [];
      for (;;) {
        const value = readToken();
        if (!isLabelValue(value)) fail(`invalid label value "${value}"`);
        values.push(value);
        skipWs();
        if (src[i] === ',') {
          i++;
          continue;
        }
        if (src[i] === ')') {
          i++;
          break;
        }
        fail('expected "," or ")"');
      }
      out.push({ key, op, values });
    } else {
      out.push({ key, op: 'exists' });
    }
    skipWs();
    if (i >= src.length) return out;
    if (src[i] !== ',') fail(`unexpected "${src.slice(i)}"`);
    i++;
  }
}

export function matchesLabels(
  labels: Record<string, unknown> | undefined,
  selector: LabelRequirement[],
): boolean {
  const l = labels ?? {};
  return selector.every((req) => {
    const has = typeof l[req.key] === 'string';
    switch (req.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'in':
        return has && req.values.includes(l[req.key] as string);
      case 'notin':
        return !has || !req.values.includes(l[req.key] as string);
    }
  });
}

// ---- field selectors -------------------------------------------------------------------------------------

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

/** `metadata.name=x,involvedObject.kind!=Pod`; only `supported` fields are accepted (400 otherwise). */
export function parseFieldSelector(text: string, supported: readonly string[]): FieldRequirement[] {
  const src = text.trim();
  if (src === '') return [];
  return src.split(',').map((part) => {
    const m = /^\s*([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = m[1]!;
    if (!supported.includes(field)) {
      throw badRequest(`"${field}" is not a known field selector: only "${supported.join('", "')}"`);
    }
    return { field, op: m[2] === '!=' ? '!=' : '=', value: m[3]! };
  });
}

export function fieldAt(obj: JsonObject, dotted: string): string {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) cur = isObject(cur) ? cur[part] : undefined;
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'string' ? cur : String(cur);
}

export const matchesFields = (obj: JsonObject, selector: FieldRequirement[]): boolean =>
  selector.every((r) => (fieldAt(obj, r.field) === r.value) === (r.op === '='));

// ---- patches ---------------------------------------------------------------------------------------------

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, parts: string[], path: string): { parent: unknown; key: string } {
  let cur = doc;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else if (isObject(cur)) cur = cur[part];
    else cur = undefined;
    if (cur === undefined) throw new Error(`doc is missing path: "${path}"`);
  }
  return { parent: cur, key: parts[parts.length - 1]! };
}

function getAt(doc: unknown, path: string): unknown {
  let cur = doc;
  for (const part of pointer(path)) {
    if (Array.isArray(cur)) cur = cur[Number(part)];
    else if (isObject(cur)) cur = cur[part];
    else return undefined;
  }
  return cur;
}

function arrayIndex(arr: unknown[], key: string, allowEnd: boolean, path: string): number {
  if (key === '-' && allowEnd) return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw new Error(`invalid array index "${key}" in "${path}"`);
  const i = Number(key);
  if (i > arr.length || (!allowEnd && i === arr.length)) throw new Error(`index out of range: "${path}"`);
  return i;
}

/** RFC 6902 JSON patch (add, remove, replace, move, copy, test). Throws Error with a readable message. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new Error('a JSON patch must be an array of operations');
  let root = clone(doc);
  const add = (path: string, value: unknown) => {
    const parts = pointer(path);
    if (parts.length === 0) {
      root = clone(value);
      return;
    }
    const { parent, key } = parentOf(root, parts, path);
    if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, path), 0, clone(value));
    else if (isObject(parent)) parent[key] = clone(value);
    else throw new Error(`doc is missing path: "${path}"`);
  };
  const remove = (path: string): unknown => {
    const parts = pointer(path);
    const { parent, key } = parentOf(root, parts, path);
    if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false, path), 1)[0];
    if (isObject(parent) && key in parent) {
      const v = parent[key];
      delete parent[key];
      return v;
    }
    throw new Error(`unable to remove nonexistent key: ${key}: missing value`);
  };
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new Error('each JSON patch operation needs "op" and "path"');
    }
    const op = raw as unknown as JsonPatchOp;
    switch (op.op) {
      case 'add':
        add(op.path, op.value);
        break;
      case 'remove':
        remove(op.path);
        break;
      case 'replace':
        remove(op.path);
        add(op.path, op.value);
        break;
      case 'move': {
        if (typeof op.from !== 'string') throw new Error('move needs "from"');
        add(op.path, remove(op.from));
        break;
      }
      case 'copy': {
        if (typeof op.from !== 'string') throw new Error('copy needs "from"');
        add(op.path, getAt(root, op.from));
        break;
      }
      case 'test':
        if (!deepEqual(getAt(root, op.path), op.value)) throw new Error(`testing value ${op.path} failed`);
        break;
      default:
        throw new Error(`Unexpected kind: ${op.op}`);
    }
  }
  return root;
}

// ---- Go durations ----------------------------------------------------------------------------------------

/** time.Duration.String() for whole milliseconds: `0s`, `1.5s`, `2m0s`, `1h2m3s`. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(Math.round(ms));
  if (rest < 1000) return `${sign}${rest}ms`;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = (rest / 1000).toFixed(3).replace(/\.?0+$/, '');
  if (h > 0) return `${sign}${h}h${m}m${s}s`;
  if (m > 0) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}
