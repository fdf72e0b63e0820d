/** Output slabs are this big: one allocation per MiB of output, not per batch. */
const SLAB_BYTES = 1024 * 1024;

/** Where the COPY converters and their encoders write: a buffer, how much of it is filled, and a copy into it. */
export interface ByteSink {
  out: Buffer;
  used: number;
  /** Appends `buf[from, to)`. */
  copySpan(buf: Buffer, from: number, to: number): void;
}

/**
 * Converted bytes accumulate in a slab and batches are handed out as views of it, so the output
 * costs one allocation per slab instead of one per batch. Fewer, fuller buffers means far less
 * external memory churn, which is what made V8 run a full GC every few megabytes of restored data.
 *
 * It is the binary encoders' sink (copy-binary-encoders.ts takes the converter itself), hence the
 * public `out`, `used` and `copySpan`; only the converter and what it calls write them.
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

  /**
   * Short spans in a JS loop, long ones natively: most values are a few bytes. A method, not a module
   * function taking the sink: called as a function, the text converter ran 2-8 % slower in
   * bin/dev/converter-bench.ts.
   */
  copySpan(buf: Buffer, from: number, to: number): void {
    const n = to - from;
    if (n > 48) {
      this.used += buf.copy(this.out, this.used, from, to);
      return;
    }
    const out = this.out;
    let u = this.used;
    for (let k = from; k < to; k++) out[u++] = buf[k]!;
    this.used = u;
  }
}
