// The web process's non-Slack HTTP routes: health, readiness, metrics and the GitHub webhook. Written as
// plain node:http handlers so the same table serves Bolt's HTTPReceiver (customRoutes) and, in Socket
// Mode, a small standalone server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verify } from '@octokit/webhooks-methods';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';

export interface Route {
  path: string;
  method: string;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface GithubDelivery {
  deliveryId: string;
  event: string;
  payload: unknown;
}

export interface RouteDeps {
  logger: Logger;
  metrics: Metrics;
  /** Readiness: resolves when the process can do its work (Redis reachable, ...). */
  ready: () => Promise<boolean>;
  github?: {
    secret: string;
    /** Hands a verified delivery to the queue; 'duplicate' when this delivery id was seen before. */
    accept: (delivery: GithubDelivery) => Promise<'queued' | 'duplicate'>;
    /** Records a rejected delivery in the audit stream. */
    rejected: (reason: string, deliveryId: string | undefined) => Promise<void>;
  };
}

const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024; // GitHub caps payloads at 25 MB

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('payload too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function buildRoutes(deps: RouteDeps): Route[] {
  const routes: Route[] = [
    { path: '/healthz', method: 'GET', handler: (_req, res) => send(res, 200, 'ok\n') },
    {
      path: '/readyz',
      method: 'GET',
      handler: (_req, res) => {
        deps
          .ready()
          .then((ok) => send(res, ok ? 200 : 503, ok ? 'ready\n' : 'not ready\n'))
          .catch(() => send(res, 503, 'not ready\n'));
      },
    },
    {
      path: '/metrics',
      method: 'GET',
      handler: (_req, res) => {
        deps.metrics.registry
          .metrics()
          .then((text) => send(res, 200, text, deps.metrics.registry.contentType))
          .catch((err: unknown) => send(res, 500, String(err)));
      },
    },
  ];
  const github = deps.github;
  if (github) {
    routes.push({
      path: '/github/webhook',
      method: 'POST',
      handler: (req, res) => {
        void handleGithubWebhook(req, res, github, deps).catch((err: unknown) => {
          deps.logger.error({ err }, 'github webhook handling failed');
          if (!res.headersSent) send(res, 500, 'internal error\n');
        });
      },
    });
  }
  return routes;
}

async function handleGithubWebhook(
  req: IncomingMessage,
  res: ServerResponse,
  github: NonNullable<RouteDeps['github']>,
  deps: RouteDeps,
): Promise<void> {
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const deliveryId = header('x-github-delivery');
  const event = header('x-github-event');
  const signature = header('x-hub-signature-256');
  const reject = async (status: number, reason: string): Promise<void> => {
    deps.metrics.webhooks.inc({ source: 'github', outcome: 'rejected' });
    deps.logger.warn({ deliveryId, event, reason }, 'github webhook rejected');
    await github.rejected(reason, deliveryId);
    send(res, status, `${reason}\n`);
  };
  let raw: Buffer;
  try {
    raw = await readRawBody(req, MAX_WEBHOOK_BYTES);
  } catch {
    return reject(413, 'payload too large');
  }
  // The signature covers the exact bytes GitHub sent: verify before parsing anything.
  if (!signature || !(await verify(github.secret, raw.toString('utf8'), signature).catch(() => false))) {
    return reject(401, 'invalid signature');
  }
  if (!deliveryId || !event) return reject(400, 'missing X-GitHub-Delivery or X-GitHub-Event');
  let payload: unknown;
  try {
    payload = JSON.parse(raw.toString('utf8'));
  } catch {
    return reject(400, 'body is not JSON');
  }
  const outcome = await github.accept({ deliveryId, event, payload });
  deps.metrics.webhooks.inc({ source: 'github', outcome: outcome === 'queued' ? 'accepted' : 'duplicate' });
  send(res, 202, `${outcome}\n`);
}
