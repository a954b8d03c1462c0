import { describe, expect, it } from '@jest/globals';
import { collectOutputs } from '../../src/artifacts/outputs.js';
import { validateArtifact } from '../../src/artifacts/validate.js';

// Shape of `terraform output -json` (Terraform 1.x): name -> {sensitive, type, value}.
const terraformOutputJson = {
  instance_id: { sensitive: false, type: 'string', value: 'i-0abc123def4567890' },
  public_ip: { sensitive: false, type: 'string', value: '203.0.113.10' },
  cluster_name: { sensitive: false, type: 'string', value: 'gitops-infra-dev' },
  cluster_endpoint: {
    sensitive: false,
    type: 'string',
    value: 'https://ABC.gr7.us-east-1.eks.amazonaws.com',
  },
  private_subnet_ids: { sensitive: false, type: ['list', 'string'], value: ['subnet-1', 'subnet-2'] },
  cluster_certificate_authority_data: { sensitive: true, type: 'string', value: 'LS0tLS1CRUdJTi...' },
};

describe('collectOutputs', () => {
  it('keeps non-sensitive outputs with their values and only names the sensitive ones', () => {
    const artifact = collectOutputs(terraformOutputJson, { cloud: 'aws', environment: 'dev' });
    expect(Object.keys(artifact.outputs)).toEqual([
      'instance_id',
      'public_ip',
      'cluster_name',
      'cluster_endpoint',
      'private_subnet_ids',
    ]);
    expect(artifact.outputs.public_ip?.value).toBe('203.0.113.10');
    expect(artifact.excludedSensitive).toEqual(['cluster_certificate_authority_data']);
    expect(JSON.stringify(artifact)).not.toContain('LS0tLS1CRUdJTi');
    expect(validateArtifact('terraform-outputs', artifact).ok).toBe(true);
  });

  it('fails closed: an output without an explicit sensitive=false is left out', () => {
    const artifact = collectOutputs(
      { token: { type: 'string', value: 'secret' } },
      { cloud: 'aws', environment: 'prod' },
    );
    expect(artifact.outputs).toEqual({});
    expect(artifact.excludedSensitive).toEqual(['token']);
  });

  it('rejects input that is not terraform output -json', () => {
    expect(() => collectOutputs([], { cloud: 'aws', environment: 'dev' })).toThrow(/expected an object/);
  });
});
