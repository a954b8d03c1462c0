// The status view: `/status` and the app's Home tab show the same blocks. Pure: the worker gathers a
// StatusSnapshot (src/worker/status.ts) from Kargo (through the watch cache: no API request), the card
// store, the queue, the freeze store and the Terraform state lock, and this renders it.
//
//   🧊 prod is frozen until 18:00 UTC (in 2h) by @olivia: payments release.         a freeze, first
//   *prod* · runs `frozen-tauntaun` (f5f87aa) since 10:14 UTC · Healthy
//   ⏳ `brave-wampa` Running — step 2 of 3 · <card>                               what runs or waits, and why
//   ✋ Auto-promotion held since @alice promoted `old-yoda`  [Release hold]          Kargo 1.11's hold
//   🔓 Terraform state: not locked · Queue: 0 waiting
//   Last: ✅ `frozen-tauntaun` 12m ago by @alice in 4m · ❌ …                       the last promotions
import {
  contextBlock,
  escapeMrkdwn,
  headerBlock,
  sectionBlock,
  truncate,
  type Block,
  type SlackMessage,
} from './blockkit.js';
import { utcTime } from './format.js';
import { releaseHoldButton } from './hold-release.js';
import { elapsed } from './render-parts.js';
import { freezeLine, type Freeze } from './freeze.js';
import type { AutoPromotionHold, Environment, PromotionPhase } from './types.js';

export interface StatusPromotion {
  name: string;
  freight: string;
  phase?: PromotionPhase;
  /** Who asked (`<@U…>` when the bot created it) or who else did (Kargo auto-promotion, the UI). */
  by: string;
  createdAt?: string;
  finishedAt?: string;
  /** Why it waits: approval, behind another promotion, a cancel asked for. */
  waiting?: string;
  cardUrl?: string;
}

export type StatusLock =
  | { state: 'free' }
  | { state: 'held'; who: string; operation: string; since?: string }
  | { state: 'unknown'; why: string };

export interface StageStatus {
  environment: Environment;
  stage: string;
  current?: { freight: string; since?: string };
  health?: string;
  active: StatusPromotion[];
  recent: StatusPromotion[];
  lock: StatusLock;
  freeze?: Freeze;
  holds: Array<AutoPromotionHold & { freight: string }>;
  autoPromotion?: boolean;
  /**
   * The newest freight the stage would take (what releasing a hold promotes): `word` to show, `ref` as
   * /promote takes it (its alias, else its full name — a short name is no freight reference).
   */
  candidate?: { word: string; ref: string };
}

export interface StatusSnapshot {
  stages: StageStatus[];
  /** Promotion requests accepted but not yet taken by a worker. */
  queued: number;
  at: string;
}

const PHASE_EMOJI: Readonly<Record<PromotionPhase, string>> = {
  Pending: '🕒',
  Running: '⏳',
  Succeeded: '✅',
  Failed: '❌',
  Errored: '💥',
  Aborted: '⏹️',
};

const code = (text: string): string => `\`${escapeMrkdwn(truncate(text, 60)).replace(/`/g, "'")}\``;
const hhmm = (iso: string | undefined): string => (iso ? (utcTime(iso) ?? '') : '');
const link = (url: string | undefined, label: string): string =>
  url ? `<${escapeMrkdwn(url)}|${label}>` : label;

function activeLine(p: StatusPromotion, now: Date): string {
  const phase = p.phase ?? 'Pending';
  const since = p.createdAt ? ` for ${elapsed(p.createdAt, now.toISOString()) ?? '0s'}` : '';
  const why = p.waiting ? ` — ${escapeMrkdwn(truncate(p.waiting, 200))}` : '';
  return `${PHASE_EMOJI[phase]} ${code(p.freight)} *${phase}*${since}${why} · by ${p.by} · ${link(p.cardUrl, 'card')}`;
}

function recentPiece(p: StatusPromotion): string {
  const phase = p.phase ?? 'Pending';
  const took = p.createdAt && p.finishedAt ? ` in ${elapsed(p.createdAt, p.finishedAt) ?? '0s'}` : '';
  return `${PHASE_EMOJI[phase]} ${link(p.cardUrl, code(p.freight))} ${hhmm(p.finishedAt ?? p.createdAt)}${took} by ${p.by}`;
}

function lockText(lock: StatusLock): string {
  switch (lock.state) {
    case 'free':
      return '🔓 Terraform state: not locked';
    case 'held':
      return `🔒 Terraform state locked by ${code(lock.who)} (${escapeMrkdwn(lock.operation || 'state command')})${
        lock.since ? ` since ${hhmm(lock.since)}` : ''
      } — \`/unlock\` if it is stale`;
    case 'unknown':
      return `❔ Terraform state lock: could not be read (${escapeMrkdwn(truncate(lock.why, 120))})`;
  }
}

/** Kargo 1.11's auto-promotion hold of a stage, in one line (status view, /freight). */
export function holdLine(
  environment: Environment,
  stage: string,
  hold: AutoPromotionHold & { freight: string },
): string {
  return (
    `✋ *Auto-promotion of ${environment} is held* since ${hold.actor ? escapeMrkdwn(hold.actor) : 'someone'} promoted ${code(hold.freight)}` +
    `${hold.createdAt ? ` at ${hhmm(hold.createdAt)}` : ''}: Kargo will not auto-promote newer freight into ${escapeMrkdwn(stage)} until newer freight is promoted by hand.`
  );
}

function stageBlocks(stage: StageStatus, now: Date): Block[] {
  const blocks: Block[] = [];
  if (stage.freeze) blocks.push(sectionBlock(freezeLine(stage.freeze, now)));
  const runs = stage.current
    ? `runs ${code(stage.current.freight)}${stage.current.since ? ` since ${hhmm(stage.current.since)}` : ''}`
    : 'runs no freight yet';
  const auto =
    stage.autoPromotion === undefined
      ? ''
      : stage.autoPromotion
        ? ' · auto-promotion on'
        : ' · auto-promotion off';
  blocks.push(
    sectionBlock(
      [
        `*${stage.environment}* (${escapeMrkdwn(stage.stage)}) · ${runs}${stage.health ? ` · ${escapeMrkdwn(stage.health)}` : ''}${auto}`,
        ...(stage.active.length > 0
          ? stage.active.slice(0, 5).map((p) => activeLine(p, now))
          : ['Nothing running or waiting.']),
      ].join('\n'),
    ),
  );
  for (const hold of stage.holds) {
    const text = holdLine(stage.environment, stage.stage, hold);
    if (!stage.candidate) {
      blocks.push(sectionBlock(text));
      continue;
    }
    blocks.push({
      ...sectionBlock(
        `${text}\nRelease it by promoting the newest freight, ${code(stage.candidate.word)}: the button, or \`/promote ${stage.environment} ${stage.candidate.ref}\`.`,
      ),
      accessory: releaseHoldButton({ environment: stage.environment, freight: stage.candidate.ref }),
    });
  }
  const recent = stage.recent.slice(0, 5).map(recentPiece);
  blocks.push(
    contextBlock([
      `${lockText(stage.lock)}${recent.length > 0 ? ` · Last: ${recent.join(' · ')}` : ' · No finished promotions yet'}`,
    ]),
  );
  return blocks;
}

export function renderStatus(snapshot: StatusSnapshot): SlackMessage {
  const now = new Date(snapshot.at);
  const blocks: Block[] = [headerBlock('Infrastructure status')];
  for (const stage of snapshot.stages) {
    blocks.push(...stageBlocks(stage, now), { type: 'divider' });
  }
  blocks.push(
    contextBlock([
      `Queue: ${snapshot.queued} promotion request${snapshot.queued === 1 ? '' : 's'} waiting for a worker · as of ${hhmm(snapshot.at)}`,
    ]),
  );
  const text = snapshot.stages
    .map(
      (s) =>
        `${s.environment}: ${s.current ? s.current.freight : 'no freight'}${s.freeze ? ' (frozen)' : ''}${
          s.active.length > 0 ? `, ${s.active.length} running or waiting` : ''
        }`,
    )
    .join('; ');
  return { text: `Status — ${text}`, blocks };
}
