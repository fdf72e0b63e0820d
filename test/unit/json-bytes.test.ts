import { describe, expect, it } from '@jest/globals';
import { RowKeys, afterKey, jsonObjectMembers, rowObjectMembers } from '../../lambdas/core/json-bytes.js';
import { NAMES, mutate, object, value } from '../helpers/json-rows.js';
import { seededRandom } from '../helpers/random.js';

/** What validate asked before the byte check: JSON.parse of the line as UTF-8, and its keys if it is an object. */
function byJsonParse(line: Buffer): number {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return -1;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value).length : -1;
}

/** The byte check on `line` as validate calls it: inside a chunk, the line followed by its newline and the next line. */
function byBytes(line: Buffer): number {
  const chunk = Buffer.concat([Buffer.from('{"before":1}\n'), line, Buffer.from('\n{"after":"x"}\n')]);
  const start = 13;
  const view = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
  const inChunk = jsonObjectMembers(view, start, start + line.length);
  // And alone, as a line joined from pieces (nothing after it).
  const alone = jsonObjectMembers(new Uint8Array(line), 0, line.length);
  expect({ line: line.toString('latin1'), inChunk }).toEqual({ line: line.toString('latin1'), inChunk: alone });
  return inChunk;
}

describe('jsonObjectMembers: the row check of NDJSON validate, byte by byte', () => {
  it('counts the members of objects and refuses everything JSON.parse refuses or that is not an object', () => {
    const cases: [string, number][] = [
      ['{}', 0],
      [' { } ', 0],
      ['{"a":1}', 1],
      ['{"a":1,"b":[1,{"c":2}],"d":{"e":[],"f":{}}}', 3],
      ['{"a" : "x" , "b":null,"c":true,"d":false}', 4],
      ['{"a":"\\u00e9\\n\\"\\\\\\/\\b\\f\\r\\t"}', 1],
      ['{"a":-0.5e-3,"b":0,"c":1E+2}', 3],
      ['{"a":1,"a":2}', 2],
      ['[]', -1],
      ['"str"', -1],
      ['1', -1],
      ['', -1],
      ['{', -1],
      ['{"a":1', -1],
      ['{"a":1,}', -1],
      ['{"a" 1}', -1],
      ['{a:1}', -1],
      ['{"a":01}', -1],
      ['{"a":1.}', -1],
      ['{"a":.5}', -1],
      ['{"a":1e}', -1],
      ['{"a":-}', -1],
      ['{"a":tru}', -1],
      ['{"a":nul}', -1],
      ['{"a":"\\x"}', -1],
      ['{"a":"\\u12"}', -1],
      ['{"a":"\\u12g4"}', -1],
      ['{"a":"raw\ttab"}', -1],
      ['{"a":"unterminated}', -1],
      ['{"a":[1,2}', -1],
      ['{"a":{"b":1]}', -1],
      ['{"a":1}}', -1],
      ['{"a":1} x', -1],
      ['\t{"a":1}\r', 1],
    ];
    for (const [text, members] of cases) {
      const line = Buffer.from(text);
      expect({ text, members: byBytes(line) }).toEqual({ text, members });
      expect({ text, members: byJsonParse(line) }).toEqual({ text, members: text === '{"a":1,"a":2}' ? 1 : members });
    }
  });

  it('agrees with JSON.parse on thousands of generated rows and one-byte corruptions of them', () => {
    const next = seededRandom(20261201);
    let valid = 0;
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      const row = Buffer.from(object(next, 0));
      for (const line of [row, mutate(row, next), mutate(mutate(row, next), next)]) {
        const expected = byJsonParse(line);
        expect({ line: line.toString('latin1'), members: byBytes(line) }).toEqual({ line: line.toString('latin1'), members: expected });
        if (expected < 0) refused++;
        else valid++;
      }
    }
    // Both kinds were exercised in numbers.
    expect(valid).toBeGreaterThan(4000);
    expect(refused).toBeGreaterThan(2000);
  });
});

describe('RowKeys: a row\'s keys compared four bytes at a time', () => {
  const names = ['a', 'id', 'sku', 'name', 'price', 'status', 'user_id', 'currency', 'full_name', 'created_at', 'order_items', 'shipping_fee', 'é'];
  const keys = names.map((n) => Buffer.from(`${JSON.stringify(n)}:`));
  const rowKeys = new RowKeys(keys);

  it('matches exactly where afterKey does: every key, every alignment, a wrong byte anywhere in it, the value after it ignored', () => {
    let checked = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      for (const lead of ['', 'x', 'xy', 'xyz']) {
        for (const value of ['1,', '"v"}', '', 'nu']) {
          const buf = Buffer.from(`${lead}${key.toString()}${value}`);
          const p = lead.length;
          expect(rowKeys.after(buf, p, buf.length, i)).toBe(p + key.length);
          // One byte changed anywhere in the key: no match. Another key's place: no match either.
          for (let k = 0; k < key.length; k++) {
            const wrong = Buffer.from(buf);
            wrong[p + k] ^= 0x20;
            expect(rowKeys.after(wrong, p, wrong.length, i)).toBe(afterKey(wrong, p, wrong.length, key));
            expect(rowKeys.after(wrong, p, wrong.length, i)).toBe(-1);
            checked++;
          }
          expect(rowKeys.after(buf, p, buf.length, (i + 1) % keys.length)).toBe(-1);
          // A row that ends inside the key.
          expect(rowKeys.after(buf, p, p + key.length - 1, i)).toBe(-1);
        }
      }
    }
    expect(checked).toBeGreaterThan(500);
  });
});

describe('rowObjectMembers: the same answer as jsonObjectMembers, faster for rows as backups write them', () => {
  it('agrees on thousands of rows in the backup layout (these keys, no whitespace), rows in other layouts, and one- and two-byte corruptions of both', () => {
    const keys = new RowKeys(NAMES.map((n) => Buffer.from(`${JSON.stringify(n)}:`)));
    const next = seededRandom(20261202);
    let fast = 0;
    let refused = 0;
    for (let i = 0; i < 4000; i++) {
      // Backup layout: every key in order, no whitespace; now and then an array value or a general row.
      const members = NAMES.map((n) => `"${n}":${next() < 0.05 ? `[${value(next, 4)}]` : value(next, 4).trim()}`);
      const row = Buffer.from(next() < 0.1 ? object(next, 0) : `{${members.join(',')}}`);
      for (const line of [row, mutate(row, next), mutate(mutate(row, next), next)]) {
        const chunk = Buffer.concat([Buffer.from('{"before":1}\n'), line, Buffer.from('\n')]);
        const view = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
        const expected = jsonObjectMembers(view, 13, 13 + line.length);
        expect({ line: line.toString('latin1'), members: rowObjectMembers(view, 13, 13 + line.length, keys) }).toEqual({ line: line.toString('latin1'), members: expected });
        expect(expected).toBe(byJsonParse(line));
        if (expected === NAMES.length) fast++;
        if (expected < 0) refused++;
      }
    }
    expect(fast).toBeGreaterThan(3000);
    expect(refused).toBeGreaterThan(2000);
  });
});

describe('rowObjectMembers for a table without columns', () => {
  it('counts `{}` as a row of no members and refuses `{` alone, as jsonObjectMembers does', () => {
    const keys = RowKeys.of([]);
    for (const [line, members] of [['{}', 0], ['{ }', 0], ['{', -1], ['{"a":1}', 1], ['{}}', -1], ['', -1]] as const) {
      const bytes = new Uint8Array(Buffer.from(line));
      expect({ line, members: rowObjectMembers(bytes, 0, bytes.length, keys) }).toEqual({ line, members });
      expect(jsonObjectMembers(bytes, 0, bytes.length)).toBe(members);
    }
  });
});
