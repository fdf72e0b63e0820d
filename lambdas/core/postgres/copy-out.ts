import { Readable } from 'node:stream';
import type { Socket } from 'node:net';

const COPY_DATA = 0x64; // d
const COPY_DONE = 0x63; // c
const ERROR_RESPONSE = 0x45; // E
/** Rows are gathered into chunks of this size: fewer, larger writes through gzip and the store. */
const OUT_BYTES = 1024 * 1024;
// Messages the server may interleave with CopyData (protocol-flow.html#PROTOCOL-COPY).
const INTERLEAVED = new Set([0x48 /* H CopyOutResponse */, 0x53 /* S ParameterStatus */, 0x4e /* N Notice */, 0x41 /* A Notification */]);

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
  private pending: Buffer = Buffer.alloc(0);
  private out = Buffer.allocUnsafe(OUT_BYTES);
  private used = 0;
  private wantMore = false;
  private reading = false;
  private finished = false;
  private readonly onReadable = () => this.forward();

  constructor(readonly text: string) {
    super({ highWaterMark: 1024 * 1024 });
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
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let offset = 0;
    let end: 'copy-done' | 'error' | undefined;
    let more = true;
    while (offset + 5 <= buf.length) {
      const code = buf[offset]!;
      if (code === ERROR_RESPONSE) {
        end = 'error';
        break;
      }
      const length = buf.readUInt32BE(offset + 1);
      const next = offset + 1 + length;
      if (next > buf.length) break;
      if (code === COPY_DATA) more = this.append(buf, offset + 5, next) && more;
      else if (!INTERLEAVED.has(code)) {
        offset = next;
        end = 'copy-done';
        if (code !== COPY_DONE) offset -= 1 + length; // not ours to consume: hand it back
        break;
      }
      offset = next;
    }
    this.pending = end ? Buffer.alloc(0) : Buffer.from(buf.subarray(offset));
    if (end) {
      more = this.flushOut() && more;
      this.detach(buf.subarray(offset), end === 'copy-done');
    }
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

  private flushOut(): boolean {
    if (this.used === 0) return true;
    const full = this.out.subarray(0, this.used);
    this.out = Buffer.allocUnsafe(OUT_BYTES);
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
