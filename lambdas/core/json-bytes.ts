import { OperationFailedError, RowConversionError } from './errors.js';

/**
 * JSON read as bytes, for the paths that must not decode rows to JavaScript strings (restore's COPY
 * converters, the REST source's pages): the byte values of JSON's syntax, hex digits, `\u` escapes
 * with surrogate pairs, and scanners over strings, values and keys. UTF-8 encodes every non-ASCII
 * character with bytes >= 0x80 only, so looking for `"`, `\`, brackets, commas and whitespace one
 * byte at a time never lands inside a character.
 */

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const SLASH = 0x2f;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;
export const SPACE = 0x20;
export const TAB = 0x09;
export const NEWLINE = 0x0a;
export const CARRIAGE_RETURN = 0x0d;
export const MINUS = 0x2d;
export const PLUS = 0x2b;
export const DOT = 0x2e;
export const ZERO = 0x30;
export const NINE = 0x39;
/** The letters JSON's escapes and literals start with: `\u`, `\n`, `\r`, `\t`, `\b`, `\f`, `null`, `true`, `false`. */
export const LETTER_U = 0x75;
export const LETTER_N = 0x6e;
export const LETTER_R = 0x72;
export const LETTER_T = 0x74;
export const LETTER_B = 0x62;
export const LETTER_F = 0x66;
export const LETTER_L = 0x6c;
export const LETTER_E = 0x65;
export const LETTER_A = 0x61;
export const LETTER_S = 0x73;
export const LETTER_X = 0x78;

/** Hex digit values by byte, -1 for any other byte. */
export const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
}

/** The value of the four hex digits at `at`, or -1. */
export function hex4(buf: Buffer, at: number, end: number): number {
  if (at + 4 > end) return -1;
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const d = HEX[buf[at + k]!]!;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

/**
 * The code point of the `\uXXXX` escape at `p` (on the backslash), joined with a following low
 * surrogate escape into one code point; -1 when the digits are not hex. The escape took 12 bytes
 * when the result is above 0xFFFF (only a pair can give that), else 6: see {@link unicodeEscapeLength}.
 */
export function unicodeEscape(buf: Buffer, p: number, end: number): number {
  const code = hex4(buf, p + 2, end);
  if (code < 0xd800 || code > 0xdbff || buf[p + 6] !== BACKSLASH || buf[p + 7] !== LETTER_U) return code;
  const low = hex4(buf, p + 8, end);
  return low >= 0xdc00 && low <= 0xdfff ? 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00) : code;
}

/** Bytes of the escape that {@link unicodeEscape} decoded to `code`. */
export function unicodeEscapeLength(code: number): number {
  return code > 0xffff ? 12 : 6;
}

/**
 * Position just after `key` (a row's `"name":` as row_to_json writes it) at `p`, or -1. A JS loop:
 * keys are short, and a native compare per key costs more than the bytes.
 */
export function afterKey(buf: Buffer, p: number, end: number, key: Buffer): number {
  const keyLength = key.length;
  if (p + keyLength > end) return -1;
  for (let k = 0; k < keyLength; k++) if (buf[p + k] !== key[k]) return -1;
  return p + keyLength;
}

/** A cursor over one line of JSON text (the converters' path for rows of unusual layout). */
export class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new RowConversionError(`${what} at offset ${this.pos}`);
  }

  skipSpace(): void {
    let c = this.text.charCodeAt(this.pos);
    while (c === SPACE || c === TAB || c === NEWLINE || c === CARRIAGE_RETURN) c = this.text.charCodeAt(++this.pos);
  }

  expect(code: number, what: string): void {
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) !== code) this.fail(`expected ${what}`);
    this.pos++;
  }

  /** A JSON string token starting at pos (on the quote), decoded. */
  string(): string {
    const start = this.pos;
    let i = start + 1;
    let escaped = false;
    const text = this.text;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        i += 2;
        continue;
      }
      if (Number.isNaN(c)) this.fail('unterminated string');
      i++;
    }
    this.pos = i + 1;
    return escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
  }

  /** A bare token (number, true, false, null): its text. */
  bare(): string {
    const start = this.pos;
    const text = this.text;
    let c = text.charCodeAt(this.pos);
    while (this.pos < text.length && c !== COMMA && c !== CLOSE_BRACE && c !== CLOSE_BRACKET && c !== SPACE) c = text.charCodeAt(++this.pos);
    if (this.pos === start) this.fail('expected a value');
    return text.slice(start, this.pos);
  }
}

/** Bytes that are not JSON where JSON was promised; `at` is the byte offset. */
export class MalformedJsonError extends OperationFailedError {
  constructor(
    readonly what: string,
    readonly at: number,
  ) {
    super(`malformed JSON (${what} at byte ${at})`);
  }
}

export function isWhitespace(c: number | undefined): boolean {
  return c === SPACE || c === NEWLINE || c === CARRIAGE_RETURN || c === TAB;
}

export function skipWhitespace(bytes: Buffer, i: number): number {
  while (i < bytes.length && isWhitespace(bytes[i])) i++;
  return i;
}

/** `bytes[i]` is `"`: returns the index just past the closing quote. */
export function scanString(bytes: Buffer, i: number): number {
  // Most strings (member names, short values) end within a few bytes, sooner than a native search
  // returns; long ones are left to it, which is several times faster per byte.
  const near = Math.min(i + 24, bytes.length);
  for (let j = i + 1; j < near; j++) {
    const c = bytes[j];
    if (c === QUOTE) return j + 1;
    if (c === BACKSLASH) j++;
  }
  for (let from = near; ; ) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote === -1) throw new MalformedJsonError('unterminated string', i);
    // Escaped if preceded by an odd number of backslashes.
    let p = quote - 1;
    while (bytes[p] === BACKSLASH) p--;
    if ((quote - 1 - p) % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Returns the index just past the JSON value starting at `i` (no whitespace before it). */
export function scanValue(bytes: Buffer, i: number): number {
  const first = bytes[i];
  if (first === QUOTE) return scanString(bytes, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    let j = i;
    while (j < bytes.length) {
      const c = bytes[j];
      if (c === QUOTE) {
        j = scanString(bytes, j);
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    throw new MalformedJsonError('unterminated object or array', i);
  }
  let j = i;
  while (j < bytes.length) {
    const c = bytes[j];
    if (c === COMMA || c === CLOSE_BRACKET || c === CLOSE_BRACE || isWhitespace(c)) break;
    j++;
  }
  if (j === i) throw new MalformedJsonError('missing value', i);
  return j;
}

/**
 * Copies `from[start, end)` to `to` at `at` without the whitespace outside strings; returns the end in
 * `to`. `to` may be `from` when `at <= start`.
 */
export function copyCompact(from: Buffer, start: number, end: number, to: Buffer, at: number): number {
  let i = start;
  while (i < end) {
    const c = from[i]!;
    if (c === QUOTE) {
      const stringEnd = scanString(from, i);
      at += from.copy(to, at, i, stringEnd);
      i = stringEnd;
    } else {
      if (!isWhitespace(c)) to[at++] = c;
      i++;
    }
  }
  return at;
}
