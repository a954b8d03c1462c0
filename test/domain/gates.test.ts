import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { applyEvent, foldEvents, type Card } from '../../src/domain/card.js';
import type { CardEvent } from '../../src/domain/events.js';
import {
  GATE_TABLE,
  artifactProblemSentence,
  checklistCounts,
  gateChecklist,
  openArtifactProblems,
  runEnvironment,
  type GateRow,
} from '../../src/domain/gates.js';
import { RUN_URL, atMin, ev, jobUrl, runEv, steps } from './builders.js';
import {
  JOB_ID,
  JOB_NAME,
  TRIVY_FINDINGS,
  cancelledProdRun,
  cloudGateSteps,
  failingTrivyProdRun,
  missingArtifactRun,
  passingDevRun,
  policySteps,
} from './run-stories.js';

const fold = (...events: CardEvent[]): Card => {
  const card = foldEvents(events);
  if (!card) throw new Error('no card');
  return card;
};

const statuses = (rows: GateRow[]): Record<string, string> =>
  Object.fromEntries(rows.map((row) => [row.key, row.status]));

const row = (rows: GateRow[], key: string): GateRow => {
  const found = rows.find((r) => r.key === key);
  if (!found) throw new Error(`no row ${key}`);
  return found;
};

// ---------------------------------------------------------------------------------------------------
// The table against the workflow it describes

interface WorkflowStep {
  name?: string;
  run?: string;
  'continue-on-error'?: boolean;
}
interface WorkflowJob {
  name?: string;
  if?: string;
  steps: WorkflowStep[];
}

const workflow = parse(readFileSync('.github/workflows/terraform.yaml', 'utf8')) as {
  jobs: Record<string, WorkflowJob>;
};
const substitute = (text: string, env: string): string =>
  text.replace(/\$\{\{\s*inputs\.environment\s*\}\}/g, env);

describe('GATE_TABLE matches .github/workflows/terraform.yaml', () => {
  const cases = GATE_TABLE.flatMap((spec) => spec.envs.map((env) => [spec.key, env, spec] as const));

  it.each(cases)('%s (%s): its job and steps exist, exactly once', (_key, env, spec) => {
    const jobs = Object.values(workflow.jobs).filter((job) =>
      substitute(job.name ?? '', env).startsWith(spec.source.job),
    );
    expect(jobs).toHaveLength(1);
    const job = jobs[0] as WorkflowJob;
    // A job that only runs for one environment cannot hold a row for the other.
    const only = /inputs\.environment == '(dev|prod)'/.exec(job.if ?? '')?.[1];
    if (only) expect(only).toBe(env);
    const names = job.steps.map((step) => substitute(step.name ?? '', env));
    for (const prefix of spec.source.steps) {
      expect(names.filter((name) => name.startsWith(prefix))).toHaveLength(1);
    }
    if (spec.source.verdict) {
      const verdict = spec.source.verdict;
      expect(names.filter((name) => name.startsWith(verdict))).toHaveLength(1);
      // The verdict comes after the gate's steps.
      const last = Math.max(...spec.source.steps.map((p) => names.findIndex((name) => name.startsWith(p))));
      expect(names.findIndex((name) => name.startsWith(verdict))).toBeGreaterThan(last);
    }
  });

  it.each(cases)('%s (%s): a tool step that swallows its exit code has a verdict step', (_key, env, spec) => {
    const job = Object.values(workflow.jobs).find((j) =>
      substitute(j.name ?? '', env).startsWith(spec.source.job),
    );
    const gateSteps = (job?.steps ?? []).filter((step) =>
      spec.source.steps.some((prefix) => substitute(step.name ?? '', env).startsWith(prefix)),
    );
    const swallows = gateSteps.some((step) => /set \+e/.test(step.run ?? ''));
    if (swallows) expect(spec.source.verdict).toBeDefined();
  });

  it('lists each environment’s rows once, in pipeline order', () => {
    const keysFor = (env: 'dev' | 'prod') => GATE_TABLE.filter((s) => s.envs.includes(env)).map((s) => s.key);
    expect(keysFor('dev')).toEqual([
      'opa',
      'aws-fmt',
      'aws-validate',
      'aws-tflint',
      'aws-trivy',
      'gcp-fmt',
      'gcp-validate',
      'gcp-tflint',
      'gcp-trivy',
      'azure-fmt',
      'azure-validate',
      'azure-tflint',
      'azure-trivy',
      'aws-plan',
      'gcp-plan',
      'azure-plan',
      'aws-apply',
    ]);
    expect(keysFor('prod')).toEqual([
      'opa',
      'aws-fmt',
      'aws-validate',
      'aws-tflint',
      'aws-trivy',
      'gcp-fmt',
      'gcp-validate',
      'gcp-tflint',
      'gcp-trivy',
      'azure-fmt',
      'azure-validate',
      'azure-tflint',
      'azure-trivy',
      'prod-opa',
      'aws-plan-preview',
      'gcp-plan',
      'azure-plan',
      'approval',
      'aws-plan',
      'aws-apply',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------
// The stories

describe('gateChecklist: a passing dev run', () => {
  const card = fold(...passingDevRun());
  const rows = gateChecklist(card);

  it('has every gate passed, in order, GCP/Azure plans skipped (not enabled)', () => {
    expect(rows.map((r) => r.label)).toEqual([
      'OPA policies',
      'AWS · fmt',
      'AWS · validate',
      'AWS · TFLint',
      'AWS · Trivy',
      'GCP · fmt',
      'GCP · validate',
      'GCP · TFLint',
      'GCP · Trivy',
      'Azure · fmt',
      'Azure · validate',
      'Azure · TFLint',
      'Azure · Trivy',
      'AWS plan',
      'GCP plan',
      'Azure plan',
      'AWS apply',
    ]);
    expect(statuses(rows)).toEqual({
      opa: 'passed',
      'aws-fmt': 'passed',
      'aws-validate': 'passed',
      'aws-tflint': 'passed',
      'aws-trivy': 'soft-failed',
      'gcp-fmt': 'passed',
      'gcp-validate': 'passed',
      'gcp-tflint': 'passed',
      'gcp-trivy': 'passed',
      'azure-fmt': 'passed',
      'azure-validate': 'passed',
      'azure-tflint': 'passed',
      'azure-trivy': 'passed',
      'aws-plan': 'passed',
      'gcp-plan': 'skipped',
      'azure-plan': 'skipped',
      'aws-apply': 'passed',
    });
  });

  it('shows the soft Trivy findings on dev without failing anything', () => {
    expect(row(rows, 'aws-trivy')).toMatchObject({
      status: 'soft-failed',
      durationMs: 42_000,
      findings: { critical: 0, high: 1 },
      topFindings: [{ id: 'AVD-AWS-0178', resource: 'aws_vpc.main' }],
      jobUrl: jobUrl(JOB_ID.aws),
    });
    expect(card.failedJob).toBeUndefined();
    expect(checklistCounts(rows)).toMatchObject({ total: 17, done: 17, failed: 0 });
  });

  it('sums OPA and Conftest into the OPA policies row', () => {
    expect(row(rows, 'opa')).toMatchObject({
      status: 'passed',
      durationMs: 42_000,
      jobName: JOB_NAME.policy,
    });
  });

  it('has the plan and the outputs', () => {
    expect(card.plans).toHaveLength(1);
    expect(card.plans[0]?.counts).toEqual({ add: 3, change: 1, destroy: 0, replace: 0 });
    expect(card.outputs[0]?.entries.map((e) => e.name)).toContain('instance_id');
    expect(card.outputs[0]?.excludedSensitive).toEqual(['kubeconfig']);
  });
});

describe('gateChecklist: a failing Trivy gate on prod', () => {
  const card = fold(...failingTrivyProdRun());
  const rows = gateChecklist(card);

  it('fails the AWS Trivy row with its counts and top findings', () => {
    expect(row(rows, 'aws-trivy')).toEqual({
      key: 'aws-trivy',
      label: 'AWS · Trivy',
      kind: 'check',
      cloud: 'aws',
      status: 'failed',
      durationMs: 31_000,
      findings: { critical: 2, high: 3, medium: 0, low: 0, unknown: 0 },
      topFindings: TRIVY_FINDINGS,
      jobName: JOB_NAME.prodGates,
      jobUrl: jobUrl(JOB_ID.prodGates),
    });
  });

  it('names the failed job and step', () => {
    expect(card.failedJob).toEqual({
      name: JOB_NAME.prodGates,
      jobId: JOB_ID.prodGates,
      step: 'Trivy (HIGH/CRITICAL, hard)',
      url: jobUrl(JOB_ID.prodGates),
      conclusion: 'failure',
    });
  });

  it('skips what came after: prod OPA, preview plan, approval, plan and apply', () => {
    expect(statuses(rows)).toMatchObject({
      opa: 'passed',
      'aws-fmt': 'passed',
      'gcp-trivy': 'passed',
      'prod-opa': 'skipped',
      'aws-plan-preview': 'skipped',
      approval: 'skipped',
      'aws-plan': 'skipped',
      'aws-apply': 'skipped',
    });
    expect(checklistCounts(rows)).toMatchObject({ failed: 1 });
  });

  it('keeps the phase Kargo’s: the run only adds detail', () => {
    expect(card.phase).toBe('Failed');
    expect(card.run).toMatchObject({ id: 12345, status: 'completed', conclusion: 'failure', attempt: 1 });
  });
});

describe('gateChecklist: a missing artifact', () => {
  const card = fold(...missingArtifactRun());

  it('becomes a clear problem, and the checklist still renders from the jobs', () => {
    expect(openArtifactProblems(card)).toEqual([
      expect.objectContaining({ artifact: 'plan-summary-aws-dev', problem: 'missing' }),
    ]);
    expect(artifactProblemSentence({ artifact: 'plan-summary-aws-dev', problem: 'missing' })).toBe(
      'plan-summary-aws-dev is missing: the plan could not be summarised',
    );
    expect(row(gateChecklist(card), 'aws-plan').status).toBe('passed');
  });

  it('clears the problem when the artifact turns up late after all', () => {
    const late = applyEvent(card, runEv.plan(20, 'aws', 'dev', { add: ['aws_instance.web'] }));
    expect(openArtifactProblems(late)).toEqual([]);
    expect(late.artifactProblems).toHaveLength(1);
  });

  it('explains every kind of problem and artifact', () => {
    expect(artifactProblemSentence({ artifact: 'gate-trivy-aws-prod', problem: 'malformed' })).toBe(
      'gate-trivy-aws-prod is malformed: the Trivy result for aws prod (verdict and findings) is not known',
    );
    expect(artifactProblemSentence({ artifact: 'terraform-outputs-aws-dev', problem: 'expired' })).toBe(
      'terraform-outputs-aws-dev has expired: the Terraform outputs cannot be shown',
    );
    expect(artifactProblemSentence({ artifact: 'gate-opa-all-all', problem: 'too-large' })).toBe(
      'gate-opa-all-all is too large to read: the OPA result (verdict and findings) is not known',
    );
    expect(artifactProblemSentence({ artifact: 'weird', problem: 'unreadable' })).toBe(
      'weird could not be read: what it holds is not shown',
    );
  });

  it('a gate whose artifact is missing keeps what the jobs said', () => {
    const events = passingDevRun().filter(
      (e) => !(e.type === 'GateReported' && e.result.gate === 'trivy' && e.result.cloud === 'aws'),
    );
    const card2 = fold(
      ...events,
      runEv.problem(15, 'gate-trivy-aws-dev', 'malformed', 'topFindings: must be array'),
    );
    expect(row(gateChecklist(card2), 'aws-trivy')).toMatchObject({ status: 'passed' });
    expect(openArtifactProblems(card2)).toHaveLength(1);
  });
});

describe('gateChecklist: a run GitHub cancels', () => {
  const card = fold(...cancelledProdRun());
  const rows = gateChecklist(card);

  it('shows rows that were running as cancelled and rows that never ran as skipped', () => {
    expect(statuses(rows)).toEqual({
      opa: 'passed',
      'aws-fmt': 'cancelled',
      'aws-validate': 'cancelled',
      'aws-tflint': 'cancelled',
      'aws-trivy': 'cancelled',
      'gcp-fmt': 'cancelled',
      'gcp-validate': 'cancelled',
      'gcp-tflint': 'skipped',
      'gcp-trivy': 'skipped',
      'azure-fmt': 'skipped',
      'azure-validate': 'skipped',
      'azure-tflint': 'skipped',
      'azure-trivy': 'skipped',
      'prod-opa': 'cancelled',
      'aws-plan-preview': 'cancelled',
      'gcp-plan': 'skipped',
      'azure-plan': 'skipped',
      approval: 'skipped',
      'aws-plan': 'skipped',
      'aws-apply': 'skipped',
    });
    expect(row(rows, 'azure-fmt').note).toBe('run cancelled');
  });

  it('is not a failure of any job', () => {
    expect(card.failedJob).toBeUndefined();
    expect(card.run).toMatchObject({
      status: 'completed',
      conclusion: 'cancelled',
      triggeredBy: 'kargo-bot',
    });
  });

  it('keeps a cancelled step cancelled even when an always() artifact calls it failed', () => {
    const withReport = applyEvent(
      card,
      runEv.gate(7, { gate: 'tflint', cloud: 'aws', environment: 'prod', status: 'failed' }),
    );
    expect(row(gateChecklist(withReport), 'aws-tflint').status).toBe('cancelled');
  });
});

// ---------------------------------------------------------------------------------------------------
// Live

const prodStart = (): CardEvent[] => [ev.requested(0), ev.created(1), ev.phase('Running', 2), ev.run(3)];

describe('gateChecklist: live, step by step', () => {
  it('is empty before the card knows a run', () => {
    expect(gateChecklist(fold(ev.requested(0), ev.created(1)))).toEqual([]);
  });

  it('shows everything pending once the run is known', () => {
    const rows = gateChecklist(fold(...prodStart()));
    expect(new Set(rows.map((r) => r.status))).toEqual(new Set(['pending']));
    expect(rows).toHaveLength(20);
  });

  it('follows a gate step while it runs, then waits for the job’s verdict', () => {
    const running = steps(
      { name: 'Set up job', start: 5, end: 5.1 },
      { name: 'terraform fmt', start: 5.5, end: 5.55 },
      { name: 'terraform validate (init -backend=false)', status: 'in_progress', start: 5.55 },
      { name: 'TFLint', status: 'queued' },
      { name: 'Fail on a failed hard gate', status: 'queued' },
    );
    const card = fold(...prodStart(), runEv.job(JOB_ID.aws, JOB_NAME.aws('prod'), 'in_progress', 6, running));
    const rows = gateChecklist(card);
    expect(row(rows, 'aws-fmt')).toMatchObject({
      status: 'running',
      durationMs: 3000,
      note: 'checked; verdict pending',
    });
    expect(row(rows, 'aws-validate')).toMatchObject({ status: 'running', startedAt: atMin(5.55) });
    expect(row(rows, 'aws-tflint').status).toBe('pending');
  });

  it('passes the gates when the verdict step passes', () => {
    const card = fold(
      ...prodStart(),
      runEv.job(JOB_ID.aws, JOB_NAME.aws('prod'), 'completed', 8, cloudGateSteps('aws', 'prod', 5)),
    );
    const rows = gateChecklist(card);
    expect(row(rows, 'aws-fmt')).toMatchObject({ status: 'passed', durationMs: 3000 });
    // On prod the AWS Trivy gate is the prod gates job's, not this one.
    expect(row(rows, 'aws-trivy')).toMatchObject({ status: 'pending' });
  });

  it('fails the only gate a failed verdict step judges (GCP plan)', () => {
    const card = fold(
      ...prodStart(),
      runEv.job(
        JOB_ID.gcpPlan,
        JOB_NAME.gcpPlan,
        'completed',
        9,
        steps(
          { name: 'terraform plan', start: 7, end: 8 },
          { name: 'Artifacts (gate plan, plan summary)', start: 8, end: 8.1 },
          { name: 'Fail when the plan failed', conclusion: 'failure', start: 8.2, end: 8.2 },
        ),
        { conclusion: 'failure' },
      ),
    );
    expect(row(gateChecklist(card), 'gcp-plan')).toMatchObject({ status: 'failed', durationMs: 60_000 });
    expect(card.failedJob).toMatchObject({ name: 'gcp plan', step: 'Fail when the plan failed' });
  });

  it('leaves the gates a failed verdict judges unknown until their artifacts say which failed', () => {
    // The real prod gates job: Trivy has continue-on-error (its step succeeds), the verdict step fails.
    const prodGates = runEv.job(
      JOB_ID.prodGates,
      JOB_NAME.prodGates,
      'completed',
      8,
      steps(
        { name: 'Trivy (HIGH/CRITICAL, hard)', start: 5, end: 5.5 },
        { name: 'AWS credentials (OIDC, read-only plan role)', start: 5.5, end: 5.6 },
        { name: 'Preview plan (read-only, no lock)', start: 5.6, end: 6.6 },
        { name: 'Conftest on terraform/aws/prod (HCL and plan JSON)', start: 6.6, end: 7 },
        { name: 'Fail on a failed prod gate', conclusion: 'failure', start: 7.5, end: 7.5 },
      ),
      { conclusion: 'failure' },
    );
    const before = fold(...prodStart(), prodGates);
    expect(statuses(gateChecklist(before))).toMatchObject({
      'aws-trivy': 'unknown',
      'prod-opa': 'unknown',
      'aws-plan-preview': 'unknown',
    });
    expect(row(gateChecklist(before), 'aws-trivy').note).toContain('Fail on a failed prod gate');
    const after = fold(
      ...prodStart(),
      prodGates,
      runEv.gate(8, {
        gate: 'trivy',
        cloud: 'aws',
        environment: 'prod',
        status: 'failed',
        findings: { critical: 2, high: 0, medium: 0, low: 0, unknown: 0 },
      }),
      runEv.gate(8, { gate: 'conftest', cloud: 'aws', environment: 'prod' }),
      runEv.plan(8, 'aws', 'prod', { add: ['aws_instance.web'] }),
    );
    expect(statuses(gateChecklist(after))).toMatchObject({
      'aws-trivy': 'failed',
      'prod-opa': 'passed',
      'aws-plan-preview': 'passed',
    });
  });

  it('a failed policy verdict fails OPA policies (the only gate it judges); artifacts add the findings', () => {
    const card = fold(
      ...prodStart(),
      runEv.job(JOB_ID.policy, JOB_NAME.policy, 'completed', 5, policySteps(3, 'failure'), {
        conclusion: 'failure',
      }),
    );
    expect(row(gateChecklist(card), 'opa').status).toBe('failed'); // the only gate that verdict judges
    const reported = fold(
      ...prodStart(),
      runEv.job(JOB_ID.policy, JOB_NAME.policy, 'completed', 5, policySteps(3, 'failure'), {
        conclusion: 'failure',
      }),
      runEv.gate(5, {
        gate: 'conftest',
        cloud: 'all',
        environment: 'all',
        status: 'failed',
        findings: { critical: 0, high: 2, medium: 1, low: 0, unknown: 0 },
      }),
    );
    expect(row(gateChecklist(reported), 'opa')).toMatchObject({
      status: 'failed',
      findings: { high: 2, medium: 1 },
    });
  });

  it('shows the approval waiting, then approved with how long it waited', () => {
    const waiting = fold(...prodStart(), runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'waiting', 10));
    expect(row(gateChecklist(waiting), 'approval')).toMatchObject({
      status: 'waiting',
      startedAt: atMin(10),
      jobUrl: jobUrl(JOB_ID.awsProd),
    });
    const approved = applyEvent(
      waiting,
      runEv.job(
        JOB_ID.awsProd,
        JOB_NAME.awsProd,
        'in_progress',
        16,
        steps(
          { name: 'Set up job', start: 15 },
          { name: 'terraform plan', status: 'in_progress', start: 15.5 },
        ),
      ),
    );
    expect(row(gateChecklist(approved), 'approval')).toMatchObject({
      status: 'passed',
      durationMs: 5 * 60_000,
      note: 'approved',
    });
    expect(row(gateChecklist(approved), 'aws-plan').status).toBe('running');
  });

  it('fails the approval when the job fails before any step ran', () => {
    const card = fold(
      ...prodStart(),
      runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'waiting', 10),
      runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'completed', 30, [], { conclusion: 'failure' }),
    );
    expect(row(gateChecklist(card), 'approval')).toMatchObject({
      status: 'failed',
      note: 'not approved (rejected or timed out)',
    });
    expect(card.failedJob).toEqual({
      name: 'aws prod apply',
      jobId: JOB_ID.awsProd,
      url: jobUrl(JOB_ID.awsProd),
      conclusion: 'failure',
    });
  });

  it('marks rows unknown when the run ended before their job reported', () => {
    const card = fold(
      ...prodStart(),
      runEv.job(
        JOB_ID.aws,
        JOB_NAME.aws('prod'),
        'in_progress',
        6,
        steps({ name: 'terraform fmt', status: 'in_progress', start: 5.5 }),
      ),
      runEv.status('completed', 9, { conclusion: 'failure' }),
    );
    expect(row(gateChecklist(card), 'aws-fmt')).toMatchObject({
      status: 'unknown',
      note: 'the run ended before this was reported',
    });
  });

  it('lists gate results the table has no row for after the rest', () => {
    const card = fold(
      ...prodStart(),
      runEv.gate(4, {
        gate: 'actionlint',
        cloud: 'all',
        environment: 'all',
        status: 'errored',
        summary: 'tool error: boom',
      }),
    );
    expect(gateChecklist(card).at(-1)).toMatchObject({
      key: 'report:actionlint/all/all',
      label: 'actionlint · all all',
      status: 'errored',
      note: 'tool error: boom',
    });
  });

  it('infers the environment from the jobs when the card does not know it', () => {
    const discovered = fold(
      { ...ev.created(1), stage: 'production-eu' },
      runEv.job(JOB_ID.aws, JOB_NAME.aws('prod'), 'queued', 4),
    );
    expect(discovered.environment).toBeUndefined();
    expect(runEnvironment(discovered)).toBe('prod');
    expect(runEnvironment(fold({ ...ev.created(1), stage: 'x' }, ev.run(3)))).toBe('dev');
  });
});

// ---------------------------------------------------------------------------------------------------
// Re-runs

describe('gateChecklist: re-run attempts', () => {
  const failedAttempt = (): CardEvent[] => [
    ...prodStart(),
    runEv.status('in_progress', 3),
    runEv.job(JOB_ID.policy, JOB_NAME.policy, 'completed', 5, policySteps(3), { runAttempt: 1 }),
    runEv.job(
      JOB_ID.gcp,
      JOB_NAME.gcp('prod'),
      'completed',
      8,
      cloudGateSteps('gcp', 'prod', 5, { verdict: 'failure' }),
      { conclusion: 'failure', runAttempt: 1 },
    ),
    runEv.gate(8, { gate: 'tflint', cloud: 'gcp', environment: 'prod', status: 'failed' }),
    runEv.gate(8, { gate: 'fmt', cloud: 'gcp', environment: 'prod' }),
    runEv.gate(8, { gate: 'validate', cloud: 'gcp', environment: 'prod' }),
    runEv.gate(8, { gate: 'trivy', cloud: 'gcp', environment: 'prod' }),
    runEv.status('completed', 9, { conclusion: 'failure' }),
  ];

  it('starts over when a new attempt starts: the old failed job no longer counts', () => {
    const first = fold(...failedAttempt());
    expect(first.failedJob?.name).toBe('gcp gates (prod)');
    expect(row(gateChecklist(first), 'gcp-tflint').status).toBe('failed');

    const rerun = applyEvent(first, runEv.status('queued', 20, { runAttempt: 2, triggeredBy: 'octocat' }));
    expect(rerun.run).toMatchObject({ attempt: 2, status: 'queued', triggeredBy: 'octocat' });
    expect(rerun.run?.conclusion).toBeUndefined();
    expect(rerun.failedJob).toBeUndefined();
    const rows = gateChecklist(rerun);
    // The failed attempt-1 report is stale; the passed policy job was carried over.
    expect(row(rows, 'gcp-tflint').status).toBe('pending');
    expect(row(rows, 'opa').status).toBe('passed');
  });

  it('follows the re-run job, then its own artifacts', () => {
    const rerunJob = 9103;
    const card = fold(
      ...failedAttempt(),
      runEv.status('in_progress', 20, { runAttempt: 2 }),
      runEv.job(
        rerunJob,
        JOB_NAME.gcp('prod'),
        'in_progress',
        21,
        steps({ name: 'TFLint', status: 'in_progress', start: 21 }),
        {
          runAttempt: 2,
        },
      ),
    );
    expect(row(gateChecklist(card), 'gcp-tflint')).toMatchObject({
      status: 'running',
      jobUrl: jobUrl(rerunJob),
    });
    const done = fold(
      ...failedAttempt(),
      runEv.status('in_progress', 20, { runAttempt: 2 }),
      runEv.job(rerunJob, JOB_NAME.gcp('prod'), 'completed', 24, cloudGateSteps('gcp', 'prod', 21), {
        runAttempt: 2,
      }),
      runEv.gate(24, { gate: 'tflint', cloud: 'gcp', environment: 'prod', run: { id: 12345, attempt: 2 } }),
      runEv.status('completed', 25, { runAttempt: 2, conclusion: 'success' }),
    );
    expect(row(gateChecklist(done), 'gcp-tflint').status).toBe('passed');
    expect(done.failedJob).toBeUndefined();
    expect(done.run).toMatchObject({ attempt: 2, conclusion: 'success' });
  });

  it('without job attempts, a newer job of the same name replaces the failed one', () => {
    const events = failedAttempt().map((e) =>
      e.type === 'RunJobChanged' ? { ...e, runAttempt: undefined } : e,
    );
    const card = fold(
      ...events,
      runEv.status('queued', 20, { runAttempt: 2 }),
      runEv.job(9103, JOB_NAME.gcp('prod'), 'queued', 20, [], { runAttempt: undefined }),
    );
    expect(card.failedJob).toBeUndefined();
    expect(row(gateChecklist(card), 'gcp-tflint').status).toBe('pending');
  });

  it('ignores an attempt-1 job event arriving after attempt 2 replaced it', () => {
    const card = fold(
      ...failedAttempt(),
      runEv.status('in_progress', 20, { runAttempt: 2 }),
      runEv.job(9103, JOB_NAME.gcp('prod'), 'queued', 20, [], { runAttempt: 2 }),
    );
    const late = applyEvent(
      card,
      runEv.job(JOB_ID.gcp, JOB_NAME.gcp('prod'), 'in_progress', 6, [], { runAttempt: 1 }),
    );
    expect(row(gateChecklist(late), 'gcp-tflint').status).toBe('pending');
  });
});

describe('gateChecklist: the run link', () => {
  it('uses the run URL the run events carry', () => {
    const card = fold(ev.requested(0), ev.created(1), runEv.status('queued', 3));
    expect(card.run).toMatchObject({ id: 12345, url: RUN_URL, status: 'queued' });
  });
});
