import type { BinaryKind } from '../copy-binary.js';
import { COPY_BINARY_WASM_BASE64 } from './copy-binary.wasm.js';
import { CONVERTER_OUTPUT_BYTES, ChunkConverter, withInstance, type ConverterExports } from './module.js';

/** What copy-binary.c exports. */
interface CopyBinaryExports extends ConverterExports {
  convert_rows(input: number, from: number, end: number, out: number, outRoom: number, keys: number, keyLengths: number, kinds: number, count: number, boundPerByte: number, boundPerColumn: number): number;
  convert_copy_rows(input: number, from: number, end: number, out: number, outRoom: number, kinds: number, count: number, boundPerByte: number, boundPerColumn: number): number;
  needed(): number;
}

/** Each kind's code in copy-binary.c (KIND_*): every BinaryKind has one. */
const KIND_CODES: Record<BinaryKind, number> = { text: 0, json: 1, jsonb: 2, bool: 3, int2: 4, int4: 5, int8: 6, numeric: 7, uuid: 8, timestamptz: 9, timestamp: 10, date: 11, 'text[]': 12, 'varchar[]': 13, bytea: 14 };
/** Kinds the module writes from NDJSON only (a COPY text array literal is the JavaScript side's). */
const ARRAY_KINDS: ReadonlySet<BinaryKind> = new Set(['text[]', 'varchar[]']);

/**
 * The restore's NDJSON-to-binary-COPY converter for common rows (copy-binary.c, WebAssembly with
 * 128-bit SIMD): converts the whole lines of a chunk row after row and stops at the first line it
 * does not write (another layout, a value in an unusual form, anything wrong), for the caller to
 * give that line to the JavaScript converter (copy-binary.ts), whose output it matches byte for
 * byte. A chunk is copied into the module's memory once (`load`), then `convert` is called from any
 * line start inside it.
 */
export class WasmCopyBinary extends ChunkConverter<CopyBinaryExports> {
  /** After a stop for want of room: the output bytes the line it stopped at may take (its bound). */
  needed = 0;

  /**
   * A converter for rows of these columns (each `"name":`, in order), or undefined when the target
   * generates a column (its kind is undefined), or where WebAssembly SIMD or its memory is not
   * available: the caller converts every row in JavaScript then. A line's room is the caller's
   * bound: `bound.perByte` per byte of the line and `bound.perColumn` per column, plus 2.
   */
  static for(keys: readonly Uint8Array[], kinds: readonly (BinaryKind | undefined)[], bound: { readonly perByte: number; readonly perColumn: number }): WasmCopyBinary | undefined {
    if (kinds.some((kind) => kind === undefined)) return undefined;
    const codes = (kinds as readonly BinaryKind[]).map((kind) => KIND_CODES[kind]);
    return withInstance<CopyBinaryExports, WasmCopyBinary>(COPY_BINARY_WASM_BASE64, (exports) => new WasmCopyBinary(exports, keys, Uint8Array.from(codes), bound, false));
  }

  /**
   * The same for the lines of a copy-text file (COPY's text format, one field per column, at least
   * one column; no array columns): copy-text-binary.ts `CopyTextToCopyBinary`.
   */
  static forCopyText(kinds: readonly BinaryKind[], bound: { readonly perByte: number; readonly perColumn: number }): WasmCopyBinary | undefined {
    if (kinds.length === 0 || kinds.some((kind) => ARRAY_KINDS.has(kind))) return undefined;
    const codes = kinds.map((kind) => KIND_CODES[kind]);
    return withInstance<CopyBinaryExports, WasmCopyBinary>(COPY_BINARY_WASM_BASE64, (exports) => new WasmCopyBinary(exports, [], Uint8Array.from(codes), bound, true));
  }

  private constructor(
    exports: CopyBinaryExports,
    keys: readonly Uint8Array[],
    kinds: Uint8Array,
    private readonly bound: { readonly perByte: number; readonly perColumn: number },
    private readonly copyText: boolean,
  ) {
    super(exports, keys, kinds);
  }

  /**
   * Converts the loaded chunk's lines from `at` (a line start in it; the loaded part ends with a
   * newline) and writes the tuples to `target[targetAt, targetAt + room)`; returns the bytes written.
   * `stoppedAt`, `stopReason`, `rows` and `needed` then say where and why it stopped.
   */
  convert(at: number, target: Uint8Array, targetAt: number, room: number): number {
    const from = at - this.loadedFrom;
    const end = this.loadedTo - this.loadedFrom;
    const outRoom = Math.min(room, CONVERTER_OUTPUT_BYTES);
    const written = this.copyText
      ? this.exports.convert_copy_rows(this.input, from, end, this.output, outRoom, this.kinds, this.count, this.bound.perByte, this.bound.perColumn)
      : this.exports.convert_rows(this.input, from, end, this.output, outRoom, this.keys, this.keyLengths, this.kinds, this.count, this.bound.perByte, this.bound.perColumn);
    this.needed = this.exports.needed();
    return this.copyOut(written, target, targetAt);
  }
}
