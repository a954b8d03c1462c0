// The GitHub stand-in's success() and failure() for a job's `if:` (src/sandbox/github-workflow.ts), as
// GitHub documents them ("Status check functions"): failure() is true when any ancestor job failed;
// success() is false when a job it needs was skipped or failed; a skip is not a failure.
import { describe, expect, it } from '@jest/globals';
import { condition, jobLevelStatus, type ExpressionContext } from '../../src/sandbox/github-workflow.js';

type Jobs = Map<string, { needs: string[]; conclusion: string | null }>;

/** plan → apply → report, plus an unrelated lint job. */
const chain = (plan: string, apply: string): Jobs =>
  new Map([
    ['plan', { needs: [], conclusion: plan }],
    ['apply', { needs: ['plan'], conclusion: apply }],
    ['lint', { needs: [], conclusion: 'success' }],
  ]);

const ifOf = (expr: string, jobs: Jobs, needs: string[], cancelled = false): boolean => {
  const ctx: ExpressionContext = { inputs: {}, vars: {}, status: jobLevelStatus(needs, jobs, cancelled) };
  return condition(expr, ctx);
};

describe('job-level success() and failure()', () => {
  it('failure() sees a failure further up, through a need that was skipped because of it', () => {
    const jobs = chain('failure', 'skipped');
    expect(ifOf('failure()', jobs, ['apply'])).toBe(true);
    expect(ifOf('success()', jobs, ['apply'])).toBe(false);
    // The default `if` is success(): the report job is skipped, as on GitHub.
    expect(ifOf('', jobs, ['apply'])).toBe(false);
  });

  it('a need skipped by its own condition is not a failure: neither success() nor failure()', () => {
    const jobs = chain('success', 'skipped');
    expect(ifOf('failure()', jobs, ['apply'])).toBe(false);
    expect(ifOf('success()', jobs, ['apply'])).toBe(false);
    expect(ifOf('always()', jobs, ['apply'])).toBe(true);
  });

  it('looks only at its own ancestors', () => {
    const jobs: Jobs = new Map([
      ['plan', { needs: [], conclusion: 'success' }],
      ['apply', { needs: ['plan'], conclusion: 'success' }],
      ['lint', { needs: [], conclusion: 'failure' }],
    ]);
    expect(ifOf('success()', jobs, ['apply'])).toBe(true);
    expect(ifOf('failure()', jobs, ['apply'])).toBe(false);
  });

  it('a cancelled run is neither a success nor, by itself, a failure', () => {
    const jobs = chain('success', 'success');
    expect(ifOf('success()', jobs, ['apply'], true)).toBe(false);
    expect(ifOf('cancelled()', jobs, ['apply'], true)).toBe(true);
    expect(ifOf('failure()', jobs, ['apply'], true)).toBe(false);
  });
});
