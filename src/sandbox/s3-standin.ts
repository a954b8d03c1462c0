// A local S3-compatible server for tests and the sandbox: the part of the S3 REST API that Terraform's S3
// backend (state object, `<key>.tflock` lock object) and the bot's /unlock use, on 127.0.0.1 with
// path-style addressing (`http://127.0.0.1:<port>/<bucket>/<key>`), so the real AWS SDK v3 S3Client can be
// pointed at it unchanged (`endpoint`, `forcePathStyle: true`).
//
// Implemented, following the S3 API reference (docs.aws.amazon.com/AmazonS3/latest/API/):
//   PutObject     PUT    /<bucket>/<key>   If-None-Match: * (conditional create: 412 when the key exists,
//                                          which is how Terraform takes the lock), If-Match: <etag>,
//                                          Content-MD5 and x-amz-checksum-{crc32,sha1,sha256} verified,
//                                          aws-chunked bodies (streaming uploads with trailing checksums)
//   GetObject     GET    /<bucket>/<key>   Range (206), If-Match / If-None-Match (412 / 304), versionId
//   HeadObject    HEAD   /<bucket>/<key>   same, without a body (errors too, as S3 does)
//   DeleteObject  DELETE /<bucket>/<key>   If-Match: <etag> (conditional delete: 412 when it differs, 404
//                                          NoSuchKey when there is no current object), 204 otherwise
//   ListObjectsV2 GET    /<bucket>?list-type=2  prefix, delimiter, max-keys, start-after,
//                                          continuation-token, encoding-type=url
//   HeadBucket    HEAD   /<bucket>
// ETags are quoted MD5 hex of the body (single-part uploads; S3 documents the same for SSE-S3 objects and
// does not promise it for SSE-KMS, so callers must treat ETags as opaque, as /unlock does). Errors carry
// S3's XML body (Code, Message, Resource, RequestId, plus Key/BucketName/Condition where S3 adds them) and
// the x-amz-request-id / x-amz-id-2 headers. Buckets are versioned by default, like the real state bucket:
// a delete inserts a delete marker and the previous versions stay readable by versionId.
//
// Authentication: every request must carry a SigV4 `Authorization: AWS4-HMAC-SHA256 Credential=…` header
// and `x-amz-content-sha256`; any credentials are accepted and signatures are NOT verified (this is a
// stand-in, not a security boundary). A hex payload hash is checked against the body, as S3 does.
// Anything else answers 501 NotImplemented rather than pretending.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

// ── configuration and inspection types ──────────────────────────────────────────────────────────────

export interface S3StandInOptions {
  /** Buckets that exist from the start. Requests to any other bucket answer 404 NoSuchBucket. */
  buckets: string[];
  /** Versioning as on the real state bucket (default true): deletes insert delete markers. */
  versioned?: boolean;
  /** Region reported in `x-amz-bucket-region`. Default us-east-1. */
  region?: string;
}

/** One stored version of an object (or a delete marker). */
export interface S3StandInVersion {
  versionId: string;
  deleteMarker: boolean;
  body: Buffer;
  /** Quoted MD5 hex, as S3 sends it. */
  etag: string;
  lastModified: Date;
  contentType: string;
  /** Stored request headers echoed on reads: x-amz-meta-*, SSE and checksum headers. */
  headers: Record<string, string>;
}

/** What the stand-in saw, for tests asserting what a client did (and did not do). */
export interface S3StandInRequest {
  method: string;
  bucket?: string;
  key?: string;
  query: Record<string, string>;
  ifMatch?: string;
  ifNoneMatch?: string;
  status: number;
  errorCode?: string;
}

export interface S3StandIn {
  /** `http://127.0.0.1:<port>`: pass as the S3Client `endpoint` with `forcePathStyle: true`. */
  endpoint: string;
  /** Every request handled so far, in order. */
  requests: S3StandInRequest[];
  /** The current version of an object, or undefined when absent (or its current version is a delete marker). */
  current(bucket: string, key: string): S3StandInVersion | undefined;
  /** Every version of a key, oldest first (delete markers included). */
  versions(bucket: string, key: string): S3StandInVersion[];
  close(): Promise<void>;
}

// ── errors in S3's format ────────────────────────────────────────────────────────────────────────────

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const noSuchBucket = (bucket: string): S3Error =>
  new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
const noSuchKey = (key: string, headers: Record<string, string> = {}): S3Error =>
  new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key }, headers);
const preconditionFailed = (condition: string): S3Error =>
  new S3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
    Condition: condition,
  });
const notImplemented = (what: string): S3Error =>
  new S3Error(
    501,
    'NotImplemented',
    `A header or query you provided implies functionality that is not implemented (${what})`,
  );
const invalidArgument = (message: string, name: string, value: string): S3Error =>
  new S3Error(400, 'InvalidArgument', message, { ArgumentName: name, ArgumentValue: value });

const xmlEscape = (text: string): string =>
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');

const XML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n';
const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

// ── helpers ──────────────────────────────────────────────────────────────────────────────────────────

const md5Hex = (body: Buffer): string => createHash('md5').update(body).digest('hex');
const quotedMd5 = (body: Buffer): string => `"${md5Hex(body)}"`;
const newVersionId = (): string => randomBytes(24).toString('base64url');
const newRequestId = (): string => randomBytes(8).toString('hex').toUpperCase();
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/** ETag list comparison as RFC 9110 §13.1.1/§13.1.2 describe for If-Match / If-None-Match. */
function etagMatches(header: string, etag: string | undefined): boolean {
  if (etag === undefined) return false;
  if (header.trim() === '*') return true;
  const bare = (value: string): string => value.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return header.split(',').some((candidate) => bare(candidate) === bare(etag));
}

const CHECKSUM_HEADERS = [
  'x-amz-checksum-crc32',
  'x-amz-checksum-crc32c',
  'x-amz-checksum-crc64nvme',
  'x-amz-checksum-sha1',
  'x-amz-checksum-sha256',
] as const;

/** Checksums we can compute without extra dependencies; crc32c and crc64nvme are stored unverified. */
const COMPUTE: Partial<Record<(typeof CHECKSUM_HEADERS)[number], (body: Buffer) => string>> = {
  'x-amz-checksum-crc32': (body) => {
    const value = Buffer.alloc(4);
    value.writeUInt32BE(crc32(body) >>> 0);
    return value.toString('base64');
  },
  'x-amz-checksum-sha1': (body) => createHash('sha1').update(body).digest('base64'),
  'x-amz-checksum-sha256': (body) => createHash('sha256').update(body).digest('base64'),
};

const STORED_HEADER =
  /^(x-amz-meta-|x-amz-server-side-encryption|x-amz-checksum-(crc|sha)|x-amz-checksum-type$)/;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/**
 * Decodes an `aws-chunked` body: `<hex size>[;chunk-signature=…]\r\n<data>\r\n` … `0\r\n<trailers>\r\n\r\n`.
 * Returns the payload and the trailing headers (e.g. `x-amz-checksum-crc32`).
 */
function decodeAwsChunked(raw: Buffer): { body: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', offset);
    if (lineEnd < 0) throw new S3Error(400, 'IncompleteBody', 'The request body terminated unexpectedly');
    const sizeText = raw.subarray(offset, lineEnd).toString('latin1').split(';')[0] ?? '';
    const size = Number.parseInt(sizeText, 16);
    if (!/^[0-9a-fA-F]+$/.test(sizeText) || Number.isNaN(size)) {
      throw new S3Error(400, 'InvalidChunkSizeError', 'Only the last chunk is allowed to have a size of 0');
    }
    offset = lineEnd + 2;
    if (size === 0) break;
    parts.push(raw.subarray(offset, offset + size));
    offset += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of raw.subarray(offset).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(parts), trailers };
}

// ── the server ───────────────────────────────────────────────────────────────────────────────────────

type Store = Map<string, Map<string, S3StandInVersion[]>>;

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  bucket?: string;
  key?: string;
  query: URLSearchParams;
  log: S3StandInRequest;
}

export async function startS3StandIn(options: S3StandInOptions): Promise<S3StandIn> {
  const versioned = options.versioned ?? true;
  const region = options.region ?? 'us-east-1';
  const store: Store = new Map(options.buckets.map((bucket) => [bucket, new Map()]));
  const requests: S3StandInRequest[] = [];

  const currentOf = (bucket: string, key: string): S3StandInVersion | undefined => {
    const latest = store.get(bucket)?.get(key)?.at(-1);
    return latest && !latest.deleteMarker ? latest : undefined;
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const segments = url.pathname.split('/');
    const bucket = segments[1] ? decodeURIComponent(segments[1]) : undefined;
    const rawKey = segments.slice(2).join('/');
    const key = rawKey === '' ? undefined : decodeURIComponent(rawKey);
    const query = url.searchParams;
    const log: S3StandInRequest = {
      method: req.method ?? 'GET',
      ...(bucket === undefined ? {} : { bucket }),
      ...(key === undefined ? {} : { key }),
      query: Object.fromEntries(query),
      ...(typeof req.headers['if-match'] === 'string' ? { ifMatch: req.headers['if-match'] } : {}),
      ...(typeof req.headers['if-none-match'] === 'string'
        ? { ifNoneMatch: req.headers['if-none-match'] }
        : {}),
      status: 0,
    };
    requests.push(log);
    const ctx: Context = {
      req,
      res,
      requestId: newRequestId(),
      ...(bucket === undefined ? {} : { bucket }),
      ...(key === undefined ? {} : { key }),
      query,
      log,
    };
    handle(ctx).catch((error: unknown) => {
      const s3Error =
        error instanceof S3Error
          ? error
          : new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');
      sendError(ctx, s3Error);
    });
  });

  async function handle(ctx: Context): Promise<void> {
    const raw = await readBody(ctx.req);
    checkAuthentication(ctx, raw);
    const method = ctx.req.method ?? 'GET';
    if (ctx.bucket === undefined) throw notImplemented('ListBuckets');
    const objects = store.get(ctx.bucket);
    if (!objects) {
      // HEAD answers carry no body; the status alone tells the SDK.
      throw noSuchBucket(ctx.bucket);
    }
    if (ctx.key === undefined) {
      if (method === 'HEAD') return send(ctx, 200, { 'x-amz-bucket-region': region });
      if (method === 'GET') return listObjectsV2(ctx, objects);
      throw notImplemented(`${method} on a bucket`);
    }
    const unsupported = [...ctx.query.keys()].filter((name) => name !== 'x-id' && name !== 'versionId');
    if (unsupported.length > 0) throw notImplemented(`?${unsupported.join('&')}`);
    switch (method) {
      case 'PUT':
        return putObject(ctx, objects, ctx.key, raw);
      case 'GET':
      case 'HEAD':
        return getObject(ctx, objects, ctx.key, method === 'HEAD');
      case 'DELETE':
        return deleteObject(ctx, objects, ctx.key);
      default:
        throw new S3Error(
          405,
          'MethodNotAllowed',
          'The specified method is not allowed against this resource.',
          {
            Method: method,
            ResourceType: 'OBJECT',
          },
        );
    }
  }

  function checkAuthentication(ctx: Context, raw: Buffer): void {
    const authorization = ctx.req.headers.authorization;
    if (authorization === undefined) throw new S3Error(403, 'AccessDenied', 'Access Denied');
    if (!/^AWS4-HMAC-SHA256 Credential=[^/\s]+\/\d{8}\/[a-z0-9-]+\/s3\/aws4_request,/.test(authorization)) {
      throw new S3Error(
        400,
        'AuthorizationHeaderMalformed',
        'The authorization header is malformed; expected AWS4-HMAC-SHA256 with a Credential scope for s3.',
      );
    }
    const payloadHash = ctx.req.headers['x-amz-content-sha256'];
    if (typeof payloadHash !== 'string') {
      throw new S3Error(
        400,
        'InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256',
      );
    }
    if (/^[0-9a-f]{64}$/.test(payloadHash)) {
      const actual = raw.length === 0 ? EMPTY_SHA256 : createHash('sha256').update(raw).digest('hex');
      if (actual !== payloadHash) {
        throw new S3Error(
          400,
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
          { ClientComputedContentSHA256: payloadHash, S3ComputedContentSHA256: actual },
        );
      }
    } else if (payloadHash !== 'UNSIGNED-PAYLOAD' && !payloadHash.startsWith('STREAMING-')) {
      throw new S3Error(
        400,
        'InvalidArgument',
        'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-…, or a valid sha256 value.',
      );
    }
  }

  function putObject(ctx: Context, objects: Map<string, S3StandInVersion[]>, key: string, raw: Buffer): void {
    const headers = ctx.req.headers;
    let body = raw;
    const supplied: Record<string, string> = {};
    const encoding = String(headers['content-encoding'] ?? '');
    const payloadHash = String(headers['x-amz-content-sha256'] ?? '');
    if (encoding.split(',').some((e) => e.trim() === 'aws-chunked') || payloadHash.startsWith('STREAMING-')) {
      const decoded = decodeAwsChunked(raw);
      body = decoded.body;
      Object.assign(supplied, decoded.trailers);
      const declared = headers['x-amz-decoded-content-length'];
      if (declared !== undefined && Number(declared) !== body.length) {
        throw new S3Error(
          400,
          'IncompleteBody',
          'You did not provide the number of bytes specified by the Content-Length HTTP header',
        );
      }
    }
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value === 'string' && STORED_HEADER.test(name)) supplied[name] = value;
    }
    const contentMd5 = headers['content-md5'];
    if (typeof contentMd5 === 'string' && createHash('md5').update(body).digest('base64') !== contentMd5) {
      throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    for (const name of CHECKSUM_HEADERS) {
      const given = supplied[name];
      const compute = COMPUTE[name];
      if (given !== undefined && compute && compute(body) !== given) {
        const algorithm = name.replace('x-amz-checksum-', '').toUpperCase();
        throw new S3Error(
          400,
          'BadDigest',
          `The ${algorithm} you specified did not match the calculated checksum.`,
        );
      }
    }
    const current = currentOf(ctx.bucket ?? '', key);
    const ifNoneMatch = headers['if-none-match'];
    if (typeof ifNoneMatch === 'string') {
      // S3 supports only `*` on writes: "create only if absent".
      if (ifNoneMatch.trim() !== '*') throw notImplemented('If-None-Match other than * on PUT');
      if (current) throw preconditionFailed('If-None-Match');
    }
    const ifMatch = headers['if-match'];
    if (typeof ifMatch === 'string') {
      if (!current) throw noSuchKey(key);
      if (!etagMatches(ifMatch, current.etag)) throw preconditionFailed('If-Match');
    }
    const version: S3StandInVersion = {
      versionId: versioned ? newVersionId() : 'null',
      deleteMarker: false,
      body,
      etag: quotedMd5(body),
      lastModified: new Date(),
      contentType:
        typeof headers['content-type'] === 'string' ? headers['content-type'] : 'binary/octet-stream',
      headers: Object.fromEntries(Object.entries(supplied).filter(([name]) => STORED_HEADER.test(name))),
    };
    appendVersion(objects, key, version);
    send(ctx, 200, {
      ETag: version.etag,
      ...versionHeader(version),
      ...pick(version.headers, /^(x-amz-server-side-encryption|x-amz-checksum-)/),
    });
  }

  function appendVersion(
    objects: Map<string, S3StandInVersion[]>,
    key: string,
    version: S3StandInVersion,
  ): void {
    const history = versioned ? (objects.get(key) ?? []) : [];
    // Unversioned buckets (and the "null" version) keep one entry per key.
    objects.set(key, [...history.filter((v) => versioned && v.versionId !== 'null'), version]);
  }

  function getObject(
    ctx: Context,
    objects: Map<string, S3StandInVersion[]>,
    key: string,
    head: boolean,
  ): void {
    const versionId = ctx.query.get('versionId');
    const history = objects.get(key) ?? [];
    const version = versionId === null ? history.at(-1) : history.find((v) => v.versionId === versionId);
    if (!version) {
      if (versionId !== null) {
        throw new S3Error(404, 'NoSuchVersion', 'The specified version does not exist.', {
          Key: key,
          VersionId: versionId,
        });
      }
      throw noSuchKey(key);
    }
    if (version.deleteMarker) {
      const markerHeaders = { 'x-amz-delete-marker': 'true', ...versionHeader(version) };
      if (versionId !== null) {
        throw new S3Error(
          405,
          'MethodNotAllowed',
          'The specified method is not allowed against this resource.',
          {
            Method: ctx.req.method ?? 'GET',
            ResourceType: 'DeleteMarker',
          },
          markerHeaders,
        );
      }
      throw noSuchKey(key, markerHeaders);
    }
    const headers = ctx.req.headers;
    const ifMatch = headers['if-match'];
    if (typeof ifMatch === 'string' && !etagMatches(ifMatch, version.etag))
      throw preconditionFailed('If-Match');
    const ifNoneMatch = headers['if-none-match'];
    if (typeof ifNoneMatch === 'string' && etagMatches(ifNoneMatch, version.etag)) {
      return send(ctx, 304, { ETag: version.etag, 'Last-Modified': version.lastModified.toUTCString() });
    }
    const common: Record<string, string> = {
      ETag: version.etag,
      'Last-Modified': version.lastModified.toUTCString(),
      'Content-Type': version.contentType,
      'Accept-Ranges': 'bytes',
      ...versionHeader(version),
      ...pick(version.headers, /^(x-amz-meta-|x-amz-server-side-encryption)/),
    };
    const range =
      typeof headers.range === 'string' ? parseRange(headers.range, version.body.length) : undefined;
    if (range) {
      const slice = version.body.subarray(range.start, range.end + 1);
      return send(
        ctx,
        206,
        { ...common, 'Content-Range': `bytes ${range.start}-${range.end}/${version.body.length}` },
        head ? undefined : slice,
        slice.length,
      );
    }
    const checksums =
      headers['x-amz-checksum-mode'] === 'ENABLED'
        ? pick(version.headers, /^x-amz-checksum-(crc|sha|type)/)
        : {};
    send(ctx, 200, { ...common, ...checksums }, head ? undefined : version.body, version.body.length);
  }

  function deleteObject(ctx: Context, objects: Map<string, S3StandInVersion[]>, key: string): void {
    const versionId = ctx.query.get('versionId');
    const history = objects.get(key) ?? [];
    if (versionId !== null) {
      // Permanent delete of one version: no delete marker.
      const remaining = history.filter((v) => v.versionId !== versionId);
      if (remaining.length === 0) objects.delete(key);
      else objects.set(key, remaining);
      return send(ctx, 204, { 'x-amz-version-id': versionId });
    }
    const current = currentOf(ctx.bucket ?? '', key);
    const ifMatch = ctx.req.headers['if-match'];
    if (typeof ifMatch === 'string') {
      // Conditional delete (general purpose buckets since 2025-09): evaluated against the current version;
      // no current object → 404 NoSuchKey, different ETag → 412 PreconditionFailed.
      if (!current) throw noSuchKey(key);
      if (!etagMatches(ifMatch, current.etag)) throw preconditionFailed('If-Match');
    }
    if (!versioned) {
      objects.delete(key);
      return send(ctx, 204, {});
    }
    const marker: S3StandInVersion = {
      versionId: newVersionId(),
      deleteMarker: true,
      body: Buffer.alloc(0),
      etag: '',
      lastModified: new Date(),
      contentType: '',
      headers: {},
    };
    appendVersion(objects, key, marker);
    send(ctx, 204, { 'x-amz-delete-marker': 'true', 'x-amz-version-id': marker.versionId });
  }

  function listObjectsV2(ctx: Context, objects: Map<string, S3StandInVersion[]>): void {
    const q = ctx.query;
    if (q.get('list-type') !== '2') throw notImplemented('ListObjects (v1); use ListObjectsV2 (list-type=2)');
    const known = new Set([
      'list-type',
      'prefix',
      'delimiter',
      'max-keys',
      'continuation-token',
      'start-after',
      'encoding-type',
      'fetch-owner',
      'x-id',
    ]);
    const unsupported = [...q.keys()].filter((name) => !known.has(name));
    if (unsupported.length > 0) throw notImplemented(`?${unsupported.join('&')}`);
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const maxKeysText = q.get('max-keys') ?? '1000';
    const maxKeys = Number(maxKeysText);
    if (!/^\d+$/.test(maxKeysText))
      throw invalidArgument(
        'Provided max-keys not an integer or within integer range',
        'max-keys',
        maxKeysText,
      );
    const encodingType = q.get('encoding-type');
    if (encodingType !== null && encodingType !== 'url') {
      throw invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', encodingType);
    }
    // The continuation token names the last entry returned: `k:<key>` or `p:<common prefix>`.
    const token = q.get('continuation-token');
    let after = q.get('start-after') ?? '';
    let skipPrefix: string | undefined;
    if (token !== null) {
      const decoded = Buffer.from(token, 'base64url').toString('utf8');
      if (!/^[kp]:/.test(decoded)) {
        throw invalidArgument('The continuation token provided is incorrect', 'continuation-token', token);
      }
      after = decoded.slice(2);
      if (decoded.startsWith('p:')) skipPrefix = after;
    }
    const encode = (text: string): string =>
      encodingType === 'url' ? encodeURIComponent(text).replace(/%2F/g, '/') : text;

    const keys = [...objects.keys()].filter((k) => currentOf(ctx.bucket ?? '', k) !== undefined).sort();
    const contents: string[] = [];
    const commonPrefixes: string[] = [];
    let truncated = false;
    let last = '';
    for (const key of keys) {
      if (!key.startsWith(prefix) || key <= after) continue;
      if (skipPrefix !== undefined && key.startsWith(skipPrefix)) continue;
      const at = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
      const common = at >= 0 ? key.slice(0, at + delimiter.length) : undefined;
      if (common !== undefined && commonPrefixes.includes(common)) continue;
      if (contents.length + commonPrefixes.length >= maxKeys) {
        truncated = true;
        break;
      }
      if (common !== undefined) {
        commonPrefixes.push(common);
        last = `p:${common}`;
        continue;
      }
      last = `k:${key}`;
      const version = currentOf(ctx.bucket ?? '', key) as S3StandInVersion;
      contents.push(
        `<Contents><Key>${xmlEscape(encode(key))}</Key>` +
          `<LastModified>${version.lastModified.toISOString()}</LastModified>` +
          `<ETag>${xmlEscape(version.etag)}</ETag><Size>${version.body.length}</Size>` +
          `<StorageClass>STANDARD</StorageClass></Contents>`,
      );
    }
    const count = contents.length + commonPrefixes.length;
    const element = (name: string, value: string | null): string =>
      value === null ? '' : `<${name}>${xmlEscape(value)}</${name}>`;
    const xml =
      `${XML_HEADER}<ListBucketResult xmlns="${S3_NAMESPACE}">` +
      element('Name', ctx.bucket ?? '') +
      element('Prefix', encode(prefix)) +
      (delimiter === '' ? '' : element('Delimiter', encode(delimiter))) +
      element('MaxKeys', String(maxKeys)) +
      (encodingType === null ? '' : element('EncodingType', encodingType)) +
      element('KeyCount', String(count)) +
      element('IsTruncated', String(truncated)) +
      element('ContinuationToken', token) +
      (truncated ? element('NextContinuationToken', Buffer.from(last).toString('base64url')) : '') +
      element('StartAfter', q.get('start-after') === null ? null : encode(q.get('start-after') ?? '')) +
      contents.join('') +
      commonPrefixes
        .map((p) => `<CommonPrefixes><Prefix>${xmlEscape(encode(p))}</Prefix></CommonPrefixes>`)
        .join('') +
      '</ListBucketResult>';
    send(ctx, 200, { 'Content-Type': 'application/xml' }, Buffer.from(xml, 'utf8'));
  }

  function versionHeader(version: S3StandInVersion): Record<string, string> {
    return versioned ? { 'x-amz-version-id': version.versionId } : {};
  }

  function send(
    ctx: Context,
    status: number,
    headers: Record<string, string>,
    body?: Buffer,
    contentLength?: number,
  ): void {
    ctx.log.status = status;
    const length = contentLength ?? body?.length ?? 0;
    ctx.res.writeHead(status, {
      'x-amz-request-id': ctx.requestId,
      'x-amz-id-2': randomBytes(24).toString('base64'),
      Date: new Date().toUTCString(),
      Server: 'AmazonS3',
      ...(status === 204 || status === 304 ? {} : { 'Content-Length': String(length) }),
      ...headers,
    });
    ctx.res.end(body && ctx.req.method !== 'HEAD' ? body : undefined);
  }

  function sendError(ctx: Context, error: S3Error): void {
    ctx.log.errorCode = error.code;
    if (ctx.res.headersSent) {
      ctx.res.destroy();
      return;
    }
    const resource =
      ctx.bucket === undefined ? '/' : `/${ctx.bucket}${ctx.key === undefined ? '' : `/${ctx.key}`}`;
    const extra = Object.entries(error.extra)
      .map(([name, value]) => `<${name}>${xmlEscape(value)}</${name}>`)
      .join('');
    const xml =
      `${XML_HEADER}<Error><Code>${error.code}</Code><Message>${xmlEscape(error.message)}</Message>` +
      `${extra}<Resource>${xmlEscape(resource)}</Resource><RequestId>${ctx.requestId}</RequestId></Error>`;
    // S3 answers HEAD errors with the status and headers only.
    const body = ctx.req.method === 'HEAD' ? undefined : Buffer.from(xml, 'utf8');
    send(ctx, error.status, { 'Content-Type': 'application/xml', ...error.headers }, body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    current: currentOf,
    versions: (bucket, key) => [...(store.get(bucket)?.get(key) ?? [])],
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function pick(headers: Record<string, string>, pattern: RegExp): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => pattern.test(name)));
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range only, as the SDKs send). Unsatisfiable → 416. */
function parseRange(header: string, size: number): { start: number; end: number } | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined; // S3 ignores what it cannot parse
  let start: number;
  let end: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) {
    throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', {
      RangeRequested: header,
      ActualObjectSize: String(size),
    });
  }
  return { start, end };
}
