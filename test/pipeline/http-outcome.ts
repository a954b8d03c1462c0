// What Kargo's `http` step makes of a response, given the step's successExpression/failureExpression: the
// Kargo simulator's own reading (httpStepVerdict in src/sandbox/kargo-simulator.ts, on its expr-lang
// evaluator src/sandbox/kargo-expr.ts), so the manifests are checked by the same rules the sandbox runs
// them with. An expression it cannot read throws, so it fails the test instead of passing it.
import { httpStepVerdict, type HttpStepVerdict } from '../../src/sandbox/kargo-simulator.js';

export type Outcome = HttpStepVerdict;

export interface FakeResponse {
  status: number;
  body?: Record<string, unknown>;
}

/** The outcome of one response for an http step config. */
export function outcome(
  config: { successExpression?: unknown; failureExpression?: unknown },
  response: FakeResponse,
): Outcome {
  return httpStepVerdict(config, {
    response: { status: response.status, body: response.body ?? {}, headers: {}, header: () => '' },
  });
}

/** Status codes worth trying: every class, and the ones GitHub actually returns. */
export const STATUS_CODES = [
  100, 200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 409, 410, 422, 429, 500, 502, 503, 504,
];
