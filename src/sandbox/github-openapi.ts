// GitHub's own OpenAPI description (@octokit/openapi: api.github.com.json, OpenAPI 3.0.3) as a checker for
// the GitHub stand-in: find the operation a request addresses, check its path/query parameters and JSON
// body, check each answer (status declared, body matches the response schema) and each webhook payload
// (the description's `x-webhooks`). Every problem is a string; the stand-in records them as violations.
//
// Choices, and why:
// - The non-dereferenced file (13 MB, ~0.15 s to parse) rather than the dereferenced one (73 MB): component
//   schemas are converted and added to ajv one by one, on first use, and shared by every operation that
//   refers to them; each operation/status validator is compiled once, on first use, and cached.
// - OpenAPI 3.0 is not JSON Schema: `nullable: true` becomes a `null` type (and `null` in the `enum`, as
//   GitHub's conclusion fields need), or `anyOf [schema, null]` where there is no `type`. ajv then runs the
//   draft-07 dialect with strict: false (GitHub's `example`, `x-github`, `discriminator` are ignored).
// - Answers the description leaves out: GitHub may answer any operation with 401/403/404/409/422/429/5xx
//   ("Troubleshooting the REST API"; e.g. GET …/runs/{run_id} declares only 200). Such an answer is accepted
//   when its body is a basic-error (validation-error for 422); any undeclared 1xx-3xx is a violation.
// - `created` (list workflow runs) is declared `format: date-time` but documented (and used) with GitHub's
//   search qualifiers `>=`, `<=`, `>`, `<` and `a..b` ranges: each date inside the qualifier is checked.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction, type ErrorObject } from 'ajv';
import * as addFormatsModule from 'ajv-formats';

type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = (addFormatsModule as unknown as { default: AddFormats }).default;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface Operation {
  operationId: string;
  method: string;
  /** The path template, e.g. `/repos/{owner}/{repo}/actions/runs/{run_id}`. */
  path: string;
}

export interface OperationMatch {
  operation: Operation;
  /** Path parameters, decoded. */
  params: Record<string, string>;
}

/** Statuses GitHub may send for any operation although the description does not list them. */
export const GENERIC_ERROR_STATUSES: ReadonlySet<number> = new Set([
  401, 403, 404, 409, 422, 429, 500, 502, 503,
]);

const SCHEMA_BASE = 'https://openapi.github.local/components/schemas/';
const COMPONENT_REF = /^#\/components\/schemas\/(.+)$/;

interface Segment {
  literal?: string;
  param?: string;
  /** For a segment mixing text and parameters (rare), a regex with named groups. */
  regex?: RegExp;
  names?: string[];
}

interface IndexedOperation extends Operation {
  segments: Segment[];
  literals: number;
  spec: JsonObject;
  /** Path-level parameters (merged with the operation's). */
  pathParams: Json[];
}

export class GithubOpenApi {
  /** How long reading and indexing the description took (ms). */
  readonly loadMs: number;
  readonly file: string;
  private readonly spec: JsonObject;
  private readonly byMethod = new Map<string, IndexedOperation[]>();
  private readonly byId = new Map<string, IndexedOperation>();
  private readonly ajv: Ajv;
  private readonly added = new Set<string>();
  private readonly validators = new Map<string, ValidateFunction>();
  /** Total time spent compiling validators so far (ms): lazy compilation is the point, so it is measured. */
  compileMs = 0;

  private static cache = new Map<string, GithubOpenApi>();

  /** The description from @octokit/openapi (api.github.com, not dereferenced), loaded once per process. */
  static load(file = GithubOpenApi.defaultFile()): GithubOpenApi {
    let found = GithubOpenApi.cache.get(file);
    if (!found) {
      found = new GithubOpenApi(file);
      GithubOpenApi.cache.set(file, found);
    }
    return found;
  }

  static defaultFile(): string {
    return createRequire(import.meta.url).resolve('@octokit/openapi/generated/api.github.com.json');
  }

  private constructor(file: string) {
    const started = performance.now();
    this.file = file;
    this.spec = JSON.parse(readFileSync(file, 'utf8')) as JsonObject;
    const paths = this.spec.paths as Record<string, JsonObject>;
    for (const [path, item] of Object.entries(paths)) {
      const pathParams = Array.isArray(item.parameters) ? item.parameters : [];
      for (const [method, op] of Object.entries(item)) {
        if (!isObject(op) || typeof op.operationId !== 'string') continue;
        const segments = splitTemplate(path);
        const indexed: IndexedOperation = {
          operationId: op.operationId,
          method: method.toUpperCase(),
          path,
          segments,
          literals: segments.filter((s) => s.literal !== undefined).length,
          spec: op,
          pathParams,
        };
        const list = this.byMethod.get(indexed.method) ?? [];
        list.push(indexed);
        this.byMethod.set(indexed.method, list);
        this.byId.set(indexed.operationId, indexed);
      }
    }
    this.ajv = new Ajv({
      strict: false,
      allErrors: true,
      allowUnionTypes: true,
      logger: false,
      validateSchema: false,
    });
    addFormats(this.ajv);
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    this.ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    this.loadMs = performance.now() - started;
  }

  get operationCount(): number {
    return this.byId.size;
  }

  /** The example value the description ships under components/examples/<name> (a fresh copy). */
  example<T = unknown>(name: string): T {
    const examples = (this.spec.components as JsonObject).examples as JsonObject;
    const ex = examples[name];
    if (!isObject(ex) || !('value' in ex))
      throw new Error(`the OpenAPI description has no example "${name}"`);
    return structuredClone(ex.value) as T;
  }

  /** The operation `method pathname` addresses; the most literal template wins (`…/runs/{id}` vs `…/runs/{id}/jobs`). */
  match(method: string, pathname: string): OperationMatch | undefined {
    const parts = pathname.split('/').slice(1);
    let best: { op: IndexedOperation; params: Record<string, string> } | undefined;
    for (const op of this.byMethod.get(method.toUpperCase()) ?? []) {
      if (op.segments.length !== parts.length) continue;
      if (best && op.literals <= best.op.literals) continue;
      const params = matchSegments(op.segments, parts);
      if (params) best = { op, params };
    }
    return best
      ? {
          operation: { operationId: best.op.operationId, method: best.op.method, path: best.op.path },
          params: best.params,
        }
      : undefined;
  }

  operation(operationId: string): Operation | undefined {
    const op = this.byId.get(operationId);
    return op ? { operationId: op.operationId, method: op.method, path: op.path } : undefined;
  }

  // ---- requests --------------------------------------------------------------------------------------

  /**
   * Problems with a request to a matched operation: path and query parameters (types, enums, required,
   * unknown query parameters) and the JSON body (required, content type, schema).
   */
  checkRequest(
    match: OperationMatch,
    request: { query: URLSearchParams; contentType?: string; rawBody: string },
  ): string[] {
    const op = this.byId.get(match.operation.operationId) as IndexedOperation;
    const problems: string[] = [];
    const declared = [...op.pathParams, ...(Array.isArray(op.spec.parameters) ? op.spec.parameters : [])]
      .map((p) => this.resolve(p))
      .filter(isObject);
    const known = new Set<string>();
    for (const p of declared) {
      const name = String(p.name);
      const where = String(p.in);
      if (where === 'query') known.add(name);
      if (where !== 'path' && where !== 'query') continue;
      const raw = where === 'path' ? match.params[name] : (request.query.getAll(name).at(-1) ?? undefined);
      if (raw === undefined) {
        if (p.required === true) problems.push(`${where} parameter ${name} is required`);
        continue;
      }
      const schema = isObject(p.schema) ? p.schema : {};
      const key = `param ${op.operationId} ${where} ${name}`;
      const values = name === 'created' && where === 'query' ? searchDates(raw) : [raw];
      if (values === undefined) {
        problems.push(
          `query parameter created: "${raw}" is neither a date-time nor a search qualifier on one`,
        );
        continue;
      }
      for (const value of values) {
        const coerced = coerce(value, schema);
        const errors = this.validate(key, schema, coerced);
        for (const e of errors) problems.push(`${where} parameter ${name}=${JSON.stringify(value)}: ${e}`);
      }
    }
    for (const name of new Set(request.query.keys())) {
      if (!known.has(name)) problems.push(`query parameter ${name} is not declared for ${op.operationId}`);
    }

    const body = this.resolve(op.spec.requestBody);
    const hasBody = request.rawBody.trim() !== '';
    if (!isObject(body)) {
      if (hasBody && op.method !== 'GET') problems.push(`${op.operationId} takes no request body`);
      return problems;
    }
    if (!hasBody) {
      if (body.required === true) problems.push('a JSON request body is required');
      return problems;
    }
    const content = isObject(body.content) ? body.content : {};
    const json = content['application/json'];
    if (!isObject(json)) return problems;
    if (!/^application\/json\b/i.test(request.contentType ?? '')) {
      problems.push(`request body content-type is "${request.contentType ?? ''}", expected application/json`);
    }
    let data: unknown;
    try {
      data = JSON.parse(request.rawBody);
    } catch {
      problems.push('request body is not JSON');
      return problems;
    }
    for (const e of this.validate(`body ${op.operationId}`, json.schema ?? {}, data))
      problems.push(`body ${e}`);
    return problems;
  }

  // ---- responses -------------------------------------------------------------------------------------

  /** Problems with an answer: the status must be declared (or a generic error), the body must match. */
  checkResponse(
    operationId: string,
    response: { status: number; body: string; headers: Record<string, string | number | undefined> },
  ): string[] {
    const op = this.byId.get(operationId);
    if (!op) return [`unknown operation ${operationId}`];
    const responses = isObject(op.spec.responses) ? op.spec.responses : {};
    const declared = this.resolve(responses[String(response.status)] ?? responses.default);
    let spec: JsonObject;
    let key: string;
    if (isObject(declared)) {
      spec = declared;
      key = `response ${operationId} ${response.status}`;
    } else if (GENERIC_ERROR_STATUSES.has(response.status)) {
      const schema = response.status === 422 ? 'validation-error' : 'basic-error';
      spec = { content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } } };
      key = `generic ${schema}`;
    } else {
      const listed = Object.keys(responses).join(', ');
      return [`status ${response.status} is not declared for ${operationId} (declared: ${listed})`];
    }
    const problems: string[] = [];
    const headers = isObject(spec.headers) ? spec.headers : {};
    for (const name of Object.keys(headers)) {
      if (/^location$/i.test(name) && response.headers[name.toLowerCase()] === undefined) {
        problems.push(`header ${name} is missing from the ${response.status} answer`);
      }
    }
    const content = isObject(spec.content) ? spec.content : undefined;
    const json = content ? content['application/json'] : undefined;
    if (!isObject(json)) {
      if (response.body.trim() !== '')
        problems.push(`status ${response.status} of ${operationId} has no body, but one was sent`);
      return problems;
    }
    let data: unknown;
    try {
      data = JSON.parse(response.body);
    } catch {
      return [`status ${response.status} body is not JSON`];
    }
    for (const e of this.validate(key, json.schema ?? {}, data)) problems.push(`body ${e}`);
    return problems;
  }

  // ---- webhooks --------------------------------------------------------------------------------------

  /** Problems with a webhook payload, against the description's `x-webhooks` (`workflow-run-completed`, ...). */
  checkWebhook(event: string, action: string | undefined, payload: unknown): string[] {
    const hooks = this.spec['x-webhooks'] as JsonObject;
    const name = [event, action].filter(Boolean).join('-').replace(/_/g, '-');
    const hook = hooks[name];
    const post = isObject(hook) && isObject(hook.post) ? hook.post : undefined;
    const body = post ? this.resolve(post.requestBody) : undefined;
    const content = isObject(body) && isObject(body.content) ? body.content : undefined;
    const json = content ? content['application/json'] : undefined;
    if (!isObject(json)) return [`no webhook "${name}" in the OpenAPI description`];
    return this.validate(`webhook ${name}`, json.schema ?? {}, payload).map((e) => `payload ${e}`);
  }

  // ---- schema plumbing -------------------------------------------------------------------------------

  /** Follows `$ref`s into components/parameters, requestBodies, responses (one level, as GitHub uses them). */
  private resolve(node: unknown): unknown {
    if (!isObject(node) || typeof node.$ref !== 'string') return node;
    const m = /^#\/components\/(\w+)\/(.+)$/.exec(node.$ref);
    if (!m) return undefined;
    const group = (this.spec.components as JsonObject)[m[1] as string];
    return isObject(group) ? this.resolve(group[m[2] as string]) : undefined;
  }

  private validate(key: string, schema: Json, data: unknown): string[] {
    let fn = this.validators.get(key);
    if (!fn) {
      const started = performance.now();
      const refs = new Set<string>();
      const converted = toJsonSchema(schema, refs);
      this.ensureComponents(refs);
      fn = this.ajv.compile(isObject(converted) ? converted : {});
      this.validators.set(key, fn);
      this.compileMs += performance.now() - started;
    }
    return fn(data) ? [] : (fn.errors ?? []).slice(0, 8).map(describe);
  }

  /** Adds each referenced component schema (converted) to ajv once, with everything it refers to. */
  private ensureComponents(refs: Set<string>): void {
    const schemas = (this.spec.components as JsonObject).schemas as JsonObject;
    const queue = [...refs];
    while (queue.length > 0) {
      const name = queue.pop() as string;
      if (this.added.has(name)) continue;
      this.added.add(name);
      const more = new Set<string>();
      const converted = toJsonSchema(schemas[name] ?? {}, more);
      this.ajv.addSchema({
        ...(isObject(converted) ? converted : {}),
        $id: SCHEMA_BASE + encodeURIComponent(name),
      });
      queue.push(...more);
    }
  }
}

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(root)' : e.instancePath;
  const extra =
    e.keyword === 'enum'
      ? ` ${JSON.stringify((e.params as { allowedValues?: unknown }).allowedValues)}`
      : e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : '';
  return `${where} ${e.message ?? e.keyword}${extra}`;
}

// ---- OpenAPI 3.0 schema → JSON Schema (draft-07) -------------------------------------------------------

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'definitions']);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf']);
const SCHEMA_SINGLES = new Set(['items', 'not', 'additionalProperties']);

/** Converts one OpenAPI schema object; `refs` collects the component names it refers to. */
export function toJsonSchema(node: Json, refs: Set<string>): Json {
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'nullable' || k === 'example' || k === 'examples' || k.startsWith('x-')) continue;
    if (k === '$ref' && typeof v === 'string') {
      const m = COMPONENT_REF.exec(v);
      if (m) {
        refs.add(m[1] as string);
        out.$ref = SCHEMA_BASE + encodeURIComponent(m[1] as string);
      } else out.$ref = v;
    } else if (SCHEMA_MAPS.has(k) && isObject(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, toJsonSchema(s, refs)]));
    } else if (SCHEMA_LISTS.has(k) && Array.isArray(v)) {
      out[k] = v.map((s) => toJsonSchema(s, refs));
    } else if (SCHEMA_SINGLES.has(k)) {
      out[k] = Array.isArray(v) ? v.map((s) => toJsonSchema(s, refs)) : toJsonSchema(v, refs);
    } else {
      out[k] = v;
    }
  }
  if (node.nullable !== true) return out;
  if (typeof out.type === 'string') {
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

// ---- paths and parameters ------------------------------------------------------------------------------

function splitTemplate(path: string): Segment[] {
  return path
    .split('/')
    .slice(1)
    .map((seg) => {
      const whole = /^\{([^}]+)\}$/.exec(seg);
      if (whole) return { param: whole[1] as string };
      if (!seg.includes('{')) return { literal: seg };
      const names: string[] = [];
      let source = '';
      for (const piece of seg.split(/(\{[^}]+\})/)) {
        const param = /^\{([^}]+)\}$/.exec(piece);
        if (param) {
          names.push(param[1] as string);
          source += '([^/]+?)';
        } else source += piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      }
      return { regex: new RegExp(`^${source}$`), names };
    });
}

function matchSegments(segments: Segment[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i += 1) {
    const seg = segments[i] as Segment;
    const part = parts[i] as string;
    if (seg.literal !== undefined) {
      if (seg.literal !== part) return undefined;
    } else if (seg.param !== undefined) {
      if (part === '') return undefined;
      params[seg.param] = safeDecode(part);
    } else if (seg.regex) {
      const m = seg.regex.exec(part);
      if (!m) return undefined;
      seg.names?.forEach((n, j) => (params[n] = safeDecode(m[j + 1] as string)));
    }
  }
  return params;
}

const safeDecode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** A query/path string as the type its schema declares (GitHub parses integers and booleans). */
function coerce(raw: string, schema: JsonObject): unknown {
  switch (schema.type) {
    case 'integer':
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'array':
      return raw.split(',');
    default:
      return raw;
  }
}

/** GitHub's date search syntax (`>=d`, `<d`, `a..b`, `d`) → the dates in it; undefined if not that shape. */
function searchDates(raw: string): string[] | undefined {
  // A bare date means midnight UTC to GitHub; check it as that date-time.
  const full = (d: string): string => (/^\d{4}-\d{2}-\d{2}$/.test(d) ? `${d}T00:00:00Z` : d);
  const range = /^(.+)\.\.(.+)$/.exec(raw);
  if (range) return [range[1] as string, range[2] as string].filter((d) => d !== '*').map(full);
  const m = /^(>=|<=|>|<)?(.+)$/.exec(raw);
  return m ? [full(m[2] as string)] : undefined;
}
