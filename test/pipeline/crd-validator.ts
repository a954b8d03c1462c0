// Validates Kargo manifests the way a Kargo 1.11 API server would, without one: each object against the
// vendored CRD schema (../shared/vendor/kargo-crds), plus the CEL rules and the admission-webhook rules the
// schema cannot express, plus each `http` step config and Warehouse `git` subscription against the JSON
// Schemas Kargo itself validates them with. A separate check flags http config fields Kargo 1.9 rejects.
//
// How the CRD's openAPIV3Schema becomes a JSON Schema (draft 2020-12, ajv):
// - `x-kubernetes-*` keys are dropped after use: an object with `properties` and no
//   `x-kubernetes-preserve-unknown-fields` gets `additionalProperties: false` (the API server prunes, and
//   kubectl's strict field validation rejects, unknown fields); `x-kubernetes-int-or-string` becomes
//   integer|string; `x-kubernetes-list-type: set` becomes uniqueItems; `list-type: map` keys must be unique;
// - `nullable: true` adds "null" to the type; `default`s are applied before validation (as the API server
//   defaults before it validates), on a copy;
// - `x-kubernetes-validations` (CEL) are collected with their location and checked by the hand-written
//   equivalents in CEL_RULES. A rule in the CRDs without an equivalent makes loading fail, so a CRD update
//   cannot silently skip a rule.
//
// Kargo expressions (`${{ ... }}`) in step configs: Kargo evaluates them before it validates the config. A
// value that is entirely one expression can evaluate to any JSON type, so it is accepted wherever the
// schema wants a non-string (boolean, number, object, array). A string with an expression inside is a
// string, but its content is unknown until run time, so it skips string patterns/enums/formats (the type
// is still checked). Everything without an expression is validated exactly.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import * as addFormatsModule from 'ajv-formats';
import { parseAllDocuments } from 'yaml';

type AddFormats = (ajv: Ajv2020) => Ajv2020;
const addFormats = (addFormatsModule as unknown as { default: AddFormats }).default;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
type Schema = Record<string, unknown>;

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The shared, read-only vendored CRDs: `<repo>/../shared/vendor/kargo-crds`. */
export const vendoredCrdDir = path.resolve(repoRoot, '..', 'shared', 'vendor', 'kargo-crds');

export const KARGO_API_VERSION = 'kargo.akuity.io/v1alpha1';

/** http config fields that exist only since Kargo 1.11.0; 1.9.x/1.10.x reject them at run time. */
export const HTTP_FIELDS_SINCE_1_11: Readonly<Record<string, string>> = {
  pollInterval: '1.11+ only: Kargo 1.9/1.10 reject it at run time (they requeue every 5 min instead)',
  errorExpression: '1.11+ only: Kargo 1.9/1.10 reject it at run time',
  proxy: '1.11+ only: Kargo 1.9/1.10 reject it at run time',
};

export type IssueRule =
  | 'kind'
  | 'metadata'
  | 'schema'
  | 'cel'
  | 'webhook'
  | 'http-config'
  | 'git-subscription'
  | 'kargo-1.9'
  | 'expression';

export interface Issue {
  /** `Kind/name` of the object. */
  object: string;
  /** Where in the object, e.g. `/spec/promotionTemplate/spec/steps/0/config`. */
  path: string;
  rule: IssueRule;
  message: string;
}

export interface ManifestDocument {
  file: string;
  index: number;
  object: JsonObject;
}

interface CelRule {
  /** Location in the object, `/`-separated, `*` for every item of an array. */
  at: string[];
  rule: string;
  message: string;
}

interface CrdInfo {
  kind: string;
  plural: string;
  namespaced: boolean;
  validate: ValidateFunction;
  cel: CelRule[];
  mapLists: { at: string[]; keys: string[] }[];
}

// ---------------------------------------------------------------------------------------------------------
// CEL rules, by their exact text in the CRDs.
// ---------------------------------------------------------------------------------------------------------

const has = (self: Json, field: string): boolean =>
  self !== null && typeof self === 'object' && !Array.isArray(self) && self[field] !== undefined;
const item = (self: Json, i: number): Json | undefined => (Array.isArray(self) ? self[i] : undefined);
const size = (self: Json): number => (Array.isArray(self) ? self.length : 0);

export const CEL_RULES: Readonly<Record<string, (self: Json) => boolean>> = {
  'has(self.uses) && !has(self.task)': (s) => has(s, 'uses') && !has(s, 'task'),
  '(has(self.uses) ? !has(self.task) : has(self.task))': (s) =>
    has(s, 'uses') ? !has(s, 'task') : has(s, 'task'),
  '!has(self.task) || !has(self.continueOnError)': (s) => !has(s, 'task') || !has(s, 'continueOnError'),
  '!has(self.task) || !has(self.retry)': (s) => !has(s, 'task') || !has(s, 'retry'),
  'has(self.freight) != has(self.origin)': (s) => has(s, 'freight') !== has(s, 'origin'),
  'has(self.stage) ? !has(self.stageSelector) : has(self.stageSelector)': (s) =>
    has(s, 'stage') ? !has(s, 'stageSelector') : has(s, 'stageSelector'),
  "self.size() == 0 || self[0] == 'Failed' || self[0] == 'Errored'": (s) =>
    size(s) === 0 || item(s, 0) === 'Failed' || item(s, 0) === 'Errored',
  "self.size() <= 1 || self[1] == 'Failed' || self[1] == 'Errored'": (s) =>
    size(s) <= 1 || item(s, 1) === 'Failed' || item(s, 1) === 'Errored',
  "self.size() == 0 || self[0] == 'Failed' || self[0] == 'Error'": (s) =>
    size(s) === 0 || item(s, 0) === 'Failed' || item(s, 0) === 'Error',
  "self.size() <= 1 || self[1] == 'Failed' || self[1] == 'Error'": (s) =>
    size(s) <= 1 || item(s, 1) === 'Failed' || item(s, 1) === 'Error',
};

// ---------------------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------------------

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Parses every YAML document of a file; fails on a YAML error instead of skipping the document. */
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

/** Every object of every `*.yaml` file in `dir` (multi-document files included), in file order. */
export function loadManifests(dir: string): ManifestDocument[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .flatMap((f) =>
      readYamlDocuments(path.join(dir, f)).map((object, index) => ({ file: f, index, object })),
    );
}

function convert(node: Schema, at: string[], cel: CelRule[], mapLists: CrdInfo['mapLists']): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'x-kubernetes-validations') {
      for (const v of value as { rule: string; message?: string }[]) {
        cel.push({ at, rule: v.rule, message: v.message ?? v.rule });
      }
    } else if (key.startsWith('x-kubernetes-') || key === 'nullable') {
      // handled below
    } else if (key === 'properties') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Schema>).map(([k, v]) => [
          k,
          convert(v, [...at, k], cel, mapLists),
        ]),
      );
    } else if (key === 'items') {
      out.items = convert(value as Schema, [...at, '*'], cel, mapLists);
    } else if (key === 'additionalProperties') {
      out.additionalProperties =
        typeof value === 'boolean' ? value : convert(value as Schema, [...at, '*'], cel, mapLists);
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      out[key] = (value as Schema[]).map((v) => convert(v, at, cel, mapLists));
    } else if (key === 'not') {
      out.not = convert(value as Schema, at, cel, mapLists);
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
    mapLists.push({ at, keys: node['x-kubernetes-list-map-keys'] as string[] });
  }
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (out.properties !== undefined && !preserve && out.additionalProperties === undefined) {
    out.additionalProperties = false;
  }
  return out;
}

function newAjv(): Ajv2020 {
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

/** The Kargo CRDs by kind. Throws a clear error when the vendored folder is missing or incomplete. */
export function loadCrds(dir: string = vendoredCrdDir): Map<string, CrdInfo> {
  if (!existsSync(dir)) {
    throw new Error(
      `Vendored Kargo CRDs not found at ${dir}. The manifests cannot be validated without them: ` +
        `the repository must sit next to the shared folder (../shared/vendor/kargo-crds).`,
    );
  }
  const files = readdirSync(dir).filter((f) => /^kargo\.akuity\.io_.*\.yaml$/.test(f));
  if (files.length === 0) throw new Error(`No kargo.akuity.io_*.yaml CRD files in ${dir}`);
  const ajv = newAjv();
  const crds = new Map<string, CrdInfo>();
  for (const file of files.sort()) {
    for (const crd of readYamlDocuments(path.join(dir, file))) {
      const spec = crd.spec as JsonObject;
      const names = spec.names as JsonObject;
      const version = (spec.versions as JsonObject[]).find((v) => v.name === 'v1alpha1');
      if (!version) throw new Error(`${file}: no v1alpha1 version`);
      const cel: CelRule[] = [];
      const mapLists: CrdInfo['mapLists'] = [];
      const schema = convert((version.schema as JsonObject).openAPIV3Schema as Schema, [], cel, mapLists);
      for (const rule of cel) {
        if (!CEL_RULES[rule.rule]) {
          throw new Error(`${file}: CEL rule at /${rule.at.join('/')} has no equivalent here: ${rule.rule}`);
        }
      }
      crds.set(String(names.kind), {
        kind: String(names.kind),
        plural: String(names.plural),
        namespaced: spec.scope === 'Namespaced',
        validate: ajv.compile(schema),
        cel,
        mapLists,
      });
    }
  }
  return crds;
}

// ---------------------------------------------------------------------------------------------------------
// JSON Schemas of step configs and subscriptions
// ---------------------------------------------------------------------------------------------------------

const WHOLE_EXPRESSION = '^\\s*\\$\\{\\{[\\s\\S]*\\}\\}\\s*$';
const CONTAINS_EXPRESSION = '\\$\\{\\{';

/** Rewrites a JSON Schema so Kargo expressions are accepted where they can evaluate to a valid value. */
export function tolerateExpressions(node: Schema, isRoot = true): Schema {
  const out: Schema = { ...node };
  for (const key of ['properties', 'definitions', '$defs'] as const) {
    if (isObject(out[key])) {
      out[key] = Object.fromEntries(
        Object.entries(out[key] as Record<string, Schema>).map(([k, v]) => [
          k,
          tolerateExpressions(v, false),
        ]),
      );
    }
  }
  if (isObject(out.items)) out.items = tolerateExpressions(out.items as Schema, false);
  if (isObject(out.additionalProperties)) {
    out.additionalProperties = tolerateExpressions(out.additionalProperties as Schema, false);
  }
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    if (Array.isArray(out[key])) out[key] = (out[key] as Schema[]).map((s) => tolerateExpressions(s, false));
  }
  if (isRoot) return out;
  const types =
    typeof out.type === 'string' ? [out.type] : Array.isArray(out.type) ? (out.type as string[]) : [];
  if (types.some((t) => t !== 'string')) {
    return { anyOf: [out, { type: 'string', pattern: WHOLE_EXPRESSION }] };
  }
  const constrained = ['pattern', 'enum', 'const', 'format', 'minLength', 'maxLength'].some((k) => k in out);
  if (types.includes('string') && constrained) {
    return { anyOf: [out, { type: 'string', pattern: CONTAINS_EXPRESSION }] };
  }
  return out;
}

export interface StepSchemas {
  http: ValidateFunction;
  gitSubscription: ValidateFunction;
}

export function loadStepSchemas(dir: string = vendoredCrdDir): StepSchemas {
  const read = (f: string): Schema => {
    const file = path.join(dir, 'json-schemas', f);
    if (!existsSync(file)) throw new Error(`Vendored JSON Schema not found: ${file}`);
    return JSON.parse(readFileSync(file, 'utf8')) as Schema;
  };
  const ajv = newAjv();
  return {
    http: ajv.compile(tolerateExpressions(read('http-config.json'))),
    gitSubscription: ajv.compile(read('git-subscription.json')),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const METADATA_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'labels',
  'annotations',
  'finalizers',
  'ownerReferences',
]);

function describeAjvError(e: ErrorObject): string {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `unknown field "${String(params.additionalProperty)}"`;
  if (e.keyword === 'required') return `missing required field "${String(params.missingProperty)}"`;
  if (e.keyword === 'enum') return `${e.message ?? 'enum'} ${JSON.stringify(params.allowedValues)}`;
  return e.message ?? e.keyword;
}

function ajvIssues(
  validate: ValidateFunction,
  data: unknown,
  object: string,
  base: string,
  rule: IssueRule,
): Issue[] {
  if (validate(data)) return [];
  // Inside anyOf branches ajv reports every branch; keep the errors of the real (first) branch.
  const errors = (validate.errors ?? []).filter((e) => !/\/anyOf\/[1-9]/.test(e.schemaPath));
  return errors
    .filter((e) => e.keyword !== 'anyOf')
    .map((e) => ({ object, path: `${base}${e.instancePath}`, rule, message: describeAjvError(e) }));
}

/** Every value at a CEL location, with its JSON path. */
function valuesAt(root: Json, at: string[], prefix = ''): { value: Json; path: string }[] {
  if (at.length === 0) return [{ value: root, path: prefix }];
  const [head, ...rest] = at;
  if (head === '*') {
    if (Array.isArray(root)) return root.flatMap((v, i) => valuesAt(v, rest, `${prefix}/${i}`));
    if (isObject(root)) return Object.entries(root).flatMap(([k, v]) => valuesAt(v, rest, `${prefix}/${k}`));
    return [];
  }
  if (!isObject(root) || root[head!] === undefined) return [];
  return valuesAt(root[head!]!, rest, `${prefix}/${head!}`);
}

export const objectName = (o: JsonObject): string =>
  `${String(o.kind)}/${isObject(o.metadata) ? String(o.metadata.name) : '?'}`;

/** Steps of a Stage's promotion template, a Promotion or a (Cluster)PromotionTask. */
export function stepsOf(o: JsonObject): { steps: JsonObject[]; base: string } {
  const spec = isObject(o.spec) ? o.spec : {};
  if (o.kind === 'Stage') {
    const tmpl = isObject(spec.promotionTemplate) ? spec.promotionTemplate : {};
    const tspec = isObject(tmpl.spec) ? tmpl.spec : {};
    return {
      steps: Array.isArray(tspec.steps) ? (tspec.steps.filter(isObject) as JsonObject[]) : [],
      base: '/spec/promotionTemplate/spec/steps',
    };
  }
  return {
    steps: Array.isArray(spec.steps) ? (spec.steps.filter(isObject) as JsonObject[]) : [],
    base: '/spec/steps',
  };
}

function metadataIssues(o: JsonObject, crd: CrdInfo | undefined, name: string): Issue[] {
  const issues: Issue[] = [];
  const add = (p: string, message: string): void => {
    issues.push({ object: name, path: `/metadata${p}`, rule: 'metadata', message });
  };
  if (!isObject(o.metadata)) {
    add('', 'metadata is required');
    return issues;
  }
  const md = o.metadata;
  for (const key of Object.keys(md)) if (!METADATA_FIELDS.has(key)) add(`/${key}`, `unknown field "${key}"`);
  if (typeof md.name !== 'string' || md.name.length > 253 || !DNS_SUBDOMAIN.test(md.name)) {
    add('/name', 'name must be a DNS-1123 subdomain');
  }
  for (const key of ['labels', 'annotations'] as const) {
    if (md[key] === undefined) continue;
    if (!isObject(md[key]) || Object.values(md[key]).some((v) => typeof v !== 'string')) {
      add(`/${key}`, `${key} must map strings to strings`);
    }
  }
  if (crd?.namespaced && typeof md.namespace !== 'string') {
    add('/namespace', 'namespaced kind without metadata.namespace (kubectl would use the current namespace)');
  }
  if (crd && !crd.namespaced && md.namespace !== undefined)
    add('/namespace', 'cluster-scoped kind has a namespace');
  return issues;
}

/** Where an expression starts, its text up to the first `}}`, and whether it is cut short there. */
export function expressionsIn(text: string): { expression: string; balanced: boolean; closed: boolean }[] {
  const out: { expression: string; balanced: boolean; closed: boolean }[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf('${{', from);
    if (start < 0) return out;
    const end = text.indexOf('}}', start + 3);
    if (end < 0) {
      out.push({ expression: text.slice(start + 3), balanced: false, closed: false });
      return out;
    }
    const expression = text.slice(start + 3, end);
    out.push({ expression, balanced: isBalanced(expression), closed: true });
    from = end + 2;
  }
}

/** Brackets balanced outside string literals: an expression cut short by a `}}` inside it is not. */
function isBalanced(expression: string): boolean {
  const closing: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  let quote: string | undefined;
  for (let i = 0; i < expression.length; i += 1) {
    const c = expression[i]!;
    if (quote) {
      if (c === '\\') i += 1;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') stack.push(c);
    else if (closing[c]) {
      if (stack.pop() !== closing[c]) return false;
    }
  }
  return stack.length === 0 && quote === undefined;
}

function stringsIn(value: Json, at: string): { text: string; path: string }[] {
  if (typeof value === 'string') return [{ text: value, path: at }];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsIn(v, `${at}/${i}`));
  if (isObject(value)) return Object.entries(value).flatMap(([k, v]) => stringsIn(v, `${at}/${k}`));
  return [];
}

const varNames = (list: Json | undefined): string[] =>
  Array.isArray(list) ? list.filter(isObject).map((v) => String(v.name)) : [];

/**
 * Expression hygiene in a Stage's steps: every `${{` closes, no `}}` cuts an expression short, every
 * `vars.x` is declared (Stage, template or step vars), every `outputs.<alias>.<name>` names an earlier step
 * and an output it declares.
 */
function expressionIssues(o: JsonObject, name: string): Issue[] {
  if (o.kind !== 'Stage') return [];
  const issues: Issue[] = [];
  const spec = o.spec as JsonObject;
  const tmplSpec = (spec.promotionTemplate as JsonObject | undefined)?.spec as JsonObject | undefined;
  const declared = new Set([...varNames(spec.vars), ...varNames(tmplSpec?.vars)]);
  const { steps, base } = stepsOf(o);
  const earlier = new Map<string, Set<string>>();
  steps.forEach((step, i) => {
    const stepVars = new Set([...declared, ...varNames(step.vars)]);
    for (const { text, path: p } of stringsIn(step.config ?? null, `${base}/${i}/config`)) {
      for (const { expression, balanced, closed } of expressionsIn(text)) {
        const add = (message: string): void => {
          issues.push({ object: name, path: p, rule: 'expression', message });
        };
        if (!closed) add('"${{" without a closing "}}"');
        else if (!balanced) add(`expression cut short by "}}" (write "} }" inside): \${{${expression}}}`);
        for (const m of expression.matchAll(/\bvars\.([A-Za-z_]\w*)/g)) {
          if (!stepVars.has(m[1]!)) add(`vars.${m[1]!} is not declared in the Stage's vars`);
        }
        for (const m of expression.matchAll(/\boutputs(?:\.([A-Za-z_]\w*)|\['([^']+)'\])\.([A-Za-z_]\w*)/g)) {
          const alias = m[1] ?? m[2]!;
          const outputs = earlier.get(alias);
          if (!outputs) add(`outputs.${alias} is not an earlier step's alias`);
          else if (!outputs.has(m[3]!)) add(`step ${alias} declares no output ${m[3]!}`);
        }
      }
    }
    if (typeof step.as === 'string') {
      const config = isObject(step.config) ? step.config : {};
      const outs = Array.isArray(config.outputs)
        ? config.outputs.filter(isObject).map((x) => String(x.name))
        : [];
      earlier.set(step.as, new Set(outs));
    }
  });
  return issues;
}

function webhookIssues(o: JsonObject, name: string): Issue[] {
  const issues: Issue[] = [];
  const add = (p: string, message: string): void => {
    issues.push({ object: name, path: p, rule: 'webhook', message });
  };
  const md = isObject(o.metadata) ? o.metadata : {};
  const spec = isObject(o.spec) ? o.spec : {};
  if (o.kind === 'ProjectConfig' && md.name !== md.namespace) {
    add(
      '/metadata/name',
      `ProjectConfig name "${String(md.name)}" must equal its namespace "${String(md.namespace)}"`,
    );
  }
  if (['Stage', 'Promotion', 'PromotionTask', 'ClusterPromotionTask'].includes(String(o.kind))) {
    const { steps, base } = stepsOf(o);
    const seen = new Set<string>();
    steps.forEach((step, i) => {
      if (typeof step.as !== 'string') return;
      if (/^(step|task)-\d+$/.test(step.as)) add(`${base}/${i}/as`, `alias "${step.as}" is reserved`);
      if (seen.has(step.as)) add(`${base}/${i}/as`, `alias "${step.as}" is used by an earlier step`);
      seen.add(step.as);
    });
  }
  if (o.kind === 'Stage' && Array.isArray(spec.requestedFreight)) {
    spec.requestedFreight.forEach((req, i) => {
      const sources = isObject(req) && isObject(req.sources) ? req.sources : {};
      const stages = Array.isArray(sources.stages) ? sources.stages : [];
      if (sources.direct !== true && stages.length === 0) {
        add(
          `/spec/requestedFreight/${i}/sources`,
          'sources needs direct: true or at least one upstream stage',
        );
      }
    });
  }
  return issues;
}

function stepConfigIssues(o: JsonObject, name: string, schemas: StepSchemas): Issue[] {
  const issues: Issue[] = [];
  if (o.kind === 'Warehouse') {
    const subs = isObject(o.spec) && Array.isArray(o.spec.subscriptions) ? o.spec.subscriptions : [];
    subs.forEach((sub, i) => {
      const at = `/spec/subscriptions/${i}`;
      const keys = isObject(sub) ? Object.keys(sub) : [];
      if (keys.length !== 1) {
        issues.push({
          object: name,
          path: at,
          rule: 'webhook',
          message: 'a subscription has exactly one key (git, image, chart, ...)',
        });
      }
      if (isObject(sub) && sub.git !== undefined) {
        issues.push(
          ...ajvIssues(
            schemas.gitSubscription,
            structuredClone(sub.git),
            name,
            `${at}/git`,
            'git-subscription',
          ),
        );
      }
    });
  }
  const { steps, base } = stepsOf(o);
  steps.forEach((step, i) => {
    if (step.uses !== 'http') return;
    const at = `${base}/${i}/config`;
    issues.push(...ajvIssues(schemas.http, structuredClone(step.config ?? {}), name, at, 'http-config'));
    for (const key of Object.keys(isObject(step.config) ? step.config : {})) {
      const since = HTTP_FIELDS_SINCE_1_11[key];
      if (since)
        issues.push({ object: name, path: `${at}/${key}`, rule: 'kargo-1.9', message: `${key} is ${since}` });
    }
  });
  return issues;
}

/** All issues of one object. Core kinds (v1 Secret, Namespace) only get the metadata checks. */
export function validateObject(o: JsonObject, crds: Map<string, CrdInfo>, schemas: StepSchemas): Issue[] {
  const name = objectName(o);
  if (o.apiVersion === 'v1') return metadataIssues(o, undefined, name);
  const crd = typeof o.kind === 'string' ? crds.get(o.kind) : undefined;
  if (o.apiVersion !== KARGO_API_VERSION || !crd) {
    return [
      {
        object: name,
        path: '',
        rule: 'kind',
        message: `unknown apiVersion/kind ${String(o.apiVersion)} ${String(o.kind)}`,
      },
    ];
  }
  const issues = metadataIssues(o, crd, name);
  const data = structuredClone(o); // the defaults ajv applies must not leak into the caller's object
  issues.push(...ajvIssues(crd.validate, data, name, '', 'schema'));
  for (const rule of crd.cel) {
    for (const { value, path: p } of valuesAt(data, rule.at)) {
      if (!CEL_RULES[rule.rule]!(value))
        issues.push({ object: name, path: p, rule: 'cel', message: rule.message });
    }
  }
  for (const list of crd.mapLists) {
    for (const { value, path: p } of valuesAt(data, list.at)) {
      if (!Array.isArray(value)) continue;
      const keys = value.map((v) => JSON.stringify(list.keys.map((k) => (isObject(v) ? v[k] : undefined))));
      if (new Set(keys).size !== keys.length) {
        issues.push({
          object: name,
          path: p,
          rule: 'schema',
          message: `duplicate ${list.keys.join('+')} in a map list`,
        });
      }
    }
  }
  issues.push(
    ...webhookIssues(data, name),
    ...stepConfigIssues(o, name, schemas),
    ...expressionIssues(o, name),
  );
  return issues;
}

export const formatIssues = (issues: readonly Issue[]): string =>
  issues.map((i) => `${i.object} ${i.path || '/'} [${i.rule}] ${i.message}`).join('\n');
