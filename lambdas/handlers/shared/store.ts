import { InvalidBackupError } from '../../core/errors.js';
import { readManifest } from '../../core/catalog.js';
import { backupIdToDate, isBackupId } from '../../core/format/ids.js';
import { MANIFEST_FILE, type ParsedManifest } from '../../core/format/manifest.js';
import { S3Store } from '../../core/storage/s3-store.js';
import type { BackupStore } from '../../core/storage/store.js';

/**
 * The backup store of a function, `s3://${BACKUP_BUCKET}/${BACKUP_PREFIX}`, one per container (its
 * S3 client keeps connections warm between invocations). AWS_ENDPOINT_URL_S3 and AWS_REGION apply
 * as for the CLI.
 */
const stores = new Map<string, S3Store>();

export function backupStore(location: { bucket: string; prefix: string; kmsKeyId?: string | undefined }): S3Store {
  const key = `${location.bucket}/${location.prefix}/${location.kmsKeyId ?? ''}`;
  let store = stores.get(key);
  if (!store) {
    store = new S3Store({ bucket: location.bucket, prefix: location.prefix, ...(location.kmsKeyId ? { kmsKeyId: location.kmsKeyId } : {}) });
    stores.set(key, store);
  }
  return store;
}

/** `s3://bucket/prefix/<backupId>`: where one backup is. */
export function backupLocation(store: BackupStore, backupId: string): string {
  return `${store.description}/${backupId}`;
}

export interface CompleteBackup {
  readonly backupId: string;
  readonly manifest: ParsedManifest;
  /** Bytes of the table files (v1 manifest), or of everything stored (legacy backups). */
  readonly totalBytes: number;
}

/**
 * Looks a backup up by listing its folder before reading anything: a HEAD of a missing
 * metadata.json is answered 403, not 404, on real S3 when the role's s3:ListBucket is limited to the
 * backup prefix (lib/dr-function.ts), which the engine's statObject would report as "access denied".
 * Listing is allowed, so an interrupted backup (the backup role may not delete its partial files) is
 * told apart from a complete one without that request.
 *
 * Returns undefined when the folder has no metadata.json (`missing` tells whether it has anything);
 * throws InvalidBackupError when the manifest is unreadable.
 */
export async function findBackup(store: BackupStore, backupId: string): Promise<{ complete: CompleteBackup } | { complete?: undefined; missing: boolean }> {
  const objects = await store.listObjects(`${backupId}/`);
  if (!objects.some((o) => o.key === `${backupId}/${MANIFEST_FILE}`)) return { missing: objects.length === 0 };
  const manifest = await readManifest(store, backupId);
  const totalBytes = manifest.format === 'v1' ? manifest.manifest.totalBytes : objects.reduce((sum, o) => sum + o.size, 0);
  return { complete: { backupId, manifest, totalBytes } };
}

/**
 * Complete backups (readable metadata.json), newest first, looking no further than `limit` of them
 * or than `since`, and only those `filter` accepts (full backups, backups holding some tables). Unlike `listBackups` (which reads every backup of the last 90 days) this walks
 * the id-named folders from the newest and stops early: "latest" costs two listings and one read.
 */
export async function completeBackups(store: BackupStore, options: { limit?: number; since?: Date; filter?: (backup: { backupId: string; tables: readonly string[] }) => boolean; includeSuspect?: boolean } = {}): Promise<CompleteBackup[]> {
  const folders = (await store.listFolders()).filter(isBackupId).sort().reverse();
  const found: CompleteBackup[] = [];
  for (const backupId of folders) {
    if (options.limit !== undefined && found.length >= options.limit) break;
    if (options.since && (backupIdToDate(backupId)?.getTime() ?? 0) < options.since.getTime()) break;
    try {
      const { complete } = await findBackup(store, backupId);
      // No metadata.json: interrupted, not a backup anyone can restore.
      // A backup the mass-deletion canary flagged, or a drill's, is never "latest", "random" or the
      // previous good backup (the same rule as the CLI's catalog).
      const flagged = complete?.manifest.format === 'v1' && (complete.manifest.manifest.suspect !== undefined || complete.manifest.manifest.purpose === 'drill');
      if (complete && (!flagged || options.includeSuspect) && (!options.filter || options.filter({ backupId, tables: complete.manifest.manifest.tables }))) found.push(complete);
    } catch (error) {
      if (error instanceof InvalidBackupError) continue;
      throw error;
    }
  }
  return found;
}
