import { cp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BackupResult } from '../../lambdas/core/backup.js';
import { IntegrityError, InvalidBackupError, SchemaDriftError, UsageError } from '../../lambdas/core/errors.js';
import { restoreBackup } from '../../lambdas/core/restore.js';
import { createShop, SHOP_SCHEMA_SQL, SHOP_TABLES } from '../../lambdas/core/sample/shop.js';
import { tableFileKey } from '../../lambdas/core/format/manifest.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { backupDatabase, tempFileStore } from '../helpers/engine.js';
import { snapshotTables } from '../helpers/compare.js';

/** Polls `read` until `done` says its answer is the one awaited (by default: any rows), or 5 s pass; returns the last answer. */
async function waitFor<T extends unknown[]>(read: () => Promise<T>, done: (value: T) => boolean = (v) => v.length > 0): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(25);
  }
}

describe('validation catches corruption and restore refuses it, leaving the target unchanged (real Postgres)', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  let backup: BackupResult;
  let targetBefore: Record<string, string[]>;
  let copies = 0;

  /** A copy of the good backup under a new id, to corrupt. */
  async function copyOfBackup(): Promise<{ id: string; dir: string }> {
    const id = `2030-01-01T00-00-00-${String(++copies).padStart(3, '0')}Z`;
    const dir = path.join(files.root, id);
    await cp(path.join(files.root, backup.backupId), dir, { recursive: true });
    return { id, dir };
  }

  async function expectRefusedAndTargetUnchanged(id: string): Promise<InvalidBackupError> {
    const error = await restoreBackup({ store: files.store, backupId: id, databaseUrl: target.url }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidBackupError);
    expect(await snapshotTables(target, SHOP_TABLES)).toEqual(targetBefore);
    return error as InvalidBackupError;
  }

  beforeAll(async () => {
    source = await createTestDatabase('safety_src');
    target = await createTestDatabase('safety_dst');
    const s = await connect(source.url);
    await createShop(s, 0.004);
    await s.end();
    const t = await connect(target.url);
    await createShop(t, 0.001);
    await t.end();
    files = await tempFileStore();
    backup = await backupDatabase(files.store, source.url);
    targetBefore = await snapshotTables(target, SHOP_TABLES);
    expect(targetBefore['orders']!.length).toBeGreaterThan(0);
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
    await files?.cleanup();
  });

  it('a bit flip in a table file', async () => {
    const { id, dir } = await copyOfBackup();
    const file = path.join(dir, tableFileKey('orders', undefined, 'zstd', 'copy-text'));
    const bytes = await readFile(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x04;
    await writeFile(file, bytes);
    const report = await validateBackup(files.store, id);
    expect(report.valid).toBe(false);
    expect(report.problems.join('\n')).toMatch(/orders\.copy\.zst: (SHA-256|cannot be decompressed)/);
    await expectRefusedAndTargetUnchanged(id);
  });

  it('a truncated file', async () => {
    const { id, dir } = await copyOfBackup();
    const file = path.join(dir, tableFileKey('order_items', undefined, 'zstd', 'copy-text'));
    const size = (await readFile(file)).length;
    await truncate(file, Math.floor(size / 2));
    const report = await validateBackup(files.store, id);
    expect(report.problems.some((p) => p.startsWith('order_items.copy.zst:') && p.includes('truncated'))).toBe(true);
    expect((await validateBackup(files.store, id, { quick: true })).valid).toBe(false);
    await expectRefusedAndTargetUnchanged(id);
  });

  it('a missing file', async () => {
    const { id, dir } = await copyOfBackup();
    await rm(path.join(dir, tableFileKey('reviews', undefined, 'zstd', 'copy-text')));
    const report = await validateBackup(files.store, id);
    expect(report.problems).toContain('reviews.copy.zst: missing');
    await expectRefusedAndTargetUnchanged(id);
  });

  it('a zero-byte file', async () => {
    const { id, dir } = await copyOfBackup();
    await truncate(path.join(dir, tableFileKey('users', undefined, 'zstd', 'copy-text')), 0);
    const report = await validateBackup(files.store, id);
    expect(report.problems.some((p) => p.startsWith('users.copy.zst: empty file (0 bytes)'))).toBe(true);
    await expectRefusedAndTargetUnchanged(id);
  });

  it('a record count tampered with in metadata.json, consistently everywhere', async () => {
    const { id, dir } = await copyOfBackup();
    const manifestFile = path.join(dir, 'metadata.json');
    const m = JSON.parse(await readFile(manifestFile, 'utf8'));
    m.recordCounts.products += 1;
    m.tableDetails.products.records += 1;
    m.tableDetails.products.files[0].records += 1;
    m.totalRecords += 1;
    await writeFile(manifestFile, JSON.stringify(m));
    const report = await validateBackup(files.store, id);
    expect(report.problems).toContain(`products.copy.zst: ${m.recordCounts.products - 1} records, the manifest says ${m.recordCounts.products}`);
    await expectRefusedAndTargetUnchanged(id);
  });

  it('a record count tampered with in one place only (totals no longer add up)', async () => {
    const { id, dir } = await copyOfBackup();
    const manifestFile = path.join(dir, 'metadata.json');
    const m = JSON.parse(await readFile(manifestFile, 'utf8'));
    m.recordCounts.orders = 1;
    await writeFile(manifestFile, JSON.stringify(m));
    const report = await validateBackup(files.store, id);
    expect(report.problems.join('\n')).toMatch(/recordCounts\.orders/);
    await expectRefusedAndTargetUnchanged(id);
  });

  it('a metadata.json that is not JSON', async () => {
    const { id, dir } = await copyOfBackup();
    await writeFile(path.join(dir, 'metadata.json'), '{"formatVersion": 1, "tables": [');
    const report = await validateBackup(files.store, id);
    expect(report.problems[0]).toMatch(/metadata\.json is not valid JSON/);
    await expectRefusedAndTargetUnchanged(id);
  });

  it('reports every problem, not only the first', async () => {
    const { id, dir } = await copyOfBackup();
    await rm(path.join(dir, tableFileKey('reviews', undefined, 'zstd', 'copy-text')));
    await truncate(path.join(dir, tableFileKey('users', undefined, 'zstd', 'copy-text')), 0);
    await writeFile(path.join(dir, tableFileKey('wishlists', undefined, 'zstd', 'copy-text')), 'not gzip');
    const report = await validateBackup(files.store, id);
    expect(report.problems.filter((p) => /^(reviews|users|wishlists)\.copy\.zst/.test(p)).length).toBeGreaterThanOrEqual(3);
    expect(report.tables.filter((t) => !t.ok).map((t) => t.table).sort()).toEqual(['reviews', 'users', 'wishlists']);
    const error = await expectRefusedAndTargetUnchanged(id);
    expect(error.problems.length).toBe(report.problems.length);
  });

  it('an incomplete backup (no metadata.json) is refused', async () => {
    const { id, dir } = await copyOfBackup();
    await rm(path.join(dir, 'metadata.json'));
    const report = await validateBackup(files.store, id);
    expect(report.valid).toBe(false);
    expect(report.problems[0]).toMatch(/metadata\.json: missing/);
    const error = await restoreBackup({ store: files.store, backupId: id, databaseUrl: target.url }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/incomplete|not valid/);
    expect(await snapshotTables(target, SHOP_TABLES)).toEqual(targetBefore);
  });

  it('a restore failing half-way (a constraint violation in the last table) leaves the target exactly as before', async () => {
    await target.query('ALTER TABLE wishlists ADD CONSTRAINT only_early_products CHECK (product_id < 3) NOT VALID');
    try {
      const error = await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: target.url }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IntegrityError);
      expect(String((error as Error).message)).toMatch(/while loading wishlists.*rolled back/);
      expect(await snapshotTables(target, SHOP_TABLES)).toEqual(targetBefore);
    } finally {
      await target.query('ALTER TABLE wishlists DROP CONSTRAINT only_early_products');
    }
  });

  it('rows that would be orphans (a subset restore whose parents are missing) roll back the whole restore', async () => {
    const error = await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: target.url, tables: ['order_items'] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IntegrityError);
    expect(String((error as Error).message)).toMatch(/order_items.*orders/);
    expect(await snapshotTables(target, SHOP_TABLES)).toEqual(targetBefore);
  });

  it('schema drift is refused with a message naming the table and column', async () => {
    const drifted = await createTestDatabase('safety_drift');
    try {
      await drifted.query(SHOP_SCHEMA_SQL);
      await drifted.query('ALTER TABLE products DROP COLUMN thumbnail');
      await drifted.query('ALTER TABLE orders ALTER COLUMN notes TYPE varchar(500)');
      await drifted.query('ALTER TABLE reviews ADD COLUMN helpful integer NOT NULL');
      // A target-only column that can take its default is no drift to refuse (a newer migration); this one cannot.
      await drifted.query('ALTER TABLE reviews ADD COLUMN source text');
      const error = (await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: drifted.url }).catch((e: unknown) => e)) as SchemaDriftError;
      expect(error).toBeInstanceOf(SchemaDriftError);
      expect([...error.differences].sort()).toEqual(
        ['orders.notes: type text in the backup, character varying(500) in the target', 'products.thumbnail: column missing in the target', 'reviews.helpful: column exists only in the target, NOT NULL without a default'],
      );
      for (const difference of error.differences) expect(error.message).toContain(difference);
      const { rows } = await drifted.query<{ n: string }>('SELECT count(*)::text AS n FROM users');
      expect(rows[0]!.n).toBe('0');
    } finally {
      await drifted.drop();
    }
  });

  it('connects to the target while the backup is checked, and runs nothing on it before the check passes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let reads = 0;
    // The store answers nothing until the connection is seen: the two must be under way together.
    const held = new Proxy(files.store, {
      get(store, name, receiver) {
        const value = Reflect.get(store, name, receiver) as unknown;
        if (name !== 'listObjects' && name !== 'readObject' && name !== 'statObject') return value;
        return async (...args: unknown[]) => {
          reads++;
          await gate;
          return (value as (...a: unknown[]) => Promise<unknown>).apply(store, args);
        };
      },
    });
    // A target of its own: this restore succeeds, and the other tests compare theirs with how it was.
    const scratch = await createTestDatabase('safety_overlap');
    try {
      await scratch.query(SHOP_SCHEMA_SQL);
      const restoring = restoreBackup({ store: held, backupId: backup.backupId, databaseUrl: scratch.url });
      try {
        const seen = await waitFor(async () => (await scratch.query<{ state: string; query: string }>("SELECT state, query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'iconic-dr restore'")).rows);
        expect(seen).toEqual([{ state: 'idle', query: '' }]);
        expect(reads).toBeGreaterThan(0);
      } finally {
        release();
      }
      expect((await restoring).totalRecords).toBe(backup.manifest.totalRecords);
    } finally {
      await scratch.drop();
    }
  });

  it('reads metadata.json once: the restore loads against the manifest its check read', async () => {
    const manifestReads: string[] = [];
    const counting = new Proxy(files.store, {
      get(store, name, receiver) {
        const value = Reflect.get(store, name, receiver) as unknown;
        if (name !== 'readObject') return value;
        return (key: string) => {
          if (key.endsWith('metadata.json')) manifestReads.push(key);
          return (value as (k: string) => Promise<unknown>).call(store, key);
        };
      },
    });
    const scratch = await createTestDatabase('safety_reads');
    try {
      await scratch.query(SHOP_SCHEMA_SQL);
      expect((await restoreBackup({ store: counting, backupId: backup.backupId, databaseUrl: scratch.url })).totalRecords).toBe(backup.manifest.totalRecords);
      expect(manifestReads).toEqual([`${backup.backupId}/metadata.json`]);
    } finally {
      await scratch.drop();
    }
  });

  it('a refused backup abandons the target connection at once, even while the target does not answer', async () => {
    const { id, dir } = await copyOfBackup();
    await rm(path.join(dir, tableFileKey('reviews', undefined, 'zstd', 'copy-text')));
    // Accepts the connection and never answers it, as a server behind a dead link would.
    const closed: Promise<void>[] = [];
    const silent = net.createServer((socket) => {
      closed.push(new Promise((resolve) => socket.on('close', () => resolve())));
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as net.AddressInfo;
      const error = await restoreBackup({ store: files.store, backupId: id, databaseUrl: `postgres://nobody@127.0.0.1:${port}/shop` }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidBackupError);
      // The client closes its half-open connection itself, long before its 15 s connect timeout.
      const outcome = await Promise.race([Promise.all(closed).then(() => 'closed'), sleep(5000).then(() => 'still open')]);
      expect(closed.length).toBeGreaterThan(0);
      expect(outcome).toBe('closed');
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
    await expectRefusedAndTargetUnchanged(id);
    expect(await waitFor(async () => (await target.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'iconic-dr restore'")).rows, (rows) => rows.length === 0)).toEqual([]);
  });

  it('a table name the backup does not have is a usage error', async () => {
    await expect(restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: target.url, tables: ['nope'] })).rejects.toBeInstanceOf(UsageError);
  });
});
