// The OPA policies, run by the real Conftest binary (the one the gates and the workflow use), against:
// - every independent review case in policy/testdata/review/ (one hole each: SSH from anywhere spelled
//   another way, on each cloud, in HCL, .tf.json and plan JSON, and the bootstrap IAM as it was): each must
//   be refused with --fail-on-warn, by the policy the case is about and by nothing else;
// - the repository's own Terraform roots: no failure and no warning (prod and the bootstrap run with
//   --fail-on-warn in the gates and the workflow);
// - the realistic plans policy/testdata/{pass,fail}/plan.json.
// Conftest comes from the pinned toolchain (tools/install.sh) or $CONFTEST. Without it the suite fails in CI
// and is skipped, loudly, elsewhere.
import { describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './crd-validator.js';

const toolchainBin = execFileSync('bash', [path.join(repoRoot, 'tools', 'install.sh'), '--bin-dir'], {
  encoding: 'utf8',
}).trim();
const conftest = process.env.CONFTEST ?? path.join(toolchainBin, 'conftest');
const haveConftest = existsSync(conftest);
const inCi = /^(1|true|yes)$/i.test(process.env.CI ?? '');

interface Finding {
  msg: string;
}
interface Result {
  filename: string;
  namespace: string;
  failures?: Finding[] | null;
  warnings?: Finding[] | null;
}
interface Run {
  status: number;
  results: Result[];
  stderr: string;
}

/** conftest test (--combine for a directory, plain for a plan JSON file), with --fail-on-warn. */
function runConftest(target: string, options: { failOnWarn?: boolean } = {}): Run {
  const plan = target.endsWith('.json');
  const out = spawnSync(
    conftest,
    [
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
      ...(options.failOnWarn === false ? [] : ['--fail-on-warn']),
      ...(plan ? [] : ['--combine']),
      target,
    ],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  try {
    return { status: out.status ?? -1, results: JSON.parse(out.stdout) as Result[], stderr: out.stderr };
  } catch {
    throw new Error(`conftest gave no JSON report for ${target} (exit ${out.status}): ${out.stderr}`);
  }
}

const findings = (run: Run, kind: 'failures' | 'warnings'): { namespace: string; msg: string }[] =>
  run.results.flatMap((r) => (r[kind] ?? []).map((f) => ({ namespace: r.namespace, msg: f.msg })));

interface ReviewCase {
  /** Directory under policy/testdata/review/ (a plan case holds plan.json, a `terraform show -json` output: tfplan* is git-ignored). */
  dir: string;
  /** The policy that must refuse it. */
  namespace: 'terraform.network' | 'terraform.iam';
  /** deny: a failure; warn: a warning (which --fail-on-warn, as on prod, turns into a failed run). */
  as: 'failure' | 'warning';
  /** Text every expected finding set must contain (resource address and what was found). */
  mentions: string[];
}

const REVIEW_CASES: ReviewCase[] = [
  // AWS
  {
    dir: 'aws-ipv4-halves',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['aws_security_group.bastion', '0.0.0.0/1'],
  },
  {
    dir: 'aws-ipv4-quarters',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['aws_vpc_security_group_ingress_rule.ssh_3', '192.0.0.0/2'],
  },
  {
    dir: 'aws-group-split-rules',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['aws_security_group.bastion', '2 ingress rules together', '1.0.0.0/9, 1.128.0.0/9'],
  },
  {
    dir: 'aws-ipv6-colon-zero',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['every public IPv6 address (::0/0)'],
  },
  {
    dir: 'aws-ipv6-zero-colon',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['every public IPv6 address (0::/0)'],
  },
  {
    dir: 'aws-ipv6-expanded',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['every public IPv6 address (0:0:0:0:0:0:0:0/0)'],
  },
  {
    dir: 'aws-dynamic-literal',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['aws_security_group.bastion', 'ingress[0] allows SSH'],
  },
  {
    dir: 'aws-rule-type-variable',
    namespace: 'terraform.network',
    as: 'warning',
    mentions: ['aws_security_group_rule.ssh', 'its direction cannot be evaluated'],
  },
  {
    dir: 'aws-tf-json',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['aws_security_group.bastion (policy/testdata/review/aws-tf-json/main.tf.json)'],
  },
  {
    dir: 'aws-tf-json-variable',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['aws_security_group_rule.ssh', '0.0.0.0/1, 128.0.0.0/1'],
  },
  {
    dir: 'plan-aws-group-split',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['aws_security_group.bastion: 2 ingress rules together'],
  },
  // GCP
  {
    dir: 'gcp-firewall-halves',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['google_compute_firewall.ssh', 'every public IPv4 address'],
  },
  {
    dir: 'gcp-firewall-direction-variable',
    namespace: 'terraform.network',
    as: 'warning',
    mentions: ['google_compute_firewall.ssh', 'its direction cannot be evaluated'],
  },
  {
    dir: 'gcp-network-firewall-policy-rule',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['google_compute_network_firewall_policy_rule.ssh'],
  },
  {
    dir: 'gcp-region-firewall-policy-rule',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['google_compute_region_network_firewall_policy_rule.ssh', '0::/0'],
  },
  {
    dir: 'gcp-org-firewall-policy-rule',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['google_compute_firewall_policy_rule.ssh', 'region code US'],
  },
  {
    dir: 'gcp-firewall-policy-with-rules',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['google_compute_network_firewall_policy_with_rules.main', 'rule (priority 1000)'],
  },
  {
    dir: 'gcp-tf-json',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['google_compute_firewall.ssh', '::0/0'],
  },
  {
    dir: 'plan-gcp-firewall-policy-rule',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['google_compute_network_firewall_policy_rule.ssh', '::0/0'],
  },
  // Azure
  {
    dir: 'azure-prefixes-halves',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['azurerm_network_security_group.vm', 'security_rule "AllowSsh"'],
  },
  {
    dir: 'azure-direction-variable',
    namespace: 'terraform.network',
    as: 'warning',
    mentions: ['azurerm_network_security_group.vm', 'its direction cannot be evaluated'],
  },
  {
    dir: 'azure-azurecloud-tag',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['AzureCloud (every Azure customer'],
  },
  {
    dir: 'azure-dynamic-literal',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['security_rule "ssh" allows SSH', 'anywhere (*)'],
  },
  {
    dir: 'azure-tf-json',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['azurerm_network_security_rule.ssh', '0.0.0.0'],
  },
  {
    dir: 'plan-azure-nsg-halves',
    namespace: 'terraform.network',
    as: 'failure',
    mentions: ['azurerm_network_security_group.vm'],
  },
  // IAM: the bootstrap as it was, and a plan of a dev role writing EC2 everywhere
  {
    dir: 'bootstrap-iam-before',
    namespace: 'terraform.iam',
    as: 'failure',
    mentions: [
      'statement "ManageNetworkAndInstances" allows ec2:AllocateAddress',
      'allows ec2:RunInstances of any instance type',
      "under a boundary that is not this environment's (${aws_iam_policy.workload_boundary.arn})",
      'allows iam:UpdateAssumeRolePolicy without a condition',
      '(a permissions boundary): statement "WorkloadServices" allows',
    ],
  },
  {
    dir: 'plan-iam-dev-role-unscoped',
    namespace: 'terraform.iam',
    as: 'failure',
    mentions: ['aws_iam_role_policy.ec2_vpc["dev"] (policy)', 'ec2:RunInstances of any instance type'],
  },
];

const ROOTS = [
  'terraform/aws/dev',
  'terraform/aws/prod',
  'terraform/bootstrap',
  'terraform/gcp',
  'terraform/azure',
];

const reviewDir = path.join(repoRoot, 'policy', 'testdata', 'review');
const targetOf = (c: ReviewCase): string => {
  const dir = path.join('policy', 'testdata', 'review', c.dir);
  return existsSync(path.join(repoRoot, dir, 'plan.json')) ? path.join(dir, 'plan.json') : dir;
};

if (!haveConftest && !inCi) {
  console.warn(
    `\n*** policy-review.test.ts SKIPPED: conftest is not built (${conftest}). Run \`npm run tools:install\` ` +
      'or set CONFTEST; in CI (CI=true) this suite fails instead. ***\n',
  );
}
const suite = haveConftest || inCi ? describe : describe.skip;

suite('OPA policies run by Conftest', () => {
  it('has the pinned conftest binary', () => {
    if (!haveConftest)
      throw new Error(
        `conftest is missing at ${conftest}: run \`npm run tools:install\` (tools/install.sh builds it) or set CONFTEST`,
      );
  });

  it('knows every review case on disk, and every listed case exists', () => {
    const onDisk = readdirSync(reviewDir).sort();
    expect(REVIEW_CASES.map((c) => c.dir).sort()).toEqual(onDisk);
  });

  describe.each(REVIEW_CASES)('review case $dir', (c) => {
    it(`is refused by ${c.namespace} (${c.as}), and only by it`, () => {
      if (!haveConftest) throw new Error('conftest is missing');
      const run = runConftest(targetOf(c));
      expect(run.status).not.toBe(0);
      const expected = findings(run, c.as === 'failure' ? 'failures' : 'warnings').filter(
        (f) => f.namespace === c.namespace,
      );
      expect(expected.length).toBeGreaterThan(0);
      const text = expected.map((f) => f.msg).join('\n');
      for (const m of c.mentions) expect(text).toContain(m);
      // Nothing else about the case is wrong, so the refusal is the hole it is about.
      const others = [...findings(run, 'failures'), ...findings(run, 'warnings')].filter(
        (f) => f.namespace !== c.namespace,
      );
      expect(others).toEqual([]);
      if (c.as === 'warning') {
        expect(findings(run, 'failures')).toEqual([]);
        // A warning alone does not fail a dev run: only --fail-on-warn (prod) turns it into a failure.
        expect(runConftest(targetOf(c), { failOnWarn: false }).status).toBe(0);
      }
    });
  });

  it('the roots list is every Terraform root of the repository', () => {
    const found = execFileSync(
      'bash',
      [
        '-c',
        "find terraform \\( -name '*.tf' -o -name '*.tf.json' \\) -not -path '*/.terraform/*' -printf '%h\\n' | sort -u",
      ],
      { cwd: repoRoot, encoding: 'utf8' },
    )
      .trim()
      .split('\n');
    expect(found.sort()).toEqual([...ROOTS].sort());
  });

  it.each(ROOTS)('%s passes with no failure and no warning (--fail-on-warn)', (root) => {
    if (!haveConftest) throw new Error('conftest is missing');
    const run = runConftest(root);
    expect([...findings(run, 'failures'), ...findings(run, 'warnings')]).toEqual([]);
    expect(run.status).toBe(0);
  });

  it('the realistic pass plan is clean with --fail-on-warn; the fail plan is refused by every policy', () => {
    if (!haveConftest) throw new Error('conftest is missing');
    const pass = runConftest('policy/testdata/pass/plan.json');
    expect([...findings(pass, 'failures'), ...findings(pass, 'warnings')]).toEqual([]);
    expect(pass.status).toBe(0);
    const fail = runConftest('policy/testdata/fail/plan.json');
    expect(fail.status).not.toBe(0);
    expect(new Set(findings(fail, 'failures').map((f) => f.namespace))).toEqual(
      new Set(['terraform.network', 'terraform.compute', 'terraform.tags', 'terraform.iam']),
    );
    expect(findings(fail, 'warnings').map((f) => f.msg)).toEqual([
      expect.stringMatching(
        /^aws_security_group_rule\.maybe: rule may allow SSH \(22\) from anywhere, but its direction/,
      ),
    ]);
  });
});
