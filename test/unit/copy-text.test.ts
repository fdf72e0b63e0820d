import { describe, expect, it } from 'vitest';
import { convertNdjsonStream, ndjsonToCopyConverter } from '../../lambdas/core/copy-text.js';

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

  it('converts a stream whatever its chunking, numbering rows in errors', async () => {
    const one = ndjsonToCopyConverter(['a']);
    async function* chunks() {
      yield '{"a":1}\n{"a":"x';
      yield 'y"}\n{"a":';
      yield '3}';
    }
    let out = '';
    for await (const batch of convertNdjsonStream(chunks(), one, 4)) out += batch.toString('utf8');
    expect(out).toBe('1\nxy\n3\n');
    async function* bad() {
      yield '{"a":1}\n{"b":2}\n';
    }
    await expect(async () => {
      for await (const _ of convertNdjsonStream(bad(), one)) void _;
    }).rejects.toThrow(/row 2: expected key "a"/);
  });
});
