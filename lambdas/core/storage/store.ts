import type { Readable } from 'node:stream';

/** One object under a store's root. Keys use `/` and are relative to the root. */
export interface StoredObject {
  readonly key: string;
  readonly size: number;
}

/**
 * Where backups live: a folder or an S3 prefix. Every implementation passes the shared suite in
 * test/helpers/store-contract.ts. Keys are relative to the store's root, e.g.
 * `2024-01-15T02-00-00-000Z/orders.ndjson.gz`.
 */
export interface BackupStore {
  /** Human description of the location (never credentials), e.g. `s3://bucket/prefix` or a path. */
  readonly description: string;

  /**
   * Claims a backup id before anything is written. Fails with ObjectExistsError when any object
   * already exists under `<backupId>/`, so that two writers never mix files in one backup.
   */
  beginBackup(backupId: string): Promise<void>;

  /**
   * Streams `body` into `key`, replacing nothing that is complete: on failure no object (or only a
   * temporary one that is cleaned up) is left at `key`. Memory stays bounded whatever the size.
   * Resolves with the number of bytes stored.
   */
  writeObject(key: string, body: Readable): Promise<{ bytes: number }>;

  /**
   * Writes a small object only if `key` does not exist yet (write-once; conditional create on S3).
   * Fails with ObjectExistsError otherwise. Readers never see a partially written object.
   */
  createObject(key: string, body: string | Uint8Array): Promise<void>;

  /** Opens an object for reading. Fails with ObjectNotFoundError when it does not exist. */
  readObject(key: string): Promise<Readable>;

  /** The object's size, or undefined when it does not exist. */
  statObject(key: string): Promise<StoredObject | undefined>;

  /** Every object whose key starts with `prefix` (all pages), in key order. */
  listObjects(prefix: string): Promise<StoredObject[]>;

  /** The first-level "folders" under the root (backup ids and other names), in key order. */
  listFolders(): Promise<string[]>;

  /** Deletes every object under `prefix`; resolves with how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
}

export async function readText(store: BackupStore, key: string): Promise<string> {
  const stream = await store.readObject(key);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
}
