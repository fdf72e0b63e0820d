import { cp, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createBackup, type BackupResult } from '../../lambdas/core/backup.js';
import { listBackups } from '../../lambdas/core/catalog.js';
import { copyBackup } from '../../lambdas/core/download.js';
import { InvalidBackupError } from '../../lambdas/core/errors.js';
import { CopyTextToCopyBinary } from '../../lambdas/core/copy-text-binary.js';
import { compressor, decompressor } from '../../lambdas/core/format/codec.js';
import type { Manifest } from '../../lambdas/core/format/manifest.js';
import { openPostgresSource } from '../../lambdas/core/postgres/source.js';
import { restoreBackup } from '../../lambdas/core/restore.js';
import type { FileStore } from '../../lambdas/core/storage/file-store.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import { verifyCounts } from '../../lambdas/core/verify.js';
import { HARD_DATA_SQL, HARD_SCHEMA_SQL, HARD_TABLES } from '../fixtures/hard-schema.js';
import { runCli } from '../helpers/cli.js';
import { spyOnConvertedRows } from '../helpers/converter-rows.js';
import { snapshotTables } from '../helpers/compare.js';
import type { TestDatabase } from '../helpers/database.js';
import { backupDatabase, tempFileStore } from '../helpers/engine.js';
import { because } from '../helpers/expect-message.js';
import { sourceTargetBackup, type RoundTrip } from '../helpers/round-trip.js';
import { readAll } from '../helpers/store-contract.js';

describe('copy-text rows: backups in the tables\' own COPY text round-trip every hard case exactly (real Postgres)', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  let store: FileStore;
  let backup: BackupResult;
  let expected: Record<string, string[]>;
  let roundTrip: RoundTrip | undefined;

  const backupDir = (id: string) => path.join(files.root, id);
  const readManifestFile = async (id: string) => JSON.parse(await readFile(path.join(backupDir(id), 'metadata.json'), 'utf8')) as Manifest;
  const writeManifestFile = async (id: string, manifest: Manifest) => {
    for (const t of Object.values(manifest.tableDetails)) t.bytes = t.files.reduce((s, f) => s + f.bytes, 0);
    manifest.totalBytes = Object.values(manifest.tableDetails).reduce((s, t) => s + t.bytes, 0);
    manifest.backupId = id;
    await writeFile(path.join(backupDir(id), 'metadata.json'), JSON.stringify(manifest, null, 2));
  };
  /** A copy of the copy-text backup under `id`. */
  const copyOf = async (id: string) => {
    await cp(backupDir(backup.backupId), backupDir(id), { recursive: true });
    const manifest = await readManifestFile(id);
    await writeManifestFile(id, manifest);
    return manifest;
  };
  /** Rewrites a table's file with other uncompressed content, and the manifest with its true size and checksum, so only the row checks can tell. */
  const rewriteRows = async (id: string, table: string, edit: (text: string) => string) => {
    const manifest = await readManifestFile(id);
    const entry = manifest.tableDetails[table]!.files[0]!;
    const file = path.join(backupDir(id), entry.key);
    const text = (await readAll(Readable.from([await readFile(file)]).pipe(decompressor('zstd')))).toString('utf8');
    const compressed = await readAll(Readable.from([Buffer.from(edit(text), 'utf8')]).pipe(compressor('zstd')));
    await writeFile(file, compressed);
    entry.bytes = compressed.length;
    entry.sha256 = createHash('sha256').update(compressed).digest('hex');
    await writeManifestFile(id, manifest);
  };

  /** Restores `id`, which must be refused as an invalid backup (exit 1) with the target left as it was; the error, for its message. */
  const expectRefusedLeavingTarget = async (id: string): Promise<InvalidBackupError> => {
    await target.query("UPDATE employees SET name = 'kept'");
    const error = await restoreBackup({ store, backupId: id, databaseUrl: target.url }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidBackupError);
    expect((error as InvalidBackupError).exitCode).toBe(1);
    const { rows } = await target.query<{ n: string }>("SELECT count(*)::text AS n FROM employees WHERE name = 'kept'");
    expect(rows[0]!.n).toBe('4');
    return error as InvalidBackupError;
  };

  beforeAll(async () => {
    roundTrip = await sourceTargetBackup('copytext', { schemaSql: HARD_SCHEMA_SQL, dataSql: HARD_DATA_SQL, tables: HARD_TABLES, rows: 'copy-text' });
    ({ source, target, files, backup, expected } = roundTrip);
    store = files.store;
  });

  afterAll(async () => {
    await roundTrip?.drop();
  });

  it('writes every table as <table>.copy.zst, marked copy-text with its stored columns in order, generated columns apart', () => {
    const m = backup.manifest;
    expect([...m.tables].sort()).toEqual([...HARD_TABLES].sort());
    for (const table of m.tables) {
      const detail = m.tableDetails[table]!;
      because(table, () => expect(detail.files.map((f) => [f.rows, f.compression, f.key.endsWith('.copy.zst')])).toEqual([['copy-text', 'zstd', true]]));
      because(table, () => expect(detail.columns.every((c) => c.encoding === 'copy-text')).toBe(true));
    }
    expect(m.tableDetails['Mixed Case Table']!.files[0]!.key).toBe('Mixed%20Case%20Table.copy.zst');
    const sale = m.tableDetails['store_sale']!;
    expect(sale.generatedColumns).toEqual(['amount']);
    expect(sale.columns.map((c) => c.name)).toEqual(['id', 'region', 'store_no', 'qty', 'price']);
    expect(m.recordCounts).toMatchObject({ everything: 4, with_composite: 3, measurements: 3, secrets: 2 });
  });

  it("the file holds PostgreSQL's COPY text under pg_dump's settings: escapes, \\N, every float digit, hex bytea, UTC", async () => {
    const key = backup.manifest.tableDetails['everything']!.files[0]!.key;
    const text = (await readAll(Readable.from([await readFile(path.join(backupDir(backup.backupId), key))]).pipe(decompressor('zstd')))).toString('utf8');
    const lines = text.split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines).toHaveLength(5);
    for (const line of lines.slice(0, -1)) expect(line.split('\t')).toHaveLength(backup.manifest.tableDetails['everything']!.columns.length);
    expect(text).toContain('tab\\there\\nnewline \\\\ backslash');
    expect(text).toContain('\t\\\\x00ff10\t');
    expect(text).toContain('\t-3.4028235e+38\t2.2250738585072014e-308\t');
    expect(text).toContain('\t1e-45\t5e-324\t');
    expect(text).toContain('\tNaN\t0.000001\tNaN\tInfinity\t');
    expect(text).toContain('2024-02-29 18:29:59.999999+00');
    expect(text).toContain('\t\\N\t');
  });

  it('validates in full: every line has the columns\' count of fields, counts match', async () => {
    const report = await validateBackup(store, backup.backupId);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.tables.every((t) => t.records === t.expectedRecords)).toBe(true);
  });

  it('restores every row of every table exactly (compared as Postgres text, row by row), keeping SQL NULL and JSON null apart', async () => {
    const result = await restoreBackup({ store, backupId: backup.backupId, databaseUrl: target.url });
    expect(result.totalRecords).toBe(backup.manifest.totalRecords);
    expect(result.triggerMode).toBe('session_replication_role');
    const actual = await snapshotTables(target, HARD_TABLES);
    for (const table of HARD_TABLES) because(table, () => expect(actual[table]).toEqual(expected[table]));
    const { rows } = await target.query<{ j: string | null; jb: string | null; jb_is_null: boolean }>('SELECT j::text, jb::text, jb IS NULL AS jb_is_null FROM everything ORDER BY id');
    expect(rows[0]!.j).toBe('{"b": 1,   "a": [1, 2], "a": "dup"}');
    expect(rows[1]).toMatchObject({ j: 'null', jb: 'null', jb_is_null: false });
    expect(rows[2]).toMatchObject({ jb: null, jb_is_null: true });
    const { rows: floats } = await target.query<{ f8: string }>('SELECT f8::text FROM everything ORDER BY id');
    expect(floats.map((r) => r.f8)).toEqual(['2.2250738585072014e-308', 'Infinity', '-Infinity', '5e-324']);
  });

  it('converts the tables whose columns all have a binary writer to binary COPY in the client, the others load as COPY text; loadMethod text or json leaves all to the server; all exact', async () => {
    const binaryTables = ['Mixed Case Table', 'employees', 'chicken', 'egg', 'region_store', 'store_sale', 'event_log', 'audit', 'guarded', 'secrets'];
    const count = (tables: readonly string[]) => tables.reduce((sum, t) => sum + backup.manifest.recordCounts[t]!, 0);
    const converted = spyOnConvertedRows(CopyTextToCopyBinary);
    try {
      await restoreBackup({ store, backupId: backup.backupId, databaseUrl: target.url });
      // everything (floats, intervals, arrays...), with_composite and measurements (a float) as COPY text.
      expect(converted.inModule + converted.oneByOne).toBe(count(binaryTables));
      expect(converted.inModule).toBeGreaterThan(0);
      let actual = await snapshotTables(target, HARD_TABLES);
      for (const table of HARD_TABLES) because(table, () => expect(actual[table]).toEqual(expected[table]));
      for (const loadMethod of ['text', 'json'] as const) {
        converted.reset();
        await restoreBackup({ store, backupId: backup.backupId, databaseUrl: target.url, loadMethod });
        expect([loadMethod, converted.inModule, converted.oneByOne]).toEqual([loadMethod, 0, 0]);
        actual = await snapshotTables(target, HARD_TABLES);
        for (const table of HARD_TABLES) because(`${table}, loadMethod ${loadMethod}`, () => expect(actual[table]).toEqual(expected[table]));
      }
    } finally {
      converted.restore();
    }
  });

  it('resets sequences and identities after a copy-text load, and verify compares the target with the backup', async () => {
    const { rows } = await target.query<{ id: string }>("INSERT INTO everything (txt) VALUES ('after restore') RETURNING id::text");
    expect(rows[0]!.id).toBe('101');
    const { rows: sale } = await target.query<{ id: number }>('INSERT INTO store_sale (qty, price) VALUES (1, 1) RETURNING id');
    expect(sale[0]!.id).toBe(5);
    await target.query("DELETE FROM everything WHERE txt = 'after restore'");
    await target.query('DELETE FROM store_sale WHERE id = 5');
    const report = await verifyCounts(store, backup.backupId, target.url);
    expect(report.ok).toBe(true);
  });

  it('list shows the copy-text backup complete, and download copies it to a backup that validates', async () => {
    const listed = (await listBackups(store)).find((b) => b.backupId === backup.backupId);
    expect(listed).toMatchObject({ complete: true, totalRecords: backup.manifest.totalRecords });
    const elsewhere = await tempFileStore();
    try {
      const copied = await copyBackup(store, backup.backupId, elsewhere.store);
      expect(copied.files).toBe(HARD_TABLES.length + 3);
      const report = await validateBackup(elsewhere.store, backup.backupId);
      expect(report.problems).toEqual([]);
    } finally {
      await elsewhere.cleanup();
    }
  });

  it('restores a mixed backup (some tables NDJSON, some COPY text) exactly', async () => {
    const json = await backupDatabase(store, source.url, { startedAt: new Date('2020-01-01T00:00:00Z'), rows: 'ndjson' });
    expect(json.manifest.tableDetails['everything']!.files[0]!.key).toBe('everything.ndjson.zst');
    const id = '2020-01-02T00-00-00-000Z';
    await cp(backupDir(json.backupId), backupDir(id), { recursive: true });
    const mixed = await readManifestFile(id);
    for (const table of ['everything', 'employees', 'measurements', 'store_sale']) {
      const copyEntry = backup.manifest.tableDetails[table]!;
      await cp(path.join(backupDir(backup.backupId), copyEntry.files[0]!.key), path.join(backupDir(id), copyEntry.files[0]!.key));
      mixed.tableDetails[table] = copyEntry;
    }
    await writeManifestFile(id, mixed);
    const report = await validateBackup(store, id);
    expect(report.warnings.filter((w) => !w.includes('.ndjson.zst'))).toEqual([]);
    expect(report.problems).toEqual([]);
    await target.query("UPDATE employees SET name = 'changed'");
    await target.query("UPDATE \"Mixed Case Table\" SET \"CamelColumn\" = 'edited'");
    await restoreBackup({ store, backupId: id, databaseUrl: target.url });
    const actual = await snapshotTables(target, HARD_TABLES);
    for (const table of HARD_TABLES) because(table, () => expect(actual[table]).toEqual(expected[table]));
  });

  it('validate finds a row with a wrong count of fields and the end-of-data marker, though size and checksum match', async () => {
    const id = '2021-01-01T00-00-00-000Z';
    await copyOf(id);
    await rewriteRows(id, 'employees', (text) => {
      const lines = text.split('\n');
      lines[0] = lines[0]!.split('\t').slice(0, 2).join('\t');
      lines[1] = '\\.';
      return lines.join('\n');
    });
    const report = await validateBackup(store, id);
    expect(report.valid).toBe(false);
    expect(report.problems).toEqual(['employees.copy.zst: line 1 has 2 fields, the table has 3 columns', 'employees.copy.zst: line 2 holds the end-of-data marker \\.']);
    // Restore, which converts employees to binary, calls the file invalid too (exit 1), and leaves the target alone.
    const error = await expectRefusedLeavingTarget(id);
    expect(error.message).toContain('employees.copy.zst: line 1 has 2 fields, the table has 3 columns');
  });

  it('a row the server refuses as COPY text (a table it parses itself) is an invalid backup too, named by file and line, and the target is left alone', async () => {
    const id = '2021-01-01T12-00-00-000Z';
    await copyOf(id);
    // everything has array and float columns: its COPY text goes to the server as it is.
    await rewriteRows(id, 'everything', (text) => {
      const lines = text.split('\n');
      lines[2] = lines[2]!.split('\t').slice(0, 2).join('\t');
      return lines.join('\n');
    });
    const error = await expectRefusedLeavingTarget(id);
    expect(error.message).toMatch(/everything\.copy\.zst: line 3 is not COPY text PostgreSQL can read \(missing data for column "\w+"\)/);
  });

  it('validate finds a file that ends in the middle of a row, and one with a row too many', async () => {
    const id = '2021-01-02T00-00-00-000Z';
    await copyOf(id);
    await rewriteRows(id, 'employees', (text) => text.slice(0, -1));
    await rewriteRows(id, 'egg', (text) => `${text}40\t\\N\n`);
    const report = await validateBackup(store, id);
    expect(report.valid).toBe(false);
    expect(report.problems).toEqual(['egg.copy.zst: holds more than the manifest\'s 3 records; stopped reading there', 'employees.copy.zst: ends in the middle of a row (truncated)']);
  });

  it('a corrupted copy file is caught by validate, and restore refuses the backup and leaves the target alone', async () => {
    const id = '2021-01-03T00-00-00-000Z';
    await copyOf(id);
    const key = backup.manifest.tableDetails['everything']!.files[0]!.key;
    const file = path.join(backupDir(id), key);
    const bytes = await readFile(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
    await writeFile(file, bytes);
    const report = await validateBackup(store, id);
    expect(report.valid).toBe(false);
    expect(report.problems.join('\n')).toMatch(/everything\.copy\.zst: (SHA-256|cannot be decompressed)/);
    await expectRefusedLeavingTarget(id);
  });

  it('a source that writes only NDJSON (like the supabase driver) ignores rows: copy-text', async () => {
    const session = await openPostgresSource({ databaseUrl: source.url, tables: ['employees'] });
    try {
      const ndjsonOnly = { ...session, rowEncodings: undefined };
      const result = await createBackup({ store, source: ndjsonOnly, rows: 'copy-text', startedAt: new Date('2022-01-01T00:00:00Z') });
      expect(result.manifest.tableDetails['employees']!.files[0]).toMatchObject({ key: 'employees.ndjson.zst' });
      expect(result.manifest.tableDetails['employees']!.files[0]!.rows).toBeUndefined();
    } finally {
      await session.close();
    }
  });

  it('CLI: copy text by default, --rows json and ICONIC_DR_ROWS=json write NDJSON, the flag wins over the environment, bad values exit 2, --help lists --rows', async () => {
    const keyOf = async (stdout: string, table: string) => (await readManifestFile((JSON.parse(stdout) as { backupId: string }).backupId)).tableDetails[table]!.files[0]!;

    const plain = await runCli(['backup', '--db', source.url, '--to', files.root, '--tables', 'employees', '--json'], { ICONIC_DR_ROWS: '' });
    expect(plain.code).toBe(0);
    expect(await keyOf(plain.stdout, 'employees')).toMatchObject({ key: 'employees.copy.zst', rows: 'copy-text' });

    const env = await runCli(['backup', '--db', source.url, '--to', files.root, '--tables', 'egg', '--json'], { ICONIC_DR_ROWS: 'json' });
    expect(env.code).toBe(0);
    expect((await keyOf(env.stdout, 'egg')).key).toBe('egg.ndjson.zst');

    const json = await runCli(['backup', '--db', source.url, '--to', files.root, '--tables', 'egg', '--rows', 'json', '--json']);
    expect(json.code).toBe(0);
    expect((await keyOf(json.stdout, 'egg')).key).toBe('egg.ndjson.zst');

    const flag = await runCli(['backup', '--db', source.url, '--to', files.root, '--tables', 'egg', '--rows', 'copy', '--json'], { ICONIC_DR_ROWS: 'json' });
    expect(flag.code).toBe(0);
    expect(await keyOf(flag.stdout, 'egg')).toMatchObject({ key: 'egg.copy.zst', rows: 'copy-text' });

    const badFlag = await runCli(['backup', '--db', source.url, '--to', files.root, '--rows', 'csv']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/--rows.*csv.*(copy|json)/s);
    const badEnv = await runCli(['backup', '--db', source.url, '--to', files.root], { ICONIC_DR_ROWS: 'csv' });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('ICONIC_DR_ROWS must be copy or json');

    const help = await runCli(['backup', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--rows <encoding>\s+row encoding: copy/);
    expect(help.stdout).toContain('ICONIC_DR_ROWS');
  });
});
