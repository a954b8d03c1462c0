// Error codes shared across the bot. Every error shown to a user or written to the audit stream carries
// one; `permanent` ones are never retried by the queue (BullMQ UnrecoverableError).

export const ErrorCode = {
  /** Input could not be parsed; nothing was enqueued. */
  BadInput: 'chatops_bad_input',
  /** The user is not allowed to do this in this environment. */
  Forbidden: 'chatops_forbidden',
  /** Four-eyes: the requester (or run trigger) may not approve their own promotion. */
  SelfApproval: 'chatops_self_approval',
  /** No freight matches the alias/name, or there is none at all. */
  FreightNotFound: 'chatops_freight_not_found',
  /** The freight exists but is not available to the stage (e.g. not verified in dev). */
  FreightNotAvailable: 'chatops_freight_not_available',
  StageNotFound: 'chatops_stage_not_found',
  /** Kargo refused the Promotion (403, 422, webhook denial). */
  KargoRejected: 'chatops_kargo_rejected',
  /** Kargo/Kubernetes could not be reached or answered 5xx: transient, retried. */
  KargoUnavailable: 'chatops_kargo_unavailable',
  SlackFailed: 'chatops_slack_failed',
  /** Someone stopped the request before it became a Promotion. */
  Cancelled: 'chatops_cancelled',
  /** The job's worker died too often: nothing is known to have been created. */
  WorkerLost: 'chatops_worker_lost',
  Internal: 'chatops_internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const PERMANENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.BadInput,
  ErrorCode.Forbidden,
  ErrorCode.SelfApproval,
  ErrorCode.FreightNotFound,
  ErrorCode.FreightNotAvailable,
  ErrorCode.StageNotFound,
  ErrorCode.KargoRejected,
  ErrorCode.Cancelled,
]);

export class ChatOpsError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly original?: unknown,
  ) {
    super(message);
    this.name = 'ChatOpsError';
  }

  get permanent(): boolean {
    return PERMANENT.has(this.code);
  }
}

export const isPermanent = (error: unknown): boolean => error instanceof ChatOpsError && error.permanent;
