// Control from Slack (issue 12 §3) on real components: web and worker on real Redis, Kargo's CRDs on a
// real kube-apiserver with the bot as its ServiceAccount (deploy/rbac.yaml is what allows the ProjectConfig
// change), signed requests into the real Bolt app, the Slack stand-in at the boundary. The test plays Kargo's
// controller where a story needs it (stage history, verification).
//   - /freeze: approvers only; pauses Kargo's auto-promotion of the stage in the ProjectConfig; refuses
//     /promote and /rollback; an approver's `override <reason>` goes through and is audited and on the card;
//     /unfreeze and a freeze's own end restore the ProjectConfig exactly;
//   - /rollback: the previous freight verified in the stage; refuses freight never verified there;
//   - /status and the Home tab: current freight, the freeze, the auto-promotion hold, the last promotions;
//   - "Release hold" beside a hold (/status, /freight, the Home tab): /promote <env> <newest> by the clicker.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { ButtonElement } from '../../src/domain/blockkit.js';
import { RELEASE_HOLD_ACTION_ID } from '../../src/domain/hold-release.js';
import { signedSlackRequest } from '../../src/sandbox/slack-requests.js';
import {
  CHANNELS,
  FRESH_FREIGHT,
  VERIFIED_FREIGHT,
  eventually,
  mergePatch,
  seedKargo,
  startHarness,
  type Harness,
  type PromotionObject,
  kargo,
} from '../support/bot-harness.js';
import { PROJECT_NAMESPACE, describeWithEnvtest } from '../support/envtest.js';

const ORIGIN = { kind: 'Warehouse', name: 'gitops-infra' };
const ORIGIN_KEY = 'Warehouse/gitops-infra';

const ORIGINAL_POLICIES = [
  { stageSelector: { name: 'dev' }, autoPromotionEnabled: true },
  { stageSelector: { name: 'prod' }, autoPromotionEnabled: false },
];

describeWithEnvtest('freeze, rollback and status from Slack', (env) => {
  let h: Harness;
  let admin: CustomObjectsApi;

  /** Plays Kargo's controller on the dev Stage's status (its freight history, its holds). */
  const patchDevStatus = (status: Record<string, unknown>) =>
    admin.patchNamespacedCustomObjectStatus(
      { ...kargo('stages'), name: 'dev', body: { status } },
      mergePatch,
    );
  const historyEntry = (id: string, freight: string) => ({
    id,
    items: { [ORIGIN_KEY]: { name: freight, origin: ORIGIN } },
  });
  const policies = async (): Promise<unknown[]> =>
    (
      (await admin.getNamespacedCustomObject({ ...kargo('projectconfigs'), name: PROJECT_NAMESPACE })) as {
        spec: { promotionPolicies: unknown[] };
      }
    ).spec.promotionPolicies;
  const promotionsOf = async (freight: string, stage = 'dev'): Promise<PromotionObject[]> =>
    (await h.promotions()).filter((p) => p.spec.freight === freight && p.spec.stage === stage);
  const answer = (user: string, pattern: RegExp) =>
    eventually(
      () => h.slack.ephemeral({ user }).find((m) => pattern.test(m.text ?? '')),
      `${user}'s answer ${pattern}`,
      20_000,
    ).catch((error: unknown) => {
      throw new Error(
        `${String(error)}; ${user} was told: ${JSON.stringify(h.slack.ephemeral({ user }).map((m) => m.text))}`,
      );
    });
  const posted = (pattern: RegExp) =>
    eventually(
      () => h.slack.messages(CHANNELS.deployments).find((m) => pattern.test(m.text ?? '')),
      `a message in #infra-deployments ${pattern}`,
      20_000,
    ).catch((error: unknown) => {
      throw new Error(
        `${String(error)}; #infra-deployments: ${JSON.stringify(h.slack.messages(CHANNELS.deployments).map((m) => m.text))}`,
      );
    });
  /** The "Release hold" buttons of a message (section accessories and actions blocks alike). */
  const releaseButtons = (message: { blocks?: unknown[] }) =>
    ((message.blocks ?? []) as Array<{ accessory?: ButtonElement; elements?: ButtonElement[] }>)
      .flatMap((b) => [...(b.accessory ? [b.accessory] : []), ...(b.elements ?? [])])
      .filter((e) => e.action_id === RELEASE_HOLD_ACTION_ID);
  const audited = (action: string, outcome: string) =>
    eventually(
      async () => (await h.auditRecords()).find((r) => r.action === action && r.outcome === outcome),
      `an audit record ${action} ${outcome}`,
    );

  beforeAll(async () => {
    await seedKargo(env());
    admin = env().adminKubeConfig.makeApiClient(CustomObjectsApi);
    await admin.createNamespacedCustomObject({
      ...kargo('projectconfigs'),
      body: {
        apiVersion: 'kargo.akuity.io/v1alpha1',
        kind: 'ProjectConfig',
        metadata: { name: PROJECT_NAMESPACE, namespace: PROJECT_NAMESPACE },
        spec: { promotionPolicies: ORIGINAL_POLICIES },
      },
    });
    h = await startHarness(env(), {
      env: {
        PROMOTE_DEV_USERS: 'U0BOB,U0OLIVIA',
        PROMOTE_PROD_USERS: 'U0BOB',
        APPROVE_DEV_USERS: 'U0OLIVIA',
      },
    });
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
  });

  describe('/freeze', () => {
    it('is refused to someone who cannot approve dev, and changes nothing', async () => {
      const res = await h.send('/freeze', 'dev for 2h release window', 'U0BOB');
      expect(res.status).toBe(200);
      expect(res.text).toMatch(/can't freeze \*dev\*: only approvers of dev/);
      expect(await policies()).toEqual(ORIGINAL_POLICIES);
      await audited('freeze', 'denied');
    });

    it("by an approver: pauses Kargo's auto-promotion of dev, is announced and audited", async () => {
      await h.send('/freeze', 'dev for 2h release window', 'U0OLIVIA');
      await answer('U0OLIVIA', /dev is frozen\* until .* release window\. Auto-promotion is paused/);
      await posted(/dev is frozen.*release window[\s\S]*override &lt;reason&gt;/);
      // The API server keeps what the bot wrote: its own policy first, the project's untouched after it.
      expect(await policies()).toEqual([{ stage: 'dev', autoPromotionEnabled: false }, ...ORIGINAL_POLICIES]);
      const record = await audited('freeze', 'accepted');
      expect(record.detail).toMatch(
        /dev frozen until .*release window; auto-promotion of the stage is paused/,
      );
    });

    it('refuses /promote and /rollback while it lasts; nothing is created', async () => {
      await h.send('/promote', 'dev brave-wampa', 'U0BOB');
      await answer(
        'U0BOB',
        /dev is frozen[\s\S]*Nothing was started\. An approver of \*dev\* can go ahead anyway/,
      );
      await h.send('/rollback', 'dev', 'U0BOB');
      await eventually(
        () =>
          h.slack.ephemeral({ user: 'U0BOB' }).filter((m) => /dev is frozen/.test(m.text ?? '')).length >=
            2 || undefined,
        'the rollback refused too',
      );
      expect(await promotionsOf(FRESH_FREIGHT)).toHaveLength(0);
      expect(
        (await h.auditRecords()).filter((r) => r.action === 'promote' && r.outcome === 'denied'),
      ).toHaveLength(1);
    });

    it('lets only an approver override it; the override is audited and shown on the card', async () => {
      const refused = await h.send('/promote', 'dev brave-wampa override hotfix for INC-42', 'U0BOB');
      expect(refused.text).toMatch(
        /can't use `override`: only approvers of dev can override a change freeze/,
      );
      expect(await promotionsOf(FRESH_FREIGHT)).toHaveLength(0);

      await h.send('/promote', 'dev brave-wampa override hotfix for INC-42', 'U0OLIVIA');
      await answer('U0OLIVIA', /Kargo promotion \*[^*]+\* created/);
      expect(await promotionsOf(FRESH_FREIGHT)).toHaveLength(1);
      const record = await audited('promote.override', 'accepted');
      expect(record.detail).toMatch(/through the dev freeze \(release window\): hotfix for INC-42/);
      const card = await eventually(
        () => h.cardMessages().find((m) => /Through the dev freeze/.test(JSON.stringify(m.blocks))),
        'the card naming the override',
      );
      expect(JSON.stringify(card.blocks)).toMatch(/override by <@U0OLIVIA>: hotfix for INC-42/);
    });

    it('shows in /status and on the Home tab', async () => {
      await h.send('/status', '', 'U0BOB');
      const status = await answer('U0BOB', /^Status — /);
      const text = JSON.stringify(status.blocks);
      expect(text).toMatch(/dev is frozen\* until/);
      expect(text).toMatch(/brave-wampa/);
      expect(text).toMatch(/\*prod\* \(prod\) · runs no freight yet/);

      const body = JSON.stringify({
        type: 'event_callback',
        team_id: 'T0TEAM',
        api_app_id: 'A0APP',
        event: { type: 'app_home_opened', user: 'U0ALICE', channel: 'D0ALICE', tab: 'home', event_ts: '1.2' },
        event_id: 'Ev0HOME1',
        event_time: Math.floor(Date.now() / 1000),
      });
      const signed = signedSlackRequest(h.config.slack.signingSecret ?? '', body);
      const res = await fetch(`http://127.0.0.1:${h.web.port}/slack/events`, {
        method: 'POST',
        headers: { ...signed.headers, 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(200);
      const home = await eventually(() => h.slack.homeView('U0ALICE'), "Alice's Home tab");
      expect(home.view.type).toBe('home');
      expect(JSON.stringify(home.view.blocks)).toMatch(/Infrastructure status[\s\S]*dev is frozen/);
    });

    it('/unfreeze puts the ProjectConfig back exactly as it was', async () => {
      const refused = await h.send('/unfreeze', 'dev', 'U0BOB');
      expect(refused.text).toMatch(/can't unfreeze \*dev\*/);
      await h.send('/unfreeze', 'dev', 'U0OLIVIA');
      await posted(
        /dev is no longer frozen\*: <@U0OLIVIA> ended the freeze <@U0OLIVIA> set \(release window\)\. Auto-promotion is back on/,
      );
      expect(await policies()).toEqual(ORIGINAL_POLICIES);
      await audited('unfreeze', 'accepted');
    });

    it('ends by itself at its end and restores auto-promotion; an open card shows it while it lasts', async () => {
      // The overridden promotion is still open (nothing runs it here): its card says dev froze around it.
      const overrideCard = () =>
        h.cardMessages().find((m) => /Through the dev freeze/.test(JSON.stringify(m.blocks)));
      await h.send('/freeze', 'dev for 6s short window', 'U0OLIVIA');
      await answer('U0OLIVIA', /short window\. Auto-promotion is paused/);
      await eventually(
        () =>
          /dev is frozen\* until .* short window\. This promotion began before the freeze and carries on/.test(
            JSON.stringify(overrideCard()?.blocks),
          ) || undefined,
        'the open card showing the freeze',
      );
      await posted(
        /the freeze <@U0OLIVIA> set \(short window\) ended as planned\. Auto-promotion is back on/,
      );
      expect(await policies()).toEqual(ORIGINAL_POLICIES);
      await audited('freeze.ended', 'info');
      await eventually(
        () => !/short window/.test(JSON.stringify(overrideCard()?.blocks)) || undefined,
        'the card no longer showing the freeze once it ended',
      );
    }, 60_000);
  });

  describe('/rollback', () => {
    it('promotes the freight verified in the stage before the current one, and the card says so', async () => {
      // Kargo's part: dev ran frozen-tauntaun (verified there), then brave-wampa, which it runs now.
      await patchDevStatus({
        freightHistory: [
          historyEntry('collection-2', FRESH_FREIGHT),
          historyEntry('collection-1', VERIFIED_FREIGHT),
        ],
      });
      await h.send('/rollback', 'dev', 'U0BOB');
      await answer('U0BOB', /Kargo promotion \*[^*]+\* created: .*frozen-tauntaun/);
      expect(await promotionsOf(VERIFIED_FREIGHT)).toHaveLength(1);
      const card = await eventually(
        () => h.cardMessages().find((m) => /Rollback of dev/.test(JSON.stringify(m.blocks))),
        'the rollback card',
      );
      expect(JSON.stringify(card.blocks)).toMatch(
        /\*Rollback\* of dev from `brave-wampa` to `frozen-tauntaun`/,
      );
    });

    it("shows Kargo's auto-promotion hold in /status and /freight, with how to release it", async () => {
      // Kargo's part after the rollback: dev runs frozen-tauntaun, and auto-promotion is held on it.
      await patchDevStatus({
        freightHistory: [
          historyEntry('collection-3', VERIFIED_FREIGHT),
          historyEntry('collection-2', FRESH_FREIGHT),
        ],
        autoPromotionHolds: {
          [ORIGIN_KEY]: {
            freightName: VERIFIED_FREIGHT,
            origin: ORIGIN,
            actor: 'admin',
            promotionName: 'dev.01kbz0000000000000000000.f9d6791',
            createdAt: '2026-12-07T06:00:00Z',
          },
        },
      });
      const held = /Auto-promotion of dev is held\* since admin promoted `frozen-tauntaun`/;
      await eventually(async () => {
        await h.send('/status', '', 'U0BOB');
        await new Promise((r) => setTimeout(r, 300));
        return h.slack.ephemeral({ user: 'U0BOB' }).some((m) => held.test(JSON.stringify(m.blocks ?? '')));
      }, 'the hold in /status');
      const status = h.slack
        .ephemeral({ user: 'U0BOB' })
        .find((m) => held.test(JSON.stringify(m.blocks ?? '')))!;
      expect(JSON.stringify(status.blocks)).toMatch(
        /promoting the newest freight, `brave-wampa`: the button, or `\/promote dev brave-wampa`/,
      );
      expect(releaseButtons(status)).toEqual([
        expect.objectContaining({ action_id: RELEASE_HOLD_ACTION_ID, value: 'dev brave-wampa' }),
      ]);
      await h.send('/freight', '', 'U0BOB');
      const freight = await eventually(
        () =>
          h.slack
            .ephemeral({ user: 'U0BOB' })
            .find((m) => /Freight in/.test(m.text ?? '') && held.test(JSON.stringify(m.blocks ?? ''))),
        'the hold in /freight',
      );
      expect(releaseButtons(freight)).toEqual([
        expect.objectContaining({ action_id: RELEASE_HOLD_ACTION_ID, value: 'dev brave-wampa' }),
      ]);
      // The rollback's own card: Kargo's admission marked its Promotion as holding auto-promotion.
      const [rollback] = await promotionsOf(VERIFIED_FREIGHT);
      await admin.patchNamespacedCustomObject(
        {
          ...kargo('promotions'),
          name: rollback!.metadata.name,
          body: {
            metadata: { annotations: { 'kargo.akuity.io/auto-promotion-hold': 'Warehouse/gitops-infra' } },
          },
        },
        mergePatch,
      );
      await h.setPromotionStatus(rollback!.metadata.name, { phase: 'Succeeded' });
      const card = await eventually(
        () => h.cardMessages().find((m) => /Auto-promotion of dev is on hold/.test(JSON.stringify(m.blocks))),
        'the rollback card showing the hold',
      );
      expect(JSON.stringify(card.blocks)).toMatch(/Rollback of dev[\s\S]*`\/promote dev latest` releases it/);
    });

    it('releases the hold from its button: /promote dev <newest> by whoever clicks, under the same rules', async () => {
      const status = h.slack
        .ephemeral({ user: 'U0BOB' })
        .findLast(
          (m) => releaseButtons(m).length > 0 && /Infrastructure status/.test(JSON.stringify(m.blocks)),
        );
      const [release] = releaseButtons(status!);
      const before = (await promotionsOf(FRESH_FREIGHT)).length;

      // Only "which environment, which freight" comes from a click, and both are checked as typed: a forged
      // value naming prod is refused to Alice, who may not promote to prod, wherever she clicks.
      const forged = { ...release!, value: 'prod brave-wampa' };
      expect(await h.click('U0ALICE', forged, { channel: CHANNELS.deployments })).toBe(200);
      await answer('U0ALICE', /You can't promote to \*prod\*/);
      // The Home tab's click has no response_url: the answer comes as a direct message from the app.
      expect(await h.click('U0ALICE', forged, 'home')).toBe(200);
      await eventually(
        () => h.slack.messages('D0ALICE').find((m) => /You can't promote to \*prod\*/.test(m.text)),
        "Alice's direct message",
      );
      const denials = (await h.auditRecords()).filter(
        (r) => r.action === 'promote' && r.outcome === 'denied' && r.actor === 'slack:U0ALICE',
      );
      expect(denials).toHaveLength(2);
      expect(denials[0]!.detail).toMatch(/^\/promote prod brave-wampa: /);
      expect(await promotionsOf(FRESH_FREIGHT, 'prod')).toHaveLength(0);
      expect(await promotionsOf(FRESH_FREIGHT)).toHaveLength(before);

      // Bob may: his click is `/promote dev brave-wampa`, carried out as the typed command would be (the
      // override test's promotion of brave-wampa to dev is still open, so his joins it: nothing new starts).
      const told = h.slack.ephemeral({ user: 'U0BOB' }).length;
      expect(await h.click('U0BOB', release!, { channel: CHANNELS.deployments })).toBe(200);
      const outcome = await eventually(
        () =>
          h.slack
            .ephemeral({ user: 'U0BOB' })
            .slice(told)
            .map((m) => m.text ?? '')
            .find((text) => /brave-wampa/.test(text) && /being promoted to \*dev\*|created/.test(text)),
        "the outcome of Bob's release",
      );
      expect(
        h.slack
          .ephemeral({ user: 'U0BOB' })
          .slice(told)
          .map((m) => m.text),
      ).toContainEqual(expect.stringMatching(/Promotion of freight brave-wampa to \*dev\* is queued/));
      const after = await promotionsOf(FRESH_FREIGHT);
      expect(after.length).toBe(/already being promoted/.test(outcome) ? before : before + 1);
      expect(after.length).toBeGreaterThan(0);
    });

    it('refuses freight that was never verified in the stage: that is a promotion, not a rollback', async () => {
      await h.send('/rollback', 'prod to brave-wampa', 'U0BOB');
      await answer(
        'U0BOB',
        /Nothing was rolled back: .*brave-wampa.* was never verified in prod, so going there is not a rollback \(use \/promote\)/,
      );
      expect(await promotionsOf(FRESH_FREIGHT, 'prod')).toHaveLength(0);
      const denied = (await h.auditRecords()).find(
        (r) => r.action === 'rollback' && r.outcome === 'rejected',
      );
      expect(denied?.detail).toMatch(/never verified in prod/);
    });
  });
});
