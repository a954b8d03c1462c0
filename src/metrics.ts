// Prometheus metrics served on /metrics by both processes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  slashCommands: Counter<'command' | 'outcome'>;
  ackSeconds: Histogram<'command'>;
  jobs: Counter<'queue' | 'kind' | 'outcome'>;
  webhooks: Counter<'source' | 'outcome'>;
  refusedRequests: Counter<'route' | 'reason'>;
  promotions: Counter<'environment' | 'outcome'>;
  kubernetesRequests: Counter<'verb'>;
  /** Delivery metrics of prod from the audit stream, per window `7d|30d|90d` (src/audit/delivery.ts). */
  dora: DoraGauges;
}

export interface DoraGauges {
  deployments: Gauge<'window'>;
  deploymentsPerDay: Gauge<'window'>;
  leadTimeSeconds: Gauge<'window'>;
  changeFailureRatio: Gauge<'window'>;
  timeToRestoreSeconds: Gauge<'window'>;
  refreshedAt: Gauge;
}

function doraGauges(registry: Registry): DoraGauges {
  const gauge = (name: string, help: string): Gauge<'window'> =>
    new Gauge({ name, help, labelNames: ['window'], registers: [registry] });
  return {
    deployments: gauge(
      'chatops_dora_deployments',
      'Successful prod promotions in the window (deployment count).',
    ),
    deploymentsPerDay: gauge(
      'chatops_dora_deployments_per_day',
      'Deployment frequency: successful prod promotions per day over the window.',
    ),
    leadTimeSeconds: gauge(
      'chatops_dora_lead_time_seconds',
      'Median lead time of the window, from the freight entering the pipeline to prod success (absent without data).',
    ),
    changeFailureRatio: gauge(
      'chatops_dora_change_failure_ratio',
      'Failed (Failed/Errored) ÷ finished prod promotions in the window; aborts and rejected approvals not counted (absent without data).',
    ),
    timeToRestoreSeconds: gauge(
      'chatops_dora_time_to_restore_seconds',
      'Median time from a failed prod promotion to the next successful one, over incidents restored in the window (absent without data).',
    ),
    refreshedAt: new Gauge({
      name: 'chatops_dora_last_refresh_timestamp_seconds',
      help: 'When the delivery metrics were last computed from the audit stream (Unix time; 0 = never in this process).',
      registers: [registry],
    }),
  };
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
    dora: doraGauges(registry),
  };
}
