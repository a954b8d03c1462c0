// "Release hold" (domain/hold-release.ts): the button beside Kargo's auto-promotion hold in the status
// view, and the only values a click may carry back.
import { describe, expect, it } from '@jest/globals';
import { checkBlockKitLimits, type ButtonElement } from '../../src/domain/blockkit.js';
import {
  RELEASE_HOLD_ACTION_ID,
  parseReleaseHoldValue,
  releaseHoldButton,
  releaseHoldCommandText,
} from '../../src/domain/hold-release.js';
import { renderStatus, type StageStatus } from '../../src/domain/status.js';

const FULL_NAME = 'f5f87aa0c3a1d9e2b4c6d8e0f1a3b5c7d9e1f3a5';

const heldDev = (candidate?: StageStatus['candidate']): StageStatus => ({
  environment: 'dev',
  stage: 'dev',
  current: { freight: 'frozen-tauntaun' },
  active: [],
  recent: [],
  lock: { state: 'free' },
  holds: [
    {
      origin: 'Warehouse/gitops-infra',
      freightName: 'b'.repeat(40),
      freight: 'frozen-tauntaun',
      actor: 'alice',
      createdAt: '2026-12-07T10:00:00Z',
    },
  ],
  ...(candidate ? { candidate } : {}),
});

const buttonsOf = (blocks: readonly unknown[]): ButtonElement[] =>
  (blocks as Array<{ accessory?: ButtonElement; elements?: ButtonElement[] }>)
    .flatMap((b) => [...(b.accessory ? [b.accessory] : []), ...(b.elements ?? [])])
    .filter((e) => e.type === 'button');

describe('release hold', () => {
  it('reads back only what its own button carries: an environment and one freight word', () => {
    for (const release of [
      { environment: 'dev', freight: 'brave-wampa' },
      { environment: 'prod', freight: FULL_NAME },
    ] as const) {
      const button = releaseHoldButton(release);
      expect(button.action_id).toBe(RELEASE_HOLD_ACTION_ID);
      expect(parseReleaseHoldValue(button.value)).toEqual(release);
      expect(releaseHoldCommandText(release)).toBe(`${release.environment} ${release.freight}`);
    }
    for (const forged of [
      undefined,
      '',
      'dev',
      'staging brave-wampa',
      'dev brave-wampa override because',
      'prod latest; rm',
      'dev Brave-Wampa',
      `dev ${'a'.repeat(300)}`,
      'dev -leading-dash',
    ]) {
      expect(parseReleaseHoldValue(forged)).toBeUndefined();
    }
  });

  it('sits beside the hold in the status view, promoting the candidate by a reference /promote takes', () => {
    const view = renderStatus({
      stages: [heldDev({ word: 'f5f87aa', ref: FULL_NAME })],
      queued: 0,
      at: '2026-12-07T11:00:00Z',
    });
    const [button] = buttonsOf(view.blocks);
    expect(button).toMatchObject({ action_id: RELEASE_HOLD_ACTION_ID, value: `dev ${FULL_NAME}` });
    expect(button!.confirm?.text.text).toMatch(`promotes ${FULL_NAME} to dev`);
    expect(JSON.stringify(view.blocks)).toContain(`\`/promote dev ${FULL_NAME}\``);
    expect(checkBlockKitLimits(view.blocks)).toEqual([]);
  });

  it('is not offered when the stage has no newer freight to take', () => {
    const view = renderStatus({ stages: [heldDev()], queued: 0, at: '2026-12-07T11:00:00Z' });
    expect(JSON.stringify(view.blocks)).toMatch(/Auto-promotion of dev is held/);
    expect(buttonsOf(view.blocks)).toEqual([]);
  });
});
