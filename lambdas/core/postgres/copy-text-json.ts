import { WasmCopyJson } from '../wasm/copy-json.js';
import { BACKSLASH, CLOSE_BRACE, COLON, LETTER_F, LETTER_T, MINUS, NEWLINE, OPEN_BRACE, PLUS, QUOTE, SPACE, TAB, ViewCache, asWords, holdsQuoteBackslashOrControl } from '../json-bytes.js';

/**
 * How `row_to_json` renders a column's value, for the types whose COPY text it can be written from
 * exactly (json.c's json_categorize_type and datum_to_json). `number`: int2/4/8, float4/8 and
 * numeric, bare, but NaN and the infinities as strings; `bool`: true or false; `timestamp` and
 * `timestamptz`: ISO 8601 with a `T` (and, for timestamptz, an offset with minutes); `string`: the
 * type's output text as a JSON string (dates, text, uuid, enums, json and jsonb carried as text, …).
 */
export type JsonKind = 'number' | 'bool' | 'timestamp' | 'timestamptz' | 'string';

const LETTER_N_UPPER = 0x4e; // N (COPY's NULL is \N)
const LETTER_I_UPPER = 0x49; // I (Infinity)
const LETTER_I = 0x69; // i (infinity)
const LETTER_V = 0x76;
const LETTER_T_UPPER = 0x54; // T, XSD's date/time separator
const LETTER_B_UPPER = 0x42;
const LETTER_C_UPPER = 0x43;
const HEX_DIGITS = Buffer.from('0123456789abcdef');
const NULL_BYTES = Buffer.from('null');
const TRUE_BYTES = Buffer.from('true');
const FALSE_BYTES = Buffer.from('false');

/** COPY text's backslash escapes whose JSON escape is the same two bytes (`\\`, `\b`, `\f`, `\n`, `\r`, `\t`). */
const SAME_ESCAPE = new Uint8Array(256);
for (const c of '\\bfnrt') SAME_ESCAPE[c.charCodeAt(0)] = 1;

/** Bytes a text field cannot copy as they are: control characters (the field's tab and the row's newline among them), `"` and `\\`. */
const SPECIAL = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) SPECIAL[c] = 1;
SPECIAL[QUOTE] = 1;
SPECIAL[BACKSLASH] = 1;

/** Where the field the last writer read ends (its tab or the row's newline: COPY escapes both inside values). */
let fieldStop = 0;

const KIND_CODES: Readonly<Record<JsonKind, number>> = { string: 0, number: 1, bool: 2, timestamp: 3, timestamptz: 4 };

/**
 * Rows of `COPY … TO STDOUT` (text format, under the backup's session settings: UTF8, ISO dates)
 * rewritten as the NDJSON lines `row_to_json` gives for the same rows, byte for byte: the server
 * sends its cheap COPY text, and the client, not the production database, spends the CPU on JSON
 * (docs/performance.md). Keys are escaped as json.c's escape_json does, which JSON.stringify matches.
 */
export class CopyTextToJson {
  private readonly kinds: Uint8Array;
  private readonly keyBytes: number;
  /** Each column's `{"name":` or `,"name":` as words (asWords), and where column i's start. */
  private readonly keyWords: Int32Array;
  private readonly keyWordAt: Int32Array;
  private readonly keyLength: Int32Array;
  private readonly keys: readonly Buffer[];
  /**
   * The writers move the common runs (plain text, keys, a timestamp's digits) as 32-bit words through
   * these views, one load and one store where a byte loop takes four of each plus a table lookup per
   * byte (docs/performance.md, "Twelfth session": the writer ~25 % faster).
   */
  private readonly sourceViews = new ViewCache();
  private readonly targetViews = new ViewCache();

  constructor(columns: readonly { readonly name: string; readonly kind: JsonKind }[]) {
    const keys = columns.map((c, i) => Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`));
    this.kinds = Uint8Array.from(columns.map((c) => KIND_CODES[c.kind]));
    this.keyBytes = keys.reduce((sum, key) => sum + key.length, 0);
    this.keyLength = Int32Array.from(keys.map((key) => key.length));
    ({ words: this.keyWords, at: this.keyWordAt } = asWords(keys));
    this.keys = keys;
  }

  /**
   * The WebAssembly writer of the same rows (wasm/copy-json.c): the common rows sixteen bytes at a
   * time, any other given back to {@link convert}, with the same output. Undefined where WebAssembly
   * SIMD is not available. One per stream: it holds the stream's current chunk.
   */
  wasmWriter(): WasmCopyJson | undefined {
    return WasmCopyJson.for(this.keys, this.kinds, this.keyBytes + 11 * this.kinds.length + 4);
  }

  /**
   * The most bytes a row of `rowBytes` COPY text can take as JSON: a byte may become six (`\u001f`),
   * and a field gains at most eight (quotes and a timestamp's `:00`, or `f` becoming `false`). Plus
   * three per field that a key's or a timestamp's last word may write past its end before the next
   * bytes overwrite them.
   */
  maxBytes(rowBytes: number): number {
    return this.keyBytes + 6 * rowBytes + 11 * this.kinds.length + 4;
  }

  /**
   * Writes the JSON line (with its newline) of the COPY row `src[start, end)` (one CopyData
   * payload, its newline included) at `out[at]`, which has `maxBytes` free; returns where it ends,
   * or -1 for a row that is not COPY text of these columns.
   */
  convert(src: Buffer, start: number, end: number, out: Buffer, at: number): number {
    const kinds = this.kinds;
    const columns = kinds.length;
    let p = start;
    let u = at;
    // The row's newline stops every scan below (it is a control character): no bound check per byte.
    if (end <= start || src[end - 1] !== NEWLINE) return -1;
    if (columns === 0) {
      if (end - start !== 1 || src[start] !== NEWLINE) return -1;
      out[u++] = OPEN_BRACE;
      out[u++] = CLOSE_BRACE;
      out[u++] = NEWLINE;
      return u;
    }
    const source = this.sourceViews.of(src);
    const target = this.targetViews.of(out);
    const keyWords = this.keyWords;
    const keyWordAt = this.keyWordAt;
    for (let i = 0; i < columns; i++) {
      for (let w = keyWordAt[i]!, to = keyWordAt[i + 1]!, at = u; w < to; w++, at += 4) target.setInt32(at, keyWords[w]!, true);
      u += this.keyLength[i]!;
      if (src[p] === BACKSLASH && src[p + 1] === LETTER_N_UPPER && (src[p + 2] === TAB || src[p + 2] === NEWLINE)) {
        for (let k = 0; k < 4; k++) out[u++] = NULL_BYTES[k]!;
        p += 2;
      } else {
        switch (kinds[i]) {
          case 0:
            u = writeString(src, source, p, out, target, u);
            break;
          case 1:
            u = writeNumber(src, p, out, u);
            break;
          case 2: {
            const c = src[p];
            const word = c === LETTER_T ? TRUE_BYTES : c === LETTER_F ? FALSE_BYTES : undefined;
            if (!word) return -1;
            for (let k = 0; k < word.length; k++) out[u++] = word[k]!;
            fieldStop = p + 1;
            break;
          }
          default:
            u = writeTimestamp(src, source, p, out, target, u, kinds[i] === 4);
        }
        if (u < 0) return -1;
        p = fieldStop;
      }
      const separator = src[p];
      if (i < columns - 1 ? separator !== TAB : separator !== NEWLINE || p + 1 !== end) return -1;
      p++;
    }
    out[u++] = CLOSE_BRACE;
    out[u++] = NEWLINE;
    return u;
  }
}

/** A field's text as escape_json writes it: COPY's escapes undone, JSON's done (most are the same bytes). */
function writeString(src: Buffer, source: DataView, p: number, out: Buffer, target: DataView, u: number): number {
  out[u++] = QUOTE;
  const lastWord = src.length - 4;
  for (;;) {
    // Bytes both formats write as they are, four at a time until a word holds a special one (the
    // row's newline stops this too: it is one); then byte by byte up to it.
    while (p <= lastWord) {
      const word = source.getInt32(p, true);
      if (holdsQuoteBackslashOrControl(word)) break;
      target.setInt32(u, word, true);
      p += 4;
      u += 4;
    }
    let c = src[p]!;
    while (SPECIAL[c] === 0) {
      out[u++] = c;
      c = src[++p]!;
    }
    if (c === TAB || c === NEWLINE) break;
    if (c === QUOTE) {
      out[u++] = BACKSLASH;
      out[u++] = QUOTE;
      p++;
    } else if (c === BACKSLASH) {
      const e = src[p + 1]!;
      if (SAME_ESCAPE[e] === 1) {
        out[u++] = BACKSLASH;
        out[u++] = e;
      } else if (e === LETTER_V) u = writeUnicodeEscape(out, u, 0x0b);
      else return -1;
      p += 2;
    } else {
      // Control characters COPY leaves as they are; escape_json writes \u00XX in lower case.
      u = writeUnicodeEscape(out, u, c);
      p++;
    }
  }
  out[u++] = QUOTE;
  fieldStop = p;
  return u;
}

function writeUnicodeEscape(out: Buffer, u: number, c: number): number {
  out[u++] = BACKSLASH;
  out[u++] = 0x75; // u
  out[u++] = 0x30;
  out[u++] = 0x30;
  out[u++] = HEX_DIGITS[c >> 4]!;
  out[u++] = HEX_DIGITS[c & 15]!;
  return u;
}

/** Numbers bare, as the output function wrote them; NaN, Infinity and -Infinity (not JSON numbers) as strings. */
function writeNumber(src: Buffer, p: number, out: Buffer, u: number): number {
  const c = src[p];
  const quoted = c === LETTER_N_UPPER || c === LETTER_I_UPPER || (c === MINUS && src[p + 1] === LETTER_I_UPPER);
  if (quoted) out[u++] = QUOTE;
  const from = u;
  // A number's text is all printable: the field ends at the first control character (its tab or newline).
  let b = src[p]!;
  while (b >= 0x20) {
    out[u++] = b;
    b = src[++p]!;
  }
  if (u === from) return -1;
  if (quoted) out[u++] = QUOTE;
  fieldStop = p;
  return u;
}

/**
 * Whether the date at p has its eight digits (`YYYY-MM-DD`). Without it the form below is not the
 * fast path's to take: the slow path puts the `T` at the first space, which could come earlier, and
 * the answer would depend on where the row lies in the buffer (`stop + 4`).
 */
function isoDateDigits(src: Buffer, p: number): boolean {
  for (const k of DATE_DIGIT_OFFSETS) {
    const c = src[p + k]!;
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

const DATE_DIGIT_OFFSETS = [0, 1, 2, 3, 5, 6, 8, 9];

/**
 * ISO (`2024-01-31 12:00:00.5+00`, DateStyle ISO) to XSD (`2024-01-31T12:00:00.5+00:00`): the
 * separator becomes `T`, and an offset of whole hours gains `:00` (EncodeTimezone writes minutes
 * always for XSD, only when not zero for ISO; seconds, when not zero, in both). `infinity`,
 * `-infinity` and a ` BC` suffix are the same in both.
 */
function writeTimestamp(src: Buffer, source: DataView, p: number, out: Buffer, target: DataView, u: number, withZone: boolean): number {
  // Nearly every value: `YYYY-MM-DD HH:MM:SS[.ffffff]`, with a zone `+HH` (UTC: `+00`), not BC. Its
  // bytes move as words; a word may take up to three bytes past the field, which the next writes
  // overwrite (maxBytes leaves room).
  let stop = p;
  let b = src[stop]!;
  while (b !== TAB && b !== NEWLINE) b = src[++stop]!;
  fieldStop = stop;
  if (stop - p >= 19 && src[p + 4] === MINUS && src[p + 7] === MINUS && src[p + 10] === SPACE && src[p + 13] === COLON && src[p + 16] === COLON && isoDateDigits(src, p)) {
    const sign = src[stop - 3];
    if (stop + 4 <= src.length && src[stop - 1] !== LETTER_C_UPPER && (!withZone || sign === PLUS || sign === MINUS)) {
      out[u] = QUOTE;
      target.setInt32(u + 1, source.getInt32(p, true), true);
      target.setInt32(u + 5, source.getInt32(p + 4, true), true);
      out[u + 9] = src[p + 8]!;
      out[u + 10] = src[p + 9]!;
      out[u + 11] = LETTER_T_UPPER;
      const shift = u + 12 - (p + 11);
      for (let q = p + 11; q < stop; q += 4) target.setInt32(q + shift, source.getInt32(q, true), true);
      u = stop + shift;
      if (withZone) {
        out[u++] = COLON;
        out[u++] = 0x30;
        out[u++] = 0x30;
      }
      out[u++] = QUOTE;
      return u;
    }
  }
  out[u++] = QUOTE;
  if (src[p] === LETTER_I || (src[p] === MINUS && src[p + 1] === LETTER_I)) {
    while (p < stop) out[u++] = src[p++]!;
    out[u++] = QUOTE;
    return u;
  }
  while (p < stop && src[p] !== SPACE) out[u++] = src[p++]!;
  if (p >= stop) return -1;
  out[u++] = LETTER_T_UPPER;
  p++;
  if (withZone) {
    // The offset ends the text, or comes just before its ` BC`.
    const zoneEnd = stop - p > 3 && src[stop - 3] === SPACE && src[stop - 2] === LETTER_B_UPPER && src[stop - 1] === LETTER_C_UPPER ? stop - 3 : stop;
    const sign = src[zoneEnd - 3];
    if (sign === PLUS || sign === MINUS) {
      while (p < zoneEnd) out[u++] = src[p++]!;
      out[u++] = COLON;
      out[u++] = 0x30;
      out[u++] = 0x30;
    } else if (src[zoneEnd - 6] !== PLUS && src[zoneEnd - 6] !== MINUS && src[zoneEnd - 9] !== PLUS && src[zoneEnd - 9] !== MINUS) return -1;
  }
  while (p < stop) out[u++] = src[p++]!;
  out[u++] = QUOTE;
  return u;
}
