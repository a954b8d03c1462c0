// Shared by the /unlock tests: dynalite (a DynamoDB-compatible server, in-process, random port) and the S3
// stand-in, with AWS SDK v3 clients pointed at them (static test credentials, tests only), and writers that
// put locks, state and digests there exactly as Terraform's S3 backend does:
//   - S3 lock: PutObject "<key>.tflock", body = LockInfo JSON, Content-Type application/json, If-None-Match: *,
//     SSE-KMS with the backend's kms_key_id;
//   - DynamoDB lock: PutItem {LockID: "<bucket>/<key>", Info: <same JSON>}, attribute_not_exists(LockID);
//   - state: PutObject "<key>" + digest item {LockID: "<bucket>/<key>-md5", Digest: <md5 hex>}.
import { createHash, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3StandIn, type S3StandIn } from '../../src/sandbox/s3-standin.js';
import {
  TERRAFORM_BACKENDS,
  digestItemId,
  lockItemId,
  lockObjectKey,
  marshalLockInfo,
  rfc3339Nano,
  type LockInfo,
  type StateBackend,
} from '../../src/locks/types.js';

export const BUCKET = TERRAFORM_BACKENDS.dev.bucket;
export const TABLE = TERRAFORM_BACKENDS.dev.table;
export const KMS_KEY_ID = 'alias/gitops-infra-pipeline-tfstate';
/** Static credentials for the local servers only; production code never takes credentials. */
export const TEST_CREDENTIALS = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'local-test-secret' };
export const REGION = 'us-east-1';

export interface LocalAws {
  dynamodb: DynamoDBClient;
  s3: S3Client;
  s3StandIn: S3StandIn;
  dynamodbEndpoint: string;
  close(): Promise<void>;
}

type DynaliteFactory = (options: Record<string, unknown>) => Server;

/** dynalite on a random port with the lock table created, and the S3 stand-in with the state bucket. */
export async function startLocalAws(): Promise<LocalAws> {
  const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const dynamodbEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dynamodb = new DynamoDBClient({
    region: REGION,
    endpoint: dynamodbEndpoint,
    credentials: TEST_CREDENTIALS,
  });
  await dynamodb.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'LockID', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'LockID', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const s3StandIn = await startS3StandIn({ buckets: [BUCKET] });
  const s3 = new S3Client({
    region: REGION,
    endpoint: s3StandIn.endpoint,
    forcePathStyle: true,
    credentials: TEST_CREDENTIALS,
  });
  return {
    dynamodb,
    s3,
    s3StandIn,
    dynamodbEndpoint,
    close: async () => {
      dynamodb.destroy();
      s3.destroy();
      await s3StandIn.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A LockInfo as Terraform fills it for `terraform apply` on a GitHub-hosted runner. */
export function terraformLockInfo(backend: StateBackend, overrides: Partial<LockInfo> = {}): LockInfo {
  return {
    ID: randomUUID(),
    Operation: 'OperationTypeApply',
    Info: '',
    Who: 'runner@fv-az1234-567',
    Version: '1.15.3',
    Created: rfc3339Nano(new Date(Date.now() - 3 * 3600_000), 123456),
    Path: `${backend.bucket}/${backend.key}`,
    ...overrides,
  };
}

export type LockPlace = 'dynamodb' | 's3';

/** Takes the lock the way Terraform does with both use_lockfile and dynamodb_table: S3 first, then DynamoDB. */
export async function takeLock(
  aws: LocalAws,
  backend: StateBackend,
  info: LockInfo,
  places: readonly LockPlace[] = ['s3', 'dynamodb'],
): Promise<string> {
  const json = marshalLockInfo(info);
  if (places.includes('s3')) {
    await aws.s3.send(
      new PutObjectCommand({
        Bucket: backend.bucket,
        Key: lockObjectKey(backend),
        Body: json,
        ContentType: 'application/json',
        IfNoneMatch: '*',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: KMS_KEY_ID,
      }),
    );
  }
  if (places.includes('dynamodb')) {
    await aws.dynamodb.send(
      new PutItemCommand({
        TableName: backend.table,
        Item: { LockID: { S: lockItemId(backend) }, Info: { S: json } },
        ConditionExpression: 'attribute_not_exists(LockID)',
      }),
    );
  }
  return json;
}

/** A state save: the state object and its digest item (RemoteClient.Put + putMD5). */
export async function writeState(aws: LocalAws, backend: StateBackend, serial: number): Promise<void> {
  const body = JSON.stringify({
    version: 4,
    terraform_version: '1.15.3',
    serial,
    lineage: 'l-1',
    outputs: {},
  });
  await aws.s3.send(
    new PutObjectCommand({
      Bucket: backend.bucket,
      Key: backend.key,
      Body: body,
      ContentType: 'application/json',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: KMS_KEY_ID,
    }),
  );
  await aws.dynamodb.send(
    new PutItemCommand({
      TableName: backend.table,
      Item: {
        LockID: { S: digestItemId(backend) },
        Digest: { S: createHash('md5').update(body).digest('hex') },
      },
    }),
  );
}

export interface StateSnapshot {
  digest: Record<string, AttributeValue> | undefined;
  stateBody: string;
  stateEtag: string | undefined;
  stateVersions: number;
}

/** What must never change through /unlock: the digest item and the state object (all its versions). */
export async function snapshotState(aws: LocalAws, backend: StateBackend): Promise<StateSnapshot> {
  const digest = await aws.dynamodb.send(
    new GetItemCommand({
      TableName: backend.table,
      Key: { LockID: { S: digestItemId(backend) } },
      ConsistentRead: true,
    }),
  );
  const state = await aws.s3.send(new GetObjectCommand({ Bucket: backend.bucket, Key: backend.key }));
  return {
    digest: digest.Item,
    stateBody: (await state.Body?.transformToString()) ?? '',
    stateEtag: state.ETag,
    stateVersions: aws.s3StandIn.versions(backend.bucket, backend.key).length,
  };
}

/** The raw DynamoDB lock item, or undefined. */
export async function lockItem(aws: LocalAws, backend: StateBackend): Promise<string | undefined> {
  const item = await aws.dynamodb.send(
    new GetItemCommand({
      TableName: backend.table,
      Key: { LockID: { S: lockItemId(backend) } },
      ConsistentRead: true,
    }),
  );
  return item.Item?.Info?.S;
}

/** The current S3 lock body, or undefined. */
export const lockObject = (aws: LocalAws, backend: StateBackend): string | undefined =>
  aws.s3StandIn.current(backend.bucket, lockObjectKey(backend))?.body.toString('utf8');
