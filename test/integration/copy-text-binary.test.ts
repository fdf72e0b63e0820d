import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { BinaryKind } from '../../lambdas/core/copy-binary.js';
import { CopyTextToCopyBinary } from '../../lambdas/core/copy-text-binary.js';
import { convertNdjsonBytes } from '../../lambdas/core/copy-text.js';
import { applyExactOutputSettings } from '../../lambdas/core/postgres/source.js';
import { WasmCopyBinary } from '../../lambdas/core/wasm/copy-binary.js';
import { spyOnConvertedRows } from '../helpers/converter-rows.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/*
 * The oracle is PostgreSQL itself: the same rows copied out as COPY text (under the backup's
 * settings) and as binary COPY; converting the text must give the server's binary, byte for byte.
 */
const COLUMNS: readonly { readonly name: string; readonly type: string; readonly kind: BinaryKind }[] = [
  { name: 'id', type: 'integer', kind: 'int4' },
  { name: 'b', type: 'boolean', kind: 'bool' },
  { name: 's', type: 'smallint', kind: 'int2' },
  { name: 'big', type: 'bigint', kind: 'int8' },
  { name: 'n', type: 'numeric', kind: 'numeric' },
  { name: 'money', type: 'numeric(12,2)', kind: 'numeric' },
  { name: 't', type: 'text', kind: 'text' },
  { name: 'v', type: 'varchar(40)', kind: 'text' },
  { name: 'c', type: 'char(6)', kind: 'text' },
  { name: 'j', type: 'json', kind: 'json' },
  { name: 'jb', type: 'jsonb', kind: 'jsonb' },
  { name: 'u', type: 'uuid', kind: 'uuid' },
  { name: 'ts', type: 'timestamp', kind: 'timestamp' },
  { name: 'tz', type: 'timestamptz', kind: 'timestamptz' },
  { name: 'd', type: 'date', kind: 'date' },
  { name: 'raw', type: 'bytea', kind: 'bytea' },
];

/** Values of every form PostgreSQL writes: escapes and control characters, unicode, numerics and datetimes at their edges, NULLs. */
const DATA_SQL = `
INSERT INTO kinds SELECT g,
  CASE WHEN g % 7 = 0 THEN NULL ELSE g % 2 = 0 END,
  ((g * 7919) % 65535) - 32767,
  CASE g % 5 WHEN 0 THEN 9223372036854775807 - g WHEN 1 THEN -9223372036854775807 + g ELSE (g::bigint * 2654435761) % 1000000000000000000 END,
  CASE g % 11 WHEN 0 THEN 'NaN'::numeric WHEN 1 THEN 'Infinity' WHEN 2 THEN '-Infinity' WHEN 3 THEN 0 WHEN 4 THEN NULL
    ELSE ((g * 1.0001) ^ (g % 9)) * (CASE WHEN g % 2 = 0 THEN -1 ELSE 1 END) / 10 ^ (g % 13) END,
  (g * 37 % 100000) / 100.0,
  CASE g % 9 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN E'tab\\there\\nnew\\rline \\\\ back\\bspace\\fform\\vvert \\\\N' WHEN 3 THEN '\\N'
    WHEN 4 THEN 'é 日本 🎉 ' || repeat('long ', g % 50) ELSE 'Plain words ' || g END,
  left(md5(g::text), g % 40),
  CASE WHEN g % 3 = 0 THEN NULL ELSE chr(65 + g % 26) END,
  CASE g % 4 WHEN 0 THEN NULL WHEN 1 THEN '{"a": [1, 2], "t": "x\\ty"}' ELSE json_build_object('k', g, 's', E'q"\\\\ \\t', 'e', 'é')::text END::json,
  CASE g % 4 WHEN 0 THEN NULL WHEN 1 THEN '[]' ELSE jsonb_build object END,
  CASE WHEN g % 5 = 0 THEN NULL ELSE md5(g::text)::uuid END,
  CASE g % 13 WHEN 0 THEN 'infinity'::timestamp WHEN 1 THEN '-infinity' WHEN 2 THEN '0044-03-15 12:00:00.5 BC' WHEN 3 THEN '294276-12-31 23:59:59.999999' WHEN 4 THEN NULL
    ELSE '2024-01-01'::timestamp + (g * interval '3 hours 17 minutes 5.123457 seconds') END,
  CASE g % 13 WHEN 0 THEN 'infinity'::timestamptz WHEN 1 THEN '-infinity' WHEN 2 THEN '4713-01-01 00:00:00+00 BC' WHEN 3 THEN '10000-01-01 00:00:00+00' WHEN 4 THEN NULL
    ELSE '1999-12-31 23:00:00+05:30'::timestamptz + (g * interval '1 day 7 seconds 0.5 ms') END,
  CASE g % 13 WHEN 0 THEN 'infinity'::date WHEN 1 THEN '-infinity' WHEN 2 THEN '4713-01-01 BC' WHEN 3 THEN '5874897-12-31' WHEN 4 THEN NULL
    ELSE '2000-02-29'::date + g END,
  CASE g % 6 WHEN 0 THEN NULL WHEN 1 THEN '\\x' ELSE decode(md5(g::text) || 'ff00', 'hex') END
FROM generate_series(1, 3000) g;
`.replace('jsonb_build object', "jsonb_build_object('n', g * 1.5, 'tags', jsonb_build_array('a', g % 3), 'nested', jsonb_build_object('k', E'v\\nw'))");

async function copyOut(client: pg.Client, sql: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(client.query(copyTo(sql)), async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) chunks.push(chunk);
  });
  return Buffer.concat(chunks);
}

/** A binary COPY stream's tuples, each field as hex (or null): to say which value differs. */
function tuples(stream: Buffer): (string | null)[][] {
  const rows: (string | null)[][] = [];
  let at = 19;
  for (;;) {
    const count = stream.readInt16BE(at);
    at += 2;
    if (count < 0) return rows;
    const row: (string | null)[] = [];
    for (let i = 0; i < count; i++) {
      const length = stream.readInt32BE(at);
      at += 4;
      let value = length < 0 ? null : stream.toString('hex', at, at + length);
      // numeric_recv ignores a NaN's or an infinity's display scale, and numeric_send fills it with whatever the stored header holds.
      if (value && COLUMNS[i]!.kind === 'numeric' && stream.readUInt16BE(at + 4) >= 0xc000) value = value.slice(0, 12) + '0000';
      row.push(value);
      if (length > 0) at += length;
    }
    rows.push(row);
  }
}

/** Expects `actual` to be the server's binary (but for what numeric_recv ignores), naming the first row and column that differ. */
function expectServerBinary(actual: Buffer, binary: Buffer): void {
  const ours = tuples(actual);
  const theirs = tuples(binary);
  const row = theirs.findIndex((r, i) => JSON.stringify(r) !== JSON.stringify(ours[i]));
  const column = row < 0 ? -1 : theirs[row]!.findIndex((v, i) => v !== ours[row]?.[i]);
  expect({ row, column: COLUMNS[column]?.name, ours: ours[row]?.[column], theirs: theirs[row]?.[column] }).toEqual({ row: -1 });
  expect(ours.length).toBe(theirs.length);
  // Past the display scales of special numerics, the streams are the same bytes.
  expect(actual.length).toBe(binary.length);
  expect(actual.subarray(0, 19).equals(binary.subarray(0, 19))).toBe(true);
}

/** The converter's whole output for `text`, fed in chunks of `chunkSize` bytes. */
async function convert(text: Buffer, chunkSize: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < text.length; at += chunkSize) chunks.push(Buffer.from(text.subarray(at, at + chunkSize)));
  const converter = new CopyTextToCopyBinary(COLUMNS.map((c) => ({ name: c.name, kind: c.kind })));
  const out: Buffer[] = [];
  for await (const batch of convertNdjsonBytes(Readable.from(chunks), converter)) out.push(Buffer.from(batch));
  return Buffer.concat(out);
}

describe('CopyTextToCopyBinary: COPY text rows to binary COPY in the client, against PostgreSQL\'s own binary output (real Postgres)', () => {
  let db: TestDatabase;
  let client: pg.Client;
  let text: Buffer;
  let binary: Buffer;

  beforeAll(async () => {
    db = await createTestDatabase('copy_text_binary');
    await db.query(`CREATE TABLE kinds (${COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ')})`);
    await db.query(DATA_SQL);
    client = new pg.Client({ connectionString: db.url });
    await client.connect();
    await applyExactOutputSettings(client);
    text = await copyOut(client, 'COPY kinds TO STDOUT');
    binary = await copyOut(client, 'COPY kinds TO STDOUT (FORMAT binary)');
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('writes exactly the server\'s binary COPY for 3,000 rows of every kind, in chunks from 1 MiB down to 7 bytes', async () => {
    // The data holds the unusual forms too: both converters are at work.
    expect(text.includes('\tinfinity\t')).toBe(true);
    expect(text.includes(' BC\t')).toBe(true);
    for (const chunkSize of [1 << 20, 4096, 97, 7]) expectServerBinary(await convert(text, chunkSize), binary);
  });

  it('gives the same bytes with the JavaScript converter alone (no WebAssembly module)', async () => {
    const forCopyText = jest.spyOn(WasmCopyBinary, 'forCopyText').mockReturnValue(undefined);
    expectServerBinary(await convert(text, 65536), binary);
    expect(forCopyText).toHaveBeenCalled();
  });

  it('converts every row of the common forms in the WebAssembly module, and gives it the unusual ones back', async () => {
    const converted = spyOnConvertedRows(CopyTextToCopyBinary);
    // No NaN or infinities, no BC or five-digit years, no 19-digit bigints: escapes, unicode, NULLs, zones and bytea stay.
    const common = 'SELECT * FROM kinds WHERE id % 13 >= 5 AND id % 11 >= 3 AND id % 5 >= 2';
    const commonText = await copyOut(client, `COPY (${common}) TO STDOUT`);
    expectServerBinary(await convert(commonText, 1 << 20), await copyOut(client, `COPY (${common}) TO STDOUT (FORMAT binary)`));
    const rows = commonText.toString().split('\n').length - 1;
    expect(rows).toBeGreaterThan(700);
    expect([converted.inModule, converted.oneByOne]).toEqual([rows, 0]);
    // All of them: the module stops at the unusual rows, and gives up on a table where they are many.
    converted.reset();
    expectServerBinary(await convert(text, 1 << 20), binary);
    expect(converted.inModule).toBeGreaterThan(0);
    expect(converted.inModule + converted.oneByOne).toBe(3000);
  });
});
