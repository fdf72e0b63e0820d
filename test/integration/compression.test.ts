import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createBackup, type BackupResult } from '../../lambdas/core/backup.js';
import { InvalidBackupError } from '../../lambdas/core/errors.js';
import type { Codec } from '../../lambdas/core/format/codec.js';
import { restoreBackup } from '../../lambdas/core/restore.js';
import { createShop, SHOP_SCHEMA_SQL, SHOP_TABLES } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { openPostgresSource } from '../../lambdas/core/postgres/source.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import { snapshotTables } from '../helpers/compare.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { tempFileStore } from '../helpers/engine.js';

describe('table file codecs end to end: zstd (default) and gzip backups validate and restore exactly (real Postgres)', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  let expected: Record<string, string[]>;
  const backups = new Map<Codec | 'default', BackupResult>();

  async function backup(codec: Codec | undefined, startedAt: string): Promise<BackupResult> {
    const session = await openPostgresSource({ databaseUrl: source.url, jobs: 2 });
    try {
      return await createBackup({ store: files.store, source: session, startedAt: new Date(startedAt), ...(codec ? { compression: codec } : {}) });
    } finally {
      await session.close();
    }
  }

  async function restoreAndCompare(backupId: string): Promise<void> {
    await restoreBackup({ store: files.store, backupId, databaseUrl: target.url });
    expect(await snapshotTables(target, SHOP_TABLES)).toEqual(expected);
  }

  beforeAll(async () => {
    source = await createTestDatabase('codec_src');
    target = await createTestDatabase('codec_dst');
    const s = await connect(source.url);
    await createShop(s, 0.004);
    // An empty table: its zstd file must still be a valid, non-empty file.
    await s.query('CREATE TABLE empty_things (id int PRIMARY KEY)');
    await s.end();
    const t = await connect(target.url);
    await t.query(SHOP_SCHEMA_SQL);
    await t.query('CREATE TABLE empty_things (id int PRIMARY KEY)');
    await t.end();
    files = await tempFileStore();
    expected = await snapshotTables(source, SHOP_TABLES);
    backups.set('default', await backup(undefined, '2026-03-01T00:00:00Z'));
    backups.set('gzip', await backup('gzip', '2026-03-02T00:00:00Z'));
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
    await files?.cleanup();
  });

  it('a backup is zstd by default, and its manifest says so for every file', () => {
    const manifest = backups.get('default')!.manifest;
    expect(manifest.compression).toBe('zstd');
    const fileEntries = Object.values(manifest.tableDetails).flatMap((t) => t.files);
    expect(fileEntries.length).toBe(SHOP_TABLES.length + 1);
    expect(manifest.tableDetails['empty_things']!.files[0]!.bytes).toBeGreaterThan(0);
    for (const f of fileEntries) {
      expect(f.compression).toBe('zstd');
      expect(f.key.endsWith('.ndjson.zst')).toBe(true);
    }
  });

  it('the zstd backup validates in full and restores exactly', async () => {
    const id = backups.get('default')!.backupId;
    const report = await validateBackup(files.store, id);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
    expect(report.tables.every((t) => t.records === t.expectedRecords)).toBe(true);
    await restoreAndCompare(id);
  });

  it('a gzip backup (ICONIC_DR_COMPRESSION=gzip, or any older backup) still validates and restores exactly', async () => {
    const written = backups.get('gzip')!;
    expect(Object.values(written.manifest.tableDetails).every((t) => t.files.every((f) => f.compression === 'gzip' && f.key.endsWith('.ndjson.gz')))).toBe(true);
    expect((await validateBackup(files.store, written.backupId)).valid).toBe(true);
    await restoreAndCompare(written.backupId);
  });

  it('a gzip manifest written before codecs were recorded per file (no compression fields) restores as gzip', async () => {
    const written = backups.get('gzip')!;
    const id = '2026-03-03T00-00-00-000Z';
    await cp(path.join(files.root, written.backupId), path.join(files.root, id), { recursive: true });
    const manifestFile = path.join(files.root, id, 'metadata.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    delete manifest.compression;
    for (const table of Object.values(manifest.tableDetails) as { files: { compression?: string }[] }[]) for (const f of table.files) delete f.compression;
    manifest.backupId = id;
    await writeFile(manifestFile, JSON.stringify(manifest, null, 2));
    expect((await validateBackup(files.store, id)).valid).toBe(true);
    await restoreAndCompare(id);
  });

  it('a corrupted zstd file is caught by validate, and restore refuses the backup', async () => {
    const good = backups.get('default')!;
    const id = '2026-03-04T00-00-00-000Z';
    await cp(path.join(files.root, good.backupId), path.join(files.root, id), { recursive: true });
    const key = good.manifest.tableDetails['orders']!.files[0]!.key;
    const file = path.join(files.root, id, key);
    const bytes = await readFile(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
    await writeFile(file, bytes);
    const report = await validateBackup(files.store, id);
    expect(report.valid).toBe(false);
    expect(report.problems.join('\n')).toMatch(/orders\.ndjson\.zst: (SHA-256|cannot be decompressed)/);
    const error = await restoreBackup({ store: files.store, backupId: id, databaseUrl: target.url }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidBackupError);
  });
});
