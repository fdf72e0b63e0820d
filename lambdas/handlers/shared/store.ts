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
