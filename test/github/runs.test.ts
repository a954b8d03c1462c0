// GithubRuns through the real Octokit (App auth) against the GitHub stand-in running this repository's
// workflow: dispatch (with and without run details), runs, jobs and steps, the run-name fallback, artifact
// downloads (302 to one-time storage URLs) and readRunArtifacts for every ready-made scenario. Artifact
// trouble must come back as problems, never as a throw; only GitHub failing throws. Every request and answer
// is checked against GitHub's OpenAPI description (afterEach).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { GithubError, GithubErrorCode, type GithubClient } from '../../src/github/client.js';
import { ArtifactDownloadError, GithubRuns, type RunArtifacts } from '../../src/github/runs.js';
import { buildGateResult } from '../../src/artifacts/gate-result.js';
import type { GithubStandIn } from '../../src/sandbox/github-standin.js';
import type { Scenario } from '../../src/sandbox/github-scenarios.js';
import { captureLog, clientFor, rejection, runsFor, startStandIn, WORKFLOW } from './helpers.js';

describe('GithubRuns', () => {
  let standIn: GithubStandIn;
  let octokit: GithubClient;
  let runs: GithubRuns;

  beforeAll(async () => {
    standIn = await startStandIn();
    octokit = clientFor(standIn, 'app', captureLog('warn').logger);
    runs = runsFor(standIn, octokit);
  });
  afterEach(() => {
    standIn.assertNoViolations();
    standIn.reset();
  });
  afterAll(async () => {
    await standIn.stop();
  });

  /** Dispatches through the API with `scenario`, lets the run finish, returns its id. */
  async function finishedRun(
    scenario: Scenario | Parameters<GithubStandIn['queueScenario']>[0],
    inputs: { environment: 'dev' | 'prod'; deployProd: boolean; promotion?: string },
  ): Promise<number> {
    standIn.queueScenario(scenario);
    const { runId } = await runs.dispatch(inputs, { ref: 'main' });
    await standIn.runUntilIdle();
    return runId as number;
  }

  const names = (list: Array<{ name: string; conclusion?: string | null }>) =>
    list.map((j) => `${j.name}: ${j.conclusion ?? '-'}`);

  describe('dispatch', () => {
    it('with return_run_details: 200 with the run id and URLs', async () => {
      const result = await runs.dispatch(
        { environment: 'dev', deployProd: false, promotion: 'dev.01kdetails.abc1234' },
        { ref: 'main' },
      );
      expect(result.runId).toEqual(expect.any(Number));
      expect(result.runUrl).toBe(
        `${standIn.url}/repos/acme/gitops-infra-pipeline/actions/runs/${result.runId}`,
      );
      expect(result.htmlUrl).toMatch(
        /^https:\/\/github\.com\/acme\/gitops-infra-pipeline\/actions\/runs\/\d+$/,
      );
      expect(standIn.requests().map((r) => r.status)).toContain(200);
      await standIn.runUntilIdle();
    });

    it('without it: 204 and no id; the run is found by its run-name', async () => {
      const createdAfter = new Date(standIn.now() - 1000);
      const result = await runs.dispatch(
        { environment: 'prod', deployProd: true, promotion: 'prod.01knodetails.abc1234' },
        { ref: 'main', returnRunDetails: false },
      );
      expect(result).toEqual({});
      const found = await runs.findRunForPromotion('prod.01knodetails.abc1234', { createdAfter });
      expect(found?.display_title).toBe('terraform prod promotion=prod.01knodetails.abc1234 deploy_prod=yes');
      expect(found?.event).toBe('workflow_dispatch');
      await standIn.runUntilIdle();
    });

    it('inputs the workflow does not declare, and unknown refs, are refused with 422', async () => {
      const bad = await rejection(
        octokit.rest.actions.createWorkflowDispatch({
          owner: standIn.owner,
          repo: standIn.repo,
          workflow_id: WORKFLOW,
          ref: 'main',
          inputs: { environment: 'dev', target: 'everything' },
        }),
      );
      expect((bad as { status: number; message: string }).status).toBe(422);
      expect((bad as Error).message).toContain('Unexpected inputs provided: ["target"]');
      const choice = await rejection(
        octokit.rest.actions.createWorkflowDispatch({
          owner: standIn.owner,
          repo: standIn.repo,
          workflow_id: WORKFLOW,
          ref: 'main',
          inputs: { environment: 'staging' },
        }),
      );
      expect((choice as Error).message).toContain(
        "Provided value 'staging' for input 'environment' not in the list of allowed values",
      );
      const ref = await rejection(
        runs.dispatch({ environment: 'dev', deployProd: false }, { ref: 'no-such-branch' }),
      );
      expect(ref).toBeInstanceOf(GithubError);
      expect((ref as GithubError).code).toBe(GithubErrorCode.Rejected);
    });
  });

  describe('runs, jobs and steps', () => {
    it('show a run in progress: queued → in_progress, steps one at a time, artifacts as uploaded', async () => {
      const { runId } = await runs.dispatch(
        { environment: 'dev', deployProd: false, promotion: 'dev.01kprogress.abc1234' },
        { ref: 'main' },
      );
      const id = runId as number;
      expect((await runs.getRun(id)).status).toBe('queued');
      // Only policy is queued (every other job needs it); a queued job has no steps yet.
      expect((await runs.listJobs(id)).map((j) => [j.name, j.status, j.steps])).toEqual([
        ['policy (OPA + Conftest)', 'queued', []],
      ]);

      await standIn.advance(500); // policy has started (queue delay 10 ms), half way through its steps
      const run = await runs.getRun(id);
      expect(run.status).toBe('in_progress');
      const [policy, ...others] = await runs.listJobs(id);
      expect(others).toEqual([]);
      expect([policy?.name, policy?.status]).toEqual(['policy (OPA + Conftest)', 'in_progress']);
      const statuses = policy?.steps?.map((s) => s.status) ?? [];
      expect(statuses[0]).toBe('completed');
      expect(statuses).toContain('in_progress');
      expect(statuses.at(-1)).toBe('queued');
      expect(await runs.listArtifacts(id)).toEqual([]);

      await standIn.advance(600); // policy done: the three gate jobs run; prod gates (needs: policy) is skipped on dev
      expect(names(await runs.listJobs(id))).toEqual([
        'policy (OPA + Conftest): success',
        'aws gates (dev): -',
        'gcp gates (dev): -',
        'azure gates (dev): -',
        'prod gates (Trivy hard, OPA on HCL + plan): skipped',
      ]);
      expect((await runs.listArtifacts(id)).map((a) => a.name).sort()).toEqual([
        'gate-conftest-all-all',
        'gate-opa-all-all',
        'toolchain',
      ]);
      await standIn.runUntilIdle();
    });

    it('lists the jobs of an attempt; an attempt that does not exist is not found', async () => {
      const id = await finishedRun('dev-pass', { environment: 'dev', deployProd: false });
      const latest = await runs.listJobs(id);
      expect(await runs.listJobs(id, 1)).toEqual(latest);
      expect(((await rejection(runs.listJobs(id, 2))) as GithubError).code).toBe(GithubErrorCode.NotFound);
      const apply = latest.find((j) => j.name === 'aws dev apply');
      expect(apply?.steps?.map((s) => s.name)).toEqual(
        expect.arrayContaining([
          'Set up job',
          'terraform plan',
          'terraform apply',
          'Upload terraform-outputs-aws-dev',
          'Complete job',
        ]),
      );
    });
  });

  describe('readRunArtifacts, per scenario', () => {
    const byName = (a: RunArtifacts) =>
      Object.fromEntries(a.gates.map((g) => [`${g.gate}-${g.cloud}-${g.environment}`, g.status]));

    it('dev-pass: every gate, the plan summary and the outputs; no problems', async () => {
      const id = await finishedRun('dev-pass', {
        environment: 'dev',
        deployProd: false,
        promotion: 'dev.01kdevpass.abc1234',
      });
      expect((await runs.getRun(id)).conclusion).toBe('success');
      expect(names(await runs.listJobs(id))).toEqual([
        'policy (OPA + Conftest): success',
        'aws gates (dev): success',
        'gcp gates (dev): success',
        'azure gates (dev): success',
        'aws dev apply: success',
        'gcp plan: skipped',
        'azure plan: skipped',
        'prod gates (Trivy hard, OPA on HCL + plan): skipped',
        'aws prod apply: skipped',
        'results (one artifact for the bot): success',
        'notify (Slack webhooks): success',
      ]);
      const result = await runs.readRunArtifacts(id, { environment: 'dev', deployProd: false });
      expect(result.problems).toEqual([]);
      expect(result.gates).toHaveLength(16);
      expect(byName(result)['trivy-aws-dev']).toBe('passed');
      expect(result.gates.find((g) => g.gate === 'trivy' && g.cloud === 'aws')?.enforcement).toBe('soft');
      expect(result.plans).toEqual([
        expect.objectContaining({
          cloud: 'aws',
          environment: 'dev',
          counts: { add: 3, change: 1, destroy: 1, replace: 1 },
        }),
      ]);
      expect(result.outputs).toHaveLength(1);
      expect(result.outputs[0]?.outputs.public_ip).toEqual({ value: '203.0.113.10', type: 'string' });
      expect(result.outputs[0]?.excludedSensitive).toEqual(['cluster_certificate_authority_data']);
      expect(result.outputs[0]?.run?.id).toBe(id);
      // One listing, one download: the run-results artifact the results job built from the 18 others (by
      // running the workflow's own script), one job listing.
      expect(result.source).toEqual({ kind: 'run-results', artifactId: expect.any(Number) });
      expect(result.read).toHaveLength(18);
      expect(standIn.requestCount({ operationId: 'actions/list-workflow-run-artifacts' })).toBe(1);
      expect(standIn.requestCount({ operationId: 'actions/download-artifact' })).toBe(1);
      expect(standIn.storageRequests().every((s) => s.status === 200 && !s.authorization)).toBe(true);
    });

    it('prod-pass: prod gates, the applied plan (not the preview) and the prod outputs', async () => {
      const id = await finishedRun('prod-pass', {
        environment: 'prod',
        deployProd: true,
        promotion: 'prod.01kprodpass.abc1234',
      });
      expect((await runs.getRun(id)).conclusion).toBe('success');
      const result = await runs.readRunArtifacts(id, { environment: 'prod', deployProd: true });
      expect(result.problems).toEqual([]);
      expect(Object.keys(byName(result)).sort()).toEqual([
        'apply-aws-prod',
        'conftest-all-all',
        'conftest-aws-prod',
        'fmt-aws-prod',
        'fmt-azure-prod',
        'fmt-gcp-prod',
        'opa-all-all',
        'plan-aws-prod',
        'tflint-aws-prod',
        'tflint-azure-prod',
        'tflint-gcp-prod',
        'trivy-aws-prod',
        'trivy-azure-prod',
        'trivy-gcp-prod',
        'validate-aws-prod',
        'validate-azure-prod',
        'validate-gcp-prod',
      ]);
      // aws prod apply re-uploads plan-summary-aws-prod with overwrite: true; the applied plan is the one read.
      expect(result.plans).toHaveLength(1);
      expect(result.plans[0]?.run?.job).toBe('aws-prod');
      expect(result.outputs.map((o) => o.environment)).toEqual(['prod']);
    });

    it('prod-trivy-fail: the failed hard Trivy gate with its findings; apply skipped, nothing reported missing', async () => {
      const id = await finishedRun('prod-trivy-fail', {
        environment: 'prod',
        deployProd: true,
        promotion: 'prod.01ktrivy.abc1234',
      });
      expect((await runs.getRun(id)).conclusion).toBe('failure');
      const jobs = await runs.listJobs(id);
      expect(names(jobs)).toEqual(
        expect.arrayContaining([
          'prod gates (Trivy hard, OPA on HCL + plan): failure',
          'aws prod apply: skipped',
          'notify (Slack webhooks): success',
        ]),
      );
      const gatesJob = jobs.find((j) => j.name.startsWith('prod gates'));
      expect(gatesJob?.steps?.find((s) => s.name === 'Fail on a failed prod gate')?.conclusion).toBe(
        'failure',
      );
      expect(gatesJob?.steps?.find((s) => s.name === 'Upload gate-trivy-aws-prod')?.conclusion).toBe(
        'success',
      );

      const result = await runs.readRunArtifacts(id, { environment: 'prod', deployProd: true, jobs });
      expect(result.problems).toEqual([]);
      const trivy = result.gates.find((g) => g.gate === 'trivy' && g.cloud === 'aws');
      expect(trivy).toMatchObject({
        status: 'failed',
        enforcement: 'hard',
        findings: { critical: 1, high: 1, medium: 0, low: 0, unknown: 0 },
      });
      expect(trivy?.topFindings.map((f) => f.id)).toEqual(['AVD-AWS-0107', 'AVD-AWS-0131']);
      expect(result.gates.some((g) => g.gate === 'apply')).toBe(false);
      expect(result.plans.map((p) => p.run?.job)).toEqual(['prod-gates']); // the preview
      expect(result.outputs).toEqual([]);
    });

    it('missing-artifact: the plan summary the successful plan should have uploaded is reported missing', async () => {
      const id = await finishedRun('missing-artifact', { environment: 'dev', deployProd: false });
      const result = await runs.readRunArtifacts(id, { environment: 'dev', deployProd: false });
      expect(result.problems).toEqual([
        {
          artifact: 'plan-summary-aws-dev',
          problem: 'missing',
          detail: 'not uploaded by job "aws dev apply" (success)',
        },
      ]);
      expect(result.plans).toEqual([]);
      expect(result.outputs).toHaveLength(1);
    });

    it('broken-artifacts: malformed, expired, too large and unreadable are reported, never thrown', async () => {
      const id = await finishedRun('broken-artifacts', { environment: 'dev', deployProd: false });
      const result = await runs.readRunArtifacts(id, { environment: 'dev', deployProd: false });
      const problems = Object.fromEntries(
        result.problems.map((p) => [p.artifact, `${p.problem}: ${p.detail}`]),
      );
      expect(problems).toEqual({
        'gate-fmt-aws-dev': expect.stringMatching(
          /^malformed: does not match schemas\/gate-result\.schema\.json: .*status/,
        ),
        'gate-tflint-aws-dev': expect.stringMatching(/^malformed: not JSON/),
        'gate-trivy-aws-dev': expect.stringMatching(/^unreadable: not a readable zip archive/),
        'gate-validate-aws-dev': expect.stringMatching(
          /^too-large: gate-result\.json is \d+ bytes \(limit 5242880\)/,
        ),
        'terraform-outputs-aws-dev': expect.stringMatching(/^expired: expired at \d{4}-/),
      });
      expect(result.gates).toHaveLength(12);
      expect(result.outputs).toEqual([]);
      // The results job could not download the unreadable and the expired artifact, so run-results does not
      // agree with the list: each artifact is read on its own, the expired one not at all (410 would follow).
      expect(result.source).toEqual({
        kind: 'artifacts',
        fallback: 'run-results does not hold gate-trivy-aws-dev',
      });
      expect(standIn.requestCount({ operationId: 'actions/download-artifact' })).toBe(1 + 17);
    });

    it('cancelled: cancelled jobs promise nothing; only always() jobs run after the cancel', async () => {
      const id = await finishedRun('cancelled', { environment: 'dev', deployProd: false });
      expect((await runs.getRun(id)).conclusion).toBe('cancelled');
      const jobs = await runs.listJobs(id);
      expect(names(jobs)).toEqual([
        'policy (OPA + Conftest): success',
        'aws gates (dev): cancelled',
        'gcp gates (dev): cancelled',
        'azure gates (dev): cancelled',
        'aws dev apply: skipped',
        'gcp plan: skipped',
        'azure plan: skipped',
        'prod gates (Trivy hard, OPA on HCL + plan): skipped',
        'aws prod apply: skipped',
        'results (one artifact for the bot): success',
        'notify (Slack webhooks): success',
      ]);
      const result = await runs.readRunArtifacts(id, { environment: 'dev', deployProd: false, jobs });
      expect(result.problems).toEqual([]);
      expect(result.gates.map((g) => g.gate).sort()).toEqual(['conftest', 'opa']);
    });

    it('run-results that is unusable (not JSON, wrong run, or older than an artifact) is not trusted: each artifact is read', async () => {
      const cases: Array<[string, Scenario['artifacts'], RegExp]> = [
        ['not JSON', { 'run-results': { raw: '{"schemaVersion": 1, "run": ' } }, /^run-results not JSON/],
        [
          'another run',
          {
            'run-results': { json: { schemaVersion: 1, run: { id: 42, attempt: 1 }, artifacts: [] } },
          },
          /^run-results is for run 42, not \d+$/,
        ],
        [
          'not the schema',
          { 'run-results': { raw: '{"schemaVersion": 2}' } },
          /^run-results does not match schemas\/run-results\.schema\.json/,
        ],
      ];
      for (const [label, artifacts, reason] of cases) {
        standIn.reset();
        const id = await finishedRun(
          { name: `bundle-${label}`, description: label, artifacts },
          { environment: 'dev', deployProd: false },
        );
        const result = await runs.readRunArtifacts(id, { environment: 'dev', deployProd: false });
        expect([label, result.source.kind]).toEqual([label, 'artifacts']);
        expect(result.source.kind === 'artifacts' ? result.source.fallback : '').toMatch(reason);
        // The texts come from the artifacts themselves: same results as with a good run-results.
        expect(result.problems).toEqual([]);
        expect(result.gates).toHaveLength(16);
        expect(standIn.requestCount({ operationId: 'actions/download-artifact' })).toBe(1 + 18);
      }
    });

    it('run-results holding a malformed result reports it as the artifact itself would be', async () => {
      const id = await finishedRun(
        {
          name: 'bundle-malformed-entry',
          description: 'gate-fmt-aws-dev holds truncated JSON; the results job bundles it as it is',
          artifacts: { 'gate-fmt-aws-dev': { raw: '{"schemaVersion": 1, "gate": "fmt"' } },
        },
        { environment: 'dev', deployProd: false },
      );
      const result = await runs.readRunArtifacts(id, { environment: 'dev', deployProd: false });
      expect(result.source.kind).toBe('run-results');
      expect(result.problems).toEqual([
        { artifact: 'gate-fmt-aws-dev', problem: 'malformed', detail: expect.stringMatching(/^not JSON/) },
      ]);
      expect(result.gates).toHaveLength(15);
      expect(standIn.requestCount({ operationId: 'actions/download-artifact' })).toBe(1);
    });
    it('cancelling through the API: 202, then 409 once completed', async () => {
      standIn.queueScenario('dev-pass');
      const { runId } = await runs.dispatch({ environment: 'dev', deployProd: false }, { ref: 'main' });
      await standIn.advance(200);
      const res = await octokit.rest.actions.cancelWorkflowRun({
        owner: standIn.owner,
        repo: standIn.repo,
        run_id: runId as number,
      });
      expect(res.status).toBe(202);
      await standIn.runUntilIdle();
      expect((await runs.getRun(runId as number)).conclusion).toBe('cancelled');
      const again = await rejection(
        octokit.rest.actions.cancelWorkflowRun({
          owner: standIn.owner,
          repo: standIn.repo,
          run_id: runId as number,
        }),
      );
      expect((again as { status: number }).status).toBe(409);
    });

    it('an artifact whose content is for another gate is malformed', async () => {
      const wrong = buildGateResult(
        { gate: 'tflint', cloud: 'aws', environment: 'dev', enforcement: 'hard', exitCode: 0 },
        { findings: [], toolErrors: [] },
      );
      const id = await finishedRun(
        {
          name: 'swapped',
          description: 'fmt artifact holds tflint',
          artifacts: { 'gate-fmt-aws-dev': { json: wrong } },
        },
        { environment: 'dev', deployProd: false },
      );
      const result = await runs.readRunArtifacts(id, { environment: 'dev', deployProd: false });
      expect(result.problems).toEqual([
        {
          artifact: 'gate-fmt-aws-dev',
          problem: 'malformed',
          detail: 'gate-fmt-aws-dev holds a result for tflint/aws/dev',
        },
      ]);
    });

    it('GitHub failing while reading artifacts throws GithubError (the job is retried), not a problem line', async () => {
      const id = await finishedRun('dev-pass', { environment: 'dev', deployProd: false });
      standIn.injectError({ status: 503, times: 4, operationId: 'actions/list-workflow-run-artifacts' });
      const err = await rejection(
        runsFor(standIn, clientFor(standIn, 'app', captureLog('warn').logger)).readRunArtifacts(id, {
          environment: 'dev',
          deployProd: false,
        }),
      );
      expect(err).toBeInstanceOf(GithubError);
      expect((err as GithubError).code).toBe(GithubErrorCode.Unavailable);
    });
  });

  describe('downloadArtifact', () => {
    let runId: number;
    beforeAll(async () => {
      const big = randomBytes(64 * 1024).toString('base64'); // incompressible at level 0
      runId = await finishedRun(
        {
          name: 'big',
          description: 'one large zip',
          artifacts: {
            'gate-opa-all-all': { raw: big, level: 0 },
            'terraform-outputs-aws-dev': { expired: true },
          },
        },
        { environment: 'dev', deployProd: false },
      );
    });
    const artifactNamed = async (name: string) =>
      (await runs.listArtifacts(runId)).find((a) => a.name === name) as { id: number; size_in_bytes: number };

    it('follows the 302 to a one-time, short-lived storage URL without sending the token', async () => {
      const artifact = await artifactNamed('gate-conftest-all-all');
      const text = await runs.downloadArtifact(artifact.id, { file: 'gate-result.json' });
      expect(JSON.parse(text)).toMatchObject({ gate: 'conftest', status: 'passed' });
      expect(standIn.storageRequests()).toEqual([
        expect.objectContaining({ status: 200, authorization: false }),
      ]);

      // The Location itself: valid once, and for 60 s of GitHub time.
      const redirect = await octokit.request(
        'GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}',
        {
          owner: standIn.owner,
          repo: standIn.repo,
          artifact_id: artifact.id,
          archive_format: 'zip',
          request: { redirect: 'manual' },
        },
      );
      const location = (redirect.headers as Record<string, string>).location as string;
      expect(new URL(location).origin).not.toBe(new URL(standIn.url).origin);
      expect((await fetch(location)).status).toBe(200);
      expect((await fetch(location)).status).toBe(403);
      const second = await octokit.request(
        'GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}',
        {
          owner: standIn.owner,
          repo: standIn.repo,
          artifact_id: artifact.id,
          archive_format: 'zip',
          request: { redirect: 'manual' },
        },
      );
      await standIn.advance(61_000);
      expect((await fetch((second.headers as Record<string, string>).location as string)).status).toBe(403);
    });

    it('an expired artifact: 410 Gone → ArtifactDownloadError expired', async () => {
      const err = await rejection(
        runs.downloadArtifact((await artifactNamed('terraform-outputs-aws-dev')).id),
      );
      expect(err).toBeInstanceOf(ArtifactDownloadError);
      expect((err as ArtifactDownloadError).problem).toBe('expired');
    });

    it('caps the zip while streaming it, and reports size before downloading when GitHub states it', async () => {
      const artifact = await artifactNamed('gate-opa-all-all');
      expect(artifact.size_in_bytes).toBeGreaterThan(64 * 1024);
      const small = new GithubRuns(octokit, {
        owner: standIn.owner,
        repo: standIn.repo,
        workflow: WORKFLOW,
        maxZipBytes: 32 * 1024,
      });
      const err = await rejection(small.downloadArtifact(artifact.id));
      expect((err as ArtifactDownloadError).problem).toBe('too-large');
      const result = await small.readRunArtifacts(runId, { environment: 'dev', deployProd: false });
      expect(result.problems).toEqual(
        expect.arrayContaining([
          {
            artifact: 'gate-opa-all-all',
            problem: 'too-large',
            detail: `${artifact.size_in_bytes} bytes (limit 32768)`,
          },
        ]),
      );
    });
  });

  describe('findRunForPromotion', () => {
    it('finds the newest run whose run-name names the promotion; null when created before `createdAfter`', async () => {
      const before = new Date(standIn.now() - 1000);
      const first = standIn.startRun({
        environment: 'dev',
        deployProd: false,
        promotion: 'dev.01kfind.abc1234',
      });
      await standIn.advance(2000);
      const second = standIn.startRun({
        environment: 'dev',
        deployProd: false,
        promotion: 'dev.01kfind.abc1234',
      });
      standIn.startRun({ environment: 'dev', deployProd: false, promotion: 'dev.01kother.abc1234' });
      expect((await runs.findRunForPromotion('dev.01kfind.abc1234', { createdAfter: before }))?.id).toBe(
        second.id,
      );
      expect(first.id).toBeLessThan(second.id);
      expect(
        await runs.findRunForPromotion('dev.01kfind.abc1234', {
          createdAfter: new Date(standIn.now() + 5000),
        }),
      ).toBeNull();
      expect(await runs.findRunForPromotion('dev.01knone.abc1234', { createdAfter: before })).toBeNull();
      const query = standIn.requests({ operationId: 'actions/list-workflow-runs' })[0]?.query ?? '';
      expect(new URLSearchParams(query).get('event')).toBe('workflow_dispatch');
      expect(new URLSearchParams(query).get('created')).toMatch(/^>=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      await standIn.runUntilIdle();
    });

    it('looks through a bounded number of pages', async () => {
      const before = new Date(standIn.now() - 1000);
      standIn.startRun({ environment: 'dev', deployProd: false, promotion: 'dev.01kburied.abc1234' });
      await standIn.advance(1000);
      for (let i = 0; i < 100; i += 1)
        standIn.startRun({ environment: 'dev', deployProd: false, promotion: `dev.01knoise${i}.abc1234` });
      const onePage = new GithubRuns(octokit, {
        owner: standIn.owner,
        repo: standIn.repo,
        workflow: WORKFLOW,
        maxRunPages: 1,
      });
      expect(await onePage.findRunForPromotion('dev.01kburied.abc1234', { createdAfter: before })).toBeNull();
      expect(standIn.requestCount({ operationId: 'actions/list-workflow-runs' })).toBe(1);
      standIn.reset();
      expect(
        (await runs.findRunForPromotion('dev.01kburied.abc1234', { createdAfter: before }))?.display_title,
      ).toContain('dev.01kburied');
      expect(standIn.requestCount({ operationId: 'actions/list-workflow-runs' })).toBe(2);
      await standIn.runUntilIdle();
    });
  });
});
