// The whole bot on real components for end-to-end tests: the web and worker processes on real Redis,
// Kargo on the envtest API server (the bot authenticated as its ServiceAccount), the Slack and GitHub
// stand-ins at the boundaries. Tests drive it with signed Slack requests and play Kargo's controller.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { Redis } from 'ioredis';
import pino from 'pino';
import { AuditLog } from '../../src/audit/stream.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import type { AuditRecord } from '../../src/domain/audit.js';
import { KubernetesKargoGateway } from '../../src/kargo/client.js';
import { startWeb, type RunningProcess } from '../../src/processes/web.js';
import { startWorker, type WorkerOptions } from '../../src/processes/worker.js';
import { SlackStandIn, type StandInMessage } from '../../src/sandbox/slack-standin.js';
import { blockActionsBody, newTriggerId, signedSlackRequest } from '../../src/sandbox/slack-requests.js';
import { postSlashCommand } from './web-process.js';
import { PROJECT_NAMESPACE, repoRoot, type Envtest } from './envtest.js';
import { REDIS_URL } from './redis.js';

export const SIGNING_SECRET = 'integration-signing-secret-0123456789';
export const WEBHOOK_SECRET = 'integration-webhook-secret-0123456789';
export const CHANNELS = { deployments: 'C0DEPLOYS', alerts: 'C0ALERTS', audit: 'C0AUDIT' } as const;
const GROUP = 'kargo.akuity.io';
const VERSION = 'v1alpha1';
const NS = PROJECT_NAMESPACE;
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export const fakeSha = (seed: string): string =>
  Buffer.from(seed.padEnd(20, '.')).toString('hex').slice(0, 40);
export const VERIFIED_FREIGHT = fakeSha('verified-freight');
export const FRESH_FREIGHT = fakeSha('fresh-freight');

export interface PromotionObject {
  metadata: { name: string; annotations: Record<string, string>; creationTimestamp?: string };
  spec: { stage: string; freight: string; steps: Array<{ as: string }> };
}

export async function eventually<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

export const textOf = (m: Pick<StandInMessage, 'text' | 'blocks'>): string =>
  `${m.text}\n${JSON.stringify(m.blocks ?? [])}`;
export const keyOf = (m: StandInMessage): string =>
  String((m.metadata as { event_payload?: { key?: string } } | undefined)?.event_payload?.key ?? '');

export interface Harness {
  prefix: string;
  config: Config;
  slack: SlackStandIn;
  web: RunningProcess;
  worker: RunningProcess;
  redis: Redis;
  admin: CustomObjectsApi;
  send(
    command: string,
    text: string,
    user: string,
    opts?: { triggerId?: string; responseUrl?: string; secret?: string; timestamp?: number },
  ): Promise<{ status: number; text: string }>;
  /**
   * A signed click on `button` by `user`: on a message in `channel` (answered through a response_url), or
   * on the Home tab (`'home'`: Slack sends no channel and no response_url).
   */
  click(
    user: string,
    button: { action_id: string; value?: string },
    where: { channel: string } | 'home',
  ): Promise<number>;
  promotions(): Promise<PromotionObject[]>;
  setPromotionStatus(name: string, status: object): Promise<void>;
  auditRecords(): Promise<AuditRecord[]>;
  /** The live card messages in #infra-deployments (not success lines or thread replies). */
  cardMessages(): StandInMessage[];
  stop(): Promise<void>;
}

export interface HarnessOptions {
  env: Record<string, string>;
  worker?: Omit<WorkerOptions, 'kargo'>;
}

/** A Freight object of this repository's Warehouse, as Kargo's controller creates it on discovery. */
export function freightObject(name: string, alias: string, discoveredAt: string, message: string) {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Freight',
    metadata: { name, namespace: NS, labels: { 'kargo.akuity.io/alias': alias } },
    alias,
    origin: { kind: 'Warehouse', name: 'gitops-infra' },
    discoveredAt,
    commits: [
      {
        repoURL: 'https://github.com/acme/gitops-infra-pipeline.git',
        id: fakeSha(`commit-${alias}`),
        branch: 'main',
        message,
        author: 'Dana Dev <dana@example.com>',
      },
    ],
  };
}

/** A Kargo resource of the project's namespace, as CustomObjectsApi takes it: `kargo('promotions')`. */
export const kargo = (plural: string) => ({ group: GROUP, version: VERSION, namespace: NS, plural });

/** Seeds this repository's own Warehouse and Stages plus two Freight: one verified in dev, one fresh. */
export async function seedKargo(envtest: Envtest): Promise<void> {
  const admin = envtest.adminKubeConfig.makeApiClient(CustomObjectsApi);
  await envtest.apply(path.join(repoRoot, 'kargo', 'warehouse.yaml'));
  await envtest.apply(path.join(repoRoot, 'kargo', 'stages.yaml'));
  const freight = freightObject;
  await admin.createNamespacedCustomObject({
    ...kargo('freights'),
    body: freight(VERIFIED_FREIGHT, 'frozen-tauntaun', '2026-11-26T10:00:00Z', 'Tighten prod egress'),
  });
  await admin.createNamespacedCustomObject({
    ...kargo('freights'),
    body: freight(FRESH_FREIGHT, 'brave-wampa', '2026-11-27T09:00:00Z', 'Bump EKS to 1.35'),
  });
  // Kargo's part: frozen-tauntaun passed dev (verified there), brave-wampa is brand new.
  await admin.patchNamespacedCustomObjectStatus(
    {
      ...kargo('freights'),
      name: VERIFIED_FREIGHT,
      body: {
        status: {
          verifiedIn: { dev: { verifiedAt: '2026-11-26T11:00:00Z' } },
          currentlyIn: { dev: { since: '2026-11-26T10:30:00Z' } },
        },
      },
    },
    mergePatch,
  );
}

export async function startHarness(envtest: Envtest, options: HarnessOptions): Promise<Harness> {
  const prefix = `it-${randomBytes(4).toString('hex')}`;
  const admin = envtest.adminKubeConfig.makeApiClient(CustomObjectsApi);
  const slack = await SlackStandIn.start({ rateLimits: false });
  const redis = new Redis(REDIS_URL);
  const audit = new AuditLog({ connection: redis, prefix });
  const config = loadConfig({
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    SLACK_CHANNEL_DEPLOYMENTS: CHANNELS.deployments,
    SLACK_CHANNEL_ALERTS: CHANNELS.alerts,
    SLACK_CHANNEL_AUDIT: CHANNELS.audit,
    GITHUB_REPOSITORY: 'acme/gitops-infra-pipeline',
    REDIS_URL,
    REDIS_PREFIX: prefix,
    ...options.env,
  });
  const logger = pino({ level: 'warn' });
  const gateway = new KubernetesKargoGateway({ kubeConfig: envtest.botKubeConfig, project: NS });
  const worker = await startWorker(config, logger, {
    port: 0,
    kargo: gateway,
    slackLimiter: { max: 20, duration: 1000 },
    // A job still waiting on a dead dependency when a test ends is cut off rather than waited for.
    shutdownGraceMs: 3_000,
    ...options.worker,
  });
  const web = await startWeb(config, logger, { port: 0, metricsPort: 0 });

  const send: Harness['send'] = (command, text, user, opts = {}) =>
    postSlashCommand(
      web.port,
      opts.secret ?? SIGNING_SECRET,
      {
        command,
        text,
        userId: user,
        channelId: CHANNELS.deployments,
        triggerId: opts.triggerId ?? newTriggerId(),
        responseUrl: opts.responseUrl ?? slack.createResponseUrl({ channel: CHANNELS.deployments, user }),
      },
      opts.timestamp,
    );

  const click: Harness['click'] = async (user, button, where) => {
    const place =
      where === 'home'
        ? { container: { type: 'view', view_id: 'V0HOME' }, view: { id: 'V0HOME', type: 'home' } }
        : {
            container: { type: 'message', channel_id: where.channel, is_ephemeral: true },
            channel: { id: where.channel },
            response_url: slack.createResponseUrl({ channel: where.channel, user }),
          };
    const body = blockActionsBody({
      type: 'block_actions',
      user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: 'T0SANDBOX' },
      api_app_id: 'A0SANDBOX',
      token: 'deprecated',
      trigger_id: newTriggerId(),
      team: { id: 'T0SANDBOX', domain: 'sandbox' },
      ...place,
      actions: [
        {
          action_id: button.action_id,
          block_id: 'b',
          ...(button.value !== undefined ? { value: button.value } : {}),
          type: 'button',
          action_ts: `${Date.now() / 1000}`,
        },
      ],
    });
    const signed = signedSlackRequest(SIGNING_SECRET, body);
    const res = await fetch(`http://127.0.0.1:${web.port}/slack/events`, {
      method: 'POST',
      headers: signed.headers,
      body,
    });
    await res.arrayBuffer();
    return res.status;
  };

  return {
    prefix,
    config,
    slack,
    web,
    worker,
    redis,
    admin,
    send,
    click,
    promotions: async () =>
      ((await admin.listNamespacedCustomObject(kargo('promotions'))) as { items: PromotionObject[] }).items,
    setPromotionStatus: async (name, status) => {
      await admin.patchNamespacedCustomObjectStatus(
        { ...kargo('promotions'), name, body: { status } },
        mergePatch,
      );
    },
    auditRecords: async () => (await audit.read({ count: 5000 })).map((e) => e.record),
    cardMessages: () =>
      slack.messages(CHANNELS.deployments).filter((m) => m.bot_id && keyOf(m).startsWith('card-')),
    stop: async () => {
      await web.stop();
      await worker.stop();
      await slack.close();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
