import { describe, expect, it } from '@jest/globals';
import { OperationFailedError } from '../../../../lambdas/core/errors.js';
import { contentRangeRows, filterValue, objectMembers, splitAggregated, splitJsonArrayBytes } from '../../../../lambdas/core/sources/supabase/page-bytes.js';
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

describe("splitJsonArrayBytes on json_agg's layout (PostgREST's pages, with Content-Range's row count)", () => {
  /** The rows of a JSON array as PostgreSQL's json_agg writes it: `[row, \n row]`. */
  const aggregate = (rows: readonly string[]) => Buffer.from(`[${rows.join(', \n ')}]`);

  it('reads the rows PostgREST counts in Content-Range', () => {
    expect(contentRangeRows('0-999/*')).toBe(1000);
    expect(contentRangeRows('0-0/5')).toBe(1);
    expect(contentRangeRows('10-19/200')).toBe(10);
    for (const header of ['*/*', '*/0', '', null, undefined, '5-4/*', 'bytes 0-9/10', '0-x/*']) expect(contentRangeRows(header)).toBeUndefined();
  });

  it('cuts at the separators without scanning the rows, byte for byte what the full scan writes', () => {
    const next = seededRandom(7);
    const pieces = ['a', '"', '\\', '\n', ',', ']', '}, ', '[', '{', ':', ' ', 'é', '🎉', '\u0000', '\r', 'long '.repeat(9)];
    for (let page = 0; page < 30; page++) {
      // Strings may hold anything (escaped); the rows hold no raw line break, as row_to_json writes them.
      const rows = Array.from({ length: 1 + Math.floor(next() * 60) }, (_, id) =>
        JSON.stringify({ id, s: Array.from({ length: Math.floor(next() * 12) }, () => pieces[Math.floor(next() * pieces.length)]).join(''), n: [id, { x: next() < 0.5 ? null : 'y' }] }),
      );
      const fast = splitAggregated(aggregate(rows), rows.length);
      expect(fast).toBeDefined();
      const full = splitJsonArrayBytes(aggregate(rows));
      expect(fast!.ndjson.equals(full.ndjson)).toBe(true);
      expect([fast!.rows, fast!.last.toString()]).toEqual([full.rows, full.last.toString()]);
      expect(fast!.ndjson.toString()).toBe(rows.map((r) => `${r}\n`).join(''));
    }
  });

  it('leaves to the full scan every page it cannot prove is laid out so', () => {
    const two = ['{"a":1}', '{"b":[2]}'];
    const cases: [string, string, number][] = [
      // A nested json value carrying its own line break that looks like a separator: one line feed too many.
      ['nested separator', '[{"a":[{"x":1}, \n {"y":2}]}, \n {"b":1}]', 2],
      ['count too high', `[${two.join(', \n ')}]`, 3],
      ['count too low', `[${two.join(', \n ')}]`, 1],
      ['another layout', `[${two.join(',')}]`, 2],
      ['a line feed elsewhere', `[${two.join(',\n')}]`, 2],
      ['a carriage return', `[${two.join(', \r\n ')}]`, 2],
      ['a row with whitespace', '[{"a":1}, \n {"b":\n2}]', 2],
      ['not an array', '{"a":1}', 1],
      ['space inside the brackets', `[ ${two.join(', \n ')} ]`, 2],
      // A count one too high next to a row holding a separator of its own: the first row is not whole.
      ['inner separator and a count too high', '[{"id":1,"doc":[{"a":1}, \n {"b":2}]}]', 2],
      ['inner separator in the last row', '[{"id":0}, \n {"id":1,"doc":[{"a":1}, \n {"b":2}]}]', 3],
    ];
    for (const [name, text, rows] of cases) {
      because(name, () => expect(splitAggregated(Buffer.from(text), rows)).toBeUndefined());
      if (name === 'not an array') continue;
      if (name === 'inner separator and a count too high') {
        expect(splitJsonArrayBytes(Buffer.from(text), rows).rows).toBe(1);
        continue;
      }
      // The full scan still gives the right rows, whatever count was claimed.
      const result = splitJsonArrayBytes(Buffer.from(text), rows);
      because(name, () => expect(result.rows).toBe(2));
    }
    expect(splitJsonArrayBytes(Buffer.from('[{"a":[{"x":1}, \n {"y":2}]}, \n {"b":1}]'), 2).ndjson.toString()).toBe('{"a":[{"x":1},{"y":2}]}\n{"b":1}\n');
    expect(splitAggregated(Buffer.from('\ufeff [{"only":true}]\n'), 1)!.ndjson.toString()).toBe('{"only":true}\n');
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
