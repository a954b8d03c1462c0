// One deadline for the ack, and a truthful answer: the real web process against a Redis that stops
// answering for 4 s (DEBUG SLEEP on a private redis-server, as a slow or failing-over Redis does).
//   - Slack still gets an answer within its 3 s (Bolt answers 404 itself after 3,001 ms without an ack, so a
//     200 carrying the bot's text proves the ack came in time);
//   - the answer does not claim "nothing was started": the command may still run — and it does, once
//     Redis wakes up;
//   - with Redis healthy the same command is simply queued.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startWeb, type RunningProcess } from '../../src/processes/web.js';
import { newTriggerId } from '../../src/sandbox/slack-requests.js';
import { freePort, postSlashCommand, webTestEnv } from '../support/web-process.js';

const SIGNING_SECRET = 'slow-redis-signing-secret-0123456789';

describe('the ack against a slow Redis', () => {
  let redisProcess: ChildProcess;
  let redisPort = 0;
  let admin: Redis;
  let web: RunningProcess;
  let dir = '';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'slow-redis-'));
    redisPort = await freePort();
    redisProcess = spawn(
      'redis-server',
      [
        '--port',
        String(redisPort),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--enable-debug-command',
        'yes',
      ],
      { stdio: 'ignore' },
    );
    admin = new Redis({ port: redisPort, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: null });
    for (let i = 0; i < 50; i += 1) {
      try {
        await admin.connect();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(await admin.ping()).toBe('PONG');
    const config = loadConfig(
      webTestEnv({
        redisUrl: `redis://127.0.0.1:${redisPort}`,
        prefix: 'slowack',
        signingSecret: SIGNING_SECRET,
        token: 'xoxb-slow-redis-0000',
      }),
    );
    web = await startWeb(config, pino({ level: 'silent' }), { port: 0, metricsPort: 0 });
  }, 30_000);

  afterAll(async () => {
    await web?.stop();
    admin?.disconnect();
    redisProcess?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const promote = (triggerId: string): Promise<{ status: number; text: string }> =>
    postSlashCommand(web.port, SIGNING_SECRET, {
      command: '/promote',
      text: 'dev brave-wampa',
      userId: 'U0ALICE',
      channelId: 'C0DEPLOY001',
      triggerId,
    });

  it('queues at once when Redis answers', async () => {
    const reply = await promote(newTriggerId());
    expect(reply.status).toBe(200);
    expect(reply.text).toMatch(/is queued/);
  });

  it('answers within Slack’s window when Redis stalls, says the command may still run, and it does', async () => {
    const sleeper = new Redis({ port: redisPort, host: '127.0.0.1' });
    const asleep = sleeper.call('DEBUG', 'SLEEP', '4');
    await new Promise((r) => setTimeout(r, 100)); // the server is blocked now
    const triggerId = newTriggerId();
    const reply = await promote(triggerId);
    expect(reply.status).toBe(200);
    expect(reply.text).toMatch(/could not confirm/);
    expect(reply.text).toMatch(/It may still run/);
    expect(reply.text).not.toMatch(/Nothing was started/);
    await asleep;
    sleeper.disconnect();
    // Redis is awake: the command the web process sent is there, as the answer warned.
    let jobs: string[] = [];
    for (let i = 0; i < 50 && jobs.length < 2; i += 1) {
      jobs = await admin.keys('slowack:promotions:req-*');
      if (jobs.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(jobs).toHaveLength(2);
  }, 30_000);
});
