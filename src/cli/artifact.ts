// CLI that produces and validates the pipeline's machine-readable artifacts (schemas/). The GitHub
// workflow calls it after each tool; `npm run gates` uses the same converters in-process.
//
//   tsx src/cli/artifact.ts gate --gate trivy --cloud aws --env prod --enforcement hard --exit-code 1 \
//       --from trivy-json --input trivy.json --out out/gate-result.json
//   tsx src/cli/artifact.ts plan-summary --cloud aws --env dev --input tfplan.json --out out/plan-summary.json
//       (tfplan.json is `terraform show -json tfplan`; only counts, addresses and, for replaced and updated
//       resources, changed attribute paths with short values of attributes neither sensitive nor unknown)
//   tsx src/cli/artifact.ts outputs --cloud aws --env dev --input outputs.json --out out/terraform-outputs.json
//   tsx src/cli/artifact.ts drift --cloud aws --env dev --exit-code 2 --input tfplan.json --out out/drift.json \
//       [--detail "why the check could not run"]   (exit code of terraform plan -refresh-only -detailed-exitcode)
//   tsx src/cli/artifact.ts validate --kind gate-result out/gate-result.json
//
// Every artifact is validated against its schema before it is written; an invalid one is an error.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildGateResult, parseToolOutput, type ToolFormat } from '../artifacts/gate-result.js';
import { summariseDrift } from '../artifacts/drift.js';
import { summarisePlan } from '../artifacts/plan-summary.js';
import { collectOutputs } from '../artifacts/outputs.js';
import { runRefFromEnv } from '../artifacts/run-ref.js';
import { validateArtifact } from '../artifacts/validate.js';
import type {
  ArtifactKind,
  DeployCloud,
  DeployEnvironment,
  Enforcement,
  GateCloud,
  GateEnvironment,
  GateName,
} from '../artifacts/types.js';

class UsageError extends Error {}

const GATES: readonly GateName[] = [
  'opa',
  'conftest',
  'fmt',
  'validate',
  'tflint',
  'trivy',
  'actionlint',
  'kargo-schema',
  'plan',
  'apply',
];
const FORMATS: readonly ToolFormat[] = [
  'trivy-json',
  'conftest-json',
  'opa-test-json',
  'tflint-json',
  'none',
];
const KINDS: readonly ArtifactKind[] = ['gate-result', 'plan-summary', 'terraform-outputs', 'drift'];

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T {
  if (value === undefined) throw new UsageError(`--${name} is required (one of ${allowed.join(', ')})`);
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${name} ${value}: expected one of ${allowed.join(', ')}`);
  }
  return value as T;
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

function readInput(file: string): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8');
}

function writeValidated(kind: ArtifactKind, data: unknown, out: string): void {
  const checked = validateArtifact(kind, data);
  if (!checked.ok) {
    throw new Error(`refusing to write an invalid ${kind} artifact:\n  ${checked.errors.join('\n  ')}`);
  }
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(out, `${JSON.stringify(data, null, 2)}\n`);
}

function main(argv: string[]): number {
  const [command, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      gate: { type: 'string' },
      cloud: { type: 'string' },
      env: { type: 'string' },
      enforcement: { type: 'string' },
      'exit-code': { type: 'string' },
      from: { type: 'string' },
      input: { type: 'string' },
      out: { type: 'string' },
      'started-at': { type: 'string' },
      tool: { type: 'string' },
      'tool-version': { type: 'string' },
      kind: { type: 'string' },
      detail: { type: 'string' },
    },
  });
  const run = runRefFromEnv();
  const now = new Date().toISOString();

  switch (command) {
    case 'gate': {
      const exitCode = Number(required('exit-code', values['exit-code']));
      if (!Number.isInteger(exitCode)) throw new UsageError('--exit-code must be an integer');
      const format = values.from === undefined ? 'none' : oneOf('from', values.from, FORMATS);
      const parsed = parseToolOutput(
        format,
        format === 'none' ? '' : readInput(required('input', values.input)),
      );
      const gate = oneOf('gate', values.gate, GATES);
      const result = buildGateResult(
        {
          gate,
          cloud: oneOf<GateCloud>('cloud', values.cloud, ['aws', 'gcp', 'azure', 'all']),
          environment: oneOf<GateEnvironment>('env', values.env, ['dev', 'prod', 'bootstrap', 'all']),
          enforcement: oneOf<Enforcement>('enforcement', values.enforcement, ['hard', 'soft']),
          exitCode,
          ...(values['started-at'] ? { startedAt: values['started-at'] } : {}),
          finishedAt: now,
          tool: {
            name: values.tool ?? gate,
            ...(values['tool-version'] ? { version: values['tool-version'] } : {}),
          },
          ...(run ? { run } : {}),
        },
        parsed,
      );
      writeValidated('gate-result', result, required('out', values.out));
      console.log(
        `${result.gate} ${result.cloud}/${result.environment}: ${result.status} (${result.summary ?? ''})`,
      );
      return 0;
    }
    case 'plan-summary': {
      const plan = JSON.parse(readFileSync(required('input', values.input), 'utf8')) as unknown;
      const summary = summarisePlan(plan, {
        cloud: oneOf<DeployCloud>('cloud', values.cloud, ['aws', 'gcp', 'azure']),
        environment: oneOf<DeployEnvironment>('env', values.env, ['dev', 'prod']),
        generatedAt: now,
        ...(run ? { run } : {}),
      });
      writeValidated('plan-summary', summary, required('out', values.out));
      const c = summary.counts;
      const detailed = summary.changes?.length ?? 0;
      console.log(
        `plan ${summary.cloud}/${summary.environment}: +${c.add} ~${c.change} -${c.destroy}` +
          ` (${detailed} replaced/updated resource${detailed === 1 ? '' : 's'} detailed, sensitive values left out)`,
      );
      return 0;
    }
    case 'outputs': {
      const raw = JSON.parse(readFileSync(required('input', values.input), 'utf8')) as unknown;
      const outputs = collectOutputs(raw, {
        cloud: oneOf<DeployCloud>('cloud', values.cloud, ['aws', 'gcp', 'azure']),
        environment: oneOf<DeployEnvironment>('env', values.env, ['dev', 'prod']),
        generatedAt: now,
        ...(run ? { run } : {}),
      });
      writeValidated('terraform-outputs', outputs, required('out', values.out));
      console.log(
        `outputs ${outputs.cloud}/${outputs.environment}: ${Object.keys(outputs.outputs).length} kept, ${outputs.excludedSensitive.length} sensitive left out`,
      );
      return 0;
    }
    case 'drift': {
      const exitCode = Number(required('exit-code', values['exit-code']));
      if (!Number.isInteger(exitCode)) throw new UsageError('--exit-code must be an integer');
      // The plan JSON is read only when the plan found drift; it may be absent (plan failed or skipped).
      const text = exitCode === 2 && values.input ? readInput(values.input) : '';
      let plan: unknown;
      try {
        plan = text === '' ? undefined : (JSON.parse(text) as unknown);
      } catch {
        plan = undefined; // reported as errored: the plan JSON could not be read
      }
      const report = summariseDrift(plan, {
        cloud: oneOf<DeployCloud>('cloud', values.cloud, ['aws', 'gcp', 'azure']),
        environment: oneOf<DeployEnvironment>('env', values.env, ['dev', 'prod']),
        exitCode,
        checkedAt: now,
        ...(values.detail ? { detail: values.detail } : {}),
        ...(run ? { run } : {}),
      });
      writeValidated('drift', report, required('out', values.out));
      const c = report.counts;
      console.log(
        `drift ${report.cloud}/${report.environment}: ${report.status}` +
          (report.status === 'drifted'
            ? ` (${c.resources} resources: ${c.update} changed, ${c.delete} gone)`
            : '') +
          (report.detail ? ` — ${report.detail}` : ''),
      );
      return 0;
    }
    case 'validate': {
      const kind = oneOf('kind', values.kind, KINDS);
      if (positionals.length === 0) throw new UsageError('validate needs at least one file');
      let bad = 0;
      for (const file of positionals) {
        const checked = validateArtifact(kind, JSON.parse(readFileSync(file, 'utf8')) as unknown);
        if (checked.ok) console.log(`${file}: valid ${kind}`);
        else {
          bad += 1;
          console.error(`${file}: invalid ${kind}\n  ${checked.errors.join('\n  ')}`);
        }
      }
      return bad === 0 ? 0 : 1;
    }
    default:
      throw new UsageError(
        `unknown command '${command ?? ''}' (gate | plan-summary | outputs | drift | validate)`,
      );
  }
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`artifact: ${error.message}\nusage: see the header of src/cli/artifact.ts`);
    process.exitCode = 2;
  } else {
    console.error(`artifact: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
