// TypeScript views of the artifact contracts in schemas/*.schema.json. The JSON Schemas are the source of
// truth (the workflow validates against them too); validate.ts checks data against them before it is
// treated as one of these types.

export type GateName =
  | 'opa'
  | 'conftest'
  | 'fmt'
  | 'validate'
  | 'tflint'
  | 'trivy'
  | 'actionlint'
  | 'kargo-schema'
  | 'plan'
  | 'apply';
export type GateCloud = 'aws' | 'gcp' | 'azure' | 'all';
export type GateEnvironment = 'dev' | 'prod' | 'bootstrap' | 'all';
export type GateStatus = 'passed' | 'failed' | 'soft-failed' | 'skipped' | 'errored';
export type Enforcement = 'hard' | 'soft';
export type Severity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW' | 'UNKNOWN';

export interface FindingCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  unknown: number;
}

export interface Finding {
  id: string;
  severity: Severity;
  message: string;
  title?: string;
  resource?: string;
  location?: string;
}

export interface RunRef {
  id: number;
  attempt: number;
  job?: string;
  url?: string;
}

export interface GateResult {
  schemaVersion: 1;
  gate: GateName;
  cloud: GateCloud;
  environment: GateEnvironment;
  status: GateStatus;
  enforcement: Enforcement;
  summary?: string;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
  tool?: { name: string; version?: string };
  findings: FindingCounts;
  topFindings: Finding[];
  run?: RunRef;
}

export type DeployCloud = 'aws' | 'gcp' | 'azure';
export type DeployEnvironment = 'dev' | 'prod';

export interface PlanSummary {
  schemaVersion: 1;
  cloud: DeployCloud;
  environment: DeployEnvironment;
  terraformVersion?: string;
  generatedAt?: string;
  counts: { add: number; change: number; destroy: number; replace: number };
  resources: { add: string[]; change: string[]; destroy: string[]; replace: string[] };
  truncated?: boolean;
  run?: RunRef;
}

export interface TerraformOutputs {
  schemaVersion: 1;
  cloud: DeployCloud;
  environment: DeployEnvironment;
  generatedAt?: string;
  outputs: Record<string, { value: unknown; type?: unknown }>;
  excludedSensitive: string[];
  run?: RunRef;
}

export type ArtifactKind = 'gate-result' | 'plan-summary' | 'terraform-outputs';

export interface ArtifactTypes {
  'gate-result': GateResult;
  'plan-summary': PlanSummary;
  'terraform-outputs': TerraformOutputs;
}
