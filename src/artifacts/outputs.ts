// Turns `terraform output -json` into the terraform-outputs artifact. Sensitive outputs are dropped and
// only named, so Slack can say "2 sensitive outputs hidden" without ever seeing them.
import type { DeployCloud, DeployEnvironment, RunRef, TerraformOutputs } from './types.js';

interface RawOutput {
  sensitive?: unknown;
  type?: unknown;
  value?: unknown;
}

export function collectOutputs(
  raw: unknown,
  meta: { cloud: DeployCloud; environment: DeployEnvironment; generatedAt?: string; run?: RunRef },
): TerraformOutputs {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error('terraform output -json: expected an object of outputs');
  }
  const outputs: TerraformOutputs['outputs'] = {};
  const excludedSensitive: string[] = [];
  for (const [name, entry] of Object.entries(raw as Record<string, RawOutput>)) {
    if (entry === null || typeof entry !== 'object') continue;
    // Anything not explicitly non-sensitive is treated as sensitive: fail closed.
    if (entry.sensitive !== false) {
      excludedSensitive.push(name);
      continue;
    }
    outputs[name] =
      entry.type === undefined
        ? { value: entry.value ?? null }
        : { value: entry.value ?? null, type: entry.type };
  }
  const result: TerraformOutputs = {
    schemaVersion: 1,
    cloud: meta.cloud,
    environment: meta.environment,
    outputs,
    excludedSensitive: excludedSensitive.sort(),
  };
  if (meta.generatedAt) result.generatedAt = meta.generatedAt;
  if (meta.run) result.run = meta.run;
  return result;
}
