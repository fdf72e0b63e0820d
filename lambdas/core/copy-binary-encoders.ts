/**
 * The binary COPY encoders, one per column type, as functions of their input and their output. Each
 * reads one JSON value of `buf` starting at `p` (the value's first byte; never past `end`), appends
 * the field (its 32-bit length, then the bytes the type's `_recv` function expects) to `sink`, and
 * returns the position just after the value. -1 means the row's layout needs normalising first
 * (whitespace where row_to_json writes none); the sink then holds garbage past the row's start, which
 * the converter drops. A value PostgreSQL would not have written for the type throws an
 * {@link EncodeFailure}, which the converter (copy-binary.ts) reports naming the row and column.
 *
 * They are module functions over a sink (`ByteSink`, which the converter is) rather than methods of
 * the converter so that each type can be tested on its own. In production the sink is always the converter, so every call site stays
 * monomorphic and V8 inlines them as it did the methods (`bin/dev/converter-bench.ts` compares
 * the converters' throughput). The caller makes room first (SlabOutput.ensure): no encoder checks
 * the sink's capacity.
 */
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
  TAB,
  ViewCache,
  ZERO,
  holdsQuoteOrBackslash,
  isWhitespace,
  unicodeEscape,
  unicodeEscapeLength,
} from './json-bytes.js';
import type { ByteSink } from './slab-output.js';

/** PostgreSQL's MAXDIM. */
export const MAX_ARRAY_DIMS = 6;

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
const LETTER_I = 0x69;
const CAPITAL_B = 0x42;
const CAPITAL_C = 0x43;
const CAPITAL_T = 0x54;

/**
 * A value that is not in the shape PostgreSQL writes for its column's type. The message says what
 * was expected; the converter turns it into a RowConversionError naming the row and column, so this
 * never leaves copy-binary.ts.
 */
export class EncodeFailure extends Error {
  override readonly name = 'EncodeFailure';
}

function fail(what: string): never {
  throw new EncodeFailure(what);
}

/**
 * What the encoders carry from value to value without allocating: the text and array encoders'
 * memo of the next backslash in the input buffer (backslashes are rare, so it is searched for once
 * per buffer, not once per string), and the array encoder's dimension sizes. One per converter.
 */
export interface EncodeScratch {
  backslashIn: Buffer | undefined;
  nextBackslash: number;
  readonly arraySizes: Int32Array;
  arrayHasNull: boolean;
  /** Views of the input and output buffers encodeText reads and writes as 32-bit words. */
  readonly wordsFrom: ViewCache;
  readonly wordsTo: ViewCache;
}

export function encodeScratch(): EncodeScratch {
  return { backslashIn: undefined, nextBackslash: -1, arraySizes: new Int32Array(MAX_ARRAY_DIMS), arrayHasNull: false, wordsFrom: new ViewCache(), wordsTo: new ViewCache() };
}

/** Big-endian 32-bit store; plain byte stores beat Buffer#writeInt32BE's checks in this loop. */
export function put32(out: Buffer, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = value >>> 16;
  out[at + 2] = value >>> 8;
  out[at + 3] = value;
}

export function put16(out: Buffer, at: number, value: number): void {
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

/** Days in a month of a proleptic Gregorian year (astronomical: 1 BC is year 0, a leap year). */
function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/** SQL NULL: the length -1 and no bytes. */
export function encodeNull(sink: ByteSink): void {
  put32(sink.out, sink.used, -1);
  sink.used += 4;
}

/** `true` / `false` as one byte. */
export function encodeBool(sink: ByteSink, buf: Buffer, p: number): number {
  const out = sink.out;
  const at = sink.used;
  put32(out, at, 1);
  if (buf[p] === LETTER_T && buf[p + 1] === LETTER_R && buf[p + 2] === LETTER_U && buf[p + 3] === LETTER_E) {
    out[at + 4] = 1;
    sink.used = at + 5;
    return p + 4;
  }
  if (buf[p] === LETTER_F && buf[p + 1] === LETTER_A && buf[p + 2] === LETTER_L && buf[p + 3] === LETTER_S && buf[p + 4] === LETTER_E) {
    out[at + 4] = 0;
    sink.used = at + 5;
    return p + 5;
  }
  fail('expected true or false');
}

/** True when a bare token ends at p; whitespace sends the row to the slow path, anything else is an error. */
function endsBare(buf: Buffer, p: number, end: number): boolean {
  const c = buf[p];
  if (p >= end || c === COMMA || c === CLOSE_BRACE) return true;
  if (isWhitespace(c)) return false;
  fail('expected a plain number (digits, sign and decimal point only)');
}

/** int2/int4/int8 from their decimal text, range-checked; int8 past 15 digits through BigInt. */
export function encodeInteger(sink: ByteSink, kind: 'int2' | 'int4' | 'int8', buf: Buffer, p: number, end: number): number {
  const from = p;
  const negative = buf[p] === MINUS;
  if (negative) p++;
  const digitsFrom = p;
  let n = 0;
  while (p < end && buf[p]! >= ZERO && buf[p]! <= NINE) n = n * 10 + (buf[p++]! - ZERO);
  const count = p - digitsFrom;
  if (count === 0) fail('expected an integer');
  if (!endsBare(buf, p, end)) return -1;
  if (negative) n = -n;
  const out = sink.out;
  const at = sink.used;
  if (kind === 'int8') {
    put32(out, at, 8);
    if (count <= 15) put64(out, at + 4, n);
    else {
      const big = BigInt(buf.toString('latin1', from, p));
      if (big > 0x7fffffffffffffffn || big < -0x8000000000000000n) fail('integer out of range for bigint');
      out.writeBigInt64BE(big, at + 4);
    }
    sink.used = at + 12;
  } else if (kind === 'int4') {
    if (count > 10 || n > INT32_MAX || n < INT32_MIN) fail('integer out of range for integer');
    put32(out, at, 4);
    put32(out, at + 4, n);
    sink.used = at + 8;
  } else {
    if (count > 5 || n > 32_767 || n < -32_768) fail('integer out of range for smallint');
    put32(out, at, 2);
    put16(out, at + 4, n);
    sink.used = at + 6;
  }
  return p;
}

function numericSpecial(sink: ByteSink, sign: number): void {
  const out = sink.out;
  const at = sink.used;
  put32(out, at, 8);
  put16(out, at + 4, 0);
  put16(out, at + 6, 0);
  put16(out, at + 8, sign);
  put16(out, at + 10, 0);
  sink.used = at + 12;
}

/** numeric: base-10000 digit groups, built from the decimal text (`-123.4500`, or "NaN"/"Infinity"). */
export function encodeNumeric(sink: ByteSink, buf: Buffer, p: number, end: number): number {
  if (buf[p] === QUOTE) {
    let close = p + 1;
    while (close < end && buf[close] !== QUOTE) close++;
    if (close >= end) fail('unterminated string');
    const special = buf.toString('latin1', p + 1, close);
    const sign = special === 'NaN' ? NUMERIC_NAN : special === 'Infinity' ? NUMERIC_PINF : special === '-Infinity' ? NUMERIC_NINF : -1;
    if (sign < 0) fail(`"${special}" is not a numeric`);
    numericSpecial(sink, sign);
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
  if (intTo === intFrom || (fracTo === fracFrom && buf[fracFrom - 1] === DOT)) fail('expected a plain decimal number');
  if (!endsBare(buf, p, end)) return -1;
  let lead = intFrom;
  while (lead < intTo && buf[lead] === ZERO) lead++;
  const dscale = fracTo - fracFrom;
  if (dscale > 0x3fff) fail('too many decimal places');
  // Base-10000 groups straight into the output: the integer part right-aligned to groups of
  // four, the fraction left-aligned; leading and trailing zero groups are left out.
  const intDigits = intTo - lead;
  const at = sink.used;
  const digitsAt = at + 12;
  const out = sink.out;
  let weight = Math.ceil(intDigits / 4) - 1;
  let count = 0;
  let lastNonZero = 0;
  let group = 0;
  let inGroup = (4 - (intDigits % 4)) % 4;
  const total = intDigits + dscale;
  for (let k = 0; k < total; k++) {
    const digitAt = k < intDigits ? lead + k : fracFrom + (k - intDigits);
    group = group * 10 + (buf[digitAt]! - ZERO);
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
  put32(out, at, 8 + count * 2);
  put16(out, at + 4, count);
  put16(out, at + 6, count === 0 ? 0 : weight);
  put16(out, at + 8, count === 0 || !negative ? NUMERIC_POS : NUMERIC_NEG);
  put16(out, at + 10, dscale);
  sink.used = digitsAt + count * 2;
  return p;
}

/** A uuid string (either case) as its 16 bytes. */
export function encodeUuid(sink: ByteSink, buf: Buffer, p: number): number {
  if (buf[p] !== QUOTE || buf[p + 37] !== QUOTE || buf[p + 9] !== MINUS || buf[p + 14] !== MINUS || buf[p + 19] !== MINUS || buf[p + 24] !== MINUS) fail('expected a uuid');
  const out = sink.out;
  put32(out, sink.used, 16);
  let u = sink.used + 4;
  let q = p + 1;
  for (let k = 0; k < 16; k++) {
    if (q === p + 9 || q === p + 14 || q === p + 19 || q === p + 24) q++;
    const h = HEX[buf[q]!]!;
    const l = HEX[buf[q + 1]!]!;
    if (h < 0 || l < 0) fail('expected a uuid');
    out[u++] = (h << 4) | l;
    q += 2;
  }
  sink.used = u;
  return p + 38;
}

/** Reads `count` decimal digits at q, or -1. */
function digits(buf: Buffer, q: number, count: number): number {
  let n = 0;
  for (let k = 0; k < count; k++) {
    const d = buf[q + k]! - ZERO;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function badDatetime(kind: string, buf: Buffer, p: number, close: number): never {
  fail(`"${buf.toString('utf8', p + 1, close)}" is not a ${kind} as PostgreSQL writes it`);
}

/**
 * `YYYY-MM-DD` for dates, `YYYY-MM-DDTHH:MM:SS[.ffffff][±HH[:MM[:SS]]]` for timestamps, either
 * with a ` BC` suffix, or `infinity`/`-infinity`: the ISO shapes PostgreSQL's JSON encoders write.
 * Dates as days since 2000-01-01 (int32), timestamps as microseconds since then in UTC (int64).
 */
export function encodeDatetime(sink: ByteSink, kind: 'date' | 'timestamp' | 'timestamptz', buf: Buffer, p: number, end: number): number {
  if (buf[p] !== QUOTE) fail(`expected a ${kind} string`);
  let close = p + 1;
  while (close < end && buf[close] !== QUOTE) close++;
  if (close >= end) fail('unterminated string');
  let q = p + 1;
  const out = sink.out;
  const at = sink.used;
  const size = kind === 'date' ? 4 : 8;
  put32(out, at, size);
  const infinite = buf[q] === LETTER_I ? 1 : buf[q] === MINUS && buf[q + 1] === LETTER_I ? -1 : 0;
  if (infinite !== 0) {
    const word = buf.toString('latin1', q, close);
    if (word !== 'infinity' && word !== '-infinity') fail(`"${word}" is not a ${kind}`);
    if (kind === 'date') put32(out, at + 4, infinite > 0 ? INT32_MAX : INT32_MIN);
    else out.writeBigInt64BE(infinite > 0 ? 0x7fffffffffffffffn : -0x8000000000000000n, at + 4);
    sink.used = at + 4 + size;
    return close + 1;
  }
  const yearFrom = q;
  let year = 0;
  while (q < close && buf[q]! >= ZERO && buf[q]! <= NINE) year = year * 10 + (buf[q++]! - ZERO);
  if (q - yearFrom < 4 || buf[q] !== MINUS || buf[q + 3] !== MINUS) badDatetime(kind, buf, p, close);
  const month = digits(buf, q + 1, 2);
  const day = digits(buf, q + 4, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31) badDatetime(kind, buf, p, close);
  q += 6;
  let seconds = 0;
  let micros = 0;
  let offset = 0;
  if (kind !== 'date') {
    if (buf[q] !== CAPITAL_T || buf[q + 3] !== COLON || buf[q + 6] !== COLON) badDatetime(kind, buf, p, close);
    const hour = digits(buf, q + 1, 2);
    const minute = digits(buf, q + 4, 2);
    const second = digits(buf, q + 7, 2);
    // PostgreSQL writes no hour 24 and no leap second, though its input takes them.
    if (hour < 0 || minute < 0 || second < 0 || hour > 23 || minute > 59 || second > 59) badDatetime(kind, buf, p, close);
    seconds = hour * 3600 + minute * 60 + second;
    q += 9;
    if (buf[q] === DOT) {
      q++;
      let places = 0;
      while (q < close && buf[q]! >= ZERO && buf[q]! <= NINE) {
        if (++places > 6) badDatetime(kind, buf, p, close);
        micros = micros * 10 + (buf[q++]! - ZERO);
      }
      if (places === 0) badDatetime(kind, buf, p, close);
      micros *= 10 ** (6 - places);
    }
    if (buf[q] === PLUS || buf[q] === MINUS) {
      if (kind === 'timestamp') badDatetime(kind, buf, p, close);
      const sign = buf[q] === MINUS ? -1 : 1;
      const oh = digits(buf, q + 1, 2);
      if (oh < 0) badDatetime(kind, buf, p, close);
      q += 3;
      let om = 0;
      let os = 0;
      if (buf[q] === COLON) {
        om = digits(buf, q + 1, 2);
        q += 3;
        if (buf[q] === COLON) {
          os = digits(buf, q + 1, 2);
          q += 3;
        }
      }
      // Its zone offsets stay within ±15:59:59.
      if (om < 0 || os < 0 || oh > 15 || om > 59 || os > 59) badDatetime(kind, buf, p, close);
      offset = sign * (oh * 3600 + om * 60 + os);
    }
  }
  // Year 0 does not exist (1 BC is written 0001 BC).
  if (year === 0) badDatetime(kind, buf, p, close);
  if (q + 3 === close && buf[q] === SPACE && buf[q + 1] === CAPITAL_B && buf[q + 2] === CAPITAL_C) {
    year = 1 - year;
    q += 3;
  }
  if (q !== close || day > daysInMonth(year, month)) badDatetime(kind, buf, p, close);
  const days = daysFromCivil(year, month, day) - PG_EPOCH_DAYS;
  // A day count past int32 would wrap into another, valid date: refuse it (the server's range is narrower still).
  if (kind === 'date' && (days > INT32_MAX || days < INT32_MIN)) badDatetime(kind, buf, p, close);
  if (kind === 'date') {
    put32(out, at + 4, days);
  } else {
    const total = days * SECONDS_PER_DAY + seconds - offset;
    if (Math.abs(total) < SAFE_SECONDS) put64(out, at + 4, total * 1_000_000 + micros);
    else {
      const value = BigInt(total) * 1_000_000n + BigInt(micros);
      if (value > 0x7fffffffffffffffn || value < -0x8000000000000000n) badDatetime(kind, buf, p, close);
      out.writeBigInt64BE(value, at + 4);
    }
  }
  sink.used = at + 4 + size;
  return close + 1;
}

/**
 * The next quote or backslash at or after p in a long string, found natively. Backslashes are rare,
 * so the position of the next one in the buffer is remembered rather than searched for per string.
 */
function scanLongString(buf: Buffer, p: number, end: number, scratch: EncodeScratch): number {
  let quote = buf.indexOf(QUOTE, p);
  if (quote < 0 || quote > end) quote = end;
  if (buf !== scratch.backslashIn || p > scratch.nextBackslash) {
    scratch.backslashIn = buf;
    let next = buf.indexOf(BACKSLASH, p);
    if (next < 0) next = buf.length;
    scratch.nextBackslash = next;
  }
  const next = scratch.nextBackslash;
  return next < quote ? next : quote;
}

/**
 * text, json (its text as a JSON string, as the backup carries it) and jsonb (the same with jsonb's
 * version byte 1): the string's UTF-8 bytes, unescaped. A bare array or object, or an escape JSON does
 * not have, goes to the slow path (-1), which names it. The check and the loop are one function on
 * purpose: with a check calling the loop, the text-heavy table of bin/dev/converter-bench.ts
 * converted 4-8 % slower (one call level more than V8 would inline into the converter's dispatch).
 */
export function encodeText(sink: ByteSink, buf: Buffer, p: number, end: number, jsonb: boolean, scratch: EncodeScratch): number {
  const c = buf[p];
  if (c !== QUOTE) {
    if (c === OPEN_BRACKET || c === OPEN_BRACE || c === SPACE) return -1;
    fail('expected a string');
  }
  p++;
  const out = sink.out;
  const lengthAt = sink.used;
  let u = lengthAt + 4;
  if (jsonb) out[u++] = 1;
  const source = scratch.wordsFrom.of(buf);
  const target = scratch.wordsTo.of(out);
  for (;;) {
    // Short runs are copied four bytes at a time while a word holds neither a quote nor a backslash
    // (bit tests that never miss one), then byte by byte; a run longer than 32 bytes is found and
    // copied natively.
    const limit = p + 32 < end ? p + 32 : end;
    while (p + 4 <= limit) {
      const word = source.getInt32(p, true);
      if (holdsQuoteOrBackslash(word)) break;
      target.setInt32(u, word, true);
      p += 4;
      u += 4;
    }
    let b = 0;
    while (p < limit) {
      b = buf[p]!;
      if (b === QUOTE || b === BACKSLASH) break;
      out[u++] = b;
      p++;
    }
    if (p === limit) {
      if (p >= end) return -1;
      const stop = scanLongString(buf, p, end, scratch);
      u += buf.copy(out, u, p, stop);
      p = stop;
      if (p >= end) return -1;
      b = buf[p]!;
    }
    if (b === QUOTE) break;
    const e = buf[p + 1];
    if (e === LETTER_U) {
      const code = unicodeEscape(buf, p, end);
      if (code < 0) return -1;
      p += unicodeEscapeLength(code);
      if (code < 0x80) out[u++] = code;
      else u += out.write(String.fromCodePoint(code), u);
      continue;
    }
    if (e === QUOTE || e === BACKSLASH || e === SLASH) out[u++] = e;
    else if (e === LETTER_N) out[u++] = NEWLINE;
    else if (e === LETTER_R) out[u++] = CARRIAGE_RETURN;
    else if (e === LETTER_T) out[u++] = TAB;
    else if (e === LETTER_B) out[u++] = 0x08;
    else if (e === LETTER_F) out[u++] = 0x0c;
    else return -1;
    p += 2;
  }
  put32(out, lengthAt, u - lengthAt - 4);
  sink.used = u;
  return p + 1;
}

/**
 * bytea as PostgreSQL's hex output (`\\x0a1b…` inside the JSON string), decoded to its bytes, or as
 * `bytea_output = escape` writes it (see {@link encodeByteaEscaped}).
 */
export function encodeBytea(sink: ByteSink, buf: Buffer, p: number, end: number): number {
  if (buf[p] !== QUOTE) fail('expected a string');
  p++;
  if (buf[p] !== BACKSLASH || buf[p + 1] !== BACKSLASH || buf[p + 2] !== LETTER_X) return encodeByteaEscaped(sink, buf, p, end);
  const from = p + 3;
  let close = buf.indexOf(QUOTE, from);
  if (close < 0 || close > end) close = end;
  if (close >= end || (close - from) % 2 !== 0) fail('expected an even number of hex digits after \\x');
  const out = sink.out;
  const at = sink.used;
  let u = at + 4;
  for (let k = from; k < close; k += 2) {
    const hi = HEX[buf[k]!]!;
    const lo = HEX[buf[k + 1]!]!;
    if ((hi | lo) < 0) fail('expected hex digits after \\x');
    out[u++] = (hi << 4) | lo;
  }
  put32(out, at, u - at - 4);
  sink.used = u;
  return close + 1;
}

/**
 * bytea as `bytea_output = escape` writes it (a source or REST role may set it), p after the opening
 * quote: printable ASCII as itself, a backslash doubled, any other byte as `\ooo` in octal. Inside
 * the JSON string each backslash is doubled again and `"` is `\"`.
 */
function encodeByteaEscaped(sink: ByteSink, buf: Buffer, p: number, end: number): number {
  const out = sink.out;
  const at = sink.used;
  let u = at + 4;
  for (;;) {
    if (p >= end) fail('unterminated string');
    const c = buf[p]!;
    if (c === QUOTE) break;
    if (c !== BACKSLASH) {
      if (c < 0x20 || c > 0x7e) fail('expected bytea in hex (\\x…) or escape format');
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
    if (e !== BACKSLASH) fail('expected bytea in hex (\\x…) or escape format');
    // One backslash of the escape format, then `\` again (a backslash byte) or three octal digits.
    if (buf[p + 2] === BACKSLASH && buf[p + 3] === BACKSLASH) {
      out[u++] = BACKSLASH;
      p += 4;
      continue;
    }
    const d0 = buf[p + 2]! - ZERO;
    const d1 = buf[p + 3]! - ZERO;
    const d2 = buf[p + 4]! - ZERO;
    if (!(d0 >= 0 && d0 <= 3 && d1 >= 0 && d1 <= 7 && d2 >= 0 && d2 <= 7)) fail('expected bytea in hex (\\x…) or escape format');
    out[u++] = (d0 << 6) | (d1 << 3) | d2;
    p += 5;
  }
  put32(out, at, u - at - 4);
  sink.used = u;
  return p + 1;
}

/**
 * A JSON array of strings and nulls (nested for more dimensions, as array_to_json writes it) in
 * array_send's form: ndim, has-null flag, element type, each dimension's size and lower bound 1,
 * then the elements. array_to_json does not keep lower bounds, so 1 is what the backup holds.
 */
export function encodeArray(sink: ByteSink, buf: Buffer, p: number, end: number, elementOid: number, scratch: EncodeScratch): number {
  if (buf[p] !== OPEN_BRACKET) fail('expected an array');
  const out = sink.out;
  const lengthAt = sink.used;
  let depth = 0;
  while (buf[p + depth] === OPEN_BRACKET) depth++;
  if (depth === 1 && buf[p + 1] === CLOSE_BRACKET) {
    put32(out, lengthAt, 12);
    put32(out, lengthAt + 4, 0);
    put32(out, lengthAt + 8, 0);
    put32(out, lengthAt + 12, elementOid);
    sink.used = lengthAt + 16;
    return p + 2;
  }
  if (depth > MAX_ARRAY_DIMS) fail(`more than ${MAX_ARRAY_DIMS} array dimensions`);
  const sizes = scratch.arraySizes;
  sizes.fill(-1, 0, depth);
  scratch.arrayHasNull = false;
  const headerAt = lengthAt + 4;
  sink.used = headerAt + 12 + depth * 8;
  const after = arrayLevel(sink, buf, p, end, 0, depth, scratch);
  if (after < 0) return -1;
  put32(out, headerAt, depth);
  put32(out, headerAt + 4, scratch.arrayHasNull ? 1 : 0);
  put32(out, headerAt + 8, elementOid);
  for (let d = 0; d < depth; d++) {
    put32(out, headerAt + 12 + d * 8, sizes[d]!);
    put32(out, headerAt + 16 + d * 8, 1);
  }
  put32(out, lengthAt, sink.used - lengthAt - 4);
  return after;
}

/** One level of a (possibly nested) array, p on its `[`; every sub-array of a level must be as long as the first. */
function arrayLevel(sink: ByteSink, buf: Buffer, p: number, end: number, level: number, depth: number, scratch: EncodeScratch): number {
  p++;
  let count = 0;
  for (;;) {
    if (p >= end) return -1;
    const c = buf[p];
    if (isWhitespace(c)) return -1;
    if (level < depth - 1) {
      if (c !== OPEN_BRACKET) fail('expected a rectangular array (sub-arrays at every level of the first)');
      p = arrayLevel(sink, buf, p, end, level + 1, depth, scratch);
    } else if (c === QUOTE) {
      p = encodeText(sink, buf, p, end, false, scratch);
    } else if (c === LETTER_N && buf[p + 1] === LETTER_U && buf[p + 2] === LETTER_L && buf[p + 3] === LETTER_L) {
      encodeNull(sink);
      scratch.arrayHasNull = true;
      p += 4;
    } else fail('expected a string or null as an array element');
    if (p < 0) return -1;
    count++;
    const sep = buf[p++];
    if (sep === CLOSE_BRACKET) break;
    if (sep !== COMMA) {
      if (isWhitespace(sep)) return -1;
      fail('expected , or ] in an array');
    }
  }
  const sizes = scratch.arraySizes;
  if (sizes[level] === -1) sizes[level] = count;
  else if (sizes[level] !== count) fail('expected a rectangular array (sub-arrays of one length per level)');
  return p;
}
