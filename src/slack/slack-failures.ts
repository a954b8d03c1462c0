// What a failed Slack Web API call means for the job that made it. The WebClient is configured never to
// retry (retries: 0, rejectRateLimitedCalls), so every failure lands here once and the queue decides:
//   rate-limited → wait Retry-After, retry without counting an attempt;
//   permanent    → fail now (UnrecoverableError), retrying cannot help;
//   transient    → back off and retry.
// `uncertain` marks failures after which Slack may have acted anyway (no answer, 5xx, or an error Slack
// documents as "some aspect of the operation may have succeeded"): a chat.postMessage retried after one of
// those must first look for the message it may already have posted.
import {
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
} from '@slack/web-api';

export type SlackFailure =
  | { kind: 'rate-limited'; retryAfterMs: number; error: 'ratelimited' }
  | { kind: 'permanent'; error: string }
  | { kind: 'transient'; error: string; uncertain: boolean };

/** Slack error codes no retry can fix: configuration, permissions, or a message Slack will never accept. */
export const PERMANENT_SLACK_ERRORS: ReadonlySet<string> = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'is_inactive',
  'restricted_action',
  'restricted_action_read_only_channel',
  'restricted_action_thread_only_channel',
  'restricted_action_non_threadable_channel',
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
  'ekm_access_denied',
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'msg_blocks_too_long',
  'no_text',
  'too_many_attachments',
  'invalid_attachments',
  'invalid_arguments',
  'invalid_arg_name',
  'invalid_metadata_format',
  'invalid_metadata_schema',
  'metadata_too_large',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
  'thread_not_found',
  'user_not_found',
  'unknown_method',
]);

/** Errors Slack documents with "It's possible some aspect of the operation succeeded". */
const MAYBE_ACTED = new Set(['internal_error', 'fatal_error']);

export function classifySlackError(err: unknown): SlackFailure {
  if (err instanceof WebAPIRateLimitedError) {
    return { kind: 'rate-limited', retryAfterMs: Math.max(1, err.retryAfter) * 1000, error: 'ratelimited' };
  }
  if (err instanceof WebAPIPlatformError) {
    const error = err.data.error;
    if (PERMANENT_SLACK_ERRORS.has(error)) return { kind: 'permanent', error };
    return { kind: 'transient', error, uncertain: MAYBE_ACTED.has(error) };
  }
  if (err instanceof WebAPIHTTPError) {
    // Slack only uses 200 and 429; a 5xx is an outage (it may have acted), anything else a wrong URL.
    if (err.statusCode >= 500) return { kind: 'transient', error: `http_${err.statusCode}`, uncertain: true };
    return { kind: 'permanent', error: `http_${err.statusCode}` };
  }
  if (err instanceof WebAPIRequestError) {
    return { kind: 'transient', error: `request_failed: ${err.original.message}`, uncertain: true };
  }
  return { kind: 'transient', error: err instanceof Error ? err.message : String(err), uncertain: true };
}

/** A Slack call failed; carries the classification up to the queue processor. */
export class SlackCallError extends Error {
  constructor(
    readonly method: string,
    readonly failure: SlackFailure,
    readonly original: unknown,
  ) {
    super(`${method}: ${failure.error}`);
    this.name = 'SlackCallError';
  }
}
