import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';
import type { BackupStore } from './store.js';
import { FileStore } from './file-store.js';
import { printable, unsafeNameReason } from './names.js';

export type Location = { readonly kind: 'file'; readonly path: string } | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string };

/** Options that only S3 locations use; folder locations ignore them. */
export interface StoreOptions {
  /** S3-compatible endpoint (AWS_ENDPOINT_URL_S3); implies path-style addressing. */
  readonly endpoint?: string;
  readonly region?: string;
  /** SSE-KMS key id/ARN for new objects; without it the bucket's default encryption applies. */
  readonly kmsKeyId?: string;
}

/** Parses `s3://bucket/prefix`, `file:///abs/path` or a plain path. */
export function parseLocation(location: string): Location {
  const trimmed = location.trim();
  if (!trimmed) throw new UsageError('The backup location is empty', { hint: 'backup-location' });
  if (/^s3:\/\//i.test(trimmed)) {
    const rest = trimmed.slice(5);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new UsageError(`"${bucket}" is not a valid S3 bucket name (location ${trimmed})`);
    return { kind: 's3', bucket, prefix };
  }
  if (/^file:\/\//i.test(trimmed)) return { kind: 'file', path: fileURLToPath(trimmed) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) throw new UsageError(`Unsupported location ${trimmed}: use a folder path, file://… or s3://bucket/prefix`);
  return { kind: 'file', path: path.resolve(trimmed) };
}

export function formatLocation(location: Location): string {
  return location.kind === 's3' ? `s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ''}` : location.path;
}

/** Opens the store for a location. The S3 client is loaded only when an S3 location is used. */
export async function openStore(location: string | Location, options: StoreOptions = {}): Promise<BackupStore> {
  const parsed = typeof location === 'string' ? parseLocation(location) : location;
  if (parsed.kind === 'file') return new FileStore(parsed.path);
  const { S3Store } = await import('./s3-store.js');
  return new S3Store({ bucket: parsed.bucket, prefix: parsed.prefix, ...options });
}

/** Splits the location of one backup (`/backups/<id>`, `s3://b/p/<id>`) into its store and the backup's folder name. */
export function splitBackupLocation(location: string): { store: Location; backupId: string } {
  const parsed = parseLocation(location);
  if (parsed.kind === 'file') {
    const backupId = path.basename(parsed.path);
    if (!backupId) throw new UsageError(`${location} does not name a backup folder`);
    return { store: { kind: 'file', path: path.dirname(parsed.path) }, backupId };
  }
  const parts = parsed.prefix.split('/').filter(Boolean);
  const backupId = parts.pop();
  if (!backupId) throw new UsageError(`${location} does not name a backup (expected s3://bucket/prefix/<backup-id>)`);
  const unsafe = unsafeNameReason(backupId);
  if (unsafe) throw new UsageError(`"${printable(backupId)}" ${unsafe}: name one backup folder (s3://bucket/prefix/<backup-id>)`);
  return { store: { kind: 's3', bucket: parsed.bucket, prefix: parts.join('/') }, backupId };
}
