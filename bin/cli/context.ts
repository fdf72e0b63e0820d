import { resolveBackupId } from '../../lambdas/core/catalog.js';
import { UsageError } from '../../lambdas/core/errors.js';
import { openStore, splitBackupLocation, type StoreOptions } from '../../lambdas/core/storage/location.js';
import type { BackupStore } from '../../lambdas/core/storage/store.js';
import { loadEnv } from './config.js';

export function storeOptions(): StoreOptions {
  const env = loadEnv();
  return {
    ...(env.AWS_ENDPOINT_URL_S3 ? { endpoint: env.AWS_ENDPOINT_URL_S3 } : {}),
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(env.BACKUP_KMS_KEY_ID ? { kmsKeyId: env.BACKUP_KMS_KEY_ID } : {}),
  };
}

/** The backup location from --from/--to, else BACKUP_LOCATION, else ./backups. */
export async function storeFor(location: string | undefined): Promise<BackupStore> {
  return openStore(location ?? loadEnv().BACKUP_LOCATION, storeOptions());
}

export function databaseUrl(option: string | undefined): string {
  const url = option ?? loadEnv().DATABASE_URL;
  if (!url) throw new UsageError('No database given: pass --db postgres://user:password@host:5432/db or set DATABASE_URL');
  if (!/^postgres(ql)?:\/\//i.test(url)) throw new UsageError('The database URL must start with postgres:// or postgresql://');
  return url;
}

function looksLikeLocation(ref: string): boolean {
  return /^(s3|file):\/\//i.test(ref) || ref.includes('/') || ref.includes('\\') || ref === '.' || ref === '..';
}

/**
 * BACKUP = an id or `latest` in the --from store, or the path/URL of one backup folder
 * (`/backups/<id>`, `./backup`, `s3://bucket/prefix/<id>`).
 */
export async function resolveBackup(ref: string | undefined, from: string | undefined): Promise<{ store: BackupStore; backupId: string }> {
  const wanted = (ref ?? 'latest').trim();
  if (looksLikeLocation(wanted)) {
    const { store, backupId } = splitBackupLocation(wanted);
    return { store: await openStore(store, storeOptions()), backupId };
  }
  const store = await storeFor(from);
  return { store, backupId: await resolveBackupId(store, wanted) };
}
