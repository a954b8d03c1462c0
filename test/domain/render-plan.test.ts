// What prod will change, before approving: the one-line risk on the approval card and the plan line, and
// the plan details answered on demand (grouped by action, destroy and replace first, what changes inside
// replaced and updated resources, never a sensitive value; paged when long).
import { describe, expect, it } from '@jest/globals';
import { summarisePlan } from '../../src/artifacts/plan-summary.js';
import type { PlanSummary } from '../../src/artifacts/types.js';
import { checkMessageLimits } from '../../src/domain/blockkit.js';
import type { Block, SectionBlock, SlackMessage } from '../../src/domain/blockkit.js';
import { applyEvent, foldEvents, type Card } from '../../src/domain/card.js';
import { PLAN_DETAILS_ACTION_ID } from '../../src/domain/details.js';
import type { ApprovalRequested, CardEvent, PlanSummarized } from '../../src/domain/events.js';
import { APPROVAL_RISK_BLOCK_ID, renderPendingList } from '../../src/domain/render-approval.js';
import { renderPlanDetails, riskLine, riskPlain } from '../../src/domain/render-plan.js';
import { renderCard } from '../../src/domain/render.js';
import { describeViolation, validateMessageBlocks } from '../../src/sandbox/blockkit-schema.js';
import { FIXTURE_SECRETS, showJsonFixture } from '../support/terraform-plan.js';
import { CARD_ID, RUN_ID, RUN_URL, atMin, ev, runEv } from './builders.js';
import { JOB_ID, JOB_NAME } from './run-stories.js';

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
  expect(message.text).not.toContain('\n');
}

/** Every page, following the "More" buttons. */
function pages(card: Card): SlackMessage[] {
  const out = [renderPlanDetails(card, 1)];
  for (;;) {
    const more = out
      .at(-1)
      ?.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []))
      .find((e) => e.action_id === PLAN_DETAILS_ACTION_ID);
    if (!more) return out;
    const page = Number(more.value?.split(':')[1]);
    expect(more.value).toBe(`${card.id}:${out.length + 1}`);
    out.push(renderPlanDetails(card, page));
  }
}

const fixturePlan = (minute = 9): PlanSummarized => ({
  type: 'PlanSummarized',
  id: `plan:aws-prod:${minute}`,
  cardId: CARD_ID,
  at: atMin(minute),
  runId: RUN_ID,
  summary: summarisePlan(showJsonFixture(), { cloud: 'aws', environment: 'prod' }),
});

const approvalRequested: ApprovalRequested = {
  type: 'ApprovalRequested',
  id: `approval-requested:${RUN_ID}:prod:deployment:77`,
  cardId: CARD_ID,
  at: atMin(10),
  runId: RUN_ID,
  environment: 'prod',
  mode: 'protection-rule',
  requestedAt: atMin(10),
  requestKey: 'deployment:77',
  reviewUrl: `https://github.com/acme/gitops-infra-pipeline/actions/runs/${RUN_ID}`,
  nonce: 'AbCdEfGhIjKlMnOpQrStUv',
};

const waitingProd = (...more: CardEvent[]): Card =>
  fold(
    ev.requested(0),
    ev.resolved(0),
    ev.created(1),
    ev.phase('Running', 2),
    ev.run(3),
    runEv.status('waiting', 10),
    runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'waiting', 10),
    ...more,
    approvalRequested,
  );

// ---------------------------------------------------------------------------------------------------

describe('the risk, in one line', () => {
  it('names what is replaced (and what forces it) and counts what is destroyed', () => {
    const card = waitingProd(fixturePlan());
    expect(riskLine(card)).toBe(
      '⚠️ *Risk:* replaces `aws_instance.this` (`ami` forces it), `aws_lb.web` (`internal` forces it); destroys 1: `aws_eip.old`',
    );
    expect(riskPlain(card)).toBe('replaces 2 resources; destroys 1');
  });

  it('says so when nothing is destroyed or replaced, and when no plan is in yet', () => {
    expect(riskLine(waitingProd(runEv.plan(9, 'aws', 'prod', { add: ['aws_instance.web'] })))).toBe(
      '✅ *Risk:* nothing is destroyed or replaced',
    );
    expect(riskLine(waitingProd())).toBe(
      `⚠️ *Risk:* not known yet. The plan summary is not in yet — <${RUN_URL}|see the run>`,
    );
    expect(riskPlain(waitingProd())).toBeUndefined();
  });

  it('names a single replacement in the notification ("replaces aws_instance.this; destroys 1")', () => {
    const card = waitingProd(
      runEv.plan(9, 'aws', 'prod', {
        add: ['aws_instance.this'],
        destroy: ['aws_instance.this', 'aws_eip.old'],
        replace: ['aws_instance.this'],
      }),
    );
    expect(riskPlain(card)).toBe('replaces aws_instance.this; destroys 1');
    expect(renderCard(card).text).toBe(
      '⏳ Promotion to prod is awaiting approval: frozen-tauntaun — replaces aws_instance.this; destroys 1',
    );
  });

  it('cuts long lists with a count', () => {
    const many = Array.from({ length: 40 }, (_, i) => `aws_route.r${i}`);
    const card = waitingProd(runEv.plan(9, 'aws', 'prod', { add: many, destroy: many, replace: many }));
    expect(riskLine(card)).toBe(
      '⚠️ *Risk:* replaces `aws_route.r0`, `aws_route.r1`, `aws_route.r2` and 37 more',
    );
  });
});

describe('the approval card states the risk right before its buttons, with the resources a click away', () => {
  const card = waitingProd(fixturePlan());
  const { blocks } = renderCard(card, { now: new Date(atMin(20)) });

  it('risk line, then Approve / Reject / Withdraw', () => {
    const at = blocks.findIndex((b) => b.block_id === APPROVAL_RISK_BLOCK_ID);
    const risk = blocks[at] as SectionBlock;
    expect(risk.text?.text).toBe(riskLine(card));
    expect(risk.accessory).toEqual({
      type: 'button',
      action_id: PLAN_DETAILS_ACTION_ID,
      text: { type: 'plain_text', text: 'Show resources', emoji: true },
      value: card.id,
    });
    expect(blocks[at + 1]).toMatchObject({ type: 'actions', block_id: 'approval_actions' });
    expect(blocks[at - 1]).toMatchObject({ block_id: 'approval' });
    expect((blocks[at - 1] as SectionBlock).text?.text).toContain(
      '*What it will apply:* AWS prod: +3 ~3 −3 (2 replaced)',
    );
    valid(renderCard(card));
  });

  it('the plan line keeps its button and does not repeat the risk while the buttons show it', () => {
    const plan = blocks.find(
      (b) => b.type === 'section' && b.text?.text.startsWith('*Plan*'),
    ) as SectionBlock;
    expect(plan.text?.text).toBe('*Plan* — AWS prod: +3 ~3 −3 (2 replaced)');
    expect(plan.accessory?.action_id).toBe(PLAN_DETAILS_ACTION_ID);
  });

  it('the /approve list says the risk of each waiting promotion', () => {
    const list = texts(renderPendingList([{ card, allowed: true }]).blocks);
    expect(list).toContain('plan aws prod +3 ~3 −3 (2 replaced) · ⚠️ replaces 2 resources; destroys 1');
  });

  it('once decided, the plan line carries the risk', () => {
    const decided = applyEvent(card, {
      type: 'ApprovalDecided',
      id: 'decided',
      cardId: CARD_ID,
      at: atMin(12),
      runId: RUN_ID,
      environment: 'prod',
      decision: 'approved',
      by: { slackUserId: 'U0BOB', slackUserName: 'bob' },
      requestKey: 'deployment:77',
    });
    const plan = renderCard(decided).blocks.find(
      (b) => b.type === 'section' && b.text?.text.startsWith('*Plan*'),
    ) as SectionBlock;
    expect(plan.text?.text).toBe(`*Plan* — AWS prod: +3 ~3 −3 (2 replaced)\n${riskLine(card)}`);
  });
});

describe('renderPlanDetails', () => {
  it('groups by action — destroyed, replaced, changed, created — each resource once, with what changes', () => {
    const message = renderPlanDetails(waitingProd(fixturePlan()));
    expect(message.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Plan · prod' } });
    expect(texts(message.blocks)).toBe(
      [
        'Plan · prod',
        '*AWS prod* · +3 ~3 −3 (2 replaced)',
        '_Terraform counts a replacement as one add and one destroy; here each resource is listed once._',
        '🔴 *Destroyed (1)*',
        '• `aws_eip.old`',
        '🟠 *Replaced (2)* — destroyed and created again',
        '• `aws_instance.this` — _cannot be updated in place_',
        '      `ami`: `"ami-0a1b2c3d4e5f60718"` → `"ami-0fedcba9876543210"` · *forces replacement*',
        '      `instance_type`: `"t3.micro"` → `"t3.small"`',
        '      `root_block_device[0].volume_size`: `20` → `30`',
        '      `user_data`: _sensitive, not shown_',
        '      _known after apply:_ `arn`, `id`, `private_ip`, `public_ip`, `root_block_device[0].volume_id`',
        '• `aws_lb.web` — _cannot be updated in place_',
        '      `internal`: `false` → `true` · *forces replacement*',
        '      `subnets[1]`: `"subnet-0e5f6a7b"` → `"subnet-09c8d7e6"`',
        '      _known after apply:_ `arn`, `dns_name`, `id`',
        '🔵 *Changed in place (3)*',
        '• `aws_db_instance.main`',
        '      `engine_version`: `"16.3"` → `"16.4"`',
        '      `instance_class`: `"db.t3.micro"` → `"db.t3.small"`',
        '      `tags.Owner`: `"platform"` → `"sre"`',
        '      `password`: _sensitive, not shown_',
        '• `aws_ssm_parameter.api`',
        '      `tier`: `"Standard"` → `"Advanced"`',
        '      `value`: _sensitive, not shown_',
        '      _known after apply:_ `version`',
        '• `kubernetes_secret.app`',
        '      `data.DB_PASSWORD`: _sensitive, not shown_',
        '🟢 *Created (1)*',
        '• `aws_security_group_rule.https`',
        'Values Terraform marks sensitive, and attributes named like secrets, are never shown. _Known after apply_ values are decided by the apply.',
      ].join('\n'),
    );
    expect(message.text).toBe('Plan for prod (frozen-tauntaun): AWS prod +3 ~3 −3 (2 replaced)');
    valid(message);
  });

  it('never shows a sensitive value, in any page, the card, or the notification text', () => {
    const card = waitingProd(fixturePlan());
    const everything = JSON.stringify([...pages(card), renderCard(card)]);
    for (const secret of FIXTURE_SECRETS) expect(everything).not.toContain(secret);
  });

  it('says when the plan summary predates attribute details (older artifacts still render)', () => {
    const summary = summarisePlan(showJsonFixture(), { cloud: 'aws', environment: 'prod' });
    const older: PlanSummary = { ...summary };
    delete older.changes;
    const card = waitingProd({ ...fixturePlan(), summary: older });
    const text = texts(renderPlanDetails(card).blocks);
    expect(text).toContain('• `aws_instance.this`\n');
    expect(text).toContain(
      '_What changes inside these resources is not in this plan summary (a workflow older than that published it)._',
    );
    expect(riskLine(card)).toBe(
      '⚠️ *Risk:* replaces `aws_instance.this`, `aws_lb.web`; destroys 1: `aws_eip.old`',
    );
  });

  it('pages a long plan with "More" buttons; every address is on a page or counted', () => {
    const many = Array.from({ length: 400 }, (_, i) => `module.fleet.aws_instance.node["worker-${i}"]`);
    const card = fold(
      ev.created(1),
      ev.run(3),
      runEv.plan(6, 'aws', 'prod', { add: many, destroy: many.slice(0, 150), change: many.slice(0, 120) }),
    );
    const all = pages(card);
    expect(all.length).toBeGreaterThan(1);
    all.forEach((page, i) => {
      valid(page);
      expect(page.blocks[0]).toMatchObject({
        text: { text: `Plan · prod · page ${i + 1} of ${all.length}` },
      });
    });
    const text = all.map((m) => texts(m.blocks)).join('\n');
    expect(text).toContain('🔴 *Destroyed (150)*');
    expect(text).toContain('… and 50 more not listed here');
    const listed = (text.match(/^• /gm) ?? []).length;
    // The card keeps 100 addresses per action: 100 destroyed + 100 changed + 100 created are listed.
    expect(listed).toBe(300);
    // Past the last page, the last page again.
    expect(renderPlanDetails(card, 99)).toEqual(all.at(-1));
  });

  it('says when no plan summary has been published', () => {
    expect(texts(renderPlanDetails(fold(ev.created(1), ev.run(3))).blocks)).toContain(
      '_No plan summary has been published for this promotion yet._',
    );
  });
});
