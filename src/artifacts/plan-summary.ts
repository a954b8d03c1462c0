// Reduces `terraform show -json tfplan` to the plan-summary artifact: counts and addresses only, so no
// resource attribute (and no secret the plan holds in clear) ever leaves the job.
import type { DeployCloud, DeployEnvironment, PlanSummary, RunRef } from './types.js';

export const MAX_ADDRESSES_PER_ACTION = 500;

interface ResourceChange {
  address?: unknown;
  mode?: unknown;
  change?: { actions?: unknown };
}

export function summarisePlan(
  plan: unknown,
  meta: { cloud: DeployCloud; environment: DeployEnvironment; generatedAt?: string; run?: RunRef },
): PlanSummary {
  const root = (plan ?? {}) as { resource_changes?: unknown; terraform_version?: unknown };
  if (!Array.isArray(root.resource_changes) && root.resource_changes !== undefined) {
    throw new Error('plan JSON: resource_changes is not an array');
  }
  const buckets = {
    add: [] as string[],
    change: [] as string[],
    destroy: [] as string[],
    replace: [] as string[],
  };
  for (const rc of (root.resource_changes ?? []) as ResourceChange[]) {
    if (rc.mode === 'data') continue;
    const address = typeof rc.address === 'string' ? rc.address : '(unknown address)';
    const actions = Array.isArray(rc.change?.actions) ? (rc.change.actions as string[]) : [];
    const has = (a: string): boolean => actions.includes(a);
    // Terraform reports a replacement as ["delete","create"] or ["create","delete"] and counts it as
    // one add and one destroy; we keep that arithmetic and list it under replace as well.
    if (has('create') && has('delete')) {
      buckets.replace.push(address);
      buckets.add.push(address);
      buckets.destroy.push(address);
    } else if (has('create')) buckets.add.push(address);
    else if (has('delete')) buckets.destroy.push(address);
    else if (has('update')) buckets.change.push(address);
  }
  const counts = {
    add: buckets.add.length,
    change: buckets.change.length,
    destroy: buckets.destroy.length,
    replace: buckets.replace.length,
  };
  const truncated = Object.values(buckets).some((list) => list.length > MAX_ADDRESSES_PER_ACTION);
  const summary: PlanSummary = {
    schemaVersion: 1,
    cloud: meta.cloud,
    environment: meta.environment,
    counts,
    resources: {
      add: buckets.add.slice(0, MAX_ADDRESSES_PER_ACTION),
      change: buckets.change.slice(0, MAX_ADDRESSES_PER_ACTION),
      destroy: buckets.destroy.slice(0, MAX_ADDRESSES_PER_ACTION),
      replace: buckets.replace.slice(0, MAX_ADDRESSES_PER_ACTION),
    },
  };
  if (truncated) summary.truncated = true;
  if (typeof root.terraform_version === 'string') summary.terraformVersion = root.terraform_version;
  if (meta.generatedAt) summary.generatedAt = meta.generatedAt;
  if (meta.run) summary.run = meta.run;
  return summary;
}
