// Change freezes: `/freeze dev|prod [for 2h | until 18:00] <reason>` and `/unfreeze`. Pure rules — when a
// freeze ends, whether it is in force, how it reads on cards, in /freight and in the status view. The
// store (src/worker/freeze-store.ts) keeps them in Redis; the worker enforces them on /promote and
// /rollback and pauses Kargo's auto-promotion of the stage while one lasts.
import { escapeMrkdwn, truncate } from './blockkit.js';
import { formatDuration, parseGoDuration } from './duration.js';
import { utcTime } from './format.js';
import type { Actor, Environment } from './types.js';

/** How long a freeze lasts when no end is given: it still ends by itself, never silently forever. */
export const DEFAULT_FREEZE_MS = 14 * 24 * 3_600_000;
/** The longest freeze one command can set. */
export const MAX_FREEZE_MS = 30 * 24 * 3_600_000;
export const MAX_FREEZE_REASON = 300;

/** When a freeze ends, as the user wrote it: a duration, a time of day (UTC) or an instant. */
export type FreezeEnd =
  | { kind: 'for'; ms: number }
  | { kind: 'until-time'; hour: number; minute: number }
  | { kind: 'until-instant'; iso: string }
  | { kind: 'default' };

export interface Freeze {
  environment: Environment;
  by: Actor;
  reason: string;
  /** ISO instants. */
  since: string;
  until: string;
  /** No end was given: it ends after DEFAULT_FREEZE_MS unless lifted. */
  open: boolean;
  /** Kargo auto-promotion of the stage, paused by the freeze: what to restore when it ends. */
  autoPromotion?: { stage: string; paused: boolean; restoreTo?: boolean };
}

/** Parses the words after `for` / `until` (the rest is the reason); undefined when they are not an end. */
export function parseFreezeEnd(keyword: string, value: string): FreezeEnd | undefined {
  if (keyword === 'for') {
    const ms = /^\d+(\.\d+)?d$/i.test(value)
      ? Number(value.slice(0, -1)) * 24 * 3_600_000
      : parseGoDuration(value.toLowerCase());
    return ms !== undefined && ms > 0 ? { kind: 'for', ms } : undefined;
  }
  if (keyword === 'until') {
    const time = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(value);
    if (time) return { kind: 'until-time', hour: Number(time[1]), minute: Number(time[2]) };
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(value)) {
      const at = Date.parse(value);
      return Number.isNaN(at) ? undefined : { kind: 'until-instant', iso: new Date(at).toISOString() };
    }
  }
  return undefined;
}

/** The instant a freeze asked for at `now` ends, or why it cannot be used. */
export function freezeUntil(end: FreezeEnd, now: Date): { until: Date } | { problem: string } {
  let until: Date;
  switch (end.kind) {
    case 'default':
      until = new Date(now.getTime() + DEFAULT_FREEZE_MS);
      break;
    case 'for':
      until = new Date(now.getTime() + end.ms);
      break;
    case 'until-time': {
      // The next such time of day, UTC (tomorrow when it has passed today).
      const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), end.hour, end.minute);
      until = new Date(today > now.getTime() ? today : today + 24 * 3_600_000);
      break;
    }
    case 'until-instant':
      until = new Date(end.iso);
      if (until.getTime() <= now.getTime()) return { problem: `${end.iso} has already passed` };
      break;
  }
  if (until.getTime() - now.getTime() > MAX_FREEZE_MS)
    return { problem: `a freeze lasts at most ${formatDuration(MAX_FREEZE_MS)}` };
  return { until };
}

/** In force at `now`: started and not yet ended. */
export const isFrozen = (freeze: Freeze | undefined, now: Date): freeze is Freeze =>
  freeze !== undefined && Date.parse(freeze.until) > now.getTime();

const hhmm = (iso: string): string => utcTime(iso) ?? iso;
const day = (iso: string): string => iso.slice(0, 10);

/** When it ends, for people: "18:00 UTC (in 2h)", or with the date when not today. */
export function freezeEndText(freeze: Freeze, now: Date): string {
  const left = formatDuration(Math.max(0, Date.parse(freeze.until) - now.getTime()));
  const when =
    day(freeze.until) === now.toISOString().slice(0, 10)
      ? hhmm(freeze.until)
      : `${day(freeze.until)} ${hhmm(freeze.until)}`;
  return freeze.open ? `until lifted (at the latest ${when}, in ${left})` : `until ${when} (in ${left})`;
}

/** One line for cards, /freight and the status view. */
export function freezeLine(freeze: Freeze, now: Date): string {
  // A mention, not the display name: Slack renders it, and it cannot carry markup.
  const who = `<@${freeze.by.slackUserId}>`;
  const paused = freeze.autoPromotion?.paused ? ' Auto-promotion is paused.' : '';
  const reason = escapeMrkdwn(truncate(freeze.reason.replace(/\s+/g, ' '), MAX_FREEZE_REASON));
  return `:snowflake: *${freeze.environment} is frozen* ${freezeEndText(freeze, now)} by ${who}: ${reason}.${paused}`;
}
