// Durations as Kargo writes them. Stage `requiredSoakTime` and Freight `verifiedIn[].longestSoak` are Go
// `metav1.Duration` values ("1h30m", "1h0m0s", "90s", "1.5h"), so we parse them the way Go's
// time.ParseDuration does instead of guessing. All values are milliseconds.

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5 micro sign
  μs: 1e-3, // U+03BC Greek mu: Go accepts both
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const SIGN_AND_BODY = /^([-+]?)(.*)$/s;
const COMPONENT = /^(\d*)(?:\.(\d*))?([a-zµμ]+)/;

/**
 * Parses a Go duration string into milliseconds. Returns undefined when Go's time.ParseDuration would
 * return an error (empty string, missing unit, unknown unit, a lone ".").
 */
export function parseGoDuration(text: string): number | undefined {
  const [, sign = '', body = ''] = SIGN_AND_BODY.exec(text) ?? [];
  // Go special-cases "0" (with or without sign): the only number allowed without a unit.
  if (body === '0') return 0;
  if (body === '') return undefined;
  let rest = body;
  let total = 0;
  while (rest !== '') {
    const match = COMPONENT.exec(rest);
    if (!match) return undefined;
    const [whole, integer = '', fraction = '', unit = ''] = match;
    const perUnit = MS_PER_UNIT[unit];
    if (perUnit === undefined || (integer === '' && fraction === '')) return undefined;
    total += Number(`${integer || '0'}.${fraction || '0'}`) * perUnit;
    rest = rest.slice(whole.length);
  }
  return sign === '-' ? -total : total;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A duration for people: "45s", "20m", "1h 30m", "2d 4h". Two units at most: nobody watching a
 * deployment needs "1h 30m 12s". Minutes and above round up, so "20m left" never turns out to be 21.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0s';
  const seconds = Math.ceil(ms / SECOND);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.ceil(ms / MINUTE);
  if (minutes < 60) return `${minutes}m`;
  const days = Math.floor(minutes / (24 * 60));
  const hours = Math.floor((minutes % (24 * 60)) / 60);
  const restMinutes = minutes % 60;
  if (days > 0) return hours > 0 ? `${days}d ${hours}h` : `${days}d`;
  return restMinutes > 0 ? `${hours}h ${restMinutes}m` : `${hours}h`;
}

/** "just now", "5m ago", "3h ago", "2d ago" — rounded down, as an age usually is. */
export function formatAge(fromIso: string, now: Date): string | undefined {
  const from = Date.parse(fromIso);
  if (Number.isNaN(from)) return undefined;
  const elapsed = now.getTime() - from;
  if (elapsed < MINUTE) return 'just now';
  if (elapsed < HOUR) return `${Math.floor(elapsed / MINUTE)}m ago`;
  if (elapsed < DAY) return `${Math.floor(elapsed / HOUR)}h ago`;
  return `${Math.floor(elapsed / DAY)}d ago`;
}
