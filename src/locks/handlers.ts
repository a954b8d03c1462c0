// `/unlock dev|prod` and its Confirm / Cancel buttons, as framework-free functions the Bolt app and the
// worker call. Each returns the Slack message to show and the audit records it appended (every path
// appends at least one, before returning, so nothing is reported that is not recorded).
//
// Security (DESIGN.md "Security rules"; slack-github-bullmq.md §1.4):
//   - Viewing is open to anyone; Confirm is offered only to users allowed to unlock that environment, only
//     when no workflow run for it is in progress, and only for one readable lock.
//   - What was shown (lock id + fingerprints) is stored server-side under a random nonce, bound to the
//     viewer, for 10 minutes (pending.ts). The button carries {env, lockId, nonce} only.
//   - On click: RBAC again for the CLICKING user (before touching the nonce, so an outsider cannot burn
//     someone's confirmation), then the nonce is taken (single use), must belong to the clicking user and
//     name the same environment and lock as the button; the run check is repeated; then the release is
//     conditioned on the stored fingerprints, never on anything from the payload.
//   - Storage or GitHub failures fail closed: nothing is released.
//
// Callers resolve `actor.groupIds` (the Slack user groups named in the access policy) before calling, for
// the slash command and for every click alike.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { authorize, type AccessPolicy } from '../domain/access.js';
import type { AuditOutcome, AuditRecord } from '../domain/audit.js';
import { commandAudit } from '../domain/audit-records.js';
import type { SlackMessage } from '../domain/blockkit.js';
import type { Actor, Environment } from '../domain/types.js';
import { PENDING_UNLOCK_TTL_SECONDS, PendingUnlocks, type PendingUnlock } from './pending.js';
import { errorName, type LockInspection, type LockService, type ReleaseResult } from './service.js';
import {
  LOCK_SOURCES,
  SOURCE_LABEL,
  type LockFingerprints,
  type RecentRun,
  type StateLock,
} from './types.js';
import {
  decideUnlock,
  parseUnlockAction,
  renderLockView,
  renderUnlockNotice,
  type UnlockDecision,
  type UnlockNotice,
} from './view.js';

export interface RunStatus {
  inProgress: boolean;
  runUrl?: string;
}

export interface UnlockDeps {
  locks: Pick<LockService, 'inspect' | 'release'>;
  /** Config.access. */
  access: AccessPolicy;
  /** Whether a workflow run for the environment is queued or in progress (GitHub). Rejections fail closed. */
  isRunInProgress(environment: Environment): Promise<RunStatus>;
  /** Recent runs for the environment, to name the run holding the lock. Optional; failures are ignored. */
  recentRuns?(environment: Environment): Promise<RecentRun[]>;
  audit: { append(record: AuditRecord): Promise<unknown> };
  /** A shared ioredis client (not closed here). */
  redis: Redis;
  /** Config.redis.prefix: pending confirmations live at `<prefix>:unlock:<nonce>`. */
  prefix: string;
  now?: () => Date;
  logger?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Lifetime of a confirmation. Default 600 s. */
  confirmTtlSeconds?: number;
}

export type UnlockStatus =
  | 'viewed'
  | 'no-lock'
  | 'refused-running'
  | 'refused-run-unknown'
  | 'refused-unauthorized'
  | 'refused-unreadable'
  | 'refused-inconsistent'
  | 'refused-tampered'
  | 'refused-expired'
  | 'refused-changed'
  | 'released'
  | 'nothing-to-release'
  | 'failed'
  | 'cancelled';

export interface UnlockReply {
  status: UnlockStatus;
  /** Ephemeral: only the user who ran the command (or clicked) sees it. */
  message: SlackMessage;
  /** True for button answers: replace the ephemeral view (`respond({ replace_original: true, … })`). */
  replaceOriginal: boolean;
  /** The records appended to the audit stream, in order. */
  audit: AuditRecord[];
}

export interface UnlockCommandInput {
  environment: Environment;
  actor: Actor;
  channelId?: string;
  /** Slack trigger_id: makes the audit record idempotent if the command is handled twice. */
  requestId?: string;
}

export interface UnlockActionInput {
  /** actions[0].value of the block_actions payload, as received (untrusted). */
  actionValue: unknown;
  actor: Actor;
  channelId?: string;
  /** Slack trigger_id or action_ts: makes the audit records idempotent. */
  requestId?: string;
}

// ---------------------------------------------------------------------------------------------------
// /unlock <env>

export async function handleUnlockCommand(input: UnlockCommandInput, deps: UnlockDeps): Promise<UnlockReply> {
  const { environment, actor } = input;
  const now = (deps.now ?? (() => new Date()))();
  // A retried job that stores a second confirmation is a second view: the reference makes its record distinct.
  const viewId = input.requestId ?? randomId();
  let auditId = `unlock:view:${viewId}`;
  const records: AuditRecord[] = [];
  const record = async (outcome: AuditOutcome, detail: string, target?: string): Promise<void> => {
    const entry = commandAudit({
      id: auditId,
      at: now.toISOString(),
      actor,
      command: '/unlock',
      environment,
      ...(target === undefined ? {} : { target }),
      outcome,
      detail,
      ...(input.channelId === undefined ? {} : { channelId: input.channelId }),
    });
    await deps.audit.append(entry);
    records.push(entry);
  };
  const who = actorLabel(actor);

  let inspection: LockInspection;
  try {
    inspection = await deps.locks.inspect(environment);
  } catch (error) {
    deps.logger?.error({ err: error, environment }, '/unlock: reading the state lock failed');
    const detail = `${who} ran /unlock ${environment}; the lock could not be read (${errorMessage(error)}). Nothing was offered.`;
    await record('failed', detail);
    return reply('failed', failedView(environment, errorMessage(error)), false, records);
  }

  if (inspection.verdict === 'none') {
    await record(
      'info',
      `${who} looked at ${environment}: no Terraform state lock is held (checked ${inspection.checked.join(' and ')}).`,
    );
    return reply(
      'no-lock',
      renderLockView(inspection, { now, runInProgress: false, canUnlock: false }),
      false,
      records,
    );
  }

  const [runStatus, runs] = await Promise.all([
    deps.isRunInProgress(environment).catch((error: unknown) => {
      deps.logger?.warn({ err: error, environment }, '/unlock: could not check for a run in progress');
      return undefined;
    }),
    deps.recentRuns
      ? deps.recentRuns(environment).catch((error: unknown) => {
          deps.logger?.warn({ err: error, environment }, '/unlock: could not list recent runs');
          return undefined;
        })
      : Promise.resolve(undefined),
  ]);
  const authorization = authorize(deps.access, 'unlock', environment, actor);
  const viewOptions = {
    now,
    runInProgress: runStatus?.inProgress ?? false,
    ...(runStatus?.runUrl ? { runInProgressUrl: runStatus.runUrl } : {}),
    runStatusUnknown: runStatus === undefined,
    canUnlock: authorization.allowed,
    ...(authorization.allowed ? {} : { forbiddenReason: authorization.reason }),
    ...(runs ? { runs } : {}),
  };
  const decision = decideUnlock(inspection, viewOptions);
  const lock = inspection.locks[0] as StateLock;
  const target = inspection.lockId ?? lock.lockId;
  const looked = `${who} looked at the ${environment} state lock: ${describeInspection(inspection)}`;

  if (decision === 'no-lock') {
    // Unreachable (verdict 'none' answered above); kept so that only 'offer' can ever reach the nonce.
    await record('info', `${who} looked at ${environment}: no Terraform state lock is held.`);
    return reply('no-lock', renderLockView(inspection, viewOptions), false, records);
  }
  if (decision !== 'offer') {
    const status = VIEW_STATUS[decision];
    await record(
      'denied',
      `${looked}. Release refused: ${REFUSAL_REASON[decision](viewOptions)}.`,
      target || undefined,
    );
    return reply(status, renderLockView(inspection, viewOptions), false, records);
  }

  const ttlSeconds = deps.confirmTtlSeconds ?? PENDING_UNLOCK_TTL_SECONDS;
  const pending = new PendingUnlocks({ redis: deps.redis, prefix: deps.prefix, ttlSeconds });
  const shown: PendingUnlock = {
    environment,
    lockId: lock.lockId,
    fingerprints: fingerprintsOf(inspection.locks),
    viewedBy: actor.slackUserId,
    viewedAt: now.toISOString(),
    ...(input.channelId === undefined ? {} : { channelId: input.channelId }),
  };
  let nonce: string;
  try {
    nonce = await pending.create(shown);
  } catch (error) {
    deps.logger?.error({ err: error }, '/unlock: could not store the confirmation');
    await record(
      'failed',
      `${looked}. The confirmation could not be stored (${errorMessage(error)}); no Confirm offered.`,
      target,
    );
    return reply('failed', failedView(environment, 'the confirmation could not be stored'), false, records);
  }
  auditId = `unlock:view:${viewId}:${viewRef(nonce).slice(4)}`;
  await record(
    'info',
    `${looked}. Confirm offered (confirmation ${viewRef(nonce)}, valid ${ttlSeconds} s).`,
    target,
  );
  return reply(
    'viewed',
    renderLockView(inspection, { ...viewOptions, nonce, confirmTtlSeconds: ttlSeconds }),
    false,
    records,
  );
}

const VIEW_STATUS: Readonly<Record<Exclude<UnlockDecision, 'offer' | 'no-lock'>, UnlockStatus>> = {
  'refused-unreadable': 'refused-unreadable',
  'refused-inconsistent': 'refused-inconsistent',
  'refused-run-unknown': 'refused-run-unknown',
  'refused-running': 'refused-running',
  'refused-unauthorized': 'refused-unauthorized',
};

type ViewFacts = { runInProgressUrl?: string; forbiddenReason?: string };
const REFUSAL_REASON: Readonly<
  Record<Exclude<UnlockDecision, 'offer' | 'no-lock'>, (facts: ViewFacts) => string>
> = {
  'refused-unreadable': () => 'the stored lock cannot be read as a Terraform lock',
  'refused-inconsistent': () => 'the DynamoDB item and the S3 lock file name different locks',
  'refused-run-unknown': () => 'whether a workflow run is in progress could not be checked',
  'refused-running': (facts) =>
    `a workflow run is in progress${facts.runInProgressUrl ? ` (${facts.runInProgressUrl})` : ''}`,
  'refused-unauthorized': (facts) => `not allowed to unlock (${facts.forbiddenReason ?? 'access policy'})`,
};

// ---------------------------------------------------------------------------------------------------
// Confirm

export async function handleUnlockConfirm(input: UnlockActionInput, deps: UnlockDeps): Promise<UnlockReply> {
  const { actor } = input;
  const now = (deps.now ?? (() => new Date()))();
  const requestId = input.requestId ?? randomId();
  const records: AuditRecord[] = [];
  const who = actorLabel(actor);
  const record = async (
    step: string,
    outcome: AuditOutcome,
    detail: string,
    environment?: Environment,
    target?: string,
  ): Promise<void> => {
    const entry = commandAudit({
      id: `unlock:confirm:${requestId}:${step}`,
      at: now.toISOString(),
      actor,
      command: 'unlock.confirm',
      ...(environment === undefined ? {} : { environment }),
      ...(target === undefined ? {} : { target }),
      outcome,
      detail,
      ...(input.channelId === undefined ? {} : { channelId: input.channelId }),
    });
    await deps.audit.append(entry);
    records.push(entry);
  };
  const notice = (status: UnlockStatus, n: UnlockNotice): UnlockReply =>
    reply(status, renderUnlockNotice(n), true, records);

  const claimed = parseUnlockAction(input.actionValue);
  if (!claimed) {
    await record(
      'refused',
      'denied',
      `${who} clicked Confirm with a button value the bot did not write (${describeValue(input.actionValue)}). Nothing was released.`,
    );
    return notice('refused-tampered', { kind: 'refused-tampered' });
  }
  const { env, lockId, nonce } = claimed;

  // RBAC for the clicking user, before the nonce is touched.
  const authorization = authorize(deps.access, 'unlock', env, actor);
  if (!authorization.allowed) {
    await record(
      'refused',
      'denied',
      `${who} clicked Confirm to release the ${env} lock ${lockId}: not allowed to unlock ${env}. Nothing was released.`,
      env,
      lockId,
    );
    return notice('refused-unauthorized', {
      kind: 'refused-unauthorized',
      environment: env,
      reason: authorization.reason,
    });
  }

  const pending = new PendingUnlocks({ redis: deps.redis, prefix: deps.prefix });
  const shown = await pending.take(nonce);
  if (!shown) {
    await record(
      'refused',
      'denied',
      `${who} clicked Confirm for the ${env} lock ${lockId} with an unknown, expired or already used confirmation (${viewRef(nonce)}). Nothing was released.`,
      env,
      lockId,
    );
    return notice('refused-expired', { kind: 'refused-expired', environment: env });
  }
  if (shown.viewedBy !== actor.slackUserId) {
    await record(
      'refused',
      'denied',
      `${who} clicked Confirm on a confirmation (${viewRef(nonce)}) that was shown to ${shown.viewedBy}, not to them. Refused as tampered; the confirmation is void. Nothing was released.`,
      shown.environment,
      shown.lockId,
    );
    return notice('refused-tampered', { kind: 'refused-tampered', environment: shown.environment });
  }
  if (shown.environment !== env || shown.lockId !== lockId) {
    await record(
      'refused',
      'denied',
      `${who} clicked Confirm with a button naming the ${env} lock ${lockId}, but the confirmation (${viewRef(nonce)}) was for the ${shown.environment} lock ${shown.lockId}. Refused as tampered; the confirmation is void. Nothing was released.`,
      shown.environment,
      shown.lockId,
    );
    return notice('refused-tampered', { kind: 'refused-tampered', environment: shown.environment });
  }

  // The holder must not be running now, whatever was true when the lock was shown.
  let runStatus: RunStatus;
  try {
    runStatus = await deps.isRunInProgress(env);
  } catch (error) {
    deps.logger?.warn({ err: error, environment: env }, '/unlock: could not check for a run in progress');
    await record(
      'refused',
      'denied',
      `${who} confirmed releasing the ${env} lock ${lockId}, but whether a workflow run is in progress could not be checked. Nothing was released.`,
      env,
      lockId,
    );
    return notice('refused-run-unknown', { kind: 'refused-run-unknown', environment: env });
  }
  if (runStatus.inProgress) {
    await record(
      'refused',
      'denied',
      `${who} confirmed releasing the ${env} lock ${lockId}, but a workflow run is in progress${runStatus.runUrl ? ` (${runStatus.runUrl})` : ''}. Nothing was released.`,
      env,
      lockId,
    );
    return notice('refused-running', {
      kind: 'refused-running',
      environment: env,
      ...(runStatus.runUrl ? { runUrl: runStatus.runUrl } : {}),
    });
  }

  const sources = LOCK_SOURCES.filter((source) => shown.fingerprints[source] !== undefined).map(
    (s) => SOURCE_LABEL[s],
  );
  await record(
    'confirmed',
    'accepted',
    `${who} confirmed releasing the ${env} state lock ${lockId} (${sources.join(' + ')}; confirmation ${viewRef(nonce)} shown ${shown.viewedAt}). Releasing it only if it is unchanged.`,
    env,
    lockId,
  );

  let result: ReleaseResult;
  try {
    result = await deps.locks.release(env, { lockId: shown.lockId, fingerprints: shown.fingerprints });
  } catch (error) {
    deps.logger?.error({ err: error, environment: env }, '/unlock: release failed');
    await record(
      'result',
      'failed',
      `Releasing the ${env} lock ${lockId} confirmed by ${who} failed before anything was deleted (${errorMessage(error)}).`,
      env,
      lockId,
    );
    return notice('failed', { kind: 'failed', environment: env, lockId, detail: errorMessage(error) });
  }
  const untouched = 'The state object and the -md5 digest item were not touched.';
  switch (result.outcome) {
    case 'released':
      await record(
        'result',
        'succeeded',
        `${who} released the ${env} state lock ${lockId}. Deleted: ${result.released.map((r) => r.detail).join('; ')}.${result.absent.length > 0 ? ` Already gone: ${result.absent.map((a) => a.location).join('; ')}.` : ''} ${untouched}`,
        env,
        lockId,
      );
      return notice('released', { kind: 'released', result });
    case 'nothing-to-release':
      await record(
        'result',
        'info',
        `${who} confirmed releasing the ${env} lock ${lockId}, but it was already gone (${result.absent.map((a) => a.location).join('; ')}). Nothing was deleted.`,
        env,
        lockId,
      );
      return notice('nothing-to-release', { kind: 'nothing-to-release', result });
    case 'changed':
      await record(
        'result',
        'rejected',
        `${who} confirmed releasing the ${env} lock ${lockId}, but it changed after it was shown: ${result.changed.map((c) => c.detail).join('; ')}.${result.released.length > 0 ? ` Deleted before the change was noticed: ${result.released.map((r) => r.detail).join('; ')}.` : ' Nothing was deleted.'}`,
        env,
        lockId,
      );
      return notice('refused-changed', { kind: 'changed', result });
    case 'failed':
      await record(
        'result',
        'failed',
        `Releasing the ${env} lock ${lockId} confirmed by ${who} failed: ${result.failed.map((f) => f.detail).join('; ')}.${result.released.length > 0 ? ` Deleted before the failure: ${result.released.map((r) => r.detail).join('; ')}.` : ' Nothing was deleted.'}`,
        env,
        lockId,
      );
      return notice('failed', {
        kind: 'failed',
        environment: env,
        lockId,
        detail: result.reasons.join('; '),
        result,
      });
    case 'refused':
      await record(
        'result',
        'rejected',
        `Releasing the ${env} lock ${lockId} confirmed by ${who} was refused: ${result.reasons.join('; ')}. Nothing was deleted.`,
        env,
        lockId,
      );
      return notice('refused-tampered', { kind: 'refused-tampered', environment: env });
  }
}

// ---------------------------------------------------------------------------------------------------
// Cancel

export async function handleUnlockCancel(input: UnlockActionInput, deps: UnlockDeps): Promise<UnlockReply> {
  const { actor } = input;
  const now = (deps.now ?? (() => new Date()))();
  const requestId = input.requestId ?? randomId();
  const records: AuditRecord[] = [];
  const who = actorLabel(actor);
  const record = async (
    outcome: AuditOutcome,
    detail: string,
    environment?: Environment,
    target?: string,
  ) => {
    const entry = commandAudit({
      id: `unlock:cancel:${requestId}`,
      at: now.toISOString(),
      actor,
      command: 'unlock.cancel',
      ...(environment === undefined ? {} : { environment }),
      ...(target === undefined ? {} : { target }),
      outcome,
      detail,
      ...(input.channelId === undefined ? {} : { channelId: input.channelId }),
    });
    await deps.audit.append(entry);
    records.push(entry);
  };

  const claimed = parseUnlockAction(input.actionValue);
  if (!claimed) {
    await record(
      'denied',
      `${who} clicked Cancel with a button value the bot did not write (${describeValue(input.actionValue)}).`,
    );
    return reply('refused-tampered', renderUnlockNotice({ kind: 'refused-tampered' }), true, records);
  }
  const pending = new PendingUnlocks({ redis: deps.redis, prefix: deps.prefix });
  const shown = await pending.peek(claimed.nonce);
  if (
    shown &&
    (shown.viewedBy !== actor.slackUserId ||
      shown.environment !== claimed.env ||
      shown.lockId !== claimed.lockId)
  ) {
    await record(
      'denied',
      `${who} clicked Cancel on a confirmation (${viewRef(claimed.nonce)}) that does not match the button or was shown to someone else. Left as it was.`,
      shown.environment,
      shown.lockId,
    );
    return reply(
      'refused-tampered',
      renderUnlockNotice({ kind: 'refused-tampered', environment: shown.environment }),
      true,
      records,
    );
  }
  if (shown) await pending.discard(claimed.nonce);
  await record(
    'info',
    `${who} cancelled releasing the ${claimed.env} lock ${claimed.lockId}${shown ? '' : ' (the confirmation had already expired or been used)'}. Nothing was released.`,
    claimed.env,
    claimed.lockId,
  );
  return reply(
    'cancelled',
    renderUnlockNotice({ kind: 'cancelled', environment: claimed.env, lockId: claimed.lockId }),
    true,
    records,
  );
}

// ---------------------------------------------------------------------------------------------------
// Helpers

const reply = (
  status: UnlockStatus,
  message: SlackMessage,
  replaceOriginal: boolean,
  audit: AuditRecord[],
): UnlockReply => ({
  status,
  message,
  replaceOriginal,
  audit,
});

function failedView(environment: Environment, why: string): SlackMessage {
  return renderUnlockNotice({ kind: 'failed', environment, lockId: '(unknown)', detail: why });
}

function fingerprintsOf(locks: readonly StateLock[]): LockFingerprints {
  const fingerprints: LockFingerprints = {};
  for (const lock of locks) fingerprints[lock.source] = lock.fingerprint;
  return fingerprints;
}

function describeInspection(inspection: LockInspection): string {
  return inspection.locks
    .map((lock) =>
      lock.unreadable !== undefined
        ? `unreadable ${SOURCE_LABEL[lock.source]} (${lock.unreadable})`
        : `lock ${lock.lockId} in the ${SOURCE_LABEL[lock.source]}, held by ${lock.who || 'unknown'} ` +
          `(${lock.operation || 'no operation'}, created ${lock.created || 'unknown'})`,
    )
    .join('; ');
}

const actorLabel = (actor: Actor): string =>
  actor.slackUserName ? `${actor.slackUserName} (${actor.slackUserId})` : actor.slackUserId;

/** A short, non-reversible reference to a nonce: correlates view and confirm in the audit without the nonce. */
const viewRef = (nonce: string): string =>
  `ref ${createHash('sha256').update(nonce).digest('hex').slice(0, 12)}`;

const randomId = (): string => randomBytes(8).toString('hex');

function describeValue(value: unknown): string {
  if (typeof value !== 'string') return `a ${value === null ? 'null' : typeof value}`;
  return `${value.length} characters`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error && error.name === 'LockStoreError' ? error.message : errorName(error);
}
