// Holds .github/workflows/terraform.yaml to its promises (checks in workflow-checks.ts). Every promise has a
// negative test: the parsed workflow (or its raw text) is mutated in memory and the check must object.
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './crd-validator.js';
import {
  allowedPermissions,
  checkArtifacts,
  checkConcurrency,
  checkDispatchOnly,
  checkPermissions,
  checkPinnedActions,
  checkProdApplyGuarded,
  checkRunScripts,
  condition,
  evaluate,
  loadWorkflow,
  parseWorkflow,
  simulate,
  type Job,
  type Step,
  type Workflow,
} from './workflow-checks.js';

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
 * - actions/checkout v6.0.1, actions/setup-node v6.2.0, actions/upload-artifact v5.0.0,
 *   actions/download-artifact v5.0.0, actions/setup-go v6.0.0, actions/cache v5.0.3: the same SHA with the
 *   same version comment in several unrelated public repositories' workflows and pin tables.
 */
const REVIEWED_PINS: Record<string, [string, string]> = {
  'actions/checkout': ['8e8c483db84b4bee98b60c0593521ed34d9990e8', 'v6.0.1'],
  'actions/setup-node': ['6044e13b5dc448c55e2357c09f80417699197238', 'v6.2.0'],
  'actions/upload-artifact': ['330a01c490aca151604b8cf639adc76d48f6c5d4', 'v5.0.0'],
  'actions/download-artifact': ['634f93cb2916e3fdff6788551b99b062d0335ce0', 'v5.0.0'],
  'actions/setup-go': ['44694675825211faa026b3c33043df3e48a5fa00', 'v6.0.0'],
  'actions/cache': ['cdf6c1fa76f9f475f3d7449005a359c84ca0f306', 'v5.0.3'],
  'aws-actions/configure-aws-credentials': ['e6de054238d6b7531b4efff3b6587d9aade6a06c', 'v6.2.3'],
  'google-github-actions/auth': ['7c6bc770dae815cd3e89ee6cdf493a5fab2cc093', 'v3.0.0'],
  'azure/login': ['f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca', 'v3.0.1'],
  'hashicorp/setup-terraform': ['dfe3c3f87815947d99a8997f908cb6525fc44e9e', 'v4.0.1'],
  'aquasecurity/trivy-action': ['ed142fd0673e97e23eac54620cfb913e5ce36c25', 'v0.36.0'],
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
    expect(() => evaluate("fromJSON(inputs.x) == 'y'", ctx)).toThrow(/not supported/);
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
    expect(oidcJobs.sort()).toEqual(['aws-dev', 'aws-prod', 'azure-plan', 'gcp-plan', 'prod-gates']);
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
      const out = execFileSync(actionlint, ['-no-color', '-pyflakes=', workflowFile], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
      expect(out).toBe('');
    },
  );
});
