import { createHash } from 'node:crypto';
import { pipeline as streamPipeline, type Readable } from 'node:stream';
import { CreateBucketCommand, DeleteObjectsCommand, GetObjectCommand, HeadBucketCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { InvalidBackupError, StorageError, UsageError } from '../errors.js';
import type { BackupStore } from '../storage/store.js';
import { HashingPassThrough, runPool } from '../util/streams.js';
import { readObjects } from './objects-file.js';
import { ResumableRead } from '../storage/resumable-read.js';
import { storageTimeouts } from './storage-client.js';
import { contentKey, describeObject, type MediaObject, type MediaSnapshot } from './snapshot.js';

interface LiveObject {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
}

function failure(what: string, error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return new StorageError(`Supabase Storage: cannot ${what} (${(error as Error)?.name ?? 'error'}${status ? ` ${status}` : ''}); check STORAGE_S3_* and the keys' access`, { cause: error, retryable: status === undefined || status >= 500 || status === 429 });
}

async function listLive(client: S3Client, bucket: string): Promise<Map<string, LiveObject> | undefined> {
  const live = new Map<string, LiveObject>();
  try {
    for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket })) {
      for (const o of page.Contents ?? []) live.set(o.Key!, { key: o.Key!, size: o.Size ?? 0, etag: o.ETag ?? '' });
    }
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchBucket') return undefined;
    throw failure(`list bucket ${bucket}`, error);
  }
  return live;
}

function selectBuckets(snapshot: MediaSnapshot, only?: readonly string[]): string[] {
  const names = snapshot.buckets.map((b) => b.name);
  if (!only?.length) return names;
  const unknown = only.filter((b) => !names.includes(b));
  if (unknown.length) throw new UsageError(`Media snapshot ${snapshot.snapshotId} has no bucket ${unknown.join(', ')}; it has: ${names.join(', ') || 'none'}`);
  return [...only];
}

export interface MediaDifference {
  readonly bucket: string;
  readonly key: string;
  readonly problem: 'missing' | 'extra' | 'content differs' | 'metadata differs' | 'bucket missing';
  readonly detail?: string;
}

export interface MediaVerifyReport {
  readonly snapshotId: string;
  readonly ok: boolean;
  readonly buckets: readonly string[];
  readonly objectsChecked: number;
  /** Objects whose ETag differed and were read to compare their SHA-256 and metadata. */
  readonly objectsRead: number;
  readonly differences: readonly MediaDifference[];
}

/** The SHA-256 and headers of a live object (read in full: used only where the ETag cannot decide). */
async function readLive(client: S3Client, bucket: string, key: string): Promise<{ sha256: string; contentType?: string; cacheControl?: string; metadata: Record<string, string> }> {
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key })).catch((error: unknown) => {
    throw failure(`read ${describeObject({ bucket, key })}`, error);
  });
  const hasher = createHash('sha256');
  const body = new ResumableRead(response.Body as Readable, {
    describe: `Supabase Storage ${describeObject({ bucket, key })}`,
    total: response.ContentLength,
    attempts: storageTimeouts().readAttempts,
    open: async (offset) => (await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-`, ...(response.ETag ? { IfMatch: response.ETag } : {}) }))).Body as Readable,
  });
  for await (const chunk of body) hasher.update(chunk as Buffer);
  return { sha256: hasher.digest('hex'), ...(response.ContentType ? { contentType: response.ContentType } : {}), ...(response.CacheControl ? { cacheControl: response.CacheControl } : {}), metadata: response.Metadata ?? {} };
}

const sameMetadata = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/**
 * Compares the live buckets with a snapshot: every object missing, extra, or with other content. An
 * object whose size and ETag match the snapshot's is the same content (no request); any other is
 * read and compared by SHA-256, and then its content type, cache control and metadata too.
 */
export async function verifyMedia(client: S3Client, vault: BackupStore, snapshot: MediaSnapshot, only?: readonly string[], options: { targetBucket?: (name: string) => string } = {}): Promise<MediaVerifyReport> {
  const buckets = selectBuckets(snapshot, only);
  const objects = (await readObjects(vault, snapshot)).filter((o) => buckets.includes(o.bucket));
  const differences: MediaDifference[] = [];
  let objectsRead = 0;
  const targetOf = options.targetBucket ?? ((name: string) => name);
  for (const bucket of buckets) {
    const live = await listLive(client, targetOf(bucket));
    if (!live) {
      differences.push({ bucket, key: '', problem: 'bucket missing' });
      continue;
    }
    const expected = objects.filter((o) => o.bucket === bucket);
    const keys = new Set(expected.map((o) => o.key));
    for (const o of expected) {
      const there = live.get(o.key);
      if (!there) {
        differences.push({ bucket, key: o.key, problem: 'missing' });
        continue;
      }
      if (there.size === o.size && there.etag === o.etag) continue;
      objectsRead++;
      const read = await readLive(client, targetOf(bucket), o.key);
      if (read.sha256 !== o.sha256) differences.push({ bucket, key: o.key, problem: 'content differs', detail: `${there.size} bytes, SHA-256 ${read.sha256.slice(0, 12)}…; the snapshot has ${o.size} bytes, ${o.sha256.slice(0, 12)}…` });
      else if ((read.contentType ?? '') !== (o.contentType ?? '') || (read.cacheControl ?? '') !== (o.cacheControl ?? '') || !sameMetadata(read.metadata, o.metadata)) {
        differences.push({ bucket, key: o.key, problem: 'metadata differs', detail: `content type ${read.contentType ?? '-'} vs ${o.contentType ?? '-'}, cache control ${read.cacheControl ?? '-'} vs ${o.cacheControl ?? '-'}` });
      }
    }
    for (const key of live.keys()) if (!keys.has(key)) differences.push({ bucket, key, problem: 'extra' });
  }
  return { snapshotId: snapshot.snapshotId, ok: differences.length === 0, buckets, objectsChecked: objects.length, objectsRead, differences };
}

export interface MediaRestoreResult {
  readonly snapshotId: string;
  readonly buckets: readonly string[];
  readonly bucketsCreated: readonly string[];
  readonly uploaded: number;
  readonly unchanged: number;
  readonly deleted: number;
  readonly bytes: number;
}

/** Uploads one stored content under its key, checking on the way that the vault gave back exactly those bytes. */
async function upload(client: S3Client, vault: BackupStore, o: MediaObject, bucket: string): Promise<void> {
  const hasher = new HashingPassThrough();
  // pipeline, not pipe: a failed vault read must fail the upload, not end the body early.
  const body = streamPipeline(await vault.readObject(contentKey(o.sha256)), hasher, () => undefined);
  try {
    await new Upload({
      client,
      params: { Bucket: bucket, Key: o.key, Body: body, ...(o.contentType ? { ContentType: o.contentType } : {}), ...(o.cacheControl ? { CacheControl: o.cacheControl } : {}), Metadata: o.metadata },
    }).done();
  } catch (error) {
    throw failure(`write ${describeObject(o)}`, error);
  }
  if (hasher.sha256 !== o.sha256) throw new InvalidBackupError(`Media content ${o.sha256.slice(0, 12)}… for ${describeObject(o)} is corrupted in the vault`, [`${contentKey(o.sha256)}: SHA-256 differs`]);
}

/**
 * Puts the live buckets back to a snapshot: creates missing buckets, uploads every object that is
 * missing or whose size/ETag differ (others are left alone: no request each), and with `exact` deletes
 * objects the snapshot does not have. Keys are used exactly as recorded; nothing is ever written
 * outside the named buckets.
 */
export async function restoreMedia(client: S3Client, vault: BackupStore, snapshot: MediaSnapshot, options: { buckets?: readonly string[]; exact?: boolean; concurrency?: number; onObject?: (o: MediaObject) => void; /** Restore bucket X into targetBucket(X) (a drill's own buckets). */ targetBucket?: (name: string) => string } = {}): Promise<MediaRestoreResult> {
  const buckets = selectBuckets(snapshot, options.buckets);
  const objects = (await readObjects(vault, snapshot)).filter((o) => buckets.includes(o.bucket));
  const missingContents: string[] = [];
  for (const sha of new Set(objects.map((o) => o.sha256))) if (!(await vault.statObject(contentKey(sha)))) missingContents.push(sha);
  if (missingContents.length) throw new InvalidBackupError(`Media snapshot ${snapshot.snapshotId} is not restorable: ${missingContents.length} stored content(s) are missing from ${vault.description}`, missingContents.map((sha) => `${contentKey(sha)} is missing`));

  const bucketsCreated: string[] = [];
  let uploaded = 0;
  let unchanged = 0;
  let deleted = 0;
  let bytes = 0;
  const targetOf = options.targetBucket ?? ((name: string) => name);
  for (const source of buckets) {
    const bucket = targetOf(source);
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== 404 && (error as { name?: string }).name !== 'NotFound' && (error as { name?: string }).name !== 'NoSuchBucket') throw failure(`check bucket ${bucket}`, error);
      await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((e: unknown) => {
        throw failure(`create bucket ${bucket}`, e);
      });
      bucketsCreated.push(bucket);
    }
    const live = (await listLive(client, bucket)) ?? new Map<string, LiveObject>();
    const expected = objects.filter((o) => o.bucket === source);
    const todo = expected.filter((o) => {
      const there = live.get(o.key);
      return !(there && there.size === o.size && there.etag === o.etag);
    });
    unchanged += expected.length - todo.length;
    await runPool(todo, Math.max(1, options.concurrency ?? 4), async (o) => {
      await upload(client, vault, o, bucket);
      uploaded++;
      bytes += o.size;
      options.onObject?.(o);
    });
    if (options.exact) {
      const keep = new Set(expected.map((o) => o.key));
      const extra = [...live.keys()].filter((k) => !keep.has(k));
      for (let i = 0; i < extra.length; i += 1000) {
        const batch = extra.slice(i, i + 1000);
        const result = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })).catch((error: unknown) => {
          throw failure(`delete objects in ${bucket}`, error);
        });
        if (result.Errors?.length) throw new StorageError(`Supabase Storage refused to delete ${result.Errors.length} object(s) in ${bucket} (${result.Errors[0]?.Code ?? 'error'})`, { retryable: false });
        deleted += batch.length;
      }
    }
  }
  return { snapshotId: snapshot.snapshotId, buckets, bucketsCreated, uploaded, unchanged, deleted, bytes };
}
