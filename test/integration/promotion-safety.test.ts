// Promotions that cannot be duplicated or wedged, on real components (web and worker on real Redis, Kargo's
// CRDs on a real kube-apiserver, the bot as its ServiceAccount; the test plays Kargo's controller):
//   - two /promote of the same freight to the same stage 100 ms apart: one Promotion, the second requester
//     is sent to the first's card;
//   - a Promotion Kargo's auto-promotion already has in flight: /promote joins it instead of starting a
//     second apply, and the auto-promotion's card says what it is;
//   - a Pending promotion says what it waits behind;
//   - /cancel: the requester aborts through Kargo's annotation, someone else is refused;
//   - /promote prod by the only person who could approve it is refused up front (four-eyes would wedge it).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { encodeUlid } from '../../src/kargo/promotion-name.js';
import { APP_ID, INSTALLATION_ID, appKeys } from '../github/helpers.js';
import {
  FRESH_FREIGHT,
  eventually,
  fakeSha,
  freightObject,
  seedKargo,
  startHarness,
  textOf,
  type Harness,
  type PromotionObject,
  kargo,
} from '../support/bot-harness.js';
import { PROJECT_NAMESPACE, describeWithEnvtest } from '../support/envtest.js';

describeWithEnvtest('promotions that cannot be duplicated or wedged', (env) => {
  let h: Harness;
  let admin: CustomObjectsApi;

  beforeAll(async () => {
    await seedKargo(env());
    admin = env().adminKubeConfig.makeApiClient(CustomObjectsApi);
    h = await startHarness(env(), {
      env: {
        APPROVAL_MODE: 'protection-rule',
        GITHUB_API_URL: 'http://127.0.0.1:9',
        GITHUB_APP_ID: APP_ID,
        GITHUB_APP_PRIVATE_KEY: appKeys.privateKey,
        GITHUB_APP_INSTALLATION_ID: String(INSTALLATION_ID),
        PROMOTE_PROD_USERS: 'U0ALICE,U0BOB',
        APPROVE_PROD_GROUPS: 'S0SRELEADS',
      },
      worker: { groupRefreshMs: 200 },
    });
  }, 120_000);

  afterAll(async () => {
    await h?.stop();
  });

  const promotionsOf = async (freight: string, stage = 'dev'): Promise<PromotionObject[]> =>
    (await h.promotions()).filter((p) => p.spec.freight === freight && p.spec.stage === stage);
  const ephemeral = (user: string, pattern: RegExp) =>
    eventually(
      () => h.slack.ephemeral({ user }).find((m) => pattern.test(m.text)),
      `${user}'s answer ${pattern}`,
    );

  it('two /promote of the same freight 100 ms apart create one Promotion; the second requester is sent to its card', async () => {
    const first = h.send('/promote', 'dev brave-wampa', 'U0BOB');
    await new Promise((r) => setTimeout(r, 100));
    const second = h.send('/promote', 'dev brave-wampa', 'U0CAROL');
    expect((await Promise.all([first, second])).map((r) => r.status)).toEqual([200, 200]);
    const answers = await eventually(() => {
      const found = ['U0BOB', 'U0CAROL'].map((user) =>
        h.slack.ephemeral({ user }).find((m) => /Kargo promotion|already being promoted/.test(m.text)),
      );
      return found.every(Boolean) ? found.map((m) => m!.text) : undefined;
    }, 'both answers');
    expect(answers.filter((t) => /Kargo promotion \*[^*]+\* created/.test(t))).toHaveLength(1);
    expect(answers.filter((t) => /already being promoted to \*dev\*/.test(t))).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 500));
    expect(await promotionsOf(FRESH_FREIGHT)).toHaveLength(1);
    // One card: the joined request made none of its own.
    expect(h.cardMessages().filter((m) => textOf(m).includes('brave-wampa'))).toHaveLength(1);
  });

  it('an auto-promotion in flight is joined, not duplicated, and its card says it is Kargo’s auto-promotion', async () => {
    const name = fakeSha('rancor-freight');
    await admin.createNamespacedCustomObject({
      ...kargo('freights'),
      body: freightObject(name, 'ancient-rancor', '2026-11-28T08:00:00Z', 'Rotate NAT EIPs'),
    });
    // Kargo's controller auto-promotes it (the full form: this API server runs no Kargo webhooks).
    const template = (await promotionsOf(FRESH_FREIGHT))[0]!;
    await admin.createNamespacedCustomObject({
      ...kargo('promotions'),
      body: {
        apiVersion: 'kargo.akuity.io/v1alpha1',
        kind: 'Promotion',
        metadata: {
          // As Kargo names it: the stage, a ULID of now (so name order is creation order), the freight.
          name: `dev.${encodeUlid(Date.now(), randomBytes(10)).toLowerCase()}.${name.slice(0, 7)}`,
          namespace: PROJECT_NAMESPACE,
        },
        spec: { stage: 'dev', freight: name, steps: template.spec.steps },
      },
    });
    await eventually(
      () =>
        h
          .cardMessages()
          .find((m) => textOf(m).includes('Kargo auto-promotion') && textOf(m).includes('ancient-rancor')),
      'the auto-promotion card with the freight alias',
    );
    await h.send('/promote', 'dev ancient-rancor', 'U0DAVE');
    const joined = await ephemeral('U0DAVE', /already being promoted/);
    expect(joined.text).toContain('started by Kargo');
    await new Promise((r) => setTimeout(r, 500));
    expect(await promotionsOf(name)).toHaveLength(1);
  });

  it('a Pending promotion says which promotion it waits behind', async () => {
    const [older] = await promotionsOf(FRESH_FREIGHT);
    const [newer] = await promotionsOf(fakeSha('rancor-freight'));
    await h.setPromotionStatus(older!.metadata.name, { phase: 'Running' });
    await h.setPromotionStatus(newer!.metadata.name, { phase: 'Pending' });
    await eventually(
      () =>
        h
          .cardMessages()
          .find(
            (m) =>
              textOf(m).includes('ancient-rancor') && textOf(m).includes(`behind ${older!.metadata.name}`),
          ),
      'the card saying what it waits behind',
      20_000,
    ).catch((error: unknown) => {
      const rancor = h.cardMessages().filter((m) => textOf(m).includes('ancient-rancor'));
      throw new Error(
        `${String(error)}; the ancient-rancor cards say: ${JSON.stringify(rancor.map(textOf))}`,
      );
    });
  });

  it('/cancel: someone else is refused; the requester aborts through Kargo’s annotation and the card says who and why', async () => {
    const [promotion] = await promotionsOf(FRESH_FREIGHT);
    const name = promotion!.metadata.name;
    await h.send('/cancel', `${name} not mine`, 'U0EVE');
    await ephemeral('U0EVE', /Only whoever requested this promotion, or an approver of dev, can stop it/);
    expect(
      (await promotionsOf(FRESH_FREIGHT))[0]!.metadata.annotations['kargo.akuity.io/abort'],
    ).toBeUndefined();

    await h.send('/cancel', `${name} wrong freight for today`, 'U0BOB');
    await ephemeral('U0BOB', /Stopping the promotion of .* Kargo is aborting/);
    expect((await promotionsOf(FRESH_FREIGHT))[0]!.metadata.annotations['kargo.akuity.io/abort']).toBe(
      'terminate',
    );
    await h.setPromotionStatus(name, {
      phase: 'Aborted',
      message: 'Promotion terminated by kubernetes:chatops-bot',
    });
    await eventually(
      () =>
        h
          .cardMessages()
          .find(
            (m) =>
              textOf(m).includes('brave-wampa') &&
              /cancelled by <@U0BOB>: wrong freight for today/.test(textOf(m)),
          ),
      'the aborted card naming who cancelled and why',
    );
    const records = await h.auditRecords();
    expect(records).toContainEqual(
      expect.objectContaining({ action: 'cancel', actor: 'slack:U0EVE', outcome: 'denied' }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({ action: 'cancel', actor: 'slack:U0BOB', outcome: 'accepted' }),
    );
  });

  it('/promote prod by the only person who could approve it is refused up front, and accepted once someone else can', async () => {
    h.slack.setUserGroups({ S0SRELEADS: ['U0ALICE'] });
    const refused = await eventually(async () => {
      const reply = await h.send('/promote', 'prod frozen-tauntaun', 'U0ALICE');
      return /Nobody but you could approve/.test(reply.text) ? reply : undefined;
    }, 'the four-eyes refusal');
    expect(refused.text).toContain('four-eyes');
    expect(await promotionsOf(fakeSha('verified-freight'), 'prod')).toHaveLength(0);
    h.slack.setUserGroups({ S0SRELEADS: ['U0ALICE', 'U0BOB'] });
    await eventually(async () => {
      const reply = await h.send('/promote', 'prod frozen-tauntaun', 'U0ALICE');
      return /is queued/.test(reply.text) ? reply : undefined;
    }, 'the request accepted with a second approver');
  });
});
