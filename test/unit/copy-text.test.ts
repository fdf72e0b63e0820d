import { describe, expect, it } from '@jest/globals';
import { NdjsonToCopyBytes, convertNdjsonBytes, ndjsonToCopyConverter } from '../../lambdas/core/copy-text.js';

describe('NDJSON row -> COPY text row', () => {
  const convert = ndjsonToCopyConverter(['id', 'big', 'txt', 'flag', 'arr', 'nested', 'jb']);

  it('keeps numbers as written, unescapes strings and escapes them for COPY', () => {
    const row = '{"id":1,"big":12345678901234567890.123456789,"txt":"tab\\there\\nnl \\\\ back \\u00e9 \\ud83c\\udf89","flag":true,"arr":null,"nested":null,"jb":"{\\"a\\": null}"}';
    expect(convert(row)).toBe('1\t12345678901234567890.123456789\ttab\\there\\nnl \\\\ back é 🎉\tt\t\\N\t\\N\t{"a": null}\n');
  });

  it('turns JSON arrays into array literals, quoting every string element', () => {
    const row = '{"id":2,"big":-0,"txt":"","flag":false,"arr":[1,null,3],"nested":[["a,b","c\\"d"],["NULL",null]],"jb":"null"}';
    expect(convert(row)).toBe('2\t-0\t\tf\t{1,NULL,3}\t{{"a,b","c\\\\"d"},{"NULL",NULL}}\tnull\n');
  });

  it('refuses rows whose keys are not the columns in order, or that have extra keys', () => {
    expect(() => convert('{"big":1,"id":2,"txt":"","flag":true,"arr":null,"nested":null,"jb":null}')).toThrow(/expected key "id"/);
    expect(() => convert('{"id":1,"big":1,"txt":"","flag":true,"arr":null,"nested":null,"jb":null,"extra":1}')).toThrow(/more keys than columns/);
    expect(() => convert('{"id":1}')).toThrow(/expected ,/);
    expect(() => convert('{"id":1,"big":1,"txt":"","flag":true,"arr":null,"nested":null,"jb":null} x')).toThrow(/trailing data/);
    expect(() => convert('{"id":{"a":1},"big":1,"txt":"","flag":true,"arr":null,"nested":null,"jb":null}')).toThrow(/composite/);
  });
});

describe('NDJSON row -> COPY text on bytes (the restore path) agrees with the string converter', () => {
  const columns = ['id', 'num', 'txt', 'flag', 'arr', 'jb'];
  const rows = [
    '{"id":1,"num":12345678901234567890.123456789,"txt":"plain","flag":true,"arr":null,"jb":"{\\"a\\": null}"}',
    '{"id":-2,"num":-0,"txt":"tab\\there\\nnl \\\\ back \\/ slash \\"q\\" \\b\\f","flag":false,"arr":[1,null],"jb":"null"}',
    '{"id":3,"num":1e-45,"txt":"unicode é 日本 🎉 \\u00e9 \\ud83c\\udf89 \\u0001 \\u000a \\u005c","flag":null,"arr":[["a,b"]],"jb":null}',
    '{"id":4,"num":"NaN","txt":"","flag":true,"arr":[],"jb":"[]"}',
    '{ "id": 5, "num": 1, "txt": "spaced", "flag": true, "arr": null, "jb": null }',
  ];

  async function viaBytes(lines: string[], chunkSize: number, skip?: Set<string>): Promise<string> {
    const data = Buffer.from(lines.map((l) => `${l}\n`).join(''));
    async function* chunks() {
      for (let i = 0; i < data.length; i += chunkSize) yield data.subarray(i, i + chunkSize);
    }
    const out: Buffer[] = [];
    for await (const b of convertNdjsonBytes(chunks(), new NdjsonToCopyBytes(columns, skip, 16))) out.push(b);
    return Buffer.concat(out).toString('utf8');
  }

  it('produces exactly what the string converter produces, whatever the chunking', async () => {
    const expected = rows.map((r) => ndjsonToCopyConverter(columns)(r)).join('');
    for (const size of [1, 7, 64, 4096]) expect(await viaBytes(rows, size)).toBe(expected);
  });

  it('leaves out skipped columns', async () => {
    const skip = new Set(['num', 'jb']);
    expect(await viaBytes(rows, 13, skip)).toBe(rows.map((r) => ndjsonToCopyConverter(columns, skip)(r)).join(''));
  });

  it('refuses a row that is not the columns in order, naming the row', async () => {
    await expect(viaBytes([rows[0]!, '{"id":1}'], 8)).rejects.toThrow(/row 2: expected ,/);
  });
});

describe('NDJSON row -> COPY text for a table without columns', () => {
  async function zeroColumns(lines: string[]): Promise<string> {
    async function* chunks() {
      yield Buffer.from(lines.map((l) => `${l}\n`).join(''));
    }
    const out: Buffer[] = [];
    for await (const b of convertNdjsonBytes(chunks(), new NdjsonToCopyBytes([], new Set(), 16))) out.push(b);
    return Buffer.concat(out).toString('utf8');
  }

  it('turns each `{}` (spaces allowed) into an empty row, and refuses a row cut after `{` or one with members', async () => {
    expect(await zeroColumns(['{}', '{ }', '{}'])).toBe('\n\n\n');
    expect(ndjsonToCopyConverter([])('{}')).toBe('\n');
    await expect(zeroColumns(['{}', '{'])).rejects.toThrow(/row 2: expected } \(the table has no columns\)/);
    await expect(zeroColumns(['{"a":1}'])).rejects.toThrow(/row 1: expected }/);
    expect(() => ndjsonToCopyConverter([])('{')).toThrow(/expected }/);
  });
});
