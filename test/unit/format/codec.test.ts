import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { decompress as bindingDecompress } from '@mongodb-js/zstd';
import { describe, expect, it } from '@jest/globals';
import { pageBuffers, streamBuffers } from '../../../lambdas/core/util/buffer-pool.js';
import { MAX_ZSTD_FRAME_CONTENT, ZSTD_FRAME_BYTES, compressor, configuredCodec, decompressor, type Codec } from '../../../lambdas/core/format/codec.js';

/** Shop-like NDJSON: repeated keys and words, some numbers. */
function ndjson(rows: number): Buffer {
  const words = ['delivered', 'shipped', 'Main Street', 'New York', 'cotton', 'visa', 'captured'];
  return Buffer.from(Array.from({ length: rows }, (_, i) => `${JSON.stringify({ id: i, status: words[i % 7], city: words[(i * 3) % 7], total: (i * 7919) % 100000 / 100, note: i % 11 ? null : 'ring twice' })}\n`).join(''));
}

async function run(transform: NodeJS.ReadWriteStream, input: Buffer, chunkBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < input.length; at += chunkBytes) chunks.push(input.subarray(at, at + chunkBytes));
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), transform, async (source: AsyncIterable<string | Buffer>) => {
    for await (const chunk of source) out.push(Buffer.from(chunk));
  });
  return Buffer.concat(out);
}

async function roundTrip(codec: Codec, input: Buffer, chunkBytes: number): Promise<{ compressed: Buffer; restored: Buffer }> {
  const compressed = await run(compressor(codec), input, chunkBytes);
  return { compressed, restored: await run(decompressor(codec), compressed, chunkBytes) };
}

/** A zstd frame header (no checksum, no size) followed by `blocks` RLE blocks of 128 KiB each. */
function rleFrame(blocks: number): Buffer {
  const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]);
  const block = (last: boolean) => {
    const value = (128 * 1024 * 8) | (1 << 1) | (last ? 1 : 0);
    return Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, 0x61]);
  };
  return Buffer.concat([header, ...Array.from({ length: blocks }, (_, i) => block(i === blocks - 1))]);
}

describe('table file codecs', () => {
  const text = ndjson(120_000);

  it('text spans several zstd frames', () => {
    expect(text.length).toBeGreaterThan(2 * ZSTD_FRAME_BYTES);
  });

  for (const codec of ['zstd', 'gzip'] as const) {
    it(`${codec}: round trip of NDJSON in chunks of any size`, async () => {
      for (const chunkBytes of [1 << 20, 65_536, 777]) {
        const { compressed, restored } = await roundTrip(codec, text, chunkBytes);
        expect(restored.equals(text)).toBe(true);
        expect(compressed.length).toBeLessThan(text.length / 4);
      }
    });

    it(`${codec}: round trip of incompressible bytes and of nothing`, async () => {
      const noise = randomBytes(3 * 1024 * 1024 + 17);
      expect((await roundTrip(codec, noise, 1 << 20)).restored.equals(noise)).toBe(true);
      const empty = await roundTrip(codec, Buffer.alloc(0), 1024);
      expect(empty.restored.length).toBe(0);
      // An empty table is a small valid file, never 0 bytes (what a lost write leaves).
      expect(empty.compressed.length).toBeGreaterThan(0);
    });
  }

  it('zstd output is a standard zstd stream: a decoder that knows nothing of frames-per-2 MiB reads it whole', async () => {
    const compressed = await run(compressor('zstd'), text, 1 << 20);
    expect(compressed.readUInt32LE(0)).toBe(0xfd2fb528);
    expect((await bindingDecompress(compressed)).equals(text)).toBe(true);
  });

  it('zstd writer with releaseInput reuses pooled chunks and blocks only once their bytes are in a frame: chunks from the pool, refilled as soon as they come back, round-trip exactly', async () => {
    const input = ndjson(120_000);
    const reusedBefore = new Set<ArrayBufferLike>();
    // Like CopyOutStream: each chunk is a pooled buffer, taken again as soon as the writer gives one back.
    const source = Readable.from(
      (function* () {
        for (let at = 0; at < input.length; at += 300_000) {
          const chunk = streamBuffers.take();
          reusedBefore.add(chunk.buffer);
          const size = input.copy(chunk, 0, at, at + 300_000);
          yield chunk.subarray(0, size);
        }
      })(),
      { objectMode: false },
    );
    // Meanwhile anyone may take an idle buffer and write all over it: a block given back while the
    // thread pool still compresses it would come out corrupted.
    let scribbling = true;
    const scribble = () => {
      if (!scribbling) return;
      const idle = streamBuffers.take();
      idle.fill(0xee);
      streamBuffers.give(idle);
      setImmediate(scribble);
    };
    scribble();
    const out: Buffer[] = [];
    await pipeline(source, compressor('zstd', undefined, { releaseInput: true }), async (frames: AsyncIterable<Buffer>) => {
      for await (const frame of frames) out.push(frame);
    }).finally(() => (scribbling = false));
    const restored = await run(decompressor('zstd'), Buffer.concat(out), 64 * 1024);
    expect(input.length).toBeGreaterThan(3 * ZSTD_FRAME_BYTES);
    expect(restored.equals(input)).toBe(true);
    // The chunks went back to the pool: fewer distinct buffers than chunks were needed.
    expect(reusedBefore.size).toBeLessThan(Math.ceil(input.length / 300_000));
  });

  it('zstd writer with releaseInput gives a supabase page buffer back to its pool too, once its bytes are copied', async () => {
    const input = ndjson(30_000);
    const page = pageBuffers.take();
    const size = input.copy(page);
    const idle = pageBuffers.idleCount;
    const compressed = await run(compressor('zstd', undefined, { releaseInput: true }), page.subarray(0, size), size);
    expect(pageBuffers.idleCount).toBe(idle + 1);
    expect((await run(decompressor('zstd'), compressed, 64 * 1024)).equals(input.subarray(0, size))).toBe(true);
  });

  it('zstd writer without releaseInput leaves its input chunks alone, pooled or not', async () => {
    const chunk = streamBuffers.take();
    chunk.fill(0x61);
    await run(compressor('zstd'), chunk, chunk.length);
    const next = streamBuffers.take();
    expect(next.buffer).not.toBe(chunk.buffer);
    expect(chunk.every((byte) => byte === 0x61)).toBe(true);
    streamBuffers.give(next);
  });

  for (const pooledOutput of ['read-at-once', 'passed-on'] as const) {
    it(`zstd reader with pooledOutput ${pooledOutput} hands out each frame in a pooled block, which the reader reuses once given back; the bytes are the same`, async () => {
      const compressed = await run(compressor('zstd'), text, 1 << 20);
      const blocks = new Set<ArrayBufferLike>();
      const out: Buffer[] = [];
      let frames = 0;
      await pipeline(Readable.from([compressed]), decompressor('zstd', { pooledOutput }), async (chunks: AsyncIterable<Buffer>) => {
        for await (const chunk of chunks) {
          frames++;
          expect(streamBuffers.owns(chunk)).toBe(true);
          blocks.add(chunk.buffer);
          out.push(Buffer.from(chunk));
          // Written over once given back: a block still in the stream when it is reused would show it.
          streamBuffers.give(chunk);
          const idle = streamBuffers.take();
          idle.fill(0xee);
          streamBuffers.give(idle);
        }
      });
      expect(Buffer.concat(out).equals(text)).toBe(true);
      expect(frames).toBeGreaterThan(2);
      expect(blocks.size).toBeLessThan(frames);
    });
  }

  it('zstd reader with pooledOutput takes no block for an empty table\'s frame (nothing to hand out, nothing given back)', async () => {
    const empty = await run(compressor('zstd'), Buffer.alloc(0), 1024);
    const held = Array.from({ length: 32 }, () => streamBuffers.take());
    const before = streamBuffers.madeBytes;
    try {
      for (let i = 0; i < 4; i++) expect((await run(decompressor('zstd', { pooledOutput: 'read-at-once' }), empty, 1024)).length).toBe(0);
      expect(streamBuffers.madeBytes).toBe(before);
    } finally {
      for (const block of held) streamBuffers.give(block);
    }
  });

  it('zstd reader with pooledOutput hands a frame larger than a pooled block on as the binding made it', async () => {
    const frame = rleFrame(12); // 1.5 MiB of 'a' in one frame, as another zstd writer may make
    const chunks: Buffer[] = [];
    await pipeline(Readable.from([frame]), decompressor('zstd', { pooledOutput: 'read-at-once' }), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) chunks.push(chunk);
    });
    expect(chunks).toHaveLength(1);
    expect(streamBuffers.owns(chunks[0]!)).toBe(false);
    expect(chunks[0]!.equals(Buffer.alloc(12 * 128 * 1024, 'a'))).toBe(true);
  });

  it('zstd reader without pooledOutput hands out buffers of its own', async () => {
    const compressed = await run(compressor('zstd'), text, 1 << 20);
    await pipeline(Readable.from([compressed]), decompressor('zstd'), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) expect(streamBuffers.owns(chunk)).toBe(false);
    });
  });

  it('zstd reader refuses bytes that are not zstd, and a stream cut inside a frame', async () => {
    await expect(run(decompressor('zstd'), Buffer.from('{"id":1}\n{"id":2}\n'), 1024)).rejects.toThrow(/not a zstd frame/);
    await expect(run(decompressor('zstd'), Buffer.alloc(0), 1024)).rejects.toThrow(/no zstd frame/);
    const compressed = await run(compressor('zstd'), text, 1 << 20);
    await expect(run(decompressor('zstd'), compressed.subarray(0, compressed.length - 100), 65_536)).rejects.toThrow(/ends inside a frame/);
  });

  it('zstd reader refuses a frame that would inflate beyond the bound, before decompressing it', async () => {
    const blocks = MAX_ZSTD_FRAME_CONTENT / (128 * 1024) + 2;
    await expect(run(decompressor('zstd'), rleFrame(blocks), 4096)).rejects.toThrow(/more than 32 MiB/);
    // The same kind of frame within the bound is an ordinary one: 4 RLE blocks of 'a'.
    expect((await run(decompressor('zstd'), rleFrame(4), 4096)).equals(Buffer.alloc(4 * 128 * 1024, 'a'))).toBe(true);
  });

  it('ICONIC_DR_COMPRESSION picks the codec; zstd by default; anything else is a configuration error', () => {
    expect(configuredCodec({})).toBe('zstd');
    expect(configuredCodec({ ICONIC_DR_COMPRESSION: 'gzip' })).toBe('gzip');
    expect(() => configuredCodec({ ICONIC_DR_COMPRESSION: 'brotli' })).toThrow(/ICONIC_DR_COMPRESSION must be gzip or zstd/);
  });

  it('gzip output is plain gzip', async () => {
    const compressed = await run(compressor('gzip'), text, 1 << 20);
    expect(gunzipSync(compressed).equals(text)).toBe(true);
  });
});
