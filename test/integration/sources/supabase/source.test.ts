import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { decompress } from '@mongodb-js/zstd';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createBackup } from '../../../../lambdas/core/backup.js';
import { ConfigError, ConnectionError, PrivilegeError, UsageError } from '../../../../lambdas/core/errors.js';
import { tableFileKey } from '../../../../lambdas/core/format/manifest.js';
import { restoreBackup } from '../../../../lambdas/core/restore.js';
import { SHOP_SCHEMA_SQL, SHOP_TABLES, createShop, fingerprintTables } from '../../../../lambdas/core/sample/shop.js';
import { describeTables } from '../../../../lambdas/core/postgres/catalog.js';
import { exportQuery } from '../../../../lambdas/core/postgres/source.js';
import { withClient } from '../../../../bin/dev/pg-client.js';
import { openSupabaseSource, type SupabaseSourceOptions } from '../../../../lambdas/core/sources/supabase/source.js';
import { FileStore } from '../../../../lambdas/core/storage/file-store.js';
import { createTestDatabase, type TestDatabase } from '../../../helpers/database.js';
import { startPostgrest, type TestPostgrest } from '../../../helpers/postgrest.js';
import { startRestGateway } from '../../../../bin/dev/rest-gateway.js';
import { because } from '../../../helpers/expect-message.js';

// Values a JavaScript number cannot hold, JSON null next to SQL NULL, and text keys full of the
// characters PostgREST's filter syntax gives a meaning to.
const EDGE_SCHEMA_SQL = `
CREATE TABLE edge_numbers (id bigint PRIMARY KEY, big bigint, exact numeric, scaled numeric(30, 9), f double precision, r real);
CREATE TABLE edge_json (id integer PRIMARY KEY, doc jsonb, raw json, docs jsonb[], label text);
CREATE TABLE edge_text_keys (name text, n integer, payload text, PRIMARY KEY (name, n));
CREATE SCHEMA sidecar;
CREATE TABLE sidecar.no_key (a integer, b text);
CREATE TABLE sidecar.locked (id integer PRIMARY KEY);
`;

const EDGE_DATA_SQL = `
INSERT INTO edge_numbers VALUES
  (-9223372036854775808, -9223372036854775808, -0.000000000000000000000000000001, -1.5, -0, 1.17549435e-38),
  (1, 9223372036854775807, 12345678901234567890.123456789, 123456789012345678901.123456789, 0.1, 0.1),
  (9007199254740992, 9007199254740993, 'NaN', 0, 'Infinity', '-Infinity'),
  (9007199254740993, 9007199254740995, 100000000000000000000000000000000000000000000000000, NULL, 1e308, 3.4e38),
  (9007199254740994, NULL, NULL, NULL, NULL, NULL),
  (9223372036854775806, 42, 1.10, 2.000000000, 2.5e-300, 1e-30),
  (9223372036854775807, 0, 0, 0, 0, 0);
INSERT INTO edge_json VALUES
  (1, 'null', 'null', ARRAY['null'::jsonb], 'JSON null'),
  (2, NULL, NULL, NULL, NULL),
  (3, '{"a": [1, 2.50, 12345678901234567890.123456789], "b": {"c": null}}', E'{ "keep" :  "spacing",\\n "dup": 1, "dup": 2 }', ARRAY['{"x": 1}'::jsonb, NULL], E'line1\\nline2 "quoted" \\\\ back'),
  (4, '"just a string"', '[]', '{}', ''),
  (5, '12345678901234567890.123456789', '1e400', ARRAY[]::jsonb[], 'ünïcödé 🎉');
INSERT INTO edge_text_keys
  SELECT name, n, md5(name || n)
  FROM unnest(ARRAY['a,b', '(paren)', 'dot.ted', 'col:on', 'quote"d', E'back\\\\slash', ' lead space', '{brace}', 'ünïcödé', 'emoji 🎉', E'new\\nline', E'tab\\t', 'null', '', '*', 'and(x.eq.1)', 'zz']) AS name,
       generate_series(1, 15) AS n;
INSERT INTO sidecar.no_key VALUES (1, 'one'), (1, 'one');
INSERT INTO sidecar.locked VALUES (1);
`;

const EDGE_TABLES = ['edge_json', 'edge_numbers', 'edge_text_keys'];
const PUBLIC_TABLES = [...SHOP_TABLES, ...EDGE_TABLES].sort();

function publicShape(name: string) {
  return { schema: 'public', name, qualified: name };
}


async function backupLines(root: string, backupId: string, table: string): Promise<string[]> {
  const text = (await decompress(await readFile(path.join(root, backupId, tableFileKey(table))))).toString('utf8');
  expect(text.endsWith('\n') || text === '').toBe(true);
  return text === '' ? [] : text.slice(0, -1).split('\n');
}

/** What the postgres driver writes for a table (its export query: row_to_json, json columns as text), in key order. */
async function postgresLines(url: string, table: string, orderBy: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const [shape] = await describeTables(client, ['public'], [table]);
    const rowsQuery = exportQuery(shape!).replace(/^SELECT row_to_json\(x\.\*\) FROM /, 'SELECT row_to_json(x.*)::text AS line FROM ');
    const { rows } = await client.query<{ line: string }>(`${rowsQuery} ORDER BY ${orderBy}`);
    return rows.map((r) => r.line);
  });
}

function expectOneLine(error: unknown, pattern: RegExp): void {
  const message = (error as Error).message;
  expect(message).toMatch(pattern);
  expect(message).not.toContain('\n');
}

describe('supabase source driver (supabase-js over a real PostgREST)', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let rest: TestPostgrest;
  let dir: string;

  const options = (extra: Partial<SupabaseSourceOptions> = {}): SupabaseSourceOptions => ({
    url: rest.url,
    serviceRoleKey: rest.serviceRoleKey,
    fetch: rest.fetch,
    generatedColumns: { orders: ['total'] },
    ...extra,
  });

  beforeAll(async () => {
    [source, target] = await Promise.all([createTestDatabase('supabase_src'), createTestDatabase('supabase_dst')]);
    await withClient(source.url, async (client) => {
      await createShop(client, 0.01);
      await client.query(EDGE_SCHEMA_SQL);
      await client.query(EDGE_DATA_SQL);
    });
    await withClient(target.url, async (client) => {
      await client.query(SHOP_SCHEMA_SQL);
      await client.query(EDGE_SCHEMA_SQL);
    });
    // max-rows far below the driver's page size: every table larger than 100 rows spans many pages.
    rest = await startPostgrest({ databaseUrl: source.url, schemas: ['public', 'sidecar'], maxRows: 100 });
    await source.query('REVOKE SELECT ON sidecar.locked FROM service_role');
    dir = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-supabase-'));
  });

  afterAll(async () => {
    await rest?.stop();
    await Promise.all([source?.drop(), target?.drop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('a backup of the Live It Iconic schema, restored by the postgres driver', () => {
    let backupId: string;
    let root: string;

    beforeAll(async () => {
      root = path.join(dir, 'roundtrip');
      rest.calls.clear();
      const session = await openSupabaseSource(options());
      try {
        const result = await createBackup({ store: new FileStore(root), source: session });
        backupId = result.backupId;
      } finally {
        await session.close();
      }
    });

    it('describes every table of the schema from the REST description, with keys and no snapshot', async () => {
      const session = await openSupabaseSource(options());
      await session.close();
      expect(session.tables.map((t) => t.qualified)).toEqual(PUBLIC_TABLES);
      expect(session.consistency).toBe('per-table');
      expect(session.info).toEqual({ driver: 'supabase', host: '127.0.0.1' });
      expect(JSON.stringify(session.info)).not.toContain(rest.serviceRoleKey);

      const pg = await withClient(source.url, (client) => describeTables(client, ['public'], PUBLIC_TABLES));
      for (const shape of session.tables) {
        const expected = pg.find((t) => t.qualified === shape.qualified)!;
        because(shape.qualified, () => expect(shape.primaryKey).toEqual(expected.primaryKey));
        because(shape.qualified, () => expect(shape.columns.map((c) => [c.name, c.nullable, c.encoding])).toEqual(expected.columns.map((c) => [c.name, c.nullable, c.encoding])));
        because(shape.qualified, () => expect(shape.generatedColumns).toEqual(expected.generatedColumns));
        // PostgREST's description leaves out a foreign key whose columns are also the primary key
        // (inventory.variant_id: a one-to-one relationship to it); the manifest's keys are informative only.
        const fks = (t: { foreignKeys: readonly { columns: string[]; references: string; referencedColumns: string[] }[] }) => t.foreignKeys.map((f) => `${f.columns}->${f.references}.${f.referencedColumns}`).sort();
        if (shape.qualified === 'inventory') expect(fks(shape)).toEqual([]);
        else because(shape.qualified, () => expect(fks(shape)).toEqual(fks(expected)));
      }
    });

    it('restores into another database with every table equal to the source', async () => {
      const result = await restoreBackup({ store: new FileStore(root), backupId, databaseUrl: target.url });
      expect(result.tables.map((t) => t.table).sort()).toEqual(PUBLIC_TABLES);

      const shapes = PUBLIC_TABLES.map(publicShape);
      const [expected, actual] = await Promise.all([withClient(source.url, (c) => fingerprintTables(c, shapes)), withClient(target.url, (c) => fingerprintTables(c, shapes))]);
      expect(actual).toEqual(expected);
      expect(expected.find((f) => f.table === 'order_items')!.rows).toBe(5000);
    });

    it('reads tables larger than max-rows completely, in key order, without duplicates', async () => {
      // 5000 order items at no more than 100 rows a response: at least 50 pages.
      expect(rest.calls.get('/order_items')).toBeGreaterThanOrEqual(50);

      const items = (await backupLines(root, backupId, 'order_items')).map((line) => {
        const row = JSON.parse(line) as { order_id: number; line_no: number };
        return `${row.order_id}/${row.line_no}`;
      });
      const expected = await source.query<{ k: string }>("SELECT order_id || '/' || line_no AS k FROM order_items ORDER BY order_id, line_no");
      expect(items).toEqual(expected.rows.map((r) => r.k));

      // Composite text keys with , . : ( ) " \ { and more, across pages: byte for byte what Postgres renders.
      expect(await backupLines(root, backupId, 'edge_text_keys')).toEqual(await postgresLines(source.url, 'edge_text_keys', 'name, n'));
    });

    it('writes exactly the rows the postgres driver writes: bigints, numerics, JSON null vs SQL NULL', async () => {
      const numbers = await backupLines(root, backupId, 'edge_numbers');
      expect(numbers).toEqual(await postgresLines(source.url, 'edge_numbers', 'id'));
      expect(numbers.join('\n')).toContain('"big":9223372036854775807');
      expect(numbers.join('\n')).toContain('"exact":12345678901234567890.123456789');

      const json = await backupLines(root, backupId, 'edge_json');
      expect(json).toEqual(await postgresLines(source.url, 'edge_json', 'id'));
      expect(json[0]).toContain('"doc":"null"');
      expect(json[1]).toContain('"doc":null');

      const restored = await target.query<{ id: string; big: string | null; exact: string | null; doc_is_sql_null: boolean; doc_is_json_null: boolean | null }>(
        `SELECT n.id::text, n.big::text, n.exact::text, j.doc IS NULL AS doc_is_sql_null, j.doc = 'null'::jsonb AS doc_is_json_null
         FROM edge_numbers n LEFT JOIN edge_json j ON j.id = n.id WHERE n.id IN (1, 9223372036854775807) ORDER BY n.id`,
      );
      expect(restored.rows).toEqual([
        { id: '1', big: '9223372036854775807', exact: '12345678901234567890.123456789', doc_is_sql_null: false, doc_is_json_null: true },
        { id: '9223372036854775807', big: '0', exact: '0', doc_is_sql_null: true, doc_is_json_null: null },
      ]);
    });

    it('records the format v1 manifest with per-table counts', async () => {
      const manifest = JSON.parse(await readFile(path.join(root, backupId, 'metadata.json'), 'utf8'));
      expect(manifest.source).toEqual({ driver: 'supabase', host: '127.0.0.1' });
      expect(manifest.consistency).toBe('per-table');
      const counts = await Promise.all(PUBLIC_TABLES.map(async (t) => [t, Number((await source.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n)] as const));
      expect(manifest.recordCounts).toEqual(Object.fromEntries(counts));
      expect(manifest.tableDetails.orders.generatedColumns).toEqual(['total']);
      expect(manifest.tableDetails.orders.columns.map((c: { name: string }) => c.name)).not.toContain('total');
      expect(JSON.stringify(manifest)).not.toContain(rest.serviceRoleKey);
    });
  });

  it('pages on exact bigint and composite text keys with pages smaller than max-rows', async () => {
    const root = path.join(dir, 'small-pages');
    const session = await openSupabaseSource(options({ tables: ['edge_numbers', 'edge_text_keys'], pageSize: 2 }));
    const { backupId, manifest } = await createBackup({ store: new FileStore(root), source: session }).finally(() => session.close());
    expect(manifest.recordCounts).toEqual({ edge_numbers: 7, edge_text_keys: 17 * 15 });
    // 2^53 + 1 next to 2^53: a key rounded through a JavaScript number would repeat or skip rows.
    expect(await backupLines(root, backupId, 'edge_numbers')).toEqual(await postgresLines(source.url, 'edge_numbers', 'id'));
    expect(await backupLines(root, backupId, 'edge_text_keys')).toEqual(await postgresLines(source.url, 'edge_text_keys', 'name, n'));
  });

  it('reads tables as key ranges at the same time, one part each, whose rows concatenate in key order and restore exactly', async () => {
    // The planner's row estimates decide which tables are cut: fresh ones for the edge tables.
    await source.query('ANALYZE');
    const ranged = new Set<string>();
    const recording: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      if (url.searchParams.getAll(url.searchParams.has('order_id') ? 'order_id' : 'id').some((v) => v.startsWith('lt.')) || url.searchParams.getAll('user_id').some((v) => v.startsWith('lt.'))) ranged.add(url.pathname.split('/').pop()!);
      return rest.fetch(input, init);
    };
    const root = path.join(dir, 'ranges');
    const session = await openSupabaseSource(options({ rowsPerPart: 2, workers: 3, fetch: recording }));
    const parts = Object.fromEntries(session.tables.map((t) => [t.qualified, t.parts]));
    // Integer and uuid first key columns are cut (at most 8 parts); a text key is read in one range.
    expect(parts).toMatchObject({ order_items: 8, users: 8, wishlists: 8, orders: 8, edge_numbers: 3, edge_text_keys: 1 });
    const { backupId, manifest } = await createBackup({ store: new FileStore(root), source: session }).finally(() => session.close());
    expect([...ranged].sort()).toEqual(expect.arrayContaining(['edge_numbers', 'order_items', 'users', 'wishlists']));

    const items = manifest.tableDetails['order_items']!;
    expect(items.files.map((f) => f.key)).toEqual(Array.from({ length: 8 }, (_, i) => `order_items.part-000${i + 1}.ndjson.zst`));
    expect(items.files.reduce((sum, f) => sum + f.records, 0)).toBe(items.records);
    expect(manifest.tableDetails['edge_text_keys']!.files.map((f) => f.key)).toEqual(['edge_text_keys.ndjson.zst']);

    const lines = async (table: string) => {
      const texts = await Promise.all(manifest.tableDetails[table]!.files.map(async (f) => (await decompress(await readFile(path.join(root, backupId, f.key)))).toString('utf8')));
      return texts.join('').split('\n').slice(0, -1);
    };
    // Byte for byte what the postgres driver writes, in key order: bigint bounds from -2^63 to 2^63 - 1
    // cut exactly, uuids, and composite keys whose first column is cut.
    expect(await lines('edge_numbers')).toEqual(await postgresLines(source.url, 'edge_numbers', 'id'));
    expect(await lines('users')).toEqual(await postgresLines(source.url, 'users', 'id'));
    expect(await lines('wishlists')).toEqual(await postgresLines(source.url, 'wishlists', 'user_id, product_id'));
    expect(await lines('order_items')).toEqual(await postgresLines(source.url, 'order_items', 'order_id, line_no'));

    // The default transport (Node's HTTP client, pages in pooled buffers that the compressor gives
    // back and the next page reuses), through a /rest/v1 gateway: the same bytes, file for file.
    const gateway = await startRestGateway(rest.restUrl);
    const viaHttp = path.join(dir, 'ranges-http');
    try {
      const overHttp = await openSupabaseSource({ ...options({ rowsPerPart: 2, workers: 4 }), url: gateway.url, fetch: undefined });
      const second = await createBackup({ store: new FileStore(viaHttp), source: overHttp }).finally(() => overHttp.close());
      for (const table of PUBLIC_TABLES) {
        const files = second.manifest.tableDetails[table]!.files;
        expect(files.map((f) => f.key)).toEqual(manifest.tableDetails[table]!.files.map((f) => f.key));
        const text = (await Promise.all(files.map(async (f) => (await decompress(await readFile(path.join(viaHttp, second.backupId, f.key)))).toString('utf8')))).join('');
        expect(text.split('\n').slice(0, -1)).toEqual(await lines(table));
      }
    } finally {
      await gateway.stop();
    }

    const fresh = await createTestDatabase('supabase_ranges');
    try {
      await fresh.query(SHOP_SCHEMA_SQL);
      await fresh.query(EDGE_SCHEMA_SQL);
      await restoreBackup({ store: new FileStore(root), backupId, databaseUrl: fresh.url });
      const shapes = PUBLIC_TABLES.map(publicShape);
      const [expected, actual] = await Promise.all([withClient(source.url, (c) => fingerprintTables(c, shapes)), withClient(fresh.url, (c) => fingerprintTables(c, shapes))]);
      expect(actual).toEqual(expected);
    } finally {
      await fresh.drop();
    }
  });

  it('without generatedColumns, a generated column is stored (the REST description cannot tell)', async () => {
    const session = await openSupabaseSource(options({ tables: ['orders'], generatedColumns: {} }));
    await session.close();
    expect(session.tables[0]!.columns.map((c) => c.name)).toContain('total');
  });

  it('refuses a table without a primary key, named or discovered, in one line', async () => {
    const named = await openSupabaseSource(options({ tables: ['sidecar.no_key'] })).catch((e: unknown) => e);
    expect(named).toBeInstanceOf(UsageError);
    expectOneLine(named, /sidecar\.no_key has no primary key/);

    const discovered = await openSupabaseSource(options({ schemas: ['sidecar'] })).catch((e: unknown) => e);
    expect(discovered).toBeInstanceOf(UsageError);
    expectOneLine(discovered, /sidecar\.no_key has no primary key/);
  });

  it('refuses a table the key cannot read, and one that does not exist', async () => {
    const locked = await openSupabaseSource(options({ tables: ['products', 'sidecar.locked'] })).catch((e: unknown) => e);
    expect(locked).toBeInstanceOf(PrivilegeError);
    expectOneLine(locked, /may not read sidecar\.locked .*permission denied.*GRANT SELECT/);

    const missing = await openSupabaseSource(options({ tables: ['no_such_table'] })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(UsageError);
    expectOneLine(missing, /no_such_table does not exist/);
  });

  it('does not follow a redirect with the key, and says where to point SUPABASE_URL', async () => {
    let requests = 0;
    const redirecting = http.createServer((req, res) => {
      requests++;
      res.writeHead(301, { location: `https://elsewhere.example${req.url}?token=secret` }).end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      const error = await openSupabaseSource({ url: `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`, serviceRoleKey: rest.serviceRoleKey }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expectOneLine(error, /answered with a redirect \(HTTP 301 to https:\/\/elsewhere\.example\/rest\/v1\/\); set SUPABASE_URL/);
      expect((error as Error).message).not.toContain('secret');
      expect(requests).toBe(1);
    } finally {
      await new Promise((resolve) => redirecting.close(resolve));
    }
  });

  it('reports a wrong key in one line without the key, and refuses the anon key', async () => {
    const wrongKey = rest.sign({ role: 'service_role', iss: 'supabase' }, 'not-the-secret-but-long-enough-for-hs256');
    const wrong = await openSupabaseSource(options({ serviceRoleKey: wrongKey })).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(ConfigError);
    expectOneLine(wrong, /rejected the key .*HTTP 401.*check SUPABASE_SERVICE_ROLE_KEY/);
    expect((wrong as Error).message).not.toContain(wrongKey);

    const anon = await openSupabaseSource(options({ serviceRoleKey: rest.anonKey })).catch((e: unknown) => e);
    expect(anon).toBeInstanceOf(ConfigError);
    expectOneLine(anon, /anon key: row-level security/);
  });

  it('retries transient HTTP failures, network errors and timeouts, then completes the same backup', async () => {
    let requests = 0;
    const failures: string[] = [];
    const flaky: typeof fetch = async (input, init) => {
      requests++;
      const url = String(input);
      if (requests === 1) return failures.push('503 on the description'), new Response('{"code":"PGRST002","message":"schema cache not ready"}', { status: 503 });
      if (url.includes('/edge_text_keys?') && (init?.method ?? 'GET') === 'GET') {
        const pageRequests = failures.filter((f) => f.startsWith('page')).length;
        if (pageRequests === 0) return failures.push('page 429'), new Response('{"message":"slow down"}', { status: 429, headers: { 'Retry-After': '0' } });
        if (pageRequests === 1) return failures.push('page network'), Promise.reject(new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }));
        if (pageRequests === 2) return failures.push('page 502'), new Response('<html>Bad gateway</html>', { status: 502 });
        if (pageRequests === 3) {
          failures.push('page hangs');
          return new Promise<Response>((_, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason)));
        }
      }
      return rest.fetch(input, init);
    };
    const root = path.join(dir, 'flaky');
    const session = await openSupabaseSource(options({ tables: ['edge_text_keys'], pageSize: 50, fetch: flaky, retryDelayMs: 1, requestTimeoutMs: 500 }));
    const { backupId, manifest } = await createBackup({ store: new FileStore(root), source: session }).finally(() => session.close());
    expect(failures).toEqual(['503 on the description', 'page 429', 'page network', 'page 502', 'page hangs']);
    expect(manifest.recordCounts.edge_text_keys).toBe(17 * 15);
    expect(await backupLines(root, backupId, 'edge_text_keys')).toEqual(await postgresLines(source.url, 'edge_text_keys', 'name, n'));
  });

  it('sizes pages in bytes: the first asks for 100 rows, each later one for pageBytes of the rows seen so far, never more than pageSize', async () => {
    const limits = (asked: number[]): typeof fetch => async (input, init) => {
      const url = new URL(String(input));
      if (url.pathname.endsWith('/edge_text_keys') && url.searchParams.has('order')) asked.push(Number(url.searchParams.get('limit')));
      return rest.fetch(input, init);
    };
    const expected = await postgresLines(source.url, 'edge_text_keys', 'name, n');
    const maxRows = 100; // this suite's PostgREST

    // What the driver should ask for, page by page, given the rows it has read (their NDJSON bytes).
    const pageBytes = 2000;
    let read = 0;
    let bytes = 0;
    let largest = 0;
    const want: number[] = [];
    for (let ask = 100; ; ask = Math.max(1, Math.min(10_000, Math.floor((pageBytes * read) / bytes)))) {
      want.push(ask);
      const rows = Math.min(ask, maxRows, expected.length - read);
      if (rows === 0) break;
      for (const line of expected.slice(read, read + rows)) bytes += Buffer.byteLength(line) + 1;
      read += rows;
      const ended = rows < ask && rows < largest;
      largest = Math.max(largest, rows);
      if (ended) break;
    }
    // Pages of ~33 rows after the first 100: sized by bytes, under the server's cap.
    expect(want[0]).toBe(100);
    expect(Math.max(...want.slice(1))).toBeLessThan(maxRows);

    const bySize: number[] = [];
    const sized = await openSupabaseSource(options({ tables: ['edge_text_keys'], pageBytes, fetch: limits(bySize) }));
    const first = await createBackup({ store: new FileStore(path.join(dir, 'page-bytes')), source: sized }).finally(() => sized.close());
    expect(bySize).toEqual(want);
    expect(await backupLines(path.join(dir, 'page-bytes'), first.backupId, 'edge_text_keys')).toEqual(expected);

    // pageSize bounds every page, the first one too.
    const byRows: number[] = [];
    const capped = await openSupabaseSource(options({ tables: ['edge_text_keys'], pageSize: 20, fetch: limits(byRows) }));
    const second = await createBackup({ store: new FileStore(path.join(dir, 'page-rows')), source: capped }).finally(() => capped.close());
    expect(new Set(byRows)).toEqual(new Set([20]));
    expect(byRows.length).toBe(Math.ceil(expected.length / 20) + (expected.length % 20 === 0 ? 1 : 0));
    expect(await backupLines(path.join(dir, 'page-rows'), second.backupId, 'edge_text_keys')).toEqual(expected);
  });

  it('hands each page to the read that asked for it while reads of two tables interleave, and never sends its tag to the server', async () => {
    const sentHeaders = new Set<string>();
    let delay = 0;
    // Answers come back out of order: each request waits 0-12 ms, in a cycle, before it is passed on.
    const shuffled: typeof fetch = async (input, init) => {
      for (const [name] of new Headers(init?.headers)) sentHeaders.add(name);
      delay = (delay + 5) % 13;
      await new Promise((resolve) => setTimeout(resolve, delay));
      return rest.fetch(input, init);
    };
    const root = path.join(dir, 'interleaved');
    const session = await openSupabaseSource(options({ tables: ['edge_text_keys', 'edge_numbers'], pageSize: 7, workers: 2, fetch: shuffled }));
    const { backupId, manifest } = await createBackup({ store: new FileStore(root), source: session }).finally(() => session.close());
    expect(manifest.recordCounts).toEqual({ edge_numbers: 7, edge_text_keys: 17 * 15 });
    expect(await backupLines(root, backupId, 'edge_text_keys')).toEqual(await postgresLines(source.url, 'edge_text_keys', 'name, n'));
    expect(await backupLines(root, backupId, 'edge_numbers')).toEqual(await postgresLines(source.url, 'edge_numbers', 'id'));
    expect(sentHeaders).toContain('apikey');
    expect([...sentHeaders].filter((h) => h.startsWith('x-iconic'))).toEqual([]);
  });

  it('gives up on a table that keeps failing with a one-line error naming it', async () => {
    const broken: typeof fetch = async (input, init) => {
      // Page requests only (they order by the key); the access check at open succeeds.
      if (String(input).includes('/edge_json?') && String(input).includes('order=')) return new Response('{"code":"57014","message":"canceling statement due to statement timeout"}', { status: 500 });
      return rest.fetch(input, init);
    };
    const session = await openSupabaseSource(options({ tables: ['edge_json'], fetch: broken, attempts: 2, retryDelayMs: 1 }));
    const error = await createBackup({ store: new FileStore(path.join(dir, 'broken')), source: session })
      .finally(() => session.close())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expectOneLine(error, /while reading edge_json: HTTP 500: 57014 canceling statement due to statement timeout \(2 attempts\)/);
  });
});
