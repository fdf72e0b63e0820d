import { describe, expect, it } from '@jest/globals';
import { MAX_ARRAY_DIMS } from '../../../lambdas/core/copy-binary-encoders.js';
import { NdjsonToCopyBinary, type BinaryKind } from '../../../lambdas/core/copy-binary.js';
import { CopyTextToCopyBinary } from '../../../lambdas/core/copy-text-binary.js';
import { RowKeys } from '../../../lambdas/core/json-bytes.js';
import { WasmCopyBinary } from '../../../lambdas/core/wasm/copy-binary.js';
import { COPY_BINARY_SOURCE_SHA256 } from '../../../lambdas/core/wasm/copy-binary.wasm.js';
import { ConverterStop } from '../../../lambdas/core/wasm/module.js';
import { seededRandom } from '../../helpers/random.js';
import { wasmSourceSha256 } from '../../helpers/wasm-source.js';

type Column = { readonly name: string; readonly kind: BinaryKind };

const converters = new WeakMap<readonly Column[], NdjsonToCopyBinary>();

/** The JavaScript converter's tuple for one line (the reference), or undefined when it refuses the line. */
function reference(columns: readonly Column[], line: Buffer): Buffer | undefined {
  let converter = converters.get(columns);
  if (!converter) converters.set(columns, (converter = new NdjsonToCopyBinary(columns)));
  // One converter per table, its output rewound for each line: nothing is sent.
  const before = (converter.used = 0);
  try {
    converter.convert(line, 0, line.length);
  } catch {
    return undefined;
  }
  return Buffer.from(converter.out.subarray(before, converter.used));
}

function moduleFor(columns: readonly Column[]): WasmCopyBinary {
  // The room NdjsonToCopyBinary gives a line: arrays can outgrow their JSON.
  const arrays = columns.some((c) => c.kind.endsWith('[]'));
  const bound = arrays ? { perByte: 2, perColumn: 24 + 12 + 8 * MAX_ARRAY_DIMS } : { perByte: 1, perColumn: 24 };
  const wasm = WasmCopyBinary.for(RowKeys.of(columns.map((c) => c.name)).keys, columns.map((c) => c.kind), bound);
  if (!wasm) throw new Error('this Node has no WebAssembly with SIMD');
  return wasm;
}

/** Each line through the module on its own; a line it stops at without writing is `given back`. */
function throughModule(columns: readonly Column[], lines: readonly Buffer[]): (Buffer | 'given back')[] {
  const wasm = moduleFor(columns);
  const out = Buffer.alloc(1 << 20);
  return lines.map((line) => {
    const chunk = Buffer.concat([line, Buffer.from('\n')]);
    wasm.load(chunk, 0, chunk.length);
    const written = wasm.convert(0, out, 0, out.length);
    if (wasm.rows === 0) {
      expect([wasm.stopReason, wasm.stoppedAt, written]).toEqual([ConverterStop.givenBack, 0, 0]);
      return 'given back';
    }
    expect([wasm.rows, wasm.stopReason, wasm.stoppedAt]).toEqual([1, ConverterStop.end, chunk.length]);
    return Buffer.from(out.subarray(0, written));
  });
}

/**
 * The lines as one chunk through the module: every row in one call, written as `expected`; then with
 * room for half, a stop at a line start for want of room, naming that line's bound.
 */
function expectWholeChunk(wasm: WasmCopyBinary, lines: readonly Buffer[], expected: Buffer, columns: number): void {
  const chunk = Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')]));
  wasm.load(chunk, 0, chunk.length);
  const out = Buffer.alloc(1 << 20);
  const written = wasm.convert(0, out, 0, out.length);
  expect([wasm.rows, wasm.stopReason, wasm.stoppedAt]).toEqual([lines.length, ConverterStop.end, chunk.length]);
  expect(out.subarray(0, written).equals(expected)).toBe(true);
  const half = wasm.convert(0, out, 0, Math.floor(expected.length / 2));
  expect(wasm.stopReason).toBe(ConverterStop.outputFull);
  expect(wasm.rows).toBeGreaterThan(0);
  expect(out.subarray(0, half).equals(expected.subarray(0, half))).toBe(true);
  expect(wasm.stoppedAt).toBe(lines.slice(0, wasm.rows).reduce((sum, line) => sum + line.length + 1, 0));
  expect(wasm.needed).toBe(lines[wasm.rows]!.length + columns * 24 + 2);
}

const KINDS: readonly BinaryKind[] = ['text', 'json', 'jsonb', 'bool', 'int2', 'int4', 'int8', 'numeric', 'uuid', 'timestamptz', 'timestamp', 'date', 'text[]', 'varchar[]', 'bytea'];

/** JSON values of a kind as a backup holds them: the common forms, the unusual and the wrong ones. */
function jsonValue(kind: BinaryKind, random: () => number): string {
  const pick = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
  const hex = (n: number) => Array.from({ length: n }, () => pick([...'0123456789abcdefABCDEF'])).join('');
  if (random() < 0.06) return pick(['null', 'nul', ' null']);
  if (random() < 0.6) return commonValue(kind, random);
  switch (kind) {
    case 'text':
    case 'json':
    case 'jsonb': {
      const pieces = ['a', 'plain text ', 'é', '日本', '🎉', '\\"', '\\\\', '\\/', '\\n', '\\r', '\\t', '\\b', '\\f', '\\u00e9', '\\ud83c\\udf89', '\\u0001', '{\\"k\\": [1, 2]}', 'x'.repeat(17), '\\x', '\t'];
      let text = '';
      for (let i = Math.floor(random() * 10); i > 0; i--) text += pick(pieces);
      return random() < 0.03 ? pick([`"${text}`, text || '1', `["${text}"]`]) : `"${text}"`;
    }
    case 'bool':
      return pick(['true', 'false', 'tru', '"true"', '1']);
    case 'int2':
      return pick(['0', '-0', '007', '00007', '000007', '32767', '-32768', '32768', '-32769', String(Math.floor(random() * 65536) - 32768), '1.5', '1e3', '"1"', '-', '99999']);
    case 'int4':
      return pick(['2147483647', '-2147483648', '2147483648', '-2147483649', String(Math.floor(random() * 2 ** 32) - 2 ** 31), '12345678901', '0', '-1', '0000000001', '00000000001']);
    case 'int8':
      return pick(['9223372036854775807', '-9223372036854775808', '9223372036854775808', digits(18), `-${digits(18)}`, digits(15), digits(16), '0', `${digits(1)}${digits(17)}`, '1e5']);
    case 'numeric':
      return pick(['0', '0.0', '-0.5', '123456789.000100', '0.00001', '10000', '1.', '.5', '"NaN"', '"Infinity"', '"-Infinity"', '1e5', digits(30), `${digits(3)}.${digits(1 + Math.floor(random() * 12))}`, `-${digits(1 + Math.floor(random() * 9))}.${digits(4)}`, '00012.3400', '-0', '0.0000', '12.5 ']);
    case 'text[]':
    case 'varchar[]':
      return pick(['[]', '["a"]', '[null]', '["a",null,"b \\"c\\""]', '[["a"]]', '[ "a"]', '["a" ]', '["a",]', '[,"a"]', '[1]', '["a"', '"a"', '["\\u00e9"]', '[nul]', `["${'x'.repeat(20)}","\\n"]`]);
    case 'bytea':
      return pick(['"\\\\x"', '"\\\\x0aff"', `"\\\\x${hex(32)}"`, '"\\\\xabc"', '"\\\\xgg"', '"\\\\X00"', '"abc"', '"12x00"', '"\\\\000"', '"\\\\x00', '"\\x00"']);
    case 'uuid':
      return pick([`"${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}"`, `"${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(11)}g"`, `"${hex(32)}"`, '"not-a-uuid"']);
    default: {
      const year = pick(['2026', '1999', '0001', '0000', '1000', '9999', '12026']);
      const date = `${year}-${pick(['01', '02', '12', '00', '13'])}-${pick(['01', '28', '29', '31', '00', '32'])}`;
      if (kind === 'date') return pick([`"${date}"`, `"${date}"`, `"${date} BC"`, '"infinity"', '"-infinity"', `"${date}T00:00:00"`]);
      const time = `${pick(['00', '12', '23', '24'])}:${pick(['00', '59', '60'])}:${pick(['00', '59', '60'])}${pick(['', '.5', '.123456', '.1234567', '.'])}`;
      const zone = kind === 'timestamptz' ? pick(['+00:00', '+05:30', '-03:00', '+05:30:15', '+14', '-00:00:12', '', '+5']) : pick(['', '', '', '+00:00']);
      return pick([`"${date}T${time}${zone}"`, `"${date}T${time}${zone}"`, `"${date}T${time}${zone} BC"`, '"infinity"', `"${date} ${time}"`]);
    }
  }
}

/** A value in the form a backup of a shop mostly holds. */
function commonValue(kind: BinaryKind, random: () => number): string {
  const int = (below: number) => Math.floor(random() * below);
  const two = (n: number) => String(n).padStart(2, '0');
  switch (kind) {
    case 'text':
    case 'json':
    case 'jsonb':
      return `"${['Amsterdam', 'é', '\\"quoted\\"', 'tab\\t', '{\\"k\\": 1}', 'x'.repeat(int(40))].slice(0, 1 + int(6)).join(' ')}"`;
    case 'bool':
      return random() < 0.5 ? 'true' : 'false';
    case 'bytea':
      return `"\\\\x${Array.from({ length: int(20) }, () => '0123456789abcdefABCDEF'[int(22)]! + '0123456789abcdef'[int(16)]!).join('')}"`;
    case 'text[]':
    case 'varchar[]':
      return `[${Array.from({ length: int(4) }, () => (random() < 0.1 ? 'null' : `"tag ${int(100)} é"`)).join(',')}]`;
    case 'int2':
      return String(int(65536) - 32768);
    case 'int4':
      return String(int(2 ** 32) - 2 ** 31);
    case 'int8':
      return String(int(2 ** 52) - 2 ** 51) + String(int(1000)).padStart(3, '0');
    case 'numeric':
      return `${random() < 0.3 ? '-' : ''}${int(10 ** (1 + int(9)))}${random() < 0.7 ? `.${String(int(10_000)).padStart(1 + int(5), '0')}` : ''}`;
    case 'uuid':
      return `"${Array.from({ length: 32 }, () => '0123456789abcdef'[int(16)]).join('').replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-')}"`;
    default: {
      const date = `${1000 + int(9000)}-${two(1 + int(12))}-${two(1 + int(28))}`;
      if (kind === 'date') return `"${date}"`;
      const time = `${two(int(24))}:${two(int(60))}:${two(int(60))}${random() < 0.5 ? `.${String(int(1_000_000)).padStart(6, '0').slice(0, 1 + int(6))}` : ''}`;
      return `"${date}T${time}${kind === 'timestamptz' ? ['+00:00', '+05:30', '-03:00', '+01:00', '-09:30:15'][int(5)] : ''}"`;
    }
  }
}

describe('WasmCopyBinary: the restore\'s NDJSON-to-binary-COPY converter for common rows (copy-binary.c in WebAssembly with SIMD)', () => {
  it('was compiled from the copy-binary.c in the repository (run `node bin/build-wasm.mjs` after changing it)', () => {
    expect(wasmSourceSha256('copy-binary')).toBe(COPY_BINARY_SOURCE_SHA256);
  });

  it('writes every row it does not give back exactly as the JavaScript converter does, and never one it refuses (30,000 generated rows)', () => {
    const random = seededRandom(2026_12_01);
    let written = 0;
    let givenBack = 0;
    for (let table = 0; table < 300; table++) {
      const count = 1 + Math.floor(random() * 5);
      const columns: Column[] = Array.from({ length: count }, (_, i) => ({ name: i === 1 ? 'a_column_name_longer_than_sixteen' : `c${i}`, kind: KINDS[Math.floor(random() * KINDS.length)]! }));
      const lines = Array.from({ length: 100 }, () => {
        const members = columns.map((c) => `"${c.name}":${jsonValue(c.kind, random)}`);
        // Now and then another layout: whitespace, a missing or extra member, trailing bytes.
        const layout = random();
        if (layout < 0.02) return Buffer.from(`{ ${members.join(', ')} }`);
        if (layout < 0.04) return Buffer.from(`{${members.slice(1).join(',')}}`);
        if (layout < 0.05) return Buffer.from(`{${members.join(',')},"extra":1}`);
        if (layout < 0.06) return Buffer.from(`{${members.join(',')}}\r`);
        return Buffer.from(`{${members.join(',')}}`);
      });
      const results = throughModule(columns, lines);
      results.forEach((result, i) => {
        const expected = reference(columns, lines[i]!);
        if (result === 'given back') {
          givenBack++;
          return;
        }
        written++;
        expect(expected).toBeDefined();
        if (!expected) return;
        expect(result.toString('hex')).toBe(expected!.toString('hex'));
      });
    }
    expect(written).toBeGreaterThan(10_000);
    expect(givenBack).toBeGreaterThan(15_000);
  });

  it('writes text[] and varchar[] columns of strings and nulls, empty ones too, as the JavaScript converter does', () => {
    const columns: Column[] = [
      { name: 'tags', kind: 'text[]' },
      { name: 'sizes', kind: 'varchar[]' },
    ];
    const lines = ['{"tags":[],"sizes":["S"]}', '{"tags":["new","sale \\"50%\\""],"sizes":[null,"M","L"]}', '{"tags":null,"sizes":["XL","\\/"]}'].map((line) => Buffer.from(line));
    const results = throughModule(columns, lines);
    results.forEach((result, i) => {
      expect(result).not.toBe('given back');
      expect((result as Buffer).toString('hex')).toBe(reference(columns, lines[i]!)!.toString('hex'));
    });
  });

  it('converts a whole chunk of common rows in one call, as many as fit, and says how much the next one needs', () => {
    const columns: Column[] = [
      { name: 'id', kind: 'uuid' },
      { name: 'n', kind: 'int8' },
      { name: 'total', kind: 'numeric' },
      { name: 'note', kind: 'text' },
      { name: 'doc', kind: 'jsonb' },
      { name: 'paid', kind: 'bool' },
      { name: 'at', kind: 'timestamptz' },
      { name: 'day', kind: 'date' },
    ];
    const lines = Array.from({ length: 2000 }, (_, i) =>
      Buffer.from(
        `{"id":"${(i * 7919).toString(16).padStart(8, '0')}-0000-4000-8000-00000000${(i % 9999).toString().padStart(4, '0')}","n":${i * 1_000_003 - 5},"total":${i % 3 ? `${i}.${i % 100}` : 'null'},"note":"note ${'x'.repeat(i % 40)} \\"q\\" \\\\ é","doc":"{\\"carrier\\": \\"dhl\\", \\"weight\\": ${i}}","paid":${i % 2 ? 'true' : 'false'},"at":"2026-0${1 + (i % 9)}-1${i % 10}T0${i % 10}:1${i % 6}:00${i % 4 ? '.25' : ''}+0${i % 3}:00","day":"2026-12-0${1 + (i % 9)}"}`,
      ),
    );
    expectWholeChunk(moduleFor(columns), lines, Buffer.concat(lines.map((line) => reference(columns, line)!)), columns.length);
  });

  it('takes 19-digit bigints to the ends of their range, and gives back one past them or longer', () => {
    const columns: Column[] = [{ name: 'n', kind: 'int8' }];
    const inRange = ['9223372036854775807', '-9223372036854775808', '1234567890123456789', '-1000000000000000000'].map((n) => Buffer.from(`{"n":${n}}`));
    throughModule(columns, inRange).forEach((result, i) => expect(result === 'given back' ? result : result.toString('hex')).toBe(reference(columns, inRange[i]!)!.toString('hex')));
    const past = ['9223372036854775808', '-9223372036854775809', '09223372036854775807'].map((n) => Buffer.from(`{"n":${n}}`));
    expect(throughModule(columns, past)).toEqual(['given back', 'given back', 'given back']);
  });

  it('in COPY text mode, converts a whole chunk as many rows as fit and says how much the next one needs, as for NDJSON', () => {
    const kinds: BinaryKind[] = ['uuid', 'int8', 'numeric', 'text', 'jsonb', 'bool', 'timestamptz', 'date', 'bytea'];
    const lines = Array.from({ length: 2000 }, (_, i) =>
      Buffer.from(
        [
          `${(i * 7919).toString(16).padStart(8, '0')}-0000-4000-8000-00000000${(i % 9999).toString().padStart(4, '0')}`,
          `${i * 1_000_003 - 5}`,
          i % 3 ? `${i}.${i % 100}` : '\\N',
          `note ${'x'.repeat(i % 40)} "q" \\\\ \\t é`,
          `{"carrier": "dhl", "weight": ${i}}`,
          i % 2 ? 't' : 'f',
          `2026-0${1 + (i % 9)}-1${i % 10} 0${i % 10}:1${i % 6}:00${i % 4 ? '.25' : ''}+00`,
          `2026-12-0${1 + (i % 9)}`,
          `\\\\x${(i % 256).toString(16).padStart(2, '0')}ff`,
        ].join('\t'),
      ),
    );
    const javascript = new CopyTextToCopyBinary(kinds.map((kind, i) => ({ name: `c${i}`, kind })));
    const expected = Buffer.concat(
      lines.map((line) => {
        const before = (javascript.used = 0);
        javascript.convert(line, 0, line.length);
        return Buffer.from(javascript.out.subarray(before, javascript.used));
      }),
    );
    expectWholeChunk(WasmCopyBinary.forCopyText(kinds, { perByte: 1, perColumn: 24 })!, lines, expected, kinds.length);
  });
});
