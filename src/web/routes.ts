// The private HTTP routes every process serves on its non-public port: liveness, readiness and the
// Prometheus metrics. Never exposed to the internet (see the README's security section): metrics name
// routes, refusal reasons and queue sizes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../metrics.js';

export interface PrivateRouteDeps {
  metrics: Metrics;
  /** Readiness: resolves when the process can do its work (Redis reachable, ...). */
  ready: () => Promise<boolean>;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export function privateRoutes(deps: PrivateRouteDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return send(res, 405, 'method not allowed\n');
    switch (path) {
      case '/healthz':
        return send(res, 200, 'ok\n');
      case '/readyz':
        return void deps
          .ready()
          .then((ok) => send(res, ok ? 200 : 503, ok ? 'ready\n' : 'not ready\n'))
          .catch(() => send(res, 503, 'not ready\n'));
      case '/metrics':
        return void deps.metrics.registry
          .metrics()
          .then((text) => send(res, 200, text, deps.metrics.registry.contentType))
          .catch((err: unknown) => send(res, 500, String(err)));
      default:
        return send(res, 404, 'not found\n');
    }
  };
}
