/**
 * Equal-sized buffers handed out and taken back. A backup moves hundreds of megabytes through 1 MiB
 * buffers; made fresh each time, every one is external memory that only a full garbage collection
 * frees, so a streaming copy either piles them up in RSS or pays for a collection every few
 * megabytes (docs/performance.md). Reused, a handful serve the whole run.
 *
 * Taking back is an ownership handover: `give` only when nothing reads the buffer any more (the
 * last stage of a pipeline that copied it away). Buffers this pool did not make are ignored, so a
 * stage may give back whatever reached it.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly made = new WeakSet<ArrayBufferLike>();
  private readonly idle = new WeakSet<ArrayBufferLike>();
  /** Bytes of all the buffers this pool has made: it grows only when none was free to reuse. */
  madeBytes = 0;

  constructor(
    readonly bufferBytes: number,
    private readonly keep: number,
  ) {}

  take(): Buffer {
    const reused = this.free.pop();
    if (reused) {
      this.idle.delete(reused.buffer);
      return reused;
    }
    // Slow: its own allocation, never a slice of Node's shared pool, so `buffer` is this buffer alone.
    const fresh = Buffer.allocUnsafeSlow(this.bufferBytes);
    this.made.add(fresh.buffer);
    this.madeBytes += this.bufferBytes;
    return fresh;
  }

  /** Buffers given back and not taken again (at most `keep`). */
  get idleCount(): number {
    return this.free.length;
  }

  /** Whether this pool made the buffer's memory (`buf` may be a view of it). */
  owns(buf: Uint8Array): boolean {
    return this.made.has(buf.buffer);
  }

  /** Takes back a buffer this pool made, or a view of one, whole. Giving one back twice keeps it once. */
  give(buf: Buffer): void {
    const memory = buf.buffer;
    if (!this.made.has(memory) || this.idle.has(memory) || this.free.length >= this.keep) return;
    this.idle.add(memory);
    this.free.push(Buffer.from(memory, 0, this.bufferBytes));
  }
}

/**
 * The 1 MiB buffers of a backup's row stream: COPY output is gathered in them (postgres/copy-out.ts)
 * and the zstd writer copies it into blocks of its own from here (format/codec.ts), giving a block
 * back once compressed and, in the backup's pipeline (`releaseInput`), each COPY chunk once copied.
 * Sixteen cover four jobs' buffers in flight.
 */
export const streamBuffers = new BufferPool(1024 * 1024, 16);

/**
 * The 4 MiB buffers a supabase-driver page is gathered in once it outgrows a stream buffer: pages are
 * sized at about 2 MiB of JSON (sources/supabase/source.ts), and made fresh per page they cost a copy
 * into new memory and a collection every few of them (docs/performance.md, nineteenth session).
 * Twelve cover four readers' page being written and page being fetched.
 */
export const pageBuffers = new BufferPool(4 * 1024 * 1024, 12);

/** Gives a buffer back to whichever of the shared pools made it; any other buffer is left alone. */
export function giveBack(buf: Buffer): void {
  streamBuffers.give(buf);
  pageBuffers.give(buf);
}

/** Whether one of the shared pools made the buffer's memory. */
export function pooled(buf: Uint8Array): boolean {
  return streamBuffers.owns(buf) || pageBuffers.owns(buf);
}
