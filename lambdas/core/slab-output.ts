import { BufferPool, streamBuffers } from './util/buffer-pool.js';

/** Output slabs are this big (the stream pool's buffers): one allocation per MiB of output at most, not per batch. */
const SLAB_BYTES = streamBuffers.bufferBytes;

/**
 * Slabs for an unsent batch that outgrew a 1 MiB slab. A converter writes a whole decompressed frame
 * (~1 MiB of rows) before its batches are taken, so the unsent bytes it moves to a new slab are often
 * over half a MiB; each of those slabs used to be a fresh allocation, which the C library handed back
 * to the system when it was collected and the next one faulted in again (a fifth of a restore's page
 * faults, docs/performance.md, seventeenth session). Four cover a table's slabs in flight.
 */
export const bigSlabs = new BufferPool(4 * SLAB_BYTES, 4);

/** Where the COPY converters and their encoders write: a buffer, how much of it is filled, and a copy into it. */
export interface ByteSink {
  out: Buffer;
  used: number;
  /** Appends `buf[from, to)`. */
  copySpan(buf: Buffer, from: number, to: number): void;
}

/** A pooled slab, its batches not yet written, and whether its converter has moved on from it. */
interface SlabUse {
  readonly slab: Buffer;
  batches: number;
  retired: boolean;
}

/** Each pooled slab's use, by its memory; weak, so that a slab whose batches are never acknowledged is simply collected. */
const slabUse = new WeakMap<ArrayBufferLike, SlabUse>();
/** The batches handed out and not yet acknowledged, each with its slab's use: a batch counts once, however often it is acknowledged. */
const batchesOut = new WeakMap<Uint8Array, SlabUse>();

function returnWhenDone(use: SlabUse): void {
  if (use.retired && use.batches === 0) {
    slabUse.delete(use.slab.buffer);
    // Each pool takes back only what it made.
    streamBuffers.give(use.slab);
    bigSlabs.give(use.slab);
  }
}

/**
 * Tells the slab pool that a batch from {@link SlabOutput.take} has been written and nothing reads
 * it any more (the socket's write callback). Once a slab's converter has moved on and every batch
 * handed out from it was acknowledged, the slab goes back to `streamBuffers` for the next frame or
 * slab. Only then: a batch never acknowledged keeps its slab out of the pool (it is collected like
 * any buffer), and one acknowledged while still being sent would be overwritten. Anything that is
 * not a batch still out (another buffer, a batch acknowledged before) is ignored.
 */
export function batchWritten(batch: Uint8Array): void {
  const use = batchesOut.get(batch);
  if (!use) return;
  batchesOut.delete(batch);
  use.batches--;
  returnWhenDone(use);
}

/**
 * Converted bytes accumulate in a slab and batches are handed out as views of it, so the output
 * costs one allocation per slab instead of one per batch; slabs come from `streamBuffers` (or
 * `bigSlabs`, when the unsent batch is over half a slab) and go back to it once every batch taken
 * from them was written ({@link batchWritten}). Made fresh each time, the restore's ~200 MiB of
 * output slabs were external memory that only full collections freed (docs/performance.md,
 * fourteenth session).
 *
 * It is the binary encoders' sink (copy-binary-encoders.ts takes the converter itself), hence the
 * public `out`, `used` and `copySpan`; only the converter and what it calls write them.
 */
export abstract class SlabOutput implements ByteSink {
  out: Buffer = pooledSlab();
  used = 0;
  private batchStart = 0;

  constructor(private readonly batchBytes: number) {}

  /** Bytes converted so far that are ready to send (starting a new batch), or undefined when below the batch size. */
  take(force = false): Buffer | undefined {
    const size = this.used - this.batchStart;
    if (size === 0 || (!force && size < this.batchBytes)) return undefined;
    const batch = this.out.subarray(this.batchStart, this.used);
    this.batchStart = this.used;
    const use = slabUse.get(this.out.buffer);
    if (use) {
      use.batches++;
      batchesOut.set(batch, use);
    }
    return batch;
  }

  /**
   * The converter is done with its slab (after the last {@link take}): it goes back to the pool once
   * its batches are written. Nothing may be converted after this.
   */
  release(): void {
    this.retire(this.out);
    this.out = Buffer.alloc(0);
    this.used = this.batchStart = 0;
  }

  /** Makes room for `bytes` more; may move the unsent batch to a new slab (so take marks after calling it). */
  protected ensure(bytes: number): void {
    if (this.used + bytes <= this.out.length) return;
    const pending = this.used - this.batchStart;
    // Twice what must fit, so that the next rows do not move the batch again at once.
    const size = (pending + bytes) * 2;
    const next = size <= SLAB_BYTES ? pooledSlab(streamBuffers) : size <= bigSlabs.bufferBytes ? pooledSlab(bigSlabs) : Buffer.allocUnsafe(size);
    this.out.copy(next, 0, this.batchStart, this.used);
    this.retire(this.out);
    this.out = next;
    this.used = pending;
    this.batchStart = 0;
  }

  private retire(slab: Buffer): void {
    const use = slabUse.get(slab.buffer);
    if (!use) return;
    use.retired = true;
    returnWhenDone(use);
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

function pooledSlab(pool: BufferPool = streamBuffers): Buffer {
  const slab = pool.take();
  slabUse.set(slab.buffer, { slab, batches: 0, retired: false });
  return slab;
}
