// The three (four) runs the issue tells, as the GitHub adapter would deliver them: job and step names are
// the workflow's own (.github/workflows/terraform.yaml; gates.test.ts holds the table to them).
import type { CardEvent, RunJobStep } from '../../src/domain/events.js';
import { ev, finding, runEv, steps } from './builders.js';
import type { StepSpec } from './builders.js';

export const JOB_ID = {
  policy: 9001,
  aws: 9002,
  gcp: 9003,
  azure: 9004,
  awsDev: 9005,
  gcpPlan: 9006,
  azurePlan: 9007,
  prodGates: 9008,
  awsProd: 9009,
  notify: 9010,
} as const;

export const JOB_NAME = {
  policy: 'policy (OPA + Conftest)',
  aws: (env: string) => `aws gates (${env})`,
  gcp: (env: string) => `gcp gates (${env})`,
  azure: (env: string) => `azure gates (${env})`,
  awsDev: 'aws dev apply',
  gcpPlan: 'gcp plan',
  azurePlan: 'azure plan',
  prodGates: 'prod gates (Trivy hard, OPA on HCL + plan)',
  awsProd: 'aws prod apply',
  notify: 'notify (Slack webhooks)',
} as const;

const ok = (name: string, start: number, end: number): StepSpec => ({ name, start, end });
const skipped = (name: string): StepSpec => ({ name, conclusion: 'skipped' });

export const policySteps = (t: number, verdict = 'success'): RunJobStep[] =>
  steps(
    ok('Set up job', t, t + 0.1),
    ok("Check out the Freight's commit", t + 0.1, t + 0.2),
    ok('Check the dispatch inputs', t + 0.2, t + 0.3),
    ok('OPA (opa fmt, opa check --strict, opa test + coverage, conftest verify)', t + 0.5, t + 1),
    ok('Conftest on every Terraform root (HCL)', t + 1, t + 1.2),
    ok('Gate results (opa, conftest)', t + 1.2, t + 1.4),
    { name: 'Fail on a failed hard gate', conclusion: verdict, start: t + 1.5, end: t + 1.5 },
  );

/** fmt -> validate -> TFLint -> (Record when Trivy started, Trivy) -> Gate results -> verdict. */
export function cloudGateSteps(
  cloud: 'aws' | 'gcp' | 'azure',
  env: 'dev' | 'prod',
  t: number,
  options: { trivy?: 'run' | 'skipped'; verdict?: string } = {},
): RunJobStep[] {
  const trivyName = cloud === 'aws' ? 'Trivy (HIGH/CRITICAL, soft on dev)' : 'Trivy (HIGH/CRITICAL)';
  const trivyRuns = (options.trivy ?? (cloud === 'aws' && env === 'prod' ? 'skipped' : 'run')) === 'run';
  return steps(
    ok('Set up job', t, t + 0.1),
    ok("Check out the Freight's commit", t + 0.1, t + 0.2),
    ok('terraform fmt', t + 0.5, t + 0.55),
    ok('terraform validate (init -backend=false)', t + 0.55, t + 1),
    ok('TFLint', t + 1, t + 1.25),
    trivyRuns ? ok('Record when Trivy started', t + 1.25, t + 1.3) : skipped('Record when Trivy started'),
    trivyRuns ? ok(trivyName, t + 1.3, t + 2) : skipped(trivyName),
    ok('Gate results (fmt, validate, tflint, trivy)', t + 2, t + 2.2),
    {
      name: 'Fail on a failed hard gate',
      conclusion: options.verdict ?? 'success',
      start: t + 2.3,
      end: t + 2.3,
    },
  );
}

const devApplySteps = (t: number): RunJobStep[] =>
  steps(
    ok('Set up job', t, t + 0.1),
    ok('AWS credentials (OIDC, role for dev)', t + 0.2, t + 0.3),
    ok('terraform init (S3 backend)', t + 0.3, t + 0.5),
    ok('terraform plan', t + 0.5, t + 1.5),
    ok('terraform apply', t + 1.5, t + 4.5),
    ok('Artifacts (gate plan/apply, plan summary, outputs)', t + 4.5, t + 4.8),
    ok('Fail when plan or apply failed', t + 4.9, t + 4.9),
  );

const gatesPassed = (env: 'dev' | 'prod', minute: number): CardEvent[] =>
  (['aws', 'gcp', 'azure'] as const).flatMap((cloud) =>
    (['fmt', 'validate', 'tflint'] as const).map((gate) =>
      runEv.gate(minute, { gate, cloud, environment: env, durationSeconds: 2 }),
    ),
  );

/** A dev promotion of brave-wampa that passes every gate, applies AWS dev and publishes its outputs. */
export function passingDevRun(): CardEvent[] {
  return [
    ev.requested(0, { environment: 'dev', stage: 'dev' }),
    ev.resolved(0, { alias: 'brave-wampa' }),
    ev.created(1, { stage: 'dev' }),
    ev.phase('Running', 2),
    ev.run(3),
    runEv.status('in_progress', 3),
    runEv.job(JOB_ID.policy, JOB_NAME.policy, 'queued', 3),
    runEv.job(JOB_ID.policy, JOB_NAME.policy, 'completed', 5, policySteps(3)),
    runEv.job(JOB_ID.aws, JOB_NAME.aws('dev'), 'completed', 8, cloudGateSteps('aws', 'dev', 5)),
    runEv.job(JOB_ID.gcp, JOB_NAME.gcp('dev'), 'completed', 8, cloudGateSteps('gcp', 'dev', 5)),
    runEv.job(JOB_ID.azure, JOB_NAME.azure('dev'), 'completed', 8, cloudGateSteps('azure', 'dev', 5)),
    runEv.job(JOB_ID.gcpPlan, JOB_NAME.gcpPlan, 'completed', 8, [], { conclusion: 'skipped' }),
    runEv.job(JOB_ID.azurePlan, JOB_NAME.azurePlan, 'completed', 8, [], { conclusion: 'skipped' }),
    runEv.job(JOB_ID.awsDev, JOB_NAME.awsDev, 'completed', 14, devApplySteps(8)),
    runEv.gate(5, { gate: 'opa', cloud: 'all', environment: 'all', durationSeconds: 30 }),
    runEv.gate(5, { gate: 'conftest', cloud: 'all', environment: 'all', durationSeconds: 12 }),
    ...gatesPassed('dev', 8),
    runEv.gate(8, {
      gate: 'trivy',
      cloud: 'aws',
      environment: 'dev',
      status: 'soft-failed',
      enforcement: 'soft',
      durationSeconds: 42,
      findings: { critical: 0, high: 1, medium: 0, low: 0, unknown: 0 },
      topFindings: [finding('AVD-AWS-0178', 'HIGH', 'aws_vpc.main', 'VPC Flow Logs is not enabled for VPC')],
    }),
    runEv.gate(8, { gate: 'trivy', cloud: 'gcp', environment: 'dev', durationSeconds: 20 }),
    runEv.gate(8, { gate: 'trivy', cloud: 'azure', environment: 'dev', durationSeconds: 21 }),
    runEv.gate(14, { gate: 'plan', cloud: 'aws', environment: 'dev', durationSeconds: 60 }),
    runEv.gate(14, { gate: 'apply', cloud: 'aws', environment: 'dev', durationSeconds: 180 }),
    runEv.plan(14, 'aws', 'dev', {
      add: ['aws_instance.web', 'aws_eip.web', 'aws_security_group_rule.ssh'],
      change: ['aws_eks_cluster.main'],
    }),
    runEv.outputs(
      14,
      'aws',
      'dev',
      {
        vpc_id: 'vpc-0a1b2c3d',
        tags: { team: 'platform' },
        cluster_endpoint: 'https://ABCD.gr7.us-east-1.eks.amazonaws.com',
        instance_id: 'i-0123456789abcdef0',
        public_ip: '203.0.113.10',
        cluster_name: 'dev-eks',
        private_ip: '10.0.1.23',
      },
      ['kubeconfig'],
    ),
    runEv.status('completed', 15, { conclusion: 'success' }),
    ev.phase('Succeeded', 16),
  ];
}

/** The same dev run, except the plan summary never arrived. */
export function missingArtifactRun(): CardEvent[] {
  return [
    ...passingDevRun().filter((event) => event.type !== 'PlanSummarized'),
    runEv.problem(15, 'plan-summary-aws-dev', 'missing'),
  ];
}

export const TRIVY_FINDINGS = [
  finding(
    'AVD-AWS-0104',
    'CRITICAL',
    'aws_security_group.web',
    'Security group rule allows egress to multiple public internet addresses',
  ),
  finding(
    'AVD-AWS-0107',
    'CRITICAL',
    'aws_security_group.ssh',
    'Security group rule allows ingress from public internet',
  ),
  finding(
    'AVD-AWS-0028',
    'HIGH',
    'aws_instance.web',
    'Instance does not require IMDS access to require a token',
  ),
  finding(
    'AVD-AWS-0131',
    'HIGH',
    'aws_instance.web',
    'Instance does not have an encrypted root block device',
  ),
  finding(
    'AVD-AWS-0039',
    'HIGH',
    'aws_eks_cluster.main',
    'EKS cluster does not have secrets encryption enabled',
  ),
];

/** A prod promotion whose hard Trivy gate finds 2 CRITICAL: prod gates fails at the Trivy step. */
export function failingTrivyProdRun(): CardEvent[] {
  return [
    ev.requested(0),
    ev.resolved(0, { alias: 'brave-wampa' }),
    ev.created(1),
    ev.phase('Running', 2),
    ev.run(3),
    runEv.status('in_progress', 3),
    runEv.job(JOB_ID.policy, JOB_NAME.policy, 'completed', 5, policySteps(3)),
    runEv.job(JOB_ID.aws, JOB_NAME.aws('prod'), 'completed', 8, cloudGateSteps('aws', 'prod', 5)),
    runEv.job(JOB_ID.gcp, JOB_NAME.gcp('prod'), 'completed', 8, cloudGateSteps('gcp', 'prod', 5)),
    runEv.job(JOB_ID.azure, JOB_NAME.azure('prod'), 'completed', 8, cloudGateSteps('azure', 'prod', 5)),
    runEv.job(JOB_ID.gcpPlan, JOB_NAME.gcpPlan, 'completed', 8, [], { conclusion: 'skipped' }),
    runEv.job(JOB_ID.azurePlan, JOB_NAME.azurePlan, 'completed', 8, [], { conclusion: 'skipped' }),
    runEv.job(
      JOB_ID.prodGates,
      JOB_NAME.prodGates,
      'completed',
      7,
      steps(
        ok('Set up job', 5, 5.1),
        ok('Record when Trivy started', 5.2, 5.2),
        { name: 'Trivy (HIGH/CRITICAL, hard)', conclusion: 'failure', start: 5.25, end: 5.77 },
        skipped('AWS credentials (OIDC, read-only plan role)'),
        skipped('Preview plan (read-only, no lock)'),
        skipped('Conftest on terraform/aws/prod (HCL and plan JSON)'),
        ok('Artifacts (gates trivy/conftest, preview plan summary)', 5.8, 6),
        ok('Upload gate-trivy-aws-prod', 6, 6.1),
        skipped('Fail on a failed prod gate'),
      ),
      { conclusion: 'failure' },
    ),
    runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'completed', 8, [], { conclusion: 'skipped' }),
    runEv.gate(5, { gate: 'opa', cloud: 'all', environment: 'all', durationSeconds: 30 }),
    runEv.gate(5, { gate: 'conftest', cloud: 'all', environment: 'all', durationSeconds: 12 }),
    ...gatesPassed('prod', 8),
    runEv.gate(8, { gate: 'trivy', cloud: 'gcp', environment: 'prod', durationSeconds: 20 }),
    runEv.gate(8, { gate: 'trivy', cloud: 'azure', environment: 'prod', durationSeconds: 21 }),
    runEv.gate(7, {
      gate: 'trivy',
      cloud: 'aws',
      environment: 'prod',
      status: 'failed',
      durationSeconds: 31,
      summary: '2 critical, 3 high',
      findings: { critical: 2, high: 3, medium: 0, low: 0, unknown: 0 },
      topFindings: TRIVY_FINDINGS,
    }),
    runEv.status('completed', 9, { conclusion: 'failure' }),
    ev.phase('Failed', 10, 'step "waitRun" failed: workflow run 12345 concluded failure'),
  ];
}

/** A prod run GitHub cancels while the cloud gates are running. */
export function cancelledProdRun(): CardEvent[] {
  return [
    ev.requested(0),
    ev.resolved(0, { alias: 'brave-wampa' }),
    ev.created(1),
    ev.phase('Running', 2),
    ev.run(3),
    runEv.status('in_progress', 3),
    runEv.job(JOB_ID.policy, JOB_NAME.policy, 'completed', 5, policySteps(3)),
    runEv.job(
      JOB_ID.aws,
      JOB_NAME.aws('prod'),
      'completed',
      7,
      steps(
        ok('Set up job', 5, 5.1),
        ok('terraform fmt', 5.5, 5.55),
        ok('terraform validate (init -backend=false)', 5.55, 6),
        { name: 'TFLint', conclusion: 'cancelled', start: 6, end: 7 },
        skipped('Record when Trivy started'),
        skipped('Trivy (HIGH/CRITICAL, soft on dev)'),
        skipped('Fail on a failed hard gate'),
      ),
      { conclusion: 'cancelled' },
    ),
    runEv.job(
      JOB_ID.gcp,
      JOB_NAME.gcp('prod'),
      'completed',
      7,
      steps(
        ok('Set up job', 5, 5.1),
        ok('terraform fmt', 5.5, 5.55),
        { name: 'terraform validate (init -backend=false)', conclusion: 'cancelled', start: 5.55, end: 7 },
        skipped('TFLint'),
        skipped('Record when Trivy started'),
        skipped('Trivy (HIGH/CRITICAL)'),
        skipped('Fail on a failed hard gate'),
      ),
      { conclusion: 'cancelled' },
    ),
    runEv.job(JOB_ID.azure, JOB_NAME.azure('prod'), 'queued', 5),
    runEv.job(JOB_ID.prodGates, JOB_NAME.prodGates, 'completed', 7, [], { conclusion: 'cancelled' }),
    runEv.gate(5, { gate: 'opa', cloud: 'all', environment: 'all', durationSeconds: 30 }),
    runEv.gate(5, { gate: 'conftest', cloud: 'all', environment: 'all', durationSeconds: 12 }),
    runEv.status('completed', 7, { conclusion: 'cancelled' }),
    ev.phase('Failed', 8, 'step "waitRun" failed: workflow run 12345 concluded cancelled'),
  ];
}
