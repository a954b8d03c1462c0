// One reminder per waiting approval: a delayed BullMQ job (APPROVAL_REMINDER_MINUTES after the request)
// that posts one line to #infra-deployments with the card's link and the approvers. It only posts: it
// never calls GitHub, never decides anything — an approval is never made by timeout (GitHub itself fails
// the job after 30 days). A decision cancels the job; a job that runs anyway finds the approval decided
// (or the run ended, or a newer wait) and posts nothing.
//
// Idempotent: the job id is derived from the wait, so a redelivered webhook schedules nothing twice, and
// the posting side is keyed (the notifier posts a key once).
import { createHash } from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AccessPolicy } from '../domain/access.js';
import { approvalView } from '../domain/approval.js';
import type { AuditRecord } from '../domain/audit.js';
import type { SlackMessage } from '../domain/blockkit.js';
import type { Card } from '../domain/card.js';
import { renderApprovalReminder } from '../domain/render-approval.js';
import type { Environment } from '../domain/types.js';
import type { Logger } from '../logging.js';
import { closeWorker } from '../queue/shutdown.js';

export const APPROVAL_REMINDER_QUEUE = 'approval-reminders';

export interface ReminderJob {
  cardId: string;
  environment: Environment;
  wait: string;
  requestKey: string;
}

export interface ApprovalRemindersOptions {
  redis: Redis;
  prefix: string;
  /** APPROVAL_REMINDER_MINUTES. */
  minutes: number;
  /** Real ms per minute (tests shrink it). Default 60 000. */
  minuteMs?: number;
  cards: { load(cardId: string): Promise<Card | undefined> };
  /**
   * Posts to #infra-deployments once per `key` (the lead: SlackNotifier.post({channel: 'deployments', key,
   * text, blocks})).
   */
  post(message: SlackMessage & { key: string }): Promise<void>;
  /** Permalink of the card message, when posted (worker.ts cardUrl). */
  cardUrl?(cardId: string): Promise<string | undefined>;
  access: AccessPolicy;
  audit: { append(record: AuditRecord): Promise<unknown> };
  logger: Logger;
  now?: () => Date;
}

const jobIdFor = (wait: string): string =>
  `reminder-${createHash('sha256').update(wait).digest('hex').slice(0, 24)}`;

export class ApprovalReminders {
  private readonly queue: Queue<ReminderJob>;
  private worker: Worker<ReminderJob> | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: ApprovalRemindersOptions) {
    if (!options.prefix) throw new Error('ApprovalReminders: prefix is required');
    if (!(options.minutes >= 1)) throw new Error('ApprovalReminders: minutes must be ≥ 1');
    this.now = options.now ?? (() => new Date());
    this.queue = new Queue(APPROVAL_REMINDER_QUEUE, { connection: options.redis, prefix: options.prefix });
  }

  private get delayMs(): number {
    return this.options.minutes * (this.options.minuteMs ?? 60_000);
  }

  /** Schedules the wait's reminder (once per wait, however often it is asked). */
  async schedule(job: ReminderJob): Promise<void> {
    await this.queue.add('remind', job, {
      jobId: jobIdFor(job.wait),
      delay: this.delayMs,
      removeOnComplete: { age: 7 * 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
      attempts: 5,
      backoff: { type: 'exponential', delay: 5_000 },
    });
  }

  /** Drops the wait's reminder if it has not run yet (a decision was made). */
  async cancel(wait: string): Promise<void> {
    const job = await this.queue.getJob(jobIdFor(wait));
    if (!job || (await job.isActive()) || (await job.isCompleted())) return;
    // A job that starts meanwhile cannot be removed (locked): it finds the approval decided anyway.
    await job.remove().catch(() => undefined);
  }

  /** Starts the worker that posts due reminders (in the worker process). */
  startWorker(): void {
    if (this.worker) return;
    this.worker = new Worker<ReminderJob>(
      APPROVAL_REMINDER_QUEUE,
      async (job: Job<ReminderJob>) => {
        await this.remind(job.data);
      },
      { connection: this.options.redis, prefix: this.options.prefix, concurrency: 2 },
    );
    this.worker.on('error', (err) => this.options.logger.warn({ err }, 'approval reminder worker error'));
  }

  async close(graceMs?: number): Promise<void> {
    if (this.worker) await closeWorker(this.worker, graceMs);
    await this.queue.close();
  }

  /** Posts the reminder if the approval still waits for this very wait; true when it posted. */
  async remind(job: ReminderJob): Promise<boolean> {
    const card = await this.options.cards.load(job.cardId);
    const view = card ? approvalView(card) : undefined;
    if (!card || !view?.actionable || view.approval.requestKey !== job.requestKey) {
      this.options.logger.info(
        { cardId: job.cardId, wait: job.wait },
        'approval reminder not needed: decided or no longer waiting',
      );
      return false;
    }
    const now = this.now();
    const cardUrl = await this.options.cardUrl?.(card.id).catch(() => undefined);
    const principals = this.options.access.approve[job.environment];
    const message = renderApprovalReminder(card, {
      now,
      ...(cardUrl ? { cardUrl } : {}),
      approvers: { users: principals?.users ?? [], groups: principals?.groups ?? [] },
    });
    await this.options.audit.append({
      id: `approval-reminder:${job.wait}`,
      at: now.toISOString(),
      actor: 'system',
      action: 'approval.reminder',
      environment: job.environment,
      target: card.promotion?.name ?? String(view.approval.runId),
      outcome: 'info',
      detail: `The ${job.environment} deployment of run ${view.approval.runId} has waited ${this.options.minutes} minutes for approval: reminded #infra-deployments (nothing was approved).`,
      cardId: card.id,
    });
    await this.options.post({ ...message, key: jobIdFor(job.wait) });
    return true;
  }
}
