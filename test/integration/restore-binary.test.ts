import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { NdjsonToCopyBinary } from '../../lambdas/core/copy-binary.js';
import { NdjsonToCopyBytes } from '../../lambdas/core/copy-text.js';
import { restoreBackup } from '../../lambdas/core/restore.js';
import type { BackupResult } from '../../lambdas/core/backup.js';
import type { TestDatabase } from '../helpers/database.js';
import type { tempFileStore } from '../helpers/engine.js';
import { snapshotTables } from '../helpers/compare.js';
import { sourceTargetBackup, type RoundTrip } from '../helpers/round-trip.js';
import { spyOnConvertedRows } from '../helpers/converter-rows.js';
import { because } from '../helpers/expect-message.js';

/** Every type the binary COPY path encodes, at its edges: what PostgreSQL's JSON encoders write for them. */
const SCHEMA_SQL = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'with "quote"');
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE DOMAIN short_text AS varchar(12);
CREATE TABLE binary_kinds (
  id bigint PRIMARY KEY,
  b boolean, s smallint, i integer, big bigint, pi positive_int,
  n numeric, n2 numeric(12, 4),
  t text, v varchar(20), c char(5), st short_text, m mood,
  j json, jb jsonb, u uuid,
  ts timestamp, ts3 timestamp(3), tz timestamptz, d date
);
CREATE TABLE binary_with_generated (
  id integer PRIMARY KEY,
  price numeric(10, 2) NOT NULL,
  qty integer NOT NULL,
  total numeric(12, 2) GENERATED ALWAYS AS (price * qty) STORED
);
CREATE DOMAIN tag_list AS text[];
CREATE TABLE binary_arrays (id integer PRIMARY KEY, raw bytea, tags text[], codes varchar(8)[], grid text[], labels tag_list);
-- One column without a binary encoder: the whole table takes COPY text.
CREATE TABLE not_binary (id integer PRIMARY KEY, during interval, tags text[]);
`;

const DATA_SQL = `
INSERT INTO binary_kinds VALUES
 (1, true, 32767, 2147483647, 9223372036854775807, 2147483647,
  99999999999999999999999999.0000000000001, 99999999.9999,
  E'tab\\there "q" \\\\ back / slash é 日本 🎉 \\x01 ctl', 'twenty characters..', 'ab', 'twelve chars', 'with "quote"',
  '{"b": 1,   "a": [1, 2], "a": "dup"}', '{"k": "v\\"q", "n": 1.5e300, "u": "é\\u0001"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '294276-12-31 23:59:59.999999', '2024-02-29 23:59:59.999', '2024-02-29 23:59:59.999999+05:30', '5874897-12-31'),
 (2, false, -32768, -2147483648, -9223372036854775808, 1,
  -0.000000000000000000001, -99999999.9999,
  '', '', '', '', 'sad',
  'null', 'null', '00000000-0000-0000-0000-000000000000',
  '4713-01-01 00:00:00 BC', '0044-03-15 12:00:00.5 BC', '4713-01-01 00:00:00+00 BC', '4713-01-01 BC'),
 (3, NULL, NULL, NULL, NULL, NULL, 'NaN', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'infinity', '-infinity', '-infinity', 'infinity'),
 (4, true, 0, 0, 0, 7, 'Infinity', 0, 'x', 'y', 'abcde', 'z', 'ok', '[1, 2,    3]', '[]', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  '2000-01-01 00:00:00', '1999-12-31 23:59:59.999', '1999-12-31 23:59:59.999999+00', '2000-01-01'),
 (5, false, 1, -1, -1, 9, '-Infinity', 0.0001, 'y', NULL, NULL, NULL, 'happy', '"str"', '"str"', NULL,
  '0001-01-01 00:00:00', '0001-12-31 23:59:59 BC', '1900-01-01 00:19:32+00:19:32', '0001-01-01'),
 (6, true, 2, 2, 4503599627370496, 10, 0, 10000, 'z', NULL, NULL, NULL, NULL, '{}', '{}', NULL,
  '1970-01-01 00:00:00.000001', NULL, '2262-04-11 23:47:16.854775+00', '1999-12-31'),
 (7, true, 3, 3, -4503599627370497, 11, 0.000, 10000000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  '1677-09-21 00:12:43.145225', NULL, '1677-09-21 00:12:43.145225+00', '1582-10-15'),
 (8, true, 4, 4, 123456789012345678, 12, 12345.6789, 1.5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, '1582-10-04'),
 (9, true, 5, 5, 5, 13, 0.00001, 0.0001, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2000-02-29'),
 (10, true, 6, 6, 6, 14, 10000.00010000, -1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '1900-03-01');
INSERT INTO binary_kinds (id, n) SELECT 100 + g, (g * 1.0001) ^ (g % 9) * (CASE WHEN g % 2 = 0 THEN -1 ELSE 1 END) FROM generate_series(1, 200) g;
INSERT INTO binary_with_generated (id, price, qty) SELECT g, g * 1.25, g % 7 + 1 FROM generate_series(1, 50) g;
INSERT INTO binary_arrays VALUES
 (1, '\\x', '{}', '{}', '{}', '{}'),
 (2, '\\x00ff10', '{NULL,"NULL","",a b,"q\\"uote","back\\\\slash","c,o{m}ma",é日本🎉}', '{AB,NULL,cdefghij}', '{{a,b,c},{d,NULL,f}}', '{x}'),
 (3, NULL, NULL, NULL, '{{{1},{2}},{{3},{4}}}', NULL),
 (4, decode(repeat('00010203fe', 2000), 'hex'), ARRAY[repeat('long ', 3000), E'tab\there\nnew line'], ARRAY[NULL, NULL]::varchar(8)[], '{{NULL}}', '{"{}"}');
INSERT INTO not_binary VALUES (1, '1 year 2 mons 3 days 04:05:06.789', '{a,"b c",NULL}'), (2, NULL, '{}');
`;

const TABLES = ['binary_kinds', 'binary_with_generated', 'binary_arrays', 'not_binary'];

describe('binary COPY restore of NDJSON rows: every encoded type at its edges, exactly (real Postgres)', () => {
  let target: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  let backup: BackupResult;
  let expected: Record<string, string[]>;
  let roundTrip: RoundTrip | undefined;

  beforeAll(async () => {
    roundTrip = await sourceTargetBackup('binary', { schemaSql: SCHEMA_SQL, dataSql: DATA_SQL, tables: TABLES, rows: 'ndjson' });
    ({ target, files, backup, expected } = roundTrip);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await roundTrip?.drop();
  });

  it('loads the tables it can encode in binary, and they equal the source as Postgres text, row by row', async () => {
    // Rows converted many at a time by the WebAssembly converter (the common forms) count too.
    const converted = spyOnConvertedRows(NdjsonToCopyBinary);
    const textRows = jest.spyOn(NdjsonToCopyBytes.prototype, 'convert');
    const result = await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: target.url });
    converted.restore();
    expect(result.totalRecords).toBe(backup.manifest.totalRecords);
    // binary_kinds, binary_with_generated and binary_arrays in binary; not_binary (interval) as COPY text.
    expect(converted.oneByOne + converted.inModule).toBe(backup.manifest.recordCounts['binary_kinds']! + backup.manifest.recordCounts['binary_with_generated']! + backup.manifest.recordCounts['binary_arrays']!);
    expect(converted.inModule).toBeGreaterThan(0);
    expect(textRows).toHaveBeenCalledTimes(backup.manifest.recordCounts['not_binary']!);
    const actual = await snapshotTables(target, TABLES);
    for (const table of TABLES) because(table, () => expect(actual[table]).toEqual(expected[table]));
  });

  it('gives the same rows through COPY text (loadMethod text)', async () => {
    const binaryRows = jest.spyOn(NdjsonToCopyBinary.prototype, 'convert');
    await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: target.url, loadMethod: 'text' });
    expect(binaryRows).not.toHaveBeenCalled();
    const actual = await snapshotTables(target, TABLES);
    for (const table of TABLES) because(table, () => expect(actual[table]).toEqual(expected[table]));
  });

  it('recomputes generated columns and keeps values exact to the last digit and microsecond', async () => {
    await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: target.url });
    const { rows } = await target.query<{ big: string; n: string; ts: string; d: string }>('SELECT big::text, n::text, ts::text, d::text FROM binary_kinds WHERE id IN (1, 2) ORDER BY id');
    expect(rows[0]).toMatchObject({ big: '9223372036854775807', n: '99999999999999999999999999.0000000000001', ts: '294276-12-31 23:59:59.999999', d: '5874897-12-31' });
    expect(rows[1]).toMatchObject({ big: '-9223372036854775808', n: '-0.000000000000000000001', ts: '4713-01-01 00:00:00 BC', d: '4713-01-01 BC' });
    const { rows: totals } = await target.query<{ wrong: string }>('SELECT count(*)::text AS wrong FROM binary_with_generated WHERE total IS DISTINCT FROM price * qty');
    expect(totals[0]!.wrong).toBe('0');
  });
});
