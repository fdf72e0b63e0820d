import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListBucketsCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { StorageError } from '../errors.js';
import type { BackupStore } from '../storage/store.js';
import { HashingPassThrough, runPool } from '../util/streams.js';
import { collectGarbage } from '../util/gc.js';
import { ResumableRead } from '../storage/resumable-read.js';
import { storageTimeouts } from './storage-client.js';
import { readSnapshot, snapshotIds } from './catalog.js';
import { readObjects, writeObjectsFile } from './objects-file.js';
import { LEASES_PREFIX, MEDIA_FORMAT_VERSION, contentKey, describeObject, objectId, objectsKey, NO_METADATA, snapshotIdFor, snapshotKey, type BucketSettings, type MediaObject, type MediaSnapshot } from './snapshot.js';

/** A full collection after this many copies or bytes (each ~10-50 ms with a 100,000-object listing). */
const GC_EVERY_OBJECTS = 1000;
const GC_EVERY_BYTES = 64 * 1024 * 1024;
/**
 * And after this many listing pages: the SDK's parsed pages are garbage as soon as they are read, but
 * V8 lets ~60 MiB of them pile up beside the previous snapshot's entries before collecting.
 */
const GC_EVERY_LIST_PAGES = 10;

export interface MediaSyncOptions {
  /** Supabase Storage, spoken to as S3 (storage-client.ts). */
  readonly client: S3Client;
  /** The endpoint's description for the snapshot (never credentials). */
  readonly source: string;
  /** Where snapshots and contents go: the backup location. */
  readonly vault: BackupStore;
  /** @default every bucket the endpoint lists */
  readonly buckets?: readonly string[];
  /** Settings S3 cannot express, from `storage.buckets` when a database was given. */
  readonly bucketSettings?: readonly BucketSettings[];
  /** Objects copied at once. @default 4 */
  readonly concurrency?: number;
  readonly now?: Date;
  readonly onProgress?: (event: { type: 'listed'; objects: number; toCopy: number } | { type: 'copied'; object: string; bytes: number } | { type: 'problem'; problem: string }) => void;
}

export interface MediaSyncResult {
  readonly snapshot: MediaSnapshot;
  /** Requests to Storage, by kind: an unchanged hour costs only the listings. */
  readonly requests: { readonly list: number; readonly get: number };
}

interface Listed {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly etag: string;
  readonly lastModified: string;
}

/** A listing slot whose object is still to be copied; the copy replaces it with its MediaObject. */
class PendingCopy {
  constructor(
    readonly listed: Listed,
    /** The previous snapshot had this key (a change, not an addition). */
    readonly known: boolean,
  ) {}
}

/** One string per distinct content type or cache control across 100,000 objects, not one per object. */
function interned(table: Map<string, string>, value: string): string {
  const known = table.get(value);
  if (known !== undefined) return known;
  table.set(value, value);
  return value;
}

function sdkName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { name?: string }).name : undefined;
}

function storageFailure(what: string, error: unknown): StorageError {
  const name = sdkName(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  const retryable = status === undefined || status >= 500 || status === 429;
  return new StorageError(`Supabase Storage: cannot ${what} (${name ?? 'error'}${status ? ` ${status}` : ''}: ${(error as Error)?.message?.split('\n')[0] ?? ''}); check STORAGE_S3_* and the keys' access`, { cause: error, retryable });
}

/**
 * What the vault last saw of each bucket: the newest complete snapshot that covered it (a sync of
 * some buckets only must not make the next full sync copy the others again).
 */
async function previousState(vault: BackupStore, buckets: readonly string[]): Promise<Map<string, MediaObject>> {
  const previous = new Map<string, MediaObject>();
  const pending = new Set(buckets);
  // Newest first, reading snapshots only until every bucket has its latest state.
  for (const { snapshotId, complete } of await snapshotIds(vault)) {
    if (!pending.size) break;
    if (!complete) continue;
    const snapshot = await readSnapshot(vault, snapshotId);
    const covered = snapshot.buckets.map((b) => b.name).filter((b) => pending.has(b));
    if (!covered.length) continue;
    for (const o of await readObjects(vault, snapshot)) if (covered.includes(o.bucket)) previous.set(objectId(o), o);
    for (const b of covered) pending.delete(b);
  }
  // The listings' text and parse copies are garbage now; collect before the live listing adds its own.
  collectGarbage();
  return previous;
}

/**
 * One incremental sync of Supabase Storage into the vault: list every bucket, copy only objects whose
 * key, size, ETag or last-modified time changed since the previous snapshot (unchanged ones cost no
 * request at all), store each new content once under its SHA-256, and write the snapshot last. An
 * object that changes or vanishes while it is read is reported, not fatal. Memory stays flat in
 * object size (objects pass through a temporary file while their hash is computed).
 */
export async function syncMedia(options: MediaSyncOptions): Promise<MediaSyncResult> {
  const clockStart = Date.now();
  const startedAt = options.now ?? new Date(clockStart);
  const snapshotId = snapshotIdFor(startedAt);
  const { client, vault } = options;
  const requests = { list: 0, get: 0 };
  const lease = `${LEASES_PREFIX}${snapshotId}`;
  const readAttempts = storageTimeouts().readAttempts;
  await vault.createObject(lease, startedAt.toISOString());
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-media-'));
  try {
    let buckets: string[];
    try {
      requests.list++;
      buckets = options.buckets?.length ? [...options.buckets] : ((await client.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name!).filter(Boolean).sort();
    } catch (error) {
      throw storageFailure('list the buckets', error);
    }

    const previous = await previousState(vault, buckets);
    // The snapshot's listing in Storage's order, built while listing: an unchanged object takes its
    // previous entry at once, a new or changed one holds a PendingCopy that its copy replaces. No
    // second list of every key is kept (memory: one entry per object; docs/performance.md).
    const objects: (MediaObject | PendingCopy | undefined)[] = [];
    const toCopy: number[] = [];
    let previousSeen = 0;
    for (const bucket of buckets) {
      try {
        for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket })) {
          if (++requests.list % GC_EVERY_LIST_PAGES === 0) collectGarbage();
          for (const o of page.Contents ?? []) {
            const listed: Listed = { bucket, key: o.Key!, size: o.Size ?? 0, etag: o.ETag ?? '', lastModified: o.LastModified?.toISOString() ?? '' };
            const before = previous.get(objectId(listed));
            if (before) previousSeen++;
            if (before && before.size === listed.size && before.etag === listed.etag && before.lastModified === listed.lastModified) objects.push(before);
            else {
              toCopy.push(objects.length);
              objects.push(new PendingCopy(listed, before !== undefined));
            }
          }
        }
      } catch (error) {
        throw storageFailure(`list bucket ${bucket}`, error);
      }
    }
    const synced = new Set(buckets);
    let previousInSynced = 0;
    for (const p of previous.values()) if (synced.has(p.bucket)) previousInSynced++;
    const deleted = previousInSynced - previousSeen;
    previous.clear();
    // Reading the previous listing and this one left ~2 objects of garbage per key; collect it
    // before the copies, so the peak stays near the live set (one entry per object).
    collectGarbage();
    options.onProgress?.({ type: 'listed', objects: objects.length, toCopy: toCopy.length });

    const problems: string[] = [];
    let bytesRead = 0;
    let contentsStored = 0;
    let added = 0;
    let changed = 0;
    let copiedSinceCollection = 0;
    let bytesSinceCollection = 0;
    const report = (problem: string) => {
      problems.push(problem);
      options.onProgress?.({ type: 'problem', problem });
    };
    const headerValues = new Map<string, string>();
    await runPool(toCopy, Math.max(1, options.concurrency ?? 4), async (slot) => {
      const { listed: item, known } = objects[slot] as PendingCopy;
      let response;
      try {
        requests.get++;
        response = await client.send(new GetObjectCommand({ Bucket: item.bucket, Key: item.key }));
      } catch (error) {
        if (sdkName(error) === 'NoSuchKey' || sdkName(error) === 'NotFound') {
          report(`${describeObject(item)}: vanished while the sync ran; not in this snapshot`);
          objects[slot] = undefined;
          return;
        }
        throw storageFailure(`read ${describeObject(item)}`, error);
      }
      const file = path.join(scratch, randomUUID());
      const hasher = new HashingPassThrough();
      // A body cut mid-way (reset, stall) is reopened from its last byte, pinned to the same version.
      const body = new ResumableRead(response.Body as Readable, {
        describe: `Supabase Storage ${describeObject(item)}`,
        total: response.ContentLength,
        attempts: readAttempts,
        open: async (offset) => (await client.send(new GetObjectCommand({ Bucket: item.bucket, Key: item.key, Range: `bytes=${offset}-`, ...(response.ETag ? { IfMatch: response.ETag } : {}) }))).Body as Readable,
      });
      try {
        await pipeline(body, hasher, createWriteStream(file));
      } catch (error) {
        await rm(file, { force: true });
        throw storageFailure(`read ${describeObject(item)}`, error);
      }
      bytesRead += hasher.bytes;
      try {
        const key = contentKey(hasher.sha256);
        if (!(await vault.statObject(key))) {
          await vault.writeObject(key, createReadStream(file));
          contentsStored++;
        }
      } finally {
        await rm(file, { force: true });
      }
      // What was read is what the snapshot records; a change between the listing and the read is said.
      if ((response.ETag && response.ETag !== item.etag) || hasher.bytes !== item.size) report(`${describeObject(item)}: changed while the sync ran; the snapshot has the content read`);
      objects[slot] = {
        bucket: item.bucket,
        key: item.key,
        size: hasher.bytes,
        sha256: hasher.sha256,
        etag: response.ETag && response.ETag !== item.etag ? response.ETag : item.etag,
        lastModified: item.lastModified,
        ...(response.ContentType ? { contentType: interned(headerValues, response.ContentType) } : {}),
        ...(response.CacheControl ? { cacheControl: interned(headerValues, response.CacheControl) } : {}),
        metadata: response.Metadata && Object.keys(response.Metadata).length ? response.Metadata : NO_METADATA,
      };
      if (known) changed++;
      else added++;
      // Each copy leaves socket and file buffers outside V8's heap that only a full collection
      // frees; without one, RSS grew with the object count (~330 MiB at 100,000 objects).
      if (++copiedSinceCollection >= GC_EVERY_OBJECTS || (bytesSinceCollection += hasher.bytes) >= GC_EVERY_BYTES) {
        copiedSinceCollection = 0;
        bytesSinceCollection = 0;
        collectGarbage();
      }
      options.onProgress?.({ type: 'copied', object: describeObject(item), bytes: hasher.bytes });
    });

    let objectCount = 0;
    let objectBytes = 0;
    for (const o of objects) {
      if (o instanceof PendingCopy) throw new Error(`internal: ${describeObject(o.listed)} was neither copied nor reported`);
      if (!o) continue;
      objectCount++;
      objectBytes += o.size;
    }
    const objectsFile = await writeObjectsFile(vault, objectsKey(snapshotId), objects as readonly (MediaObject | undefined)[]);
    const settings = new Map((options.bucketSettings ?? []).map((b) => [b.name, b]));
    const completedAt = new Date(startedAt.getTime() + (Date.now() - clockStart));
    const snapshot: MediaSnapshot = {
      formatVersion: MEDIA_FORMAT_VERSION,
      snapshotId,
      startedAt: startedAt.toISOString(),
      completedAt: completedAt.toISOString(),
      source: options.source,
      objectsFile,
      buckets: buckets.map((name) => settings.get(name) ?? { name }),
      stats: {
        objects: objectCount,
        bytes: objectBytes,
        new: added,
        changed,
        deleted,
        unchanged: objectCount - added - changed,
        bytesRead,
        contentsStored,
      },
      problems,
    };
    await vault.createObject(snapshotKey(snapshotId), `${JSON.stringify(snapshot, null, 2)}\n`);
    return { snapshot, requests };
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await vault.deletePrefix(lease).catch(() => undefined);
  }
}
