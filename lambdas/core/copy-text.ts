/**
 * Turns format-v1 NDJSON rows into PostgreSQL COPY text rows in the client, so a restore can load
 * with plain `COPY … FROM STDIN` (the server's cheapest path) instead of parsing JSON per row with
 * `json_to_record`. Numbers are copied as their JSON text (never through a double), strings are
 * unescaped from JSON and escaped for COPY, arrays become array literals. Composite values (JSON
 * objects) are not handled here: tables with composite columns use the json_to_record path.
 */

import { RowConversionError } from './errors.js';

const COPY_SPECIAL = /[\\\n\r\t]/;

function copyEscape(value: string): string {
  if (!COPY_SPECIAL.test(value)) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 92) out += '\\\\';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else out += value[i];
  }
  return out;
}

/** What the restore's COPY stream needs from a row converter (text or binary COPY). */
export interface RowConverter {
  /** Converts one NDJSON line (`buf[start..end)`, without its newline). */
  convert(buf: Buffer, start: number, end: number): void;
  /** Bytes converted so far that are ready to send (and resets the batch), or undefined when below the batch size. */
  take(force?: boolean): Buffer | undefined;
  /** Appends whatever the format needs after the last row. */
  finish(): void;
}

/** Hex digit values by byte, -1 for any other byte. */
export const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[0x41 + i] = 10 + i;
  HEX[0x61 + i] = 10 + i;
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

/** Output slabs are this big: one allocation per MiB of output, not per batch. */
const SLAB_BYTES = 1024 * 1024;

/**
 * Converted bytes accumulate in a slab and batches are handed out as views of it, so the output
 * costs one allocation per slab instead of one per batch. Fewer, fuller buffers means far less
 * external memory churn, which is what made V8 run a full GC every few megabytes of restored data.
 */
export abstract class SlabOutput {
  protected out: Buffer = Buffer.allocUnsafe(SLAB_BYTES);
  protected used = 0;
  private batchStart = 0;

  constructor(private readonly batchBytes: number) {}

  /** Bytes converted so far that are ready to send (starting a new batch), or undefined when below the batch size. */
  take(force = false): Buffer | undefined {
    const size = this.used - this.batchStart;
    if (size === 0 || (!force && size < this.batchBytes)) return undefined;
    const batch = this.out.subarray(this.batchStart, this.used);
    this.batchStart = this.used;
    return batch;
  }

  /** Makes room for `bytes` more; may move the unsent batch to a new slab (so take marks after calling it). */
  protected ensure(bytes: number): void {
    if (this.used + bytes <= this.out.length) return;
    const pending = this.used - this.batchStart;
    const next = Buffer.allocUnsafe(Math.max(SLAB_BYTES, (pending + bytes) * 2));
    this.out.copy(next, 0, this.batchStart, this.used);
    this.out = next;
    this.used = pending;
    this.batchStart = 0;
  }

  /** Short spans in a JS loop, long ones natively: most values are a few bytes. */
  protected copySpan(buf: Buffer, from: number, to: number): void {
    const n = to - from;
    if (n > 48) {
      this.used += buf.copy(this.out, this.used, from, to);
      return;
    }
    const out = this.out;
    let u = this.used;
    for (let k = from; k < to; k++) out[u++] = buf[k]!;
    this.used = u;
  }

  protected hex4(buf: Buffer, at: number, end: number): number {
    if (at + 4 > end) return -1;
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = buf[at + k]!;
      const d = HEX[c]!;
      if (d < 0) return -1;
      v = (v << 4) | d;
    }
    return v;
  }
}

/** A cursor over one line of JSON text. */
export class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new RowConversionError(`${what} at offset ${this.pos}`);
  }

  skipSpace(): void {
    let c = this.text.charCodeAt(this.pos);
    while (c === 32 || c === 9 || c === 10 || c === 13) c = this.text.charCodeAt(++this.pos);
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
      if (c === 34) break;
      if (c === 92) {
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
    while (this.pos < text.length && c !== 44 && c !== 125 && c !== 93 && c !== 32) c = text.charCodeAt(++this.pos);
    if (this.pos === start) this.fail('expected a value');
    return text.slice(start, this.pos);
  }
}

const NEEDS_NO_QUOTES = /^[^\s"\\{},]+$/;

function arrayElement(s: Scanner): string {
  s.skipSpace();
  const c = s.text.charCodeAt(s.pos);
  if (c === 34) {
    const value = s.string();
    // Always quoted: "NULL", "" and values with separators must stay strings.
    return `"${value.replace(/[\\"]/g, '\\$&')}"`;
  }
  if (c === 91) return arrayLiteral(s);
  if (c === 123) s.fail('composite value in an array');
  const token = s.bare();
  if (token === 'null') return 'NULL';
  if (token === 'true') return 't';
  if (token === 'false') return 'f';
  if (!NEEDS_NO_QUOTES.test(token)) s.fail('unexpected token');
  return token;
}

/** A JSON array (pos on `[`) as a PostgreSQL array literal, nested for multi-dimensional arrays. */
function arrayLiteral(s: Scanner): string {
  s.pos++;
  s.skipSpace();
  if (s.text.charCodeAt(s.pos) === 93) {
    s.pos++;
    return '{}';
  }
  const parts: string[] = [];
  for (;;) {
    parts.push(arrayElement(s));
    s.skipSpace();
    const c = s.text.charCodeAt(s.pos++);
    if (c === 93) break;
    if (c !== 44) s.fail('expected , or ] in array');
  }
  return `{${parts.join(',')}}`;
}

/** One column value (pos on its first character) as a COPY text field. */
function field(s: Scanner): string {
  s.skipSpace();
  const c = s.text.charCodeAt(s.pos);
  if (c === 34) return copyEscape(s.string());
  if (c === 91) return copyEscape(arrayLiteral(s));
  if (c === 123) s.fail('composite value');
  const token = s.bare();
  if (token === 'null') return '\\N';
  if (token === 'true') return 't';
  if (token === 'false') return 'f';
  return token;
}

/**
 * A converter for rows of the given columns (in row order). Each row must be a JSON object with
 * exactly these keys in this order, as format v1 writes them; anything else is an error, never a
 * silently shifted column. Columns in `skip` are read and left out of the output.
 */
export function ndjsonToCopyConverter(columns: readonly string[], skip: ReadonlySet<string> = new Set()): (line: string) => string {
  const names = [...columns];
  const keep = names.map((n) => !skip.has(n));
  // row_to_json writes `"name":` with no spaces; matching that text directly skips decoding each key.
  const keyTokens = names.map((n) => `${JSON.stringify(n)}:`);
  return (line: string): string => {
    const s = new Scanner(line);
    s.expect(123, '{');
    const fields: string[] = [];
    for (let i = 0; i < names.length; i++) {
      if (line.startsWith(keyTokens[i]!, s.pos)) s.pos += keyTokens[i]!.length;
      else {
        s.skipSpace();
        if (s.text.charCodeAt(s.pos) !== 34) s.fail(`expected key "${names[i]}"`);
        const key = s.string();
        if (key !== names[i]) s.fail(`expected key "${names[i]}", found "${key}"`);
        s.expect(58, ':');
      }
      const value = field(s);
      if (keep[i]) fields.push(value);
      s.skipSpace();
      const sep = s.text.charCodeAt(s.pos++);
      if (i < names.length - 1 ? sep !== 44 : sep !== 125) s.fail(i < names.length - 1 ? 'expected ,' : 'expected } (more keys than columns)');
    }
    s.skipSpace();
    if (s.pos !== line.length) s.fail('trailing data');
    return `${fields.join('\t')}\n`;
  };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const NEWLINE = 0x0a;
const TAB = 0x09;
const NULL_FIELD = Buffer.from('\\N');

/**
 * The same conversion as {@link ndjsonToCopyConverter}, on bytes: the common row (keys as
 * row_to_json writes them, scalar values) is copied from the NDJSON bytes to the COPY bytes without
 * decoding to JavaScript strings, because JSON's escapes `\\ \n \r \t \b \f` are already COPY's.
 * Any other row (arrays, whitespace, unusual keys) goes through the string converter.
 */
export class NdjsonToCopyBytes extends SlabOutput implements RowConverter {
  private readonly keys: Buffer[];
  private readonly keep: boolean[];
  private readonly slow: (line: string) => string;

  constructor(columns: readonly string[], skip: ReadonlySet<string> = new Set(), batchBytes = 256 * 1024) {
    super(batchBytes);
    this.keys = columns.map((n) => Buffer.from(`${JSON.stringify(n)}:`));
    this.keep = columns.map((n) => !skip.has(n));
    this.slow = ndjsonToCopyConverter(columns, skip);
  }

  finish(): void {
    // COPY text needs no end marker on a COPY FROM STDIN stream.
  }

  convert(buf: Buffer, start: number, end: number): void {
    // Escapes never grow a value (\uXXXX -> at most 4 bytes), so the line's size bounds the output.
    this.ensure(end - start + this.keys.length * 2 + 1);
    const mark = this.used;
    if (!this.fast(buf, start, end)) {
      this.used = mark;
      const text = this.slow(buf.toString('utf8', start, end));
      this.ensure(Buffer.byteLength(text));
      this.used += this.out.write(text, this.used);
    }
  }

  /** Returns false (having written garbage after `mark`) when the row needs the string converter. */
  private fast(buf: Buffer, start: number, end: number): boolean {
    const out = this.out;
    let p = start;
    if (buf[p++] !== OPEN_BRACE) return false;
    let first = true;
    for (let i = 0; i < this.keys.length; i++) {
      p = afterKey(buf, p, end, this.keys[i]!);
      if (p < 0) return false;
      const keep = this.keep[i]!;
      if (keep && !first) out[this.used++] = TAB;
      const c = buf[p];
      if (c === QUOTE) {
        p++;
        const from = p;
        while (p < end && buf[p] !== QUOTE && buf[p] !== BACKSLASH) p++;
        if (keep) this.copySpan(buf, from, p);
        while (p < end && buf[p] === BACKSLASH) {
          const e = buf[p + 1];
          if (e === 0x75) {
            // \uXXXX (and surrogate pairs) -> UTF-8, COPY-escaped where it must be.
            let code = this.hex4(buf, p + 2, end);
            if (code < 0) return false;
            p += 6;
            if (code >= 0xd800 && code <= 0xdbff && buf[p] === BACKSLASH && buf[p + 1] === 0x75) {
              const low = this.hex4(buf, p + 2, end);
              if (low >= 0xdc00 && low <= 0xdfff) {
                code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
                p += 6;
              }
            }
            if (keep) this.writeCodePoint(code);
          } else {
            if (keep) {
              if (e === QUOTE) out[this.used++] = QUOTE;
              else if (e === 0x2f) out[this.used++] = 0x2f;
              else if (e === BACKSLASH || e === 0x6e || e === 0x72 || e === 0x74 || e === 0x62 || e === 0x66) {
                out[this.used++] = BACKSLASH;
                out[this.used++] = e;
              } else return false;
            }
            p += 2;
          }
          const from2 = p;
          while (p < end && buf[p] !== QUOTE && buf[p] !== BACKSLASH) p++;
          if (keep) this.copySpan(buf, from2, p);
        }
        if (buf[p] !== QUOTE) return false;
        p++;
      } else if (c === 0x6e) {
        // null
        if (buf[p + 1] !== 0x75 || buf[p + 2] !== 0x6c || buf[p + 3] !== 0x6c) return false;
        if (keep) this.used += NULL_FIELD.copy(out, this.used);
        p += 4;
      } else if (c === 0x74) {
        if (buf[p + 1] !== 0x72 || buf[p + 2] !== 0x75 || buf[p + 3] !== 0x65) return false;
        if (keep) out[this.used++] = 0x74;
        p += 4;
      } else if (c === 0x66) {
        if (buf[p + 1] !== 0x61 || buf[p + 2] !== 0x6c || buf[p + 3] !== 0x73 || buf[p + 4] !== 0x65) return false;
        if (keep) out[this.used++] = 0x66;
        p += 5;
      } else if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) {
        const from = p;
        while (p < end && buf[p] !== COMMA && buf[p] !== CLOSE_BRACE) p++;
        if (keep) this.copySpan(buf, from, p);
      } else return false; // arrays, objects, whitespace: the string converter handles them
      if (keep) first = false;
      const sep = buf[p++];
      if (i < this.keys.length - 1 ? sep !== COMMA : sep !== CLOSE_BRACE) return false;
    }
    if (p !== end) return false;
    out[this.used++] = NEWLINE;
    return true;
  }

  private writeCodePoint(code: number): void {
    const out = this.out;
    if (code === BACKSLASH) {
      out[this.used++] = BACKSLASH;
      out[this.used++] = BACKSLASH;
    } else if (code === NEWLINE) {
      out[this.used++] = BACKSLASH;
      out[this.used++] = 0x6e;
    } else if (code === 0x0d) {
      out[this.used++] = BACKSLASH;
      out[this.used++] = 0x72;
    } else if (code === TAB) {
      out[this.used++] = BACKSLASH;
      out[this.used++] = 0x74;
    } else if (code < 0x80) out[this.used++] = code;
    else this.used += out.write(String.fromCodePoint(code), this.used);
  }
}

/**
 * NDJSON byte chunks (any split) to COPY Buffers, converting each row on bytes. `onRows` hears
 * the running row count once per input chunk (for progress displays).
 */
export async function* convertNdjsonBytes(chunks: AsyncIterable<Buffer>, converter: RowConverter, onRows?: (rows: number) => void): AsyncGenerator<Buffer> {
  let pending: Buffer | undefined;
  let row = 0;
  const line = (buf: Buffer, start: number, end: number) => {
    row++;
    try {
      converter.convert(buf, start, end);
    } catch (error) {
      throw new RowConversionError(`row ${row}: ${(error as Error).message}`);
    }
  };
  for await (const chunk of chunks) {
    let start = 0;
    let end = chunk.indexOf(NEWLINE);
    if (end !== -1 && pending) {
      const joined = Buffer.concat([pending, chunk.subarray(0, end)]);
      line(joined, 0, joined.length);
      pending = undefined;
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    while (end !== -1) {
      line(chunk, start, end);
      start = end + 1;
      end = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) pending = pending ? Buffer.concat([pending, chunk.subarray(start)]) : Buffer.from(chunk.subarray(start));
    onRows?.(row);
    const ready = converter.take();
    if (ready) yield ready;
  }
  if (pending) line(pending, 0, pending.length);
  converter.finish();
  const rest = converter.take(true);
  if (rest) yield rest;
}
