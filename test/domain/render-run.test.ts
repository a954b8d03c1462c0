// The run on the card and the messages around it: structural assertions (no snapshots) on the story runs,
// and properties that Slack's limits hold for any gate list, findings, plan size and outputs.
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { GateName } from '../../src/artifacts/types.js';
import { BLOCK_KIT_LIMITS, checkMessageLimits } from '../../src/domain/blockkit.js';
import { describeViolation, validateMessageBlocks } from '../../src/sandbox/blockkit-schema.js';
import type { Block, SectionBlock, SlackMessage } from '../../src/domain/blockkit.js';
import { applyEvent, foldEvents, type Card } from '../../src/domain/card.js';
import type { CardEvent, RunJobStep } from '../../src/domain/events.js';
import {
  FINDINGS_DETAILS_ACTION_ID,
  PLAN_DETAILS_ACTION_ID,
  renderCard,
  renderFailureAlert,
  renderOutputsThread,
  renderFindingsDetails,
  renderPlanDetails,
  renderSuccessLine,
} from '../../src/domain/render.js';
import { RUN_ID, RUN_URL, at, atMin, ev, jobUrl, runEv, steps } from './builders.js';
import {
  JOB_ID,
  JOB_NAME,
  cancelledProdRun,
  failingTrivyProdRun,
  missingArtifactRun,
  passingDevRun,
} from './run-stories.js';

const fold = (...events: CardEvent[]): Card => {
  const card = foldEvents(events);
  if (!card) throw new Error('no card');
  return card;
};

const sections = (blocks: Block[]): SectionBlock[] =>
  blocks.filter((b): b is SectionBlock => b.type === 'section');
const texts = (blocks: Block[]): string[] =>
  blocks.flatMap((block) => {
    switch (block.type) {
      case 'header':
        return [block.text.text];
      case 'section':
        return [block.text?.text ?? '', ...(block.fields ?? []).map((f) => f.text)];
      case 'context':
        return block.elements.map((e) => e.text);
      default:
        return [];
    }
  });
const allText = (blocks: Block[]): string => texts(blocks).join('\n');
const sectionStarting = (blocks: Block[], prefix: string): SectionBlock | undefined =>
  sections(blocks).find((s) => s.text?.text.startsWith(prefix));

function withinLimits(message: SlackMessage): void {
  expect(checkMessageLimits(message)).toEqual([]);
  // And by Slack's reference, as the stand-in reads it (not the bot's own rules).
  expect(validateMessageBlocks(message.blocks).map(describeViolation)).toEqual([]);
  expect(message.text.length).toBeLessThanOrEqual(BLOCK_KIT_LIMITS.messageText);
  expect(message.text).not.toContain('\n');
  expect(message.text.length).toBeGreaterThan(0);
}

const CARD_URL = 'https://acme.slack.com/archives/C0DEPLOYS/p1764237600000100';

// ---------------------------------------------------------------------------------------------------
// The card

describe('renderCard: a failing Trivy gate on prod', () => {
  const card = fold(...failingTrivyProdRun());
  const { blocks } = renderCard(card);

  it('names the failed job and step, linked to the job', () => {
    expect(sectionStarting(blocks, '*Failed job:*')?.text?.text).toBe(
      `*Failed job:* <${jobUrl(JOB_ID.prodGates)}|prod gates (Trivy hard, OPA on HCL + plan)> at step \`Trivy (HIGH/CRITICAL, hard)\``,
    );
  });

  it('leads with the failed gate, its findings with resource and fix, and what to do', () => {
    const lead = sections(blocks)[1];
    expect(lead?.text?.text).toBe(
      [
        `❌ *Why it failed:* <${jobUrl(JOB_ID.prodGates)}|*AWS · Trivy*> found 2 critical · 3 high`,
        '• *CRITICAL* on `aws_security_group.web` — Security group rule allows egress to multiple public internet addresses',
        '      *Fix:* <https://avd.aquasec.com/misconfig/avd-aws-0104|how to fix AVD-AWS-0104>',
        '• *CRITICAL* on `aws_security_group.ssh` — Security group rule allows ingress from public internet',
        '      *Fix:* <https://avd.aquasec.com/misconfig/avd-aws-0107|how to fix AVD-AWS-0107>',
        '• *HIGH* on `aws_instance.web` — Instance does not require IMDS access to require a token',
        '      *Fix:* <https://avd.aquasec.com/misconfig/avd-aws-0028|how to fix AVD-AWS-0028>',
        '… and 2 more findings — *Show all findings* lists them whole',
        '*Do now:* fix the findings in `terraform/aws/prod`, push, and promote the new freight.',
      ].join('\n'),
    );
    expect(lead?.accessory).toEqual({
      type: 'button',
      action_id: FINDINGS_DETAILS_ACTION_ID,
      text: { type: 'plain_text', text: 'Show all findings', emoji: true },
      value: card.id,
    });
  });

  it('collapses the gates that passed or were skipped into one line, and keeps the failed row short', () => {
    const gates = sectionStarting(blocks, '*Gates*')?.text?.text ?? '';
    expect(gates.split('\n')).toEqual([
      '*Gates* (20 of 20 done · 1 failed)',
      '✅ 12 passed · ⏭️ 7 skipped: OPA on prod (HCL + plan), AWS plan (preview), GCP plan, Azure plan and 3 more',
      `❌ <${jobUrl(JOB_ID.prodGates)}|AWS · Trivy> · 31s · 2 critical · 3 high`,
    ]);
  });

  it('links the run with its state, and keeps Kargo’s wording for last', () => {
    expect(allText(blocks)).toContain(`*GitHub run*\n<${RUN_URL}|#12345> · failed`);
    expect(sections(blocks).at(-1)?.text?.text).toBe(
      '*Kargo says*\n```step "waitRun" failed: workflow run 12345 concluded failure```',
    );
    expect(blocks[0]).toMatchObject({ text: { text: '❌ Promotion to prod' } });
    expect(renderCard(card).text).toBe(
      '❌ Promotion to prod failed: f5f87aa (brave-wampa) — AWS · Trivy found 2 critical, 3 high',
    );
  });

  it('orders the blocks: status, the failure, fields, failed job, gates, Kargo’s wording, context', () => {
    const kinds = blocks.map((b) =>
      b.type === 'section'
        ? b.fields
          ? 'fields'
          : (b.text?.text.split(/[\s*]+/).filter(Boolean)[0] ?? '')
        : b.type,
    );
    expect(kinds).toEqual(['header', 'Failed', '❌', 'fields', 'Failed', 'Gates', 'Kargo', 'context']);
    withinLimits(renderCard(card));
  });
});

describe('renderCard: a passing dev run', () => {
  const card = fold(...passingDevRun());
  const { blocks } = renderCard(card);

  it('shows the plan summary with an on-demand button for the addresses', () => {
    const plan = sectionStarting(blocks, '*Plan*');
    expect(plan?.text?.text).toBe('*Plan* — AWS dev: +3 ~1 −0');
    expect(plan?.accessory).toEqual({
      type: 'button',
      action_id: PLAN_DETAILS_ACTION_ID,
      text: { type: 'plain_text', text: 'Show resources', emoji: true },
      value: card.id,
    });
    expect(PLAN_DETAILS_ACTION_ID).toBe('plan_details');
  });

  it('shows soft findings on dev as a warning, with the finding', () => {
    const gates = sectionStarting(blocks, '*Gates*')?.text?.text ?? '';
    expect(gates).toContain(
      `⚠️ <${jobUrl(JOB_ID.aws)}|AWS · Trivy> · 42s · 1 high\n      ↳ HIGH \`AVD-AWS-0178\` on \`aws_vpc.main\` — VPC Flow Logs is not enabled for VPC`,
    );
    expect(gates).toContain(`⏭️ <${jobUrl(JOB_ID.gcpPlan)}|GCP plan>`);
    expect(sectionStarting(blocks, '*Failed job:*')).toBeUndefined();
  });

  it('has no button when no plan changes anything', () => {
    const noChanges = applyEvent(card, runEv.plan(20, 'aws', 'dev', {}));
    const plan = sectionStarting(renderCard(noChanges).blocks, '*Plan*');
    expect(plan?.text?.text).toBe('*Plan* — AWS dev: no changes');
    expect(plan?.accessory).toBeUndefined();
  });
});

describe('renderCard: a missing artifact', () => {
  it('says so in a clear line, and still renders everything else', () => {
    const card = fold(...missingArtifactRun());
    const { blocks } = renderCard(card);
    expect(sectionStarting(blocks, '⚠️')?.text?.text).toBe(
      '⚠️ plan-summary-aws-dev is missing: the plan could not be summarised — _no artifact named plan-summary-aws-dev in run 12345_',
    );
    expect(sectionStarting(blocks, '*Plan*')).toBeUndefined();
    expect(sectionStarting(blocks, '*Gates*')).toBeDefined();
    withinLimits(renderCard(card));
  });
});

describe('renderCard: a cancelled run', () => {
  it('leads with the cancelled run, shows it in the gates heading and the run field', () => {
    const { blocks } = renderCard(fold(...cancelledProdRun()));
    expect(sections(blocks)[1]?.text?.text).toBe(
      `❌ *Why it failed:* <${RUN_URL}|GitHub run #12345> was cancelled; no failed job was reported — its page says why.`,
    );
    const gates = sectionStarting(blocks, '*Gates*')?.text?.text ?? '';
    expect(gates.split('\n').slice(0, 2)).toEqual([
      '*Gates* (20 of 20 done) · ⛔ *GitHub run cancelled*',
      '✅ 1 passed · ⏭️ 11 skipped: GCP · TFLint, GCP · Trivy, Azure · fmt, Azure · validate and 7 more',
    ]);
    expect(gates).toContain(`⛔ <${jobUrl(JOB_ID.aws)}|AWS · TFLint> · 1m`);
    expect(allText(blocks)).toContain(`*GitHub run*\n<${RUN_URL}|#12345> · cancelled`);
  });
});

describe('renderCard: live', () => {
  it('shows how long the approval has been waiting, given a clock', () => {
    const card = fold(
      ev.requested(0),
      ev.created(1),
      ev.phase('Running', 2),
      ev.run(3),
      runEv.status('waiting', 10),
      runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'waiting', 10),
    );
    const gates = sectionStarting(renderCard(card, { now: new Date(atMin(15)) }).blocks, '*Gates*')?.text
      ?.text;
    expect(gates).toContain(
      `✋ <${jobUrl(JOB_ID.awsProd)}|Approval (Environment prod)> · waiting for 5m — _waiting for a reviewer_`,
    );
    expect(allText(renderCard(card).blocks)).toContain(`<${RUN_URL}|#12345> · waiting for approval`);
  });

  it('shows a re-run attempt', () => {
    const card = fold(ev.created(1), ev.run(3), runEv.status('in_progress', 20, { runAttempt: 3 }));
    expect(allText(renderCard(card).blocks)).toContain(
      `*GitHub run*\n<${RUN_URL}|#12345> · attempt 3 · in progress`,
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Around the card

describe('renderOutputsThread', () => {
  const card = fold(...passingDevRun());

  it('lists well-known outputs first, then the rest, and names the hidden ones', () => {
    const message = renderOutputsThread(card);
    expect(message).toBeDefined();
    const lines = allText(message?.blocks ?? []).split('\n');
    expect(lines).toEqual([
      '*Terraform outputs · AWS dev*',
      '`instance_id` `i-0123456789abcdef0`',
      '`public_ip` `203.0.113.10`',
      '`private_ip` `10.0.1.23`',
      '`cluster_name` `dev-eks`',
      '`cluster_endpoint` `https://ABCD.gr7.us-east-1.eks.amazonaws.com`',
      '`vpc_id` `vpc-0a1b2c3d`',
      '`tags` `{"team":"platform"}`',
      'hidden: `kubeconfig` _(sensitive, never shown)_',
    ]);
    expect(message?.text).toBe(
      'Terraform outputs for brave-wampa → dev: instance_id=i-0123456789abcdef0, public_ip=203.0.113.10, ' +
        'private_ip=10.0.1.23, cluster_name=dev-eks, cluster_endpoint=https://ABCD.gr7.us-east-1.eks.amazonaws.com, vpc_id=vpc-0a1b2c3d',
    );
    withinLimits(message as SlackMessage);
  });

  it('is undefined when there is nothing to say, and a warning when the outputs are missing', () => {
    expect(renderOutputsThread(fold(...failingTrivyProdRun()))).toBeUndefined();
    const missing = fold(ev.created(1), ev.run(3), runEv.problem(15, 'terraform-outputs-aws-dev', 'expired'));
    expect(allText(renderOutputsThread(missing)?.blocks ?? [])).toContain(
      '⚠️ terraform-outputs-aws-dev has expired: the Terraform outputs cannot be shown',
    );
  });

  it('keeps huge values and many outputs within limits', () => {
    const values = Object.fromEntries(
      Array.from({ length: 120 }, (_, i) => [
        `out_${i}`,
        i % 2 ? 'v'.repeat(100_000) : { nested: ['x'.repeat(50_000)] },
      ]),
    );
    const big = fold(
      ev.created(1),
      ev.run(3),
      runEv.outputs(
        14,
        'aws',
        'dev',
        values,
        Array.from({ length: 80 }, (_, i) => `secret_${i}`),
      ),
    );
    const message = renderOutputsThread(big) as SlackMessage;
    withinLimits(message);
    expect(allText(message.blocks)).toContain('… and 70 more outputs');
    expect(allText(message.blocks)).toContain('and 30 more');
  });
});

describe('renderSuccessLine', () => {
  it('is one short line: freight → environment in how long, with links', () => {
    const card = fold(...passingDevRun());
    const message = renderSuccessLine(card, { cardUrl: CARD_URL });
    expect(message.text).toBe('✅ brave-wampa → dev in 14m');
    expect(message.blocks).toEqual([
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `✅ brave-wampa → dev in 14m · <${CARD_URL}|view the card> · <${RUN_URL}|run #12345>`,
        },
      },
    ]);
    withinLimits(message);
  });

  it('never trusts a URL it cannot link safely', () => {
    const card = fold(...passingDevRun());
    expect(renderSuccessLine(card, { cardUrl: 'javascript:alert(1)|x' }).blocks).toEqual([
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `✅ brave-wampa → dev in 14m · <${RUN_URL}|run #12345>` },
      },
    ]);
  });
});

describe('renderFailureAlert', () => {
  it('leads like the card: the failed gate, findings, resource and fix; then the job, the fields, Kargo last', () => {
    const card = fold(...failingTrivyProdRun());
    const message = renderFailureAlert(card, { cardUrl: CARD_URL });
    expect(message.blocks[0]).toMatchObject({
      type: 'header',
      text: { text: '🚨 Promotion to prod failed' },
    });
    const lead = sections(message.blocks)[0];
    expect(lead?.text?.text.split('\n')[0]).toBe(
      `❌ *Why it failed:* <${jobUrl(JOB_ID.prodGates)}|*AWS · Trivy*> found 2 critical · 3 high`,
    );
    expect(lead?.text?.text).toContain(
      '• *CRITICAL* on `aws_security_group.web` — Security group rule allows egress to multiple public internet addresses',
    );
    expect(lead?.accessory).toMatchObject({ action_id: FINDINGS_DETAILS_ACTION_ID, value: card.id });
    expect(message.blocks[2]).toMatchObject({
      text: {
        text: `*Failed job:* <${jobUrl(JOB_ID.prodGates)}|prod gates (Trivy hard, OPA on HCL + plan)> at step \`Trivy (HIGH/CRITICAL, hard)\``,
      },
    });
    const fields = sections(message.blocks)
      .flatMap((s) => s.fields ?? [])
      .map((f) => f.text);
    expect(fields[0]).toMatch(/^\*Promotion\*\n`prod\.01k3x9q8z5w7v2m4n6p8r0s2t4\.f5f87aa`$/);
    expect(fields[1]).toMatch(
      /^\*Freight\*\n`brave-wampa` · <https:\/\/github\.com\/acme\/gitops-infra-pipeline\/commit\//,
    );
    expect(fields.slice(2)).toEqual([
      '*Requested by*\n<@U012ABCDEF>',
      `*GitHub run*\n<${RUN_URL}|#12345> · failed`,
    ]);
    expect(sections(message.blocks).at(-1)?.text?.text).toBe(
      '*Kargo says*\n```step "waitRun" failed: workflow run 12345 concluded failure```',
    );
    expect(message.blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `<${CARD_URL}|View the promotion card>` }],
    });
    expect(message.text).toBe(
      '🚨 Promotion to prod failed: brave-wampa — AWS · Trivy found 2 critical, 3 high; job prod gates (Trivy hard, OPA on HCL + plan) failed at step Trivy (HIGH/CRITICAL, hard)',
    );
    withinLimits(message);
  });

  it('leads with the run when no job is known, and with Kargo’s reason when there was no run', () => {
    const noJob = fold(
      ev.requested(0),
      ev.created(1),
      ev.run(3),
      runEv.status('completed', 9, { conclusion: 'failure' }),
      ev.phase('Failed', 10, 'boom'),
    );
    expect(renderFailureAlert(noJob).blocks[1]).toMatchObject({
      text: {
        text: `❌ *Why it failed:* <${RUN_URL}|GitHub run #12345> failed; no failed job was reported — its page says why.`,
      },
    });
    expect(renderFailureAlert(noJob).text).toBe('🚨 Promotion to prod failed: f5f87aa — boom');
    const noRun = fold(ev.requested(0), ev.created(1), ev.phase('Errored', 2, 'dispatch refused'));
    expect(renderFailureAlert(noRun).blocks.slice(1, 3)).toMatchObject([
      { text: { text: '❌ *What went wrong:* Kargo says: dispatch refused (whole message below)' } },
      { text: { text: '_No GitHub Actions run was started for this promotion._' } },
    ]);
  });

  it('names a job that failed before any step (a rejected approval)', () => {
    const card = fold(
      ev.requested(0),
      ev.created(1),
      ev.run(3),
      runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'waiting', 10),
      runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'completed', 30, [], { conclusion: 'failure' }),
    );
    expect(allText(renderFailureAlert(card).blocks)).toContain(
      `*Failed job:* <${jobUrl(JOB_ID.awsProd)}|aws prod apply> (failed before any step did)`,
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// Properties: Slack's limits hold for anything

const nasty = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }), weight: 6 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
  {
    arbitrary: fc.constantFrom('<>&', '```', '<!channel>', '<https://x|y>', '&amp;', '😀👩‍👩‍👧', '\n\n', '', '`'),
    weight: 2,
  },
  {
    arbitrary: fc
      .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }), fc.integer({ min: 200, max: 4000 }))
      .map(([chunk, times]) => chunk.repeat(times)),
    weight: 1,
  },
);
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });
const minute = fc.double({ min: 0, max: 120, noNaN: true });
const isoish = fc.oneof({ arbitrary: minute.map(atMin), weight: 5 }, { arbitrary: nasty, weight: 1 });

const KNOWN_JOBS = [
  JOB_NAME.policy,
  JOB_NAME.aws('dev'),
  JOB_NAME.aws('prod'),
  JOB_NAME.gcp('prod'),
  JOB_NAME.azure('dev'),
  JOB_NAME.awsDev,
  JOB_NAME.gcpPlan,
  JOB_NAME.azurePlan,
  JOB_NAME.prodGates,
  JOB_NAME.awsProd,
];
const KNOWN_STEPS = [
  'terraform fmt',
  'terraform validate (init -backend=false)',
  'TFLint',
  'Trivy (HIGH/CRITICAL, hard)',
  'Trivy (HIGH/CRITICAL)',
  'OPA (x)',
  'Conftest on every Terraform root (HCL)',
  'Conftest on terraform/aws/prod (HCL and plan JSON)',
  'Preview plan (read-only, no lock)',
  'terraform plan',
  'terraform apply',
  'Fail on a failed hard gate',
  'Fail on a failed prod gate',
  'Fail when plan or apply failed',
];
const STATUSES = ['queued', 'in_progress', 'waiting', 'completed', 'pending', 'requested'];
const CONCLUSIONS = ['success', 'failure', 'cancelled', 'skipped', 'timed_out', 'neutral'];
const GATES: GateName[] = [
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
const SEVERITY = fc.constantFrom(
  'CRITICAL' as const,
  'HIGH' as const,
  'MEDIUM' as const,
  'LOW' as const,
  'UNKNOWN' as const,
);
const count = fc.oneof(fc.nat({ max: 5 }), fc.nat({ max: 1_000_000 }));
const url = fc.oneof(fc.constant(undefined), fc.webUrl(), nasty);

const stepArb: fc.Arbitrary<RunJobStep> = fc.record({
  number: fc.nat({ max: 40 }),
  name: fc.oneof(fc.constantFrom(...KNOWN_STEPS), nasty),
  status: fc.oneof(fc.constantFrom(...STATUSES), nasty),
  conclusion: maybe(fc.oneof(fc.constantFrom(...CONCLUSIONS), nasty)),
  startedAt: maybe(isoish),
  completedAt: maybe(isoish),
});

const eventArb: fc.Arbitrary<Omit<CardEvent, 'id' | 'cardId'>> = fc.oneof(
  fc.record({
    type: fc.constant('RunStatusChanged' as const),
    at: isoish,
    runId: fc.constant(RUN_ID),
    runAttempt: maybe(fc.integer({ min: 1, max: 4 })),
    status: fc.oneof(fc.constantFrom(...STATUSES), nasty),
    conclusion: maybe(fc.oneof(fc.constantFrom(...CONCLUSIONS), nasty)),
    htmlUrl: url,
    triggeredBy: maybe(nasty),
  }),
  fc.record({
    type: fc.constant('RunJobChanged' as const),
    at: isoish,
    runId: fc.constant(RUN_ID),
    jobId: fc.integer({ min: 1, max: 40 }),
    runAttempt: maybe(fc.integer({ min: 1, max: 4 })),
    name: fc.oneof({ arbitrary: fc.constantFrom(...KNOWN_JOBS), weight: 4 }, { arbitrary: nasty, weight: 1 }),
    status: fc.oneof(fc.constantFrom(...STATUSES), nasty),
    conclusion: maybe(fc.oneof(fc.constantFrom(...CONCLUSIONS), nasty)),
    startedAt: maybe(isoish),
    completedAt: maybe(isoish),
    htmlUrl: url,
    steps: fc.array(stepArb, { maxLength: 30 }),
  }),
  fc.record({
    type: fc.constant('GateReported' as const),
    at: isoish,
    runId: fc.constant(RUN_ID),
    result: fc.record({
      schemaVersion: fc.constant(1 as const),
      gate: fc.constantFrom(...GATES),
      cloud: fc.constantFrom('aws' as const, 'gcp' as const, 'azure' as const, 'all' as const),
      environment: fc.constantFrom('dev' as const, 'prod' as const, 'all' as const, 'bootstrap' as const),
      status: fc.constantFrom(
        'passed' as const,
        'failed' as const,
        'soft-failed' as const,
        'skipped' as const,
        'errored' as const,
      ),
      enforcement: fc.constantFrom('hard' as const, 'soft' as const),
      summary: maybe(nasty),
      durationSeconds: maybe(fc.double({ min: 0, max: 1e7, noNaN: true })),
      findings: fc.record({ critical: count, high: count, medium: count, low: count, unknown: count }),
      topFindings: fc.array(
        fc.record({
          id: nasty,
          severity: SEVERITY,
          message: nasty,
          title: maybe(nasty),
          resource: maybe(nasty),
        }),
        { maxLength: 25 },
      ),
      run: maybe(fc.record({ id: fc.constant(RUN_ID), attempt: fc.integer({ min: 1, max: 4 }) })),
    }),
  }),
  fc
    .record({
      at: isoish,
      cloud: fc.constantFrom('aws' as const, 'gcp' as const, 'azure' as const),
      environment: fc.constantFrom('dev' as const, 'prod' as const),
      sizes: fc.tuple(
        fc.oneof(fc.nat({ max: 5 }), fc.nat({ max: 5000 })),
        fc.nat({ max: 50 }),
        fc.oneof(fc.nat({ max: 5 }), fc.nat({ max: 5000 })),
        fc.nat({ max: 20 }),
      ),
      prefix: nasty,
    })
    .map(({ at: when, cloud, environment, sizes, prefix }) => {
      const list = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${prefix}${tag}.r[${i}]`);
      const [add, change, destroy, replace] = sizes;
      return {
        type: 'PlanSummarized' as const,
        at: when,
        runId: RUN_ID,
        summary: {
          schemaVersion: 1 as const,
          cloud,
          environment,
          counts: { add, change, destroy, replace },
          resources: {
            add: list(add, 'a'),
            change: list(change, 'c'),
            destroy: list(destroy, 'd'),
            replace: list(replace, 'r'),
          },
        },
      };
    }),
  fc.record({
    type: fc.constant('OutputsPublished' as const),
    at: isoish,
    runId: fc.constant(RUN_ID),
    outputs: fc.record({
      schemaVersion: fc.constant(1 as const),
      cloud: fc.constantFrom('aws' as const, 'gcp' as const, 'azure' as const),
      environment: fc.constantFrom('dev' as const, 'prod' as const),
      outputs: fc.dictionary(
        fc.oneof(fc.constantFrom('instance_id', 'public_ip', 'cluster_endpoint', 'vpc_id'), nasty),
        fc.record({
          value: fc.oneof(
            nasty,
            fc.integer(),
            fc.constant(null),
            fc.array(nasty, { maxLength: 5 }),
            fc.dictionary(nasty, nasty, { maxKeys: 5 }),
          ),
        }),
        { maxKeys: 80 },
      ),
      excludedSensitive: fc.array(nasty, { maxLength: 60 }),
    }),
  }),
  fc.record({
    type: fc.constant('ArtifactProblem' as const),
    at: isoish,
    runId: fc.constant(RUN_ID),
    artifact: fc.oneof(
      fc.constantFrom('plan-summary-aws-dev', 'gate-trivy-aws-prod', 'terraform-outputs-aws-dev'),
      nasty,
    ),
    problem: fc.constantFrom(
      'missing' as const,
      'malformed' as const,
      'expired' as const,
      'too-large' as const,
      'unreadable' as const,
    ),
    detail: nasty,
  }),
  fc.record({
    type: fc.constant('PromotionPhaseChanged' as const),
    at: isoish,
    promotionName: fc.constant('prod.01k3x9q8z5w7v2m4n6p8r0s2t4.f5f87aa'),
    phase: fc.constantFrom(
      'Running' as const,
      'Succeeded' as const,
      'Failed' as const,
      'Errored' as const,
      'Aborted' as const,
    ),
    message: maybe(nasty),
  }),
);

/** A promotion (dev or prod) plus up to 60 random run events. */
const runCard: fc.Arbitrary<Card> = fc
  .tuple(fc.constantFrom('dev' as const, 'prod' as const), fc.array(eventArb, { maxLength: 60 }))
  .map(([environment, random]) => {
    const start: CardEvent[] = [
      ev.requested(0, { environment, stage: environment }),
      ev.resolved(0),
      ev.created(1, { stage: environment }),
      ev.phase('Running', 2),
      ev.run(3),
    ];
    const events = random.map(
      (event, index) => ({ ...event, id: `random-${index}`, cardId: start[0]?.cardId ?? '' }) as CardEvent,
    );
    return fold(...start, ...events);
  });

/** The same, inflated past the reducer's bounds: the renderers must not rely on them. */
const inflatedCard: fc.Arbitrary<Card> = fc
  .tuple(runCard, fc.nat({ max: 300 }), fc.nat({ max: 5000 }), fc.nat({ max: 400 }), nasty)
  .map(([card, reports, addresses, outputs, long]) => ({
    card,
    reports,
    addresses,
    outputs,
    long,
    text: long.slice(0, 300),
  }))
  .map(({ card, reports, addresses, outputs, long, text }) => ({
    ...card,
    gateReports: Array.from({ length: reports }, (_, i) => ({
      gate: 'actionlint' as const,
      cloud: 'all' as const,
      environment: 'bootstrap' as const,
      status: 'failed' as const,
      enforcement: 'hard' as const,
      summary: text,
      findings: { critical: i, high: 1, medium: 0, low: 0, unknown: 0 },
      topFindings: [
        { id: `${text}${i}`, severity: 'CRITICAL' as const, message: text, resource: text, title: text },
      ],
      at: at(5),
      attempt: i,
    })),
    plans: [
      {
        cloud: 'aws' as const,
        environment: 'prod' as const,
        counts: { add: addresses, change: 0, destroy: addresses, replace: 0 },
        resources: {
          add: Array.from({ length: addresses }, (_, i) => `${text}.add[${i}]`),
          change: [],
          destroy: Array.from({ length: addresses }, (_, i) => `${text}.destroy[${i}]`),
          replace: [],
        },
        truncated: false,
        at: at(6),
      },
    ],
    outputs: [
      {
        cloud: 'aws' as const,
        environment: 'dev' as const,
        entries: Array.from({ length: outputs }, (_, i) => ({ name: `${text}${i}`, value: text.repeat(3) })),
        omitted: 0,
        excludedSensitive: Array.from({ length: outputs }, (_, i) => `${text}-${i}`),
        excludedSensitiveOmitted: 0,
        at: at(7),
      },
    ],
    artifactProblems: Array.from({ length: Math.min(reports, 200) }, (_, i) => ({
      artifact: `${text}-${i}`,
      problem: 'malformed' as const,
      detail: text,
      at: at(8),
    })),
    failedJob: { name: long, jobId: 1, step: long, url: long, conclusion: 'failure' },
  }));

/** Every page of an answer on demand, following its "More" buttons. */
function allPages(render: (card: Card, page: number) => SlackMessage, card: Card): SlackMessage[] {
  const pages = [render(card, 1)];
  for (let page = 2; page <= 60; page += 1) {
    const more = pages
      .at(-1)
      ?.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []))
      .find((e) => e.text.text.startsWith('More'));
    if (!more) break;
    expect(more.value).toBe(`${card.id}:${page}`);
    pages.push(render(card, page));
  }
  return pages;
}

/** The first, second and last page (each page re-paginates everything: all of them is slow for huge cards). */
function edgePages(render: (card: Card, page: number) => SlackMessage, card: Card): SlackMessage[] {
  const first = render(card, 1);
  const header = first.blocks[0]?.type === 'header' ? first.blocks[0].text.text : '';
  const pages = Number(/page \d+ of (\d+)$/.exec(header)?.[1] ?? '1');
  return pages === 1 ? [first] : [first, render(card, 2), render(card, pages), render(card, pages + 5)];
}

const renderAll = (card: Card, now?: Date): SlackMessage[] =>
  [
    renderCard(card, { kargoUrl: 'https://kargo.example.com', now }),
    ...edgePages(renderPlanDetails, card),
    ...edgePages(renderFindingsDetails, card),
    renderOutputsThread(card),
    renderSuccessLine(card, { cardUrl: CARD_URL }),
    renderFailureAlert(card, { cardUrl: CARD_URL, kargoUrl: 'https://kargo.example.com' }),
  ].filter((message): message is SlackMessage => message !== undefined);

describe('properties: every message stays within Slack’s limits', () => {
  it('for any run the reducer folds (random jobs, steps, findings, plans of 0–5,000 addresses, outputs)', () => {
    fc.assert(
      fc.property(runCard, fc.option(fc.date({ noInvalidDate: true }), { nil: undefined }), (card, now) => {
        for (const message of renderAll(card, now)) withinLimits(message);
      }),
      { numRuns: 120 },
    );
  });

  it('for cards inflated past the reducer’s bounds', () => {
    fc.assert(
      fc.property(inflatedCard, (card) => {
        const messages = renderAll(card);
        for (const message of messages) withinLimits(message);
        // A plan too long for one message is paged: "More" asks for the next page of the same card.
        const first = renderPlanDetails(card, 1);
        const more = first.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []));
        if (more.length > 0) expect(more[0]?.value).toBe(`${card.id}:2`);
      }),
      { numRuns: 60 },
    );
  });

  it('plan details: every address is either listed or counted', () => {
    fc.assert(
      fc.property(fc.nat({ max: 5000 }), fc.nat({ max: 5000 }), (adds, destroys) => {
        const card = fold(
          ev.created(1),
          ev.run(3),
          runEv.plan(6, 'aws', 'prod', {
            add: Array.from({ length: adds }, (_, i) => `aws_instance.a[${i}]`),
            destroy: Array.from({ length: destroys }, (_, i) => `aws_instance.d[${i}]`),
          }),
        );
        const pages = allPages(renderPlanDetails, card);
        for (const page of pages) withinLimits(page);
        const text = pages.map((m) => allText(m.blocks)).join('\n');
        const listed = (text.match(/^• /gm) ?? []).length;
        const notStored = [...text.matchAll(/… and ([\d,]+) more not listed here/g)].reduce(
          (sum, m) => sum + Number((m[1] ?? '0').replace(/,/g, '')),
          0,
        );
        // Every address the card holds is on some page; the rest are counted (the card keeps 100 per action).
        expect(listed + notStored).toBe(adds + destroys);
      }),
      { numRuns: 60 },
    );
  });

  it('the checklist keeps failing rows visible when not everything fits', () => {
    const card = fold(...failingTrivyProdRun());
    const huge: Card = {
      ...card,
      gateReports: [
        ...card.gateReports,
        ...Array.from({ length: 300 }, (_, i) => ({
          gate: 'actionlint' as const,
          cloud: 'all' as const,
          environment: 'bootstrap' as const,
          status: 'passed' as const,
          enforcement: 'hard' as const,
          summary: 'x'.repeat(300),
          findings: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
          topFindings: [],
          at: at(5),
          attempt: i,
        })),
      ],
    };
    // Failed: the 312 passed gates are one line.
    const failed = renderCard(huge);
    withinLimits(failed);
    expect(allText(failed.blocks)).toContain('✅ 312 passed');
    expect(allText(failed.blocks)).toContain('AWS · Trivy> · 31s · 2 critical · 3 high');
    // Still running: every row is listed, failing ones first to stay visible.
    const message = renderCard({ ...huge, phase: 'Running', isTerminal: false, finishedAt: undefined });
    withinLimits(message);
    const text = allText(message.blocks);
    expect(text).toContain('AWS · Trivy> · 31s · 2 critical · 3 high');
    expect(text).toMatch(
      new RegExp(`… and [\\d,]+ more gates — <${RUN_URL.replace(/[/.]/g, '\\$&')}\\|see the run>`),
    );
  });
});

describe('steps builder sanity', () => {
  it('numbers steps and completes them by default', () => {
    expect(steps({ name: 'a' }, { name: 'b', status: 'in_progress' })).toEqual([
      { number: 1, name: 'a', status: 'completed', conclusion: 'success' },
      { number: 2, name: 'b', status: 'in_progress' },
    ]);
  });
});
