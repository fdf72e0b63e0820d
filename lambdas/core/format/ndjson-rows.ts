import { RowKeys, rowObjectMembers } from '../json-bytes.js';
import { LineSplitter, LineTooLongError, type FastLines } from '../util/streams.js';
import { WasmRowCheck } from '../wasm/row-check.js';

/**
 * Checks an NDJSON file's rows chunk by chunk as it is decompressed (validate): counts them, checks
 * that each is a JSON object with the table's number of members (json-bytes.ts `rowObjectMembers`,
 * whose answer is the general JSON check's), and stops at the first row beyond what the manifest
 * promised or a row longer than the limit. Rows in the layout backups write are first counted by
 * the WebAssembly check (wasm/row-check.ts), which gives every line it does not accept, and every
 * row cut across two chunks, to the check in JavaScript (through the line splitter's
 * `pushOffering`); so the answers are the same with or without it (docs/performance.md,
 * "Thirteenth session").
 */
export class NdjsonRows implements FastLines {
  /** Of `records`, the rows the WebAssembly check accepted (the rest were checked in JavaScript). */
  fastRecords = 0;
  /** Why reading stopped early (more rows than promised, a row over the limit); undefined when it did not. */
  stopped?: 'too-many-records' | LineTooLongError;
  /** Rows the last `take` accepted (FastLines). */
  taken = 0;
  private readonly keys: RowKeys;
  private readonly lines: LineSplitter;
  private fast: WasmRowCheck | undefined;
  /** Lines the fast check gave back: a table whose rows it never accepts (arrays, nested objects) stops using it. */
  private givenBack = 0;
  private chunk: Uint8Array | undefined;
  private bytes: Uint8Array = new Uint8Array(0);

  constructor(
    columns: readonly string[],
    private readonly maxRecords: number,
    private readonly maxLineBytes: number,
    /** Called for each row that is not a JSON object with the table's columns (1-based row number). */
    private readonly onBadRow: (row: number) => void,
    options: { readonly fast?: boolean } = {},
  ) {
    this.keys = RowKeys.of(columns);
    this.fast = options.fast === false ? undefined : WasmRowCheck.for(this.keys.keys);
    this.lines = new LineSplitter((buf, start, end) => this.row(buf, start, end), maxLineBytes);
  }

  /** Rows read so far, by either check; a row over the limit is not one (the splitter counted it before refusing it). */
  get records(): number {
    return this.stopped instanceof LineTooLongError ? this.stopped.line - 1 : this.lines.lines;
  }

  /** Checks one chunk; false once reading should stop (see `stopped`). */
  push(chunk: Buffer): boolean {
    if (this.stopped) return false;
    try {
      return this.fast ? this.lines.pushOffering(chunk, this) : this.lines.push(chunk);
    } catch (error) {
      if (error instanceof LineTooLongError) return this.stop(error);
      throw error;
    }
  }

  /** At the end of the data: a cut-off last row is counted and checked like any other. */
  finish(): void {
    if (!this.stopped) this.lines.finish();
  }

  /** FastLines: the WebAssembly check counts the whole lines of `chunk[from, to)` it accepts. */
  take(chunk: Buffer, from: number, to: number, load: boolean): number {
    this.taken = 0;
    const fast = this.fast;
    if (!fast) return -1;
    if (load) {
      try {
        fast.load(chunk, from, to);
      } catch {
        // Its memory could not grow for a chunk this large: the JavaScript check does without it.
        this.fast = undefined;
        return -1;
      }
    }
    this.taken = fast.accept(from, this.maxRecords - this.records, this.maxLineBytes);
    this.fastRecords += this.taken;
    if (fast.stoppedAt < to && ++this.givenBack > 64 && this.givenBack * 4 > this.records + this.taken) this.fast = undefined;
    return fast.stoppedAt;
  }

  /** One row, checked in JavaScript: a line of a chunk, or a row joined across chunks. */
  private row(buf: Buffer, start: number, end: number): boolean {
    if (this.records > this.maxRecords) return this.stop('too-many-records');
    // The checker always reads a plain Uint8Array: decompressed chunks and the rows Buffer.concat
    // joins have different hidden classes, and mixing them deoptimised it (docs/performance.md).
    if (buf !== this.chunk) {
      this.chunk = buf;
      this.bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    if (rowObjectMembers(this.bytes, start, end, this.keys) !== this.keys.count) this.onBadRow(this.records);
    return true;
  }

  private stop(reason: 'too-many-records' | LineTooLongError): false {
    this.stopped = reason;
    return false;
  }
}
