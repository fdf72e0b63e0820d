import { describe, expect, it, jest } from '@jest/globals';
import { NdjsonRows } from '../../../lambdas/core/format/ndjson-rows.js';
import { LineTooLongError } from '../../../lambdas/core/util/streams.js';
import { WasmRowCheck } from '../../../lambdas/core/wasm/row-check.js';
import { mutate, value } from '../../helpers/json-rows.js';
import { seededRandom } from '../../helpers/random.js';

const COLUMNS = ['id', 'status', 'total', 'note'];

interface Outcome {
  records: number;
  bad: number[];
  stopped?: string;
}

/** The fastRecords of each check, in order. */
const fastRecords: number[] = [];

/** Checks `data` cut into chunks of the given sizes (cycled), with or without the WebAssembly check. */
function check(data: Buffer, sizes: readonly number[], fast: boolean, maxRecords = 1e9, maxLine = 1 << 20): Outcome {
  const bad: number[] = [];
  const rows = new NdjsonRows(COLUMNS, maxRecords, maxLine, (row) => bad.push(row), { fast });
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const size = sizes[i % sizes.length]!;
    // As validate: each chunk a Buffer of its own, overwritten once pushed (it goes back to a pool).
    const chunk = Buffer.from(data.subarray(at, at + size));
    at += size;
    const more = rows.push(chunk);
    chunk.fill(0x7b);
    if (!more) break;
  }
  rows.finish();
  const stopped = rows.stopped instanceof LineTooLongError ? rows.stopped.message : rows.stopped;
  fastRecords.push(rows.fastRecords);
  return { records: rows.records, bad, ...(stopped ? { stopped } : {}) };
}

function generated(rows: number, seed: number): Buffer {
  const next = seededRandom(seed);
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const row = `{${COLUMNS.map((n) => `"${n}":${value(next, next() < 0.95 ? 4 : 2).trim()}`).join(',')}}`;
    lines.push(next() < 0.05 ? mutate(Buffer.from(row), next).toString('latin1') : row);
  }
  return Buffer.from(`${lines.join('\n')}\n`, 'latin1');
}

describe('NdjsonRows: validate\'s NDJSON row check, the same with and without the WebAssembly check', () => {
  it('finds the same bad rows, at the same line numbers, whatever the chunk sizes', () => {
    const data = generated(6000, 7);
    const reference = check(data, [data.length], false);
    expect(reference.records).toBe(6000);
    expect(reference.bad.length).toBeGreaterThan(100);
    for (const sizes of [[data.length], [1 << 16], [4096, 777, 1], [13, 100_000, 5]]) {
      expect(check(data, sizes, true)).toEqual(reference);
      expect(fastRecords.at(-1)).toBeGreaterThan(sizes[0] === 13 ? 0 : 4000);
      expect(check(data, sizes, false)).toEqual(reference);
      expect(fastRecords.at(-1)).toBe(0);
    }
  });

  it('counts a last row without its newline, and a row cut across many chunks', () => {
    const data = Buffer.from('{"id":1,"status":"a","total":2,"note":null}\n{"id":2,"status":"' + 'b'.repeat(5000) + '","total":3,"note":"x"}\n{"id":3,"status":"c","total":4,"note":null}');
    for (const fast of [true, false]) expect(check(data, [100], fast)).toEqual({ records: 3, bad: [] });
  });

  it('stops at the first row beyond the manifest\'s count, and at a row longer than the limit with its line number', () => {
    const row = '{"id":1,"status":"shipped","total":2.5,"note":null}\n';
    const data = Buffer.from(row.repeat(50));
    for (const fast of [true, false]) {
      expect(check(data, [1 << 16], fast, 50)).toEqual({ records: 50, bad: [] });
      expect(check(data, [1 << 16], fast, 20)).toEqual({ records: 21, bad: [], stopped: 'too-many-records' });
      expect(check(data, [7], fast, 20)).toEqual({ records: 21, bad: [], stopped: 'too-many-records' });
      const long = Buffer.concat([data.subarray(0, 10 * row.length), Buffer.from(`{"id":1,"status":"${'z'.repeat(200)}","total":1,"note":null}\n`), data]);
      expect(check(long, [1 << 16], fast, 1e9, 100)).toEqual({ records: 10, bad: [], stopped: 'line 11 is longer than 100 bytes' });
      expect(check(long, [33], fast, 1e9, 100)).toEqual({ records: 10, bad: [], stopped: 'line 11 is longer than 100 bytes' });
    }
  });

  it('gives a table whose rows it never accepts (arrays) to the JavaScript check, with the same answers', () => {
    const data = Buffer.from(Array.from({ length: 3000 }, (_, i) => `{"id":${i},"status":["a","b"],"total":${i % 7 ? i : '"x'},"note":{}}\n`).join(''));
    const reference = check(data, [4096], false);
    // Every seventh row has an unterminated string; the others are objects with arrays and objects in them.
    expect(reference.bad).toHaveLength(Math.ceil(3000 / 7));
    expect(check(data, [4096], true)).toEqual(reference);
    expect(fastRecords.at(-1)).toBe(0);
  });

  it('checks in JavaScript alone when the module\'s memory cannot grow for a chunk (RangeError), with the same answers', () => {
    const data = generated(2000, 11);
    const reference = check(data, [1 << 16], false);
    const load = jest.spyOn(WasmRowCheck.prototype, 'load').mockImplementation(() => {
      throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
    });
    try {
      expect(check(data, [1 << 16], true)).toEqual(reference);
      expect(fastRecords.at(-1)).toBe(0);
      expect(load).toHaveBeenCalledTimes(1);
    } finally {
      load.mockRestore();
    }
  });

  it('takes `{}` as a row of a table without columns and `{` alone as a bad row, with and without the module', () => {
    for (const fast of [true, false]) {
      const bad: number[] = [];
      const rows = new NdjsonRows([], 10, 1000, (row) => bad.push(row), { fast });
      rows.push(Buffer.from('{}\n{\n{}\n{ }\n'));
      rows.finish();
      expect({ fast, records: rows.records, bad }).toEqual({ fast, records: 4, bad: [2] });
    }
  });
});
