import { describe, expect, it } from '@jest/globals';
import { validateArtifact } from '../../src/artifacts/validate.js';

describe('validateArtifact', () => {
  const valid = {
    schemaVersion: 1,
    gate: 'opa',
    cloud: 'all',
    environment: 'all',
    status: 'passed',
    enforcement: 'hard',
    findings: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
    topFindings: [],
  };

  it('accepts a minimal valid gate result', () => {
    expect(validateArtifact('gate-result', valid).ok).toBe(true);
  });

  it('names every problem with its path, including unknown fields and bad enum values', () => {
    const result = validateArtifact('gate-result', {
      ...valid,
      status: 'green',
      extra: true,
      findings: { ...valid.findings, high: -1 },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\/status: must be equal to one of the allowed values/),
        '(root): must NOT have additional properties (extra)',
        '/findings/high: must be >= 0',
      ]),
    );
  });

  it('rejects a future schema version so the bot never misreads a newer artifact', () => {
    expect(validateArtifact('gate-result', { ...valid, schemaVersion: 2 }).ok).toBe(false);
  });
});
