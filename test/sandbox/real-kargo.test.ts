// `npm run sandbox` with the pinned tools installed runs the REAL Kargo v1.11.2 controller (kargo: 'auto'):
// a local kube-apiserver + etcd, Kargo's webhooks server and controllers, the Warehouse on a loopback git
// server serving this repository, the Stages' http steps on the GitHub stand-in. Without the tools it falls
// back to the simulator and says why; this suite then skips locally (one loud line) and fails on CI.
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { realKargoMissing } from '../../src/sandbox/kargo-real.js';
import { newTriggerId, signedSlackRequest, slashCommandBody } from '../../src/sandbox/slack-requests.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/stack.js';
import { REDIS_URL } from '../support/redis.js';

const missing = realKargoMissing();
const NAME = 'the sandbox on the real Kargo controller';

async function waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

if (missing.length > 0 && !process.env.CI) {
  process.stderr.write(
    `\n[kargo] SKIPPING "${NAME}": the real Kargo controller needs ${missing.join('; ')}\n`,
  );
}

(missing.length > 0 && !process.env.CI ? describe.skip : describe)(NAME, () => {
  let s: Sandbox;
  let logDir: string;

  beforeAll(async () => {
    logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandbox-real-kargo-'));
    s = await startSandbox({
      scenario: 'pass',
      gates: 'scenario',
      kargo: 'auto',
      redisUrl: REDIS_URL,
      logFile: path.join(logDir, 'sandbox.log'),
    });
  }, 240_000);

  afterAll(async () => {
    await s?.stop();
    fs.rmSync(logDir, { recursive: true, force: true });
  }, 60_000);

  const send = async (command: string, text: string, user: string): Promise<string> => {
    const body = slashCommandBody({
      command,
      text,
      userId: user,
      channelId: s.channels.deployments.id,
      triggerId: newTriggerId(),
      responseUrl: s.slack.createResponseUrl({ channel: s.channels.deployments.id, user }),
    });
    const signed = signedSlackRequest(s.signingSecret, body);
    const res = await fetch(`${s.botUrl}/slack/events`, { method: 'POST', headers: signed.headers, body });
    return res.text();
  };

  it('runs the real controller when the tools are installed, and says so', () => {
    expect(missing).toEqual([]);
    expect(s.kargoMode).toBe('real');
    expect(s.kargoDetail).toMatch(/real Kargo v1\.11\.2 controller/);
    expect(s.kargo.kubeconfigYaml).toMatch(/server: https:\/\/127\.0\.0\.1:\d+/);
  });

  it('Kargo auto-promotes the discovered freight to dev, and the bot’s card follows it to Succeeded', async () => {
    const dev = s.channels.deployments.id;
    await waitFor(
      'the auto-promotion’s card to succeed',
      () => s.slack.messages(dev).find((m) => /Promotion to dev succeeded/.test(m.text)),
      150_000,
    );
    // Its links stay on the machine: the run's page and, through the loopback git server, the commit's.
    const card = s.slack.messages(dev).find((m) => /Promotion to dev succeeded/.test(m.text))!;
    const links = [...JSON.stringify(card.blocks ?? []).matchAll(/<(https?:\/\/[^|>]+)\|/g)].map(
      (m) => m[1]!,
    );
    const commit = links.find((url) => /\/commit\/[0-9a-f]{40}$/.test(url));
    const run = links.find((url) => /\/actions\/runs\/\d+$/.test(url));
    expect([commit, run].every((url) => url && new URL(url).hostname === '127.0.0.1')).toBe(true);
    const commitPage = await fetch(commit!);
    expect(commitPage.status).toBe(200);
    expect(new URL(commitPage.url).origin).toBe(new URL(s.consoleUrl).origin);
    expect(await commitPage.text()).toContain(`commit ${/[0-9a-f]{40}$/.exec(commit!)![0]}`);
    expect((await fetch(run!)).status).toBe(200);

    const runs = s.github.runs();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.inputs).toMatchObject({ environment: 'dev', deploy_prod: 'no' });
    expect(runs[0]!.inputs.promotion).toMatch(/^dev\.[0-9a-z]{26}\.[0-9a-f]{7}$/);
    s.github.assertNoViolations();
  }, 180_000);

  it('/freight lists the freight the Warehouse made from this repository, as verified in dev', async () => {
    await send('/freight', '', s.users.requester.id);
    const list = await waitFor(
      'the freight list',
      () =>
        s.slack.ephemeral({ user: s.users.requester.id }).find((m) => /Freight in gitops-infra/.test(m.text)),
      30_000,
    );
    expect(JSON.stringify(list.blocks ?? list.text)).toMatch(/verified/i);
  });
});
