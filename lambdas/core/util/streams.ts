import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

const NEWLINE = 0x0a;

/** Counts `\n`-terminated lines passing through, without copying or parsing them. */
export class LineCounter extends Transform {
  lines = 0;
  bytes = 0;
  private lastByte = NEWLINE;

  constructor(private readonly onProgress?: (lines: number, bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let index = chunk.indexOf(NEWLINE);
    while (index !== -1) {
      this.lines++;
      index = chunk.indexOf(NEWLINE, index + 1);
    }
    if (chunk.length) this.lastByte = chunk[chunk.length - 1]!;
    this.bytes += chunk.length;
    this.onProgress?.(this.lines, this.bytes);
    callback(null, chunk);
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

/** Splits a byte stream into lines (without the `\n`), bounded by the longest line. */
export async function* readLines(source: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    let index = chunk.indexOf(NEWLINE);
    while (index !== -1) {
      const piece = chunk.subarray(start, index);
      yield pending.length ? Buffer.concat([pending, piece]) : piece;
      pending = Buffer.alloc(0);
      start = index + 1;
      index = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) pending = pending.length ? Buffer.concat([pending, chunk.subarray(start)]) : Buffer.from(chunk.subarray(start));
  }
  if (pending.length) yield pending;
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

