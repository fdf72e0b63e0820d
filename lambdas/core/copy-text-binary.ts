/**
 * Turns the rows of a copy-text backup file (the table's own COPY text, `backup --rows copy`) into
 * PostgreSQL's binary COPY format in the client, as copy-binary.ts does for NDJSON rows: the server
 * then parses no text (no date/time parser per timestamp, no numeric parser, no escape scan), which
 * is most of what made a copy-text restore slower than an NDJSON one.
 *
 * The rows that make up nearly all of a shop's data are converted by the WebAssembly module
 * (wasm/copy-binary.c `convert_copy_rows`). Any other line is read here field by field, with COPY
 * FROM's own rules (`\N` for NULL, backslash escapes), rewritten as the NDJSON row PostgreSQL would
 * have written for the same values, and handed to the NDJSON converter: so both formats share one
 * set of encoders, and a value neither converter accepts is an error naming its row and column,
 * never a guess. Tables with a column of no such kind (arrays, floats, intervals, composites, any type
 * without a binary writer here), and tables without columns, are not converted: their COPY text loads
 * as it is.
 */
import { isUtf8 } from 'node:buffer';
import { NdjsonToCopyBinary, type BinaryKind } from './copy-binary.js';
import { RowConversionError } from './errors.js';
import { copyTextLineProblem } from './format/copy-text-lines.js';
import { BACKSLASH, TAB } from './json-bytes.js';
import { MalformedLineError } from './util/streams.js';
import { WasmCopyBinary } from './wasm/copy-binary.js';

/** Whether a kind has a binary writer for COPY text: all of copy-binary.ts's but arrays (whose COPY text is an array literal, not JSON). */
export function hasCopyTextBinaryWriter(kind: BinaryKind | undefined): kind is Exclude<BinaryKind, 'text[]' | 'varchar[]'> {
  return kind !== undefined && kind !== 'text[]' && kind !== 'varchar[]';
}

/** A number as numeric_out and int8out write it; anything else (NaN, Infinity, a mistake) goes to the encoders as a string. */
const PLAIN_NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;
/** The space between an ISO date and its time in COPY text, which JSON writes as `T`. */
const DATE_TIME_SPACE = /^([0-9]{4,}-[0-9]{2}-[0-9]{2}) (?=[0-9])/;

export class CopyTextToCopyBinary extends NdjsonToCopyBinary {
  private readonly columnNames: readonly string[];
  private readonly columnKinds: readonly BinaryKind[];
  /** Each column's `"name":`, to write a line as its NDJSON row. */
  private readonly memberPrefixes: readonly string[];

  /** @param columns the file's columns in order, each of a kind {@link hasCopyTextBinaryWriter} accepts; at least one. */
  constructor(columns: readonly { readonly name: string; readonly kind: BinaryKind }[], batchBytes?: number) {
    if (columns.length === 0) throw new RangeError('a COPY text row of no columns has no binary form here');
    const unsupported = columns.find((c) => !hasCopyTextBinaryWriter(c.kind));
    if (unsupported) throw new RangeError(`column "${unsupported.name}" (${unsupported.kind}) has no binary writer for COPY text`);
    super(columns, batchBytes);
    this.columnNames = columns.map((c) => c.name);
    this.columnKinds = columns.map((c) => c.kind);
    this.memberPrefixes = this.columnNames.map((name) => `${JSON.stringify(name)}:`);
  }

  /** The module in its COPY text mode (none without WebAssembly SIMD). */
  protected override makeWasm(): WasmCopyBinary | undefined {
    return WasmCopyBinary.forCopyText(this.columnKinds, { perByte: this.bytesPerInputByte, perColumn: this.bytesPerColumn });
  }

  /** Converts one COPY text line (`buf[start..end)`, without its newline). */
  override convert(buf: Buffer, start: number, end: number): void {
    const row = this.asNdjson(buf, start, end);
    super.convert(row, 0, row.length);
  }

  /** The line as the NDJSON row (`row_to_json`'s layout) holding the same values. */
  private asNdjson(buf: Buffer, start: number, end: number): Buffer {
    const problem = copyTextLineProblem(buf.subarray(start, end), this.columnNames.length);
    if (problem) throw new MalformedLineError(0, problem);
    const members: string[] = [];
    let from = start;
    for (let i = 0; i < this.columnNames.length; i++) {
      const to = fieldEnd(buf, from, end);
      members.push(this.memberPrefixes[i] + this.jsonValue(i, buf, from, to));
      from = to + 1;
    }
    return Buffer.from(`{${members.join(',')}}`);
  }

  /** Field `buf[from, to)` of column i as the JSON value row_to_json writes for it. */
  private jsonValue(i: number, buf: Buffer, from: number, to: number): string {
    // COPY FROM compares the raw field with the NULL marker, before undoing escapes.
    if (to - from === 2 && buf[from] === BACKSLASH && buf[from + 1] === 0x4e) return 'null';
    const bytes = unescapeField(buf, from, to);
    if (!isUtf8(bytes)) throw new RowConversionError(`column "${this.columnNames[i]}": the value is not valid UTF-8`);
    const text = bytes.toString('utf8');
    switch (this.columnKinds[i]) {
      case 'bool':
        return text === 't' ? 'true' : text === 'f' ? 'false' : JSON.stringify(text);
      case 'int2':
      case 'int4':
      case 'int8':
      case 'numeric':
        return PLAIN_NUMBER.test(text) ? text : JSON.stringify(text);
      case 'date':
      case 'timestamp':
      case 'timestamptz':
        return JSON.stringify(text.replace(DATE_TIME_SPACE, '$1T'));
      default:
        return JSON.stringify(text);
    }
  }
}

/** Where the field starting at `from` ends: the next raw tab not escaped by a backslash (COPY FROM reads `\<tab>` as a tab in the value), else `end`. */
function fieldEnd(buf: Buffer, from: number, end: number): number {
  for (let p = from; p < end; p++) {
    const c = buf[p];
    if (c === TAB) return p;
    if (c === BACKSLASH) p++;
  }
  return end;
}

const isOctal = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x37;
const hexValue = (c: number | undefined) => (c === undefined ? -1 : c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1);
const SIMPLE_ESCAPES: Readonly<Record<number, number>> = { 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x76: 0x0b };

/**
 * A COPY text field's bytes with its escapes undone as COPY FROM undoes them (PostgreSQL's
 * CopyReadAttributesText): `\b \f \n \r \t \v`, one to three octal digits, `\x` and one or two hex
 * digits, and a backslash before any other byte is that byte.
 */
export function unescapeField(buf: Buffer, from: number, to: number): Buffer {
  // Searched within the field: the buffer is a whole decompressed frame (up to 1 MiB) past it.
  const field = buf.subarray(from, to);
  const at = field.indexOf(BACKSLASH);
  if (at < 0) return field;
  const backslash = from + at;
  const out = Buffer.allocUnsafe(to - from);
  let u = buf.copy(out, 0, from, backslash);
  for (let p = backslash; p < to; ) {
    const c = buf[p++]!;
    if (c !== BACKSLASH || p >= to) {
      out[u++] = c;
      continue;
    }
    const e = buf[p++]!;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) out[u++] = simple;
    else if (isOctal(e)) {
      let value = e - 0x30;
      for (let k = 0; k < 2 && p < to && isOctal(buf[p]); k++) value = (value << 3) + (buf[p++]! - 0x30);
      out[u++] = value & 0xff;
    } else if (e === 0x78 && p < to && hexValue(buf[p]) >= 0) {
      let value = hexValue(buf[p++]);
      if (p < to && hexValue(buf[p]) >= 0) value = (value << 4) + hexValue(buf[p++]);
      out[u++] = value;
    } else out[u++] = e;
  }
  return out.subarray(0, u);
}
