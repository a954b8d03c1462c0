// policy/aws-simulator/check-escalation-paths.sh, the policy job's AWS policy simulator step,
// run against a stand-in `aws` CLI (AWS cannot be reached here). The stand-in answers the calls the script
// makes (sts get-caller-identity, iam get-policy[-version], iam simulate-principal-policy and
// simulate-custom-policy) in the shapes the AWS CLI prints, and decides each simulation the secure way the
// cases file expects, unless told to open one path (FAKE_OPEN) or close one control (FAKE_CLOSE).
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from './crd-validator.js';

const script = path.join(repoRoot, 'policy', 'aws-simulator', 'check-escalation-paths.sh');
const casesFile = path.join(repoRoot, 'policy', 'aws-simulator', 'escalation-paths.json');

interface Case {
  id: string;
  as: 'principal' | 'boundary';
  action: string;
  resource: string;
  context: Record<string, string>;
  expect: 'denied' | 'allowed';
}
const { cases } = JSON.parse(readFileSync(casesFile, 'utf8')) as { cases: Case[] };

// The stand-in CLI (CommonJS, run by the node running the tests). It logs every call (one JSON line) to
// $FAKE_LOG.
const FAKE_AWS = String.raw`const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_LOG, JSON.stringify(args) + '\n');
const opt = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const account = '111122223333';
const [service, command] = args;
if (service === 'sts' && command === 'get-caller-identity') {
  console.log('arn:aws:sts::' + account + ':assumed-role/gitops-infra-iam-audit/gha-1');
  process.exit(0);
}
if (service === 'iam' && command === 'get-policy') {
  if (process.env.FAKE_NO_BOUNDARY) { console.error('NoSuchEntity'); process.exit(254); }
  console.log('v3');
  process.exit(0);
}
if (service === 'iam' && command === 'get-policy-version') {
  const env = /boundary-(dev|prod)$/.exec(opt('--policy-arn'))[1];
  console.log(JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Boundary' + env, Effect: 'Allow', Action: 'ec2:Describe*', Resource: '*' }] }, null, 4));
  process.exit(0);
}
if (service === 'iam' && (command === 'simulate-principal-policy' || command === 'simulate-custom-policy')) {
  if (process.env.FAKE_FAIL_SIMULATION) { console.error('An error occurred (Throttling)'); process.exit(254); }
  const action = opt('--action-names');
  const resource = opt('--resource-arns');
  const i = args.indexOf('--context-entries');
  const context = {};
  if (i >= 0) for (const entry of args.slice(i + 1).filter((a) => !a.startsWith('--') && a.includes('ContextKeyName='))) {
    const m = /^ContextKeyName=([^,]+),ContextKeyValues=(.*),ContextKeyType=string$/.exec(entry);
    context[m[1]] = m[2];
  }
  const { cases } = JSON.parse(fs.readFileSync(process.env.FAKE_CASES, 'utf8'));
  const fill = (s, env, other) => s.replaceAll('{env}', env).replaceAll('{other}', other)
    .replaceAll('{partition}', 'aws').replaceAll('{region}', process.env.AWS_REGION).replaceAll('{account}', account);
  const as = command === 'simulate-principal-policy' ? 'principal' : 'boundary';
  // The environment simulated: the deploy role's, or the boundary's (its Sid names it).
  const simulated = as === 'principal'
    ? /deploy-(dev|prod)$/.exec(opt('--policy-source-arn'))[1]
    : JSON.parse(opt('--permissions-boundary-policy-input-list')).Statement[0].Sid.replace('Boundary', '');
  const match = cases.flatMap((c) => [['dev', 'prod'], ['prod', 'dev']].map(([env, other]) => ({ c, env, other })))
    .find(({ c, env, other }) => env === simulated && c.as === as && c.action === action && fill(c.resource, env, other) === resource &&
      JSON.stringify(Object.fromEntries(Object.entries(c.context).map(([k, v]) => [k, fill(v, env, other)])).valueOf()) ===
      JSON.stringify(context));
  if (!match) { console.error('stand-in: no case for ' + JSON.stringify({ as, action, resource, context })); process.exit(255); }
  let decision = match.c.expect === 'allowed' ? 'allowed' : 'implicitDeny';
  if (match.c.expect === 'denied' && match.c.id.startsWith('launch-instance-tagged')) decision = 'explicitDeny';
  if (process.env.FAKE_OPEN === match.c.id) decision = 'allowed';
  if (process.env.FAKE_CLOSE === match.c.id) decision = 'implicitDeny';
  console.log(JSON.stringify({ EvaluationResults: [{ EvalActionName: action, EvalResourceName: resource, EvalDecision: decision, MatchedStatements: [], MissingContextValues: [] }], IsTruncated: false }, null, 4));
  process.exit(0);
}
console.error('stand-in: unexpected call ' + args.join(' '));
process.exit(255);
`;

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'iam-sim-'));
  writeFileSync(path.join(dir, 'fake-aws.cjs'), FAKE_AWS);
  writeFileSync(
    path.join(dir, 'aws'),
    `#!/usr/bin/env bash\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(dir, 'fake-aws.cjs'))} "$@"\n`,
  );
  chmodSync(path.join(dir, 'aws'), 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function simulate(env: Record<string, string> = {}): {
  status: number;
  report: { namespace: string; successes: number; failures: { msg: string }[] }[];
  calls: string[][];
  stderr: string;
} {
  const log = path.join(dir, `calls-${Math.random().toString(36).slice(2)}.jsonl`);
  const out = path.join(dir, `report-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(log, '');
  const run = spawnSync('bash', [script, '--out', out], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: {
      PATH: `${dir}:${process.env.PATH ?? ''}`,
      AWS_REGION: 'us-east-1',
      FAKE_LOG: log,
      FAKE_CASES: casesFile,
      ...env,
    },
  });
  return {
    status: run.status ?? -1,
    report: JSON.parse(readFileSync(out, 'utf8')) as {
      namespace: string;
      successes: number;
      failures: { msg: string }[];
    }[],
    calls: readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]),
    stderr: run.stderr,
  };
}

describe('the escalation paths the simulator checks', () => {
  it('cover every path the issue lists, for the deploy role and for a role under its boundary', () => {
    const ids = cases.map((c) => c.id);
    for (const id of [
      'launch-instance-tagged-for-other-env',
      'launch-untagged-instance',
      'launch-unapproved-instance-type',
      'create-role-without-boundary',
      'update-trust-of-untagged-role',
      'pass-other-env-role',
      'terminate-untagged-instance',
      'open-untagged-security-group',
      'created-role-terminates-other-env-instance',
      'created-role-decrypts-with-other-env-key',
      'created-role-reads-other-env-parameter',
    ])
      expect(ids).toContain(id);
    expect(new Set(ids).size).toBe(ids.length);
    // Controls that must be allowed, for both kinds of simulation, so that an all-deny answer (wrong
    // account, missing role) cannot pass as "closed".
    expect(cases.filter((c) => c.expect === 'allowed').map((c) => c.as)).toEqual(
      expect.arrayContaining(['principal', 'boundary']),
    );
  });
});

// Each run spawns the stand-in once per simulated path (about 60): allow for slow machines.
describe('check-escalation-paths.sh', () => {
  jest.setTimeout(120_000);

  it('passes when every path is closed and every control open, and simulates what the cases say', () => {
    const run = simulate();
    expect(run.stderr).toContain(`policy simulator: ${cases.length * 2} checks as expected, 0 not`);
    expect(run.status).toBe(0);
    expect(run.report).toEqual([
      {
        filename: 'aws-policy-simulator',
        namespace: 'aws.simulator',
        successes: cases.length * 2,
        failures: [],
        warnings: [],
      },
    ]);
    const principalCalls = run.calls.filter((c) => c[1] === 'simulate-principal-policy');
    expect(principalCalls).toHaveLength(cases.filter((c) => c.as === 'principal').length * 2);
    expect(principalCalls[0]).toEqual(
      expect.arrayContaining([
        '--policy-source-arn',
        'arn:aws:iam::111122223333:role/gitops-infra-deploy-dev',
        '--resource-arns',
        'arn:aws:ec2:us-east-1:111122223333:instance/*',
        'ContextKeyName=aws:RequestTag/environment,ContextKeyValues=prod,ContextKeyType=string',
      ]),
    );
    const boundaryCall = run.calls.find((c) => c[1] === 'simulate-custom-policy')!;
    expect(boundaryCall[boundaryCall.indexOf('--permissions-boundary-policy-input-list') + 1]).toContain(
      '"Sid": "Boundarydev"',
    );
    expect(run.calls).toEqual(
      expect.arrayContaining([
        expect.arrayContaining([
          'get-policy',
          '--policy-arn',
          'arn:aws:iam::111122223333:policy/gitops-infra-workload-boundary-prod',
        ]),
      ]),
    );
  });

  it('fails on an open path, naming it', () => {
    const run = simulate({ FAKE_OPEN: 'launch-untagged-instance', ENVIRONMENTS: 'prod' });
    expect(run.status).toBe(1);
    expect(run.report[0]!.failures.map((f) => f.msg)).toEqual([
      'prod/launch-untagged-instance: ec2:RunInstances on arn:aws:ec2:us-east-1:111122223333:instance/* as gitops-infra-deploy-prod is allowed, expected implicitDeny or explicitDeny (an escalation path is open)',
    ]);
    const boundary = simulate({ FAKE_OPEN: 'created-role-reads-other-env-parameter', ENVIRONMENTS: 'dev' });
    expect(boundary.status).toBe(1);
    expect(boundary.report[0]!.failures[0]!.msg).toContain(
      'as a role under gitops-infra-workload-boundary-dev is allowed',
    );
  });

  it('fails when a control is denied, or when the simulator or the boundary cannot be read', () => {
    const closed = simulate({ FAKE_CLOSE: 'control-terminate-own-instance', ENVIRONMENTS: 'dev' });
    expect(closed.status).toBe(1);
    expect(closed.report[0]!.failures[0]!.msg).toMatch(/is implicitDeny, expected allowed \(control/);
    const broken = simulate({ FAKE_FAIL_SIMULATION: '1', ENVIRONMENTS: 'dev' });
    expect(broken.status).toBe(1);
    expect(broken.report[0]!.failures[0]!.msg).toMatch(/the simulator could not evaluate/);
    const noBoundary = simulate({ FAKE_NO_BOUNDARY: '1', ENVIRONMENTS: 'dev' });
    expect(noBoundary.status).toBe(1);
    expect(noBoundary.report[0]!.failures[0]!.msg).toMatch(
      /^dev: cannot read the boundary arn:aws:iam::111122223333:policy\/gitops-infra-workload-boundary-dev/,
    );
  });
});
