/**
 * Turns format-v1 NDJSON rows into PostgreSQL COPY text rows in the client, so a restore can load
 * with plain `COPY … FROM STDIN` (the server's cheapest path) instead of parsing JSON per row with
 * `json_to_record`. Numbers are copied as their JSON text (never through a double), strings are
 * unescaped from JSON and escaped for COPY, arrays become array literals. Composite values (JSON
 * objects) are not handled here: tables with composite columns use the json_to_record path.
 */

import { RowConversionError } from './errors.js';
import {
  BACKSLASH,
  CARRIAGE_RETURN,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
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
  MINUS,
  NEWLINE,
  NINE,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
  RowKeys,
  SLASH,
  closingBrace,
  Scanner,
  TAB,
  ZERO,
  unicodeEscape,
  unicodeEscapeLength,
} from './json-bytes.js';
import { SlabOutput } from './slab-output.js';
import { LineSplitter, MalformedLineError, type FastLines } from './util/streams.js';
import { streamBuffers } from './util/buffer-pool.js';

const COPY_SPECIAL = /[\\\n\r\t]/;

function copyEscape(value: string): string {
  if (!COPY_SPECIAL.test(value)) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === BACKSLASH) out += '\\\\';
    else if (c === NEWLINE) out += '\\n';
    else if (c === CARRIAGE_RETURN) out += '\\r';
    else if (c === TAB) out += '\\t';
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
  /** Done with the output (after the last take): its memory may be reused once the batches are written (slab-output.ts `batchWritten`). */
  release(): void;
  /**
   * Converts many whole lines at once where the converter can (copy-binary.ts): returns where it
   * stopped, for {@link convert} to take the line there, or -1 to convert every line with
   * {@link convert}; `linesConverted` counts its rows.
   */
  convertLines?(chunk: Buffer, from: number, to: number, load: boolean): number;
  readonly linesConverted?: number;
}

const NEEDS_NO_QUOTES = /^[^\s"\\{},]+$/;

function arrayElement(s: Scanner): string {
  s.skipSpace();
  const c = s.text.charCodeAt(s.pos);
  if (c === QUOTE) {
    const value = s.string();
    // Always quoted: "NULL", "" and values with separators must stay strings.
    return `"${value.replace(/[\\"]/g, '\\$&')}"`;
  }
  if (c === OPEN_BRACKET) return arrayLiteral(s);
  if (c === OPEN_BRACE) s.fail('composite value in an array');
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
  if (s.text.charCodeAt(s.pos) === CLOSE_BRACKET) {
    s.pos++;
    return '{}';
  }
  const parts: string[] = [];
  for (;;) {
    parts.push(arrayElement(s));
    s.skipSpace();
    const c = s.text.charCodeAt(s.pos++);
    if (c === CLOSE_BRACKET) break;
    if (c !== COMMA) s.fail('expected , or ] in array');
  }
  return `{${parts.join(',')}}`;
}

/** One column value (pos on its first character) as a COPY text field. */
function field(s: Scanner): string {
  s.skipSpace();
  const c = s.text.charCodeAt(s.pos);
  if (c === QUOTE) return copyEscape(s.string());
  if (c === OPEN_BRACKET) return copyEscape(arrayLiteral(s));
  if (c === OPEN_BRACE) s.fail('composite value');
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
    s.expect(OPEN_BRACE, '{');
    const fields: string[] = [];
    for (let i = 0; i < names.length; i++) {
      if (i > 0) s.expect(COMMA, ',');
      if (line.startsWith(keyTokens[i]!, s.pos)) s.pos += keyTokens[i]!.length;
      else {
        s.skipSpace();
        if (s.text.charCodeAt(s.pos) !== QUOTE) s.fail(`expected key "${names[i]}"`);
        const key = s.string();
        if (key !== names[i]) s.fail(`expected key "${names[i]}", found "${key}"`);
        s.expect(COLON, ':');
      }
      const value = field(s);
      if (keep[i]) fields.push(value);
    }
    s.expect(CLOSE_BRACE, closingBrace(names.length));
    s.skipSpace();
    if (s.pos !== line.length) s.fail('trailing data');
    return `${fields.join('\t')}\n`;
  };
}

const NULL_FIELD = Buffer.from('\\N');

/**
 * The same conversion as {@link ndjsonToCopyConverter}, on bytes: the common row (keys as
 * row_to_json writes them, scalar values) is copied from the NDJSON bytes to the COPY bytes without
 * decoding to JavaScript strings, because JSON's escapes `\\ \n \r \t \b \f` are already COPY's.
 * Any other row (arrays, whitespace, unusual keys) goes through the string converter.
 */
export class NdjsonToCopyBytes extends SlabOutput implements RowConverter {
  private readonly keys: RowKeys;
  private readonly keep: boolean[];
  private readonly slow: (line: string) => string;

  constructor(columns: readonly string[], skip: ReadonlySet<string> = new Set(), batchBytes = 256 * 1024) {
    super(batchBytes);
    this.keys = RowKeys.of(columns);
    this.keep = columns.map((n) => !skip.has(n));
    this.slow = ndjsonToCopyConverter(columns, skip);
  }

  finish(): void {
    // COPY text needs no end marker on a COPY FROM STDIN stream.
  }

  convert(buf: Buffer, start: number, end: number): void {
    // Escapes never grow a value (\uXXXX -> at most 4 bytes), so the line's size bounds the output.
    this.ensure(end - start + this.keys.count * 2 + 1);
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
    for (let i = 0; i < this.keys.count; i++) {
      if (i > 0 && buf[p++] !== COMMA) return false;
      p = this.keys.after(buf, p, end, i);
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
          if (e === LETTER_U) {
            // \uXXXX (and surrogate pairs) -> UTF-8, COPY-escaped where it must be.
            const code = unicodeEscape(buf, p, end);
            if (code < 0) return false;
            p += unicodeEscapeLength(code);
            if (keep) this.writeCodePoint(code);
          } else {
            if (keep) {
              if (e === QUOTE) out[this.used++] = QUOTE;
              else if (e === SLASH) out[this.used++] = SLASH;
              else if (e === BACKSLASH || e === LETTER_N || e === LETTER_R || e === LETTER_T || e === LETTER_B || e === LETTER_F) {
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
      } else if (c === LETTER_N) {
        // null
        if (buf[p + 1] !== LETTER_U || buf[p + 2] !== LETTER_L || buf[p + 3] !== LETTER_L) return false;
        if (keep) this.used += NULL_FIELD.copy(out, this.used);
        p += 4;
      } else if (c === LETTER_T) {
        if (buf[p + 1] !== LETTER_R || buf[p + 2] !== LETTER_U || buf[p + 3] !== LETTER_E) return false;
        if (keep) out[this.used++] = LETTER_T;
        p += 4;
      } else if (c === LETTER_F) {
        if (buf[p + 1] !== LETTER_A || buf[p + 2] !== LETTER_L || buf[p + 3] !== LETTER_S || buf[p + 4] !== LETTER_E) return false;
        if (keep) out[this.used++] = LETTER_F;
        p += 5;
      } else if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) {
        const from = p;
        while (p < end && buf[p] !== COMMA && buf[p] !== CLOSE_BRACE) p++;
        if (keep) this.copySpan(buf, from, p);
      } else return false; // arrays, objects, whitespace: the string converter handles them
      if (keep) first = false;
    }
    if (buf[p++] !== CLOSE_BRACE || p !== end) return false;
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
      out[this.used++] = LETTER_N;
    } else if (code === CARRIAGE_RETURN) {
      out[this.used++] = BACKSLASH;
      out[this.used++] = LETTER_R;
    } else if (code === TAB) {
      out[this.used++] = BACKSLASH;
      out[this.used++] = LETTER_T;
    } else if (code < 0x80) out[this.used++] = code;
    else this.used += out.write(String.fromCodePoint(code), this.used);
  }
}

/**
 * NDJSON byte chunks (any split) to COPY Buffers, converting each row on bytes. `onRows` hears
 * the running row count once per input chunk (for progress displays). `giveBackChunks`: each input
 * chunk goes back to `streamBuffers` once converted (a decompressor's `pooledOutput`, format/codec.ts).
 */
export async function* convertNdjsonBytes(chunks: AsyncIterable<Buffer>, converter: RowConverter, onRows?: (rows: number) => void, options: { readonly giveBackChunks?: boolean } = {}): AsyncGenerator<Buffer> {
  // Rows converted many at a time (copy-binary.ts convertLines) count in the splitter's lines too.
  const fast: FastLines | undefined = converter.convertLines && {
    take: converter.convertLines.bind(converter),
    get taken() {
      return converter.linesConverted ?? 0;
    },
  };
  const lines = new LineSplitter((buf, start, end) => {
    try {
      converter.convert(buf, start, end);
    } catch (error) {
      if (error instanceof MalformedLineError) throw new MalformedLineError(lines.lines, error.problem);
      throw new RowConversionError(`row ${lines.lines}: ${(error as Error).message}`);
    }
    return true;
  });
  for await (const chunk of chunks) {
    if (fast) lines.pushOffering(chunk, fast);
    else lines.push(chunk);
    // The converter copied the chunk's rows and the splitter the cut-off end: nothing reads it any more.
    if (options.giveBackChunks) streamBuffers.give(chunk);
    onRows?.(lines.lines);
    const ready = converter.take();
    if (ready) yield ready;
  }
  lines.finish();
  converter.finish();
  const rest = converter.take(true);
  converter.release();
  if (rest) yield rest;
}
