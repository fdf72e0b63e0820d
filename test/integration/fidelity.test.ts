import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { restoreBackup } from '../../lambdas/core/restore.js';
import type { BackupResult } from '../../lambdas/core/backup.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import type { TestDatabase } from '../helpers/database.js';
import type { tempFileStore } from '../helpers/engine.js';
import { snapshotTables } from '../helpers/compare.js';
import { sourceTargetBackup, type RoundTrip } from '../helpers/round-trip.js';
import { HARD_DATA_SQL, HARD_SCHEMA_SQL, HARD_TABLES } from '../fixtures/hard-schema.js';
import type { FileStore } from '../../lambdas/core/storage/file-store.js';
import { because } from '../helpers/expect-message.js';

describe('round-trip fidelity of NDJSON rows on a schema of hard cases (real Postgres; copy text: copy-text.test.ts)', () => {
  let target: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  let store: FileStore;
  let backup: BackupResult;
  let expected: Record<string, string[]>;
  let roundTrip: RoundTrip | undefined;

  beforeAll(async () => {
    roundTrip = await sourceTargetBackup('fidelity', { schemaSql: HARD_SCHEMA_SQL, dataSql: HARD_DATA_SQL, tables: HARD_TABLES, rows: 'ndjson' });
    ({ target, files, backup, expected } = roundTrip);
    store = files.store;
  });

  afterAll(async () => {
    await roundTrip?.drop();
  });

  it('backs up every table from one snapshot with shapes, generated columns apart and json stored as text', () => {
    const m = backup.manifest;
    expect(m.consistency).toBe('snapshot');
    expect([...m.tables].sort()).toEqual([...HARD_TABLES].sort());
    expect(m.recordCounts).toMatchObject({ everything: 4, with_composite: 3, employees: 4, egg: 3, secrets: 2, measurements: 3, event_log: 3 });
    const sale = m.tableDetails['store_sale']!;
    expect(sale.generatedColumns).toEqual(['amount']);
    expect(sale.columns.map((c) => c.name)).not.toContain('amount');
    expect(sale.columns.find((c) => c.name === 'id')?.identity).toBe('a');
    expect(sale.foreignKeys[0]).toMatchObject({ columns: ['region', 'store_no'], references: 'region_store', referencedColumns: ['region', 'store_no'] });
    const everything = m.tableDetails['everything']!;
    expect(everything.columns.filter((c) => c.encoding === 'text').map((c) => c.name)).toEqual(['j', 'jb', 'jb_arr']);
    expect(m.sequences.find((s) => s.name === 'everything_id_seq')).toMatchObject({ lastValue: '100', isCalled: true });
  });

  it('validates the backup it wrote', async () => {
    const report = await validateBackup(store, backup.backupId);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
  });

  it('restores every row of every table exactly through json_to_record (compared as Postgres text, row by row)', async () => {
    const result = await restoreBackup({ store, backupId: backup.backupId, databaseUrl: target.url, loadMethod: 'json' });
    expect(result.totalRecords).toBe(backup.manifest.totalRecords);
    expect(result.triggerMode).toBe('session_replication_role');
    const actual = await snapshotTables(target, HARD_TABLES);
    for (const table of HARD_TABLES) because(table, () => expect(actual[table]).toEqual(expected[table]));
  });

  it('restores every row of every table exactly through client-side COPY conversion (the default)', async () => {
    await target.query('TRUNCATE everything');
    const result = await restoreBackup({ store, backupId: backup.backupId, databaseUrl: target.url });
    expect(result.totalRecords).toBe(backup.manifest.totalRecords);
    const actual = await snapshotTables(target, HARD_TABLES);
    for (const table of HARD_TABLES) because(table, () => expect(actual[table]).toEqual(expected[table]));
  });

  it('keeps SQL NULL and JSON null apart, and plain json byte for byte', async () => {
    const { rows } = await target.query<{ id: string; j: string | null; jb_is_null: boolean; jb: string | null }>('SELECT id::text, j::text, jb IS NULL AS jb_is_null, jb::text FROM everything ORDER BY id');
    expect(rows[0]!.j).toBe('{"b": 1,   "a": [1, 2], "a": "dup"}');
    expect(rows[1]).toMatchObject({ j: 'null', jb: 'null', jb_is_null: false });
    expect(rows[3]).toMatchObject({ j: '[1, 2,    3]', jb: '[]' });
    const { rows: nulls } = await target.query<{ sql_null: string; json_null: string }>("SELECT count(*) FILTER (WHERE jb IS NULL)::text AS sql_null, count(*) FILTER (WHERE jb = 'null'::jsonb)::text AS json_null FROM everything");
    expect(nulls[0]).toEqual({ sql_null: '1', json_null: '1' });
  });

  it('did not fire user triggers: the guarded trigger would have raised and the audit table is as backed up', async () => {
    const { rows } = await target.query<{ what: string }>('SELECT what FROM audit ORDER BY id');
    expect(rows.map((r) => r.what)).toEqual(['inserted one', 'inserted two']);
  });

  it('resets sequences and identities: the next inserts continue after the backed-up position', async () => {
    const { rows } = await target.query<{ id: string }>("INSERT INTO everything (txt) VALUES ('after restore') RETURNING id::text");
    expect(rows[0]!.id).toBe('101');
    const { rows: sale } = await target.query<{ id: number }>('INSERT INTO store_sale (qty, price) VALUES (1, 1) RETURNING id');
    expect(sale[0]!.id).toBe(5);
    const { rows: guarded } = await target.query<{ id: number }>("SELECT nextval('guarded_id_seq')::int AS id");
    expect(guarded[0]!.id).toBe(3);
  });

  it('replaces the data of a non-empty target and matches the source again', async () => {
    await target.query("UPDATE employees SET name = 'changed'");
    await target.query("INSERT INTO region_store VALUES ('east', 9, 'extra')");
    await target.query('DELETE FROM event_log WHERE note IS NULL');
    await restoreBackup({ store, backupId: backup.backupId, databaseUrl: target.url });
    const actual = await snapshotTables(target, HARD_TABLES);
    for (const table of HARD_TABLES) because(table, () => expect(actual[table]).toEqual(expected[table]));
  });

  it('restores a chosen subset of tables and leaves the others alone', async () => {
    await target.query("UPDATE \"Mixed Case Table\" SET \"CamelColumn\" = 'edited'");
    await target.query("INSERT INTO event_log VALUES (NULL, '{}', 'kept')");
    await restoreBackup({ store, backupId: backup.backupId, databaseUrl: target.url, tables: ['Mixed Case Table'] });
    const actual = await snapshotTables(target, ['Mixed Case Table', 'event_log']);
    expect(actual['Mixed Case Table']).toEqual(expected['Mixed Case Table']);
    expect(actual['event_log']).toHaveLength(4);
  });
});
