import { describe, expect, it } from '@jest/globals';
import {
  EncodeFailure,
  encodeArray,
  encodeBool,
  encodeBytea,
  encodeDatetime,
  encodeInteger,
  encodeNull,
  encodeNumeric,
  encodeScratch,
  encodeText,
  encodeUuid,
  type EncodeScratch,
} from '../../lambdas/core/copy-binary-encoders.js';
import { SlabOutput, type ByteSink } from '../../lambdas/core/slab-output.js';
import { arrayField, numeric } from '../helpers/pg-binary.js';
import { because } from '../helpers/expect-message.js';

/**
 * Each binary COPY encoder on its own: one JSON value in, one field (length + bytes as the type's
 * `_recv` reads them) appended to a sink, the position after the value out. copy-binary.test.ts
 * covers the same types through whole rows.
 */

/** The converters' own output, without a converter around it. */
class TestSink extends SlabOutput {
  constructor() {
    super(1 << 20);
    this.out.fill(0xee, 0, 1 << 16);
  }
}

/** Bytes already in the sink before the value: an encoder must append, never write before `used`. */
const PREFIX = Buffer.from([0xaa, 0xbb, 0xcc]);

type Encode = (sink: ByteSink, buf: Buffer, p: number, end: number) => number;

interface Encoded {
  /** The field's bytes (after its length), or null for SQL NULL. */
  readonly field: Buffer | null;
  /** Where the encoder said the value ends, relative to the value's start; -1 for the slow path. */
  readonly next: number;
}

/** Encodes `json` followed by `}` (as a row's last value), checking the framing the encoder wrote. */
function encode(json: string, encoder: Encode): Encoded {
  const sink = new TestSink();
  sink.used = PREFIX.copy(sink.out);
  // The value sits inside a larger buffer, as a row does inside a chunk of NDJSON.
  const buf = Buffer.from(`{"v":${json}}`);
  const start = 5;
  const next = encoder(sink, buf, start, buf.length);
  expect(sink.out.subarray(0, PREFIX.length)).toEqual(PREFIX);
  if (next < 0) return { field: null, next };
  expect(buf[next]).toBe(0x7d);
  const length = sink.out.readInt32BE(PREFIX.length);
  if (length === -1) {
    expect(sink.used).toBe(PREFIX.length + 4);
    return { field: null, next: next - start };
  }
  expect(sink.used).toBe(PREFIX.length + 4 + length);
  return { field: Buffer.from(sink.out.subarray(PREFIX.length + 4, sink.used)), next: next - start };
}

function field(json: string, encoder: Encode): Buffer {
  const { field, next } = encode(json, encoder);
  expect(next).toBe(Buffer.byteLength(json));
  if (!field) throw new Error(`${json}: no field`);
  return field;
}

function refused(json: string, encoder: Encode): string {
  try {
    encode(json, encoder);
  } catch (error) {
    expect(error).toBeInstanceOf(EncodeFailure);
    return (error as Error).message;
  }
  throw new Error(`${json} was accepted`);
}

const int = (kind: 'int2' | 'int4' | 'int8'): Encode => (sink, buf, p, end) => encodeInteger(sink, kind, buf, p, end);
const datetime = (kind: 'date' | 'timestamp' | 'timestamptz'): Encode => (sink, buf, p, end) => encodeDatetime(sink, kind, buf, p, end);
const text = (jsonb = false, scratch: EncodeScratch = encodeScratch()): Encode => (sink, buf, p, end) => encodeText(sink, buf, p, end, jsonb, scratch);
const array = (elementOid = 25): Encode => (sink, buf, p, end) => encodeArray(sink, buf, p, end, elementOid, encodeScratch());
const bool: Encode = (sink, buf, p) => encodeBool(sink, buf, p);
const uuid: Encode = (sink, buf, p) => encodeUuid(sink, buf, p);

const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
/** Days since 2000-01-01 of an ISO date, from JavaScript's own (proleptic Gregorian) calendar. */
const days = (iso: string) => (Date.parse(`${iso}T00:00:00Z`) - PG_EPOCH_MS) / 86_400_000;
const micros = (iso: string) => BigInt(Date.parse(iso) - PG_EPOCH_MS) * 1000n;

describe('binary COPY encoders, one type at a time', () => {
  it('NULL: length -1 and no bytes', () => {
    const sink = new TestSink();
    sink.used = 2;
    encodeNull(sink);
    expect(sink.used).toBe(6);
    expect(sink.out.readInt32BE(2)).toBe(-1);
  });

  it('bool: one byte, and nothing but true or false', () => {
    expect(field('true', bool)).toEqual(Buffer.from([1]));
    expect(field('false', bool)).toEqual(Buffer.from([0]));
    expect(refused('"true"', bool)).toBe('expected true or false');
    expect(refused('tru', bool)).toBe('expected true or false');
  });

  it('integers at the edges of each width, and one past them refused', () => {
    expect(field('-32768', int('int2')).readInt16BE(0)).toBe(-32768);
    expect(field('32767', int('int2')).readInt16BE(0)).toBe(32767);
    expect(refused('32768', int('int2'))).toBe('integer out of range for smallint');
    expect(refused('-32769', int('int2'))).toBe('integer out of range for smallint');
    expect(field('-2147483648', int('int4')).readInt32BE(0)).toBe(-2147483648);
    expect(field('2147483647', int('int4')).readInt32BE(0)).toBe(2147483647);
    expect(refused('2147483648', int('int4'))).toBe('integer out of range for integer');
    expect(refused('99999999999', int('int4'))).toBe('integer out of range for integer');
    // Up to 15 digits through a double, beyond that through BigInt: both exact.
    expect(field('999999999999999', int('int8')).readBigInt64BE(0)).toBe(999999999999999n);
    expect(field('9007199254740993', int('int8')).readBigInt64BE(0)).toBe(9007199254740993n);
    expect(field('-9223372036854775808', int('int8')).readBigInt64BE(0)).toBe(-9223372036854775808n);
    expect(field('9223372036854775807', int('int8')).readBigInt64BE(0)).toBe(9223372036854775807n);
    expect(refused('9223372036854775808', int('int8'))).toBe('integer out of range for bigint');
    expect(refused('-9223372036854775809', int('int8'))).toBe('integer out of range for bigint');
    expect(field('0', int('int8')).length).toBe(8);
  });

  it('integers: only digits and a sign; whitespace after one sends the row to the slow path', () => {
    expect(refused('-', int('int4'))).toBe('expected an integer');
    expect(refused('"1"', int('int4'))).toBe('expected an integer');
    expect(refused('1.5', int('int8'))).toBe('expected a plain number (digits, sign and decimal point only)');
    expect(refused('1e3', int('int8'))).toBe('expected a plain number (digits, sign and decimal point only)');
    expect(encode('12 ', int('int4')).next).toBe(-1);
  });

  it('numeric: base-10000 groups with weight and display scale, zero groups left out', () => {
    expect(field('12345.6789', encodeNumeric)).toEqual(numeric(1, 0, 4, [1, 2345, 6789]));
    expect(field('-1.50', encodeNumeric)).toEqual(numeric(0, 0x4000, 2, [1, 5000]));
    expect(field('1.500', encodeNumeric)).toEqual(numeric(0, 0, 3, [1, 5000]));
    expect(field('0.00001', encodeNumeric)).toEqual(numeric(-2, 0, 5, [1000]));
    expect(field('00100000000', encodeNumeric)).toEqual(numeric(2, 0, 0, [1]));
    // Zero keeps its scale and has no sign, however it was written.
    expect(field('0.000', encodeNumeric)).toEqual(numeric(0, 0, 3, []));
    expect(field('-0.0', encodeNumeric)).toEqual(numeric(0, 0, 1, []));
    // The largest display scale PostgreSQL has (0x3FFF), and one more.
    expect(field(`0.${'0'.repeat(16_382)}1`, encodeNumeric)).toEqual(numeric(-4096, 0, 16_383, [10]));
    expect(refused(`0.${'0'.repeat(16_383)}1`, encodeNumeric)).toBe('too many decimal places');
  });

  it('numeric: NaN and the infinities from their JSON strings; nothing else in quotes, no exponents', () => {
    expect(field('"NaN"', encodeNumeric)).toEqual(numeric(0, 0xc000, 0, []));
    expect(field('"Infinity"', encodeNumeric)).toEqual(numeric(0, 0xd000, 0, []));
    expect(field('"-Infinity"', encodeNumeric)).toEqual(numeric(0, 0xf000, 0, []));
    expect(refused('"nan"', encodeNumeric)).toBe('"nan" is not a numeric');
    expect(refused('"1.5"', encodeNumeric)).toBe('"1.5" is not a numeric');
    expect(refused('1e5', encodeNumeric)).toBe('expected a plain number (digits, sign and decimal point only)');
    expect(refused('.5', encodeNumeric)).toBe('expected a plain decimal number');
    expect(refused('1.', encodeNumeric)).toBe('expected a plain decimal number');
    expect(encode('1.5\t', encodeNumeric).next).toBe(-1);
  });

  it('uuid: 16 bytes from either case, and nothing that is not one', () => {
    const bytes = 'a0eebc999c0b4ef8bb6d6bb9bd380a11';
    expect(field('"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"', uuid).toString('hex')).toBe(bytes);
    expect(field('"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"', uuid).toString('hex')).toBe(bytes);
    expect(field('"A0eEbC99-9c0B-4Ef8-bB6d-6bb9BD380a11"', uuid).toString('hex')).toBe(bytes);
    expect(refused('"g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"', uuid)).toBe('expected a uuid');
    expect(refused('"a0eebc999c0b4ef8bb6d6bb9bd380a11"', uuid)).toBe('expected a uuid');
    expect(refused('"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1}"', uuid)).toBe('expected a uuid');
  });

  it('date: days since 2000, BC years counted astronomically, and the infinities', () => {
    expect(field('"2000-01-01"', datetime('date')).readInt32BE(0)).toBe(0);
    expect(field('"2024-02-29"', datetime('date')).readInt32BE(0)).toBe(days('2024-02-29'));
    expect(field('"0001-01-01"', datetime('date')).readInt32BE(0)).toBe(days('0001-01-01'));
    // 1 BC is year 0: its last day is the day before 1 AD's first.
    expect(field('"0001-12-31 BC"', datetime('date')).readInt32BE(0)).toBe(days('0001-01-01') - 1);
    expect(field('"0001-01-01 BC"', datetime('date')).readInt32BE(0)).toBe(days('0001-01-01') - 366);
    expect(field('"4713-01-01 BC"', datetime('date')).readInt32BE(0)).toBe(-2451507);
    expect(field('"5874897-12-31"', datetime('date')).readInt32BE(0)).toBe(2145031948);
    expect(field('"infinity"', datetime('date')).readInt32BE(0)).toBe(2147483647);
    expect(field('"-infinity"', datetime('date')).readInt32BE(0)).toBe(-2147483648);
    expect(refused('"Infinity"', datetime('date'))).toBe('"Infinity" is not a date as PostgreSQL writes it');
    expect(refused('"-infinityx"', datetime('date'))).toBe('"-infinityx" is not a date');
    expect(refused('"2024-13-01"', datetime('date'))).toBe('"2024-13-01" is not a date as PostgreSQL writes it');
    expect(refused('"2024-01-01 AD"', datetime('date'))).toBe('"2024-01-01 AD" is not a date as PostgreSQL writes it');
    expect(refused('"24-01-01"', datetime('date'))).toBe('"24-01-01" is not a date as PostgreSQL writes it');
    expect(refused('20240101', datetime('date'))).toBe('expected a date string');
  });

  it('timestamps: microseconds since 2000 in UTC, offsets applied, BC and infinity, the int64 range kept', () => {
    expect(field('"2024-03-01T12:34:56.789+02:00"', datetime('timestamptz')).readBigInt64BE(0)).toBe(micros('2024-03-01T10:34:56.789Z'));
    expect(field('"2024-03-01T12:34:56.789-09:30"', datetime('timestamptz')).readBigInt64BE(0)).toBe(micros('2024-03-01T22:04:56.789Z'));
    expect(field('"1900-01-01T05:21:10+05:21:10"', datetime('timestamptz')).readBigInt64BE(0)).toBe(micros('1900-01-01T00:00:00Z'));
    expect(field('"2000-01-01T00:00:00.000001"', datetime('timestamp')).readBigInt64BE(0)).toBe(1n);
    const bc = field('"0001-12-31T23:59:59.999999 BC"', datetime('timestamp')).readBigInt64BE(0);
    expect(field('"0001-01-01T00:00:00"', datetime('timestamp')).readBigInt64BE(0) - bc).toBe(1n);
    expect(field('"294276-12-31T23:59:59.999999+00:00"', datetime('timestamptz')).readBigInt64BE(0)).toBe(9223371331199999999n);
    expect(field('"infinity"', datetime('timestamptz')).readBigInt64BE(0)).toBe(9223372036854775807n);
    expect(field('"-infinity"', datetime('timestamp')).readBigInt64BE(0)).toBe(-9223372036854775808n);
    expect(refused('"300000-01-01T00:00:00"', datetime('timestamp'))).toBe('"300000-01-01T00:00:00" is not a timestamp as PostgreSQL writes it');
    expect(refused('"2024-01-01T00:00:00+01:00"', datetime('timestamp'))).toBe('"2024-01-01T00:00:00+01:00" is not a timestamp as PostgreSQL writes it');
    expect(refused('"2024-01-01T00:00:00.1234567"', datetime('timestamp'))).toMatch(/is not a timestamp/);
    expect(refused('"2024-01-01T00:00:00."', datetime('timestamp'))).toMatch(/is not a timestamp/);
    expect(refused('"2024-01-01 00:00:00"', datetime('timestamptz'))).toMatch(/is not a timestamptz/);
    expect(refused('"2024-01-01T00:00:00', datetime('timestamptz'))).toBe('unterminated string');
  });

  it('bytea: hex output in either case, escape output, and neither refused', () => {
    expect(field(String.raw`"\\x00ff7fA0"`, encodeBytea)).toEqual(Buffer.from([0x00, 0xff, 0x7f, 0xa0]));
    expect(field(String.raw`"\\xDEADbeef"`, encodeBytea)).toEqual(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    expect(field(String.raw`"\\x"`, encodeBytea)).toEqual(Buffer.alloc(0));
    expect(refused(String.raw`"\\xabc"`, encodeBytea)).toBe('expected an even number of hex digits after \\x');
    expect(refused(String.raw`"\\xzz"`, encodeBytea)).toBe('expected hex digits after \\x');
    // bytea_output = escape: octal for unprintable bytes, a doubled backslash for one, JSON's \" and \/.
    expect(field(String.raw`"\\000\\377\\\\\"A/\\177\\012"`, encodeBytea)).toEqual(Buffer.from([0x00, 0xff, 0x5c, 0x22, 0x41, 0x2f, 0x7f, 0x0a]));
    expect(field(String.raw`"a\/b"`, encodeBytea)).toEqual(Buffer.from('a/b'));
    expect(field(String.raw`"\\\\x"`, encodeBytea)).toEqual(Buffer.from('\\x'));
    expect(field('""', encodeBytea)).toEqual(Buffer.alloc(0));
    expect(refused(String.raw`"\\400"`, encodeBytea)).toBe('expected bytea in hex (\\x…) or escape format');
    expect(refused(String.raw`"\n"`, encodeBytea)).toBe('expected bytea in hex (\\x…) or escape format');
    expect(refused('"é"', encodeBytea)).toBe('expected bytea in hex (\\x…) or escape format');
    expect(refused('12', encodeBytea)).toBe('expected a string');
  });

  it('text and jsonb: unescaped UTF-8, surrogate pairs joined, jsonb with its version byte', () => {
    expect(field(String.raw`"tab\there \"q\" \\ \/ \u00e9 \ud83c\udf89 日本 \u0001"`, text()).toString('utf8')).toBe('tab\there "q" \\ / é 🎉 日本 \u0001');
    expect(field(String.raw`"{\"a\": 1}"`, text(true))).toEqual(Buffer.concat([Buffer.from([1]), Buffer.from('{"a": 1}')]));
    expect(field('""', text())).toEqual(Buffer.alloc(0));
    expect(field('""', text(true))).toEqual(Buffer.from([1]));
    expect(refused('12', text())).toBe('expected a string');
    // A JSON array or object, or an escape JSON does not have: the row goes to the slow path, which says so.
    expect(encode('[1]', text()).next).toBe(-1);
    expect(encode('{"a":1}', text()).next).toBe(-1);
    expect(encode(String.raw`"a\qb"`, text()).next).toBe(-1);
    expect(encode(String.raw`"\u12"`, text()).next).toBe(-1);
  });

  it('text: long strings through the native search, the backslash memo shared across values and buffers', () => {
    const scratch = encodeScratch();
    const plain = 'x'.repeat(200);
    const escaped = `${'y'.repeat(150)}\\n${'z'.repeat(150)}`;
    // One scratch, as one converter has: a long plain value, then a long escaped one, then another buffer.
    expect(field(`"${plain}"`, text(false, scratch)).toString()).toBe(plain);
    expect(field(`"${escaped}"`, text(false, scratch)).toString()).toBe(`${'y'.repeat(150)}\n${'z'.repeat(150)}`);
    expect(field(`"${plain}\\"${plain}"`, text(false, scratch)).toString()).toBe(`${plain}"${plain}`);
    expect(field(`"${plain}"`, text(false, scratch)).toString()).toBe(plain);
    const sink = new TestSink();
    const two = Buffer.from(`"${plain}","${escaped}"`);
    const after = encodeText(sink, two, 0, two.length, false, scratch);
    expect(two[after]).toBe(0x2c);
    expect(encodeText(sink, two, after + 1, two.length, false, scratch)).toBe(two.length);
    expect(sink.out.readInt32BE(0)).toBe(200);
    expect(sink.out.subarray(208, sink.used).toString()).toBe(`${'y'.repeat(150)}\n${'z'.repeat(150)}`);
  });

  it('text: any string as JSON.stringify escapes it comes back byte for byte, escapes and multi-byte characters on either side of the 32-byte runs', () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const pieces = ['a', 'b', ' ', '"', '\\', '/', '\n', '\t', '\u0001', 'é', '日', '🎉', 'x'.repeat(31), 'y'.repeat(33)];
    const scratch = encodeScratch();
    for (let i = 0; i < 3000; i++) {
      const value = Array.from({ length: Math.floor(random() * 12) }, () => pieces[Math.floor(random() * pieces.length)]).join('');
      const json = JSON.stringify(value);
      because(json, () => expect(field(json, text(i % 2 === 1, scratch))).toEqual(Buffer.concat([Buffer.from(i % 2 === 1 ? [1] : []), Buffer.from(value)])));
      // Cut short anywhere inside, it is never a value: unterminated, or an escape cut in two.
      const cut = 1 + Math.floor(random() * (json.length - 1));
      because(`${json} cut at ${cut}`, () => expect(encode(json.slice(0, cut), text(false, scratch)).next).toBe(-1));
    }
  });

  it('text: a quote or backslash escape at every place in a four-byte word, the value at every alignment in its buffer', () => {
    const scratch = encodeScratch();
    for (const special of ['"', '\\', '\n', 'é']) {
      for (let length = 0; length <= 12; length++) {
        for (let at = 0; at <= length; at++) {
          const value = 'abcdefghijklm'.slice(0, length).split('');
          if (at < length) value[at] = special;
          const json = JSON.stringify(value.join(''));
          const expected = Buffer.from(JSON.parse(json) as string);
          for (const lead of ['', ' ', '  ', '   ']) {
            const sink = new TestSink();
            const buf = Buffer.from(`${lead}${json},`);
            because(`${lead.length} + ${json}`, () => {
              expect(encodeText(sink, buf, lead.length, buf.length, false, scratch)).toBe(buf.length - 1);
              expect(sink.out.readInt32BE(0)).toBe(expected.length);
              expect(sink.out.subarray(4, sink.used)).toEqual(expected);
            });
          }
        }
      }
    }
  });

  it('arrays: empty, with NULLs (and the has-null flag), of several dimensions, with the element type asked for', () => {
    expect(field('[]', array())).toEqual(arrayField(25, [], []));
    expect(field('["a"]', array(1043))).toEqual(arrayField(1043, [1], ['a']));
    expect(field('[null]', array())).toEqual(arrayField(25, [1], [null]));
    expect(field(String.raw`["a\"b",null,"","NULL","é,{}"]`, array())).toEqual(arrayField(25, [5], ['a"b', null, '', 'NULL', 'é,{}']));
    expect(field('[["a","b","c"],["d",null,"f"]]', array())).toEqual(arrayField(25, [2, 3], ['a', 'b', 'c', 'd', null, 'f']));
    expect(field('[[["a"],["b"]],[["c"],["d"]]]', array())).toEqual(arrayField(25, [2, 2, 1], ['a', 'b', 'c', 'd']));
    expect(field('[[[[[["six"]]]]]]', array())).toEqual(arrayField(25, [1, 1, 1, 1, 1, 1], ['six']));
  });

  it('arrays: the has-null flag and sizes of one array do not leak into the next', () => {
    const scratch = encodeScratch();
    const twice: Encode = (sink, buf, p, end) => encodeArray(sink, buf, p, end, 25, scratch);
    expect(field('[[null,"a"],["b","c"]]', twice)).toEqual(arrayField(25, [2, 2], [null, 'a', 'b', 'c']));
    expect(field('["x","y","z"]', twice)).toEqual(arrayField(25, [3], ['x', 'y', 'z']));
  });

  it('arrays: ragged, too deep, or not of strings refused; whitespace to the slow path', () => {
    expect(refused('[["a"],["b","c"]]', array())).toBe('expected a rectangular array (sub-arrays of one length per level)');
    expect(refused('[["a"],"b"]', array())).toBe('expected a rectangular array (sub-arrays at every level of the first)');
    expect(refused('[[[[[[["x"]]]]]]]', array())).toBe('more than 6 array dimensions');
    expect(refused('[1,2]', array())).toBe('expected a string or null as an array element');
    expect(refused('["a";"b"]', array())).toBe('expected , or ] in an array');
    expect(refused('"{a,b}"', array())).toBe('expected an array');
    expect(encode('["a", "b"]', array()).next).toBe(-1);
    expect(encode('[ "a"]', array()).next).toBe(-1);
  });
});
