// Shared pieces of the GitHub tests: the stand-in, real Octokit clients built by createGithubClient (App and
// PAT auth), a logger whose lines the test can read, a webhook receiver, and the JSON Schemas of
// @octokit/webhooks-schemas. Nothing here imitates our own code: the clients, the plugins and the stand-in
// are the real ones.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import * as addFormatsModule from 'ajv-formats';
import { createLogger, type Logger } from '../../src/logging.js';
import { createGithubClient, type GithubClient, type GithubClientOptions } from '../../src/github/client.js';
import { GithubRuns } from '../../src/github/runs.js';
import {
  DEFAULT_STANDIN_PAT,
  GithubStandIn,
  type GithubStandInOptions,
} from '../../src/sandbox/github-standin.js';
import type { Config } from '../../src/config/load.js';

type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = (addFormatsModule as unknown as { default: AddFormats }).default;

export const WORKFLOW = 'terraform.yaml';
export const APP_ID = '424242';
export const INSTALLATION_ID = 5_550_001;

/** An RSA key pair for the test's GitHub App (PKCS#8 PEM, as GitHub hands out PKCS#1 or #8). */
export const appKeys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

/** Log lines as parsed JSON objects, plus the raw text (to look for leaked secrets). */
export interface CapturedLog {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  text: () => string;
}

export function captureLog(level = 'trace'): CapturedLog {
  const raw: string[] = [];
  const logger = createLogger({ level, destination: { write: (line: string) => void raw.push(line) } });
  return {
    logger,
    get lines() {
      return raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}

export async function startStandIn(opts: GithubStandInOptions = {}): Promise<GithubStandIn> {
  return GithubStandIn.start({
    app: { id: APP_ID, publicKey: appKeys.publicKey, installationId: INSTALLATION_ID },
    ...opts,
  });
}

export function githubConfig(
  standIn: GithubStandIn,
  auth: 'app' | 'token' | Config['github']['auth'],
): Config['github'] {
  return {
    owner: standIn.owner,
    repo: standIn.repo,
    workflow: WORKFLOW,
    apiUrl: standIn.url,
    auth:
      auth === 'app'
        ? {
            kind: 'app',
            appId: APP_ID,
            privateKey: appKeys.privateKey,
            installationId: String(INSTALLATION_ID),
          }
        : auth === 'token'
          ? { kind: 'token', token: DEFAULT_STANDIN_PAT }
          : auth,
  };
}

/** The real client, as the worker builds it; rate-limit waits scaled to 10 ms per second for speed. */
export function clientFor(
  standIn: GithubStandIn,
  auth: 'app' | 'token' | Config['github']['auth'],
  logger: Logger,
  options: Partial<GithubClientOptions> = {},
): GithubClient {
  return createGithubClient(githubConfig(standIn, auth), { logger, retryAfterUnitMs: 10, ...options });
}

export function runsFor(standIn: GithubStandIn, octokit: GithubClient, logger?: Logger): GithubRuns {
  return new GithubRuns(octokit, {
    owner: standIn.owner,
    repo: standIn.repo,
    workflow: WORKFLOW,
    ...(logger ? { logger } : {}),
  });
}

/** The promise rejects with what the call threw. */
export async function rejection(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

// ---- webhooks ------------------------------------------------------------------------------------

export interface ReceivedDelivery {
  headers: Record<string, string>;
  body: string;
}

/** A plain HTTP endpoint that records every delivery (raw body and headers) and answers 202. */
export async function startReceiver(): Promise<{
  url: string;
  received: ReceivedDelivery[];
  close: () => Promise<void>;
}> {
  const received: ReceivedDelivery[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      received.push({ headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/github/webhook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let webhookAjv: Ajv | undefined;

/** The validator of @octokit/webhooks-schemas for `event$action` (e.g. `workflow_run$completed`). */
export function webhookSchema(event: string, action: string): ValidateFunction {
  if (!webhookAjv) {
    // As the package's README sets it up: strict, ajv-formats, and its custom keyword.
    webhookAjv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
    addFormats(webhookAjv);
    webhookAjv.addKeyword('tsAdditionalProperties');
    const schema = createRequire(import.meta.url)('@octokit/webhooks-schemas') as object;
    webhookAjv.addSchema(schema, 'webhooks');
  }
  const fn = webhookAjv.getSchema(`webhooks#/definitions/${event}$${action}`);
  if (!fn) throw new Error(`@octokit/webhooks-schemas has no ${event}$${action}`);
  return fn;
}
