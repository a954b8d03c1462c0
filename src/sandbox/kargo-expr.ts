// A small evaluator for the expressions Kargo promotion steps use, for the sandbox's controller simulator.
//
// 1. expr-lang expressions (https://expr-lang.org), the subset our Stages and common http steps need:
//    literals: numbers, 'single', "double" and `raw` strings, true, false, nil/null, [arrays], {maps}
//              (keys: string literals or bare identifiers)
//    access:   identifiers from the environment, a.b, a?.b (nil-safe; ends the chain on nil), a[expr],
//              function calls f(x) and method-style calls (response.header("Location"))
//    operators (lowest to highest): ?: ternary, ?? nil-coalescing, || or, && and,
//              == != < <= > >= in / not in, + -, * / %, unary ! not -
//    semantics as in expr-lang: && || ! need booleans; == compares by value (numbers across int/float, deep for
//    lists/maps, different types are unequal); < > on two numbers or two strings; + adds numbers or joins
//    strings; fetching a field from nil or from a non-map is an error (`cannot fetch x from <nil>`) unless
//    `?.` is used; a missing map key is nil.
//    builtins: len, string, int, float, lower, upper, trim, hasPrefix, hasSuffix, contains, toJSON
//    Anything else (pipes, closures, slicing, `matches`, ...) is a parse error, so a Stage this simulator
//    cannot read fails loudly instead of doing something else.
// 2. Kargo's `${{ … }}` templates (pkg/expressions EvaluateTemplate / EvaluateJSONTemplate semantics):
//    a string without `${{`/`${%` is left alone; otherwise each expression is evaluated (strings as-is,
//    anything else as Go's encoding/json would write it) and the parts are joined; then one trailing newline
//    is dropped; a result wrapped in double quotes is unwrapped and kept a string (that is what quote() is
//    for); else a number, then a boolean, then any JSON value is tried, and the string is the fallback.
//    quote(x): strings → "x" (Go %q), anything else → `"` + JSON + `"`; unsafeQuote(x) → `"` + JSON + `"`.
//    evaluateConfig walks a step config and evaluates every string value (never keys).

export class ExprError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExprError';
  }
}

export type ExprEnv = Record<string, unknown>;
type Fn = (...args: unknown[]) => unknown;
type Node = (env: ExprEnv) => unknown;

const isMap = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function typeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'function') return 'func';
  if (isMap(v)) return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

/** Go encoding/json output: sorted map keys, HTML characters escaped. */
export function goJson(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (isMap(x)) {
      return Object.fromEntries(
        Object.keys(x)
          .sort()
          .filter((k) => x[k] !== undefined && typeof x[k] !== 'function')
          .map((k) => [k, sort(x[k])]),
      );
    }
    if (typeof x === 'function' || x === undefined) return null;
    return x;
  };
  return (JSON.stringify(sort(v)) ?? 'null')
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function valuesEqual(a: unknown, b: unknown): boolean {
  const na = a === undefined ? null : a;
  const nb = b === undefined ? null : b;
  if (na === nb) return true;
  if (Array.isArray(na))
    return Array.isArray(nb) && na.length === nb.length && na.every((v, i) => valuesEqual(v, nb[i]));
  if (isMap(na) && isMap(nb)) {
    const ka = Object.keys(na);
    return ka.length === Object.keys(nb).length && ka.every((k) => k in nb && valuesEqual(na[k], nb[k]));
  }
  return false;
}

// ---- tokenizer ---------------------------------------------------------------------------------------------

interface Token {
  kind: 'num' | 'str' | 'id' | 'op' | 'eof';
  value: string | number;
  pos: number;
}

const OPERATORS = [
  '?.',
  '??',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '<',
  '>',
  '!',
  '+',
  '-',
  '*',
  '/',
  '%',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  '.',
  '?',
];

function unescape(body: string, quote: string, src: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = body[++i];
    switch (n) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case '\\':
      case '"':
      case "'":
        out += n;
        break;
      case 'u': {
        const hex = body.slice(i + 1, i + 5);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new ExprError(`invalid escape in ${quote}…${quote}: ${src}`);
        out += String.fromCharCode(parseInt(hex, 16));
        i += 4;
        break;
      }
      default:
        throw new ExprError(`invalid escape \\${n ?? ''} in: ${src}`);
    }
  }
  return out;
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = src.slice(i);
    const num = /^(\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+)/.exec(rest);
    if (num) {
      tokens.push({ kind: 'num', value: Number(num[1]), pos: i });
      i += num[1]!.length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
      if (j >= src.length) throw new ExprError(`unterminated string at ${i} in: ${src}`);
      tokens.push({ kind: 'str', value: unescape(src.slice(i + 1, j), c, src), pos: i });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw new ExprError(`unterminated string at ${i} in: ${src}`);
      tokens.push({ kind: 'str', value: src.slice(i + 1, j), pos: i });
      i = j + 1;
      continue;
    }
    const id = /^[A-Za-z_$][\w$]*/.exec(rest);
    if (id) {
      tokens.push({ kind: 'id', value: id[0], pos: i });
      i += id[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (!op) throw new ExprError(`unexpected "${c}" at ${i} in: ${src}`);
    tokens.push({ kind: 'op', value: op, pos: i });
    i += op.length;
  }
  tokens.push({ kind: 'eof', value: '', pos: src.length });
  return tokens;
}

// ---- parser (to closures) ----------------------------------------------------------------------------------

const BUILTINS: Record<string, Fn> = {
  len: (v) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (isMap(v)) return Object.keys(v).length;
    throw new ExprError(`invalid argument for len (type ${typeName(v)})`);
  },
  string: (v) =>
    typeof v === 'string'
      ? v
      : v === null || v === undefined
        ? '<nil>'
        : typeof v === 'object'
          ? goJson(v)
          : String(v),
  int: (v) => {
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n))
      throw new ExprError(`invalid operation: int(${String(v)})`);
    return Math.trunc(n);
  },
  float: (v) => {
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || Number.isNaN(n))
      throw new ExprError(`invalid operation: float(${String(v)})`);
    return n;
  },
  lower: (v) => String(v).toLowerCase(),
  upper: (v) => String(v).toUpperCase(),
  trim: (v) => String(v).trim(),
  hasPrefix: (s, p) => String(s).startsWith(String(p)),
  hasSuffix: (s, p) => String(s).endsWith(String(p)),
  contains: (s, p) => String(s).includes(String(p)),
  toJSON: (v) => goJson(v),
};

function bool(v: unknown, op: string): boolean {
  if (typeof v !== 'boolean')
    throw new ExprError(`invalid operation: ${op} on ${typeName(v)} (mismatched types)`);
  return v;
}

function num(v: unknown, op: string): number {
  if (typeof v !== 'number') throw new ExprError(`invalid operation: ${op} on ${typeName(v)}`);
  return v;
}

/** Compiles an expr-lang expression; throws ExprError on syntax this evaluator does not support. */
export function compileExpr(src: string): Node {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const isOp = (v: string): boolean => peek().kind === 'op' && peek().value === v;
  const isWord = (v: string): boolean => peek().kind === 'id' && peek().value === v;
  const expect = (v: string): void => {
    if (!isOp(v)) throw new ExprError(`expected "${v}" at ${peek().pos} in: ${src}`);
    pos++;
  };

  const ternary = (): Node => {
    const cond = coalesce();
    if (!isOp('?')) return cond;
    pos++;
    const a = ternary();
    expect(':');
    const b = ternary();
    return (env) => (bool(cond(env), '?:') ? a(env) : b(env));
  };
  const coalesce = (): Node => {
    let left = or();
    while (isOp('??')) {
      pos++;
      const l = left;
      const r = or();
      left = (env) => l(env) ?? r(env);
    }
    return left;
  };
  const or = (): Node => {
    let left = and();
    while (isOp('||') || isWord('or')) {
      pos++;
      const l = left;
      const r = and();
      left = (env) => bool(l(env), '||') || bool(r(env), '||');
    }
    return left;
  };
  const and = (): Node => {
    let left = comparison();
    while (isOp('&&') || isWord('and')) {
      pos++;
      const l = left;
      const r = comparison();
      left = (env) => bool(l(env), '&&') && bool(r(env), '&&');
    }
    return left;
  };
  const comparison = (): Node => {
    let left = additive();
    for (;;) {
      let op: string | undefined;
      if (peek().kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(peek().value as string)) {
        op = peek().value as string;
        pos++;
      } else if (isWord('in')) {
        op = 'in';
        pos++;
      } else if (isWord('not') && tokens[pos + 1]?.kind === 'id' && tokens[pos + 1]?.value === 'in') {
        op = 'not in';
        pos += 2;
      } else return left;
      const l = left;
      const r = additive();
      const o = op;
      left = (env) => compare(o, l(env), r(env));
    }
  };
  const additive = (): Node => {
    let left = multiplicative();
    while (isOp('+') || isOp('-')) {
      const op = peek().value as string;
      pos++;
      const l = left;
      const r = multiplicative();
      left = (env) => {
        const a = l(env);
        const b = r(env);
        if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b;
        return op === '+' ? num(a, '+') + num(b, '+') : num(a, '-') - num(b, '-');
      };
    }
    return left;
  };
  const multiplicative = (): Node => {
    let left = unary();
    while (isOp('*') || isOp('/') || isOp('%')) {
      const op = peek().value as string;
      pos++;
      const l = left;
      const r = unary();
      left = (env) => {
        const a = num(l(env), op);
        const b = num(r(env), op);
        if (op === '*') return a * b;
        if (op === '/') return a / b;
        if (b === 0) throw new ExprError('integer divide by zero');
        return a % b;
      };
    }
    return left;
  };
  const unary = (): Node => {
    if (isOp('!') || isWord('not')) {
      pos++;
      const v = unary();
      return (env) => !bool(v(env), '!');
    }
    if (isOp('-')) {
      pos++;
      const v = unary();
      return (env) => -num(v(env), '-');
    }
    if (isOp('+')) {
      pos++;
      const v = unary();
      return (env) => num(v(env), '+');
    }
    return postfix();
  };
  type Step =
    | { kind: 'member'; name: string; optional: boolean }
    | { kind: 'index'; index: Node; optional: boolean }
    | { kind: 'call'; args: Node[] };
  const postfix = (): Node => {
    const head = primary();
    const steps: Step[] = [];
    for (;;) {
      if (isOp('.') || isOp('?.')) {
        const optional = isOp('?.');
        pos++;
        if (optional && isOp('[')) {
          pos++;
          const index = ternary();
          expect(']');
          steps.push({ kind: 'index', index, optional: true });
          continue;
        }
        const t = peek();
        if (t.kind !== 'id') throw new ExprError(`expected a field name at ${t.pos} in: ${src}`);
        pos++;
        steps.push({ kind: 'member', name: t.value as string, optional });
      } else if (isOp('[')) {
        pos++;
        const index = ternary();
        expect(']');
        steps.push({ kind: 'index', index, optional: false });
      } else if (isOp('(')) {
        pos++;
        const args: Node[] = [];
        if (!isOp(')')) {
          for (;;) {
            args.push(ternary());
            if (isOp(',')) {
              pos++;
              continue;
            }
            break;
          }
        }
        expect(')');
        steps.push({ kind: 'call', args });
      } else break;
    }
    if (steps.length === 0) return head;
    return (env) => {
      let cur = head(env);
      for (const step of steps) {
        if (step.kind === 'call') {
          if (typeof cur !== 'function') throw new ExprError(`${typeName(cur)} is not a function`);
          cur = (cur as Fn)(...step.args.map((a) => a(env)));
          continue;
        }
        const key = step.kind === 'member' ? step.name : step.index(env);
        if (cur === null || cur === undefined) {
          if (step.optional) return null;
          throw new ExprError(`cannot fetch ${String(key)} from <nil>`);
        }
        if (Array.isArray(cur)) {
          if (typeof key !== 'number' || !Number.isInteger(key))
            throw new ExprError(`cannot fetch ${String(key)} from []interface {}`);
          const i = key < 0 ? cur.length + key : key;
          if (i < 0 || i >= cur.length)
            throw new ExprError(`index out of range: ${key} (array length is ${cur.length})`);
          cur = cur[i];
        } else if (isMap(cur)) {
          const v = cur[String(key)];
          cur = v === undefined ? null : v;
        } else {
          throw new ExprError(`cannot fetch ${String(key)} from ${typeName(cur)}`);
        }
      }
      return cur;
    };
  };
  const primary = (): Node => {
    const t = peek();
    pos++;
    if (t.kind === 'num' || t.kind === 'str') {
      const v = t.value;
      return () => v;
    }
    if (t.kind === 'id') {
      const name = t.value as string;
      if (name === 'true') return () => true;
      if (name === 'false') return () => false;
      if (name === 'nil' || name === 'null') return () => null;
      return (env) => {
        if (Object.prototype.hasOwnProperty.call(env, name)) {
          const v = env[name];
          return v === undefined ? null : v;
        }
        if (BUILTINS[name]) return BUILTINS[name];
        throw new ExprError(`unknown name ${name}`);
      };
    }
    if (t.kind === 'op' && t.value === '(') {
      const inner = ternary();
      expect(')');
      return inner;
    }
    if (t.kind === 'op' && t.value === '[') {
      const items: Node[] = [];
      if (!isOp(']')) {
        for (;;) {
          items.push(ternary());
          if (isOp(',')) {
            pos++;
            if (isOp(']')) break;
            continue;
          }
          break;
        }
      }
      expect(']');
      return (env) => items.map((n) => n(env));
    }
    if (t.kind === 'op' && t.value === '{') {
      const entries: Array<[string, Node]> = [];
      if (!isOp('}')) {
        for (;;) {
          const k = peek();
          if (k.kind !== 'str' && k.kind !== 'id' && k.kind !== 'num')
            throw new ExprError(`expected a map key at ${k.pos} in: ${src}`);
          pos++;
          expect(':');
          entries.push([String(k.value), ternary()]);
          if (isOp(',')) {
            pos++;
            if (isOp('}')) break;
            continue;
          }
          break;
        }
      }
      expect('}');
      return (env) => Object.fromEntries(entries.map(([k, n]) => [k, n(env)]));
    }
    throw new ExprError(
      `unexpected ${t.kind === 'eof' ? 'end of expression' : `"${String(t.value)}"`} at ${t.pos} in: ${src}`,
    );
  };

  const root = ternary();
  if (peek().kind !== 'eof')
    throw new ExprError(`unexpected "${String(peek().value)}" at ${peek().pos} in: ${src}`);
  return (env) => {
    try {
      return root(env);
    } catch (err) {
      if (err instanceof ExprError) throw err;
      throw new ExprError(`${(err as Error).message} (in: ${src})`);
    }
  };
}

function compare(op: string, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==':
      return valuesEqual(a, b);
    case '!=':
      return !valuesEqual(a, b);
    case 'in':
    case 'not in': {
      let found: boolean;
      if (Array.isArray(b)) found = b.some((x) => valuesEqual(x, a));
      else if (isMap(b)) found = typeof a === 'string' && a in b;
      else if (b === null || b === undefined) found = false;
      else throw new ExprError(`invalid operation: in on ${typeName(b)}`);
      return op === 'in' ? found : !found;
    }
    default: {
      if (!(
        (typeof a === 'number' && typeof b === 'number') ||
        (typeof a === 'string' && typeof b === 'string')
      )) {
        throw new ExprError(`invalid operation: ${typeName(a)} ${op} ${typeName(b)} (mismatched types)`);
      }
      const x = a as number | string;
      const y = b as number | string;
      return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
    }
  }
}

const cache = new Map<string, Node>();

/** Evaluates an expr-lang expression against `env` (values and functions). */
export function evaluateExpr(src: string, env: ExprEnv): unknown {
  let node = cache.get(src);
  if (!node) {
    node = compileExpr(src);
    if (cache.size > 500) cache.clear();
    cache.set(src, node);
  }
  return node(env);
}

// ---- Kargo templates ---------------------------------------------------------------------------------------

const DELIMITERS = [
  { start: '${{', end: '}}' },
  { start: '${%', end: '%}' },
];

/** Go's %q for a string (close enough: JSON escaping, which agrees for printable text). */
const goQuote = (s: string): string => JSON.stringify(s);

export const quote = (v: unknown): string => (typeof v === 'string' ? goQuote(v) : `"${goJson(v)}"`);
export const unsafeQuote = (v: unknown): string => `"${goJson(v)}"`;

const GO_BOOLS: Record<string, boolean> = {
  '1': true,
  t: true,
  T: true,
  TRUE: true,
  true: true,
  True: true,
  '0': false,
  f: false,
  F: false,
  FALSE: false,
  false: false,
  False: false,
};
const GO_FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Kargo's EvaluateTemplate: see the header. */
export function evaluateTemplate(template: string, env: ExprEnv): unknown {
  if (!DELIMITERS.some((d) => template.includes(d.start))) return template;
  const scope: ExprEnv = { ...env, quote, unsafeQuote };
  let rest = template;
  let result = '';
  for (;;) {
    let found: { at: number; start: string; end: string } | undefined;
    for (const d of DELIMITERS) {
      const at = rest.indexOf(d.start);
      if (at >= 0 && (!found || at < found.at)) found = { at, ...d };
    }
    if (!found) {
      result += rest;
      break;
    }
    result += rest.slice(0, found.at);
    const from = found.at + found.start.length;
    const end = rest.indexOf(found.end, from);
    if (end < 0)
      throw new ExprError(`unclosed expression: expected "${found.end}" but reached end of template`);
    const value = evaluateExpr(rest.slice(from, end), scope);
    result += typeof value === 'string' ? value : goJson(value);
    rest = rest.slice(end + found.end.length);
  }
  let removedNewline = false;
  if (result.endsWith('\n')) {
    result = result.slice(0, -1);
    removedNewline = true;
  }
  if (result.length > 1 && result.startsWith('"') && result.endsWith('"')) {
    return result.slice(1, -1) + (removedNewline ? '\n' : '');
  }
  if (GO_FLOAT.test(result)) return Number(result);
  if (result in GO_BOOLS) return GO_BOOLS[result];
  try {
    return JSON.parse(result) as unknown;
  } catch {
    return result + (removedNewline ? '\n' : '');
  }
}

/** Kargo's EvaluateJSONTemplate: every string value (not key) of a config, evaluated; returns a new value. */
export function evaluateConfig(config: unknown, env: ExprEnv): unknown {
  if (typeof config === 'string') return evaluateTemplate(config, env);
  if (Array.isArray(config)) return config.map((v) => evaluateConfig(v, env));
  if (isMap(config))
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, evaluateConfig(v, env)]));
  return config;
}
