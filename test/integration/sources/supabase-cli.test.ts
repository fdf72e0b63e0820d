import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createShop, fingerprintTables, SHOP_SCHEMA_SQL, SHOP_TABLES } from '../../../lambdas/core/sample/shop.js';
import { connect } from '../../../lambdas/core/postgres/connection.js';
import { runCli } from '../../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { tempFileStore } from '../../helpers/engine.js';
import { startPostgrest, type TestPostgrest } from '../../helpers/postgrest.js';
import { startRestGateway } from '../../../bin/dev/rest-gateway.js';
import { because } from '../../helpers/expect-message.js';

const shopTables = SHOP_TABLES.map((name) => ({ schema: 'public', name, qualified: name }));

describe('CLI with the supabase driver (real PostgREST behind a /rest/v1 gateway) and a postgres-driver restore', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let rest: TestPostgrest;
  let gateway: Awaited<ReturnType<typeof startRestGateway>>;
  let files: Awaited<ReturnType<typeof tempFileStore>>;

  beforeAll(async () => {
    source = await createTestDatabase('supa_cli_src');
    target = await createTestDatabase('supa_cli_dst');
    const client = await connect(source.url);
    await createShop(client, 0.002);
    await client.end();
    await target.query(SHOP_SCHEMA_SQL);
    rest = await startPostgrest({ databaseUrl: source.url, maxRows: 250 });
    gateway = await startRestGateway(rest.restUrl);
    files = await tempFileStore();
  });

  afterAll(async () => {
    await gateway?.stop();
    await rest?.stop();
    await source?.drop();
    await target?.drop();
    await files?.cleanup();
  });

  it('always writes NDJSON: --rows copy (or ICONIC_DR_ROWS=copy) is noted and falls back to json', async () => {
    const env = { SUPABASE_URL: gateway.url, SUPABASE_SERVICE_ROLE_KEY: rest.serviceRoleKey, ICONIC_DR_ROWS: 'copy' };
    const backup = await runCli(['backup', '--to', files.root, '--tables', 'products', '--json'], env);
    because(backup.stderr, () => expect(backup.code).toBe(0));
    expect(backup.stderr).toContain('Rows are written as json: the supabase driver cannot write copy-text');
    const { backupId } = JSON.parse(backup.stdout) as { backupId: string };
    const manifest = JSON.parse(await readFile(path.join(files.root, backupId, 'metadata.json'), 'utf8')) as { tableDetails: Record<string, { files: { key: string; rows?: string }[]; columns: { encoding: string }[] }> };
    expect(manifest.tableDetails['products']!.files).toEqual([expect.objectContaining({ key: 'products.ndjson.zst' })]);
    expect(manifest.tableDetails['products']!.files[0]!.rows).toBeUndefined();
    expect(manifest.tableDetails['products']!.columns.some((c) => c.encoding === 'copy-text')).toBe(false);
  });

  it("SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY select the driver; the plan's nine tables come back exactly, generated columns recomputed", async () => {
    const env = { SUPABASE_URL: gateway.url, SUPABASE_SERVICE_ROLE_KEY: rest.serviceRoleKey };
    const backup = await runCli(['backup', '--to', files.root, '--json'], env);
    because(backup.stderr, () => expect(backup.code).toBe(0));
    expect(backup.stderr).not.toContain(rest.serviceRoleKey);
    const result = JSON.parse(backup.stdout);
    expect(result.consistency).toBe('per-table');
    expect(result.tables.map((t: { table: string }) => t.table).sort()).toEqual([...SHOP_TABLES].sort());

    const restore = await runCli(['restore', result.backupId, '--from', files.root, '--db', target.url, '--yes'], env);
    because(restore.stderr, () => expect(restore.code).toBe(0));
    const s = await connect(source.url);
    const t = await connect(target.url);
    try {
      expect(await fingerprintTables(t, shopTables)).toEqual(await fingerprintTables(s, shopTables));
    } finally {
      await s.end();
      await t.end();
    }
  });

  it('a wrong service-role key is one line on stderr without the key', async () => {
    const badKey = rest.sign({ role: 'service_role' }, 'x'.repeat(40));
    const result = await runCli(['backup', '--driver', 'supabase', '--supabase-url', gateway.url, '--supabase-key', badKey, '--to', files.root]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toContain(badKey);
  });
});
