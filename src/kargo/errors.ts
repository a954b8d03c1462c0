// Maps what the Kubernetes API server (and Kargo's admission webhooks behind it) answers to ChatOpsError
// codes (kargo-api.md §2.3). Kargo wraps some denials oddly — a missing `promote` verb arrives as a 500
// InternalError — so messages are matched as well as status codes. Pure: no I/O.
import { ChatOpsError, ErrorCode } from '../domain/errors.js';

/** The parts of a metav1.Status the mapping looks at. */
export interface KubeStatus {
  code?: number;
  reason?: string;
  message?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: Array<{ reason?: string; message?: string; field?: string }>;
  };
}

/** What the failing call was about, so a 404 can say which thing is missing. */
export interface ErrorContext {
  /** Short description of the call, e.g. `create Promotion for Stage "prod"`. */
  operation: string;
  /** The object the call addressed: a 404 on it maps to its own "not found" code. */
  resource?: 'stage' | 'freight' | 'promotion';
  name?: string;
}

/** Node/undici/node-fetch error codes that mean "could not reach the API server (this time)". */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

const NOT_PERMITTED_TO_PROMOTE = /is not permitted to \w+ Promotions for Stage/i;
const FREIGHT_NOT_AVAILABLE = /Freight\b.*\bis not available to (this )?Stage/i;
const STAGE_NOT_FOUND =
  /could not find Stage|Stage "[^"]*" not found|stages\.kargo\.akuity\.io "[^"]*" not found/i;
const NO_PROMOTION_STEPS = /defines no promotion steps/i;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** The HTTP status of an error from @kubernetes/client-node (ApiException.code, or Watch's statusCode). */
export function httpStatusOf(error: unknown): number | undefined {
  if (!isRecord(error)) return undefined;
  if (error instanceof ChatOpsError) return httpStatusOf(error.original);
  if (typeof error.code === 'number') return error.code;
  if (typeof error.statusCode === 'number') return error.statusCode;
  return undefined;
}

/**
 * The metav1.Status carried by an error: ApiException.body is the raw response text in client-node 1.x
 * (JSON for API errors), or already an object; a watch ERROR event carries the Status object itself.
 */
export function statusOf(error: unknown): KubeStatus | undefined {
  if (!isRecord(error)) return undefined;
  if (error instanceof ChatOpsError) return statusOf(error.original);
  if (error.kind === 'Status') return error as KubeStatus;
  const body = error.body;
  if (isRecord(body)) return body as KubeStatus;
  if (typeof body === 'string' && body.trim().startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(body);
      if (isRecord(parsed)) return parsed as KubeStatus;
    } catch {
      // not JSON: fall through
    }
  }
  return undefined;
}

export const isNotFound = (error: unknown): boolean => httpStatusOf(error) === 404;
export const isAlreadyExists = (error: unknown): boolean =>
  httpStatusOf(error) === 409 && (statusOf(error)?.reason ?? 'AlreadyExists') === 'AlreadyExists';

/** 410 Gone / "too old resource version": the watch must re-list. */
export function isGone(error: unknown): boolean {
  if (httpStatusOf(error) === 410) return true;
  const status = statusOf(error);
  if (status?.code === 410 || status?.reason === 'Expired' || status?.reason === 'Gone') return true;
  const message = status?.message ?? (error instanceof Error ? error.message : '');
  return /too old resource version|resourceVersion for the provided (list|watch) is too old/i.test(message);
}

/**
 * True for transport failures (nothing was answered), which are worth retrying. client-node 2.x uses the
 * platform fetch (undici): a refused or reset connection surfaces as `TypeError: fetch failed` whose
 * `cause` (sometimes one level deeper) carries the system error code.
 */
export function isNetworkError(error: unknown, depth = 0): boolean {
  if (!isRecord(error) || depth > 3) return false;
  if (typeof error.code === 'string' && NETWORK_CODES.has(error.code)) return true;
  const name = typeof error.name === 'string' ? error.name : '';
  if (name === 'FetchError' || name === 'AbortError' || name === 'TimeoutError') return true;
  if (error.type === 'system' || error.type === 'request-timeout') return true;
  return isNetworkError(error.cause, depth + 1);
}

function describe(status: KubeStatus | undefined, error: unknown): string {
  const message = status?.message ?? (error instanceof Error ? error.message.split('\n')[0] : String(error));
  return message ?? 'unknown error';
}

/**
 * Turns any error from a Kubernetes call into a ChatOpsError. Already-mapped errors pass through.
 *
 * | answer | code |
 * |---|---|
 * | webhook: `subject … is not permitted to create Promotions for Stage …` (a 500, or 403) | KargoRejected (the bot lacks `promote`) |
 * | "Freight is not available to this Stage" / 422 on `spec.freight` | FreightNotAvailable |
 * | "could not find Stage" / 422 on `spec.stage` | StageNotFound |
 * | "defines no promotion steps" | KargoRejected (the Stage exists but cannot be promoted) |
 * | 404 on the addressed stage / freight | StageNotFound / FreightNotFound |
 * | 401, 403, 400, other 404, other 422 (schema, CEL) | KargoRejected (permanent) |
 * | 408, 409 (conflict), 429, 5xx, transport errors | KargoUnavailable (transient, retried) |
 */
export function toChatOpsError(error: unknown, context: ErrorContext): ChatOpsError {
  if (error instanceof ChatOpsError) return error;
  const code = httpStatusOf(error) ?? statusOf(error)?.code;
  const status = statusOf(error);
  const message = describe(status, error);
  const causes = status?.details?.causes ?? [];
  const texts = [message, ...causes.map((c) => c.message ?? '')].join('\n');
  const what = context.operation;
  const fieldIs = (prefix: string) =>
    causes.some((c) => c.field === prefix || c.field?.startsWith(`${prefix}.`));

  if (code === undefined) {
    if (isNetworkError(error)) {
      return new ChatOpsError(
        ErrorCode.KargoUnavailable,
        `Kubernetes API unreachable (${what}): ${message}`,
        error,
      );
    }
    return new ChatOpsError(ErrorCode.Internal, `${what} failed: ${message}`, error);
  }

  // Kargo's validating webhook returns NewInternalError(NewForbidden(...)) when the SubjectAccessReview for
  // the custom `promote` verb fails: a 500 that must NOT be retried. Match the message, not the code.
  if (NOT_PERMITTED_TO_PROMOTE.test(texts)) {
    return new ChatOpsError(
      ErrorCode.KargoRejected,
      `Kargo refused (${what}): the bot's ServiceAccount lacks the "promote" verb on this Stage — ${message}`,
      error,
    );
  }
  if (FREIGHT_NOT_AVAILABLE.test(texts)) {
    return new ChatOpsError(ErrorCode.FreightNotAvailable, `Kargo refused (${what}): ${message}`, error);
  }
  if (NO_PROMOTION_STEPS.test(texts)) {
    return new ChatOpsError(ErrorCode.KargoRejected, `Kargo refused (${what}): ${message}`, error);
  }
  if (STAGE_NOT_FOUND.test(texts)) {
    return new ChatOpsError(ErrorCode.StageNotFound, `Kargo refused (${what}): ${message}`, error);
  }

  if (code === 422 || code === 400) {
    if (fieldIs('spec.freight')) {
      return new ChatOpsError(ErrorCode.FreightNotAvailable, `Kargo refused (${what}): ${message}`, error);
    }
    if (fieldIs('spec.stage')) {
      return new ChatOpsError(ErrorCode.StageNotFound, `Kargo refused (${what}): ${message}`, error);
    }
    return new ChatOpsError(ErrorCode.KargoRejected, `Kubernetes rejected (${what}): ${message}`, error);
  }
  if (code === 404) {
    const kind = status?.details?.kind;
    if (context.resource === 'stage' && (kind === undefined || kind === 'stages')) {
      return new ChatOpsError(ErrorCode.StageNotFound, `Stage "${context.name ?? '?'}" not found`, error);
    }
    if (context.resource === 'freight' && (kind === undefined || kind === 'freights')) {
      return new ChatOpsError(ErrorCode.FreightNotFound, `Freight "${context.name ?? '?'}" not found`, error);
    }
    return new ChatOpsError(ErrorCode.KargoRejected, `Kubernetes: not found (${what}): ${message}`, error);
  }
  if (code === 401) {
    return new ChatOpsError(
      ErrorCode.KargoRejected,
      `Kubernetes rejected the bot's credentials (${what}): 401 Unauthorized`,
      error,
    );
  }
  if (code === 403) {
    return new ChatOpsError(
      ErrorCode.KargoRejected,
      `Kubernetes RBAC denied the bot (${what}): ${message}`,
      error,
    );
  }
  if (code === 408 || code === 409 || code === 429 || code >= 500) {
    return new ChatOpsError(
      ErrorCode.KargoUnavailable,
      `Kubernetes API error ${code} (${what}): ${message}`,
      error,
    );
  }
  return new ChatOpsError(
    ErrorCode.KargoRejected,
    `Kubernetes API error ${code} (${what}): ${message}`,
    error,
  );
}
