import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { MAX_ADDRESSES_PER_ACTION, summarisePlan } from '../../src/artifacts/plan-summary.js';
import { validateArtifact } from '../../src/artifacts/validate.js';

const change = (address: string, actions: string[], mode = 'managed') => ({
  address,
  mode,
  type: address.split('.')[0],
  name: address.split('.')[1],
  change: { actions, before: null, after: { secret_value: 'hunter2' }, after_unknown: {} },
});

describe('summarisePlan', () => {
  it('counts creates, updates, deletes and replacements the way Terraform does', () => {
    const plan = {
      format_version: '1.2',
      terraform_version: '1.11.4',
      resource_changes: [
        change('aws_vpc.this', ['create']),
        change('aws_instance.web', ['delete', 'create']),
        change('aws_security_group.web', ['update']),
        change('aws_eip.nat', ['delete']),
        change('aws_subnet.public[0]', ['no-op']),
        change('data.aws_ami.al2023', ['read'], 'data'),
      ],
    };
    const summary = summarisePlan(plan, { cloud: 'aws', environment: 'dev' });
    expect(summary.counts).toEqual({ add: 2, change: 1, destroy: 2, replace: 1 });
    expect(summary.resources.add).toEqual(['aws_vpc.this', 'aws_instance.web']);
    expect(summary.resources.replace).toEqual(['aws_instance.web']);
    expect(summary.resources.destroy).toEqual(['aws_instance.web', 'aws_eip.nat']);
    expect(summary.terraformVersion).toBe('1.11.4');
    expect(validateArtifact('plan-summary', summary).ok).toBe(true);
  });

  it('never copies resource attributes, so secrets in the plan stay in the job', () => {
    const summary = summarisePlan(
      { resource_changes: [change('aws_db_instance.main', ['create'])] },
      { cloud: 'aws', environment: 'prod' },
    );
    expect(JSON.stringify(summary)).not.toContain('hunter2');
  });

  it('treats an empty plan as no changes and rejects a malformed one with a clear error', () => {
    expect(summarisePlan({}, { cloud: 'gcp', environment: 'dev' }).counts).toEqual({
      add: 0,
      change: 0,
      destroy: 0,
      replace: 0,
    });
    expect(() => summarisePlan({ resource_changes: 'nope' }, { cloud: 'aws', environment: 'dev' })).toThrow(
      /not an array/,
    );
  });

  it('caps address lists and says so, while counts stay exact (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1200 }), (n) => {
        const plan = {
          resource_changes: Array.from({ length: n }, (_, i) => change(`aws_route.r${i}`, ['create'])),
        };
        const summary = summarisePlan(plan, { cloud: 'aws', environment: 'dev' });
        expect(summary.counts.add).toBe(n);
        expect(summary.resources.add.length).toBe(Math.min(n, MAX_ADDRESSES_PER_ACTION));
        expect(summary.truncated === true).toBe(n > MAX_ADDRESSES_PER_ACTION);
        expect(validateArtifact('plan-summary', summary).ok).toBe(true);
      }),
      { numRuns: 25 },
    );
  });
});
