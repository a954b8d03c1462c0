// The freeze's change to Kargo's promotion policies, pure: first match decides, the pause goes first and is
// taken out again, and nothing the project configured is rewritten.
import { describe, expect, it } from '@jest/globals';
import {
  autoPromotionEnabled,
  pausedPolicies,
  resumedPolicies,
  type PromotionPolicy,
} from '../../src/kargo/promotion-policies.js';

const project: PromotionPolicy[] = [
  { stageSelector: { name: 'dev' }, autoPromotionEnabled: true },
  { stageSelector: { name: 'glob:pr-*' }, autoPromotionEnabled: true },
  { stage: 'prod', autoPromotionEnabled: false },
];

describe('promotion policies', () => {
  it('the first policy that selects the stage decides (exact, glob, regex)', () => {
    expect(autoPromotionEnabled(project, 'dev')).toBe(true);
    expect(autoPromotionEnabled(project, 'pr-42')).toBe(true);
    expect(autoPromotionEnabled(project, 'prod')).toBe(false);
    expect(autoPromotionEnabled(project, 'staging')).toBe(false);
    expect(
      autoPromotionEnabled([{ stageSelector: { name: 'regex:^d.v$' }, autoPromotionEnabled: true }], 'dev'),
    ).toBe(true);
    expect(
      autoPromotionEnabled([{ stageSelector: { name: 'regex:(' }, autoPromotionEnabled: true }], 'dev'),
    ).toBe(false);
  });

  it('a pause goes first and wins; resuming takes exactly it out again', () => {
    const paused = pausedPolicies(project, 'dev')!;
    expect(paused).toEqual([{ stage: 'dev', autoPromotionEnabled: false }, ...project]);
    expect(autoPromotionEnabled(paused, 'dev')).toBe(false);
    expect(autoPromotionEnabled(paused, 'pr-42')).toBe(true);
    expect(resumedPolicies(paused, 'dev')).toEqual(project);
  });

  it('resumes even when someone put a policy of their own in front of the pause, and keeps theirs', () => {
    const paused = pausedPolicies(project, 'dev')!;
    const theirs: PromotionPolicy = { stageSelector: { name: 'glob:pr-*' }, autoPromotionEnabled: false };
    expect(resumedPolicies([theirs, ...paused], 'dev')).toEqual([theirs, ...project]);
    // Only the pause goes, not a freeze-shaped policy the project kept further down.
    const projectWithOwn: PromotionPolicy[] = [...project, { stage: 'dev', autoPromotionEnabled: false }];
    const pausedOwn = pausedPolicies(projectWithOwn, 'dev')!;
    expect(resumedPolicies([theirs, ...pausedOwn], 'dev')).toEqual([theirs, ...projectWithOwn]);
  });

  it('changes nothing where nothing auto-promotes, or nothing was paused', () => {
    expect(pausedPolicies(project, 'prod')).toBeUndefined();
    expect(pausedPolicies([], 'dev')).toBeUndefined();
    expect(resumedPolicies(project, 'dev')).toBeUndefined();
    // A policy the project wrote itself is never taken for the freeze's.
    expect(
      resumedPolicies([{ stage: 'dev', autoPromotionEnabled: false, note: 'ours' }], 'dev'),
    ).toBeUndefined();
  });
});
