// The drift converter (src/artifacts/drift.ts) and its schema (schemas/drift.schema.json): a refresh-only
// plan's JSON in, names out — never a value of the plan.
import { describe, expect, it } from '@jest/globals';
import { changedAttributeNames, summariseDrift, MAX_DRIFT_RESOURCES } from '../../src/artifacts/drift.js';
import { validateArtifact } from '../../src/artifacts/validate.js';
import { syntheticDriftPlan } from '../../src/sandbox/github-scenarios.js';

const META = { cloud: 'aws' as const, environment: 'dev' as const, checkedAt: '2026-12-07T06:17:00Z' };

describe('summariseDrift', () => {
  it('exit code 2: the drifted managed resources with actions and changed attribute names, sorted', () => {
    const report = summariseDrift(syntheticDriftPlan('dev'), { ...META, exitCode: 2 });
    expect(report).toEqual({
      schemaVersion: 1,
      cloud: 'aws',
      environment: 'dev',
      checkedAt: META.checkedAt,
      terraformVersion: '1.15.9',
      status: 'drifted',
      resources: [
        {
          address: 'aws_cloudwatch_log_group.eks',
          type: 'aws_cloudwatch_log_group',
          actions: ['delete'],
          changedAttributes: [],
        },
        {
          address: 'aws_security_group.eks_nodes',
          type: 'aws_security_group',
          actions: ['update'],
          changedAttributes: ['ingress', 'tags'],
        },
      ],
      counts: { resources: 2, update: 1, delete: 1, create: 0 },
    });
    expect(validateArtifact('drift', report)).toEqual({ ok: true, value: report });
    // Values of the plan never reach the artifact.
    expect(JSON.stringify(report)).not.toMatch(/0\.0\.0\.0|10\.0\.0\.0|sg-0a1b2c3d|console|\/eks\/dev/);
  });

  it('exit code 0: in sync (whatever the JSON says); exit code 2 with only outputs changed: in sync', () => {
    const inSync = summariseDrift(undefined, { ...META, exitCode: 0 });
    expect(inSync).toMatchObject({ status: 'in-sync', resources: [], counts: { resources: 0 } });
    expect(validateArtifact('drift', inSync).ok).toBe(true);
    const outputsOnly = summariseDrift(
      { resource_drift: [], output_changes: { ip: {} } },
      { ...META, exitCode: 2 },
    );
    expect(outputsOnly.status).toBe('in-sync');
  });

  it('errored: a failed plan, a missing or unreadable plan JSON, an unknown exit code — with the reason', () => {
    const cases = [
      summariseDrift(undefined, { ...META, exitCode: 1 }),
      summariseDrift(undefined, {
        ...META,
        exitCode: 1,
        detail: 'not checked: terraform run 42 was deploying dev',
      }),
      summariseDrift(undefined, { ...META, exitCode: 2 }),
      summariseDrift({ resource_drift: 'nope' }, { ...META, exitCode: 2 }),
      summariseDrift(undefined, { ...META, exitCode: 3 }),
    ];
    expect(cases.map((r) => r.status)).toEqual(['errored', 'errored', 'errored', 'errored', 'errored']);
    expect(cases.map((r) => r.detail)).toEqual([
      'terraform plan -refresh-only failed (exit code 1); see the job log',
      'not checked: terraform run 42 was deploying dev',
      'terraform found drift (exit code 2) but its plan JSON could not be read',
      'the plan JSON has a resource_drift that is not a list',
      'terraform plan -refresh-only failed (exit code 3); see the job log',
    ]);
    for (const r of cases) expect(validateArtifact('drift', r).ok).toBe(true);
  });

  it('caps the list at 200 resources and says so; counts keep the whole', () => {
    const plan = {
      resource_drift: Array.from({ length: 250 }, (_, i) => ({
        address: `aws_s3_object.o[${i}]`,
        mode: 'managed',
        type: 'aws_s3_object',
        change: { actions: ['update'], before: { etag: 'a' }, after: { etag: 'b' } },
      })),
    };
    const report = summariseDrift(plan, { ...META, exitCode: 2 });
    expect(report.resources).toHaveLength(MAX_DRIFT_RESOURCES);
    expect(report.truncated).toBe(true);
    expect(report.counts).toEqual({ resources: 250, update: 250, delete: 0, create: 0 });
    expect(validateArtifact('drift', report).ok).toBe(true);
  });
});

describe('changedAttributeNames', () => {
  it('compares values without key order, keeps names only, and none for a deleted resource', () => {
    expect(changedAttributeNames({ tags: { a: 1, b: 2 }, x: 1 }, { tags: { b: 2, a: 1 }, x: 2 })).toEqual([
      'x',
    ]);
    expect(changedAttributeNames({ a: 1 }, null)).toEqual([]);
    expect(changedAttributeNames({ 'weird name!': 1 }, { 'weird name!': 2 })).toEqual([]);
  });
});

describe('schemas/drift.schema.json', () => {
  const valid = summariseDrift(syntheticDriftPlan('dev'), { ...META, exitCode: 2 });
  it('refuses values smuggled in as attribute names, a drifted report without resources, resources when in sync', () => {
    const problems = (data: unknown): string[] => {
      const r = validateArtifact('drift', data);
      return r.ok ? [] : r.errors;
    };
    expect(
      problems({
        ...valid,
        resources: [{ ...valid.resources[0]!, changedAttributes: ['password=hunter2'] }],
      }),
    ).toEqual(expect.arrayContaining([expect.stringMatching(/changedAttributes\/0: must match pattern/)]));
    expect(problems({ ...valid, resources: [], counts: { ...valid.counts, resources: 0 } })).not.toEqual([]);
    expect(problems({ ...valid, status: 'in-sync' })).not.toEqual([]);
    expect(problems({ ...valid, resources: [{ ...valid.resources[0]!, before: { id: 'x' } }] })).toEqual(
      expect.arrayContaining([expect.stringMatching(/must NOT have additional properties \(before\)/)]),
    );
  });
});
