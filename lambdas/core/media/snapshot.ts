import * as z from '../util/zod.js';

/**
 * Media snapshot format v1 (docs/format.md): under the backup location, each distinct object
 * content is stored once at `media/objects/<sha256[0..2]>/<sha256>` (write-once). Each sync writes
 * `media/snapshots/<snapshotId>/objects.json` (the complete point-in-time listing of every bucket it
 * read), then `snapshot.json` beside it, last and once: its presence means the snapshot is complete,
 * and it is small, so listing snapshots never reads the listings.
 */
export const MEDIA_FORMAT_VERSION = 1;
export const MEDIA_ROOT = 'media';
export const SNAPSHOTS_PREFIX = `${MEDIA_ROOT}/snapshots/`;
export const OBJECTS_PREFIX = `${MEDIA_ROOT}/objects/`;
/** A sync in progress holds a lease here, so that a concurrent `media prune` does not sweep its new contents. */
export const LEASES_PREFIX = `${MEDIA_ROOT}/in-progress/`;

const sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/));

export const mediaObjectSchema = z.object({
  bucket: z.nonEmptyString(),
  /** The object key exactly as Storage has it (spaces, unicode, `%`, `+`, leading slashes, `..`). */
  key: z.nonEmptyString(),
  size: z.nonNegativeInt(),
  sha256: sha256Hex,
  /** The source's ETag when it was read: with size and lastModified, what proves "unchanged" next hour. */
  etag: z.string(),
  lastModified: z.string(),
  contentType: z.optional(z.string()),
  cacheControl: z.optional(z.string()),
  metadata: z._default(z.record(z.string(), z.string()), {}),
});

export const bucketSettingsSchema = z.object({
  name: z.nonEmptyString(),
  /** From `storage.buckets` when a database URL was given; S3 cannot express these. */
  public: z.optional(z.boolean()),
  fileSizeLimit: z.optional(z.nullable(z.nonNegativeInt())),
  allowedMimeTypes: z.optional(z.nullable(z.array(z.string()))),
});

export const snapshotSchema = z.object({
  /** The listing beside this file: its SHA-256 and size, checked when it is read. */
  objectsFile: z.object({ key: z.string(), sha256: sha256Hex, bytes: z.nonNegativeInt() }),
  formatVersion: z.literal(MEDIA_FORMAT_VERSION),
  snapshotId: z.nonEmptyString(),
  startedAt: z.iso.datetime(),
  completedAt: z.iso.datetime(),
  /** The Storage endpoint's host (never credentials). */
  source: z.string(),
  buckets: z.array(bucketSettingsSchema),
  stats: z.object({
    objects: z.nonNegativeInt(),
    bytes: z.nonNegativeInt(),
    new: z.nonNegativeInt(),
    changed: z.nonNegativeInt(),
    deleted: z.nonNegativeInt(),
    unchanged: z.nonNegativeInt(),
    /** Bytes read from Storage and contents stored by this sync (unchanged objects cost nothing). */
    bytesRead: z.nonNegativeInt(),
    contentsStored: z.nonNegativeInt(),
  }),
  /** Objects that changed or vanished while they were read: reported, not fatal. */
  problems: z._default(z.array(z.string()), []),
});

export type MediaObject = z.infer<typeof mediaObjectSchema>;
/** The metadata of every object that has none: one shared object, not one per entry of a 100,000-object listing. */
export const NO_METADATA: Record<string, string> = Object.freeze({}) as Record<string, string>;
export type BucketSettings = z.infer<typeof bucketSettingsSchema>;
export type MediaSnapshot = z.infer<typeof snapshotSchema>;
export const objectsListSchema = z.array(mediaObjectSchema);

export const snapshotKey = (snapshotId: string): string => `${SNAPSHOTS_PREFIX}${snapshotId}/snapshot.json`;
export const objectsKey = (snapshotId: string): string => `${SNAPSHOTS_PREFIX}${snapshotId}/objects.json`;
export const contentKey = (sha256: string): string => `${OBJECTS_PREFIX}${sha256.slice(0, 2)}/${sha256}`;

/** Snapshot ids sort by time, like backup ids: `2026-11-30T13-00-00-000Z`. */
export function snapshotIdFor(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

/** `bucket/key` for messages and maps; keys may contain anything, so a NUL separates them in map keys. */
export const objectId = (o: { bucket: string; key: string }): string => `${o.bucket}\u0000${o.key}`;
export const describeObject = (o: { bucket: string; key: string }): string => `${o.bucket}/${JSON.stringify(o.key).slice(1, -1)}`;
