// #infra-audit that people can read, through the whole bot: a promotion driven by signed Slack requests into
// the real web process, the real worker on real Redis, Kargo on the envtest API server (the test plays the
// controller) and the GitHub stand-in's simulation of the workflow. #infra-audit (the Slack stand-in) gets at
// most one line per decision and per phase change, the audit stream still keeps every record, and the full
// record comes back — ephemerally, paged — from `/audit` and from a line's "Full record" button, to whoever
// asks from #infra-audit.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { AuditRecord } from '../../src/domain/audit.js';
import { AUDIT_RECORD_ACTION_ID, mirrorKindOf } from '../../src/domain/audit-mirror.js';
import { DEFAULT_STANDIN_PAT, GithubStandIn } from '../../src/sandbox/github-standin.js';
import {
  blockActionsBody,
  newTriggerId,
  signedSlackRequest,
  slashCommandBody,
} from '../../src/sandbox/slack-requests.js';
import type { StandInEphemeral } from '../../src/sandbox/slack-standin.js';
import {
  CHANNELS,
  SIGNING_SECRET,
  VERIFIED_FREIGHT,
  WEBHOOK_SECRET,
  eventually,
  keyOf,
  seedKargo,
  startHarness,
  textOf,
  type Harness,
} from '../support/bot-harness.js';
import { describeWithEnvtest } from '../support/envtest.js';

interface Element {
  type: string;
  action_id?: string;
  value?: string;
}
type Blocks = Array<{ type: string; accessory?: Element; elements?: Element[]; text?: { text: string } }>;

const buttonIn = (blocks: unknown[] | undefined, actionId: string): Element | undefined =>
  ((blocks ?? []) as Blocks)
    .flatMap((b) => [b.accessory, ...(b.elements ?? [])])
    .find((e): e is Element => e?.action_id === actionId);

const sectionsOf = (e: { blocks?: unknown[] }): string[] =>
  ((e.blocks ?? []) as Blocks)
    .filter((b) => b.type === 'section')
    .flatMap((b) => (b.text?.text ?? '').split('\n'));

describeWithEnvtest(
  '#infra-audit: one line per decision and phase change, the full record on demand',
  (env) => {
    let github: GithubStandIn;
    let h: Harness;
    let promotionName = '';
    let cardId = '';

    beforeAll(async () => {
      await seedKargo(env());
      github = await GithubStandIn.start({ owner: 'acme', repo: 'gitops-infra-pipeline' });
      h = await startHarness(env(), {
        env: {
          GITHUB_API_URL: github.url,
          GITHUB_TOKEN: DEFAULT_STANDIN_PAT,
          GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        },
        worker: {
          pollSchedule: { steps: [[Number.POSITIVE_INFINITY, 500]], budget: 200 },
          artifactBackoffMs: 300,
        },
      });
      github.setWebhook({ url: `http://127.0.0.1:${h.web.port}/github/webhook`, secret: WEBHOOK_SECRET });
    }, 120_000);

    afterAll(async () => {
      await h?.stop();
      await github?.stop();
    });

    /** A slash command as Slack signs it, typed in `channel`; its response_url bound to user and channel. */
    async function command(text: string, user: string, channel: string): Promise<string> {
      const body = slashCommandBody({
        command: '/audit',
        text,
        userId: user,
        channelId: channel,
        channelName: channel === CHANNELS.audit ? 'infra-audit' : 'infra-deployments',
        triggerId: newTriggerId(),
        responseUrl: h.slack.createResponseUrl({ channel, user }),
      });
      const signed = signedSlackRequest(SIGNING_SECRET, body);
      const res = await fetch(`http://127.0.0.1:${h.web.port}/slack/events`, {
        method: 'POST',
        headers: signed.headers,
        body,
      });
      expect(res.status).toBe(200);
      const raw = await res.text();
      return raw.startsWith('{') ? ((JSON.parse(raw) as { text?: string }).text ?? raw) : raw;
    }

    /** A signed click on a button of a message (or an ephemeral answer) in `channel`. */
    async function click(
      user: string,
      channel: string,
      message: { ts: string; text: string; blocks?: unknown[] },
      value: string,
      ephemeral = false,
    ): Promise<number> {
      const body = blockActionsBody({
        type: 'block_actions',
        user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0SANDBOX' },
        api_app_id: 'A0SANDBOX',
        token: 'deprecated',
        container: { type: 'message', message_ts: message.ts, channel_id: channel, is_ephemeral: ephemeral },
        trigger_id: newTriggerId(),
        team: { id: 'T0SANDBOX', domain: 'sandbox' },
        channel: { id: channel, name: channel === CHANNELS.audit ? 'infra-audit' : 'infra-deployments' },
        message: { ts: message.ts, text: message.text, blocks: message.blocks },
        response_url: h.slack.createResponseUrl({ channel, user, messageTs: message.ts }),
        actions: [
          {
            action_id: AUDIT_RECORD_ACTION_ID,
            block_id: 'b',
            value,
            type: 'button',
            action_ts: `${Date.now() / 1000}`,
          },
        ],
      });
      const signed = signedSlackRequest(SIGNING_SECRET, body);
      const res = await fetch(`http://127.0.0.1:${h.web.port}/slack/events`, {
        method: 'POST',
        headers: signed.headers,
        body,
      });
      return res.status;
    }

    const answers = (user: string, since: number): StandInEphemeral[] =>
      h.slack.ephemeral({ user, channel: CHANNELS.audit }).slice(since);

    /** The answer says how many records it holds: `Full audit record of <name>: 42 records`. */
    const countOf = (answer: StandInEphemeral): number =>
      Number(/: ([\d,]+) records?/.exec(answer.text)?.[1]?.replace(/,/g, '') ?? NaN);

    const recordsOfCard = async (): Promise<AuditRecord[]> =>
      (await h.auditRecords()).filter((r) => r.cardId === cardId);

    /** Reads every page of a full-record answer, clicking More on each; returns its record lines. */
    async function readAllPages(user: string, first: StandInEphemeral): Promise<string[]> {
      const lines = [...sectionsOf(first)];
      let page = first;
      for (let n = 2; n <= 50; n++) {
        const more = buttonIn(page.blocks, AUDIT_RECORD_ACTION_ID);
        if (!more?.value) break;
        const seen = h.slack.ephemeral({ user, channel: CHANNELS.audit }).length;
        expect(
          await click(
            user,
            CHANNELS.audit,
            { ts: page.message_ts, text: page.text, blocks: page.blocks },
            more.value,
            true,
          ),
        ).toBe(200);
        page = await eventually(
          () => answers(user, seen).find((e) => e.text.includes(`page ${n} of`)),
          `page ${n} of the full record`,
        );
        lines.push(...sectionsOf(page));
      }
      return lines;
    }

    it('a promotion to dev: #infra-audit shows one line per decision and phase change; the stream keeps the rest', async () => {
      await h.send('/promote', 'dev frozen-tauntaun', 'U0BOB');
      const promotion = await eventually(
        async () => (await h.promotions()).find((p) => p.spec.stage === 'dev'),
        'the dev Promotion',
      );
      promotionName = promotion.metadata.name;
      github.queueScenario('dev-pass');
      const res = await fetch(
        `${github.url}/repos/acme/gitops-infra-pipeline/actions/workflows/terraform.yaml/dispatches`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${DEFAULT_STANDIN_PAT}`,
            accept: 'application/vnd.github+json',
            'content-type': 'application/json',
            'x-github-api-version': '2022-11-28',
          },
          body: JSON.stringify({
            ref: 'main',
            inputs: {
              environment: 'dev',
              deploy_prod: 'no',
              promotion: promotionName,
              freight_sha: VERIFIED_FREIGHT,
            },
            return_run_details: true,
          }),
        },
      );
      expect(res.status).toBe(200);
      const { workflow_run_id: runId, html_url: runUrl } = (await res.json()) as {
        workflow_run_id: number;
        html_url: string;
      };
      await h.setPromotionStatus(promotionName, {
        phase: 'Running',
        stepExecutionMetadata: [
          { alias: 'dispatch', status: 'Succeeded' },
          { alias: 'waitRun', status: 'Running' },
        ],
        state: { dispatch: { runId, runUrl } },
      });
      await github.runUntilIdle();
      expect(github.run(runId)?.conclusion).toBe('success');
      await h.setPromotionStatus(promotionName, {
        phase: 'Succeeded',
        stepExecutionMetadata: [
          { alias: 'dispatch', status: 'Succeeded' },
          { alias: 'waitRun', status: 'Succeeded' },
        ],
      });
      await eventually(
        () =>
          h
            .cardMessages()
            .find((m) => textOf(m).includes(promotionName) && /Succeeded|succeeded/.test(textOf(m))),
        'the card ends succeeded',
        60_000,
      );
      cardId = await eventually(
        async () => (await h.auditRecords()).find((r) => r.target === promotionName && r.cardId)?.cardId,
        'the card of the promotion in the audit stream',
      );

      // Every record that gets a line has exactly one (the notifier's key is the record id), nothing else does.
      const lineKeys = () =>
        h.slack
          .messages(CHANNELS.audit)
          .filter((m) => m.bot_id)
          .map(keyOf);
      // The run's artifacts are read after it completes: wait for the plan and the outputs as well.
      const records = await eventually(
        async () => {
          const all = await recordsOfCard();
          const done = all.find((r) => r.action === 'promotion.phase' && r.facts?.phase === 'Succeeded');
          const read = ['plan.summary', 'terraform.outputs'].every((a) => all.some((r) => r.action === a));
          return done && read && lineKeys().includes(done.id) ? all : undefined;
        },
        'the Succeeded line in #infra-audit, and the plan and outputs in the stream',
        60_000,
      );
      const shown = records.filter((r) => mirrorKindOf(r) !== undefined);
      const keys = lineKeys();
      const linesOfCard = keys.filter((key) => records.some((r) => r.id === key));
      expect(linesOfCard).toEqual(shown.map((r) => r.id));
      expect(new Set(keys).size).toBe(keys.length);
      // At most one line per decision and per phase change: the request, created, running, succeeded.
      expect(shown.map((r) => [r.action, r.facts?.phase ?? ''])).toEqual([
        ['promote', ''],
        ['promotion.created', ''],
        ['promotion.phase', 'Running'],
        ['promotion.phase', 'Succeeded'],
      ]);
      // The stream keeps everything else: steps, the run and its jobs, gate results, the plan.
      const kept = new Set(records.map((r) => r.action));
      for (const action of [
        'freight.resolved',
        'promotion.step',
        'run.status',
        'run.job',
        'gate.result',
        'plan.summary',
      ])
        expect([action, kept.has(action)]).toEqual([action, true]);
      expect(records.length).toBeGreaterThan(3 * shown.length);

      // The line reads who, what, outcome and links; its button asks for the full record of the card.
      const requestLine = h.slack.messages(CHANNELS.audit).find((m) => keyOf(m) === shown[0]!.id)!;
      expect(requestLine.text).toMatch(/^:white_check_mark: \*promote\* dev by <@U0BOB> — accepted: /);
      const phaseLine = h.slack.messages(CHANNELS.audit).find((m) => keyOf(m) === shown[3]!.id)!;
      expect(phaseLine.text).toContain(
        `*promotion.phase* dev by system — succeeded: Promotion ${promotionName} succeeded.`,
      );
      expect(phaseLine.text).toContain(`<${runUrl}|run>`);
      expect(buttonIn(phaseLine.blocks, AUDIT_RECORD_ACTION_ID)?.value).toBe(cardId);
    }, 180_000);

    it('the Full record button answers the clicker in #infra-audit with every record of the promotion, paged', async () => {
      const line = h.slack
        .messages(CHANNELS.audit)
        .find((m) => buttonIn(m.blocks, AUDIT_RECORD_ACTION_ID)?.value === cardId);
      if (!line) throw new Error('no #infra-audit line with a Full record button');
      const seen = h.slack.ephemeral({ user: 'U0CAROL', channel: CHANNELS.audit }).length;
      const before = (await recordsOfCard()).length;
      expect(await click('U0CAROL', CHANNELS.audit, line, cardId)).toBe(200);
      const first = await eventually(
        () =>
          answers('U0CAROL', seen).find((e) => e.text.startsWith(`Full audit record of ${promotionName}`)),
        'the full record, ephemeral to the clicker',
      );
      expect(first.via).toBe('response_url');
      const lines = await readAllPages('U0CAROL', first);
      // Every record the stream kept when the answer was made, in stream order (late records may follow).
      const records = await recordsOfCard();
      const count = countOf(first);
      expect(count).toBeGreaterThanOrEqual(before);
      expect(count).toBeLessThanOrEqual(records.length);
      expect(lines).toHaveLength(count);
      records
        .slice(0, count)
        .forEach((record, i) =>
          expect([record.id, lines[i]]).toEqual([record.id, expect.stringContaining(`*${record.action}*`)]),
        );
      // Only the clicker sees it, and the line itself is left alone.
      expect(
        h.slack.ephemeral({ user: 'U0BOB' }).filter((e) => e.text.startsWith('Full audit record')),
      ).toEqual([]);
      const sent = h.slack
        .calls('response_url')
        .filter((c) => String(c.args.text).startsWith('Full audit record'));
      expect(
        sent.every((c) => c.args.response_type === 'ephemeral' && c.args.replace_original === false),
      ).toBe(true);
    }, 120_000);

    it('/audit <promotion> and /audit <card id> in #infra-audit answer the same record', async () => {
      for (const target of [promotionName, cardId]) {
        const seen = h.slack.ephemeral({ user: 'U0DAVE', channel: CHANNELS.audit }).length;
        const before = (await recordsOfCard()).length;
        expect(await command(target, 'U0DAVE', CHANNELS.audit)).toContain('Looking up the audit record');
        const first = await eventually(
          () =>
            answers('U0DAVE', seen).find((e) => e.text.startsWith(`Full audit record of ${promotionName}`)),
          `the full record for /audit ${target}`,
        );
        const lines = await readAllPages('U0DAVE', first);
        expect(lines).toHaveLength(countOf(first));
        expect(countOf(first)).toBeGreaterThanOrEqual(before);
        expect(countOf(first)).toBeLessThanOrEqual((await recordsOfCard()).length);
      }
    }, 120_000);

    it('refuses /audit outside #infra-audit, and an unknown promotion, in plain words', async () => {
      const outside = await command(promotionName, 'U0DAVE', CHANNELS.deployments);
      expect(outside).toMatch(/for whoever can see <#C0AUDIT>/);
      expect(
        h.slack
          .ephemeral({ user: 'U0DAVE', channel: CHANNELS.deployments })
          .filter((e) => e.text.startsWith('Full audit record')),
      ).toEqual([]);

      const seen = h.slack.ephemeral({ user: 'U0DAVE', channel: CHANNELS.audit }).length;
      await command('prod.nothing-like-this.0000000', 'U0DAVE', CHANNELS.audit);
      const unknown = await eventually(
        () => answers('U0DAVE', seen).find((e) => e.text.includes('I know no audit record of')),
        'the answer for an unknown promotion',
      );
      expect(unknown.text).toContain('`prod.nothing-like-this.0000000`');

      // A click from another channel naming the card (a forwarded message, a forged one) shows nothing either.
      const card = h.cardMessages()[0]!;
      const before = h.slack.ephemeral({ user: 'U0DAVE', channel: CHANNELS.deployments }).length;
      expect(await click('U0DAVE', CHANNELS.deployments, card, cardId)).toBe(200);
      await eventually(
        () =>
          h.slack
            .ephemeral({ user: 'U0DAVE', channel: CHANNELS.deployments })
            .slice(before)
            .find((e) => e.text.includes('for whoever can see')),
        'the refusal of a click outside #infra-audit',
      );
    }, 60_000);
  },
);
