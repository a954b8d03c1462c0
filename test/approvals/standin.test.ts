// The GitHub stand-in's approvals side on its own: who may call what (installation tokens only for the
// custom rule, user tokens only for reviewers), progress comments, the wait timer an approval does not
// shorten, and the web listener that only serves the two OAuth endpoints (anything else is a violation).
import { afterEach, describe, expect, it } from '@jest/globals';
import { createGithubClient } from '../../src/github/client.js';
import { DEFAULT_STANDIN_PAT, type GithubStandIn } from '../../src/sandbox/github-standin.js';
import { captureLog, githubConfig, startStandIn } from '../github/helpers.js';

let standIn: GithubStandIn | undefined;

afterEach(async () => {
  await standIn?.stop();
  standIn = undefined;
});

const repo = (s: GithubStandIn) => ({ owner: s.owner, repo: s.repo });

describe('GitHub stand-in: approvals', () => {
  it('custom rule: only the installation may decide; a progress comment keeps it waiting; nothing waiting is 422', async () => {
    standIn = await startStandIn({ environments: { prod: { customRule: true } } });
    const logger = captureLog('warn').logger;
    const app = createGithubClient(githubConfig(standIn, 'app'), { logger });
    const pat = createGithubClient(githubConfig(standIn, 'token'), { logger });
    const run = standIn.startRun({ environment: 'prod', deployProd: true, promotion: 'p1' });
    await standIn.runUntilIdle();
    expect(standIn.pendingGates(run.id)).toEqual([
      { environment: 'prod', customRule: true, reviewers: false },
    ]);
    const body = { ...repo(standIn), run_id: run.id, environment_name: 'prod' };
    await expect(
      pat.rest.actions.reviewCustomGatesForRun({ ...body, state: 'approved' }),
    ).rejects.toMatchObject({ status: 403 });
    await app.rest.actions.reviewCustomGatesForRun({ ...body, comment: 'OPA passed; waiting for a human' });
    expect(standIn.pendingGates(run.id)).toHaveLength(1);
    await app.rest.actions.reviewCustomGatesForRun({ ...body, state: 'approved', comment: 'ok' });
    expect(standIn.reviews().map((r) => r.state)).toEqual(['comment', 'approved']);
    await expect(
      app.rest.actions.reviewCustomGatesForRun({ ...body, state: 'approved', comment: 'again' }),
    ).rejects.toMatchObject({
      status: 422,
    });
    await expect(app.rest.users.getAuthenticated()).rejects.toMatchObject({ status: 403 });
    await standIn.runUntilIdle();
    expect(standIn.run(run.id)?.conclusion).toBe('success');
    standIn.assertNoViolations();
  });

  it("reviewers: a PAT of a listed reviewer decides; the environment's wait timer still holds the job", async () => {
    standIn = await startStandIn({
      tokens: { [DEFAULT_STANDIN_PAT]: 'reviewer-gh' },
      environments: { prod: { reviewers: ['reviewer-gh'], waitTimerMinutes: 10 } },
    });
    const pat = createGithubClient(githubConfig(standIn, 'token'), { logger: captureLog('warn').logger });
    const run = standIn.startRun({ environment: 'prod', deployProd: true, promotion: 'p2' });
    await standIn.runUntilIdle();
    const waitingSince = standIn.now();
    const { data: pending } = await pat.rest.actions.getPendingDeploymentsForRun({
      ...repo(standIn),
      run_id: run.id,
    });
    expect(pending).toEqual([
      expect.objectContaining({
        wait_timer: 10,
        current_user_can_approve: true,
        environment: expect.objectContaining({ name: 'prod' }),
      }),
    ]);
    const { data } = await pat.rest.actions.reviewPendingDeploymentsForRun({
      ...repo(standIn),
      run_id: run.id,
      environment_ids: [pending[0]?.environment.id ?? 0],
      state: 'approved',
      comment: 'ok',
    });
    expect(data[0]).toMatchObject({ environment: 'prod' });
    await standIn.runUntilIdle();
    const apply = standIn.run(run.id)?.jobs.find((j) => j.name === 'aws prod apply');
    expect(apply?.startedAt).toBeGreaterThanOrEqual(waitingSince + 10 * 60_000);
    standIn.assertNoViolations();
  });

  it('the web listener serves the device flow and the token endpoint only', async () => {
    standIn = await startStandIn({ oauth: { clientId: 'Iv1test' } });
    const res = await fetch(`${standIn.webUrl}/login/oauth/authorize`, { method: 'POST' });
    expect(res.status).toBe(404);
    expect(standIn.violations()).toEqual([
      expect.objectContaining({ kind: 'unknown-operation', path: '/login/oauth/authorize' }),
    ]);
    const wrongClient = await fetch(`${standIn.webUrl}/login/device/code`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'client_id=someone-else',
    });
    expect(await wrongClient.json()).toMatchObject({ error: 'incorrect_client_credentials' });
    standIn.reset();
  });
});
