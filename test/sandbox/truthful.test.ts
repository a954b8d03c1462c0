// The sandbox tells the truth (issue 11 §4): every time on a card is one that has passed (the GitHub
// stand-in keeps the wall clock; the sandbox's speed shortens the jobs).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConsoleClient,
  channelOf,
  findCard,
  shown,
  type ConsoleMessage,
  type ConsoleState,
} from '../../src/sandbox/headless.js';
import { SANDBOX_USERS, startSandbox, type Sandbox } from '../../src/sandbox/stack.js';
import { REDIS_URL } from '../support/redis.js';

const { requester } = SANDBOX_USERS;

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 150_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const everything = (state: ConsoleState): ConsoleMessage[] =>
  state.channels.flatMap((c) => c.messages.flatMap((m) => [m, ...m.replies]));

describe('the sandbox tells the truth', () => {
  let s: Sandbox;
  let logDir: string;
  let state: ConsoleState;

  beforeAll(async () => {
    logDir = mkdtempSync(path.join(os.tmpdir(), 'sandbox-truthful-'));
    // A failing dev run: its card, and the alert about it.
    s = await startSandbox({
      scenario: 'opa-fail',
      gates: 'scenario',
      redisUrl: REDIS_URL,
      logFile: path.join(logDir, 'sandbox.log'),
    });
    const api = new ConsoleClient(s.consoleUrl);
    await api.command(requester.id, '/promote dev');
    await waitFor('the dev card to fail', async () => {
      const c = findCard(await api.state(requester.id), 'dev');
      return c && /Promotion to dev failed/.test(c.text) ? c : undefined;
    });
    state = await waitFor('the alert in #infra-alerts', async () => {
      const now = await api.state(requester.id);
      return channelOf(now, 'alerts').messages.some((m) => /View the promotion card/.test(shown(m)))
        ? now
        : undefined;
    });
  }, 240_000);

  afterAll(async () => {
    await s?.stop();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  }, 60_000);

  it('shows no time that has not come yet: GitHub’s clock is the wall clock', () => {
    const now = Date.now();
    const shownTimes = everything(state).flatMap((m) =>
      [...shown(m).matchAll(/<!date\^(\d+)\^/g)].map((x) => Number(x[1]) * 1000),
    );
    expect(shownTimes.length).toBeGreaterThan(0);
    expect(shownTimes.filter((t) => t > now)).toEqual([]);
    const reported = s.github
      .runs()
      .flatMap((run) => [
        run.createdAt,
        run.updatedAt,
        ...run.jobs.flatMap((j) => [j.startedAt, j.completedAt]),
      ])
      .filter((t): t is number => t !== undefined);
    expect(reported.filter((t) => t > now)).toEqual([]);
  });
});
