// What src/github knows about .github/workflows/terraform.yaml — job display names, the expected result
// artifacts per dispatch, the run-name — against the workflow itself. The stand-in derives its runs from the
// YAML (jobs, needs, if:, steps, upload-artifact names), so an all-passing run there uploads exactly what the
// real workflow would; expectedArtifacts() must name exactly that, or every card would show false
// "missing" lines (or miss real ones).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { expectedArtifacts, jobName, parseArtifactName } from '../../src/github/runs.js';
import { parseRunName, runNameFor } from '../../src/github/webhooks.js';
import { loadWorkflow } from '../../src/sandbox/github-workflow.js';
import type { GithubStandIn } from '../../src/sandbox/github-standin.js';
import { SCENARIOS } from '../../src/sandbox/github-scenarios.js';
import { captureLog, clientFor, runsFor, startStandIn } from './helpers.js';

const COMBINATIONS = [
  { environment: 'dev', deployProd: false, scenario: 'dev-pass' },
  { environment: 'prod', deployProd: false, scenario: 'prod-pass' },
  { environment: 'prod', deployProd: true, scenario: 'prod-pass' },
] as const;

describe('src/github vs .github/workflows/terraform.yaml', () => {
  let standIn: GithubStandIn;

  beforeAll(async () => {
    standIn = await startStandIn();
  });
  afterEach(() => {
    standIn.assertNoViolations();
    standIn.reset();
  });
  afterAll(async () => {
    await standIn.stop();
  });

  it('declares the dispatch inputs GithubRuns.dispatch sends', () => {
    expect(loadWorkflow().inputs.map((i) => i.name)).toEqual([
      'environment',
      'deploy_prod',
      'promotion',
      'freight_sha',
    ]);
  });

  it.each(COMBINATIONS)(
    '$environment deploy_prod=$deployProd: job names, uploads and run-name match',
    async ({ environment, deployProd, scenario }) => {
      const run = standIn.startRun({
        environment,
        deployProd,
        promotion: `${environment}.01kcontract.abc1234`,
        scenario,
      });
      await standIn.runUntilIdle();
      expect(run.conclusion).toBe('success');

      // Every job's display name, as GitHub renders it from `name:`.
      for (const job of run.jobs) expect(jobName(job.key, environment)).toBe(job.name);

      // An all-passing run uploads exactly the expected result artifacts.
      const uploaded = run.artifacts
        .map((a) => a.name)
        .filter((n) => n !== 'toolchain' && n !== 'run-results')
        .sort();
      const expected = [...new Set(expectedArtifacts(environment, deployProd).map((a) => a.name))].sort();
      expect(uploaded).toEqual(expected);
      for (const name of expected) expect(parseArtifactName(name)?.kind).toBeDefined();

      // Each expected artifact comes from the job said to upload it.
      const uploader = new Map(
        run.artifacts.map((a) => [a.name, run.jobs.find((j) => j.key === a.jobKey)?.name]),
      );
      for (const e of expectedArtifacts(environment, deployProd)) {
        if (e.name !== 'plan-summary-aws-prod' || !deployProd)
          expect([e.name, uploader.get(e.name)]).toEqual([e.name, e.job]);
      }

      // The run-name the workflow renders is the one the bot parses.
      expect(run.displayTitle).toBe(
        runNameFor({ environment, deployProd, promotion: `${environment}.01kcontract.abc1234` }),
      );
      expect(parseRunName(run.displayTitle)?.promotion).toBe(`${environment}.01kcontract.abc1234`);
    },
  );

  it('a manual run (no promotion) is "promotion=manual"', async () => {
    const run = standIn.startRun({ environment: 'dev', deployProd: false });
    expect(run.displayTitle).toBe(runNameFor({ environment: 'dev', deployProd: false }));
    expect(run.displayTitle).toBe('terraform dev promotion=manual deploy_prod=no');
    await standIn.runUntilIdle();
  });

  it('GCP/Azure plan artifacts (repository variables) are read when present, never expected', async () => {
    const run = standIn.startRun({
      environment: 'dev',
      deployProd: false,
      scenario: {
        ...SCENARIOS['dev-pass'],
        name: 'clouds',
        vars: { GCP_ENABLED: 'true', AZURE_ENABLED: 'true' },
      },
    });
    await standIn.runUntilIdle();
    const extra = run.artifacts
      .map((a) => a.name)
      .filter((n) => /-(gcp|azure)-dev$/.test(n) && /^(gate-plan|plan-summary)/.test(n));
    expect(extra.sort()).toEqual([
      'gate-plan-azure-dev',
      'gate-plan-gcp-dev',
      'plan-summary-azure-dev',
      'plan-summary-gcp-dev',
    ]);
    const result = await runsFor(
      standIn,
      clientFor(standIn, 'app', captureLog('warn').logger),
    ).readRunArtifacts(run.id, {
      environment: 'dev',
      deployProd: false,
    });
    expect(result.problems).toEqual([]);
    expect(result.plans.map((p) => p.cloud).sort()).toEqual(['aws', 'azure', 'gcp']);
  });

  it('parseArtifactName reads gate names with dashes and refuses other names', () => {
    expect(parseArtifactName('gate-kargo-schema-all-all')).toEqual({
      kind: 'gate-result',
      gate: 'kargo-schema',
      cloud: 'all',
      environment: 'all',
    });
    expect(parseArtifactName('terraform-outputs-aws-prod')).toEqual({
      kind: 'terraform-outputs',
      cloud: 'aws',
      environment: 'prod',
    });
    expect(parseArtifactName('toolchain')).toBeUndefined();
    expect(parseArtifactName('plan-summary-extra-aws-dev')).toBeUndefined();
    expect(parseArtifactName('gate-aws-dev')).toBeUndefined();
  });
});
