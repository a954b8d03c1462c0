// Terraform state locks as Terraform's S3 backend writes them, and the bot's view of one.
//
// Source: hashicorp/terraform internal/states/statemgr/locker.go (LockInfo, Marshal) and
// internal/backend/remote-state/s3/client.go (Lock, Unlock, lockPath); reference: ../shared iac.md §4.
//   - LockInfo is a Go struct without JSON tags: keys are the Go field names, in declaration order
//     (ID, Operation, Info, Who, Version, Created, Path); Created is a time.Time (RFC3339Nano, UTC).
//   - DynamoDB (dynamodb_table, deprecated since 1.11): item {LockID: "<bucket>/<key>", Info: <LockInfo JSON>}
//     written with attribute_not_exists(LockID); a separate digest item {LockID: "<bucket>/<key>-md5",
//     Digest} is written on every state save and is NOT a lock.
//   - S3 (use_lockfile): object "<key>.tflock", body = the same LockInfo JSON, written with If-None-Match: *.
//   - With both configured (our backend.tf), both carry the same LockInfo (same ID).
import { z } from 'zod';
import type { Environment } from '../domain/types.js';

/** statemgr.LockInfo, field for field, in Terraform's order. */
export interface LockInfo {
  /** A UUID generated when the lock is taken; `terraform force-unlock` needs it. */
  ID: string;
  /** "OperationTypeApply", "OperationTypePlan", "OperationTypeRefresh", … or "" for state commands. */
  Operation: string;
  /** Free text; usually empty. */
  Info: string;
  /** "<user>@<hostname>" of the process holding the lock. */
  Who: string;
  /** Terraform version of the holder. */
  Version: string;
  /** When the lock was taken: RFC3339Nano (Go's time.Time JSON encoding), UTC. */
  Created: string;
  /** "<bucket>/<key>" of the state it protects. */
  Path: string;
}

export type LockSource = 'dynamodb' | 's3';
/** In release order: DynamoDB first, then S3 (the reverse of Terraform's acquisition order, see service.ts). */
export const LOCK_SOURCES: readonly LockSource[] = ['dynamodb', 's3'];

export const SOURCE_LABEL: Readonly<Record<LockSource, string>> = {
  dynamodb: 'DynamoDB lock item',
  s3: 'S3 lock file',
};

/** Where one environment's state and locks live (terraform/aws/<env>/backend.tf). */
export interface StateBackend {
  bucket: string;
  /** The state object key, e.g. "aws/dev/terraform.tfstate". */
  key: string;
  /** The DynamoDB lock table. */
  table: string;
}

/** The backends in terraform/aws/{dev,prod}/backend.tf (test/locks checks that they agree). */
export const TERRAFORM_BACKENDS: Readonly<Record<Environment, StateBackend>> = {
  dev: {
    bucket: 'gitops-infra-pipeline-tfstate',
    key: 'aws/dev/terraform.tfstate',
    table: 'gitops-infra-pipeline-tflock',
  },
  prod: {
    bucket: 'gitops-infra-pipeline-tfstate',
    key: 'aws/prod/terraform.tfstate',
    table: 'gitops-infra-pipeline-tflock',
  },
};

/** The DynamoDB lock item's LockID: Terraform's lockPath(), "<bucket>/<key>". */
export const lockItemId = (backend: StateBackend): string => `${backend.bucket}/${backend.key}`;
/** The DynamoDB digest item's LockID. Read by Terraform on every state read; never touched by the bot. */
export const digestItemId = (backend: StateBackend): string => `${lockItemId(backend)}-md5`;
/** The S3 lock object's key. */
export const lockObjectKey = (backend: StateBackend): string => `${backend.key}.tflock`;

/** Human-readable address of a lock, for messages and audit records. */
export function lockLocation(source: LockSource, backend: StateBackend): string {
  return source === 'dynamodb'
    ? `DynamoDB ${backend.table} item LockID=${lockItemId(backend)}`
    : `s3://${backend.bucket}/${lockObjectKey(backend)}`;
}

/** One lock as the bot shows it: read from one source. */
export interface StateLock {
  environment: Environment;
  source: LockSource;
  /** LockInfo.ID; empty when the stored lock could not be read as LockInfo. */
  lockId: string;
  who: string;
  operation: string;
  info: string;
  version: string;
  created: string;
  path: string;
  /**
   * What a conditional delete is conditioned on. DynamoDB: the exact stored Info string; S3: the ETag.
   * Never derived from anything a user sent.
   */
  fingerprint: string;
  /** Where it lives (lockLocation). */
  location: string;
  /** Set when the stored value is not a readable LockInfo: shown, never released by the bot. */
  unreadable?: string;
}

/** Per source, the fingerprint of the lock that was shown to the user. */
export type LockFingerprints = Partial<Record<LockSource, string>>;

/** The lock a user saw and confirmed: what release() insists is still there. */
export interface ShownLock {
  lockId: string;
  fingerprints: LockFingerprints;
}

export type SourceReleaseStatus = 'released' | 'changed' | 'absent';

/** What one conditional delete did. Losing the race is a result, not an exception. */
export interface SourceRelease {
  status: SourceReleaseStatus;
  /** What exactly was deleted (released) or found instead (changed, absent), for the audit record. */
  detail: string;
}

/** A GitHub Actions run of the pipeline workflow for one environment (input for matching a lock holder). */
export interface RecentRun {
  id: number;
  htmlUrl: string;
  /** queued | in_progress | waiting | requested | pending | completed */
  status: string;
  conclusion?: string | null;
  /** run_started_at (ISO). */
  startedAt: string;
  /** When it completed (updated_at of a completed run), if it did. */
  completedAt?: string;
  /** display_title or name. */
  title?: string;
  runNumber?: number;
  /** Runner host names of its jobs, when known (matched against LockInfo.Who "<user>@<host>"). */
  runnerNames?: string[];
}

// ---------------------------------------------------------------------------------------------------
// Parsing and writing LockInfo exactly as Terraform does

const lockInfoSchema = z.object({
  ID: z.string().min(1),
  Operation: z.string().optional(),
  Info: z.string().optional(),
  Who: z.string().optional(),
  Version: z.string().optional(),
  Created: z.string().optional(),
  Path: z.string().optional(),
});

export type ParsedLockInfo = { ok: true; info: LockInfo } | { ok: false; problem: string };

/**
 * Reads LockInfo JSON. Go's encoding/json ignores unknown fields and leaves missing ones empty; we do the
 * same, but insist on an ID: without it nobody (neither Terraform nor the bot) can name the lock.
 */
export function parseLockInfo(text: string): ParsedLockInfo {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'the stored lock is not JSON' };
  }
  const parsed = lockInfoSchema.safeParse(data);
  if (!parsed.success)
    return { ok: false, problem: 'the stored lock has no lock ID (not a Terraform LockInfo)' };
  const value = parsed.data;
  return {
    ok: true,
    info: {
      ID: value.ID,
      Operation: value.Operation ?? '',
      Info: value.Info ?? '',
      Who: value.Who ?? '',
      Version: value.Version ?? '',
      Created: value.Created ?? '',
      Path: value.Path ?? '',
    },
  };
}

const FIELD_ORDER: ReadonlyArray<keyof LockInfo> = [
  'ID',
  'Operation',
  'Info',
  'Who',
  'Version',
  'Created',
  'Path',
];

/**
 * LockInfo as Go's json.Marshal writes it (Terraform's LockInfo.Marshal): fields in declaration order, no
 * whitespace, HTML-safe escaping (<, >, & as \u003c, \u003e, \u0026), U+2028/U+2029 escaped, control
 * characters as \n \r \t \b \f or \u00XX (Go ≥ 1.22). Used by tests and the sandbox to write locks in
 * Terraform's exact bytes.
 */
export function marshalLockInfo(info: LockInfo): string {
  return `{${FIELD_ORDER.map((field) => `"${field}":${goJsonString(info[field])}`).join(',')}}`;
}

const GO_SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

function goJsonString(text: string): string {
  let out = '"';
  for (const char of text) {
    const short = GO_SHORT_ESCAPES[char];
    const code = char.codePointAt(0) ?? 0;
    if (short !== undefined) out += short;
    else if (
      code < 0x20 ||
      char === '<' ||
      char === '>' ||
      char === '&' ||
      code === 0x2028 ||
      code === 0x2029
    ) {
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    } else out += char;
  }
  return `${out}"`;
}

/**
 * A time as Go's time.Time MarshalJSON writes a UTC time (RFC3339Nano): fractional seconds with trailing
 * zeros removed, no fraction at all when it is zero. `nanos` adds sub-millisecond digits (0–999999).
 */
export function rfc3339Nano(date: Date, nanos = 0): string {
  const iso = date.toISOString(); // 2026-11-27T09:12:33.120Z
  const fraction = `${iso.slice(20, 23)}${String(nanos).padStart(6, '0')}`.replace(/0+$/, '');
  return `${iso.slice(0, 19)}${fraction === '' ? '' : `.${fraction}`}Z`;
}
