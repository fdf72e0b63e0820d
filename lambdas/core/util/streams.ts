import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { OperationFailedError } from '../errors.js';
import { maxLineBytes as limitForLines } from '../limits.js';

const NEWLINE = 0x0a;

/**
 * Counts `\n`-terminated lines passing through, without copying or parsing them. A line longer than
 * `maxLineBytes` fails the stream: validate and restore refuse such a row, so a backup holding one
 * would be written but never restorable.
 */
export class LineCounter extends Transform {
  lines = 0;
  bytes = 0;
  private lastByte = NEWLINE;
  private lineBytes = 0;

  constructor(
    private readonly onProgress?: (lines: number, bytes: number) => void,
    private readonly maxLineBytes: number = limitForLines(),
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let start = 0;
    let index = chunk.indexOf(NEWLINE);
    while (index !== -1) {
      if (this.lineBytes + index - start > this.maxLineBytes) return callback(this.tooLong());
      this.lines++;
      this.lineBytes = 0;
      start = index + 1;
      index = chunk.indexOf(NEWLINE, start);
    }
    this.lineBytes += chunk.length - start;
    if (this.lineBytes > this.maxLineBytes) return callback(this.tooLong());
    if (chunk.length) this.lastByte = chunk[chunk.length - 1]!;
    this.bytes += chunk.length;
    this.onProgress?.(this.lines, this.bytes);
    callback(null, chunk);
  }

  private tooLong(): Error {
    return new OperationFailedError(
      `Row ${this.lines + 1} is longer than the ${this.maxLineBytes}-byte limit for one row, which validate and restore enforce; raise ICONIC_DR_MAX_LINE_BYTES for the backup and for every restore of it`,
    );
  }

  /** True when the stream ended in the middle of a line (an unterminated last row). */
  get endsMidLine(): boolean {
    return this.bytes > 0 && this.lastByte !== NEWLINE;
  }
}

/** SHA-256 and byte count of everything passing through: the bytes as stored. */
export class HashingPassThrough extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  private hex?: string;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.hex = this.hash.digest('hex');
    callback();
  }

  get sha256(): string {
    if (!this.hex) throw new Error('hash read before the stream ended');
    return this.hex;
  }
}

/** A line longer than the bound: a broken or hostile file (a decompression bomb of one endless line). */
export class LineTooLongError extends Error {
  constructor(
    readonly limit: number,
    readonly line: number,
  ) {
    super(`line ${line} is longer than ${limit} bytes`);
    this.name = 'LineTooLongError';
  }
}

/** Whole lines taken many at a time, beside a LineSplitter (`pushOffering`). */
export interface FastLines {
  /**
   * Takes whole lines of `chunk[from, to)` (`to` just after a newline) as far as it can: returns
   * where it stopped (a line start; `to` when it took them all) or -1 to take none (the splitter
   * gets the rest). `load`: the chunk is new to it (false when going on after a line it left).
   */
  take(chunk: Buffer, from: number, to: number, load: boolean): number;
  /** Lines the last `take` took. */
  readonly taken: number;
}

/**
 * Splits chunks into `\n`-separated lines, synchronously: `onLine` gets each line as
 * `buf[start, end)` (without its newline; `buf` may be the chunk, valid only during the call, so
 * that a line costs no Buffer of its own) and returns false to stop.
 * A file's rows are checked chunk by chunk with no per-row `await` (an async generator's per-line
 * promise cost validate more than parsing the JSON). A line longer than `maxLineBytes` throws
 * LineTooLongError before it is held whole.
 */
export class LineSplitter {
  lines = 0;
  // The pieces of the current line, joined once at its end: appending chunk by chunk would copy a
  // long line over and over.
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(
    private readonly onLine: (buf: Buffer, start: number, end: number) => boolean,
    private readonly maxLineBytes = Number.POSITIVE_INFINITY,
  ) {}

  /** Splits one chunk; false once `onLine` asked to stop. */
  push(chunk: Buffer): boolean {
    let start = 0;
    let index = chunk.indexOf(NEWLINE);
    while (index !== -1) {
      this.lines++;
      if (this.pendingBytes + index - start > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes, this.lines);
      let more: boolean;
      if (this.pendingBytes) {
        const line = Buffer.concat([...this.pending, chunk.subarray(start, index)]);
        this.pending = [];
        this.pendingBytes = 0;
        more = this.onLine(line, 0, line.length);
      } else more = this.onLine(chunk, start, index);
      if (!more) return false;
      start = index + 1;
      index = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) {
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > this.maxLineBytes) throw new LineTooLongError(this.maxLineBytes, this.lines + 1);
      this.pending.push(Buffer.from(chunk.subarray(start)));
    }
    return true;
  }

  /**
   * Splits one chunk as `push` does, but offers its whole lines to `fast` first, many at a time (a
   * WebAssembly row check or converter): the line cut at the previous chunk's end is completed here,
   * then `fast.take` gets the chunk's whole lines; the line it stops at goes to `onLine` (one line)
   * and `fast.take` goes on after it; the cut end is kept here. Lines it takes count in `lines`.
   */
  pushOffering(chunk: Buffer, fast: FastLines): boolean {
    let at = 0;
    if (this.pendingBytes) {
      const first = chunk.indexOf(NEWLINE);
      if (first === -1) return this.push(chunk);
      if (!this.push(chunk.subarray(0, first + 1))) return false;
      at = first + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    let load = true;
    while (at <= last) {
      const stop = fast.take(chunk, at, last + 1, load);
      if (stop < 0) break;
      this.lines += fast.taken;
      load = false;
      at = stop;
      if (at > last) break;
      const end = chunk.indexOf(NEWLINE, at);
      if (!this.push(chunk.subarray(at, end + 1))) return false;
      at = end + 1;
    }
    return at < chunk.length ? this.push(at === 0 ? chunk : chunk.subarray(at)) : true;
  }

  /** At the end of the data: an unterminated last line is a line too. True when there was one. */
  finish(): boolean {
    if (!this.pendingBytes) return false;
    this.lines++;
    const line = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.onLine(line, 0, line.length);
    return true;
  }
}

/**
 * A line that is not a row of its file's format at all (a COPY text line with another count of
 * fields, a raw carriage return, `\.`): the file is not what a backup writes, as validate would say.
 * `line` is 0 where the converter that found it does not know the line's number.
 */
export class MalformedLineError extends Error {
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`line ${line} ${problem}`);
    this.name = 'MalformedLineError';
  }
}

/** A line of a backup's NDJSON that does not start like a JSON object: not a row of any table. */
export class NotARowError extends Error {
  constructor(readonly line: number) {
    super(`line ${line} is not a JSON object`);
    this.name = 'NotARowError';
  }
}

const OPEN_BRACE = 0x7b;

/**
 * Passes a backup file's decompressed rows (one per line) through unchanged while counting them and
 * the current line's length; fails as soon as the data holds more rows than `maxRecords` (what the
 * manifest promised), a line longer than `maxLineBytes`, or (with `rowStart`) a line that does not
 * start with that byte. Put after decompression, it stops a decompression bomb at the first byte too
 * many instead of inflating gigabytes. `tooMany` builds the error for the first case; `onRows` hears
 * the running count after each chunk.
 */
export class RowLimit extends Transform {
  private records = 0;
  private lineBytes = 0;

  constructor(
    private readonly maxRecords: number,
    private readonly maxLineBytes: number,
    private readonly tooMany: (maxRecords: number) => Error,
    private readonly options: { readonly rowStart?: number; readonly onRows?: (rows: number) => void } = {},
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const { rowStart } = this.options;
    let start = 0;
    let index = chunk.indexOf(NEWLINE);
    while (index !== -1) {
      if (rowStart !== undefined && this.lineBytes === 0 && chunk[start] !== rowStart) return callback(new NotARowError(this.records + 1));
      if (this.lineBytes + index - start > this.maxLineBytes) return callback(new LineTooLongError(this.maxLineBytes, this.records + 1));
      this.records++;
      if (this.records > this.maxRecords) return callback(this.tooMany(this.maxRecords));
      this.lineBytes = 0;
      start = index + 1;
      index = chunk.indexOf(NEWLINE, start);
    }
    if (rowStart !== undefined && this.lineBytes === 0 && start < chunk.length && chunk[start] !== rowStart) return callback(new NotARowError(this.records + 1));
    this.lineBytes += chunk.length - start;
    if (this.lineBytes > this.maxLineBytes) return callback(new LineTooLongError(this.maxLineBytes, this.records + 1));
    // A last line without its newline is a row too.
    if (this.lineBytes > 0 && this.records + 1 > this.maxRecords) return callback(this.tooMany(this.maxRecords));
    this.options.onRows?.(this.records);
    callback(null, chunk);
  }
}

/** RowLimit for NDJSON: every row is a JSON object, so every line starts with `{`. */
export class NdjsonLimit extends RowLimit {
  constructor(maxRecords: number, maxLineBytes: number, tooMany: (maxRecords: number) => Error) {
    super(maxRecords, maxLineBytes, tooMany, { rowStart: OPEN_BRACE });
  }
}

/** Runs `worker` over `items` with at most `concurrency` at once; the first failure stops new work. */
export async function runPool<T>(items: readonly T[], concurrency: number, worker: (item: T, slot: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const slots = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async (_, slot) => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await worker(item, slot);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  const results = await Promise.allSettled(slots);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

