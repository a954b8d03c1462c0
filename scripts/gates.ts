// `npm run gates`: every pipeline gate that needs no cloud credentials, run for real with the pinned tools.
//
//   npm run gates                     all gates
//   npm run gates -- --only trivy,opa one or more gate names
//   npm run gates -- --list           the gates and their commands, without running them
//
// Prints one line per gate and writes each result as a gate-result artifact (schemas/) under
// .cache/gates/, the same contract the GitHub workflow publishes. Exits 1 when a hard gate fails.
// Tools come from tools/install.sh's cache; a missing tool is an error with the command that installs it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  buildGateResult,
  parseToolOutput,
  type ParsedFindings,
  type ToolFormat,
} from '../src/artifacts/gate-result.js';
import { validateArtifact } from '../src/artifacts/validate.js';
import type {
  Enforcement,
  GateCloud,
  GateEnvironment,
  GateName,
  GateResult,
} from '../src/artifacts/types.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(repoRoot, '.cache', 'gates');
const scratchDir = path.join(outDir, 'raw');

/** Minimum OPA test coverage, in percent (issue: "opa test --coverage at 90% or more"). */
export const OPA_COVERAGE_THRESHOLD = 90;

interface TerraformRoot {
  dir: string;
  cloud: GateCloud;
  environment: GateEnvironment;
  /** Trivy enforcement: dev is deliberately relaxed for the demo and only reported. */
  trivy: Enforcement;
  /**
   * Conftest with --fail-on-warn: on prod (and on the bootstrap, which holds prod's IAM) "cannot be
   * verified" is a failure, never a pass.
   */
  failOnWarn: boolean;
}

const TERRAFORM_ROOTS: readonly TerraformRoot[] = [
  { dir: 'terraform/aws/dev', cloud: 'aws', environment: 'dev', trivy: 'soft', failOnWarn: false },
  { dir: 'terraform/aws/prod', cloud: 'aws', environment: 'prod', trivy: 'hard', failOnWarn: true },
  { dir: 'terraform/bootstrap', cloud: 'aws', environment: 'bootstrap', trivy: 'hard', failOnWarn: true },
  { dir: 'terraform/gcp', cloud: 'gcp', environment: 'all', trivy: 'hard', failOnWarn: false },
  { dir: 'terraform/azure', cloud: 'azure', environment: 'all', trivy: 'hard', failOnWarn: false },
];

/** Conftest on Terraform: every policy namespace, the approved lists, never the downloaded modules. */
const CONFTEST_ARGS = [
  'test',
  '--no-color',
  '--policy',
  'policy',
  '--data',
  'policy/data',
  '--all-namespaces',
  '--ignore',
  '(^|/)\\.terraform(/|$)',
  '--output',
  'json',
];

/** Independent review cases (policy/testdata/review/<case>): each must be refused by the policies. */
const REVIEW_DIR = 'policy/testdata/review';

interface Gate {
  gate: GateName;
  cloud: GateCloud;
  environment: GateEnvironment;
  enforcement: Enforcement;
  tool: string;
  /** Human description of what runs, shown by --list and on failure. */
  describe: string;
  run: (bin: ToolBin) => GateRun;
}

interface GateRun {
  exitCode: number;
  parsed: ParsedFindings;
  /** Captured output shown when the gate does not pass. */
  log: string;
}

type ToolBin = (name: string) => string;

function toolBinDir(): string {
  if (process.env.GITOPS_TOOLS_BIN) return process.env.GITOPS_TOOLS_BIN;
  const out = spawnSync('bash', [path.join(repoRoot, 'tools', 'install.sh'), '--bin-dir'], {
    encoding: 'utf8',
  });
  return out.stdout.trim();
}

function makeToolBin(binDir: string): ToolBin {
  return (name) => {
    const cached = path.join(binDir, name);
    if (existsSync(cached)) return cached;
    const onPath = spawnSync('bash', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
    if (onPath) return onPath;
    throw new MissingToolError(name);
  };
}

class MissingToolError extends Error {
  constructor(readonly tool: string) {
    super(
      `${tool} is not installed: run \`npm run tools:install\` (builds the pinned toolchain into ${toolBinDir()})`,
    );
  }
}

/** Offline environment for every tool: no update checks, no telemetry, no plugin downloads. */
function toolEnv(binDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CHECKPOINT_DISABLE: '1',
    TRIVY_SKIP_CHECK_UPDATE: 'true',
    TRIVY_DISABLE_TELEMETRY: 'true',
    TFLINT_PLUGIN_DIR: path.join(path.dirname(binDir), 'tflint-plugins'),
    PATH: `${binDir}:${process.env.PATH ?? ''}`,
  };
}

let env: NodeJS.ProcessEnv = process.env;

function exec(
  command: string,
  args: string[],
  options: { cwd?: string } = {},
): { code: number; stdout: string; stderr: string } {
  const out = spawnSync(command, args, {
    cwd: options.cwd ?? repoRoot,
    env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (out.error) return { code: 127, stdout: '', stderr: out.error.message };
  return { code: out.status ?? 1, stdout: out.stdout, stderr: out.stderr };
}

/** Gate whose verdict is the exit code alone; output lines become the findings' messages. */
function plainRun(code: number, stdout: string, stderr: string, id: string): GateRun {
  const lines = `${stdout}\n${stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const parsed: ParsedFindings = {
    findings:
      code === 0 ? [] : lines.slice(0, 20).map((message) => ({ id, severity: 'HIGH' as const, message })),
    toolErrors: code === 127 ? [stderr.trim() || 'command not found'] : [],
  };
  return { exitCode: code, parsed, log: `${stdout}${stderr}` };
}

function toolRun(format: ToolFormat, code: number, json: string, stderr: string): GateRun {
  const parsed = parseToolOutput(format, json);
  // A tool that exited non-zero without a readable report could not run: say why.
  if (code !== 0 && parsed.toolErrors.length > 0)
    parsed.toolErrors.push(stderr.trim().split('\n').slice(-3).join(' '));
  return { exitCode: code, parsed, log: stderr };
}

function gates(): Gate[] {
  const list: Gate[] = [];
  // Every root is always gated: a missing directory makes its gates error instead of silently passing.
  const terraformDirs = TERRAFORM_ROOTS;

  list.push({
    gate: 'fmt',
    cloud: 'all',
    environment: 'all',
    enforcement: 'hard',
    tool: 'terraform',
    describe: 'terraform fmt -check -recursive -diff terraform',
    run: (bin) => {
      const r = exec(bin('terraform'), ['fmt', '-check', '-recursive', '-diff', 'terraform']);
      return plainRun(r.code, r.stdout, r.stderr, 'terraform-fmt');
    },
  });

  for (const root of terraformDirs) {
    list.push({
      gate: 'tflint',
      cloud: root.cloud,
      environment: root.environment,
      enforcement: 'hard',
      tool: 'tflint',
      describe: `tflint --chdir ${root.dir} --config .tflint.hcl (rulesets terraform, aws, google, azurerm)`,
      run: (bin) => {
        const r = exec(bin('tflint'), [
          '--chdir',
          root.dir,
          '--config',
          path.join(repoRoot, '.tflint.hcl'),
          '--format',
          'json',
        ]);
        return toolRun('tflint-json', r.code, r.stdout, r.stderr);
      },
    });
  }

  for (const root of terraformDirs) {
    list.push({
      gate: 'trivy',
      cloud: root.cloud,
      environment: root.environment,
      enforcement: root.trivy,
      tool: 'trivy',
      describe: `trivy config --severity HIGH,CRITICAL --exit-code 1 ${root.dir}${root.trivy === 'soft' ? ' (report only)' : ''}`,
      run: (bin) => {
        const report = path.join(scratchDir, `trivy-${root.dir.replaceAll('/', '_')}.json`);
        rmSync(report, { force: true });
        const r = exec(bin('trivy'), [
          'config',
          '--quiet',
          '--skip-check-update',
          '--skip-version-check',
          '--disable-telemetry',
          '--severity',
          'HIGH,CRITICAL',
          '--exit-code',
          '1',
          '--format',
          'json',
          '--output',
          report,
          root.dir,
        ]);
        return toolRun(
          'trivy-json',
          r.code,
          existsSync(report) ? readFileSync(report, 'utf8') : '',
          r.stderr,
        );
      },
    });
  }

  for (const root of terraformDirs) {
    list.push({
      gate: 'conftest',
      cloud: root.cloud,
      environment: root.environment,
      enforcement: 'hard',
      tool: 'conftest',
      describe: `conftest test --combine --policy policy --data policy/data --all-namespaces${root.failOnWarn ? ' --fail-on-warn' : ''} ${root.dir} (.tf and .tf.json)`,
      run: (bin) => {
        const r = exec(bin('conftest'), [
          ...CONFTEST_ARGS,
          '--combine',
          ...(root.failOnWarn ? ['--fail-on-warn'] : []),
          root.dir,
        ]);
        return toolRun('conftest-json', r.code, r.stdout, r.stderr);
      },
    });
  }

  list.push({
    gate: 'conftest',
    cloud: 'all',
    environment: 'all',
    enforcement: 'hard',
    tool: 'conftest',
    describe: `conftest --fail-on-warn on ${REVIEW_DIR}/* (every case must be refused) and policy/testdata/{pass,fail}/plan.json`,
    run: (bin) => runPolicyRegression(bin('conftest')),
  });

  list.push({
    gate: 'opa',
    cloud: 'all',
    environment: 'all',
    enforcement: 'hard',
    tool: 'opa',
    describe: `opa fmt --fail, opa check --strict, opa test, coverage >= ${OPA_COVERAGE_THRESHOLD}% (policy/)`,
    run: (bin) => runOpa(bin('opa')),
  });

  list.push({
    gate: 'actionlint',
    cloud: 'all',
    environment: 'all',
    enforcement: 'hard',
    tool: 'actionlint',
    describe: 'actionlint .github/workflows/*.yaml (with shellcheck when installed)',
    run: (bin) => {
      const r = exec(bin('actionlint'), ['-no-color', '-pyflakes=']);
      return plainRun(r.code, r.stdout, r.stderr, 'actionlint');
    },
  });

  list.push({
    gate: 'kargo-schema',
    cloud: 'all',
    environment: 'all',
    enforcement: 'hard',
    tool: 'jest',
    describe: 'kargo/ validated against the vendored Kargo CRDs (test/pipeline/kargo-manifests.test.ts)',
    run: () => {
      const r = exec(process.execPath, [
        '--experimental-vm-modules',
        path.join(repoRoot, 'node_modules', 'jest', 'bin', 'jest.js'),
        '--silent',
        'test/pipeline/kargo-manifests.test.ts',
      ]);
      return plainRun(r.code, '', r.code === 0 ? '' : r.stderr, 'kargo-schema');
    },
  });
  return list;
}

interface ConftestResult {
  namespace?: string;
  failures?: { msg: string }[] | null;
  warnings?: { msg: string }[] | null;
}

/** Findings of one conftest run, or null when it produced no readable report (the tool failed). */
function conftestFindings(stdout: string): { failures: number; warnings: number } | null {
  try {
    const results = JSON.parse(stdout) as ConftestResult[];
    return {
      failures: results.reduce((n, r) => n + (r.failures?.length ?? 0), 0),
      warnings: results.reduce((n, r) => n + (r.warnings?.length ?? 0), 0),
    };
  } catch {
    return null;
  }
}

/**
 * The policies against known inputs: every review case (a directory of .tf/.tf.json, or a plan JSON)
 * must be refused with --fail-on-warn, the realistic pass plan must be clean and the fail plan refused.
 * A case that passes is a hole the policies let through again.
 */
function runPolicyRegression(conftest: string): GateRun {
  const findings: ParsedFindings['findings'] = [];
  const toolErrors: string[] = [];
  const check = (target: string, expectRefused: boolean): void => {
    const isPlan = target.endsWith('.json');
    const r = exec(conftest, [...CONFTEST_ARGS, '--fail-on-warn', ...(isPlan ? [] : ['--combine']), target]);
    const found = conftestFindings(r.stdout);
    if (found === null) {
      toolErrors.push(`${target}: conftest gave no report (exit ${r.code}): ${r.stderr.trim().slice(-300)}`);
      return;
    }
    const refused = r.code !== 0 && found.failures + found.warnings > 0;
    if (expectRefused && !refused)
      findings.push({
        id: 'policy-regression',
        severity: 'CRITICAL',
        message: `${target}: not refused by the policies`,
      });
    if (!expectRefused && (r.code !== 0 || found.failures + found.warnings > 0))
      findings.push({
        id: 'policy-regression',
        severity: 'HIGH',
        message: `${target}: expected clean, got ${found.failures} failures and ${found.warnings} warnings`,
      });
  };
  const reviewRoot = path.join(repoRoot, REVIEW_DIR);
  const cases = existsSync(reviewRoot) ? readdirSync(reviewRoot).sort() : [];
  if (cases.length === 0) toolErrors.push(`${REVIEW_DIR} holds no review cases`);
  for (const name of cases) {
    const dir = path.join(REVIEW_DIR, name);
    check(existsSync(path.join(repoRoot, dir, 'plan.json')) ? path.join(dir, 'plan.json') : dir, true);
  }
  check('policy/testdata/pass/plan.json', false);
  check('policy/testdata/fail/plan.json', true);
  const letThrough = findings.filter((f) => f.severity === 'CRITICAL').length;
  return {
    exitCode: findings.length > 0 || toolErrors.length > 0 ? 1 : 0,
    parsed: {
      findings,
      toolErrors,
      summary: `${cases.length - letThrough}/${cases.length} review cases refused; pass plan ${findings.some((f) => f.severity === 'HIGH') ? 'NOT clean' : 'clean'}`,
    },
    log: toolErrors.join('\n'),
  };
}

function runOpa(opa: string): GateRun {
  const fmt = exec(opa, ['fmt', '--fail', '--list', 'policy']);
  const check = exec(opa, ['check', '--strict', 'policy']);
  const test = exec(opa, ['test', '--format', 'json', 'policy']);
  const coverage = exec(opa, ['test', '--coverage', '--format', 'json', 'policy']);
  const parsed = parseToolOutput('opa-test-json', test.stdout);
  let percent = NaN;
  try {
    percent = (JSON.parse(coverage.stdout) as { coverage?: number }).coverage ?? NaN;
  } catch {
    parsed.toolErrors.push(`opa coverage report unreadable: ${coverage.stderr.trim()}`);
  }
  if (fmt.code !== 0) {
    parsed.findings.push({
      id: 'opa-fmt',
      severity: 'HIGH',
      message: `not formatted (run opa fmt -w policy): ${fmt.stdout.trim()}`,
    });
  }
  if (check.code !== 0) {
    parsed.findings.push({
      id: 'opa-check',
      severity: 'HIGH',
      message: `${check.stdout}${check.stderr}`.trim().slice(0, 1000),
    });
  }
  const lowCoverage = !(percent >= OPA_COVERAGE_THRESHOLD);
  if (lowCoverage) {
    parsed.findings.push({
      id: 'opa-coverage',
      severity: 'HIGH',
      message: `coverage ${Number.isNaN(percent) ? 'unknown' : percent.toFixed(1)}% is below ${OPA_COVERAGE_THRESHOLD}%`,
    });
  }
  parsed.summary = `${parsed.summary ?? ''}; coverage ${Number.isNaN(percent) ? '?' : percent.toFixed(1)}%`;
  const failed = fmt.code !== 0 || check.code !== 0 || test.code !== 0 || lowCoverage;
  return {
    exitCode: failed ? 1 : 0,
    parsed,
    log: `${fmt.stdout}${check.stdout}${check.stderr}${test.stderr}`,
  };
}

function label(result: GateResult): string {
  switch (result.status) {
    case 'passed':
      return 'PASS ';
    case 'soft-failed':
      return 'WARN ';
    case 'failed':
      return 'FAIL ';
    case 'errored':
      return 'ERROR';
    case 'skipped':
      return 'SKIP ';
  }
}

function main(): number {
  const { values } = parseArgs({
    options: { only: { type: 'string' }, list: { type: 'boolean' }, verbose: { type: 'boolean' } },
  });
  const binDir = toolBinDir();
  env = toolEnv(binDir);
  const bin = makeToolBin(binDir);
  let selected = gates();
  if (values.only) {
    const names = values.only.split(',').map((s) => s.trim());
    const unknown = names.filter((n) => !selected.some((g) => g.gate === n));
    if (unknown.length > 0) {
      console.error(
        `gates: unknown gate ${unknown.join(', ')} (known: ${[...new Set(selected.map((g) => g.gate))].join(', ')})`,
      );
      return 2;
    }
    selected = selected.filter((g) => names.includes(g.gate));
  }
  if (values.list) {
    for (const g of selected)
      console.log(
        `${g.gate.padEnd(12)} ${`${g.cloud}/${g.environment}`.padEnd(15)} ${g.enforcement}  ${g.describe}`,
      );
    return 0;
  }
  mkdirSync(scratchDir, { recursive: true });

  let hardFailures = 0;
  for (const g of selected) {
    const startedAt = new Date();
    let run: GateRun;
    try {
      run = g.run(bin);
    } catch (error) {
      const message =
        error instanceof MissingToolError ? error.message : `could not run: ${(error as Error).message}`;
      run = { exitCode: 127, parsed: { findings: [], toolErrors: [message] }, log: message };
    }
    const result = buildGateResult(
      {
        gate: g.gate,
        cloud: g.cloud,
        environment: g.environment,
        enforcement: g.enforcement,
        exitCode: run.exitCode,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        tool: { name: g.tool },
      },
      run.parsed,
    );
    const checked = validateArtifact('gate-result', result);
    if (!checked.ok)
      throw new Error(`gate result for ${g.gate} breaks its schema: ${checked.errors.join('; ')}`);
    writeFileSync(
      path.join(outDir, `gate-${g.gate}-${g.cloud}-${g.environment}.json`),
      `${JSON.stringify(result, null, 2)}\n`,
    );

    const seconds = (result.durationSeconds ?? 0).toFixed(1).padStart(6);
    console.log(
      `${label(result)} ${g.gate.padEnd(12)} ${`${g.cloud}/${g.environment}`.padEnd(15)} ${seconds}s  ${result.summary ?? ''}`,
    );
    const blocking = g.enforcement === 'hard' && (result.status === 'failed' || result.status === 'errored');
    if (blocking) hardFailures += 1;
    if (result.status !== 'passed' && (blocking || values.verbose)) {
      for (const f of result.topFindings.slice(0, 10)) {
        console.log(
          `        ${f.severity.padEnd(8)} ${f.id}  ${f.resource ? `${f.resource}: ` : ''}${f.message.split('\n')[0]}`,
        );
      }
      if (result.topFindings.length === 0 && run.log.trim()) console.log(indent(run.log.trim().slice(-2000)));
    }
  }
  console.log(
    hardFailures === 0
      ? `gates: all hard gates passed (${selected.length} run; results in ${path.relative(repoRoot, outDir)}/)`
      : `gates: ${hardFailures} hard gate(s) failed`,
  );
  return hardFailures === 0 ? 0 : 1;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `        ${l}`)
    .join('\n');
}

process.exitCode = main();
