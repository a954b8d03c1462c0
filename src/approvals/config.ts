// Settings of prod approvals, as plain types (the lead parses the environment with zod in
// src/config/settings.ts and hands the values to resolveApprovalsConfig, which checks what zod cannot:
// the key's length, what each mode needs). One list of problems, like the rest of the configuration.
//
// Environment variables (names, meaning, defaults):
//   APPROVAL_MODE                   protection-rule | reviewer                       default protection-rule
//   APPROVAL_REMINDER_MINUTES       minutes before #infra-deployments is reminded     default 30
//   TOKEN_ENCRYPTION_KEY            32 random bytes, base64 (AES-256-GCM)             required in reviewer mode
//   TOKEN_ENCRYPTION_PREVIOUS_KEYS  comma-separated older keys, still read             default none
//   GITHUB_APP_CLIENT_ID            the GitHub App's client id (device flow)          required in reviewer mode
//   GITHUB_APP_CLIENT_SECRET        the App's client secret, sent on token refresh    optional
//   GITHUB_WEB_URL                  https://github.com (or GHES, or the stand-in)     default https://github.com
import { createHash } from 'node:crypto';
import type { ApprovalMode } from '../domain/events.js';

export type { ApprovalMode };
export const APPROVAL_MODES: readonly ApprovalMode[] = ['protection-rule', 'reviewer'];

/** One AES-256 key and its id (the first 8 hex digits of its SHA-256: names the key, reveals nothing). */
export interface TokenKey {
  id: string;
  key: Buffer;
}

export interface TokenKeyring {
  /** Encrypts every write. */
  current: TokenKey;
  /** Still decrypt what they wrote (key rotation); a read re-encrypts with `current`. */
  previous: TokenKey[];
}

export interface ApprovalsConfig {
  mode: ApprovalMode;
  /** Minutes an approval may wait before one reminder goes to #infra-deployments. */
  reminderMinutes: number;
  /** Encrypts linked GitHub tokens at rest. Required in reviewer mode. */
  tokenKeys?: TokenKeyring;
  /** The GitHub App's OAuth client id: `/approve link` (device flow). Required in reviewer mode. */
  clientId?: string;
  /** Sent on token refresh when set (GitHub accepts device-flow refreshes without it). Never logged. */
  clientSecret?: string;
  /** Base of GitHub's web endpoints (device flow, token endpoint) and of links to runs. No trailing slash. */
  webUrl: string;
}

export interface RawApprovalsSettings {
  mode?: string;
  reminderMinutes?: number | string;
  tokenEncryptionKey?: string;
  tokenEncryptionPreviousKeys?: string | readonly string[];
  clientId?: string;
  clientSecret?: string;
  webUrl?: string;
}

export const APPROVALS_DEFAULTS = {
  mode: 'protection-rule' as ApprovalMode,
  reminderMinutes: 30,
  webUrl: 'https://github.com',
} as const;

/** The key id: sha256(key), 8 hex digits. */
export const tokenKeyId = (key: Buffer): string => createHash('sha256').update(key).digest('hex').slice(0, 8);

/** A base64 (or base64url) 32-byte key, or a problem sentence. */
export function parseTokenKey(text: string, name: string): TokenKey | string {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) return `${name} is not base64`;
  const key = Buffer.from(trimmed.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) {
    return `${name} must be 32 bytes (base64 of 32 random bytes, e.g. \`openssl rand -base64 32\`); it is ${key.length}`;
  }
  return { id: tokenKeyId(key), key };
}

/**
 * Checks and completes the raw settings. Returns the config, or every problem at once (the lead adds them
 * to ConfigError). `githubAuthKind` is Config.github.auth.kind: protection-rule mode needs App credentials
 * (only installation tokens may decide a custom deployment protection rule).
 */
export function resolveApprovalsConfig(
  raw: RawApprovalsSettings,
  githubAuthKind: 'app' | 'token' | 'none',
): { config: ApprovalsConfig; problems: string[] } | { config?: undefined; problems: string[] } {
  const problems: string[] = [];
  const blank = (v: string | undefined): string | undefined => (v?.trim() ? v.trim() : undefined);
  const modeText = blank(raw.mode) ?? APPROVALS_DEFAULTS.mode;
  const mode = APPROVAL_MODES.find((m) => m === modeText);
  if (!mode) problems.push(`APPROVAL_MODE must be protection-rule or reviewer (got "${modeText}")`);

  const minutesText = raw.reminderMinutes === undefined ? '' : String(raw.reminderMinutes).trim();
  const reminderMinutes = minutesText === '' ? APPROVALS_DEFAULTS.reminderMinutes : Number(minutesText);
  if (!Number.isInteger(reminderMinutes) || reminderMinutes < 1 || reminderMinutes > 43_200) {
    problems.push(`APPROVAL_REMINDER_MINUTES must be a whole number of minutes from 1 to 43200 (30 days)`);
  }

  let tokenKeys: TokenKeyring | undefined;
  const keyText = blank(raw.tokenEncryptionKey);
  if (keyText) {
    const current = parseTokenKey(keyText, 'TOKEN_ENCRYPTION_KEY');
    const previousTexts = (
      typeof raw.tokenEncryptionPreviousKeys === 'string'
        ? raw.tokenEncryptionPreviousKeys.split(',')
        : (raw.tokenEncryptionPreviousKeys ?? [])
    )
      .map((k) => k.trim())
      .filter(Boolean);
    const previous = previousTexts.map((k, i) => parseTokenKey(k, `TOKEN_ENCRYPTION_PREVIOUS_KEYS[${i}]`));
    for (const p of [current, ...previous]) if (typeof p === 'string') problems.push(p);
    if (typeof current !== 'string' && previous.every((p) => typeof p !== 'string')) {
      tokenKeys = { current, previous: (previous as TokenKey[]).filter((p) => p.id !== current.id) };
    }
  } else if (mode === 'reviewer') {
    problems.push(
      'TOKEN_ENCRYPTION_KEY is required when APPROVAL_MODE=reviewer (approvers’ GitHub tokens are stored encrypted with it)',
    );
  }

  const clientId = blank(raw.clientId);
  if (mode === 'reviewer' && !clientId) {
    problems.push(
      'GITHUB_APP_CLIENT_ID is required when APPROVAL_MODE=reviewer (`/approve link` uses the device flow)',
    );
  }
  const webUrl = (blank(raw.webUrl) ?? APPROVALS_DEFAULTS.webUrl).replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+/.test(webUrl)) problems.push(`GITHUB_WEB_URL must be a URL (got "${webUrl}")`);
  if (mode === 'protection-rule' && githubAuthKind !== 'app') {
    problems.push(
      'APPROVAL_MODE=protection-rule needs GitHub App credentials (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_APP_INSTALLATION_ID): only installation tokens may decide a custom deployment protection rule',
    );
  }
  if (problems.length > 0 || !mode) return { problems };
  const clientSecret = blank(raw.clientSecret);
  return {
    config: {
      mode,
      reminderMinutes,
      ...(tokenKeys ? { tokenKeys } : {}),
      ...(clientId ? { clientId } : {}),
      ...(clientSecret ? { clientSecret } : {}),
      webUrl,
    },
    problems,
  };
}

/** The secrets of this config, for the logger's scrub list (Config.secrets). */
export function approvalsSecrets(config: ApprovalsConfig): string[] {
  const keys = config.tokenKeys ? [config.tokenKeys.current, ...config.tokenKeys.previous] : [];
  return [
    ...keys.map((k) => k.key.toString('base64')),
    ...(config.clientSecret ? [config.clientSecret] : []),
  ];
}
