import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import { ConfigError } from '../errors.js';
import { giveBack, streamBuffers } from '../util/buffer-pool.js';
import { CollectionSchedule, readerCollections } from '../util/gc.js';
import { DEFAULT_ROW_ENCODING, rowsSuffix, type RowEncoding } from './row-encoding.js';

/**
 * The codecs of table files (docs/format.md). zstd is the default: on shop data (JSON rows whose
 * keys repeat) it is ~25 % smaller than gzip level 1 for less CPU, and decompresses several times
 * faster (docs/performance.md). gzip stays readable, and writable with ICONIC_DR_COMPRESSION=gzip
 * for readers older than zstd support.
 */
export const CODECS = ['gzip', 'zstd'] as const;
export type Codec = (typeof CODECS)[number];

export const DEFAULT_CODEC: Codec = 'zstd';

const CODEC_SUFFIXES: Readonly<Record<Codec, string>> = { gzip: '.gz', zstd: '.zst' };

/** `.ndjson.zst`, `.copy.zst`, `.ndjson.gz`, `.copy.gz`. */
export function fileSuffix(codec: Codec, rows: RowEncoding = DEFAULT_ROW_ENCODING): string {
  return `${rowsSuffix(rows)}${CODEC_SUFFIXES[codec]}`;
}

/** The codec backups are written with: ICONIC_DR_COMPRESSION (`zstd` | `gzip`) when set, else zstd. */
export function configuredCodec(env: NodeJS.ProcessEnv = process.env): Codec {
  const raw = env.ICONIC_DR_COMPRESSION;
  if (raw === undefined || raw === '') return DEFAULT_CODEC;
  if (!(CODECS as readonly string[]).includes(raw)) throw new ConfigError(`Invalid environment: ICONIC_DR_COMPRESSION must be ${CODECS.join(' or ')}`);
  return raw as Codec;
}

const MiB = 1024 * 1024;

/**
 * Uncompressed bytes per zstd frame. Every file is a sequence of independent frames so that any
 * reader holds at most one frame in memory, whichever zstd it has: a one-shot binding (Node 20) or
 * node:zlib (Node >= 22.15, the Lambda runtime). 1 MiB frames cost ~2 % in size against 2 MiB (measured at level 6) and hold less memory.
 */
export const ZSTD_FRAME_BYTES = streamBuffers.bufferBytes;

/**
 * A frame that could inflate beyond this is refused unread (a writer following docs/format.md stays
 * far below): a few hostile bytes must not make the reader allocate gigabytes.
 */
export const MAX_ZSTD_FRAME_CONTENT = 32 * MiB;

/**
 * The binding's output buffers live outside V8's heap and are freed only by a collection, which a
 * stream's small heap seldom prompts, so streams ask for one every few MiB (util/gc.ts). The counts
 * are per direction, not per stream: a collection frees every stream's dead buffers. Measured with
 * the CLI on the realistic shop (docs/performance.md):
 *
 * Compressing, the input blocks and COPY chunks are reused (util/buffer-pool.ts), and what is left
 * (the compressed frames) dies young: a scavenge every 4 MiB frees it. COPY-text backup: no
 * collection 154-164 MiB peak RSS; a full one every 4 MiB 121-123 MiB; a scavenge every 4 MiB
 * 122-123 MiB for less CPU.
 *
 * Decompressing, every reader lets go of each chunk once it has moved on: validate checks rows where
 * they lie (as bytes, json-bytes.ts and copy-text-lines.ts), restore converts or sends them. So a
 * scavenge every 4 MiB frees the chunks; the few still in use at a scavenge are promoted, and a full
 * collection every 24 MiB frees those. Against the full collection every 6 MiB needed while validate
 * parsed rows into objects: COPY-text validate 118-125 MiB (was 114-116), NDJSON restore 0.6 s less
 * client CPU at 135-139 MiB (was 132), 0.36 s in full collections instead of 1.24 (scavenges
 * alone: 137-142 MiB).
 *
 * With glibc's arenas capped (`MALLOC_ARENA_MAX=2` in the environment, util/gc.ts), freed buffers
 * are reused instead of kept per thread, which leaves room for a full collection every 48 MiB
 * instead (readerCollections). NDJSON validate, five alternated runs: 1.03 s / 1.42 CPU-s /
 * 107-112 MiB, against 1.11 s / 1.56 CPU-s / 113-119 MiB uncapped every 24 MiB; 118-135 MiB at
 * scale 4 (uncapped 120-124). With no forced full collection at all it was faster again (0.97 s) but
 * peaked at 137-143 MiB at scale 4: V8's own collections let dead buffers pile up as data grows.
 * (Measured before validate decompressed into pooled blocks: `readAtOnce` below.)
 */
const COLLECTIONS = {
  compress: new CollectionSchedule({ minor: 4 * MiB }),
  decompress: new CollectionSchedule(readerCollections()),
  /**
   * Decompressing into pooled blocks for a reader that reads each chunk as it arrives
   * (`pooledOutput: 'read-at-once'`): the binding's buffer is dropped as soon as it is copied, so it
   * dies young and a scavenge frees it. A scavenge every 16 MiB and a full collection every 96 MiB:
   * NDJSON validate with the WebAssembly row check, five alternated runs on the bench shop, 0.70 s
   * median / 1.03 CPU-s / 123-130 MiB against 0.77 s / 1.10 / 110-114 every 4 and 48 MiB; at scale
   * 4, 2.33 s / 128-137 MiB against 2.60 s / 114-116 (none at all: 2.24 s / 136-137 MiB; docs/
   * performance.md, "Fourteenth session"). Restore's chunks pass through more stages
   * (`'passed-on'`): every 48 MiB raised its peak to 119-130 MiB, so it keeps `decompress`.
   */
  readAtOnce: new CollectionSchedule({ minor: 16 * MiB, major: 96 * MiB }),
};

/**
 * Frames compressed at once per stream. One: the backup runs one stream per job, which already
 * keeps both cores busy, and every frame in flight holds its input, output and a zstd context.
 */
const FRAMES_IN_FLIGHT = 1;

/**
 * Default levels. zstd 3: a third smaller than gzip 1 on the realistic shop for about its CPU. zstd 6
 * reaches pg_dump's size (1.02x) but made the whole backup's client CPU 7.5 s instead of 4.3 s,
 * more than pg_dump -Fc spends (5.6 s): `--compression-level 6` when size matters more than time.
 * gzip 1 as before (docs/performance.md).
 */
export const DEFAULT_LEVELS: Readonly<Record<Codec, number>> = { gzip: 1, zstd: 3 };
// Copy-text backups default to zstd 5 instead: backup.ts defaultCompressionLevel.

/** zstd: node:zlib's where present, else the @mongodb-js/zstd binding. */
interface ZstdEngine {
  readonly name: string;
  /** Compresses one stream's blocks, one frame each, in the order asked. */
  frameCompressor(level: number): FrameCompressor;
  decompress(frame: Buffer, maxBytes: number): Promise<Buffer>;
}

interface FrameCompressor {
  /** One independent frame holding `block`. */
  compress(block: Buffer): Promise<Buffer>;
  /** Frees what the compressor holds; no frame is asked for after. */
  close(): void;
}

type ZstdCompressStream = Transform & { flush(kind: number, callback: (error?: Error | null) => void): void };

interface NodeZstd {
  createZstdCompress(options: { chunkSize: number; params: Record<number, number> }): ZstdCompressStream;
  zstdDecompress(data: Buffer, options: { chunkSize: number; maxOutputLength: number }, callback: (error: Error | null, result: Buffer) => void): void;
}

/**
 * Output chunks for node:zlib's zstd. Its default, 16 KiB, costs a trip through the thread pool per
 * chunk and a concatenation at the end: 64 trips to decompress one of our 1 MiB frames. Node 24
 * (the Lambda runtime) validated the bench shop in 1.27-1.31 s against 0.49-0.58 s with the binding on
 * Node 20; decompressing the orders table's frames took 366 ms of CPU, 111 ms in one chunk per frame
 * (docs/performance.md, "Twenty-first session"). Compressed, a frame is ~0.1-0.25 MiB of shop data.
 */
const NODE_ZSTD_CHUNKS = { compress: 256 * 1024, decompress: ZSTD_FRAME_BYTES + 64 * 1024 } as const;

/**
 * One node:zlib zstd stream per writer, ending a frame after each block (ZSTD_e_end): zstd starts
 * the next frame afresh, so the frames are as independent as one-shot ones (the same bytes; only an
 * empty frame's header differs, declaring its size of 0), while the context and its tables are made
 * once instead of once per frame: 20 % less compression CPU on Node 24 (docs/performance.md,
 * "Twenty-first session").
 */
class NodeFrameCompressor implements FrameCompressor {
  private readonly stream: ZstdCompressStream;
  private output: Buffer[] = [];
  private failure: Error | undefined;
  private previous: Promise<unknown> = Promise.resolve();

  constructor(
    create: NodeZstd['createZstdCompress'],
    levelParameter: number,
    level: number,
    private readonly endFrame: number,
  ) {
    this.stream = create({ chunkSize: NODE_ZSTD_CHUNKS.compress, params: { [levelParameter]: level } });
    // Flowing: each output chunk arrives as node:zlib makes it, before the flush that asked for it completes.
    this.stream.on('data', (chunk: Buffer) => this.output.push(chunk));
    this.stream.on('error', (error: Error) => {
      this.failure ??= error;
    });
  }

  compress(block: Buffer): Promise<Buffer> {
    const frame = this.previous.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failure) return reject(this.failure);
          if (block.length > 0) this.stream.write(block);
          this.stream.flush(this.endFrame, (error) => {
            const failure = error ?? this.failure;
            if (failure) return reject(failure);
            const out = this.output.length === 1 ? this.output[0]! : Buffer.concat(this.output);
            this.output = [];
            resolve(out);
          });
        }),
    );
    this.previous = frame.catch(() => undefined);
    return frame;
  }

  close(): void {
    this.stream.destroy();
  }
}

function nodeZstd(): ZstdEngine | undefined {
  const z = zlib as unknown as Partial<NodeZstd> & { constants: Record<string, number> };
  const { ZSTD_c_compressionLevel: levelParameter, ZSTD_e_end: endFrame } = z.constants;
  if (typeof z.createZstdCompress !== 'function' || typeof z.zstdDecompress !== 'function' || levelParameter === undefined || endFrame === undefined) return undefined;
  const { createZstdCompress, zstdDecompress } = z as NodeZstd;
  return {
    name: 'node:zlib',
    frameCompressor: (level) => new NodeFrameCompressor(createZstdCompress, levelParameter, level, endFrame),
    decompress: (frame, maxBytes) =>
      new Promise((resolve, reject) => zstdDecompress(frame, { chunkSize: Math.min(NODE_ZSTD_CHUNKS.decompress, maxBytes), maxOutputLength: maxBytes }, (error, out) => (error ? reject(error) : resolve(out)))),
  };
}

let engine: Promise<ZstdEngine> | undefined;

/**
 * The zstd this process uses. The binding is imported only where node:zlib lacks zstd, so the
 * Lambda bundle (Node 24) does not ship it; both write standard frames, so either reads the other's.
 */
export function zstdEngine(): Promise<ZstdEngine> {
  engine ??= (async () => {
    const builtIn = nodeZstd();
    if (builtIn) return builtIn;
    let binding: { compress(data: Buffer, level: number): Promise<Buffer>; decompress(data: Buffer): Promise<Buffer> };
    try {
      // The native binding itself: the package's index.js wrapper drops the level argument (always 3).
      const specifier = '@mongodb-js/zstd/bindings.js';
      const loaded = (await import(specifier)) as typeof binding & { default?: typeof binding };
      binding = typeof loaded.compress === 'function' ? loaded : loaded.default!;
    } catch (error) {
      throw new ConfigError(`zstd is not available: this Node.js (${process.version}) has no zstd in node:zlib and the @mongodb-js/zstd package could not be loaded (${(error as Error).message}); run npm ci, use Node.js 22.15 or newer, or write gzip with ICONIC_DR_COMPRESSION=gzip`, { cause: error });
    }
    return { name: '@mongodb-js/zstd', frameCompressor: (level) => ({ compress: (block) => binding.compress(block, level), close: () => undefined }), decompress: (frame) => binding.decompress(frame) };
  })();
  engine.catch(() => {
    engine = undefined;
  });
  return engine;
}

/**
 * Copies input into ZSTD_FRAME_BYTES blocks and emits each as one zstd frame, in order. Blocks come
 * from `streamBuffers` and go back once compressed; with `releaseInput`, input chunks from the shared
 * pools (COPY output, supabase pages) go back once copied, so a backup reuses a few buffers instead of
 * leaving two per MiB for the collector.
 */
class ZstdFrameWriter extends Transform {
  private block: Buffer | undefined;
  private filled = 0;
  private readonly inFlight: Promise<Buffer>[] = [];
  private started = false;
  private frames: Promise<FrameCompressor> | undefined;

  constructor(
    private readonly level: number,
    private readonly releaseInput: boolean,
  ) {
    super({ highWaterMark: 256 * 1024 });
  }

  private compressor(): Promise<FrameCompressor> {
    this.frames ??= zstdEngine().then((z) => z.frameCompressor(this.level));
    return this.frames;
  }

  /** Frees the compressor once no frame is asked for any more: at the end, or when the stream fails. */
  private closeCompressor(): void {
    this.frames?.then((c) => c.close(), () => undefined);
    this.frames = undefined;
  }

  /** Compresses the block filled so far; resolves once no more than FRAMES_IN_FLIGHT frames are pending. */
  private async emitBlock(): Promise<void> {
    const block = this.block ?? Buffer.alloc(0);
    const content = block.subarray(0, this.filled);
    this.block = undefined;
    this.filled = 0;
    this.started = true;
    const frame = this.compressor().then((c) => c.compress(content));
    // Awaited in order later; until then a failure must not count as unhandled.
    frame.then(() => streamBuffers.give(block), () => undefined);
    this.inFlight.push(frame);
    COLLECTIONS.compress.count(content.length);
    while (this.inFlight.length >= FRAMES_IN_FLIGHT) this.push(await this.inFlight.shift()!);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    void (async () => {
      let at = 0;
      while (at < chunk.length) {
        this.block ??= streamBuffers.take();
        const copied = chunk.copy(this.block, this.filled, at, Math.min(chunk.length, at + this.block.length - this.filled));
        this.filled += copied;
        at += copied;
        if (this.filled === this.block.length) await this.emitBlock();
      }
      if (this.releaseInput) giveBack(chunk);
    })().then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    void (async () => {
      // An empty table still gets one (empty) frame: a 0-byte file is what a lost write leaves.
      if (this.filled > 0 || !this.started) await this.emitBlock();
      while (this.inFlight.length) this.push(await this.inFlight.shift()!);
      this.closeCompressor();
    })().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closeCompressor();
    callback(error);
  }
}

/** Bytes that are not a zstd stream as docs/format.md describes it. */
export class ZstdFormatError extends Error {}

type FrameScan = { readonly complete: false } | { readonly complete: true; readonly length: number; readonly data: boolean };

const ZSTD_MAGIC = 0xfd2fb528;
const BLOCK_MAXIMUM = 128 * 1024;

/**
 * Finds where the frame starting at `at` ends (RFC 8878), without decompressing: frame header, then
 * block headers to the last block, then the optional checksum. Bounds what the frame can inflate to
 * (raw and RLE blocks state their size, a compressed block is at most 128 KiB).
 */
function scanFrame(buf: Buffer, at: number, end: number): FrameScan {
  if (end - at < 8) return { complete: false };
  const magic = buf.readUInt32LE(at);
  if ((magic & 0xfffffff0) === 0x184d2a50) {
    const length = 8 + buf.readUInt32LE(at + 4);
    return end - at >= length ? { complete: true, length, data: false } : { complete: false };
  }
  if (magic !== ZSTD_MAGIC) throw new ZstdFormatError(`not a zstd frame at byte ${at} (magic ${magic.toString(16)})`);
  const descriptor = buf[at + 4]!;
  if (descriptor & 0x08) throw new ZstdFormatError('a zstd frame header sets its reserved bit');
  const singleSegment = (descriptor >> 5) & 1;
  const fcsFlag = descriptor >> 6;
  const fcsBytes = fcsFlag === 0 ? singleSegment : [0, 2, 4, 8][fcsFlag]!;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3]!;
  let pos = at + 5 + (singleSegment ? 0 : 1) + dictionaryBytes + fcsBytes;
  let content = 0;
  for (;;) {
    if (end - pos < 3) return { complete: false };
    const header = buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16);
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw new ZstdFormatError('a zstd block has the reserved type');
    if (size > BLOCK_MAXIMUM) throw new ZstdFormatError(`a zstd block claims ${size} bytes, more than the format's ${BLOCK_MAXIMUM}`);
    content += type === 2 ? BLOCK_MAXIMUM : size;
    if (content > MAX_ZSTD_FRAME_CONTENT + BLOCK_MAXIMUM) throw new ZstdFormatError(`a zstd frame holds more than ${MAX_ZSTD_FRAME_CONTENT / MiB} MiB (the format's bound per frame)`);
    pos += 3 + (type === 1 ? 1 : size);
    if (last) break;
  }
  pos += descriptor & 0x04 ? 4 : 0;
  return end >= pos ? { complete: true, length: pos - at, data: true } : { complete: false };
}

/** Splits the input into zstd frames and decompresses them one at a time, in order. */
class ZstdFrameReader extends Transform {
  private buf = Buffer.alloc(0);
  private readAt = 0;
  private sawFrame = false;
  private writeAt = 0;

  constructor(private readonly pooledOutput: PooledOutput | undefined) {
    super({ highWaterMark: 256 * 1024 });
  }

  /** Appends without re-copying the whole buffer per chunk: compacts, and doubles when full. */
  private append(chunk: Buffer): void {
    if (this.writeAt + chunk.length > this.buf.length) {
      const live = this.writeAt - this.readAt;
      const next = live + chunk.length > this.buf.length ? Buffer.allocUnsafe(Math.max(2 * this.buf.length, live + chunk.length, 256 * 1024)) : this.buf;
      this.buf.copy(next, 0, this.readAt, this.writeAt);
      this.buf = next;
      this.readAt = 0;
      this.writeAt = live;
    }
    chunk.copy(this.buf, this.writeAt);
    this.writeAt += chunk.length;
  }

  private async drain(): Promise<void> {
    const z = await zstdEngine();
    // A destroyed stream (its reader gone, an error downstream) decompresses nothing more.
    while (!this.destroyed) {
      const scan = scanFrame(this.buf, this.readAt, this.writeAt);
      if (!scan.complete) return;
      // No copy: the next input is appended only after this frame is decompressed (the callback
      // of _transform waits for drain), so the thread pool reads bytes that stay as they are.
      const frame = this.buf.subarray(this.readAt, this.readAt + scan.length);
      this.readAt += scan.length;
      this.sawFrame = true;
      if (!scan.data) continue;
      const content = await z.decompress(frame, MAX_ZSTD_FRAME_CONTENT + BLOCK_MAXIMUM);
      // An empty table's one frame holds nothing: nothing to push, and no block to take.
      if (content.length === 0) continue;
      if (this.pooledOutput && content.length <= streamBuffers.bufferBytes) {
        const block = streamBuffers.take();
        content.copy(block);
        (this.pooledOutput === 'read-at-once' ? COLLECTIONS.readAtOnce : COLLECTIONS.decompress).count(content.length);
        this.push(block.subarray(0, content.length));
        continue;
      }
      COLLECTIONS.decompress.count(content.length);
      // A Buffer Node makes over the binding's bytes (no copy): the binding's own are of another hidden
      // class, and restore's line splitter, fed them, fell out of its optimized code 21 times per
      // restore of the bench shop, against 3 (docs/performance.md, "Tenth session").
      this.push(Buffer.from(content.buffer, content.byteOffset, content.length));
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.append(chunk);
    this.drain().then(() => callback(), callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.writeAt > this.readAt) callback(new ZstdFormatError(`the zstd stream ends inside a frame (${this.writeAt - this.readAt} bytes left over)`));
    else if (!this.sawFrame) callback(new ZstdFormatError('no zstd frame: the file is empty'));
    else callback();
  }
}

/** How a compressor may treat its input. */
export interface CompressorOptions {
  /**
   * Give each input chunk that came from a shared pool (`streamBuffers`, `pageBuffers`) back to it
   * once its bytes are copied into a frame. Only for a pipeline where nothing else still holds the
   * chunks: the backup's, fed by CopyOutStream or the supabase driver's pages (each handed over as
   * it is pushed) through LineCounter (which keeps none). A stage that kept a view of a chunk would
   * see it overwritten. @default false
   */
  readonly releaseInput?: boolean;
}

/** A stream that compresses with `codec`. `level` is the codec's level (zstd 1-19, gzip 1-9). @default DEFAULT_LEVELS */
export function compressor(codec: Codec, level = DEFAULT_LEVELS[codec], options: CompressorOptions = {}): Transform {
  // gzip keeps its 4 KiB window: the fallback codec favours speed, as it did as the only one.
  return codec === 'zstd' ? new ZstdFrameWriter(level, options.releaseInput === true) : zlib.createGzip({ level, windowBits: 12, memLevel: 8, chunkSize: 256 * 1024 });
}

/**
 * Pooled output, and how the reader takes it: `read-at-once`, each chunk read where it lies as it
 * arrives (validate's row checks); `passed-on`, through further stream stages first (restore's row
 * limit and converter). The second asks for full collections twice as often (COLLECTIONS).
 */
export type PooledOutput = 'read-at-once' | 'passed-on';

/** How a decompressor may hand out its output. */
export interface DecompressorOptions {
  /**
   * Hand out each zstd frame of up to 1 MiB (every frame our writers make) in a block of
   * `streamBuffers`, which the reader gives back (`streamBuffers.give`) once it has read the chunk
   * and keeps no view of it; the binding's own buffer is dropped at once. Only for a reader that
   * gives back every chunk once read: a chunk given back while anything still reads it would be
   * overwritten. Unset: the binding's buffers are handed on. @default undefined
   */
  readonly pooledOutput?: PooledOutput;
}

export function decompressor(codec: Codec, options: DecompressorOptions = {}): Transform {
  return codec === 'zstd' ? new ZstdFrameReader(options.pooledOutput) : zlib.createGunzip({ chunkSize: 256 * 1024 });
}
