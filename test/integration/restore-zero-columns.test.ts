import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { restoreBackup } from '../../lambdas/core/restore.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import { createTestDatabase } from '../helpers/database.js';
import { sourceTargetBackup, type RoundTrip } from '../helpers/round-trip.js';

/** A table without columns still has rows (`{}` in NDJSON); one with columns beside it. */
const SCHEMA_SQL = `
CREATE TABLE no_columns ();
CREATE TABLE beside (id integer PRIMARY KEY, name text);
`;
const DATA_SQL = `
INSERT INTO no_columns SELECT FROM generate_series(1, 3);
INSERT INTO beside VALUES (1, 'one'), (2, 'two');
`;

describe.each(['ndjson', 'copy-text'] as const)('a table without columns, rows as %s: backed up, validated and restored with its row count (real Postgres)', (rows) => {
  let trip: RoundTrip;

  beforeAll(async () => {
    trip = await sourceTargetBackup(`zero_columns_${rows}`, { schemaSql: SCHEMA_SQL, dataSql: DATA_SQL, tables: ['no_columns', 'beside'], rows });
  });

  afterAll(async () => {
    await trip?.drop();
  });

  it('validates in full: three rows of no columns', async () => {
    expect(trip.backup.manifest.tableDetails['no_columns']!.files[0]!.rows ?? 'ndjson').toBe(rows);
    const report = await validateBackup(trip.files.store, trip.backup.backupId);
    expect(report.problems).toEqual([]);
    expect(report.tables.find((t) => t.table === 'no_columns')?.records).toBe(3);
  });

  it('restores the three rows', async () => {
    await restoreBackup({ store: trip.files.store, backupId: trip.backup.backupId, databaseUrl: trip.target.url });
    const counts = await trip.target.query<{ n: string }>('SELECT count(*) AS n FROM no_columns');
    expect(Number(counts.rows[0]!.n)).toBe(3);
    const beside = await trip.target.query<{ id: number; name: string }>('SELECT id, name FROM beside ORDER BY id');
    expect(beside.rows).toEqual([{ id: 1, name: 'one' }, { id: 2, name: 'two' }]);
  });

  it('restores into an empty database, creating the table without columns from the backup\'s schema', async () => {
    const empty = await createTestDatabase(`zero_columns_${rows}_empty`);
    try {
      await restoreBackup({ store: trip.files.store, backupId: trip.backup.backupId, databaseUrl: empty.url });
      const counts = await empty.query<{ n: string }>('SELECT count(*) AS n FROM no_columns');
      expect(Number(counts.rows[0]!.n)).toBe(3);
    } finally {
      await empty.drop();
    }
  });
});
