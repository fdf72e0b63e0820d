import { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import { streamBuffers } from '../util/buffer-pool.js';
import type { CopyTextToJson } from './copy-text-json.js';
import type { WasmCopyJson } from '../wasm/copy-json.js';
import { ConverterStop } from '../wasm/module.js';

const COPY_DATA = 0x64; // d
const COPY_DONE = 0x63; // c
const ERROR_RESPONSE = 0x45; // E
// Messages the server may interleave with CopyData (protocol-flow.html#PROTOCOL-COPY).
const INTERLEAVED = new Set([0x48 /* H CopyOutResponse */, 0x53 /* S ParameterStatus */, 0x4e /* N Notice */, 0x41 /* A Notification */]);

const EMPTY = Buffer.alloc(0);
const NEWLINE = 0x0a;
/** Binary COPY's signature, `PGCOPY\n\377\r\n\0`; flags and the header extension's length follow. */
const BINARY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const BINARY_HEADER_BYTES = 19;
const NEWLINE_BYTE = Buffer.from([NEWLINE]);
const NOT_A_ROW = "a COPY text row that is not one of the table's rows";

/** How the COPY's rows arrive, and so what the stream gives out. */
export interface CopyOutOptions {
  /**
   * The COPY is `FORMAT binary` of a query with one text-like column (the rows' JSON): each row is
   * given out as that column's bytes and a newline, exactly the lines `FORMAT csv` with a quote
   * and delimiter JSON never contains would give, for less server work (no per-byte scan for
   * characters to quote). @default false: the COPY's own bytes, as they arrive.
   */
  readonly singleFieldLines?: boolean;
  /**
   * The COPY is text: each row (one CopyData each, as the server sends them) is given out as the
   * JSON line this writer makes of it. @default none: the COPY's own bytes.
   */
  readonly jsonRows?: CopyTextToJson;
}

/**
 * A row too large for the output chunk, in a buffer of its own: first one a quarter larger than the
 * row (text rarely grows more as JSON), then, if the row needed more, one of the writer's bound (six
 * times the row), which a 100 MB row would otherwise always cost.
 */
function convertLargeRow(writer: CopyTextToJson, buf: Buffer, start: number, end: number): Buffer | undefined {
  const likely = Buffer.allocUnsafe(writer.maxBytes(0) + Math.ceil(1.25 * (end - start)));
  let size: number;
  try {
    // Stores past the end of a typed array are dropped and set() throws: either way, too small.
    size = writer.convert(buf, start, end, likely, 0);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    size = Number.POSITIVE_INFINITY;
  }
  if (size < 0) return undefined;
  if (size <= likely.length) return likely.subarray(0, size);
  const line = Buffer.allocUnsafe(writer.maxBytes(end - start));
  size = writer.convert(buf, start, end, line, 0);
  return size < 0 ? undefined : line.subarray(0, size);
}

interface PgConnection {
  readonly stream: Socket;
  query(text: string): void;
}

/**
 * `COPY … TO STDOUT` as a Readable, like pg-copy-streams' `to()`, but it copies the CopyData
 * payloads into 1 MiB chunks instead of handling every row as its own chunk: a backup streams
 * millions of ~200-byte rows, and per-row buffers and stream calls cost more CPU than gzip. Implements node-postgres' Submittable protocol: the client calls `submit`, and gets its
 * socket back (with any unread bytes) once CopyDone or an ErrorResponse arrives.
 */
export class CopyOutStream extends Readable {
  rowCount = 0;
  private connection?: PgConnection;
  private pgDataHandler?: (data: Buffer) => void;
  /** The message cut at the end of the last read: its first `pendingBytes` bytes. */
  private pending: Buffer = EMPTY;
  private pendingBytes = 0;
  /** Rows are gathered into 1 MiB chunks: fewer, larger writes through the compressor and the store. */
  private out = streamBuffers.take();
  private used = 0;
  private wantMore = false;
  private reading = false;
  private finished = false;
  private readonly onReadable = () => this.forward();

  private readonly singleFieldLines: boolean;
  private readonly jsonRows: CopyTextToJson | undefined;
  /** The WebAssembly writer of jsonRows' common rows, until it gives back too many (see convertFast). */
  private wasmJson: WasmCopyJson | undefined;
  private wasmRows = 0;
  private wasmGiveBacks = 0;
  private sawBinaryHeader = false;

  constructor(
    readonly text: string,
    options: CopyOutOptions = {},
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.singleFieldLines = options.singleFieldLines === true;
    this.jsonRows = options.jsonRows;
    this.wasmJson = options.jsonRows?.wasmWriter();
  }

  submit(connection: PgConnection): void {
    this.connection = connection;
    const socket = connection.stream;
    const listeners = socket.listeners('data') as ((data: Buffer) => void)[];
    if (listeners.length !== 1) throw new Error('unexpected socket listeners');
    this.pgDataHandler = listeners[0];
    socket.removeListener('data', this.pgDataHandler!);
    socket.pause();
    socket.on('readable', this.onReadable);
    connection.query(this.text);
  }

  override _read(): void {
    this.wantMore = true;
    this.forward();
  }

  private forward(): void {
    if (this.reading || !this.wantMore || !this.connection || this.finished) return;
    this.reading = true;
    const socket = this.connection.stream;
    let chunk: Buffer | null;
    while (this.wantMore && !this.finished && (chunk = socket.read() as Buffer | null) !== null) this.wantMore = this.parse(chunk);
    this.reading = false;
  }

  /** Returns whether the consumer wants more data. */
  private parse(chunk: Buffer): boolean {
    let more = true;
    let start = 0;
    // The message cut at the previous chunk's end is completed with just the bytes it lacks, copied
    // into one buffer of its full size once its header tells it: joining the whole next chunk to
    // it copied every byte of the COPY once more, and a row spanning many reads over and over.
    while (this.pendingBytes && start < chunk.length) {
      const whole = this.pendingBytes < 5 ? 5 : 1 + this.pending.readUInt32BE(1);
      if (this.pending.length < whole) {
        const grown = Buffer.allocUnsafe(whole);
        this.pending.copy(grown, 0, 0, this.pendingBytes);
        this.pending = grown;
      }
      const take = Math.min(whole - this.pendingBytes, chunk.length - start);
      chunk.copy(this.pending, this.pendingBytes, start, start + take);
      this.pendingBytes += take;
      start += take;
      // Short of its end, or only the header is in now (the next turn sizes the message).
      if (this.pendingBytes < whole || (whole === 5 && 1 + this.pending.readUInt32BE(1) > 5)) continue;
      const message = this.pending.subarray(0, this.pendingBytes);
      this.pending = EMPTY;
      this.pendingBytes = 0;
      const step = this.scan(message);
      more = step.more && more;
      if (step.end) return this.finish(Buffer.concat([message.subarray(step.offset), chunk.subarray(start)]), step.end) && more;
    }
    if (start === chunk.length) return more;
    const buf = start ? chunk.subarray(start) : chunk;
    const step = this.scan(buf);
    more = step.more && more;
    if (step.end) return this.finish(buf.subarray(step.offset), step.end) && more;
    // A copy of the few bytes left: keeping a view would keep the whole socket chunk alive.
    this.pending = Buffer.from(buf.subarray(step.offset));
    this.pendingBytes = this.pending.length;
    return more;
  }

  /** Takes every whole message in `buf`: rows go to the output; stops at the first message that ends the COPY. */
  private scan(buf: Buffer): { offset: number; more: boolean; end?: 'copy-done' | 'error' } {
    let offset = 0;
    let more = true;
    if (this.wasmJson && !this.loadForWasm(this.wasmJson, buf)) this.wasmJson = undefined;
    while (offset + 5 <= buf.length) {
      // The module writes the rows it can; the message it stopped at (another type, a row it gives
      // back, one that needs a fresh output chunk, one cut at the chunk's end) goes the JavaScript way.
      if (this.wasmJson && (offset = this.convertFast(this.wasmJson, offset)) + 5 > buf.length) break;
      const code = buf[offset]!;
      if (code === ERROR_RESPONSE) return { offset, more, end: 'error' };
      const length = buf.readUInt32BE(offset + 1);
      const next = offset + 1 + length;
      if (next > buf.length) break;
      if (code === COPY_DATA) more = (this.singleFieldLines ? this.appendField(buf, offset + 5, next) : this.jsonRows ? this.appendJson(this.jsonRows, buf, offset + 5, next) : this.append(buf, offset + 5, next)) && more;
      // Not ours to consume (anything but CopyDone): handed back with the rest.
      else if (!INTERLEAVED.has(code)) return { offset: code === COPY_DONE ? next : offset, more, end: 'copy-done' };
      offset = next;
    }
    return { offset, more };
  }

  private loadForWasm(writer: WasmCopyJson, buf: Buffer): boolean {
    try {
      writer.load(buf, 0, buf.length);
      return true;
    } catch (error) {
      // Memory that cannot grow: the JavaScript writer does it all.
      if (error instanceof RangeError) return false;
      throw error;
    }
  }

  /**
   * Rows from `offset` written by the WebAssembly writer into the output chunk; returns where it
   * stopped. A table whose rows it mostly gives back (values in forms it leaves to JavaScript) stops
   * using it after 64 of them.
   */
  private convertFast(writer: WasmCopyJson, offset: number): number {
    this.used += writer.convert(offset, this.out, this.used, this.out.length - this.used);
    this.wasmRows += writer.rows;
    if (writer.stopReason === ConverterStop.givenBack && ++this.wasmGiveBacks >= 64 && this.wasmGiveBacks * 4 > this.wasmRows) this.wasmJson = undefined;
    return writer.stoppedAt;
  }

  /** The COPY ended: the last rows go out, and the socket goes back to node-postgres with the bytes after it. */
  private finish(unread: Buffer, end: 'copy-done' | 'error'): boolean {
    const more = this.flushOut(true);
    this.detach(unread, end === 'copy-done');
    return more;
  }

  /**
   * Copies one row into the output buffer (no per-row objects: a backup reads millions of rows),
   * pushing it downstream whenever it fills.
   */
  private append(buf: Buffer, start: number, end: number): boolean {
    const size = end - start;
    let more = true;
    if (this.used + size > this.out.length) {
      more = this.flushOut();
      if (size > this.out.length) {
        return this.push(Buffer.from(buf.subarray(start, end))) && more;
      }
    }
    buf.copy(this.out, this.used, start, end);
    this.used += size;
    return more;
  }

  /**
   * One binary COPY row of one field (`buf[start, end)`, a CopyData payload): the field's bytes and
   * a newline go out. The server sends one CopyData per row, the file header in front of the first
   * and the trailer (-1) alone (protocol-flow.html#PROTOCOL-COPY, copyto.c); anything else is refused.
   */
  private appendField(buf: Buffer, start: number, end: number): boolean {
    let p = start;
    if (!this.sawBinaryHeader) {
      if (end - p < BINARY_HEADER_BYTES || BINARY_SIGNATURE.compare(buf, p, p + BINARY_SIGNATURE.length) !== 0) return this.refuse('no binary COPY header');
      // Bits 16-31 of the flags mark format changes a reader must not read past (the docs of COPY).
      if (buf.readUInt32BE(p + 11) >>> 16 !== 0) return this.refuse('a header flag it does not know');
      p += BINARY_HEADER_BYTES + buf.readUInt32BE(p + 15);
      this.sawBinaryHeader = true;
      if (p === end) return true;
    }
    if (end - p < 2) return this.refuse('a row shorter than its field count');
    const fields = buf.readInt16BE(p);
    if (fields === -1) return p + 2 === end ? true : this.refuse('bytes after the trailer');
    if (fields !== 1 || end - p < 6) return this.refuse(`a row of ${fields} fields where one was asked for`);
    const length = buf.readInt32BE(p + 2);
    if (length < 0 || p + 6 + length !== end) return this.refuse(length < 0 ? 'a NULL row' : 'a row whose length does not match its message');
    const more = this.append(buf, p + 6, end);
    if (this.used === this.out.length) return this.append(NEWLINE_BYTE, 0, 1) && more;
    this.out[this.used++] = NEWLINE;
    return more;
  }

  /** One COPY text row (a CopyData payload) written out as its JSON line. */
  private appendJson(writer: CopyTextToJson, buf: Buffer, start: number, end: number): boolean {
    const bound = writer.maxBytes(end - start);
    let more = true;
    if (this.used + bound > this.out.length) {
      more = this.flushOut();
      if (bound > this.out.length) {
        const line = convertLargeRow(writer, buf, start, end);
        return line ? this.push(line) && more : this.refuse(NOT_A_ROW);
      }
    }
    const used = writer.convert(buf, start, end, this.out, this.used);
    if (used < 0) return this.refuse(NOT_A_ROW);
    this.used = used;
    return more;
  }

  /**
   * A COPY that is not what was asked for: the stream fails (the backup with it). The connection is
   * closed too, mid-COPY: node-postgres would otherwise wait for the COPY's end before any other
   * query on it (the session's ROLLBACK).
   */
  private refuse(what: string): false {
    const error = new Error(`Unexpected COPY data from the server: ${what}`);
    this.finished = true;
    this.connection?.stream.destroy(error);
    this.destroy(error);
    return false;
  }

  private flushOut(last = false): boolean {
    if (this.used === 0) {
      if (last) {
        streamBuffers.give(this.out);
        this.out = EMPTY;
      }
      return true;
    }
    const full = this.out.subarray(0, this.used);
    this.out = last ? EMPTY : streamBuffers.take();
    this.used = 0;
    return this.push(full);
  }

  private detach(unread: Buffer, done: boolean): void {
    this.finished = true;
    const socket = this.connection!.stream;
    socket.removeListener('readable', this.onReadable);
    socket.on('data', this.pgDataHandler!);
    if (unread.length) this.pgDataHandler!(unread);
    process.nextTick(() => socket.resume());
    if (done) this.push(null);
  }

  /** Called by node-postgres for an ErrorResponse (after detach handed it the bytes). */
  handleError(error: Error): void {
    this.destroy(error);
  }

  handleCommandComplete(message: { text?: string } | undefined): void {
    const match = /COPY (\d+)/.exec(message?.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  handleReadyForQuery(): void {}
}
