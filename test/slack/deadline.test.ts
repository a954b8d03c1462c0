// The one budget for everything before Slack's ack (src/slack/deadline.ts): steps share it, the rejection
// names the step it ran out in, later steps fail at once, and close() leaves no timer behind (a timer left
// running would keep each request's objects alive for the whole budget).
import { describe, expect, it } from '@jest/globals';
import { Deadline, DeadlineExceeded } from '../../src/slack/deadline.js';

const after = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => setTimeout(() => resolve(value), ms));
const activeTimeouts = (): number =>
  process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('Deadline', () => {
  it('passes on what finishes in time, through several steps of one budget', async () => {
    const deadline = new Deadline(1_000);
    await expect(deadline.run(after(5, 'groups'), 'user groups')).resolves.toBe('groups');
    await expect(deadline.run(after(5, 'queued'), 'queue')).resolves.toBe('queued');
    deadline.close();
  });

  it('shares the budget: the second step gets only what the first left, and is named when it runs out', async () => {
    const deadline = new Deadline(120);
    await expect(deadline.run(after(60, 'groups'), 'user groups')).resolves.toBe('groups');
    const late = deadline.run(after(500, 'queued'), 'queue');
    await expect(late).rejects.toBeInstanceOf(DeadlineExceeded);
    await expect(late).rejects.toMatchObject({ what: 'queue' });
    // Spent: a further step fails at once, without waiting.
    await expect(deadline.run(after(5, 'x'), 'audit')).rejects.toMatchObject({ what: 'audit' });
    deadline.close();
  });

  it('leaves no timer running once closed', async () => {
    const before = activeTimeouts();
    const deadline = new Deadline(60_000);
    await deadline.run(Promise.resolve(1), 'user groups');
    await deadline.run(Promise.resolve(2), 'queue');
    expect(activeTimeouts()).toBe(before + 1); // one timer for the budget, not one per step
    deadline.close();
    expect(activeTimeouts()).toBe(before);
  });

  it('never leaves an unhandled rejection behind for a step it gave up on', async () => {
    const deadline = new Deadline(10);
    const failing = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('late failure')), 40),
    );
    await expect(deadline.run(failing, 'queue')).rejects.toBeInstanceOf(DeadlineExceeded);
    await after(60, undefined); // the late failure lands here; jest fails the test on an unhandled rejection
    deadline.close();
  });
});
