import { Transform, type TransformCallback } from 'node:stream';
import { LineTooLongError } from '../util/streams.js';

/*
 * Checks of PostgreSQL COPY text rows (docs/format.md "copy-text"), shared by validate and restore.
 * COPY TO writes one row per line: fields separated by a raw tab, NULL as `\N`, and a backslash
 * before every backslash, newline, carriage return and tab inside a value (`\\`, `\n`, `\r`, `\t`).
 * So in what COPY TO writes a raw newline always ends a row, a raw tab always separates fields, a
 * raw carriage return never occurs, and a backslash is always followed by another byte of its line,
 * never by `.`: `\.` is the end-of-data marker, which would make COPY FROM stop early.
 */

const NEWLINE = 0x0a;
const TAB = 0x09;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const PERIOD = 0x2e;

/** Why one line (without its `\n`) is not a COPY text row of `columns` fields; undefined when it is. */
export function copyTextLineProblem(line: Buffer, columns: number): string | undefined {
  let fields = 1;
  if (line.indexOf(BACKSLASH) === -1 && line.indexOf(CR) === -1) {
    // The common row: no escapes, so every tab separates (indexOf is native, far faster than a byte loop).
    for (let at = line.indexOf(TAB); at !== -1; at = line.indexOf(TAB, at + 1)) fields++;
  } else {
    for (let i = 0; i < line.length; i++) {
      const byte = line[i];
      if (byte === TAB) fields++;
      else if (byte === CR) return 'holds a raw carriage return, which COPY text never writes';
      else if (byte === BACKSLASH) {
        const next = line[++i];
        if (next === undefined) return 'ends in a lone backslash, which would join it to the next row';
        if (next === PERIOD) return 'holds the end-of-data marker \\.';
      }
    }
  }
  return fields === columns ? undefined : `has ${fields} field${fields === 1 ? '' : 's'}, the table has ${columns} column${columns === 1 ? '' : 's'}`;
}

/** Passes bytes through and remembers whether they ended in the middle of a line. */
export class LineEndWatch extends Transform {
  private lastByte = NEWLINE;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length) this.lastByte = chunk[chunk.length - 1]!;
    callback(null, chunk);
  }

  /** True when the last byte was not a newline: the last row is cut off. */
  get endsMidLine(): boolean {
    return this.lastByte !== NEWLINE;
  }
}

/**
 * Passes COPY text through unchanged to the server while counting rows; fails at the first row
 * beyond `maxRecords` (what the manifest promised) or a line longer than `maxLineBytes`, so a
 * decompression bomb is not inflated past that. The row checks are the server's (COPY FROM).
 */
export class CopyTextLimit extends Transform {
  private records = 0;
  private lineBytes = 0;

  constructor(
    private readonly maxRecords: number,
    private readonly maxLineBytes: number,
    private readonly tooMany: (maxRecords: number) => Error,
    private readonly onRows?: (rows: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let start = 0;
    let index = chunk.indexOf(NEWLINE);
    while (index !== -1) {
      if (this.lineBytes + index - start > this.maxLineBytes) return callback(new LineTooLongError(this.maxLineBytes, this.records + 1));
      this.records++;
      if (this.records > this.maxRecords) return callback(this.tooMany(this.maxRecords));
      this.lineBytes = 0;
      start = index + 1;
      index = chunk.indexOf(NEWLINE, start);
    }
    this.lineBytes += chunk.length - start;
    if (this.lineBytes > this.maxLineBytes) return callback(new LineTooLongError(this.maxLineBytes, this.records + 1));
    if (this.lineBytes > 0 && this.records + 1 > this.maxRecords) return callback(this.tooMany(this.maxRecords));
    this.onRows?.(this.records);
    callback(null, chunk);
  }
}
