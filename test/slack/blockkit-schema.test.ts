// The stand-in's Block Kit check (src/sandbox/blockkit-schema.ts) is written from Slack's reference, not
// from the bot: it must refuse what Slack refuses (a misspelt block or element type, an image without its
// source, a modal with a bad block, unknown fields, bad enums, lengths) and accept everything the bot
// renders for the card stories of test/domain, its modals included — directly, and through the real
// WebClient against the stand-in (chat.postMessage, response_url, views.open, views.publish).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { WebAPIPlatformError, WebClient } from '@slack/web-api';
import type { SlackMessage } from '../../src/domain/blockkit.js';
import { foldEvents, type Card } from '../../src/domain/card.js';
import type { ApprovalRequested, CardEvent } from '../../src/domain/events.js';
import {
  renderApprovalReminder,
  renderPendingList,
  renderRejectModal,
} from '../../src/domain/render-approval.js';
import {
  renderCard,
  renderFailureAlert,
  renderFindingsDetails,
  renderOutputsThread,
  renderPlanDetails,
  renderRunStillGoingAlert,
  renderSuccessLine,
} from '../../src/domain/render.js';
import { buildFreightView, renderFreightView } from '../../src/domain/freight-view.js';
import { describeViolation, validateMessageBlocks, validateView } from '../../src/sandbox/blockkit-schema.js';
import { SlackStandIn } from '../../src/sandbox/slack-standin.js';
import { summarisePlan } from '../../src/artifacts/plan-summary.js';
import { showJsonFixture } from '../support/terraform-plan.js';
import {
  CARD_ID,
  RUN_ID,
  at,
  atMin,
  devStage,
  ev,
  freight,
  happyPath,
  prodStage,
  runEv,
} from '../domain/builders.js';
import {
  JOB_ID,
  JOB_NAME,
  cancelledProdRun,
  failingTrivyProdRun,
  missingArtifactRun,
  passingDevRun,
} from '../domain/run-stories.js';
import { quietSlackLogger } from '../support/quiet-slack-logger.js';

const text = (t: string) => ({ type: 'mrkdwn', text: t });
const plain = (t: string) => ({ type: 'plain_text', text: t });
const section = (t: string) => ({ type: 'section', text: text(t) });
const messages = (blocks: unknown): string[] => validateMessageBlocks(blocks).map(describeViolation);

// ---------------------------------------------------------------------------------------------------
// What Slack refuses

describe('the stand-in’s Block Kit schema refuses what Slack refuses', () => {
  it('an unknown block type (`sectoin`)', () => {
    expect(messages([{ type: 'sectoin', text: text('hi') }])).toEqual([
      'unknown or undescribed block type "sectoin" [json-pointer:/blocks/0/type]',
    ]);
  });

  it('an image block without an image, or without alt_text', () => {
    expect(messages([{ type: 'image', alt_text: 'a cat' }])).toEqual([
      'missing required field: image_url or slack_file (exactly one) [json-pointer:/blocks/0]',
    ]);
    expect(messages([{ type: 'image', image_url: 'https://example.com/cat.png' }])).toEqual([
      'missing required field: alt_text [json-pointer:/blocks/0/alt_text]',
    ]);
    expect(
      messages([{ type: 'image', image_url: 'https://example.com/cat.png', alt_text: 'a cat' }]),
    ).toEqual([]);
  });

  it('a button typed `buton`, in an actions block or as an accessory', () => {
    expect(
      messages([{ type: 'actions', elements: [{ type: 'buton', text: plain('Go'), action_id: 'go' }] }]),
    ).toEqual([
      '"buton" is not allowed here (one of button, static_select, overflow) [json-pointer:/blocks/0/elements/0/type]',
    ]);
    expect(messages([{ ...section('x'), accessory: { type: 'buton', text: plain('Go') } }])).toHaveLength(1);
  });

  it('unknown fields, bad enums, wrong text types and lengths, duplicate ids', () => {
    const button = { type: 'button', text: plain('Go'), action_id: 'go' };
    expect(
      messages([
        { type: 'section', txt: text('typo') },
        { type: 'actions', elements: [{ ...button, style: 'green' }] },
        { type: 'header', text: text('*bold header*') },
        { type: 'header', text: plain('h'.repeat(151)) },
        { type: 'section', text: { type: 'markdown', text: 'x' } },
        { type: 'section', text: { type: 'mrkdwn', text: 'x', emoji: true } },
        { type: 'section', text: plain('') },
        { type: 'actions', elements: [button, { ...button }] },
        { type: 'divider', block_id: 'same' },
        { type: 'divider', block_id: 'same' },
        {
          type: 'actions',
          elements: [{ ...button, confirm: { title: plain('Sure?'), text: plain('Really?') } }],
        },
      ]),
    ).toEqual([
      'unknown field "txt" in section [json-pointer:/blocks/0/txt]',
      'missing required field: text or fields [json-pointer:/blocks/0]',
      'must be one of primary, danger, not "green" [json-pointer:/blocks/1/elements/0/style]',
      'must be plain_text, not mrkdwn [json-pointer:/blocks/2/text/type]',
      'must be at most 150 characters (is 151) [json-pointer:/blocks/3/text/text]',
      'text object type must be plain_text or mrkdwn, not "markdown" [json-pointer:/blocks/4/text/type]',
      'unknown field "emoji" in mrkdwn text object [json-pointer:/blocks/5/text/emoji]',
      'must be at least 1 character [json-pointer:/blocks/6/text/text]',
      'duplicate action_id "go" [json-pointer:/blocks/7]',
      'duplicate block_id [json-pointer:/blocks/9/block_id]',
      'missing required field: confirm [json-pointer:/blocks/10/elements/0/confirm/confirm]',
      'missing required field: deny [json-pointer:/blocks/10/elements/0/confirm/deny]',
    ]);
  });

  it('more than 50 blocks in a message (100 in a view), and input blocks in a message', () => {
    expect(messages(Array.from({ length: 51 }, () => ({ type: 'divider' })))).toEqual([
      '51 blocks (limit 50) [json-pointer:/blocks]',
    ]);
    const input = {
      type: 'input',
      label: plain('Why?'),
      element: { type: 'plain_text_input', action_id: 'why' },
    };
    expect(messages([input])).toEqual([
      'input blocks are not allowed in a message [json-pointer:/blocks/0/type]',
    ]);
  });

  it('a modal with a bad block, a long title, an input without submit; a home tab that is not one', () => {
    const modal = {
      type: 'modal',
      title: plain('Reject deployment'),
      submit: plain('Reject'),
      blocks: [section('ok'), { type: 'sectoin', text: text('typo') }],
    };
    expect(validateView(modal, 'modal').map(describeViolation)).toEqual([
      'unknown or undescribed block type "sectoin" [json-pointer:/view/blocks/1/type]',
    ]);
    expect(
      validateView(
        {
          type: 'modal',
          title: plain('A title longer than 24 chars'),
          blocks: [{ type: 'input', label: plain('Why?'), element: { type: 'plain_text_input' } }],
        },
        'modal',
      ).map(describeViolation),
    ).toEqual([
      'must be at most 24 characters (is 28) [json-pointer:/view/title/text]',
      'missing required field: submit (the view has an input block) [json-pointer:/view/submit]',
    ]);
    expect(validateView({ type: 'home', blocks: [section('hi')] }, 'home')).toEqual([]);
    expect(validateView({ type: 'modal', blocks: [] }, 'home').map(describeViolation)).toEqual([
      'view type must be home, not "modal" [json-pointer:/view/type]',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------
// What the bot renders is accepted

const fold = (...events: CardEvent[]): Card => {
  const card = foldEvents(events);
  if (!card) throw new Error('no card');
  return card;
};

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

/** Every card story of test/domain, at the moments the bot renders it. */
function storyCards(): Array<[string, Card]> {
  const waitingForApproval = fold(
    ev.requested(0),
    ev.resolved(0),
    ev.created(1),
    ev.phase('Running', 2),
    ev.run(3),
    runEv.status('waiting', 10),
    runEv.job(JOB_ID.awsProd, JOB_NAME.awsProd, 'waiting', 10),
    runEv.plan(9, 'aws', 'prod', {
      add: ['aws_instance.this', 'aws_lb.web'],
      change: ['aws_db_instance.main'],
      destroy: ['aws_eip.old', 'aws_instance.this'],
      replace: ['aws_instance.this'],
    }),
    approvalRequested,
  );
  const fromRealPlan = fold(
    ev.requested(0),
    ev.resolved(0),
    ev.created(1),
    ev.run(3),
    {
      type: 'PlanSummarized',
      id: 'plan:aws-prod',
      cardId: CARD_ID,
      at: atMin(9),
      runId: RUN_ID,
      summary: summarisePlan(showJsonFixture(), { cloud: 'aws', environment: 'prod' }),
    },
    approvalRequested,
  );
  return [
    ['happy path', fold(...happyPath())],
    ['waiting for approval of a real plan', fromRealPlan],
    ['requested', fold(ev.requested(0))],
    ['rejected', fold(ev.requested(0), ev.rejected(1))],
    ['passing dev run', fold(...passingDevRun())],
    ['missing artifact', fold(...missingArtifactRun())],
    ['failing Trivy on prod', fold(...failingTrivyProdRun())],
    ['cancelled prod run', fold(...cancelledProdRun())],
    ['waiting for approval', waitingForApproval],
  ];
}

function renderedFor(card: Card): Array<[string, SlackMessage]> {
  const now = new Date(atMin(30));
  const out: Array<[string, SlackMessage | undefined]> = [
    ['card', renderCard(card, { now, kargoUrl: 'https://kargo.example.com' })],
    ['plan details', renderPlanDetails(card)],
    ['plan details, page 2', renderPlanDetails(card, 2)],
    ['all findings', renderFindingsDetails(card)],
    ['outputs thread', renderOutputsThread(card)],
    ['success line', renderSuccessLine(card, { cardUrl: 'https://acme.slack.com/archives/C0/p1' })],
    ['failure alert', renderFailureAlert(card, { cardUrl: 'https://acme.slack.com/archives/C0/p1' })],
    ['run still going', renderRunStillGoingAlert(card)],
    ['reminder', renderApprovalReminder(card, { now, approvers: { users: ['U0BOB'], groups: ['S0SRE'] } })],
  ];
  return out.filter((entry): entry is [string, SlackMessage] => entry[1] !== undefined);
}

describe('everything the bot renders for the test/domain stories is valid Block Kit', () => {
  for (const [story, card] of storyCards()) {
    it(story, () => {
      for (const [what, message] of renderedFor(card)) {
        expect([what, messages(message.blocks)]).toEqual([what, []]);
      }
    });
  }

  it('the approval list, the Reject modal and the freight view', () => {
    const waiting = storyCards().find(([story]) => story === 'waiting for approval')?.[1];
    if (!waiting) throw new Error('no waiting card');
    expect(
      messages(renderPendingList([{ card: waiting, allowed: true }], new Date(atMin(30))).blocks),
    ).toEqual([]);
    expect(messages(renderPendingList([]).blocks)).toEqual([]);
    expect(validateView(renderRejectModal(waiting, 'prod', 'metadata'), 'modal')).toEqual([]);
    const view = buildFreightView(
      [freight({ currentlyIn: { dev: {} } }), freight({ name: 'b'.repeat(40), alias: 'brave-wampa' })],
      [devStage(), prodStage()],
      5,
      new Date(at(30)),
    );
    expect(messages(renderFreightView(view, { title: 'Freight in infra' }).blocks)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Through the wire

describe('the stand-in applies the schema on every method that takes Block Kit', () => {
  let standIn: SlackStandIn;
  let web: WebClient;
  beforeAll(async () => {
    standIn = await SlackStandIn.start({ rateLimits: false });
    web = new WebClient(standIn.token, {
      slackApiUrl: standIn.apiUrl,
      retryConfig: { retries: 0 },
      logger: quietSlackLogger,
    });
  });
  beforeEach(() => standIn.reset());
  afterAll(async () => {
    await standIn.close();
  });

  const refused = async (call: Promise<unknown>): Promise<WebAPIPlatformError['data']> => {
    const err = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WebAPIPlatformError);
    return (err as WebAPIPlatformError).data;
  };

  it('chat.postMessage and chat.update answer invalid_blocks with Slack’s errors', async () => {
    const data = await refused(
      web.chat.postMessage({ channel: 'C0DEPLOYS', text: 'x', blocks: [{ type: 'sectoin' } as never] }),
    );
    expect(data).toMatchObject({
      error: 'invalid_blocks',
      errors: ['unknown or undescribed block type "sectoin" [json-pointer:/blocks/0/type]'],
    });
    const posted = await web.chat.postMessage({
      channel: 'C0DEPLOYS',
      text: 'x',
      blocks: [section('ok')] as never,
    });
    const update = await refused(
      web.chat.update({
        channel: 'C0DEPLOYS',
        ts: posted.ts as string,
        text: 'x',
        blocks: [{ type: 'image', alt_text: 'no source' }] as never,
      }),
    );
    expect(update.error).toBe('invalid_blocks');
  });

  it('response_url refuses a button typed buton', async () => {
    const url = standIn.createResponseUrl({ channel: 'C0DEPLOYS', user: 'U0ALICE' });
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        text: 'x',
        blocks: [{ type: 'actions', elements: [{ type: 'buton', text: plain('Go'), action_id: 'go' }] }],
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ ok: false, error: 'invalid_blocks' });
    expect(standIn.ephemeral()).toEqual([]);
  });

  it('views.open refuses a modal with a bad block (and keeps the trigger); accepts the Reject modal', async () => {
    const trigger = standIn.issueTriggerId('U0BOB');
    const bad = await refused(
      web.views.open({
        trigger_id: trigger,
        view: { type: 'modal', title: plain('Hi') as never, blocks: [{ type: 'sectoin' } as never] },
      }),
    );
    expect(bad).toMatchObject({
      error: 'invalid_arguments',
      response_metadata: {
        messages: ['[ERROR] unknown or undescribed block type "sectoin" [json-pointer:/view/blocks/0/type]'],
      },
    });
    const card = fold(...failingTrivyProdRun());
    const opened = await web.views.open({ trigger_id: trigger, view: renderRejectModal(card, 'prod', 'm') });
    expect(opened.ok).toBe(true);
    expect(standIn.openViews('U0BOB')).toHaveLength(1);
  });

  it('views.publish stores a valid Home tab per user and refuses a bad one or an unknown user', async () => {
    const published = await web.views.publish({
      user_id: 'U0ALICE',
      view: { type: 'home', blocks: [section('*Your promotions*') as never] },
    });
    expect(published.view?.type).toBe('home');
    expect(standIn.homeView('U0ALICE')?.view.blocks).toEqual([section('*Your promotions*')]);
    const bad = await refused(
      web.views.publish({
        user_id: 'U0ALICE',
        view: { type: 'home', blocks: [{ type: 'sectoin' } as never] },
      }),
    );
    expect(bad.error).toBe('invalid_arguments');
    const stranger = await refused(
      web.views.publish({ user_id: 'U0NOBODY', view: { type: 'home', blocks: [section('x') as never] } }),
    );
    expect(stranger).toMatchObject({ error: 'invalid_arguments' });
    const stale = await refused(
      web.views.publish({
        user_id: 'U0ALICE',
        hash: 'stale',
        view: { type: 'home', blocks: [section('x') as never] },
      }),
    );
    expect(stale.error).toBe('hash_conflict');
  });
});
