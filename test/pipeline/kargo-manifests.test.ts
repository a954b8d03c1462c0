// Holds kargo/*.yaml to what they promise: every object is valid for a Kargo 1.11 API server (vendored
// CRDs, CEL and webhook rules, http/git JSON Schemas; see crd-validator.ts), uses only http fields that
// Kargo 1.9 also accepts, and together they form the dev -> prod pipeline that dispatches the one workflow.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import {
  expressionsIn,
  formatIssues,
  loadCrds,
  loadManifests,
  loadStepSchemas,
  objectName,
  repoRoot,
  validateObject,
  vendoredCrdDir,
  type Issue,
  type JsonObject,
  type ManifestDocument,
  type StepSchemas,
} from './crd-validator.js';
import { outcome, STATUS_CODES, type Outcome } from './http-outcome.js';
import { checkApplyDeadlines, loadWorkflow, remainingMinutes } from './workflow-checks.js';

const kargoDir = path.join(repoRoot, 'kargo');
/** Time a job may wait for a runner, in the Kargo wait budget (kargo/README.md, "Wait timeouts"). */
const RUNNER_PICKUP_MINUTES = 10;
/** "27h", "4h30m", "90m" -> minutes. */
const durationMinutes = (d: string): number => {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?$/.exec(d);
  if (!m || d === '') throw new Error(`cannot read duration ${d}`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
};
const workflowFile = path.join(repoRoot, '.github', 'workflows', 'terraform.yaml');
const PROJECT = 'gitops-infra';

type Crds = ReturnType<typeof loadCrds>;
let crds: Crds;
let schemas: StepSchemas;
let docs: ManifestDocument[];

const find = (kind: string, name?: string): JsonObject => {
  const found = docs.filter(
    (d) => d.object.kind === kind && (name === undefined || (d.object.metadata as JsonObject).name === name),
  );
  if (found.length !== 1)
    throw new Error(`expected exactly one ${kind}${name ? `/${name}` : ''}, found ${found.length}`);
  return structuredClone(found[0]!.object);
};
const at = (o: unknown, ...keys: (string | number)[]): unknown =>
  keys.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], o);
const steps = (stage: JsonObject): JsonObject[] =>
  at(stage, 'spec', 'promotionTemplate', 'spec', 'steps') as JsonObject[];
const step = (stage: JsonObject, alias: string): JsonObject => {
  const s = steps(stage).find((x) => x.as === alias);
  if (!s) throw new Error(`${objectName(stage)} has no step "${alias}"`);
  return s;
};
const config = (s: JsonObject): JsonObject => s.config as JsonObject;
const stageVars = (stage: JsonObject): Record<string, string> =>
  Object.fromEntries(
    ((at(stage, 'spec', 'vars') as JsonObject[]) ?? []).map((v) => [String(v.name), String(v.value)]),
  );
const issuesOf = (o: JsonObject): Issue[] => validateObject(o, crds, schemas);
const rulesOf = (o: JsonObject): string[] => issuesOf(o).map((i) => `${i.rule}: ${i.path} ${i.message}`);

beforeAll(() => {
  crds = loadCrds();
  schemas = loadStepSchemas();
  docs = loadManifests(kargoDir);
});

describe('vendored Kargo CRDs', () => {
  it('are present next to the repository (../shared/vendor/kargo-crds)', () => {
    if (!existsSync(vendoredCrdDir)) {
      throw new Error(
        `Vendored Kargo CRDs not found at ${vendoredCrdDir}; these tests cannot run without them`,
      );
    }
    expect([...crds.keys()].sort()).toEqual([
      'ClusterPromotionTask',
      'Freight',
      'Project',
      'ProjectConfig',
      'Promotion',
      'PromotionTask',
      'Stage',
      'Warehouse',
    ]);
  });

  it('missing: loading fails with a message that says where they were expected', () => {
    expect(() => loadCrds(path.join(repoRoot, 'no-such-dir'))).toThrow(
      /Kargo CRDs not found at .*no-such-dir/,
    );
  });
});

describe('every object in kargo/*.yaml is valid', () => {
  it('finds the expected objects', () => {
    expect(docs.map((d) => `${d.file}: ${objectName(d.object)}`)).toEqual([
      'project.yaml: Project/gitops-infra',
      'project.yaml: ProjectConfig/gitops-infra',
      'secret.example.yaml: Secret/github',
      'stages.yaml: Stage/dev',
      'stages.yaml: Stage/prod',
      'warehouse.yaml: Warehouse/gitops-infra',
    ]);
  });

  it.each(['project.yaml', 'secret.example.yaml', 'stages.yaml', 'warehouse.yaml'])('%s', (file) => {
    const ofFile = docs.filter((d) => d.file === file);
    expect(ofFile.length).toBeGreaterThan(0);
    for (const d of ofFile) expect(formatIssues(issuesOf(d.object))).toBe('');
  });

  it('puts every namespaced object in the project namespace, and nothing else there', () => {
    for (const { object } of docs) {
      const md = object.metadata as JsonObject;
      if (object.kind === 'Project') expect(md.namespace).toBeUndefined();
      else expect(`${objectName(object)} ${String(md.namespace)}`).toBe(`${objectName(object)} ${PROJECT}`);
    }
  });
});

describe('the validator catches what the API server would reject', () => {
  it('an unknown field (pruned/rejected by the API server)', () => {
    const stage = find('Stage', 'dev');
    (stage.spec as JsonObject).requestedFreights = [];
    expect(rulesOf(stage)).toContainEqual(
      expect.stringMatching(/^schema: \/spec unknown field "requestedFreights"/),
    );
    const warehouse = find('Warehouse');
    (at(warehouse, 'spec') as JsonObject).intervall = '1m';
    expect(rulesOf(warehouse)).toContainEqual(expect.stringMatching(/unknown field "intervall"/));
  });

  it('a missing required field', () => {
    const warehouse = find('Warehouse');
    delete (warehouse.spec as JsonObject).subscriptions;
    expect(rulesOf(warehouse)).toContainEqual('schema: /spec missing required field "subscriptions"');
    const stage = find('Stage', 'prod');
    delete (at(stage, 'spec', 'requestedFreight', 0) as JsonObject).origin;
    expect(rulesOf(stage)).toContainEqual('schema: /spec/requestedFreight/0 missing required field "origin"');
  });

  it('a value of the wrong type or outside an enum', () => {
    const stage = find('Stage', 'dev');
    (at(stage, 'spec', 'requestedFreight', 0, 'origin') as JsonObject).kind = 'Bucket';
    (at(stage, 'spec', 'requestedFreight', 0, 'sources') as JsonObject).direct = 'yes';
    const found = rulesOf(stage);
    expect(found).toContainEqual(
      expect.stringMatching(/^schema: \/spec\/requestedFreight\/0\/origin\/kind must be equal to one of/),
    );
    expect(found).toContainEqual(
      expect.stringMatching(/^schema: \/spec\/requestedFreight\/0\/sources\/direct must be boolean/),
    );
  });

  it('a step with both uses and task (CEL)', () => {
    const stage = find('Stage', 'dev');
    steps(stage)[0]!.task = { name: 'dispatch-workflow' };
    expect(rulesOf(stage)).toContainEqual(
      'cel: /spec/promotionTemplate/spec/steps/0 PromotionTemplate step must have exactly one of uses or task set',
    );
  });

  it('a task step with retry (CEL)', () => {
    const stage = find('Stage', 'prod');
    const s = steps(stage)[1]!;
    delete s.uses;
    delete s.config;
    s.task = { name: 'wait' };
    expect(rulesOf(stage)).toContainEqual(
      'cel: /spec/promotionTemplate/spec/steps/1 PromotionTemplate step referencing a task cannot set retry',
    );
  });

  it('a promotion policy with both stage and stageSelector (CEL)', () => {
    const pc = find('ProjectConfig');
    (at(pc, 'spec', 'promotionPolicies', 0) as JsonObject).stage = 'dev';
    expect(rulesOf(pc)).toContainEqual(
      expect.stringMatching(
        /^cel: \/spec\/promotionPolicies\/0 PromotionPolicy must have exactly one of stage or stageSelector/,
      ),
    );
  });

  it('a ProjectConfig not named like its namespace (webhook)', () => {
    const pc = find('ProjectConfig');
    (pc.metadata as JsonObject).name = 'gitops';
    expect(rulesOf(pc)).toContainEqual(
      expect.stringMatching(/^webhook: \/metadata\/name ProjectConfig name "gitops" must equal/),
    );
  });

  it('a duplicate or reserved step alias, and a request with no source (webhook)', () => {
    const stage = find('Stage', 'dev');
    steps(stage)[1]!.as = 'dispatch';
    (at(stage, 'spec', 'requestedFreight', 0) as JsonObject).sources = { direct: false };
    const found = rulesOf(stage);
    expect(found).toContainEqual(
      expect.stringMatching(/^webhook: .*steps\/1\/as alias "dispatch" is used by an earlier step/),
    );
    expect(found).toContainEqual(
      expect.stringMatching(/^webhook: .*sources needs direct: true or at least one upstream stage/),
    );
    steps(stage)[1]!.as = 'step-2';
    expect(rulesOf(stage)).toContainEqual(expect.stringMatching(/alias "step-2" is reserved/));
  });

  it('an http config with a field the http step does not know', () => {
    const stage = find('Stage', 'dev');
    config(step(stage, 'waitRun')).retries = 3;
    expect(rulesOf(stage)).toContainEqual(
      'http-config: /spec/promotionTemplate/spec/steps/1/config unknown field "retries"',
    );
  });

  it('an http config with pollInterval: valid on 1.11, flagged as 1.11+ only by the 1.9 check', () => {
    const stage = find('Stage', 'dev');
    config(step(stage, 'waitRun')).pollInterval = '30s';
    const found = issuesOf(stage);
    expect(found.filter((i) => i.rule === 'http-config')).toEqual([]);
    expect(found.map((i) => `${i.rule}: ${i.message}`)).toEqual([
      'kargo-1.9: pollInterval is 1.11+ only: Kargo 1.9/1.10 reject it at run time (they requeue every 5 min instead)',
    ]);
    config(step(stage, 'waitRun')).errorExpression = 'response.body.message';
    expect(issuesOf(stage).map((i) => i.path)).toContain(
      '/spec/promotionTemplate/spec/steps/1/config/errorExpression',
    );
  });

  it('expressions: a whole-value expression counts as any type, a literal of the wrong type does not', () => {
    const stage = find('Stage', 'dev');
    const cfg = config(step(stage, 'waitRun'));
    cfg.insecureSkipTLSVerify = '${{ vars.environment == "dev" }}';
    cfg.method = '${{ vars.environment == "dev" ? "GET" : "HEAD" }}';
    expect(formatIssues(issuesOf(stage).filter((i) => i.rule === 'http-config'))).toBe('');
    cfg.insecureSkipTLSVerify = 'yes';
    cfg.method = 'FETCH';
    cfg.timeout = 'soon';
    const found = rulesOf(stage).filter((r) => r.startsWith('http-config'));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/config\/insecureSkipTLSVerify must be boolean/),
        expect.stringMatching(/config\/method must match pattern/),
        expect.stringMatching(/config\/timeout must match pattern/),
      ]),
    );
    cfg.insecureSkipTLSVerify = 'prefix ${{ true }}'; // not a whole expression: evaluates to a string
    expect(rulesOf(stage)).toContainEqual(
      expect.stringMatching(/config\/insecureSkipTLSVerify must be boolean/),
    );
  });

  it('expressions: "}}" inside an expression, unknown vars and unknown step outputs', () => {
    const stage = find('Stage', 'dev');
    const dispatch = config(step(stage, 'dispatch'));
    dispatch.body = '${{ quote({"ref": vars.gitRef, "inputs": {"environment": vars.environment}}) }}';
    config(step(stage, 'waitRun')).url =
      'https://api.github.com/repos/${{ vars.repo }}/runs/${{ outputs.dispatch.id }}';
    const found = rulesOf(stage).filter((r) => r.startsWith('expression'));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/steps\/0\/config\/body expression cut short by "}}"/),
        expect.stringMatching(/vars.repo is not declared/),
        expect.stringMatching(/step dispatch declares no output id/),
      ]),
    );
  });

  it('a git subscription with a misspelled field or an SSH-less bad URL', () => {
    const warehouse = find('Warehouse');
    const git = at(warehouse, 'spec', 'subscriptions', 0, 'git') as JsonObject;
    git.includePath = ['terraform/'];
    git.repoURL = 'github.com/acme/repo';
    const found = rulesOf(warehouse);
    expect(found).toContainEqual('git-subscription: /spec/subscriptions/0/git unknown field "includePath"');
    expect(found).toContainEqual(
      expect.stringMatching(/^git-subscription: \/spec\/subscriptions\/0\/git\/repoURL must match pattern/),
    );
  });

  it('an unknown kind or apiVersion', () => {
    expect(
      rulesOf({ apiVersion: 'kargo.akuity.io/v1alpha1', kind: 'Pipeline', metadata: { name: 'x' } }),
    ).toEqual(['kind:  unknown apiVersion/kind kargo.akuity.io/v1alpha1 Pipeline']);
  });
});

describe('project.yaml', () => {
  it('declares Project gitops-infra and its ProjectConfig', () => {
    expect((find('Project').metadata as JsonObject).name).toBe(PROJECT);
    const pc = find('ProjectConfig');
    expect(pc.metadata).toEqual({ name: PROJECT, namespace: PROJECT });
  });

  it('enables auto-promotion for dev only, selected by exact name', () => {
    const policies = at(find('ProjectConfig'), 'spec', 'promotionPolicies') as JsonObject[];
    const auto = policies.filter((p) => p.autoPromotionEnabled === true);
    expect(auto).toEqual([{ stageSelector: { name: 'dev' }, autoPromotionEnabled: true }]);
    const stageNames = docs
      .filter((d) => d.object.kind === 'Stage')
      .map((d) => (d.object.metadata as JsonObject).name);
    for (const p of policies) {
      const selector = p.stageSelector as JsonObject;
      expect(stageNames).toContain(selector.name); // exact names only: no glob:/regex: pattern, no label selector
      expect(Object.keys(selector)).toEqual(['name']);
    }
  });
});

// Kargo's path selectors: a plain entry matches every path under that directory (pkg/pattern BaseDirMatcher:
// filepath.Rel(base, path) without "..").
const underBase = (base: string, file: string): boolean => !path.posix.relative(base, file).includes('..');
const makesFreight = (includePaths: string[], changed: string[]): boolean =>
  changed.some((f) => includePaths.some((base) => underBase(base, f)));

describe('warehouse.yaml', () => {
  it('subscribes to main of this repository over HTTPS, newest commit from the branch', () => {
    const subs = at(find('Warehouse'), 'spec', 'subscriptions') as JsonObject[];
    expect(subs).toHaveLength(1);
    const git = subs[0]!.git as JsonObject;
    expect(git.repoURL).toMatch(/^https:\/\/github\.com\/[\w.-]+\/[\w.-]+\.git$/);
    expect(git.branch).toBe('main');
    expect(git.commitSelectionStrategy).toBe('NewestFromBranch');
    expect(git.includePaths).toEqual(['terraform/', 'policy/', '.github/workflows/']);
  });

  it('makes Freight for Terraform, policy and workflow changes, not for docs-only commits', () => {
    const includePaths = at(find('Warehouse'), 'spec', 'subscriptions', 0, 'git', 'includePaths') as string[];
    for (const p of includePaths) expect(p).not.toMatch(/^(glob|regex|regexp):/);
    for (const changed of [
      ['terraform/aws/dev/main.tf'],
      ['policy/tags.rego'],
      ['.github/workflows/terraform.yaml'],
      ['README.md', 'terraform/gcp/gke.tf'],
    ]) {
      expect([changed, makesFreight(includePaths, changed)]).toEqual([changed, true]);
    }
    for (const changed of [
      ['README.md'],
      ['docs/runbook.md', 'kargo/README.md'],
      ['src/main.ts', 'test/pipeline/x.test.ts'],
      ['.github/CODEOWNERS'],
      ['terraform-notes.md'],
      ['policyx/a.rego'],
    ]) {
      expect([changed, makesFreight(includePaths, changed)]).toEqual([changed, false]);
    }
  });
});

/** The dispatch body is `${{ quote({...}) }}`: read it back as JSON, expressions as "«expr»" strings. */
function dispatchBody(stage: JsonObject): {
  ref: string;
  inputs: Record<string, string>;
  return_run_details: unknown;
} {
  const body = String(config(step(stage, 'dispatch')).body);
  const exprs = expressionsIn(body);
  expect(exprs).toHaveLength(1);
  const m = /^\s*quote\(([\s\S]*)\)\s*$/.exec(exprs[0]!.expression);
  if (!m) throw new Error(`dispatch body is not \${{ quote({...}) }}: ${body}`);
  const json = m[1]!.replace(/:\s*((?:vars|ctx)\.\w+|commitFrom\([^)]*\)\.\w+)/g, ': "«$1»"');
  return JSON.parse(json) as { ref: string; inputs: Record<string, string>; return_run_details: unknown };
}

/** Why a POST step could send its request twice: a response that leaves it Running, or retries on error. */
function postProblems(dispatch: JsonObject): string[] {
  const problems: string[] = [];
  for (const status of STATUS_CODES) {
    const result = outcome(config(dispatch), { status, body: {} });
    if (result === 'Running' || result === 'Retried') {
      problems.push(`HTTP ${status} leaves the step ${result}: the POST would be sent again`);
    }
    if (result === 'Succeeded' && status !== 200)
      problems.push(`HTTP ${status} counts as success without a run id`);
  }
  if ((dispatch.retry as JsonObject | undefined)?.errorThreshold !== 1) {
    problems.push('retry.errorThreshold must be 1 (a network error must not re-send the POST)');
  }
  return problems;
}

/** GitHub run states, and what the wait step must make of each. */
const RUN_STATES: [string, string | null, Outcome][] = [
  ['queued', null, 'Running'],
  ['in_progress', null, 'Running'],
  ['waiting', null, 'Running'], // waiting for the prod approval
  ['pending', null, 'Running'],
  ['completed', 'success', 'Succeeded'],
  ['completed', 'failure', 'Failed'],
  ['completed', 'cancelled', 'Failed'],
  ['completed', 'timed_out', 'Failed'],
  ['completed', 'action_required', 'Failed'],
  ['completed', 'skipped', 'Failed'],
  ['completed', 'neutral', 'Failed'],
  ['completed', 'startup_failure', 'Failed'],
];
/** HTTP errors: the token or the run is gone (fail) versus rate limits and outages (poll again). */
const WAIT_ERRORS: [number, Outcome][] = [
  [401, 'Failed'],
  [404, 'Failed'],
  [403, 'Running'],
  [429, 'Running'],
  [500, 'Running'],
  [502, 'Running'],
  [503, 'Running'],
];

function waitProblems(wait: JsonObject): string[] {
  const problems: string[] = [];
  for (const [status, conclusion, want] of RUN_STATES) {
    const got = outcome(config(wait), {
      status: 200,
      body: { status, conclusion, html_url: 'https://github.com/x' },
    });
    if (got !== want) problems.push(`run ${status}/${conclusion ?? 'none'}: ${want} expected, got ${got}`);
  }
  for (const [status, want] of WAIT_ERRORS) {
    const got = outcome(config(wait), { status, body: { message: 'error' } });
    if (got !== want) problems.push(`HTTP ${status}: ${want} expected, got ${got}`);
  }
  return problems;
}

describe('stages.yaml', () => {
  it('dev takes Freight straight from the Warehouse; prod only from dev', () => {
    const warehouse = String((find('Warehouse').metadata as JsonObject).name);
    expect(at(find('Stage', 'dev'), 'spec', 'requestedFreight')).toEqual([
      { origin: { kind: 'Warehouse', name: warehouse }, sources: { direct: true } },
    ]);
    expect(at(find('Stage', 'prod'), 'spec', 'requestedFreight')).toEqual([
      { origin: { kind: 'Warehouse', name: warehouse }, sources: { stages: ['dev'] } },
    ]);
  });

  it.each([
    ['dev', 'dev', 'no'],
    ['prod', 'prod', 'yes'],
  ])(
    '%s: vars name this repository, the workflow, environment %s and deploy_prod %s',
    (name, environment, deployProd) => {
      const vars = stageVars(find('Stage', name));
      const repoURL = String(at(find('Warehouse'), 'spec', 'subscriptions', 0, 'git', 'repoURL'));
      expect(vars.repoURL).toBe(repoURL); // commitFrom(vars.repoURL) only finds the Warehouse's own repo
      expect(`https://github.com/${vars.ghRepo}.git`).toBe(repoURL);
      expect(existsSync(path.join(repoRoot, '.github', 'workflows', String(vars.workflowFile)))).toBe(true);
      expect(vars.gitRef).toBe('main');
      expect(vars.ghApi).toBe('https://api.github.com');
      expect([vars.environment, vars.deployProd]).toEqual([environment, deployProd]);
    },
  );

  it.each(['dev', 'prod'])(
    '%s: step dispatch POSTs workflow_dispatch with the four inputs and return_run_details',
    (name) => {
      const stage = find('Stage', name);
      expect(steps(stage).map((s) => [s.uses, s.as])).toEqual([
        ['http', 'dispatch'],
        ['http', 'waitRun'],
      ]);
      const dispatch = step(stage, 'dispatch');
      const cfg = config(dispatch);
      expect(cfg.method).toBe('POST');
      expect(cfg.url).toBe(
        '${{ vars.ghApi }}/repos/${{ vars.ghRepo }}/actions/workflows/${{ vars.workflowFile }}/dispatches',
      );
      expect(dispatchBody(stage)).toEqual({
        ref: '«vars.gitRef»',
        inputs: {
          environment: '«vars.environment»',
          deploy_prod: '«vars.deployProd»',
          promotion: '«ctx.promotion»',
          freight_sha: '«commitFrom(vars.repoURL).ID»',
        },
        return_run_details: true,
      });
      expect(cfg.outputs).toEqual([
        { name: 'runId', fromExpression: 'response.body.workflow_run_id' },
        { name: 'runUrl', fromExpression: 'response.body.html_url' },
      ]);
      const headers = Object.fromEntries((cfg.headers as JsonObject[]).map((h) => [h.name, h.value]));
      expect(headers.Authorization).toBe("Bearer ${{ secret('github').token }}");
    },
  );

  it.each(['dev', 'prod'])(
    '%s: the POST is terminal on every non-success response (never re-sent)',
    (name) => {
      const dispatch = step(find('Stage', name), 'dispatch');
      expect(postProblems(dispatch)).toEqual([]);
      expect(outcome(config(dispatch), { status: 200, body: { workflow_run_id: 1 } })).toBe('Succeeded');
    },
  );

  it('the POST check rejects a dispatch that could be sent twice', () => {
    const dispatch = step(find('Stage', 'dev'), 'dispatch');
    config(dispatch).failureExpression = 'response.status >= 400 && response.status < 500';
    expect(postProblems(dispatch)).toEqual(
      expect.arrayContaining([
        'HTTP 100 leaves the step Running: the POST would be sent again',
        'HTTP 500 leaves the step Running: the POST would be sent again',
      ]),
    );
    delete config(dispatch).failureExpression;
    delete config(dispatch).successExpression;
    expect(postProblems(dispatch)).toContain(
      'HTTP 500 leaves the step Retried: the POST would be sent again',
    );
    const retried = step(find('Stage', 'dev'), 'dispatch');
    retried.retry = { errorThreshold: 3 };
    expect(postProblems(retried)).toEqual([
      'retry.errorThreshold must be 1 (a network error must not re-send the POST)',
    ]);
  });

  it.each(['dev', 'prod'])(
    '%s: step waitRun polls the dispatched run and fails unless it concluded success',
    (name) => {
      const wait = step(find('Stage', name), 'waitRun');
      const cfg = config(wait);
      expect(cfg.method ?? 'GET').toBe('GET');
      expect(cfg.url).toBe(
        '${{ vars.ghApi }}/repos/${{ vars.ghRepo }}/actions/runs/${{ outputs.dispatch.runId }}',
      );
      expect(waitProblems(wait)).toEqual([]);
      expect(cfg.outputs).toEqual([
        { name: 'htmlUrl', fromExpression: 'response.body.html_url' },
        { name: 'conclusion', fromExpression: 'response.body.conclusion' },
      ]);
      expect(String((wait.retry as JsonObject).timeout)).toMatch(/^\d+h(\d+m)?$/);
    },
  );

  it('the wait check rejects a wait that succeeds on a failed run or gives up on a queued one', () => {
    const wait = step(find('Stage', 'prod'), 'waitRun');
    config(wait).successExpression = "response.status == 200 && response.body.status == 'completed'";
    config(wait).failureExpression = 'response.status == 401 || response.status == 404';
    expect(waitProblems(wait)).toEqual(
      expect.arrayContaining([
        'run completed/failure: Failed expected, got Succeeded',
        'run completed/cancelled: Failed expected, got Succeeded',
      ]),
    );
    const eager = step(find('Stage', 'prod'), 'waitRun');
    config(eager).failureExpression =
      "response.status != 200 || response.body.status != 'completed' || response.body.conclusion != 'success'";
    expect(waitProblems(eager)).toEqual(
      expect.arrayContaining([
        'run waiting/none: Running expected, got Failed',
        'HTTP 429: Running expected, got Failed',
      ]),
    );
  });

  it.each([
    ['dev', 'aws-dev', { environment: 'dev', deploy_prod: 'no' }],
    ['prod', 'aws-prod', { environment: 'prod', deploy_prod: 'yes' }],
  ] as const)(
    '%s: the waitRun timeout is derived from the apply deadline and the job timeouts after it',
    (stage, applyJob, inputs) => {
      const { wf } = loadWorkflow(workflowFile);
      const { violations, deadlines } = checkApplyDeadlines(wf);
      expect(violations).toEqual([]);
      // The apply job starts at the latest DEADLINE minutes after the dispatch (it refuses otherwise; on
      // prod the approval window is inside it); then it and every job after it may use their whole timeout,
      // each after up to RUNNER_PICKUP_MINUTES in the runner queue. The wait must outlast all of that, so a
      // promotion never fails while its run can still apply; and it stays within an hour of it, so a stuck
      // run is not waited on for days.
      const jobsFromApply = 2; // the apply job, then notify
      const required =
        deadlines[applyJob]! + remainingMinutes(wf, applyJob, inputs) + jobsFromApply * RUNNER_PICKUP_MINUTES;
      const timeout = durationMinutes(
        String((step(find('Stage', stage), 'waitRun').retry as JsonObject).timeout),
      );
      expect(timeout).toBeGreaterThanOrEqual(required);
      expect(timeout).toBeLessThanOrEqual(required + 60);
    },
  );

  it('dev and prod run the same steps; only vars and the wait timeout differ', () => {
    const normalise = (s: JsonObject): JsonObject => {
      const c = structuredClone(s);
      delete (c.retry as JsonObject | undefined)?.timeout;
      return c;
    };
    expect(steps(find('Stage', 'prod')).map(normalise)).toEqual(steps(find('Stage', 'dev')).map(normalise));
  });

  it('uses no http field that Kargo 1.9 rejects (pollInterval, errorExpression, proxy)', () => {
    for (const stage of [find('Stage', 'dev'), find('Stage', 'prod')]) {
      expect(issuesOf(stage).filter((i) => i.rule === 'kargo-1.9')).toEqual([]);
      for (const s of steps(stage)) {
        expect(Object.keys(config(s))).not.toEqual(expect.arrayContaining(['pollInterval']));
      }
    }
  });

  it('sends only inputs the workflow declares, with values its choices accept', () => {
    const wf = parse(readFileSync(workflowFile, 'utf8')) as JsonObject;
    const declared = at(wf, 'on', 'workflow_dispatch', 'inputs') as Record<string, JsonObject>;
    for (const name of ['dev', 'prod']) {
      const stage = find('Stage', name);
      const sent = dispatchBody(stage).inputs;
      expect(Object.keys(sent).sort()).toEqual(Object.keys(declared).sort()); // an undeclared input is a 422
      const vars = stageVars(stage);
      for (const [input, value] of Object.entries(sent)) {
        const varName = /^«vars\.(\w+)»$/.exec(value)?.[1];
        if (varName && declared[input]!.type === 'choice') {
          expect(declared[input]!.options).toContain(vars[varName]);
        }
      }
    }
  });

  it("reads its token from the Secret the example describes (secret('github').token)", () => {
    const secret = find('Secret', 'github');
    for (const stage of [find('Stage', 'dev'), find('Stage', 'prod')]) {
      for (const s of steps(stage)) {
        const refs = JSON.stringify(s.config).match(/secret\('([^']+)'\)\.(\w+)/g) ?? [];
        expect(refs.length).toBeGreaterThan(0);
        for (const ref of refs) {
          const [, secretName, key] = /secret\('([^']+)'\)\.(\w+)/.exec(ref)!;
          expect(secretName).toBe((secret.metadata as JsonObject).name);
          expect(Object.keys(secret.stringData as JsonObject)).toContain(key);
        }
      }
    }
  });
});

/** What is wrong with the example Secret: its shape, its label, or a value that looks like a real token. */
function secretExampleProblems(secret: JsonObject): string[] {
  const problems: string[] = [];
  const md = (secret.metadata ?? {}) as JsonObject;
  if (secret.apiVersion !== 'v1' || secret.kind !== 'Secret') problems.push('not a v1 Secret');
  if (md.name !== 'github' || md.namespace !== PROJECT) problems.push('not github in the project namespace');
  if ((md.labels as JsonObject | undefined)?.['kargo.akuity.io/cred-type'] !== 'generic') {
    problems.push('missing label kargo.akuity.io/cred-type: generic');
  }
  if (secret.data !== undefined)
    problems.push('uses data: (base64 hides what it holds); use stringData with a placeholder');
  const token = String((secret.stringData as JsonObject | undefined)?.token ?? '');
  if (!/^<[^<>]+>$/.test(token)) problems.push('token is not a <placeholder>');
  if (/gh[pousr]_|github_pat_|[A-Za-z0-9_]{36,}/.test(token))
    problems.push('token looks like a real GitHub token');
  return problems;
}

describe('secret.example.yaml', () => {
  it('is a generic-credential Secret with a placeholder, never a real token', () => {
    expect(secretExampleProblems(find('Secret', 'github'))).toEqual([]);
  });

  it('the check rejects a real-looking token, a missing label and base64 data', () => {
    const secret = find('Secret', 'github');
    (secret.stringData as JsonObject).token = `ghp_${'a1B2'.repeat(9)}`;
    delete ((secret.metadata as JsonObject).labels as JsonObject)['kargo.akuity.io/cred-type'];
    secret.data = { token: 'Z2hwXw==' };
    expect(secretExampleProblems(secret)).toEqual([
      'missing label kargo.akuity.io/cred-type: generic',
      'uses data: (base64 hides what it holds); use stringData with a placeholder',
      'token is not a <placeholder>',
      'token looks like a real GitHub token',
    ]);
  });

  it('the real Secret file is ignored by git', () => {
    expect(readFileSync(path.join(repoRoot, '.gitignore'), 'utf8').split('\n')).toContain(
      'kargo/secret.yaml',
    );
  });
});
