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
  /**
   * What changes inside replaced and updated resources, replacements first. Absent in artifacts from
   * converters older than this field (they still validate): the bot then shows addresses only.
   */
  changes?: PlanResourceChange[];
  /** Replaced or updated resources left out of `changes` (over its limit). */
  changesOmitted?: number;
  run?: RunRef;
}

/** One replaced or updated resource of a plan summary, attribute by attribute (plan-summary.ts). */
export interface PlanResourceChange {
  address: string;
  action: 'replace' | 'update';
  /** Terraform's `action_reason`, e.g. `replace_because_cannot_update`, `replace_because_tainted`. */
  reason?: string;
  attributes: PlanAttributeChange[];
  /** Changed attributes left out (over the per-resource limit). */
  attributesOmitted?: number;
}

export interface PlanAttributeChange {
  /** `ami`, `tags.Owner`, `root_block_device[0].volume_size`. Names only: keys, never values. */
  path: string;
  /** Terraform lists it in `replace_paths`: changing it forces the replacement. */
  forcesReplacement?: boolean;
  /**
   * Why no value is given: Terraform marked it sensitive (or its name says it holds a secret), or it is
   * known only after apply. A hidden attribute never carries `before` / `after` (the schema refuses it).
   */
  hidden?: 'sensitive' | 'unknown';
  /** Short display forms of primitive values (`"ami-0123"`, `20`, `true`, `null`), at most 100 characters. */
  before?: string;
  after?: string;
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

export type DriftStatus = 'in-sync' | 'drifted' | 'errored';
export type DriftAction = 'create' | 'update' | 'delete';

export interface DriftResource {
  address: string;
  type: string;
  actions: DriftAction[];
  /** Names of the top-level attributes that differ; never values. */
  changedAttributes: string[];
}

/** schemas/drift.schema.json: one cloud/environment, from `terraform plan -refresh-only` (drift.yaml). */
export interface DriftReport {
  schemaVersion: 1;
  cloud: DeployCloud;
  environment: DeployEnvironment;
  status: DriftStatus;
  checkedAt: string;
  detail?: string;
  terraformVersion?: string;
  resources: DriftResource[];
  truncated?: boolean;
  counts: { resources: number; update: number; delete: number; create: number };
  run?: RunRef;
}

export type ArtifactKind = 'gate-result' | 'plan-summary' | 'terraform-outputs' | 'drift';

export interface ArtifactTypes {
  'gate-result': GateResult;
  'plan-summary': PlanSummary;
  'terraform-outputs': TerraformOutputs;
  drift: DriftReport;
}
