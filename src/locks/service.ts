// The lock service behind /unlock: look at an environment's Terraform state lock in every place Terraform
// keeps it (DynamoDB item and S3 lock file; either or both may exist), and release exactly the lock a user
// confirmed, and nothing else.
//
// release() never trusts its caller's view of the world: it re-reads both sources, insists that every
// source still holds exactly what was shown (same lock ID, same fingerprint) and that no lock appeared where
// none was shown, and only then deletes, each delete conditioned on the shown fingerprint (DynamoDB
// `Info = :shown`, S3 `If-Match: <ETag>`), so a lock re-acquired between the re-read and the delete is left
// alone too.
//
// Order: Terraform (both configured) takes the S3 lock first, then the DynamoDB lock. We release DynamoDB
// first, then S3: while the stale S3 lock still exists no new run can get past its first step, so no run
// ever holds a fresh S3 lock while the stale DynamoDB lock makes it fail halfway.
//
// AWS credentials: the default credential chain only (EKS Pod Identity / IRSA in production). Configuration
// never carries access keys; createLockService refuses settings that try.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { Environment } from '../domain/types.js';
import { DynamoDbLockStore } from './dynamodb.js';
import { S3LockStore } from './s3.js';
import {
  LOCK_SOURCES,
  SOURCE_LABEL,
  TERRAFORM_BACKENDS,
  lockLocation,
  type LockSource,
  type ShownLock,
  type SourceRelease,
  type StateBackend,
  type StateLock,
} from './types.js';

/** One place a lock can live. DynamoDbLockStore and S3LockStore implement it. */
export interface LockStore {
  readonly source: LockSource;
  /** Resolves null when there is no lock; rejects only on storage failure. */
  read(environment: Environment, backend: StateBackend): Promise<StateLock | null>;
  /** Conditional delete on `fingerprint`; never deletes anything else. */
  release(backend: StateBackend, fingerprint: string): Promise<SourceRelease>;
}

/** A storage failure (network, AccessDenied, throttling), wrapped with what was being done. */
export class LockStoreError extends Error {
  constructor(
    readonly source: LockSource,
    readonly operation: 'read' | 'release',
    readonly environment: Environment,
    readonly original: unknown,
  ) {
    super(
      `${operation === 'read' ? 'reading' : 'releasing'} the ${environment} ${SOURCE_LABEL[source]}: ${errorName(original)}`,
    );
    this.name = 'LockStoreError';
  }
}

export type LockVerdict =
  /** No lock anywhere. */
  | 'none'
  /** One lock (one ID), in one or both sources: can be released. */
  | 'held'
  /** Two different lock IDs: something is off, the bot releases neither. */
  | 'inconsistent'
  /** A stored lock is not a readable LockInfo: the bot does not release what it cannot name. */
  | 'unreadable';

export interface LockInspection {
  environment: Environment;
  checkedAt: string;
  /** Where we looked (lockLocation of each configured source). */
  checked: string[];
  /** The locks found, in LOCK_SOURCES order. */
  locks: StateLock[];
  verdict: LockVerdict;
  /** The lock ID when the verdict is 'held'. */
  lockId?: string;
  /** Sentences for the user: mismatches, one-sided locks. */
  notes: string[];
}

export type ReleaseOutcome = 'released' | 'nothing-to-release' | 'changed' | 'refused' | 'failed';

export interface SourceResult {
  source: LockSource;
  location: string;
  detail: string;
}

export interface ReleaseResult {
  environment: Environment;
  lockId: string;
  /**
   * released: every shown lock that still existed was deleted; changed: at least one source holds another
   * lock now (left alone); nothing-to-release: every shown lock was already gone; refused: the request
   * itself was unusable; failed: a storage error stopped the release (see `failed`).
   */
  outcome: ReleaseOutcome;
  released: SourceResult[];
  changed: SourceResult[];
  absent: SourceResult[];
  failed: SourceResult[];
  reasons: string[];
}

export interface LockServiceOptions {
  /** The stores to consult; at least one. */
  stores: LockStore[];
  /** Where each environment's state lives. Default: TERRAFORM_BACKENDS (backend.tf). */
  backends?: Readonly<Record<Environment, StateBackend>>;
  now?: () => Date;
}

export class LockService {
  private readonly stores: LockStore[];
  private readonly backends: Readonly<Record<Environment, StateBackend>>;
  private readonly now: () => Date;

  constructor(options: LockServiceOptions) {
    if (options.stores.length === 0) throw new Error('LockService: at least one lock store is required');
    const sources = options.stores.map((store) => store.source);
    if (new Set(sources).size !== sources.length) throw new Error('LockService: one store per source');
    this.stores = [...options.stores].sort(
      (a, b) => LOCK_SOURCES.indexOf(a.source) - LOCK_SOURCES.indexOf(b.source),
    );
    this.backends = options.backends ?? TERRAFORM_BACKENDS;
    this.now = options.now ?? (() => new Date());
  }

  backend(environment: Environment): StateBackend {
    return this.backends[environment];
  }

  /** Reads every source. Rejects (LockStoreError) if any source cannot be read: half a picture is no picture. */
  async inspect(environment: Environment): Promise<LockInspection> {
    const backend = this.backend(environment);
    const reads = await Promise.allSettled(this.stores.map((store) => store.read(environment, backend)));
    const locks: StateLock[] = [];
    reads.forEach((read, index) => {
      const store = this.stores[index] as LockStore;
      if (read.status === 'rejected')
        throw new LockStoreError(store.source, 'read', environment, read.reason);
      if (read.value) locks.push(read.value);
    });
    return {
      environment,
      checkedAt: this.now().toISOString(),
      checked: this.stores.map((store) => lockLocation(store.source, backend)),
      locks,
      ...judge(locks, backend, this.stores),
    };
  }

  /**
   * Releases the lock the user was shown, and only that. Re-reads every source first; refuses ('changed')
   * if any source holds another lock now or a lock appeared where none was shown; then deletes each shown
   * lock conditionally. Rejects only on a storage failure while re-reading.
   */
  async release(environment: Environment, shown: ShownLock): Promise<ReleaseResult> {
    const result: ReleaseResult = {
      environment,
      lockId: shown.lockId,
      outcome: 'refused',
      released: [],
      changed: [],
      absent: [],
      failed: [],
      reasons: [],
    };
    const shownSources = LOCK_SOURCES.filter((source) => (shown.fingerprints[source] ?? '') !== '');
    if (shown.lockId === '' || shownSources.length === 0) {
      result.reasons.push('nothing identifies the lock that was shown (no lock id or fingerprint)');
      return result;
    }
    const unknown = shownSources.filter((source) => !this.stores.some((store) => store.source === source));
    if (unknown.length > 0) {
      result.reasons.push(`the shown lock names a source this bot does not read (${unknown.join(', ')})`);
      return result;
    }

    const backend = this.backend(environment);
    const current = await this.inspect(environment);
    const toRelease: Array<{ store: LockStore; fingerprint: string }> = [];
    for (const store of this.stores) {
      const location = lockLocation(store.source, backend);
      const fingerprint = shown.fingerprints[store.source];
      const now = current.locks.find((lock) => lock.source === store.source);
      if (fingerprint === undefined || fingerprint === '') {
        if (now) {
          result.changed.push({
            source: store.source,
            location,
            detail: `${location} now holds ${describe(now)}, which was not shown; left alone`,
          });
        }
        continue;
      }
      if (!now) {
        result.absent.push({ source: store.source, location, detail: `${location} was already gone` });
        continue;
      }
      if (now.unreadable !== undefined || now.lockId !== shown.lockId || now.fingerprint !== fingerprint) {
        result.changed.push({
          source: store.source,
          location,
          detail: `${location} now holds ${describe(now)} instead of the lock ${shown.lockId} that was shown; left alone`,
        });
        continue;
      }
      toRelease.push({ store, fingerprint });
    }
    if (result.changed.length > 0) {
      result.outcome = 'changed';
      result.reasons.push('the lock changed after it was shown; nothing was deleted');
      return result;
    }

    for (const { store, fingerprint } of toRelease) {
      const location = lockLocation(store.source, backend);
      let released: SourceRelease;
      try {
        released = await store.release(backend, fingerprint);
      } catch (error) {
        result.failed.push({ source: store.source, location, detail: `${location}: ${errorName(error)}` });
        result.reasons.push(new LockStoreError(store.source, 'release', environment, error).message);
        // Stop: never leave the later source released while the earlier one is in an unknown state.
        break;
      }
      const entry = { source: store.source, location, detail: released.detail };
      if (released.status === 'released') result.released.push(entry);
      else if (released.status === 'absent') result.absent.push(entry);
      else result.changed.push(entry);
    }
    result.outcome =
      result.failed.length > 0
        ? 'failed'
        : result.changed.length > 0
          ? 'changed'
          : result.released.length > 0
            ? 'released'
            : 'nothing-to-release';
    if (result.outcome === 'changed') {
      result.reasons.push(
        'the lock was re-acquired while it was being released; the new lock was left alone',
      );
    }
    return result;
  }
}

function judge(
  locks: StateLock[],
  backend: StateBackend,
  stores: readonly LockStore[],
): Pick<LockInspection, 'verdict' | 'lockId' | 'notes'> {
  const notes: string[] = [];
  if (locks.length === 0) return { verdict: 'none', notes };
  const unreadable = locks.filter((lock) => lock.unreadable !== undefined);
  for (const lock of unreadable) {
    notes.push(`The ${SOURCE_LABEL[lock.source]} cannot be read as a Terraform lock: ${lock.unreadable}.`);
  }
  if (unreadable.length > 0) return { verdict: 'unreadable', notes };

  const ids = [...new Set(locks.map((lock) => lock.lockId))];
  const expectedPath = `${backend.bucket}/${backend.key}`;
  for (const lock of locks) {
    if (lock.path !== '' && lock.path !== expectedPath) {
      notes.push(`The ${SOURCE_LABEL[lock.source]} says it protects ${lock.path}, not ${expectedPath}.`);
    }
  }
  if (ids.length > 1) {
    notes.push(
      `The ${locks.map((lock) => `${SOURCE_LABEL[lock.source]} names lock ${lock.lockId}`).join(' and the ')}: ` +
        'two different locks. Something is off (two runners, or a half-finished force-unlock), so the bot ' +
        'releases neither; investigate by hand.',
    );
    return { verdict: 'inconsistent', notes };
  }
  const [first, second] = locks;
  if (first && second && (first.who !== second.who || first.created !== second.created)) {
    notes.push('Both sources name the same lock ID but disagree on its holder or creation time.');
  }
  if (locks.length === 1 && stores.length > 1 && first) {
    const missing = stores.find((store) => store.source !== first.source);
    if (missing) {
      notes.push(
        `Only the ${SOURCE_LABEL[first.source]} exists (no ${SOURCE_LABEL[missing.source]}): typically a run ` +
          'that died between taking the two locks, or a runner configured with only one of them.',
      );
    }
  }
  return { verdict: 'held', lockId: ids[0] as string, notes };
}

function describe(lock: StateLock): string {
  if (lock.unreadable !== undefined) return `an unreadable lock (${lock.unreadable})`;
  return `lock ${lock.lockId}${lock.who ? ` held by ${lock.who}` : ''}`;
}

/** The error's name (and AWS error code), never its message: messages may carry ARNs and account ids. */
export function errorName(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'unknown error';
  const name = (error as { name?: unknown }).name;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const label = typeof name === 'string' && name !== '' ? name : 'error';
  return status === undefined ? label : `${label} (HTTP ${status})`;
}

// ---------------------------------------------------------------------------------------------------
// Construction from configuration

export interface AwsLockSettings {
  /** Region of the state bucket and lock table (backend.tf: us-east-1). */
  region: string;
  /** Default: TERRAFORM_BACKENDS. */
  backends?: Readonly<Record<Environment, StateBackend>>;
  /** Which stores to read. Default both, as backend.tf configures (use_lockfile + dynamodb_table). */
  sources?: readonly LockSource[];
  /** Endpoint override for tests and the sandbox (dynalite). Never set in production. */
  dynamodbEndpoint?: string;
  /** Endpoint override for tests and the sandbox (S3 stand-in; path-style addressing is then used). */
  s3Endpoint?: string;
  /** Per-request timeout in ms (default 5000). */
  requestTimeoutMs?: number;
}

const CREDENTIAL_FIELDS = [
  'credentials',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
  'awsAccessKeyId',
  'awsSecretAccessKey',
];

/**
 * Builds the service with AWS clients that take credentials from the default chain only: EKS Pod Identity
 * (AWS_CONTAINER_CREDENTIALS_FULL_URI) or IRSA (AWS_WEB_IDENTITY_TOKEN_FILE) in the cluster. Settings that
 * carry access keys are refused: no long-lived keys in configuration.
 */
export function createLockService(settings: AwsLockSettings): LockService {
  const offending = CREDENTIAL_FIELDS.filter((field) => field in (settings as object));
  if (offending.length > 0) {
    throw new Error(
      `AWS credentials are not accepted in configuration (${offending.join(', ')}): the bot uses the ` +
        'default credential chain (EKS Pod Identity or IRSA).',
    );
  }
  if (!settings.region) throw new Error('createLockService: region is required');
  const sources = settings.sources ?? LOCK_SOURCES;
  const requestHandler = { requestTimeout: settings.requestTimeoutMs ?? 5_000, connectionTimeout: 3_000 };
  const stores: LockStore[] = [];
  if (sources.includes('dynamodb')) {
    const client = new DynamoDBClient({
      region: settings.region,
      requestHandler,
      ...(settings.dynamodbEndpoint ? { endpoint: settings.dynamodbEndpoint } : {}),
    });
    stores.push(new DynamoDbLockStore({ client }));
  }
  if (sources.includes('s3')) {
    const client = new S3Client({
      region: settings.region,
      requestHandler,
      ...(settings.s3Endpoint ? { endpoint: settings.s3Endpoint, forcePathStyle: true } : {}),
    });
    stores.push(new S3LockStore({ client }));
  }
  return new LockService({ stores, ...(settings.backends ? { backends: settings.backends } : {}) });
}
