import { existsSync } from 'node:fs';
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { FileStore } from '../../lambdas/core/storage/file-store.js';
import type { BackupStore } from '../../lambdas/core/storage/store.js';

/** One line of the run log: what ran, on what, how it ended. Labels only (`host/db`), never a URL or secret. */
export interface RunLogEntry {
  readonly command: 'backup' | 'restore' | 'drill';
  readonly result: 'ok' | 'failed';
  readonly backupId?: string;
  readonly database?: string;
  readonly records?: number;
  readonly durationMs: number;
  readonly error?: string;
  readonly [detail: string]: unknown;
}

/**
 * Appends a JSON line to `<folder>/logs/YYYY-MM-DD.log`, the plan's log layout beside the backups.
 * Only folder locations have one (S3 objects cannot be appended to; on AWS the Lambdas log to
 * CloudWatch). A log that cannot be written never fails the run it describes.
 */
export async function appendRunLog(store: BackupStore, entry: RunLogEntry, now = new Date()): Promise<string | undefined> {
  // Only beside a location that exists: a run that could not create it has nowhere to log (and Node's
  // recursive mkdir never returns under /proc).
  if (!(store instanceof FileStore) || !existsSync(store.root)) return undefined;
  const folder = path.join(store.root, 'logs');
  const file = path.join(folder, `${now.toISOString().slice(0, 10)}.log`);
  try {
    if (!existsSync(folder)) await mkdir(folder, { mode: 0o700 });
    await appendFile(file, `${JSON.stringify({ time: now.toISOString(), ...entry })}\n`, { mode: 0o600 });
    return file;
  } catch {
    return undefined;
  }
}
