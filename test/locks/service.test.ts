// LockService, DynamoDbLockStore and S3LockStore against dynalite and the S3 stand-in, with locks, state
// and digest items written exactly as Terraform writes them.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DynamoDbLockStore } from '../../src/locks/dynamodb.js';
import { S3LockStore } from '../../src/locks/s3.js';
import { LockService, LockStoreError, createLockService } from '../../src/locks/service.js';
import {
  TERRAFORM_BACKENDS,
  lockItemId,
  lockObjectKey,
  marshalLockInfo,
  type StateBackend,
} from '../../src/locks/types.js';
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

describe('LockService (dynalite + S3 stand-in)', () => {
  let aws: LocalAws;
  let service: LockService;
  let before: Record<'dev' | 'prod', StateSnapshot>;

  const clearLocks = async (backend: StateBackend): Promise<void> => {
    await aws.dynamodb.send(
      new DeleteItemCommand({ TableName: backend.table, Key: { LockID: { S: lockItemId(backend) } } }),
    );
    await aws.s3.send(new DeleteObjectCommand({ Bucket: backend.bucket, Key: lockObjectKey(backend) }));
  };

  beforeAll(async () => {
    aws = await startLocalAws();
    service = new LockService({
      stores: [new S3LockStore({ client: aws.s3 }), new DynamoDbLockStore({ client: aws.dynamodb })],
    });
    await writeState(aws, DEV, 41);
    await writeState(aws, PROD, 7);
    before = { dev: await snapshotState(aws, DEV), prod: await snapshotState(aws, PROD) };
  });
  afterEach(async () => {
    // The digest items and state objects never change, whatever a test did to the locks.
    expect(await snapshotState(aws, DEV)).toEqual(before.dev);
    expect(await snapshotState(aws, PROD)).toEqual(before.prod);
    expect(
      aws.s3StandIn.requests.filter((r) => r.method === 'DELETE' && !r.key?.endsWith('.tflock')),
    ).toEqual([]);
    await clearLocks(DEV);
    await clearLocks(PROD);
  });
  afterAll(async () => {
    await aws.close();
  });

  it('reads a lock from both sources, as Terraform wrote it', async () => {
    const info = terraformLockInfo(DEV);
    const json = await takeLock(aws, DEV, info);
    const inspection = await service.inspect('dev');
    expect(inspection.verdict).toBe('held');
    expect(inspection.lockId).toBe(info.ID);
    expect(inspection.notes).toEqual([]);
    expect(inspection.locks.map((l) => l.source)).toEqual(['dynamodb', 's3']);
    const [dynamo, s3] = inspection.locks;
    expect(dynamo).toMatchObject({
      environment: 'dev',
      lockId: info.ID,
      who: 'runner@fv-az1234-567',
      operation: 'OperationTypeApply',
      version: '1.15.3',
      created: info.Created,
      path: 'gitops-infra-pipeline-tfstate/aws/dev/terraform.tfstate',
      fingerprint: json,
      location:
        'DynamoDB gitops-infra-pipeline-tflock item LockID=gitops-infra-pipeline-tfstate/aws/dev/terraform.tfstate',
    });
    expect(s3).toMatchObject({
      lockId: info.ID,
      fingerprint: aws.s3StandIn.current(DEV.bucket, lockObjectKey(DEV))?.etag,
      location: 's3://gitops-infra-pipeline-tfstate/aws/dev/terraform.tfstate.tflock',
    });
    expect(inspection.checked).toHaveLength(2);
  });

  it('reports no lock when neither source has one (the digest item is not a lock)', async () => {
    const inspection = await service.inspect('dev');
    expect(inspection).toMatchObject({ verdict: 'none', locks: [], notes: [] });
  });

  it('notes a lock that exists in only one source, and still treats it as held', async () => {
    const info = terraformLockInfo(DEV);
    await takeLock(aws, DEV, info, ['s3']);
    const inspection = await service.inspect('dev');
    expect(inspection.verdict).toBe('held');
    expect(inspection.locks.map((l) => l.source)).toEqual(['s3']);
    expect(inspection.notes.join(' ')).toMatch(/Only the S3 lock file exists/);
  });

  it('refuses to call two different lock IDs one lock (inconsistent)', async () => {
    await takeLock(aws, DEV, terraformLockInfo(DEV), ['s3']);
    await takeLock(aws, DEV, terraformLockInfo(DEV), ['dynamodb']);
    const inspection = await service.inspect('dev');
    expect(inspection.verdict).toBe('inconsistent');
    expect(inspection.lockId).toBeUndefined();
    expect(inspection.notes.join(' ')).toMatch(/two different locks/);
  });

  it('marks a stored value that is not LockInfo as unreadable', async () => {
    await aws.dynamodb.send(
      new PutItemCommand({
        TableName: DEV.table,
        Item: { LockID: { S: lockItemId(DEV) }, Info: { S: 'not json' } },
      }),
    );
    const inspection = await service.inspect('dev');
    expect(inspection.verdict).toBe('unreadable');
    expect(inspection.locks[0]?.unreadable).toMatch(/not JSON/);
  });

  it('releases exactly the shown lock from both sources and nothing else', async () => {
    const info = terraformLockInfo(DEV);
    await takeLock(aws, DEV, info);
    await takeLock(aws, PROD, terraformLockInfo(PROD));
    const shown = await service.inspect('dev');
    const fingerprints = Object.fromEntries(shown.locks.map((l) => [l.source, l.fingerprint]));

    const result = await service.release('dev', { lockId: info.ID, fingerprints });

    expect(result.outcome).toBe('released');
    expect(result.released.map((r) => r.source)).toEqual(['dynamodb', 's3']); // DynamoDB first
    expect(result.released[1]?.detail).toMatch(
      /deleted s3:\/\/.*terraform\.tfstate\.tflock \(ETag "[0-9a-f]{32}"; delete marker /,
    );
    expect(await lockItem(aws, DEV)).toBeUndefined();
    expect(lockObject(aws, DEV)).toBeUndefined();
    // prod's lock is untouched
    expect(await lockItem(aws, PROD)).toBeDefined();
    expect(lockObject(aws, PROD)).toBeDefined();
    const deletes = aws.s3StandIn.requests.filter(
      (r) => r.method === 'DELETE' && r.key === lockObjectKey(DEV),
    );
    expect(deletes.at(-1)?.ifMatch).toBe(fingerprints.s3);
  });

  it('leaves a lock re-acquired since it was shown alone (different ID)', async () => {
    const first = terraformLockInfo(DEV);
    await takeLock(aws, DEV, first);
    const shown = await service.inspect('dev');
    await clearLocks(DEV);
    const second = terraformLockInfo(DEV, { Who: 'runner@fv-az9999-000' });
    const secondJson = await takeLock(aws, DEV, second);

    const result = await service.release('dev', {
      lockId: first.ID,
      fingerprints: Object.fromEntries(shown.locks.map((l) => [l.source, l.fingerprint])),
    });

    expect(result.outcome).toBe('changed');
    expect(result.released).toEqual([]);
    expect(result.changed.map((c) => c.source)).toEqual(['dynamodb', 's3']);
    expect(result.changed[0]?.detail).toContain(second.ID);
    expect(await lockItem(aws, DEV)).toBe(secondJson);
    expect(lockObject(aws, DEV)).toBe(secondJson);
  });

  it('leaves an S3 lock rewritten with the same ID but other content alone (ETag changed), and DynamoDB too', async () => {
    const info = terraformLockInfo(DEV);
    const json = await takeLock(aws, DEV, info);
    const shown = await service.inspect('dev');
    const rewritten = marshalLockInfo({ ...info, Info: 'rewritten' });
    await aws.s3.send(new PutObjectCommand({ Bucket: DEV.bucket, Key: lockObjectKey(DEV), Body: rewritten }));

    const result = await service.release('dev', {
      lockId: info.ID,
      fingerprints: Object.fromEntries(shown.locks.map((l) => [l.source, l.fingerprint])),
    });

    expect(result.outcome).toBe('changed');
    expect(result.changed.map((c) => c.source)).toEqual(['s3']);
    expect(await lockItem(aws, DEV)).toBe(json); // all or nothing: the unchanged DynamoDB lock stays too
    expect(lockObject(aws, DEV)).toBe(rewritten);
  });

  it('refuses when a lock appeared in a source where none was shown', async () => {
    const info = terraformLockInfo(DEV);
    await takeLock(aws, DEV, info, ['dynamodb']);
    const shown = await service.inspect('dev');
    await takeLock(aws, DEV, info, ['s3']);
    const result = await service.release('dev', {
      lockId: info.ID,
      fingerprints: { dynamodb: shown.locks[0]?.fingerprint ?? '' },
    });
    expect(result.outcome).toBe('changed');
    expect(result.changed[0]?.detail).toMatch(/was not shown/);
    expect(await lockItem(aws, DEV)).toBeDefined();
  });

  it('answers nothing-to-release when the shown lock is already gone', async () => {
    const info = terraformLockInfo(DEV);
    await takeLock(aws, DEV, info);
    const shown = await service.inspect('dev');
    await clearLocks(DEV);
    const result = await service.release('dev', {
      lockId: info.ID,
      fingerprints: Object.fromEntries(shown.locks.map((l) => [l.source, l.fingerprint])),
    });
    expect(result.outcome).toBe('nothing-to-release');
    expect(result.absent).toHaveLength(2);
  });

  it('refuses a release request that identifies nothing', async () => {
    await expect(service.release('dev', { lockId: '', fingerprints: {} })).resolves.toMatchObject({
      outcome: 'refused',
    });
    await expect(service.release('dev', { lockId: 'x', fingerprints: {} })).resolves.toMatchObject({
      outcome: 'refused',
    });
  });

  describe('stores: conditional deletes lose races gracefully', () => {
    it('DynamoDB: a stale Info fingerprint deletes nothing and reports what is there now', async () => {
      const store = new DynamoDbLockStore({ client: aws.dynamodb });
      const old = terraformLockInfo(DEV);
      const now = terraformLockInfo(DEV);
      const nowJson = await takeLock(aws, DEV, now, ['dynamodb']);
      const released = await store.release(DEV, marshalLockInfo(old));
      expect(released.status).toBe('changed');
      expect(released.detail).toContain(now.ID);
      expect(await lockItem(aws, DEV)).toBe(nowJson);
      await clearLocks(DEV);
      expect((await store.release(DEV, nowJson)).status).toBe('absent');
    });

    it('S3: a stale ETag gets 412 → changed; a missing object gets 404 → absent', async () => {
      const store = new S3LockStore({ client: aws.s3 });
      await takeLock(aws, DEV, terraformLockInfo(DEV), ['s3']);
      expect((await store.release(DEV, '"00000000000000000000000000000000"')).status).toBe('changed');
      expect(lockObject(aws, DEV)).toBeDefined();
      await clearLocks(DEV);
      expect((await store.release(DEV, '"00000000000000000000000000000000"')).status).toBe('absent');
    });

    it('never addresses the digest item or the state object', async () => {
      const dynamo = new DynamoDbLockStore({ client: aws.dynamodb });
      const s3 = new S3LockStore({ client: aws.s3 });
      const digestLike: StateBackend = { ...DEV, key: `${DEV.key}-md5` };
      await expect(dynamo.read('dev', digestLike)).rejects.toThrow(/not a Terraform lock item/);
      await expect(dynamo.release(digestLike, 'x')).rejects.toThrow(/not a Terraform lock item/);
      await expect(s3.release({ ...DEV, key: '' }, '"x"')).rejects.toThrow(/not a Terraform lock file/);
      await expect(dynamo.release(DEV, '')).rejects.toThrow(/without the shown Info/);
      await expect(s3.release(DEV, '')).rejects.toThrow(/without the shown ETag/);
    });
  });

  it('wraps storage failures with what was being read (and no AWS message text)', async () => {
    const broken = new LockService({
      stores: [new S3LockStore({ client: aws.s3 }), new DynamoDbLockStore({ client: aws.dynamodb })],
      backends: { dev: { ...DEV, bucket: 'no-such-bucket' }, prod: PROD },
    });
    const error = await broken.inspect('dev').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockStoreError);
    expect((error as LockStoreError).message).toBe('reading the dev S3 lock file: NoSuchBucket (HTTP 404)');
  });

  describe('createLockService', () => {
    it('takes credentials from the default chain only, and refuses access keys in settings', async () => {
      expect(() =>
        createLockService({ region: 'us-east-1', accessKeyId: 'AKIA…', secretAccessKey: '…' } as never),
      ).toThrow(/not accepted in configuration \(accessKeyId, secretAccessKey\)/);
      expect(() => createLockService({ region: 'us-east-1', credentials: {} } as never)).toThrow(
        /default credential chain/,
      );

      // The environment provider is part of the default chain (as Pod Identity's container provider is).
      const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
      process.env.AWS_ACCESS_KEY_ID = 'AKIDCHAINTEST';
      process.env.AWS_SECRET_ACCESS_KEY = 'chain-test-secret';
      try {
        const fromChain = createLockService({
          region: 'us-east-1',
          dynamodbEndpoint: aws.dynamodbEndpoint,
          s3Endpoint: aws.s3StandIn.endpoint,
        });
        const info = terraformLockInfo(DEV);
        await takeLock(aws, DEV, info);
        expect(await fromChain.inspect('dev')).toMatchObject({ verdict: 'held', lockId: info.ID });
      } finally {
        if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
        else process.env.AWS_ACCESS_KEY_ID = saved.id;
        if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
        else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      }
    });
  });
});
