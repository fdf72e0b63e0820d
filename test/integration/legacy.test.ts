import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listBackups } from '../../lambdas/core/catalog.js';
import { InvalidBackupError } from '../../lambdas/core/errors.js';
import { restoreBackup } from '../../lambdas/core/restore.js';
import { SHOP_SCHEMA_SQL } from '../../lambdas/core/sample/shop.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import { verifyCounts } from '../../lambdas/core/verify.js';
import { checkIntegrity } from '../../lambdas/core/integrity.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { tempFileStore } from '../helpers/engine.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/legacy-backups');
const ID = '2024-01-15T02-00-00-000Z';

describe("backups in the plan's original layout (<table>.json arrays + the plan's metadata.json)", () => {
  let db: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFileStore>>;

  beforeAll(async () => {
    db = await createTestDatabase('legacy');
    await db.query(SHOP_SCHEMA_SQL);
    files = await tempFileStore();
    await cp(FIXTURE, files.root, { recursive: true });
  });

  afterAll(async () => {
    await db?.drop();
    await files?.cleanup();
  });

  it('are listed as complete legacy backups, and the logs folder is not a backup', async () => {
    const backups = await listBackups(files.store);
    expect(backups.map((b) => [b.backupId, b.complete, b.format, b.totalRecords])).toEqual([[ID, true, 'legacy', 22]]);
  });

  it('validate: every file parses as an array of the recorded length', async () => {
    const report = await validateBackup(files.store, ID);
    expect(report.problems).toEqual([]);
    expect(report.format).toBe('legacy');
    expect(report.tables.find((t) => t.table === 'order_items')).toMatchObject({ records: 3, expectedRecords: 3, ok: true });
  });

  it('restore: loads every row, skips generated columns, keeps identity values, fires no trigger, resets sequences', async () => {
    const result = await restoreBackup({ store: files.store, backupId: ID, databaseUrl: db.url });
    expect(result.totalRecords).toBe(22);
    const { rows: orders } = await db.query<{ id: string; total: string; notes: string | null }>('SELECT id::text, total::text, notes FROM orders ORDER BY id');
    expect(orders).toEqual([
      { id: '1', total: '87.47', notes: 'Leave at the door\nThanks!' },
      { id: '2', total: '250.00', notes: null },
    ]);
    const { rows: inventory } = await db.query<{ updated_at: string }>("SELECT to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS updated_at FROM inventory WHERE variant_id = 1");
    expect(inventory[0]!.updated_at).toBe('2024-01-14 23:59:59');
    const { rows: products } = await db.query<{ thumbnail: string; tags: string[] }>("SELECT encode(thumbnail, 'hex') AS thumbnail, tags FROM products WHERE id = 1");
    expect(products[0]).toEqual({ thumbnail: '89504e47', tags: ['new', 'summer'] });
    const { rows: next } = await db.query<{ id: string }>("INSERT INTO products (sku, name, price, category) VALUES ('SKU-NEW', 'New', 1, 'home') RETURNING id::text");
    expect(next[0]!.id).toBe('3');
    const { rows: customer } = await db.query<{ id: string }>("INSERT INTO customers (first_name, last_name) VALUES ('New', 'Customer') RETURNING id::text");
    expect(customer[0]!.id).toBe('3');
    await db.query("DELETE FROM products WHERE sku = 'SKU-NEW'");
    await db.query('DELETE FROM customers WHERE id = 3');
  });

  it('verify counts and integrity agree after the restore', async () => {
    const report = await verifyCounts(files.store, ID, db.url);
    expect(report.ok).toBe(true);
    expect(report.actualTotal).toBe(22);
    expect((await checkIntegrity(db.url)).orphans).toEqual([]);
  });

  it('a legacy file whose length differs from metadata.json is invalid and not restored', async () => {
    const copyId = '2024-01-16T02-00-00-000Z';
    await cp(path.join(files.root, ID), path.join(files.root, copyId), { recursive: true });
    const file = path.join(files.root, copyId, 'reviews.json');
    const rows = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify(rows.slice(0, 1)));
    const report = await validateBackup(files.store, copyId);
    expect(report.problems).toEqual(['reviews.json: 1 records, metadata.json says 2']);
    await expect(restoreBackup({ store: files.store, backupId: copyId, databaseUrl: db.url })).rejects.toBeInstanceOf(InvalidBackupError);
  });
});
