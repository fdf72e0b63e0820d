/**
 * Turns format-v1 NDJSON rows into PostgreSQL's binary COPY format in the client. The server then
 * skips its text parsing: no per-character scan for escapes in long text, no date/time parser for
 * every timestamp. That is ~13 % less server work on shop-shaped data, and the restore is bound by
 * the server. Only tables whose every column has one of the {@link BinaryKind}s take this path; the
 * others use COPY text (copy-text.ts).
 *
 * Each value is encoded from the exact text PostgreSQL wrote (row_to_json, or PostgREST, which uses
 * the same encoders): integers and numerics digit by digit (never through a double), timestamps and
 * dates by calendar arithmetic on their ISO fields, strings unescaped byte for byte. Anything that is
 * not in that shape is an error that names the row, never a guess.
 */
import { RowConversionError } from './errors.js';
import type { RowConverter } from './copy-text.js';
import {
  BACKSLASH,
  CARRIAGE_RETURN,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  DOT,
  HEX,
  LETTER_A,
  LETTER_B,
  LETTER_E,
  LETTER_F,
  LETTER_L,
  LETTER_N,
  LETTER_R,
  LETTER_S,
  LETTER_T,
  LETTER_U,
  LETTER_X,
  MINUS,
  NEWLINE,
  NINE,
  OPEN_BRACE,
  OPEN_BRACKET,
  PLUS,
  QUOTE,
  SLASH,
  SPACE,
  Scanner,
  TAB,
  ZERO,
  afterKey,
  unicodeEscape,
  unicodeEscapeLength,
} from './json-bytes.js';
import { SlabOutput } from './slab-output.js';

/** Column types this converter writes in binary (domains count as their base type; enums as text). */
export type BinaryKind = 'bool' | 'int2' | 'int4' | 'int8' | 'numeric' | 'text' | 'json' | 'jsonb' | 'uuid' | 'timestamptz' | 'timestamp' | 'date' | 'bytea' | 'text[]' | 'varchar[]';

/** Array kinds and their element type OID, which array_recv checks against the column's. */
const ARRAY_ELEMENT_OID: Partial<Record<BinaryKind, number>> = { 'text[]': 25, 'varchar[]': 1043 };
/** PostgreSQL's MAXDIM. */
const MAX_ARRAY_DIMS = 6;

/** Built-in type OIDs with a binary writer here (varchar and char are text on the wire). */
export const BINARY_KIND_BY_OID: ReadonlyMap<number, BinaryKind> = new Map<number, BinaryKind>([
  [16, 'bool'],
  [21, 'int2'],
  [23, 'int4'],
  [20, 'int8'],
  [1700, 'numeric'],
  [25, 'text'],
  [1043, 'text'],
  [1042, 'text'],
  [114, 'json'],
  [3802, 'jsonb'],
  [2950, 'uuid'],
  [1184, 'timestamptz'],
  [1114, 'timestamp'],
  [1082, 'date'],
  [17, 'bytea'],
  [1009, 'text[]'],
  [1015, 'varchar[]'],
]);

/** `PGCOPY\n\377\r\n\0`, flags 0, no header extension. */
const SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
const TWO_POW_32 = 2 ** 32;
/** Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01. */
const PG_EPOCH_DAYS = 10_957;
const SECONDS_PER_DAY = 86_400;
const INT32_MAX = 2_147_483_647;
const INT32_MIN = -2_147_483_648;
const NUMERIC_POS = 0x0000;
const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;
/** Seconds below which seconds × 10^6 + µs stays an exact double (2^53 µs is ~285 years). */
const SAFE_SECONDS = 9e9;

class ConversionFailure extends Error {}

/** A JSON array (scanner on its `[`) re-serialised without whitespace, strings re-escaped. */
function compactArray(s: Scanner): string {
  s.pos++;
  s.skipSpace();
  if (s.text.charCodeAt(s.pos) === CLOSE_BRACKET) {
    s.pos++;
    return '[]';
  }
  const parts: string[] = [];
  for (;;) {
    s.skipSpace();
    const c = s.text.charCodeAt(s.pos);
    parts.push(c === OPEN_BRACKET ? compactArray(s) : c === QUOTE ? JSON.stringify(s.string()) : s.bare());
    s.skipSpace();
    const sep = s.text.charCodeAt(s.pos++);
    if (sep === CLOSE_BRACKET) return `[${parts.join(',')}]`;
    if (sep !== COMMA) s.fail('expected , or ] in an array');
  }
}

/** Big-endian 32-bit store; plain byte stores beat Buffer#writeInt32BE's checks in this loop. */
function put32(out: Buffer, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

function put16(out: Buffer, at: number, value: number): void {
  out[at] = value >>> 8;
  out[at + 1] = value;
}

/** Writes a value below 2^53 in magnitude as a big-endian int64. */
function put64(out: Buffer, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  put32(out, at, high);
  put32(out, at + 4, value - high * TWO_POW_32);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (astronomical year: 1 BC is 0). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/**
 * Rows of the given columns (in row order) to binary COPY. The common row (keys as row_to_json
 * writes them, no whitespace) is read from the NDJSON bytes directly; any other row is first
 * normalised to that shape through the JSON scanner.
 */
export class NdjsonToCopyBinary extends SlabOutput implements RowConverter {
  private readonly keys: Buffer[];
  private readonly kinds: (BinaryKind | undefined)[];
  /** Per column: whether its kind is an array, so its value may be a JSON array. */
  private readonly arrayColumns: boolean[];
  private readonly names: string[];
  private readonly fieldCount: number;
  private backslashIn: Buffer | undefined;
  private nextBackslash = -1;
  /** Output bytes a row may need per input byte, and per column: arrays can outgrow their JSON. */
  private readonly bytesPerInputByte: number;
  private readonly bytesPerColumn: number;
  private readonly arraySizes = new Int32Array(MAX_ARRAY_DIMS);
  private arrayHasNull = false;

  /**
   * @param kinds each column's kind, or undefined for a column the target generates itself (read
   *   and left out of the output).
   */
  constructor(columns: readonly { readonly name: string; readonly kind: BinaryKind | undefined }[], batchBytes = 256 * 1024) {
    super(batchBytes);
    this.names = columns.map((c) => c.name);
    this.keys = columns.map((c) => Buffer.from(`${JSON.stringify(c.name)}:`));
    this.kinds = columns.map((c) => c.kind);
    this.fieldCount = columns.filter((c) => c.kind !== undefined).length;
    // Binary never takes more than 24 bytes over a scalar's JSON text (`1` as int8 is 4 + 8 bytes).
    // An array element may take 4 bytes for its 3 (`"",`), and a header of 12 + 8 per dimension.
    this.arrayColumns = columns.map((c) => c.kind !== undefined && ARRAY_ELEMENT_OID[c.kind] !== undefined);
    const arrays = this.arrayColumns.includes(true);
    this.bytesPerInputByte = arrays ? 2 : 1;
    this.bytesPerColumn = arrays ? 24 + 12 + 8 * MAX_ARRAY_DIMS : 24;
    this.used = SIGNATURE.copy(this.out, 0);
  }

  /** Appends the end-of-data marker; call once, after the last row. */
  finish(): void {
    this.ensure(2);
    this.out.writeInt16BE(-1, this.used);
    this.used += 2;
  }

  convert(buf: Buffer, start: number, end: number): void {
    this.ensure((end - start) * this.bytesPerInputByte + this.keys.length * this.bytesPerColumn + 2);
    const mark = this.used;
    try {
      if (this.row(buf, start, end)) return;
    } catch (error) {
      if (!(error instanceof ConversionFailure)) throw error;
      throw new RowConversionError(error.message);
    }
    this.used = mark;
    const normal = this.normalise(buf.toString('utf8', start, end));
    this.ensure(normal.length * this.bytesPerInputByte + this.keys.length * this.bytesPerColumn + 2);
    try {
      if (this.row(normal, 0, normal.length)) return;
    } catch (error) {
      if (!(error instanceof ConversionFailure)) throw error;
      throw new RowConversionError(error.message);
    }
    throw new RowConversionError('a value does not have the shape PostgreSQL writes for its column type');
  }

  /** The row re-serialised compactly (keys checked, strings re-escaped), for rows with unusual layout. */
  private normalise(line: string): Buffer {
    const s = new Scanner(line);
    s.expect(OPEN_BRACE, '{');
    const parts: string[] = [];
    for (let i = 0; i < this.names.length; i++) {
      s.skipSpace();
      if (s.text.charCodeAt(s.pos) !== QUOTE) s.fail(`expected key "${this.names[i]}"`);
      const key = s.string();
      if (key !== this.names[i]) s.fail(`expected key "${this.names[i]}", found "${key}"`);
      s.expect(COLON, ':');
      s.skipSpace();
      const c = s.text.charCodeAt(s.pos);
      if ((c === OPEN_BRACKET && !this.arrayColumns[i]) || c === OPEN_BRACE) s.fail(`column "${this.names[i]}": arrays and objects are not expected here`);
      parts.push(`${JSON.stringify(key)}:${c === QUOTE ? JSON.stringify(s.string()) : c === OPEN_BRACKET ? compactArray(s) : s.bare()}`);
      s.skipSpace();
      const sep = s.text.charCodeAt(s.pos++);
      if (i < this.names.length - 1 ? sep !== COMMA : sep !== CLOSE_BRACE) s.fail(i < this.names.length - 1 ? 'expected ,' : 'expected } (more keys than columns)');
    }
    s.skipSpace();
    if (s.pos !== line.length) s.fail('trailing data');
    return Buffer.from(`{${parts.join(',')}}`);
  }

  /** False (with garbage after the mark) when the row's layout needs normalising first. */
  private row(buf: Buffer, start: number, end: number): boolean {
    let p = start;
    if (buf[p++] !== OPEN_BRACE) return false;
    put16(this.out, this.used, this.fieldCount);
    this.used += 2;
    for (let i = 0; i < this.keys.length; i++) {
      p = afterKey(buf, p, end, this.keys[i]!);
      if (p < 0) return false;
      const kind = this.kinds[i];
      const valueEnd = kind === undefined ? this.skipValue(buf, p, end) : this.value(kind, buf, p, end, i);
      if (valueEnd < 0) return false;
      p = valueEnd;
      const sep = buf[p++];
      if (i < this.keys.length - 1 ? sep !== COMMA : sep !== CLOSE_BRACE) return false;
    }
    return p === end;
  }

  private fail(column: number, what: string): never {
    throw new ConversionFailure(`column "${this.names[column]}": ${what}`);
  }

  /** Skips a generated column's value (any JSON value without whitespace), or -1. */
  private skipValue(buf: Buffer, p: number, end: number): number {
    if (buf[p] === COMMA || buf[p] === CLOSE_BRACE) return -1;
    let depth = 0;
    for (;;) {
      const c = buf[p];
      if (p >= end || c === SPACE || c === TAB) return -1;
      if (c === QUOTE) {
        p++;
        while (p < end && buf[p] !== QUOTE) p += buf[p] === BACKSLASH ? 2 : 1;
        if (p >= end) return -1;
        p++;
      } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
        depth++;
        p++;
      } else if ((c === CLOSE_BRACKET || c === CLOSE_BRACE) && depth > 0) {
        depth--;
        p++;
      } else if ((c === COMMA || c === CLOSE_BRACE) && depth === 0) return p;
      else p++;
      if (depth === 0 && (buf[p] === COMMA || buf[p] === CLOSE_BRACE)) return p;
    }
  }

  /** Writes one field (length and bytes) and returns the position after the value, or -1 for the slow path. */
  private value(kind: BinaryKind, buf: Buffer, p: number, end: number, column: number): number {
    const c = buf[p];
    if (c === SPACE || c === TAB || c === NEWLINE || c === CARRIAGE_RETURN) return -1;
    if (c === LETTER_N) {
      if (buf[p + 1] !== LETTER_U || buf[p + 2] !== LETTER_L || buf[p + 3] !== LETTER_L) return -1;
      put32(this.out, this.used, -1);
      this.used += 4;
      return p + 4;
    }
    switch (kind) {
      case 'text':
      case 'json':
      case 'jsonb':
        if (c !== QUOTE) {
          if (c === OPEN_BRACKET || c === OPEN_BRACE || c === SPACE) return -1;
          this.fail(column, 'expected a string');
        }
        return this.string(buf, p + 1, end, kind === 'jsonb');
      case 'bool':
        return this.bool(buf, p, column);
      case 'int2':
      case 'int4':
      case 'int8':
        return this.integer(kind, buf, p, end, column);
      case 'numeric':
        return this.numeric(buf, p, end, column);
      case 'uuid':
        return this.uuid(buf, p, column);
      case 'date':
      case 'timestamp':
      case 'timestamptz':
        return this.datetime(kind, buf, p, end, column);
      case 'bytea':
        if (c !== QUOTE) this.fail(column, 'expected a string');
        return this.bytea(buf, p + 1, end, column);
      case 'text[]':
      case 'varchar[]':
        return this.array(buf, p, end, column, ARRAY_ELEMENT_OID[kind]!);
    }
  }

  /** bytea as PostgreSQL's hex output (`\\x0a1b…` inside the JSON string, p after the quote), decoded to its bytes. */
  private bytea(buf: Buffer, p: number, end: number, column: number): number {
    if (buf[p] !== BACKSLASH || buf[p + 1] !== BACKSLASH || buf[p + 2] !== LETTER_X) return this.byteaEscaped(buf, p, end, column);
    const from = p + 3;
    let close = buf.indexOf(QUOTE, from);
    if (close < 0 || close > end) close = end;
    if (close >= end || (close - from) % 2 !== 0) this.fail(column, 'expected an even number of hex digits after \\x');
    const out = this.out;
    let u = this.used + 4;
    for (let k = from; k < close; k += 2) {
      const hi = HEX[buf[k]!]!;
      const lo = HEX[buf[k + 1]!]!;
      if ((hi | lo) < 0) this.fail(column, 'expected hex digits after \\x');
      out[u++] = (hi << 4) | lo;
    }
    put32(out, this.used, u - this.used - 4);
    this.used = u;
    return close + 1;
  }

  /**
   * bytea as `bytea_output = escape` writes it (a source or REST role may set it): printable ASCII
   * as itself, a backslash doubled, any other byte as `\ooo` in octal. Inside the JSON string each
   * backslash is doubled again and `"` is `\"`.
   */
  private byteaEscaped(buf: Buffer, p: number, end: number, column: number): number {
    const out = this.out;
    let u = this.used + 4;
    for (;;) {
      if (p >= end) this.fail(column, 'unterminated string');
      const c = buf[p]!;
      if (c === QUOTE) break;
      if (c !== BACKSLASH) {
        if (c < 0x20 || c > 0x7e) this.fail(column, 'expected bytea in hex (\\x…) or escape format');
        out[u++] = c;
        p++;
        continue;
      }
      const e = buf[p + 1];
      if (e === QUOTE || e === SLASH) {
        out[u++] = e;
        p += 2;
        continue;
      }
      if (e !== BACKSLASH) this.fail(column, 'expected bytea in hex (\\x…) or escape format');
      // One backslash of the escape format, then `\` again (a backslash byte) or three octal digits.
      if (buf[p + 2] === BACKSLASH && buf[p + 3] === BACKSLASH) {
        out[u++] = BACKSLASH;
        p += 4;
        continue;
      }
      const d0 = buf[p + 2]! - ZERO;
      const d1 = buf[p + 3]! - ZERO;
      const d2 = buf[p + 4]! - ZERO;
      if (!(d0 >= 0 && d0 <= 3 && d1 >= 0 && d1 <= 7 && d2 >= 0 && d2 <= 7)) this.fail(column, 'expected bytea in hex (\\x…) or escape format');
      out[u++] = (d0 << 6) | (d1 << 3) | d2;
      p += 5;
    }
    put32(out, this.used, u - this.used - 4);
    this.used = u;
    return p + 1;
  }

  /**
   * A JSON array of strings and nulls (nested for more dimensions, as array_to_json writes it) in
   * array_send's form: ndim, has-null flag, element type, each dimension's size and lower bound 1,
   * then the elements. array_to_json does not keep lower bounds, so 1 is what the backup holds.
   */
  private array(buf: Buffer, p: number, end: number, column: number, elementOid: number): number {
    if (buf[p] !== OPEN_BRACKET) this.fail(column, 'expected an array');
    const out = this.out;
    const lengthAt = this.used;
    let depth = 0;
    while (buf[p + depth] === OPEN_BRACKET) depth++;
    if (depth === 1 && buf[p + 1] === CLOSE_BRACKET) {
      put32(out, lengthAt, 12);
      put32(out, lengthAt + 4, 0);
      put32(out, lengthAt + 8, 0);
      put32(out, lengthAt + 12, elementOid);
      this.used += 16;
      return p + 2;
    }
    if (depth > MAX_ARRAY_DIMS) this.fail(column, `more than ${MAX_ARRAY_DIMS} array dimensions`);
    this.arraySizes.fill(-1, 0, depth);
    this.arrayHasNull = false;
    const headerAt = lengthAt + 4;
    this.used = headerAt + 12 + depth * 8;
    const after = this.arrayLevel(buf, p, end, column, 0, depth);
    if (after < 0) return -1;
    put32(out, headerAt, depth);
    put32(out, headerAt + 4, this.arrayHasNull ? 1 : 0);
    put32(out, headerAt + 8, elementOid);
    for (let d = 0; d < depth; d++) {
      put32(out, headerAt + 12 + d * 8, this.arraySizes[d]!);
      put32(out, headerAt + 16 + d * 8, 1);
    }
    put32(out, lengthAt, this.used - lengthAt - 4);
    return after;
  }

  /** One level of a (possibly nested) array, p on its `[`; every sub-array of a level must be as long as the first. */
  private arrayLevel(buf: Buffer, p: number, end: number, column: number, level: number, depth: number): number {
    p++;
    let count = 0;
    for (;;) {
      if (p >= end) return -1;
      const c = buf[p];
      if (c === SPACE || c === TAB || c === NEWLINE || c === CARRIAGE_RETURN) return -1;
      if (level < depth - 1) {
        if (c !== OPEN_BRACKET) this.fail(column, 'expected a rectangular array (sub-arrays at every level of the first)');
        p = this.arrayLevel(buf, p, end, column, level + 1, depth);
      } else if (c === QUOTE) {
        p = this.string(buf, p + 1, end, false);
      } else if (c === LETTER_N && buf[p + 1] === LETTER_U && buf[p + 2] === LETTER_L && buf[p + 3] === LETTER_L) {
        put32(this.out, this.used, -1);
        this.used += 4;
        this.arrayHasNull = true;
        p += 4;
      } else this.fail(column, 'expected a string or null as an array element');
      if (p < 0) return -1;
      count++;
      const sep = buf[p++];
      if (sep === CLOSE_BRACKET) break;
      if (sep !== COMMA) {
        if (sep === SPACE || sep === TAB || sep === NEWLINE || sep === CARRIAGE_RETURN) return -1;
        this.fail(column, 'expected , or ] in an array');
      }
    }
    const sizes = this.arraySizes;
    if (sizes[level] === -1) sizes[level] = count;
    else if (sizes[level] !== count) this.fail(column, 'expected a rectangular array (sub-arrays of one length per level)');
    return p;
  }

  private bool(buf: Buffer, p: number, column: number): number {
    const out = this.out;
    put32(out, this.used, 1);
    if (buf[p] === LETTER_T && buf[p + 1] === LETTER_R && buf[p + 2] === LETTER_U && buf[p + 3] === LETTER_E) {
      out[this.used + 4] = 1;
      this.used += 5;
      return p + 4;
    }
    if (buf[p] === LETTER_F && buf[p + 1] === LETTER_A && buf[p + 2] === LETTER_L && buf[p + 3] === LETTER_S && buf[p + 4] === LETTER_E) {
      out[this.used + 4] = 0;
      this.used += 5;
      return p + 5;
    }
    this.fail(column, 'expected true or false');
  }

  /** A JSON string (p after its opening quote) unescaped into the field; jsonb gets its version byte. */
  private string(buf: Buffer, p: number, end: number, jsonb: boolean): number {
    const lengthAt = this.used;
    this.used += 4;
    if (jsonb) this.out[this.used++] = 1;
    const out = this.out;
    for (;;) {
      const from = p;
      const limit = p + 32 < end ? p + 32 : end;
      while (p < limit && buf[p] !== QUOTE && buf[p] !== BACKSLASH) p++;
      if (p === limit && p < end) p = this.scanString(buf, p, end);
      this.copySpan(buf, from, p);
      if (p >= end) return -1;
      if (buf[p] === QUOTE) break;
      const e = buf[p + 1];
      if (e === LETTER_U) {
        const code = unicodeEscape(buf, p, end);
        if (code < 0) return -1;
        p += unicodeEscapeLength(code);
        if (code < 0x80) out[this.used++] = code;
        else this.used += out.write(String.fromCodePoint(code), this.used);
        continue;
      }
      if (e === QUOTE || e === BACKSLASH || e === SLASH) out[this.used++] = e;
      else if (e === LETTER_N) out[this.used++] = NEWLINE;
      else if (e === LETTER_R) out[this.used++] = CARRIAGE_RETURN;
      else if (e === LETTER_T) out[this.used++] = TAB;
      else if (e === LETTER_B) out[this.used++] = 0x08;
      else if (e === LETTER_F) out[this.used++] = 0x0c;
      else return -1;
      p += 2;
    }
    put32(out, lengthAt, this.used - lengthAt - 4);
    return p + 1;
  }

  private integer(kind: 'int2' | 'int4' | 'int8', buf: Buffer, p: number, end: number, column: number): number {
    const from = p;
    const negative = buf[p] === MINUS;
    if (negative) p++;
    const digitsFrom = p;
    let n = 0;
    while (p < end && buf[p]! >= ZERO && buf[p]! <= NINE) n = n * 10 + (buf[p++]! - ZERO);
    const count = p - digitsFrom;
    if (count === 0) this.fail(column, 'expected an integer');
    if (!this.endsBare(buf, p, end, column)) return -1;
    if (negative) n = -n;
    const out = this.out;
    if (kind === 'int8') {
      put32(out, this.used, 8);
      if (count <= 15) put64(out, this.used + 4, n);
      else {
        const big = BigInt(buf.toString('latin1', from, p));
        if (big > 0x7fffffffffffffffn || big < -0x8000000000000000n) this.fail(column, 'integer out of range for bigint');
        out.writeBigInt64BE(big, this.used + 4);
      }
      this.used += 12;
    } else if (kind === 'int4') {
      if (count > 10 || n > INT32_MAX || n < INT32_MIN) this.fail(column, 'integer out of range for integer');
      put32(out, this.used, 4);
      put32(out, this.used + 4, n);
      this.used += 8;
    } else {
      if (count > 5 || n > 32_767 || n < -32_768) this.fail(column, 'integer out of range for smallint');
      put32(out, this.used, 2);
      put16(out, this.used + 4, n);
      this.used += 6;
    }
    return p;
  }

  /** numeric: base-10000 digit groups, built from the decimal text (`-123.4500`, or "NaN"/"Infinity"). */
  private numeric(buf: Buffer, p: number, end: number, column: number): number {
    if (buf[p] === QUOTE) {
      let close = p + 1;
      while (close < end && buf[close] !== QUOTE) close++;
      if (close >= end) this.fail(column, 'unterminated string');
      const special = buf.toString('latin1', p + 1, close);
      const sign = special === 'NaN' ? NUMERIC_NAN : special === 'Infinity' ? NUMERIC_PINF : special === '-Infinity' ? NUMERIC_NINF : -1;
      if (sign < 0) this.fail(column, `"${special}" is not a numeric`);
      this.numericSpecial(sign);
      return close + 1;
    }
    const negative = buf[p] === MINUS;
    if (negative) p++;
    const intFrom = p;
    while (p < end && buf[p]! >= ZERO && buf[p]! <= NINE) p++;
    const intTo = p;
    let fracFrom = p;
    let fracTo = p;
    if (buf[p] === DOT) {
      fracFrom = ++p;
      while (p < end && buf[p]! >= ZERO && buf[p]! <= NINE) p++;
      fracTo = p;
    }
    if (intTo === intFrom || (fracTo === fracFrom && buf[fracFrom - 1] === DOT)) this.fail(column, 'expected a plain decimal number');
    if (!this.endsBare(buf, p, end, column)) return -1;
    let lead = intFrom;
    while (lead < intTo && buf[lead] === ZERO) lead++;
    const dscale = fracTo - fracFrom;
    if (dscale > 0x3fff) this.fail(column, 'too many decimal places');
    // Base-10000 groups straight into the output: the integer part right-aligned to groups of
    // four, the fraction left-aligned; leading and trailing zero groups are left out.
    const intDigits = intTo - lead;
    const digitsAt = this.used + 12;
    const out = this.out;
    let weight = Math.ceil(intDigits / 4) - 1;
    let count = 0;
    let lastNonZero = 0;
    let group = 0;
    let inGroup = (4 - (intDigits % 4)) % 4;
    const total = intDigits + dscale;
    for (let k = 0; k < total; k++) {
      const at = k < intDigits ? lead + k : fracFrom + (k - intDigits);
      group = group * 10 + (buf[at]! - ZERO);
      if (++inGroup === 4 || k === total - 1) {
        if (inGroup < 4) group *= 10 ** (4 - inGroup);
        if (count === 0 && group === 0) weight--;
        else {
          put16(out, digitsAt + count * 2, group);
          count++;
          if (group !== 0) lastNonZero = count;
        }
        group = 0;
        inGroup = 0;
      }
    }
    count = lastNonZero;
    put32(out, this.used, 8 + count * 2);
    put16(out, this.used + 4, count);
    put16(out, this.used + 6, count === 0 ? 0 : weight);
    put16(out, this.used + 8, count === 0 || !negative ? NUMERIC_POS : NUMERIC_NEG);
    put16(out, this.used + 10, dscale);
    this.used = digitsAt + count * 2;
    return p;
  }

  private numericSpecial(sign: number): void {
    const out = this.out;
    put32(out, this.used, 8);
    put16(out, this.used + 4, 0);
    put16(out, this.used + 6, 0);
    put16(out, this.used + 8, sign);
    put16(out, this.used + 10, 0);
    this.used += 12;
  }

  private uuid(buf: Buffer, p: number, column: number): number {
    if (buf[p] !== QUOTE || buf[p + 37] !== QUOTE || buf[p + 9] !== MINUS || buf[p + 14] !== MINUS || buf[p + 19] !== MINUS || buf[p + 24] !== MINUS) this.fail(column, 'expected a uuid');
    const out = this.out;
    put32(out, this.used, 16);
    let u = this.used + 4;
    let q = p + 1;
    for (let k = 0; k < 16; k++) {
      if (q === p + 9 || q === p + 14 || q === p + 19 || q === p + 24) q++;
      const hi = buf[q]!;
      const lo = buf[q + 1]!;
      const h = HEX[hi]!;
      const l = HEX[lo]!;
      if (h < 0 || l < 0) this.fail(column, 'expected a uuid');
      out[u++] = (h << 4) | l;
      q += 2;
    }
    this.used = u;
    return p + 38;
  }

  /** True when a bare token ends at p; whitespace sends the row to the slow path, anything else is an error. */
  private endsBare(buf: Buffer, p: number, end: number, column: number): boolean {
    const c = buf[p];
    if (p >= end || c === COMMA || c === CLOSE_BRACE) return true;
    if (c === SPACE || c === TAB || c === NEWLINE || c === CARRIAGE_RETURN) return false;
    this.fail(column, 'expected a plain number (digits, sign and decimal point only)');
  }

  /** Reads `count` decimal digits at q, or -1. */
  private static number(buf: Buffer, q: number, count: number): number {
    let n = 0;
    for (let k = 0; k < count; k++) {
      const d = buf[q + k]! - ZERO;
      if (d < 0 || d > 9) return -1;
      n = n * 10 + d;
    }
    return n;
  }

  /**
   * `YYYY-MM-DD` for dates, `YYYY-MM-DDTHH:MM:SS[.ffffff][±HH[:MM[:SS]]]` for timestamps, either
   * with a ` BC` suffix, or `infinity`/`-infinity`: the ISO shapes PostgreSQL's JSON encoders write.
   */
  private datetime(kind: 'date' | 'timestamp' | 'timestamptz', buf: Buffer, p: number, end: number, column: number): number {
    if (buf[p] !== QUOTE) this.fail(column, `expected a ${kind} string`);
    let close = p + 1;
    while (close < end && buf[close] !== QUOTE) close++;
    if (close >= end) this.fail(column, 'unterminated string');
    let q = p + 1;
    const out = this.out;
    const size = kind === 'date' ? 4 : 8;
    put32(out, this.used, size);
    const infinite = buf[q] === 0x69 ? 1 : buf[q] === MINUS && buf[q + 1] === 0x69 ? -1 : 0;
    if (infinite !== 0) {
      const word = buf.toString('latin1', q, close);
      if (word !== 'infinity' && word !== '-infinity') this.fail(column, `"${word}" is not a ${kind}`);
      if (kind === 'date') put32(out, this.used + 4, infinite > 0 ? INT32_MAX : INT32_MIN);
      else out.writeBigInt64BE(infinite > 0 ? 0x7fffffffffffffffn : -0x8000000000000000n, this.used + 4);
      this.used += 4 + size;
      return close + 1;
    }
    const yearFrom = q;
    let year = 0;
    while (q < close && buf[q]! >= ZERO && buf[q]! <= NINE) year = year * 10 + (buf[q++]! - ZERO);
    if (q - yearFrom < 4 || buf[q] !== MINUS || buf[q + 3] !== MINUS) this.badDatetime(kind, buf, p, close, column);
    const month = NdjsonToCopyBinary.number(buf, q + 1, 2);
    const day = NdjsonToCopyBinary.number(buf, q + 4, 2);
    if (month < 1 || month > 12 || day < 1 || day > 31) this.badDatetime(kind, buf, p, close, column);
    q += 6;
    let seconds = 0;
    let micros = 0;
    let offset = 0;
    if (kind !== 'date') {
      if (buf[q] !== 0x54 || buf[q + 3] !== COLON || buf[q + 6] !== COLON) this.badDatetime(kind, buf, p, close, column);
      const hour = NdjsonToCopyBinary.number(buf, q + 1, 2);
      const minute = NdjsonToCopyBinary.number(buf, q + 4, 2);
      const second = NdjsonToCopyBinary.number(buf, q + 7, 2);
      if (hour < 0 || minute < 0 || second < 0) this.badDatetime(kind, buf, p, close, column);
      seconds = hour * 3600 + minute * 60 + second;
      q += 9;
      if (buf[q] === DOT) {
        q++;
        let places = 0;
        while (q < close && buf[q]! >= ZERO && buf[q]! <= NINE) {
          if (++places > 6) this.badDatetime(kind, buf, p, close, column);
          micros = micros * 10 + (buf[q++]! - ZERO);
        }
        if (places === 0) this.badDatetime(kind, buf, p, close, column);
        micros *= 10 ** (6 - places);
      }
      if (buf[q] === PLUS || buf[q] === MINUS) {
        if (kind === 'timestamp') this.badDatetime(kind, buf, p, close, column);
        const sign = buf[q] === MINUS ? -1 : 1;
        const oh = NdjsonToCopyBinary.number(buf, q + 1, 2);
        if (oh < 0) this.badDatetime(kind, buf, p, close, column);
        q += 3;
        let om = 0;
        let os = 0;
        if (buf[q] === COLON) {
          om = NdjsonToCopyBinary.number(buf, q + 1, 2);
          q += 3;
          if (buf[q] === COLON) {
            os = NdjsonToCopyBinary.number(buf, q + 1, 2);
            q += 3;
          }
        }
        if (om < 0 || os < 0) this.badDatetime(kind, buf, p, close, column);
        offset = sign * (oh * 3600 + om * 60 + os);
      }
    }
    if (q + 3 === close && buf[q] === 0x20 && buf[q + 1] === 0x42 && buf[q + 2] === 0x43) {
      year = 1 - year;
      q += 3;
    }
    if (q !== close) this.badDatetime(kind, buf, p, close, column);
    const days = daysFromCivil(year, month, day) - PG_EPOCH_DAYS;
    if (kind === 'date') {
      put32(out, this.used + 4, days);
    } else {
      const total = days * SECONDS_PER_DAY + seconds - offset;
      if (Math.abs(total) < SAFE_SECONDS) put64(out, this.used + 4, total * 1_000_000 + micros);
      else {
        const value = BigInt(total) * 1_000_000n + BigInt(micros);
        if (value > 0x7fffffffffffffffn || value < -0x8000000000000000n) this.badDatetime(kind, buf, p, close, column);
        out.writeBigInt64BE(value, this.used + 4);
      }
    }
    this.used += 4 + size;
    return close + 1;
  }

  private badDatetime(kind: string, buf: Buffer, p: number, close: number, column: number): never {
    this.fail(column, `"${buf.toString('utf8', p + 1, close)}" is not a ${kind} as PostgreSQL writes it`);
  }

  /**
   * The next quote or backslash at or after p in a long string, found natively. Backslashes are rare,
   * so the position of the next one in the buffer is remembered rather than searched for per string.
   */
  private scanString(buf: Buffer, p: number, end: number): number {
    let quote = buf.indexOf(QUOTE, p);
    if (quote < 0 || quote > end) quote = end;
    if (buf !== this.backslashIn || p > this.nextBackslash) {
      this.backslashIn = buf;
      this.nextBackslash = buf.indexOf(BACKSLASH, p);
      if (this.nextBackslash < 0) this.nextBackslash = buf.length;
    }
    return this.nextBackslash < quote ? this.nextBackslash : quote;
  }

}
