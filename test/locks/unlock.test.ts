// /unlock end to end through the handler functions: dynalite + S3 stand-in holding Terraform-format locks,
// real Redis for the confirmations and the audit stream (AuditLog). GitHub's "is a run in progress" is the
// one collaborator played by the test (it is the lead's adapter at that boundary).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { AuditLog } from '../../src/audit/stream.js';
import type { AccessPolicy } from '../../src/domain/access.js';
import type { AuditRecord } from '../../src/domain/audit.js';
import { checkMessageLimits, type SlackMessage } from '../../src/domain/blockkit.js';
import type { Actor } from '../../src/domain/types.js';
import { DynamoDbLockStore } from '../../src/locks/dynamodb.js';
import {
  handleUnlockCancel,
  handleUnlockCommand,
  handleUnlockConfirm,
  type RunStatus,
  type UnlockDeps,
  type UnlockReply,
} from '../../src/locks/handlers.js';
import { pendingUnlockKey } from '../../src/locks/pending.js';
import { S3LockStore } from '../../src/locks/s3.js';
import { LockService } from '../../src/locks/service.js';
import {
  TERRAFORM_BACKENDS,
  lockItemId,
  lockObjectKey,
  marshalLockInfo,
  rfc3339Nano,
  type RecentRun,
  type StateBackend,
} from '../../src/locks/types.js';
import {
  UNLOCK_CANCEL_ACTION_ID,
  UNLOCK_CONFIRM_ACTION_ID,
  checkConfirmDialogs,
  type ConfirmButtonElement,
} from '../../src/locks/view.js';
import { REDIS, deleteKeys, uniquePrefix } from '../slack/test-support.js';
import {
  lockItem,
  lockObject,
  snapshotState,
  startLocalAws,
  takeLock,
  terraformLockInfo,
  writeState,
  type LocalAws,
  type StateSnapshot,
} from './support.js';

const DEV = TERRAFORM_BACKENDS.dev;
const PROD = TERRAFORM_BACKENDS.prod;
const NOW = new Date('2026-11-27T12:00:00.000Z');
const CREATED = rfc3339Nano(new Date('2026-11-27T08:47:12.345Z'), 678901); // 3h 12m before NOW

const ALICE: Actor = { slackUserId: 'U0ALICE', slackUserName: 'alice' };
const BOB: Actor = { slackUserId: 'U0BOB', slackUserName: 'bob' };
const CAROL: Actor = { slackUserId: 'U0CAROL', groupIds: ['S0PLATFORM'] };
const MALLORY: Actor = { slackUserId: 'U0MALLORY', slackUserName: 'mallory' };

const nobody = () => ({ users: [], groups: [] });
const POLICY: AccessPolicy = {
  promote: { dev: nobody(), prod: nobody() },
  approve: { dev: nobody(), prod: nobody() },
  unlock: {
    dev: { users: ['U0ALICE', 'U0BOB'], groups: ['S0PLATFORM'] },
    prod: { users: ['U0ALICE'], groups: [] },
  },
};

const RUNS: RecentRun[] = [
  {
    id: 9001,
    runNumber: 412,
    htmlUrl: 'https://github.com/acme/gitops-infra-pipeline/actions/runs/9001',
    status: 'completed',
    conclusion: 'cancelled',
    startedAt: '2026-11-27T08:40:00Z',
    completedAt: '2026-11-27T08:58:00Z',
    title: 'Promote dev',
  },
  {
    id: 8990,
    runNumber: 411,
    htmlUrl: 'https://github.com/acme/gitops-infra-pipeline/actions/runs/8990',
    status: 'completed',
    conclusion: 'success',
    startedAt: '2026-11-27T06:00:00Z',
    completedAt: '2026-11-27T06:20:00Z',
  },
];

const PREFIX = uniquePrefix('unlock');

describe('/unlock handlers (dynalite + S3 stand-in + Redis)', () => {
  let aws: LocalAws;
  let redis: Redis;
  let audit: AuditLog;
  let runStatus: RunStatus | Error;
  let deps: UnlockDeps;
  let before: Record<'dev' | 'prod', StateSnapshot>;
  let request = 0;

  const clearLocks = async (backend: StateBackend): Promise<void> => {
    await aws.dynamodb.send(
      new DeleteItemCommand({ TableName: backend.table, Key: { LockID: { S: lockItemId(backend) } } }),
    );
    await aws.s3.send(new DeleteObjectCommand({ Bucket: backend.bucket, Key: lockObjectKey(backend) }));
  };

  const view = (actor: Actor, environment: 'dev' | 'prod' = 'dev'): Promise<UnlockReply> =>
    handleUnlockCommand({ environment, actor, channelId: 'C0OPS', requestId: `trigger-${++request}` }, deps);
  const confirm = (actor: Actor, actionValue: unknown): Promise<UnlockReply> =>
    handleUnlockConfirm({ actionValue, actor, channelId: 'C0OPS', requestId: `click-${++request}` }, deps);
  const cancel = (actor: Actor, actionValue: unknown): Promise<UnlockReply> =>
    handleUnlockCancel({ actionValue, actor, requestId: `cancel-${++request}` }, deps);

  /** The Confirm button of a view, or undefined. */
  const confirmButton = (message: SlackMessage): ConfirmButtonElement | undefined => {
    for (const block of message.blocks) {
      if (block.type !== 'actions') continue;
      const button = block.elements.find((e) => e.action_id === UNLOCK_CONFIRM_ACTION_ID);
      if (button) return button as ConfirmButtonElement;
    }
    return undefined;
  };
  const buttonValue = (reply: UnlockReply): string => {
    const value = confirmButton(reply.message)?.value;
    if (!value) throw new Error(`no Confirm button (status ${reply.status})`);
    return value;
  };
  const textOf = (message: SlackMessage): string => JSON.stringify(message.blocks);
  const expectWithinLimits = (reply: UnlockReply): void => {
    expect(checkMessageLimits(reply.message)).toEqual([]);
    expect(checkConfirmDialogs(reply.message.blocks)).toEqual([]);
  };
  const storedAudit = async (records: AuditRecord[]): Promise<AuditRecord[]> => {
    const all = (await audit.read({ count: 10_000 })).map((entry) => entry.record);
    return records.map((r) => all.find((a) => a.id === r.id) as AuditRecord);
  };

  beforeAll(async () => {
    aws = await startLocalAws();
    redis = new Redis(REDIS);
    audit = new AuditLog({ connection: redis, prefix: PREFIX });
    await writeState(aws, DEV, 41);
    await writeState(aws, PROD, 7);
    before = { dev: await snapshotState(aws, DEV), prod: await snapshotState(aws, PROD) };
  });
  beforeEach(() => {
    runStatus = { inProgress: false };
    deps = {
      locks: new LockService({
        stores: [new DynamoDbLockStore({ client: aws.dynamodb }), new S3LockStore({ client: aws.s3 })],
      }),
      access: POLICY,
      isRunInProgress: async () => {
        if (runStatus instanceof Error) throw runStatus;
        return runStatus;
      },
      recentRuns: async () => RUNS,
      audit,
      redis,
      prefix: PREFIX,
      now: () => NOW,
    };
  });
  afterEach(async () => {
    expect(await snapshotState(aws, DEV)).toEqual(before.dev);
    expect(await snapshotState(aws, PROD)).toEqual(before.prod);
    expect(
      aws.s3StandIn.requests.filter((r) => r.method === 'DELETE' && !r.key?.endsWith('.tflock')),
    ).toEqual([]);
    await clearLocks(DEV);
    await clearLocks(PROD);
  });
  afterAll(async () => {
    await deleteKeys(redis, PREFIX);
    await redis.quit();
    await aws.close();
  });

  it('shows a stale lock with holder, operation, created, age, lock id and the matched run, and releases it on Confirm', async () => {
    const info = terraformLockInfo(DEV, { Created: CREATED });
    await takeLock(aws, DEV, info);

    const shown = await view(ALICE);
    expect(shown.status).toBe('viewed');
    expectWithinLimits(shown);
    const text = textOf(shown.message);
    expect(text).toContain('runner@fv-az1234-567');
    expect(text).toContain('apply (`OperationTypeApply`)');
    expect(text).toContain('2026-11-27 08:47:12 UTC');
    expect(text).toContain('3h 13m'); // formatDuration rounds minutes up
    expect(text).toContain(info.ID);
    expect(text).toContain('<https://github.com/acme/gitops-infra-pipeline/actions/runs/9001|run #412>');
    expect(text).toContain('DynamoDB lock item + S3 lock file');
    const button = confirmButton(shown.message);
    expect(button).toMatchObject({ style: 'danger', confirm: { style: 'danger' } });
    expect(
      shown.message.blocks.some(
        (b) => b.type === 'actions' && b.elements.some((e) => e.action_id === UNLOCK_CANCEL_ACTION_ID),
      ),
    ).toBe(true);
    // The button names the lock, never a fingerprint.
    const value = JSON.parse(buttonValue(shown)) as Record<string, string>;
    expect(Object.keys(value).sort()).toEqual(['env', 'lockId', 'nonce']);
    expect(value).toMatchObject({ env: 'dev', lockId: info.ID });
    const ttl = await redis.ttl(pendingUnlockKey(PREFIX, value.nonce as string));
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);

    const released = await confirm(ALICE, buttonValue(shown));
    expect(released.status).toBe('released');
    expect(released.replaceOriginal).toBe(true);
    expectWithinLimits(released);
    expect(await lockItem(aws, DEV)).toBeUndefined();
    expect(lockObject(aws, DEV)).toBeUndefined();
    expect(await redis.exists(pendingUnlockKey(PREFIX, value.nonce as string))).toBe(0);

    // Audited end to end: who looked, who confirmed, what was deleted.
    const [looked] = await storedAudit(shown.audit);
    expect(looked).toMatchObject({
      actor: 'slack:U0ALICE',
      action: 'unlock',
      environment: 'dev',
      target: info.ID,
      outcome: 'info',
      channelId: 'C0OPS',
    });
    expect(looked?.detail).toMatch(
      /alice \(U0ALICE\) looked at the dev state lock: lock .* held by runner@fv-az1234-567.*Confirm offered \(confirmation ref [0-9a-f]{12}/,
    );
    const [confirmed, result] = await storedAudit(released.audit);
    expect(confirmed).toMatchObject({
      actor: 'slack:U0ALICE',
      action: 'unlock.confirm',
      outcome: 'accepted',
      target: info.ID,
    });
    expect(result).toMatchObject({ action: 'unlock.confirm', outcome: 'succeeded', target: info.ID });
    expect(result?.detail).toContain(
      `deleted DynamoDB gitops-infra-pipeline-tflock item LockID=gitops-infra-pipeline-tfstate/aws/dev/terraform.tfstate (lock ${info.ID})`,
    );
    expect(result?.detail).toContain(
      'deleted s3://gitops-infra-pipeline-tfstate/aws/dev/terraform.tfstate.tflock (ETag "',
    );
    expect(result?.detail).toContain('The state object and the -md5 digest item were not touched.');
    // The view's reference and the confirmation's reference are the same nonce, without the nonce itself.
    const ref = /ref ([0-9a-f]{12})/.exec(looked?.detail ?? '')?.[1];
    expect(confirmed?.detail).toContain(`ref ${ref}`);
    expect(JSON.stringify([looked, confirmed, result])).not.toContain(value.nonce);
  });

  it('releases a stale lock that only the S3 lock file holds (and one only DynamoDB holds)', async () => {
    await takeLock(aws, DEV, terraformLockInfo(DEV, { Created: CREATED }), ['s3']);
    const s3Only = await view(ALICE);
    expect(textOf(s3Only.message)).toContain('Only the S3 lock file exists');
    expect((await confirm(ALICE, buttonValue(s3Only))).status).toBe('released');
    expect(lockObject(aws, DEV)).toBeUndefined();

    await takeLock(aws, DEV, terraformLockInfo(DEV, { Created: CREATED }), ['dynamodb']);
    const dynamoOnly = await view(ALICE);
    expect((await confirm(ALICE, buttonValue(dynamoOnly))).status).toBe('released');
    expect(await lockItem(aws, DEV)).toBeUndefined();
  });

  it('answers a missing lock clearly, and audits the look', async () => {
    const reply = await view(BOB);
    expect(reply.status).toBe('no-lock');
    expectWithinLimits(reply);
    expect(textOf(reply.message)).toContain('No Terraform state lock is held for *dev*');
    expect(textOf(reply.message)).toContain(
      's3://gitops-infra-pipeline-tfstate/aws/dev/terraform.tfstate.tflock',
    );
    expect(confirmButton(reply.message)).toBeUndefined();
    const [record] = await storedAudit(reply.audit);
    expect(record).toMatchObject({ actor: 'slack:U0BOB', action: 'unlock', outcome: 'info' });
    expect(record?.detail).toMatch(/no Terraform state lock is held/);
  });

  it('refuses while a workflow run for the environment is in progress (at view time)', async () => {
    const info = terraformLockInfo(DEV, { Created: CREATED });
    await takeLock(aws, DEV, info);
    runStatus = {
      inProgress: true,
      runUrl: 'https://github.com/acme/gitops-infra-pipeline/actions/runs/9100',
    };
    const reply = await view(ALICE);
    expect(reply.status).toBe('refused-running');
    expectWithinLimits(reply);
    expect(confirmButton(reply.message)).toBeUndefined();
    expect(textOf(reply.message)).toContain(
      'is in progress (<https://github.com/acme/gitops-infra-pipeline/actions/runs/9100|the run>)',
    );
    expect(await redis.keys(`${PREFIX}:unlock:*`)).toEqual([]);
    const [record] = await storedAudit(reply.audit);
    expect(record).toMatchObject({ outcome: 'denied', target: info.ID });
    expect(record?.detail).toContain('a workflow run is in progress');
    expect(await lockItem(aws, DEV)).toBeDefined();
  });

  it('refuses at Confirm time if a run started after the lock was shown', async () => {
    await takeLock(aws, DEV, terraformLockInfo(DEV, { Created: CREATED }));
    const shown = await view(ALICE);
    runStatus = {
      inProgress: true,
      runUrl: 'https://github.com/acme/gitops-infra-pipeline/actions/runs/9101',
    };
    const reply = await confirm(ALICE, buttonValue(shown));
    expect(reply.status).toBe('refused-running');
    expectWithinLimits(reply);
    expect(await lockItem(aws, DEV)).toBeDefined();
    expect(lockObject(aws, DEV)).toBeDefined();
    expect((await storedAudit(reply.audit))[0]).toMatchObject({ outcome: 'denied' });
  });

  it('fails closed when GitHub cannot say whether a run is in progress', async () => {
    await takeLock(aws, DEV, terraformLockInfo(DEV, { Created: CREATED }));
    runStatus = new Error('GitHub unreachable');
    const atView = await view(ALICE);
    expect(atView.status).toBe('refused-run-unknown');
    expect(confirmButton(atView.message)).toBeUndefined();
    runStatus = { inProgress: false };
    const shown = await view(ALICE);
    runStatus = new Error('GitHub unreachable');
    const atConfirm = await confirm(ALICE, buttonValue(shown));
    expect(atConfirm.status).toBe('refused-run-unknown');
    expect(await lockItem(aws, DEV)).toBeDefined();
  });

  it('leaves a lock re-acquired between view and confirm alone, and reports it', async () => {
    const first = terraformLockInfo(DEV, { Created: CREATED });
    await takeLock(aws, DEV, first);
    const shown = await view(ALICE);
    // Someone else force-unlocked it, and a new run took the lock again.
    await clearLocks(DEV);
    const second = terraformLockInfo(DEV, { Who: 'runner@fv-az7777-001', Created: rfc3339Nano(NOW) });
    const secondJson = await takeLock(aws, DEV, second);

    const reply = await confirm(ALICE, buttonValue(shown));
    expect(reply.status).toBe('refused-changed');
    expectWithinLimits(reply);
    expect(textOf(reply.message)).toContain('changed after you looked at it');
    expect(textOf(reply.message)).toContain(second.ID);
    expect(await lockItem(aws, DEV)).toBe(secondJson);
    expect(lockObject(aws, DEV)).toBe(secondJson);
    const [, result] = await storedAudit(reply.audit);
    expect(result).toMatchObject({ outcome: 'rejected', target: first.ID });
    expect(result?.detail).toContain('Nothing was deleted.');
  });

  it('refuses when the S3 lock object was replaced with the same ID but other content (ETag changed)', async () => {
    const info = terraformLockInfo(DEV, { Created: CREATED });
    const json = await takeLock(aws, DEV, info);
    const shown = await view(ALICE);
    const rewritten = marshalLockInfo({ ...info, Who: 'runner@fv-az5555-002' });
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: DEV.bucket,
        Key: lockObjectKey(DEV),
        Body: rewritten,
        ContentType: 'application/json',
      }),
    );

    const start = aws.s3StandIn.requests.length;
    const reply = await confirm(ALICE, buttonValue(shown));
    expect(reply.status).toBe('refused-changed');
    expect(lockObject(aws, DEV)).toBe(rewritten);
    expect(await lockItem(aws, DEV)).toBe(json);
    expect(aws.s3StandIn.requests.slice(start).filter((r) => r.method === 'DELETE')).toEqual([]);
  });

  it('answers "already gone" when the lock disappeared before Confirm', async () => {
    const info = terraformLockInfo(DEV, { Created: CREATED });
    await takeLock(aws, DEV, info);
    const shown = await view(ALICE);
    await clearLocks(DEV);
    const reply = await confirm(ALICE, buttonValue(shown));
    expect(reply.status).toBe('nothing-to-release');
    expect(textOf(reply.message)).toContain('was already gone');
    expect((await storedAudit(reply.audit))[1]).toMatchObject({ outcome: 'info' });
  });

  it('refuses two different lock IDs in the two sources, and offers nothing', async () => {
    await takeLock(aws, DEV, terraformLockInfo(DEV, { Created: CREATED }), ['s3']);
    await takeLock(aws, DEV, terraformLockInfo(DEV, { Created: CREATED }), ['dynamodb']);
    const reply = await view(ALICE);
    expect(reply.status).toBe('refused-inconsistent');
    expectWithinLimits(reply);
    expect(confirmButton(reply.message)).toBeUndefined();
    expect(textOf(reply.message)).toContain('name *different* locks');
    expect((await storedAudit(reply.audit))[0]).toMatchObject({ outcome: 'denied' });
  });

  describe('tampered buttons are refused and audited', () => {
    it('a nonce issued for dev in a payload edited to say prod', async () => {
      const devInfo = terraformLockInfo(DEV, { Created: CREATED });
      const prodInfo = terraformLockInfo(PROD, { Created: CREATED });
      await takeLock(aws, DEV, devInfo);
      await takeLock(aws, PROD, prodInfo);
      const shown = await view(ALICE, 'dev');
      const edited = {
        ...(JSON.parse(buttonValue(shown)) as Record<string, string>),
        env: 'prod',
        lockId: prodInfo.ID,
      };

      const reply = await confirm(ALICE, JSON.stringify(edited));
      expect(reply.status).toBe('refused-tampered');
      expectWithinLimits(reply);
      expect(await lockItem(aws, PROD)).toBeDefined();
      expect(lockObject(aws, PROD)).toBeDefined();
      expect(await lockItem(aws, DEV)).toBeDefined();
      const [record] = await storedAudit(reply.audit);
      expect(record).toMatchObject({
        actor: 'slack:U0ALICE',
        action: 'unlock.confirm',
        outcome: 'denied',
        environment: 'dev',
        target: devInfo.ID,
      });
      expect(record?.detail).toContain(`button naming the prod lock ${prodInfo.ID}, but the confirmation`);
      expect(record?.detail).toContain(`was for the dev lock ${devInfo.ID}`);
      // The confirmation is void: even the genuine button no longer works.
      expect((await confirm(ALICE, buttonValue(shown))).status).toBe('refused-expired');
      expect(await lockItem(aws, DEV)).toBeDefined();
    });

    it('a payload edited to name another lock id', async () => {
      await takeLock(aws, DEV, terraformLockInfo(DEV, { Created: CREATED }));
      const shown = await view(ALICE);
      const edited = {
        ...(JSON.parse(buttonValue(shown)) as Record<string, string>),
        lockId: '00000000-0000-0000-0000-000000000000',
      };
      const reply = await confirm(ALICE, JSON.stringify(edited));
      expect(reply.status).toBe('refused-tampered');
      expect(await lockItem(aws, DEV)).toBeDefined();
    });

    it('an unknown nonce', async () => {
      const info = terraformLockInfo(DEV, { Created: CREATED });
      await takeLock(aws, DEV, info);
      const forged = JSON.stringify({ env: 'dev', lockId: info.ID, nonce: 'AAAAAAAAAAAAAAAAAAAAAA' });
      const reply = await confirm(ALICE, forged);
      expect(reply.status).toBe('refused-expired');
      expect(await lockItem(aws, DEV)).toBeDefined();
      const [record] = await storedAudit(reply.audit);
      expect(record).toMatchObject({ outcome: 'denied', target: info.ID });
      expect(record?.detail).toContain('unknown, expired or already used confirmation');
    });

    it('a nonce shown to another user', async () => {
      const info = terraformLockInfo(DEV, { Created: CREATED });
      await takeLock(aws, DEV, info);
      const bobs = await view(BOB);
      const reply = await confirm(ALICE, buttonValue(bobs));
      expect(reply.status).toBe('refused-tampered');
      expect(await lockItem(aws, DEV)).toBeDefined();
      const [record] = await storedAudit(reply.audit);
      expect(record?.detail).toContain('that was shown to U0BOB, not to them');
    });

    it('values the bot did not write: not JSON, extra fields, injected fingerprints, bad nonce', async () => {
      const info = terraformLockInfo(DEV, { Created: CREATED });
      await takeLock(aws, DEV, info);
      const shown = await view(ALICE);
      const genuine = JSON.parse(buttonValue(shown)) as Record<string, string>;
      const bad: unknown[] = [
        'not json',
        undefined,
        JSON.stringify({ ...genuine, fingerprints: { dynamodb: 'x' } }),
        JSON.stringify({ ...genuine, nonce: '../../*' }),
        JSON.stringify({ ...genuine, env: 'staging' }),
      ];
      for (const value of bad) {
        const reply = await confirm(ALICE, value);
        expect(reply.status).toBe('refused-tampered');
        expect((await storedAudit(reply.audit))[0]).toMatchObject({
          outcome: 'denied',
          action: 'unlock.confirm',
        });
      }
      // None of them consumed the genuine confirmation.
      expect((await confirm(ALICE, buttonValue(shown))).status).toBe('released');
    });

    it('a double click: the confirmation works once', async () => {
      await takeLock(aws, DEV, terraformLockInfo(DEV, { Created: CREATED }));
      const shown = await view(ALICE);
      const [first, second] = await Promise.all([
        confirm(ALICE, buttonValue(shown)),
        confirm(ALICE, buttonValue(shown)),
      ]);
      expect([first.status, second.status].sort()).toEqual(['refused-expired', 'released']);
    });
  });

  describe('access', () => {
    it('a user outside the allow list sees the lock but no Confirm, and the refusal is audited', async () => {
      const info = terraformLockInfo(PROD, { Created: CREATED });
      await takeLock(aws, PROD, info);
      const reply = await view(BOB, 'prod'); // Bob may unlock dev, not prod
      expect(reply.status).toBe('refused-unauthorized');
      expectWithinLimits(reply);
      expect(confirmButton(reply.message)).toBeUndefined();
      expect(textOf(reply.message)).toContain(info.ID);
      expect(textOf(reply.message)).toContain('You are not allowed to unlock the Terraform state of prod');
      const [record] = await storedAudit(reply.audit);
      expect(record).toMatchObject({
        actor: 'slack:U0BOB',
        environment: 'prod',
        outcome: 'denied',
        target: info.ID,
      });
      expect(record?.detail).toContain('not allowed to unlock');
    });

    it('a click by a user outside the allow list is refused before the confirmation is touched', async () => {
      const info = terraformLockInfo(DEV, { Created: CREATED });
      await takeLock(aws, DEV, info);
      const shown = await view(ALICE);
      const reply = await confirm(MALLORY, buttonValue(shown));
      expect(reply.status).toBe('refused-unauthorized');
      expect(await lockItem(aws, DEV)).toBeDefined();
      const [record] = await storedAudit(reply.audit);
      expect(record).toMatchObject({ actor: 'slack:U0MALLORY', outcome: 'denied', target: info.ID });
      // Alice's confirmation still stands.
      expect((await confirm(ALICE, buttonValue(shown))).status).toBe('released');
    });

    it('RBAC is re-checked on click: a user removed from the list after viewing is refused', async () => {
      await takeLock(aws, DEV, terraformLockInfo(DEV, { Created: CREATED }));
      const shown = await view(BOB);
      deps = {
        ...deps,
        access: { ...POLICY, unlock: { ...POLICY.unlock, dev: { users: ['U0ALICE'], groups: [] } } },
      };
      const reply = await confirm(BOB, buttonValue(shown));
      expect(reply.status).toBe('refused-unauthorized');
      expect(await lockItem(aws, DEV)).toBeDefined();
    });

    it('membership of an allowed user group is enough', async () => {
      await takeLock(aws, DEV, terraformLockInfo(DEV, { Created: CREATED }));
      const shown = await view(CAROL);
      expect(shown.status).toBe('viewed');
      expect((await confirm(CAROL, buttonValue(shown))).status).toBe('released');
    });
  });

  describe('cancel', () => {
    it('voids the confirmation and leaves the lock alone', async () => {
      const info = terraformLockInfo(DEV, { Created: CREATED });
      await takeLock(aws, DEV, info);
      const shown = await view(ALICE);
      const cancelled = await cancel(ALICE, buttonValue(shown));
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.replaceOriginal).toBe(true);
      expectWithinLimits(cancelled);
      expect((await storedAudit(cancelled.audit))[0]).toMatchObject({
        action: 'unlock.cancel',
        outcome: 'info',
        target: info.ID,
      });
      expect((await confirm(ALICE, buttonValue(shown))).status).toBe('refused-expired');
      expect(await lockItem(aws, DEV)).toBeDefined();
    });

    it("refuses to cancel someone else's confirmation", async () => {
      await takeLock(aws, DEV, terraformLockInfo(DEV, { Created: CREATED }));
      const shown = await view(ALICE);
      expect((await cancel(MALLORY, buttonValue(shown))).status).toBe('refused-tampered');
      expect((await confirm(ALICE, buttonValue(shown))).status).toBe('released');
    });
  });

  it('reports a storage failure without offering anything, and audits it', async () => {
    deps = {
      ...deps,
      locks: new LockService({
        stores: [new DynamoDbLockStore({ client: aws.dynamodb }), new S3LockStore({ client: aws.s3 })],
        backends: { dev: { ...DEV, table: 'no-such-table' }, prod: PROD },
      }),
    };
    const reply = await view(ALICE);
    expect(reply.status).toBe('failed');
    expectWithinLimits(reply);
    expect(textOf(reply.message)).toContain('reading the dev DynamoDB lock item: ResourceNotFoundException');
    expect((await storedAudit(reply.audit))[0]).toMatchObject({ outcome: 'failed' });
  });
});
