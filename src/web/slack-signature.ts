// Slack's request signature (v0), checked on the raw body before anything else looks at it:
// HMAC-SHA256 over `v0:<X-Slack-Request-Timestamp>:<raw body>` with the signing secret, compared in
// constant time with X-Slack-Signature. The timestamp must lie within five minutes of our clock in either
// direction: Bolt only refuses old ones, which would accept a request signed "in the future" and replay it
// for as long as that future is away.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const SLACK_TIMESTAMP_WINDOW_SECONDS = 5 * 60;

export type SlackSignatureRefusal =
  | 'missing signature headers'
  | 'malformed signature headers'
  | 'timestamp outside ±5 minutes'
  | 'bad signature';

const single = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
};

export function verifySlackSignature(
  signingSecret: string,
  headers: IncomingHttpHeaders,
  rawBody: Buffer,
  nowSeconds = Math.floor(Date.now() / 1000),
): { ok: true } | { ok: false; reason: SlackSignatureRefusal } {
  const timestamp = single(headers, 'x-slack-request-timestamp');
  const signature = single(headers, 'x-slack-signature');
  if (timestamp === undefined || signature === undefined) {
    return { ok: false, reason: 'missing signature headers' };
  }
  if (!/^\d{1,12}$/.test(timestamp) || !/^v0=[0-9a-f]{64}$/.test(signature)) {
    return { ok: false, reason: 'malformed signature headers' };
  }
  if (Math.abs(nowSeconds - Number(timestamp)) > SLACK_TIMESTAMP_WINDOW_SECONDS) {
    return { ok: false, reason: 'timestamp outside ±5 minutes' };
  }
  const expected = createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest();
  const given = Buffer.from(signature.slice(3), 'hex');
  return timingSafeEqual(expected, given) ? { ok: true } : { ok: false, reason: 'bad signature' };
}
