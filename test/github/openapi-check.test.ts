// The OpenAPI check of the GitHub stand-in, tested for what it must catch: unknown routes, bad parameters,
// bad bodies, undeclared statuses, answers that do not match their schema, webhook payloads that do not
// match x-webhooks, tokens sent to artifact storage. Also how it reads the description (lazy, cached) and
// how it turns OpenAPI 3.0 schemas into JSON Schema.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { GithubOpenApi, toJsonSchema } from '../../src/sandbox/github-openapi.js';
import { DEFAULT_STANDIN_PAT, type GithubStandIn } from '../../src/sandbox/github-standin.js';
import { captureLog, clientFor, rejection, runsFor, startStandIn, WORKFLOW } from './helpers.js';

describe('the stand-in catches what does not match the description', () => {
  let standIn: GithubStandIn;
  let runId: number;
  const auth = { authorization: `token ${DEFAULT_STANDIN_PAT}` };

  beforeAll(async () => {
    standIn = await startStandIn();
    runId = standIn.startRun({ environment: 'dev', deployProd: false }).id;
    await standIn.runUntilIdle();
  });
  afterEach(() => standIn.reset());
  afterAll(async () => {
    await standIn.stop();
  });

  it('an unknown route: 404 and an unknown-operation violation', async () => {
    const res = await fetch(`${standIn.url}/repos/acme/gitops-infra-pipeline/actions/runs/${runId}/explode`, {
      headers: auth,
    });
    expect(res.status).toBe(404);
    expect(standIn.violations()).toEqual([
      expect.objectContaining({
        kind: 'unknown-operation',
        method: 'GET',
        path: `/repos/acme/gitops-infra-pipeline/actions/runs/${runId}/explode`,
      }),
    ]);
    expect(() => standIn.assertNoViolations()).toThrow(/1 OpenAPI violation/);
  });

  it('a bad request: parameters of the wrong type or outside their enum, undeclared query parameters', async () => {
    const octokit = clientFor(standIn, 'token', captureLog('warn').logger);
    await octokit.request('GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs', {
      owner: standIn.owner,
      repo: standIn.repo,
      workflow_id: WORKFLOW,
      // Wrong on purpose: the check must object, whatever Octokit's types say.
      per_page: 'lots' as unknown as number,
      status: 'exploded' as unknown as 'queued',
      colour: 'blue',
    });
    const [violation] = standIn.violations();
    expect(violation?.kind).toBe('request');
    expect(violation?.operationId).toBe('actions/list-workflow-runs');
    expect(violation?.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^query parameter per_page="lots": \(root\) must be integer/),
        expect.stringMatching(
          /^query parameter status="exploded": \(root\) must be equal to one of the allowed values/,
        ),
        'query parameter colour is not declared for actions/list-workflow-runs',
      ]),
    );
  });

  it('a bad body: 422, and a request violation', async () => {
    const res = await fetch(
      `${standIn.url}/repos/acme/gitops-infra-pipeline/actions/workflows/${WORKFLOW}/dispatches`,
      {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: { environment: 'dev' }, return_run_details: 'please' }),
      },
    );
    expect(res.status).toBe(422);
    expect(standIn.violations()[0]?.problems).toEqual([
      "body (root) must have required property 'ref'",
      'body /return_run_details must be boolean',
    ]);
    expect(standIn.runs().filter((r) => r.id > runId)).toEqual([]); // nothing was started
  });

  it('a bad answer: a body that breaks the response schema is a response violation', async () => {
    const runs = runsFor(standIn, clientFor(standIn, 'token', captureLog('warn').logger));
    const good = await runs.getRun(runId);
    const { node_id: _dropped, ...withoutNodeId } = good;
    standIn.injectResponse({
      operationId: 'actions/get-workflow-run',
      status: 200,
      body: { ...withoutNodeId, id: 'forty-two' },
    });
    await runs.getRun(runId); // the client takes it; the check does not
    const [violation] = standIn.violations();
    expect([violation?.kind, violation?.operationId, violation?.status]).toEqual([
      'response',
      'actions/get-workflow-run',
      200,
    ]);
    expect(violation?.problems).toEqual([
      "body (root) must have required property 'node_id'",
      'body /id must be integer',
    ]);
  });

  it('a bad answer: a success status the operation does not declare', async () => {
    standIn.injectResponse({ operationId: 'actions/cancel-workflow-run', status: 200, body: {} });
    const octokit = clientFor(standIn, 'token', captureLog('warn').logger);
    await octokit.rest.actions.cancelWorkflowRun({ owner: standIn.owner, repo: standIn.repo, run_id: runId });
    expect(standIn.violations()[0]?.problems).toEqual([
      'status 200 is not declared for actions/cancel-workflow-run (declared: 202, 409)',
    ]);
  });

  it('a bad answer: a 302 without Location, and a generic error whose body is not JSON', async () => {
    standIn.injectResponse({ operationId: 'actions/download-artifact', status: 302 });
    standIn.injectResponse({
      operationId: 'actions/get-workflow-run',
      status: 503,
      body: 'upstream timeout',
    });
    const runs = runsFor(standIn, clientFor(standIn, 'token', captureLog('warn').logger, { retries: 0 }));
    const artifact = (await runs.listArtifacts(runId))[0] as { id: number };
    await rejection(runs.downloadArtifact(artifact.id));
    await rejection(runs.getRun(runId));
    expect(standIn.violations().map((v) => v.problems)).toEqual([
      ['header Location is missing from the 302 answer'],
      ['status 503 body is not JSON'],
    ]);
  });

  it('a token sent to artifact storage is a violation', async () => {
    const octokit = clientFor(standIn, 'token', captureLog('warn').logger);
    const artifact = (await runsFor(standIn, octokit).listArtifacts(runId))[0] as { id: number };
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
    await fetch((redirect.headers as Record<string, string>).location as string, { headers: auth });
    expect(standIn.violations()).toEqual([
      expect.objectContaining({
        kind: 'storage',
        problems: ['an Authorization header was sent to artifact storage'],
      }),
    ]);
  });

  it('generic errors the description omits (e.g. 404 on GET a run) pass with a basic-error body', async () => {
    const runs = runsFor(standIn, clientFor(standIn, 'token', captureLog('warn').logger));
    await rejection(runs.getRun(123));
    expect(standIn.requests().map((r) => [r.operationId, r.status])).toEqual([
      ['actions/get-workflow-run', 404],
    ]);
    expect(standIn.violations()).toEqual([]);
  });
});

describe('GithubOpenApi', () => {
  const api = GithubOpenApi.load();

  it('is read once per process, from @octokit/openapi (api.github.com, OpenAPI 3.0.3)', () => {
    expect(GithubOpenApi.load()).toBe(api);
    expect(api.file).toMatch(/@octokit\/openapi\/generated\/api\.github\.com\.json$/);
    expect(api.operationCount).toBeGreaterThan(1000);
    expect(api.loadMs).toBeLessThan(5000);
  });

  it('compiles validators lazily, once per operation and status', () => {
    const body = JSON.stringify(api.example('rate-limit-overview'));
    const before = api.compileMs;
    expect(api.checkResponse('rate-limit/get', { status: 200, body, headers: {} })).toEqual([]);
    const first = api.compileMs - before;
    expect(api.checkResponse('rate-limit/get', { status: 200, body, headers: {} })).toEqual([]);
    expect(api.compileMs - before).toBe(first);
  });

  it('matches the most literal template', () => {
    expect(api.match('GET', '/repos/a/b/actions/runs/1/jobs')?.operation.operationId).toBe(
      'actions/list-jobs-for-workflow-run',
    );
    expect(api.match('GET', '/repos/a/b/actions/runs/1')?.operation.operationId).toBe(
      'actions/get-workflow-run',
    );
    expect(api.match('GET', '/repos/a/b/actions/runs/1/attempts/2/jobs')?.params).toEqual({
      owner: 'a',
      repo: 'b',
      run_id: '1',
      attempt_number: '2',
    });
    expect(api.match('GET', '/repos/a/b/actions/artifacts/5/zip')?.params.archive_format).toBe('zip');
    expect(api.match('PATCH', '/repos/a/b/actions/runs/1')).toBeUndefined();
  });

  it('accepts `created` search qualifiers (>=, <, ranges, dates) and nothing else', () => {
    const m = api.match('GET', '/repos/a/b/actions/workflows/w.yaml/runs');
    if (!m) throw new Error('no match');
    const check = (created: string) =>
      api.checkRequest(m, { query: new URLSearchParams({ created }), rawBody: '' });
    for (const ok of [
      '>=2026-11-27T10:00:00Z',
      '<2026-11-27',
      '2026-11-01..2026-11-27',
      '2026-11-27T10:00:00Z..*',
    ])
      expect(check(ok)).toEqual([]);
    expect(check('>=yesterday')).toEqual([
      'query parameter created="yesterday": (root) must match format "date-time"',
    ]);
  });

  it('checks webhook payloads against x-webhooks', () => {
    expect(api.checkWebhook('workflow_job', 'queued', { action: 'queued' })).toEqual(
      expect.arrayContaining(["payload (root) must have required property 'workflow_job'"]),
    );
    expect(api.checkWebhook('workflow_job', 'exploded', {})).toEqual([
      'no webhook "workflow-job-exploded" in the OpenAPI description',
    ]);
  });
});

describe('toJsonSchema (OpenAPI 3.0 → JSON Schema)', () => {
  it('nullable with a type becomes a null type, and null joins the enum', () => {
    expect(toJsonSchema({ type: 'string', nullable: true, enum: ['success', 'failure'] }, new Set())).toEqual(
      {
        type: ['string', 'null'],
        enum: ['success', 'failure', null],
      },
    );
  });

  it('nullable without a type wraps the schema in anyOf [schema, null]', () => {
    const refs = new Set<string>();
    expect(
      toJsonSchema({ nullable: true, allOf: [{ $ref: '#/components/schemas/simple-user' }] }, refs),
    ).toEqual({
      anyOf: [
        { allOf: [{ $ref: 'https://openapi.github.local/components/schemas/simple-user' }] },
        { type: 'null' },
      ],
    });
    expect([...refs]).toEqual(['simple-user']);
  });

  it('converts nested schemas, not property maps named like keywords', () => {
    expect(
      toJsonSchema(
        {
          type: 'object',
          properties: { nullable: { type: 'boolean' }, type: { type: 'string', nullable: true } },
          example: { x: 1 },
        },
        new Set(),
      ),
    ).toEqual({
      type: 'object',
      properties: { nullable: { type: 'boolean' }, type: { type: ['string', 'null'] } },
    });
  });
});
