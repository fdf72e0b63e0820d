import { MAX_MANIFEST_BYTES } from '../limits.js';
import { InvalidBackupError } from '../errors.js';
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

/**
 * The object that claims a backup id on S3 (written with If-None-Match: * before any table file).
 * It belongs to the store, not to the backup: never listed in metadata.json, never copied.
 */
export const CLAIM_FILE = '.claim.json';

/** An object is larger than what may be read whole: a property of its bytes, so the backup is invalid. */
export class ObjectTooLargeError extends InvalidBackupError {}

/**
 * Reads a small object whole, as UTF-8. Refuses (ObjectTooLargeError) an object larger than
 * `maxBytes` (default: the manifest limit, 64 MiB) from its size before reading, and stops reading as soon as the bound is passed, so a
 * hostile 200 MB metadata.json costs one HEAD, not gigabytes of memory.
 */
export async function readText(store: BackupStore, key: string, maxBytes: number = MAX_MANIFEST_BYTES): Promise<string> {
  const tooLarge = (size: number | string) =>
    new ObjectTooLargeError(`${key} is ${typeof size === 'number' ? `${size} bytes` : size}, more than the ${maxBytes}-byte limit for a file read whole; it is not a file this program wrote`, [
      `${key}: larger than the ${maxBytes}-byte limit`,
    ]);
  const stat = await store.statObject(key);
  if (stat && stat.size > maxBytes) throw tooLarge(stat.size);
  const stream = await store.readObject(key);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buffer.length;
    if (size > maxBytes) {
      stream.destroy();
      throw tooLarge('larger than announced');
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
