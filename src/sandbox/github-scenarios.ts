// Scripted runs for the GitHub stand-in. A scenario says how the jobs of the real workflow behave (which
// step fails, which continue-on-error step reports a failure, how long each job takes) and what each upload
// step uploads. By default every gate passes and every artifact is the one the workflow would produce,
// built with the real converters of src/artifacts (buildGateResult, summarisePlan, collectOutputs), so what
// the bot reads from the stand-in is exactly what it would read from GitHub.
import { zipSync, strToU8 } from 'fflate';
import { buildGateResult, parseConftest, parseTrivy } from '../artifacts/gate-result.js';
import { summariseDrift } from '../artifacts/drift.js';
import { summarisePlan } from '../artifacts/plan-summary.js';
import { collectOutputs } from '../artifacts/outputs.js';
import type {
  DeployCloud,
  DeployEnvironment,
  GateCloud,
  GateEnvironment,
  GateName,
  RunRef,
} from '../artifacts/types.js';

/** What the simulator knows when an upload step runs. */
export interface ArtifactContext {
  /** Artifact name, e.g. `gate-trivy-aws-prod`. */
  name: string;
  /** Key of the uploading job under `jobs:` (e.g. `prod-gates`). */
  jobKey: string;
  inputs: Record<string, string>;
  run: RunRef;
  /** ISO times of the job's start and of the upload. */
  startedAt: string;
  uploadedAt: string;
}

export type ArtifactScript =
  /** The artifact's JSON file holds this value (or what the function returns). */
  | { json: unknown | ((ctx: ArtifactContext) => unknown) }
  /** The file holds exactly this text/bytes (malformed on purpose); `file` defaults to the kind's name. */
  | { raw: string | Uint8Array | (() => string); file?: string; level?: 0 | 6 }
  /** The artifact is exactly these bytes (e.g. not a zip at all). */
  | { zip: Uint8Array }
  /** The step found no file: nothing is uploaded (`if-no-files-found: warn`). */
  | { omit: true }
  /** Uploaded, but listed with `expired: true`; downloading it answers 410 Gone. */
  | { expired: true };

export interface JobScript {
  /** Step (YAML `id` or rendered name) that fails; the job fails, later steps run only with always()/failure(). */
  failStep?: string;
  /** continue-on-error steps whose outcome is `failure` (the job carries on), e.g. `trivy`. */
  softFailSteps?: string[];
  /** Step outputs by step id; every step that ran has `{ code: '0' }` unless given here. */
  outputs?: Record<string, Record<string, string>>;
  /** Virtual milliseconds the job runs. */
  durationMs?: number;
}

export interface Scenario {
  name: string;
  description: string;
  /** Repository variables (`vars.*`): GCP_ENABLED, AZURE_ENABLED, ... */
  vars?: Record<string, string>;
  /** Default virtual duration of each job (ms). Default 1000. */
  jobDurationMs?: number;
  /** Virtual time between a job being queued and a runner picking it up (ms). Default 10. */
  queueDelayMs?: number;
  /** Per job (key under `jobs:`). */
  jobs?: Record<string, JobScript>;
  /** Per artifact name; anything not listed is the artifact the workflow would produce. */
  artifacts?: Record<string, ArtifactScript>;
  /** Someone cancels the run this long (virtual ms) after it was created. */
  cancelAfterMs?: number;
  /**
   * Environments whose jobs wait for approval (status `waiting`, two `waiting` deliveries) until
   * GithubStandIn.approve() — the hook for deployment protection rules (a later feature).
   */
  waitAtEnvironments?: string[];
}

// ---- default artifact contents ------------------------------------------------------------------------

const GATE_NAMES = new Set<string>([
  'opa',
  'conftest',
  'fmt',
  'validate',
  'tflint',
  'trivy',
  'actionlint',
  'kargo-schema',
  'plan',
  'apply',
]);

/**
 * A plan of the AWS stack as `terraform show -json` prints it: the instance resized in place (its user_data,
 * which may hold secrets, changes too), the HTTPS rule replaced because its CIDR changes, with Terraform's
 * sensitivity and unknown markers, so the plan details show what changes and what stays hidden.
 */
export function syntheticPlan(environment: DeployEnvironment): unknown {
  const change = (address: string, actions: string[], detail: Record<string, unknown> = {}) => ({
    address,
    mode: 'managed',
    change: { actions, ...detail },
  });
  const marks = { after_unknown: {}, before_sensitive: {}, after_sensitive: {} };
  const rule = { from_port: 443, to_port: 443, protocol: 'tcp', type: 'ingress' };
  return {
    format_version: '1.2',
    terraform_version: '1.15.9',
    resource_changes: [
      change('aws_instance.this', ['update'], {
        ...marks,
        before: {
          instance_type: 't3.small',
          user_data: 'echo sandbox-token-OLD',
          tags: { Owner: 'platform' },
        },
        after: { instance_type: 't3.medium', user_data: 'echo sandbox-token-NEW', tags: { Owner: 'sre' } },
      }),
      change('aws_eks_node_group.this', environment === 'dev' ? ['create'] : ['no-op']),
      {
        ...change('aws_security_group_rule.ingress_https', ['delete', 'create'], {
          ...marks,
          before: { ...rule, id: 'sgrule-2657839457', cidr_blocks: ['10.0.0.0/16'] },
          after: { ...rule, cidr_blocks: ['10.0.0.0/8'] },
          after_unknown: { id: true },
          replace_paths: [['cidr_blocks']],
        }),
        action_reason: 'replace_because_cannot_update',
      },
      change('aws_cloudwatch_log_group.eks', ['create']),
      { address: 'data.aws_ami.al2023', mode: 'data', change: { actions: ['read'] } },
    ],
  };
}

/** `terraform output -json` of the AWS stack (terraform/aws/<env>/outputs.tf), one output sensitive. */
export function syntheticOutputs(environment: DeployEnvironment): unknown {
  const s = (value: unknown) => ({ sensitive: false, type: 'string', value });
  return {
    instance_id: s(environment === 'dev' ? 'i-0123456789abcdef0' : 'i-0fedcba9876543210'),
    public_ip: s(environment === 'dev' ? '203.0.113.10' : '203.0.113.20'),
    private_ip: s(environment === 'dev' ? '10.0.1.10' : '10.1.1.10'),
    cluster_name: s(`gitops-${environment}`),
    cluster_endpoint: s(`https://ABCDEF0123456789.gr7.us-east-1.eks.amazonaws.com`),
    cluster_version: s('1.34'),
    vpc_id: s(environment === 'dev' ? 'vpc-0a1b2c3d4e5f60718' : 'vpc-0f1e2d3c4b5a69788'),
    cluster_certificate_authority_data: {
      sensitive: true,
      type: 'string',
      value: 'LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t',
    },
  };
}

/** `trivy config --format json` with HIGH and CRITICAL misconfigurations in terraform/aws/prod. */
export function trivyFindings(): string {
  return JSON.stringify({
    SchemaVersion: 2,
    ArtifactName: 'terraform/aws/prod',
    ArtifactType: 'filesystem',
    Results: [
      {
        Target: 'main.tf',
        Class: 'config',
        Type: 'terraform',
        Misconfigurations: [
          {
            ID: 'AVD-AWS-0107',
            Title: 'An ingress security group rule allows traffic from /0.',
            Message: 'Security group rule allows ingress from public internet.',
            Severity: 'CRITICAL',
            Status: 'FAIL',
            CauseMetadata: { Resource: 'aws_security_group_rule.ingress_ssh', StartLine: 42 },
          },
          {
            ID: 'AVD-AWS-0131',
            Title: 'Instance with unencrypted block device.',
            Message: 'Root block device is not encrypted.',
            Severity: 'HIGH',
            Status: 'FAIL',
            CauseMetadata: { Resource: 'aws_instance.this', StartLine: 12 },
          },
        ],
      },
    ],
  });
}

/**
 * `terraform show -json` of a refresh-only plan of the AWS stack that found drift (drift.yaml): a security
 * group opened by hand in the console and a log group deleted outside Terraform. Values are in it, as in
 * the real plan; the converter keeps only names.
 */
export function syntheticDriftPlan(environment: DeployEnvironment): unknown {
  const drift = (address: string, type: string, actions: string[], before: unknown, after: unknown) => ({
    address,
    mode: 'managed',
    type,
    name: address.split('.').at(-1),
    change: { actions, before, after },
  });
  return {
    format_version: '1.2',
    terraform_version: '1.15.9',
    resource_drift: [
      drift(
        'aws_security_group.eks_nodes',
        'aws_security_group',
        ['update'],
        {
          id: 'sg-0a1b2c3d',
          ingress: [{ from_port: 443, cidr_blocks: ['10.0.0.0/16'] }],
          tags: { env: environment },
        },
        {
          id: 'sg-0a1b2c3d',
          ingress: [
            { from_port: 443, cidr_blocks: ['10.0.0.0/16'] },
            { from_port: 22, cidr_blocks: ['0.0.0.0/0'] },
          ],
          tags: { env: environment, 'edited-by': 'console' },
        },
      ),
      drift(
        'aws_cloudwatch_log_group.eks',
        'aws_cloudwatch_log_group',
        ['delete'],
        { name: `/eks/${environment}` },
        null,
      ),
      drift('aws_instance.this', 'aws_instance', ['no-op'], { id: 'i-0123' }, { id: 'i-0123' }),
    ],
    resource_changes: [],
  };
}

/** The drift artifact of a drift.yaml job that found the drift above (the real converter, exit code 2). */
export const driftFound = (ctx: ArtifactContext): unknown => {
  const [, cloud, environment] = ctx.name.split('-') as [string, DeployCloud, DeployEnvironment];
  return summariseDrift(syntheticDriftPlan(environment), {
    cloud,
    environment,
    exitCode: 2,
    checkedAt: ctx.uploadedAt,
    run: ctx.run,
  });
};

/** What the workflow would upload under `ctx.name`: a passing gate, the plan summary, the outputs. */
export function defaultArtifactJson(ctx: ArtifactContext): unknown {
  const parts = ctx.name.split('-');
  if (ctx.name.startsWith('drift-')) {
    // drift.yaml found nothing: exit code 0.
    return summariseDrift(undefined, {
      cloud: parts[1] as DeployCloud,
      environment: parts[2] as DeployEnvironment,
      exitCode: 0,
      checkedAt: ctx.uploadedAt,
      run: ctx.run,
    });
  }
  if (ctx.name.startsWith('plan-summary-') || ctx.name.startsWith('terraform-outputs-')) {
    const environment = parts.at(-1) as DeployEnvironment;
    const cloud = parts.at(-2) as DeployCloud;
    const meta = { cloud, environment, generatedAt: ctx.uploadedAt, run: ctx.run };
    return ctx.name.startsWith('plan-summary-')
      ? summarisePlan(syntheticPlan(environment), meta)
      : collectOutputs(syntheticOutputs(environment), meta);
  }
  if (ctx.name.startsWith('gate-') && parts.length >= 4) {
    const environment = parts.at(-1) as GateEnvironment;
    const cloud = parts.at(-2) as GateCloud;
    const gate = parts.slice(1, -2).join('-');
    if (!GATE_NAMES.has(gate)) throw new Error(`unknown gate in artifact ${ctx.name}`);
    // The workflow's Trivy gate is soft on dev runs, hard on prod runs.
    const enforcement = gate === 'trivy' && ctx.inputs.environment !== 'prod' ? 'soft' : 'hard';
    return buildGateResult(
      {
        gate: gate as GateName,
        cloud,
        environment,
        enforcement,
        exitCode: 0,
        startedAt: ctx.startedAt,
        finishedAt: ctx.uploadedAt,
        run: ctx.run,
      },
      { findings: [], toolErrors: [] },
    );
  }
  // Not a result artifact (the toolchain): any small content will do.
  return { note: `${ctx.name} is not a result artifact` };
}

/** The artifact's zip bytes (a zip holding one file, as actions/upload-artifact makes it), or undefined. */
export function buildArtifactZip(
  ctx: ArtifactContext,
  script: ArtifactScript | undefined,
): Uint8Array | undefined {
  const file = fileFor(ctx.name);
  if (script && 'omit' in script) return undefined;
  if (script && 'zip' in script) return script.zip;
  if (script && 'raw' in script) {
    const raw = typeof script.raw === 'function' ? script.raw() : script.raw;
    const bytes = typeof raw === 'string' ? strToU8(raw) : raw;
    return zipSync({ [script.file ?? file]: [bytes, { level: script.level ?? 6 }] });
  }
  const json =
    script && 'json' in script
      ? typeof script.json === 'function'
        ? (script.json as (c: ArtifactContext) => unknown)(ctx)
        : script.json
      : defaultArtifactJson(ctx);
  return zipSync({ [file]: strToU8(`${JSON.stringify(json, null, 2)}\n`) });
}

const fileFor = (name: string): string =>
  name.startsWith('gate-')
    ? 'gate-result.json'
    : name.startsWith('plan-summary-')
      ? 'plan-summary.json'
      : name.startsWith('terraform-outputs-')
        ? 'terraform-outputs.json'
        : name.startsWith('drift-')
          ? 'drift.json'
          : name === 'run-results'
            ? 'run-results.json'
            : 'README.txt';

// ---- ready-made scenarios ------------------------------------------------------------------------------

/** A failing prod Trivy gate: the real converter applied to Trivy output with HIGH/CRITICAL findings. */
const prodTrivyFailed = (ctx: ArtifactContext): unknown =>
  buildGateResult(
    {
      gate: 'trivy',
      cloud: 'aws',
      environment: 'prod',
      enforcement: 'hard',
      exitCode: 1,
      startedAt: ctx.startedAt,
      finishedAt: ctx.uploadedAt,
      tool: { name: 'trivy', version: '0.74.0' },
      run: ctx.run,
    },
    parseTrivy(trivyFindings()),
  );

// ---- sandbox: OPA/Conftest failure (added for `npm run sandbox -- --scenario opa-fail`) ----------------

/** `conftest test --output json` on terraform/aws/dev with policy violations (messages as policy/ words them). */
export function conftestFindings(): string {
  return JSON.stringify([
    {
      filename: 'terraform/aws/dev/main.tf',
      namespace: 'terraform.network',
      successes: 4,
      failures: [
        {
          msg: 'aws_security_group.ec2 (terraform/aws/dev/main.tf): ingress allows SSH (22) from 0.0.0.0/0; restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager',
          metadata: { query: 'data.terraform.network.deny' },
        },
      ],
    },
    {
      filename: 'terraform/aws/dev/main.tf',
      namespace: 'terraform.compute',
      successes: 2,
      failures: [
        {
          msg: 'aws_instance.this (terraform/aws/dev/main.tf): instance_type "m5.4xlarge" is not an approved AWS instance type; use one of t3.micro, t3.small, t3.medium (policy/data/approved_instance_types.yaml)',
          metadata: { query: 'data.terraform.compute.deny' },
        },
      ],
    },
  ]);
}

/** A failing Conftest gate of the policy job: the real converter applied to Conftest output with failures. */
const conftestFailed = (ctx: ArtifactContext): unknown =>
  buildGateResult(
    {
      gate: 'conftest',
      cloud: 'all',
      environment: 'all',
      enforcement: 'hard',
      exitCode: 1,
      startedAt: ctx.startedAt,
      finishedAt: ctx.uploadedAt,
      tool: { name: 'conftest', version: '0.69.0' },
      run: ctx.run,
    },
    parseConftest(conftestFindings()),
  );

// ---- end of the sandbox OPA/Conftest failure helpers ----------------------------------------------------

export const SCENARIOS = {
  'dev-pass': {
    name: 'dev-pass',
    description: 'dev run: every gate passes, aws dev apply plans and applies, all artifacts uploaded',
  },
  'prod-pass': {
    name: 'prod-pass',
    description: 'prod run with deploy_prod=yes: prod gates pass, aws prod apply plans and applies',
  },
  'prod-trivy-fail': {
    name: 'prod-trivy-fail',
    description:
      'prod run: Trivy finds HIGH/CRITICAL misconfigurations in terraform/aws/prod, prod gates fails, aws prod apply is skipped',
    jobs: { 'prod-gates': { softFailSteps: ['trivy'], failStep: 'Fail on a failed prod gate' } },
    artifacts: { 'gate-trivy-aws-prod': { json: prodTrivyFailed } },
  },
  'missing-artifact': {
    name: 'missing-artifact',
    description: 'dev run that succeeds but whose plan-summary-aws-dev upload found no file',
    artifacts: { 'plan-summary-aws-dev': { omit: true } },
  },
  'broken-artifacts': {
    name: 'broken-artifacts',
    description:
      'dev run whose artifacts are broken: truncated JSON, schema-invalid JSON, an expired one, one too large, one not a zip',
    artifacts: {
      'gate-tflint-aws-dev': { raw: '{"schemaVersion":1,"gate":"tflint","cloud":' },
      'gate-fmt-aws-dev': {
        json: { schemaVersion: 1, gate: 'fmt', cloud: 'aws', environment: 'dev', status: 'green' },
      },
      'terraform-outputs-aws-dev': { expired: true },
      'gate-validate-aws-dev': { raw: () => `{"pad":"${'x'.repeat(6 * 1024 * 1024)}"}` },
      'gate-trivy-aws-dev': { zip: strToU8('this is not a zip archive') },
    },
  },
  cancelled: {
    name: 'cancelled',
    description: 'dev run cancelled while the gate jobs run (the notify job still runs: if: always())',
    cancelAfterMs: 1500,
  },
  // ---- sandbox scenario (npm run sandbox -- --scenario opa-fail) ----
  'opa-fail': {
    name: 'opa-fail',
    description:
      'Conftest finds policy violations (SSH open to the world, an unapproved instance type): the policy job fails, no gate or apply job runs',
    jobs: { policy: { failStep: 'Fail on a failed hard gate', outputs: { conftest: { code: '1' } } } },
    artifacts: { 'gate-conftest-all-all': { json: conftestFailed } },
  },
  // ---- end of the sandbox scenario ----
  // ---- drift.yaml runs (GithubStandIn.startDriftRun) ----
  'drift-in-sync': {
    name: 'drift-in-sync',
    description:
      'drift check: every environment matches its Terraform state (plan -refresh-only exit code 0)',
  },
  'drift-dev': {
    name: 'drift-dev',
    description:
      'drift check that finds drift in aws dev (a security group edited in the console, a log group deleted); prod in sync',
    jobs: { 'aws-dev': { outputs: { plan: { code: '2' } } } },
    artifacts: { 'drift-aws-dev': { json: driftFound } },
  },
  'drift-broken': {
    name: 'drift-broken',
    description: 'drift check whose aws dev artifact is malformed and whose aws prod artifact is missing',
    artifacts: {
      'drift-aws-dev': { raw: '{"schemaVersion":1,"cloud":"aws","environment":"dev","status":"drifted"' },
      'drift-aws-prod': { omit: true },
    },
  },
} satisfies Record<string, Scenario>;

export type ScenarioName = keyof typeof SCENARIOS;

export function scenarioNamed(name: string): Scenario {
  const s = (SCENARIOS as Record<string, Scenario>)[name];
  if (!s) throw new Error(`unknown scenario "${name}" (known: ${Object.keys(SCENARIOS).join(', ')})`);
  return s;
}
