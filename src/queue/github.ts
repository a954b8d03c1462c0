// GitHub webhook deliveries, verified by the web process and queued under their X-GitHub-Delivery id
// (a redelivery enqueues nothing new). The worker that follows runs from them arrives with the
// run-following feature; until then deliveries are acknowledged, recorded and logged.
export const GITHUB_EVENTS_QUEUE = 'github-events';

export interface GithubEventJob {
  deliveryId: string;
  event: string;
  payload: unknown;
}
