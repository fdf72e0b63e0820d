import { createHash } from 'node:crypto';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decompress as bindingDecompress } from '@mongodb-js/zstd';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createBackup, type BackupResult } from '../../lambdas/core/backup.js';
import { InvalidBackupError } from '../../lambdas/core/errors.js';
import { ZSTD_FRAME_BYTES, compressor, type Codec } from '../../lambdas/core/format/codec.js';
import type { RowEncoding } from '../../lambdas/core/format/row-encoding.js';
import { restoreBackup } from '../../lambdas/core/restore.js';
import { createShop, SHOP_SCHEMA_SQL, SHOP_TABLES } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { openPostgresSource } from '../../lambdas/core/postgres/source.js';
import { streamBuffers } from '../../lambdas/core/util/buffer-pool.js';
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

  async function backup(codec: Codec | undefined, startedAt: string, rows?: RowEncoding): Promise<BackupResult> {
    const session = await openPostgresSource({ databaseUrl: source.url, jobs: 2 });
    try {
      return await createBackup({ store: files.store, source: session, startedAt: new Date(startedAt), ...(codec ? { compression: codec } : {}), ...(rows ? { rows } : {}) });
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
    // gzip NDJSON: what every version before zstd and copy text wrote.
    backups.set('gzip', await backup('gzip', '2026-03-02T00:00:00Z', 'ndjson'));
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
    await files?.cleanup();
  });

  it('a backup is zstd copy text by default, and its manifest says so for every file', () => {
    const manifest = backups.get('default')!.manifest;
    expect(manifest.compression).toBe('zstd');
    const fileEntries = Object.values(manifest.tableDetails).flatMap((t) => t.files);
    expect(fileEntries.length).toBe(SHOP_TABLES.length + 1);
    expect(manifest.tableDetails['empty_things']!.files[0]!.bytes).toBeGreaterThan(0);
    for (const f of fileEntries) {
      expect(f.compression).toBe('zstd');
      expect(f.rows).toBe('copy-text');
      expect(f.key.endsWith('.copy.zst')).toBe(true);
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
    expect(report.problems.join('\n')).toMatch(/orders\.copy\.zst: (SHA-256|cannot be decompressed)/);
    const error = await restoreBackup({ store: files.store, backupId: id, databaseUrl: target.url }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidBackupError);
  });
});

describe('files of many zstd frames: validate and restore read each frame in a pooled block and give it back, restore\'s output slabs too (real Postgres)', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  let backupId: string;
  let fileBytes: number;

  /**
   * Holds every idle block of the pool, so that a block not given back shows as a new one made; also
   * says how many blocks were back in the pool when `run` ended.
   */
  async function blocksWhile(run: () => Promise<unknown>): Promise<{ readonly made: number; readonly backAfter: number }> {
    const held = Array.from({ length: 32 }, () => streamBuffers.take());
    const before = streamBuffers.madeBytes;
    try {
      await run();
      return { made: streamBuffers.madeBytes - before, backAfter: streamBuffers.idleCount };
    } finally {
      for (const block of held) streamBuffers.give(block);
    }
  }
  const blocksMadeWhile = async (run: () => Promise<unknown>) => (await blocksWhile(run)).made;

  beforeAll(async () => {
    source = await createTestDatabase('frames_src');
    target = await createTestDatabase('frames_dst');
    // ~9 MiB of NDJSON: nine frames, rows cut at every frame's end; text, jsonb and NULLs.
    const schema = "CREATE TABLE notes (id int PRIMARY KEY, body text, details jsonb, tags text[])";
    const s = await connect(source.url);
    await s.query(schema);
    await s.query(`INSERT INTO notes SELECT i,
        'Order ' || i || ' left the ' || (ARRAY['Amsterdam','Lisbon','Oslo','Austin'])[1 + i % 4] || ' warehouse on ' || (DATE '2026-01-01' + i % 300) || E'; the courier said "ring twice"\\n',
        CASE WHEN i % 7 = 0 THEN NULL ELSE jsonb_build_object('carrier', (ARRAY['dhl','ups','postnl'])[1 + i % 3], 'weight_g', i % 5000, 'signed', i % 2 = 0) END,
        ARRAY['gift', 'priority ' || i % 3]
      FROM generate_series(1, 60000) AS i`);
    await s.end();
    const t = await connect(target.url);
    await t.query(schema);
    await t.end();
    files = await tempFileStore();
    const session = await openPostgresSource({ databaseUrl: source.url, jobs: 1 });
    try {
      const written = await createBackup({ store: files.store, source: session, startedAt: new Date('2026-03-05T00:00:00Z'), rows: 'ndjson' });
      backupId = written.backupId;
      fileBytes = written.manifest.tableDetails['notes']!.files[0]!.bytes;
    } finally {
      await session.close();
    }
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
    await files?.cleanup();
  });

  it('the backup holds one file of many frames', async () => {
    const compressed = await readFile(path.join(files.root, backupId, 'notes.ndjson.zst'));
    expect(compressed.length).toBe(fileBytes);
    expect((await bindingDecompress(compressed)).length).toBeGreaterThan(8 * ZSTD_FRAME_BYTES);
  });

  it('validate checks every row and makes at most a few blocks: each frame goes back to the pool once checked', async () => {
    let report: Awaited<ReturnType<typeof validateBackup>> | undefined;
    const made = await blocksMadeWhile(async () => (report = await validateBackup(files.store, backupId)));
    expect(report!.problems).toEqual([]);
    expect(report!.valid).toBe(true);
    expect(made).toBeLessThanOrEqual(3 * ZSTD_FRAME_BYTES);
  });

  it('validate still finds a bad row in a later frame, by its line number', async () => {
    const id = '2026-03-06T00-00-00-000Z';
    await cp(path.join(files.root, backupId), path.join(files.root, id), { recursive: true });
    const file = path.join(files.root, id, 'notes.ndjson.zst');
    const text = await bindingDecompress(await readFile(file));
    const lines = text.toString().split('\n');
    lines[50_000 - 1] = lines[50_000 - 1]!.replace('"tags":', '"tags"');
    // Written again as the backup writes it, in frames of 1 MiB.
    const frames: Buffer[] = [];
    await pipeline(Readable.from([Buffer.from(lines.join('\n'))]), compressor('zstd'), async (out: AsyncIterable<Buffer>) => {
      for await (const frame of out) frames.push(frame);
    });
    const bytes = Buffer.concat(frames);
    await writeFile(file, bytes);
    const manifestFile = path.join(files.root, id, 'metadata.json');
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    manifest.backupId = id;
    manifest.tableDetails.notes.bytes = bytes.length;
    manifest.totalBytes += bytes.length - manifest.tableDetails.notes.files[0].bytes;
    manifest.tableDetails.notes.files[0].bytes = bytes.length;
    manifest.tableDetails.notes.files[0].sha256 = createHash('sha256').update(bytes).digest('hex');
    await writeFile(manifestFile, JSON.stringify(manifest, null, 2));
    const report = await validateBackup(files.store, id);
    expect(report.problems).toEqual(['notes.ndjson.zst: line 50000 is not a JSON object with the table\'s 4 columns']);
  });

  it('restore converts every frame, gives each back and each output slab once the socket has written it, and the rows are the source\'s exactly', async () => {
    const { made, backAfter } = await blocksWhile(() => restoreBackup({ store: files.store, backupId, databaseUrl: target.url }));
    expect(await snapshotTables(target, ['notes'])).toEqual(await snapshotTables(source, ['notes']));
    // Every block it made is back in the pool once it is done, whatever the load: nothing kept, nothing lost.
    expect(backAfter).toBe(made / ZSTD_FRAME_BYTES);
    // Blocks in flight at once: a frame each in the decompressor, the row limit and the converter,
    // and the output slabs waiting in the Readable, the COPY stream and the socket until written.
    // 3 on a quiet machine; 3-7 in four runs at a load average of 8, and one full-suite run under
    // that load went past 7. Nothing given back would be 13 or more (every frame and every output
    // slab a new block), so 10 still tells the two apart.
    expect(made).toBeLessThanOrEqual(10 * ZSTD_FRAME_BYTES);
  });
});
