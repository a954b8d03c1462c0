// Builds requests exactly as Slack sends them to a bot: form-encoded slash-command and block-actions
// payloads, signed with the v0 scheme (HMAC-SHA256 over `v0:<timestamp>:<raw body>`). Used by the tests,
// the benchmark and the sandbox console, which all talk to the real Bolt app over HTTP.
import { createHmac, randomBytes } from 'node:crypto';

export interface SlashCommandFields {
  command: string;
  text: string;
  userId: string;
  userName?: string;
  channelId: string;
  channelName?: string;
  teamId?: string;
  triggerId?: string;
  responseUrl?: string;
}

export function newTriggerId(): string {
  return `${Date.now()}.${randomBytes(4).readUInt32BE()}.${randomBytes(16).toString('hex')}`;
}

export function slashCommandBody(f: SlashCommandFields): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: f.teamId ?? 'T0SANDBOX',
    team_domain: 'sandbox',
    channel_id: f.channelId,
    channel_name: f.channelName ?? 'infra-deployments',
    user_id: f.userId,
    user_name: f.userName ?? f.userId.toLowerCase(),
    command: f.command,
    text: f.text,
    api_app_id: 'A0SANDBOX',
    is_enterprise_install: 'false',
    response_url: f.responseUrl ?? 'https://hooks.slack.com/commands/T0SANDBOX/1/sandbox',
    trigger_id: f.triggerId ?? newTriggerId(),
  }).toString();
}

export function blockActionsBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function slackSignature(signingSecret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export interface SignedRequest {
  headers: Record<string, string>;
  body: string;
}

/** Headers Slack sends with every request; `timestamp` in seconds (defaults to now). */
export function signedSlackRequest(
  signingSecret: string,
  rawBody: string,
  timestamp = Math.floor(Date.now() / 1000),
): SignedRequest {
  return {
    body: rawBody,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': slackSignature(signingSecret, timestamp, rawBody),
    },
  };
}
