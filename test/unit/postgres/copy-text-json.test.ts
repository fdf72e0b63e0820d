import { describe, expect, it } from '@jest/globals';
import { CopyTextToJson, type JsonKind } from '../../../lambdas/core/postgres/copy-text-json.js';
import { because } from '../../helpers/expect-message.js';

/** The JSON line the writer makes of one COPY text row, or undefined when it refuses the row. */
function line(columns: readonly [string, JsonKind][], copyRow: string): string | undefined {
  const writer = new CopyTextToJson(columns.map(([name, kind]) => ({ name, kind })));
  // The row sits inside a larger buffer, as a CopyData payload inside a socket read.
  const src = Buffer.from(`junk${copyRow}\nmore`);
  const start = 4;
  const end = start + Buffer.byteLength(copyRow) + 1;
  const out = Buffer.alloc(writer.maxBytes(end - start));
  const used = writer.convert(src, start, end, out, 0);
  if (used < 0) return undefined;
  expect(out[used - 1]).toBe(0x0a);
  return out.subarray(0, used - 1).toString('utf8');
}

describe('CopyTextToJson: a COPY text row as row_to_json writes it', () => {
  it('numbers bare, NaN and the infinities quoted; booleans; NULL in any column', () => {
    const columns: [string, JsonKind][] = [['a', 'number'], ['b', 'number'], ['c', 'number'], ['d', 'bool'], ['e', 'bool']];
    expect(line(columns, '-12.50\t1e+308\tNaN\tt\tf')).toBe('{"a":-12.50,"b":1e+308,"c":"NaN","d":true,"e":false}');
    expect(line(columns, 'Infinity\t-Infinity\t-0\t\\N\t\\N')).toBe('{"a":"Infinity","b":"-Infinity","c":-0,"d":null,"e":null}');
    expect(line([['s', 'string']], '\\N')).toBe('{"s":null}');
  });

  it('text: COPY escapes undone, JSON escapes done, control characters as lower-case \\u00xx, bytes >= 0x80 as they are', () => {
    expect(line([['s', 'string']], String.raw`tab\there\nnl\rcr\\bs \b\f\v "q" é/`)).toBe(String.raw`{"s":"tab\there\nnl\rcr\\bs \b\f\u000b \"q\" é/"}`);
    expect(line([['s', 'string']], '\u0001\u001f\u007f')).toBe(String.raw`{"s":"\u0001\u001f` + '\u007f"}');
    // A literal backslash-N is text, not NULL (COPY doubles the backslash); an empty field is "".
    expect(line([['s', 'string'], ['t', 'string']], String.raw`\\N` + '\t')).toBe(String.raw`{"s":"\\N","t":""}`);
  });

  it('keys escaped as escape_json does', () => {
    expect(line([['quo"te', 'number'], ['back\\slash', 'number'], ['é', 'number']], '1\t2\t3')).toBe(String.raw`{"quo\"te":1,"back\\slash":2,"é":3}`);
  });

  it('timestamps: T for the space, minutes added to a whole-hour offset, BC and infinity kept', () => {
    const cases: [JsonKind, string, string][] = [
      ['timestamp', '2024-01-31 12:00:00.5', '2024-01-31T12:00:00.5'],
      ['timestamp', '0044-03-15 12:00:00 BC', '0044-03-15T12:00:00 BC'],
      ['timestamp', '10000-01-01 00:00:00', '10000-01-01T00:00:00'],
      ['timestamptz', '2024-01-31 12:00:00.123456+00', '2024-01-31T12:00:00.123456+00:00'],
      ['timestamptz', '2024-01-31 12:00:00-03', '2024-01-31T12:00:00-03:00'],
      ['timestamptz', '2024-01-31 17:30:00+05:30', '2024-01-31T17:30:00+05:30'],
      ['timestamptz', '1850-01-01 00:19:32+00:19:32', '1850-01-01T00:19:32+00:19:32'],
      ['timestamptz', '0044-03-15 12:00:00+00 BC', '0044-03-15T12:00:00+00:00 BC'],
      ['timestamptz', 'infinity', 'infinity'],
      ['timestamptz', '-infinity', '-infinity'],
      ['timestamp', '-infinity', '-infinity'],
    ];
    for (const [kind, copy, json] of cases) because(copy, () => expect(line([['t', kind]], copy)).toBe(`{"t":"${json}"}`));
  });

  it('writes a timestamp the same wherever the row lies in the buffer, also one not in the usual form (a space before the time)', () => {
    const columns = [{ name: 't', kind: 'timestamp' as const }, { name: 'z', kind: 'timestamptz' as const }];
    for (const row of ['2024-01-31 12:00:00\t2024-01-31 12:00:00+00', ' 024-01-31 12:00:00\t2024-01-3 12:00:00+02', '2024-01-31 12:00:00\t 024-01-31 12:00:00+00']) {
      const written = (src: Buffer, start: number, end: number) => {
        const writer = new CopyTextToJson(columns);
        const out = Buffer.alloc(writer.maxBytes(end - start));
        return out.subarray(0, writer.convert(src, start, end, out, 0)).toString();
      };
      const alone = Buffer.from(`${row}\n`);
      const inside = Buffer.from(`${row}\nmore bytes after the row`);
      because(row, () => expect(written(alone, 0, alone.length)).toBe(written(inside, 0, alone.length)));
    }
  });

  it('refuses what is not a COPY text row of these columns', () => {
    const two: [string, JsonKind][] = [['a', 'number'], ['b', 'string']];
    for (const bad of ['1', '1\tx\ty', '1\tx\\q', '\tx', '1\tx\\']) because(bad, () => expect(line(two, bad)).toBeUndefined());
    expect(line([['b', 'bool']], 'true')).toBeUndefined();
    expect(line([['b', 'bool']], 'x')).toBeUndefined();
    expect(line([['t', 'timestamptz']], '2024-01-31 12:00:00')).toBeUndefined();
    expect(line([['t', 'timestamp']], '2024-01-31')).toBeUndefined();
  });

  it("refuses a row that does not end in its newline, without reading past it (the scans stop only at the row's newline)", () => {
    const columns: [string, JsonKind][] = [['a', 'string'], ['b', 'number'], ['c', 'timestamptz']];
    const writer = new CopyTextToJson(columns.map(([name, kind]) => ({ name, kind })));
    // Each range holds a whole row but its newline; the previous row's newline sits just before it.
    const src = Buffer.from('x\t1\t2024-01-01 00:00:00+00\nabc\t2\t2024-01-02 00:00:00+00\n');
    const second = src.indexOf('abc');
    for (const [start, end] of [[second, src.length - 1], [second, second], [second, second + 3]]) {
      const bound = writer.maxBytes(Math.max(0, end! - start!));
      const out = Buffer.alloc(bound + 64, 0xee);
      const used = writer.convert(src, start!, end!, out, 0);
      because(`[${start}, ${end})`, () => {
        expect(used).toBe(-1);
        expect(out.subarray(bound)).toEqual(Buffer.alloc(64, 0xee));
      });
    }
    expect(writer.convert(src, second, src.length, Buffer.alloc(writer.maxBytes(src.length - second)), 0)).toBeGreaterThan(0);
  });

  it('never writes past maxBytes: rows of nothing but control characters and NULLs', () => {
    const columns: [string, JsonKind][] = [['a', 'string'], ['b', 'bool'], ['c', 'timestamptz'], ['d', 'number']];
    const writer = new CopyTextToJson(columns.map(([name, kind]) => ({ name, kind })));
    for (const row of ['\u0001'.repeat(500) + '\tf\t2024-01-01 00:00:00+00\tNaN\n', '\\N\t\\N\t\\N\t\\N\n', '\t\\N\tinfinity\t-Infinity\n']) {
      const src = Buffer.from(row);
      const bound = writer.maxBytes(src.length);
      const out = Buffer.alloc(bound + 16, 0xee);
      const used = writer.convert(src, 0, src.length, out, 0);
      because(row.slice(0, 20), () => {
        expect(used).toBeGreaterThan(0);
        expect(used).toBeLessThanOrEqual(bound);
        expect(out.subarray(bound)).toEqual(Buffer.alloc(16, 0xee));
      });
    }
  });

  it('moves text four bytes at a time exactly: every special byte at every place in a word, rows at any alignment, up to the end of the buffer', () => {
    // What the COPY text of a value decodes to, and how escape_json writes it (JSON.stringify agrees for these).
    const copyEscape = (text: string) => text.replace(/[\\\t\n\r\b\f\v]/g, (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\b': '\\b', '\f': '\\f', '\v': '\\v' })[c]!);
    const specials = ['"', '\\', '\t', '\n', '\u0001', '\u001f', '\v', 'é', '€'];
    const writer = new CopyTextToJson([{ name: 's', kind: 'string' }, { name: 'n', kind: 'number' }]);
    for (let length = 0; length <= 13; length++) {
      for (let at = 0; at <= length; at++) {
        for (const special of specials) {
          const value = 'abcdefghijklmnopq'.slice(0, length).split('');
          if (at < length) value[at] = special;
          const text = value.join('');
          const row = `${copyEscape(text)}\t7\n`;
          for (const lead of ['', 'x', 'xy', 'xyz']) {
            // The row alone (its newline the buffer's last byte), and followed by more bytes.
            for (const tail of ['', 'tail']) {
              const src = Buffer.from(lead + row + tail);
              const start = Buffer.byteLength(lead);
              const end = start + Buffer.byteLength(row);
              const out = Buffer.alloc(writer.maxBytes(end - start));
              const used = writer.convert(src, start, end, out, 0);
              because(JSON.stringify({ text, lead, tail }), () => expect(out.toString('utf8', 0, used)).toBe(`{"s":${JSON.stringify(text)},"n":7}\n`));
            }
          }
        }
      }
    }
  });

  it('writes keys of every length and timestamps at the end of the buffer exactly, into an output of exactly maxBytes', () => {
    const names = ['a', 'bb', 'ccc', 'dddd', 'eeeee', 'ffffff', 'ggggggg', 'hhhhhhhh', 'iiiiiiiii'];
    const columns = [...names.map((name) => ({ name, kind: 'number' as JsonKind })), { name: 'at', kind: 'timestamptz' as JsonKind }, { name: 'local', kind: 'timestamp' as JsonKind }];
    const writer = new CopyTextToJson(columns);
    const stamps: [string, string, string, string][] = [
      ['2024-01-31 12:00:00+00', '2024-01-31 12:00:00', '2024-01-31T12:00:00+00:00', '2024-01-31T12:00:00'],
      ['2024-01-31 12:00:00.5-03', '2024-01-31 12:00:00.123456', '2024-01-31T12:00:00.5-03:00', '2024-01-31T12:00:00.123456'],
      ['2024-01-31 12:00:00.12+05:30', '0044-03-15 12:00:00 BC', '2024-01-31T12:00:00.12+05:30', '0044-03-15T12:00:00 BC'],
      ['infinity', '2024-12-31 23:59:59.999999', 'infinity', '2024-12-31T23:59:59.999999'],
    ];
    for (const [tz, local, tzJson, localJson] of stamps) {
      const row = `${names.map((_, i) => i).join('\t')}\t${tz}\t${local}\n`;
      const expected = `{${names.map((name, i) => `"${name}":${i}`).join(',')},"at":"${tzJson}","local":"${localJson}"}\n`;
      for (const tail of ['', '\t', 'more bytes after the row']) {
        const src = Buffer.from(row + tail);
        const out = Buffer.alloc(writer.maxBytes(Buffer.byteLength(row)));
        const used = writer.convert(src, 0, Buffer.byteLength(row), out, 0);
        because(`${tz} / ${local} + ${JSON.stringify(tail)}`, () => expect(out.toString('utf8', 0, used)).toBe(expected));
      }
    }
  });
});

