import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ObjectExistsError, StorageError } from '../../../lambdas/core/errors.js';
import { FileStore } from '../../../lambdas/core/storage/file-store.js';
import { ProducerError, chunked, describeStoreContract, failingStream } from '../../helpers/store-contract.js';

async function tempRoot(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'iconic-dr-file-store-'));
}

// The store's root does not exist yet: the first write must create it.
describeStoreContract('FileStore', async () => {
  const dir = await tempRoot();
  return { store: new FileStore(path.join(dir, 'backups')), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

describe('FileStore specifics', () => {
  let dir: string;
  let store: FileStore;

  beforeEach(async () => {
    dir = await tempRoot();
    store = new FileStore(path.join(dir, 'backups'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates backup files readable by the owner only (mode 0600)', async () => {
    await store.writeObject('2024-01-15T02-00-00-000Z/orders.ndjson.gz', chunked(Buffer.from('{"id":1}\n')));
    await store.createObject('2024-01-15T02-00-00-000Z/metadata.json', '{}');

    for (const file of ['orders.ndjson.gz', 'metadata.json']) {
      const { mode } = await stat(path.join(store.root, '2024-01-15T02-00-00-000Z', file));
      expect((mode & 0o777).toString(8)).toBe('600');
    }
  });

  it('leaves no .partial file after a failed write', async () => {
    const error = new ProducerError('connection terminated');
    await expect(store.writeObject('2024-01-15T02-00-00-000Z/orders.ndjson.gz', failingStream(3 * 1024 * 1024, error))).rejects.toBe(error);

    expect(await filesUnder(store.root)).toEqual([]);
  });

  it('leaves no temporary file after a refused create', async () => {
    await store.createObject('2024-01-15T02-00-00-000Z/metadata.json', '{"first":true}');
    await expect(store.createObject('2024-01-15T02-00-00-000Z/metadata.json', '{}')).rejects.toBeInstanceOf(ObjectExistsError);

    expect(await filesUnder(store.root)).toEqual([path.join('2024-01-15T02-00-00-000Z', 'metadata.json')]);
  });

  it('claims a backup id by creating its folder, so a second begin fails even before any write', async () => {
    await store.beginBackup('2024-01-15T02-00-00-000Z');
    await expect(store.beginBackup('2024-01-15T02-00-00-000Z')).rejects.toBeInstanceOf(ObjectExistsError);
  });

  it('refuses keys that escape the root', async () => {
    await expect(store.createObject('../outside.json', '{}')).rejects.toBeInstanceOf(StorageError);
    await expect(store.readObject('../../etc/passwd')).rejects.toBeInstanceOf(StorageError);
  });

  it('an I/O error while reading surfaces as a StorageError (storage unavailable), not as bad bytes', async () => {
    // A folder where a file is expected: stat succeeds, reading fails with EISDIR.
    await store.beginBackup('2024-01-15T02-00-00-000Z');
    await mkdir(path.join(store.root, '2024-01-15T02-00-00-000Z', 'orders.ndjson.gz'));
    const stream = await store.readObject('2024-01-15T02-00-00-000Z/orders.ndjson.gz');
    const error = await (async () => {
      for await (const chunk of stream) void chunk;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).message).toContain('Could not read 2024-01-15T02-00-00-000Z/orders.ndjson.gz: EISDIR');
  });

  it('creates missing parent folders step by step and fails at once where no folder can be made (/proc)', async () => {
    const deep = new FileStore(path.join(dir, 'a', 'b', 'c'));
    await deep.beginBackup('2024-01-15T02-00-00-000Z');
    expect((await stat(path.join(dir, 'a', 'b', 'c', '2024-01-15T02-00-00-000Z'))).isDirectory()).toBe(true);

    const error = await new FileStore('/proc/iconic-dr-test/x').beginBackup('2024-01-15T02-00-00-000Z').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).retryable).toBe(false);
    expect((error as StorageError).message).toMatch(/^Could not create backup folder in \/proc\/iconic-dr-test\/x: ENOENT/);
  });
});
