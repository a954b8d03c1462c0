import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  MAX_ADDRESSES_PER_ACTION,
  MAX_ATTRIBUTES_PER_CHANGE,
  MAX_DETAILED_CHANGES,
  summarisePlan,
} from '../../src/artifacts/plan-summary.js';
import { FIXTURE_SECRETS, PLAN_FIXTURE, showJsonFixture } from '../support/terraform-plan.js';
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

// ---------------------------------------------------------------------------------------------------
// What changes inside replaced and updated resources (a real `terraform show -json` of a prod plan that
// replaces an instance and a load balancer, updates a database password, an SSM SecureString and a
// Kubernetes Secret, and carries sensitive variables and outputs in clear, as Terraform writes them).

describe('summarisePlan: attribute changes', () => {
  const summary = summarisePlan(showJsonFixture(), { cloud: 'aws', environment: 'prod' });
  const byAddress = (address: string) => summary.changes?.find((c) => c.address === address);

  it('describes replacements first, then updates, with Terraform’s reason', () => {
    expect(summary.changes?.map((c) => [c.address, c.action])).toEqual([
      ['aws_instance.this', 'replace'],
      ['aws_lb.web', 'replace'],
      ['aws_db_instance.main', 'update'],
      ['aws_ssm_parameter.api', 'update'],
      ['kubernetes_secret.app', 'update'],
    ]);
    expect(byAddress('aws_instance.this')?.reason).toBe('replace_because_cannot_update');
    expect(validateArtifact('plan-summary', summary).ok).toBe(true);
  });

  it('names what forces a replacement first, with short before → after values', () => {
    expect(byAddress('aws_instance.this')?.attributes.slice(0, 3)).toEqual([
      {
        path: 'ami',
        forcesReplacement: true,
        before: '"ami-0a1b2c3d4e5f60718"',
        after: '"ami-0fedcba9876543210"',
      },
      { path: 'instance_type', before: '"t3.micro"', after: '"t3.small"' },
      { path: 'root_block_device[0].volume_size', before: '20', after: '30' },
    ]);
    expect(byAddress('aws_lb.web')?.attributes[0]).toEqual({
      path: 'internal',
      forcesReplacement: true,
      before: 'false',
      after: 'true',
    });
  });

  it('hides values Terraform marks sensitive, or whose names say secret, and values unknown until apply', () => {
    expect(byAddress('aws_db_instance.main')?.attributes).toContainEqual({
      path: 'password',
      hidden: 'sensitive',
    });
    expect(byAddress('aws_ssm_parameter.api')?.attributes).toEqual([
      { path: 'tier', before: '"Standard"', after: '"Advanced"' },
      { path: 'value', hidden: 'sensitive' },
      { path: 'version', hidden: 'unknown' },
    ]);
    // The provider does not mark user_data; its name does.
    expect(byAddress('aws_instance.this')?.attributes).toContainEqual({
      path: 'user_data',
      hidden: 'sensitive',
    });
    // A whole map marked sensitive hides every key under it.
    expect(byAddress('kubernetes_secret.app')?.attributes).toEqual([
      { path: 'data.DB_PASSWORD', hidden: 'sensitive' },
    ]);
    expect(byAddress('aws_instance.this')?.attributes).toContainEqual({ path: 'arn', hidden: 'unknown' });
  });

  it('never copies a sensitive value, a variable, an output or the drift into the artifact', () => {
    const text = JSON.stringify(summary);
    for (const secret of FIXTURE_SECRETS) expect(text).not.toContain(secret);
  });

  it('hidden attributes never carry values: the schema refuses one that does', () => {
    const leaky = {
      ...summary,
      changes: [
        {
          address: 'aws_db_instance.main',
          action: 'update',
          attributes: [{ path: 'password', hidden: 'sensitive', after: '"hunter2"' }],
        },
      ],
    };
    const result = validateArtifact('plan-summary', leaky);
    expect(result.ok).toBe(false);
  });

  it('keeps older artifacts (no changes) valid', () => {
    const { changes: _changes, ...older } = summary;
    expect(validateArtifact('plan-summary', older).ok).toBe(true);
  });

  it('caps resources and attributes and says how many were left out', () => {
    const wide = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`attr_${i}`, i]));
    const plan = {
      resource_changes: Array.from({ length: 150 }, (_, i) => ({
        address: `aws_route.r${i}`,
        mode: 'managed',
        change: {
          actions: ['update'],
          before: wide,
          after: Object.fromEntries(Object.entries(wide).map(([k, v]) => [k, v + 1])),
          after_unknown: {},
          before_sensitive: {},
          after_sensitive: {},
        },
      })),
    };
    const capped = summarisePlan(plan, { cloud: 'aws', environment: 'dev' });
    expect(capped.changes).toHaveLength(MAX_DETAILED_CHANGES);
    expect(capped.changesOmitted).toBe(50);
    expect(capped.changes?.[0]?.attributes).toHaveLength(MAX_ATTRIBUTES_PER_CHANGE);
    expect(capped.changes?.[0]?.attributesOmitted).toBe(30);
    expect(validateArtifact('plan-summary', capped).ok).toBe(true);
  });

  it('names a tainted replacement even when no attribute changes', () => {
    const same = { id: 'i-1', ami: 'ami-1' };
    const tainted = summarisePlan(
      {
        resource_changes: [
          {
            address: 'aws_instance.web',
            mode: 'managed',
            action_reason: 'replace_because_tainted',
            change: { actions: ['delete', 'create'], before: same, after: same, after_unknown: {} },
          },
        ],
      },
      { cloud: 'aws', environment: 'prod' },
    );
    expect(tainted.changes).toEqual([
      { address: 'aws_instance.web', action: 'replace', reason: 'replace_because_tainted', attributes: [] },
    ]);
  });

  it('the workflow’s converter (src/cli/artifact.ts) writes the same, validated, without a secret', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'plan-summary-'));
    const out = path.join(dir, 'plan-summary.json');
    execFileSync(
      path.resolve('node_modules/.bin/tsx'),
      [
        'src/cli/artifact.ts',
        'plan-summary',
        '--cloud',
        'aws',
        '--env',
        'prod',
        '--input',
        PLAN_FIXTURE,
        '--out',
        out,
      ],
      { env: { ...process.env, GITHUB_RUN_ID: '' }, stdio: 'pipe' },
    );
    const written = readFileSync(out, 'utf8');
    for (const secret of FIXTURE_SECRETS) expect(written).not.toContain(secret);
    const parsed = JSON.parse(written) as { changes?: unknown[] };
    expect(parsed.changes).toHaveLength(5);
    expect(validateArtifact('plan-summary', parsed).ok).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });
});
