import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  MAX_TOP_FINDINGS,
  buildGateResult,
  parseConftest,
  parseOpaTest,
  parseTflint,
  parseTrivy,
  statusFor,
} from '../../src/artifacts/gate-result.js';
import type { Finding, Severity } from '../../src/artifacts/types.js';
import { validateArtifact } from '../../src/artifacts/validate.js';

const ctx = {
  gate: 'trivy' as const,
  cloud: 'aws' as const,
  environment: 'prod' as const,
  enforcement: 'hard' as const,
  startedAt: '2026-11-27T10:00:00.000Z',
  finishedAt: '2026-11-27T10:00:42.500Z',
};

// The shape `trivy config --format json` writes (v0.74): Results[].Misconfigurations[].
const trivyReport = {
  SchemaVersion: 2,
  ArtifactName: 'terraform/aws/dev',
  ArtifactType: 'filesystem',
  Results: [
    {
      Target: 'main.tf',
      Class: 'config',
      Type: 'terraform',
      MisconfSummary: { Successes: 10, Failures: 2 },
      Misconfigurations: [
        {
          Type: 'Terraform Security Check',
          ID: 'AWS-0028',
          AVDID: 'AVD-AWS-0028',
          Title: 'aws_instance should activate session tokens for Instance Metadata Service.',
          Message: 'Instance does not require IMDS access to require a token.',
          Severity: 'HIGH',
          Status: 'FAIL',
          CauseMetadata: {
            Resource: 'aws_instance.web',
            Provider: 'AWS',
            Service: 'ec2',
            StartLine: 30,
            EndLine: 55,
          },
        },
        {
          Type: 'Terraform Security Check',
          ID: 'AWS-0104',
          Title: 'A security group rule should not allow unrestricted egress to any IP address.',
          Message: 'Security group rule allows unrestricted egress to any IP address.',
          Severity: 'CRITICAL',
          Status: 'FAIL',
          CauseMetadata: { Resource: 'aws_vpc_security_group_egress_rule.all', StartLine: 12 },
        },
      ],
    },
    {
      Target: 'network.tf',
      Class: 'config',
      Type: 'terraform',
      MisconfSummary: { Successes: 4, Failures: 0 },
    },
  ],
};

describe('parseTrivy', () => {
  it('turns FAIL misconfigurations into findings with id, resource and file:line, most severe first', () => {
    const result = buildGateResult({ ...ctx, exitCode: 1 }, parseTrivy(JSON.stringify(trivyReport)));
    expect(result.status).toBe('failed');
    expect(result.findings).toEqual({ critical: 1, high: 1, medium: 0, low: 0, unknown: 0 });
    expect(result.topFindings.map((f) => f.id)).toEqual(['AWS-0104', 'AWS-0028']);
    expect(result.topFindings[1]).toMatchObject({ resource: 'aws_instance.web', location: 'main.tf:30' });
    expect(result.durationSeconds).toBe(42.5);
    expect(result.summary).toBe('1 critical, 1 high');
    expect(validateArtifact('gate-result', result)).toEqual({ ok: true, value: result });
  });

  it('reports a soft gate with findings as soft-failed, not failed', () => {
    const result = buildGateResult(
      { ...ctx, environment: 'dev', enforcement: 'soft', exitCode: 1 },
      parseTrivy(JSON.stringify(trivyReport)),
    );
    expect(result.status).toBe('soft-failed');
  });

  it('makes unreadable output an errored gate instead of throwing', () => {
    const parsed = parseTrivy('panic: runtime error');
    expect(parsed.toolErrors[0]).toMatch(/not JSON/);
    const result = buildGateResult({ ...ctx, exitCode: 2 }, parsed);
    expect(result.status).toBe('errored');
    expect(validateArtifact('gate-result', result).ok).toBe(true);
  });
});

describe('parseConftest', () => {
  it('maps failures to HIGH and warnings to MEDIUM and extracts the resource address from the message', () => {
    const output = [
      {
        filename: 'terraform/aws/dev',
        namespace: 'network',
        successes: 3,
        failures: [
          { msg: 'aws_security_group.ssh: ingress allows SSH (22) from 0.0.0.0/0; restrict cidr_blocks' },
        ],
        warnings: [
          { msg: 'aws_instance.web: tags are unknown until apply', metadata: { rule: 'tags.unknown' } },
        ],
      },
    ];
    const parsed = parseConftest(JSON.stringify(output));
    expect(parsed.findings).toEqual([
      {
        id: 'network',
        severity: 'HIGH',
        message: output[0]!.failures[0]!.msg,
        resource: 'aws_security_group.ssh',
        location: 'terraform/aws/dev',
      },
      {
        id: 'tags.unknown',
        severity: 'MEDIUM',
        message: output[0]!.warnings[0]!.msg,
        resource: 'aws_instance.web',
        location: 'terraform/aws/dev',
      },
    ]);
  });
});

describe('parseOpaTest', () => {
  it('counts passes and turns failed or errored tests into findings', () => {
    const output = [
      {
        location: { file: 'policy/tags_test.rego', row: 5, col: 1 },
        package: 'data.tags_test',
        name: 'test_ok',
        duration: 1,
      },
      {
        location: { file: 'policy/tags_test.rego', row: 9, col: 1 },
        package: 'data.tags_test',
        name: 'test_bad',
        fail: true,
      },
      {
        location: { file: 'policy/net_test.rego', row: 3, col: 1 },
        package: 'data.net_test',
        name: 'test_err',
        error: { code: 'eval_error' },
      },
    ];
    const parsed = parseOpaTest(JSON.stringify(output));
    expect(parsed.summary).toBe('1 passed, 2 failed');
    expect(parsed.findings.map((f) => [f.id, f.location])).toEqual([
      ['tags_test.test_bad', 'policy/tags_test.rego:9'],
      ['net_test.test_err', 'policy/net_test.rego:3'],
    ]);
  });
});

describe('parseTflint', () => {
  it('maps rule severities and keeps tool errors apart from issues', () => {
    const output = {
      issues: [
        {
          rule: { name: 'aws_instance_invalid_type', severity: 'error', link: 'https://example.invalid' },
          message: '"t9.nano" is an invalid value as instance_type',
          range: { filename: 'main.tf', start: { line: 12, column: 3 }, end: { line: 12, column: 30 } },
        },
        {
          rule: { name: 'terraform_unused_declarations', severity: 'warning' },
          message: 'variable "x" is declared but not used',
          range: { filename: 'variables.tf', start: { line: 1 } },
        },
      ],
      errors: [],
    };
    const parsed = parseTflint(JSON.stringify(output));
    expect(parsed.findings.map((f) => [f.id, f.severity, f.location])).toEqual([
      ['aws_instance_invalid_type', 'HIGH', 'main.tf:12'],
      ['terraform_unused_declarations', 'MEDIUM', 'variables.tf:1'],
    ]);
    expect(
      parseTflint(JSON.stringify({ issues: [], errors: [{ message: 'Failed to load plugin' }] })).toolErrors,
    ).toEqual(['Failed to load plugin']);
  });
});

describe('statusFor', () => {
  it('follows the exit code; findings never turn a passing tool into a failure', () => {
    expect(statusFor(0, 'hard', [])).toBe('passed');
    expect(statusFor(1, 'hard', [])).toBe('failed');
    expect(statusFor(1, 'soft', [])).toBe('soft-failed');
    expect(statusFor(2, 'hard', ['crash'])).toBe('errored');
  });
});

describe('buildGateResult (property)', () => {
  const severity = fc.constantFrom<Severity>('CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN');
  const finding = fc.record<Finding>({
    id: fc.string({ minLength: 1, maxLength: 300 }),
    severity,
    message: fc.string({ maxLength: 3000 }),
  });

  it('always yields a schema-valid artifact with exact counts and at most 20 top findings, most severe first', () => {
    fc.assert(
      fc.property(
        fc.array(finding, { maxLength: 80 }),
        fc.integer({ min: 0, max: 3 }),
        (findings, exitCode) => {
          const result = buildGateResult({ ...ctx, exitCode }, { findings, toolErrors: [] });
          expect(validateArtifact('gate-result', result).ok).toBe(true);
          const total = Object.values(result.findings).reduce((a, b) => a + b, 0);
          expect(total).toBe(findings.length);
          expect(result.topFindings.length).toBe(Math.min(findings.length, MAX_TOP_FINDINGS));
          const ranks = result.topFindings.map((f) =>
            ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'].indexOf(f.severity),
          );
          expect([...ranks].sort((a, b) => a - b)).toEqual(ranks);
        },
      ),
      { numRuns: 100 },
    );
  });
});
