// What an acknowledged slash command costs Redis (issue 13 §5): the real web process, signed requests, a
// redis-server of the test's own watched with MONITOR, counting what the web's connection sends.
//   - a new /promote costs exactly two commands: one EXISTS on its job's key (only to word the reply) and
//     the add script; no job is read back (the HGETALL of BullMQ's getJob was ~9 % of the ack path);
//   - a repeated request is still told "already queued", and still makes one job.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startWeb, type RunningProcess } from '../../src/processes/web.js';
import { newTriggerId } from '../../src/sandbox/slack-requests.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { postSlashCommand, webTestEnv } from '../support/web-process.js';

const SIGNING_SECRET = 'ack-cost-signing-secret-0123456789';
const PREFIX = 'ackcost';

/** The address of the connection the web process named `<prefix>-web` (queue/connection.ts). */
async function webConnectionAddress(admin: Redis): Promise<string> {
  const list = (await admin.client('LIST')) as string;
  const line = list.split('\n').find((l) => l.includes(` name=${PREFIX}-web `));
  const addr = line && /\baddr=(\S+)/.exec(line)?.[1];
  if (!addr) throw new Error(`no Redis connection named ${PREFIX}-web:\n${list}`);
  return addr;
}

describe('the Redis cost of one acknowledged slash command', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  let web: RunningProcess;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    admin = new Redis(redis.url, { maxRetriesPerRequest: null });
    const config = loadConfig(
      webTestEnv({
        redisUrl: redis.url,
        prefix: PREFIX,
        signingSecret: SIGNING_SECRET,
        token: 'xoxb-ack-cost-0000',
      }),
    );
    web = await startWeb(config, pino({ level: 'silent' }), { port: 0, metricsPort: 0 });
  }, 30_000);

  afterAll(async () => {
    await web?.stop();
    admin?.disconnect();
    await redis?.destroy();
  });

  const promote = async (triggerId: string, freight: string): Promise<string> => {
    const reply = await postSlashCommand(web.port, SIGNING_SECRET, {
      command: '/promote',
      text: `dev ${freight}`,
      userId: 'U0ALICE',
      channelId: 'C0DEPLOY001',
      triggerId,
    });
    expect(reply.status).toBe(200);
    return reply.text;
  };

  it('is one EXISTS and one add per new command, and no job read', async () => {
    // The first add loads BullMQ's scripts and does the connection's setup; count from the second on.
    expect(await promote(newTriggerId(), 'warm-up')).toMatch(/is queued/);
    // MONITOR shows every command as the server received it, with the client that sent it ("lua" for
    // the commands a script runs, which are the add's own business).
    const address = await webConnectionAddress(admin);
    const monitor = await admin.monitor();
    const sent: string[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === address) sent.push(String(args[0]).toLowerCase());
    });

    const commands = 5;
    for (let i = 0; i < commands; i += 1) {
      expect(await promote(newTriggerId(), `freight-${i}`)).toMatch(/is queued/);
    }
    // Every command the web sent came before its answers; an ECHO sent after the last answer marks the
    // end of what MONITOR has to show.
    const marker = `marker-${Date.now()}`;
    const seenMarker = new Promise<void>((resolve) => {
      monitor.on('monitor', (_time: string, args: string[]) => {
        if (args[1] === marker) resolve();
      });
    });
    await admin.echo(marker);
    await seenMarker;
    monitor.disconnect();

    expect(sent).not.toContain('hgetall');
    expect(sent.filter((c) => c === 'exists')).toHaveLength(commands);
    const others = sent.filter((c) => c !== 'exists');
    expect(others).toHaveLength(commands);
    expect(new Set(others).size).toBe(1); // the add script, once per command
    expect(sent).toHaveLength(2 * commands);
    expect(await admin.keys(`${PREFIX}:promotions:req-*`)).toHaveLength(commands + 1);
  });

  it('tells a repeated request it was already queued, and keeps one job', async () => {
    const triggerId = newTriggerId();
    expect(await promote(triggerId, 'twice-sent')).toMatch(/is queued/);
    const before = await admin.keys(`${PREFIX}:promotions:req-*`);
    expect(await promote(triggerId, 'twice-sent')).toMatch(/already queued/);
    expect(await admin.keys(`${PREFIX}:promotions:req-*`)).toHaveLength(before.length);
  });
});
