// KubernetesKargoGateway against a real kube-apiserver + etcd with Kargo's CRDs (test/support/envtest.ts),
// authenticated as the bot's ServiceAccount with nothing but deploy/rbac.yaml. The test plays the Kargo
// controller's part with an admin token: it seeds Warehouse/Stages/Freight, writes status through the status
// subresource, and records Events. There are no Kargo webhooks here, so the API server behaves like one in
// front of Kargo ≤ 1.10 as far as names go (the name the bot sends is kept).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { ChatOpsError, ErrorCode } from '../../src/domain/errors.js';
import type { PromotionSummary } from '../../src/domain/types.js';
import {
  KubernetesKargoGateway,
  loadKubeConfig,
  SERVICEACCOUNT_DIR,
  type ListWatchHandle,
} from '../../src/kargo/client.js';
import { toChatOpsError } from '../../src/kargo/errors.js';
import {
  ANNOTATION_REQUEST_ID,
  ANNOTATION_REQUESTED_BY,
  LABEL_REQUEST_ID,
  type KubernetesEventSummary,
  type WatchEvent,
} from '../../src/kargo/gateway.js';
import { buildPromotionName, encodeUlid, requestIdLabelValue } from '../../src/kargo/promotion-name.js';
import {
  BOT_NAMESPACE,
  BOT_SERVICE_ACCOUNT,
  PROJECT_NAMESPACE,
  describeWithEnvtest,
  repoRoot,
} from '../support/envtest.js';

const GROUP = 'kargo.akuity.io';
const VERSION = 'v1alpha1';
const NS = PROJECT_NAMESPACE;
const kargo = (plural: string) => ({ group: GROUP, version: VERSION, namespace: NS, plural });
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const F_OLD = sha1('freight-old');
const F_MID = sha1('freight-mid');
const F_NEW = sha1('freight-new');

const GH_HEADERS = [
  { name: 'Authorization', value: "Bearer ${{ secret('github').token }}" },
  { name: 'Accept', value: 'application/vnd.github+json' },
  { name: 'X-GitHub-Api-Version', value: '2022-11-28' },
];

/** The promotion template of the real Stages: dispatch the Terraform workflow, then wait for its run. */
const httpSteps = (deployProd: boolean) => [
  {
    uses: 'http',
    as: 'dispatch',
    config: {
      method: 'POST',
      url: 'https://api.github.com/repos/${{ vars.ghRepo }}/actions/workflows/${{ vars.workflowFile }}/dispatches',
      headers: GH_HEADERS,
      body:
        '${{ quote({"ref": vars.gitRef, "inputs": {"environment": vars.environment, "deploy_prod": "' +
        (deployProd ? 'yes' : 'no') +
        '", "sha": commitFrom(vars.repoURL).ID}, "return_run_details": true}) }}',
      successExpression: 'response.status == 200',
      failureExpression: 'response.status != 200',
      errorExpression: 'response.body?.message',
      outputs: [
        { name: 'runId', fromExpression: 'response.body.workflow_run_id' },
        { name: 'htmlUrl', fromExpression: 'response.body.html_url' },
      ],
    },
  },
  {
    uses: 'http',
    as: 'waitRun',
    retry: { timeout: '2h', errorThreshold: 5 },
    config: {
      url: 'https://api.github.com/repos/${{ vars.ghRepo }}/actions/runs/${{ outputs.dispatch.runId }}',
      headers: GH_HEADERS,
      pollInterval: '30s',
      successExpression:
        "response.status == 200 && response.body.status == 'completed' && response.body.conclusion == 'success'",
      failureExpression:
        "response.status == 401 || response.status == 404 || (response.status == 200 && response.body.status == 'completed' && response.body.conclusion != 'success')",
      outputs: [{ name: 'conclusion', fromExpression: 'response.body.conclusion' }],
    },
  },
];

const STAGE_VARS = [
  { name: 'ghRepo', value: 'acme/gitops-infra-pipeline' },
  { name: 'workflowFile', value: 'terraform.yaml' },
  { name: 'repoURL', value: 'https://github.com/acme/gitops-infra-pipeline.git' },
];
const templateVars = (environment: string) => [
  { name: 'environment', value: environment },
  { name: 'gitRef', value: 'main' },
];

const stageObject = (name: string, sources: object, steps: object[] = httpSteps(name === 'prod')) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'Stage',
  metadata: { name, namespace: NS },
  spec: {
    vars: STAGE_VARS,
    requestedFreight: [{ origin: { kind: 'Warehouse', name: 'infra' }, sources }],
    promotionTemplate: { spec: { vars: templateVars(name), steps } },
  },
});

const freightObject = (name: string, alias: string, discoveredAt: string, message: string) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'Freight',
  metadata: { name, namespace: NS, labels: { 'kargo.akuity.io/alias': alias } },
  alias,
  origin: { kind: 'Warehouse', name: 'infra' },
  discoveredAt,
  commits: [
    {
      repoURL: 'https://github.com/acme/gitops-infra-pipeline.git',
      id: sha1(`commit-${name}`),
      branch: 'main',
      message,
      author: 'Dev One <dev1@example.com>',
    },
  ],
});

/** Collects watch events and waits for one matching a predicate. */
function recorder<T>() {
  const events: Array<WatchEvent<T>> = [];
  const waiters: Array<{ match: (e: WatchEvent<T>) => boolean; resolve: (e: WatchEvent<T>) => void }> = [];
  return {
    events,
    push: (event: WatchEvent<T>) => {
      events.push(event);
      for (const w of [...waiters]) {
        if (w.match(event)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(event);
        }
      }
    },
    waitFor(match: (e: WatchEvent<T>) => boolean, what: string, timeoutMs = 20_000): Promise<WatchEvent<T>> {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no watch event "${what}"; got: ${events.map((e) => e.type).join(', ')}`)),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
  };
}

const isPromotionEvent = (name: string, type: string, phase?: string) => (e: WatchEvent<PromotionSummary>) =>
  e.type !== 'RESYNC' &&
  e.type === type &&
  e.object.name === name &&
  (phase === undefined || e.object.phase === phase);

async function expectChatOpsError(promise: Promise<unknown>, code: ErrorCode): Promise<ChatOpsError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(ChatOpsError);
    expect((err as ChatOpsError).code).toBe(code);
    return err as ChatOpsError;
  }
  throw new Error(`expected a ChatOpsError ${code}, but the call succeeded`);
}

async function expectHttpStatus(promise: Promise<unknown>, status: number): Promise<void> {
  try {
    await promise;
  } catch (err) {
    expect((err as { code?: unknown }).code).toBe(status);
    return;
  }
  throw new Error(`expected HTTP ${status}, but the call succeeded`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeWithEnvtest(
  'KubernetesKargoGateway against a real kube-apiserver (as the bot ServiceAccount)',
  (env) => {
    let admin: CustomObjectsApi;
    let adminCore: CoreV1Api;
    let bot: KubernetesKargoGateway;
    const watches: ListWatchHandle[] = [];
    let requestSeq = 0;
    /** A fresh request (unique id) for stage/freight. */
    const request = (stage: string, freight: string, requestId = `card-${++requestSeq}-${Date.now()}`) => ({
      stage,
      freight,
      requestId,
      requestedBy: 'slack:U012ABCDEF',
      requestedAt: new Date(Date.UTC(2026, 10, 27, 9, 0, requestSeq)).toISOString(),
    });
    const gatewayFor = (kubeConfig: KubeConfig) =>
      new KubernetesKargoGateway({ kubeConfig, project: NS, watchBackoff: { initialMs: 100, maxMs: 1000 } });
    const setStatus = (plural: string, name: string, status: object) =>
      admin.patchNamespacedCustomObjectStatus({ ...kargo(plural), name, body: { status } }, mergePatch);
    const listByRequest = async (requestId: string) =>
      (
        (await admin.listNamespacedCustomObject({
          ...kargo('promotions'),
          labelSelector: `${LABEL_REQUEST_ID}=${requestIdLabelValue(requestId)}`,
        })) as { items: Array<{ metadata: { name: string } }> }
      ).items;

    beforeAll(async () => {
      admin = env().adminKubeConfig.makeApiClient(CustomObjectsApi);
      adminCore = env().adminKubeConfig.makeApiClient(CoreV1Api);
      bot = gatewayFor(env().botKubeConfig);
      process.stderr.write(`[envtest] kube-apiserver + etcd + CRDs + RBAC ready in ${env().startupMs} ms\n`);

      await admin.createNamespacedCustomObject({
        ...kargo('warehouses'),
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'Warehouse',
          metadata: { name: 'infra', namespace: NS },
          spec: {
            interval: '5m0s',
            subscriptions: [
              {
                git: {
                  repoURL: 'https://github.com/acme/gitops-infra-pipeline.git',
                  branch: 'main',
                  includePaths: ['terraform'],
                },
              },
            ],
          },
        },
      });
      await admin.createNamespacedCustomObject({
        ...kargo('stages'),
        body: stageObject('dev', { direct: true }),
      });
      await admin.createNamespacedCustomObject({
        ...kargo('stages'),
        body: stageObject('prod', { stages: ['dev'], requiredSoakTime: '1h' }),
      });
      await admin.createNamespacedCustomObject({
        ...kargo('freights'),
        body: freightObject(F_OLD, 'old-otter', '2026-11-20T08:00:00Z', 'chore: first'),
      });
      await admin.createNamespacedCustomObject({
        ...kargo('freights'),
        body: freightObject(F_NEW, 'frozen-tauntaun', '2026-11-26T08:00:00Z', 'feat: newest'),
      });
      await admin.createNamespacedCustomObject({
        ...kargo('freights'),
        body: freightObject(F_MID, 'brave-badger', '2026-11-24T08:00:00Z', 'fix: middle'),
      });
      // What Kargo's controllers would have written: F_OLD went dev → prod, F_MID is in dev and verified there.
      await setStatus('freights', F_OLD, {
        currentlyIn: { prod: { since: '2026-11-22T10:00:00Z' } },
        verifiedIn: {
          dev: { verifiedAt: '2026-11-21T10:00:00Z', longestSoak: '26h0m0s' },
          prod: { verifiedAt: '2026-11-22T10:05:00Z' },
        },
      });
      await setStatus('freights', F_MID, {
        currentlyIn: { dev: { since: '2026-11-25T10:00:00Z' } },
        verifiedIn: { dev: { verifiedAt: '2026-11-25T10:03:00Z' } },
        approvedFor: { prod: { approvedAt: '2026-11-25T12:00:00Z' } },
      });
      await setStatus('stages', 'dev', {
        freightHistory: [
          {
            id: 'c-dev-1',
            items: { 'Warehouse/infra': { name: F_MID, origin: { kind: 'Warehouse', name: 'infra' } } },
          },
        ],
        lastPromotion: {
          name: `dev.01kaaaaaaaaaaaaaaaaaaaaaaa.${F_MID.slice(0, 7)}`,
          finishedAt: '2026-11-25T10:02:00Z',
          status: { phase: 'Succeeded' },
        },
        health: { status: 'Healthy' },
      });
      await setStatus('stages', 'prod', {
        freightHistory: [
          {
            id: 'c-prod-1',
            items: { 'Warehouse/infra': { name: F_OLD, origin: { kind: 'Warehouse', name: 'infra' } } },
          },
        ],
        health: { status: 'Healthy' },
      });
    }, 60_000);

    afterEach(async () => {
      for (const w of watches.splice(0)) {
        w.stop();
        await w.done;
      }
    });

    describe('identity', () => {
      it('talks to the API server as system:serviceaccount:chatops:chatops-bot', async () => {
        const review = await env()
          .botKubeConfig.makeApiClient(AuthenticationV1Api)
          .createSelfSubjectReview({
            body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
          });
        expect(review.status?.userInfo?.username).toBe(
          `system:serviceaccount:${BOT_NAMESPACE}:${BOT_SERVICE_ACCOUNT}`,
        );
      });
    });

    describe('reads', () => {
      it('listFreight maps every Freight, newest first (discoveredAt)', async () => {
        const freight = await bot.listFreight();
        expect(freight.map((f) => f.alias)).toEqual(['frozen-tauntaun', 'brave-badger', 'old-otter']);
        expect(freight[1]).toEqual({
          name: F_MID,
          alias: 'brave-badger',
          warehouse: 'infra',
          createdAt: '2026-11-24T08:00:00Z',
          commits: [
            {
              repoURL: 'https://github.com/acme/gitops-infra-pipeline.git',
              id: sha1(`commit-${F_MID}`),
              branch: 'main',
              message: 'fix: middle',
              author: 'Dev One <dev1@example.com>',
            },
          ],
          currentlyIn: { dev: { since: '2026-11-25T10:00:00Z' } },
          verifiedIn: { dev: { verifiedAt: '2026-11-25T10:03:00Z' } },
          approvedFor: { prod: { approvedAt: '2026-11-25T12:00:00Z' } },
        });
        expect(freight[2]?.verifiedIn.dev).toEqual({
          verifiedAt: '2026-11-21T10:00:00Z',
          longestSoak: '26h0m0s',
        });
        expect(freight[0]).toMatchObject({ currentlyIn: {}, verifiedIn: {}, approvedFor: {} });
      });

      it('listStages and getStage map requestedFreight, current freight, the freight history, last promotion and health', async () => {
        const stages = (await bot.listStages()).filter((s) => s.name === 'dev' || s.name === 'prod');
        expect(stages.map((s) => s.name)).toEqual(['dev', 'prod']);
        expect(stages[0]).toEqual({
          name: 'dev',
          requestedFreight: [{ origin: { kind: 'Warehouse', name: 'infra' }, sources: { direct: true } }],
          currentFreight: { 'Warehouse/infra': F_MID },
          history: [{ 'Warehouse/infra': F_MID }],
          lastPromotion: {
            name: `dev.01kaaaaaaaaaaaaaaaaaaaaaaa.${F_MID.slice(0, 7)}`,
            phase: 'Succeeded',
            finishedAt: '2026-11-25T10:02:00Z',
          },
          health: 'Healthy',
        });
        expect(await bot.getStage('prod')).toEqual({
          name: 'prod',
          requestedFreight: [
            {
              origin: { kind: 'Warehouse', name: 'infra' },
              sources: { stages: ['dev'], requiredSoakTime: '1h' },
            },
          ],
          currentFreight: { 'Warehouse/infra': F_OLD },
          history: [{ 'Warehouse/infra': F_OLD }],
          health: 'Healthy',
        });
        expect(await bot.getStage('nope')).toBeUndefined();
      });

      it('findFreight finds by alias, by name and by unique 7-char prefix; unknown → undefined', async () => {
        expect((await bot.findFreight('brave-badger'))?.name).toBe(F_MID);
        expect((await bot.findFreight(F_OLD))?.alias).toBe('old-otter');
        expect((await bot.findFreight(F_NEW.slice(0, 7)))?.alias).toBe('frozen-tauntaun');
        expect(await bot.findFreight('no-such-freight')).toBeUndefined();
        expect(await bot.findFreight('   ')).toBeUndefined();
      });

      it('getPromotion of an unknown name is undefined', async () => {
        expect(await bot.getPromotion('dev.01kzzzzzzzzzzzzzzzzzzzzzzz.abcdef0')).toBeUndefined();
        expect(await bot.findPromotionByRequestId('never-requested')).toBeUndefined();
      });
    });

    describe('createPromotion', () => {
      it('creates the full-form Promotion the CRD schema accepts: steps and vars copied from the Stage, name from the request', async () => {
        const input = request('prod', F_MID, 'card-full-form');
        const created = await bot.createPromotion(input);
        expect(created.name).toBe(buildPromotionName(input));
        expect(created.name).toMatch(new RegExp(`^prod\\.[0-9a-z]{26}\\.${F_MID.slice(0, 7)}$`));
        expect(created).toMatchObject({
          namespace: NS,
          stage: 'prod',
          freight: F_MID,
          annotations: {
            [ANNOTATION_REQUEST_ID]: 'card-full-form',
            [ANNOTATION_REQUESTED_BY]: 'slack:U012ABCDEF',
          },
          steps: [{ alias: 'dispatch' }, { alias: 'waitRun' }],
        });

        // What the API server stored, after validating it against the Promotion CRD (schema + CEL).
        const stored = (await admin.getNamespacedCustomObject({
          ...kargo('promotions'),
          name: created.name,
        })) as {
          metadata: { labels: Record<string, string> };
          spec: { steps: unknown; vars: unknown; stage: string; freight: string };
        };
        const stage = (await admin.getNamespacedCustomObject({ ...kargo('stages'), name: 'prod' })) as {
          spec: { vars: unknown[]; promotionTemplate: { spec: { vars: unknown[]; steps: unknown } } };
        };
        expect(stored.spec.steps).toEqual(stage.spec.promotionTemplate.spec.steps);
        expect(stored.spec.vars).toEqual([...stage.spec.vars, ...stage.spec.promotionTemplate.spec.vars]);
        expect(stored.metadata.labels[LABEL_REQUEST_ID]).toBe('card-full-form');
        expect(await bot.getPromotion(created.name)).toEqual(created);
        expect(await bot.findPromotionByRequestId('card-full-form')).toEqual(created);
      });

      it('is idempotent: 3 sequential calls with one requestId create exactly one Promotion', async () => {
        const input = request('dev', F_NEW, 'card-sequential');
        const results = [];
        for (let i = 0; i < 3; i++) results.push(await bot.createPromotion(input));
        expect(new Set(results.map((r) => r.name)).size).toBe(1);
        expect(await listByRequest('card-sequential')).toHaveLength(1);
      });

      it('is idempotent under concurrency: 3 workers (separate clients) racing on one requestId → one Promotion', async () => {
        const requestId = 'promote:C0123ABC:1764230400.000200'; // not a valid label value: the label holds its hash
        const input = request('dev', F_MID, requestId);
        const workers = [0, 1, 2].map(() => gatewayFor(env().kubeConfigForToken(env().botToken)));
        const results = await Promise.all(workers.map((w) => w.createPromotion(input)));
        expect(new Set(results.map((r) => r.name)).size).toBe(1);
        const listed = await listByRequest(requestId);
        expect(listed).toHaveLength(1);
        expect(listed[0]?.metadata.name).toBe(results[0]?.name);
        expect(results[0]?.annotations[ANNOTATION_REQUEST_ID]).toBe(requestId);
        // And again, sequentially after the race: still the same one.
        expect((await bot.createPromotion(input)).name).toBe(results[0]?.name);
      });

      it('a different requestId for the same stage and freight creates a second Promotion', async () => {
        const a = await bot.createPromotion(request('dev', F_OLD, 'card-first'));
        const b = await bot.createPromotion(request('dev', F_OLD, 'card-second'));
        expect(a.name).not.toBe(b.name);
        expect(await listByRequest('card-first')).toHaveLength(1);
        expect(await listByRequest('card-second')).toHaveLength(1);
      });
    });

    describe('watchPromotions', () => {
      it('delivers RESYNC, then ADDED and MODIFIED as Kargo moves the phase Pending → Running → Succeeded', async () => {
        const rec = recorder<PromotionSummary>();
        const handle = bot.watchPromotions(rec.push);
        watches.push(handle);
        const resync = await rec.waitFor((e) => e.type === 'RESYNC', 'RESYNC');
        expect(rec.events[0]).toBe(resync);
        expect(
          resync.type === 'RESYNC' &&
            resync.objects.some((p) => p.annotations[ANNOTATION_REQUEST_ID] === 'card-full-form'),
        ).toBe(true);

        const created = await bot.createPromotion(request('dev', F_NEW));
        await rec.waitFor(isPromotionEvent(created.name, 'ADDED'), 'ADDED');

        await setStatus('promotions', created.name, { phase: 'Pending' });
        await rec.waitFor(isPromotionEvent(created.name, 'MODIFIED', 'Pending'), 'Pending');
        await setStatus('promotions', created.name, {
          phase: 'Running',
          startedAt: '2026-11-27T09:00:05Z',
          currentStep: 1,
          stepExecutionMetadata: [
            {
              alias: 'dispatch',
              status: 'Succeeded',
              startedAt: '2026-11-27T09:00:05Z',
              finishedAt: '2026-11-27T09:00:06Z',
            },
            { alias: 'waitRun', status: 'Running', startedAt: '2026-11-27T09:00:06Z' },
          ],
          state: {
            dispatch: {
              runId: 4242,
              htmlUrl: 'https://github.com/acme/gitops-infra-pipeline/actions/runs/4242',
            },
          },
        });
        await rec.waitFor(isPromotionEvent(created.name, 'MODIFIED', 'Running'), 'Running');
        await setStatus('promotions', created.name, {
          phase: 'Succeeded',
          finishedAt: '2026-11-27T09:07:00Z',
          stepExecutionMetadata: [
            {
              alias: 'dispatch',
              status: 'Succeeded',
              startedAt: '2026-11-27T09:00:05Z',
              finishedAt: '2026-11-27T09:00:06Z',
            },
            {
              alias: 'waitRun',
              status: 'Succeeded',
              startedAt: '2026-11-27T09:00:06Z',
              finishedAt: '2026-11-27T09:07:00Z',
            },
          ],
          state: {
            dispatch: {
              runId: 4242,
              htmlUrl: 'https://github.com/acme/gitops-infra-pipeline/actions/runs/4242',
            },
            waitRun: { conclusion: 'success' },
          },
        });
        const done = await rec.waitFor(isPromotionEvent(created.name, 'MODIFIED', 'Succeeded'), 'Succeeded');

        const phases = rec.events
          .filter(
            (e): e is Exclude<WatchEvent<PromotionSummary>, { type: 'RESYNC' }> =>
              e.type !== 'RESYNC' && e.object.name === created.name,
          )
          .map((e) => `${e.type}:${e.object.phase ?? '-'}`);
        expect(phases).toEqual(['ADDED:-', 'MODIFIED:Pending', 'MODIFIED:Running', 'MODIFIED:Succeeded']);
        expect(done.type === 'MODIFIED' && done.object).toMatchObject({
          phase: 'Succeeded',
          steps: [
            { alias: 'dispatch', status: 'Succeeded' },
            { alias: 'waitRun', status: 'Succeeded', finishedAt: '2026-11-27T09:07:00Z' },
          ],
          stepOutputs: { dispatch: { runId: 4242 }, waitRun: { conclusion: 'success' } },
        });
        expect(rec.events.filter((e) => e.type === 'RESYNC')).toHaveLength(1);
      });

      it('filters by stage client-side (Kargo ≤ 1.10 has no stage label)', async () => {
        const rec = recorder<PromotionSummary>();
        watches.push(bot.watchPromotions(rec.push, { stage: 'prod' }));
        const resync = await rec.waitFor((e) => e.type === 'RESYNC', 'RESYNC');
        expect(
          resync.type === 'RESYNC' &&
            resync.objects.length > 0 &&
            resync.objects.every((p) => p.stage === 'prod'),
        ).toBe(true);
        const devPromotion = await bot.createPromotion(request('dev', F_MID));
        const prodPromotion = await bot.createPromotion(request('prod', F_MID));
        await rec.waitFor(isPromotionEvent(prodPromotion.name, 'ADDED'), 'prod ADDED');
        expect(rec.events.some((e) => e.type !== 'RESYNC' && e.object.name === devPromotion.name)).toBe(
          false,
        );
      });

      it('resumes without re-listing when the server ends the watch (timeoutSeconds=1 → closed every second)', async () => {
        const rec = recorder<PromotionSummary>();
        watches.push(bot.watchPromotions(rec.push, { timeoutSeconds: 1 }));
        await rec.waitFor((e) => e.type === 'RESYNC', 'RESYNC');
        await sleep(3500); // the server closes the watch at least twice meanwhile
        const created = await bot.createPromotion(request('dev', F_OLD));
        await rec.waitFor(isPromotionEvent(created.name, 'ADDED'), 'ADDED after server-side closes');
        await sleep(1500);
        await setStatus('promotions', created.name, { phase: 'Pending' });
        await rec.waitFor(
          isPromotionEvent(created.name, 'MODIFIED', 'Pending'),
          'MODIFIED after more closes',
        );
        expect(rec.events.filter((e) => e.type === 'RESYNC')).toHaveLength(1);
      });

      it('resumes from a persisted resourceVersion after a restart, delivering what changed while it was down', async () => {
        const first = recorder<PromotionSummary>();
        const handle = bot.watchPromotions(first.push);
        await first.waitFor((e) => e.type === 'RESYNC', 'RESYNC');
        const created = await bot.createPromotion(request('prod', F_MID));
        await first.waitFor(isPromotionEvent(created.name, 'ADDED'), 'ADDED');
        const resourceVersion = handle.resourceVersion;
        handle.stop();
        await handle.done;
        expect(resourceVersion).toBeDefined();

        await setStatus('promotions', created.name, { phase: 'Running' }); // while no watch runs

        const second = recorder<PromotionSummary>();
        watches.push(bot.watchPromotions(second.push, { resourceVersion }));
        await second.waitFor(isPromotionEvent(created.name, 'MODIFIED', 'Running'), 'MODIFIED while down');
        expect(second.events.filter((e) => e.type === 'RESYNC')).toHaveLength(0);
      });

      it('re-lists (RESYNC) when its resourceVersion is too old (410 Gone from the server)', async () => {
        const all = (await admin.listNamespacedCustomObject(kargo('promotions'))) as { items: unknown[] };
        const rec = recorder<PromotionSummary>();
        // resourceVersion 1 predates everything in this etcd: the API server answers 410 / "too old resource version".
        watches.push(bot.watchPromotions(rec.push, { resourceVersion: '1' }));
        const resync = await rec.waitFor((e) => e.type === 'RESYNC', 'RESYNC after 410');
        expect(rec.events[0]?.type).toBe('RESYNC');
        expect(resync.type === 'RESYNC' && resync.objects.length).toBe(all.items.length);
        // and the watch goes on from the fresh list
        const created = await bot.createPromotion(request('dev', F_NEW));
        await rec.waitFor(isPromotionEvent(created.name, 'ADDED'), 'ADDED after re-list');
      });
    });

    describe('watchEvents', () => {
      it('sees a core/v1 Event that Kargo records (PromotionSucceeded with its annotations)', async () => {
        const rec = recorder<KubernetesEventSummary>();
        watches.push(bot.watchEvents(rec.push));
        await rec.waitFor((e) => e.type === 'RESYNC', 'RESYNC');
        const promotionName = `prod.01kbbbbbbbbbbbbbbbbbbbbbbb.${F_MID.slice(0, 7)}`;
        const now = new Date();
        await adminCore.createNamespacedEvent({
          namespace: NS,
          body: {
            metadata: {
              name: `${promotionName}.succeeded`,
              namespace: NS,
              annotations: {
                'event.kargo.akuity.io/actor': 'kubernetes:system:serviceaccount:chatops:chatops-bot',
                'event.kargo.akuity.io/project': NS,
                'event.kargo.akuity.io/promotion-name': promotionName,
                'event.kargo.akuity.io/stage-name': 'prod',
                'event.kargo.akuity.io/freight-name': F_MID,
                'event.kargo.akuity.io/freight-alias': 'brave-badger',
              },
            },
            involvedObject: {
              apiVersion: `${GROUP}/${VERSION}`,
              kind: 'Promotion',
              name: promotionName,
              namespace: NS,
            },
            reason: 'PromotionSucceeded',
            message: 'Promotion succeeded',
            type: 'Normal',
            source: { component: 'promotion-controller' },
            count: 1,
            firstTimestamp: now,
            lastTimestamp: now,
          },
        });
        const event = await rec.waitFor(
          (e) => e.type === 'ADDED' && e.object.reason === 'PromotionSucceeded',
          'Event ADDED',
        );
        expect(event.type === 'ADDED' && event.object).toEqual({
          name: `${promotionName}.succeeded`,
          reason: 'PromotionSucceeded',
          message: 'Promotion succeeded',
          involvedObject: { kind: 'Promotion', name: promotionName },
          annotations: expect.objectContaining({
            'event.kargo.akuity.io/promotion-name': promotionName,
            'event.kargo.akuity.io/freight-alias': 'brave-badger',
          }),
          firstTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          lastTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        });

        // A second watcher lists it in its RESYNC (the list path maps typed Events the same way).
        const again = recorder<KubernetesEventSummary>();
        watches.push(bot.watchEvents(again.push));
        const resync = await again.waitFor((e) => e.type === 'RESYNC', 'RESYNC');
        expect(
          resync.type === 'RESYNC' && resync.objects.find((o) => o.reason === 'PromotionSucceeded'),
        ).toEqual(event.type === 'ADDED' && event.object);
      });

      it('re-lists (RESYNC) after etcd compacted the revision the watch would resume from', async () => {
        // Events are served by etcd directly in this envtest (no watch cache), so compaction is what expires them.
        const first = recorder<KubernetesEventSummary>();
        const handle = bot.watchEvents(first.push);
        await first.waitFor((e) => e.type === 'RESYNC', 'RESYNC');
        const resourceVersion = handle.resourceVersion!;
        handle.stop();
        await handle.done;

        // Two writes while no watch runs, then compact at the head: the revision right after `resourceVersion`
        // (where a resumed watch would start) is gone from etcd.
        for (const name of ['freight-approved-while-down', 'freight-verified-while-down']) {
          const now = new Date();
          await adminCore.createNamespacedEvent({
            namespace: NS,
            body: {
              metadata: { name, namespace: NS },
              involvedObject: {
                apiVersion: `${GROUP}/${VERSION}`,
                kind: 'Freight',
                name: F_NEW,
                namespace: NS,
              },
              reason: name.startsWith('freight-approved')
                ? 'FreightApproved'
                : 'FreightVerificationSucceeded',
              message: 'while the bot was down',
              type: 'Normal',
              count: 1,
              firstTimestamp: now,
              lastTimestamp: now,
            },
          });
        }
        const head = await compactEtcd(env().etcdUrl);
        expect(head).toBeGreaterThan(Number(resourceVersion) + 1);

        const rec = recorder<KubernetesEventSummary>();
        watches.push(bot.watchEvents(rec.push, { resourceVersion }));
        const resync = await rec.waitFor((e) => e.type === 'RESYNC', 'RESYNC after compaction');
        expect(rec.events[0]).toBe(resync);
        expect(
          resync.type === 'RESYNC' && resync.objects.some((o) => o.name === 'freight-approved-while-down'),
        ).toBe(true);
      });
    });

    describe('RBAC (deploy/rbac.yaml, as the bot)', () => {
      let botCustom: CustomObjectsApi;
      let botCore: CoreV1Api;
      let botAuthz: AuthorizationV1Api;
      const can = async (
        verb: string,
        resource: string,
        opts: { group?: string; name?: string; subresource?: string; namespace?: string } = {},
      ) =>
        (
          await botAuthz.createSelfSubjectAccessReview({
            body: {
              spec: {
                resourceAttributes: {
                  group: opts.group ?? GROUP,
                  resource,
                  verb,
                  name: opts.name,
                  subresource: opts.subresource,
                  namespace: opts.namespace ?? NS,
                },
              },
            },
          })
        ).status?.allowed ?? false;

      beforeAll(() => {
        botCustom = env().botKubeConfig.makeApiClient(CustomObjectsApi);
        botCore = env().botKubeConfig.makeApiClient(CoreV1Api);
        botAuthz = env().botKubeConfig.makeApiClient(AuthorizationV1Api);
      });

      it('is forbidden to delete Promotions (403)', async () => {
        const victim = await bot.createPromotion(request('dev', F_OLD));
        await expectHttpStatus(
          botCustom.deleteNamespacedCustomObject({ ...kargo('promotions'), name: victim.name }),
          403,
        );
        expect(await bot.getPromotion(victim.name)).toBeDefined();
      });

      it('is forbidden to read Secrets (403)', async () => {
        await adminCore.createNamespacedSecret({
          namespace: NS,
          body: {
            metadata: { name: 'github', labels: { 'kargo.akuity.io/cred-type': 'generic' } },
            stringData: { token: 'ghp_not_a_real_token' },
          },
        });
        await expectHttpStatus(botCore.readNamespacedSecret({ namespace: NS, name: 'github' }), 403);
        await expectHttpStatus(botCore.listNamespacedSecret({ namespace: NS }), 403);
      });

      it('is forbidden to patch Freight, its status (manual approval) or Stages (403)', async () => {
        await expectHttpStatus(
          botCustom.patchNamespacedCustomObject(
            { ...kargo('freights'), name: F_NEW, body: { alias: 'hijacked' } },
            mergePatch,
          ),
          403,
        );
        await expectHttpStatus(
          botCustom.patchNamespacedCustomObjectStatus(
            {
              ...kargo('freights'),
              name: F_NEW,
              body: { status: { approvedFor: { prod: { approvedAt: '2026-11-27T10:00:00Z' } } } },
            },
            mergePatch,
          ),
          403,
        );
        await expectHttpStatus(
          botCustom.patchNamespacedCustomObject(
            {
              ...kargo('stages'),
              name: 'prod',
              body: { metadata: { annotations: { 'kargo.akuity.io/refresh': 'x' } } },
            },
            mergePatch,
          ),
          403,
        );
      });

      it('may `promote` exactly dev and prod (the custom verb Kargo’s webhook checks), and nothing beyond the Role', async () => {
        expect(await can('promote', 'stages', { name: 'dev' })).toBe(true);
        expect(await can('promote', 'stages', { name: 'prod' })).toBe(true);
        expect(await can('promote', 'stages', { name: 'staging' })).toBe(false);
        expect(await can('promote', 'stages', { name: 'prod', namespace: 'default' })).toBe(false);
        for (const resource of ['freights', 'stages', 'promotions']) {
          for (const verb of ['get', 'list', 'watch']) expect(await can(verb, resource)).toBe(true);
          for (const verb of ['delete', 'update', 'deletecollection'])
            expect(await can(verb, resource)).toBe(false);
        }
        // patch: Promotions only (abort, for /cancel); never Freight or Stages, never a status.
        expect(await can('patch', 'promotions')).toBe(true);
        expect(await can('patch', 'freights')).toBe(false);
        expect(await can('patch', 'stages')).toBe(false);
        expect(await can('patch', 'promotions', { subresource: 'status' })).toBe(false);
        expect(await can('create', 'promotions')).toBe(true);
        expect(await can('create', 'freights')).toBe(false);
        expect(await can('create', 'stages')).toBe(false);
        expect(await can('patch', 'freights', { subresource: 'status' })).toBe(false);
        expect(await can('get', 'warehouses')).toBe(false);
        expect(await can('list', 'events', { group: '' })).toBe(true);
        expect(await can('watch', 'events', { group: '' })).toBe(true);
        expect(await can('create', 'events', { group: '' })).toBe(false);
        expect(await can('get', 'secrets', { group: '' })).toBe(false);
        expect(await can('get', 'promotions', { namespace: BOT_NAMESPACE })).toBe(false);
      });

      it('holds exactly the rules of deploy/rbac.yaml in the project namespace (SelfSubjectRulesReview)', async () => {
        const review = await botAuthz.createSelfSubjectRulesReview({ body: { spec: { namespace: NS } } });
        const rules = (review.status?.resourceRules ?? [])
          // what every authenticated user gets (system:basic-user): self-reviews
          .filter(
            (r) =>
              !(r.apiGroups ?? []).some((g) => g === 'authorization.k8s.io' || g === 'authentication.k8s.io'),
          )
          .map((r) => ({
            apiGroups: [...(r.apiGroups ?? [])].sort(),
            resources: [...(r.resources ?? [])].sort(),
            resourceNames: [...(r.resourceNames ?? [])].sort(),
            verbs: [...r.verbs].sort(),
          }))
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
        expect(rules).toEqual(
          [
            { apiGroups: [''], resources: ['events'], resourceNames: [], verbs: ['list', 'watch'] },
            {
              apiGroups: [GROUP],
              resources: ['freights', 'promotions', 'stages'],
              resourceNames: [],
              verbs: ['get', 'list', 'watch'],
            },
            { apiGroups: [GROUP], resources: ['promotions'], resourceNames: [], verbs: ['create'] },
            { apiGroups: [GROUP], resources: ['promotions'], resourceNames: [], verbs: ['patch'] },
            { apiGroups: [GROUP], resources: ['stages'], resourceNames: ['dev', 'prod'], verbs: ['promote'] },
            {
              apiGroups: [GROUP],
              resources: ['projectconfigs'],
              resourceNames: [NS],
              verbs: ['get', 'update'],
            },
          ].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        );
      });
    });

    describe('error mapping with real API server answers', () => {
      it('a Stage that does not exist → StageNotFound (real 404)', async () => {
        const err = await expectChatOpsError(
          bot.createPromotion(request('qa', F_MID)),
          ErrorCode.StageNotFound,
        );
        expect(err.permanent).toBe(true);
      });

      it('a Freight that does not exist → FreightNotFound (real 404)', async () => {
        await expectChatOpsError(
          bot.createPromotion(request('dev', sha1('never-discovered'))),
          ErrorCode.FreightNotFound,
        );
      });

      it('RBAC without `create promotions` → KargoRejected (real 403), permanent', async () => {
        // A second identity with read-only rights in the project: what a mis-deployed Role looks like.
        await env().apply(`
apiVersion: v1
kind: ServiceAccount
metadata: {name: readonly-bot, namespace: ${BOT_NAMESPACE}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: readonly-bot, namespace: ${NS}}
rules:
  - {apiGroups: [kargo.akuity.io], resources: [freights, stages, promotions], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: readonly-bot, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: readonly-bot}
subjects: [{kind: ServiceAccount, name: readonly-bot, namespace: ${BOT_NAMESPACE}}]
`);
        const token = await env().mintToken('readonly-bot', BOT_NAMESPACE);
        const readonly = gatewayFor(env().kubeConfigForToken(token));
        expect((await readonly.listStages()).length).toBeGreaterThan(0);
        const err = await expectChatOpsError(
          readonly.createPromotion(request('dev', F_MID)),
          ErrorCode.KargoRejected,
        );
        expect((err.original as { code?: number }).code).toBe(403);
        expect(err.permanent).toBe(true);
      });

      it('a Promotion the CRD rejects (422: task steps are not inflated without Kargo’s webhook) → KargoRejected', async () => {
        await admin.createNamespacedCustomObject({
          ...kargo('stages'),
          body: stageObject('uses-task', { direct: true }, [
            { task: { name: 'dispatch-and-wait' }, as: 'deploy' },
          ]),
        });
        const err = await expectChatOpsError(
          bot.createPromotion(request('uses-task', F_MID)),
          ErrorCode.KargoRejected,
        );
        expect((err.original as { code?: number }).code).toBe(422);
      });

      it('a Stage without promotion steps → KargoRejected before anything is sent', async () => {
        await admin.createNamespacedCustomObject({
          ...kargo('stages'),
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'Stage',
            metadata: { name: 'no-steps', namespace: NS },
            spec: {
              requestedFreight: [{ origin: { kind: 'Warehouse', name: 'infra' }, sources: { direct: true } }],
            },
          },
        });
        const err = await expectChatOpsError(
          bot.createPromotion(request('no-steps', F_MID)),
          ErrorCode.KargoRejected,
        );
        expect(err.message).toMatch(/defines no promotion steps/);
      });

      it('a real 422 on spec.freight maps to FreightNotAvailable, one on spec.stage to StageNotFound', async () => {
        const invalid = async (spec: object) => {
          try {
            await admin.createNamespacedCustomObject({
              ...kargo('promotions'),
              body: {
                apiVersion: `${GROUP}/${VERSION}`,
                kind: 'Promotion',
                metadata: { name: `bad-${++requestSeq}` },
                spec,
              },
            });
          } catch (err) {
            return err;
          }
          throw new Error('the API server accepted an invalid Promotion');
        };
        const steps = [{ uses: 'http', as: 'x', config: { url: 'https://example.com' } }];
        const badFreight = await invalid({ stage: 'dev', freight: 'Not_A_Freight', steps });
        expect((badFreight as { code?: number }).code).toBe(422);
        expect(toChatOpsError(badFreight, { operation: 'create' }).code).toBe(ErrorCode.FreightNotAvailable);
        const badStage = await invalid({ stage: 'No_Such_Stage', freight: F_MID, steps });
        expect(toChatOpsError(badStage, { operation: 'create' }).code).toBe(ErrorCode.StageNotFound);
      });

      it('an API server that cannot be reached → KargoUnavailable (transient)', async () => {
        const unreachable = env().kubeConfigForToken(env().botToken);
        // A port nothing listens on (fetch refuses "bad ports" such as 1 before connecting at all).
        const closed = await new Promise<number>((resolve) => {
          const probe = createServer().listen(0, '127.0.0.1', () => {
            const { port } = probe.address() as AddressInfo;
            probe.close(() => resolve(port));
          });
        });
        unreachable.clusters[0] = { ...unreachable.clusters[0]!, server: `https://127.0.0.1:${closed}` };
        const err = await expectChatOpsError(
          gatewayFor(unreachable).listFreight(),
          ErrorCode.KargoUnavailable,
        );
        expect(err.permanent).toBe(false);
      });
    });

    describe('behind a Kargo 1.11-style mutating webhook that renames Promotions', () => {
      // Kargo 1.11's mutating webhook overwrites metadata.name with its own random ULID, so the deterministic
      // name no longer makes retries collide. A stand-in for that webhook (the Kargo webhook server is a boundary
      // we cannot run here) is registered for one extra project namespace only, and does just that rename.
      const NS_111 = 'gitops-infra-kargo111';
      let server: https.Server;
      let bot111: KubernetesKargoGateway;
      let renamed = 0;

      beforeAll(async () => {
        server = https.createServer(
          { cert: env().servingCert.certPem, key: env().servingCert.keyPem },
          (req, res) => {
            let body = '';
            req.on('data', (chunk: Buffer) => (body += chunk.toString()));
            req.on('end', () => {
              const review = JSON.parse(body) as {
                request: { uid: string; object: { spec: { stage: string; freight: string } } };
              };
              const { stage, freight } = review.request.object.spec;
              const name = `${stage}.${encodeUlid(Date.now(), randomBytes(10)).toLowerCase()}.${freight.slice(0, 7)}`;
              renamed++;
              const patch = [
                { op: 'replace', path: '/metadata/name', value: name },
                { op: 'add', path: '/metadata/labels/kargo.akuity.io~1stage', value: stage },
              ];
              res.setHeader('Content-Type', 'application/json');
              res.end(
                JSON.stringify({
                  apiVersion: 'admission.k8s.io/v1',
                  kind: 'AdmissionReview',
                  response: {
                    uid: review.request.uid,
                    allowed: true,
                    patchType: 'JSONPatch',
                    patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
                  },
                }),
              );
            });
          },
        );
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const port = (server.address() as AddressInfo).port;

        await env().apply(`
apiVersion: v1
kind: Namespace
metadata: {name: ${NS_111}, labels: {kargo.akuity.io/project: "true", envtest/kargo-webhook: "1.11"}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: MutatingWebhookConfiguration
metadata: {name: envtest-kargo-111-promotion-rename}
webhooks:
  - name: promotion.kargo.akuity.io
    clientConfig:
      url: https://127.0.0.1:${port}/mutate
      caBundle: ${Buffer.from(env().caPem).toString('base64')}
    rules: [{apiGroups: [kargo.akuity.io], apiVersions: [v1alpha1], operations: [CREATE], resources: [promotions]}]
    namespaceSelector: {matchLabels: {envtest/kargo-webhook: "1.11"}}
    sideEffects: None
    admissionReviewVersions: [v1]
    failurePolicy: Fail
`);
        // The same Role and RoleBinding as deploy/rbac.yaml, in this project namespace.
        await env().apply(
          fs
            .readFileSync(path.join(repoRoot, 'deploy', 'rbac.yaml'), 'utf8')
            .replaceAll(`namespace: ${NS}`, `namespace: ${NS_111}`),
        );
        const inNs = (plural: string) => ({ group: GROUP, version: VERSION, namespace: NS_111, plural });
        const stage = stageObject('dev', { direct: true });
        stage.metadata.namespace = NS_111;
        await admin.createNamespacedCustomObject({ ...inNs('stages'), body: stage });
        const freight = freightObject(F_NEW, 'frozen-tauntaun', '2026-11-26T08:00:00Z', 'feat: newest');
        freight.metadata.namespace = NS_111;
        await admin.createNamespacedCustomObject({ ...inNs('freights'), body: freight });
        bot111 = new KubernetesKargoGateway({ kubeConfig: env().botKubeConfig, project: NS_111 });
      });

      afterAll(async () => {
        await new Promise((resolve) => server?.close(resolve));
      });

      it('retries still yield exactly one Promotion: the request-id label finds the renamed one', async () => {
        const input = request('dev', F_NEW, 'card-kargo-111');
        const first = await bot111.createPromotion(input);
        expect(renamed).toBe(1);
        expect(first.name).not.toBe(buildPromotionName(input)); // the webhook renamed it
        const second = await bot111.createPromotion(input);
        const third = await bot111.createPromotion(input);
        expect([second.name, third.name]).toEqual([first.name, first.name]);
        expect(renamed).toBe(1); // no second create reached the API server
        const listed = (await admin.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: NS_111,
          plural: 'promotions',
        })) as { items: unknown[] };
        expect(listed.items).toHaveLength(1);
        expect(await bot111.findPromotionByRequestId('card-kargo-111')).toEqual(first);
      });
    });

    describe('loadKubeConfig', () => {
      it('uses the mounted ServiceAccount in a pod (KUBERNETES_SERVICE_HOST + token), else the given kubeconfig', async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), 'incluster-'));
        const saved = {
          host: process.env.KUBERNETES_SERVICE_HOST,
          port: process.env.KUBERNETES_SERVICE_PORT,
        };
        try {
          const kubeconfigPath = path.join(root, 'kubeconfig');
          fs.writeFileSync(kubeconfigPath, env().botKubeConfig.exportConfig());
          delete process.env.KUBERNETES_SERVICE_HOST;
          const outside = loadKubeConfig({ kubeconfigPath, rootDir: root });
          expect(outside.getCurrentCluster()?.server).toBe(env().server);
          expect((await gatewayFor(outside).listStages()).length).toBeGreaterThan(0);

          // The layout kubelet mounts into a pod, pointing at the test API server.
          const saDir = path.join(root, SERVICEACCOUNT_DIR);
          fs.mkdirSync(saDir, { recursive: true });
          fs.writeFileSync(path.join(saDir, 'token'), env().botToken);
          fs.writeFileSync(path.join(saDir, 'ca.crt'), env().caPem);
          fs.writeFileSync(path.join(saDir, 'namespace'), BOT_NAMESPACE);
          const url = new URL(env().server);
          process.env.KUBERNETES_SERVICE_HOST = url.hostname;
          process.env.KUBERNETES_SERVICE_PORT = url.port;
          const inCluster = loadKubeConfig({ kubeconfigPath: '/nonexistent/kubeconfig', rootDir: root });
          expect(inCluster.getCurrentCluster()?.server).toBe(env().server);
          expect((await gatewayFor(inCluster).listStages()).length).toBeGreaterThan(0);
        } finally {
          if (saved.host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
          else process.env.KUBERNETES_SERVICE_HOST = saved.host;
          if (saved.port === undefined) delete process.env.KUBERNETES_SERVICE_PORT;
          else process.env.KUBERNETES_SERVICE_PORT = saved.port;
          fs.rmSync(root, { recursive: true, force: true });
        }
      });
    });
  },
);

/**
 * Compacts etcd up to its current revision through etcd's gRPC-gateway (`POST /v3/kv/compaction` on the client
 * URL) and returns that revision. Older revisions are gone afterwards: a watch from one gets 410.
 */
async function compactEtcd(etcdUrl: string): Promise<number> {
  const range = await fetch(`${etcdUrl}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: Buffer.from('/registry').toString('base64'), limit: 1 }),
  });
  const revision = Number(((await range.json()) as { header: { revision: string } }).header.revision);
  const compacted = await fetch(`${etcdUrl}/v3/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision: String(revision), physical: true }),
  });
  if (!compacted.ok) throw new Error(`etcd compaction failed: ${compacted.status} ${await compacted.text()}`);
  return revision;
}
