// Small, pure formatting helpers shared by the card, the freight view and the availability reasons.
// They return plain text: escaping for Slack happens once, in the renderers.
import type { FreightCommit } from './types.js';

const SHORT_SHA_LENGTH = 7;

export const shortSha = (sha: string): string => sha.slice(0, SHORT_SHA_LENGTH);

/** How a freight is named in sentences: `f5f87aa (frozen-tauntaun)`, or just `f5f87aa` without alias. */
export function freightLabel(freight: { name: string; alias?: string }): string {
  const short = shortSha(freight.name);
  return freight.alias ? `${short} (${freight.alias})` : short;
}

/** How a freight is named in one word: its alias, else its short name (`f5f87aa`). */
export const freightWordOf = (name: string, alias: string | undefined): string => alias ?? shortSha(name);

/** The first line of a commit message, trimmed. */
export function commitSubject(message: string | undefined): string | undefined {
  const subject = message?.split(/\r?\n/, 1)[0]?.trim();
  return subject ? subject : undefined;
}

/** Kargo records authors as `Name <email>`; the card shows the name only. */
export function authorName(author: string | undefined): string | undefined {
  const name = author?.replace(/\s*<[^>]*>\s*$/, '').trim();
  return name ? name : undefined;
}

const SCP_LIKE_GIT_URL = /^[\w.-]+@([\w.-]+):(.+)$/;
const SAFE_URL = /^https?:\/\/[^\s<>|]+$/;

/**
 * Web URL of a commit: `<repoURL without .git>/commit/<sha>`. SSH remotes (`git@github.com:org/repo.git`)
 * are mapped to their https form. Returns undefined for anything that would not make a safe Slack link
 * (no http(s) scheme, or characters that break `<url|label>` syntax).
 */
export function commitUrl(commit: Pick<FreightCommit, 'repoURL' | 'id'>): string | undefined {
  if (!/^[0-9a-f]{4,64}$/i.test(commit.id)) return undefined;
  const scp = SCP_LIKE_GIT_URL.exec(commit.repoURL);
  const base = (scp ? `https://${scp[1]}/${scp[2]}` : commit.repoURL)
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
  const url = `${base}/commit/${commit.id}`;
  return SAFE_URL.test(url) ? url : undefined;
}

/** "10:02 UTC" — the fallback next to Slack's localized `<!date>` rendering. */
export function utcTime(iso: string): string | undefined {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return undefined;
  return `${new Date(ms).toISOString().slice(11, 16)} UTC`;
}

/** Joins with commas and a final "or"/"and": `dev, staging or qa`. */
export function humanList(items: readonly string[], conjunction: 'and' | 'or'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}
