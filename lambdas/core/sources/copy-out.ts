import { Readable } from 'node:stream';
import type { Socket } from 'node:net';

const COPY_DATA = 0x64; // d
const COPY_DONE = 0x63; // c
const ERROR_RESPONSE = 0x45; // E
// Messages the server may interleave with CopyData (protocol-flow.html#PROTOCOL-COPY).
const INTERLEAVED = new Set([0x48 /* H CopyOutResponse */, 0x53 /* S ParameterStatus */, 0x4e /* N Notice */, 0x41 /* A Notification */]);

interface PgConnection {
  readonly stream: Socket;
  query(text: string): void;
}

/**
 * `COPY … TO STDOUT` as a Readable, like pg-copy-streams' `to()`, but it gathers the CopyData
 * payloads of each socket read into one Buffer instead of handling every row as its own chunk:
 * a backup streams millions of ~200-byte rows, and per-row buffer bookkeeping cost more CPU than
 * gzip. Implements node-postgres' Submittable protocol: the client calls `submit`, and gets its
 * socket back (with any unread bytes) once CopyDone or an ErrorResponse arrives.
 */
export class CopyOutStream extends Readable {
  rowCount = 0;
  private connection?: PgConnection;
  private pgDataHandler?: (data: Buffer) => void;
  private pending: Buffer = Buffer.alloc(0);
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
    const rows: Buffer[] = [];
    let offset = 0;
    let end: 'copy-done' | 'error' | undefined;
    while (offset + 5 <= buf.length) {
      const code = buf[offset]!;
      if (code === ERROR_RESPONSE) {
        end = 'error';
        break;
      }
      const length = buf.readUInt32BE(offset + 1);
      const next = offset + 1 + length;
      if (next > buf.length) break;
      if (code === COPY_DATA) rows.push(buf.subarray(offset + 5, next));
      else if (!INTERLEAVED.has(code)) {
        offset = next;
        end = 'copy-done';
        if (code !== COPY_DONE) offset -= 1 + length; // not ours to consume: hand it back
        break;
      }
      offset = next;
    }
    this.pending = end ? Buffer.alloc(0) : Buffer.from(buf.subarray(offset));
    const more = rows.length ? this.push(rows.length === 1 ? Buffer.from(rows[0]!) : Buffer.concat(rows)) : true;
    if (end) this.detach(buf.subarray(offset), end === 'copy-done');
    return more;
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
