// An outage is one incident with one alert, on real Redis: every failure during it only pauses longer;
// recovery updates the same alert; a dependency that flaps (a restart) stays one incident, and a new
// outage minutes later is a new alert.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Outages } from '../../src/worker/outages.js';
import { REDIS_URL } from '../support/redis.js';
import { deleteKeys, uniquePrefix } from '../slack/test-support.js';

describe('Outages', () => {
  let redis: Redis;
  const prefix = uniquePrefix('outages');
  beforeAll(() => {
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('raises one alert per incident, pauses longer on every failure, and updates that alert on recovery', async () => {
    const alerts = new Map<string, string[]>();
    let clock = Date.parse('2026-12-07T10:00:00Z');
    const outages = new Outages({
      redis,
      prefix,
      logger: pino({ level: 'silent' }),
      alerts: { upsert: async (key, text) => void alerts.set(key, [...(alerts.get(key) ?? []), text]) },
      backoff: { baseMs: 100, maxMs: 1000 },
      now: () => clock,
    });
    const pauses: number[] = [];
    for (let i = 0; i < 6; i += 1) pauses.push(await outages.down('kubernetes', 'connect ECONNREFUSED'));
    expect(pauses).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(await outages.isDown('kubernetes')).toBe(true);
    clock += 60_000;
    await outages.up('kubernetes');
    await outages.up('kubernetes'); // a second worker seeing it answer: nothing more
    expect(await outages.isDown('kubernetes')).toBe(false);
    expect([...alerts.keys()]).toHaveLength(1);
    const [texts] = [...alerts.values()];
    expect(texts).toEqual([
      expect.stringMatching(/^:red_circle: \*The Kubernetes API \(Kargo\) is unreachable\* since 10:00 UTC/),
      expect.stringMatching(
        /^:large_green_circle: .* answers again\* \(unreachable from 10:00 to 10:01 UTC, about 1 min, 6 failed attempts\)/,
      ),
    ]);

    // It flaps (down again a moment later, up, down): still the same incident and the same message.
    clock += 5_000;
    await outages.down('kubernetes', 'EOF');
    await outages.up('kubernetes');
    await outages.down('kubernetes', 'EOF');
    expect([...alerts.keys()]).toHaveLength(1);
    expect(alerts.values().next().value?.at(-1)).toMatch(/is unreachable\* again since 10:00 UTC/);

    // Recovered, and down again two minutes later: a new incident gets a new alert (an edit notifies nobody).
    await outages.up('kubernetes');
    clock += 2 * 60_000;
    await outages.down('kubernetes', 'connect ECONNREFUSED');
    expect([...alerts.keys()]).toHaveLength(2);
    expect([...alerts.values()][1]).toEqual([
      expect.stringMatching(/^:red_circle: \*The Kubernetes API \(Kargo\) is unreachable\* since 10:03 UTC/),
    ]);
  });
});
