import { describe, expect, it } from '@jest/globals';
import { SlabOutput, batchWritten, bigSlabs } from '../../lambdas/core/slab-output.js';
import { streamBuffers } from '../../lambdas/core/util/buffer-pool.js';

/** A converter that writes `bytes` filler bytes per call, as the COPY converters append rows. */
class Filler extends SlabOutput {
  constructor() {
    super(256 * 1024);
  }
  write(bytes: number): void {
    this.ensure(bytes);
    this.out.fill(0x61, this.used, this.used + bytes);
    this.used += bytes;
  }
}

/** Takes every idle block of the pool, so that the next take shows whether one came back. */
function drainPool(): Buffer[] {
  return Array.from({ length: 32 }, () => streamBuffers.take());
}

describe('SlabOutput: output slabs from the stream pool, back once every batch was written', () => {
  it('a slab goes back only when its converter has moved on and every batch taken from it was acknowledged, once', () => {
    const held = drainPool();
    try {
      const converter = new Filler();
      const first = converter.out;
      converter.write(300 * 1024);
      const a = converter.take()!;
      converter.write(300 * 1024);
      const b = converter.take()!;
      expect(a.buffer).toBe(first.buffer);
      expect(b.buffer).toBe(first.buffer);
      // 600 KiB used: the next 500 KiB need a new slab, and the first is retired with two batches out.
      converter.write(500 * 1024);
      expect(converter.out.buffer).not.toBe(first.buffer);
      const made = streamBuffers.madeBytes;
      batchWritten(a);
      batchWritten(a); // the same batch again counts for nothing
      // b keeps the slab out of the pool until it is written.
      expect(streamBuffers.take().buffer).not.toBe(first.buffer);
      batchWritten(b);
      const reused = streamBuffers.take();
      expect(reused.buffer).toBe(first.buffer);
      expect(streamBuffers.madeBytes).toBe(made + streamBuffers.bufferBytes);
    } finally {
      for (const block of held) streamBuffers.give(block);
    }
  });

  it('a released converter\'s last slab goes back once its batches are written; one whose batch is never acknowledged never does', () => {
    const held = drainPool();
    try {
      const acknowledged = new Filler();
      acknowledged.write(1000);
      const last = acknowledged.take(true)!;
      acknowledged.release();
      expect(streamBuffers.take().buffer).not.toBe(last.buffer);
      batchWritten(last);
      expect(streamBuffers.take().buffer).toBe(last.buffer);

      const lost = new Filler();
      lost.write(1000);
      const unsent = lost.take(true)!;
      lost.release();
      const before = streamBuffers.madeBytes;
      expect(streamBuffers.take().buffer).not.toBe(unsent.buffer);
      expect(streamBuffers.madeBytes).toBe(before + streamBuffers.bufferBytes);
      // Buffers that are not batches of a slab are ignored.
      batchWritten(Buffer.alloc(16));
    } finally {
      for (const block of held) streamBuffers.give(block);
    }
  });

  it('an unsent batch over half a slab moves to a pooled 4 MiB slab, which comes back: a frame after frame reuses the same few', () => {
    const converter = new Filler();
    const made = bigSlabs.madeBytes;
    for (let frame = 0; frame < 12; frame++) {
      // A whole frame's rows are written before its batches are taken, as convertNdjsonBytes does.
      converter.write(700 * 1024);
      converter.write(700 * 1024);
      expect(bigSlabs.owns(converter.out)).toBe(true);
      const batch = converter.take(true)!;
      expect(batch.length).toBe(1400 * 1024);
      batchWritten(batch);
    }
    converter.release();
    // Fresh allocations, one per frame, are what this replaced; two slabs take turns.
    expect(bigSlabs.madeBytes - made).toBeLessThanOrEqual(2 * bigSlabs.bufferBytes);
  });
});
