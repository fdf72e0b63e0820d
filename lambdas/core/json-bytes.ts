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
export function afterKey(buf: Uint8Array, p: number, end: number, key: Uint8Array): number {
  const keyLength = key.length;
  if (p + keyLength > end) return -1;
  for (let k = 0; k < keyLength; k++) if (buf[p + k] !== key[k]) return -1;
  return p + keyLength;
}

/**
 * A DataView of the buffer last asked for, made again only when the buffer changes: the word loops
 * below and in the converters read and write 32-bit words through it, and one input or output chunk
 * serves many rows. Each owner (a converter, a writer) keeps its own, so no chunk outlives it.
 */
export class ViewCache {
  private buffer: Uint8Array | undefined;
  private view: DataView = new DataView(new ArrayBuffer(4));

  of(buf: Uint8Array): DataView {
    if (buf !== this.buffer) {
      this.buffer = buf;
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    return this.view;
  }
}

/**
 * Whether any of the four bytes of `word` is a `"` or a `\`. The bit test for "a byte is zero" may
 * also flag a harmless byte above a flagged one, never miss one: a flagged word goes byte by byte.
 */
export function holdsQuoteOrBackslash(word: number): boolean {
  const quotes = word ^ 0x22222222;
  const backslashes = word ^ 0x5c5c5c5c;
  return ((((quotes - 0x01010101) & ~quotes) | ((backslashes - 0x01010101) & ~backslashes)) & 0x80808080) !== 0;
}

/** {@link holdsQuoteOrBackslash}, or a byte below 0x20 (a control character, which JSON strings escape). */
export function holdsQuoteBackslashOrControl(word: number): boolean {
  return holdsQuoteOrBackslash(word) || (((word - 0x20202020) & ~word & 0x80808080) !== 0);
}

/** Byte strings as little-endian 32-bit words, each zero-padded to whole words, all in a row. */
export interface Words {
  readonly words: Int32Array;
  /** Where string i's words start in `words` (and end, at i + 1). */
  readonly at: Int32Array;
}

export function asWords(strings: readonly Uint8Array[]): Words {
  const at = new Int32Array(strings.length + 1);
  const words: number[] = [];
  strings.forEach((bytes, i) => {
    at[i] = words.length;
    const padded = Buffer.alloc(4 * Math.ceil(bytes.length / 4));
    padded.set(bytes);
    for (let k = 0; k < padded.length; k += 4) words.push(padded.readInt32LE(k));
  });
  at[strings.length] = words.length;
  return { words: Int32Array.from(words), at };
}

/**
 * A row's keys (`"name":` as row_to_json writes them), compared four bytes at a time: a key of ten
 * bytes is three word compares instead of ten byte compares (docs/performance.md, "Twelfth
 * session"). Matches exactly what {@link afterKey} matches.
 */
export class RowKeys {
  private readonly words: Int32Array;
  private readonly wordAt: Int32Array;
  /** The bytes of each key's last word that are the key's (the rest of that word is the value's). */
  private readonly lastMask: Int32Array;
  private readonly lengths: Int32Array;
  readonly count: number;
  private readonly views = new ViewCache();

  /** The keys of rows with these columns, in this order, as row_to_json writes them (`"name":`). */
  static of(columns: readonly string[]): RowKeys {
    return new RowKeys(columns.map((name) => Buffer.from(`${JSON.stringify(name)}:`)));
  }

  constructor(readonly keys: readonly Buffer[]) {
    this.count = keys.length;
    this.lengths = Int32Array.from(keys.map((key) => key.length));
    ({ words: this.words, at: this.wordAt } = asWords(keys));
    this.lastMask = Int32Array.from(keys.map((key) => (key.length % 4 === 0 ? -1 : (1 << (8 * (key.length % 4))) - 1)));
  }

  /** Position just after key `i` at `p` in `buf`, or -1. */
  after(buf: Uint8Array, p: number, end: number, i: number): number {
    const length = this.lengths[i]!;
    const keyEnd = p + length;
    if (keyEnd > end) return -1;
    const from = this.wordAt[i]!;
    const last = this.wordAt[i + 1]! - 1;
    // The last word is read whole: near the buffer's end, byte by byte instead.
    if (p + 4 * (last - from + 1) > buf.length) return afterKey(buf, p, end, this.keys[i]!);
    const view = this.views.of(buf);
    const words = this.words;
    let at = p;
    for (let w = from; w < last; w++, at += 4) if (view.getInt32(at, true) !== words[w]) return -1;
    return (view.getInt32(at, true) & this.lastMask[i]!) === words[last] ? keyEnd : -1;
  }
}

/** What the converters' scanners say is missing after a row's last member (for a table without columns, right after `{`). */
export function closingBrace(columns: number): string {
  return columns === 0 ? '} (the table has no columns)' : '} (more keys than columns)';
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

/** Bytes that matter inside a string (the scanners below): `"` and `\`. */
const QUOTE_OR_BACKSLASH = new Uint8Array(256);
QUOTE_OR_BACKSLASH[QUOTE] = 1;
QUOTE_OR_BACKSLASH[BACKSLASH] = 1;
/** Bytes that matter to the depth of a value outside its strings: `"`, braces and brackets. */
const NESTING = new Uint8Array(256);
for (const c of [QUOTE, OPEN_BRACE, CLOSE_BRACE, OPEN_BRACKET, CLOSE_BRACKET]) NESTING[c] = 1;

/** `bytes[i]` is `"`: returns the index just past the closing quote. */
export function scanString(bytes: Buffer, i: number): number {
  // One pass with a table, an escape skipped where it is. A native search for the next quote was
  // faster on plain text, but JSON documents carried as strings (jsonb as text) hold an escaped
  // quote every few bytes, and a search per quote cost more: scanning a page of the realistic shop
  // took ~25 % less time this way (docs/performance.md).
  const n = bytes.length;
  let p = i + 1;
  for (;;) {
    while (p < n && QUOTE_OR_BACKSLASH[bytes[p]!] === 0) p++;
    if (p >= n) throw new MalformedJsonError('unterminated string', i);
    if (bytes[p] === QUOTE) return p + 1;
    p += 2;
  }
}

/** Returns the index just past the JSON value starting at `i` (no whitespace before it). */
export function scanValue(bytes: Buffer, i: number): number {
  const first = bytes[i];
  if (first === QUOTE) return scanString(bytes, i);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    let j = i;
    const n = bytes.length;
    while (j < n) {
      const c = bytes[j]!;
      if (NESTING[c] === 0) {
        j++;
        continue;
      }
      if (c === QUOTE) {
        j = scanString(bytes, j);
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
      else {
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

/** Byte classes of the row check (jsonObjectMembers): a table lookup per byte beats chains of compares. */
const STRING_STOP = new Uint8Array(256); // `"`, `\` and the control characters JSON forbids raw (newline among them)
const SIMPLE_ESCAPE = new Uint8Array(256); // what may follow `\` but `u`
const HEX_DIGIT = new Uint8Array(256);
const WHITESPACE = new Uint8Array(256);
const DIGIT = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_STOP[c] = 1;
STRING_STOP[QUOTE] = 1;
STRING_STOP[BACKSLASH] = 1;
for (const c of [QUOTE, BACKSLASH, SLASH, LETTER_B, LETTER_F, LETTER_N, LETTER_R, LETTER_T]) SIMPLE_ESCAPE[c] = 1;
for (let c = 0; c < 256; c++) HEX_DIGIT[c] = HEX[c]! >= 0 ? 1 : 0;
for (const c of [SPACE, TAB, NEWLINE, CARRIAGE_RETURN]) WHITESPACE[c] = 1;
for (let c = ZERO; c <= NINE; c++) DIGIT[c] = 1;

const IN_OBJECT = 1;
const IN_ARRAY = 2;

/**
 * How many members the JSON object `buf[start, end)` has (RFC 8259, whitespace allowed around
 * tokens), or -1 when those bytes are not exactly one JSON object: what `JSON.parse` accepts of a
 * line, checked byte by byte, without decoding the line to a string or building its values. Validate
 * reads every row of a backup, and parsing rows into objects cost it more than decompressing them.
 * A duplicate member counts twice (JSON.parse would fold it). Bytes >= 0x80 inside strings are taken
 * as they are, as JSON.parse takes whatever characters a UTF-8 decoding makes of them.
 *
 * The inner loops have no bounds check of their own: they stop at a newline (whitespace ends a run
 * of whitespace only at a byte that is not, and a control character ends a string) or past the
 * buffer, then compare with `end`. So bytes past `end` are never accepted, and with a newline at
 * `buf[end]`, as in NDJSON, they are not even read far. Called with one kind of array only (a plain
 * Uint8Array), it stays monomorphic.
 */
export function jsonObjectMembers(buf: Uint8Array, start: number, end: number): number {
  // The kinds of the open containers, outermost first; the row itself is kinds[0].
  const kinds: number[] = [];
  let depth = 0;
  let members = 0;
  let p = start;
  while (p < end && WHITESPACE[buf[p]!] === 1) p++;
  if (p >= end || buf[p] !== OPEN_BRACE) return -1;
  // true: a value starts at p; false: a value just ended, a separator or a close follows.
  let expectValue = true;
  for (;;) {
    let c = buf[p]!;
    while (WHITESPACE[c] === 1) c = buf[++p]!;
    if (p >= end) return -1;
    if (expectValue) {
      if (c === QUOTE) p = jsonStringEnd(buf, p, end);
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        const object = c === OPEN_BRACE;
        kinds[depth++] = object ? IN_OBJECT : IN_ARRAY;
        p++;
        c = buf[p]!;
        while (WHITESPACE[c] === 1) c = buf[++p]!;
        if (p >= end) return -1;
        if (c === (object ? CLOSE_BRACE : CLOSE_BRACKET)) {
          depth--;
          p++;
          expectValue = false;
          if (depth === 0) break;
          continue;
        }
        if (object) {
          p = jsonMemberName(buf, p, end);
          if (p < 0) return -1;
          if (depth === 1) members++;
        }
        continue;
      } else if (c === MINUS || DIGIT[c] === 1) p = jsonNumberEnd(buf, p, end);
      else if (c === LETTER_T) p = buf[p + 1] === LETTER_R && buf[p + 2] === LETTER_U && buf[p + 3] === LETTER_E && p + 4 <= end ? p + 4 : -1;
      else if (c === LETTER_F) p = buf[p + 1] === LETTER_A && buf[p + 2] === LETTER_L && buf[p + 3] === LETTER_S && buf[p + 4] === LETTER_E && p + 5 <= end ? p + 5 : -1;
      else if (c === LETTER_N) p = buf[p + 1] === LETTER_U && buf[p + 2] === LETTER_L && buf[p + 3] === LETTER_L && p + 4 <= end ? p + 4 : -1;
      else return -1;
      if (p < 0) return -1;
      expectValue = false;
      continue;
    }
    const kind = kinds[depth - 1];
    if (c === COMMA) {
      p++;
      expectValue = true;
      if (kind === IN_OBJECT) {
        c = buf[p]!;
        while (WHITESPACE[c] === 1) c = buf[++p]!;
        if (p >= end) return -1;
        p = jsonMemberName(buf, p, end);
        if (p < 0) return -1;
        if (depth === 1) members++;
      }
      continue;
    }
    if (c !== (kind === IN_OBJECT ? CLOSE_BRACE : CLOSE_BRACKET)) return -1;
    depth--;
    p++;
    if (depth === 0) break;
  }
  while (p < end && WHITESPACE[buf[p]!] === 1) p++;
  return p === end ? members : -1;
}

/**
 * What {@link jsonObjectMembers} answers, faster for the rows backups write: `{"k1":v1,"k2":v2,…}`
 * with exactly these keys in this order, no whitespace, scalar values. The keys are compared as
 * words (RowKeys) instead of scanned as strings; any other line (arrays or objects as values,
 * whitespace, other keys, a malformed value) gets the general check, so the answer is always its.
 */
export function rowObjectMembers(buf: Uint8Array, start: number, end: number, keys: RowKeys): number {
  let p = start;
  if (buf[p] !== OPEN_BRACE) return jsonObjectMembers(buf, start, end);
  p++;
  const count = keys.count;
  for (let i = 0; i < count; i++) {
    if (i > 0 && buf[p++] !== COMMA) return jsonObjectMembers(buf, start, end);
    p = keys.after(buf, p, end, i);
    if (p < 0) return jsonObjectMembers(buf, start, end);
    const c = buf[p]!;
    if (c === QUOTE) p = jsonStringEnd(buf, p, end);
    else if (c === MINUS || DIGIT[c] === 1) p = jsonNumberEnd(buf, p, end);
    else if (c === LETTER_N) p = buf[p + 1] === LETTER_U && buf[p + 2] === LETTER_L && buf[p + 3] === LETTER_L && p + 4 <= end ? p + 4 : -1;
    else if (c === LETTER_T) p = buf[p + 1] === LETTER_R && buf[p + 2] === LETTER_U && buf[p + 3] === LETTER_E && p + 4 <= end ? p + 4 : -1;
    else if (c === LETTER_F) p = buf[p + 1] === LETTER_A && buf[p + 2] === LETTER_L && buf[p + 3] === LETTER_S && buf[p + 4] === LETTER_E && p + 5 <= end ? p + 5 : -1;
    else p = -1;
    if (p < 0) return jsonObjectMembers(buf, start, end);
  }
  if (buf[p++] !== CLOSE_BRACE) return jsonObjectMembers(buf, start, end);
  return p === end ? count : jsonObjectMembers(buf, start, end);
}

/** A member's name and its colon at p (no whitespace before the name): the index after the colon, or -1. */
function jsonMemberName(buf: Uint8Array, p: number, end: number): number {
  if (buf[p] !== QUOTE) return -1;
  p = jsonStringEnd(buf, p, end);
  if (p < 0) return -1;
  let c = buf[p]!;
  while (WHITESPACE[c] === 1) c = buf[++p]!;
  return p < end && c === COLON ? p + 1 : -1;
}

/** The index after the JSON string whose `"` is at p, or -1. */
function jsonStringEnd(buf: Uint8Array, p: number, end: number): number {
  p++;
  for (;;) {
    let c = buf[p]!;
    while (STRING_STOP[c] === 0) c = buf[++p]!;
    if (p >= end) return -1;
    if (c === QUOTE) return p + 1;
    if (c !== BACKSLASH) return -1;
    const escaped = buf[p + 1]!;
    if (SIMPLE_ESCAPE[escaped] === 1) p += 2;
    else if (escaped === LETTER_U && p + 6 <= end && (HEX_DIGIT[buf[p + 2]!]! & HEX_DIGIT[buf[p + 3]!]! & HEX_DIGIT[buf[p + 4]!]! & HEX_DIGIT[buf[p + 5]!]!) === 1) p += 6;
    else return -1;
  }
}

/** The index after the JSON number at p, `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, or -1. */
function jsonNumberEnd(buf: Uint8Array, p: number, end: number): number {
  if (buf[p] === MINUS) p++;
  const first = buf[p];
  if (first === ZERO) p++;
  else if (first !== undefined && first > ZERO && first <= NINE) while (DIGIT[buf[++p]!] === 1);
  else return -1;
  if (buf[p] === DOT) {
    const from = ++p;
    while (DIGIT[buf[p]!] === 1) p++;
    if (p === from) return -1;
  }
  if (buf[p] === LETTER_E || buf[p] === 0x45) {
    p++;
    if (buf[p] === PLUS || buf[p] === MINUS) p++;
    const from = p;
    while (DIGIT[buf[p]!] === 1) p++;
    if (p === from) return -1;
  }
  return p <= end ? p : -1;
}
