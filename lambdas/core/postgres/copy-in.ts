import type { Writable } from 'node:stream';
import { from as copyFrom, type CopyStreamQuery } from 'pg-copy-streams';

/** What this module reaches for inside pg-copy-streams' CopyStreamQuery (7.x): how it sends one chunk. */
interface CopyStreamQueryInternals {
  connection?: { stream: Writable };
  flushChunk?: (chunk: Buffer) => boolean;
}

/** CopyData ('d'): the message type of every chunk of a COPY FROM STDIN. */
const COPY_DATA = 0x64;

/**
 * pg-copy-streams' COPY FROM STDIN, and with `onWritten`, a call for every chunk once the socket has
 * written it (its write callback: nothing reads the chunk any more), so that the chunk's memory can
 * be reused (slab-output.ts `batchWritten`). pg-copy-streams hands each chunk to the socket without
 * a callback; its own `flushChunk` is replaced by one that frames the chunk the same way and passes
 * one. If a version lacks that method, the chunks are simply never reported: nothing is reused, and
 * nothing breaks.
 */
export function copyIn(sql: string, onWritten?: (chunk: Buffer) => void): CopyStreamQuery {
  const copy = copyFrom(sql) as CopyStreamQuery & CopyStreamQueryInternals;
  if (onWritten && typeof copy.flushChunk === 'function') {
    copy.flushChunk = function flushChunk(this: CopyStreamQueryInternals, chunk: Buffer): boolean {
      const socket = this.connection!.stream;
      const header = Buffer.allocUnsafe(5);
      header[0] = COPY_DATA;
      header.writeUInt32BE(chunk.length + 4, 1);
      socket.write(header);
      // Called once, when written or when the socket failed (a destroyed socket calls back with the error): either way it is done with the chunk.
      return socket.write(chunk, () => onWritten(chunk));
    };
  }
  return copy;
}
