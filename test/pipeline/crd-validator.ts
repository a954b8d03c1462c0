// Validates Kargo manifests the way a Kargo 1.11 API server would, without one: each object against the
// vendored CRD schema (../shared/vendor/kargo-crds), plus the CEL rules and the admission-webhook rules the
// schema cannot express, plus each `http` step config and Warehouse `git` subscription against the JSON
// Schemas Kargo itself validates them with. A separate check flags http config fields Kargo 1.9 rejects.
//
// The CRDs are read by the one module that reads them for the Kargo stand-in's API server
// (src/sandbox/kargo-schema.ts: openAPIV3Schema → JSON Schema, defaults, CEL rules by their exact text, a
// CRD rule without an equivalent fails loading). Here, on a copy of each object: every field pruning would
// drop is an unknown field (what kubectl's strict field validation rejects), then the schema, the CEL rules
// and the map-list keys; the messages are this checker's own, by JSON pointer.
//
// Kargo expressions (`${{ ... }}`) in step configs: Kargo evaluates them before it validates the config. A
// value that is entirely one expression can evaluate to any JSON type, so it is accepted wherever the
// schema wants a non-string (boolean, number, object, array). A string with an expression inside is a
// string, but its content is unknown until run time, so it skips string patterns/enums/formats (the type
// is still checked). Everything without an expression is validated exactly.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import {
  CEL_RULES,
  loadKargoCrds,
  newAjv,
  pruneFields,
  readYamlDocuments as readKargoYaml,
  valuesAt as kargoValuesAt,
  type CrdResource,
} from '../../src/sandbox/kargo-schema.js';

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

type CrdInfo = CrdResource;

// ---------------------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------------------

const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Parses every YAML document of a file; fails on a YAML error instead of skipping the document. */
export const readYamlDocuments = (file: string): JsonObject[] => readKargoYaml(file) as JsonObject[];

/** Every object of every `*.yaml` file in `dir` (multi-document files included), in file order. */
export function loadManifests(dir: string): ManifestDocument[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .flatMap((f) =>
      readYamlDocuments(path.join(dir, f)).map((object, index) => ({ file: f, index, object })),
    );
}

/**
 * The Kargo CRDs by kind, read as the Kargo stand-in's API server reads them (src/sandbox/kargo-schema.ts):
 * OpenAPI v3 → JSON Schema, CEL rules by their exact text, map-list keys. Throws a clear error when the
 * vendored folder is missing or incomplete.
 */
export function loadCrds(dir: string = vendoredCrdDir): Map<string, CrdInfo> {
  return new Map([...loadKargoCrds(dir).values()].map((crd) => [crd.kind, crd]));
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

/** Every value at a CEL location, with its JSON pointer. */
const valuesAt = (root: Json, at: string[]): { value: Json; path: string }[] =>
  kargoValuesAt(root, at).map(({ value, parts }) => ({ value: value as Json, path: pointer(parts) }));

const pointer = (parts: readonly (string | number)[]): string =>
  parts.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

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
  // What the API server would prune (and strict field validation reject): unknown fields.
  for (const parts of pruneFields(data, crd.schema)) {
    issues.push({
      object: name,
      path: pointer(parts.slice(0, -1)),
      rule: 'schema',
      message: `unknown field "${String(parts.at(-1))}"`,
    });
  }
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
