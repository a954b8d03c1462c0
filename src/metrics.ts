// Prometheus metrics served on /metrics by both processes.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  slashCommands: Counter<'command' | 'outcome'>;
  ackSeconds: Histogram<'command'>;
  jobs: Counter<'queue' | 'kind' | 'outcome'>;
  webhooks: Counter<'source' | 'outcome'>;
  refusedRequests: Counter<'route' | 'reason'>;
  promotions: Counter<'environment' | 'outcome'>;
  kubernetesRequests: Counter<'verb'>;
}

export function createMetrics(process: 'web' | 'worker' | 'all'): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ process });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    slashCommands: new Counter({
      name: 'chatops_slash_commands_total',
      help: 'Slash commands received, by command and outcome (queued, denied, invalid, error).',
      labelNames: ['command', 'outcome'],
      registers: [registry],
    }),
    ackSeconds: new Histogram({
      name: 'chatops_slack_ack_seconds',
      help: 'Time from receiving a Slack request to acknowledging it.',
      labelNames: ['command'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
      registers: [registry],
    }),
    jobs: new Counter({
      name: 'chatops_jobs_total',
      help: 'Queue jobs processed, by queue, kind and outcome (completed, retried, failed).',
      labelNames: ['queue', 'kind', 'outcome'],
      registers: [registry],
    }),
    webhooks: new Counter({
      name: 'chatops_webhooks_total',
      help: 'Inbound webhooks by source and outcome (accepted, duplicate, rejected).',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    kubernetesRequests: new Counter({
      name: 'chatops_kubernetes_requests_total',
      help: 'Requests the worker made to the Kubernetes API (Kargo), by verb; reads served by the informer cache are not requests.',
      labelNames: ['verb'],
      registers: [registry],
    }),
    promotions: new Counter({
      name: 'chatops_promote_requests_total',
      help: 'Promote requests handled by the worker, by environment and outcome (created, joined, already-current, not-found, not-available, cancelled).',
      labelNames: ['environment', 'outcome'],
      registers: [registry],
    }),
    refusedRequests: new Counter({
      name: 'chatops_refused_requests_total',
      help: 'Requests refused at the public edge before or at authentication, by route and reason (bad signature, body too large, ...).',
      labelNames: ['route', 'reason'],
      registers: [registry],
    }),
  };
}
