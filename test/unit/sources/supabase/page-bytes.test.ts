import { describe, expect, it } from '@jest/globals';
import { OperationFailedError } from '../../../../lambdas/core/errors.js';
import { filterValue, objectMembers, splitJsonArrayBytes } from '../../../../lambdas/core/sources/supabase/page-bytes.js';
import { because } from '../../../helpers/expect-message.js';
import { seededRandom } from '../../../helpers/random.js';

/** Splits `text` (as UTF-8) and returns the NDJSON lines, checking the row count and the last row. */
function split(text: string): string[] {
  const { ndjson, rows, last } = splitJsonArrayBytes(Buffer.from(text));
  const lines = ndjson.toString('utf8').split('\n');
  expect(lines.pop()).toBe('');
  expect(lines).toHaveLength(rows);
  expect(last.toString('utf8')).toBe(rows ? lines[rows - 1] : '');
  return lines;
}

describe('splitJsonArrayBytes', () => {
  it('returns each object exactly as written, numbers untouched', () => {
    const text = '[{"id":9223372036854775807,"n":12345678901234567890.123456789}, \n {"id":1,"n":1e-30}]';
    expect(split(text)).toEqual(['{"id":9223372036854775807,"n":12345678901234567890.123456789}', '{"id":1,"n":1e-30}']);
  });

  it('writes NDJSON whose bytes are the objects\' bytes exactly, over the body', () => {
    const rows = ['{"id":1,"name":"ünïcödé 🎉 ‘quoted’ 日本語"}', '{"id":2,"s":"a\\"b\\\\c","x":[1,{"y":"]"}]}', '{ "id" : 3 , "spaced" : true }', '{}'];
    const body = Buffer.from(`\n[${rows.join(', \n ')}]\n`);
    const { ndjson, rows: count, last } = splitJsonArrayBytes(body);
    expect(ndjson.equals(Buffer.from(rows.map((r) => `${r}\n`).join('')))).toBe(true);
    expect(count).toBe(4);
    expect(last.toString()).toBe('{}');
    expect(ndjson.buffer).toBe(body.buffer);
  });

  it('is not fooled by brackets, braces, commas and escaped quotes inside strings', () => {
    const rows = ['{"a":"x,y(z)]}{[\\"q\\\\"}', '{"b":"\\\\"}', '{"c":"\\\\\\"]"}', '{"d":{"e":[1,{"f":"}"}]},"g":[]}'];
    expect(split(`[${rows.join(',')}]`)).toEqual(rows);
    for (const row of rows) expect(() => JSON.parse(row)).not.toThrow();
  });

  it('finds the end of short and long strings with escapes at every position', () => {
    const rows: string[] = [];
    for (let n = 0; n < 70; n++) {
      for (const escape of ['\\"', '\\\\', '\\\\\\"', 'é"']) {
        const value = `${'x'.repeat(n)}${escape}${'y'.repeat(n % 7)}`;
        rows.push(JSON.stringify({ n, value, after: '"]}' }));
      }
    }
    const lines = split(`[${rows.join(',')}]`);
    expect(lines).toEqual(rows);
  });

  it('keeps every byte of random rows: nested values, unicode, escapes, whitespace between rows', () => {
    const next = seededRandom(42);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const pieces = ['a', '"', '\\', '\n', ',', ']', '}', '[', '{', ':', ' ', 'é', '🎉', '\u0000', 'long '.repeat(9)];
    const value = (depth: number): unknown => {
      const kind = Math.floor(next() * (depth > 2 ? 4 : 6));
      if (kind === 0) return Math.floor(next() * 1e9) - 5e8;
      if (kind === 1) return Array.from({ length: Math.floor(next() * 8) }, () => pick(pieces)).join('');
      if (kind === 2) return pick([true, false, null, 0.5, -1e-7]);
      if (kind === 3) return next().toString(36);
      if (kind === 4) return Array.from({ length: Math.floor(next() * 4) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: Math.floor(next() * 4) }, (_, i) => [`k${i}${pick(pieces)}`, value(depth + 1)]));
    };
    for (let page = 0; page < 20; page++) {
      const rows = Array.from({ length: 1 + Math.floor(next() * 40) }, (_, id) => JSON.stringify({ id, v: value(0), [pick(pieces)]: value(0) }));
      const text = `${pick(['', ' '])}[${rows.map((r) => `${r}${pick(['', ' ', '\t'])}`).join(pick([',', ', ', ',\n ', ' ,\r\n']))}]${pick(['', '\n'])}`;
      expect(split(text)).toEqual(rows);
    }
  });

  it('accepts an empty array, surrounding whitespace and a byte order mark', () => {
    expect(split('[]')).toEqual([]);
    expect(split(' \n[ ] \n')).toEqual([]);
    expect(split('\n[ {"a":1} ,\t{"a":2}\n]\n')).toEqual(['{"a":1}', '{"a":2}']);
    expect(split('\ufeff[{"a":1}]')).toEqual(['{"a":1}']);
  });

  it('puts a row that carries raw line breaks (a nested json value) on one line, strings kept', () => {
    expect(split('[{"c":{"keep" :  "spa ced\\n",\n "x": [1,\r\n 2]}}]')).toEqual(['{"c":{"keep":"spa ced\\n","x":[1,2]}}']);
    expect(split('[{"a":1} , {"c":{"x" : "é \\" y",\r "z": 2}}, {"b":"é"}]')).toEqual(['{"a":1}', '{"c":{"x":"é \\" y","z":2}}', '{"b":"é"}']);
  });

  it('refuses text that is not an array of objects, saying where', () => {
    for (const bad of ['', '{"a":1}', '[1,2]', '[{"a":1}', '[{"a":"1}]', '[{"a":1}]x', '[{"a":1},]', '<html>', '[{"a":"\\"}]', '[{"a":1}{"a":2}]', '[{"a":1}] ,'])
      because(bad, () => expect(() => splitJsonArrayBytes(Buffer.from(bad))).toThrow(OperationFailedError));
    expect(() => splitJsonArrayBytes(Buffer.from('[{"é":1}]x'))).toThrow('The REST API returned malformed JSON (text after the array at byte 10)');
    expect(() => splitJsonArrayBytes(Buffer.from('<html>'))).toThrow('(expected an array at byte 0)');
    expect(() => splitJsonArrayBytes(Buffer.from('[{"a":1} x'))).toThrow('(expected , or ] at byte 9)');
  });
});

describe('objectMembers and filterValue', () => {
  it('finds the raw text of the key columns', () => {
    const members = objectMembers(Buffer.from('{"order_id":9007199254740993,"note":"a,\\"b\\"","line_no":2,"name":"x \\"y\\" \\\\ z","ünï":"ö"}'), new Set(['order_id', 'line_no', 'name', 'ünï']));
    expect(Object.fromEntries(members)).toEqual({ order_id: '9007199254740993', line_no: '2', name: '"x \\"y\\" \\\\ z"', ünï: '"ö"' });
    expect(filterValue(members.get('order_id')!)).toBe('9007199254740993');
    expect(filterValue(members.get('name')!)).toBe('x "y" \\ z');
    expect(filterValue(members.get('ünï')!)).toBe('ö');
  });

  it('refuses key values that cannot be a filter', () => {
    expect(() => filterValue('null')).toThrow(OperationFailedError);
    expect(() => filterValue('[1,2]')).toThrow(OperationFailedError);
  });
});
