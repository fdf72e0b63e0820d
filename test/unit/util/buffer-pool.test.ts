import { describe, expect, it } from '@jest/globals';
import { BufferPool } from '../../../lambdas/core/util/buffer-pool.js';

describe('BufferPool', () => {
  it('hands a given-back buffer out again, whole, even when a view of it was given back', () => {
    const pool = new BufferPool(1024, 4);
    const first = pool.take();
    expect(first.length).toBe(1024);
    pool.give(first.subarray(0, 10));
    const again = pool.take();
    expect(again.buffer).toBe(first.buffer);
    expect(again.length).toBe(1024);
  });

  it('ignores buffers it did not make, and keeps a buffer given back twice only once', () => {
    const pool = new BufferPool(1024, 4);
    pool.give(Buffer.alloc(1024));
    const mine = pool.take();
    pool.give(mine);
    pool.give(mine);
    const a = pool.take();
    const b = pool.take();
    expect(a.buffer).toBe(mine.buffer);
    expect(b.buffer).not.toBe(mine.buffer);
    expect(b.buffer).not.toBe(a.buffer);
  });

  it('keeps at most `keep` idle buffers', () => {
    const pool = new BufferPool(16, 2);
    const taken = [pool.take(), pool.take(), pool.take()];
    for (const buf of taken) pool.give(buf);
    const again = [pool.take(), pool.take(), pool.take()];
    const reused = again.filter((buf) => taken.some((t) => t.buffer === buf.buffer));
    expect(reused).toHaveLength(2);
  });

  it('tells its own buffers and views of them from others', () => {
    const pool = new BufferPool(64, 2);
    const mine = pool.take();
    expect(pool.owns(mine)).toBe(true);
    expect(pool.owns(mine.subarray(8, 16))).toBe(true);
    expect(pool.owns(Buffer.alloc(64))).toBe(false);
    expect(pool.owns(Buffer.from(mine))).toBe(false);
    // Made anew only when none was given back.
    expect(pool.madeBytes).toBe(64);
    pool.give(mine);
    pool.take();
    expect(pool.madeBytes).toBe(64);
    pool.take();
    expect(pool.madeBytes).toBe(128);
  });
});
