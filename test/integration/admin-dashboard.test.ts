import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { handleAdminRequest } from '../../lambdas/core/admin/api.js';
import { createShop } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import type { BackupStore } from '../../lambdas/core/storage/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { backupDatabase, tempFileStore } from '../helpers/engine.js';
import { s3StoreFor, startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { because } from '../helpers/expect-message.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ARTIFACTS = path.join(ROOT, 'test-results');
/** Debian's chromium (installed by .ci/run when missing). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Three backups of one shop, the last after orders were deleted (so the page shows a drop). */
async function seed(store: BackupStore, db: TestDatabase): Promise<string[]> {
  const hour = 3_600_000;
  const ids: string[] = [];
  ids.push((await backupDatabase(store, db.url, { startedAt: new Date(Date.now() - 3 * hour) })).backupId);
  ids.push((await backupDatabase(store, db.url, { startedAt: new Date(Date.now() - 2 * hour) })).backupId);
  await db.query('DELETE FROM reviews WHERE ctid IN (SELECT ctid FROM reviews LIMIT 10)');
  ids.push((await backupDatabase(store, db.url, { startedAt: new Date(Date.now() - hour) })).backupId);
  return ids;
}

describe('admin API and backups page (issue 17)', () => {
  let db: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  let s3: TestS3Server;
  let ids: string[];

  beforeAll(async () => {
    db = await createTestDatabase('admin');
    const client = await connect(db.url);
    await createShop(client, 0.001);
    await client.end();
    files = await tempFileStore();
    ids = await seed(files.store, db);
    s3 = await startS3Server();
  });

  afterAll(async () => {
    await db?.drop();
    await files?.cleanup();
    await s3?.stop();
  });

  for (const kind of ['folder', 's3'] as const) {
    it(`every route answers over a ${kind} store: list (newest first, paginated), one backup, drills, media, the page; read-only`, async () => {
      let store: BackupStore = files.store;
      let seeded = ids;
      if (kind === 's3') {
        store = s3StoreFor(s3, `admin-${Date.now()}`);
        seeded = await seed(store, db);
      }
      const list = await handleAdminRequest({ store }, { method: 'GET', path: '/api/admin/backups', query: { limit: '2' } });
      expect(list.status).toBe(200);
      const page1 = JSON.parse(list.body);
      expect(page1.backups.map((b: { backupId: string }) => b.backupId)).toEqual([seeded[2], seeded[1]]);
      expect(page1.backups[0]).toMatchObject({ status: 'complete', purpose: 'backup', records: expect.any(Number), durationMs: expect.any(Number), source: { driver: 'postgres' } });
      expect(page1.nextCursor).toBe(seeded[1]);
      const page2 = JSON.parse((await handleAdminRequest({ store }, { method: 'GET', path: '/api/admin/backups', query: { limit: '2', cursor: page1.nextCursor } })).body);
      expect(page2.backups.map((b: { backupId: string }) => b.backupId)).toEqual([seeded[0]]);
      expect(page2.nextCursor).toBeNull();

      const one = JSON.parse((await handleAdminRequest({ store }, { method: 'GET', path: `/api/admin/backups/${seeded[0]}` })).body);
      expect(one.tables.find((t: { table: string }) => t.table === 'orders').records).toBeGreaterThan(0);
      expect(one.hasSchema).toBe(true);
      expect((await handleAdminRequest({ store }, { method: 'GET', path: '/api/admin/backups/2000-01-01T00-00-00-000Z' })).status).toBe(404);
      expect((await handleAdminRequest({ store }, { method: 'GET', path: '/api/admin/backups/..%2Fetc' })).status).toBe(400);
      expect(JSON.parse((await handleAdminRequest({ store }, { method: 'GET', path: '/api/admin/drills' })).body)).toEqual({ drills: [] });
      expect(JSON.parse((await handleAdminRequest({ store }, { method: 'GET', path: '/api/admin/media' })).body).latest).toBeNull();
      const html = await handleAdminRequest({ store }, { method: 'GET', path: '/admin/backups' });
      expect(html.headers['content-type']).toContain('text/html');
      expect((await handleAdminRequest({ store }, { method: 'POST', path: '/api/admin/backups' })).status).toBe(405);
      expect((await handleAdminRequest({ store }, { method: 'DELETE', path: `/api/admin/backups/${seeded[0]}` })).status).toBe(405);
    });
  }

  it('iconic-dr dashboard in a real headless Chromium: the figures, a trend chart with one point per backup, no console errors', async () => {
    because(`Debian's chromium at ${CHROMIUM} (.ci/run installs it)`, () => expect(existsSync(CHROMIUM)).toBe(true));
    const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'bin', 'iconic-dr.mjs'), 'dashboard', '--from', files.root, '--port', '0'], { cwd: files.root, stdio: ['ignore', 'pipe', 'pipe'] });
    let browser: Browser | undefined;
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.trim());
        });
        child.once('exit', (code) => reject(new Error(`dashboard exited with ${code}`)));
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/admin\/backups$/);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
      const consoleErrors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      page.on('pageerror', (e) => consoleErrors.push(e.message));
      await page.goto(url);
      await page.waitForFunction("document.querySelectorAll('#tables tbody tr').length > 0");
      expect(await page.textContent('#rpo-badge')).toMatch(/ ago · RPO 24 h met$/);
      expect(await page.getAttribute('#rpo-badge', 'class')).toContain('ok');
      expect(await page.textContent('#last-records')).toMatch(/^[\d,]+$/);
      const points = await page.getAttribute('#trend polyline[data-series="size"]', 'points');
      expect(points!.trim().split(/\s+/)).toHaveLength(3);
      expect(await page.locator('#backups tbody tr').count()).toBe(3);
      const reviews = page.locator('#tables tbody tr', { hasText: 'reviews' });
      expect(await reviews.locator('td').nth(1).textContent()).toBe('-10');
      expect(await page.textContent('#media-age')).toBe('none');
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('token');
      await mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'admin-backups.png'), fullPage: true });
      expect(consoleErrors).toEqual([]);
    } finally {
      await browser?.close();
      child.kill('SIGTERM');
    }
  });
});
