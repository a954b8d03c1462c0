// createGithubClient against the GitHub stand-in: App installation tokens (RS256 JWT checked against the
// App's public key), PATs, the throttling plugin's handling of primary and secondary rate limits (retried at
// most twice, retry-after honoured, then a GithubError the queue can re-enqueue with), the retry plugin on
// 5xx, and the mapping of failures to GithubError. Every request and answer is checked against GitHub's
// OpenAPI description (afterEach).
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync } from 'node:crypto';
import {
  createGithubClient,
  GithubError,
  GithubErrorCode,
  InstallationTokenCache,
  toGithubError,
} from '../../src/github/client.js';
import type { GithubStandIn } from '../../src/sandbox/github-standin.js';
import { appKeys, captureLog, clientFor, githubConfig, rejection, runsFor, startStandIn } from './helpers.js';

describe('createGithubClient', () => {
  let standIn: GithubStandIn;
  let runId: number;

  beforeAll(async () => {
    standIn = await startStandIn();
    runId = standIn.startRun({
      environment: 'dev',
      deployProd: false,
      promotion: 'dev.01kclient.abc1234',
    }).id;
    await standIn.runUntilIdle();
  });
  afterEach(() => {
    standIn.assertNoViolations();
    standIn.reset();
  });
  afterAll(async () => {
    await standIn.stop();
  });

  describe('GitHub App auth', () => {
    it('mints one installation token with an RS256 app JWT and uses it for every call', async () => {
      const log = captureLog();
      const runs = runsFor(standIn, clientFor(standIn, 'app', log.logger));
      for (let i = 0; i < 3; i += 1) expect((await runs.getRun(runId)).id).toBe(runId);

      const requests = standIn.requests();
      expect(requests.map((r) => [r.operationId, r.auth, r.status])).toEqual([
        ['apps/create-installation-access-token', 'app-jwt', 201],
        ['actions/get-workflow-run', 'installation', 200],
        ['actions/get-workflow-run', 'installation', 200],
        ['actions/get-workflow-run', 'installation', 200],
      ]);
      // Neither the private key nor a token ever reaches the log.
      expect(log.text()).not.toMatch(/BEGIN PRIVATE KEY|ghs_|eyJ/);
    });

    it('clients of one configuration share the installation token (a worker builds one client per job)', async () => {
      const log = captureLog();
      const config = githubConfig(standIn, 'app');
      for (let job = 0; job < 3; job += 1) {
        const runs = runsFor(standIn, createGithubClient(config, { logger: log.logger }));
        expect((await runs.getRun(runId)).id).toBe(runId);
      }
      // Another configuration (another App or installation) mints its own.
      await runsFor(standIn, clientFor(standIn, 'app', log.logger)).getRun(runId);
      expect(standIn.requests().map((r) => r.operationId)).toEqual([
        'apps/create-installation-access-token',
        'actions/get-workflow-run',
        'actions/get-workflow-run',
        'actions/get-workflow-run',
        'apps/create-installation-access-token',
        'actions/get-workflow-run',
      ]);
    });

    it('a shared token is not used in its last 5 minutes', () => {
      let now = Date.parse('2026-12-07T10:00:00Z');
      const cache = new InstallationTokenCache(() => now);
      cache.set('installation:1', 'ghs_x|2026-12-07T10:00:00Z|2026-12-07T11:00:00Z|all|actions|');
      expect(cache.get('installation:1')).toMatch(/^ghs_x\|/);
      now = Date.parse('2026-12-07T10:55:00Z');
      expect(cache.get('installation:1')).toBe('');
      expect(cache.get('installation:2')).toBe('');
    });

    it('a JWT signed with another key is refused: GithubError unauthorized, nothing retried', async () => {
      const other = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
      const log = captureLog();
      const runs = runsFor(
        standIn,
        clientFor(
          standIn,
          { kind: 'app', appId: '424242', privateKey: other.privateKey, installationId: '5550001' },
          log.logger,
        ),
      );
      const err = await rejection(runs.getRun(runId));
      expect(err).toBeInstanceOf(GithubError);
      expect((err as GithubError).code).toBe(GithubErrorCode.Unauthorized);
      expect((err as GithubError).permanent).toBe(true);
      expect(standIn.requests().map((r) => [r.operationId, r.status])).toEqual([
        ['apps/create-installation-access-token', 401],
      ]);
      expect(log.text()).not.toContain('BEGIN PRIVATE KEY');
    });

    it('an unknown installation is a 404 from the token endpoint', async () => {
      const runs = runsFor(
        standIn,
        clientFor(
          standIn,
          { kind: 'app', appId: '424242', privateKey: appKeys.privateKey, installationId: '999' },
          captureLog().logger,
        ),
      );
      const err = (await rejection(runs.getRun(runId))) as GithubError;
      expect(err.code).toBe(GithubErrorCode.NotFound);
    });
  });

  describe('PAT auth', () => {
    it('sends the token; a dispatch is attributed to its user', async () => {
      const runs = runsFor(standIn, clientFor(standIn, 'token', captureLog().logger));
      const { runId: id } = await runs.dispatch(
        { environment: 'dev', deployProd: false, promotion: 'dev.01kpat.abc1234' },
        { ref: 'main' },
      );
      expect(standIn.run(id as number)?.actor.login).toBe('deployer');
      expect(standIn.requests().every((r) => r.auth === 'token')).toBe(true);
      await standIn.runUntilIdle();
    });

    it('a wrong token is 401: GithubError unauthorized', async () => {
      const runs = runsFor(
        standIn,
        clientFor(standIn, { kind: 'token', token: 'ghp_wrong' }, captureLog().logger),
      );
      expect(((await rejection(runs.getRun(runId))) as GithubError).code).toBe(GithubErrorCode.Unauthorized);
    });
  });

  describe('rate limits (throttling plugin)', () => {
    it.each([403, 429] as const)(
      'a secondary rate limit (%i + retry-after) is retried after the wait',
      async (status) => {
        const log = captureLog();
        const runs = runsFor(standIn, clientFor(standIn, 'token', log.logger));
        standIn.injectRateLimit({
          kind: 'secondary',
          status,
          retryAfterSeconds: 2,
          times: 2,
          operationId: 'actions/get-workflow-run',
        });
        const started = Date.now();
        expect((await runs.getRun(runId)).id).toBe(runId);
        // 2 waits of retry-after 2 s, at 10 ms per second in this test.
        expect(Date.now() - started).toBeGreaterThanOrEqual(40);
        expect(standIn.requests().map((r) => r.status)).toEqual([status, status, 200]);
        const warnings = log.lines.filter((l) => l.kind === 'secondary');
        expect(warnings.map((w) => [w.retryCount, w.retryAfter, w.retrying])).toEqual([
          [0, 2, true],
          [1, 2, true],
        ]);
      },
    );

    it('gives up after two retries with a GithubError carrying the wait', async () => {
      const log = captureLog();
      const runs = runsFor(standIn, clientFor(standIn, 'token', log.logger));
      standIn.injectRateLimit({ kind: 'secondary', status: 429, retryAfterSeconds: 3, times: 5 });
      const err = (await rejection(runs.getRun(runId))) as GithubError;
      expect(err.code).toBe(GithubErrorCode.RateLimited);
      expect(err.permanent).toBe(false);
      expect(err.retryAfterSeconds).toBe(3);
      // 1 try + 2 retries; the retry plugin leaves 429 alone, so nothing is retried twice over.
      expect(standIn.requestCount()).toBe(3);
      expect(log.lines.filter((l) => l.kind === 'secondary').map((l) => l.retrying)).toEqual([
        true,
        true,
        false,
      ]);
    });

    it('a primary rate limit (remaining 0) is retried once the reset has passed', async () => {
      const runs = runsFor(standIn, clientFor(standIn, 'token', captureLog().logger));
      standIn.injectRateLimit({ kind: 'primary', retryAfterSeconds: 1, times: 1 });
      expect((await runs.getRun(runId)).id).toBe(runId);
      expect(standIn.requests().map((r) => r.status)).toEqual([403, 200]);
    });

    it('a wait longer than maxRetryAfterSeconds is not sat out in-process', async () => {
      const log = captureLog();
      const runs = runsFor(standIn, clientFor(standIn, 'token', log.logger));
      standIn.injectRateLimit({ kind: 'secondary', retryAfterSeconds: 3600, times: 1 });
      const err = (await rejection(runs.getRun(runId))) as GithubError;
      expect([err.code, err.retryAfterSeconds]).toEqual([GithubErrorCode.RateLimited, 3600]);
      expect(standIn.requestCount()).toBe(1);
    });
  });

  describe('transient failures (retry plugin)', () => {
    it('retries 5xx answers', async () => {
      const runs = runsFor(standIn, clientFor(standIn, 'token', captureLog().logger));
      standIn.injectError({ status: 502, times: 2, operationId: 'actions/get-workflow-run' });
      expect((await runs.getRun(runId)).id).toBe(runId);
      expect(standIn.requests().map((r) => r.status)).toEqual([502, 502, 200]);
    });

    it('does not retry 404: GithubError not_found', async () => {
      const runs = runsFor(standIn, clientFor(standIn, 'token', captureLog().logger));
      const err = (await rejection(runs.getRun(1))) as GithubError;
      expect(err.code).toBe(GithubErrorCode.NotFound);
      expect(standIn.requestCount()).toBe(1);
    });

    it('an unreachable GitHub is github_unavailable (transient)', async () => {
      // Port 9 (discard) is closed on loopback: a transport failure, retried once, then reported.
      const offline = runsFor(
        standIn,
        createGithubClient(
          {
            owner: 'acme',
            repo: 'x',
            workflow: 'terraform.yaml',
            apiUrl: 'http://127.0.0.1:9',
            auth: { kind: 'none' },
          },
          { logger: captureLog().logger, retryAfterUnitMs: 1, retries: 1 },
        ),
      );
      const err = (await rejection(offline.getRun(1))) as GithubError;
      expect(err.code).toBe(GithubErrorCode.Unavailable);
      expect(err.permanent).toBe(false);
    });
  });
});

describe('toGithubError', () => {
  const e = (status: number | undefined, message = 'x', headers: Record<string, string> = {}) => ({
    status,
    message,
    response: { headers },
  });
  it.each([
    [e(401), GithubErrorCode.Unauthorized],
    [e(403, 'Resource not accessible by integration'), GithubErrorCode.Forbidden],
    [e(403, 'You have exceeded a secondary rate limit'), GithubErrorCode.RateLimited],
    [e(403, 'x', { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '0' }), GithubErrorCode.RateLimited],
    [e(429), GithubErrorCode.RateLimited],
    [e(404), GithubErrorCode.NotFound],
    [e(409), GithubErrorCode.Rejected],
    [e(422), GithubErrorCode.Rejected],
    [e(500), GithubErrorCode.Unavailable],
    [e(503), GithubErrorCode.Unavailable],
    [new TypeError('fetch failed'), GithubErrorCode.Unavailable],
  ])('%j → %s', (error, code) => {
    expect(toGithubError(error, 'test').code).toBe(code);
  });

  it('keeps retry-after for the re-enqueue delay', () => {
    expect(toGithubError(e(429, 'x', { 'retry-after': '17' }), 'test').retryAfterSeconds).toBe(17);
  });
});
