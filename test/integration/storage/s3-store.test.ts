import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ObjectExistsError, StorageError } from '../../../lambdas/core/errors.js';
import { openStore } from '../../../lambdas/core/storage/location.js';
import { S3Store } from '../../../lambdas/core/storage/s3-store.js';
import { s3StoreFor, startS3Server, type TestS3Server } from '../../helpers/s3-server.js';
import { ProducerError, chunked, describeStoreContract, failingStream, readAll } from '../../helpers/store-contract.js';

const MiB = 1024 * 1024;
let server: TestS3Server;
let counter = 0;
const unique = (label: string): string => `${label}-${process.pid}-${++counter}`;

beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => {
  await server?.stop();
});

// Each test gets its own prefix; 5 MiB parts so that the contract's canary goes up as a multipart upload.
describeStoreContract('S3Store on s3rver (prefix, multipart)', async () => ({
  store: s3StoreFor(server, `contract/${unique('p')}`, { partSize: 5 * MiB }),
  cleanup: async () => undefined,
}));

// The bucket root itself (empty prefix) with the default part size: the canary is one PutObject.
describeStoreContract('S3Store on s3rver (bucket root, single put)', async () => {
  const bucket = unique('root');
  await server.createBucket(bucket);
  return { store: s3StoreFor(server, '', { bucket }), cleanup: async () => undefined };
});

async function rawKeys(bucket: string): Promise<string[]> {
  const store = s3StoreFor(server, '', { bucket });
  const page = await store.client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (page.Contents ?? []).map((o) => o.Key!).sort();
}

describe('S3Store on s3rver', () => {
  it('maps keys to <prefix>/<key> and describes itself as s3://bucket/prefix', async () => {
    const bucket = unique('keys');
    await server.createBucket(bucket);
    const nested = s3StoreFor(server, '/team/backups/', { bucket });
    const root = s3StoreFor(server, '', { bucket });

    await nested.createObject('2024-01-15T02-00-00-000Z/metadata.json', '{}');
    await root.createObject('top.json', '{}');

    expect(nested.description).toBe(`s3://${bucket}/team/backups`);
    expect(root.description).toBe(`s3://${bucket}`);
    expect(await rawKeys(bucket)).toEqual(['team/backups/2024-01-15T02-00-00-000Z/metadata.json', 'top.json']);
    expect(await nested.listFolders()).toEqual(['2024-01-15T02-00-00-000Z']);
    expect((await root.listObjects('')).map((o) => o.key)).toEqual(['team/backups/2024-01-15T02-00-00-000Z/metadata.json', 'top.json']);
  });

  it('is what openStore returns for an s3:// location with an endpoint', async () => {
    const prefix = unique('open');
    const store = await openStore(`s3://${server.bucket}/${prefix}`, { endpoint: server.endpoint, region: 'us-east-1' });

    expect(store).toBeInstanceOf(S3Store);
    await store.createObject('x/metadata.json', '{"ok":true}');
    expect(await store.listObjects('')).toEqual([{ key: 'x/metadata.json', size: 11 }]);
  });

  it('round-trips a multi-part object (3 parts of 5 MiB) with the byte count', async () => {
    const store = s3StoreFor(server, unique('multipart'), { partSize: 5 * MiB });
    const data = randomBytes(12 * MiB + 7);

    expect(await store.writeObject('b/orders.ndjson.gz', chunked(data, 256 * 1024))).toEqual({ bytes: data.length });

    expect((await readAll(await store.readObject('b/orders.ndjson.gz'))).equals(data)).toBe(true);
    expect(await store.statObject('b/orders.ndjson.gz')).toEqual({ key: 'b/orders.ndjson.gz', size: data.length });
  });

  it('leaves no object when the body fails after some parts were uploaded, and rethrows the producer error', async () => {
    const store = s3StoreFor(server, unique('interrupted'), { partSize: 5 * MiB });
    const error = new ProducerError('terminating connection due to administrator command');

    // 12 MiB in: two 5 MiB parts are already on the server when the database fails.
    await expect(store.writeObject('b/orders.ndjson.gz', failingStream(12 * MiB, error))).rejects.toBe(error);

    expect(await store.statObject('b/orders.ndjson.gz')).toBeUndefined();
    expect(await store.listObjects('')).toEqual([]);
  });

  it('lists more than 1000 objects and folders across pages, and deletes them in batches', async () => {
    const bucket = unique('many');
    await server.createBucket(bucket);
    const store = s3StoreFor(server, 'backups', { bucket });
    const count = 1234;
    const folders = Array.from({ length: count }, (_, i) => `f${String(i).padStart(5, '0')}`);
    // Seeded straight through the client: this test is about listing, not about createObject.
    for (let i = 0; i < count; i += 50) {
      await Promise.all(
        folders.slice(i, i + 50).map((folder) => store.client.send(new PutObjectCommand({ Bucket: bucket, Key: `backups/${folder}/metadata.json`, Body: '{}' }))),
      );
    }
    await store.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'elsewhere/x.json', Body: '{}' }));

    const objects = await store.listObjects('');
    expect(objects).toHaveLength(count);
    expect(objects.map((o) => o.key)).toEqual(folders.map((f) => `${f}/metadata.json`));
    expect(await store.listFolders()).toEqual(folders);
    expect(await store.listObjects('f0012')).toHaveLength(10);

    expect(await store.deletePrefix('')).toBe(count);
    expect(await store.listObjects('')).toEqual([]);
    expect(await rawKeys(bucket)).toEqual(['elsewhere/x.json']);
  });

  it('maps a missing bucket to a one-line, non-retryable StorageError naming the bucket', async () => {
    const store = s3StoreFor(server, 'backups', { bucket: 'no-such-bucket-iconic' });

    for (const attempt of [
      () => store.listObjects(''),
      () => store.listFolders(),
      () => store.beginBackup('2024-01-15T02-00-00-000Z'),
      () => store.createObject('x/metadata.json', '{}'),
      () => store.writeObject('x/orders.ndjson.gz', chunked(Buffer.from('{}\n'))),
      () => store.readObject('x/orders.ndjson.gz'),
    ]) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StorageError);
      expect(error).not.toBeInstanceOf(ObjectExistsError);
      const storageError = error as StorageError;
      expect(storageError.retryable).toBe(false);
      expect(storageError.message).toContain('Bucket no-such-bucket-iconic does not exist');
      expect(storageError.message).toContain('check the bucket name and region');
      expect(storageError.message).not.toContain('\n');
      expect(storageError.message).not.toContain('S3RVER');
    }
  });

  it('maps an unreachable endpoint, after the SDK retries, to a retryable StorageError', async () => {
    // A port that was free a moment ago: every attempt is refused.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const store = new S3Store({ bucket: server.bucket, prefix: 'x', endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1' });

    const error = await store.listObjects('').then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).retryable).toBe(true);
    expect((error as StorageError).message).toMatch(/^S3 is unavailable or throttling requests to s3:\/\/iconic-dr-test\/x \(ECONNREFUSED after 5 attempts\)/);
  });
});
