import { RowKeys, rowObjectMembers } from '../json-bytes.js';
import { LineTooLongError } from '../util/streams.js';
import { WasmRowCheck } from '../wasm/row-check.js';

const NEWLINE = 0x0a;

/**
 * Checks an NDJSON file's rows chunk by chunk as it is decompressed (validate): counts them, checks
 * that each is a JSON object with the table's number of members (json-bytes.ts `rowObjectMembers`,
 * whose answer is the general JSON check's), and stops at the first row beyond what the manifest
 * promised or a row longer than the limit. Rows in the layout backups write are first counted by
 * the WebAssembly check (wasm/row-check.ts), which gives every line it does not accept, and every
 * row cut across two chunks, to the check in JavaScript; so the answers are the same with or without
 * it (docs/performance.md, "Thirteenth session").
 */
export class NdjsonRows {
  records = 0;
  /** Of `records`, the rows the WebAssembly check accepted (the rest were checked in JavaScript). */
  fastRecords = 0;
  /** Why reading stopped early (more rows than promised, a row over the limit); undefined when it did not. */
  stopped?: 'too-many-records' | LineTooLongError;
  private readonly keys: RowKeys;
  private fast: WasmRowCheck | undefined;
  /** Lines the fast check gave back: a table whose rows it never accepts (arrays, nested objects) stops using it. */
  private givenBack = 0;
  // The pieces of a row cut across chunks, joined once at its end.
  private pending: Buffer[] = [];
  private pendingBytes = 0;
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
  }

  /** Checks one chunk; false once reading should stop (see `stopped`). */
  push(chunk: Buffer): boolean {
    if (this.stopped) return false;
    try {
      return this.split(chunk);
    } catch (error) {
      if (error instanceof LineTooLongError) return this.stop(error);
      throw error;
    }
  }

  /** At the end of the data: a cut-off last row is counted and checked like any other. */
  finish(): void {
    if (this.stopped || !this.pendingBytes) return;
    const line = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.row(line, 0, line.length);
  }

  private split(chunk: Buffer): boolean {
    let start = 0;
    if (this.pendingBytes) {
      const index = chunk.indexOf(NEWLINE);
      if (index === -1) return this.keep(chunk, 0);
      if (this.pendingBytes + index > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes, this.records + 1);
      const line = Buffer.concat([...this.pending, chunk.subarray(0, index)]);
      this.pending = [];
      this.pendingBytes = 0;
      if (!this.row(line, 0, line.length)) return false;
      start = index + 1;
    }
    // The whole lines of the chunk go into the module once; it is called again after each line it gave back.
    let fast = this.fast;
    const wholeLinesEnd = fast ? chunk.lastIndexOf(NEWLINE) + 1 : 0;
    if (fast && wholeLinesEnd > start) {
      try {
        fast.load(chunk, start, wholeLinesEnd);
      } catch {
        // Its memory could not grow for a chunk this large: the JavaScript check does without it.
        fast = this.fast = undefined;
      }
    }
    for (;;) {
      if (fast && start < wholeLinesEnd) {
        const accepted = fast.accept(start, this.maxRecords - this.records, this.maxLineBytes);
        this.records += accepted;
        this.fastRecords += accepted;
        start = fast.stoppedAt;
        if (start >= wholeLinesEnd) break;
        if (++this.givenBack > 64 && this.givenBack * 4 > this.records) this.fast = undefined;
      }
      const index = chunk.indexOf(NEWLINE, start);
      if (index === -1) break;
      if (index - start > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes, this.records + 1);
      if (!this.row(chunk, start, index)) return false;
      start = index + 1;
    }
    return start < chunk.length ? this.keep(chunk, start) : true;
  }

  /** Keeps the start of a row cut at the chunk's end (a copy: the chunk goes back to its pool). */
  private keep(chunk: Buffer, from: number): boolean {
    this.pendingBytes += chunk.length - from;
    if (this.pendingBytes > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes, this.records + 1);
    this.pending.push(Buffer.from(chunk.subarray(from)));
    return true;
  }

  /** One row, checked in JavaScript: the chunk's [start, end), or a row joined across chunks. */
  private row(buf: Buffer, start: number, end: number): boolean {
    if (++this.records > this.maxRecords) return this.stop('too-many-records');
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
