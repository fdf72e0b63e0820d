import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashingPassThrough, LineCounter, readLines, runPool } from '../../../lambdas/core/util/streams.js';

async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

describe('stream helpers', () => {
  it('LineCounter counts lines across chunk boundaries and notices an unterminated last line', async () => {
    const counter = new LineCounter();
    await pipeline(Readable.from([Buffer.from('{"a":1}\n{"a'), Buffer.from('":2}\n'), Buffer.from('{"a":3}')]), counter, async function* (source) {
      for await (const _ of source) void _;
    });
    expect(counter.lines).toBe(2);
    expect(counter.bytes).toBe(23);
    expect(counter.endsMidLine).toBe(true);
  });

  it('HashingPassThrough hashes exactly the bytes that pass', async () => {
    const data = Buffer.from('hello world\n'.repeat(1000));
    const hasher = new HashingPassThrough();
    const out = await drain(Readable.from([data.subarray(0, 7), data.subarray(7)]).pipe(hasher));
    expect(out.equals(data)).toBe(true);
    expect(hasher.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(hasher.bytes).toBe(data.length);
  });

  it('readLines splits on newlines whatever the chunking', async () => {
    const lines: string[] = [];
    for await (const line of readLines(Readable.from([Buffer.from('a\nbb'), Buffer.from('b\n\nc'), Buffer.from('cc')]))) lines.push(line.toString());
    expect(lines).toEqual(['a', 'bbb', '', 'ccc']);
  });

  it('runPool runs at most N at once and stops taking work after a failure', async () => {
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const work = runPool([1, 2, 3, 4, 5, 6], 2, async (n) => {
      started.push(n);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      if (n === 2) throw new Error('boom');
    });
    await expect(work).rejects.toThrow('boom');
    expect(peak).toBe(2);
    expect(started.length).toBeLessThan(6);
  });
});
