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
 *
 * The per-type encoders are functions of their own (copy-binary-encoders.ts); this module reads the
 * rows: keys in column order, generated columns skipped, rows of unusual layout normalised first.
 */
import {
  EncodeFailure,
  MAX_ARRAY_DIMS,
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
  put16,
} from './copy-binary-encoders.js';
import type { RowConverter } from './copy-text.js';
import { RowConversionError } from './errors.js';
import { BACKSLASH, CARRIAGE_RETURN, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, LETTER_L, LETTER_N, LETTER_U, NEWLINE, OPEN_BRACE, OPEN_BRACKET, QUOTE, RowKeys, SPACE, Scanner, TAB, closingBrace } from './json-bytes.js';
import { SlabOutput } from './slab-output.js';
import { WasmCopyBinary } from './wasm/copy-binary.js';
import { CONVERTER_OUTPUT_BYTES, ConverterStop } from './wasm/module.js';

/** Column types this converter writes in binary (domains count as their base type; enums as text). */
export type BinaryKind = 'bool' | 'int2' | 'int4' | 'int8' | 'numeric' | 'text' | 'json' | 'jsonb' | 'uuid' | 'timestamptz' | 'timestamp' | 'date' | 'bytea' | 'text[]' | 'varchar[]';

/** Array kinds and their element type OID, which array_recv checks against the column's. */
const ARRAY_ELEMENT_OID: Partial<Record<BinaryKind, number>> = { 'text[]': 25, 'varchar[]': 1043 };

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

/**
 * Rows of the given columns (in row order) to binary COPY. The common row (keys as row_to_json
 * writes them, no whitespace) is read from the NDJSON bytes directly; any other row is first
 * normalised to that shape through the JSON scanner.
 */
export class NdjsonToCopyBinary extends SlabOutput implements RowConverter {
  private readonly keys: RowKeys;
  private readonly kinds: (BinaryKind | undefined)[];
  /** Per column: whether its kind is an array, so its value may be a JSON array. */
  private readonly arrayColumns: boolean[];
  private readonly names: string[];
  private readonly fieldCount: number;
  private readonly scratch = encodeScratch();
  /** Output bytes a row may need per input byte, and per column: arrays can outgrow their JSON. */
  protected readonly bytesPerInputByte: number;
  protected readonly bytesPerColumn: number;
  /** The WebAssembly converter of the common rows, made on first use; null when there is none or it gave back too many rows. */
  private wasm: WasmCopyBinary | null | undefined;
  private wasmRows = 0;
  private wasmGiveBacks = 0;
  /** Rows the last {@link convertLines} converted. */
  linesConverted = 0;

  /**
   * @param kinds each column's kind, or undefined for a column the target generates itself (read
   *   and left out of the output).
   */
  constructor(columns: readonly { readonly name: string; readonly kind: BinaryKind | undefined }[], batchBytes = 256 * 1024) {
    super(batchBytes);
    this.names = columns.map((c) => c.name);
    this.keys = RowKeys.of(this.names);
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

  /**
   * Converts whole lines of `chunk[from, to)` (`to` just after a newline) with the WebAssembly
   * converter (wasm/copy-binary.c) as far as it goes, the same tuples {@link convert} writes; returns
   * where it stopped (a line start, `to` when it converted them all) for the caller to convert the
   * line there with {@link convert}, or -1 when there is no WebAssembly converter for this table
   * (a generated column, no WebAssembly SIMD) or it gave back more than a
   * quarter of the rows after 64 (values in forms it leaves to JavaScript): convert them all then.
   * `load`: the chunk's lines are new to it (false when continuing after a line it gave back).
   * `linesConverted` says how many rows it converted.
   */
  convertLines(chunk: Buffer, from: number, to: number, load: boolean): number {
    this.linesConverted = 0;
    if (this.wasm === undefined) this.wasm = this.makeWasm() ?? null;
    const wasm = this.wasm;
    if (!wasm) return -1;
    if (load) {
      try {
        wasm.load(chunk, from, to);
      } catch (error) {
        // Memory that cannot grow: the JavaScript converter does it all.
        if (!(error instanceof RangeError)) throw error;
        this.wasm = null;
        return -1;
      }
    }
    let at = from;
    for (;;) {
      this.used += wasm.convert(at, this.out, this.used, this.out.length - this.used);
      this.linesConverted += wasm.rows;
      at = wasm.stoppedAt;
      if (wasm.stopReason !== ConverterStop.outputFull || wasm.needed > CONVERTER_OUTPUT_BYTES) break;
      this.ensure(wasm.needed);
    }
    this.wasmRows += this.linesConverted;
    if (wasm.stopReason === ConverterStop.givenBack && ++this.wasmGiveBacks >= 64 && this.wasmGiveBacks * 4 > this.wasmRows) this.wasm = null;
    return at;
  }

  /** The WebAssembly converter of this table's lines, or undefined when there is none (a generated column, no WebAssembly SIMD). */
  protected makeWasm(): WasmCopyBinary | undefined {
    return this.fieldCount === this.keys.count ? WasmCopyBinary.for(this.keys.keys, this.kinds, { perByte: this.bytesPerInputByte, perColumn: this.bytesPerColumn }) : undefined;
  }

  /** Appends the end-of-data marker; call once, after the last row. */
  finish(): void {
    this.ensure(2);
    this.out.writeInt16BE(-1, this.used);
    this.used += 2;
  }

  convert(buf: Buffer, start: number, end: number): void {
    this.ensure((end - start) * this.bytesPerInputByte + this.keys.count * this.bytesPerColumn + 2);
    const mark = this.used;
    if (this.row(buf, start, end)) return;
    this.used = mark;
    const normal = this.normalise(buf.toString('utf8', start, end));
    this.ensure(normal.length * this.bytesPerInputByte + this.keys.count * this.bytesPerColumn + 2);
    if (this.row(normal, 0, normal.length)) return;
    throw new RowConversionError('a value does not have the shape PostgreSQL writes for its column type');
  }

  /** The row re-serialised compactly (keys checked, strings re-escaped), for rows with unusual layout. */
  private normalise(line: string): Buffer {
    const s = new Scanner(line);
    s.expect(OPEN_BRACE, '{');
    const parts: string[] = [];
    for (let i = 0; i < this.names.length; i++) {
      if (i > 0) s.expect(COMMA, ',');
      s.skipSpace();
      if (s.text.charCodeAt(s.pos) !== QUOTE) s.fail(`expected key "${this.names[i]}"`);
      const key = s.string();
      if (key !== this.names[i]) s.fail(`expected key "${this.names[i]}", found "${key}"`);
      s.expect(COLON, ':');
      s.skipSpace();
      const c = s.text.charCodeAt(s.pos);
      if ((c === OPEN_BRACKET && !this.arrayColumns[i]) || c === OPEN_BRACE) s.fail(`column "${this.names[i]}": arrays and objects are not expected here`);
      parts.push(`${JSON.stringify(key)}:${c === QUOTE ? JSON.stringify(s.string()) : c === OPEN_BRACKET ? compactArray(s) : s.bare()}`);
    }
    s.expect(CLOSE_BRACE, closingBrace(this.names.length));
    s.skipSpace();
    if (s.pos !== line.length) s.fail('trailing data');
    return Buffer.from(`{${parts.join(',')}}`);
  }

  /**
   * False (with garbage after the mark) when the row's layout needs normalising first. A value the
   * encoders refuse is a RowConversionError naming its column.
   */
  private row(buf: Buffer, start: number, end: number): boolean {
    let p = start;
    if (buf[p++] !== OPEN_BRACE) return false;
    put16(this.out, this.used, this.fieldCount);
    this.used += 2;
    let i = 0;
    try {
      for (; i < this.keys.count; i++) {
        if (i > 0 && buf[p++] !== COMMA) return false;
        p = this.keys.after(buf, p, end, i);
        if (p < 0) return false;
        const kind = this.kinds[i];
        const valueEnd = kind === undefined ? skipValue(buf, p, end) : this.value(kind, buf, p, end);
        if (valueEnd < 0) return false;
        p = valueEnd;
      }
    } catch (error) {
      if (error instanceof EncodeFailure) throw new RowConversionError(`column "${this.names[i]}": ${error.message}`);
      throw error;
    }
    return buf[p++] === CLOSE_BRACE && p === end;
  }

  /** Writes one field (length and bytes) and returns the position after the value, or -1 for the slow path. */
  private value(kind: BinaryKind, buf: Buffer, p: number, end: number): number {
    const c = buf[p];
    if (c === SPACE || c === TAB || c === NEWLINE || c === CARRIAGE_RETURN) return -1;
    if (c === LETTER_N) {
      if (buf[p + 1] !== LETTER_U || buf[p + 2] !== LETTER_L || buf[p + 3] !== LETTER_L) return -1;
      encodeNull(this);
      return p + 4;
    }
    switch (kind) {
      case 'text':
      case 'json':
        return encodeText(this, buf, p, end, false, this.scratch);
      case 'jsonb':
        return encodeText(this, buf, p, end, true, this.scratch);
      case 'bool':
        return encodeBool(this, buf, p);
      case 'int2':
      case 'int4':
      case 'int8':
        return encodeInteger(this, kind, buf, p, end);
      case 'numeric':
        return encodeNumeric(this, buf, p, end);
      case 'uuid':
        return encodeUuid(this, buf, p);
      case 'date':
      case 'timestamp':
      case 'timestamptz':
        return encodeDatetime(this, kind, buf, p, end);
      case 'bytea':
        return encodeBytea(this, buf, p, end);
      case 'text[]':
      case 'varchar[]':
        return encodeArray(this, buf, p, end, ARRAY_ELEMENT_OID[kind]!, this.scratch);
    }
  }
}

/** Skips a generated column's value (any JSON value without whitespace), or -1. */
function skipValue(buf: Buffer, p: number, end: number): number {
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
