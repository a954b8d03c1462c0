// Terraform's DynamoDB state lock: the item {LockID: "<bucket>/<key>", Info: "<LockInfo JSON>"}.
//
// Reads with a consistent GetItem (as Terraform's getLockInfo does). Releases with a DeleteItem conditioned
// on `Info = :shown`, the exact string the user was shown: if anyone re-acquired the lock meanwhile (new
// ID, new Created) the condition fails and nothing is deleted. Terraform's own force-unlock deletes
// unconditionally after comparing IDs; this closes the gap between its read and its delete.
//
// Only ever addresses the lock item. The digest item "<bucket>/<key>-md5" shares the table and the key
// prefix; deleting it would make Terraform's next state read fail its checksum check, so every request here
// is built from lockItemId() and guarded against the digest suffix.
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { Environment } from '../domain/types.js';
import {
  lockItemId,
  lockLocation,
  parseLockInfo,
  type SourceRelease,
  type StateBackend,
  type StateLock,
} from './types.js';

export interface DynamoDbLockStoreOptions {
  /** A client from the default credential chain (pod identity in production). */
  client: DynamoDBClient;
}

export class DynamoDbLockStore {
  readonly source = 'dynamodb' as const;

  constructor(private readonly options: DynamoDbLockStoreOptions) {}

  /** Resolves null when no lock item exists; rejects only on storage failure. */
  async read(environment: Environment, backend: StateBackend): Promise<StateLock | null> {
    const lockId = guardedLockItemId(backend);
    const output = await this.options.client.send(
      new GetItemCommand({
        TableName: backend.table,
        Key: { LockID: { S: lockId } },
        ProjectionExpression: 'LockID, Info',
        ConsistentRead: true,
      }),
    );
    if (!output.Item) return null;
    const stored = output.Item.Info?.S;
    const base = {
      environment,
      source: this.source,
      location: lockLocation('dynamodb', backend),
    };
    if (stored === undefined) {
      return {
        ...base,
        ...emptyInfo(),
        fingerprint: '',
        unreadable: 'the lock item has no Info string attribute',
      };
    }
    const parsed = parseLockInfo(stored);
    if (!parsed.ok) return { ...base, ...emptyInfo(), fingerprint: stored, unreadable: parsed.problem };
    const info = parsed.info;
    return {
      ...base,
      lockId: info.ID,
      who: info.Who,
      operation: info.Operation,
      info: info.Info,
      version: info.Version,
      created: info.Created,
      path: info.Path,
      fingerprint: stored,
    };
  }

  /**
   * Deletes the lock item only if its Info is still exactly `shownInfo`. Resolves 'changed' when another
   * lock is there now, 'absent' when none is; rejects only on storage failure.
   */
  async release(backend: StateBackend, shownInfo: string): Promise<SourceRelease> {
    if (shownInfo === '')
      throw new Error('DynamoDbLockStore.release: refusing to release without the shown Info');
    const lockId = guardedLockItemId(backend);
    const where = lockLocation('dynamodb', backend);
    try {
      const output = await this.options.client.send(
        new DeleteItemCommand({
          TableName: backend.table,
          Key: { LockID: { S: lockId } },
          ConditionExpression: '#info = :shown',
          ExpressionAttributeNames: { '#info': 'Info' },
          ExpressionAttributeValues: { ':shown': { S: shownInfo } },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const deleted = output.Attributes?.Info?.S;
      const id = deleted === undefined ? undefined : parseLockInfo(deleted);
      return {
        status: 'released',
        detail: `deleted ${where}${id?.ok ? ` (lock ${id.info.ID})` : ''}`,
      };
    } catch (error) {
      if (
        !(error instanceof ConditionalCheckFailedException) &&
        !isNamed(error, 'ConditionalCheckFailedException')
      ) {
        throw error;
      }
    }
    // The condition failed: tell "someone else's lock is there now" from "it is already gone".
    const now = await this.options.client.send(
      new GetItemCommand({
        TableName: backend.table,
        Key: { LockID: { S: lockId } },
        ProjectionExpression: 'LockID, Info',
        ConsistentRead: true,
      }),
    );
    if (!now.Item) return { status: 'absent', detail: `${where} was already gone` };
    const current = parseLockInfo(now.Item.Info?.S ?? '');
    return {
      status: 'changed',
      detail: `${where} now holds ${current.ok ? `lock ${current.info.ID}` : 'a different value'}; left alone`,
    };
  }
}

/** lockItemId, refusing anything that could address the digest item. */
function guardedLockItemId(backend: StateBackend): string {
  const id = lockItemId(backend);
  if (id.endsWith('-md5') || backend.key === '' || backend.bucket === '') {
    throw new Error(`refusing to address DynamoDB item "${id}": not a Terraform lock item`);
  }
  return id;
}

const emptyInfo = () => ({
  lockId: '',
  who: '',
  operation: '',
  info: '',
  version: '',
  created: '',
  path: '',
});

const isNamed = (error: unknown, name: string): boolean =>
  typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name;
