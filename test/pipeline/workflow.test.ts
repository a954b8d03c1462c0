// Holds .github/workflows/terraform.yaml to its promises (checks in workflow-checks.ts). Every promise has a
// negative test: the parsed workflow (or its raw text) is mutated in memory and the check must object.
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './crd-validator.js';
import {
  allowedPermissions,
  checkApplyDeadlines,
  checkArtifacts,
  checkConcurrency,
  checkDispatchOnly,
  checkDriftWorkflow,
  checkFreightOverlay,
  checkNodeRuntimes,
  checkPermissions,
  checkPinnedActions,
  checkPolicyStrictness,
  checkProdApplyGuarded,
  checkRunScripts,
  checkVariableScopes,
  condition,
  evaluate,
  loadWorkflow,
  parseWorkflow,
  remainingMinutes,
  simulate,
  type ActionRuntime,
  type Job,
  type Step,
  type VariableScope,
  type Workflow,
} from './workflow-checks.js';
import { DRIFT_TARGETS, driftArtifactName } from '../../src/domain/drift.js';

const workflowFile = path.join(repoRoot, '.github', 'workflows', 'terraform.yaml');
const { raw, wf: original } = loadWorkflow(workflowFile);
const fresh = (): Workflow => structuredClone(original);
const job = (wf: Workflow, id: string): Job => {
  const j = wf.jobs[id];
  if (!j) throw new Error(`no job ${id}`);
  return j;
};
const stepNamed = (j: Job, re: RegExp): Step => {
  const s = (j.steps ?? []).find((x) => re.test(x.name ?? ''));
  if (!s) throw new Error(`no step matching ${String(re)}`);
  return s;
};

/**
 * Reviewed pins: action -> [commit SHA, release]. Where each was confirmed:
 * - aws-actions/configure-aws-credentials, google-github-actions/auth, azure/login, hashicorp/setup-terraform,
 *   aquasecurity/trivy-action: shared/reference/iac.md §5 and §1.5 (trivy-action v0.36.0 with Trivy v0.74.0).
 * - actions/checkout v6.0.1, actions/setup-node v6.2.0, actions/cache v5.0.3: the same SHA with the same
 *   version comment in several unrelated public repositories' workflows and pin tables.
 * - actions/upload-artifact v6.0.0 (b7c566a7...), actions/download-artifact v7.0.0 (37930b1c...),
 *   actions/setup-go v6.4.0 (4a360112...): the same SHA with the same version comment in many unrelated
 *   public repositories (workflows, pin lists, dependency reviews); upload-artifact v5.0.0,
 *   download-artifact v5.0.0 (and the setup-go pin before) were replaced because they run on Node 20.
 */
const REVIEWED_PINS: Record<string, [string, string]> = {
  'actions/checkout': ['8e8c483db84b4bee98b60c0593521ed34d9990e8', 'v6.0.1'],
  'actions/setup-node': ['6044e13b5dc448c55e2357c09f80417699197238', 'v6.2.0'],
  'actions/upload-artifact': ['b7c566a772e6b6bfb58ed0dc250532a479d7789f', 'v6.0.0'],
  'actions/download-artifact': ['37930b1c2abaa49bbe596cd826c3c89aef350131', 'v7.0.0'],
  'actions/setup-go': ['4a3601121dd01d1626a1e23e37211e3254c1c06c', 'v6.4.0'],
  'actions/cache': ['cdf6c1fa76f9f475f3d7449005a359c84ca0f306', 'v5.0.3'],
  'aws-actions/configure-aws-credentials': ['e6de054238d6b7531b4efff3b6587d9aade6a06c', 'v6.2.3'],
  'google-github-actions/auth': ['7c6bc770dae815cd3e89ee6cdf493a5fab2cc093', 'v3.0.0'],
  'azure/login': ['f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca', 'v3.0.1'],
  'hashicorp/setup-terraform': ['dfe3c3f87815947d99a8997f908cb6525fc44e9e', 'v4.0.1'],
  'aquasecurity/trivy-action': ['ed142fd0673e97e23eac54620cfb913e5ce36c25', 'v0.36.0'],
};

/**
 * `runs.using` of each reviewed pin's action.yml. Sources: the action's release notes and action.yml
 * (checkout v5+, setup-node v5+, cache v5, setup-go v6: node24; upload-artifact v6.0.0 and
 * download-artifact v7.0.0 are the first releases declaring node24, v5/v6 only "supported" it while
 * running on node20); configure-aws-credentials v6.2.3 and azure/login v3.0.1: iac.md §5 (node24);
 * google-github-actions/auth v3.0.0: node24 (runners older than 2.327.1 reject it with "'using: node24'
 * is not supported", google-github-actions/auth#514); hashicorp/setup-terraform v4: node24 (action.yml);
 * aquasecurity/trivy-action v0.36.0: composite, installing Trivy with setup-trivy and caching with
 * actions/cache, whose Node 20 pin was bumped to v5 (node24) in trivy-action#558 before the v0.36.0 release.
 */
const ACTION_RUNTIMES: Record<string, ActionRuntime> = {
  'actions/checkout': 'node24',
  'actions/setup-node': 'node24',
  'actions/upload-artifact': 'node24',
  'actions/download-artifact': 'node24',
  'actions/setup-go': 'node24',
  'actions/cache': 'node24',
  'aws-actions/configure-aws-credentials': 'node24',
  'google-github-actions/auth': 'node24',
  'azure/login': 'node24',
  'hashicorp/setup-terraform': 'node24',
  'aquasecurity/trivy-action': 'composite',
};

/**
 * Where each variable and secret the workflow reads may be stored (the workflow's header and
 * kargo/README.md, "What the workflow needs", document the same).
 */
const VARIABLE_SCOPES: Record<string, VariableScope> = {
  'vars.AWS_REGION': 'repository',
  'vars.AWS_ROLE_ARN_PROD_PLAN': 'repository',
  'secrets.AWS_ROLE_ARN_PROD_PLAN': 'repository',
  'vars.AWS_ROLE_ARN_IAM_AUDIT': 'repository',
  'vars.AWS_ADMIN_PRINCIPAL_ARN_PROD': 'repository',
  'vars.GCP_ENABLED': 'repository',
  'vars.AZURE_ENABLED': 'repository',
  'secrets.SLACK_WEBHOOK_DEPLOYMENTS': 'repository',
  'secrets.SLACK_WEBHOOK_ALERTS': 'repository',
  'secrets.SLACK_WEBHOOK_AUDIT': 'repository',
  'vars.AWS_ROLE_ARN_DEV': 'dev',
  'secrets.AWS_ROLE_ARN_DEV': 'dev',
  'vars.AWS_ADMIN_PRINCIPAL_ARN_DEV': 'dev',
  'vars.GCP_PROJECT_ID': 'dev',
  'secrets.GCP_WORKLOAD_IDENTITY_PROVIDER': 'dev',
  'secrets.GCP_SERVICE_ACCOUNT': 'dev',
  'secrets.AZURE_CLIENT_ID': 'dev',
  'secrets.AZURE_TENANT_ID': 'dev',
  'secrets.AZURE_SUBSCRIPTION_ID': 'dev',
  'secrets.AZURE_SSH_PUBLIC_KEY': 'dev',
  'vars.AWS_ROLE_ARN_PROD': 'prod',
  'secrets.AWS_ROLE_ARN_PROD': 'prod',
};

describe('expression evaluator (used by the run simulation)', () => {
  const ctx = { inputs: { environment: 'prod', deploy_prod: 'yes' }, vars: { GCP_ENABLED: 'true' } };
  it('evaluates the forms the workflow uses', () => {
    expect(evaluate("inputs.environment == 'prod' && inputs.deploy_prod == 'yes'", ctx)).toBe(true);
    expect(evaluate("inputs.environment == 'dev' || vars.GCP_ENABLED == 'TRUE'", ctx)).toBe(true);
    expect(evaluate("inputs.environment == 'prod' && 'hard' || 'soft'", ctx)).toBe('hard');
    expect(evaluate("!(inputs.deploy_prod == 'yes')", ctx)).toBe(false);
    expect(evaluate("vars.AZURE_ENABLED == 'true'", ctx)).toBe(false);
  });
  it('refuses what it does not understand instead of guessing', () => {
    expect(() => evaluate("fromJSON(inputs.x) == 'y'", ctx)).toThrow(/fromJSON\(\) is not simulated/);
    expect(() => evaluate("inputs.environment == 'prod' &&", ctx)).toThrow();
  });
  it('applies the implicit success() of an if without status function', () => {
    expect(condition("inputs.environment == 'prod'", { ...ctx, needsSucceeded: false })).toBe(false);
    expect(condition("always() && inputs.environment == 'prod'", { ...ctx, needsSucceeded: false })).toBe(
      true,
    );
  });
});

describe('trigger: workflow_dispatch only', () => {
  it('has only workflow_dispatch, with the inputs Kargo sends, and a run name the bot can match', () => {
    expect(checkDispatchOnly(original)).toEqual([]);
  });

  it('rejects any other trigger, a changed input and a run name without the promotion', () => {
    const wf = fresh();
    (wf.on as Record<string, unknown>).push = { branches: ['main'] };
    expect(checkDispatchOnly(wf)).toEqual([
      expect.stringMatching(/only workflow_dispatch, found: workflow_dispatch, push/),
    ]);
    const wf2 = fresh();
    const inputs = (wf2.on as { workflow_dispatch: { inputs: Record<string, Record<string, unknown>> } })
      .workflow_dispatch.inputs;
    inputs.deploy_prod!.options = ['no', 'yes', 'maybe'];
    wf2['run-name'] = 'terraform ${{ inputs.environment }}';
    expect(checkDispatchOnly(wf2)).toEqual([
      expect.stringMatching(/input deploy_prod.options must be/),
      'run-name must include inputs.promotion',
    ]);
  });
});

describe('prod apply: only after the prod Trivy and OPA gates, only in Environment prod, only with deploy_prod=yes', () => {
  it('holds', () => {
    expect(checkProdApplyGuarded(original)).toEqual([]);
  });

  it('the simulation agrees: aws-prod (and its gates) run for prod + yes only; aws-dev for dev only', () => {
    const runs = (environment: string, deploy_prod: string): string[] =>
      simulate(original, { environment, deploy_prod }, {}).jobs;
    expect(runs('prod', 'yes')).toEqual(expect.arrayContaining(['policy', 'prod-gates', 'aws-prod']));
    expect(runs('prod', 'yes')).not.toContain('aws-dev');
    expect(runs('prod', 'no')).not.toContain('aws-prod');
    expect(runs('dev', 'no')).toEqual(
      expect.arrayContaining(['policy', 'aws', 'gcp', 'azure', 'aws-dev', 'notify']),
    );
    expect(runs('dev', 'no')).not.toEqual(expect.arrayContaining(['prod-gates']));
    expect(runs('dev', 'yes')).not.toContain('aws-prod');
  });

  it('rejects dropping the prod gates from needs', () => {
    const wf = fresh();
    job(wf, 'aws-prod').needs = ['policy', 'aws'];
    expect(checkProdApplyGuarded(wf)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/does not need a job with a hard .*Trivy/),
        expect.stringMatching(/does not need a job running Conftest on terraform\/aws\/prod/),
      ]),
    );
    const wf2 = fresh();
    job(wf2, 'aws-prod').needs = ['aws', 'prod-gates'];
    job(wf2, 'prod-gates').needs = [];
    job(wf2, 'aws').needs = [];
    expect(checkProdApplyGuarded(wf2)).toEqual([expect.stringMatching(/does not need the OPA job/)]);
  });

  it('rejects a soft prod Trivy (exit-code 0, or continue-on-error with nothing failing the job)', () => {
    const wf = fresh();
    stepNamed(job(wf, 'prod-gates'), /^Trivy/).with!['exit-code'] = '0';
    expect(checkProdApplyGuarded(wf)).toEqual([
      expect.stringMatching(/hard \(exit-code 1, blocking\) Trivy/),
    ]);
    const wf2 = fresh();
    job(wf2, 'prod-gates').steps = job(wf2, 'prod-gates').steps!.filter(
      (s) => !/^Fail on/.test(s.name ?? ''),
    );
    expect(checkProdApplyGuarded(wf2)).toEqual([
      expect.stringMatching(/hard \(exit-code 1, blocking\) Trivy/),
    ]);
  });

  it('rejects another environment, a guard without deploy_prod, and always()', () => {
    const wf = fresh();
    job(wf, 'aws-prod').environment = { name: 'production' };
    expect(checkProdApplyGuarded(wf)).toEqual([
      'aws-prod must run in GitHub Environment prod (is production)',
    ]);
    const wf2 = fresh();
    job(wf2, 'aws-prod').if = "inputs.environment == 'prod'";
    expect(checkProdApplyGuarded(wf2)).toEqual(
      expect.arrayContaining(['aws-prod runs with environment=prod deploy_prod=no']),
    );
    const wf3 = fresh();
    job(wf3, 'aws-prod').if = "always() && inputs.environment == 'prod' && inputs.deploy_prod == 'yes'";
    expect(checkProdApplyGuarded(wf3)).toEqual([
      expect.stringMatching(/aws-prod .*can run after a failed dependency/),
    ]);
    const wf4 = fresh();
    job(wf4, 'prod-gates').if = "!cancelled() && inputs.environment == 'prod'";
    expect(checkProdApplyGuarded(wf4)).toEqual([
      expect.stringMatching(/prod-gates .*can run after a failed dependency/),
    ]);
  });

  it('rejects an apply without Conftest on its own plan', () => {
    const wf = fresh();
    job(wf, 'aws-prod').steps = job(wf, 'aws-prod').steps!.filter((s) => s.id !== 'plan-policy');
    expect(checkProdApplyGuarded(wf)).toEqual([
      'aws-prod does not run Conftest on its own plan JSON before apply',
    ]);
  });
});

describe('least-privilege permissions', () => {
  it('grants nothing at workflow level and each job exactly what it uses', () => {
    expect(checkPermissions(original)).toEqual([]);
    expect(original.permissions).toEqual({});
  });

  it('id-token: write only where an OIDC action runs', () => {
    const oidcJobs = Object.entries(original.jobs)
      .filter(([, j]) => allowedPermissions(j)['id-token'])
      .map(([id]) => id);
    expect(oidcJobs.sort()).toEqual([
      'aws-dev',
      'aws-prod',
      'azure-plan',
      'gcp-plan',
      'policy',
      'prod-gates',
    ]);
    for (const [id, j] of Object.entries(original.jobs)) {
      const perms = j.permissions as Record<string, string>;
      expect([id, perms['id-token']]).toEqual([id, oidcJobs.includes(id) ? 'write' : undefined]);
      expect([id, Object.values(perms).filter((p) => p === 'write').length]).toEqual([
        id,
        oidcJobs.includes(id) ? 1 : 0,
      ]);
    }
  });

  it('rejects an unused scope, a write on contents, a missing id-token and a broad workflow default', () => {
    const wf = fresh();
    (job(wf, 'aws').permissions as Record<string, string>).actions = 'read';
    (job(wf, 'gcp').permissions as Record<string, string>)['id-token'] = 'write';
    (job(wf, 'policy').permissions as Record<string, string>).contents = 'write';
    delete (job(wf, 'aws-dev').permissions as Record<string, string>)['id-token'];
    job(wf, 'notify').permissions = 'read-all';
    wf.permissions = 'write-all';
    expect(checkPermissions(wf)).toEqual([
      'workflow-level permissions must be {} (or contents: read), are "write-all"',
      'policy: contents must be read, is write',
      'aws: actions: read is not used by the job',
      'gcp: id-token: write is not used by the job',
      'aws-dev: needs id-token: write for its steps',
      'notify: permissions must be an explicit mapping, are "read-all"',
    ]);
  });
});

describe('third-party actions pinned by full commit SHA with a version comment', () => {
  it('holds, and every pin is one of the reviewed pins', () => {
    expect(checkPinnedActions(raw, original, REVIEWED_PINS)).toEqual([]);
  });

  it('rejects a tag, a short SHA, a missing comment and an unreviewed action', () => {
    const sha = REVIEWED_PINS['actions/checkout']![0];
    const first = raw.indexOf(`actions/checkout@${sha}`);
    const tagged =
      raw.slice(0, first) +
      raw.slice(first).replace(`actions/checkout@${sha} # v6.0.1`, 'actions/checkout@v6 # v6.0.1');
    expect(checkPinnedActions(tagged, parseWorkflow(tagged), REVIEWED_PINS)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/actions\/checkout is not pinned by a full commit SHA \(v6\)/),
      ]),
    );
    const short = raw.replace(`${sha} # v6.0.1`, `${sha.slice(0, 12)} # v6.0.1`);
    expect(checkPinnedActions(short, parseWorkflow(short), REVIEWED_PINS)).toEqual(
      expect.arrayContaining([expect.stringMatching(/not pinned by a full commit SHA/)]),
    );
    const bare = raw.replace(`${sha} # v6.0.1`, sha);
    expect(checkPinnedActions(bare, parseWorkflow(bare), REVIEWED_PINS)).toEqual(
      expect.arrayContaining([expect.stringMatching(/actions\/checkout needs a "# vX.Y.Z" version comment/)]),
    );
    const other = raw.replace(`actions/checkout@${sha}`, `someone/checkout@${sha}`);
    expect(checkPinnedActions(other, parseWorkflow(other), REVIEWED_PINS)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/someone\/checkout is not in the table of reviewed pins/),
      ]),
    );
  });
});

describe('actions and the artifact CLI run on Node 24', () => {
  it('every pinned action declares node24 (or is composite), and NODE_VERSION is 24', () => {
    expect(checkNodeRuntimes(original, ACTION_RUNTIMES)).toEqual([]);
    expect(Object.keys(ACTION_RUNTIMES).sort()).toEqual(Object.keys(REVIEWED_PINS).sort());
    expect(original.env?.NODE_VERSION).toBe('24');
  });

  it('rejects a Node 20 action, an action of unknown runtime, Node 20 for the CLI and a hard-coded node-version', () => {
    expect(checkNodeRuntimes(original, { ...ACTION_RUNTIMES, 'actions/upload-artifact': 'node20' })).toEqual([
      'actions/upload-artifact runs on node20, which runners no longer have',
    ]);
    const { 'actions/setup-go': _, ...withoutGo } = ACTION_RUNTIMES;
    expect(checkNodeRuntimes(original, withoutGo)).toEqual([
      'actions/setup-go: runtime of the pinned version not recorded',
    ]);
    const wf = fresh();
    wf.env!.NODE_VERSION = '20';
    stepNamed(job(wf, 'aws'), /^Set up Node/).with!['node-version'] = '20';
    expect(checkNodeRuntimes(wf, ACTION_RUNTIMES)).toEqual([
      'env NODE_VERSION must be 24 or later (the artifact CLI), is 20',
      'aws: actions/setup-node must use env.NODE_VERSION, uses 20',
    ]);
  });
});

describe("versions: the pipeline from the workflow's commit, terraform/ from the Freight's", () => {
  it('holds for every job that checks out', () => {
    expect(checkFreightOverlay(original)).toEqual([]);
  });

  it('rejects checking out the Freight at the root, a missing overlay and an overlay after the first use', () => {
    const wf = fresh();
    stepNamed(job(wf, 'aws'), /^Check out the workflow's commit/).with!.ref = '${{ env.FREIGHT_REF }}';
    job(wf, 'gcp').steps = job(wf, 'gcp').steps!.filter((s) => !/^Use the Freight/.test(s.name ?? ''));
    const azure = job(wf, 'azure');
    const overlay = azure.steps!.findIndex((s) => /^Use the Freight/.test(s.name ?? ''));
    const [moved] = azure.steps!.splice(overlay, 1);
    azure.steps!.push(moved!);
    expect(checkFreightOverlay(wf)).toEqual([
      "aws: the repository root must be checked out once, at the workflow's commit (ref: ${{ github.sha }})",
      "gcp: does not take terraform/ from the Freight's commit",
      expect.stringMatching(/^azure: step ".*" reads terraform\/ before the Freight's tree is in place$/),
    ]);
  });
});

describe('prod and the bootstrap fail on warnings; dev checks its plan JSON', () => {
  it('holds', () => {
    expect(checkPolicyStrictness(original)).toEqual([]);
  });

  it('rejects a lenient prod or bootstrap Conftest and a dev apply without its plan check', () => {
    const wf = fresh();
    const gates = stepNamed(job(wf, 'prod-gates'), /^Conftest on terraform\/aws\/prod/);
    gates.run = gates.run!.replace('--all-namespaces --fail-on-warn', '--all-namespaces');
    const loop = stepNamed(job(wf, 'policy'), /^Conftest on every Terraform root/);
    loop.run = loop.run!.replace(" -o -name '*.tf.json'", '').replace('strict=(--fail-on-warn)', 'strict=()');
    job(wf, 'aws-dev').steps = job(wf, 'aws-dev').steps!.filter((s) => s.id !== 'plan-policy');
    expect(checkPolicyStrictness(wf)).toEqual([
      'prod-gates: "Conftest on terraform/aws/prod (HCL and plan JSON)" runs Conftest on terraform/aws/prod without --fail-on-warn',
      'policy: the root loop does not run terraform/aws/prod and terraform/bootstrap with --fail-on-warn',
      'policy: the root loop does not find roots written in JSON syntax (*.tf.json)',
      'aws-dev: no Conftest on the dev plan JSON before apply',
    ]);
    const wf2 = fresh();
    stepNamed(job(wf2, 'aws-dev'), /^terraform apply/).if = "steps.plan.outputs.code == '0'";
    expect(checkPolicyStrictness(wf2)).toEqual([
      'aws-dev: the dev apply does not wait for Conftest on its plan to pass',
    ]);
  });
});

describe('applies never start after Kargo may have stopped waiting', () => {
  it('the policy job records the dispatch time and each apply job checks its deadline first', () => {
    const { violations, deadlines } = checkApplyDeadlines(original);
    expect(violations).toEqual([]);
    expect(deadlines).toEqual({ 'aws-dev': 150, 'aws-prod': 1440 });
    expect(job(original, 'policy').permissions).toEqual({
      contents: 'read',
      actions: 'read',
      'id-token': 'write',
    });
  });

  it('rejects an apply job without the check, a check after other steps and a missing dispatch time', () => {
    const wf = fresh();
    job(wf, 'aws-prod').steps = job(wf, 'aws-prod').steps!.filter(
      (s) => !/^Refuse to start/.test(s.name ?? ''),
    );
    const dev = job(wf, 'aws-dev');
    const guard = dev.steps!.shift()!;
    dev.steps!.splice(3, 0, guard);
    delete (job(wf, 'policy') as { outputs?: unknown }).outputs;
    expect(checkApplyDeadlines(wf).violations).toEqual([
      "policy: must output dispatched_at, the run's created_at from the Actions API",
      'aws-dev: the deadline check must come before any other step',
      'aws-prod: no step refuses to apply after the deadline',
    ]);
  });

  it('what a run can take after the apply job starts: its timeout and everything after it', () => {
    expect(remainingMinutes(original, 'aws-dev', { environment: 'dev', deploy_prod: 'no' })).toBe(90 + 10);
    expect(remainingMinutes(original, 'aws-prod', { environment: 'prod', deploy_prod: 'yes' })).toBe(
      120 + 10,
    );
  });
});

describe('variables are read where they can be stored', () => {
  it('holds: jobs without an environment read repository-level values only', () => {
    expect(checkVariableScopes(original, VARIABLE_SCOPES)).toEqual([]);
  });

  it('rejects an environment variable read outside its environment, and an undocumented one', () => {
    expect(
      checkVariableScopes(original, { ...VARIABLE_SCOPES, 'vars.AWS_ADMIN_PRINCIPAL_ARN_PROD': 'prod' }),
    ).toEqual([
      'prod-gates: reads vars.AWS_ADMIN_PRINCIPAL_ARN_PROD, which may be stored on Environment prod, but the job runs without an environment',
    ]);
    const wf = fresh();
    job(wf, 'aws').env = { ...job(wf, 'aws').env, X: '${{ vars.NEW_THING }}' };
    expect(checkVariableScopes(wf, VARIABLE_SCOPES)).toEqual(['aws: vars.NEW_THING has no documented scope']);
  });

  it('prod-gates fails early, with the fix, when the admin principal is not a repository variable', () => {
    const step = stepNamed(job(original, 'prod-gates'), /^Check the repository-level variables/);
    expect(step.env?.ADMIN_PRINCIPAL).toBe('${{ vars.AWS_ADMIN_PRINCIPAL_ARN_PROD }}');
    expect(step.run).toMatch(/define it as a repository variable/);
    expect(job(original, 'prod-gates').steps!.indexOf(step)).toBe(0);
  });
});

describe('bootstrap IAM: the AWS policy simulator in the policy job', () => {
  it('simulates the escalation paths only where the audit role is configured, and fails on an open one', () => {
    const policy = job(original, 'policy');
    const auth = stepNamed(policy, /^AWS credentials/);
    expect(auth.if).toBe("vars.AWS_ROLE_ARN_IAM_AUDIT != ''");
    expect(auth.with?.['role-to-assume']).toBe('${{ vars.AWS_ROLE_ARN_IAM_AUDIT }}');
    const sim = stepNamed(policy, /^AWS policy simulator/);
    expect(sim.if).toBe("steps.aws-auth.outcome == 'success'");
    expect(sim.run).toMatch(/bash policy\/aws-simulator\/check-escalation-paths\.sh --out/);
    // The script comes from the workflow's commit (policy/), never from the Freight's terraform/.
    expect(sim.run).not.toMatch(/terraform\//);
    expect(stepNamed(policy, /^Gate results/).run).toMatch(/simulator\.json/);
    expect(stepNamed(policy, /^Fail on a failed hard gate/).run).toMatch(/SIMULATOR_CODE/);
    // Both applies need the policy job, so an open path stops them.
    expect(job(original, 'aws-dev').needs).toContain('policy');
    expect(job(original, 'aws-prod').needs).toContain('policy');
  });
});

describe('concurrency: one run per environment, never cancelled', () => {
  it('holds', () => {
    expect(checkConcurrency(original)).toEqual([]);
  });

  it('rejects cancel-in-progress, a shared group and a job-level override', () => {
    const wf = fresh();
    wf.concurrency = { group: 'terraform', 'cancel-in-progress': true };
    job(wf, 'aws-prod').concurrency = 'prod';
    expect(checkConcurrency(wf)).toEqual([
      'concurrency group must be terraform-<environment>, gives terraform, terraform',
      'cancel-in-progress must be false',
      'aws-prod overrides the concurrency group',
    ]);
  });
});

describe('artifacts: every job publishes its results, even when it fails', () => {
  it('holds for every input combination', () => {
    expect(checkArtifacts(original)).toEqual([]);
  });

  it('publishes the gate, plan and outputs artifacts the bot reads', () => {
    const names = (environment: string, deploy_prod: string): string[] =>
      simulate(
        original,
        { environment, deploy_prod },
        { GCP_ENABLED: 'true', AZURE_ENABLED: 'true' },
      ).uploads.map((u) => u.name);
    expect(names('dev', 'no')).toEqual(
      expect.arrayContaining([
        'gate-opa-all-all',
        'gate-conftest-all-all',
        'gate-trivy-aws-dev',
        'gate-tflint-gcp-dev',
        'gate-plan-aws-dev',
        'plan-summary-aws-dev',
        'terraform-outputs-aws-dev',
        'plan-summary-azure-dev',
      ]),
    );
    expect(names('prod', 'yes')).toEqual(
      expect.arrayContaining([
        'gate-trivy-aws-prod',
        'gate-conftest-aws-prod',
        'gate-apply-aws-prod',
        'terraform-outputs-aws-prod',
      ]),
    );
  });

  it('rejects an upload without always(), a job without uploads, a plan upload and a collision', () => {
    const wf = fresh();
    stepNamed(job(wf, 'aws'), /^Upload gate-fmt/).if = 'success()';
    job(wf, 'gcp-plan').steps = job(wf, 'gcp-plan').steps!.filter((s) => !/^Upload/.test(s.name ?? ''));
    stepNamed(job(wf, 'aws-dev'), /^Upload plan-summary/).with!.path = '${{ runner.temp }}/tfplan.json';
    stepNamed(job(wf, 'azure'), /^Upload gate-trivy/).with!.name = 'gate-trivy-gcp-${{ inputs.environment }}';
    stepNamed(job(wf, 'aws-dev'), /^Artifacts/).if = undefined;
    const found = checkArtifacts(wf);
    expect(found).toEqual(
      expect.arrayContaining([
        'aws: upload "Upload gate-fmt-aws-${{ inputs.environment }}" must run if: always()',
        'gcp-plan uploads no artifact',
        'aws-dev: upload "Upload plan-summary-aws-dev" would publish a plan',
        'aws-dev: artifact step "Artifacts (gate plan/apply, plan summary, outputs)" must run if: always()',
        expect.stringMatching(/azure uploads gate-trivy-gcp-dev: also uploaded by gcp \(collision\)/),
      ]),
    );
  });

  it('run-results: the results job runs always, after every job that uploads a result', () => {
    const wf = fresh();
    job(wf, 'results').needs = ['policy', 'aws', 'gcp', 'azure', 'aws-dev', 'prod-gates'];
    job(wf, 'results').if = 'success()';
    expect(checkArtifacts(wf)).toEqual([
      'results: must run if: always() (a failed gate is a result too)',
      'results: does not need gcp-plan, whose results it would miss',
      'results: does not need azure-plan, whose results it would miss',
      'results: does not need aws-prod, whose results it would miss',
    ]);
    const none = fresh();
    delete (none.jobs as Record<string, unknown>).results;
    expect(checkArtifacts(none)).toEqual([
      'no results job: the bot would download every artifact on its own',
    ]);
  });

  it('allows the one deliberate overwrite (the applied plan replaces the preview), and only with overwrite', () => {
    expect(stepNamed(job(original, 'aws-prod'), /^Upload plan-summary/).with!.overwrite).toBe(true);
    const wf = fresh();
    delete stepNamed(job(wf, 'aws-prod'), /^Upload plan-summary/).with!.overwrite;
    expect(checkArtifacts(wf)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/aws-prod uploads plan-summary-aws-prod: also uploaded by prod-gates/),
      ]),
    );
  });
});

describe('scripts and gates', () => {
  it('no run script interpolates ${{ }} (inputs and secrets reach scripts only through env)', () => {
    expect(checkRunScripts(original)).toEqual([]);
    const wf = fresh();
    stepNamed(job(wf, 'notify'), /^Post to Slack/).run =
      'echo "${{ inputs.promotion }}"; echo "$SLACK_WEBHOOK_AUDIT"';
    expect(checkRunScripts(wf)).toEqual([
      'notify: step "Post to Slack" interpolates an expression into its script',
      'notify: step "Post to Slack" prints the secret in SLACK_WEBHOOK_AUDIT',
    ]);
  });

  it('Trivy: v0.74.0 everywhere, HIGH/CRITICAL, soft on dev for AWS, hard in prod-gates', () => {
    for (const [id, j] of Object.entries(original.jobs)) {
      for (const s of (j.steps ?? []).filter((x) => x.uses?.startsWith('aquasecurity/trivy-action@'))) {
        expect([id, s.with?.version, s.with?.severity, s.with?.['exit-code']]).toEqual([
          id,
          '${{ env.TRIVY_VERSION }}',
          'HIGH,CRITICAL',
          '1',
        ]);
      }
    }
    expect(original.env?.TRIVY_VERSION).toBe('v0.74.0');
    const awsGates = job(original, 'aws');
    expect(stepNamed(awsGates, /^Trivy/).if).toBe("inputs.environment == 'dev'");
    expect(stepNamed(awsGates, /^Trivy/)['continue-on-error']).toBe(true);
    expect(stepNamed(awsGates, /^Gate results/).run).toMatch(/--gate trivy --enforcement soft/);
    expect(stepNamed(job(original, 'prod-gates'), /^Artifacts/).run).toMatch(
      /--gate trivy --cloud aws --env prod --enforcement hard/,
    );
  });

  it('dev applies in Environment dev with its own state; GCP and Azure plans wait for their repository variables', () => {
    expect(job(original, 'aws-dev').environment).toEqual({ name: 'dev' });
    expect(job(original, 'aws-dev').env?.TF_DIR).toBe('terraform/aws/dev');
    expect(job(original, 'aws-prod').env?.TF_DIR).toBe('terraform/aws/prod');
    const runs = (vars: Record<string, string>): string[] =>
      simulate(original, { environment: 'dev', deploy_prod: 'no' }, vars).jobs;
    expect(runs({})).not.toEqual(expect.arrayContaining(['gcp-plan']));
    expect(runs({})).not.toEqual(expect.arrayContaining(['azure-plan']));
    expect(runs({ GCP_ENABLED: 'true', AZURE_ENABLED: 'true' })).toEqual(
      expect.arrayContaining(['gcp-plan', 'azure-plan']),
    );
  });

  it('every job has a timeout', () => {
    for (const [id, j] of Object.entries(original.jobs))
      expect([id, typeof j['timeout-minutes']]).toEqual([id, 'number']);
  });
});

// actionlint from the pinned toolchain (tools/install.sh builds it into the cache; ACTIONLINT overrides).
const toolchainBin = execFileSync('bash', [path.join(repoRoot, 'tools', 'install.sh'), '--bin-dir'], {
  encoding: 'utf8',
}).trim();
const actionlint = process.env.ACTIONLINT ?? path.join(toolchainBin, 'actionlint');
describe('actionlint', () => {
  const run = existsSync(actionlint) ? it : it.skip;
  run(
    `is clean, shellcheck included when installed (${existsSync(actionlint) ? actionlint : 'not built: npm run tools:install'})`,
    () => {
      const out = execFileSync(actionlint, ['-no-color', '-pyflakes=', workflowFile, driftFile], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
      expect(out).toBe('');
    },
  );
});

// ---------------------------------------------------------------------------------------------------------
// .github/workflows/drift.yaml: the same generic promises (pins, runtimes, permissions, scripts, variable
// scopes) and its own (checkDriftWorkflow), each with a negative test.
// ---------------------------------------------------------------------------------------------------------

const driftFile = path.join(repoRoot, '.github', 'workflows', 'drift.yaml');
const { raw: driftRaw, wf: driftOriginal } = loadWorkflow(driftFile);
const freshDrift = (): Workflow => structuredClone(driftOriginal);
/** What the bot reads (src/domain/drift.ts DRIFT_TARGETS): aws dev and prod always, gcp/azure when enabled. */
const driftUploads = (vars: Record<string, string>): string[] =>
  DRIFT_TARGETS.filter((t) => !t.enabledBy || vars[t.enabledBy] === 'true').map(driftArtifactName);

describe('drift.yaml: scheduled refresh-only plans, one drift artifact per environment', () => {
  it('holds: schedule + dispatch, own concurrency group, -refresh-only -detailed-exitcode -lock=false, the uploads the bot reads', () => {
    expect(checkDriftWorkflow(driftOriginal, driftUploads)).toEqual([]);
    expect(driftUploads({})).toEqual(['drift-aws-dev', 'drift-aws-prod']);
  });

  it('pins every action to the SHAs terraform.yaml uses, all on Node 24', () => {
    expect(checkPinnedActions(driftRaw, driftOriginal, REVIEWED_PINS)).toEqual([]);
    expect(checkNodeRuntimes(driftOriginal, ACTION_RUNTIMES)).toEqual([]);
    const other = driftRaw.replace(
      `actions/checkout@${REVIEWED_PINS['actions/checkout']![0]}`,
      'actions/checkout@v6',
    );
    expect(checkPinnedActions(other, parseWorkflow(other), REVIEWED_PINS)).toEqual(
      expect.arrayContaining([expect.stringMatching(/actions\/checkout is not pinned by a full commit SHA/)]),
    );
    expect(checkNodeRuntimes(driftOriginal, { ...ACTION_RUNTIMES, 'actions/setup-node': 'node20' })).toEqual([
      'actions/setup-node runs on node20, which runners no longer have',
    ]);
  });

  it('grants nothing at workflow level and each job exactly what it uses', () => {
    expect(checkPermissions(driftOriginal)).toEqual([]);
    expect(driftOriginal.permissions).toEqual({});
    // actions: read only where a job asks whether a deploy is in progress (aws dev and prod).
    expect(
      Object.entries(driftOriginal.jobs)
        .filter(([, j]) => (j.permissions as Record<string, string>).actions === 'read')
        .map(([id]) => id)
        .sort(),
    ).toEqual(['aws-dev', 'aws-prod']);
    const wf = freshDrift();
    (job(wf, 'gcp-dev').permissions as Record<string, string>).actions = 'read';
    (job(wf, 'aws-prod').permissions as Record<string, string>).contents = 'write';
    expect(checkPermissions(wf)).toEqual([
      'aws-prod: contents must be read, is write',
      'gcp-dev: actions: read is not used by the job',
    ]);
  });

  it('keeps scripts free of expressions and reads each variable where it can be stored', () => {
    expect(checkRunScripts(driftOriginal)).toEqual([]);
    expect(checkVariableScopes(driftOriginal, VARIABLE_SCOPES)).toEqual([]);
    const wf = freshDrift();
    job(wf, 'aws-prod').env = { ...job(wf, 'aws-prod').env, ROLE: '${{ vars.AWS_ROLE_ARN_PROD }}' };
    expect(checkVariableScopes(wf, VARIABLE_SCOPES)).toEqual([
      'aws-prod: reads vars.AWS_ROLE_ARN_PROD, which may be stored on Environment prod, but the job runs without an environment',
    ]);
  });

  it('rejects another trigger, a shared deploy concurrency group and cancelling', () => {
    const wf = freshDrift();
    (wf.on as Record<string, unknown>).push = { branches: ['main'] };
    wf.concurrency = { group: 'terraform-dev', 'cancel-in-progress': true };
    expect(checkDriftWorkflow(wf, driftUploads)).toEqual([
      'triggers must be schedule and workflow_dispatch, found: push, schedule, workflow_dispatch',
      'concurrency group must be its own, not a deploy group (is terraform-dev)',
      'cancel-in-progress must be false',
    ]);
  });

  it('rejects a plan that is not refresh-only, takes the lock or writes, and a check without the CLI', () => {
    const wf = freshDrift();
    const plan = stepNamed(job(wf, 'aws-dev'), /^terraform plan/);
    plan.run = plan.run!.replace(' -refresh-only', '').replace(' -lock=false', '');
    plan.run += '\nterraform -chdir="$TF_DIR" apply -auto-approve "$RUNNER_TEMP/tfplan"\n';
    const cli = stepNamed(job(wf, 'aws-prod'), /^Drift artifact/);
    cli.if = undefined;
    cli.run = cli.run!.replace(/rm -f[^\n]*/, '');
    expect(checkDriftWorkflow(wf, driftUploads)).toEqual([
      'aws-dev: terraform plan without -refresh-only',
      'aws-dev: terraform plan without -lock=false',
      'aws-dev runs a terraform command that writes',
      'aws-prod: artifact step "Drift artifact" must run if: always()',
      'aws-prod: the plan JSON is not deleted',
    ]);
  });

  it('rejects uploading the plan, an upload without always(), the wrong role for prod and an ungated cloud', () => {
    const wf = freshDrift();
    const upload = stepNamed(job(wf, 'aws-dev'), /^Upload drift-aws-dev/);
    upload.with = { ...upload.with, path: '${{ runner.temp }}/tfplan.json' };
    upload.if = undefined;
    const auth = stepNamed(job(wf, 'aws-prod'), /^AWS credentials/);
    auth.with = { ...auth.with, 'role-to-assume': '${{ vars.AWS_ROLE_ARN_PROD }}' };
    job(wf, 'gcp-dev').if = undefined;
    expect(checkDriftWorkflow(wf, driftUploads)).toEqual([
      'aws-dev: upload "Upload drift-aws-dev" must run if: always()',
      'aws-dev: upload "Upload drift-aws-dev" would publish a plan',
      'aws-dev: drift-aws-dev must upload drift-aws-dev/drift.json',
      'aws-prod: prod must use the read-only plan role (AWS_ROLE_ARN_PROD_PLAN) only',
      'gcp-dev: gcp runs only when vars.GCP_ENABLED says so',
      'with vars {} the uploads are drift-aws-dev, drift-aws-prod, drift-gcp-dev, expected drift-aws-dev, drift-aws-prod',
    ]);
  });

  it('every job has a timeout, and prod reads without an environment while dev declares its own', () => {
    for (const [id, j] of Object.entries(driftOriginal.jobs))
      expect([id, typeof j['timeout-minutes']]).toEqual([id, 'number']);
    expect(job(driftOriginal, 'aws-prod').environment).toBeUndefined();
    expect(job(driftOriginal, 'aws-dev').environment).toEqual({ name: 'dev' });
    const wf = freshDrift();
    job(wf, 'aws-prod').environment = 'prod';
    expect(checkDriftWorkflow(wf, driftUploads)).toEqual(['aws-prod: prod is read without an environment']);
  });
});
