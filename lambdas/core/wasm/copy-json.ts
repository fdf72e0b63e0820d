import { COPY_JSON_WASM_BASE64 } from './copy-json.wasm.js';
import { PAGE, align, instantiate, memoryOf, type ModuleMemory } from './module.js';

/** What copy-json.c exports. */
interface CopyJsonExports extends ModuleMemory {
  convert_rows(input: number, from: number, end: number, out: number, outRoom: number, keys: number, keyLengths: number, kinds: number, count: number, boundFixed: number, boundPerByte: number): number;
  stop(): number;
  reason(): number;
  rows(): number;
}

/** Why `convert` stopped (copy-json.c STOP_*). */
export const CopyJsonStop = { end: 0, outputFull: 1, givenBack: 2 } as const;

/** Bytes after each region the module may read or write past its end (16-byte loads and stores). */
const SLACK = 64;
/** Output written per call at most; the caller copies it out. */
const OUTPUT_BYTES = 1024 * 1024;

/**
 * The backup's COPY-text-to-JSON writer for common rows (copy-json.c, WebAssembly with 128-bit
 * SIMD): converts the CopyData messages of a socket chunk row after row, sixteen bytes at a time,
 * and stops at the first message it does not write (another message type, a value in an unusual
 * form), for the caller to give that message to the JavaScript writer (postgres/copy-text-json.ts),
 * whose output it matches byte for byte. A chunk is copied into the module's memory once (`load`),
 * then `convert` is called from any message start inside it.
 */
export class WasmCopyJson {
  private readonly exports: CopyJsonExports;
  private readonly keys: number;
  private readonly keyLengths: number;
  private readonly kinds: number;
  private readonly count: number;
  private readonly output: number;
  private readonly input: number;
  private memory: Uint8Array;
  private loadedFrom = 0;
  private loadedTo = 0;
  /** Where the last `convert` stopped: an index into the loaded chunk, at a message start. */
  stoppedAt = 0;
  /** Why it stopped (CopyJsonStop). */
  stopReason = 0;
  /** Rows the last `convert` wrote. */
  rows = 0;

  /**
   * A writer for rows of these columns (each `{"name":` or `,"name":` and its kind code, as
   * CopyTextToJson has them; `boundFixed` + 6 per payload byte is its maxBytes); undefined where
   * WebAssembly SIMD is not available or its memory cannot be had (the caller writes every row in
   * JavaScript then).
   */
  static for(keys: readonly Uint8Array[], kinds: Uint8Array, boundFixed: number): WasmCopyJson | undefined {
    const exports = instantiate<CopyJsonExports>(COPY_JSON_WASM_BASE64);
    try {
      return exports && new WasmCopyJson(exports, keys, kinds, boundFixed);
    } catch {
      return undefined;
    }
  }

  private constructor(
    exports: CopyJsonExports,
    keys: readonly Uint8Array[],
    kinds: Uint8Array,
    private readonly boundFixed: number,
  ) {
    this.exports = exports;
    this.count = keys.length;
    const keyBytes = keys.reduce((sum, key) => sum + key.length, 0);
    this.keys = align(exports.__heap_base.value, 16);
    this.keyLengths = align(this.keys + keyBytes + SLACK, 16);
    this.kinds = align(this.keyLengths + 4 * keys.length, 16);
    this.output = align(this.kinds + keys.length, 16);
    // The input last, so that it can grow.
    this.input = align(this.output + OUTPUT_BYTES + SLACK, PAGE);
    this.memory = memoryOf(exports, this.input + 64 * 1024 + SLACK);
    let at = this.keys;
    for (const key of keys) {
      this.memory.set(key, at);
      at += key.length;
    }
    this.memory.fill(0, at, at + SLACK);
    const lengths = new Int32Array(this.memory.buffer, this.keyLengths, keys.length);
    keys.forEach((key, i) => (lengths[i] = key.length));
    this.memory.set(kinds, this.kinds);
  }

  /** Copies `chunk[from, to)` into the module's memory. Throws a RangeError when the memory cannot grow to hold it. */
  load(chunk: Uint8Array, from: number, to: number): void {
    const needed = this.input + (to - from) + SLACK;
    if (needed > this.memory.length) this.memory = memoryOf(this.exports, align(needed, PAGE));
    this.memory.set(chunk.subarray(from, to), this.input);
    this.memory.fill(0, this.input + (to - from), needed);
    this.loadedFrom = from;
    this.loadedTo = to;
  }

  /**
   * Converts the loaded chunk's messages from `at` (a message start in it) and writes the JSON lines
   * to `target[targetAt, targetAt + room)`; returns the bytes written. `stoppedAt`, `stopReason` and
   * `rows` then say where and why it stopped, and how many rows it wrote.
   */
  convert(at: number, target: Uint8Array, targetAt: number, room: number): number {
    const e = this.exports;
    const written = e.convert_rows(this.input, at - this.loadedFrom, this.loadedTo - this.loadedFrom, this.output, Math.min(room, OUTPUT_BYTES), this.keys, this.keyLengths, this.kinds, this.count, this.boundFixed, 6);
    this.stoppedAt = this.loadedFrom + e.stop();
    this.stopReason = e.reason();
    this.rows = e.rows();
    if (written > 0) target.set(this.memory.subarray(this.output, this.output + written), targetAt);
    return written;
  }
}
