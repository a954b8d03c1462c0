// The GitHub stand-in's own controls: the real-time clock (speed factor) used by the sandbox, /rate_limit
// and the rate-limit headers, the scenario queue, and the guards on what a test may ask of it.
import { afterEach, describe, expect, it } from '@jest/globals';
import { DEFAULT_STANDIN_PAT, type GithubStandIn } from '../../src/sandbox/github-standin.js';
import { scenarioNamed } from '../../src/sandbox/github-scenarios.js';
import { captureLog, clientFor, runsFor, startStandIn } from './helpers.js';

describe('GitHub stand-in controls', () => {
  let standIn: GithubStandIn | undefined;
  afterEach(async () => {
    standIn?.assertNoViolations();
    await standIn?.stop();
    standIn = undefined;
  });

  it('runs at a speed factor: a dev run (~5 s of GitHub time) finishes in about a second of real time at 100x', async () => {
    standIn = await startStandIn({ speed: 100 });
    const runs = runsFor(standIn, clientFor(standIn, 'token', captureLog('warn').logger));
    const { runId } = await runs.dispatch({ environment: 'dev', deployProd: false }, { ref: 'main' });
    const deadline = Date.now() + 5000;
    let status = '';
    while (Date.now() < deadline && status !== 'completed') {
      await new Promise((r) => setTimeout(r, 50));
      status = (await runs.getRun(runId as number)).status ?? '';
    }
    expect(status).toBe('completed');
  });

  it('answers /rate_limit and sends x-ratelimit-* headers that count down', async () => {
    standIn = await startStandIn();
    const octokit = clientFor(standIn, 'token', captureLog('warn').logger);
    const first = await octokit.rest.rateLimit.get();
    expect(first.data.resources.core).toMatchObject({ limit: 5000 });
    const a = await fetch(`${standIn.url}/rate_limit`, {
      headers: { authorization: `token ${DEFAULT_STANDIN_PAT}` },
    });
    const b = await fetch(`${standIn.url}/rate_limit`, {
      headers: { authorization: `token ${DEFAULT_STANDIN_PAT}` },
    });
    expect(Number(b.headers.get('x-ratelimit-remaining'))).toBe(
      Number(a.headers.get('x-ratelimit-remaining')) - 1,
    );
    expect(b.headers.get('x-ratelimit-resource')).toBe('core');
  });

  it('plays queued scenarios in order, then the default per environment', async () => {
    standIn = await startStandIn();
    const runs = runsFor(standIn, clientFor(standIn, 'token', captureLog('warn').logger));
    standIn.queueScenario('cancelled');
    const first = await runs.dispatch({ environment: 'dev', deployProd: false }, { ref: 'main' });
    const second = await runs.dispatch({ environment: 'prod', deployProd: true }, { ref: 'main' });
    expect(standIn.run(first.runId as number)?.scenario.name).toBe('cancelled');
    expect(standIn.run(second.runId as number)?.scenario.name).toBe('prod-pass');
    await standIn.runUntilIdle();
  });

  it('refuses what the workflow would refuse, and unknown scenarios', async () => {
    standIn = await startStandIn();
    const s = standIn;
    expect(() => s.startRun({ environment: 'staging' as 'dev', deployProd: false })).toThrow(
      "Provided value 'staging' for input 'environment' not in the list of allowed values",
    );
    expect(() => scenarioNamed('nope')).toThrow(
      /unknown scenario "nope" \(known: dev-pass, prod-pass, prod-trivy-fail/,
    );
    await expect(s.advance(-1)).rejects.toThrow('advance() takes a duration ≥ 0');
  });
});
