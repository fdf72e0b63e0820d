import { MAX_INT32, PAGE, align, keyRegions, memoryOf, placeKeys, withInstance, type ModuleMemory } from './module.js';
import { ROW_CHECK_WASM_BASE64 } from './row-check.wasm.js';

/** What row-check.c exports. */
interface RowCheckExports extends ModuleMemory {
  accept_rows(buffer: number, from: number, end: number, keys: number, keyLengths: number, count: number, maxRows: number, maxLine: number): number;
  stop(): number;
}

/** Bytes after the data the module may read (vector loads, look-ahead), kept zero: no digit, letter or quote. */
const SLACK = 64;

/**
 * Validate's fast row check (row-check.c, WebAssembly with 128-bit SIMD): counts the complete rows of
 * a chunk that are exactly in the layout backups write for a table, sixteen bytes at a time, and
 * stops at the first line that is not, for the caller to check in JavaScript. A chunk is copied into
 * the module's memory once (`load`), then `accept` is called from any line start inside it.
 */
export class WasmRowCheck {
  private readonly exports: RowCheckExports;
  private readonly keys: number;
  private readonly keyLengths: number;
  private readonly count: number;
  private readonly data: number;
  private memory: Uint8Array;
  private loadedFrom = 0;
  private loadedTo = 0;
  /** Where the last `accept` stopped: an index into the loaded chunk, at a line start. */
  stoppedAt = 0;

  /**
   * A check for rows with these keys (`"name":`, in order); undefined where WebAssembly SIMD is not
   * available or its memory cannot be had (the caller checks every row in JavaScript then).
   */
  static for(keys: readonly Uint8Array[]): WasmRowCheck | undefined {
    return withInstance<RowCheckExports, WasmRowCheck>(ROW_CHECK_WASM_BASE64, (exports) => new WasmRowCheck(exports, keys));
  }

  private constructor(exports: RowCheckExports, keys: readonly Uint8Array[]) {
    this.exports = exports;
    this.count = keys.length;
    const regions = keyRegions(exports, keys, SLACK);
    this.keys = regions.keys;
    this.keyLengths = regions.keyLengths;
    this.data = align(regions.end, 16);
    this.memory = this.room(0);
    placeKeys(this.memory, this.keys, this.keyLengths, keys, SLACK);
  }

  /** The module's memory as bytes, grown to hold `bytes` of data and the slack after them. */
  private room(bytes: number): Uint8Array {
    return memoryOf(this.exports, this.data + bytes + SLACK);
  }

  /**
   * Copies `chunk[from, to)` (whole lines: `to` just after a newline) into the module's memory.
   * Throws a RangeError when the memory cannot grow to hold them.
   */
  load(chunk: Uint8Array, from: number, to: number): void {
    if (this.data + (to - from) + SLACK > this.memory.length) this.memory = this.room(align(to - from, PAGE));
    this.memory.set(chunk.subarray(from, to), this.data);
    this.memory.fill(0, this.data + (to - from), this.data + (to - from) + SLACK);
    this.loadedFrom = from;
    this.loadedTo = to;
  }

  /**
   * Rows accepted from `at` (a line start in the loaded part of the chunk): each the table's row,
   * ended by its newline, at most `maxLine` bytes long, and at most `maxRows` of them. `stoppedAt`
   * then says where the first line not accepted starts (the loaded part's end when there is none).
   */
  accept(at: number, maxRows: number, maxLine: number): number {
    const rows = this.exports.accept_rows(this.data, at - this.loadedFrom, this.loadedTo - this.loadedFrom, this.keys, this.keyLengths, this.count, Math.min(maxRows, MAX_INT32), Math.min(maxLine, MAX_INT32));
    this.stoppedAt = this.loadedFrom + this.exports.stop();
    return rows;
  }
}
