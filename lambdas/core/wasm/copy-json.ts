import { COPY_JSON_WASM_BASE64 } from './copy-json.wasm.js';
import { CONVERTER_OUTPUT_BYTES, ChunkConverter, withInstance, type ConverterExports } from './module.js';

/** What copy-json.c exports. */
interface CopyJsonExports extends ConverterExports {
  convert_rows(input: number, from: number, end: number, out: number, outRoom: number, keys: number, keyLengths: number, kinds: number, count: number, boundFixed: number, boundPerByte: number): number;
}

/**
 * The backup's COPY-text-to-JSON writer for common rows (copy-json.c, WebAssembly with 128-bit
 * SIMD): converts the CopyData messages of a socket chunk row after row, sixteen bytes at a time,
 * and stops at the first message it does not write (another message type, a value in an unusual
 * form), for the caller to give that message to the JavaScript writer (postgres/copy-text-json.ts),
 * whose output it matches byte for byte. A chunk is copied into the module's memory once (`load`),
 * then `convert` is called from any message start inside it.
 */
export class WasmCopyJson extends ChunkConverter<CopyJsonExports> {
  /**
   * A writer for rows of these columns (each `{"name":` or `,"name":` and its kind code, as
   * CopyTextToJson has them; `boundFixed` + 6 per payload byte is its maxBytes); undefined where
   * WebAssembly SIMD is not available or its memory cannot be had (the caller writes every row in
   * JavaScript then).
   */
  static for(keys: readonly Uint8Array[], kinds: Uint8Array, boundFixed: number): WasmCopyJson | undefined {
    return withInstance<CopyJsonExports, WasmCopyJson>(COPY_JSON_WASM_BASE64, (exports) => new WasmCopyJson(exports, keys, kinds, boundFixed));
  }

  private constructor(
    exports: CopyJsonExports,
    keys: readonly Uint8Array[],
    kinds: Uint8Array,
    private readonly boundFixed: number,
  ) {
    super(exports, keys, kinds);
  }

  /**
   * Converts the loaded chunk's messages from `at` (a message start in it) and writes the JSON lines
   * to `target[targetAt, targetAt + room)`; returns the bytes written. `stoppedAt`, `stopReason` and
   * `rows` then say where and why it stopped, and how many rows it wrote.
   */
  convert(at: number, target: Uint8Array, targetAt: number, room: number): number {
    const written = this.exports.convert_rows(this.input, at - this.loadedFrom, this.loadedTo - this.loadedFrom, this.output, Math.min(room, CONVERTER_OUTPUT_BYTES), this.keys, this.keyLengths, this.kinds, this.count, this.boundFixed, 6);
    return this.copyOut(written, target, targetAt);
  }
}
