// The S3 stand-in, checked by the real AWS SDK v3 S3Client: its request serializers and response/error
// parsers are the spec check (an answer the SDK cannot parse, or parses into the wrong error, fails here).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { S3ServiceException } from '@aws-sdk/client-s3';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startS3StandIn, type S3StandIn } from '../../src/sandbox/s3-standin.js';
import { REGION, TEST_CREDENTIALS } from './support.js';

const BUCKET = 'gitops-infra-pipeline-tfstate';

async function failure(promise: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await promise;
  } catch (error) {
    return error as S3ServiceException;
  }
  throw new Error('expected the request to fail');
}

const md5 = (text: string): string => `"${createHash('md5').update(text).digest('hex')}"`;

describe('S3 stand-in (validated with the AWS SDK v3 S3Client)', () => {
  let standIn: S3StandIn;
  let s3: S3Client;

  beforeAll(async () => {
    standIn = await startS3StandIn({ buckets: [BUCKET] });
    s3 = new S3Client({
      region: REGION,
      endpoint: standIn.endpoint,
      forcePathStyle: true,
      credentials: TEST_CREDENTIALS,
    });
  });
  afterAll(async () => {
    s3.destroy();
    await standIn.close();
  });

  it('stores and returns objects with quoted-MD5 ETags, content type, SSE headers and version ids', async () => {
    const body = '{"ID":"a"}';
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'objects/one.json',
        Body: body,
        ContentType: 'application/json',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: 'alias/gitops-infra-pipeline-tfstate',
      }),
    );
    expect(put.ETag).toBe(md5(body));
    expect(put.VersionId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(put.ServerSideEncryption).toBe('aws:kms');
    expect(put.ChecksumCRC32).toBeDefined(); // the SDK sent one; S3 echoes it

    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'objects/one.json' }));
    expect(await got.Body?.transformToString()).toBe(body);
    expect(got.ETag).toBe(md5(body));
    expect(got.ContentType).toBe('application/json');
    expect(got.ContentLength).toBe(body.length);
    expect(got.VersionId).toBe(put.VersionId);
    expect(got.SSEKMSKeyId).toBe('alias/gitops-infra-pipeline-tfstate');
    expect(got.LastModified).toBeInstanceOf(Date);

    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'objects/one.json' }));
    expect(head.ETag).toBe(md5(body));
    expect(head.ContentLength).toBe(body.length);
  });

  it('PutObject with If-None-Match: * creates once, then answers 412 PreconditionFailed (Terraform lock semantics)', async () => {
    const first = await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'aws/x/terraform.tfstate.tflock',
        Body: '{"ID":"1"}',
        IfNoneMatch: '*',
      }),
    );
    expect(first.ETag).toBe(md5('{"ID":"1"}'));
    const error = await failure(
      s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'aws/x/terraform.tfstate.tflock',
          Body: '{"ID":"2"}',
          IfNoneMatch: '*',
        }),
      ),
    );
    expect(error.name).toBe('PreconditionFailed');
    expect(error.$metadata.httpStatusCode).toBe(412);
    expect(error.$metadata.requestId).toMatch(/^[0-9A-F]{16}$/);
    expect(error.message).toBe('At least one of the pre-conditions you specified did not hold');
    expect(standIn.current(BUCKET, 'aws/x/terraform.tfstate.tflock')?.body.toString()).toBe('{"ID":"1"}');
  });

  it('DeleteObject with If-Match: 412 on another ETag, 204 on the right one, 404 NoSuchKey when absent', async () => {
    const key = 'aws/y/terraform.tfstate.tflock';
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'lock' }));
    const wrong = await failure(
      s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key, IfMatch: md5('other') })),
    );
    expect(wrong.name).toBe('PreconditionFailed');
    expect(wrong.$metadata.httpStatusCode).toBe(412);
    expect(standIn.current(BUCKET, key)).toBeDefined();

    const deleted = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key, IfMatch: put.ETag }));
    expect(deleted.$metadata.httpStatusCode).toBe(204);
    expect(deleted.DeleteMarker).toBe(true);
    expect(deleted.VersionId).toBeDefined();
    expect(standIn.current(BUCKET, key)).toBeUndefined();

    const absent = await failure(
      s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key, IfMatch: put.ETag })),
    );
    expect(absent.name).toBe('NoSuchKey');
    expect(absent.$metadata.httpStatusCode).toBe(404);

    // Unconditional delete of a missing key is a 204, as on S3.
    const plain = await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'never/existed' }));
    expect(plain.$metadata.httpStatusCode).toBe(204);
  });

  it('keeps the old version readable after a delete (versioned bucket) and reports the delete marker', async () => {
    const key = 'versioned/object';
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'v1' }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    const gone = await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })));
    expect(gone.name).toBe('NoSuchKey');
    const old = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, VersionId: put.VersionId }));
    expect(await old.Body?.transformToString()).toBe('v1');
    expect(standIn.versions(BUCKET, key).map((v) => v.deleteMarker)).toEqual([false, true]);
  });

  it('answers errors in S3 XML that the SDK maps to its modelled exceptions', async () => {
    const noKey = await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'missing/key' })));
    expect(noKey.name).toBe('NoSuchKey');
    expect(noKey.$metadata.httpStatusCode).toBe(404);
    expect(noKey.message).toBe('The specified key does not exist.');

    const noBucket = await failure(s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' })));
    expect(noBucket.name).toBe('NoSuchBucket');

    const headMissing = await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'missing/key' })));
    expect(headMissing.name).toBe('NotFound');
    expect(headMissing.$metadata.httpStatusCode).toBe(404);

    await expect(s3.send(new HeadBucketCommand({ Bucket: BUCKET }))).resolves.toBeDefined();
  });

  it('serves byte ranges and conditional reads', async () => {
    const key = 'range/object';
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: '0123456789' }));
    const part = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: 'bytes=2-5' }));
    expect(await part.Body?.transformToString()).toBe('2345');
    expect(part.ContentRange).toBe('bytes 2-5/10');
    const mismatch = await failure(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, IfMatch: md5('x') })),
    );
    expect(mismatch.$metadata.httpStatusCode).toBe(412);
    const notModified = await failure(
      s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, IfNoneMatch: put.ETag })),
    );
    expect(notModified.$metadata.httpStatusCode).toBe(304);
  });

  it('accepts aws-chunked streaming uploads with trailing checksums', async () => {
    const body = 'streamed lock body';
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'stream/object',
        Body: Readable.from([Buffer.from(body)]),
        ContentLength: body.length,
      }),
    );
    expect(put.ETag).toBe(md5(body));
    expect(standIn.current(BUCKET, 'stream/object')?.body.toString()).toBe(body);
  });

  it('lists with ListObjectsV2: prefix, delimiter, pagination and URL encoding', async () => {
    for (const key of ['list/a/1', 'list/a/2', 'list/b/1', 'list/c d', 'list/e']) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    }
    const grouped = await s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', Delimiter: '/' }),
    );
    expect(grouped.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['list/a/', 'list/b/']);
    expect(grouped.Contents?.map((c) => c.Key)).toEqual(['list/c d', 'list/e']);
    expect(grouped.KeyCount).toBe(4);
    expect(grouped.Contents?.[1]?.ETag).toBe(md5('list/e'));
    expect(grouped.Contents?.[1]?.Size).toBe('list/e'.length);

    const keys: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/', MaxKeys: 2, ContinuationToken: token }),
      );
      keys.push(...(page.Contents ?? []).map((c) => c.Key ?? ''));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      pages += 1;
    } while (token);
    expect(keys).toEqual(['list/a/1', 'list/a/2', 'list/b/1', 'list/c d', 'list/e']);
    expect(pages).toBe(3);

    const encoded = await s3.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'list/c', EncodingType: 'url' }),
    );
    // SDK v3 (unlike v2) hands url-encoded keys back as sent.
    expect(encoded.EncodingType).toBe('url');
    expect(encoded.Contents?.map((c) => c.Key)).toEqual(['list/c%20d']);
  });

  it('refuses requests without SigV4 authentication and checks the payload hash', async () => {
    const anonymous = await fetch(`${standIn.endpoint}/${BUCKET}/objects/one.json`);
    expect(anonymous.status).toBe(403);
    const xml = await anonymous.text();
    expect(xml).toContain('<Code>AccessDenied</Code>');
    expect(xml).toMatch(/<RequestId>[0-9A-F]{16}<\/RequestId>/);
    expect(xml).toContain(`<Resource>/${BUCKET}/objects/one.json</Resource>`);

    const badHash = await fetch(`${standIn.endpoint}/${BUCKET}/objects/two`, {
      method: 'PUT',
      body: 'abc',
      headers: {
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00',
        'x-amz-content-sha256': createHash('sha256').update('xyz').digest('hex'),
      },
    });
    expect(badHash.status).toBe(400);
    expect(await badHash.text()).toContain('<Code>XAmzContentSHA256Mismatch</Code>');
  });

  it('refuses a body whose declared checksum does not match', async () => {
    const error = await failure(
      s3.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'bad/checksum', Body: 'abc', ChecksumCRC32: 'AAAAAA==' }),
      ),
    );
    expect(error.name).toBe('BadDigest');
    expect(standIn.current(BUCKET, 'bad/checksum')).toBeUndefined();
  });
});
