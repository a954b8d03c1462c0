// Pure parts of /unlock: Terraform's LockInfo bytes, the backends, the button value, run matching, and the
// Block Kit views (content, escaping, Slack limits).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { checkMessageLimits, type SlackMessage } from '../../src/domain/blockkit.js';
import type { LockInspection, ReleaseResult } from '../../src/locks/service.js';
import {
  TERRAFORM_BACKENDS,
  marshalLockInfo,
  parseLockInfo,
  rfc3339Nano,
  type RecentRun,
  type StateLock,
} from '../../src/locks/types.js';
import {
  UNLOCK_CONFIRM_ACTION_ID,
  checkConfirmDialogs,
  decideUnlock,
  encodeUnlockAction,
  matchRun,
  parseUnlockAction,
  renderLockView,
  renderUnlockNotice,
  type ConfirmButtonElement,
  type LockViewOptions,
  type UnlockNotice,
} from '../../src/locks/view.js';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const NONCE = 'AbCdEfGhIjKlMnOpQrStUv';
const LOCK_ID = 'd3b07384-d9a0-4c9b-8f1e-2b6a1c1f0e7a';

const lock = (overrides: Partial<StateLock> = {}): StateLock => ({
  environment: 'dev',
  source: 'dynamodb',
  lockId: LOCK_ID,
  who: 'runner@fv-az1234-567',
  operation: 'OperationTypeApply',
  info: '',
  version: '1.15.3',
  created: '2026-11-27T08:47:12.345678901Z',
  path: 'gitops-infra-pipeline-tfstate/aws/dev/terraform.tfstate',
  fingerprint: '{"ID":"…"}',
  location:
    'DynamoDB gitops-infra-pipeline-tflock item LockID=gitops-infra-pipeline-tfstate/aws/dev/terraform.tfstate',
  ...overrides,
});

const inspection = (locks: StateLock[], overrides: Partial<LockInspection> = {}): LockInspection => ({
  environment: 'dev',
  checkedAt: NOW.toISOString(),
  checked: [
    'DynamoDB gitops-infra-pipeline-tflock item LockID=…',
    's3://gitops-infra-pipeline-tfstate/aws/dev/terraform.tfstate.tflock',
  ],
  locks,
  verdict: locks.length === 0 ? 'none' : 'held',
  ...(locks.length > 0 ? { lockId: locks[0]?.lockId } : {}),
  notes: [],
  ...overrides,
});

const offer: LockViewOptions = { now: NOW, runInProgress: false, canUnlock: true, nonce: NONCE, runs: [] };
const confirmOf = (message: SlackMessage): ConfirmButtonElement | undefined => {
  for (const block of message.blocks) {
    if (block.type === 'actions') {
      const button = block.elements.find((e) => e.action_id === UNLOCK_CONFIRM_ACTION_ID);
      if (button) return button as ConfirmButtonElement;
    }
  }
  return undefined;
};
const within = (message: SlackMessage): void => {
  expect(checkMessageLimits(message)).toEqual([]);
  expect(checkConfirmDialogs(message.blocks)).toEqual([]);
};

describe('LockInfo in Terraform’s bytes', () => {
  it('marshals like Go’s json.Marshal of statemgr.LockInfo (field order, HTML-safe escaping)', () => {
    const json = marshalLockInfo({
      ID: LOCK_ID,
      Operation: 'OperationTypeApply',
      Info: 'a<b>&c "q"\n',
      Who: 'runner@fv-az1234-567',
      Version: '1.15.3',
      Created: '2026-11-27T08:47:12.345678901Z',
      Path: 'gitops-infra-pipeline-tfstate/aws/dev/terraform.tfstate',
    });
    expect(json).toBe(
      '{"ID":"d3b07384-d9a0-4c9b-8f1e-2b6a1c1f0e7a","Operation":"OperationTypeApply",' +
        '"Info":"a\\u003cb\\u003e\\u0026c \\"q\\"\\n","Who":"runner@fv-az1234-567","Version":"1.15.3",' +
        '"Created":"2026-11-27T08:47:12.345678901Z","Path":"gitops-infra-pipeline-tfstate/aws/dev/terraform.tfstate"}',
    );
    expect(parseLockInfo(json)).toMatchObject({ ok: true, info: { Info: 'a<b>&c "q"\n' } });
  });

  it('writes Created as RFC3339Nano in UTC, trailing zeros trimmed', () => {
    expect(rfc3339Nano(new Date('2026-11-27T08:47:12.345Z'), 678901)).toBe('2026-11-27T08:47:12.345678901Z');
    expect(rfc3339Nano(new Date('2026-11-27T08:47:12.120Z'))).toBe('2026-11-27T08:47:12.12Z');
    expect(rfc3339Nano(new Date('2026-11-27T08:47:12.000Z'))).toBe('2026-11-27T08:47:12Z');
  });

  it('reads LockInfo leniently like Go (unknown fields ignored), but insists on an ID', () => {
    expect(parseLockInfo('{"ID":"x","Extra":1}')).toMatchObject({ ok: true, info: { ID: 'x', Who: '' } });
    expect(parseLockInfo('{"Who":"a"}')).toMatchObject({ ok: false });
    expect(parseLockInfo('[]')).toMatchObject({ ok: false });
    expect(parseLockInfo('nope')).toMatchObject({ ok: false, problem: 'the stored lock is not JSON' });
  });

  it('names the same bucket, keys and table as terraform/aws/{dev,prod}/backend.tf', () => {
    for (const env of ['dev', 'prod'] as const) {
      const hcl = readFileSync(new URL(`../../terraform/aws/${env}/backend.tf`, import.meta.url), 'utf8');
      const setting = (name: string): string | undefined =>
        new RegExp(`^\\s*${name}\\s*=\\s*"([^"]+)"`, 'm').exec(hcl)?.[1];
      expect(TERRAFORM_BACKENDS[env]).toEqual({
        bucket: setting('bucket'),
        key: setting('key'),
        table: setting('dynamodb_table'),
      });
      expect(setting('region')).toBe('us-east-1');
    }
  });
});

describe('the button value', () => {
  it('round-trips and rejects anything else', () => {
    const value = encodeUnlockAction({ env: 'prod', lockId: LOCK_ID, nonce: NONCE });
    expect(parseUnlockAction(value)).toEqual({ env: 'prod', lockId: LOCK_ID, nonce: NONCE });
    for (const bad of [
      undefined,
      42,
      '',
      'x',
      '[]',
      JSON.stringify({ env: 'prod', lockId: LOCK_ID }),
      JSON.stringify({ env: 'qa', lockId: LOCK_ID, nonce: NONCE }),
      JSON.stringify({ env: 'dev', lockId: 'has space', nonce: NONCE }),
      JSON.stringify({ env: 'dev', lockId: LOCK_ID, nonce: 'short' }),
      JSON.stringify({ env: 'dev', lockId: LOCK_ID, nonce: NONCE, fingerprints: { s3: '"x"' } }),
      'x'.repeat(3000),
    ]) {
      expect(parseUnlockAction(bad)).toBeNull();
    }
  });
});

describe('matchRun', () => {
  const run = (overrides: Partial<RecentRun>): RecentRun => ({
    id: 1,
    htmlUrl: 'https://github.com/acme/repo/actions/runs/1',
    status: 'completed',
    conclusion: 'failure',
    startedAt: '2026-11-27T08:40:00Z',
    completedAt: '2026-11-27T09:00:00Z',
    ...overrides,
  });

  it('matches the run whose window holds Created, the latest-started first', () => {
    const runs = [
      run({ id: 1, startedAt: '2026-11-27T08:00:00Z', completedAt: '2026-11-27T10:00:00Z' }),
      run({ id: 2, startedAt: '2026-11-27T08:40:00Z' }),
      run({ id: 3, startedAt: '2026-11-27T09:30:00Z', completedAt: '2026-11-27T09:45:00Z' }),
    ];
    expect(matchRun(lock(), runs, NOW)).toMatchObject({ run: { id: 2 }, by: 'time' });
  });

  it('prefers the run whose runner is the lock’s host', () => {
    const runs = [
      run({ id: 2 }),
      run({ id: 1, startedAt: '2026-11-27T08:00:00Z', runnerNames: ['fv-az1234-567'] }),
    ];
    expect(matchRun(lock(), runs, NOW)).toMatchObject({ run: { id: 1 }, by: 'runner' });
  });

  it('treats a run that has not completed as open-ended, and finds nothing outside any window', () => {
    expect(matchRun(lock(), [run({ status: 'in_progress', completedAt: undefined })], NOW)?.run.id).toBe(1);
    expect(
      matchRun(
        lock(),
        [run({ startedAt: '2026-11-27T10:00:00Z', completedAt: '2026-11-27T10:30:00Z' })],
        NOW,
      ),
    ).toBeUndefined();
    expect(matchRun(lock({ created: 'garbage' }), [run({})], NOW)).toBeUndefined();
  });
});

describe('renderLockView', () => {
  it('offers Confirm (danger, with a confirm dialog) and Cancel only when everything allows it', () => {
    const message = renderLockView(inspection([lock()]), offer);
    within(message);
    const confirm = confirmOf(message);
    expect(confirm).toMatchObject({
      style: 'danger',
      confirm: { style: 'danger', confirm: { text: 'Release it' }, deny: { text: 'Keep it' } },
    });
    expect(parseUnlockAction(confirm?.value)).toEqual({ env: 'dev', lockId: LOCK_ID, nonce: NONCE });
    expect(message.text).toBe(`dev is locked by runner@fv-az1234-567 (lock ${LOCK_ID}).`);

    expect(confirmOf(renderLockView(inspection([lock()]), { ...offer, nonce: undefined }))).toBeUndefined();
    expect(confirmOf(renderLockView(inspection([lock()]), { ...offer, nonce: 'bad nonce' }))).toBeUndefined();
    expect(confirmOf(renderLockView(inspection([lock()]), { ...offer, canUnlock: false }))).toBeUndefined();
    expect(
      confirmOf(renderLockView(inspection([lock()]), { ...offer, runInProgress: true })),
    ).toBeUndefined();
    expect(
      confirmOf(renderLockView(inspection([lock()]), { ...offer, runStatusUnknown: true })),
    ).toBeUndefined();
    expect(
      confirmOf(renderLockView(inspection([lock()], { verdict: 'inconsistent' }), offer)),
    ).toBeUndefined();
  });

  it('decides in one place, refusals first', () => {
    const held = inspection([lock()]);
    expect(decideUnlock(held, { runInProgress: true, canUnlock: false })).toBe('refused-running');
    expect(decideUnlock(held, { runInProgress: false, runStatusUnknown: true, canUnlock: true })).toBe(
      'refused-run-unknown',
    );
    expect(decideUnlock(held, { runInProgress: false, canUnlock: false })).toBe('refused-unauthorized');
    expect(decideUnlock(inspection([]), { runInProgress: true, canUnlock: true })).toBe('no-lock');
    expect(decideUnlock(held, { runInProgress: false, canUnlock: true })).toBe('offer');
  });

  it('escapes what the lock holder wrote: no mentions, links or formatting get through', () => {
    const hostile = lock({
      who: '<!channel> `rm -rf` *bold* <https://evil.example|click>',
      info: '<@U0ADMIN> please approve',
      operation: 'OperationType<script>',
    });
    const message = renderLockView(inspection([hostile]), offer);
    within(message);
    // Only mrkdwn is parsed for mentions and links; the confirm dialog is plain_text, shown literally.
    const mrkdwnTexts: string[] = [];
    JSON.stringify(message.blocks, (_key, value: unknown) => {
      const node = value as { type?: unknown; text?: unknown };
      if (node && node.type === 'mrkdwn' && typeof node.text === 'string') mrkdwnTexts.push(node.text);
      return value;
    });
    const text = mrkdwnTexts.join('\n');
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<@U0ADMIN>');
    expect(text).not.toContain('<https://evil.example');
    expect(text).toContain('&lt;!channel&gt;');
  });

  it('stays within Slack’s limits however long the lock fields are', () => {
    const long = 'x'.repeat(10_000);
    const huge = lock({ who: long, info: long, operation: long, version: long, lockId: 'y'.repeat(128) });
    for (const options of [
      offer,
      { ...offer, canUnlock: false, forbiddenReason: long },
      { ...offer, runInProgress: true, runInProgressUrl: `https://github.com/${long}` },
    ]) {
      within(renderLockView(inspection([huge, { ...huge, source: 's3' }]), options));
    }
    within(
      renderLockView(
        inspection([lock(), lock({ source: 's3', lockId: 'other' })], {
          verdict: 'inconsistent',
          notes: [long, long],
        }),
        offer,
      ),
    );
    within(
      renderLockView(
        inspection([lock({ unreadable: 'the stored lock is not JSON', lockId: '' })], {
          verdict: 'unreadable',
        }),
        offer,
      ),
    );
    within(renderLockView(inspection([]), offer));
  });

  it('links the matched run, and only https links', () => {
    const runs: RecentRun[] = [
      {
        id: 7,
        runNumber: 12,
        htmlUrl: 'https://github.com/acme/repo/actions/runs/7',
        status: 'completed',
        conclusion: 'cancelled',
        startedAt: '2026-11-27T08:40:00Z',
        completedAt: '2026-11-27T09:00:00Z',
        title: 'Promote *dev*',
      },
    ];
    const text = JSON.stringify(renderLockView(inspection([lock()]), { ...offer, runs }).blocks);
    expect(text).toContain('<https://github.com/acme/repo/actions/runs/7|run #12>');
    expect(text).toContain('completed: cancelled; matched by time');
    const unsafe = JSON.stringify(
      renderLockView(inspection([lock()]), {
        ...offer,
        runs: [{ ...runs[0], htmlUrl: 'javascript:alert(1)' } as RecentRun],
      }).blocks,
    );
    expect(unsafe).not.toContain('javascript:');
  });
});

describe('renderUnlockNotice', () => {
  const result = (overrides: Partial<ReleaseResult> = {}): ReleaseResult => ({
    environment: 'prod',
    lockId: LOCK_ID,
    outcome: 'released',
    released: [{ source: 'dynamodb', location: 'DynamoDB …', detail: 'deleted DynamoDB … (lock x)' }],
    changed: [],
    absent: [],
    failed: [],
    reasons: [],
    ...overrides,
  });

  it('has a message for every outcome, within limits', () => {
    const notices: UnlockNotice[] = [
      { kind: 'released', result: result(), who: 'runner@host' },
      {
        kind: 'changed',
        result: result({
          outcome: 'changed',
          released: [],
          changed: [{ source: 's3', location: 's3://…', detail: 'now holds lock y' }],
        }),
      },
      { kind: 'nothing-to-release', result: result({ outcome: 'nothing-to-release', released: [] }) },
      { kind: 'failed', environment: 'prod', lockId: LOCK_ID, detail: 'x'.repeat(5000) },
      { kind: 'refused-running', environment: 'prod', runUrl: 'https://github.com/acme/repo/actions/runs/1' },
      { kind: 'refused-run-unknown', environment: 'prod' },
      { kind: 'refused-unauthorized', environment: 'prod', reason: 'You are not allowed to unlock prod.' },
      { kind: 'refused-tampered' },
      { kind: 'refused-expired', environment: 'dev' },
      { kind: 'cancelled', environment: 'dev', lockId: LOCK_ID },
    ];
    for (const notice of notices) {
      const message = renderUnlockNotice(notice);
      within(message);
      expect(message.text.length).toBeGreaterThan(0);
    }
    expect(JSON.stringify(renderUnlockNotice(notices[0] as UnlockNotice).blocks)).toContain(
      '`-md5` digest item were not touched',
    );
  });
});
