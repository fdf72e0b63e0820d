import type { BackupResult } from '../../lambdas/core/backup.js';
import type { RowEncoding } from '../../lambdas/core/format/row-encoding.js';
import { snapshotTables } from './compare.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { backupDatabase, tempFileStore } from './engine.js';

/** A source with data, a target with the same schema and no rows, and a backup of the source in a temporary folder. */
export interface RoundTrip {
  readonly source: TestDatabase;
  readonly target: TestDatabase;
  readonly files: Awaited<ReturnType<typeof tempFileStore>>;
  readonly backup: BackupResult;
  /** The source's rows as PostgreSQL text, per table, before the backup. */
  readonly expected: Record<string, string[]>;
  /** Drops both databases and removes the folder. */
  drop(): Promise<void>;
}

/** Sets up `<label>_src` and `<label>_dst` from one schema and backs the source up with the postgres driver. */
export async function sourceTargetBackup(label: string, setup: { readonly schemaSql: string; readonly dataSql: string; readonly tables: readonly string[]; readonly rows?: RowEncoding }): Promise<RoundTrip> {
  const source = await createTestDatabase(`${label}_src`);
  const target = await createTestDatabase(`${label}_dst`);
  const files = await tempFileStore();
  const drop = async () => {
    await source.drop();
    await target.drop();
    await files.cleanup();
  };
  try {
    await source.query(setup.schemaSql);
    await source.query(setup.dataSql);
    await target.query(setup.schemaSql);
    const expected = await snapshotTables(source, setup.tables);
    const backup = await backupDatabase(files.store, source.url, setup.rows ? { rows: setup.rows } : {});
    return { source, target, files, backup, expected, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}
