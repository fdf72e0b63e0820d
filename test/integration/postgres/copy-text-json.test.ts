import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { connect } from '../../../lambdas/core/postgres/connection.js';
import { CopyOutStream } from '../../../lambdas/core/postgres/copy-out.js';
import { CopyTextToJson } from '../../../lambdas/core/postgres/copy-text-json.js';
import { describeTables, jsonKinds, type TableShape } from '../../../lambdas/core/postgres/catalog.js';
import { applyExactOutputSettings, copyOutStatement, copyTextStatement, openPostgresSource, type PostgresSourceOptions } from '../../../lambdas/core/postgres/source.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { because } from '../../helpers/expect-message.js';

/**
 * Every type the client writes JSON for, each with the values whose text is least ordinary: the
 * server's row_to_json is the reference, byte for byte.
 */
const SCHEMA_SQL = String.raw`
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy "quoted"');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE DOMAIN doc AS jsonb;
CREATE TABLE every_type (
  id serial PRIMARY KEY,
  i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, num numeric, num_scaled numeric(12, 4), flag boolean,
  d date, ts timestamp, ts3 timestamp(3), tstz timestamptz, t time, ttz timetz, span interval,
  txt text, vc varchar(20), ch char(6), "quoted ""name""" text, "é" text,
  u uuid, raw bytea, j json, jb jsonb, jbs jsonb[], m mood, p positive, dj doc,
  r int4range, ip inet, bits bit varying, tsv tsvector, money_ money, x xml, lsn pg_lsn, o oid
);
`;

const ROWS_SQL = String.raw`
INSERT INTO every_type (i2, i4, i8, f4, f8, num, num_scaled, flag, d, ts, ts3, tstz, t, ttz, span, txt, vc, ch, "quoted ""name""", "é", u, raw, j, jb, jbs, m, p, dj, r, ip, bits, tsv, money_, x, lsn, o) VALUES
(-32768, -2147483648, -9223372036854775808, 'NaN', 'NaN', 'NaN', 0, true, '0044-03-15 BC', '0044-03-15 12:00:00 BC', 'infinity', '0044-03-15 12:00:00+00 BC', '00:00', '23:59:59.999999+05:30', '-1 year -2 days 03:04:05.6',
 E'tab\there\nnewline\rcr\\back "quote" \b\f\u000b\u0001\u001f\u007f', 'varchar', 'ab', E'\\N', '\N', '00000000-0000-0000-0000-000000000000', E'\\x00ff0a5c22', '{"b": 1,  "a" : [1, 2.50, "x\u00e9"]}', '{"b": 1, "a": "é\"\\"}', ARRAY['{"x": 1}', 'null']::jsonb[], 'happy "quoted"', 1, '{"k": [null]}',
 '[1,5)', '192.168.0.1/24', B'1010', 'a fat cat', 12.34, '<a x="1">é</a>', '16/B374D848', 4294967295),
(32767, 2147483647, 9223372036854775807, 'Infinity', '-Infinity', 'Infinity', 12345678.9, false, 'infinity', '-infinity', '2024-02-29 23:59:59.123', 'infinity', '24:00:00', '00:00:00-00:00:12', '0', '', '', '', '', '', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '', 'null', 'null', '{}', 'sad', 2147483647, 'null', 'empty', '::1', B'', '', -0.01, '', '0/0', 0),
(0, 0, 0, '-0', '-0', '-Infinity', -0.0001, NULL, '-infinity', '2000-01-01 00:00:00', '1999-12-31 23:59:59.999', '-infinity', NULL, NULL, NULL, 'plain', NULL, NULL, NULL, 'ünïcödé 🎉 日本', NULL, NULL, '"just a string"', '"\u2028 \u001f done"', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(1, 1, 1, 1.5e-10, 1e308, 0.000000000000000000001, 1, true, '10000-01-01', '10000-12-31 23:59:59.999999', NULL, '2024-06-30 12:34:56.789+02', '12:00', '12:00+14', '178000000 years', repeat('long ', 2000), NULL, NULL, NULL, NULL, NULL, NULL, '[]', '[]', NULL, 'ok', 3, '[]', '(,)', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(NULL, NULL, NULL, 3.4028235e38, 5e-324, 123456789012345678901234567890.123456789, NULL, false, '1900-01-01', '1900-01-01 00:00:00', NULL, '1900-01-01 00:00:00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO every_type (id) VALUES (DEFAULT);
-- Larger as JSON than the 1 MiB output chunk: written on its own, in a buffer a quarter larger
-- than the row (plain text) or, when that is too small (quotes and control characters), the bound's.
INSERT INTO every_type (txt, jb) VALUES (repeat(E'"\\\u0001x', 200000), jsonb_build_object('k', repeat('"', 1000)));
INSERT INTO every_type (txt, f8) VALUES (repeat('plain text ', 120000), 1);
INSERT INTO every_type (f8, tstz, txt) SELECT g * 0.1, timestamptz '1850-06-01 00:00:00+00' + g * interval '5 years 7 days 3 hours 1.5 seconds', repeat(chr(32 + g % 95), g % 7) FROM generate_series(1, 60) g;
CREATE TABLE no_columns ();
INSERT INTO no_columns DEFAULT VALUES;
INSERT INTO no_columns DEFAULT VALUES;
CREATE TABLE with_array (id int, tags text[]);
CREATE TYPE pair AS (a int, b text);
CREATE TABLE with_composite (id int, p pair);
CREATE TABLE with_point (id int, at point);
INSERT INTO with_array VALUES (1, ARRAY['a', 'b"c']);
INSERT INTO with_composite VALUES (1, ROW(1, 'x'));
INSERT INTO with_point VALUES (1, '(1,2)');
`;

async function collect(client: pg.Client, stream: CopyOutStream): Promise<string> {
  const running = client.query(stream as unknown as pg.Submittable) as unknown as CopyOutStream;
  const chunks: Buffer[] = [];
  for await (const chunk of running) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Every table's NDJSON as a backup session with these options exports it, by table name. */
async function backupNdjson(options: PostgresSourceOptions): Promise<Record<string, string>> {
  const session = await openPostgresSource(options);
  try {
    const out: Record<string, string> = {};
    for (const t of session.tables) {
      const chunks: Buffer[] = [];
      for await (const chunk of await session.exportTable(t, 0)) chunks.push(chunk as Buffer);
      out[t.name] = Buffer.concat(chunks).toString('utf8');
    }
    return out;
  } finally {
    await session.close();
  }
}

describe('NDJSON written by the client from COPY text equals the server row_to_json (real Postgres)', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let tables: TableShape[];

  beforeAll(async () => {
    db = await createTestDatabase('copy_text_json');
    await db.query(SCHEMA_SQL);
    await db.query(ROWS_SQL);
    client = await connect(db.url);
    await applyExactOutputSettings(client);
    tables = await describeTables(client, ['public']);
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  const table = (name: string) => tables.find((t) => t.name === name)!;

  it.each(['UTC', 'Asia/Kolkata', 'America/St_Johns', 'Europe/Amsterdam', 'Pacific/Chatham'])('every type, edge values and NULLs, byte for byte, in time zone %s', async (zone) => {
    // The backup always runs in UTC; other zones give the offsets with minutes and (before 1900s
    // standard time) seconds that the timestamp rewriting must also get right.
    await client.query(`SET TimeZone = '${zone}'`);
    try {
      const shape = table('every_type');
      const kinds = (await jsonKinds(client, [shape])).get(shape.oid);
      expect(kinds).toBeDefined();
      const writer = new CopyTextToJson(shape.columns.map((c, i) => ({ name: c.name, kind: kinds![i]! })));
      const byClient = await collect(client, new CopyOutStream(copyTextStatement(shape), { jsonRows: writer }));
      const byServer = await collect(client, new CopyOutStream(copyOutStatement(shape), { singleFieldLines: true }));
      const clientLines = byClient.split('\n');
      const serverLines = byServer.split('\n');
      expect(clientLines).toHaveLength(69);
      clientLines.forEach((line, i) => because(`row ${i}`, () => expect(line).toBe(serverLines[i])));
      expect(byClient).toBe(byServer);
    } finally {
      await client.query("SET TimeZone = 'UTC'");
    }
  });

  it('a table of no columns keeps the server row_to_json, which gives {} per row; the writer alone makes the same', async () => {
    const shape = table('no_columns');
    expect((await jsonKinds(client, [shape])).get(shape.oid)).toBeUndefined();
    const line = Buffer.alloc(8);
    const writer = new CopyTextToJson([]);
    expect(line.subarray(0, writer.convert(Buffer.from('\n'), 0, 1, line, 0)).toString()).toBe('{}\n');
    expect(writer.convert(Buffer.from('1\n'), 0, 2, line, 0)).toBe(-1);
  });

  it('tables with arrays, composites or element types keep the server row_to_json; the kinds name the rest', async () => {
    const kinds = await jsonKinds(client, tables);
    for (const name of ['with_array', 'with_composite', 'with_point']) because(name, () => expect(kinds.get(table(name).oid)).toBeUndefined());
    const shape = table('every_type');
    const byName = Object.fromEntries(shape.columns.map((c, i) => [c.name, kinds.get(shape.oid)![i]]));
    expect(byName).toMatchObject({ i2: 'number', num: 'number', f4: 'number', flag: 'bool', d: 'string', ts: 'timestamp', tstz: 'timestamptz', t: 'string', jb: 'string', jbs: 'string', dj: 'string', p: 'number', m: 'string', o: 'string' });
  });

  it('a backup session writes the same NDJSON for every table as the server does, falling back where it must', async () => {
    const byClient = await backupNdjson({ databaseUrl: db.url, jobs: 1, jsonRows: 'client' });
    const byServer = await backupNdjson({ databaseUrl: db.url, jobs: 1, jsonRows: 'server' });
    expect(Object.keys(byClient).sort()).toEqual(['every_type', 'no_columns', 'with_array', 'with_composite', 'with_point']);
    for (const name of Object.keys(byServer)) because(name, () => expect(byClient[name]).toBe(byServer[name]));
    expect(byClient.with_array).toBe('{"id":1,"tags":["a","b\\"c"]}\n');
    expect(byClient.no_columns).toBe('{}\n{}\n');
  });

  it('a column type changed while the backup waited for its lock: the table keeps the server row_to_json, and the lines are still its', async () => {
    await db.query('CREATE TABLE ev (id int, at timestamp)');
    await db.query("INSERT INTO ev VALUES (1, '2024-01-31 12:00:00')");
    const ddl = await connect(db.url);
    try {
      // In UTC, timestamp to timestamptz rewrites nothing: the backup's snapshot (taken while the
      // ALTER holds the table) says timestamp, COPY after the lock writes timestamptz.
      await ddl.query("SET TimeZone = 'UTC'");
      await ddl.query('BEGIN');
      await ddl.query('ALTER TABLE ev ALTER COLUMN at TYPE timestamptz');
      const reading = backupNdjson({ databaseUrl: db.url, tables: ['ev'], jobs: 1 });
      // The session waits for its ACCESS SHARE lock until the ALTER commits.
      for (let i = 0; i < 100; i++) {
        const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'ev'::regclass");
        if (rows[0]!.n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await ddl.query('COMMIT');
      expect((await reading).ev).toBe('{"id":1,"at":"2024-01-31T12:00:00+00:00"}\n');
    } finally {
      await ddl.end();
    }
  });

  it('a COPY row that is not one of the table rows fails the stream (and closes its connection mid-COPY)', async () => {
    const own = await connect(db.url);
    try {
      // Two columns where the writer knows one.
      const writer = new CopyTextToJson([{ name: 'a', kind: 'number' }]);
      await expect(collect(own, new CopyOutStream('COPY (SELECT 1, 2) TO STDOUT', { jsonRows: writer }))).rejects.toThrow(/not one of the table's rows/);
    } finally {
      await own.end().catch(() => undefined);
    }
  });
});
