import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createShop } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { pruneBackups } from '../../lambdas/core/retention.js';
import { FileStore } from '../../lambdas/core/storage/file-store.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { backupDatabase } from '../helpers/engine.js';
import { because } from '../helpers/expect-message.js';

/**
 * The operator-trust items: what the CLI picks, says and restores in a real disaster. Each case
 * drives the real CLI as a process, the way the plan's Scenario 1 and 2 run it.
 */
describe('the CLI an operator can trust at 3 a.m.', () => {
  let db: TestDatabase;
  let work: string;
  let backups: string;

  const counts = async (url = db.url) => {
    const client = await connect(url);
    try {
      const { rows } = await client.query<{ n: string }>('SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_items) AS n');
      return Number(rows[0]!.n);
    } finally {
      await client.end();
    }
  };
  const backup = async (args: string[] = []) => {
    const result = await runCli(['backup', '--db', db.url, '--to', backups, '--json', ...args]);
    because(result.stderr, () => expect(result.code).toBe(0));
    return { ...result, json: JSON.parse(result.stdout) };
  };

  beforeAll(async () => {
    db = await createTestDatabase('trust');
    const client = await connect(db.url);
    await createShop(client, 0.002);
    await client.end();
    work = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-trust-'));
    backups = path.join(work, 'backups');
  });

  afterAll(async () => {
    await db?.drop();
    await rm(work, { recursive: true, force: true });
  });

  it('records where a backup came from, and list shows it', async () => {
    const { json } = await backup();
    expect(json.source).toMatchObject({ driver: 'postgres', host: '127.0.0.1', database: db.name });
    expect(json.source.port).toBeGreaterThan(0);
    expect(json.source.serverVersion).toMatch(/^\d+/);
    expect(json.purpose).toBe('backup');
    expect(json.suspect).toBeNull();
    const list = await runCli(['list', '--from', backups]);
    expect(list.stdout).toMatch(/Source\s+Flags\s+Status/);
    expect(list.stdout).toContain(`/${db.name} (postgres)`);
    const listed = JSON.parse((await runCli(['list', '--from', backups, '--json'])).stdout);
    expect(listed[0]).toMatchObject({ backupId: json.backupId, status: 'complete', purpose: 'backup', source: { database: db.name } });
  });

  it('marks a backup taken after a mass deletion as suspect, warns, and never picks it as latest', async () => {
    const good = (await backup()).json.backupId as string;
    await db.query('TRUNCATE order_items, orders, reviews CASCADE');
    const emptied = await backup();
    expect(emptied.json.suspect).toMatchObject({ comparedWith: good, thresholdPercent: 50 });
    expect(emptied.json.suspect.reason).toMatch(/orders [\d,]+ -> 0/);
    expect(emptied.stderr).toContain('SUSPECT backup');

    const list = await runCli(['list', '--from', backups]);
    expect(list.stdout).toMatch(new RegExp(`${emptied.json.backupId}.*SUSPECT`));
    const latest = await runCli(['validate', 'latest', '--from', backups, '--json']);
    expect(JSON.parse(latest.stdout).backupId).toBe(good);
    const allowed = await runCli(['validate', 'latest', '--from', backups, '--allow-suspect', '--json']);
    expect(JSON.parse(allowed.stdout).backupId).toBe(emptied.json.backupId);
    // A second empty backup is compared with the last good one, not with the suspect one.
    const again = await backup();
    expect(again.json.suspect?.comparedWith).toBe(good);
    // The threshold is the operator's: at 100 % nothing short of every row gone is a drop.
    const lenient = await backup(['--suspect-threshold', '100']);
    expect(lenient.json.suspect).toBeNull();
    await rm(path.join(backups, lenient.json.backupId), { recursive: true });
  });

  it('restores the newest good backup for `latest`, shows what it restores, and verify compares with what was restored', async () => {
    const before = await runCli(['restore', 'latest', '--from', backups, '--db', db.url, '--yes']);
    because(before.stderr, () => expect(before.code).toBe(0));
    expect(before.stdout).toContain('(manifest and file sizes; checksums and row counts are verified while loading)');
    expect(before.stderr).toMatch(/backup: {2}\S+ in .*taken .* ago\)/);
    expect(before.stderr).toMatch(/rows: {4}[\d,]+ in 9 tables/);
    expect(before.stderr).toContain(`target:  127.0.0.1:`);
    expect(await counts()).toBeGreaterThan(0);

    // Newer data, a newer backup, then the older good backup restored by path: verify without an
    // argument must compare with the restored one (the restore log), not with `latest`.
    await db.query('DELETE FROM wishlists WHERE ctid IN (SELECT ctid FROM wishlists LIMIT 3)');
    const newer = (await backup(['--suspect-threshold', '100'])).json.backupId as string;
    const listed = JSON.parse((await runCli(['list', '--from', backups, '--json'])).stdout) as { backupId: string; suspect?: unknown; recordCounts: Record<string, number> }[];
    const older = listed.find((b) => b.backupId !== newer && !b.suspect && b.recordCounts.orders! > 0)!.backupId;
    const restored = await runCli(['restore', path.join(backups, older), '--db', db.url, '--yes']);
    because(restored.stderr, () => expect(restored.code).toBe(0));
    const verify = await runCli(['verify', '--json'], { DATABASE_URL: db.url, BACKUP_LOCATION: backups });
    because(verify.stdout + verify.stderr, () => expect(verify.code).toBe(0));
    const report = JSON.parse(verify.stdout);
    expect(report.backupId).toBe(older);
    expect(report.lastRestore).toMatchObject({ backupId: older, location: backups });
    const health = JSON.parse((await runCli(['health', '--db', db.url, '--from', backups, '--json'])).stdout);
    expect(health.lastRestore.backupId).toBe(older);
    expect(health.rpo).toMatchObject({ met: true, rpoHours: 24 });
  });

  it('keeps drills to themselves: their own location, marked, never latest, with a report and the RPO measured', async () => {
    const cwd = await mkdtemp(path.join(work, 'drill-'));
    const drill = await runCli(['drill', '--db', db.url, '--yes', '--rpo-from', backups, '--json'], {}, cwd);
    because(drill.stderr, () => expect(drill.code).toBe(0));
    const report = JSON.parse(drill.stdout);
    expect(existsSync(path.join(cwd, 'backups'))).toBe(false);
    expect(report.location).toBe(path.join(cwd, 'drills'));
    expect(report.rpo).toMatchObject({ met: true, location: backups });
    const markdown = await readFile(path.join(cwd, 'drills', report.reports.markdown), 'utf8');
    expect(markdown).toContain('**Result: PASSED**');
    expect(markdown).toMatch(/RTO 1 h met/);
    expect(markdown).toMatch(/RPO: newest good backup .* h old; RPO 24 h met/);
    expect(markdown.indexOf('| Back up')).toBeLessThan(markdown.indexOf('| Restore'));
    expect(JSON.parse(await readFile(path.join(cwd, 'drills', report.reports.json), 'utf8')).backupId).toBe(report.backupId);
    const latest = await runCli(['restore', 'latest', '--from', path.join(cwd, 'drills'), '--db', db.url, '--yes']);
    expect(latest.code).toBe(2);
    expect(latest.stderr).toContain('only drill backups');
    const into = await runCli(['drill', '--db', db.url, '--yes', '--to', backups], { BACKUP_LOCATION: backups });
    expect(into.code).toBe(2);
    expect(into.stderr).toContain('where the real backups are');
  });

  it('runs the plan\'s Scenario 2 commands as written: download latest, validate ./backup, restore ./backup, verify', async () => {
    const cwd = await mkdtemp(path.join(work, 'scenario2-'));
    const env = { BACKUP_LOCATION: backups, DATABASE_URL: db.url, SKIP_RESTORE_CONFIRMATION: 'true' };
    const download = await runCli(['download', 'latest'], env, cwd);
    because(download.stderr, () => expect(download.code).toBe(0));
    const validate = await runCli(['validate', './backup'], env, cwd);
    because(validate.stdout + validate.stderr, () => expect(validate.code).toBe(0));
    expect(validate.stderr).toMatch(/Using backup \S+, the one backup in .*backup/);
    const restore = await runCli(['restore', './backup'], env, cwd);
    because(restore.stderr, () => expect(restore.code).toBe(0));
    const verify = await runCli(['verify'], env, cwd);
    because(verify.stdout, () => expect(verify.code).toBe(0));
    expect(verify.stderr).toContain('restore log');
  });

  it('allows target-only columns that take a default, and lists every refused difference in text and JSON', async () => {
    await db.query("ALTER TABLE orders ADD COLUMN gift_note text; ALTER TABLE users ADD COLUMN tier int NOT NULL DEFAULT 1");
    const ok = await runCli(['restore', 'latest', '--from', backups, '--db', db.url, '--yes']);
    because(ok.stderr, () => expect(ok.code).toBe(0));
    expect(ok.stderr).toContain('orders.gift_note: exists only in the target; restored rows get its default (NULL)');
    expect(ok.stderr).toContain('users.tier: exists only in the target; restored rows get its default');
    expect((await db.query<{ n: string }>('SELECT count(*) AS n FROM users WHERE tier = 1')).rows[0]!.n).not.toBe('0');

    await db.query('ALTER TABLE wishlists ADD COLUMN a int, ADD COLUMN b int, ADD COLUMN c int, ADD COLUMN d int');
    await db.query('ALTER TABLE wishlists ALTER COLUMN a SET NOT NULL, ALTER COLUMN b SET NOT NULL, ALTER COLUMN c SET NOT NULL, ALTER COLUMN d SET NOT NULL').catch(async () => {
      await db.query('DELETE FROM wishlists');
      await db.query('ALTER TABLE wishlists ALTER COLUMN a SET NOT NULL, ALTER COLUMN b SET NOT NULL, ALTER COLUMN c SET NOT NULL, ALTER COLUMN d SET NOT NULL');
    });
    try {
      const refused = await runCli(['restore', 'latest', '--from', backups, '--db', db.url, '--yes', '--json']);
      expect(refused.code).toBe(1);
      const error = JSON.parse(refused.stdout).error;
      expect(error).toMatchObject({ code: 'SchemaDriftError', exitCode: 1 });
      expect(error.differences).toHaveLength(4);
      for (const column of ['a', 'b', 'c', 'd']) expect(refused.stderr).toContain(`wishlists.${column}: column exists only in the target, NOT NULL without a default`);
    } finally {
      await db.query('ALTER TABLE wishlists DROP COLUMN a, DROP COLUMN b, DROP COLUMN c, DROP COLUMN d');
    }
  });

  it('names who holds the lock while it waits, and in the JSON error when it gives up', async () => {
    const holder = new pg.Client({ connectionString: db.url, application_name: 'long-report' });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE products IN ACCESS SHARE MODE');
      const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const result = await runCli(['restore', 'latest', '--from', backups, '--db', db.url, '--yes', '--lock-wait', '3', '--json']);
      expect(result.code).toBe(3);
      const error = JSON.parse(result.stdout).error;
      expect(error.code).toBe('LockTimeoutError');
      expect(error.holders).toEqual([expect.objectContaining({ pid: rows[0]!.pid, application: 'long-report' })]);
      expect(result.stderr).toMatch(/waiting .* for the tables' locks, held by pid \d+ \(application "long-report"/);
      expect(result.stderr).toContain('nothing was changed');
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  });

  it('says `damaged` in list for a backup that lost a table file, not complete', async () => {
    const damaged = (await backup(['--suspect-threshold', '100'])).json.backupId as string;
    await unlink(path.join(backups, damaged, 'reviews.copy.zst'));
    const listed = JSON.parse((await runCli(['list', '--from', backups, '--json'])).stdout) as { backupId: string; status: string; complete: boolean; problem?: string }[];
    expect(listed.find((b) => b.backupId === damaged)).toMatchObject({ status: 'damaged', complete: false, problem: 'reviews.copy.zst is missing' });
    const latest = await runCli(['validate', 'latest', '--from', backups, '--json']);
    expect(JSON.parse(latest.stdout).backupId).not.toBe(damaged);
    await rm(path.join(backups, damaged), { recursive: true });
  });

  it('prints one JSON error object with --json, and a missing location is an error', async () => {
    const wrong = new URL(db.url);
    wrong.port = '1';
    const health = await runCli(['health', '--db', wrong.toString(), '--json']);
    expect(health.code).toBe(3);
    expect(JSON.parse(health.stdout).error).toMatchObject({ code: 'ConnectionError', exitCode: 3 });
    expect(health.stderr).toMatch(/^iconic-dr: Cannot connect/);
    const typo = await runCli(['list', '--from', path.join(work, 'typo'), '--json']);
    expect(typo.code).toBe(2);
    expect(JSON.parse(typo.stdout).error.message).toContain('does not exist');
    const usage = await runCli(['restore', '--json']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout).error.code).toBe('UsageError');
  });

  it('names every invalid environment variable at once', async () => {
    const result = await runCli(['list', '--from', backups], { SUPABASE_URL: 'not a url', AWS_ENDPOINT_URL_S3: 'also not' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('SUPABASE_URL');
    expect(result.stderr).toContain('AWS_ENDPOINT_URL_S3');
  });

  it('refuses URLs whose password has unescaped characters as a usage error, never printing the password', async () => {
    for (const password of ['Xq7@Zr9#Kp2', 'Str0ng#Pa55', 'Wv3/Yt6?Hm1']) {
      const result = await runCli(['health', '--db', `postgres://postgres:${password}@127.0.0.1:5432/postgres`, '--json']);
      because(`${password}: ${result.stderr}`, () => expect(result.code).toBe(2));
      expect(result.stderr).toContain('percent-encode');
      for (const piece of password.split(/[@#/?]/)) expect(result.stdout + result.stderr).not.toContain(piece);
    }
    const encoded = await runCli(['health', '--db', `postgres://postgres:${encodeURIComponent('p@ss#word')}@${new URL(db.url).host}/${db.name}`, '--json']);
    because(encoded.stderr, () => expect(encoded.code).toBe(0));
  });

  it('reports the RPO in list and health, and writes run logs without secrets', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const missed = await runCli(['list', '--from', backups, '--rpo-hours', '0.0001']);
    expect(missed.stdout).toMatch(/✗ newest good backup \S+ is [\d.]+ h old: RPO 0.0001 h MISSED/);
    const met = await runCli(['list', '--from', backups]);
    expect(met.stdout).toMatch(/✓ newest good backup \S+ is [\d.]+ h old: within the 24 h RPO/);

    const withPassword = new URL(db.url);
    withPassword.password = 'log-canary-secret';
    await runCli(['backup', '--db', withPassword.toString(), '--to', backups, '--suspect-threshold', '100']);
    const logs = await readdir(path.join(backups, 'logs'));
    expect(logs).toEqual([`${new Date().toISOString().slice(0, 10)}.log`]);
    const lines = (await readFile(path.join(backups, 'logs', logs[0]!), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((l) => l.command === 'backup' && l.result === 'ok')).toBe(true);
    expect(lines.some((l) => l.command === 'restore' && l.result === 'ok')).toBe(true);
    expect(lines.some((l) => l.command === 'restore' && l.result === 'failed')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('log-canary-secret');
  });

  it('prune never deletes the last backup the canary did not flag', async () => {
    const dir = await mkdtemp(path.join(work, 'prune-'));
    const store = new FileStore(dir);
    const day = 86_400_000;
    const now = Date.now();
    const scratch = await createTestDatabase('trust_prune');
    try {
      const c = await connect(scratch.url);
      await createShop(c, 0.002);
      await c.end();
      await backupDatabase(store, scratch.url, { startedAt: new Date(now - 40 * day) });
      const good = await backupDatabase(store, scratch.url, { startedAt: new Date(now - 35 * day) });
      await scratch.query('TRUNCATE order_items, orders, reviews CASCADE');
      const oldSuspect = await backupDatabase(store, scratch.url, { startedAt: new Date(now - 34 * day) });
      const newSuspect = await backupDatabase(store, scratch.url, { startedAt: new Date(now - day) });
      expect(oldSuspect.manifest.suspect?.comparedWith).toBe(good.backupId);
      expect(newSuspect.manifest.suspect?.comparedWith).toBe(good.backupId);
      const result = await pruneBackups(store, { keepDays: 30 });
      expect(result.kept).toContain(good.backupId);
      expect(result.kept).toContain(newSuspect.backupId);
      expect(result.deleted).toContain(oldSuspect.backupId);
      expect(result.deleted).toHaveLength(2);
    } finally {
      await scratch.drop();
    }
  });
});
