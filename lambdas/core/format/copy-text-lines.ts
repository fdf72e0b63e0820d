import { LineSplitter, LineTooLongError, RowLimit } from '../util/streams.js';

/*
 * Checks of PostgreSQL COPY text rows (docs/format.md "copy-text"), shared by validate and restore.
 * COPY TO writes one row per line: fields separated by a raw tab, NULL as `\N`, and a backslash
 * before every backslash, newline, carriage return and tab inside a value (`\\`, `\n`, `\r`, `\t`).
 * So in what COPY TO writes a raw newline always ends a row, a raw tab always separates fields, a
 * raw carriage return never occurs, and a backslash is always followed by another byte of its line,
 * never by `.`: `\.` is the end-of-data marker, which would make COPY FROM stop early.
 */

const TAB = 0x09;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const PERIOD = 0x2e;

/**
 * Why one line (without its `\n`) is not a COPY text row of `columns` fields; undefined when it is.
 * For a single line (one cut across chunks, the last one); CopyTextRows has the fast path for rows
 * without escapes.
 */
export function copyTextLineProblem(line: Buffer, columns: number): string | undefined {
  return fieldsProblem(walkLine(line, 0, line.length), columns, line.length);
}

/** Walks buf[start, end) byte by byte (escapes honoured): its field count, or what is wrong with it. */
function walkLine(buf: Buffer, start: number, end: number): number | string {
  let fields = 1;
  for (let i = start; i < end; i++) {
    const byte = buf[i];
    if (byte === TAB) fields++;
    else if (byte === CR) return 'holds a raw carriage return, which COPY text never writes';
    else if (byte === BACKSLASH) {
      if (++i >= end) return 'ends in a lone backslash, which would join it to the next row';
      if (buf[i] === PERIOD) return 'holds the end-of-data marker \\.';
    }
  }
  return fields;
}

/** `fields` of a line of `length` bytes against the table's `columns`. */
function fieldsProblem(fields: number | string, columns: number, length: number): string | undefined {
  if (typeof fields === 'string') return fields;
  // A table without columns: COPY writes each of its rows as an empty line (which has one field of any other table).
  if (columns === 0) return length === 0 ? undefined : 'is not empty, and the table has no columns';
  return fields === columns ? undefined : `has ${fields} field${fields === 1 ? '' : 's'}, the table has ${columns} column${columns === 1 ? '' : 's'}`;
}

/**
 * Checks a COPY text file's rows chunk by chunk as it is decompressed (validate): counts them, checks
 * each one's fields, and stops at the first row beyond what the manifest promised or a row longer
 * than the limit. Rows are found with native `indexOf` inside each chunk, one call per row and per
 * tab, with no per-row buffer or await: validate's cost is the decompression, not the scan.
 */
export class CopyTextRows {
  records = 0;
  /** Why reading stopped early (more rows than promised, a row over the limit); undefined when it did not. */
  stopped?: 'too-many-records' | LineTooLongError;
  /** Whether the data ended in the middle of a row (the last row cut off); known after `finish`. */
  endsMidLine = false;
  private readonly lines: LineSplitter;
  // Where the next tab, backslash and CR are in the current chunk (Infinity: none). Rows are scanned
  // in order, so each cursor only moves forward: one pass over the chunk per byte kind, whatever the
  // row count (a search from each row's start would rescan the rest of the chunk every row).
  private chunk: Buffer = Buffer.alloc(0);
  private tab = Infinity;
  private backslash = Infinity;
  private cr = Infinity;

  constructor(
    private readonly columns: number,
    private readonly maxRecords: number,
    maxLineBytes: number,
    /** Called for each row that is not a row of the table (1-based row number). */
    private readonly onBadRow: (row: number, problem: string) => void,
  ) {
    this.lines = new LineSplitter((buf, start, end) => this.row(buf, start, end), maxLineBytes);
  }

  /** Scans one chunk; false once reading should stop (see `stopped`). */
  push(chunk: Buffer): boolean {
    if (this.stopped) return false;
    this.chunk = chunk;
    this.tab = this.find(TAB, 0);
    this.backslash = this.find(BACKSLASH, 0);
    this.cr = this.find(CR, 0);
    return this.split(() => this.lines.push(chunk));
  }

  /** At the end of the data: a cut-off last row is counted and checked like any other. */
  finish(): void {
    if (this.stopped) return;
    this.split(() => (this.endsMidLine = this.lines.finish()));
  }

  /** Runs the line splitter, a line over the limit stopping the reading instead of throwing. */
  private split(run: () => boolean): boolean {
    try {
      return run();
    } catch (error) {
      if (error instanceof LineTooLongError) return this.stop(error);
      throw error;
    }
  }

  /** One row: the current chunk's [start, end), or a row cut across chunks joined in `buf`. */
  private row(buf: Buffer, start: number, end: number): boolean {
    if (++this.records > this.maxRecords) return this.stop('too-many-records');
    const problem = buf === this.chunk ? this.rowProblem(start, end) : copyTextLineProblem(buf.subarray(start, end), this.columns);
    if (problem !== undefined) this.onBadRow(this.records, problem);
    return true;
  }

  private find(byte: number, from: number): number {
    const at = this.chunk.indexOf(byte, from);
    return at === -1 ? Infinity : at;
  }

  /** The problem of the current chunk's row [start, end), moving the cursors past it. */
  private rowProblem(start: number, end: number): string | undefined {
    if (this.backslash < start) this.backslash = this.find(BACKSLASH, start);
    if (this.cr < start) this.cr = this.find(CR, start);
    if (this.tab < start) this.tab = this.find(TAB, start);
    if (this.backslash < end || this.cr < end) return fieldsProblem(walkLine(this.chunk, start, end), this.columns, end - start);
    let fields = 1;
    while (this.tab < end) {
      fields++;
      this.tab = this.find(TAB, this.tab + 1);
    }
    return fieldsProblem(fields, this.columns, end - start);
  }

  private stop(reason: NonNullable<CopyTextRows['stopped']>): false {
    this.stopped = reason;
    return false;
  }
}

/**
 * RowLimit for COPY text on its way to the server (restore): counts rows and bounds them and their
 * length; the row checks themselves are the server's (COPY FROM).
 */
export class CopyTextLimit extends RowLimit {
  constructor(maxRecords: number, maxLineBytes: number, tooMany: (maxRecords: number) => Error, onRows?: (rows: number) => void) {
    super(maxRecords, maxLineBytes, tooMany, onRows ? { onRows } : {});
  }
}
