// The sandbox tells the truth (issue 11 §4): every link the bot posts opens a page on this machine (runs and
// jobs from the GitHub stand-in, commits from the local repository; "view the card" is a Slack archive link,
// which the console opens in place, as Slack does: test/sandbox/console.test.ts), and every time on a card is
// one that has passed (the GitHub stand-in keeps the wall clock; the sandbox's speed shortens the jobs).
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
import { escapeHtml } from '../../src/sandbox/console/github-pages.js';
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

/** A message's Slack archive link (the bot's "view the card"). */
const SLACK_ARCHIVE = /^https:\/\/(?:[a-z0-9-]+\.)?slack\.com\/archives\//;

/** Every web address a message shows: `<url|label>` links in its text and blocks, and button URLs. */
function linksIn(m: { text: string; blocks?: unknown[] }): string[] {
  const text = shown(m);
  const links = [...text.matchAll(/<(https?:\/\/[^|>\s"]+)(?:\|[^>]*)?>/g)].map((x) => x[1]!);
  const buttons = [...text.matchAll(/"url":"(https?:\/\/[^"]+)"/g)].map((x) => x[1]!);
  return [...links, ...buttons];
}

const everything = (state: ConsoleState): ConsoleMessage[] =>
  state.channels.flatMap((c) => c.messages.flatMap((m) => [m, ...m.replies]));

describe('the sandbox tells the truth', () => {
  let s: Sandbox;
  let logDir: string;
  let state: ConsoleState;
  let card: ConsoleMessage;

  beforeAll(async () => {
    logDir = mkdtempSync(path.join(os.tmpdir(), 'sandbox-truthful-'));
    // A failing dev run: its card, and the alert that links back to it ("View the promotion card").
    s = await startSandbox({
      scenario: 'opa-fail',
      gates: 'scenario',
      redisUrl: REDIS_URL,
      logFile: path.join(logDir, 'sandbox.log'),
    });
    const api = new ConsoleClient(s.consoleUrl);
    await api.command(requester.id, '/promote dev');
    card = await waitFor('the dev card to fail', async () => {
      const c = findCard(await api.state(requester.id), 'dev');
      return c && /Promotion to dev failed/.test(c.text) ? c : undefined;
    });
    state = await waitFor('the alert in #infra-alerts, linking the card', async () => {
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

  it('links only pages on this machine, and each of them opens', async () => {
    const links = [...new Set(everything(state).flatMap(linksIn))].filter((url) => !SLACK_ARCHIVE.test(url));
    expect(links.length).toBeGreaterThan(0);
    const origin = new URL(s.consoleUrl).origin;
    expect(links.filter((url) => new URL(url).origin !== origin)).toEqual([]);
    for (const url of links) {
      const res = await fetch(url);
      expect({ url, status: res.status }).toEqual({ url, status: 200 });
      await res.arrayBuffer();
    }
  });

  it('the run link shows the run’s jobs and steps; a job link, that job; the commit link, the commit', async () => {
    const links = linksIn(findCard(state, 'dev') ?? card);
    const runUrl = links.find((url) => /\/actions\/runs\/\d+$/.test(url));
    const jobUrl = links.find((url) => /\/actions\/runs\/\d+\/job\/\d+$/.test(url));
    const commitUrl = links.find((url) => /\/commit\/[0-9a-f]{40}$/.test(url));
    expect([runUrl, jobUrl, commitUrl].every(Boolean)).toBe(true);
    const run = s.github.run(Number(/runs\/(\d+)/.exec(runUrl!)![1]))!;
    const runPage = await (await fetch(runUrl!)).text();
    for (const job of run.jobs.filter((j) => j.status === 'completed')) {
      expect(runPage).toContain(escapeHtml(job.name));
      for (const step of job.steps) expect(runPage).toContain(escapeHtml(step.name));
    }
    const jobId = Number(/job\/(\d+)/.exec(jobUrl!)![1]);
    expect(await (await fetch(jobUrl!)).text()).toContain(`class="job selected" id="job-${jobId}"`);
    const sha = /commit\/([0-9a-f]{40})/.exec(commitUrl!)![1]!;
    const commitPage = await (await fetch(commitUrl!)).text();
    expect(commitPage).toContain(`commit ${sha}`);
  });

  it('"view the card" names the card’s message, which the console opens in place', () => {
    const archived = everything(state)
      .flatMap(linksIn)
      .filter((url) => SLACK_ARCHIVE.test(url));
    expect(archived.length).toBeGreaterThan(0);
    for (const url of archived) {
      expect(url).toMatch(new RegExp(`/archives/${s.channels.deployments.id}/p${card.ts.replace('.', '')}$`));
    }
  });

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
