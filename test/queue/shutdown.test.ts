// A stopping worker waits for its running jobs only so long (src/queue/shutdown.ts): a job stuck on a dead
// dependency used to keep Worker.close() — and the whole process — from ever finishing. What is cut off is
// not lost: another worker takes it over once its lock expires, as after a crash.
import { afterAll, describe, expect, it } from '@jest/globals';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { closeWorker } from '../../src/queue/shutdown.js';
import { REDIS_URL } from '../support/redis.js';

const prefix = `test-shutdown-${process.pid}-${Date.now()}`;
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
const opened: Array<{ close(): Promise<unknown> }> = [];

afterAll(async () => {
  for (const o of opened.reverse()) await o.close().catch(() => undefined);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const queueNamed = (name: string) => {
  const queue = new Queue(name, { connection: redis, prefix });
  opened.push(queue);
  return queue;
};

describe('closeWorker', () => {
  it('lets a running job finish when it finishes within the grace period', async () => {
    const queue = queueNamed('drains');
    const finished: string[] = [];
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const worker = new Worker(
      'drains',
      async (job: Job) => {
        started();
        await new Promise((r) => setTimeout(r, 300));
        finished.push(job.id!);
      },
      { connection: redis, prefix },
    );
    const job = await queue.add('quick', {});
    await running;
    expect(await closeWorker(worker, 10_000)).toBe('drained');
    expect(finished).toEqual([job.id]);
    expect(await (await queue.getJob(job.id!))!.isCompleted()).toBe(true);
  });

  it('closes without waiting for a job that never ends, and another worker takes that job over', async () => {
    const queue = queueNamed('stuck');
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    // The first worker's job waits on something that never answers (a dead GitHub, say).
    const stuck = new Worker(
      'stuck',
      async () => {
        started();
        await new Promise(() => undefined);
      },
      { connection: redis, prefix, lockDuration: 1_000, stalledInterval: 1_000 },
    );
    const job = await queue.add('forever', { n: 1 }, { attempts: 1 });
    await running;
    expect(await closeWorker(stuck, 300)).toBe('cut-off');

    // Its lock is no longer renewed: a second worker finds the job stalled and runs it again.
    const rerun = new Promise<Job>((resolve) => {
      const rescuer = new Worker('stuck', async (j: Job) => resolve(j), {
        connection: redis,
        prefix,
        lockDuration: 1_000,
        stalledInterval: 1_000,
      });
      opened.push(rescuer);
    });
    const taken = await rerun;
    expect(taken.id).toBe(job.id);
    expect(taken.data).toEqual({ n: 1 });
  }, 20_000);
});
