// The sandbox's Kargo: the Kubernetes API stand-in (src/sandbox/kargo-standin.ts) with the controller
// simulator (src/sandbox/kargo-simulator.ts) running this repository's own kargo/ manifests and Freight made
// from this repository's own git history. The bot's REAL adapter (KubernetesKargoGateway over
// @kubernetes/client-node, configured through a kubeconfig file) talks to it; the http steps call a tiny fake
// GitHub in this file (dispatch → 200 {workflow_run_id, html_url}; runs/{id} → queued, then completed).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { ChatOpsError, ErrorCode } from '../../src/domain/errors.js';
import type { PromotionSummary } from '../../src/domain/types.js';
import { KubernetesKargoGateway, loadKubeConfig, type ListWatchHandle } from '../../src/kargo/client.js';
import { LABEL_REQUEST_ID, type WatchEvent } from '../../src/kargo/gateway.js';
import { evaluateConfig, evaluateExpr, evaluateTemplate, ExprError } from '../../src/sandbox/kargo-expr.js';
import { freightAlias, freightId, pathSelected } from '../../src/sandbox/kargo-freight.js';
import { parseLabelSelector, matchesLabels } from '../../src/sandbox/kargo-k8s.js';
import { KargoSimulator, shortenSubject, startKargoSandbox } from '../../src/sandbox/kargo-simulator.js';
import { KargoStandIn, DEFAULT_BOT_USER } from '../../src/sandbox/kargo-standin.js';

const NS = 'gitops-infra';
const REPO_URL = 'https://github.com/acme/gitops-infra-pipeline.git';
const GH_TOKEN = 'gh-test-token';
const GROUP = 'kargo.akuity.io';
const VERSION = 'v1alpha1';
const kargo = (plural: string) => ({ group: GROUP, version: VERSION, namespace: NS, plural });
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

// ---- a tiny fake GitHub ------------------------------------------------------------------------------------

interface FakeRun {
  conclusion: string; // 'success' | 'failure' | 'hold' (never completes)
  polls: number;
}
interface FakeGitHub {
  url: string;
  server: Server;
  runs: Map<number, FakeRun>;
  dispatches: Array<{ auth?: string; repo: string; workflow: string; body: Record<string, unknown> }>;
  /** Conclusions for the next dispatched runs, in order; default success. */
  plan: string[];
}

async function startFakeGitHub(): Promise<FakeGitHub> {
  const gh: FakeGitHub = {
    url: '',
    server: undefined as unknown as Server,
    runs: new Map(),
    dispatches: [],
    plan: [],
  };
  gh.server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const send = (code: number, body: unknown) =>
        res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.headers.authorization !== `Bearer ${GH_TOKEN}`)
        return send(401, { message: 'Bad credentials' });
      const dispatch = /^\/repos\/([^/]+\/[^/]+)\/actions\/workflows\/([^/]+)\/dispatches$/.exec(
        req.url ?? '',
      );
      if (req.method === 'POST' && dispatch) {
        const id = 7000 + gh.runs.size;
        gh.runs.set(id, { conclusion: gh.plan.shift() ?? 'success', polls: 0 });
        gh.dispatches.push({
          auth: req.headers.authorization,
          repo: dispatch[1]!,
          workflow: dispatch[2]!,
          body: JSON.parse(text),
        });
        const html = `https://github.com/${dispatch[1]!}/actions/runs/${id}`;
        return send(200, {
          workflow_run_id: id,
          run_url: `https://api.github.com/repos/${dispatch[1]!}/actions/runs/${id}`,
          html_url: html,
        });
      }
      const run = /^\/repos\/([^/]+\/[^/]+)\/actions\/runs\/(\d+)$/.exec(req.url ?? '');
      const found = run && gh.runs.get(Number(run[2]));
      if (req.method === 'GET' && run && found) {
        found.polls++;
        const html = `https://github.com/${run[1]!}/actions/runs/${run[2]!}`;
        if (found.polls === 1 || found.conclusion === 'hold')
          return send(200, { id: Number(run[2]), status: 'queued', conclusion: null, html_url: html });
        return send(200, {
          id: Number(run[2]),
          status: 'completed',
          conclusion: found.conclusion,
          html_url: html,
        });
      }
      return send(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => gh.server.listen(0, '127.0.0.1', resolve));
  gh.url = `http://127.0.0.1:${(gh.server.address() as AddressInfo).port}`;
  return gh;
}

// ---- helpers -----------------------------------------------------------------------------------------------

/** Polls `probe` until it returns a value (not undefined/false); fails with `what` after `timeoutMs`. */
async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function recorder<T>() {
  const events: WatchEvent<T>[] = [];
  return {
    events,
    push: (e: WatchEvent<T>) => {
      events.push(e);
    },
    waitFor: (pred: (e: WatchEvent<T>) => boolean, what: string) => waitFor(() => events.find(pred), what),
  };
}

const statusOf = (
  err: unknown,
): {
  code?: number;
  reason?: string;
  message?: string;
  details?: { causes?: Array<{ field?: string; message?: string }> };
} => {
  const body = (err as { body?: unknown }).body;
  return typeof body === 'string' ? (JSON.parse(body) as object) : ((body ?? {}) as object);
};

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

let requestSeq = 0;
const promoteInput = (stage: string, freight: string) => ({
  stage,
  freight,
  requestId: `card-${process.pid}-${++requestSeq}`,
  requestedBy: 'slack:U0TEST',
  requestedAt: new Date().toISOString(),
});

// ---- the suite ---------------------------------------------------------------------------------------------

describe('Kargo stand-in + simulator, driven by the real KubernetesKargoGateway', () => {
  let gh: FakeGitHub;
  let standIn: KargoStandIn;
  let simulator: KargoSimulator;
  let gateway: KubernetesKargoGateway;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  let tmpDir: string;
  const watches: ListWatchHandle[] = [];

  beforeAll(async () => {
    gh = await startFakeGitHub();
    standIn = await KargoStandIn.start();
    simulator = new KargoSimulator({
      standIn,
      autoPromotion: false,
      githubApiUrl: gh.url,
      secrets: { github: { token: GH_TOKEN } },
      pollIntervalMs: 20,
      freightCount: 3,
    });
    simulator.loadManifests();
    await simulator.discoverFreight();
    simulator.run();
    // Through a kubeconfig file and the bot's own loader, exactly as the sandbox wires the worker.
    tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kargo-standin-'));
    const kubeconfigPath = standIn.writeKubeconfig(path.join(tmpDir, 'kubeconfig'), { namespace: NS });
    const kubeConfig = loadKubeConfig({ kubeconfigPath });
    gateway = new KubernetesKargoGateway({
      kubeConfig,
      project: NS,
      watchBackoff: { initialMs: 10, maxMs: 50 },
    });
    custom = kubeConfig.makeApiClient(CustomObjectsApi);
    core = kubeConfig.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    for (const w of watches) w.stop();
    await Promise.all(watches.map((w) => w.done));
    await simulator?.stop();
    await standIn?.stop();
    await new Promise((r) => gh?.server.close(r));
    if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  });

  /** Waits until the Promotion reaches a terminal phase and returns it. */
  const terminal = (name: string) =>
    waitFor(async () => {
      const p = await gateway.getPromotion(name);
      return p && ['Succeeded', 'Failed', 'Errored', 'Aborted'].includes(p.phase ?? '') ? p : undefined;
    }, `Promotion ${name} to finish`);

  /** A Freight not made from git (the git history may hold only one commit that touches the pipeline). */
  const extraFreight = async (tag: string): Promise<string> => {
    const id = createHash('sha1').update(`extra-${tag}`).digest('hex');
    const created = (await custom.createNamespacedCustomObject({
      ...kargo('freights'),
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'Freight',
        metadata: {
          name: freightId({ origin: { kind: 'Warehouse', name: NS }, commits: [{ repoURL: REPO_URL, id }] }),
        },
        origin: { kind: 'Warehouse', name: NS },
        commits: [{ repoURL: REPO_URL, id, branch: 'main', message: `extra ${tag}` }],
        discoveredAt: '2026-01-01T00:00:00Z',
      },
    })) as { metadata: { name: string } };
    return created.metadata.name;
  };

  describe('Freight from this repository', () => {
    it('turns the newest commits that touch the Warehouse includePaths into Freight', async () => {
      const expected = execFileSync(
        'git',
        [
          '-C',
          repoRoot,
          'log',
          '--max-count=3',
          '--format=%H',
          'HEAD',
          '--',
          'terraform/',
          'policy/',
          '.github/workflows/',
        ],
        { encoding: 'utf8' },
      )
        .split('\n')
        .filter(Boolean);
      expect(expected.length).toBeGreaterThan(0);
      const freight = await gateway.listFreight();
      const fromGit = freight.filter((f) => f.commits[0] && expected.includes(f.commits[0].id));
      expect(fromGit.map((f) => f.commits[0]!.id).sort()).toEqual([...expected].sort());
      for (const f of fromGit) {
        expect(f.warehouse).toBe(NS);
        expect(f.commits[0]).toMatchObject({ repoURL: REPO_URL, branch: 'main' });
        // The subject, cut to 80 bytes as Kargo's git subscriber does (checked against the real controller).
        expect(f.commits[0]!.message).toBe(
          shortenSubject(
            execFileSync('git', ['-C', repoRoot, 'log', '-1', '--format=%s', f.commits[0]!.id], {
              encoding: 'utf8',
            }).trim(),
          ),
        );
        expect(Buffer.byteLength(f.commits[0]!.message ?? '')).toBeLessThanOrEqual(80);
        expect(f.name).toBe(
          freightId({
            origin: { kind: 'Warehouse', name: NS },
            commits: [{ repoURL: REPO_URL, id: f.commits[0]!.id }],
          }),
        );
        expect(f.alias).toBe(freightAlias(f.name));
        expect(await gateway.findFreight(f.alias!)).toMatchObject({ name: f.name });
        expect(await gateway.findFreight(f.name.slice(0, 9))).toMatchObject({ name: f.name });
      }
    });

    it('keeps a commit subject as Kargo does: at most 80 bytes, cut ones end in "..."', () => {
      expect(shortenSubject('short subject')).toBe('short subject');
      const long = `Bootstrap IAM checks in the policy job instead of a job of their own (the job list stays)`;
      // What the real controller stored for this very subject.
      expect(shortenSubject(long)).toBe(
        'Bootstrap IAM checks in the policy job instead of a job of their own (the job...',
      );
      // Bytes, not characters: a cut through a character leaves U+FFFD, as Go's JSON encoding of Kargo's cut does.
      expect(shortenSubject('é'.repeat(60))).toBe(`${'é'.repeat(38)}\uFFFD...`);
    });

    it('path filters follow Kargo: plain entries are prefixes, glob: and regex: patterns', () => {
      expect(pathSelected('terraform/aws/dev/main.tf', ['terraform/'])).toBe(true);
      expect(pathSelected('src/main.ts', ['terraform/', 'policy/'])).toBe(false);
      expect(pathSelected('policy/a.rego', ['glob:policy/*.rego'])).toBe(true);
      expect(pathSelected('policy/x/a.rego', ['glob:policy/*.rego'])).toBe(false);
      expect(pathSelected('policy/x/a.rego', ['glob:policy/**'])).toBe(true);
      expect(pathSelected('README.md', ['regex:^READ'])).toBe(true);
      expect(pathSelected('terraform/x.tf', ['terraform/'], ['terraform/'])).toBe(false);
    });
  });

  describe('reads', () => {
    it('lists the Stages of kargo/stages.yaml', async () => {
      const stages = await gateway.listStages();
      expect(stages.map((s) => s.name)).toEqual(['dev', 'prod']);
      expect(stages[0]!.requestedFreight).toEqual([
        { origin: { kind: 'Warehouse', name: NS }, sources: { direct: true } },
      ]);
      expect(stages[1]!.requestedFreight).toEqual([
        { origin: { kind: 'Warehouse', name: NS }, sources: { stages: ['dev'] } },
      ]);
    });

    it('paginates with limit/continue over one snapshot and filters with label selectors', async () => {
      await extraFreight('page');
      const all = (await custom.listNamespacedCustomObject({ ...kargo('freights') })) as {
        items: unknown[];
        metadata: { resourceVersion: string };
      };
      expect(all.items.length).toBeGreaterThanOrEqual(2);
      const names: string[] = [];
      let cont: string | undefined;
      let rv: string | undefined;
      do {
        const page = (await custom.listNamespacedCustomObject({
          ...kargo('freights'),
          limit: 1,
          _continue: cont,
        })) as {
          items: Array<{ metadata: { name: string } }>;
          metadata: { resourceVersion: string; continue?: string };
        };
        expect(page.items.length).toBe(1);
        rv ??= page.metadata.resourceVersion;
        expect(page.metadata.resourceVersion).toBe(rv);
        names.push(page.items[0]!.metadata.name);
        if (!cont) await extraFreight('created-while-paging'); // not in the snapshot
        cont = page.metadata.continue || undefined;
      } while (cont);
      expect(names.length).toBe(all.items.length);

      const freight = await gateway.listFreight();
      const [a, b] = [freight[0]!.alias!, freight[1]!.alias!];
      const inSet = (await custom.listNamespacedCustomObject({
        ...kargo('freights'),
        labelSelector: `kargo.akuity.io/alias in (${a},${b})`,
      })) as { items: unknown[] };
      expect(inSet.items.length).toBe(2);
      const notA = (await custom.listNamespacedCustomObject({
        ...kargo('freights'),
        labelSelector: `kargo.akuity.io/alias!=${a},!nope`,
      })) as { items: unknown[] };
      expect(notA.items.length).toBe(freight.length - 1);
      expect(matchesLabels({ x: 'y' }, parseLabelSelector('x notin (z), x'))).toBe(true);
    });

    it('answers 404 NotFound and 409 AlreadyExists as Status objects', async () => {
      const missing = await rejection(custom.getNamespacedCustomObject({ ...kargo('stages'), name: 'qa' }));
      expect(statusOf(missing)).toMatchObject({
        kind: 'Status',
        code: 404,
        reason: 'NotFound',
        message: 'stages.kargo.akuity.io "qa" not found',
        details: { name: 'qa', group: GROUP, kind: 'stages' },
      });
      const stage = (await custom.getNamespacedCustomObject({ ...kargo('stages'), name: 'dev' })) as Record<
        string,
        unknown
      >;
      const dup = await rejection(
        custom.createNamespacedCustomObject({ ...kargo('stages'), body: { ...stage, status: undefined } }),
      );
      expect(statusOf(dup)).toMatchObject({
        code: 409,
        reason: 'AlreadyExists',
        details: { name: 'dev', kind: 'stages' },
      });
    });
  });

  describe('authentication', () => {
    it('answers 401 with a Status without the token, or with a wrong one', async () => {
      const res = await fetch(`${standIn.url}/apis/${GROUP}/${VERSION}/namespaces/${NS}/freights`);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'Unauthorized',
        code: 401,
      });
      const wrong = new KubernetesKargoGateway({
        kubeConfig: standIn.kubeConfig({ token: 'not-the-token' }),
        project: NS,
      });
      const err = await rejection(wrong.listStages());
      expect(err).toBeInstanceOf(ChatOpsError);
      expect((err as ChatOpsError).code).toBe(ErrorCode.KargoRejected);
      expect((err as ChatOpsError).message).toMatch(/401/);
    });

    it('serves discovery to an authenticated client', async () => {
      const headers = { authorization: `Bearer ${standIn.token}` };
      const apis = (await (await fetch(`${standIn.url}/apis`, { headers })).json()) as {
        groups: Array<{ name: string }>;
      };
      expect(apis.groups.map((g) => g.name)).toContain(GROUP);
      const resources = (await (
        await fetch(`${standIn.url}/apis/${GROUP}/${VERSION}`, { headers })
      ).json()) as { resources: Array<{ name: string; namespaced: boolean }> };
      expect(resources.resources).toEqual(
        expect.arrayContaining([
          { ...resources.resources.find((r) => r.name === 'projects'), namespaced: false },
        ]),
      );
      expect(resources.resources.map((r) => r.name)).toEqual(
        expect.arrayContaining(['freights', 'freights/status', 'promotions', 'stages']),
      );
      expect(
        ((await (await fetch(`${standIn.url}/version`, { headers })).json()) as { major: string }).major,
      ).toBe('1');
    });
  });

  describe('promotions', () => {
    let newest: string;

    it('runs a dev promotion through its http steps: watch sees RESYNC, then Pending → Running → Succeeded', async () => {
      newest = (await gateway.listFreight()).find(
        (f) => f.commits[0]?.message !== undefined && !f.commits[0].message.startsWith('extra'),
      )!.name;
      const rec = recorder<PromotionSummary>();
      const handle = gateway.watchPromotions(rec.push, { stage: 'dev' });
      watches.push(handle);
      await rec.waitFor((e) => e.type === 'RESYNC', 'RESYNC');
      expect(rec.events[0]!.type).toBe('RESYNC');

      const created = await gateway.createPromotion(promoteInput('dev', newest));
      expect(created.name).toMatch(new RegExp(`^dev\\.[0-9a-z]{26}\\.${newest.slice(0, 7)}$`));
      const done = await terminal(created.name);
      expect(done.phase).toBe('Succeeded');
      await rec.waitFor(
        (e) => e.type === 'MODIFIED' && e.object.name === created.name && e.object.phase === 'Succeeded',
        'Succeeded',
      );
      const phases = rec.events
        .filter(
          (e): e is Extract<WatchEvent<PromotionSummary>, { object: PromotionSummary }> =>
            e.type !== 'RESYNC' && e.object.name === created.name,
        )
        .map((e) => e.object.phase)
        .filter((p, i, all) => p !== undefined && p !== all[i - 1]);
      expect(phases).toEqual(['Pending', 'Running', 'Succeeded']);

      // Step outputs and step metadata, as the bot reads them.
      const dispatched = gh.dispatches.at(-1)!;
      const runId = Number(done.stepOutputs.dispatch?.runId);
      expect(gh.runs.has(runId)).toBe(true);
      expect(done.stepOutputs.dispatch).toEqual({
        runId,
        runUrl: `https://github.com/acme/gitops-infra-pipeline/actions/runs/${runId}`,
      });
      expect(done.stepOutputs.waitRun).toEqual({
        htmlUrl: `https://github.com/acme/gitops-infra-pipeline/actions/runs/${runId}`,
        conclusion: 'success',
      });
      expect(done.steps.map((s) => [s.alias, s.status])).toEqual([
        ['dispatch', 'Succeeded'],
        ['waitRun', 'Succeeded'],
      ]);
      // What the http step sent: the Stage's own expressions, evaluated.
      const commitId = (await gateway.findFreight(newest))!.commits[0]!.id;
      expect(dispatched).toEqual({
        auth: `Bearer ${GH_TOKEN}`,
        repo: 'acme/gitops-infra-pipeline',
        workflow: 'terraform.yaml',
        body: {
          ref: 'main',
          inputs: { environment: 'dev', deploy_prod: 'no', promotion: created.name, freight_sha: commitId },
          return_run_details: true,
        },
      });

      // The Freight is verified in dev and deployed there; the Stage records it.
      const freight = (await gateway.findFreight(newest))!;
      expect(Object.keys(freight.verifiedIn)).toEqual(['dev']);
      expect(Object.keys(freight.currentlyIn)).toEqual(['dev']);
      const dev = (await gateway.getStage('dev'))!;
      expect(dev.currentFreight).toEqual({ [`Warehouse/${NS}`]: newest });
      expect(dev.lastPromotion).toMatchObject({ name: created.name, phase: 'Succeeded' });
      expect(dev.currentPromotion).toBeUndefined();
      expect(dev.health).toBe('Healthy');

      // Kargo's Events, with their annotations.
      const events = await core.listNamespacedEvent({
        namespace: NS,
        fieldSelector: `involvedObject.name=${created.name}`,
      });
      const byReason = Object.fromEntries(events.items.map((e) => [e.reason, e]));
      expect(Object.keys(byReason).sort()).toEqual(['PromotionCreated', 'PromotionSucceeded']);
      expect(byReason.PromotionSucceeded!.metadata.annotations).toMatchObject({
        'event.kargo.akuity.io/actor': `kubernetes:${DEFAULT_BOT_USER}`,
        'event.kargo.akuity.io/project': NS,
        'event.kargo.akuity.io/promotion-name': created.name,
        'event.kargo.akuity.io/stage-name': 'dev',
        'event.kargo.akuity.io/freight-name': newest,
        'event.kargo.akuity.io/freight-alias': freight.alias,
        'event.kargo.akuity.io/verification-pending': 'false',
      });
      // Messages and sources as the real controller and webhook write them.
      expect(byReason.PromotionSucceeded!.message).toBe('Promotion Succeeded');
      expect(byReason.PromotionSucceeded!.source?.component).toBe('promotion-controller');
      expect(byReason.PromotionCreated!.message).toBe(
        `Promotion created for Stage "dev" by "kubernetes:${DEFAULT_BOT_USER}"`,
      );
      expect(byReason.PromotionCreated!.source?.component).toBe('promotion-webhook');
      const verified = await core.listNamespacedEvent({
        namespace: NS,
        fieldSelector: `involvedObject.name=${newest}`,
      });
      expect(verified.items.map((e) => [e.reason, e.message])).toContainEqual([
        'FreightVerificationSucceeded',
        'Freight verification succeeded',
      ]);
    });

    it('promoting the Freight a Stage already runs adds a freight history entry, and keeps the first verification time', async () => {
      const before = (await gateway.findFreight(newest))!;
      const again = await gateway.createPromotion(promoteInput('dev', newest));
      expect((await terminal(again.name)).phase).toBe('Succeeded');
      const stage = (await custom.getNamespacedCustomObject({ ...kargo('stages'), name: 'dev' })) as {
        status: {
          freightHistory: Array<{
            items: Record<string, { name: string }>;
            verificationHistory?: Array<{ phase: string }>;
          }>;
        };
      };
      // The real controller keeps one entry per successful Promotion, each verified at once (no verification).
      expect(stage.status.freightHistory.slice(0, 2).map((h) => h.items[`Warehouse/${NS}`]!.name)).toEqual([
        newest,
        newest,
      ]);
      expect(stage.status.freightHistory[0]!.verificationHistory?.map((v) => v.phase)).toEqual([
        'Successful',
      ]);
      const after = (await gateway.findFreight(newest))!;
      expect(after.verifiedIn.dev).toEqual(before.verifiedIn.dev);
    });

    it('createPromotion is idempotent on the request id (full form, renamed by the webhook as 1.11 does)', async () => {
      const input = promoteInput('prod', newest); // verified in dev above: available to prod
      const first = await gateway.createPromotion(input);
      const again = await gateway.createPromotion(input);
      expect(again.name).toBe(first.name);
      expect(first.name).toMatch(new RegExp(`^prod\\.[0-9a-z]{26}\\.${newest.slice(0, 7)}$`));
      const labelled = (await custom.listNamespacedCustomObject({
        ...kargo('promotions'),
        labelSelector: `${LABEL_REQUEST_ID}=${input.requestId}`,
      })) as {
        items: Array<{ metadata: { labels: Record<string, string>; annotations: Record<string, string> } }>;
      };
      expect(labelled.items.length).toBe(1);
      expect(labelled.items[0]!.metadata.labels['kargo.akuity.io/stage']).toBe('prod');
      expect(labelled.items[0]!.metadata.annotations['kargo.akuity.io/create-actor']).toBe(
        `kubernetes:${DEFAULT_BOT_USER}`,
      );
      expect((await terminal(first.name)).phase).toBe('Succeeded');
      expect(gh.dispatches.at(-1)!.body).toMatchObject({
        inputs: { environment: 'prod', deploy_prod: 'yes' },
      });
    });

    it('accepts the minimal form (1.11): the webhook names it and fills steps and vars from the Stage', async () => {
      const created = (await custom.createNamespacedCustomObject({
        ...kargo('promotions'),
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'Promotion',
          metadata: {
            generateName: 'promo-',
            annotations: { 'chatops.example.com/requested-by': 'slack:U012ABCDEF' },
          },
          spec: { stage: 'dev', freight: newest },
        },
      })) as {
        metadata: { name: string; annotations: Record<string, string>; ownerReferences: unknown[] };
        spec: { steps: Array<{ as: string }>; vars: Array<{ name: string }> };
      };
      expect(created.metadata.name).toMatch(new RegExp(`^dev\\.[0-9a-z]{26}\\.${newest.slice(0, 7)}$`));
      expect(created.spec.steps.map((s) => s.as)).toEqual(['dispatch', 'waitRun']);
      expect(created.spec.vars.map((v) => v.name)).toEqual([
        'repoURL',
        'ghRepo',
        'ghApi',
        'workflowFile',
        'gitRef',
        'environment',
        'deployProd',
      ]);
      expect(created.metadata.annotations['chatops.example.com/requested-by']).toBe('slack:U012ABCDEF');
      expect(created.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Stage', name: 'dev', controller: true }),
      ]);
      expect((await terminal(created.metadata.name)).phase).toBe('Succeeded');
    });

    it('a failing workflow run ends the Promotion Failed with a message, and nothing is verified', async () => {
      const freight = await extraFreight('fails');
      gh.plan.push('failure');
      const created = await gateway.createPromotion(promoteInput('dev', freight));
      const done = await terminal(created.name);
      expect(done.phase).toBe('Failed');
      expect(done.message).toMatch(/waitRun.*HTTP \(200\) response met failure criteria/);
      expect(done.steps.find((s) => s.alias === 'waitRun')).toMatchObject({ status: 'Failed' });
      expect(done.stepOutputs.waitRun).toBeUndefined();
      expect(done.stepOutputs.dispatch?.runId).toBeDefined();
      expect((await gateway.findFreight(freight))!.verifiedIn).toEqual({});
      expect((await gateway.getStage('dev'))!.currentFreight).toEqual({ [`Warehouse/${NS}`]: newest });
      expect((await gateway.getStage('dev'))!.lastPromotion).toMatchObject({
        name: created.name,
        phase: 'Failed',
      });
      // Kargo cannot assess a Stage whose last Promotion did not succeed.
      expect((await gateway.getStage('dev'))!.health).toBe('Unknown');
    });

    it('refuses Freight not available to the Stage with 422 on spec.freight (prod, unverified in dev)', async () => {
      const unverified = await extraFreight('unverified');
      const err = await rejection(gateway.createPromotion(promoteInput('prod', unverified)));
      expect(err).toBeInstanceOf(ChatOpsError);
      expect((err as ChatOpsError).code).toBe(ErrorCode.FreightNotAvailable);
      const raw = await rejection(
        custom.createNamespacedCustomObject({
          ...kargo('promotions'),
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'Promotion',
            metadata: { generateName: 'p-' },
            spec: { stage: 'prod', freight: unverified },
          },
        }),
      );
      expect(statusOf(raw)).toMatchObject({
        code: 422,
        reason: 'Invalid',
        details: { causes: [{ field: 'spec.freight' }] },
      });
      expect(statusOf(raw).message).toMatch(/Freight is not available to this Stage/);
      // Approving it for prod (merge patch on the status subresource) makes it available.
      await custom.patchNamespacedCustomObjectStatus(
        {
          ...kargo('freights'),
          name: unverified,
          body: { status: { approvedFor: { prod: { approvedAt: '2026-11-27T10:00:00Z' } } } },
        },
        mergePatch,
      );
      const approved = await gateway.createPromotion(promoteInput('prod', unverified));
      expect((await terminal(approved.name)).phase).toBe('Succeeded');
      const events = await core.listNamespacedEvent({
        namespace: NS,
        fieldSelector: 'reason=FreightApproved',
      });
      expect(events.items.map((e) => e.involvedObject.name)).toContain(unverified);
    });

    it('aborts a running Promotion on the kargo.akuity.io/abort annotation', async () => {
      const freight = await extraFreight('abort');
      gh.plan.push('hold');
      const created = await gateway.createPromotion(promoteInput('dev', freight));
      await waitFor(
        async () =>
          (await gateway.getPromotion(created.name))?.steps.find((s) => s.alias === 'waitRun')?.status ===
          'Running',
        'waitRun running',
      );
      await custom.patchNamespacedCustomObject(
        {
          ...kargo('promotions'),
          name: created.name,
          body: { metadata: { annotations: { 'kargo.akuity.io/abort': 'terminate' } } },
        },
        mergePatch,
      );
      const done = await terminal(created.name);
      expect(done.phase).toBe('Aborted');
      expect(done.message).toBe(`Promotion terminated by kubernetes:${DEFAULT_BOT_USER}`);
      expect(done.steps.find((s) => s.alias === 'waitRun')).toMatchObject({ status: 'Aborted' });
      // The webhook rewrote the request with who made it, as Kargo's does.
      const raw = (await custom.getNamespacedCustomObject({
        ...kargo('promotions'),
        name: created.name,
      })) as {
        metadata: { annotations: Record<string, string> };
      };
      expect(JSON.parse(raw.metadata.annotations['kargo.akuity.io/abort']!)).toEqual({
        action: 'terminate',
        actor: `kubernetes:${DEFAULT_BOT_USER}`,
      });
    });

    it('keeps the Promotion spec immutable', async () => {
      const [p] = (
        (await custom.listNamespacedCustomObject({ ...kargo('promotions') })) as {
          items: Array<{ metadata: { name: string } }>;
        }
      ).items;
      const err = await rejection(
        custom.patchNamespacedCustomObject(
          { ...kargo('promotions'), name: p!.metadata.name, body: { spec: { stage: 'prod' } } },
          mergePatch,
        ),
      );
      expect(statusOf(err)).toMatchObject({ code: 422, reason: 'Invalid' });
    });
  });

  describe('updates', () => {
    it('applies a JSON patch (client-node default) to the status subresource, ignoring other fields there', async () => {
      const name = await extraFreight('json-patch');
      const before = (await custom.getNamespacedCustomObject({ ...kargo('freights'), name })) as {
        metadata: { resourceVersion: string; generation: number };
      };
      const patched = (await custom.patchNamespacedCustomObjectStatus({
        ...kargo('freights'),
        name,
        body: [
          { op: 'test', path: '/metadata/name', value: name },
          {
            op: 'add',
            path: '/status',
            value: { approvedFor: { dev: { approvedAt: '2026-11-27T09:00:00Z' } } },
          },
          { op: 'replace', path: '/alias', value: 'ignored-on-status' },
        ],
      })) as { alias: string; status: unknown; metadata: { resourceVersion: string; generation: number } };
      expect(patched.status).toEqual({ approvedFor: { dev: { approvedAt: '2026-11-27T09:00:00Z' } } });
      expect(patched.alias).not.toBe('ignored-on-status');
      expect(Number(patched.metadata.resourceVersion)).toBeGreaterThan(
        Number(before.metadata.resourceVersion),
      );
      expect(patched.metadata.generation).toBe(before.metadata.generation);
      const failed = await rejection(
        custom.patchNamespacedCustomObjectStatus({
          ...kargo('freights'),
          name,
          body: [{ op: 'add', path: '/status/nope/deeper', value: 1 }],
        }),
      );
      expect(statusOf(failed)).toMatchObject({ code: 422 });
    });

    it('PUT needs the current resourceVersion (409 Conflict otherwise) and bumps generation on spec changes', async () => {
      const current = (await custom.getNamespacedCustomObject({ ...kargo('warehouses'), name: NS })) as {
        metadata: { resourceVersion: string; generation: number; annotations?: Record<string, string> };
        spec: { interval: string };
      };
      const stale = { ...current, metadata: { ...current.metadata, resourceVersion: '1' } };
      const err = await rejection(
        custom.replaceNamespacedCustomObject({ ...kargo('warehouses'), name: NS, body: stale }),
      );
      expect(statusOf(err)).toMatchObject({ code: 409, reason: 'Conflict' });
      const replaced = (await custom.replaceNamespacedCustomObject({
        ...kargo('warehouses'),
        name: NS,
        body: { ...current, spec: { ...current.spec, interval: '10m0s' } },
      })) as { metadata: { generation: number } };
      expect(replaced.metadata.generation).toBe(current.metadata.generation + 1);
    });
  });

  describe('validation against the vendored CRDs', () => {
    it('answers 422 Invalid for a schema-invalid Stage, with one cause per field', async () => {
      const err = await rejection(
        custom.createNamespacedCustomObject({
          ...kargo('stages'),
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'Stage',
            metadata: { name: 'qa' },
            spec: { requestedFreight: [{ origin: { kind: 'Bucket', name: NS }, sources: { direct: true } }] },
          },
        }),
      );
      const status = statusOf(err);
      expect(status).toMatchObject({ kind: 'Status', code: 422, reason: 'Invalid' });
      expect(status.details?.causes).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'spec.requestedFreight[0].origin.kind' })]),
      );
      expect(status.message).toMatch(
        /^Stage\.kargo\.akuity\.io "qa" is invalid: .*Unsupported value: "Bucket"/,
      );
    });

    it('checks the CEL rules (a Promotion with both freight and origin) and prunes unknown fields', async () => {
      const err = await rejection(
        custom.createNamespacedCustomObject({
          ...kargo('promotions'),
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'Promotion',
            metadata: { name: 'dev.cel' },
            spec: {
              stage: 'dev',
              freight: 'x',
              origin: { kind: 'Warehouse', name: NS },
              steps: [{ uses: 'http', config: {} }],
            },
          },
        }),
      );
      expect(statusOf(err)).toMatchObject({
        code: 422,
        details: { causes: [expect.objectContaining({ field: 'spec' })] },
      });

      const res = await fetch(`${standIn.url}/apis/${GROUP}/${VERSION}/namespaces/${NS}/warehouses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${standIn.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'Warehouse',
          metadata: { name: 'extra' },
          spec: { subscriptions: [{ git: { repoURL: REPO_URL } }], bogus: true },
        }),
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('warning')).toBe('299 - "unknown field \\"spec.bogus\\""');
      const body = (await res.json()) as {
        spec: Record<string, unknown>;
        metadata: { uid: string; resourceVersion: string; generation: number };
      };
      expect(body.spec).toEqual({
        subscriptions: [{ git: { repoURL: REPO_URL } }],
        interval: '5m0s', // defaults applied
        freightCreationPolicy: 'Automatic',
      });
      expect(body.metadata).toMatchObject({ generation: 1 });
    });
  });

  describe('watch protocol', () => {
    it('answers an expired resourceVersion with a 410 ERROR event; the gateway re-lists (RESYNC)', async () => {
      standIn.store.compact();
      const watch = new Watch(standIn.kubeConfig());
      const seen: Array<{ type: string; obj: { code?: number; reason?: string } }> = [];
      const ended = new Promise<unknown>((resolve) => {
        void watch.watch(
          `/apis/${GROUP}/${VERSION}/namespaces/${NS}/promotions`,
          { resourceVersion: '1', allowWatchBookmarks: true },
          (type, obj) => seen.push({ type, obj: obj as { code?: number } }),
          resolve,
        );
      });
      await ended;
      expect(seen).toEqual([
        { type: 'ERROR', obj: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) },
      ]);

      const rec = recorder<PromotionSummary>();
      const handle = gateway.watchPromotions(rec.push, { resourceVersion: '1' });
      watches.push(handle);
      const resync = await rec.waitFor((e) => e.type === 'RESYNC', 'RESYNC after 410');
      expect(resync.type === 'RESYNC' && resync.objects.length).toBeGreaterThan(0);
    });

    it('streams changes after a resourceVersion, with bookmarks, and ends at timeoutSeconds', async () => {
      const list = (await custom.listNamespacedCustomObject({ ...kargo('freights') })) as {
        metadata: { resourceVersion: string };
      };
      const watch = new Watch(standIn.kubeConfig());
      const seen: Array<{ type: string; name?: string; rv?: string }> = [];
      const ended = new Promise<unknown>((resolve) => {
        void watch.watch(
          `/apis/${GROUP}/${VERSION}/namespaces/${NS}/freights`,
          { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 1 },
          (type, obj) => {
            const m = (obj as { metadata?: { name?: string; resourceVersion?: string } }).metadata;
            seen.push({ type, name: m?.name, rv: m?.resourceVersion });
          },
          resolve,
        );
      });
      const name = await extraFreight('watched');
      await ended; // the server closes the stream after timeoutSeconds
      expect(seen[0]).toMatchObject({ type: 'ADDED', name });
      expect(Number(seen[0]!.rv)).toBeGreaterThan(Number(list.metadata.resourceVersion));
      expect(seen.at(-1)!.type).toBe('BOOKMARK');
    });
  });

  describe('auto-promotion (ProjectConfig: dev only)', () => {
    it('promotes the newest Freight to dev by itself, and never to prod', async () => {
      const other = await KargoStandIn.start();
      const sim = await KargoSimulator.start({
        standIn: other,
        githubApiUrl: gh.url,
        secrets: { github: { token: GH_TOKEN } },
        pollIntervalMs: 20,
        freightCount: 2,
      });
      try {
        const bot = new KubernetesKargoGateway({ kubeConfig: other.kubeConfig(), project: NS });
        const newestFreight = (await bot.listFreight())[0]!;
        const dev = await waitFor(async () => {
          const stage = await bot.getStage('dev');
          return stage?.lastPromotion?.phase === 'Succeeded' ? stage : undefined;
        }, 'dev auto-promoted');
        expect(dev.currentFreight).toEqual({ [`Warehouse/${NS}`]: newestFreight.name });
        const otherApi = other.kubeConfig().makeApiClient(CustomObjectsApi);
        const promotions = (await otherApi.listNamespacedCustomObject({ ...kargo('promotions') })) as {
          items: Array<{
            spec: { stage: string; freight: string };
            metadata: { annotations?: Record<string, string> };
          }>;
        };
        expect(promotions.items.map((p) => [p.spec.stage, p.spec.freight])).toEqual([
          ['dev', newestFreight.name],
        ]);
        expect(promotions.items[0]!.metadata.annotations?.['kargo.akuity.io/create-actor']).toBeUndefined();
        // A person's Promotion to dev (auto-promotion on) says whether it resumes or holds auto-promotion.
        const older = (await bot.listFreight())[1]!;
        const hold = await bot.createPromotion(promoteInput('dev', older.name));
        const resume = await bot.createPromotion(promoteInput('dev', newestFreight.name));
        const annotationsOf = async (name: string) =>
          (
            (await otherApi.getNamespacedCustomObject({ ...kargo('promotions'), name })) as {
              metadata: { annotations: Record<string, string> };
            }
          ).metadata.annotations;
        expect(await annotationsOf(hold.name)).toMatchObject({
          'kargo.akuity.io/auto-promotion-hold': `Warehouse/${NS}`,
        });
        expect(await annotationsOf(resume.name)).toMatchObject({
          'kargo.akuity.io/auto-promotion-resume': `Warehouse/${NS}`,
        });
        const stages = (await otherApi.listNamespacedCustomObject({ ...kargo('stages') })) as {
          items: Array<{ status?: { autoPromotionEnabled?: boolean } }>;
        };
        expect(stages.items.map((st) => st.status?.autoPromotionEnabled)).toEqual([true, false]);
      } finally {
        await sim.stop();
        await other.stop();
      }
    });
  });

  describe('startKargoSandbox', () => {
    it('wires everything from the repository, and never sends a step to the internet', async () => {
      const sandbox = await startKargoSandbox({
        autoPromotion: false,
        freightCount: 1,
        secrets: { github: { token: GH_TOKEN } },
      });
      try {
        expect(sandbox.project).toBe(NS);
        const kc = new KubeConfig();
        kc.loadFromString(sandbox.kubeconfigYaml);
        expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe(NS);
        const bot = new KubernetesKargoGateway({ kubeConfig: kc, project: NS });
        const [freight] = await bot.listFreight();
        const promotion = await bot.createPromotion(promoteInput('dev', freight!.name));
        const done = await waitFor(async () => {
          const p = await bot.getPromotion(promotion.name);
          return p?.phase === 'Errored' ? p : undefined;
        }, 'Errored');
        // Kargo's wording (real controller: `step "dispatch" met error threshold of 1: error running step
        // "dispatch": error sending HTTP request: Post "…": dial tcp …: connect: connection refused`).
        expect(done.message).toMatch(
          /^step "dispatch" met error threshold of 1: error running step "dispatch": the sandbox does not call https:\/\/api\.github\.com /,
        );
        expect(done.steps.map((s) => [s.alias, s.status])).toEqual([
          ['dispatch', 'Errored'],
          ['waitRun', 'Skipped'],
        ]);
      } finally {
        await sandbox.stop();
      }
    });
  });

  describe('expressions (the subset the Stages use)', () => {
    const env = {
      vars: { ghApi: 'https://api.github.com', gitRef: 'main', deployProd: 'no', n: '42' },
      ctx: { promotion: 'dev.x.abc' },
      outputs: { dispatch: { runId: 7001 } },
      secret: () => ({ token: 't0k' }),
      commitFrom: () => ({ ID: 'abc123' }),
    };

    it('templates: concatenation, quote() keeps JSON text as a string, typed single values', () => {
      expect(
        evaluateTemplate('${{ vars.ghApi }}/repos/x/actions/runs/${{ outputs.dispatch.runId }}', env),
      ).toBe('https://api.github.com/repos/x/actions/runs/7001');
      expect(evaluateTemplate("Bearer ${{ secret('github').token }}", env)).toBe('Bearer t0k');
      expect(
        evaluateTemplate(
          '${{ quote({"ref": vars.gitRef, "inputs": {"sha": commitFrom(vars.repoURL).ID} }) }}\n',
          env,
        ),
      ).toBe('{"inputs":{"sha":"abc123"},"ref":"main"}\n');
      expect(evaluateTemplate('${{ vars.n }}', env)).toBe(42);
      expect(evaluateTemplate('${{ quote(vars.n) }}', env)).toBe('42');
      expect(evaluateTemplate('${{ true }}', env)).toBe(true);
      expect(evaluateTemplate('2022-11-28', env)).toBe('2022-11-28');
      expect(evaluateConfig({ a: ['${{ ctx.promotion }}'], b: 3 }, env)).toEqual({ a: ['dev.x.abc'], b: 3 });
    });

    it('expr-lang: comparisons, && || with short-circuit, parentheses, nil-safe access', () => {
      const response = { status: 200, body: { status: 'completed', conclusion: 'failure' } };
      const success =
        "response.status == 200 && response.body.status == 'completed' && response.body.conclusion == 'success'";
      const failure =
        "response.status == 401 || response.status == 404 || (response.status == 200 && response.body.status == 'completed' && response.body.conclusion != 'success')";
      expect(evaluateExpr(success, { response })).toBe(false);
      expect(evaluateExpr(failure, { response })).toBe(true);
      expect(evaluateExpr(failure, { response: { status: 404, body: null } })).toBe(true); // short-circuit
      expect(evaluateExpr('response.body?.message', { response: { body: null } })).toBeNull();
      expect(() => evaluateExpr('response.body.message', { response: { body: null } })).toThrow(ExprError);
      expect(evaluateExpr('1 + 2 * 3 == 7 and not false', {})).toBe(true);
      expect(() => evaluateExpr('response | len', { response })).toThrow(ExprError);
    });
  });
});
