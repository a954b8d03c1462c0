// Terraform's S3 lock file: the object "<state key>.tflock" whose body is the LockInfo JSON.
//
// Reads with GetObject (body + ETag). Releases with a conditional DeleteObject, `If-Match: <ETag shown>`
// (S3 conditional deletes, general purpose buckets since 2025-09-16): S3 answers 412 PreconditionFailed when
// the current object has another ETag (the lock was re-acquired or rewritten) and 404 NoSuchKey when there
// is no current object; either way nothing is deleted. The state bucket is versioned, so a successful delete
// inserts a delete marker and the old lock stays recoverable as a noncurrent version.
//
// Only ever addresses "<key>.tflock" (never the state object itself): every key is built by lockObjectKey()
// and checked to end in ".tflock".
import { DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Environment } from '../domain/types.js';
import {
  lockLocation,
  lockObjectKey,
  parseLockInfo,
  type SourceRelease,
  type StateBackend,
  type StateLock,
} from './types.js';

/** A LockInfo is a few hundred bytes; anything much larger is not a Terraform lock and is not read. */
const MAX_LOCK_BYTES = 64 * 1024;

export interface S3LockStoreOptions {
  /** A client from the default credential chain (pod identity in production). */
  client: S3Client;
}

export class S3LockStore {
  readonly source = 's3' as const;

  constructor(private readonly options: S3LockStoreOptions) {}

  /** Resolves null when no lock object exists; rejects only on storage failure (including AccessDenied). */
  async read(environment: Environment, backend: StateBackend): Promise<StateLock | null> {
    const key = guardedLockKey(backend);
    const base = { environment, source: this.source, location: lockLocation('s3', backend) };
    let output;
    try {
      output = await this.options.client.send(new GetObjectCommand({ Bucket: backend.bucket, Key: key }));
    } catch (error) {
      if (isNamed(error, 'NoSuchKey') || isNamed(error, 'NotFound')) return null;
      throw error;
    }
    const etag = output.ETag ?? '';
    if ((output.ContentLength ?? 0) > MAX_LOCK_BYTES) {
      await output.Body?.transformToByteArray().catch(() => undefined);
      return {
        ...base,
        ...emptyInfo(),
        fingerprint: etag,
        unreadable: 'the lock object is too large to be a lock',
      };
    }
    const text = (await output.Body?.transformToString('utf-8')) ?? '';
    if (etag === '') {
      return {
        ...base,
        ...emptyInfo(),
        fingerprint: '',
        unreadable: 'S3 returned the lock object without an ETag',
      };
    }
    const parsed = parseLockInfo(text);
    if (!parsed.ok) return { ...base, ...emptyInfo(), fingerprint: etag, unreadable: parsed.problem };
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
      fingerprint: etag,
    };
  }

  /**
   * Deletes the lock object only if its ETag is still `shownEtag`. Resolves 'changed' on 412
   * PreconditionFailed, 'absent' on 404; rejects only on storage failure.
   */
  async release(backend: StateBackend, shownEtag: string): Promise<SourceRelease> {
    if (shownEtag === '') throw new Error('S3LockStore.release: refusing to release without the shown ETag');
    const key = guardedLockKey(backend);
    const where = lockLocation('s3', backend);
    try {
      const output = await this.options.client.send(
        new DeleteObjectCommand({ Bucket: backend.bucket, Key: key, IfMatch: shownEtag }),
      );
      const marker = output.DeleteMarker ? `; delete marker ${output.VersionId ?? '(no version id)'}` : '';
      return { status: 'released', detail: `deleted ${where} (ETag ${shownEtag}${marker})` };
    } catch (error) {
      if (isNamed(error, 'PreconditionFailed') || httpStatus(error) === 412) {
        return {
          status: 'changed',
          detail: `${where} no longer has ETag ${shownEtag} (it changed); left alone`,
        };
      }
      if (isNamed(error, 'NoSuchKey')) {
        return { status: 'absent', detail: `${where} was already gone` };
      }
      throw error;
    }
  }
}

/** lockObjectKey, refusing anything that is not a ".tflock" object (above all, the state object). */
function guardedLockKey(backend: StateBackend): string {
  const key = lockObjectKey(backend);
  if (!key.endsWith('.tflock') || key === '.tflock' || key === backend.key || backend.bucket === '') {
    throw new Error(`refusing to address S3 object "${key}": not a Terraform lock file`);
  }
  return key;
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

const httpStatus = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
