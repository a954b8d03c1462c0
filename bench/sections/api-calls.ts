// §f GitHub and Slack API calls per promotion, end to end, with webhooks: the sandbox stack
// (src/sandbox/stack.ts: the bot's web and worker as configured in production, the GitHub stand-in running
// this repository's workflow and sending signed webhooks, the Slack stand-in with Slack's limits, the Kargo
// simulator running the Stages' http steps against the GitHub stand-in) plays, through the console's own API:
//   /freight → /promote dev (to success) → /promote prod (gates → bob approves → apply → success).
// Between steps the benchmark waits until GitHub and the cards are quiet, so every call lands in the window
// of the promotion that caused it (the #infra-audit mirror, paced at 1 message per second, is reported on its
// own). GitHub requests are split by who made them: the bot (its App installation token or App JWT) or Kargo's
// http steps (the PAT of Kargo's Secret). Counts depend on the stand-in's clock (15× real time, the sandbox
// default): polling fallbacks tick in real time.
//
// The same run weighs what the bot keeps in Redis afterwards (section redis-sizing, bench/redis-sizing.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { APPROVE_ACTION_ID } from '../../src/domain/approval.js';
import { ConsoleClient, channelOf, findCard, hasButton, shown } from '../../src/sandbox/headless.js';
import {
  SANDBOX_CHANNELS,
  SANDBOX_USERS,
  loadScenario,
  startSandbox,
  type Sandbox,
} from '../../src/sandbox/stack.js';
import { weighRedis, type RedisSizing } from '../redis-sizing.js';
import { table, type BenchContext, type SectionOutput } from '../lib/section.js';
import { log, round, sleep, until } from '../lib/util.js';

interface Mark {
  github: number;
  deliveries: number;
  slack: number;
  at: number;
}

interface Window {
  name: string;
  seconds: number;
  github: { bot: Record<string, number>; kargo: Record<string, number>; other: Record<string, number> };
  webhooks: Record<string, number>;
  slack: Record<string, number>;
}

interface StoryOutcome {
  windows: Window[];
  ok: boolean;
  problem?: string;
  sizing?: RedisSizing;
  sizingError?: string;
  violations: number;
}

const CHANNEL_NAME: Record<string, string> = Object.fromEntries(
  Object.values(SANDBOX_CHANNELS).map((c) => [c.id, `#${c.name}`]),
);

const count = (m: Record<string, number>, key: string): void => {
  m[key] = (m[key] ?? 0) + 1;
};
const total = (m: Record<string, number>): number => Object.values(m).reduce((a, b) => a + b, 0);
const auditOnly = (m: Record<string, number>): number =>
  Object.entries(m)
    .filter(([k]) => k.includes('#infra-audit'))
    .reduce((a, [, n]) => a + n, 0);

function windowOf(sandbox: Sandbox, name: string, from: Mark, to: Mark): Window {
  const github = { bot: {}, kargo: {}, other: {} } as Window['github'];
  for (const r of sandbox.github.requests().slice(from.github, to.github)) {
    const who =
      r.auth === 'installation' || r.auth === 'app-jwt' ? 'bot' : r.auth === 'token' ? 'kargo' : 'other';
    count(github[who], `${r.method} ${r.operationId ?? r.path}${r.status >= 400 ? ` → ${r.status}` : ''}`);
  }
  const webhooks: Record<string, number> = {};
  for (const d of sandbox.github.deliveries().slice(from.deliveries, to.deliveries))
    count(webhooks, `${d.event}.${d.action}`);
  const slack: Record<string, number> = {};
  for (const c of sandbox.slack.calls().slice(from.slack, to.slack)) {
    const channel =
      typeof c.args.channel === 'string' ? (CHANNEL_NAME[c.args.channel] ?? c.args.channel) : '';
    const thread = c.method === 'chat.postMessage' && typeof c.args.thread_ts === 'string' ? ' (thread)' : '';
    count(slack, `${c.method}${channel ? ` ${channel}` : ''}${thread}${c.status === 429 ? ' → 429' : ''}`);
  }
  return { name, seconds: round((to.at - from.at) / 1000, 1), github, webhooks, slack };
}

let shared: Promise<StoryOutcome> | undefined;

/** Plays the story once per benchmark run (both sections read it). */
function story(ctx: BenchContext): Promise<StoryOutcome> {
  return (shared ??= playBenchStory(ctx));
}

async function playBenchStory(ctx: BenchContext): Promise<StoryOutcome> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-sandbox-'));
  let sandbox: Sandbox | undefined;
  const cleanup = async (): Promise<void> => {
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  const forget = ctx.onInterrupt(cleanup);
  try {
    sandbox = await startSandbox({
      scenario: loadScenario('pass'),
      gates: 'scenario',
      kargo: 'simulator',
      redisUrl: ctx.redis.url,
      logLevel: 'warn',
      logFile: path.join(dir, 'sandbox.log'),
    });
    const s = sandbox;
    const consoleApi = new ConsoleClient(s.consoleUrl);
    const { requester, approver } = SANDBOX_USERS;
    const mark = (): Mark => ({
      github: s.github.requests().length,
      deliveries: s.github.deliveries().length,
      slack: s.slack.calls().length,
      at: Date.now(),
    });
    const nonAuditSlack = (): number =>
      s.slack.calls().filter((c) => c.args.channel !== SANDBOX_CHANNELS.audit.id).length;
    /** Until nothing but the audit mirror has happened for `quietMs` (at most `maxMs`). */
    const quiet = async (quietMs: number, maxMs: number, includeAudit = false): Promise<void> => {
      const deadline = Date.now() + maxMs;
      let last = '';
      let since = Date.now();
      while (Date.now() < deadline) {
        const m = mark();
        const now = `${m.github}/${m.deliveries}/${includeAudit ? m.slack : nonAuditSlack()}`;
        if (now !== last) {
          last = now;
          since = Date.now();
        } else if (Date.now() - since >= quietMs) return;
        await sleep(250);
      }
    };
    const windows: Window[] = [];
    const requesterEphemerals = () => s.slack.ephemeral({ user: requester.id });
    /** The card ends succeeded and the Terraform outputs are in its thread. */
    const cardEnds = async (env: 'dev' | 'prod', after: string): Promise<boolean> =>
      Boolean(
        await until(
          async () => {
            const card = findCard(await consoleApi.state(requester.id), env, after);
            if (!card?.text.toLowerCase().includes(`promotion to ${env} succeeded`)) return false;
            return card.replies.some((r) => /instance_id|i-0[0-9a-f]+/.test(shown(r)));
          },
          180_000,
          500,
        ),
      );
    const lastTs = async (): Promise<string> =>
      channelOf(await consoleApi.state(requester.id), 'deployments').messages.reduce(
        (max, m) => (Number(m.ts) > Number(max) ? m.ts : max),
        '0',
      );

    // Start-up: the worker's first calls (user groups, ...).
    const m0 = { github: 0, deliveries: 0, slack: 0, at: Date.now() };
    await quiet(3000, 30_000);
    const m1 = mark();
    windows.push(windowOf(s, 'start-up', m0, m1));

    // /freight
    let seen = requesterEphemerals().length;
    await consoleApi.command(requester.id, '/freight');
    await until(
      () =>
        requesterEphemerals()
          .slice(seen)
          .some((e) => /Freight in /.test(shown(e))),
      60_000,
      200,
    );
    await quiet(2000, 30_000);
    const m2 = mark();
    windows.push(windowOf(s, '/freight', m1, m2));

    // dev
    let after = await lastTs();
    seen = requesterEphemerals().length;
    await consoleApi.command(requester.id, '/promote dev');
    const created = await until(
      () =>
        requesterEphemerals()
          .slice(seen)
          .find((e) => /Kargo promotion .* created/.test(e.text)),
      120_000,
      200,
    );
    const alias = /created: (\S+) \(/.exec(created?.text ?? '')?.[1];
    if (!(await cardEnds('dev', after)) || !alias) {
      return {
        windows,
        ok: false,
        problem: 'the dev promotion did not succeed',
        violations: s.github.violations().length,
      };
    }
    await quiet(5000, 60_000);
    const m3 = mark();
    windows.push(windowOf(s, 'promotion to dev', m2, m3));
    log(`api-calls: dev done (${windows.at(-1)?.seconds} s)`);

    // prod, approved by a second person
    after = await lastTs();
    await consoleApi.command(requester.id, `/promote prod ${alias}`);
    const waiting = await until(
      async () => {
        const card = findCard(await consoleApi.state(requester.id), 'prod', after);
        return card && hasButton(card.blocks, APPROVE_ACTION_ID) ? card : undefined;
      },
      180_000,
      500,
    );
    if (!waiting) {
      return {
        windows,
        ok: false,
        problem: 'the prod card never asked for approval',
        violations: s.github.violations().length,
      };
    }
    await consoleApi.click(approver.id, {
      messageTs: waiting.ts,
      actionId: APPROVE_ACTION_ID,
      ephemeral: false,
    });
    if (!(await cardEnds('prod', after))) {
      return {
        windows,
        ok: false,
        problem: 'the prod promotion did not succeed',
        violations: s.github.violations().length,
      };
    }
    await quiet(5000, 60_000);
    const m4 = mark();
    windows.push(windowOf(s, 'promotion to prod (with approval)', m3, m4));
    log(`api-calls: prod done (${windows.at(-1)?.seconds} s)`);

    // The #infra-audit mirror catches up at Slack's pace.
    await quiet(5000, 120_000, true);
    const m5 = mark();
    windows.push(windowOf(s, 'audit mirror catching up afterwards', m4, m5));

    let sizing: RedisSizing | undefined;
    let sizingError: string | undefined;
    try {
      sizing = await weighRedis(s.redisUrl, s.config.redis.prefix);
    } catch (err) {
      sizingError = (err as Error).message;
    }
    return {
      windows,
      ok: true,
      ...(sizing ? { sizing } : {}),
      ...(sizingError ? { sizingError } : {}),
      violations: s.github.violations().length,
    };
  } finally {
    forget();
    await cleanup();
  }
}

const list = (m: Record<string, number>): string =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, n]) => `${n}× \`${k}\``)
    .join(', ') || '–';

export async function apiCallsSection(ctx: BenchContext): Promise<SectionOutput> {
  const outcome = await story(ctx);
  const rows = outcome.windows.map((w) => [
    w.name,
    `${w.seconds} s`,
    total(w.github.bot),
    total(w.github.kargo),
    total(w.webhooks),
    total(w.slack) - auditOnly(w.slack),
    auditOnly(w.slack),
  ]);
  const detail = outcome.windows.flatMap((w) => [
    `**${w.name}** (${w.seconds} s)`,
    '',
    `- GitHub, by the bot: ${list(w.github.bot)}`,
    `- GitHub, by Kargo's http steps: ${list(w.github.kargo)}${total(w.github.other) ? `; other: ${list(w.github.other)}` : ''}`,
    `- webhooks delivered to the bot: ${list(w.webhooks)}`,
    `- Slack: ${list(w.slack)}`,
    '',
  ]);
  const markdown = [
    outcome.ok
      ? 'The sandbox `pass` scenario, played step by step; each window ends once GitHub and the cards have been quiet for 5 s.'
      : `**The story did not finish: ${outcome.problem}.** Counts up to there:`,
    '',
    table(
      [
        'window',
        'lasted',
        'GitHub requests by the bot',
        "by Kargo's http steps",
        'webhooks to the bot',
        'Slack calls (cards, replies)',
        'Slack: #infra-audit mirror posts',
      ],
      rows,
    ),
    '',
    ...detail,
    `Requests outside GitHub's OpenAPI description: ${outcome.violations}.`,
  ].join('\n');
  const win = (prefix: string) => outcome.windows.find((w) => w.name.startsWith(prefix));
  const headline = (['promotion to dev', 'promotion to prod'] as const).map((name) => {
    const w = win(name);
    return {
      section: 'f',
      what: `API calls for one ${name.replace('promotion to ', '')} promotion${name.endsWith('prod') ? ' (with approval)' : ''}`,
      figure: w
        ? `GitHub: ${total(w.github.bot)} requests by the bot (+ ${total(w.github.kargo)} by Kargo's http steps), ${total(w.webhooks)} webhooks; ` +
          `Slack: ${total(w.slack) - auditOnly(w.slack)} calls for cards and replies (+ ${auditOnly(w.slack)} #infra-audit posts in the window)`
        : `not measured${outcome.problem ? `: ${outcome.problem}` : ''}`,
    };
  });
  return { headline, markdown, data: outcome.windows };
}

export async function redisSizingSection(ctx: BenchContext): Promise<SectionOutput> {
  const outcome = await story(ctx);
  const s = outcome.sizing;
  if (!s) throw new Error(outcome.sizingError ?? outcome.problem ?? 'Redis was not weighed');
  const markdown = [
    `After the story of section f (${s.cards} cards: /promote dev and /promote prod with approval), every key under the ` +
      "bot's prefix weighed with MEMORY USAGE.",
    '',
    table(
      ['measure', 'value'],
      [
        ['cards', s.cards],
        ['bytes per card (events, links, Slack records, audit id guards)', s.bytesPerCard],
        ['audit records / per promotion', `${s.auditRecords} / ${s.auditRecordsPerPromotion}`],
        ['bytes per audit record', s.bytesPerAuditRecord],
        ['queue bytes (BullMQ, all queues)', s.queueBytes],
        ['other bytes', s.otherBytes],
      ],
    ),
    '',
    `By category (bytes): ${Object.entries(s.breakdown)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}.${s.otherKeys.length ? ` Uncategorised keys: ${s.otherKeys.map((k) => `\`${k}\``).join(', ')}.` : ''}`,
  ].join('\n');
  return {
    headline: [
      {
        section: 'sizing',
        what: 'Redis per promotion card / per audit record',
        figure: `${s.bytesPerCard} B per card, ${s.bytesPerAuditRecord} B per audit record (${s.auditRecordsPerPromotion} records per promotion), queues ${s.queueBytes} B`,
      },
    ],
    markdown,
    data: s,
  };
}
