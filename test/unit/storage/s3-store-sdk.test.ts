import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ObjectExistsError, ObjectNotFoundError, StorageError } from '../../../lambdas/core/errors.js';
import { S3Store } from '../../../lambdas/core/storage/s3-store.js';
import { ProducerError, chunked, failingStream } from '../../helpers/store-contract.js';
import { stubEnv, unstubAllEnvs } from '../../helpers/env.js';

// Behaviours s3rver lacks (conditional writes, SSE-KMS, IAM and throttling errors), checked at the
// SDK boundary: the commands the store sends and how it maps what S3 answers.

const MiB = 1024 * 1024;
const BUCKET = 'live-it-iconic-backups';
const KMS_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const client = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY } });
const s3 = mockClient(client);

function s3Error(name: string, status: number, message: string = name): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, attempts: 5 }, message });
}

function bodyOf(text: string): Readable {
  return Readable.from([Buffer.from(text, 'utf8')]);
}

function storeWith(options: { kmsKeyId?: string; partSize?: number } = {}): S3Store {
  return new S3Store({ bucket: BUCKET, prefix: 'dr', client, ...options });
}

async function failure(promise: Promise<unknown>): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StorageError);
  return error as StorageError;
}

function expectOneLineWithoutSecrets(error: StorageError): void {
  expect(error.message).not.toContain('\n');
  expect(error.message).not.toContain(ACCESS_KEY);
  expect(error.message).not.toContain(SECRET_KEY);
}

beforeEach(() => {
  s3.reset();
});
afterEach(() => {
  unstubAllEnvs();
});

describe('S3Store conditional create', () => {
  it('createObject sends PutObject with IfNoneMatch "*" under the prefix (SDK mock)', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(PutObjectCommand).resolves({});

    await storeWith().createObject('2024-01-15T02-00-00-000Z/metadata.json', '{}');

    const put = s3.commandCalls(PutObjectCommand);
    expect(put).toHaveLength(1);
    expect(put[0]!.args[0].input).toMatchObject({ Bucket: BUCKET, Key: 'dr/2024-01-15T02-00-00-000Z/metadata.json', IfNoneMatch: '*', ContentType: 'application/json' });
    expect(put[0]!.args[0].input).not.toHaveProperty('ServerSideEncryption');
    expect(put[0]!.args[0].input).not.toHaveProperty('SSEKMSKeyId');
  });

  it('createObject maps 412 PreconditionFailed to ObjectExistsError when the object holds other bytes (SDK mock)', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold'));
    s3.on(GetObjectCommand).resolves({ Body: bodyOf('{"other":"writer"}') as never, ContentLength: 18 });

    const error = await failure(storeWith().createObject('id/metadata.json', '{}'));

    expect(error).toBeInstanceOf(ObjectExistsError);
    expect(error.message).toBe('id/metadata.json already exists in s3://live-it-iconic-backups/dr; it is written once and never replaced');
  });

  it('createObject maps 409 ConditionalRequestConflict to ObjectExistsError (SDK mock)', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(PutObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409));
    s3.on(GetObjectCommand).rejects(s3Error('NoSuchKey', 404));

    expect(await failure(storeWith().createObject('id/metadata.json', '{}'))).toBeInstanceOf(ObjectExistsError);
  });

  it('createObject succeeds on 412 when reading back finds exactly its own bytes: the response was lost, not the write (SDK mock)', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    // The first attempt stored the object, its response was lost; the SDK's retry met the condition.
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    s3.on(GetObjectCommand).resolves({ Body: bodyOf('{"backupId":"id"}\n') as never, ContentLength: 18 });

    await storeWith().createObject('id/metadata.json', '{"backupId":"id"}\n');

    expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toMatchObject({ Bucket: BUCKET, Key: 'dr/id/metadata.json' });
  });

  it('createObject succeeds when every attempt lost its answer but the object holds its bytes, and fails retryable when it does not (SDK mock)', async () => {
    const reset = Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET', $metadata: { attempts: 5 } });
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(PutObjectCommand).rejects(reset);
    s3.on(GetObjectCommand).resolvesOnce({ Body: bodyOf('{}') as never, ContentLength: 2 }).rejects(s3Error('NoSuchKey', 404));

    await storeWith().createObject('id/metadata.json', '{}');
    const error = await failure(storeWith().createObject('id/metadata.json', '{}'));
    expect(error).not.toBeInstanceOf(ObjectExistsError);
    expect(error.retryable).toBe(true);
  });

  it('createObject refuses without a PUT when the HeadObject pre-check finds the object with other bytes (SDK mock)', async () => {
    s3.on(HeadObjectCommand).resolves({ ContentLength: 2 });
    s3.on(GetObjectCommand).resolves({ Body: bodyOf('[]') as never, ContentLength: 2 });

    expect(await failure(storeWith().createObject('id/metadata.json', '{}'))).toBeInstanceOf(ObjectExistsError);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('createObject leaves the decision to the conditional PUT when HeadObject is forbidden (SDK mock)', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('Forbidden', 403, 'UnknownError'));
    s3.on(PutObjectCommand).resolves({});

    await storeWith().createObject('id/metadata.json', '{}');

    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.IfNoneMatch).toBe('*');
  });
});

describe('S3Store SSE-KMS', () => {
  it('passes SSE-KMS on PutObject for createObject and for a small writeObject (SDK mock)', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(PutObjectCommand).resolves({});
    const store = storeWith({ kmsKeyId: KMS_KEY });

    await store.createObject('id/metadata.json', '{}');
    expect(await store.writeObject('id/users.ndjson.gz', chunked(Buffer.from('{"id":1}\n')))).toEqual({ bytes: 9 });

    const puts = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(puts).toHaveLength(2);
    for (const input of puts) expect(input).toMatchObject({ Bucket: BUCKET, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY });
    expect(puts[1]).toMatchObject({ Key: 'dr/id/users.ndjson.gz', ContentType: 'application/gzip' });
  });

  it('passes SSE-KMS on CreateMultipartUpload and keeps the default CRC32 checksums (SDK mock)', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
    s3.on(UploadPartCommand).resolves({ ETag: '"part"' });
    s3.on(CompleteMultipartUploadCommand).resolves({});
    const data = randomBytes(11 * MiB);

    expect(await storeWith({ kmsKeyId: KMS_KEY, partSize: 5 * MiB }).writeObject('id/orders.ndjson.gz', chunked(data))).toEqual({ bytes: data.length });

    const create = s3.commandCalls(CreateMultipartUploadCommand);
    expect(create).toHaveLength(1);
    expect(create[0]!.args[0].input).toMatchObject({ Bucket: BUCKET, Key: 'dr/id/orders.ndjson.gz', ServerSideEncryption: 'aws:kms', SSEKMSKeyId: KMS_KEY, ChecksumAlgorithm: 'CRC32' });
    const parts = s3.commandCalls(UploadPartCommand).map((call) => call.args[0].input);
    expect(parts.map((p) => p.PartNumber).sort()).toEqual([1, 2, 3]);
    expect(parts.every((p) => p.UploadId === 'upload-1')).toBe(true);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input.MultipartUpload?.Parts).toHaveLength(3);
    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(0);
  });
});

describe('S3Store error mapping', () => {
  it('maps AccessDenied on a listing to a one-line non-retryable StorageError naming the bucket and s3:ListBucket (SDK mock)', async () => {
    s3.on(ListObjectsV2Command).rejects(s3Error('AccessDenied', 403, 'User: arn:aws:sts::111122223333:assumed-role/backup is not authorized'));

    const error = await failure(storeWith().listObjects('2024-01-15T02-00-00-000Z/'));

    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'Access denied to s3://live-it-iconic-backups/dr (AccessDenied): check that the IAM policy allows s3:ListBucket on arn:aws:s3:::live-it-iconic-backups and that no bucket policy denies it',
    );
    expectOneLineWithoutSecrets(error);
  });

  it('maps AccessDenied on an upload to a message naming s3:PutObject and the KMS key policy (SDK mock)', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403));

    const error = await failure(storeWith({ kmsKeyId: KMS_KEY }).writeObject('id/users.ndjson.gz', chunked(Buffer.from('{}\n'))));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Access denied to s3://live-it-iconic-backups/dr/id/users.ndjson.gz');
    expect(error.message).toContain('s3:PutObject on arn:aws:s3:::live-it-iconic-backups/dr/*');
    expect(error.message).toContain('with SSE-KMS the KMS key policy must also allow kms:GenerateDataKey');
    expectOneLineWithoutSecrets(error);
  });

  it('maps throttling (SlowDown) left after the SDK retries to a retryable StorageError (SDK mock)', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('SlowDown', 503, 'Please reduce your request rate.'));

    const error = await failure(storeWith().readObject('id/orders.ndjson.gz'));

    expect(error).not.toBeInstanceOf(ObjectNotFoundError);
    expect(error.retryable).toBe(true);
    expect(error.message).toBe('S3 is unavailable or throttling requests to s3://live-it-iconic-backups/dr/id/orders.ndjson.gz (SlowDown after 5 attempts): try again later');
  });

  it('marks 5xx and network resets retryable (SDK mock)', async () => {
    s3.on(ListObjectsV2Command).rejectsOnce(s3Error('InternalError', 500)).rejectsOnce(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));

    expect((await failure(storeWith().listFolders())).retryable).toBe(true);
    const reset = await failure(storeWith().listFolders());
    expect(reset.retryable).toBe(true);
    expect(reset.message).toContain('ECONNRESET');
  });

  it('maps credential errors without echoing credentials (SDK mock)', async () => {
    const signature = s3Error('SignatureDoesNotMatch', 403, `The request signature we calculated does not match. AWSAccessKeyId ${ACCESS_KEY}`);
    s3.on(ListObjectsV2Command)
      .rejectsOnce(signature)
      .rejectsOnce(s3Error('InvalidAccessKeyId', 403, `The AWS Access Key Id ${ACCESS_KEY} does not exist in our records.`))
      .rejectsOnce(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));

    const mismatch = await failure(storeWith().listObjects(''));
    expect(mismatch.message).toContain('check that AWS_SECRET_ACCESS_KEY matches the access key id');
    const invalid = await failure(storeWith().listObjects(''));
    expect(invalid.message).toContain('check AWS_ACCESS_KEY_ID or the AWS profile in use');
    const missing = await failure(storeWith().listObjects(''));
    expect(missing.message).toContain('No AWS credentials found for s3://live-it-iconic-backups/dr');
    for (const error of [mismatch, invalid, missing]) {
      expect(error.retryable).toBe(false);
      expect(error.cause).toBeDefined();
      expectOneLineWithoutSecrets(error);
    }
  });

  it('maps a disabled KMS key to a non-retryable error pointing at the key (SDK mock)', async () => {
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(PutObjectCommand).rejects(s3Error('KMS.DisabledException', 400, `${KMS_KEY} is disabled.`));

    const error = await failure(storeWith({ kmsKeyId: KMS_KEY }).createObject('id/metadata.json', '{}'));

    expect(error).not.toBeInstanceOf(ObjectExistsError);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('(KMS.DisabledException)');
    expect(error.message).toContain(`check that the key ${KMS_KEY} exists, is enabled`);
  });

  it('maps NoSuchBucket to a message naming the bucket (SDK mock)', async () => {
    s3.on(ListObjectsV2Command).rejects(s3Error('NoSuchBucket', 404, 'The specified bucket does not exist'));

    const error = await failure(storeWith().beginBackup('2024-01-15T02-00-00-000Z'));

    expect(error.retryable).toBe(false);
    expect(error.message).toBe('Bucket live-it-iconic-backups does not exist: check the bucket name and region of s3://live-it-iconic-backups/dr');
  });

  it('maps NoSuchKey on read to ObjectNotFoundError naming the key and location (SDK mock)', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('NoSuchKey', 404, 'The specified key does not exist.'));

    const error = await failure(storeWith().readObject('id/orders.ndjson.gz'));

    expect(error).toBeInstanceOf(ObjectNotFoundError);
    expect(error.message).toBe('id/orders.ndjson.gz is missing from s3://live-it-iconic-backups/dr');
  });
});

describe('S3Store streamed uploads', () => {
  function mockMultipart(): void {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-2' });
    s3.on(AbortMultipartUploadCommand).resolves({});
    s3.on(CompleteMultipartUploadCommand).resolves({});
  }

  it('aborts the multipart upload and reports a StorageError when S3 fails mid-upload (SDK mock)', async () => {
    mockMultipart();
    s3.on(UploadPartCommand).rejects(s3Error('InternalError', 500, 'We encountered an internal error. Please try again.'));
    const body = chunked(randomBytes(20 * MiB), MiB);

    const error = await failure(storeWith({ partSize: 5 * MiB }).writeObject('id/orders.ndjson.gz', body));

    expect(error.retryable).toBe(true);
    expect(error.message).toContain('s3://live-it-iconic-backups/dr/id/orders.ndjson.gz');
    expect(s3.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input)).toEqual([{ Bucket: BUCKET, Key: 'dr/id/orders.ndjson.gz', UploadId: 'upload-2' }]);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
    // The producer is stopped rather than left stalled on backpressure.
    expect(body.destroyed).toBe(true);
  });

  it('rethrows the producer error unchanged and aborts the multipart upload, even if the abort fails (SDK mock)', async () => {
    mockMultipart();
    s3.on(UploadPartCommand).resolves({ ETag: '"part"' });
    s3.on(AbortMultipartUploadCommand).rejects(s3Error('MethodNotAllowed', 405));
    const producerError = new ProducerError('canceling statement due to statement timeout');

    await expect(storeWith({ partSize: 5 * MiB }).writeObject('id/orders.ndjson.gz', failingStream(12 * MiB, producerError))).rejects.toBe(producerError);

    expect(s3.commandCalls(AbortMultipartUploadCommand)).toHaveLength(1);
    expect(s3.commandCalls(CompleteMultipartUploadCommand)).toHaveLength(0);
  });

  it('treats a producer stream destroyed before its end as the producer failing, not S3 (SDK mock)', async () => {
    s3.on(PutObjectCommand).resolves({});
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(1024));
    setImmediate(() => body.destroy());

    const error = await storeWith().writeObject('id/orders.ndjson.gz', body).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).not.toBeInstanceOf(StorageError);
    expect((error as NodeJS.ErrnoException).code).toBe('ERR_STREAM_PREMATURE_CLOSE');
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });
});

describe('S3Store listings', () => {
  it('beginBackup asks S3 for one key under <prefix>/<id>/ and refuses when there is one (SDK mock)', async () => {
    s3.on(ListObjectsV2Command).resolvesOnce({ KeyCount: 0 }).resolvesOnce({ KeyCount: 1, Contents: [{ Key: 'dr/2024-01-15T02-00-00-000Z/orders.ndjson.gz' }] });
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(PutObjectCommand).resolves({});

    await storeWith().beginBackup('2024-01-15T02-00-00-000Z');
    expect(await failure(storeWith().beginBackup('2024-01-15T02-00-00-000Z'))).toBeInstanceOf(ObjectExistsError);

    expect(s3.commandCalls(ListObjectsV2Command)[0]!.args[0].input).toEqual({ Bucket: BUCKET, Prefix: 'dr/2024-01-15T02-00-00-000Z/', MaxKeys: 1 });
  });

  it('deletePrefix pages through the listing and deletes in batches of 1000 (SDK mock)', async () => {
    const keys = Array.from({ length: 1500 }, (_, i) => `dr/old/${String(i).padStart(4, '0')}.gz`);
    const pages = [
      { IsTruncated: true, NextContinuationToken: 'token-1', Contents: keys.slice(0, 1000).map((Key) => ({ Key, Size: 1 })) },
      { IsTruncated: false, Contents: keys.slice(1000).map((Key) => ({ Key, Size: 1 })) },
    ];
    // The SDK paginator reuses one input object, so copy what each request carried.
    const requests: [string | undefined, string | undefined][] = [];
    s3.on(ListObjectsV2Command).callsFake((input: { Prefix?: string; ContinuationToken?: string }) => {
      requests.push([input.Prefix, input.ContinuationToken]);
      return pages.shift();
    });
    s3.on(DeleteObjectsCommand).resolves({});

    expect(await storeWith().deletePrefix('old/')).toBe(1500);

    expect(requests).toEqual([
      ['dr/old/', undefined],
      ['dr/old/', 'token-1'],
    ]);
    const deletes = s3.commandCalls(DeleteObjectsCommand).map((c) => c.args[0].input.Delete!);
    expect(deletes.map((d) => d.Objects!.length)).toEqual([1000, 500]);
    expect(deletes.flatMap((d) => d.Objects!.map((o) => o.Key))).toEqual(keys);
  });

  it('deletePrefix reports per-key failures that DeleteObjects returns with 200 (SDK mock)', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'dr/old/a.gz', Size: 1 }] });
    s3.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'dr/old/a.gz', Code: 'AccessDenied', Message: 'Access Denied' }] });

    const error = await failure(storeWith().deletePrefix('old/'));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain('Access denied to s3://live-it-iconic-backups/dr/old/a.gz');
    expect(error.message).toContain('s3:DeleteObject');
  });

  it('listFolders pages through CommonPrefixes with the "/" delimiter (SDK mock)', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({ IsTruncated: true, NextContinuationToken: 't', CommonPrefixes: [{ Prefix: 'dr/media/' }, { Prefix: 'dr/2024-01-16T02-00-00-000Z/' }] })
      .resolvesOnce({ CommonPrefixes: [{ Prefix: 'dr/2024-01-15T02-00-00-000Z/' }] });

    expect(await storeWith().listFolders()).toEqual(['2024-01-15T02-00-00-000Z', '2024-01-16T02-00-00-000Z', 'media']);
    expect(s3.commandCalls(ListObjectsV2Command)[0]!.args[0].input).toMatchObject({ Prefix: 'dr/', Delimiter: '/' });
  });

  it('listObjects returns keys relative to the prefix, sorted, without folder markers (SDK mock)', async () => {
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: 'dr/b/2.gz', Size: 2 },
        { Key: 'dr/b/', Size: 0 },
        { Key: 'dr/a/1.gz', Size: 1 },
      ],
    });

    expect(await storeWith().listObjects('')).toEqual([
      { key: 'a/1.gz', size: 1 },
      { key: 'b/2.gz', size: 2 },
    ]);
  });
});

describe('S3Store client configuration', () => {
  it('retries up to 5 attempts, keeps default checksums and virtual-host addressing on AWS (SDK config)', async () => {
    stubEnv('AWS_ENDPOINT_URL_S3', '');
    stubEnv('AWS_REGION', '');
    stubEnv('AWS_DEFAULT_REGION', '');
    const { client: own } = new S3Store({ bucket: BUCKET, prefix: '' });

    expect(await own.config.maxAttempts()).toBe(5);
    expect(own.config.retryMode).toBe('standard');
    expect(await own.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    expect(await own.config.responseChecksumValidation()).toBe('WHEN_SUPPORTED');
    expect(own.config.forcePathStyle).toBeFalsy();
    expect(own.config.followRegionRedirects).toBe(true);
    expect(await own.config.region()).toBe('us-east-1');
  });

  it('uses path-style addressing with an endpoint from the options or AWS_ENDPOINT_URL_S3 (SDK config)', async () => {
    stubEnv('AWS_REGION', 'eu-central-1');
    const explicit = new S3Store({ bucket: BUCKET, prefix: '', endpoint: 'http://127.0.0.1:4568', region: 'eu-west-1' }).client;
    expect(explicit.config.forcePathStyle).toBe(true);
    expect(await explicit.config.region()).toBe('eu-west-1');
    expect(await explicit.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');

    stubEnv('AWS_ENDPOINT_URL_S3', 'http://localhost:9000');
    const fromEnv = new S3Store({ bucket: BUCKET, prefix: '' }).client;
    expect(fromEnv.config.forcePathStyle).toBe(true);
    expect(await fromEnv.config.endpoint!()).toMatchObject({ hostname: 'localhost', port: 9000 });
    expect(await fromEnv.config.region()).toBe('eu-central-1');
  });
});

describe('S3Store claims a backup id before writing (SDK mock)', () => {
  const ID = '2024-01-15T02-00-00-000Z';

  it('beginBackup writes <id>/.claim.json with IfNoneMatch "*" and nothing else (SDK mock)', async () => {
    s3.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(PutObjectCommand).resolves({});

    await storeWith().beginBackup(ID);

    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatchObject({ Key: `dr/${ID}/.claim.json`, IfNoneMatch: '*' });
    expect(JSON.parse(Buffer.from(puts[0]!.Body as Uint8Array).toString('utf8'))).toMatchObject({ backupId: ID });
  });

  it('the second writer of one id loses at the claim with a clear ObjectExistsError and writes no table file (SDK mock)', async () => {
    s3.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    s3.on(GetObjectCommand).resolves({ Body: bodyOf('{"writer":"someone else"}\n') as never });

    const error = await failure(storeWith().beginBackup(ID));

    expect(error).toBeInstanceOf(ObjectExistsError);
    expect(error.message).toContain(`Backup ${ID} in s3://${BUCKET}/dr is being written by another run`);
    expect(error.message).toContain('this run wrote nothing');
  });

  it('metadata.json is not written when the claim read back is no longer this run\'s (SDK mock)', async () => {
    s3.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
    s3.on(HeadObjectCommand).rejects(s3Error('NotFound', 404));
    s3.on(PutObjectCommand).resolves({});
    const store = storeWith();
    await store.beginBackup(ID);
    s3.on(GetObjectCommand).resolves({ Body: bodyOf('{"writer":"a later run on a server without conditional writes"}\n') as never });

    expect(await failure(store.createObject(`${ID}/metadata.json`, '{}'))).toBeInstanceOf(ObjectExistsError);
    expect(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key)).toEqual([`dr/${ID}/.claim.json`]);
  });

  it('refuses keys that would leave their folder before any request (SDK mock)', async () => {
    for (const key of [`${ID}/../planted.json`, '../x', `${ID}/a\\b`, `${ID}/nul\u0000`]) {
      const error = await failure(storeWith().readObject(key));
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('Refusing key');
    }
    expect(s3.calls()).toHaveLength(0);
  });
});

describe('S3Store reads survive the network (SDK mock)', () => {
  function brokenAfter(bytes: Buffer, error: Error): Readable {
    let sent = false;
    return new Readable({
      read() {
        if (!sent) {
          sent = true;
          this.push(bytes);
        } else this.destroy(error);
      },
    });
  }

  it('a body reset mid-read is resumed with a Range request pinned by If-Match, and the consumer sees every byte once (SDK mock)', async () => {
    const content = randomBytes(64 * 1024);
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    s3.on(GetObjectCommand)
      .resolvesOnce({ Body: brokenAfter(content.subarray(0, 10_000), reset) as never, ContentLength: content.length, ETag: '"v1"' })
      .resolvesOnce({ Body: Readable.from([content.subarray(10_000)]) as never, ContentLength: content.length - 10_000, ContentRange: `bytes 10000-${content.length - 1}/${content.length}`, ETag: '"v1"' });

    const chunks: Buffer[] = [];
    for await (const chunk of await storeWith().readObject('id/t.ndjson.gz')) chunks.push(chunk as Buffer);

    expect(Buffer.concat(chunks).equals(content)).toBe(true);
    const second = s3.commandCalls(GetObjectCommand)[1]!.args[0].input;
    expect(second).toMatchObject({ Range: 'bytes=10000-', IfMatch: '"v1"' });
  });

  it('a body that ends short of its Content-Length is resumed, not taken as the whole object (SDK mock)', async () => {
    const content = Buffer.from('0123456789');
    s3.on(GetObjectCommand)
      .resolvesOnce({ Body: Readable.from([content.subarray(0, 4)]) as never, ContentLength: 10, ETag: '"v1"' })
      .resolvesOnce({ Body: Readable.from([content.subarray(4)]) as never, ContentLength: 6, ContentRange: 'bytes 4-9/10', ETag: '"v1"' });

    const chunks: Buffer[] = [];
    for await (const chunk of await storeWith().readObject('id/t.ndjson.gz')) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('0123456789');
  });

  it('gives up after the read attempts with a retryable StorageError (storage unavailable), never a corrupt-file error (SDK mock)', async () => {
    const reset = Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
    s3.on(GetObjectCommand)
      .resolvesOnce({ Body: brokenAfter(Buffer.from('abc'), reset) as never, ContentLength: 10, ETag: '"v1"' })
      .rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', $metadata: { attempts: 5 } }));
    const store = new S3Store({ bucket: BUCKET, prefix: 'dr', client, timeouts: { readAttempts: 3 } });

    const stream = await store.readObject('id/t.ndjson.gz');
    const error = await (async () => {
      for await (const chunk of stream) void chunk;
    })().then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).retryable).toBe(true);
    expect((error as StorageError).message).toMatch(/^Reading s3:\/\/live-it-iconic-backups\/dr\/id\/t\.ndjson\.gz failed after 3 of 10 bytes/);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(3);
  });
});

describe('S3Store timeouts (SDK config)', () => {
  it('bounds connection, request and socket inactivity, from options over ICONIC_DR_S3_* over the defaults (SDK config)', async () => {
    stubEnv('ICONIC_DR_S3_SOCKET_TIMEOUT_MS', '7000');
    stubEnv('ICONIC_DR_S3_MAX_ATTEMPTS', '3');
    const store = new S3Store({ bucket: BUCKET, prefix: '', region: 'eu-west-1', timeouts: { requestTimeoutMs: 9000 } });

    expect(store.timeouts).toEqual({ connectTimeoutMs: 10_000, requestTimeoutMs: 9000, socketTimeoutMs: 7000, maxAttempts: 3, readAttempts: 4 });
    expect(await store.client.config.maxAttempts()).toBe(3);
    const handler = store.client.config.requestHandler as unknown as { configProvider: Promise<Record<string, unknown>> };
    expect(await handler.configProvider).toMatchObject({ connectionTimeout: 10_000, requestTimeout: 9000, socketTimeout: 7000, throwOnRequestTimeout: true });
  });

  it('refuses a malformed timeout variable as a configuration error naming it (SDK config)', () => {
    stubEnv('ICONIC_DR_S3_REQUEST_TIMEOUT_MS', 'soon');
    expect(() => new S3Store({ bucket: BUCKET, prefix: '' })).toThrow(/ICONIC_DR_S3_REQUEST_TIMEOUT_MS/);
  });
});
