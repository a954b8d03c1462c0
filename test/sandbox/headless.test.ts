// `npm run sandbox -- --scenario <name> --headless`: every scenario's story (src/sandbox/headless.ts) reaches
// all its checkpoints on the bot as it renders today, each scenario in its own sandbox; what the checkpoints
// look for is held to the product's own rendering.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { foldEvents, type Card } from '../../src/domain/card.js';
import type { CardEvent } from '../../src/domain/events.js';
import { renderCard } from '../../src/domain/render.js';
import { cardTellsSuccess, playStory, type StoryResult } from '../../src/sandbox/headless.js';
import { listScenarios, startSandbox, type Sandbox } from '../../src/sandbox/stack.js';
import { ev, happyPath } from '../domain/builders.js';
import { REDIS_URL } from '../support/redis.js';

const cardOf = (events: CardEvent[]): Card => {
  const card = foldEvents(events);
  if (!card) throw new Error('no card');
  return card;
};

describe('what the checkpoints look for, on the bot’s own rendering', () => {
  it('a succeeded card tells its success (how long, which freight); a running one does not', () => {
    const succeeded = renderCard(cardOf(happyPath()));
    expect(cardTellsSuccess(succeeded, 'frozen-tauntaun')).toBe(true);
    expect(cardTellsSuccess(succeeded, 'another-alias')).toBe(false);
    const running = renderCard(
      cardOf([ev.requested(0), ev.resolved(0), ev.created(1), ev.phase('Running', 2)]),
    );
    expect(cardTellsSuccess(running, 'frozen-tauntaun')).toBe(false);
  });
});

describe.each(listScenarios())('the headless story of scenario %s', (scenario) => {
  let sandbox: Sandbox;
  let logDir: string;
  let result: StoryResult;
  const log: string[] = [];

  beforeAll(async () => {
    logDir = mkdtempSync(path.join(os.tmpdir(), `sandbox-headless-${scenario}-`));
    sandbox = await startSandbox({
      scenario,
      gates: 'scenario',
      redisUrl: REDIS_URL,
      logFile: path.join(logDir, 'sandbox.log'),
    });
    result = await playStory(sandbox, { log: (line) => log.push(line) });
  }, 420_000);

  afterAll(async () => {
    await sandbox?.stop();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  }, 60_000);

  it('reaches every checkpoint', () => {
    expect(result.checkpoints.filter((c) => c.status !== 'reached')).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.checkpoints.length).toBeGreaterThan(3);
  });
});
