// Slash-command text -> a typed command, or a short message that says what was wrong and how to write it.
// Never throws: whatever Slack sends (extra spaces, `PROD`, *bold*, `code`, smart quotes, entities,
// <links|labels>) ends in a command or in a message containing the usage line.
import { parseFreezeEnd, MAX_FREEZE_REASON, type FreezeEnd } from './freeze.js';
import { ENVIRONMENTS } from './types.js';
import type { Environment } from './types.js';

export type SlashCommand =
  | '/freight'
  | '/promote'
  | '/approve'
  | '/unlock'
  | '/cancel'
  | '/rollback'
  | '/freeze'
  | '/unfreeze'
  | '/status'
  | '/drift'
  | '/stats'
  | '/audit';
export const SLASH_COMMANDS: readonly SlashCommand[] = [
  '/freight',
  '/promote',
  '/approve',
  '/unlock',
  '/cancel',
  '/rollback',
  '/freeze',
  '/unfreeze',
  '/status',
  '/drift',
  '/stats',
  '/audit',
];

/** The windows `/stats` reports on, in days. */
export type StatsWindow = 7 | 30 | 90;
export const STATS_WINDOWS: readonly StatsWindow[] = [7, 30, 90];

export type FreightSelector = { by: 'latest' } | { by: 'alias' | 'name'; value: string };

export type ParsedCommand =
  | { kind: 'help'; command: SlashCommand }
  | { kind: 'freight'; limit: number; share: boolean }
  /** `override <reason>`: an approver promoting through a change freeze. */
  | { kind: 'promote'; environment: Environment; freight: FreightSelector; override?: string }
  /** Back to the previous freight verified in the stage, or to the one named after `to`. */
  | { kind: 'rollback'; environment: Environment; to?: FreightSelector; override?: string }
  /** A change freeze of one environment: refuses /promote and /rollback and pauses auto-promotion. */
  | { kind: 'freeze'; environment: Environment; end: FreezeEnd; reason: string }
  | { kind: 'unfreeze'; environment: Environment }
  /** Per stage: current freight, what runs or waits, queue, lock, freeze, the last promotions. */
  | { kind: 'status'; share: boolean }
  /** Approve a promotion waiting for approval: by promotion name or freight alias, or the only one waiting. */
  | { kind: 'approve'; target?: string }
  /** Link the user's GitHub account, so approvals can be made with their own identity. */
  | { kind: 'approve-link' }
  | { kind: 'unlock'; environment: Environment }
  /** Stop a promotion: by promotion name, card id or freight alias, with an optional reason. */
  | { kind: 'cancel'; target: string; reason?: string }
  /** The latest drift check, of one environment or (without) of both. */
  | { kind: 'drift'; environment?: Environment }
  /** Delivery metrics of prod over the last `days`. */
  | { kind: 'stats'; days: StatsWindow }
  /** Every audit record of one promotion: by Kargo Promotion name or card id. */
  | { kind: 'audit'; target: string };

export type ParseResult = { ok: true; command: ParsedCommand } | { ok: false; message: string };

export const FREIGHT_LIMIT = { default: 5, min: 1, max: 20 } as const;

const USAGE: Readonly<Record<SlashCommand, string>> = {
  '/freight': 'Usage: /freight [1-20] [share]\nExample: /freight 10 share',
  '/promote':
    'Usage: /promote dev|prod [freight alias | name | latest] [override <reason>]\nExample: /promote prod frozen-tauntaun',
  '/approve':
    'Usage: /approve [promotion | freight alias] or /approve link\nExample: /approve frozen-tauntaun',
  '/unlock': 'Usage: /unlock dev|prod\nExample: /unlock dev',
  '/cancel':
    'Usage: /cancel <promotion | freight alias> [reason]\nExample: /cancel frozen-tauntaun wrong freight, prod change freeze',
  '/rollback':
    'Usage: /rollback dev|prod [to <freight alias | name>] [override <reason>]\nExample: /rollback prod',
  '/freeze':
    'Usage: /freeze dev|prod [for 2h | until 18:00] <reason>\nExample: /freeze prod for 3d payments release',
  '/unfreeze': 'Usage: /unfreeze dev|prod\nExample: /unfreeze prod',
  '/status': 'Usage: /status [share]\nExample: /status',
  '/drift': 'Usage: /drift [dev|prod]\nExample: /drift prod',
  '/stats': 'Usage: /stats [7d|30d|90d]\nExample: /stats 90d',
  '/audit': 'Usage: /audit <promotion | card id>\nExample: /audit prod.01k3v2x9qdw7k1m5r8t2y4z6a0.f5f87aa',
};

const HELP: Readonly<Record<SlashCommand, string>> = {
  '/freight':
    'Lists the newest freight and where each stands in every stage (current, verified, available, or why not). ' +
    'Only you see it unless you add `share`.',
  '/promote':
    'Promotes freight to dev or prod through Kargo and follows it on a card in #infra-deployments. ' +
    'Without a freight, promotes the newest one available to that stage.',
  '/approve':
    'Approves a promotion waiting for approval (you cannot approve your own). ' +
    '`/approve link` connects your GitHub account first.',
  '/unlock':
    'Releases a stale Terraform state lock for dev or prod, after showing it to you and asking for confirmation.',
  '/cancel':
    'Stops a promotion that is pending, running or waiting for approval: Kargo aborts it and its GitHub run is cancelled ' +
    '(or its waiting deployment rejected). Its requester or an approver of the environment can do this.',
  '/rollback':
    'Promotes the freight that was verified in that stage before the current one (Kargo’s freight history), or the one you ' +
    'name after `to`, through the same gates, approval and four-eyes as /promote. Kargo then holds auto-promotion of that ' +
    'stage until newer freight is promoted by hand; its card and /status show the hold and how to release it.',
  '/freeze':
    'Starts a change freeze of dev or prod: /promote and /rollback are refused (an approver can add `override <reason>`, ' +
    'which is audited) and Kargo’s auto-promotion of the stage is paused. It ends by itself (after 14 days when you give no end, ' +
    'at most 30 days) or with /unfreeze. Approvers of the environment can do this.',
  '/unfreeze':
    'Ends the change freeze of dev or prod now and restores Kargo’s auto-promotion of the stage. Approvers of the environment can do this.',
  '/status':
    'Per stage: the freight deployed now, what is running or waiting (and why), the queue, the Terraform lock, a freeze or an ' +
    'auto-promotion hold, and the last promotions with outcome and duration. The app’s Home tab shows the same. Only you see it unless you add `share`.',
  '/drift':
    'Shows the latest drift check (every 6 hours): whether dev and prod still match their Terraform state, and what was ' +
    'changed or deleted outside Terraform, by action, with a link to the run. Only you see it.',
  '/stats':
    'Delivery metrics of prod from the audit trail, over the last 30 days unless you say 7d or 90d: deployment ' +
    'frequency, lead time from commit to prod, change failure rate, time to restore, and deployments per week. Only you see it.',
  '/audit':
    'Shows every audit record of one promotion, oldest first: each command, decision, phase change, gate result and ' +
    'run status the audit stream keeps (#infra-audit shows one line per decision and phase change). Ask in #infra-audit: ' +
    'the record is for whoever can see that channel. Only you see it.',
};

export const usage = (command: SlashCommand): string => USAGE[command];

/** What `help` answers: one paragraph, then the usage lines. */
export const helpText = (command: SlashCommand): string =>
  `*${command}* — ${HELP[command]}\n${USAGE[command]}`;

export function parseCommand(command: SlashCommand, text: string): ParseResult {
  if (!SLASH_COMMANDS.includes(command)) {
    return fail(`I don't know the command ${quote(String(command))}.`, SLASH_COMMANDS.map(usage).join('\n'));
  }
  const words = tokenize(typeof text === 'string' ? text : '');
  if (HELP_WORDS.has(words[0]?.toLowerCase() ?? '')) return ok({ kind: 'help', command });
  switch (command) {
    case '/freight':
      return parseFreight(words);
    case '/promote':
      return parsePromote(words);
    case '/approve':
      return parseApprove(words);
    case '/unlock':
      return parseUnlock(words);
    case '/cancel':
      return parseCancel(words);
    case '/rollback':
      return parseRollback(words);
    case '/freeze':
      return parseFreeze(words);
    case '/unfreeze':
      return parseUnfreeze(words);
    case '/status':
      return parseStatus(words);
    case '/drift':
      return parseDrift(words);
    case '/stats':
      return parseStats(words);
    case '/audit':
      return parseAudit(words);
  }
}

/** The text that parses back to `command`: parseCommand(c.command, c.text) gives the same command. */
export function formatCommand(command: ParsedCommand): { command: SlashCommand; text: string } {
  switch (command.kind) {
    case 'help':
      return { command: command.command, text: 'help' };
    case 'freight': {
      const words = [
        command.limit === FREIGHT_LIMIT.default ? '' : String(command.limit),
        command.share ? 'share' : '',
      ];
      return { command: '/freight', text: words.filter(Boolean).join(' ') };
    }
    case 'promote':
      return {
        command: '/promote',
        text: `${command.environment} ${command.freight.by === 'latest' ? 'latest' : command.freight.value}${
          command.override ? ` override ${command.override}` : ''
        }`,
      };
    case 'rollback':
      return {
        command: '/rollback',
        text: [
          command.environment,
          command.to && command.to.by !== 'latest' ? `to ${command.to.value}` : '',
          command.override ? `override ${command.override}` : '',
        ]
          .filter(Boolean)
          .join(' '),
      };
    case 'freeze':
      return {
        command: '/freeze',
        text: `${command.environment} ${freezeEndWords(command.end)}${command.reason}`,
      };
    case 'unfreeze':
      return { command: '/unfreeze', text: command.environment };
    case 'status':
      return { command: '/status', text: command.share ? 'share' : '' };
    case 'approve':
      return { command: '/approve', text: command.target ?? '' };
    case 'approve-link':
      return { command: '/approve', text: 'link' };
    case 'unlock':
      return { command: '/unlock', text: command.environment };
    case 'cancel':
      return { command: '/cancel', text: [command.target, command.reason].filter(Boolean).join(' ') };
    case 'drift':
      return { command: '/drift', text: command.environment ?? '' };
    case 'stats':
      return { command: '/stats', text: `${command.days}d` };
    case 'audit':
      return { command: '/audit', text: command.target };
  }
}

// ---------------------------------------------------------------------------------------------------
// Per command

const HELP_WORDS: ReadonlySet<string> = new Set(['help', '-h', '--help', '?']);

function parseFreight(words: string[]): ParseResult {
  let limit: number | undefined;
  let share = false;
  for (const word of words) {
    if (/^\d+$/.test(word)) {
      if (limit !== undefined) return fail('Give at most one number.', usage('/freight'));
      limit = Number(word);
      if (limit < FREIGHT_LIMIT.min || limit > FREIGHT_LIMIT.max) {
        return fail(
          `I can list ${FREIGHT_LIMIT.min} to ${FREIGHT_LIMIT.max} freight at a time.`,
          usage('/freight'),
        );
      }
    } else if (word.toLowerCase() === 'share') {
      share = true;
    } else {
      return fail(`I don't understand ${quote(word)}.`, usage('/freight'));
    }
  }
  return ok({ kind: 'freight', limit: limit ?? FREIGHT_LIMIT.default, share });
}

/** Splits `… override <reason>` off the words: the reason is every word after the keyword. */
function splitOverride(
  words: string[],
  command: SlashCommand,
): { words: string[]; override?: string } | { problem: ParseResult } {
  const at = words.findIndex((word) => word.toLowerCase() === 'override');
  if (at < 0) return { words };
  const reason = words
    .slice(at + 1)
    .join(' ')
    .trim();
  if (!reason)
    return { problem: fail('Say why after `override`: it is recorded in the audit trail.', usage(command)) };
  if (reason.length > MAX_REASON)
    return { problem: fail(`Keep the reason under ${MAX_REASON} characters.`, usage(command)) };
  return { words: words.slice(0, at), override: reason };
}

function parsePromote(all: string[]): ParseResult {
  const split = splitOverride(all, '/promote');
  if ('problem' in split) return split.problem;
  const { words, override } = split;
  const withOverride = (command: Extract<ParsedCommand, { kind: 'promote' }>): ParseResult =>
    ok(override ? { ...command, override } : command);
  if (words.length === 0) return fail('Which environment?', usage('/promote'));
  if (words.length > 2) return fail(`Too many words: ${quote(words.slice(2).join(' '))}.`, usage('/promote'));
  let [first = '', second] = words;
  // Forgive `/promote frozen-tauntaun prod`: the environment is unambiguous, put it first.
  if (!asEnvironment(first) && second !== undefined && asEnvironment(second))
    [first, second] = [second, first];
  const environment = asEnvironment(first);
  if (!environment) return fail(`${quote(first)} is not an environment: use dev or prod.`, usage('/promote'));
  if (second === undefined) return withOverride({ kind: 'promote', environment, freight: { by: 'latest' } });
  const freight = asFreightSelector(second);
  if (!freight) {
    return fail(
      `${quote(second)} is not a freight alias (like frozen-tauntaun) or name (40 hex characters).`,
      usage('/promote'),
    );
  }
  return withOverride({ kind: 'promote', environment, freight });
}

function parseRollback(all: string[]): ParseResult {
  const split = splitOverride(all, '/rollback');
  if ('problem' in split) return split.problem;
  const { words, override } = split;
  if (words.length === 0) return fail('Which environment?', usage('/rollback'));
  const environment = asEnvironment(words[0] ?? '');
  if (!environment)
    return fail(`${quote(words[0] ?? '')} is not an environment: use dev or prod.`, usage('/rollback'));
  const rest = words.slice(1);
  if (rest[0]?.toLowerCase() === 'to') rest.shift();
  if (rest.length > 1) return fail(`Too many words: ${quote(rest.slice(1).join(' '))}.`, usage('/rollback'));
  let to: FreightSelector | undefined;
  if (rest.length === 1) {
    to = asFreightSelector(rest[0] ?? '');
    if (!to || to.by === 'latest') {
      return fail(
        `${quote(rest[0] ?? '')} is not a freight alias (like frozen-tauntaun) or name (40 hex characters).`,
        usage('/rollback'),
      );
    }
  }
  return ok({
    kind: 'rollback',
    environment,
    ...(to ? { to } : {}),
    ...(override ? { override } : {}),
  });
}

function parseFreeze(words: string[]): ParseResult {
  if (words.length === 0) return fail('Which environment?', usage('/freeze'));
  const environment = asEnvironment(words[0] ?? '');
  if (!environment)
    return fail(`${quote(words[0] ?? '')} is not an environment: use dev or prod.`, usage('/freeze'));
  let rest = words.slice(1);
  let end: FreezeEnd = { kind: 'default' };
  const keyword = rest[0]?.toLowerCase();
  if (keyword === 'for' || keyword === 'until') {
    const parsed = parseFreezeEnd(keyword, rest[1] ?? '');
    if (!parsed) {
      return fail(
        keyword === 'for'
          ? `${quote(rest[1] ?? '')} is not a duration: write it like 2h, 90m or 3d.`
          : `${quote(rest[1] ?? '')} is not a time: write 18:00 (UTC) or an instant like 2026-12-24T00:00Z.`,
        usage('/freeze'),
      );
    }
    end = parsed;
    rest = rest.slice(2);
  }
  const reason = rest.join(' ').trim();
  if (!reason)
    return fail('Say why: the reason is shown on every card while the freeze lasts.', usage('/freeze'));
  if (reason.length > MAX_FREEZE_REASON)
    return fail(`Keep the reason under ${MAX_FREEZE_REASON} characters.`, usage('/freeze'));
  return ok({ kind: 'freeze', environment, end, reason });
}

function parseUnfreeze(words: string[]): ParseResult {
  if (words.length === 0) return fail('Which environment?', usage('/unfreeze'));
  if (words.length > 1)
    return fail(`Too many words: ${quote(words.slice(1).join(' '))}.`, usage('/unfreeze'));
  const environment = asEnvironment(words[0] ?? '');
  if (!environment)
    return fail(`${quote(words[0] ?? '')} is not an environment: use dev or prod.`, usage('/unfreeze'));
  return ok({ kind: 'unfreeze', environment });
}

function parseStatus(words: string[]): ParseResult {
  if (words.length === 0) return ok({ kind: 'status', share: false });
  if (words.length === 1 && words[0]?.toLowerCase() === 'share') return ok({ kind: 'status', share: true });
  return fail(`I don't understand ${quote(words.join(' '))}.`, usage('/status'));
}

/** The words that parse back to `end`, with a trailing space (none for the default). */
function freezeEndWords(end: FreezeEnd): string {
  switch (end.kind) {
    case 'default':
      return '';
    case 'for':
      return `for ${end.ms % 86_400_000 === 0 ? `${end.ms / 86_400_000}d` : `${Math.round(end.ms / 1000)}s`} `;
    case 'until-time':
      return `until ${String(end.hour).padStart(2, '0')}:${String(end.minute).padStart(2, '0')} `;
    case 'until-instant':
      return `until ${end.iso} `;
  }
}

function parseApprove(words: string[]): ParseResult {
  if (words.length === 0) return ok({ kind: 'approve' });
  if (words.length > 1) return fail(`Too many words: ${quote(words.slice(1).join(' '))}.`, usage('/approve'));
  const [target = ''] = words;
  if (target.toLowerCase() === 'link') return ok({ kind: 'approve-link' });
  const name = target.toLowerCase();
  if (!isKubernetesName(name)) {
    return fail(`${quote(target)} is not a promotion name or freight alias.`, usage('/approve'));
  }
  return ok({ kind: 'approve', target: name });
}

function parseUnlock(words: string[]): ParseResult {
  if (words.length === 0) return fail('Which environment?', usage('/unlock'));
  if (words.length > 1) return fail(`Too many words: ${quote(words.slice(1).join(' '))}.`, usage('/unlock'));
  const environment = asEnvironment(words[0] ?? '');
  if (!environment)
    return fail(`${quote(words[0] ?? '')} is not an environment: use dev or prod.`, usage('/unlock'));
  return ok({ kind: 'unlock', environment });
}

/** Card ids as the bot makes them (card.ts): `req-<16 hex>` and `promo-<16 hex>`. */
const CARD_ID = /^(req|promo)-[0-9a-f]{16}$/;
const MAX_REASON = 300;

function parseCancel(words: string[]): ParseResult {
  if (words.length === 0) return fail('Which promotion?', usage('/cancel'));
  const [target = '', ...rest] = words;
  const name = target.toLowerCase();
  if (!CARD_ID.test(name) && !isKubernetesName(name)) {
    return fail(`${quote(target)} is not a promotion name, card or freight alias.`, usage('/cancel'));
  }
  const reason = rest.join(' ').trim();
  if (reason.length > MAX_REASON)
    return fail(`Keep the reason under ${MAX_REASON} characters.`, usage('/cancel'));
  return ok({ kind: 'cancel', target: name, ...(reason ? { reason } : {}) });
}

function parseDrift(words: string[]): ParseResult {
  if (words.length === 0) return ok({ kind: 'drift' });
  if (words.length > 1) return fail(`Too many words: ${quote(words.slice(1).join(' '))}.`, usage('/drift'));
  const environment = asEnvironment(words[0] ?? '');
  if (!environment)
    return fail(`${quote(words[0] ?? '')} is not an environment: use dev or prod.`, usage('/drift'));
  return ok({ kind: 'drift', environment });
}

function parseStats(words: string[]): ParseResult {
  if (words.length === 0) return ok({ kind: 'stats', days: 30 });
  if (words.length > 1) return fail(`Too many words: ${quote(words.slice(1).join(' '))}.`, usage('/stats'));
  const days = Number(/^(\d+)d?$/i.exec(words[0] ?? '')?.[1]);
  const window = STATS_WINDOWS.find((w) => w === days);
  if (!window)
    return fail(`I can show the last 7d, 30d or 90d, not ${quote(words[0] ?? '')}.`, usage('/stats'));
  return ok({ kind: 'stats', days: window });
}

function parseAudit(words: string[]): ParseResult {
  if (words.length === 0) return fail('Which promotion?', usage('/audit'));
  if (words.length > 1) return fail(`Too many words: ${quote(words.slice(1).join(' '))}.`, usage('/audit'));
  const target = (words[0] ?? '').toLowerCase();
  if (!CARD_ID.test(target) && !isKubernetesName(target)) {
    return fail(`${quote(words[0] ?? '')} is not a promotion name or card id.`, usage('/audit'));
  }
  return ok({ kind: 'audit', target });
}

// ---------------------------------------------------------------------------------------------------
// Words

const asEnvironment = (word: string): Environment | undefined =>
  ENVIRONMENTS.find((environment) => environment === word.toLowerCase());

const FREIGHT_NAME = /^[0-9a-f]{40}$/;
/** Kargo aliases are label values in practice generated as DNS labels: `frozen-tauntaun`. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function asFreightSelector(word: string): FreightSelector | undefined {
  const value = word.toLowerCase();
  if (value === 'latest') return { by: 'latest' };
  if (FREIGHT_NAME.test(value)) return { by: 'name', value };
  if (DNS_LABEL.test(value)) return { by: 'alias', value };
  return undefined;
}

/** DNS-1123 subdomain, which covers promotion names (`prod.01k3….f5f87aa`) and freight aliases. */
const isKubernetesName = (word: string): boolean =>
  word.length <= 253 && word.split('.').every((part) => DNS_LABEL.test(part));

const ENTITIES: Readonly<Record<string, string>> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"' };

/**
 * Splits Slack's command text into plain words. Slack escapes &, <, > and may wrap words in formatting
 * when users paste from a message; none of that is part of an environment or freight name.
 */
export function tokenize(text: string): string[] {
  const plain = text
    // <https://example.com|label> -> label; <#C123|channel> -> channel; <@U123> -> @U123
    .replace(/<([^<>|]*)\|([^<>]*)>/g, '$2')
    .replace(/<([^<>]*)>/g, '$1')
    .replace(/&(amp|lt|gt|quot);/g, (entity) => ENTITIES[entity] ?? entity);
  return plain
    .split(/[\s\u00a0\u2000-\u200b\u2028\u2029\u3000\ufeff]+/u)
    .map(stripFormatting)
    .filter((word) => word !== '');
}

/** Removes *bold*, _italic_, ~strike~, `code`, quotes (straight and curly) around a word. */
const stripFormatting = (word: string): string => word.replace(/^[*_~`'"“”‘’]+|[*_~`'"“”‘’]+$/gu, '');

// ---------------------------------------------------------------------------------------------------
// Results

const ok = (command: ParsedCommand): ParseResult => ({ ok: true, command });

const fail = (problem: string, usageText: string): ParseResult => ({
  ok: false,
  message: `${problem}\n${usageText}`,
});

/** Echoes user input back safely: short, in backticks, without characters that would break the markup. */
function quote(word: string): string {
  const characters = Array.from(word.replace(/[`<>&]/g, '')); // by code point: never half an emoji
  const clean = characters.slice(0, 40).join('');
  return clean === '' ? 'that' : `\`${clean}${characters.length > 40 ? '…' : ''}\``;
}
