/** Output slabs are this big: one allocation per MiB of output, not per batch. */
const SLAB_BYTES = 1024 * 1024;

/** Where the COPY converters and their encoders write: a buffer and how much of it is filled. */
export interface ByteSink {
  out: Buffer;
  used: number;
}

/** Appends `buf[from, to)` to the sink. Short spans in a JS loop, long ones natively: most values are a few bytes. */
export function copySpan(sink: ByteSink, buf: Buffer, from: number, to: number): void {
  const n = to - from;
  if (n > 48) {
    sink.used += buf.copy(sink.out, sink.used, from, to);
    return;
  }
  const out = sink.out;
  let u = sink.used;
  for (let k = from; k < to; k++) out[u++] = buf[k]!;
  sink.used = u;
}

/**
 * Converted bytes accumulate in a slab and batches are handed out as views of it, so the output
 * costs one allocation per slab instead of one per batch. Fewer, fuller buffers means far less
 * external memory churn, which is what made V8 run a full GC every few megabytes of restored data.
 *
 * `out` and `used` are public so that the binary encoders (copy-binary-encoders.ts) can take the
 * converter itself as their sink; only the converter and what it calls write them.
 */
export abstract class SlabOutput implements ByteSink {
  out: Buffer = Buffer.allocUnsafe(SLAB_BYTES);
  used = 0;
  private batchStart = 0;

  constructor(private readonly batchBytes: number) {}

  /** Bytes converted so far that are ready to send (starting a new batch), or undefined when below the batch size. */
  take(force = false): Buffer | undefined {
    const size = this.used - this.batchStart;
    if (size === 0 || (!force && size < this.batchBytes)) return undefined;
    const batch = this.out.subarray(this.batchStart, this.used);
    this.batchStart = this.used;
    return batch;
  }

  /** Makes room for `bytes` more; may move the unsent batch to a new slab (so take marks after calling it). */
  protected ensure(bytes: number): void {
    if (this.used + bytes <= this.out.length) return;
    const pending = this.used - this.batchStart;
    const next = Buffer.allocUnsafe(Math.max(SLAB_BYTES, (pending + bytes) * 2));
    this.out.copy(next, 0, this.batchStart, this.used);
    this.out = next;
    this.used = pending;
    this.batchStart = 0;
  }
}
