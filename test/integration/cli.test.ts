import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createShop, SHOP_TABLES } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { tempFileStore } from '../helpers/engine.js';
import { runCli } from '../helpers/cli.js';
import { snapshotTables } from '../helpers/compare.js';

describe('the iconic-dr CLI (DESIGN.md §5), run as a process', () => {
  let db: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  let backupId: string;

  beforeAll(async () => {
    db = await createTestDatabase('cli');
    const client = await connect(db.url);
    await createShop(client, 0.002);
    await client.end();
    files = await tempFileStore();
  });

  afterAll(async () => {
    await db?.drop();
    await files?.cleanup();
  });

  it('backup prints only the backup id on stdout and the plan\'s lines on stderr', async () => {
    const result = await runCli(['backup', '--db', db.url, '--to', files.root]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z\n$/);
    backupId = result.stdout.trim();
    expect(result.stderr).toContain(`Created backup directory: ${files.root}/${backupId}`);
    expect(result.stderr).toMatch(/✓ Backed up \d+ records from products/);
    expect(result.stderr).toContain('✓ Backup completed successfully');
  });

  it('backup --json describes the backup; DATABASE_URL and BACKUP_LOCATION are the defaults', async () => {
    const result = await runCli(['backup', '--json', '--tables', 'products,users'], { DATABASE_URL: db.url, BACKUP_LOCATION: files.root });
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({ location: files.root, consistency: 'snapshot' });
    expect(json.backupId).toMatch(/Z$/);
    expect(json.tables.map((t: { table: string }) => t.table).sort()).toEqual(['products', 'users']);
    expect(json.totalRecords).toBe(json.tables.reduce((s: number, t: { records: number }) => s + t.records, 0));
  });

  it('list --json shows complete backups newest first', async () => {
    const result = await runCli(['list', '--from', files.root, '--json']);
    expect(result.code).toBe(0);
    const list = JSON.parse(result.stdout) as { backupId: string; complete: boolean; totalRecords: number }[];
    expect(list).toHaveLength(2);
    expect(list.every((b) => b.complete)).toBe(true);
    expect(list[1]!.backupId).toBe(backupId);
    const human = await runCli(['list', '--from', files.root]);
    expect(human.stdout).toMatch(/^Backup ID\s+Size\s+Records\s+Date/);
    expect(human.stdout).toContain(backupId);
  });

  it('validate passes (exit 0) and fails on a corrupted file (exit 1), in text and JSON', async () => {
    const ok = await runCli(['validate', backupId, '--from', files.root]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('✓ Backup validation passed');
    expect(ok.stdout).toContain('✓ All tables accounted for');
    const byPath = await runCli(['validate', path.join(files.root, backupId), '--json']);
    expect(byPath.code).toBe(0);
    expect(JSON.parse(byPath.stdout)).toMatchObject({ backupId, valid: true, format: 'v1', problems: [] });

    const latest = (JSON.parse((await runCli(['list', '--from', files.root, '--json'])).stdout) as { backupId: string }[])[0]!.backupId;
    const file = path.join(files.root, latest, 'users.copy.zst');
    const original = await readFile(file);
    const corrupted = Buffer.from(original);
    corrupted[corrupted.length - 5]! ^= 0xff;
    await writeFile(file, corrupted);
    try {
      const bad = await runCli(['validate', 'latest', '--from', files.root, '--json']);
      expect(bad.code).toBe(1);
      const report = JSON.parse(bad.stdout);
      expect(report.valid).toBe(false);
      expect(report.problems.join('\n')).toMatch(/users\.copy\.zst/);
    } finally {
      await writeFile(file, original);
    }
  });

  it('restore refuses without --yes when stdin is not a terminal (exit 2) and touches nothing', async () => {
    const before = await snapshotTables(db, SHOP_TABLES);
    await db.query('DELETE FROM wishlists');
    const result = await runCli(['restore', backupId, '--db', db.url, '--from', files.root]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/--yes|SKIP_RESTORE_CONFIRMATION/);
    const { rows } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM wishlists');
    expect(rows[0]!.n).toBe('0');

    const restored = await runCli(['restore', backupId, '--db', db.url, '--from', files.root, '--yes']);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain(`Restoring backup from ${backupId}`);
    expect(restored.stdout).toMatch(/✓ Restored \d+ records to wishlists/);
    expect(restored.stdout).toContain('✓ Restore completed');
    expect(await snapshotTables(db, SHOP_TABLES)).toEqual(before);

    const viaEnv = await runCli(['restore', backupId, '--tables', 'reviews'], { DATABASE_URL: db.url, BACKUP_LOCATION: files.root, SKIP_RESTORE_CONFIRMATION: 'true' });
    expect(viaEnv.code).toBe(0);
    expect(viaEnv.stdout).toMatch(/✓ Restored \d+ records to reviews/);
    const referenced = await runCli(['restore', backupId, '--tables', 'products', '--yes'], { DATABASE_URL: db.url, BACKUP_LOCATION: files.root });
    expect(referenced.code).toBe(2);
    expect(referenced.stderr).toMatch(/references "products"/);
  });

  it('verify exits 0 when counts match and 1 with a diff when they do not', async () => {
    const ok = await runCli(['verify', backupId, '--db', db.url, '--from', files.root, '--json']);
    expect(ok.code).toBe(0);
    const report = JSON.parse(ok.stdout);
    expect(report.ok).toBe(true);
    expect(report.tables).toHaveLength(9);
    await db.query('DELETE FROM reviews WHERE id = (SELECT min(id) FROM reviews)');
    const bad = await runCli(['verify', backupId, '--db', db.url, '--from', files.root]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/reviews\s+[\d,]+\s+[\d,]+\s+-1\s+✗/);
    expect(bad.stdout).toContain('1 of 9 tables differ');
  });

  it('check exits 1 and names the constraint when orphan rows exist', async () => {
    expect((await runCli(['check', '--db', db.url])).code).toBe(0);
    const client = await connect(db.url);
    await client.query("SET session_replication_role = 'replica'");
    await client.query('INSERT INTO order_items (order_id, line_no, variant_id, quantity, unit_price) VALUES (999999, 1, 1, 1, 1)');
    await client.end();
    const result = await runCli(['check', '--db', db.url, '--json']);
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.orphans).toEqual([{ table: 'order_items', constraint: 'order_items_order_id_fkey', references: 'orders', count: 1 }]);
    await db.query('DELETE FROM order_items WHERE order_id = 999999');
  });

  it('an unreachable database is one line on stderr, exit 3, with no password in it', async () => {
    const result = await runCli(['health', '--db', 'postgres://admin:hunter2secret@127.0.0.1:1/shop']);
    expect(result.code).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^iconic-dr: Cannot connect to 127\.0\.0\.1:1\/shop/);
    expect(result.stderr).not.toContain('hunter2secret');
    expect(result.stderr).not.toContain('admin');
  });

  it('an unknown backup id is one line on stderr, exit 2', async () => {
    const result = await runCli(['validate', '2001-01-01T00-00-00-000Z', '--from', files.root]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('No backup 2001-01-01T00-00-00-000Z');
    expect(result.stderr).not.toMatch(/\bat \S+:\d+/);
  });

  it('usage errors exit 2: unknown option, missing database, bad number', async () => {
    expect((await runCli(['list', '--nope'])).code).toBe(2);
    const noDb = await runCli(['verify', 'latest', '--from', files.root]);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toContain('pass --db');
    expect((await runCli(['prune', '--keep-days', 'zero'])).code).toBe(2);
  });

  it('health reports the server; --help lists every command', async () => {
    const health = await runCli(['health', '--db', db.url, '--json']);
    expect(health.code).toBe(0);
    expect(JSON.parse(health.stdout)).toMatchObject({ ok: true, tables: 9 });
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['backup', 'list', 'validate', 'download', 'restore', 'verify', 'check', 'health', 'prune', 'drill']) expect(help.stdout).toContain(command);
    // The same CLI straight from the TypeScript sources (what runs when the bundle is stale).
    const fromSource = await runCli(['--help'], { ICONIC_DR_FROM_SOURCE: '1' });
    expect(fromSource.stdout).toBe(help.stdout);
  });
});
