// Shared by the approvals tests: real Redis (cards, audit stream, nonces, tokens, BullMQ), the GitHub
// stand-in (every request and answer checked against GitHub's OpenAPI description; deployment protection
// rules, pending deployments, the device flow), GitHub's deliveries received by the web process's real
// webhook route (signature verified on the raw body), and the bot's approval modules wired as the lead
// wires them. The only hand-built collaborators are at the Slack boundary: the card publisher renders the
// card and keeps it (the notifier's job), `notify` and `post` keep what they would send.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { AuditLog } from '../../src/audit/stream.js';
import { CardService, type CardPublisher } from '../../src/cards/service.js';
import { CardStore } from '../../src/cards/store.js';
import type { Config } from '../../src/config/load.js';
import type { AccessPolicy } from '../../src/domain/access.js';
import type { AuditRecord } from '../../src/domain/audit.js';
import { checkMessageLimits, type SlackMessage } from '../../src/domain/blockkit.js';
import { cardIdForRequest, type Card } from '../../src/domain/card.js';
import type { CardEvent } from '../../src/domain/events.js';
import { renderCard } from '../../src/domain/render.js';
import type { Actor } from '../../src/domain/types.js';
import { createGithubClient } from '../../src/github/client.js';
import { eventsFromDelivery } from '../../src/github/webhooks.js';
import { createMetrics } from '../../src/metrics.js';
import { createEdge, DEFAULT_EDGE_LIMITS } from '../../src/web/edge.js';
import { RefusalTracker } from '../../src/web/refusals.js';
import type { GithubStandIn, GithubStandInOptions } from '../../src/sandbox/github-standin.js';
import {
  parseTokenKey,
  type ApprovalMode,
  type ApprovalsConfig,
  type TokenKey,
} from '../../src/approvals/config.js';
import { DeviceLinks, GithubDeviceFlow, type ReplyTarget } from '../../src/approvals/device-flow.js';
import { userClient } from '../../src/approvals/github.js';
import type { ApprovalHandlerDeps } from '../../src/approvals/handlers.js';
import { ApprovalReminders } from '../../src/approvals/reminder.js';
import { ApprovalService } from '../../src/approvals/service.js';
import { ApprovalState } from '../../src/approvals/state.js';
import { TokenCipher, TokenStore } from '../../src/approvals/token-store.js';
import { cardForRunFrom, handleApprovalDelivery, isApprovalDelivery } from '../../src/approvals/webhook.js';
import { captureLog, githubConfig, startStandIn, type CapturedLog } from '../github/helpers.js';
import { REDIS, deleteKeys, uniquePrefix } from '../slack/test-support.js';

export const WEBHOOK_SECRET = 'approvals-webhook-secret-0123456789';
export const CLIENT_ID = 'Iv23liApprovalsTest01';
export const CLIENT_SECRET = 'approvals-client-secret-0123456789abcdef';
export const DEPLOYS = 'C0DEPLOYS';

export const JANE: Actor = { slackUserId: 'U0JANE', slackUserName: 'jane' }; // requests promotions
export const BOB: Actor = { slackUserId: 'U0BOB', slackUserName: 'bob' }; // approver
export const CAROL: Actor = { slackUserId: 'U0CAROL', slackUserName: 'carol' }; // approver, triggers runs
export const DAVE: Actor = { slackUserId: 'U0DAVE', slackUserName: 'dave', groupIds: ['S0SRE'] }; // approver by group
export const LEE: Actor = { slackUserId: 'U0LEE', slackUserName: 'lee' }; // approver in Slack, not on GitHub
export const MALLORY: Actor = { slackUserId: 'U0MALLORY', slackUserName: 'mallory' }; // nobody

export const POLICY: AccessPolicy = {
  promote: { dev: { users: [], groups: [], everyone: true }, prod: { users: ['U0JANE'], groups: [] } },
  approve: {
    dev: { users: ['U0BOB'], groups: [] },
    prod: { users: ['U0JANE', 'U0BOB', 'U0CAROL', 'U0LEE'], groups: ['S0SRE'] },
  },
  unlock: { dev: { users: [], groups: [] }, prod: { users: [], groups: [] } },
};

export const keyFor = (seed: string): TokenKey => {
  const key = parseTokenKey(Buffer.alloc(32, seed).toString('base64'), 'TEST_KEY');
  if (typeof key === 'string') throw new Error(key);
  return key;
};
export const KEY_A = keyFor('a');
export const KEY_B = keyFor('b');

export interface HarnessOptions {
  mode: ApprovalMode;
  standIn?: GithubStandInOptions;
  reminderMinutes?: number;
  /** Real ms per reminder minute. */
  minuteMs?: number;
  /** Real ms per second of the device flow's interval. */
  secondsMs?: number;
  /** Start the BullMQ workers (link polls, reminders). */
  workers?: boolean;
}

export interface Harness {
  redis: Redis;
  prefix: string;
  standIn: GithubStandIn;
  log: CapturedLog;
  audit: AuditLog;
  store: CardStore;
  cards: CardService;
  state: ApprovalState;
  cipher: TokenCipher;
  tokens: TokenStore;
  flow: GithubDeviceFlow;
  links: DeviceLinks;
  reminders: ApprovalReminders;
  service: ApprovalService;
  deps: ApprovalHandlerDeps;
  config: ApprovalsConfig;
  github: Config['github'];
  /** Bot time = stand-in time + offset (tests move it to reach token expiry). */
  clock: { offsetMs: number };
  now: () => Date;
  /** The last rendered card per card id (what Slack would show). */
  rendered: Map<string, SlackMessage>;
  /** What `notify` sent (link outcomes) and `post` posted (reminders). */
  notified: Array<{ reply: ReplyTarget; message: SlackMessage }>;
  posted: Array<SlackMessage & { key: string }>;
  webhookUrl: string;
  /** Whether the BullMQ workers (link polls, reminders) run. */
  workers: boolean;
  /** Every record of the audit stream. */
  auditRecords(): Promise<AuditRecord[]>;
  /** A promotion card for a new prod run of the stand-in, followed by the bot (run → card mapped). */
  promote(options?: {
    requestedBy?: Actor;
    actorLogin?: string;
    follow?: boolean;
  }): Promise<{ cardId: string; runId: number; promotion: string }>;
  card(cardId: string): Promise<Card>;
  /** Writes the edge's refusal summaries now (instead of at the end of the interval). */
  flushRefusals(): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const prefix = uniquePrefix(`approvals-${options.mode}`);
  const redis = new Redis({ ...REDIS, maxRetriesPerRequest: null, connectionName: `${prefix}-test` });
  const log = captureLog('trace');
  const logger = log.logger;
  const rendered = new Map<string, SlackMessage>();
  const notified: Harness['notified'] = [];
  const posted: Harness['posted'] = [];

  // The webhook receiver: the web process's real route; verified deliveries go where the lead routes them.
  let deliver: (event: string, payload: unknown, deliveryId: string) => Promise<void> = async () => undefined;
  const auditLog = new AuditLog({ connection: redis, prefix });
  const refusals = new RefusalTracker({
    counter: createMetrics('web').refusedRequests,
    audit: auditLog,
    logger,
    intervalMs: 3_600_000,
  });
  const edge = createEdge({
    logger,
    refusals,
    limits: DEFAULT_EDGE_LIMITS,
    ready: async () => true,
    github: {
      secret: WEBHOOK_SECRET,
      accept: async (d) => {
        await deliver(d.event, d.payload, d.deliveryId);
        return 'queued';
      },
    },
  });
  const server: Server = createServer(edge);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/github/webhook`;

  const standIn = await startStandIn({
    webhook: { url: webhookUrl, secret: WEBHOOK_SECRET },
    oauth: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, interval: 5, unitMs: options.secondsMs ?? 10 },
    ...options.standIn,
  });
  const clock = { offsetMs: 0 };
  const now = (): Date => new Date(standIn.now() + clock.offsetMs);
  const github = githubConfig(standIn, 'app');
  const config: ApprovalsConfig = {
    mode: options.mode,
    reminderMinutes: options.reminderMinutes ?? 30,
    tokenKeys: { current: KEY_A, previous: [] },
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    webUrl: standIn.webUrl,
  };

  const store = new CardStore(redis, prefix);
  const publisher: CardPublisher = {
    async publishCard(cardId) {
      const card = await store.load(cardId);
      if (!card) return;
      const message = renderCard(card, { now: now() });
      const problems = checkMessageLimits(message);
      if (problems.length > 0) throw new Error(`card breaks Slack's limits: ${JSON.stringify(problems)}`);
      rendered.set(cardId, message);
    },
  };
  const cards = new CardService(store, auditLog, publisher);
  const state = new ApprovalState(redis, prefix);
  const cipher = new TokenCipher(config.tokenKeys as NonNullable<ApprovalsConfig['tokenKeys']>);
  const tokens = new TokenStore({ redis, prefix, cipher, logger, now });
  const flow = new GithubDeviceFlow({
    webUrl: standIn.webUrl,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    now,
  });
  const makeUserClient = (token: string) => userClient(github, token, logger, { retryAfterUnitMs: 10 });
  const links = new DeviceLinks({
    redis,
    prefix,
    flow,
    tokens,
    cipher,
    userClient: makeUserClient,
    audit: auditLog,
    notify: async (reply, message) => {
      notified.push({ reply, message });
    },
    logger,
    now,
    secondsMs: options.secondsMs ?? 10,
  });
  const reminders = new ApprovalReminders({
    redis,
    prefix,
    minutes: options.reminderMinutes ?? 30,
    minuteMs: options.minuteMs ?? 60_000,
    cards: store,
    post: async (message) => {
      if (!posted.some((p) => p.key === message.key)) posted.push(message);
    },
    cardUrl: async (cardId) => `https://slack.com/archives/${DEPLOYS}/p${cardId.length}000001`,
    access: POLICY,
    audit: auditLog,
    logger,
    now,
  });
  if (options.workers) {
    links.startWorker();
    reminders.startWorker();
  }
  const installation = () => createGithubClient(github, { logger, retryAfterUnitMs: 10 });
  const service = new ApprovalService({
    config,
    github,
    access: POLICY,
    cards,
    state,
    tokens,
    refresher: flow.refresher(),
    installation,
    userClient: makeUserClient,
    audit: auditLog,
    reminders,
    logger,
    now,
  });
  const deps: ApprovalHandlerDeps = {
    service,
    state,
    cards: store,
    access: POLICY,
    config,
    audit: auditLog,
    links,
    tokens,
    logger,
    now,
  };
  const cardForRun = cardForRunFrom(store);
  deliver = async (event, payload, deliveryId) => {
    // What github-follow does with run and job deliveries (the card follows the run) …
    const runId =
      event === 'workflow_run'
        ? (payload as { workflow_run?: { id?: number } }).workflow_run?.id
        : event === 'workflow_job'
          ? (payload as { workflow_job?: { run_id?: number } }).workflow_job?.run_id
          : undefined;
    const cardId = runId === undefined ? undefined : await cardForRun(runId);
    if (cardId)
      await cards.recordAll(
        eventsFromDelivery(event, payload, { cardIdForRun: () => cardId }) as CardEvent[],
      );
    // … and what the lead adds: approval requests.
    if (isApprovalDelivery(event, payload)) {
      await handleApprovalDelivery(event, payload, deliveryId, {
        config,
        github,
        cardForRun,
        cards,
        state,
        audit: auditLog,
        reminders,
        installation,
        logger,
        now,
      });
    }
  };

  let seq = 0;
  const harness: Harness = {
    redis,
    prefix,
    standIn,
    log,
    audit: auditLog,
    store,
    cards,
    state,
    cipher,
    tokens,
    flow,
    links,
    reminders,
    service,
    deps,
    config,
    github,
    clock,
    now,
    rendered,
    notified,
    posted,
    webhookUrl,
    workers: options.workers === true,
    async auditRecords() {
      return (await auditLog.read({ count: 10_000 })).map((e) => e.record);
    },
    async promote(opts = {}) {
      seq += 1;
      const promotion = `prod.01kapprovals${String(seq).padStart(12, '0')}.f5f87aa`;
      const cardId = cardIdForRequest(`${prefix}-trigger-${seq}`);
      const at = new Date(standIn.now()).toISOString();
      const requestedBy = opts.requestedBy ?? JANE;
      await cards.recordAll([
        {
          type: 'PromotionRequested',
          id: `request:${cardId}`,
          cardId,
          at,
          environment: 'prod',
          stage: 'prod',
          freightQuery: `frozen-tauntaun-${seq}`,
          requestedBy,
          sourceChannelId: DEPLOYS,
        },
        {
          type: 'FreightResolved',
          id: `resolved:${cardId}`,
          cardId,
          at,
          freight: {
            name: 'f5f87aa23c9e97f43eb83dd63768ee41f5ba3766',
            alias: `frozen-tauntaun-${seq}`,
            warehouse: 'infra',
            createdAt: at,
            commits: [],
            currentlyIn: {},
            verifiedIn: {},
            approvedFor: {},
          },
        },
        {
          type: 'PromotionCreated',
          id: `created:${promotion}`,
          cardId,
          at,
          promotionName: promotion,
          stage: 'prod',
          freightName: 'f5f87aa23c9e97f43eb83dd63768ee41f5ba3766',
        },
      ]);
      const run = standIn.startRun({
        environment: 'prod',
        deployProd: true,
        promotion,
        actor: { login: opts.actorLogin ?? 'kargo-bot', id: 7_100_001, type: 'User' },
      });
      if (opts.follow !== false) {
        await store.linkRun(run.id, cardId);
        await cards.record({
          type: 'RunLinked',
          id: `run:${promotion}:${run.id}`,
          cardId,
          at,
          runId: run.id,
          runUrl: `https://github.com/${standIn.owner}/${standIn.repo}/actions/runs/${run.id}`,
        });
      }
      return { cardId, runId: run.id, promotion };
    },
    async card(cardId) {
      const card = await store.load(cardId);
      if (!card) throw new Error(`no card ${cardId}`);
      return card;
    },
    flushRefusals: () => refusals.flush(),
    async close() {
      await refusals.close();
      await links.close();
      await reminders.close();
      await standIn.stop();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await auditLog.close();
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
  return harness;
}

/** Every secret the run handed out, plus the configured ones: none may appear in logs, audit or Slack. */
export function secretsOf(h: Harness): string[] {
  return [
    ...h.standIn.issuedSecrets(),
    CLIENT_SECRET,
    KEY_A.key.toString('base64'),
    KEY_B.key.toString('base64'),
  ].filter((s) => s.length >= 8);
}

/** Text of a Slack message (fallback + blocks), for assertions. */
export const textOf = (m: SlackMessage | undefined): string =>
  m ? `${m.text}\n${JSON.stringify(m.blocks)}` : '';

/** The buttons' value on the rendered card. */
export function buttonValue(message: SlackMessage | undefined, actionId: string): string | undefined {
  for (const block of message?.blocks ?? []) {
    if (block.type !== 'actions') continue;
    const button = block.elements.find((e) => e.action_id === actionId);
    if (button) return button.value;
  }
  return undefined;
}

export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Links `actor` to `login` through the device flow, end to end (the stand-in plays the user on GitHub). */
export async function linkThroughDeviceFlow(h: Harness, actor: Actor, login: string): Promise<void> {
  const { handleApproveLink } = await import('../../src/approvals/handlers.js');
  const reply = await handleApproveLink(
    { actor, reply: { channelId: DEPLOYS }, requestId: `link-${actor.slackUserId}-${login}` },
    h.deps,
  );
  const code = /`([A-Z]{4}-[A-Z]{4})`/.exec(reply.message.text)?.[1];
  if (!code) throw new Error(`no user code in: ${reply.message.text}`);
  h.standIn.authorizeDevice(code, login);
  if (h.workers) {
    await eventually(
      `${actor.slackUserId} linked`,
      async () => (await h.tokens.info(actor.slackUserId))?.githubLogin === login,
    );
    return;
  }
  const linkId = (await h.redis.get(`${h.prefix}:approvals:link-user:${actor.slackUserId}`)) ?? '';
  // Poll as the delayed jobs would, each after the interval.
  for (let i = 0; i < 20; i += 1) {
    await new Promise((r) => setTimeout(r, 60));
    const outcome = await h.links.pollOnce(linkId);
    if (outcome === 'linked') return;
    if (outcome !== 'pending') throw new Error(`linking ended ${outcome}`);
  }
  throw new Error('linking did not finish');
}
