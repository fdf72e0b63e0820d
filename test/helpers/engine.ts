import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createBackup, type BackupResult } from '../../lambdas/core/backup.js';
import type { RowEncoding } from '../../lambdas/core/format/row-encoding.js';
import { openPostgresSource } from '../../lambdas/core/postgres/source.js';
import { FileStore } from '../../lambdas/core/storage/file-store.js';
import type { BackupStore } from '../../lambdas/core/storage/store.js';

/** A temporary folder store; `cleanup()` removes it. */
export async function tempFileStore(): Promise<{ store: FileStore; root: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-test-'));
  return { store: new FileStore(root), root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Backs up a database with the postgres driver, the way the CLI does. */
export async function backupDatabase(store: BackupStore, databaseUrl: string, options: { jobs?: number; tables?: string[]; schemas?: string[]; startedAt?: Date; rows?: RowEncoding } = {}): Promise<BackupResult> {
  const source = await openPostgresSource({ databaseUrl, jobs: options.jobs ?? 2, ...(options.tables ? { tables: options.tables } : {}), ...(options.schemas ? { schemas: options.schemas } : {}) });
  try {
    return await createBackup({ store, source, ...(options.startedAt ? { startedAt: options.startedAt } : {}), ...(options.rows ? { rows: options.rows } : {}) });
  } finally {
    await source.close();
  }
}
