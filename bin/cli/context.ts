import { existsSync } from 'node:fs';
import { listBackups, resolveBackupId, type PickOptions } from '../../lambdas/core/catalog.js';
import { UsageError } from '../../lambdas/core/errors.js';
import { MANIFEST_FILE } from '../../lambdas/core/format/manifest.js';
import { checkDatabaseUrl } from '../../lambdas/core/postgres/connection.js';
import { formatLocation, openStore, parseLocation, splitBackupLocation, type StoreOptions } from '../../lambdas/core/storage/location.js';
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

/** The location from --from/--to, else BACKUP_LOCATION, else ./backups; `explicit` says whether the user named it. */
export function locationFor(option: string | undefined): { location: string; explicit: boolean } {
  const env = loadEnv();
  if (option !== undefined) return { location: option, explicit: true };
  return { location: env.BACKUP_LOCATION, explicit: process.env.BACKUP_LOCATION !== undefined && process.env.BACKUP_LOCATION !== '' };
}

/** The store to write to (--to), else BACKUP_LOCATION, else ./backups. */
export async function storeFor(location: string | undefined): Promise<BackupStore> {
  return openStore(locationFor(location).location, storeOptions());
}

/**
 * The store to read from. A folder the user named that does not exist is an error (a typo must not
 * look like "no backups"); the default ./backups may be missing before the first backup.
 */
export async function storeForReading(location: string | undefined): Promise<BackupStore> {
  const { location: where, explicit } = locationFor(location);
  const parsed = parseLocation(where);
  if (explicit && parsed.kind === 'file' && !existsSync(parsed.path)) {
    throw new UsageError(`The backup location ${parsed.path} does not exist; check --from or BACKUP_LOCATION`);
  }
  return openStore(parsed, storeOptions());
}

/** The database URL from --db or DATABASE_URL, checked so that a bad one is a usage error that never echoes it. */
export function databaseUrl(option: string | undefined): string {
  const url = option ?? loadEnv().DATABASE_URL;
  if (!url) throw new UsageError('No database given: pass --db postgres://user:password@host:5432/db or set DATABASE_URL');
  return checkDatabaseUrl(url);
}

function looksLikeLocation(ref: string): boolean {
  return /^(s3|file):\/\//i.test(ref) || ref.includes('/') || ref.includes('\\') || ref === '.' || ref === '..';
}

export interface ResolvedBackup {
  readonly store: BackupStore;
  readonly backupId: string;
  /** Set when a folder holding one backup was named: which backup was found in it. */
  readonly foundIn?: string;
}

/**
 * BACKUP = an id or `latest` in the --from store, the path/URL of one backup folder
 * (`/backups/<id>`, `s3://bucket/prefix/<id>`), or a folder that holds exactly one backup (`./backup`
 * after `download`, the plan's Scenario 2).
 */
export async function resolveBackup(ref: string | undefined, from: string | undefined, pick: PickOptions = {}): Promise<ResolvedBackup> {
  const wanted = (ref ?? 'latest').trim();
  if (looksLikeLocation(wanted)) {
    const location = parseLocation(wanted);
    if (location.kind === 'file' && !existsSync(location.path)) throw new UsageError(`${location.path} does not exist; name a backup folder, a folder holding one backup, or a backup id with --from`);
    const asRoot = await openStore(location, storeOptions());
    if (!(await asRoot.statObject(MANIFEST_FILE))) {
      const held = await listBackups(asRoot);
      if (held.length === 1) return { store: asRoot, backupId: held[0]!.backupId, foundIn: formatLocation(location) };
      if (held.length > 1) {
        throw new UsageError(`${formatLocation(location)} holds ${held.length} backups (${held.slice(0, 3).map((b) => b.backupId).join(', ')}${held.length > 3 ? ', …' : ''}); name one (${formatLocation(location)}/<id>) or use --from ${formatLocation(location)} with an id or latest`);
      }
    }
    const { store, backupId } = splitBackupLocation(wanted);
    return { store: await openStore(store, storeOptions()), backupId };
  }
  const store = await storeForReading(from);
  return { store, backupId: await resolveBackupId(store, wanted, pick) };
}
