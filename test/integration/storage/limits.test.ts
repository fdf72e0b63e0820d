import { createHash } from 'node:crypto';
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { decompressor } from '../../../lambdas/core/format/codec.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listBackups } from '../../../lambdas/core/catalog.js';
import { InvalidBackupError } from '../../../lambdas/core/errors.js';
import { MAX_MANIFEST_BYTES } from '../../../lambdas/core/limits.js';
import { restoreBackup } from '../../../lambdas/core/restore.js';
import { SHOP_SCHEMA_SQL, SHOP_TABLES, createShop } from '../../../lambdas/core/sample/shop.js';
import { connect } from '../../../lambdas/core/postgres/connection.js';
import type { BackupStore } from '../../../lambdas/core/storage/store.js';
import { validateBackup } from '../../../lambdas/core/validate.js';
import { runCli } from '../../helpers/cli.js';
import { snapshotTables } from '../../helpers/compare.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { backupDatabase, tempFileStore } from '../../helpers/engine.js';

const MiB = 1024 * 1024;

async function gzipOf(chunks: Iterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), createGzip({ level: 9 }), async function* (source) {
    for await (const chunk of source) out.push(chunk as Buffer);
  });
  return Buffer.concat(out);
}

/** Puts `content` in place of a table's file and makes the manifest describe it (size, SHA-256), keeping its row count. */
async function plantFile(root: string, backupId: string, table: string, content: Buffer): Promise<void> {
  const folder = path.join(root, backupId);
  const manifestFile = path.join(folder, 'metadata.json');
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  const entry = manifest.tableDetails[table];
  const file = entry.files[0];
  await writeFile(path.join(folder, file.key), content);
  const delta = content.length - file.bytes;
  file.bytes = content.length;
  file.sha256 = createHash('sha256').update(content).digest('hex');
  // Planted as gzip (its bombs are easy to make): the file's own codec says so.
  file.compression = 'gzip';
  entry.bytes += delta;
  manifest.totalBytes += delta;
  await writeFile(manifestFile, JSON.stringify(manifest, null, 2));
}

/** A store that records which keys were opened for reading. */
function watched(store: BackupStore): { store: BackupStore; opened: string[] } {
  const opened: string[] = [];
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'readObject') return (key: string) => (opened.push(key), target.readObject(key));
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store: proxy, opened };
}

const ENCODINGS = [
  // Zeros are not a JSON object: the first byte of the line is enough to stop.
  { rows: 'ndjson', suffix: '.ndjson.zst', zerosRefused: /products\.ndjson\.zst: line 1 is not a JSON object/ },
  // products has an array column: its COPY text goes to the server, which refuses the NUL bytes.
  { rows: 'copy-text', suffix: '.copy.zst', zerosRefused: /products\.copy\.zst: line 1 is not COPY text PostgreSQL can read \(invalid byte sequence for encoding "UTF8": 0x00\)/ },
] as const;

describe.each(ENCODINGS)('decompression bombs in $rows files stop at the first row or byte too many (item 7)', ({ rows, suffix, zerosRefused }) => {
  let shop: TestDatabase;
  let target: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  let zerosId: string;
  let rowsId: string;
  let usersRecords: number;

  beforeAll(async () => {
    shop = await createTestDatabase('bombs');
    const client = await connect(shop.url);
    await createShop(client, 0.002);
    await client.end();
    target = await createTestDatabase('bombs_target');
    await target.query(SHOP_SCHEMA_SQL);
    await target.query("INSERT INTO users (email, full_name) VALUES ('before@example.com', 'Before the restore')");
    files = await tempFileStore();

    // 128 MiB of zeros in ~130 KB of gzip: one endless "line", twice the 64 MiB bound.
    zerosId = (await backupDatabase(files.store, shop.url, { startedAt: new Date('2026-01-01T00:00:00Z'), rows })).backupId;
    const zeros = Buffer.alloc(MiB);
    await plantFile(files.root, zerosId, 'products', await gzipOf((function* () {
      for (let i = 0; i < 128; i++) yield zeros;
    })()));

    // 300,000 valid rows of users where the manifest says a few hundred.
    rowsId = (await backupDatabase(files.store, shop.url, { startedAt: new Date('2026-01-02T00:00:00Z'), rows })).backupId;
    const manifest = JSON.parse(await readFile(path.join(files.root, rowsId, 'metadata.json'), 'utf8'));
    usersRecords = manifest.tableDetails.users.records;
    const firstRow: Buffer[] = [];
    await pipeline(Readable.from([await readFile(path.join(files.root, rowsId, `users${suffix}`))]), decompressor('zstd'), async function* (source) {
      for await (const chunk of source) firstRow.push(chunk as Buffer);
    });
    const row = Buffer.concat(firstRow).toString('utf8').split('\n')[0]!;
    const block = Buffer.from(`${row}\n`.repeat(1000));
    await plantFile(files.root, rowsId, 'users', await gzipOf((function* () {
      for (let i = 0; i < 300; i++) yield block;
    })()));
  });

  afterAll(async () => {
    await shop?.drop();
    await target?.drop();
    await files?.cleanup();
  });

  it('validate stops an endless line at the 64 MiB bound and says so', async () => {
    const report = await validateBackup(files.store, zerosId);
    expect(report.valid).toBe(false);
    expect(report.problems).toContain(`products${suffix}: line 1 is longer than 67108864 bytes (the limit for one row); stopped reading there`);
  });

  it('validate stops valid rows beyond the manifest\'s count at the first one too many', async () => {
    const report = await validateBackup(files.store, rowsId);
    expect(report.valid).toBe(false);
    expect(report.problems).toContain(`users${suffix}: holds more than the manifest's ${usersRecords} records; stopped reading there`);
  });

  it('restore refuses both as invalid backups (exit 1) and leaves the target as it was', async () => {
    const before = await snapshotTables(target, SHOP_TABLES);
    for (const backupId of [rowsId, zerosId]) {
      const error = await restoreBackup({ store: files.store, backupId, databaseUrl: target.url }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidBackupError);
      expect((error as InvalidBackupError).exitCode).toBe(1);
      expect((error as Error).message).toMatch(backupId === rowsId ? new RegExp(`users${suffix.replaceAll('.', '\\.')} holds more than the manifest's \\d+ rows`) : zerosRefused);
      expect(await snapshotTables(target, SHOP_TABLES)).toEqual(before);
    }
  });
});

describe('metadata.json has a size bound, checked before reading it (item 6)', () => {
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  const ID = '2026-02-01T00-00-00-000Z';

  beforeAll(async () => {
    files = await tempFileStore();
    await mkdir(path.join(files.root, ID));
    const manifest = path.join(files.root, ID, 'metadata.json');
    await writeFile(manifest, '');
    // Sparse: 64 MiB + 1 byte of NULs without writing them.
    await truncate(manifest, MAX_MANIFEST_BYTES + 1);
  });
  afterAll(async () => {
    await files?.cleanup();
  });

  it('validate reports it invalid without opening it', async () => {
    const { store, opened } = watched(files.store);
    const report = await validateBackup(store, ID);
    expect(report.valid).toBe(false);
    expect(report.problems[0]).toBe(`${ID}/metadata.json: larger than the ${MAX_MANIFEST_BYTES}-byte limit`);
    expect(opened).toEqual([]);
  });

  it('list shows it as not complete, with the reason, without opening it', async () => {
    const { store, opened } = watched(files.store);
    const listed = await listBackups(store);
    expect(listed).toMatchObject([{ backupId: ID, complete: false, problem: `metadata.json is ${MAX_MANIFEST_BYTES + 1} bytes, more than the ${MAX_MANIFEST_BYTES}-byte limit` }]);
    expect(opened).toEqual([]);
  });

  it('restore through the CLI refuses it with exit 1', async () => {
    const result = await runCli(['restore', ID, '--from', files.root, '--db', 'postgres://nobody@127.0.0.1:1/none', '--yes']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('metadata.json: larger than the 67108864-byte limit');
  });
});

