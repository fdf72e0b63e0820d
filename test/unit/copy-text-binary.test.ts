import { Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import type { BinaryKind } from '../../lambdas/core/copy-binary.js';
import { convertNdjsonBytes } from '../../lambdas/core/copy-text.js';
import { CopyTextToCopyBinary, unescapeField } from '../../lambdas/core/copy-text-binary.js';
import { RowConversionError } from '../../lambdas/core/errors.js';
import { MalformedLineError } from '../../lambdas/core/util/streams.js';

/** The converter's whole output for `text` (WebAssembly module and JavaScript as the restore runs them). */
async function convertLines(columns: { name: string; kind: BinaryKind }[], text: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const batch of convertNdjsonBytes(Readable.from([text]), new CopyTextToCopyBinary(columns))) out.push(Buffer.from(batch));
  return Buffer.concat(out);
}

const unescape = (field: string) => unescapeField(Buffer.from(field, 'latin1'), 0, Buffer.byteLength(field, 'latin1'));

describe('CopyTextToCopyBinary: the JavaScript side (lines the WebAssembly module gives back)', () => {
  it('undoes escapes as COPY FROM does: the named ones, octal, \\x with one or two hex digits, any other byte as itself', () => {
    expect(unescape('plain')).toEqual(Buffer.from('plain'));
    expect(unescape('a\\\\b\\tc\\nd\\re\\bf\\fg\\vh')).toEqual(Buffer.from('a\\b\tc\nd\re\bf\fg\vh'));
    expect(unescape('\\101\\1012\\7\\0')).toEqual(Buffer.from([0x41, 0x41, 0x32, 0x07, 0x00]));
    // Three octal digits at most, taken modulo 256 (\777 is 0xff).
    expect(unescape('\\7777')).toEqual(Buffer.from([0xff, 0x37]));
    expect(unescape('\\x41\\x4\\x4g\\xg')).toEqual(Buffer.from([0x41, 0x04, 0x04, 0x67, 0x78, 0x67]));
    expect(unescape('\\N\\q\\.')).toEqual(Buffer.from('Nq.'));
  });

  it('refuses a line of the wrong field count, a value not of its column\'s type and bytes that are not UTF-8, naming the column', () => {
    const converter = new CopyTextToCopyBinary([
      { name: 'id', kind: 'int4' },
      { name: 'note', kind: 'text' },
    ]);
    const convert = (line: Buffer | string) => {
      const buf = Buffer.isBuffer(line) ? line : Buffer.from(line);
      converter.convert(buf, 0, buf.length);
    };
    // Not a row at all: the file is not what a backup writes (restore then calls the backup invalid).
    expect(() => convert('1')).toThrow(expect.objectContaining({ name: 'MalformedLineError', problem: 'has 1 field, the table has 2 columns' }));
    expect(() => convert('1\ta\tb')).toThrow(expect.objectContaining({ name: 'MalformedLineError', problem: 'has 3 fields, the table has 2 columns' }));
    expect(() => convert('x\ta')).toThrow(/^column "id": /);
    expect(() => convert('2147483648\ta')).toThrow(/^column "id": /);
    expect(() => convert('1\t\\377')).toThrow(new RowConversionError('column "note": the value is not valid UTF-8'));
    // A NULL marker is only the whole field: `\N` inside a value is an N.
    const before = converter.used;
    convert('\\N\ta\\Nb');
    expect(converter.out.subarray(before, converter.used)).toEqual(Buffer.from([0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 3, 0x61, 0x4e, 0x62]));
  });

  it('reads a backslash before a raw tab as a tab inside the value, not as a field end, as COPY FROM does', async () => {
    const out = await convertLines([{ name: 'note', kind: 'text' }, { name: 'n', kind: 'int4' }], Buffer.from('x\\\t5\t7\n'));
    expect(out.subarray(19)).toEqual(Buffer.from([0, 2, 0, 0, 0, 3, 0x78, 0x09, 0x35, 0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff]));
  });

  it('refuses a raw carriage return, which COPY TO never writes (a CRLF file), in the module and in JavaScript', async () => {
    await expect(convertLines([{ name: 'id', kind: 'int4' }, { name: 'note', kind: 'text' }], Buffer.from('0\tx\n1\tabc\r\n'))).rejects.toThrow(new MalformedLineError(2, 'holds a raw carriage return, which COPY text never writes'));
  });

  it('takes no array columns and no table without columns (their COPY text loads as it is)', () => {
    expect(() => new CopyTextToCopyBinary([{ name: 'tags', kind: 'text[]' }])).toThrow(RangeError);
    expect(() => new CopyTextToCopyBinary([])).toThrow(RangeError);
  });
});
