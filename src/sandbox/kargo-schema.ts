// Kargo's CRDs (../shared/vendor/kargo-crds, byte-for-byte v1.11.2) as the Kargo stand-in's API server
// applies them to every create and update: structural pruning, defaulting, OpenAPI v3 validation and the
// CEL rules, with failures reported as the API server reports them (422 Invalid, one cause per field).
//
// The one reading of the CRDs in the repository: test/pipeline/crd-validator.ts checks the manifests in
// kargo/ with it too (unknown fields there are what pruning would drop).
// - pruning: an object schema with `properties` (or with neither `properties` nor `additionalProperties`)
//   and no `x-kubernetes-preserve-unknown-fields` keeps only the fields it declares; unknown fields are
//   dropped and reported (a Warning header, or 422 with `fieldValidation=Strict`), as the API server does;
//   `metadata` is ObjectMeta, handled by the server itself;
// - defaults: applied before validation and kept (ajv `useDefaults`), as the API server persists them;
// - `x-kubernetes-int-or-string` → integer|string, `nullable` → adds null, `list-type: set` → uniqueItems,
//   `list-type: map` keys must be unique;
// - CEL (`x-kubernetes-validations`): hand-written equivalents by exact rule text; a CRD with a rule that has
//   no equivalent fails to load, so a CRD update cannot silently skip a rule.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import * as addFormatsModule from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { clone, fieldValue, isObject, type JsonObject, type StatusCause } from './kargo-k8s.js';

type AddFormats = (ajv: Ajv2020) => Ajv2020;
const addFormats = (addFormatsModule as unknown as { default: AddFormats }).default;
type Schema = Record<string, unknown>;

/** The repository root: the nearest directory above this module with a package.json. */
export function findRepoRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return from;
    dir = up;
  }
}

/** `$KARGO_CRD_DIR`, else `<repo>/../shared/vendor/kargo-crds`. */
export const defaultCrdDir = (): string =>
  process.env.KARGO_CRD_DIR ?? path.resolve(findRepoRoot(), '..', 'shared', 'vendor', 'kargo-crds');

// ---- CEL rules by their exact text in the CRDs ------------------------------------------------------------

const has = (self: unknown, field: string): boolean => isObject(self) && self[field] !== undefined;
const at = (self: unknown, i: number): unknown => (Array.isArray(self) ? self[i] : undefined);
const size = (self: unknown): number => (Array.isArray(self) ? self.length : 0);

export const CEL_RULES: Readonly<Record<string, (self: unknown) => boolean>> = {
  'has(self.uses) && !has(self.task)': (s) => has(s, 'uses') && !has(s, 'task'),
  '(has(self.uses) ? !has(self.task) : has(self.task))': (s) =>
    has(s, 'uses') ? !has(s, 'task') : has(s, 'task'),
  '!has(self.task) || !has(self.continueOnError)': (s) => !has(s, 'task') || !has(s, 'continueOnError'),
  '!has(self.task) || !has(self.retry)': (s) => !has(s, 'task') || !has(s, 'retry'),
  'has(self.freight) != has(self.origin)': (s) => has(s, 'freight') !== has(s, 'origin'),
  'has(self.stage) ? !has(self.stageSelector) : has(self.stageSelector)': (s) =>
    has(s, 'stage') ? !has(s, 'stageSelector') : has(s, 'stageSelector'),
  "self.size() == 0 || self[0] == 'Failed' || self[0] == 'Errored'": (s) =>
    size(s) === 0 || at(s, 0) === 'Failed' || at(s, 0) === 'Errored',
  "self.size() <= 1 || self[1] == 'Failed' || self[1] == 'Errored'": (s) =>
    size(s) <= 1 || at(s, 1) === 'Failed' || at(s, 1) === 'Errored',
  "self.size() == 0 || self[0] == 'Failed' || self[0] == 'Error'": (s) =>
    size(s) === 0 || at(s, 0) === 'Failed' || at(s, 0) === 'Error',
  "self.size() <= 1 || self[1] == 'Failed' || self[1] == 'Error'": (s) =>
    size(s) <= 1 || at(s, 1) === 'Failed' || at(s, 1) === 'Error',
};

export interface CelRule {
  /** Location in the object; `*` = every item of an array or value of a map. */
  at: string[];
  rule: string;
  message: string;
}

export interface CrdResource {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  statusSubresource: boolean;
  /** The raw openAPIV3Schema (for pruning). */
  schema: Schema;
  validate: ValidateFunction;
  cel: CelRule[];
  mapLists: { at: string[]; keys: string[] }[];
}

/** Parses every YAML document of a file; fails on a YAML error or a document that is not a mapping. */
export function readYamlDocuments(file: string): JsonObject[] {
  const out: JsonObject[] = [];
  parseAllDocuments(readFileSync(file, 'utf8')).forEach((doc, index) => {
    if (doc.errors.length > 0) {
      throw new Error(`${file} document ${index}: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return; // an empty document (e.g. a trailing ---)
    if (!isObject(value)) throw new Error(`${file} document ${index} is not a mapping`);
    out.push(value);
  });
  return out;
}

function convert(node: Schema, where: string[], cel: CelRule[], mapLists: CrdResource['mapLists']): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'x-kubernetes-validations') {
      for (const v of value as { rule: string; message?: string }[]) {
        cel.push({ at: where, rule: v.rule, message: v.message ?? `failed rule: ${v.rule}` });
      }
    } else if (key.startsWith('x-kubernetes-') || key === 'nullable') {
      // handled below
    } else if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Schema>).map(([k, v]) => [
          k,
          convert(v, [...where, k], cel, mapLists),
        ]),
      );
    } else if (key === 'items') {
      out.items = convert(value as Schema, [...where, '*'], cel, mapLists);
    } else if (key === 'additionalProperties') {
      out.additionalProperties =
        typeof value === 'boolean' ? value : convert(value as Schema, [...where, '*'], cel, mapLists);
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = (value as Schema[]).map((v) => convert(v, where, cel, mapLists));
    } else if (key === 'not') {
      out.not = convert(value as Schema, where, cel, mapLists);
    } else {
      out[key] = value;
    }
  }
  if (node['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (node.nullable === true && typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  }
  if (node['x-kubernetes-list-type'] === 'set') out.uniqueItems = true;
  if (node['x-kubernetes-list-type'] === 'map' && Array.isArray(node['x-kubernetes-list-map-keys'])) {
    mapLists.push({ at: where, keys: node['x-kubernetes-list-map-keys'] as string[] });
  }
  return out;
}

/** ajv as the CRDs need it (draft 2020-12, Go RE2 patterns, Kubernetes' int32/int64 formats). */
export function newAjv(): Ajv2020 {
  // unicodeRegExp off: the CRD patterns are Go RE2, which accepts escapes such as `\_` that a /u RegExp rejects.
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictTypes: false,
    useDefaults: true,
    unicodeRegExp: false,
  });
  addFormats(ajv);
  ajv.addFormat('int32', {
    type: 'number',
    validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
  });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
  return ajv;
}

/** Every vendored Kargo CRD, by plural. Throws a clear error when the folder is missing or incomplete. */
export function loadKargoCrds(dir: string = defaultCrdDir()): Map<string, CrdResource> {
  if (!existsSync(dir)) {
    throw new Error(
      `Kargo CRDs not found at ${dir} (set KARGO_CRD_DIR, or keep ../shared/vendor/kargo-crds next to the repo)`,
    );
  }
  const files = readdirSync(dir)
    .filter((f) => /^kargo\.akuity\.io_.*\.yaml$/.test(f))
    .sort();
  if (files.length === 0) throw new Error(`no kargo.akuity.io_*.yaml CRD files in ${dir}`);
  const ajv = newAjv();
  const out = new Map<string, CrdResource>();
  for (const file of files) {
    for (const crd of readYamlDocuments(path.join(dir, file))) {
      const spec = crd.spec as JsonObject;
      const names = spec.names as JsonObject;
      const version = (spec.versions as JsonObject[]).find((v) => v.served !== false && v.storage !== false);
      if (!version) throw new Error(`${file}: no served storage version`);
      const raw = (version.schema as JsonObject).openAPIV3Schema as Schema;
      const cel: CelRule[] = [];
      const mapLists: CrdResource['mapLists'] = [];
      const converted = convert(raw, [], cel, mapLists);
      for (const rule of cel) {
        if (!CEL_RULES[rule.rule])
          throw new Error(`${file}: CEL rule without an equivalent here: ${rule.rule}`);
      }
      const subresources = isObject(version.subresources) ? version.subresources : {};
      out.set(String(names.plural), {
        group: String(spec.group),
        version: String(version.name),
        kind: String(names.kind),
        listKind: String(names.listKind ?? `${String(names.kind)}List`),
        plural: String(names.plural),
        singular: String(names.singular ?? String(names.kind).toLowerCase()),
        shortNames: Array.isArray(names.shortNames) ? names.shortNames.map(String) : [],
        namespaced: spec.scope === 'Namespaced',
        statusSubresource: subresources.status !== undefined,
        schema: raw,
        validate: ajv.compile(converted),
        cel,
        mapLists,
      });
    }
  }
  return out;
}

// ---- pruning ---------------------------------------------------------------------------------------------

/** Field path as the API server writes it: `spec.steps[0].config`, `status.verifiedIn[dev]`. */
export function fieldPath(parts: (string | number)[]): string {
  let out = '';
  for (const p of parts) {
    if (typeof p === 'number' || /^\d+$/.test(p)) out += `[${p}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${p}]`;
  }
  return out;
}

/**
 * Drops the fields the structural schema does not declare, in place; returns their paths. Root `metadata`
 * (ObjectMeta) is left to the caller.
 */
export function prune(value: unknown, schema: Schema, where: (string | number)[] = []): string[] {
  return pruneFields(value, schema, where).map(fieldPath);
}

/** prune(), with each dropped field's path as its parts (`['spec', 'steps', 0, 'confg']`). */
export function pruneFields(
  value: unknown,
  schema: Schema,
  where: (string | number)[] = [],
): (string | number)[][] {
  const dropped: (string | number)[][] = [];
  const walk = (v: unknown, s: Schema | undefined, p: (string | number)[]) => {
    if (!s) return;
    const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
    if (Array.isArray(v)) {
      if (isObject(s.items)) v.forEach((item, i) => walk(item, s.items as Schema, [...p, i]));
      return;
    }
    if (!isObject(v)) return;
    if (p.length === 1 && p[0] === 'metadata') return;
    const props = isObject(s.properties) ? (s.properties as Record<string, Schema>) : undefined;
    const additional = isObject(s.additionalProperties) ? (s.additionalProperties as Schema) : undefined;
    for (const key of Object.keys(v)) {
      if (props?.[key]) walk(v[key], props[key], [...p, key]);
      else if (additional) walk(v[key], additional, [...p, key]);
      else if (s.additionalProperties === true || preserve) continue;
      else {
        delete v[key];
        dropped.push([...p, key]);
      }
    }
  };
  walk(value, schema, where);
  return dropped;
}

// ---- validation ------------------------------------------------------------------------------------------

function pointerParts(instancePath: string): string[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function valueAt(root: unknown, parts: string[]): unknown {
  let cur = root;
  for (const p of parts) cur = Array.isArray(cur) ? cur[Number(p)] : isObject(cur) ? cur[p] : undefined;
  return cur;
}

function causeOf(e: ErrorObject, data: unknown): StatusCause | undefined {
  const parts = pointerParts(e.instancePath);
  const params = e.params as Record<string, unknown>;
  const field = fieldPath(parts);
  const value = valueAt(data, parts);
  switch (e.keyword) {
    case 'required':
      return {
        reason: 'FieldValueRequired',
        field: fieldPath([...parts, String(params.missingProperty)]),
        message: 'Required value',
      };
    case 'enum':
      return {
        reason: 'FieldValueNotSupported',
        field,
        message: `Unsupported value: ${fieldValue(value)}: supported values: ${(
          params.allowedValues as unknown[]
        )
          .map((v) => JSON.stringify(v))
          .join(', ')}`,
      };
    case 'type':
      return {
        reason: 'FieldValueTypeInvalid',
        field,
        message: `Invalid value: ${fieldValue(value)}: ${field} in body must be of type ${String(params.type)}: ${fieldValue(
          Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value,
        )}`,
      };
    case 'additionalProperties':
      return {
        reason: 'FieldValueInvalid',
        field: fieldPath([...parts, String(params.additionalProperty)]),
        message: 'Invalid value: unknown field',
      };
    case 'anyOf':
    case 'oneOf':
    case 'if':
      return undefined;
    default:
      return {
        reason: 'FieldValueInvalid',
        field,
        message: `Invalid value: ${fieldValue(value)}: ${field || '<root>'} in body ${e.message ?? e.keyword}`,
      };
  }
}

/** Every value at a location (`*` = every item or map value), with its path. */
export function valuesAt(
  root: unknown,
  where: string[],
  prefix: string[] = [],
): { value: unknown; parts: string[] }[] {
  if (where.length === 0) return [{ value: root, parts: prefix }];
  const [head, ...rest] = where;
  if (head === '*') {
    if (Array.isArray(root)) return root.flatMap((v, i) => valuesAt(v, rest, [...prefix, String(i)]));
    if (isObject(root)) return Object.entries(root).flatMap(([k, v]) => valuesAt(v, rest, [...prefix, k]));
    return [];
  }
  if (!isObject(root) || root[head!] === undefined) return [];
  return valuesAt(root[head!], rest, [...prefix, head!]);
}

/**
 * Validates (and defaults, in place) an object of this CRD. Returns the causes of a 422, empty when valid.
 * `metadata` is not looked at here (see metadataCauses).
 */
export function validateCustomResource(crd: CrdResource, obj: JsonObject): StatusCause[] {
  const causes: StatusCause[] = [];
  if (!crd.validate(obj)) {
    const seen = new Set<string>();
    for (const e of crd.validate.errors ?? []) {
      const cause = causeOf(e, obj);
      if (!cause) continue;
      const key = `${cause.field}|${cause.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      causes.push(cause);
    }
  }
  for (const rule of crd.cel) {
    for (const { value, parts } of valuesAt(obj, rule.at)) {
      if (!CEL_RULES[rule.rule]!(value)) {
        causes.push({
          reason: 'FieldValueInvalid',
          field: fieldPath(parts),
          message: `Invalid value: "object": ${rule.message}`,
        });
      }
    }
  }
  for (const list of crd.mapLists) {
    for (const { value, parts } of valuesAt(obj, list.at)) {
      if (!Array.isArray(value)) continue;
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const key = JSON.stringify(list.keys.map((k) => (isObject(item) ? item[k] : undefined)));
        if (seen.has(key)) {
          causes.push({
            reason: 'FieldValueDuplicate',
            field: fieldPath([...parts, i]),
            message: `Duplicate value: ${key}`,
          });
        }
        seen.add(key);
      });
    }
  }
  return causes;
}

// ---- the http step's config schema (used by the simulator) ----------------------------------------------

/** The `http` step config schema Kargo validates the evaluated config against (json-schemas/http-config.json). */
export function loadHttpConfigSchema(dir: string = defaultCrdDir()): ValidateFunction {
  const file = path.join(dir, 'json-schemas', 'http-config.json');
  if (!existsSync(file)) throw new Error(`http step schema not found: ${file}`);
  const schema = JSON.parse(readFileSync(file, 'utf8')) as Schema;
  return newAjv().compile(clone(schema));
}
