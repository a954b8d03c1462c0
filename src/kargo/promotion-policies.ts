// Kargo's auto-promotion switch per Stage: ProjectConfig spec.promotionPolicies, where the first policy
// whose selector matches the Stage decides (`stage`, or `stageSelector.name`: exact, `glob:` or
// `regex:`/`regexp:`; label selectors are not evaluated here). A change freeze pauses auto-promotion by
// putting its own policy first — `{stage: <name>, autoPromotionEnabled: false}` — and resumes by taking
// that policy out again, so whatever the project had configured is never rewritten.
export interface PromotionPolicy {
  stage?: string;
  stageSelector?: { name?: string; matchLabels?: Record<string, string> };
  autoPromotionEnabled?: boolean;
  [field: string]: unknown;
}

function selects(policy: PromotionPolicy, stage: string): boolean {
  const name = policy.stage || policy.stageSelector?.name || '';
  if (name.startsWith('glob:')) {
    const pattern = name
      .slice(5)
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    return new RegExp(`^${pattern}$`).test(stage);
  }
  if (name.startsWith('regex:') || name.startsWith('regexp:')) {
    try {
      return new RegExp(name.slice(name.indexOf(':') + 1)).test(stage);
    } catch {
      return false;
    }
  }
  return name === stage;
}

/** Whether new Freight is auto-promoted into `stage` under these policies. */
export function autoPromotionEnabled(policies: readonly PromotionPolicy[], stage: string): boolean {
  return policies.find((policy) => selects(policy, stage))?.autoPromotionEnabled === true;
}

const isFreezePolicy = (policy: PromotionPolicy, stage: string): boolean =>
  policy.stage === stage &&
  policy.autoPromotionEnabled === false &&
  Object.keys(policy).every((key) => key === 'stage' || key === 'autoPromotionEnabled');

/** The policies with auto-promotion of `stage` paused; undefined when it is not enabled (nothing to pause). */
export function pausedPolicies(
  policies: readonly PromotionPolicy[],
  stage: string,
): PromotionPolicy[] | undefined {
  if (!autoPromotionEnabled(policies, stage)) return undefined;
  return [{ stage, autoPromotionEnabled: false }, ...policies];
}

/**
 * The policies without the pause `pausedPolicies` put first; undefined when it is not there. The pause is
 * looked for past the head of the list too: someone may have put a policy of their own in front of it
 * while the freeze lasted, and theirs stays. It is the first freeze-shaped policy for the stage: when the
 * pause went in, auto-promotion was enabled, so no freeze-shaped policy for the stage came before it.
 */
export function resumedPolicies(
  policies: readonly PromotionPolicy[],
  stage: string,
): PromotionPolicy[] | undefined {
  const index = policies.findIndex((policy) => isFreezePolicy(policy, stage));
  if (index < 0) return undefined;
  return [...policies.slice(0, index), ...policies.slice(index + 1)];
}
