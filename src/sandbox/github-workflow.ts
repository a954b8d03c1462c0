// The GitHub stand-in's reading of .github/workflows/terraform.yaml: dispatch inputs (to validate
// dispatches as GitHub does), run-name, jobs with their display names, needs, `if:` conditions, steps and
// upload-artifact steps. The simulated runs are derived from the real file, not from a copy of it, so a
// renamed job or artifact shows up in the stand-in (and in the tests that compare it with runs.ts).
//
// Expressions: a small evaluator for the subset the workflow uses — contexts inputs/vars/env/steps/needs/
// github (and secrets/runner when the caller gives them), string/number/boolean/null literals, == != < <= >
// >= && || ! and parentheses, the status functions always() success() failure() cancelled() and
// contains() startsWith() endsWith(). Comparisons follow GitHub: strings compare case-insensitively, mixed
// types compare as numbers. Anything else is an error (the stand-in must not guess). The workflow checks
// (test/pipeline/workflow-checks.ts) read the workflow with this evaluator too.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export type Value = string | number | boolean | null;

export interface WorkflowInput {
  name: string;
  type: 'string' | 'choice' | 'boolean' | 'number' | 'environment';
  required: boolean;
  default?: string;
  options?: string[];
}

export interface WorkflowStep {
  /** `id:` (steps.<id> in expressions), if any. */
  id?: string;
  /** `name:` template (may hold `${{ }}`), or `Run <uses>` / `Run <first line>` as GitHub shows it. */
  name: string;
  if?: string;
  uses?: string;
  /** The `run:` script, whole. */
  run?: string;
  with: Record<string, unknown>;
  continueOnError: boolean;
}

export interface WorkflowJobDef {
  id: string;
  /** `name:` template; the id when absent. */
  name: string;
  needs: string[];
  if?: string;
  /** `environment:` name (the job waits there when the environment has protection rules). */
  environment?: string;
  steps: WorkflowStep[];
}

export interface WorkflowModel {
  /** `name:` of the workflow (REST `name` of a run and of the workflow). */
  name: string;
  /** File name, e.g. `terraform.yaml`; `path` is `.github/workflows/<file>`. */
  file: string;
  path: string;
  runName?: string;
  inputs: WorkflowInput[];
  jobs: WorkflowJobDef[];
}

export const defaultWorkflowFile = (): string =>
  path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    '.github',
    'workflows',
    'terraform.yaml',
  );

/** This repository's .github/workflows/drift.yaml (the scheduled drift check). */
export const defaultDriftWorkflowFile = (): string =>
  path.join(path.dirname(defaultWorkflowFile()), 'drift.yaml');

const asRecord = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** Reads and models a workflow file. Throws when it is not a workflow_dispatch workflow. */
export function loadWorkflow(file = defaultWorkflowFile()): WorkflowModel {
  const doc = asRecord(parse(readFileSync(file, 'utf8')));
  const on = asRecord(doc.on);
  if (!('workflow_dispatch' in on)) throw new Error(`${file}: not started by workflow_dispatch`);
  const inputs = Object.entries(asRecord(asRecord(on.workflow_dispatch).inputs)).map(
    ([name, raw]): WorkflowInput => {
      const def = asRecord(raw);
      const input: WorkflowInput = {
        name,
        type: (def.type as WorkflowInput['type'] | undefined) ?? 'string',
        required: def.required === true,
      };
      if (def.default !== undefined) input.default = String(def.default);
      if (Array.isArray(def.options)) input.options = def.options.map(String);
      return input;
    },
  );
  const jobs = Object.entries(asRecord(doc.jobs)).map(([id, raw]): WorkflowJobDef => {
    const def = asRecord(raw);
    const env = def.environment;
    const environment = typeof env === 'string' ? env : (asRecord(env).name as string | undefined);
    const job: WorkflowJobDef = {
      id,
      name: typeof def.name === 'string' ? def.name : id,
      needs: Array.isArray(def.needs)
        ? def.needs.map(String)
        : typeof def.needs === 'string'
          ? [def.needs]
          : [],
      steps: (Array.isArray(def.steps) ? def.steps : []).map((s): WorkflowStep => {
        const step = asRecord(s);
        const uses = typeof step.uses === 'string' ? step.uses : undefined;
        const run = typeof step.run === 'string' ? step.run.split('\n')[0] : '';
        const out: WorkflowStep = {
          name: typeof step.name === 'string' ? step.name : uses ? `Run ${uses}` : `Run ${run}`,
          with: asRecord(step.with),
          continueOnError: step['continue-on-error'] === true,
        };
        if (typeof step.id === 'string') out.id = step.id;
        if (step.if !== undefined) out.if = String(step.if);
        if (uses) out.uses = uses;
        if (typeof step.run === 'string') out.run = step.run;
        return out;
      }),
    };
    if (def.if !== undefined) job.if = String(def.if);
    if (environment) job.environment = environment;
    return job;
  });
  const model: WorkflowModel = {
    name: typeof doc.name === 'string' ? doc.name : path.basename(file),
    file: path.basename(file),
    path: `.github/workflows/${path.basename(file)}`,
    inputs,
    jobs,
  };
  if (typeof doc['run-name'] === 'string') model.runName = doc['run-name'];
  return model;
}

/**
 * Dispatch inputs as GitHub checks them: undeclared → "Unexpected inputs provided", missing required →
 * "Required input ... not provided", a choice outside its options, a boolean that is not true/false.
 * Declared defaults fill what was not sent. Messages are GitHub's (422 answers).
 */
export function validateDispatchInputs(
  model: WorkflowModel,
  sent: Record<string, unknown>,
): { ok: true; values: Record<string, string> } | { ok: false; message: string } {
  const declared = new Map(model.inputs.map((i) => [i.name, i]));
  const unexpected = Object.keys(sent).filter((k) => !declared.has(k));
  if (unexpected.length > 0)
    return { ok: false, message: `Unexpected inputs provided: ${JSON.stringify(unexpected)}` };
  const values: Record<string, string> = {};
  for (const input of model.inputs) {
    const raw = sent[input.name];
    const value = raw === undefined || raw === null ? input.default : String(raw);
    if (value === undefined || (input.required && value === '')) {
      if (input.required) return { ok: false, message: `Required input '${input.name}' not provided` };
      values[input.name] = '';
      continue;
    }
    if (input.type === 'choice' && input.options && !input.options.includes(value)) {
      return {
        ok: false,
        message: `Provided value '${value}' for input '${input.name}' not in the list of allowed values`,
      };
    }
    if (input.type === 'boolean' && value !== 'true' && value !== 'false') {
      return { ok: false, message: `Provided value '${value}' for input '${input.name}' is not a boolean` };
    }
    if (input.type === 'number' && !Number.isFinite(Number(value))) {
      return { ok: false, message: `Provided value '${value}' for input '${input.name}' is not a number` };
    }
    values[input.name] = value;
  }
  return { ok: true, values };
}

// ---- expressions -----------------------------------------------------------------------------------

export interface ExpressionContext {
  inputs: Record<string, string>;
  vars: Record<string, string>;
  env?: Record<string, string>;
  github?: Record<string, string>;
  /** steps.<id>.outcome / .conclusion / .outputs.<name> of the steps that ran so far. */
  steps?: Record<string, { outcome: string; conclusion: string; outputs: Record<string, string> }>;
  /** needs.<job>.result */
  needs?: Record<string, { result: string }>;
  /** secrets.<name>; without it an expression naming a secret is an error. */
  secrets?: Record<string, string>;
  /** runner.<name>; without it an expression naming the runner is an error. */
  runner?: Record<string, string>;
  /**
   * What success()/failure() look at: previous steps (step level) or the needed jobs (job level).
   * `succeeded` (default: neither failed nor cancelled) is false also when something needed was skipped,
   * which makes success() false without making failure() true, as on GitHub.
   */
  status: { failed: boolean; cancelled: boolean; succeeded?: boolean };
}

interface Token {
  t: 'str' | 'num' | 'id' | 'op' | 'punct';
  v: string;
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === "'") {
      let s = '';
      i += 1;
      for (;;) {
        if (i >= src.length) throw new Error(`unterminated string in: ${src}`);
        if (src[i] === "'" && src[i + 1] === "'") {
          s += "'";
          i += 2;
        } else if (src[i] === "'") {
          i += 1;
          break;
        } else s += src[i++];
      }
      tokens.push({ t: 'str', v: s });
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i)) as RegExpExecArray;
      tokens.push({ t: 'num', v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(src.slice(i)) as RegExpExecArray;
      tokens.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else {
      const two = src.slice(i, i + 2);
      if (['==', '!=', '&&', '||', '<=', '>='].includes(two)) {
        tokens.push({ t: 'op', v: two });
        i += 2;
      } else if ('!<>'.includes(c)) {
        tokens.push({ t: 'op', v: c });
        i += 1;
      } else if ('(),'.includes(c)) {
        tokens.push({ t: 'punct', v: c });
        i += 1;
      } else throw new Error(`unexpected "${c}" in: ${src}`);
    }
  }
  return tokens;
}

const truthy = (v: Value): boolean => v !== null && v !== false && v !== 0 && v !== '';

function toNumber(v: Value): number {
  if (v === null) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  return v.trim() === '' ? 0 : Number(v);
}

function looseEquals(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (typeof a === typeof b) return a === b;
  return toNumber(a) === toNumber(b);
}

function lookup(name: string, ctx: ExpressionContext): Value {
  const [root, ...rest] = name.split('.');
  let node: unknown;
  switch (root) {
    case 'inputs':
      node = ctx.inputs;
      break;
    case 'vars':
      node = ctx.vars;
      break;
    case 'env':
      node = ctx.env ?? {};
      break;
    case 'github':
      node = ctx.github ?? {};
      break;
    case 'steps':
      node = ctx.steps ?? {};
      break;
    case 'needs':
      node = ctx.needs ?? {};
      break;
    case 'secrets':
    case 'runner':
      node = ctx[root];
      if (node === undefined) throw new Error(`the ${root} context is not simulated: ${name}`);
      break;
    case 'true':
      return true;
    case 'false':
      return false;
    case 'null':
      return null;
    default:
      throw new Error(`unknown context "${root ?? ''}" in ${name}`);
  }
  for (const key of rest) {
    node = asRecord(node)[key];
    if (node === undefined) return '';
  }
  return typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean'
    ? node
    : node === null
      ? null
      : '';
}

/** Evaluates an expression (without the `${{ }}`). */
export function evaluate(expression: string, ctx: ExpressionContext): Value {
  const tokens = tokenize(expression);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const take = (): Token => {
    const tok = tokens[pos++];
    if (!tok) throw new Error(`unexpected end of: ${expression}`);
    return tok;
  };
  const or = (): Value => {
    let left = and();
    while (peek()?.v === '||') {
      pos += 1;
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  };
  const and = (): Value => {
    let left = not();
    while (peek()?.v === '&&') {
      pos += 1;
      const right = not();
      left = truthy(left) ? right : left;
    }
    return left;
  };
  const not = (): Value => {
    if (peek()?.t === 'op' && peek()?.v === '!') {
      pos += 1;
      return !truthy(not());
    }
    return comparison();
  };
  const comparison = (): Value => {
    const left = primary();
    const op = peek();
    if (op?.t === 'op' && ['==', '!=', '<', '>', '<=', '>='].includes(op.v)) {
      pos += 1;
      const right = primary();
      switch (op.v) {
        case '==':
          return looseEquals(left, right);
        case '!=':
          return !looseEquals(left, right);
        case '<':
          return toNumber(left) < toNumber(right);
        case '>':
          return toNumber(left) > toNumber(right);
        case '<=':
          return toNumber(left) <= toNumber(right);
        default:
          return toNumber(left) >= toNumber(right);
      }
    }
    return left;
  };
  const primary = (): Value => {
    const tok = take();
    if (tok.t === 'punct' && tok.v === '(') {
      const v = or();
      if (take().v !== ')') throw new Error(`expected ) in: ${expression}`);
      return v;
    }
    if (tok.t === 'str') return tok.v;
    if (tok.t === 'num') return Number(tok.v);
    if (tok.t === 'id' && peek()?.v === '(') {
      pos += 1;
      const args: Value[] = [];
      while (peek()?.v !== ')') {
        args.push(or());
        if (peek()?.v === ',') pos += 1;
        else if (peek()?.v !== ')') throw new Error(`expected , or ) in: ${expression}`);
      }
      pos += 1;
      return call(tok.v, args);
    }
    if (tok.t === 'id') return lookup(tok.v, ctx);
    throw new Error(`unexpected "${tok.v}" in: ${expression}`);
  };
  const call = (fn: string, args: Value[]): Value => {
    const arity = (n: number): void => {
      if (args.length !== n) throw new Error(`${fn}() takes ${n} arguments: ${expression}`);
    };
    const text = (v: Value): string => (v === null ? '' : String(v)).toLowerCase();
    switch (fn) {
      case 'always':
        arity(0);
        return true;
      case 'success':
        arity(0);
        return ctx.status.succeeded ?? (!ctx.status.failed && !ctx.status.cancelled);
      case 'failure':
        arity(0);
        return ctx.status.failed;
      case 'cancelled':
        arity(0);
        return ctx.status.cancelled;
      case 'contains':
        arity(2);
        return text(args[0]!).includes(text(args[1]!));
      case 'startsWith':
        arity(2);
        return text(args[0]!).startsWith(text(args[1]!));
      case 'endsWith':
        arity(2);
        return text(args[0]!).endsWith(text(args[1]!));
      default:
        throw new Error(`function ${fn}() is not simulated`);
    }
  };
  const value = or();
  if (pos !== tokens.length) throw new Error(`trailing tokens in: ${expression}`);
  return value;
}

const EXPR = /\$\{\{\s*([\s\S]*?)\s*\}\}/g;

/** `if:` as GitHub reads it: with or without `${{ }}`; no status function → `success() && (...)`. */
/**
 * The job-level status behind success() and failure(), as GitHub defines them: failure() is true when any
 * ancestor job (its needs, followed transitively) failed — also when the failure is further up and the
 * jobs between were skipped for it; success() only when every job it needs succeeded, so a need that was
 * skipped for another reason (its own `if:`) makes success() false without making failure() true.
 */
export function jobLevelStatus(
  needs: readonly string[],
  jobs: ReadonlyMap<string, { needs: readonly string[]; conclusion: string | null | undefined }>,
  cancelled: boolean,
): ExpressionContext['status'] {
  const ancestors = new Set<string>();
  const pending = [...needs];
  while (pending.length > 0) {
    const key = pending.pop()!;
    if (ancestors.has(key)) continue;
    ancestors.add(key);
    pending.push(...(jobs.get(key)?.needs ?? []));
  }
  return {
    failed: [...ancestors].some((key) => jobs.get(key)?.conclusion === 'failure'),
    cancelled,
    succeeded: !cancelled && needs.every((key) => jobs.get(key)?.conclusion === 'success'),
  };
}

export function condition(expr: string | undefined, ctx: ExpressionContext): boolean {
  if (expr === undefined || expr.trim() === '') return evaluate('success()', ctx) === true;
  const inner = expr.trim().replace(/^\$\{\{\s*([\s\S]*?)\s*\}\}$/, '$1');
  const hasStatus = /\b(always|success|failure|cancelled)\(\)/.test(inner);
  return truthy(evaluate(hasStatus ? inner : `success() && (${inner})`, ctx));
}

/** Replaces each `${{ expr }}` in a template. */
export function render(template: string, ctx: ExpressionContext): string {
  return template.replace(EXPR, (_m, expr: string) => {
    const v = evaluate(expr, ctx);
    return v === null ? '' : String(v);
  });
}

/** Whether an `if:` still runs after a failure or cancellation (always()/failure()/cancelled()). */
export const runsDespiteFailure = (expr: string | undefined): boolean =>
  expr !== undefined && /\b(always|failure|cancelled)\(\)/.test(expr);
