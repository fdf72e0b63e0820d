import { describe, expect, it } from '@jest/globals';
import { CopyTextToJson, type JsonKind } from '../../../lambdas/core/postgres/copy-text-json.js';
import { WasmCopyJson } from '../../../lambdas/core/wasm/copy-json.js';
import { ConverterStop as CopyJsonStop } from '../../../lambdas/core/wasm/module.js';
import { COPY_JSON_SOURCE_SHA256 } from '../../../lambdas/core/wasm/copy-json.wasm.js';
import { seededRandom } from '../../helpers/random.js';
import { wasmSourceSha256 } from '../../helpers/wasm-source.js';

type Columns = readonly { readonly name: string; readonly kind: JsonKind }[];

/** A CopyData message ('d', length, payload) of one COPY text row (its newline added). */
function message(row: string | Buffer): Buffer {
  const payload = Buffer.concat([Buffer.isBuffer(row) ? row : Buffer.from(row), Buffer.from('\n')]);
  const header = Buffer.alloc(5);
  header[0] = 0x64;
  header.writeUInt32BE(payload.length + 4, 1);
  return Buffer.concat([header, payload]);
}

/** The JavaScript writer's line for one row (the reference), or undefined when it refuses it. */
function reference(columns: Columns, row: Buffer): Buffer | undefined {
  const writer = new CopyTextToJson(columns);
  const src = Buffer.concat([row, Buffer.from('\n')]);
  const out = Buffer.alloc(writer.maxBytes(src.length));
  const used = writer.convert(src, 0, src.length, out, 0);
  return used < 0 ? undefined : out.subarray(0, used);
}

function writerFor(columns: Columns): WasmCopyJson {
  const writer = new CopyTextToJson(columns).wasmWriter();
  if (!writer) throw new Error('this Node has no WebAssembly with SIMD');
  return writer;
}

/** Each row through the module on its own (one message per call); a row it stops at without writing is `given back`. */
function throughModule(columns: Columns, rows: readonly Buffer[]): ({ line: Buffer } | 'given back')[] {
  const writer = writerFor(columns);
  const out = Buffer.alloc(1 << 20);
  return rows.map((row) => {
    const m = message(row);
    writer.load(m, 0, m.length);
    const written = writer.convert(0, out, 0, out.length);
    if (writer.rows === 0) {
      expect([writer.stopReason, writer.stoppedAt, written]).toEqual([CopyJsonStop.givenBack, 0, 0]);
      return 'given back';
    }
    expect([writer.rows, writer.stopReason, writer.stoppedAt]).toEqual([1, CopyJsonStop.end, m.length]);
    return { line: Buffer.from(out.subarray(0, written)) };
  });
}

const KINDS: readonly JsonKind[] = ['string', 'number', 'bool', 'timestamp', 'timestamptz'];

/** COPY text values of a kind: the common forms and the unusual ones (which the module may give back). */
function copyValue(kind: JsonKind, random: () => number): string {
  const pick = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)]!;
  if (random() < 0.08) return '\\N';
  switch (kind) {
    case 'string': {
      const pieces = ['a', 'plain text ', 'Amsterdam', 'é', '日本', '🎉', '"', '\\\\', '\\t', '\\n', '\\r', '\\b', '\\f', '\\v', '\u0001', '\u001f', '\u007f', '/', '{"k": "v"}', 'x'.repeat(17), '\\N', '\\x', '\\0', 'N'];
      let text = '';
      const n = Math.floor(random() * 12);
      for (let i = 0; i < n; i++) text += pick(pieces);
      return text;
    }
    case 'number':
      return pick(['0', '-1', '42', '12.50', '-0.0001', '1e+308', '5e-324', '123456789012345678901234567890.123456789', 'NaN', 'Infinity', '-Infinity', '9223372036854775807', '']);
    case 'bool':
      return pick(['t', 'f', 'x', '']);
    case 'timestamp':
      return pick(['2024-01-31 12:00:00', '2024-01-31 12:00:00.5', '1999-12-31 23:59:59.999999', '0044-03-15 12:00:00 BC', 'infinity', '-infinity', '10000-12-31 23:59:59.999999', '2024-01-31', '2024-01-31T12:00:00', ' 024-01-31 12:00:00', '2x24-01-31 12:00:00']);
    default:
      return pick(['2024-01-31 12:00:00+00', '2024-06-30 12:34:56.789+02', '2024-06-30 12:34:56-05', '1850-06-01 00:00:00+00:19:32', '2024-01-01 00:00:00+05:30', '0044-03-15 12:00:00+00 BC', 'infinity', '-infinity', '2024-01-31 12:00:00']);
  }
}

describe('WasmCopyJson: the backup\'s COPY-text-to-JSON writer for common rows (copy-json.c in WebAssembly with SIMD)', () => {
  it('was compiled from the copy-json.c in the repository (run `node bin/build-wasm.mjs` after changing it)', () => {
    expect(wasmSourceSha256('copy-json')).toBe(COPY_JSON_SOURCE_SHA256);
  });

  it('writes every row it does not give back exactly as the JavaScript writer does, and gives back only rows in forms it leaves to it (20,000 generated rows)', () => {
    const random = seededRandom(2026_12_01);
    let written = 0;
    let givenBack = 0;
    for (let table = 0; table < 200; table++) {
      const count = 1 + Math.floor(random() * 6);
      const columns: Columns = Array.from({ length: count }, (_, i) => ({ name: i === 1 ? 'a_column_name_longer_than_sixteen' : `c${i}`, kind: KINDS[Math.floor(random() * KINDS.length)]! }));
      const rows = Array.from({ length: 100 }, () => Buffer.from(columns.map((c) => copyValue(c.kind, random)).join('\t')));
      // Now and then a row that is not one of the table's: a field short or too many.
      if (random() < 0.5) rows.push(Buffer.from(columns.map((c) => copyValue(c.kind, random)).join('\t') + '\textra'));
      if (count > 1) rows.push(Buffer.from(columns.slice(1).map((c) => copyValue(c.kind, random)).join('\t')));
      const results = throughModule(columns, rows);
      results.forEach((result, i) => {
        const expected = reference(columns, rows[i]!);
        if (result === 'given back') {
          givenBack++;
          return;
        }
        written++;
        // A row the JavaScript writer refuses is never written.
        expect(expected).toBeDefined();
        expect(result.line.toString('utf8')).toBe(expected!.toString('utf8'));
      });
    }
    // Most generated rows hold some unusual value; the module must still write a good share of them.
    expect(written).toBeGreaterThan(3000);
    expect(givenBack).toBeGreaterThan(1000);
  });

  it('writes rows of the common forms, all of them, through a whole chunk in one call', () => {
    const columns: Columns = [
      { name: 'id', kind: 'number' },
      { name: 'note', kind: 'string' },
      { name: 'paid', kind: 'bool' },
      { name: 'at', kind: 'timestamptz' },
      { name: 'local', kind: 'timestamp' },
    ];
    const rows = Array.from({ length: 3000 }, (_, i) =>
      Buffer.from([String(i * 37 - 500), `note ${'x'.repeat(i % 40)} "quoted" tab\\there \\\\ é ${i % 3 ? '\u0001' : ''}`, i % 2 ? 't' : 'f', i % 5 ? `2026-0${1 + (i % 9)}-1${i % 10} 0${i % 10}:1${i % 6}:00${i % 4 ? '.25' : ''}+0${i % 3}` : '\\N', `2026-12-01 12:00:0${i % 10}`].join('\t')),
    );
    const chunk = Buffer.concat(rows.map(message));
    const writer = writerFor(columns);
    writer.load(chunk, 0, chunk.length);
    const out = Buffer.alloc(1 << 20);
    const written = writer.convert(0, out, 0, out.length);
    expect(writer.rows).toBe(rows.length);
    expect(writer.stopReason).toBe(CopyJsonStop.end);
    expect(writer.stoppedAt).toBe(chunk.length);
    expect(out.subarray(0, written).toString('utf8')).toBe(Buffer.concat(rows.map((row) => reference(columns, row)!)).toString('utf8'));
  });

  it('stops before a row whose bound does not fit the room left, at a message of another type, and at a message cut at the chunk\'s end', () => {
    const columns: Columns = [{ name: 's', kind: 'string' }];
    const writer = writerFor(columns);
    const bound = new CopyTextToJson(columns).maxBytes('abc\n'.length);
    const rows = [message('abc'), message('abc'), Buffer.from([0x4e, 0, 0, 0, 4]), message('abc')];
    const chunk = Buffer.concat(rows);
    writer.load(chunk, 0, chunk.length);
    const out = Buffer.alloc(4 * bound);
    // Room for one row's bound and a little: one row, then "output full".
    expect(writer.convert(0, out, 0, bound + 10)).toBe('{"s":"abc"}\n'.length);
    expect([writer.rows, writer.stopReason, writer.stoppedAt]).toEqual([1, CopyJsonStop.outputFull, rows[0]!.length]);
    // The Notice message (N) is given back.
    writer.convert(rows[0]!.length, out, 0, out.length);
    expect([writer.rows, writer.stopReason, writer.stoppedAt]).toEqual([1, CopyJsonStop.givenBack, rows[0]!.length * 2]);
    // A message cut short: it stops there, for the caller to wait for the rest.
    const cut = chunk.subarray(0, chunk.length - 2);
    writer.load(cut, 0, cut.length);
    const from = chunk.length - rows[3]!.length;
    expect(writer.convert(from, out, 0, out.length)).toBe(0);
    expect([writer.rows, writer.stopReason, writer.stoppedAt]).toEqual([0, CopyJsonStop.end, from]);
  });

  it('text of every length up to past a vector, each special byte at every place in it', () => {
    const columns: Columns = [{ name: 'a_key_longer_than_a_vector_of_16', kind: 'string' }, { name: 'n', kind: 'number' }];
    const rows: Buffer[] = [];
    for (let length = 0; length <= 40; length++)
      for (const special of ['', '"', '\\\\', '\\n', '\u0002', 'é'])
        for (let at = 0; at <= length; at += 7) rows.push(Buffer.from(`${'p'.repeat(at)}${special}${'q'.repeat(length - at)}\t${length}`));
    const results = throughModule(columns, rows);
    results.forEach((result, i) => {
      expect(result).not.toBe('given back');
      expect((result as { line: Buffer }).line.toString('utf8')).toBe(reference(columns, rows[i]!)!.toString('utf8'));
    });
  });
});
