import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sampleMedia } from '../../lambdas/core/sample/media.js';
import { createShop } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { tempFileStore } from '../helpers/engine.js';
import { because } from '../helpers/expect-message.js';

describe('iconic-dr drill, end to end', () => {
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  let db: TestDatabase;

  beforeAll(async () => {
    files = await tempFileStore();
    db = await createTestDatabase('drill');
    const client = await connect(db.url);
    await createShop(client, 0.002);
    await client.end();
  });

  afterAll(async () => {
    await files?.cleanup();
    await db?.drop();
  });

  it('with no --db: starts an embedded Postgres, seeds the shop, destroys, restores, and proves nothing was lost', async () => {
    const result = await runCli(['drill', '--to', files.root, '--json']);
    because(result.stderr, () => expect(result.code).toBe(0));
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ ok: true, embedded: true, dataLost: false, withinRto: true, rtoMs: 3_600_000 });
    expect(report.rowsRestored).toBe(report.rowsBackedUp);
    expect(report.rowsRestored).toBeGreaterThan(10_000);
    expect(report.tables).toHaveLength(9);
    expect(report.tables.every((t: { identical: boolean; rowsBefore: number; rowsAfter: number }) => t.identical && t.rowsBefore === t.rowsAfter && t.rowsAfter > 0)).toBe(true);
    expect(report.steps.map((s: { name: string }) => s.name)).toEqual([
      'Start embedded PostgreSQL',
      'Create the shop with sample data',
      'Back up',
      'Disaster: destroy the data',
      'Validate the backup',
      'Restore',
      'Verify counts',
      'Integrity check',
      'Compare contents',
      'Restore into a new, empty database',
      'Media: sync Storage',
      'Media: restore into drill buckets',
      'Media: compare every object',
    ]);
    // Scenario 2: the backup alone (schema included) rebuilt the shop in a database that had nothing.
    expect(report.steps.find((s: { name: string }) => s.name === 'Restore into a new, empty database')).toMatchObject({ ok: true, detail: expect.stringContaining('schema created') });
    // The embedded Storage (an S3 server with the sample shop's files) was drilled too, odd keys and a 0-byte file included.
    expect(report.media).toMatchObject({ objects: sampleMedia().length, identical: true, buckets: ['avatars-drill', 'product-images-drill', 'uploads-drill'] });
    expect(report.media.bytes).toBe(sampleMedia().reduce((sum, o) => sum + o.body.length, 0));
    const list = JSON.parse((await runCli(['list', '--from', files.root, '--json'])).stdout);
    expect(list[0]).toMatchObject({ backupId: report.backupId, purpose: 'drill' });
  });

  it('the human report names each step, the recovery time against the RTO and the data lost', async () => {
    const result = await runCli(['drill', '--db', db.url, '--to', files.root, '--yes']);
    because(result.stderr, () => expect(result.code).toBe(0));
    expect(result.stdout).toMatch(/✓ Restore\s+\S+ m?s/);
    expect(result.stdout).toMatch(/Recovery time:\s+.*RTO 1 h met/);
    expect(result.stdout).toMatch(/Data lost:\s+none/);
    expect(result.stdout).toContain('✓ Drill passed');
  });

  it('refuses to drill on a given database without --yes (exit 2) and leaves it alone', async () => {
    const { rows: before } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM orders');
    const result = await runCli(['drill', '--db', db.url, '--to', files.root]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--yes');
    const { rows: after } = await db.query<{ n: string }>('SELECT count(*)::text AS n FROM orders');
    expect(after[0]!.n).toBe(before[0]!.n);
  });
});
