// The web process's public HTTP edge: one request listener for every route, in front of Bolt.
//
//   POST /slack/events    (HTTP mode) bounded read → Slack signature (±5 min) → payload shape → Bolt
//   POST /github/webhook  header shapes → bounded read → X-Hub-Signature-256 → JSON object → queue
//   GET  /healthz /readyz liveness and readiness (probes); /metrics is served on the private metrics port
//
// Everything before the signature check is bounded (body.ts) and costs no storage (refusals.ts); what
// fails after it is authenticated and gets a 400 with its reason. Answers to refused requests close the
// connection, so a sender cannot keep streaming a body nobody reads.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { verify } from '@octokit/webhooks-methods';
import type { Logger } from 'pino';
import { BodySlots, readBoundedBody, type BodyLimits } from './body.js';
import { parseJsonObject } from './json.js';
import type { EdgeRoute, RefusalTracker } from './refusals.js';
import { checkSlackPayload } from './slack-payload.js';
import type { SlackDelivery } from '../slack/edge-receiver.js';
import { verifySlackSignature } from './slack-signature.js';

export interface GithubDelivery {
  deliveryId: string;
  event: string;
  payload: Record<string, unknown>;
}

export interface EdgeLimits {
  /** Largest Slack request body (bytes). */
  slackMaxBytes: number;
  /** Largest GitHub delivery (bytes). */
  githubMaxBytes: number;
  /** Unauthenticated bodies read at the same time, across routes. */
  concurrentBodies: number;
  /** Time to receive a whole body (ms). */
  bodyTimeoutMs: number;
}

export const DEFAULT_EDGE_LIMITS: EdgeLimits = {
  slackMaxBytes: 256 * 1024,
  githubMaxBytes: 512 * 1024,
  concurrentBodies: 16,
  bodyTimeoutMs: 10_000,
};

export interface EdgeDeps {
  logger: Logger;
  refusals: RefusalTracker;
  limits: EdgeLimits;
  /** Readiness: resolves true when the process can do its work (Redis reachable, ...). */
  ready: () => Promise<boolean>;
  slack?: {
    signingSecret: string;
    /** Hands a verified, parsed request to the Slack app (src/slack/edge-receiver.ts). */
    dispatch: (delivery: SlackDelivery, res: ServerResponse) => void;
    /** A signed request whose content is malformed; `userId` when the payload names its sender. */
    malformed: (reason: string, userId: string | undefined) => void;
  };
  github?: {
    secret: string;
    /** Queues a verified delivery; 'duplicate' when this delivery id was seen before. */
    accept: (delivery: GithubDelivery) => Promise<'queued' | 'duplicate'>;
  };
  onGithubOutcome?: (outcome: 'accepted' | 'duplicate' | 'refused') => void;
}

/** The one path Slack sends to: slash commands, interactivity and events (slack-app-manifest.yaml). */
export const SLACK_EVENTS_PATH = '/slack/events' satisfies EdgeRoute;

/** X-GitHub-Delivery is a GUID; accept any short token of that alphabet, nothing the bot could not key on. */
const DELIVERY_ID = /^[A-Za-z0-9-]{1,64}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;
const GITHUB_SIGNATURE = /^sha256=[0-9a-f]{64}$/;

function answer(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(`${text}\n`);
}

/** Answers and closes the connection: the rest of a refused body is never read. */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, text: string, extra = {}): void {
  answer(res, status, text, { connection: 'close', ...extra });
  res.once('finish', () => req.socket.destroy());
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

export function createEdge(deps: EdgeDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const slots = new BodySlots(deps.limits.concurrentBodies);
  const refused = (
    route: EdgeRoute,
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    reason: string,
  ): void => {
    deps.refusals.refused(route, reason);
    if (route === '/github/webhook') deps.onGithubOutcome?.('refused');
    refuse(req, res, status, reason, status === 503 ? { 'retry-after': '1' } : {});
  };

  /** Reads a body in one of the bounded slots; undefined when refused (already answered). */
  async function boundedBody(
    route: EdgeRoute,
    req: IncomingMessage,
    res: ServerResponse,
    limits: BodyLimits,
  ): Promise<Buffer | undefined> {
    if (!slots.tryAcquire()) {
      refused(route, req, res, 503, 'too many requests in flight');
      return undefined;
    }
    try {
      const body = await readBoundedBody(req, limits);
      if (body.ok) return body.body;
      refused(route, req, res, body.reason === 'body too large' ? 413 : 400, body.reason);
      return undefined;
    } finally {
      slots.release();
    }
  }

  async function slackEvents(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const slack = deps.slack;
    if (!slack) return answer(res, 404, 'not found');
    const route = SLACK_EVENTS_PATH;
    const body = await boundedBody(route, req, res, {
      maxBytes: deps.limits.slackMaxBytes,
      timeoutMs: deps.limits.bodyTimeoutMs,
    });
    if (!body) return;
    const signature = verifySlackSignature(slack.signingSecret, req.headers, body);
    if (!signature.ok) return refused(route, req, res, 401, signature.reason);
    const shape = checkSlackPayload(body, header(req, 'content-type'));
    if (!shape.ok) {
      slack.malformed(shape.reason, shape.userId);
      return answer(res, 400, `malformed Slack request: ${shape.reason}`);
    }
    const retryNum = Number.parseInt(header(req, 'x-slack-retry-num') ?? '', 10);
    const retryReason = header(req, 'x-slack-retry-reason');
    slack.dispatch(
      {
        body: shape.body,
        ...(Number.isFinite(retryNum) ? { retryNum } : {}),
        ...(retryReason !== undefined ? { retryReason: retryReason.slice(0, 64) } : {}),
      },
      res,
    );
  }

  async function githubWebhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const github = deps.github;
    if (!github) return answer(res, 404, 'not found');
    const route = '/github/webhook';
    const deliveryId = header(req, 'x-github-delivery');
    const event = header(req, 'x-github-event');
    const signature = header(req, 'x-hub-signature-256');
    // Shapes first, before a byte of the body is read: these values become queue ids and log fields.
    if (signature === undefined) return refused(route, req, res, 401, 'missing signature');
    if (!GITHUB_SIGNATURE.test(signature)) return refused(route, req, res, 401, 'malformed signature');
    if (deliveryId === undefined || event === undefined) {
      return refused(route, req, res, 400, 'missing X-GitHub-Delivery or X-GitHub-Event');
    }
    if (!DELIVERY_ID.test(deliveryId)) return refused(route, req, res, 400, 'malformed X-GitHub-Delivery');
    if (!EVENT_NAME.test(event)) return refused(route, req, res, 400, 'malformed X-GitHub-Event');
    const body = await boundedBody(route, req, res, {
      maxBytes: deps.limits.githubMaxBytes,
      timeoutMs: deps.limits.bodyTimeoutMs,
    });
    if (!body) return;
    const text = body.toString('utf8');
    // The signature covers the exact bytes GitHub sent: verify before parsing anything.
    const valid = await verify(github.secret, text, signature).catch(() => false);
    if (!valid) return refused(route, req, res, 401, 'bad signature');
    const parsed = parseJsonObject(text);
    if (!parsed.ok) {
      deps.logger.warn({ deliveryId, event, reason: parsed.reason }, 'signed GitHub delivery is malformed');
      deps.onGithubOutcome?.('refused');
      return answer(res, 400, `malformed delivery: ${parsed.reason}`);
    }
    try {
      const outcome = await github.accept({
        deliveryId,
        event,
        payload: parsed.value as Record<string, unknown>,
      });
      deps.onGithubOutcome?.(outcome === 'queued' ? 'accepted' : 'duplicate');
      answer(res, 202, outcome);
    } catch (err) {
      // Authenticated and well-formed, but it could not be stored: GitHub shows the failure and the
      // delivery can be redelivered; nothing is half-accepted.
      deps.logger.error({ err, deliveryId, event }, 'could not queue a GitHub delivery');
      answer(res, 503, 'could not queue the delivery; redeliver it later', { 'retry-after': '30' });
    }
  }

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const method = req.method ?? 'GET';
    const run = (handler: () => Promise<void>): void => {
      handler().catch((err: unknown) => {
        deps.logger.error({ err, path }, 'request handling failed');
        answer(res, 500, 'internal error');
      });
    };
    if (path === '/healthz' && method === 'GET') return answer(res, 200, 'ok');
    if (path === '/readyz' && method === 'GET') {
      return run(async () => {
        const ok = await deps.ready().catch(() => false);
        answer(res, ok ? 200 : 503, ok ? 'ready' : 'not ready');
      });
    }
    if (path === SLACK_EVENTS_PATH && deps.slack) {
      if (method !== 'POST') return refuse(req, res, 405, 'method not allowed', { allow: 'POST' });
      return run(() => slackEvents(req, res));
    }
    if (path === '/github/webhook' && deps.github) {
      if (method !== 'POST') return refuse(req, res, 405, 'method not allowed', { allow: 'POST' });
      return run(() => githubWebhook(req, res));
    }
    refuse(req, res, 404, 'not found');
  };
}
