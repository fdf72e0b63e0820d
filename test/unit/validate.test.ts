import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { BackupNotFoundError, UsageError } from '../../lambdas/core/errors.js';
import { type Manifest, serializeManifest, tableFileKey } from '../../lambdas/core/format/manifest.js';
import type { FileStore } from '../../lambdas/core/storage/file-store.js';
import {
  boundItemValidation,
  checkValidationItem,
  type ItemValidation,
  MAX_ITEM_PROBLEMS,
  MAX_PROBLEM_CHARS,
  planValidation,
  problemsPerItem,
  summarizeValidation,
  validateBackup,
} from '../../lambdas/core/validate.js';
import { tempFileStore } from '../helpers/engine.js';

/**
 * The pieces of a validation (lambdas/core/validate.ts) on backups written by hand into a folder:
 * the plan, the check of one item, the summary, and that `validateBackup` is exactly these pieces
 * put together (the state machines run them apart, in a Distributed Map).
 */

const ID = '2024-02-01T02-00-00-000Z';
const LEGACY_FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/legacy-backups/2024-01-15T02-00-00-000Z');

type Rows = Record<string, unknown>[];

/** A v1 backup: `products` in two part files, `orders` in one; gzip; one column each. */
async function writeV1Backup(root: string, options: { backupId?: string; stray?: boolean; ordersLines?: string[] } = {}): Promise<Manifest> {
  const files: Record<string, { table: string; rows: Rows | string[] }> = {
    [tableFileKey('products', 1, 'gzip')]: { table: 'products', rows: [{ id: 1 }, { id: 2 }] },
    [tableFileKey('products', 2, 'gzip')]: { table: 'products', rows: [{ id: 3 }] },
    [tableFileKey('orders', undefined, 'gzip')]: { table: 'orders', rows: options.ordersLines ?? [{ id: 10 }, { id: 11 }, { id: 12 }, { id: 13 }] },
  };
  const folder = path.join(root, ID);
  await mkdir(folder, { recursive: true });
  const tableDetails: Manifest['tableDetails'] = {};
  for (const [key, { table, rows }] of Object.entries(files)) {
    const bytes = gzipSync(rows.map((r) => `${typeof r === 'string' ? r : JSON.stringify(r)}\n`).join(''));
    await writeFile(path.join(folder, key), bytes);
    const entry = (tableDetails[table] ??= { schema: 'public', name: table, records: 0, bytes: 0, files: [], columns: [{ name: 'id', type: 'bigint', nullable: false, encoding: 'json' }], generatedColumns: [], primaryKey: ['id'], foreignKeys: [] });
    entry.files.push({ key, records: rows.length, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    entry.records += rows.length;
    entry.bytes += bytes.length;
  }
  const tables = ['products', 'orders'];
  const manifest: Manifest = {
    formatVersion: 1,
    backupId: options.backupId ?? ID,
    timestamp: '2024-02-01T02:00:00.000Z',
    completedAt: '2024-02-01T02:00:05.000Z',
    durationMs: 5000,
    tables,
    recordCounts: Object.fromEntries(tables.map((t) => [t, tableDetails[t]!.records])),
    totalRecords: tables.reduce((sum, t) => sum + tableDetails[t]!.records, 0),
    totalBytes: tables.reduce((sum, t) => sum + tableDetails[t]!.bytes, 0),
    success: true,
    consistency: 'snapshot',
    purpose: 'backup',
    source: { driver: 'postgres', host: 'db:5432', database: 'shop' },
    tableDetails,
    sequences: [],
    compression: 'gzip',
  };
  await writeFile(path.join(folder, 'metadata.json'), serializeManifest(manifest));
  if (options.stray) await writeFile(path.join(folder, 'notes.txt'), 'not part of the backup');
  return manifest;
}

async function flipByte(file: string): Promise<void> {
  const bytes = await readFile(file);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x24;
  await writeFile(file, bytes);
}

describe('the pieces of a validation', () => {
  let store: FileStore;
  let root: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, root, cleanup } = await tempFileStore());
  });
  afterEach(async () => cleanup());

  describe('planValidation', () => {
    it('lists every table file in manifest order with the tables it folds into, and reads no table file', async () => {
      const manifest = await writeV1Backup(root, { backupId: 'copied-from-elsewhere', stray: true });
      // Unreadable table files would fail a check; the plan does not read them.
      await rm(path.join(root, ID, tableFileKey('orders', undefined, 'gzip')));
      const { plan, backup } = await planValidation(store, ID);
      expect(backup?.format).toBe('v1');
      expect(plan).toEqual({
        backupId: ID,
        location: store.description,
        format: 'v1',
        level: 'rows',
        problems: [],
        warnings: [`metadata.json names backup copied-from-elsewhere but the folder is ${ID} (renamed or copied)`, 'notes.txt: not listed in metadata.json'],
        tables: [
          { table: 'products', expectedRecords: 3 },
          { table: 'orders', expectedRecords: 4 },
        ],
        items: [
          { kind: 'table', table: 'products', key: 'products.part-0001.ndjson.gz' },
          { kind: 'table', table: 'products', key: 'products.part-0002.ndjson.gz' },
          { kind: 'table', table: 'orders', key: 'orders.ndjson.gz' },
        ],
        totalRecords: 7,
        totalBytes: manifest.totalBytes,
      });
      // Plain data: what travels between Step Functions states.
      expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
    });

    it('takes the check level from the options', async () => {
      await writeV1Backup(root);
      expect((await planValidation(store, ID, { quick: true })).plan.level).toBe('sizes');
      expect((await planValidation(store, ID, { checksumsOnly: true })).plan.level).toBe('checksums');
    });

    it('lists a legacy backup\'s `<table>.json` files, with what is stored as its bytes', async () => {
      await cp(LEGACY_FIXTURE, path.join(root, ID), { recursive: true });
      const legacy = JSON.parse(await readFile(path.join(LEGACY_FIXTURE, 'metadata.json'), 'utf8')) as { tables: string[]; recordCounts: Record<string, number> };
      const { plan, backup } = await planValidation(store, ID);
      expect(backup?.format).toBe('legacy');
      expect(plan).toMatchObject({ format: 'legacy', problems: [], warnings: [], totalRecords: 22 });
      expect(plan.items).toEqual(legacy.tables.map((table) => ({ kind: 'table', table, key: `${table}.json` })));
      expect(plan.tables).toEqual(legacy.tables.map((table) => ({ table, expectedRecords: legacy.recordCounts[table] })));
      const stored = (await store.listObjects(`${ID}/`)).reduce((sum, o) => sum + o.size, 0);
      expect(plan.totalBytes).toBe(stored);
    });

    it('makes an unusable manifest a result with no items, and throws only when there is no backup at all', async () => {
      await mkdir(path.join(root, ID));
      await writeFile(path.join(root, ID, 'metadata.json'), '{ not json');
      const broken = await planValidation(store, ID);
      expect(broken.backup).toBeUndefined();
      expect(broken.plan).toMatchObject({ format: 'unknown', items: [], tables: [], problems: [expect.stringMatching(/^metadata\.json is not valid JSON/)] });

      await rm(path.join(root, ID, 'metadata.json'));
      await writeFile(path.join(root, ID, 'orders.ndjson.gz'), 'partial');
      expect((await planValidation(store, ID)).plan).toMatchObject({ format: 'unknown', items: [], problems: ['metadata.json: missing (the backup is incomplete)'], totalBytes: 7 });

      await expect(planValidation(store, '2030-01-01T00-00-00-000Z')).rejects.toBeInstanceOf(BackupNotFoundError);
    });
  });

  describe('checkValidationItem', () => {
    it('counts the rows of a good file and finds nothing wrong', async () => {
      await writeV1Backup(root);
      const { plan, backup } = await planValidation(store, ID);
      expect(await checkValidationItem(store, ID, backup!, plan.items[0]!)).toEqual({ key: 'products.part-0001.ndjson.gz', table: 'products', records: 2, problems: [] });
      // Sizes only: nothing read, nothing counted.
      expect(await checkValidationItem(store, ID, backup!, plan.items[2]!, { quick: true })).toEqual({ key: 'orders.ndjson.gz', table: 'orders', problems: [] });
    });

    it('reports a corrupted file and a missing one as the file\'s problems, each on its own', async () => {
      await writeV1Backup(root);
      const { plan, backup } = await planValidation(store, ID);
      await flipByte(path.join(root, ID, 'orders.ndjson.gz'));
      await rm(path.join(root, ID, 'products.part-0002.ndjson.gz'));
      const corrupted = await checkValidationItem(store, ID, backup!, plan.items[2]!);
      expect(corrupted.problems.length).toBeGreaterThan(0);
      expect(corrupted.problems.join('\n')).toMatch(/^orders\.ndjson\.gz: (SHA-256|cannot be decompressed|line)/m);
      expect(await checkValidationItem(store, ID, backup!, plan.items[1]!)).toEqual({ key: 'products.part-0002.ndjson.gz', table: 'products', problems: ['products.part-0002.ndjson.gz: missing'] });
      // The other part of the same table is fine on its own.
      expect((await checkValidationItem(store, ID, backup!, plan.items[0]!)).problems).toEqual([]);
    });

    it('checks every NDJSON row: a JSON object with the table\'s columns, nothing else (each bad line named, the rest counted)', async () => {
      const ordersLines = ['{"id":10}', ' { "id" : 11 } ', '{"id":12,"extra":1}', '{}', '[10]', '{"id":1', '{"id":01}', '{"id":"raw\ttab"}', '{"id":"\\u00e9"}', 'null'];
      await writeV1Backup(root, { ordersLines });
      const { plan, backup } = await planValidation(store, ID);
      const check = await checkValidationItem(store, ID, backup!, plan.items[2]!);
      expect(check.records).toBe(ordersLines.length);
      expect(check.problems).toEqual([
        'orders.ndjson.gz: line 3 is not a JSON object with the table\'s 1 columns',
        'orders.ndjson.gz: line 4 is not a JSON object with the table\'s 1 columns',
        'orders.ndjson.gz: line 5 is not a JSON object with the table\'s 1 columns',
        'orders.ndjson.gz: line 6 is not a JSON object with the table\'s 1 columns',
        'orders.ndjson.gz: line 7 is not a JSON object with the table\'s 1 columns',
        'orders.ndjson.gz: 2 more bad lines',
      ]);
    });

    it('refuses an item the manifest does not list, saying to plan again', async () => {
      await writeV1Backup(root);
      const { backup } = await planValidation(store, ID);
      const check = checkValidationItem(store, ID, backup!, { kind: 'table', table: 'orders', key: 'products.part-0001.ndjson.gz' });
      await expect(check).rejects.toBeInstanceOf(UsageError);
      await expect(check).rejects.toThrow(/products\.part-0001\.ndjson\.gz is not a file of table orders .*validate again from a new plan/);
      await expect(checkValidationItem(store, ID, backup!, { kind: 'schema', key: 'schema.json' })).rejects.toThrow(/is not a schema file/);
    });

    it('checks a legacy file: parsed, counted, its elements objects', async () => {
      await cp(LEGACY_FIXTURE, path.join(root, ID), { recursive: true });
      await writeFile(path.join(root, ID, 'orders.json'), '[{"id": 1}, 2]');
      const { plan, backup } = await planValidation(store, ID);
      const orders = plan.items.find((item) => item.key === 'orders.json')!;
      expect(await checkValidationItem(store, ID, backup!, orders)).toEqual({ key: 'orders.json', table: 'orders', records: 2, problems: ['orders.json: element 2 is not a JSON object'] });
      expect(await checkValidationItem(store, ID, backup!, plan.items.find((item) => item.key === 'users.json')!)).toEqual({ key: 'users.json', table: 'users', records: 3, problems: [] });
    });
  });

  describe('summarizeValidation', () => {
    async function checksOf(options: { quick?: boolean } = {}): Promise<{ plan: Awaited<ReturnType<typeof planValidation>>['plan']; checks: ItemValidation[] }> {
      const { plan, backup } = await planValidation(store, ID, options);
      const checks: ItemValidation[] = [];
      for (const item of plan.items) checks.push(await checkValidationItem(store, ID, backup!, item, options));
      return { plan, checks };
    }

    it('folds the checks into the report validateBackup gives: each table\'s files summed, problems in manifest order', async () => {
      await writeV1Backup(root);
      await rm(path.join(root, ID, 'products.part-0002.ndjson.gz'));
      await flipByte(path.join(root, ID, 'orders.ndjson.gz'));
      const { plan, checks } = await checksOf();
      const report = summarizeValidation(plan, checks);
      expect(report).toEqual(await validateBackup(store, ID));
      expect(report.valid).toBe(false);
      expect(report.problems[0]).toBe('products.part-0002.ndjson.gz: missing');
      expect(report.problems.slice(1).every((p) => p.startsWith('orders.ndjson.gz: '))).toBe(true);
      // A table whose file was not read to its end has no count; the manifest's promise stays.
      expect(report.tables.map((t) => [t.table, t.expectedRecords, t.ok])).toEqual([
        ['products', 3, false],
        ['orders', 4, false],
      ]);
      expect(report.tables[0]!.records).toBeUndefined();
    });

    it('sums the records of a table\'s parts when the backup is good, at every level the same as validateBackup', async () => {
      await writeV1Backup(root);
      const full = await checksOf();
      const report = summarizeValidation(full.plan, full.checks);
      expect(report).toMatchObject({ valid: true, problems: [], totalRecords: 7 });
      expect(report.tables.map((t) => [t.table, t.records])).toEqual([
        ['products', 3],
        ['orders', 4],
      ]);
      expect(report).toEqual(await validateBackup(store, ID));
      const quick = await checksOf({ quick: true });
      expect(summarizeValidation(quick.plan, quick.checks)).toEqual(await validateBackup(store, ID, { quick: true }));
      expect(summarizeValidation(quick.plan, quick.checks).tables.every((t) => t.records === undefined)).toBe(true);
    });

    it('reports an unusable manifest as invalid without any check, and a legacy backup like validateBackup', async () => {
      await mkdir(path.join(root, ID));
      await writeFile(path.join(root, ID, 'metadata.json'), '[]');
      const { plan } = await planValidation(store, ID);
      expect(summarizeValidation(plan, [])).toEqual(await validateBackup(store, ID));
      expect(summarizeValidation(plan, [])).toMatchObject({ format: 'unknown', valid: false, tables: [] });

      await rm(path.join(root, ID), { recursive: true });
      await cp(LEGACY_FIXTURE, path.join(root, ID), { recursive: true });
      await writeFile(path.join(root, ID, 'reviews.json'), '{"not": "an array"}');
      const legacy = await checksOf();
      expect(summarizeValidation(legacy.plan, legacy.checks)).toEqual(await validateBackup(store, ID));
      expect(summarizeValidation(legacy.plan, legacy.checks).problems).toEqual(['reviews.json: not a JSON array']);
    });

    it('refuses checks that do not match the plan: one missing, or another file in its place', async () => {
      await writeV1Backup(root);
      const { plan, checks } = await checksOf();
      expect(() => summarizeValidation(plan, checks.slice(1))).toThrow(UsageError);
      expect(() => summarizeValidation(plan, [checks[1]!, checks[0]!, checks[2]!])).toThrow(/check 1 is of products\.part-0002\.ndjson\.gz, the plan's file 1 is products\.part-0001\.ndjson\.gz/);
    });
  });

  describe('bounds for results that travel between states', () => {
    it('keeps at most maxProblems problems, the last saying how many more, each clipped', () => {
      const result = { key: 'orders.ndjson.gz', table: 'orders', problems: ['a', 'b', 'c', 'd', 'x'.repeat(MAX_PROBLEM_CHARS + 50)] };
      expect(boundItemValidation(result, 10)).toEqual({ ...result, problems: ['a', 'b', 'c', 'd', `${'x'.repeat(MAX_PROBLEM_CHARS - 1)}…`] });
      expect(boundItemValidation(result, 3)).toEqual({ ...result, problems: ['a', 'b', 'orders.ndjson.gz: 3 more problems'] });
      expect(boundItemValidation(result, 1).problems).toEqual(['orders.ndjson.gz: 5 more problems']);
      expect(boundItemValidation({ ...result, problems: [] }, 1).problems).toEqual([]);
    });

    it('shares a budget between the items: at least one problem each, at most MAX_ITEM_PROBLEMS', () => {
      expect(problemsPerItem(0, 1000)).toBe(MAX_ITEM_PROBLEMS);
      expect(problemsPerItem(3, 96 * 1024)).toBe(MAX_ITEM_PROBLEMS);
      expect(problemsPerItem(50, 96 * 1024)).toBe(6);
      expect(problemsPerItem(5000, 96 * 1024)).toBe(1);
      // What the budget promises: every item's problems, at full length, fit in it.
      for (const items of [1, 7, 40, 327]) expect(items * problemsPerItem(items, 96 * 1024) * MAX_PROBLEM_CHARS).toBeLessThanOrEqual(96 * 1024);
    });
  });
});
