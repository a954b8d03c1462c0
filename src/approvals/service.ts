// decide(): the one path every approval decision takes, from a button, a modal or `/approve <promotion>`.
//
//   1. the approval exists on the card (for that environment);
//   2. the user is on the environment's approver list (access.approve.<env>: user and user-group ids);
//   3. four-eyes: not the requester of the promotion;
//   4. still undecided (the card), still open (the run has not ended) and nobody else deciding it right
//      now: one claim per wait in Redis, so a double click or two approvers at once make one decision;
//   5. four-eyes again with what GitHub says: not whoever triggered the run (GitHub login → Slack user
//      through the link table);
//   6. GitHub decides:
//        protection-rule mode → POST …/runs/{run_id}/deployment_protection_rule with the App's
//          installation token; the comment names the approver ("Approved by … (Slack <@U…>) via ChatOps");
//        reviewer mode → GET …/pending_deployments, then POST …/pending_deployments with the approver's
//          own user token: GitHub enforces its reviewer list and prevent-self-review on top of ours;
//   7. ApprovalDecided goes to the card (audit, card, Slack), the nonce is retired, the reminder cancelled.
// A decision is never made by anything but a person's click or command: no timeout approves.
//
// Every path — allowed, denied, no-op, failed — appends audit records before it returns, and returns them.
import type { AccessPolicy } from '../domain/access.js';
import { authorize, authorizeApproval } from '../domain/access.js';
import type { AuditOutcome, AuditRecord } from '../domain/audit.js';
import { auditRecordFor, commandAudit } from '../domain/audit-records.js';
import { approvalView } from '../domain/approval.js';
import { sectionBlock, type SlackMessage } from '../domain/blockkit.js';
import type { Card } from '../domain/card.js';
import type { ApprovalDecided, ApprovalDecision } from '../domain/events.js';
import { approvalSubject } from '../domain/render-approval.js';
import type { Actor, Environment } from '../domain/types.js';
import type { Config } from '../config/load.js';
import { GithubError, GithubErrorCode, type GithubClient } from '../github/client.js';
import type { Logger } from '../logging.js';
import type { ApprovalsConfig } from './config.js';
import {
  getPendingDeployments,
  getRunFacts,
  githubMessage,
  reviewCustomGate,
  reviewPendingDeployments,
  type RepoRef,
} from './github.js';
import type { ApprovalState } from './state.js';
import { waitKey, type Claim } from './state.js';
import type { Refresher, TokenStore } from './token-store.js';

export interface AuditSink {
  append(record: AuditRecord): Promise<unknown>;
}

/** The card side: load a card, record an event on it (CardService: audit, card log, Slack). */
export interface CardsPort {
  load(cardId: string): Promise<Card | undefined>;
  record(event: ApprovalDecided): Promise<unknown>;
}

export interface ApprovalServiceDeps {
  config: ApprovalsConfig;
  /** Config.github: repository, API URL, the App's credentials. */
  github: Config['github'];
  /** Config.access: approve.<env> are the approver lists. */
  access: AccessPolicy;
  cards: CardsPort;
  state: ApprovalState;
  /** Linked accounts: required in reviewer mode; in both modes maps a run's triggering login to Slack. */
  tokens?: TokenStore;
  /** Refreshes a linked token (GithubDeviceFlow.refresher()). Reviewer mode. */
  refresher?: Refresher;
  /** The App's installation client (minted per call is fine: tokens are cached by auth-app). */
  installation: () => GithubClient;
  /** A client acting with a user's token (github.ts userClient). */
  userClient: (token: string) => GithubClient;
  audit: AuditSink;
  /** Slack user-group membership (GroupDirectory.groupsOf); when set, groups are resolved here. */
  groupsOf?: (userId: string, groupIds: readonly string[]) => Promise<string[]>;
  /** Cancels the wait's reminder (reminder.ts). */
  reminders?: { cancel(wait: string): Promise<void> };
  logger: Logger;
  now?: () => Date;
}

export type DecisionStatus =
  | 'approved'
  | 'rejected'
  /** Already decided (by this user or another): nothing sent to GitHub. */
  | 'noop-decided'
  /** Someone's decision for it is being sent to GitHub right now. */
  | 'noop-in-flight'
  /** GitHub no longer waits (run ended, decided on GitHub, nothing pending). */
  | 'noop-not-waiting'
  | 'not-found'
  | 'denied-forbidden'
  | 'denied-self-approval'
  /** Reviewer mode: no linked GitHub account (or its token can no longer be refreshed). */
  | 'not-linked'
  /** GitHub refused the decision (not a required reviewer, prevent self-review, …). */
  | 'github-refused'
  /** GitHub could not be reached, or the bot lacks a permission: nothing was decided. */
  | 'failed';

export interface DecisionResult {
  status: DecisionStatus;
  /** Ephemeral answer for the user. */
  message: SlackMessage;
  /** Records appended, in order (the ApprovalDecided record last, appended by the card service). */
  audit: AuditRecord[];
}

export interface DecideInput {
  cardId: string;
  environment: Environment;
  decision: ApprovalDecision;
  actor: Actor;
  /** Rejection reason (required to reject) or approval comment. */
  reason?: string;
  via: 'button' | 'modal' | 'command';
  /** Slack trigger_id / action_ts / view id: makes the audit records idempotent. */
  requestId: string;
  channelId?: string;
}

const COMMAND: Readonly<Record<DecideInput['via'], Record<ApprovalDecision, string>>> = {
  button: { approved: 'approve.button', rejected: 'reject.button' },
  modal: { approved: 'approve.modal', rejected: 'reject.modal' },
  command: { approved: '/approve', rejected: '/approve' },
};

/** GitHub's limit for protection rule comments is 1,024 characters. */
const MAX_COMMENT = 1000;

export class ApprovalService {
  private readonly repo: RepoRef;
  private readonly now: () => Date;

  constructor(private readonly deps: ApprovalServiceDeps) {
    this.repo = { owner: deps.github.owner, repo: deps.github.repo };
    this.now = deps.now ?? (() => new Date());
    if (deps.config.mode === 'reviewer' && (!deps.tokens || !deps.refresher)) {
      throw new Error('ApprovalService: reviewer mode needs a TokenStore and a refresher (device flow)');
    }
  }

  get mode(): ApprovalsConfig['mode'] {
    return this.deps.config.mode;
  }

  /** Resolves the actor's user groups named in access.approve.<env> (when a directory is configured). */
  async withGroups(actor: Actor, environment: Environment): Promise<Actor> {
    if (!this.deps.groupsOf || actor.groupIds !== undefined) return actor;
    const groups = this.deps.access.approve[environment]?.groups ?? [];
    return { ...actor, groupIds: await this.deps.groupsOf(actor.slackUserId, groups) };
  }

  async decide(input: DecideInput): Promise<DecisionResult> {
    const { deps } = this;
    const at = this.now();
    const actor = await this.withGroups(input.actor, input.environment);
    const records: AuditRecord[] = [];
    const verb = input.decision === 'approved' ? 'approve' : 'reject';
    const who = nameOf(actor);
    const audit = async (step: string, outcome: AuditOutcome, detail: string, target?: string) => {
      const record = commandAudit({
        id: `approval:${input.via}:${input.requestId}:${step}`,
        at: at.toISOString(),
        actor,
        command: COMMAND[input.via][input.decision],
        environment: input.environment,
        ...(target ? { target } : {}),
        outcome,
        detail,
        ...(input.channelId ? { channelId: input.channelId } : {}),
        cardId: input.cardId,
      });
      await deps.audit.append(record);
      records.push(record);
    };
    const done = (status: DecisionStatus, text: string): DecisionResult => ({
      status,
      message: { text, blocks: [sectionBlock(text)] },
      audit: records,
    });

    // 1. the approval
    const card = await deps.cards.load(input.cardId);
    const approval = card?.approval;
    if (!card || !approval || approval.environment !== input.environment) {
      await audit(
        'refused',
        'denied',
        `${who} tried to ${verb} a ${input.environment} deployment of card ${input.cardId}, which has no approval for it. Nothing was sent to GitHub.`,
      );
      return done('not-found', `There is no ${input.environment} approval for that promotion.`);
    }
    const subject = approvalSubject(card, input.environment);
    const target = card.promotion?.name ?? String(approval.runId);

    // 2. approver list
    const allowed = authorize(deps.access, 'approve', input.environment, actor);
    if (!allowed.allowed) {
      await audit(
        'refused',
        'denied',
        `${who} tried to ${verb} ${subject}: not on the ${input.environment} approver list. Nothing was sent to GitHub.`,
        target,
      );
      return done('denied-forbidden', `⛔ ${allowed.reason}`);
    }
    // 3. four-eyes: the requester
    const requestedBy = card.request?.requestedBy.slackUserId ?? '';
    const fourEyes = authorizeApproval(deps.access, input.environment, actor, { requestedBy });
    if (!fourEyes.allowed) {
      await audit(
        'refused',
        'denied',
        `${who} tried to ${verb} ${subject}, which they requested themselves (four-eyes). Nothing was sent to GitHub.`,
        target,
      );
      return done('denied-self-approval', `⛔ ${fourEyes.reason}`);
    }
    // 4. still open?
    if (approval.status !== 'waiting') {
      const by = approval.by ? mention(approval.by.slackUserId) : 'someone';
      await audit(
        'noop',
        'info',
        `${who} tried to ${verb} ${subject}, already ${approval.status} by ${approval.by ? nameOf(approval.by) : 'someone'}. Nothing was sent to GitHub.`,
        target,
      );
      return done('noop-decided', `ℹ️ Nothing to do: ${subject} was already ${approval.status} by ${by}.`);
    }
    const view = approvalView(card);
    if (view && (view.phase === 'ended' || view.phase === 'moved-on')) {
      await deps.state.clearWaiting(card.id, input.environment);
      await audit(
        'noop',
        'info',
        `${who} tried to ${verb} ${subject}, which is no longer waiting (${view.phase === 'ended' ? 'the run ended' : 'decided on GitHub'}). Nothing was sent to GitHub.`,
        target,
      );
      return done(
        'noop-not-waiting',
        `ℹ️ Nothing to do: ${subject} is no longer waiting for approval (${view.phase === 'ended' ? 'the run ended' : 'it was decided on GitHub'}).`,
      );
    }
    const wait = waitKey(approval.runId, input.environment, approval.requestKey ?? 'unknown');
    const claim: Claim = {
      status: 'in-flight',
      by: actor.slackUserId,
      ...(actor.slackUserName ? { byName: actor.slackUserName } : {}),
      decision: input.decision,
      at: at.toISOString(),
    };
    const claimed = await deps.state.claim(wait, claim);
    if (!claimed.taken) {
      const holder = claimed.holder;
      if (holder?.status === 'done' && holder.event && holder.event.cardId === card.id) {
        // GitHub took that decision but recording it was interrupted (a crash, Redis): finish it now.
        await deps.cards.record(holder.event);
      }
      if (holder?.status === 'done') {
        await audit(
          'noop',
          'info',
          `${who} tried to ${verb} ${subject}, already ${holder.decision} by ${holder.byName ?? holder.by}. Nothing was sent to GitHub.`,
          target,
        );
        return done(
          'noop-decided',
          `ℹ️ Nothing to do: ${subject} was already ${holder.decision} by ${mention(holder.by)}.`,
        );
      }
      await audit(
        'noop',
        'info',
        `${who} tried to ${verb} ${subject} while ${holder ? `${holder.byName ?? holder.by}'s decision` : 'another decision'} was being sent to GitHub. Nothing was sent.`,
        target,
      );
      return done(
        'noop-in-flight',
        `ℹ️ ${subject} is being decided${holder ? ` by ${mention(holder.by)}` : ''} right now; nothing else was sent.`,
      );
    }

    let outcome: { status: DecisionStatus; text: string; githubLogin?: string };
    try {
      outcome = await this.sendToGithub(input, actor, card, wait, subject, target, audit);
    } catch (error) {
      await deps.state.releaseClaim(wait, actor.slackUserId);
      throw error;
    }
    if (outcome.status !== 'approved' && outcome.status !== 'rejected') {
      await deps.state.releaseClaim(wait, actor.slackUserId);
      return done(outcome.status, outcome.text);
    }

    // 7. the card, the nonce, the reminder
    const event: ApprovalDecided = {
      type: 'ApprovalDecided',
      id: `approval-decided:${wait}`,
      cardId: card.id,
      at: at.toISOString(),
      runId: approval.runId,
      environment: input.environment,
      decision: input.decision,
      by: {
        slackUserId: actor.slackUserId,
        ...(actor.slackUserName ? { slackUserName: actor.slackUserName } : {}),
      },
      ...(outcome.githubLogin ? { githubLogin: outcome.githubLogin } : {}),
      ...(input.reason?.trim() ? { comment: input.reason.trim() } : {}),
      ...(approval.requestKey ? { requestKey: approval.requestKey } : {}),
    };
    await deps.state.completeClaim(wait, { ...claim, event });
    await deps.cards.record(event);
    records.push(auditRecordFor(event));
    await deps.state.retireNonce(
      {
        cardId: card.id,
        environment: input.environment,
        runId: approval.runId,
        requestKey: approval.requestKey ?? 'unknown',
      },
      { by: actor.slackUserId, decision: input.decision, at: at.toISOString() },
    );
    await deps.state.clearWaiting(card.id, input.environment);
    await deps.reminders?.cancel(wait).catch((error: unknown) => {
      deps.logger.warn(
        { err: error, wait },
        'could not cancel an approval reminder (it will find the approval decided)',
      );
    });
    return done(outcome.status, outcome.text);
  }

  /** Steps 5 and 6. Returns the outcome; never leaves the claim to the caller on success. */
  private async sendToGithub(
    input: DecideInput,
    actor: Actor,
    card: Card,
    wait: string,
    subject: string,
    target: string,
    audit: (step: string, outcome: AuditOutcome, detail: string, target?: string) => Promise<void>,
  ): Promise<{ status: DecisionStatus; text: string; githubLogin?: string }> {
    const { deps } = this;
    const approval = card.approval as NonNullable<Card['approval']>;
    const who = nameOf(actor);
    const verb = input.decision === 'approved' ? 'approve' : 'reject';
    const failed = async (
      detail: string,
      error: unknown,
    ): Promise<{ status: DecisionStatus; text: string }> => {
      deps.logger.warn({ err: error, runId: approval.runId, wait }, `approval: ${detail}`);
      await audit(
        'result',
        'failed',
        `${who}'s decision to ${verb} ${subject} was not made: ${detail} (${errorText(error)}).`,
        target,
      );
      return {
        status: 'failed',
        text: `⚠️ Nothing was decided: ${detail} (${errorText(error)}). Try again in a minute.`,
      };
    };

    // 5. the run: still going, and who triggered it
    let installation: GithubClient;
    let run;
    try {
      installation = deps.installation();
      run = await getRunFacts(installation, this.repo, approval.runId);
    } catch (error) {
      return failed('GitHub could not be asked about the run', error);
    }
    if (run.status === 'completed') {
      await deps.state.clearWaiting(card.id, input.environment);
      await audit(
        'noop',
        'info',
        `${who} tried to ${verb} ${subject}, but run ${run.id} has ended (${run.conclusion ?? 'completed'}). Nothing was sent to GitHub.`,
        target,
      );
      return {
        status: 'noop-not-waiting',
        text: `ℹ️ Nothing to do: run #${run.id} has ended (${run.conclusion ?? 'completed'}); ${subject} no longer waits for approval.`,
      };
    }
    const triggeredBy = run.triggeredBy ?? card.run?.triggeredBy;
    const triggerer = triggeredBy ? await deps.tokens?.slackUserForLogin(triggeredBy) : undefined;
    const fourEyes = authorizeApproval(deps.access, input.environment, actor, {
      requestedBy: card.request?.requestedBy.slackUserId ?? '',
      ...(triggerer ? { runTriggeredBy: triggerer } : {}),
    });
    if (!fourEyes.allowed) {
      await audit(
        'refused',
        'denied',
        `${who} tried to ${verb} ${subject}: they triggered run ${run.id} (GitHub ${triggeredBy ?? '?'}; four-eyes). Nothing was sent to GitHub.`,
        target,
      );
      return { status: 'denied-self-approval', text: `⛔ ${fourEyes.reason}` };
    }

    const comment = commentFor(actor, input.decision, input.reason);
    // 6. GitHub decides
    if (this.mode === 'protection-rule') {
      await audit(
        'accepted',
        'accepted',
        `${who} ${verb}s ${subject}: allowed (approver list, four-eyes); sending the decision to GitHub's deployment protection rule endpoint.`,
        target,
      );
      try {
        await reviewCustomGate(installation, this.repo, {
          runId: approval.runId,
          environment: input.environment,
          state: input.decision,
          comment,
        });
      } catch (error) {
        if (error instanceof GithubError && error.status === 422) {
          await deps.state.clearWaiting(card.id, input.environment);
          await audit(
            'result',
            'info',
            `GitHub has nothing waiting for ${subject} any more (${githubMessage(error)}): ${who}'s decision changed nothing.`,
            target,
          );
          return {
            status: 'noop-not-waiting',
            text: `ℹ️ Nothing to do: GitHub no longer waits for a decision on ${subject}.`,
          };
        }
        return failed('GitHub did not take the decision', error);
      }
      return { status: input.decision, text: successText(input.decision, subject, input.reason) };
    }

    // reviewer mode: the approver's own token
    const tokens = deps.tokens as TokenStore;
    const access = await tokens.accessToken(actor.slackUserId, deps.refresher as Refresher);
    const reviewUrl = approval.reviewUrl ?? card.run?.url;
    if (access.status === 'not-linked' || access.status === 'expired') {
      await audit(
        'refused',
        'denied',
        `${who} tried to ${verb} ${subject} without a linked GitHub account${access.status === 'expired' ? ` (${access.reason})` : ''}; pointed to GitHub's review page. Nothing was sent to GitHub.`,
        target,
      );
      return {
        status: 'not-linked',
        text: `🔗 Approving here uses your own GitHub account, and ${access.status === 'expired' ? 'its link has expired' : "yours isn't linked yet"}: run \`/approve link\` once${
          reviewUrl ? `, or review it directly on GitHub: ${reviewUrl}` : '.'
        }`,
      };
    }
    if (access.status === 'unavailable')
      return failed('your GitHub token could not be refreshed', new Error(access.reason));
    const client = deps.userClient(access.token);
    let pending;
    try {
      pending = await getPendingDeployments(client, this.repo, approval.runId);
    } catch (error) {
      if (error instanceof GithubError && error.code === GithubErrorCode.Unauthorized) {
        await tokens.unlink(actor.slackUserId);
        return failed('GitHub no longer accepts your linked token (run `/approve link` again)', error);
      }
      return failed('GitHub could not list the pending deployments', error);
    }
    const entry = pending.find((p) => p.environment === input.environment);
    if (!entry) {
      await deps.state.clearWaiting(card.id, input.environment);
      await audit(
        'noop',
        'info',
        `${who} tried to ${verb} ${subject}, but GitHub has no pending ${input.environment} deployment for run ${approval.runId}. Nothing was sent.`,
        target,
      );
      return {
        status: 'noop-not-waiting',
        text: `ℹ️ Nothing to do: GitHub has no pending ${input.environment} deployment for ${subject} any more.`,
      };
    }
    await audit(
      'accepted',
      'accepted',
      `${who} ${verb}s ${subject}: allowed (approver list, four-eyes); sending it to GitHub as ${access.login}${entry.currentUserCanApprove ? '' : ' (GitHub says they may not review it)'}.`,
      target,
    );
    try {
      await reviewPendingDeployments(client, this.repo, {
        runId: approval.runId,
        environmentIds: [entry.environmentId],
        state: input.decision,
        comment,
      });
    } catch (error) {
      if (error instanceof GithubError && (error.status === 422 || error.status === 403)) {
        const message = githubMessage(error);
        await audit(
          'result',
          'denied',
          `GitHub refused ${who}'s decision (as ${access.login}) to ${verb} ${subject}: ${message}.`,
          target,
        );
        return {
          status: 'github-refused',
          text: `⛔ GitHub refused it: ${message}. GitHub decides who may review the ${input.environment} environment (required reviewers, prevent self-review).`,
        };
      }
      return failed('GitHub did not take the decision', error);
    }
    return {
      status: input.decision,
      text: successText(input.decision, subject, input.reason),
      githubLogin: access.login,
    };
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers

/** "Approved by jane (Slack <@U0JANE>) via ChatOps" — what GitHub records with the decision. */
export function commentFor(actor: Actor, decision: ApprovalDecision, reason?: string): string {
  const name = actor.slackUserName ?? actor.slackUserId;
  const head = `${decision === 'approved' ? 'Approved' : 'Rejected'} by ${name} (Slack <@${actor.slackUserId}>) via ChatOps`;
  const why = reason?.trim();
  const full = why ? `${head}: ${why}` : head;
  return full.length <= MAX_COMMENT ? full : `${full.slice(0, MAX_COMMENT - 1)}…`;
}

function successText(decision: ApprovalDecision, subject: string, reason: string | undefined): string {
  return decision === 'approved'
    ? `✅ Approved: ${subject}. GitHub lets the deployment go ahead (the environment's wait timer, if any, still applies).`
    : `🚫 Rejected: ${subject}. GitHub fails the deployment job.${reason?.trim() ? ` Reason: ${reason.trim()}` : ''}`;
}

const nameOf = (actor: Actor): string =>
  actor.slackUserName ? `${actor.slackUserName} (${actor.slackUserId})` : actor.slackUserId;

const mention = (slackUserId: string): string =>
  /^[UW][A-Z0-9]{2,}$/.test(slackUserId) ? `<@${slackUserId}>` : slackUserId;

function errorText(error: unknown): string {
  if (error instanceof GithubError) return `${error.code}${error.status ? ` ${error.status}` : ''}`;
  return error instanceof Error ? (error.message.split('\n')[0] ?? 'error') : 'error';
}
