// What Kargo's `http` step makes of a response, given the step's successExpression/failureExpression
// (pkg/promotion/runner/builtin/http_requester.go): failure true -> Failed (terminal); else success true ->
// Succeeded; neither expression set -> 2xx Succeeded, other codes a retried failure; anything else -> Running,
// and the whole request is sent again on the next poll.
//
// The expressions are expr-lang; this evaluates the small subset the Stages use: `response.status`,
// `response.body.<field>`, string/number literals, == != < <= > >=, && || !, and parentheses. Anything else
// throws, so an expression this cannot read fails the test instead of passing it.

export type Outcome = 'Succeeded' | 'Failed' | 'Running' | 'Retried';
type V = string | number | boolean | null | undefined | Record<string, unknown>;

export interface FakeResponse {
  status: number;
  body?: Record<string, unknown>;
}

function tokenize(src: string): string[] {
  const re = /\s*(\d+|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|==|!=|<=|>=|&&|\|\||[<>!()]|[A-Za-z_][\w.]*)/y;
  const out: string[] = [];
  let m: RegExpExecArray | null;
  while (re.lastIndex < src.length && (m = re.exec(src))) out.push(m[1]!);
  if (src.slice(re.lastIndex).trim() !== '')
    throw new Error(`cannot read "${src.slice(re.lastIndex)}" in: ${src}`);
  return out;
}

export function evaluateExpr(src: string, response: FakeResponse): V {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];
  const next = (): string => {
    const t = tokens[pos];
    if (t === undefined) throw new Error(`unexpected end of: ${src}`);
    pos += 1;
    return t;
  };
  const or = (): V => {
    let v = and();
    while (peek() === '||') {
      next();
      const r = and();
      v = Boolean(v) || Boolean(r);
    }
    return v;
  };
  const and = (): V => {
    let v = unary();
    while (peek() === '&&') {
      next();
      const r = unary();
      v = Boolean(v) && Boolean(r);
    }
    return v;
  };
  const unary = (): V => {
    if (peek() === '!') {
      next();
      return !unary();
    }
    return comparison();
  };
  const comparison = (): V => {
    const l = primary();
    const op = peek();
    if (op && ['==', '!=', '<', '<=', '>', '>='].includes(op)) {
      next();
      const r = primary();
      switch (op) {
        case '==':
          return l === r;
        case '!=':
          return l !== r;
        default:
          if (typeof l !== 'number' || typeof r !== 'number')
            throw new Error(`${op} on non-numbers in: ${src}`);
          return op === '<' ? l < r : op === '<=' ? l <= r : op === '>' ? l > r : l >= r;
      }
    }
    return l;
  };
  const primary = (): V => {
    const t = next();
    if (t === '(') {
      const v = or();
      if (next() !== ')') throw new Error(`expected ) in: ${src}`);
      return v;
    }
    if (/^\d+$/.test(t)) return Number(t);
    if (/^['"]/.test(t)) return t.slice(1, -1);
    if (t === 'true' || t === 'false') return t === 'true';
    if (t === 'nil') return null;
    const [root, field, ...rest] = t.split('.');
    if (root !== 'response') throw new Error(`unknown identifier ${t} in: ${src}`);
    if (field === 'status' && rest.length === 0) return response.status;
    if (field === 'body') {
      let v: unknown = response.body ?? {};
      for (const k of rest)
        v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
      return v as V;
    }
    throw new Error(`unsupported ${t} in: ${src}`);
  };
  const v = or();
  if (pos !== tokens.length) throw new Error(`trailing tokens in: ${src}`);
  return v;
}

/** The outcome of one response for an http step config. */
export function outcome(
  config: { successExpression?: unknown; failureExpression?: unknown },
  response: FakeResponse,
): Outcome {
  const success =
    typeof config.successExpression === 'string' && config.successExpression !== ''
      ? config.successExpression
      : undefined;
  const failure =
    typeof config.failureExpression === 'string' && config.failureExpression !== ''
      ? config.failureExpression
      : undefined;
  const failed = failure !== undefined ? evaluateExpr(failure, response) === true : undefined;
  const succeeded = success !== undefined ? evaluateExpr(success, response) === true : undefined;
  if (failed === true) return 'Failed';
  if (succeeded === true) return 'Succeeded';
  if (failed === undefined && succeeded === undefined) {
    return response.status >= 200 && response.status < 300 ? 'Succeeded' : 'Retried';
  }
  return 'Running';
}

/** Status codes worth trying: every class, and the ones GitHub actually returns. */
export const STATUS_CODES = [
  100, 200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 409, 410, 422, 429, 500, 502, 503, 504,
];
