// The informer-style cache on a real kube-apiserver (as the bot's ServiceAccount): once synced, /freight's
// reads, `latest`, alias lookups, Stages and Promotions cost no API request, however many Freight there are;
// it follows changes through the watch; before it has synced, reads go to the API directly.
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { CachedKargoGateway } from '../../src/kargo/cache.js';
import { isFreightAvailable } from '../../src/domain/availability.js';
import { checkFreight } from '../../src/worker/promote.js';
import { KubernetesKargoGateway } from '../../src/kargo/client.js';
import { fakeSha, freightObject, mergePatch, kargo } from '../support/bot-harness.js';
import { PROJECT_NAMESPACE, describeWithEnvtest, repoRoot } from '../support/envtest.js';

const FREIGHT = 300;

describeWithEnvtest('the Kargo informer cache', (env) => {
  let admin: CustomObjectsApi;
  let cache: CachedKargoGateway;
  const requests: string[] = [];

  beforeAll(async () => {
    admin = env().adminKubeConfig.makeApiClient(CustomObjectsApi);
    await env().apply(path.join(repoRoot, 'kargo', 'warehouse.yaml'));
    await env().apply(path.join(repoRoot, 'kargo', 'stages.yaml'));
    for (let i = 0; i < FREIGHT; i += 1) {
      const at = new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString();
      await admin.createNamespacedCustomObject({
        ...kargo('freights'),
        body: freightObject(fakeSha(`cache-${i}`), `freight-${i}`, at, `change ${i}`),
      });
    }
    const gateway = new KubernetesKargoGateway({
      kubeConfig: env().botKubeConfig,
      project: PROJECT_NAMESPACE,
      countRequest: (verb) => requests.push(verb),
    });
    cache = new CachedKargoGateway({ gateway });
  }, 120_000);

  afterAll(() => cache?.stop());

  it('before it has synced, reads go to the API', async () => {
    const before = requests.length;
    expect((await cache.listFreight())[0]?.alias).toBe(`freight-${FREIGHT - 1}`);
    expect(requests.length).toBeGreaterThan(before);
  });

  it('once synced, freight, stages, aliases and promotions cost no request at all', async () => {
    cache.start();
    const deadline = Date.now() + 20_000;
    while (!cache.synced && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(cache.synced).toBe(true);
    const before = requests.length;
    const all = await cache.listFreight();
    expect(all).toHaveLength(FREIGHT);
    expect(all[0]?.alias).toBe(`freight-${FREIGHT - 1}`); // newest first
    expect((await cache.findFreight('freight-7'))?.name).toBe(fakeSha('cache-7'));
    expect((await cache.findFreight(fakeSha('cache-8').slice(0, 16)))?.alias).toBe('freight-8');
    expect(await cache.findFreight(fakeSha('cache-8').slice(0, 10))).toBeUndefined(); // ambiguous prefix
    expect(await cache.findFreight('no-such-freight')).toBeUndefined();
    expect((await cache.getStage('prod'))?.requestedFreight[0]?.sources.stages).toEqual(['dev']);
    expect((await cache.listStages()).map((s) => s.name)).toEqual(['dev', 'prod']);
    expect(await cache.listPromotions('dev')).toEqual([]);
    expect(requests.length).toBe(before);
  });

  it('follows changes through the watch: a new Freight and a new alias appear without a request', async () => {
    await admin.createNamespacedCustomObject({
      ...kargo('freights'),
      body: freightObject(fakeSha('cache-new'), 'brand-new', '2026-12-01T00:00:00Z', 'newest change'),
    });
    const deadline = Date.now() + 10_000;
    let found;
    while (!(found = await cache.findFreight('brand-new')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(found?.name).toBe(fakeSha('cache-new'));
    const before = requests.length;
    expect((await cache.listFreight())[0]?.alias).toBe('brand-new');
    expect(requests.length).toBe(before);
  });

  it('a refusal is checked again against the API: a cache a moment behind Kargo refuses nothing', async () => {
    // A second cache that stops watching once synced: it keeps what it saw, like one trailing Kargo.
    const stale = new CachedKargoGateway({
      gateway: new KubernetesKargoGateway({ kubeConfig: env().botKubeConfig, project: PROJECT_NAMESPACE }),
    }).start();
    const deadline = Date.now() + 20_000;
    while (!stale.synced && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    stale.stop();
    // Kargo records the verification in dev now.
    await admin.patchNamespacedCustomObjectStatus(
      {
        ...kargo('freights'),
        name: fakeSha('cache-5'),
        body: {
          status: {
            verifiedIn: { dev: { verifiedAt: new Date().toISOString() } },
            currentlyIn: { dev: { since: new Date().toISOString() } },
          },
        },
      },
      mergePatch,
    );
    const now = new Date();
    const cachedStage = (await stale.getStage('prod'))!;
    const cachedFreight = (await stale.findFreight('freight-5'))!;
    expect(isFreightAvailable(cachedStage, cachedFreight, now).available).toBe(false);
    const checked = await checkFreight(
      { stage: 'prod', freight: { by: 'alias', value: 'freight-5' } },
      stale,
      now,
    );
    expect('missing' in checked.freight).toBe(false);
    expect(isFreightAvailable(checked.stage, checked.freight as typeof cachedFreight, now).available).toBe(
      true,
    );
    // A freight the API does not know either is still refused, after the same second look.
    const unknown = await checkFreight(
      { stage: 'prod', freight: { by: 'alias', value: 'no-such' } },
      stale,
      now,
    );
    expect(unknown.freight).toEqual({ missing: expect.stringMatching(/no freight is called no-such/) });
  });
});
