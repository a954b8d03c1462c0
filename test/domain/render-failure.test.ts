// Failure cards and alerts lead with the failure in words an engineer acts on: the failed gate, its
// findings with the resource and the fix (policy fix texts whole, not cut), what to do now; Kargo's own
// wording last. "Show all findings" answers with every finding, whole, paged.
import { describe, expect, it } from '@jest/globals';
import { checkMessageLimits } from '../../src/domain/blockkit.js';
import type { Block, SectionBlock, SlackMessage } from '../../src/domain/blockkit.js';
import { foldEvents, type Card } from '../../src/domain/card.js';
import { FINDINGS_DETAILS_ACTION_ID } from '../../src/domain/details.js';
import type { CardEvent } from '../../src/domain/events.js';
import { explainFinding, trivyCheckUrl } from '../../src/domain/findings.js';
import { failureLead, kargoInWords, renderFindingsDetails } from '../../src/domain/render-failure.js';
import { renderCard, renderFailureAlert } from '../../src/domain/render.js';
import { describeViolation, validateMessageBlocks } from '../../src/sandbox/blockkit-schema.js';
import { RUN_URL, ev, finding, jobUrl, runEv, steps } from './builders.js';
import { JOB_ID, JOB_NAME, cloudGateSteps, failingTrivyProdRun, policySteps } from './run-stories.js';

const fold = (...events: CardEvent[]): Card => {
  const card = foldEvents(events);
  if (!card) throw new Error('no card');
  return card;
};

const texts = (blocks: readonly Block[]): string =>
  blocks
    .flatMap((b) =>
      b.type === 'section'
        ? [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text)]
        : b.type === 'header'
          ? [b.text.text]
          : b.type === 'context'
            ? b.elements.map((e) => e.text)
            : [],
    )
    .join('\n');

function valid(message: SlackMessage): void {
  expect(checkMessageLimits(message)).toEqual([]);
  expect(validateMessageBlocks(message.blocks).map(describeViolation)).toEqual([]);
}

/** A policy message as policy/network.rego writes it: `<resource>: <problem>; <fix>`. */
const SSH_POLICY =
  'aws_security_group.web: ingress allows SSH (22) from every public IPv4 address (0.0.0.0/0); restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager';

/** A dev run whose OPA (Conftest) gate refuses an SSH rule open to the internet. */
function failingPolicyDevRun(): CardEvent[] {
  return [
    ev.requested(0, { environment: 'dev', stage: 'dev' }),
    ev.resolved(0, { alias: 'brave-wampa' }),
    ev.created(1, { stage: 'dev' }),
    ev.phase('Running', 2),
    ev.run(3),
    runEv.status('in_progress', 3),
    runEv.job(JOB_ID.policy, JOB_NAME.policy, 'completed', 5, policySteps(3, 'failure'), {
      conclusion: 'failure',
    }),
    runEv.job(JOB_ID.aws, JOB_NAME.aws('dev'), 'completed', 8, cloudGateSteps('aws', 'dev', 5)),
    runEv.gate(5, { gate: 'opa', cloud: 'all', environment: 'all', durationSeconds: 30 }),
    runEv.gate(5, {
      gate: 'conftest',
      cloud: 'all',
      environment: 'all',
      status: 'failed',
      durationSeconds: 12,
      findings: { critical: 0, high: 1, medium: 0, low: 0, unknown: 0 },
      topFindings: [
        {
          id: 'network',
          severity: 'HIGH',
          message: SSH_POLICY,
          resource: 'aws_security_group.web',
          location: 'terraform/aws/dev/main.tf',
        },
      ],
    }),
    runEv.status('completed', 9, { conclusion: 'failure' }),
    ev.phase('Failed', 10, 'step "waitRun": HTTP (200) response met failure criteria'),
  ];
}

describe('explainFinding', () => {
  it('splits a policy message into resource, problem and fix', () => {
    expect(explainFinding({ id: 'network', severity: 'HIGH', message: SSH_POLICY }, 'conftest')).toEqual({
      severity: 'HIGH',
      id: 'network',
      resource: 'aws_security_group.web',
      problem: 'ingress allows SSH (22) from every public IPv4 address (0.0.0.0/0)',
      fix: 'restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager',
    });
  });

  it('keeps a message without an instruction whole, and links Trivy checks to their fix', () => {
    const iam = 'aws_iam_policy_document.deploy: statement "Any" allows iam:PassRole on every resource (*)';
    expect(explainFinding({ id: 'iam', severity: 'HIGH', message: iam }, 'conftest')).toMatchObject({
      resource: 'aws_iam_policy_document.deploy',
      problem: 'statement "Any" allows iam:PassRole on every resource (*)',
    });
    expect(
      explainFinding(finding('AVD-AWS-0107', 'CRITICAL', 'aws_security_group.ssh', 'Open ingress'), 'trivy'),
    ).toMatchObject({
      problem: 'Open ingress',
      fixUrl: 'https://avd.aquasec.com/misconfig/avd-aws-0107',
    });
    expect(trivyCheckUrl('AWS-0104')).toBe('https://avd.aquasec.com/misconfig/avd-aws-0104');
    expect(trivyCheckUrl('terraform_unused_declarations')).toBeUndefined();
  });
});

describe('a failing policy gate leads the card with the resource and the whole fix', () => {
  const card = fold(...failingPolicyDevRun());
  const message = renderCard(card);

  it('the failed gate, the finding, the fix in full (not cut), what to do', () => {
    const lead = (message.blocks[2] as SectionBlock).text?.text;
    expect(lead).toBe(
      [
        `❌ *Why it failed:* <${jobUrl(JOB_ID.policy)}|*OPA policies*> found 1 high`,
        '• *HIGH* on `aws_security_group.web` — ingress allows SSH (22) from every public IPv4 address (0.0.0.0/0)',
        '      *Fix:* restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager',
        '*Do now:* change what the policy message says, push, and promote the new freight.',
      ].join('\n'),
    );
    expect(message.text).toBe(
      '❌ Promotion to dev failed: f5f87aa (brave-wampa) — OPA policies found 1 high',
    );
    valid(message);
  });

  it('Kargo’s wording comes last, untranslated; the lead never repeats it', () => {
    const sections = message.blocks.filter((b): b is SectionBlock => b.type === 'section');
    expect(sections.at(-1)?.text?.text).toBe(
      '*Kargo says*\n```step "waitRun": HTTP (200) response met failure criteria```',
    );
    expect(texts(message.blocks.slice(0, 3))).not.toContain('met failure criteria');
  });

  it('the alert leads the same way', () => {
    const alert = renderFailureAlert(card);
    expect((alert.blocks[1] as SectionBlock).text?.text).toBe((message.blocks[2] as SectionBlock).text?.text);
    expect(alert.text).toBe(
      '🚨 Promotion to dev failed: brave-wampa — OPA policies found 1 high; job policy (OPA + Conftest) failed at step Fail on a failed hard gate',
    );
    valid(alert);
  });
});

describe('leads without a failed gate', () => {
  it('a failed apply: the job and step, and a warning that part of the environment may be changed', () => {
    const card = fold(
      ev.requested(0, { environment: 'dev', stage: 'dev' }),
      ev.created(1, { stage: 'dev' }),
      ev.run(3),
      runEv.job(
        JOB_ID.awsDev,
        JOB_NAME.awsDev,
        'completed',
        14,
        steps(
          { name: 'Set up job', start: 8, end: 8.1 },
          { name: 'terraform apply', conclusion: 'failure', start: 9, end: 12 },
        ),
        { conclusion: 'failure' },
      ),
      runEv.status('completed', 15, { conclusion: 'failure' }),
      ev.phase('Failed', 16, 'step "waitRun": HTTP (200) response met failure criteria'),
    );
    const lead = failureLead(card)[0]?.text?.text ?? '';
    expect(lead).toContain(`❌ *Why it failed:* <${jobUrl(JOB_ID.awsDev)}|*AWS apply*> failed`);
    expect(lead).toContain(
      '*Do now:* read the apply step in the job log: part of the environment may already be changed, so check the state before promoting again.',
    );
  });

  it('Kargo’s reason in words when nothing else is known', () => {
    const card = fold(ev.requested(0), ev.created(1), ev.run(3), ev.phase('Failed', 9, 'x'));
    expect(kargoInWords('step "waitRun": HTTP (200) response met failure criteria', card)).toBe(
      `Kargo's \`waitRun\` step saw <${RUN_URL}|GitHub run #12345> end without success.`,
    );
    expect(kargoInWords('step "waitRun": HTTP (404) response met failure criteria', card)).toBe(
      `Kargo's \`waitRun\` step could not read <${RUN_URL}|GitHub run #12345> (HTTP 404): its GitHub token lacks Actions: read, or the run is gone.`,
    );
    expect(
      kargoInWords('step "dispatch": HTTP (422) response met failure criteria: Unexpected inputs', card),
    ).toBe(
      "GitHub refused Kargo's workflow dispatch (`dispatch` step, HTTP 422): Unexpected inputs: check the workflow inputs and Kargo's GitHub token.",
    );
    expect(kargoInWords('something else entirely', card)).toBeUndefined();
    const noRun = fold(
      ev.requested(0),
      ev.created(1),
      ev.phase('Failed', 9, 'step "waitRun": HTTP (200) response met failure criteria'),
    );
    expect(failureLead(noRun)[0]?.text?.text).toBe(
      "❌ *Why it failed:* Kargo's `waitRun` step saw the GitHub run end without success.",
    );
  });
});

describe('renderFindingsDetails ("Show all findings")', () => {
  it('every finding, whole: id, resource, location, message, fix; failed gates first', () => {
    const card = fold(...failingPolicyDevRun());
    const message = renderFindingsDetails(card);
    expect(texts(message.blocks)).toBe(
      [
        'Findings · dev',
        `❌ *OPA policies* · failed · 1 high — <${jobUrl(JOB_ID.policy)}|the job>`,
        '*HIGH* `network` on `aws_security_group.web` · `terraform/aws/dev/main.tf`',
        'ingress allows SSH (22) from every public IPv4 address (0.0.0.0/0)',
        '*Fix:* restrict cidr_blocks/ipv6_cidr_blocks to a known range or use SSM Session Manager',
      ].join('\n'),
    );
    valid(message);
  });

  it('says how many findings only the job log has, and pages long lists', () => {
    const long =
      'aws_s3_bucket.logs: ' +
      'bucket policy allows public reads; '.repeat(25) +
      'restrict the bucket policy';
    const card = fold(
      ...failingTrivyProdRun().filter(
        (e) => e.type !== 'GateReported' || e.result.gate !== 'trivy' || e.result.cloud !== 'aws',
      ),
      runEv.gate(7, {
        gate: 'trivy',
        cloud: 'aws',
        environment: 'prod',
        status: 'failed',
        durationSeconds: 31,
        findings: { critical: 0, high: 45, medium: 0, low: 0, unknown: 0 },
        topFindings: Array.from({ length: 20 }, (_, i) => ({
          id: `AVD-AWS-${String(1000 + i)}`,
          severity: 'HIGH' as const,
          title: `Finding ${i}`,
          message: long,
          resource: `aws_s3_bucket.b${i}`,
        })),
      }),
    );
    const first = renderFindingsDetails(card, 1);
    const more = first.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []));
    expect(more).toEqual([
      expect.objectContaining({ action_id: FINDINGS_DETAILS_ACTION_ID, value: `${card.id}:2` }),
    ]);
    const all = [first];
    for (let page = 2; page <= 10; page += 1) {
      const next = renderFindingsDetails(card, page);
      if (JSON.stringify(next) === JSON.stringify(all.at(-1))) break;
      all.push(next);
    }
    for (const page of all) valid(page);
    const text = all.map((m) => texts(m.blocks)).join('\n');
    expect((text.match(/^\*HIGH\* `AVD-AWS-1\d{3}`/gm) ?? []).length).toBe(20);
    // Whole messages: the 900-character message is not cut.
    expect(text).toContain(`> ${long}`.replace(/&/g, '&amp;'));
    expect(text).toContain(
      '_… and 25 more findings only in the job log (the gate result keeps the most severe 20)',
    );
  });
});
