// GitHub webhook deliveries, verified by the web process and queued under their X-GitHub-Delivery id
// (a redelivery enqueues nothing new while the job is kept). The worker routes them to run following and
// approvals.
export const GITHUB_EVENTS_QUEUE = 'github-events';

export interface GithubEventJob {
  deliveryId: string;
  event: string;
  payload: unknown;
}

/**
 * Retries with backoff for transient failures. A finished job (payloads are 10–25 KB) is dropped after an
 * hour; what recognises a redelivery is the small delivery marker below, not the job.
 */
export const GITHUB_EVENT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential' as const, delay: 2000 },
  removeOnComplete: { age: 3600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 1_000 },
};

/** GitHub lets a delivery be redelivered for 3 days: the marker that makes a redelivery a no-op lives that long. */
export const DELIVERY_MARKER_TTL_SECONDS = 3 * 24 * 3600;
export const deliveryMarkerKey = (prefix: string, deliveryId: string): string =>
  `${prefix}:github-delivery:${deliveryId}`;
