// §d A burst of 200 `/promote dev <freight>` (each its own Freight, so none joins another) through the web
// process into ONE worker process, against a real kube-apiserver with Kargo's CRDs and the Slack stand-in
// with Slack's default limits on (1 message per second per channel, chat.update 50 per minute). The bot is
// configured as shipped (PROMOTION_CONCURRENCY, INTERACTIVE_CONCURRENCY, SLACK_CHANNEL_RATE_PER_SECOND at their
// defaults). Measured in the same run:
//   - Promotions created per minute (an admin watch on Promotions records when each appears);
//   - during the burst, `/freight` and an Approve click (a well-formed button of a card that is not waiting:
//     the worker checks it against Redis, records the refusal and answers) every 1.5 s: the interactive lane
//     must not wait behind the promotions lane;
//   - separately, how long Slack takes to show every card (and to tell every requester) at Slack's pace.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Watch } from '@kubernetes/client-node';
import { SlackStandIn } from '../../src/sandbox/slack-standin.js';
import {
  botEnv,
  CHANNELS,
  nonLoopbackConnections,
  spawnWeb,
  spawnWorker,
  type Child,
} from '../lib/children.js';
import { createFreight, ensureKargoProject, countOf, PROJECT_NAMESPACE } from '../lib/kube.js';
import { openLoop, signedCommand } from '../lib/load.js';
import { Prober, type ProbeResult } from '../lib/probes.js';
import { table, type BenchContext, type SectionOutput } from '../lib/section.js';
import { log, metricValue, mib, msSince, round, sleep, summarize, until } from '../lib/util.js';

const BURST = 200;

const keyOf = (m: { metadata?: unknown }): string =>
  String((m.metadata as { event_payload?: { key?: string } } | undefined)?.event_payload?.key ?? '');

export async function burstSection(ctx: BenchContext): Promise<SectionOutput> {
  const cardWaitMs = (ctx.options.cardWaitSeconds ?? (ctx.quick ? 60 : 330)) * 1000;
  const kube = await ctx.kube();
  await ensureKargoProject(kube);
  const prefix = `${ctx.redis.prefix}-burst`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-burst-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kube.botKubeconfigYaml(), { mode: 0o600 });
  // Slack's documented limits stay on (the stand-in's defaults).
  const slack = await SlackStandIn.start({});
  const children: Child[] = [];
  let abortWatch: (() => void) | undefined;
  let prober: Prober | undefined;
  const cleanup = async (): Promise<void> => {
    abortWatch?.();
    prober?.close();
    await Promise.all(children.map((c) => c.stop()));
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const forget = ctx.onInterrupt(cleanup);
  try {
    const seed = `burst${Date.now().toString(36)}`;
    const freight = await createFreight(kube, {
      seed,
      from: 0,
      count: BURST,
      concurrency: 16,
      discoveredFrom: Date.now() - 3600_000,
    });
    log(`burst: ${BURST} Freight created in ${freight.ms} ms`);
    const env = {
      ...botEnv({ redisUrl: ctx.redis.url, prefix, slackApiUrl: slack.apiUrl, slackToken: slack.token }),
      // The probe's Approve clicks pass the access check and reach the approval state in Redis.
      APPROVE_PROD_USERS: Array.from({ length: 40 }, (_, i) => `U0PRA${String(i + 1).padStart(5, '0')}`).join(
        ',',
      ),
    };
    const web = await spawnWeb(env);
    children.push(web);
    const worker = await spawnWorker({ ...env, KUBECONFIG: kubeconfig });
    children.push(worker);
    const t0 = process.hrtime.bigint();
    const wallT0 = Date.now();
    prober = new Prober(slack, () => web.port, t0);
    const p = prober;
    // The worker's cache has synced when /freight shows the newest Freight.
    const newest = freight.aliases[freight.aliases.length - 1]!;
    const synced = await until(
      async () => {
        const r = await p.probe('freight', { timeoutMs: 10_000, expect: new RegExp(newest) });
        return r.matched ? r : undefined;
      },
      60_000,
      500,
    );
    if (!synced) throw new Error('the worker never answered /freight');
    const idleProbes: ProbeResult[] = [];
    for (let i = 0; i < 3; i += 1) {
      idleProbes.push(await p.probe('freight'), await p.probe('approve'));
    }
    log(
      `burst: worker up; idle /freight ${idleProbes
        .filter((r) => r.kind === 'freight')
        .map((r) => r.answerMs)
        .join(', ')} ms`,
    );
    // Warm-up (a running web is warm): 100 `/promote dev` of Freight that does not exist take the whole path
    // — ack, enqueue, worker, answer — without creating anything.
    const warmUsers = Array.from({ length: 100 }, (_, i) => `U0WU${String(i).padStart(6, '0')}`);
    await openLoop({
      port: web.port,
      rate: 100,
      seconds: 1,
      make: (i) =>
        signedCommand({
          command: '/promote',
          text: `dev no-such-freight-${i}`,
          userId: warmUsers[i]!,
          responseUrl: slack.createResponseUrl({ channel: CHANNELS.deployments, user: warmUsers[i]! }),
        }),
    });
    await until(() => warmUsers.every((u) => slack.ephemeral({ user: u }).length > 0), 60_000, 200);
    await sleep(1000);
    const workerIdle = { rss: worker.rssBytes(), gc: await worker.memoryAfterGc() };
    const kubeVerbs = ['list', 'get', 'create', 'patch'] as const;
    const kubeByVerb = async (): Promise<Record<string, number>> => {
      const text = await worker.metrics();
      return Object.fromEntries(
        kubeVerbs.map((verb) => [
          verb,
          metricValue(text, 'chatops_kubernetes_requests_total', { verb }) || 0,
        ]),
      );
    };
    const kubeRequestsBefore = metricValue(await worker.metrics(), 'chatops_kubernetes_requests_total');
    const kubeByVerbBefore = await kubeByVerb();
    const slackCallsBefore = slack.calls().length;

    // Every Promotion as it appears (admin watch).
    const created = new Map<string, number>();
    const watch = new Watch(kube.adminKubeConfig);
    const controller = await watch.watch(
      `/apis/kargo.akuity.io/v1alpha1/namespaces/${PROJECT_NAMESPACE}/promotions`,
      {},
      (type: string, obj: { metadata?: { name?: string } }) => {
        const name = obj.metadata?.name ?? '';
        if (type === 'ADDED' && !created.has(name)) created.set(name, msSince(t0));
      },
      () => undefined,
    );
    abortWatch = () => controller.abort();

    // The burst: 200 requesters, each their own Freight and response_url, within half a second.
    const users = freight.aliases.map((_, i) => `U0RQ${String(i).padStart(6, '0')}`);
    const burstStart = msSince(t0);
    const sending = openLoop({
      port: web.port,
      rate: 400,
      seconds: BURST / 400,
      make: (i) =>
        signedCommand({
          command: '/promote',
          text: `dev ${freight.aliases[i]}`,
          userId: users[i]!,
          responseUrl: slack.createResponseUrl({ channel: CHANNELS.deployments, user: users[i]! }),
        }),
    });
    // Interactive probes every 1.5 s while promotions are being created.
    const probes: Array<Promise<ProbeResult>> = [];
    const probing = (async () => {
      for (let i = 0; i < 40 && created.size < BURST; i += 1) {
        probes.push(p.probe('freight'), p.probe('approve'));
        await sleep(1500);
      }
    })();
    const acks = await sending;
    const allCreated = await until(() => created.size >= BURST, 240_000, 100);
    await probing;
    const probeResults = await Promise.all(probes);
    const createdTimes = [...created.values()].sort((a, b) => a - b);
    const lastCreated = createdTimes[createdTimes.length - 1] ?? NaN;
    const firstCreated = createdTimes[0] ?? NaN;
    const kubeRequests =
      metricValue(await worker.metrics(), 'chatops_kubernetes_requests_total') - kubeRequestsBefore;
    const kubeByVerbAfter = await kubeByVerb();
    const kubeRequestsByVerb = Object.fromEntries(
      kubeVerbs
        .map((verb) => [verb, (kubeByVerbAfter[verb] ?? 0) - (kubeByVerbBefore[verb] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    );
    const perMinute = round((created.size / ((lastCreated - burstStart) / 1000)) * 60, 0);
    log(
      `burst: ${created.size}/${BURST} Promotions, the last ${round((lastCreated - burstStart) / 1000, 1)} s after the burst began (${perMinute}/min); ` +
        `${kubeRequests} Kubernetes requests`,
    );
    const workerAfterCreate = { rss: worker.rssBytes(), gc: await worker.memoryAfterGc() };

    // Slack at Slack's pace: every card posted, every requester told.
    const cardMessages = () =>
      slack.messages(CHANNELS.deployments).filter((m) => keyOf(m).startsWith('card-'));
    const cardCount = (): number => cardMessages().length;
    const repliedCount = (): number =>
      users.filter((u) => slack.ephemeral({ user: u }).some((e) => /created/i.test(e.text))).length;
    const cardDeadline = Date.now() + cardWaitMs;
    while (Date.now() < cardDeadline) {
      if (cardCount() >= BURST && repliedCount() >= BURST) break;
      await sleep(250);
    }
    const cards = cardCount();
    // When each card was posted: its Slack ts is the stand-in's clock (wall time) at posting.
    const cardTimes = cardMessages()
      .map((m) => Number(m.ts) * 1000 - wallT0)
      .sort((a, b) => a - b);
    const replied = repliedCount();
    const calls = slack.calls().slice(slackCallsBefore);
    // By method and channel: one post per promotion in #infra-deployments (issue 13 §4) is checkable here.
    const channelName: Record<string, string> = {
      [CHANNELS.deployments]: '#infra-deployments',
      [CHANNELS.alerts]: '#infra-alerts',
      [CHANNELS.audit]: '#infra-audit',
    };
    const byMethod: Record<string, number> = {};
    let rateLimited = 0;
    for (const c of calls) {
      const channel =
        typeof c.args.channel === 'string' ? (channelName[c.args.channel] ?? c.args.channel) : '';
      const thread =
        typeof c.args.thread_ts === 'string' && c.method === 'chat.postMessage' ? ' (thread)' : '';
      const key = `${c.method}${channel ? ` ${channel}` : ''}${thread}`;
      byMethod[key] = (byMethod[key] ?? 0) + 1;
      if (c.status === 429) rateLimited += 1;
    }
    const lastCard = cardTimes[cardTimes.length - 1];
    const cardSpanS = lastCard === undefined ? NaN : round((lastCard - burstStart) / 1000, 0);
    const cardRate =
      cardTimes.length > 1
        ? round(((cardTimes.length - 1) / ((lastCard! - cardTimes[0]!) / 1000)) * 60, 1)
        : NaN;
    const projected = cards >= BURST ? cardSpanS : round(cardSpanS + (BURST - cards) / (cardRate / 60), 0);
    const workerEnd = {
      rss: worker.rssBytes(),
      peak: worker.peakRssBytes(),
      gc: await worker.memoryAfterGc(),
    };
    const offLoopback = await nonLoopbackConnections(children.map((c) => c.pid));
    const promotionsInApi = await countOf(kube, 'promotions');

    const during = probeResults.filter((r) => r.sentAtMs >= burstStart && r.sentAtMs <= lastCreated);
    const sumOf = (list: ProbeResult[], kind: string) =>
      summarize(list.filter((r) => r.kind === kind && r.answerMs !== undefined).map((r) => r.answerMs!));
    const idleF = sumOf(idleProbes, 'freight');
    const idleA = sumOf(idleProbes, 'approve');
    const busyF = sumOf(during, 'freight');
    const busyA = sumOf(during, 'approve');
    const unanswered = probeResults.filter((r) => r.answerMs === undefined).length;
    log(
      `burst: /freight during the burst p50 ${busyF.p50} ms (idle ${idleF.p50}); Approve ${busyA.p50} ms (idle ${idleA.p50}); cards ${cards}/${BURST}`,
    );
    const data = {
      burst: BURST,
      freightCreateMs: freight.ms,
      acks: acks,
      promotionsCreated: created.size,
      promotionsInApi,
      allCreated: allCreated === true,
      firstPromotionAfterS: round((firstCreated - burstStart) / 1000, 2),
      lastPromotionAfterS: round((lastCreated - burstStart) / 1000, 2),
      promotionsPerMinute: perMinute,
      kubernetesRequests: kubeRequests,
      kubernetesRequestsPerPromotion: round(kubeRequests / Math.max(1, created.size), 2),
      kubernetesRequestsByVerb: kubeRequestsByVerb,
      probes: {
        idle: { freight: idleF, approve: idleA },
        duringBurst: { freight: busyF, approve: busyA },
        unanswered,
        all: [...idleProbes, ...probeResults],
      },
      slack: {
        cardsPosted: cards,
        requestersTold: replied,
        lastCardAfterS: cardSpanS,
        cardsPerMinute: cardRate,
        projectedAllCardsAfterS: projected,
        callsByMethod: byMethod,
        rateLimited429: rateLimited,
        waitedS: round(cardWaitMs / 1000, 0),
      },
      worker: {
        idleRssMiB: mib(workerIdle.rss),
        idleHeapAfterGcMiB: workerIdle.gc ? mib(workerIdle.gc.heapUsed) : null,
        afterPromotionsRssMiB: mib(workerAfterCreate.rss),
        afterPromotionsHeapAfterGcMiB: workerAfterCreate.gc ? mib(workerAfterCreate.gc.heapUsed) : null,
        endRssMiB: mib(workerEnd.rss),
        peakRssMiB: mib(workerEnd.peak),
        endHeapAfterGcMiB: workerEnd.gc ? mib(workerEnd.gc.heapUsed) : null,
      },
      webRssMiB: mib(web.rssBytes()),
      nonLoopbackConnections: offLoopback,
      loadAverage: round(os.loadavg()[0] ?? NaN),
    };
    const markdown = [
      `${BURST} \`/promote dev <freight>\` from ${BURST} people, each their own Freight, sent at 400/s (the burst takes 0.5 s), ` +
        `into one web and ONE worker process (defaults: PROMOTION_CONCURRENCY 4, INTERACTIVE_CONCURRENCY 8, ` +
        `SLACK_CHANNEL_RATE_PER_SECOND 1) on a real kube-apiserver with Kargo's CRDs (no Kargo controller: Promotions stay pending), ` +
        `Slack stand-in with Slack's limits on; web and worker warmed up first with 100 \`/promote\` of unknown Freight. ` +
        `Acks of the burst: p50 ${acks.latencyMs.p50} ms, p99 ${acks.latencyMs.p99} ms, ${acks.non2xx + acks.errors} non-2xx.`,
      '',
      table(
        ['measure', 'value'],
        [
          [
            'Promotions created (admin watch) / in the API at the end',
            `${created.size} / ${promotionsInApi}`,
          ],
          [
            'first / last Promotion created after the burst began',
            `${data.firstPromotionAfterS} s / ${data.lastPromotionAfterS} s`,
          ],
          ['**Promotions per minute, one worker**', `**${perMinute}**`],
          [
            'Kubernetes API requests by the worker during creation (per Promotion)',
            `${kubeRequests} (${data.kubernetesRequestsPerPromotion}): ${Object.entries(kubeRequestsByVerb)
              .map(([v, n]) => `${v} ${n}`)
              .join(', ')}`,
          ],
          [
            '`/freight` answered: idle p50 / max → during the burst p50 / max',
            `${idleF.p50} / ${idleF.max} ms → ${busyF.p50} / ${busyF.max} ms (n=${busyF.n})`,
          ],
          [
            'Approve click answered: idle p50 / max → during the burst p50 / max',
            `${idleA.p50} / ${idleA.max} ms → ${busyA.p50} / ${busyA.max} ms (n=${busyA.n})`,
          ],
          ['probes without an answer within 120 s', unanswered],
          [
            'cards posted in #infra-deployments',
            `${cards}/${BURST}, the last ${cardSpanS} s after the burst began (${cardRate} per minute)` +
              (cards < BURST
                ? `; waited ${data.slack.waitedS} s, all ${BURST} projected after ≈ ${projected} s`
                : ''),
          ],
          ['requesters told "created" (sent once their card is posted)', `${replied}/${BURST}`],
          [
            'Slack calls by method and channel during the section (warm-up excluded)',
            Object.entries(byMethod)
              .sort((a, b) => b[1] - a[1])
              .map(([m, n]) => `${m} ${n}`)
              .join(', '),
          ],
          ['429 answers from the stand-in (the bot paces itself)', rateLimited],
          [
            'worker RSS idle → after the Promotions → end (peak); heap after GC',
            `${data.worker.idleRssMiB} → ${data.worker.afterPromotionsRssMiB} → ${data.worker.endRssMiB} MiB (${data.worker.peakRssMiB}); ` +
              `${data.worker.idleHeapAfterGcMiB} → ${data.worker.afterPromotionsHeapAfterGcMiB} → ${data.worker.endHeapAfterGcMiB} MiB`,
          ],
          ['connections of the bot processes to anything but loopback', offLoopback.length],
        ],
      ),
      '',
      'Creating a Promotion is separate from showing it: the worker creates them at the rate above; Slack allows about one ' +
        'message per second per channel, so the cards (and the "created" replies, which wait for the card) follow at that pace.',
    ].join('\n');
    return {
      headline: [
        {
          section: 'd',
          what: `Promotions/min through one worker (burst of ${BURST} /promote)`,
          figure: `${perMinute}/min (all ${created.size} created ${data.lastPromotionAfterS} s after the burst began; ${data.kubernetesRequestsPerPromotion} Kubernetes requests each)`,
        },
        {
          section: 'd',
          what: '/freight and Approve answered during that burst (idle → burst, p50 / max)',
          figure: `/freight ${idleF.p50} → ${busyF.p50} / ${busyF.max} ms; Approve ${idleA.p50} → ${busyA.p50} / ${busyA.max} ms; ${unanswered} unanswered`,
        },
        {
          section: 'd',
          what: 'Slack cards catching up at 1 msg/s per channel',
          figure:
            cards >= BURST
              ? `all ${BURST} cards posted ${cardSpanS} s after the burst began (${cardRate}/min); ${rateLimited}× 429`
              : `${cards}/${BURST} posted after ${cardSpanS} s (${cardRate}/min); all projected after ≈ ${projected} s; ${rateLimited}× 429`,
        },
      ],
      markdown,
      data,
    };
  } finally {
    forget();
    await cleanup();
  }
}
