// `/unlock dev|prod` in Slack: pure functions from what the lock service found (and whether a run is going,
// whether the user may unlock) to Block Kit. No I/O. Everything read from a lock is text some process wrote:
// it is escaped, cut to size, and never allowed to form links or mentions.
//
// The Confirm button (style danger, with Slack's own confirm dialog) appears only when there is exactly
// one readable lock, no workflow run for the environment is in progress, the user may unlock it, and a
// server-side nonce was stored for this view (pending.ts). Its value names {env, lockId, nonce}; the
// fingerprints the release is conditioned on never leave the server.
import {
  BLOCK_KIT_LIMITS,
  contextBlock,
  escapeMrkdwn,
  fieldsBlock,
  headerBlock,
  plainText,
  sectionBlock,
  truncate,
  type ActionsBlock,
  type Block,
  type ButtonElement,
  type PlainTextObject,
  type SlackMessage,
} from '../domain/blockkit.js';
import { formatDuration } from '../domain/duration.js';
import { ENVIRONMENTS, type Environment } from '../domain/types.js';
import type { LockInspection, ReleaseResult } from './service.js';
import { NONCE_PATTERN, PENDING_UNLOCK_TTL_SECONDS } from './pending.js';
import { SOURCE_LABEL, type RecentRun, type StateLock } from './types.js';

export const UNLOCK_CONFIRM_ACTION_ID = 'unlock_confirm';
export const UNLOCK_CANCEL_ACTION_ID = 'unlock_cancel';

/** Slack's confirmation dialog object (docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object). */
export interface ConfirmDialog {
  title: PlainTextObject;
  text: PlainTextObject;
  confirm: PlainTextObject;
  deny: PlainTextObject;
  style?: 'primary' | 'danger';
}

export const CONFIRM_DIALOG_LIMITS = { title: 100, text: 300, confirm: 30, deny: 30 } as const;

/** blockkit.ts's ButtonElement plus the `confirm` dialog Slack supports on buttons. */
export interface ConfirmButtonElement extends ButtonElement {
  confirm?: ConfirmDialog;
}

// ---------------------------------------------------------------------------------------------------
// The button value

/** What a Confirm/Cancel button carries. Claims only: the handler checks them against the stored nonce. */
export interface UnlockActionValue {
  env: Environment;
  lockId: string;
  nonce: string;
}

export const encodeUnlockAction = (value: UnlockActionValue): string =>
  JSON.stringify({ env: value.env, lockId: value.lockId, nonce: value.nonce });

const LOCK_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** Parses a button value strictly; null for anything we did not write. */
export function parseUnlockAction(text: unknown): UnlockActionValue | null {
  if (typeof text !== 'string' || text.length > BLOCK_KIT_LIMITS.buttonValue) return null;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  const record = data as Record<string, unknown>;
  const keys = Object.keys(record).sort().join(',');
  if (keys !== 'env,lockId,nonce') return null;
  const { env, lockId, nonce } = record;
  if (typeof env !== 'string' || !ENVIRONMENTS.includes(env as Environment)) return null;
  if (typeof lockId !== 'string' || !LOCK_ID_PATTERN.test(lockId)) return null;
  if (typeof nonce !== 'string' || !NONCE_PATTERN.test(nonce)) return null;
  return { env: env as Environment, lockId, nonce };
}

// ---------------------------------------------------------------------------------------------------
// Matching the lock to a workflow run

/** Clock skew tolerated between the runner that wrote Created and GitHub's run timestamps. */
const MATCH_SLACK_MS = 60_000;

export interface RunMatch {
  run: RecentRun;
  /** 'runner': the lock's host is one of the run's runners; 'time': Created falls within the run. */
  by: 'runner' | 'time';
}

/**
 * The run that most likely holds the lock. The workflow sets nothing special in the lock, so: a run whose
 * runner host appears in Who ("<user>@<host>") if runner names are known; otherwise the latest-started run
 * whose [start, end] window (± 1 minute) contains Created.
 */
export function matchRun(lock: StateLock, runs: readonly RecentRun[], now: Date): RunMatch | undefined {
  const created = Date.parse(lock.created);
  if (Number.isNaN(created)) return undefined;
  const host = lock.who.includes('@') ? lock.who.slice(lock.who.lastIndexOf('@') + 1) : '';
  const windowed = runs
    .filter((run) => {
      const start = Date.parse(run.startedAt);
      if (Number.isNaN(start)) return false;
      const completed = run.completedAt === undefined ? Number.NaN : Date.parse(run.completedAt);
      const end = run.status === 'completed' && !Number.isNaN(completed) ? completed : now.getTime();
      return created >= start - MATCH_SLACK_MS && created <= end + MATCH_SLACK_MS;
    })
    .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt));
  const byRunner = host === '' ? undefined : windowed.find((run) => run.runnerNames?.includes(host));
  if (byRunner) return { run: byRunner, by: 'runner' };
  const first = windowed[0];
  return first ? { run: first, by: 'time' } : undefined;
}

// ---------------------------------------------------------------------------------------------------
// What to offer

export type UnlockDecision =
  | 'no-lock'
  | 'refused-unreadable'
  | 'refused-inconsistent'
  | 'refused-run-unknown'
  | 'refused-running'
  | 'refused-unauthorized'
  | 'offer';

export interface LockViewOptions {
  now: Date;
  /** A workflow run for this environment is in progress: refuse. */
  runInProgress: boolean;
  runInProgressUrl?: string;
  /** Whether a run is in progress could not be determined: refuse (fail closed). */
  runStatusUnknown?: boolean;
  /** authorize(policy, 'unlock', env, viewer). */
  canUnlock: boolean;
  /** Why not, when canUnlock is false. */
  forbiddenReason?: string;
  /** The stored nonce; the Confirm button is rendered only with one. */
  nonce?: string;
  /** How long the stored confirmation lives (default PENDING_UNLOCK_TTL_SECONDS). */
  confirmTtlSeconds?: number;
  /** Recent runs of the pipeline for this environment, for "the run that holds it". */
  runs?: readonly RecentRun[];
}

/** The one place that decides whether Confirm is offered, and if not, why. */
export function decideUnlock(
  inspection: LockInspection,
  options: Pick<LockViewOptions, 'runInProgress' | 'runStatusUnknown' | 'canUnlock'>,
): UnlockDecision {
  if (inspection.verdict === 'none') return 'no-lock';
  if (inspection.verdict === 'unreadable') return 'refused-unreadable';
  if (inspection.verdict === 'inconsistent') return 'refused-inconsistent';
  if (options.runStatusUnknown) return 'refused-run-unknown';
  if (options.runInProgress) return 'refused-running';
  if (!options.canUnlock) return 'refused-unauthorized';
  return 'offer';
}

// ---------------------------------------------------------------------------------------------------
// Rendering

const FIELD_MAX = 200;

/** Text a lock holder wrote, as inline code: escaped, no backticks, bounded. */
const code = (text: string): string =>
  text === '' ? '_(empty)_' : `\`${escapeMrkdwn(truncate(text.replace(/[`\r\n]/g, ' '), FIELD_MAX))}\``;

const SAFE_URL = /^https:\/\/[^\s<>|`]+$/;
const link = (url: string | undefined, label: string): string =>
  url && SAFE_URL.test(url) ? `<${url}|${escapeMrkdwn(label).replace(/[|>]/g, '')}>` : escapeMrkdwn(label);

const OPERATION_NAMES: Readonly<Record<string, string>> = {
  OperationTypeApply: 'apply',
  OperationTypePlan: 'plan',
  OperationTypeRefresh: 'refresh',
  OperationTypeInvalid: 'unknown',
};

function operationLabel(operation: string): string {
  const name = OPERATION_NAMES[operation];
  return name ? `${name} (${code(operation)})` : code(operation);
}

function createdLabel(created: string): string {
  const ms = Date.parse(created);
  if (Number.isNaN(ms)) return code(created);
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

function ageLabel(created: string, now: Date): string {
  const ms = Date.parse(created);
  if (Number.isNaN(ms)) return 'unknown';
  return formatDuration(now.getTime() - ms);
}

function runLabel(match: RunMatch | undefined, runsKnown: boolean): string {
  if (!match) {
    return runsKnown
      ? 'no matching run (not taken by a recent run of the pipeline; perhaps a local `terraform`)'
      : 'not checked';
  }
  const { run } = match;
  const name = `run ${run.runNumber === undefined ? run.id : `#${run.runNumber}`}`;
  const state =
    run.status === 'completed' ? `completed${run.conclusion ? `: ${run.conclusion}` : ''}` : run.status;
  const title = run.title ? ` ${escapeMrkdwn(truncate(run.title.replace(/[\r\n]/g, ' '), 80))}` : '';
  const how = match.by === 'runner' ? 'same runner' : 'by time';
  return `${link(run.htmlUrl, name)}${title} (${escapeMrkdwn(state)}; matched ${how})`;
}

function lockBlocks(lock: StateLock, options: LockViewOptions, sources: string): Block[] {
  if (lock.unreadable !== undefined) {
    return [
      sectionBlock(
        `*${SOURCE_LABEL[lock.source]}* cannot be read as a Terraform lock: ${escapeMrkdwn(lock.unreadable)}.`,
      ),
    ];
  }
  const match = matchRun(lock, options.runs ?? [], options.now);
  const fields = [
    `*Holder (Who)*\n${code(lock.who)}`,
    `*Operation*\n${operationLabel(lock.operation)}`,
    `*Created*\n${createdLabel(lock.created)}`,
    `*Age*\n${ageLabel(lock.created, options.now)}`,
    `*Lock ID*\n${code(lock.lockId)}`,
    `*Terraform*\n${code(lock.version)}`,
    `*Stored in*\n${sources}`,
    `*Run*\n${runLabel(match, options.runs !== undefined)}`,
  ];
  if (lock.info !== '') fields.push(`*Info*\n${code(lock.info)}`);
  return [fieldsBlock(fields)];
}

function offerBlocks(
  inspection: LockInspection,
  lock: StateLock,
  nonce: string,
  ttlSeconds: number,
): Block[] {
  const env = inspection.environment;
  const value = encodeUnlockAction({ env, lockId: lock.lockId, nonce });
  const dialogText =
    `Delete lock ${lock.lockId} held by ${truncate(lock.who || 'unknown', 60)} ` +
    `(${OPERATION_NAMES[lock.operation] ?? truncate(lock.operation || 'unknown operation', 40)}, created ` +
    `${createdLabel(lock.created)})? Only this exact lock is deleted; if it changed since you looked, nothing is.`;
  const confirm: ConfirmButtonElement = {
    type: 'button',
    action_id: UNLOCK_CONFIRM_ACTION_ID,
    text: plainText('Release lock', BLOCK_KIT_LIMITS.buttonText),
    style: 'danger',
    value,
    confirm: {
      title: plainText(`Release the ${env} state lock?`, CONFIRM_DIALOG_LIMITS.title),
      text: plainText(dialogText, CONFIRM_DIALOG_LIMITS.text),
      confirm: plainText('Release it', CONFIRM_DIALOG_LIMITS.confirm),
      deny: plainText('Keep it', CONFIRM_DIALOG_LIMITS.deny),
      style: 'danger',
    },
  };
  const cancel: ButtonElement = {
    type: 'button',
    action_id: UNLOCK_CANCEL_ACTION_ID,
    text: plainText('Cancel', BLOCK_KIT_LIMITS.buttonText),
    value,
  };
  const actions: ActionsBlock = { type: 'actions', block_id: 'unlock_actions', elements: [confirm, cancel] };
  return [
    sectionBlock(
      `:warning: No workflow run for *${env}* is in progress. Release this lock only if you are sure its ` +
        'holder is gone: a Terraform that still holds it could corrupt the state. Only this exact lock is ' +
        `released; the state and its digest are never touched. This offer expires in ${formatDuration(ttlSeconds * 1000)}.`,
    ),
    actions,
  ];
}

function refusalText(decision: UnlockDecision, inspection: LockInspection, options: LockViewOptions): string {
  const env = inspection.environment;
  switch (decision) {
    case 'refused-unreadable':
      return (
        ':no_entry: I will not release a lock I cannot read: without its lock ID nobody can tell whose it is. ' +
        'Look at it by hand (AWS console, or `terraform force-unlock` with the ID).'
      );
    case 'refused-inconsistent':
      return (
        ':no_entry: The DynamoDB lock item and the S3 lock file name *different* locks. Something is off, so ' +
        'I will not release either; investigate by hand.'
      );
    case 'refused-run-unknown':
      return (
        `:no_entry: I could not check whether a workflow run for *${env}* is in progress, so I will not offer ` +
        'to release the lock. Try again in a minute.'
      );
    case 'refused-running':
      return (
        `:no_entry: A workflow run for *${env}* is in progress (${link(options.runInProgressUrl, 'the run')}): ` +
        'the lock is probably still in use. I will not release it while the run is going; wait for it to ' +
        'finish, or cancel the run first.'
      );
    case 'refused-unauthorized':
      return `:no_entry: ${escapeMrkdwn(options.forbiddenReason ?? `You are not allowed to unlock ${env}.`)}`;
    default:
      return ':no_entry: I cannot offer to release this lock right now. Run the command again.';
  }
}

/** The ephemeral answer to `/unlock <env>`. */
export function renderLockView(inspection: LockInspection, options: LockViewOptions): SlackMessage {
  const env = inspection.environment;
  const checked = contextBlock([
    `Checked: ${inspection.checked.map((where) => escapeMrkdwn(where)).join(' · ')}`,
  ]);
  const decision = decideUnlock(inspection, options);
  if (decision === 'no-lock') {
    return {
      text: `No Terraform state lock is held for ${env}.`,
      blocks: [
        sectionBlock(`:white_check_mark: No Terraform state lock is held for *${env}*. Nothing to release.`),
        checked,
      ],
    };
  }
  const blocks: Block[] = [headerBlock(`Terraform state lock · ${env}`)];
  const readable = inspection.locks.filter((lock) => lock.unreadable === undefined);
  const shown =
    inspection.verdict === 'held'
      ? [inspection.locks[0] as StateLock]
      : inspection.verdict === 'inconsistent'
        ? readable
        : inspection.locks;
  const sources = inspection.locks.map((lock) => SOURCE_LABEL[lock.source]).join(' + ');
  for (const lock of shown) {
    const heading =
      inspection.verdict === 'inconsistent' ? [sectionBlock(`*${SOURCE_LABEL[lock.source]}*`)] : [];
    blocks.push(
      ...heading,
      ...lockBlocks(lock, options, inspection.verdict === 'held' ? sources : SOURCE_LABEL[lock.source]),
    );
  }
  if (inspection.notes.length > 0) {
    blocks.push(contextBlock(inspection.notes.slice(0, 5).map((note) => escapeMrkdwn(note))));
  }
  const lock = inspection.locks[0] as StateLock;
  if (decision === 'offer' && options.nonce !== undefined && NONCE_PATTERN.test(options.nonce)) {
    blocks.push(
      ...offerBlocks(
        inspection,
        lock,
        options.nonce,
        options.confirmTtlSeconds ?? PENDING_UNLOCK_TTL_SECONDS,
      ),
    );
  } else {
    blocks.push(sectionBlock(refusalText(decision, inspection, options)));
  }
  blocks.push(checked);
  const summary =
    inspection.verdict === 'held'
      ? `${env} is locked by ${truncate(lock.who || 'unknown', 80)} (lock ${lock.lockId}).`
      : `${env} has a Terraform state lock that I cannot release automatically.`;
  return { text: summary, blocks };
}

// ---------------------------------------------------------------------------------------------------
// Answers to Confirm / Cancel (they replace the ephemeral view)

export type UnlockNotice =
  | { kind: 'released'; result: ReleaseResult; who?: string }
  | { kind: 'changed'; result: ReleaseResult }
  | { kind: 'nothing-to-release'; result: ReleaseResult }
  | { kind: 'failed'; environment: Environment; lockId: string; detail: string; result?: ReleaseResult }
  | { kind: 'refused-running'; environment: Environment; runUrl?: string }
  | { kind: 'refused-run-unknown'; environment: Environment }
  | { kind: 'refused-unauthorized'; environment: Environment; reason: string }
  | { kind: 'refused-tampered'; environment?: Environment }
  | { kind: 'refused-expired'; environment?: Environment }
  | { kind: 'cancelled'; environment: Environment; lockId: string };

const again = (env?: Environment): string => (env ? `\`/unlock ${env}\`` : '`/unlock dev|prod`');
const bullets = (lines: readonly string[]): string =>
  lines.map((line) => `• ${escapeMrkdwn(line)}`).join('\n');

export function renderUnlockNotice(notice: UnlockNotice): SlackMessage {
  const text = noticeText(notice);
  return {
    text: truncate(text.replace(/[*`_]/g, '').split('\n')[0] ?? '', 300),
    blocks: [sectionBlock(text)],
  };
}

function noticeText(notice: UnlockNotice): string {
  switch (notice.kind) {
    case 'released': {
      const r = notice.result;
      const gone = r.absent.length > 0 ? `\nAlready gone:\n${bullets(r.absent.map((a) => a.location))}` : '';
      return (
        `:unlock: Released the *${r.environment}* state lock ${code(r.lockId)}${notice.who ? ` (held by ${code(notice.who)})` : ''}.\n` +
        `Deleted:\n${bullets(r.released.map((x) => x.detail.replace(/^deleted /, '')))}${gone}\n` +
        'The state object and the `-md5` digest item were not touched.'
      );
    }
    case 'changed': {
      const r = notice.result;
      const released =
        r.released.length > 0
          ? `\nReleased before the change was noticed:\n${bullets(r.released.map((x) => x.detail))}`
          : '';
      return (
        `:no_entry: The *${r.environment}* lock changed after you looked at it (re-acquired or rewritten), so ` +
        `it was left alone.\n${bullets(r.changed.map((x) => x.detail))}${released}\n` +
        `Run ${again(r.environment)} again to see the current lock.`
      );
    }
    case 'nothing-to-release':
      return (
        `:white_check_mark: The *${notice.result.environment}* lock ${code(notice.result.lockId)} was already ` +
        'gone. Nothing was released.'
      );
    case 'failed': {
      const released =
        notice.result && notice.result.released.length > 0
          ? `\nReleased before the failure:\n${bullets(notice.result.released.map((x) => x.detail))}`
          : '';
      return (
        `:warning: I could not finish releasing the *${notice.environment}* lock ${code(notice.lockId)}: ` +
        `${escapeMrkdwn(notice.detail)}.${released}\nRun ${again(notice.environment)} to see where it stands.`
      );
    }
    case 'refused-running':
      return (
        `:no_entry: A workflow run for *${notice.environment}* is in progress now ` +
        `(${link(notice.runUrl, 'the run')}). Nothing was released.`
      );
    case 'refused-run-unknown':
      return (
        `:no_entry: I could not check whether a workflow run for *${notice.environment}* is in progress. ` +
        `Nothing was released. Try ${again(notice.environment)} again in a minute.`
      );
    case 'refused-unauthorized':
      return `:no_entry: ${escapeMrkdwn(notice.reason)} Nothing was released.`;
    case 'refused-tampered':
      return (
        ':no_entry: This confirmation does not match what was shown to you. Nothing was released, and the ' +
        `attempt was recorded. Run ${again(notice.environment)} to look at the lock again.`
      );
    case 'refused-expired':
      return (
        `:hourglass: This confirmation has expired or was already used (confirmations expire and work ` +
        `once). Nothing was released. Run ${again(notice.environment)} again.`
      );
    case 'cancelled':
      return `Cancelled. The *${notice.environment}* lock ${code(notice.lockId)} was left alone.`;
  }
}

// ---------------------------------------------------------------------------------------------------
// Limits beyond checkBlockKitLimits

/** checkBlockKitLimits does not know confirm dialogs; this checks ours. Empty = within Slack's limits. */
export function checkConfirmDialogs(blocks: readonly Block[]): string[] {
  const problems: string[] = [];
  blocks.forEach((block, index) => {
    if (block.type !== 'actions') return;
    block.elements.forEach((element, at) => {
      const dialog = (element as ConfirmButtonElement).confirm;
      if (!dialog) return;
      for (const part of ['title', 'text', 'confirm', 'deny'] as const) {
        const length = dialog[part].text.length;
        if (length === 0 || length > CONFIRM_DIALOG_LIMITS[part]) {
          problems.push(
            `blocks[${index}].elements[${at}].confirm.${part} is ${length} characters (limit ${CONFIRM_DIALOG_LIMITS[part]})`,
          );
        }
      }
    });
  });
  return problems;
}
