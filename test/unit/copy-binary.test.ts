import { describe, expect, it, jest } from '@jest/globals';
import { NdjsonToCopyBinary, type BinaryKind } from '../../lambdas/core/copy-binary.js';
import { convertNdjsonBytes } from '../../lambdas/core/copy-text.js';
import { WasmCopyBinary } from '../../lambdas/core/wasm/copy-binary.js';
import { arrayField, numeric } from '../helpers/pg-binary.js';

type Column = { name: string; kind: BinaryKind | undefined };

/** Reads binary COPY back into rows of raw field bytes (null for SQL NULL), checking the framing. */
function decode(data: Buffer): (Buffer | null)[][] {
  expect(data.subarray(0, 11).toString('latin1')).toBe('PGCOPY\n\xff\r\n\0');
  expect(data.readInt32BE(11)).toBe(0);
  expect(data.readInt32BE(15)).toBe(0);
  let p = 19;
  const rows: (Buffer | null)[][] = [];
  for (;;) {
    const fields = data.readInt16BE(p);
    p += 2;
    if (fields === -1) break;
    const row: (Buffer | null)[] = [];
    for (let f = 0; f < fields; f++) {
      const length = data.readInt32BE(p);
      p += 4;
      if (length === -1) row.push(null);
      else {
        row.push(data.subarray(p, p + length));
        p += length;
      }
    }
    rows.push(row);
  }
  expect(p).toBe(data.length);
  return rows;
}

async function convert(columns: Column[], lines: string[], chunkSize = 4096): Promise<Buffer> {
  const data = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  async function* chunks() {
    for (let i = 0; i < data.length; i += chunkSize) yield data.subarray(i, i + chunkSize);
  }
  const out: Buffer[] = [];
  for await (const b of convertNdjsonBytes(chunks(), new NdjsonToCopyBinary(columns, 16))) out.push(b);
  return Buffer.concat(out);
}

async function fieldOf(kind: BinaryKind, json: string): Promise<Buffer | null> {
  return (decode(await convert([{ name: 'v', kind }], [`{"v":${json}}`])))[0]![0]!;
}

const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const micros = (iso: string) => BigInt(Date.parse(iso) - PG_EPOCH_MS) * 1000n;

describe('NDJSON row -> binary COPY: each type as PostgreSQL receives it', () => {
  it('integers of each width, exactly, through 64 bits', async () => {
    expect((await fieldOf('int2', '-32768'))!.readInt16BE(0)).toBe(-32768);
    expect((await fieldOf('int4', '2147483647'))!.readInt32BE(0)).toBe(2147483647);
    expect((await fieldOf('int8', '-1'))!.readBigInt64BE(0)).toBe(-1n);
    expect((await fieldOf('int8', '4503599627370497'))!.readBigInt64BE(0)).toBe(4503599627370497n);
    expect((await fieldOf('int8', '-9223372036854775808'))!.readBigInt64BE(0)).toBe(-9223372036854775808n);
    expect((await fieldOf('int8', '9223372036854775807'))!.readBigInt64BE(0)).toBe(9223372036854775807n);
  });

  it('numeric digit by digit in base 10000, with its display scale and without padding groups', async () => {
    expect(await fieldOf('numeric', '12345.6789')).toEqual(numeric(1, 0, 4, [1, 2345, 6789]));
    expect(await fieldOf('numeric', '-1.50')).toEqual(numeric(0, 0x4000, 2, [1, 5000]));
    expect(await fieldOf('numeric', '0.00001')).toEqual(numeric(-2, 0, 5, [1000]));
    expect(await fieldOf('numeric', '100000000')).toEqual(numeric(2, 0, 0, [1]));
    expect(await fieldOf('numeric', '0.000')).toEqual(numeric(0, 0, 3, []));
    expect(await fieldOf('numeric', '99999999999999999999.000000000000000000001')).toEqual(numeric(4, 0, 21, [9999, 9999, 9999, 9999, 9999, 0, 0, 0, 0, 0, 1000]));
    expect(await fieldOf('numeric', '"NaN"')).toEqual(numeric(0, 0xc000, 0, []));
    expect(await fieldOf('numeric', '"-Infinity"')).toEqual(numeric(0, 0xf000, 0, []));
  });

  it('timestamps as microseconds since 2000 in UTC, whatever offset they were written with', async () => {
    expect((await fieldOf('timestamptz', '"2024-03-01T12:34:56.789+02:00"'))!.readBigInt64BE(0)).toBe(micros('2024-03-01T10:34:56.789Z'));
    expect((await fieldOf('timestamptz', '"1900-01-01T05:21:10+05:21:10"'))!.readBigInt64BE(0)).toBe(micros('1900-01-01T00:00:00Z'));
    expect((await fieldOf('timestamptz', '"1999-12-31T23:59:59.999999+00:00"'))!.readBigInt64BE(0)).toBe(-1n);
    expect((await fieldOf('timestamp', '"2000-01-01T00:00:00.5"'))!.readBigInt64BE(0)).toBe(500000n);
    expect((await fieldOf('timestamp', '"294276-12-31T23:59:59.999999"'))!.readBigInt64BE(0)).toBe(9223371331199999999n);
    expect((await fieldOf('timestamptz', '"infinity"'))!.readBigInt64BE(0)).toBe(9223372036854775807n);
    expect((await fieldOf('timestamp', '"-infinity"'))!.readBigInt64BE(0)).toBe(-9223372036854775808n);
  });

  it('dates as days since 2000, BC and infinity included', async () => {
    expect((await fieldOf('date', '"2000-01-01"'))!.readInt32BE(0)).toBe(0);
    expect((await fieldOf('date', '"1999-12-31"'))!.readInt32BE(0)).toBe(-1);
    expect((await fieldOf('date', '"2024-02-29"'))!.readInt32BE(0)).toBe((Date.UTC(2024, 1, 29) - PG_EPOCH_MS) / 86_400_000);
    // PostgreSQL's first date, proleptic Gregorian (what `'4713-01-01 BC'::date - '2000-01-01'` says).
    expect((await fieldOf('date', '"4713-01-01 BC"'))!.readInt32BE(0)).toBe(-2451507);
    expect((await fieldOf('date', '"infinity"'))!.readInt32BE(0)).toBe(2147483647);
  });

  it('strings unescaped to their UTF-8 bytes; jsonb with its version byte; uuid as 16 bytes; booleans', async () => {
    expect((await fieldOf('text', '"tab\\there \\"q\\" \\\\ \\/ \\u00e9 \\ud83c\\udf89 日本 \\u0001"'))!.toString('utf8')).toBe('tab\there "q" \\ / é 🎉 日本 \u0001');
    expect(await fieldOf('jsonb', '"{\\"a\\": 1}"')).toEqual(Buffer.concat([Buffer.from([1]), Buffer.from('{"a": 1}')]));
    expect(await fieldOf('json', '"[1,  2]"')).toEqual(Buffer.from('[1,  2]'));
    expect((await fieldOf('uuid', '"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"'))!.toString('hex')).toBe('a0eebc999c0b4ef8bb6d6bb9bd380a11');
    expect(await fieldOf('bool', 'true')).toEqual(Buffer.from([1]));
    expect(await fieldOf('bool', 'false')).toEqual(Buffer.from([0]));
    expect(await fieldOf('text', 'null')).toBeNull();
  });

  it('bytea from its hex text to the raw bytes', async () => {
    expect(await fieldOf('bytea', '"\\\\x00ff7fA0"')).toEqual(Buffer.from([0x00, 0xff, 0x7f, 0xa0]));
    expect(await fieldOf('bytea', '"\\\\x"')).toEqual(Buffer.alloc(0));
    // bytea_output = escape, as PostgreSQL's to_json writes it.
    expect(await fieldOf('bytea', String.raw`"\\000\\377\\\\\"A/\\177\\012"`)).toEqual(Buffer.from([0x00, 0xff, 0x5c, 0x22, 0x41, 0x2f, 0x7f, 0x0a]));
    expect(await fieldOf('bytea', String.raw`"\\\\x"`)).toEqual(Buffer.from('\\x'));
    expect(await fieldOf('bytea', '""')).toEqual(Buffer.alloc(0));
  });

  it('text[] and varchar[] as arrays of their element type: empty, with NULLs, nested, escaped', async () => {
    expect(await fieldOf('text[]', '[]')).toEqual(arrayField(25, [], []));
    expect(await fieldOf('text[]', '["new","winter"]')).toEqual(arrayField(25, [2], ['new', 'winter']));
    expect(await fieldOf('varchar[]', '["a\\"b",null,"","NULL","é,{}"]')).toEqual(arrayField(1043, [5], ['a"b', null, '', 'NULL', 'é,{}']));
    expect(await fieldOf('text[]', '[["a","b","c"],["d",null,"f"]]')).toEqual(arrayField(25, [2, 3], ['a', 'b', 'c', 'd', null, 'f']));
    expect(await fieldOf('text[]', '[ "spaced" , "x" ]')).toEqual(arrayField(25, [2], ['spaced', 'x']));
    expect(await fieldOf('text[]', 'null')).toBeNull();
  });

  it('never writes past its output: rows of many empty array elements, each bigger in binary than in JSON, across slabs', () => {
    const converter = new NdjsonToCopyBinary([{ name: 'a', kind: 'text[]' }], 16);
    // ~16-28 KB of output per row over several 1 MiB slabs, ending at varying offsets from a slab's end.
    const sizes = Array.from({ length: 300 }, (_, i) => 4000 + ((i * 997) % 3000));
    const out: Buffer[] = [];
    for (const n of sizes) {
      const line = Buffer.from(`{"a":[${'"",'.repeat(n - 1)}""]}`);
      converter.convert(line, 0, line.length);
      out.push(converter.take(true) ?? Buffer.alloc(0));
    }
    converter.finish();
    out.push(converter.take(true)!);
    const decoded = decode(Buffer.concat(out));
    expect(decoded.length).toBe(sizes.length);
    decoded.forEach((row, i) => {
      const field = row[0]!;
      expect([field.readInt32BE(0), field.readInt32BE(12), field.length]).toEqual([1, sizes[i], 20 + 4 * sizes[i]!]);
      for (let k = 20; k < field.length; k += 4) if (field.readInt32BE(k) !== 0) throw new Error(`row ${i}: element at ${k} is not empty`);
    });
  });

  const columns: Column[] = [
    { name: 'id', kind: 'int8' },
    { name: 'total', kind: undefined },
    { name: 'name', kind: 'text' },
    { name: 'at', kind: 'timestamptz' },
  ];
  const rows = [
    '{"id":1,"total":[1,{"a":"]"}],"name":"a\\nb","at":"2024-01-01T00:00:00+00:00"}',
    '{"id":2,"total":"x\\"y","name":null,"at":null}',
    '{ "id" : 3, "total" : 7, "name" : "spaced" , "at" : "infinity" }',
  ];

  it('leaves out generated columns whatever their value, and reads rows with whitespace the same way', async () => {
    const decoded = decode(await convert(columns, rows));
    expect(decoded.map((r) => r.length)).toEqual([3, 3, 3]);
    expect(decoded.map((r) => r[0]!.readBigInt64BE(0))).toEqual([1n, 2n, 3n]);
    expect(decoded[0]![1]!.toString()).toBe('a\nb');
    expect(decoded[1]![1]).toBeNull();
    expect(decoded[2]![1]!.toString()).toBe('spaced');
  });

  it('writes the same bytes however the input is split into chunks', async () => {
    const whole = await convert(columns, rows);
    for (const size of [1, 3, 17, 64]) expect(await convert(columns, rows, size)).toEqual(whole);
  });

  it('refuses what PostgreSQL would not have written for the column, naming the row and column', async () => {
    await expect(convert(columns, ['{"name":"x","id":1,"total":1,"at":null}'])).rejects.toThrow(/row 1: .*expected key "id"/);
    await expect(convert([{ name: 'u', kind: 'uuid' }], ['{"u":"not-a-uuid"}'])).rejects.toThrow(/column "u": expected a uuid/);
    await expect(convert([{ name: 's', kind: 'int2' }], ['{"s":40000}'])).rejects.toThrow(/out of range for smallint/);
    await expect(convert([{ name: 'n', kind: 'numeric' }], ['{"n":1e5}'])).rejects.toThrow(/column "n"/);
    await expect(convert([{ name: 't', kind: 'timestamptz' }], ['{"t":"2024-13-01T00:00:00+00:00"}'])).rejects.toThrow(/column "t": "2024-13-01/);
    await expect(convert([{ name: 't', kind: 'timestamp' }], ['{"t":"2024-01-01T00:00:00+01:00"}'])).rejects.toThrow(/not a timestamp/);
    await expect(convert([{ name: 'b', kind: 'bool' }], ['{"b":"yes"}'])).rejects.toThrow(/expected true or false/);
    await expect(convert([{ name: 'x', kind: 'bytea' }], [String.raw`{"x":"\\400"}`])).rejects.toThrow(/column "x": expected bytea in hex \(\\x…\) or escape format/);
    await expect(convert([{ name: 'x', kind: 'bytea' }], [String.raw`{"x":"\n"}`])).rejects.toThrow(/column "x": expected bytea in hex/);
    await expect(convert([{ name: 'x', kind: 'bytea' }], ['{"x":"\\\\xabc"}'])).rejects.toThrow(/even number of hex digits/);
    await expect(convert([{ name: 'x', kind: 'bytea' }], ['{"x":"\\\\xzz"}'])).rejects.toThrow(/expected hex digits/);
    await expect(convert([{ name: 'a', kind: 'text[]' }], ['{"a":[["a"],["b","c"]]}'])).rejects.toThrow(/column "a": expected a rectangular array/);
    await expect(convert([{ name: 'a', kind: 'text[]' }], ['{"a":[1,2]}'])).rejects.toThrow(/expected a string or null as an array element/);
    await expect(convert([{ name: 'a', kind: 'text[]' }], ['{"a":[[[[[[["x"]]]]]]]}'])).rejects.toThrow(/more than 6 array dimensions/);
    await expect(convert([{ name: 'a', kind: 'text[]' }], ['{"a":"{a,b}"}'])).rejects.toThrow(/column "a": expected an array/);
  });

  it('refuses dates and times no calendar or clock has, in JavaScript and in the WebAssembly module alike, rather than shifting them into valid ones', async () => {
    const impossible: [BinaryKind, string][] = [
      ['date', '2023-02-29'],
      ['date', '2023-04-31'],
      ['date', '0002-02-29 BC'],
      ['date', '0000-01-01'],
      // The day count would wrap past int32 into a valid 1969 date.
      ['date', '11761191-01-01'],
      ['timestamp', '2024-01-01T24:00:00'],
      ['timestamp', '2024-01-01T23:60:00'],
      ['timestamp', '2024-01-01T23:59:60'],
      ['timestamptz', '2024-01-01T00:00:00+16:00'],
      ['timestamptz', '2024-01-01T00:00:00+05:60'],
    ];
    for (const [kind, value] of impossible) {
      await expect(convert([{ name: 'v', kind }], [`{"v":"${value}"}`])).rejects.toThrow(`column "v": "${value}" is not a ${kind}`);
      const wasm = WasmCopyBinary.for([Buffer.from('"v":')], [kind], { perByte: 1, perColumn: 24 })!;
      const line = Buffer.from(`{"v":"${value}"}\n`);
      wasm.load(line, 0, line.length);
      wasm.convert(0, Buffer.alloc(256), 0, 256);
      expect([value, wasm.rows]).toEqual([value, 0]);
    }
    // Their neighbours that exist still convert: leap days (1 BC is a leap year), the last second, the largest offset.
    for (const [kind, value] of [['date', '2024-02-29'], ['date', '2000-02-29'], ['date', '0001-02-29 BC'], ['timestamp', '2024-12-31T23:59:59.999999'], ['timestamptz', '2024-01-01T00:00:00-15:59:59']] as const) {
      expect(await fieldOf(kind, `"${value}"`)).not.toBeNull();
    }
  });
});

describe('NDJSON row -> binary COPY for a table without columns', () => {
  it('writes each `{}` (spaces allowed) as a row of no fields, and refuses a row cut after `{` or one with members', async () => {
    expect(decode(await convert([], ['{}', '{ }']))).toEqual([[], []]);
    await expect(convert([], ['{}', '{'])).rejects.toThrow(/row 2: expected } \(the table has no columns\)/);
    await expect(convert([], ['{"a":1}'])).rejects.toThrow(/row 1: expected }/);
  });
});

describe('NDJSON chunks -> binary COPY with the WebAssembly converter for common rows', () => {
  const columns = [
    { name: 'id', kind: 'int8' as const },
    { name: 'note', kind: 'text' as const },
    { name: 'at', kind: 'timestamptz' as const },
  ];
  /** Common rows; every 9th one holds a `\u` escape and every 13th an offset with seconds it gives back or converts; one is over 1 MiB. */
  const lines = Array.from({ length: 400 }, (_, i) => {
    const note = i === 200 ? 'long '.repeat(240_000) : i % 9 === 0 ? `caf\\u00e9 ${i}` : `note ${i} \\"q\\" é`;
    const at = i % 13 === 0 ? '2026-12-01T10:00:00+05:30:15' : `2026-12-01T10:00:0${i % 10}.5+01:00`;
    return `{"id":${i * 1_000_003},"note":"${note}","at":"${at}"}`;
  });
  const ndjson = Buffer.from(lines.map((line) => `${line}\n`).join(''));

  /** The COPY bytes for the data cut into chunks of `size`, with the WebAssembly converter or without it. */
  async function convert(data: Buffer, size: number, wasm: boolean, onRows?: (rows: number) => void): Promise<{ copy: Buffer; rowsInLines: number }> {
    const converter = new NdjsonToCopyBinary(columns);
    if (!wasm) Object.assign(converter, { convertLines: undefined });
    let rowsInLines = 0;
    const convertLines = converter.convertLines?.bind(converter);
    if (convertLines)
      converter.convertLines = (...args) => {
        const stop = convertLines(...args);
        rowsInLines += converter.linesConverted;
        return stop;
      };
    async function* chunks() {
      for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
    }
    const out: Buffer[] = [];
    for await (const b of convertNdjsonBytes(chunks(), converter, onRows)) out.push(Buffer.from(b));
    return { copy: Buffer.concat(out), rowsInLines };
  }

  it('gives the JavaScript converter\'s bytes for every chunking, rows cut across chunks and lines given back included', async () => {
    const reference = await convert(ndjson, ndjson.length, false);
    expect(reference.rowsInLines).toBe(0);
    for (const size of [ndjson.length, 1 << 20, 65_536, 4096, 333, 64]) {
      const counts: number[] = [];
      const { copy, rowsInLines } = await convert(ndjson, size, true, (rows) => counts.push(rows));
      expect(copy.equals(reference.copy)).toBe(true);
      expect(counts.at(-1)).toBe(lines.length);
      // Chunks holding whole lines: most rows through the module (not those it gives back: \u escapes, the long one).
      if (size >= 4096) expect(rowsInLines).toBeGreaterThan(300);
    }
  });

  it('converts every row in JavaScript when the module\'s memory cannot grow for a chunk', async () => {
    const reference = await convert(ndjson, 65_536, false);
    const load = jest.spyOn(WasmCopyBinary.prototype, 'load').mockImplementation(() => {
      throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
    });
    try {
      const { copy, rowsInLines } = await convert(ndjson, 65_536, true);
      expect(load).toHaveBeenCalledTimes(1);
      expect(rowsInLines).toBe(0);
      expect(copy.equals(reference.copy)).toBe(true);
    } finally {
      load.mockRestore();
    }
  });

  it('names a bad row by the same row number either way', async () => {
    const bad = Buffer.from(lines.map((line, i) => `${i === 321 ? line.replace('"id":', '"id":"x",') : line}\n`).join('').replace('"id":"x",', '"id":"x"'));
    for (const wasm of [false, true]) await expect(convert(bad, 65_536, wasm)).rejects.toThrow(/^row 322: /);
  });
});
