import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ObjectExistsError, ObjectNotFoundError } from '../../lambdas/core/errors.js';
import { readText, type BackupStore } from '../../lambdas/core/storage/store.js';

export interface StoreUnderTest {
  readonly store: BackupStore;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;
const BACKUP_ID = '2024-01-15T02-00-00-000Z';

/** Thrown by test producers: writeObject must hand it back as is, not wrapped as a storage fault. */
export class ProducerError extends Error {
  override readonly name = 'ProducerError';
}

/** Streams `data` in `chunkSize` pieces, the way a COPY stream or gzip hands out data. */
export function chunked(data: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < data.length; offset += chunkSize) yield data.subarray(offset, offset + chunkSize);
    })(),
  );
}

/** A producer that emits `bytesBefore` bytes, then fails with `error` (a database error mid-COPY). */
export function failingStream(bytesBefore: number, error: Error, chunkSize = MiB): Readable {
  return Readable.from(
    (async function* () {
      for (let sent = 0; sent < bytesBefore; sent += chunkSize) {
        yield randomBytes(Math.min(chunkSize, bytesBefore - sent));
        await new Promise((resolve) => setImmediate(resolve));
      }
      throw error;
    })(),
  );
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/**
 * The semantics every BackupStore must have (store.ts). `factory` returns an empty store for each
 * test; implementations add their own specifics (modes, multipart, error mapping) beside this suite.
 */
export function describeStoreContract(name: string, factory: () => Promise<StoreUnderTest>): void {
  describe(`BackupStore contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: BackupStore;

    beforeEach(async () => {
      subject = await factory();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    it('describes its location without secrets', () => {
      expect(store.description).toEqual(expect.any(String));
      expect(store.description.length).toBeGreaterThan(0);
      expect(store.description).not.toMatch(/secret|password|S3RVER/i);
    });

    it('round-trips a streamed canary byte for byte (random 5 MiB + tail, 64 KiB chunks)', async () => {
      // The odd tail makes the size cross a 5 MiB part boundary, so multipart stores split it.
      const canary = randomBytes(5 * MiB + 123_457);
      const key = `${BACKUP_ID}/canary.ndjson.gz`;

      const { bytes } = await store.writeObject(key, chunked(canary));

      expect(bytes).toBe(canary.length);
      const back = await readAll(await store.readObject(key));
      expect(back.length).toBe(canary.length);
      expect(sha256(back)).toBe(sha256(canary));
      expect(back.equals(canary)).toBe(true);
      expect(await store.statObject(key)).toEqual({ key, size: canary.length });
    });

    it('stores an empty stream as an empty object', async () => {
      const key = `${BACKUP_ID}/empty.ndjson.gz`;
      expect(await store.writeObject(key, Readable.from([]))).toEqual({ bytes: 0 });
      expect((await readAll(await store.readObject(key))).length).toBe(0);
      expect(await store.statObject(key)).toEqual({ key, size: 0 });
    });

    it('leaves no object behind and rethrows the producer error when the body stream fails', async () => {
      const key = `${BACKUP_ID}/orders.ndjson.gz`;
      const error = new ProducerError('COPY failed: canceling statement due to conflict');

      await expect(store.writeObject(key, failingStream(2 * MiB, error))).rejects.toBe(error);

      expect(await store.statObject(key)).toBeUndefined();
      expect(await store.listObjects('')).toEqual([]);
      await expect(store.readObject(key)).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('creates a write-once object and refuses a second create, keeping the first content', async () => {
      const key = `${BACKUP_ID}/metadata.json`;
      await store.createObject(key, '{"first":true}');

      const second = store.createObject(key, new TextEncoder().encode('{"second":true}'));

      await expect(second).rejects.toBeInstanceOf(ObjectExistsError);
      await expect(second).rejects.toThrow(key);
      expect(await readText(store, key)).toBe('{"first":true}');
      expect(await store.statObject(key)).toEqual({ key, size: 14 });
    });

    it('refuses to create over an object written by writeObject', async () => {
      const key = `${BACKUP_ID}/products.ndjson.gz`;
      await store.writeObject(key, chunked(Buffer.from('{"id":1}\n')));

      await expect(store.createObject(key, 'other')).rejects.toBeInstanceOf(ObjectExistsError);
      expect(await readText(store, key)).toBe('{"id":1}\n');
    });

    it('accepts a new backup id and refuses one that already has objects', async () => {
      await store.beginBackup(BACKUP_ID);
      await store.writeObject(`${BACKUP_ID}/users.ndjson.gz`, chunked(Buffer.from('{}\n')));

      await expect(store.beginBackup(BACKUP_ID)).rejects.toBeInstanceOf(ObjectExistsError);
      await expect(store.beginBackup(BACKUP_ID)).rejects.toThrow(BACKUP_ID);
    });

    it('refuses a backup id whose folder holds only metadata.json, and tells ids apart by the full folder name', async () => {
      await store.createObject(`${BACKUP_ID}/metadata.json`, '{}');

      await expect(store.beginBackup(BACKUP_ID)).rejects.toBeInstanceOf(ObjectExistsError);
      // A shorter id that is a string prefix of an existing one is a different backup.
      await expect(store.beginBackup(BACKUP_ID.slice(0, -1))).resolves.toBeUndefined();
    });

    it('fails to read a missing object with ObjectNotFoundError naming the key', async () => {
      const read = store.readObject(`${BACKUP_ID}/missing.ndjson.gz`);
      await expect(read).rejects.toBeInstanceOf(ObjectNotFoundError);
      await expect(read).rejects.toThrow(`${BACKUP_ID}/missing.ndjson.gz`);
    });

    it('stats objects: size when present, undefined when missing or a folder', async () => {
      await store.createObject(`${BACKUP_ID}/metadata.json`, 'x'.repeat(42));

      expect(await store.statObject(`${BACKUP_ID}/metadata.json`)).toEqual({ key: `${BACKUP_ID}/metadata.json`, size: 42 });
      expect(await store.statObject(`${BACKUP_ID}/nothing.json`)).toBeUndefined();
      expect(await store.statObject(BACKUP_ID)).toBeUndefined();
      expect(await store.statObject('no-such-folder/metadata.json')).toBeUndefined();
    });

    it('lists objects under a prefix, filtered by string prefix and sorted by key', async () => {
      const keys = ['b/2.gz', 'a/2.gz', 'a/10.gz', 'ab/x.gz', 'a/1.gz', 'c.json', 'a/sub/deep.gz'];
      for (const [index, key] of keys.entries()) await store.createObject(key, 'y'.repeat(index + 1));
      const size = (key: string): number => keys.indexOf(key) + 1;

      expect(await store.listObjects('a/')).toEqual(['a/1.gz', 'a/10.gz', 'a/2.gz', 'a/sub/deep.gz'].map((key) => ({ key, size: size(key) })));
      expect((await store.listObjects('a')).map((o) => o.key)).toEqual(['a/1.gz', 'a/10.gz', 'a/2.gz', 'a/sub/deep.gz', 'ab/x.gz']);
      expect((await store.listObjects('a/sub/')).map((o) => o.key)).toEqual(['a/sub/deep.gz']);
      expect((await store.listObjects('')).map((o) => o.key)).toEqual([...keys].sort());
      expect(await store.listObjects('zzz/')).toEqual([]);
    });

    it('lists first-level folders only, sorted, and none for an empty store', async () => {
      expect(await store.listFolders()).toEqual([]);
      await store.createObject('2024-01-16T02-00-00-000Z/metadata.json', '{}');
      await store.createObject(`${BACKUP_ID}/metadata.json`, '{}');
      // One level down only: s3rver prunes deeper folders from delimiter listings (real S3 does not).
      await store.createObject('media/p1.jpg', 'jpg');
      await store.createObject('top-level-file.json', '{}');

      expect(await store.listFolders()).toEqual([BACKUP_ID, '2024-01-16T02-00-00-000Z', 'media']);
    });

    it('deletes everything under a prefix and nothing else', async () => {
      await store.createObject(`${BACKUP_ID}/metadata.json`, '{}');
      await store.writeObject(`${BACKUP_ID}/orders.ndjson.gz`, chunked(Buffer.from('{"id":1}\n')));
      await store.createObject(`${BACKUP_ID}-later/metadata.json`, '{}');
      await store.createObject('2024-01-16T02-00-00-000Z/metadata.json', '{}');

      expect(await store.deletePrefix(`${BACKUP_ID}/`)).toBe(2);

      expect(await store.listObjects(`${BACKUP_ID}/`)).toEqual([]);
      expect(await store.statObject(`${BACKUP_ID}/metadata.json`)).toBeUndefined();
      expect((await store.listObjects('')).map((o) => o.key)).toEqual([`${BACKUP_ID}-later/metadata.json`, '2024-01-16T02-00-00-000Z/metadata.json']);
      expect(await store.listFolders()).toEqual([`${BACKUP_ID}-later`, '2024-01-16T02-00-00-000Z']);
      expect(await store.deletePrefix('nothing-here/')).toBe(0);
      // The id can be used again once its objects are gone.
      await expect(store.beginBackup(BACKUP_ID)).resolves.toBeUndefined();
    });
  });
}
