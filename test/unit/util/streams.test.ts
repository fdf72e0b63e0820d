import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { HashingPassThrough, LineCounter, LineSplitter, LineTooLongError, NdjsonLimit, NotARowError, runPool } from '../../../lambdas/core/util/streams.js';

/** Every line LineSplitter finds in these chunks (copied: a line may be a view into its chunk). */
function splitLines(chunks: Iterable<Buffer>, maxLineBytes?: number, seen: Buffer[] = []): Buffer[] {
  const splitter = new LineSplitter((buf, start, end) => {
    seen.push(Buffer.from(buf.subarray(start, end)));
    return true;
  }, maxLineBytes);
  for (const chunk of chunks) splitter.push(chunk);
  splitter.finish();
  return seen;
}

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

  it('LineSplitter splits on newlines whatever the chunking', () => {
    const lines = splitLines([Buffer.from('a\nbb'), Buffer.from('b\n\nc'), Buffer.from('cc')]);
    expect(lines.map(String)).toEqual(['a', 'bbb', '', 'ccc']);
  });

  it('LineSplitter stops at the line whose callback says so', () => {
    const seen: string[] = [];
    const splitter = new LineSplitter((buf, start, end) => {
      seen.push(buf.toString('utf8', start, end));
      return seen.length < 2;
    });
    expect(splitter.push(Buffer.from('a\nb\nc\n'))).toBe(false);
    expect(seen).toEqual(['a', 'b']);
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

describe('bounds on lines and rows (decompression bombs)', () => {
  async function failureOf(promise: Promise<unknown>): Promise<Error> {
    return promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (e: unknown) => e as Error,
    );
  }

  it('LineSplitter fails with LineTooLongError once a line passes the bound, across chunks, before holding it whole', () => {
    let chunksRead = 0;
    const endless = (function* () {
      yield Buffer.from('{"ok":1}\n');
      for (let i = 0; i < 1000; i++) {
        chunksRead++;
        yield Buffer.alloc(1024);
      }
    })();
    const lines: Buffer[] = [];
    let error: Error | undefined;
    try {
      splitLines(endless, 4096, lines);
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(LineTooLongError);
    expect(error!.message).toBe('line 2 is longer than 4096 bytes');
    expect(lines.map(String)).toEqual(['{"ok":1}']);
    expect(chunksRead).toBe(5);
  });

  it('LineSplitter still joins a long line split over many chunks exactly', () => {
    const line = 'x'.repeat(10_000);
    const pieces = Array.from({ length: 100 }, (_, i) => Buffer.from(line.slice(i * 100, i * 100 + 100)));
    expect(splitLines([...pieces, Buffer.from('\nend')]).map(String)).toEqual([line, 'end']);
  });

  it('NdjsonLimit passes data through until one row more than promised, then fails with the given error', async () => {
    const limit = new NdjsonLimit(2, 1024, (max) => new Error(`more than ${max}`));
    const error = await failureOf(pipeline(Readable.from([Buffer.from('{"a":1}\n{"a":2}\n{'), Buffer.from('"a":3}\n')]), limit, async function* (source) {
      for await (const _ of source) void _;
    }));
    expect(error.message).toBe('more than 2');

    const exact = new NdjsonLimit(2, 1024, () => new Error('unexpected'));
    expect((await drain(Readable.from([Buffer.from('{"a":1}\n{"a":2}\n')]).pipe(exact))).toString()).toBe('{"a":1}\n{"a":2}\n');
  });

  it('NdjsonLimit and LineCounter fail on a line past the length bound', async () => {
    const zeros = () => Readable.from((function* () {
      for (let i = 0; i < 100; i++) yield Buffer.alloc(1024);
    })());
    const sink = async function* (source: AsyncIterable<unknown>) {
      for await (const _ of source) void _;
    };
    const brace = () => Readable.from((function* () {
      yield Buffer.from('{"a":"');
      for (let i = 0; i < 100; i++) yield Buffer.alloc(1024, 0x61);
    })());
    expect(await failureOf(pipeline(brace(), new NdjsonLimit(1_000_000, 8192, () => new Error('rows')), sink))).toBeInstanceOf(LineTooLongError);
    // Zeros are no JSON object: the first byte of the line is enough.
    const notARow = await failureOf(pipeline(zeros(), new NdjsonLimit(1_000_000, 8192, () => new Error('rows')), sink));
    expect(notARow).toBeInstanceOf(NotARowError);
    expect(notARow.message).toBe('line 1 is not a JSON object');
    const counter = new LineCounter(undefined, 8192);
    expect((await failureOf(pipeline(zeros(), counter, sink))).message).toMatch(/^Row 1 is longer than the 8192-byte limit for one row/);
  });
});
