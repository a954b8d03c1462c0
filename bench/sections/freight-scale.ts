// §e `/freight` with 100, 1,000 and 10,000 Freight in the API server (--quick: up to 1,000). The worker reads
// Kargo through an informer-style cache (src/kargo/cache.ts: LIST once, then WATCH), so once it has synced a
// `/freight` should cost no Kubernetes request at any size; the worker counts its requests in
// chatops_kubernetes_requests_total on its metrics port. Per size:
//   warm   the running worker (it watched every Freight arrive): /freight answered (p50 / max of several, one
//          at a time) and Kubernetes requests per /freight;
//   cold   a fresh worker process at that size: ready after, its first /freight answered after (it may still be
//          listing), Kubernetes requests from start to that answer; it is the warm worker of the next size.
// Freight are created with bounded concurrency; a last, newest Freight marks when the worker's cache has
// seen them all (a watch delivers in order).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SlackStandIn } from '../../src/sandbox/slack-standin.js';
import { botEnv, spawnWeb, spawnWorker, type Child } from '../lib/children.js';
import { countOf, createFreight, deleteAllOf, ensureKargoProject } from '../lib/kube.js';
import { Prober, type ProbeResult } from '../lib/probes.js';
import { table, type BenchContext, type SectionOutput } from '../lib/section.js';
import { log, metricValue, mib, round, summarize, until, type LatencySummary } from '../lib/util.js';

interface SizeRow {
  freight: number;
  createMs: number;
  createPerSecond: number;
  syncedAfterMs: number;
  warm: {
    latencyMs: LatencySummary;
    kubeRequestsPerFreight: number;
    rssMiB: number;
    heapAfterGcMiB: number | null;
  };
  cold: {
    readyAfterMs: number;
    firstAnswerMs: number | null;
    firstAnswerComplete: boolean;
    /** Requests made by the time /healthz answered (its start-up LISTs, under way). */
    kubeRequestsAtReady: number;
    kubeRequestsUntilAnswer: number;
    byVerb: Record<string, number>;
    rssMiB: number;
  };
}

export async function freightScaleSection(ctx: BenchContext): Promise<SectionOutput> {
  const sizes = ctx.quick ? [100, 1000] : [100, 1000, 10_000];
  const asks = ctx.quick ? 5 : 10;
  const kube = await ctx.kube();
  await ensureKargoProject(kube);
  // A clean project: whatever an earlier section created goes first.
  await deleteAllOf(kube, 'promotions');
  await deleteAllOf(kube, 'freights');
  await until(async () => (await countOf(kube, 'freights')) === 0, 60_000, 500);
  const prefix = `${ctx.redis.prefix}-freight`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-freight-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kube.botKubeconfigYaml(), { mode: 0o600 });
  const slack = await SlackStandIn.start({ rateLimits: false });
  const env = botEnv({ redisUrl: ctx.redis.url, prefix, slackApiUrl: slack.apiUrl, slackToken: slack.token });
  const workerEnv = { ...env, KUBECONFIG: kubeconfig };
  let web: Child | undefined;
  let worker: Child | undefined;
  let prober: Prober | undefined;
  const cleanup = async (): Promise<void> => {
    prober?.close();
    await worker?.stop();
    await web?.stop();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const forget = ctx.onInterrupt(cleanup);
  const requests = async (w: Child): Promise<{ total: number; byVerb: Record<string, number> }> => {
    const text = await w.metrics();
    const byVerb: Record<string, number> = {};
    for (const verb of ['list', 'get', 'create', 'patch']) {
      const v = metricValue(text, 'chatops_kubernetes_requests_total', { verb });
      if (Number.isFinite(v)) byVerb[verb] = v;
    }
    return { total: Object.values(byVerb).reduce((a, b) => a + b, 0), byVerb };
  };
  try {
    web = await spawnWeb(env);
    const t0 = process.hrtime.bigint();
    prober = new Prober(slack, () => web!.port, t0);
    const p = prober;
    worker = await spawnWorker(workerEnv);
    const seed = `scale${Date.now().toString(36)}`;
    const discoveredFrom = Date.now() - 30 * 24 * 3600_000;
    let have = 0;
    const rows: SizeRow[] = [];
    for (const size of sizes) {
      // Bulk, then one newest Freight alone: once /freight shows it, the cache holds every earlier one.
      const bulk = await createFreight(kube, {
        seed,
        from: have,
        count: size - have - 1,
        concurrency: 32,
        discoveredFrom,
      });
      const last = await createFreight(kube, {
        seed,
        from: size - 1,
        count: 1,
        concurrency: 1,
        discoveredFrom,
      });
      const createMs = bulk.ms + last.ms;
      have = size;
      const sentinel = new RegExp(`\\b${last.aliases[0]}\\b`);
      const syncStart = Date.now();
      const synced = await until(
        async () => {
          const r = await p.probe('freight', { timeoutMs: 30_000, expect: sentinel });
          return r.matched ? r : undefined;
        },
        300_000,
        200,
      );
      if (!synced) throw new Error(`the worker never showed the newest of ${size} Freight`);
      const syncedAfterMs = Date.now() - syncStart;
      log(
        `freight: ${size} Freight created in ${round(createMs / 1000, 1)} s; the running worker had them all ${syncedAfterMs} ms later`,
      );

      // Warm: the worker that watched them arrive.
      const w = worker;
      const before = await requests(w);
      const warm: ProbeResult[] = [];
      for (let i = 0; i < asks; i += 1) warm.push(await p.probe('freight', { expect: sentinel }));
      const after = await requests(w);
      const gc = await w.memoryAfterGc();
      const warmRow = {
        latencyMs: summarize(warm.filter((r) => r.answerMs !== undefined).map((r) => r.answerMs!)),
        kubeRequestsPerFreight: round((after.total - before.total) / asks, 2),
        rssMiB: mib(w.rssBytes()),
        heapAfterGcMiB: gc ? mib(gc.heapUsed) : null,
      };

      // Cold: a fresh worker at this size.
      await w.stop();
      const coldStart = process.hrtime.bigint();
      worker = await spawnWorker(workerEnv);
      const readyAfterMs = Number(process.hrtime.bigint() - coldStart) / 1e6;
      const atReady = await requests(worker);
      const first = await p.probe('freight', { timeoutMs: 120_000, expect: sentinel });
      const coldRequests = await requests(worker);
      const coldRow = {
        readyAfterMs: round(readyAfterMs, 0),
        firstAnswerMs: first.answerMs ?? null,
        firstAnswerComplete: first.matched === true,
        kubeRequestsAtReady: atReady.total,
        kubeRequestsUntilAnswer: coldRequests.total,
        byVerb: coldRequests.byVerb,
        rssMiB: mib(worker.rssBytes()),
      };
      // Let the fresh worker finish its LISTs before it becomes the warm one.
      await until(async () => (await p.probe('freight', { expect: sentinel })).matched, 120_000, 200);
      rows.push({
        freight: size,
        createMs,
        createPerSecond: round(size / Math.max(0.001, createMs / 1000), 0),
        syncedAfterMs,
        warm: warmRow,
        cold: coldRow,
      });
      log(
        `freight: ${size}: warm /freight p50 ${warmRow.latencyMs.p50} ms, ${warmRow.kubeRequestsPerFreight} requests each; ` +
          `cold worker first answer ${coldRow.firstAnswerMs} ms, ${coldRow.kubeRequestsUntilAnswer} requests`,
      );
    }
    const markdown = [
      `Freight created through the admin client (32 at a time), then /freight asked ${asks} times one after another by the ` +
        'running worker (warm), then the worker replaced by a fresh process (cold). Latency: from sending /freight to the ' +
        "worker's answer arriving at the Slack stand-in. Kubernetes requests: the worker's chatops_kubernetes_requests_total " +
        '(LISTs are paged: each page is a request). A cold worker is asked right after its /healthz answers; until its ' +
        'cache has synced, a read falls back to a direct LIST (src/kargo/cache.ts).',
      '',
      table(
        [
          'Freight',
          'created in',
          'warm /freight p50 / max',
          'warm requests per /freight',
          'warm worker RSS (heap after GC)',
          'cold: worker ready after',
          'cold: first /freight answered after',
          'cold: requests at ready → until that answer',
        ],
        rows.map((r) => [
          r.freight.toLocaleString('en-US'),
          `${round(r.createMs / 1000, 1)} s (${r.createPerSecond}/s)`,
          `${r.warm.latencyMs.p50} / ${r.warm.latencyMs.max} ms`,
          r.warm.kubeRequestsPerFreight,
          `${r.warm.rssMiB} MiB (${r.warm.heapAfterGcMiB ?? '–'} MiB)`,
          `${r.cold.readyAfterMs} ms`,
          r.cold.firstAnswerMs === null
            ? 'no answer'
            : `${r.cold.firstAnswerMs} ms${r.cold.firstAnswerComplete ? '' : ' (not yet showing the newest)'}`,
          `${r.cold.kubeRequestsAtReady} → ${r.cold.kubeRequestsUntilAnswer} (${Object.entries(r.cold.byVerb)
            .filter(([, n]) => n > 0)
            .map(([v, n]) => `${v} ${n}`)
            .join(', ')})`,
        ]),
      ),
    ].join('\n');
    return {
      headline: rows.map((r) => ({
        section: 'e',
        what: `/freight with ${r.freight.toLocaleString('en-US')} Freight: latency, Kubernetes requests per /freight`,
        figure: `warm ${r.warm.latencyMs.p50} ms p50, ${r.warm.kubeRequestsPerFreight} requests; cold worker ${r.cold.firstAnswerMs ?? '–'} ms, ${r.cold.kubeRequestsAtReady} → ${r.cold.kubeRequestsUntilAnswer} Kubernetes requests from ready to that answer (start-up LIST pages, plus a direct read if the cache had not synced); worker RSS ${r.warm.rssMiB} MiB`,
      })),
      markdown,
      data: { sizes, asks, rows },
    };
  } finally {
    forget();
    await cleanup();
  }
}
