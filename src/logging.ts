// Structured JSON logs (pino) that never carry a secret: well-known credential fields are redacted by
// path, and every configured secret value is scrubbed wherever it appears (messages, nested objects,
// error strings) — a token pasted into an error message by a library still never reaches the log.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

const REDACT_PATHS = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'appToken',
  '*.appToken',
  'signingSecret',
  '*.signingSecret',
  'privateKey',
  '*.privateKey',
  'webhookSecret',
  '*.webhookSecret',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-slack-signature"]',
  'headers["x-hub-signature-256"]',
];

export const REDACTED = '[redacted]';

export function scrub(value: unknown, secrets: readonly string[], depth = 0): unknown {
  if (secrets.length === 0 || depth > 8) return value;
  if (typeof value === 'string') {
    let out = value;
    for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, secrets, depth + 1));
  if (value instanceof Error) {
    return {
      type: value.name,
      message: scrub(value.message, secrets),
      stack: scrub(value.stack, secrets, depth + 1),
    };
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrub(v, secrets, depth + 1);
    return out;
  }
  return value;
}

export interface LoggerOptions {
  level?: string;
  /** Secret values (tokens, keys) to scrub from every log line. */
  secrets?: readonly string[];
  /** Where lines go (tests capture them); stdout by default. */
  destination?: DestinationStream;
  name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = [...(options.secrets ?? [])].filter((s) => s.length >= 8);
  return pino(
    {
      name: options.name ?? 'chatops',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      formatters: { log: (object) => scrub(object, secrets) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => scrub(a, secrets)) as Parameters<typeof method>);
        },
      },
    },
    options.destination ?? pino.destination(1),
  );
}
