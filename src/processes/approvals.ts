// Builds the approvals feature from configuration, for the worker (decisions, device-flow linking,
// reminders, webhook handling) and for the web process (the Reject prompt must open its modal within
// Slack's 3-second trigger_id window, so it is answered there; it only reads Redis).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { SlackMessage } from '../domain/blockkit.js';
import type { ApprovalDecided, CardEvent } from '../domain/events.js';
import type { Card } from '../domain/card.js';
import type { AuditRecord } from '../domain/audit.js';
import { createGithubClient } from '../github/client.js';
import { GithubDeviceFlow, DeviceLinks } from '../approvals/device-flow.js';
import { userClient } from '../approvals/github.js';
import type { ApprovalHandlerDeps } from '../approvals/handlers.js';
import { ApprovalReminders } from '../approvals/reminder.js';
import { ApprovalService } from '../approvals/service.js';
import { ApprovalState } from '../approvals/state.js';
import { TokenCipher, TokenStore } from '../approvals/token-store.js';
import { CardStore } from '../cards/store.js';
import { retentionFrom } from '../retention.js';
import { cardForRunFrom, handleApprovalDelivery, isApprovalDelivery } from '../approvals/webhook.js';

export interface ApprovalStackOptions {
  config: Config;
  redis: Redis;
  logger: Logger;
  cards: {
    load(cardId: string): Promise<Card | undefined>;
    record(event: CardEvent | ApprovalDecided): Promise<unknown>;
  };
  audit: { append(record: AuditRecord): Promise<unknown> };
  groupsOf: (userId: string, groupIds: readonly string[]) => Promise<string[]>;
  /** Worker only: posting reminders, telling users how a link went, the card's permalink. */
  worker?: {
    post(message: SlackMessage & { key: string }): Promise<void>;
    notify(reply: { channelId: string; responseUrl?: string }, message: SlackMessage): Promise<void>;
    cardUrl(cardId: string): Promise<string | undefined>;
  };
}

export interface ApprovalStack {
  deps: ApprovalHandlerDeps;
  /** Routes a verified GitHub delivery (deployment_protection_rule, workflow_job waiting) to approvals. */
  onDelivery(event: string, payload: unknown, deliveryId: string): Promise<void>;
  close(graceMs?: number): Promise<void>;
}

export function createApprovalStack(options: ApprovalStackOptions): ApprovalStack {
  const { config, redis, logger, cards, audit } = options;
  const prefix = config.redis.prefix;
  const approvals = config.approvals;
  const state = new ApprovalState(redis, prefix);
  const cipher = approvals.tokenKeys ? new TokenCipher(approvals.tokenKeys) : undefined;
  const tokens = cipher ? new TokenStore({ redis, prefix, cipher, logger }) : undefined;
  const flow = approvals.clientId
    ? new GithubDeviceFlow({
        webUrl: approvals.webUrl,
        clientId: approvals.clientId,
        ...(approvals.clientSecret ? { clientSecret: approvals.clientSecret } : {}),
      })
    : undefined;
  const makeUserClient = (token: string) => userClient(config.github, token, logger);
  const installation = () => createGithubClient(config.github, { logger });
  const links =
    options.worker && flow && tokens && cipher
      ? new DeviceLinks({
          redis,
          prefix,
          flow,
          tokens,
          cipher,
          userClient: makeUserClient,
          audit,
          notify: options.worker.notify,
          logger,
        })
      : undefined;
  const reminders = options.worker
    ? new ApprovalReminders({
        redis,
        prefix,
        minutes: approvals.reminderMinutes,
        cards,
        post: options.worker.post,
        cardUrl: options.worker.cardUrl,
        access: config.access,
        audit,
        logger,
      })
    : undefined;
  links?.startWorker();
  reminders?.startWorker();

  const service = new ApprovalService({
    config: approvals,
    github: config.github,
    access: config.access,
    cards,
    state,
    ...(tokens ? { tokens } : {}),
    ...(flow ? { refresher: flow.refresher() } : {}),
    installation,
    userClient: makeUserClient,
    audit,
    groupsOf: options.groupsOf,
    ...(reminders ? { reminders } : {}),
    logger,
  });
  const deps: ApprovalHandlerDeps = {
    service,
    state,
    cards,
    access: config.access,
    config: approvals,
    audit,
    ...(links ? { links } : {}),
    ...(tokens ? { tokens } : {}),
    logger,
  };
  const cardForRun = cardForRunFrom(
    new CardStore(redis, prefix, { ttlSeconds: retentionFrom(config).cardSeconds }),
  );

  return {
    deps,
    async onDelivery(event, payload, deliveryId) {
      if (!isApprovalDelivery(event, payload)) return;
      await handleApprovalDelivery(event, payload, deliveryId, {
        config: approvals,
        github: { owner: config.github.owner, repo: config.github.repo, workflow: config.github.workflow },
        cardForRun,
        cards,
        state,
        audit,
        ...(reminders ? { reminders } : {}),
        installation,
        logger,
      });
    },
    async close(graceMs) {
      await Promise.all([links?.close(graceMs), reminders?.close(graceMs)]);
    },
  };
}
