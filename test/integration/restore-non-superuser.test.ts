import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { BackupResult } from '../../lambdas/core/backup.js';
import { restoreBackup } from '../../lambdas/core/restore.js';
import { createShop, SHOP_SCHEMA_SQL, SHOP_TABLES } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { adminUrl, createTestDatabase, urlAs, type TestDatabase } from '../helpers/database.js';
import { backupDatabase, tempFileStore } from '../helpers/engine.js';
import { snapshotTables } from '../helpers/compare.js';
import { HARD_DATA_SQL, HARD_SCHEMA_SQL, HARD_TABLES } from '../fixtures/hard-schema.js';

/**
 * Supabase's `postgres` role is not a superuser: it may not set session_replication_role, but it
 * owns the tables. Restore then disables user triggers per table and defers constraints.
 */
describe('restore as a non-superuser table owner (real Postgres)', () => {
  const role = `dr_owner_${randomBytes(3).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  let source: TestDatabase;
  let target: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  let backup: BackupResult;
  let ownerUrl: string;

  /** Makes the role own the database and its public schema; returns the URL to log in as it. */
  async function handOver(db: TestDatabase): Promise<string> {
    await db.query(`ALTER DATABASE "${db.name}" OWNER TO ${role}`);
    await db.query(`GRANT ALL ON SCHEMA public TO ${role}`);
    return urlAs(db.url, role, password);
  }

  beforeAll(async () => {
    source = await createTestDatabase('owner_src');
    target = await createTestDatabase('owner_dst');
    const s = await connect(source.url);
    await createShop(s, 0.002);
    await s.end();
    files = await tempFileStore();
    backup = await backupDatabase(files.store, source.url);

    const admin = await connect(adminUrl());
    await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER PASSWORD '${password}'`);
    await admin.end();
    ownerUrl = await handOver(target);
    const owner = await connect(ownerUrl);
    await owner.query(SHOP_SCHEMA_SQL.replace('CREATE EXTENSION IF NOT EXISTS pgcrypto;', ''));
    await owner.end();
  });

  afterAll(async () => {
    await target?.drop();
    await source?.drop();
    await files?.cleanup();
    const admin = await connect(adminUrl());
    await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.end();
  });

  it('restores every row exactly with DISABLE TRIGGER USER, leaves the triggers enabled afterwards', async () => {
    const result = await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: ownerUrl });
    expect(result.triggerMode).toBe('disable_trigger');
    expect(await snapshotTables(target, SHOP_TABLES)).toEqual(await snapshotTables(source, SHOP_TABLES));
    const { rows } = await target.query<{ tgenabled: string }>("SELECT tgenabled FROM pg_trigger WHERE tgname = 'inventory_touch'");
    expect(rows[0]!.tgenabled).toBe('O');
  });

  it('still rolls back on a violation: foreign keys stay enforced in this mode', async () => {
    // Orders the backup's order_items refer to are gone from the target (removed behind the keys' back).
    const admin = await connect(target.url);
    await admin.query("SET session_replication_role = 'replica'");
    await admin.query('DELETE FROM orders WHERE id > 10');
    await admin.end();
    const before = await snapshotTables(target, SHOP_TABLES);
    const error = await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: ownerUrl, tables: ['order_items'] }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/foreign key/i);
    expect(await snapshotTables(target, SHOP_TABLES)).toEqual(before);
  });

  it('restores deferrable foreign keys in a cycle, with a plain index on a table they check (pending checks fire before the index is built)', async () => {
    const plainIndex = 'CREATE INDEX egg_chicken_id_idx ON egg (chicken_id)';
    const hardSource = await createTestDatabase('owner_hard_src');
    const hardTarget = await createTestDatabase('owner_hard_dst');
    try {
      await hardSource.query(HARD_SCHEMA_SQL);
      await hardSource.query(HARD_DATA_SQL);
      await hardSource.query(plainIndex);
      const hardBackup = await backupDatabase(files.store, hardSource.url);
      const url = await handOver(hardTarget);
      const owner = await connect(url);
      await owner.query(HARD_SCHEMA_SQL);
      await owner.query(plainIndex);
      await owner.end();
      const indexOid = async () => (await hardTarget.query<{ oid: number }>("SELECT 'egg_chicken_id_idx'::regclass::oid::int AS oid")).rows[0]!.oid;
      const before = await indexOid();

      // Only the key cycle: the fixture's FORCE ROW LEVEL SECURITY table cannot take COPY from a role without BYPASSRLS.
      const cycle = HARD_TABLES.filter((t) => t === 'chicken' || t === 'egg');
      const result = await restoreBackup({ store: files.store, backupId: hardBackup.backupId, databaseUrl: url, tables: cycle });
      expect(result.triggerMode).toBe('disable_trigger');
      expect(result.totalRecords).toBeGreaterThan(0);
      expect(await indexOid()).not.toBe(before);
      expect(await snapshotTables(hardTarget, cycle)).toEqual(await snapshotTables(hardSource, cycle));
    } finally {
      await hardTarget.drop();
      await hardSource.drop();
    }
  });
});
