/** The part of the WebAssembly API used here (the project's type libraries do not declare it). */
interface WebAssemblyApi {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object, imports: object) => { readonly exports: unknown };
}

/** What every module of this folder exports besides its functions (bin/build-wasm.mjs links them so). */
export interface ModuleMemory {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly __heap_base: { readonly value: number };
}

export const PAGE = 64 * 1024;
export const MAX_INT32 = 2 ** 31 - 1;

const wasm = (globalThis as { WebAssembly?: WebAssemblyApi }).WebAssembly;
const compiled = new Map<string, object | null>();

export const align = (n: number, to: number) => Math.ceil(n / to) * to;

/**
 * A new instance of the embedded module (compiled once per process), or undefined where this
 * runtime has no WebAssembly with SIMD or the instance cannot be made: callers then do the work in
 * JavaScript.
 */
function instantiate<Exports extends ModuleMemory>(base64: string): Exports | undefined {
  if (!wasm) return undefined;
  let module = compiled.get(base64);
  if (module === undefined) {
    try {
      module = new wasm.Module(Buffer.from(base64, 'base64'));
    } catch {
      module = null;
    }
    compiled.set(base64, module);
  }
  if (!module) return undefined;
  try {
    return new wasm.Instance(module, {}).exports as Exports;
  } catch {
    return undefined;
  }
}

/**
 * `make(exports)` on a new instance of the embedded module, or undefined where that cannot be had
 * (no WebAssembly SIMD, memory refused): callers then do the work in JavaScript.
 */
export function withInstance<Exports extends ModuleMemory, T>(base64: string, make: (exports: Exports) => T): T | undefined {
  const exports = instantiate<Exports>(base64);
  if (!exports) return undefined;
  try {
    return make(exports);
  } catch {
    return undefined;
  }
}

/**
 * Where a table's keys go in a module's memory: back to back from the heap's start (16-byte aligned),
 * `slack` zero bytes after them, then their lengths as int32s; `end` is the first byte after.
 */
export function keyRegions(exports: ModuleMemory, keys: readonly Uint8Array[], slack: number): { readonly keys: number; readonly keyLengths: number; readonly end: number } {
  const keyBytes = keys.reduce((sum, key) => sum + key.length, 0);
  const at = align(exports.__heap_base.value, 16);
  const keyLengths = align(at + keyBytes + slack, 16);
  return { keys: at, keyLengths, end: keyLengths + 4 * keys.length };
}

/** The module's memory as bytes, grown to at least `bytes` (throws a RangeError when it cannot grow). */
export function memoryOf(exports: ModuleMemory, bytes = 0): Uint8Array {
  const memory = exports.memory;
  if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
  // A grown memory has a new buffer (the old one is detached).
  return new Uint8Array(memory.buffer);
}

/**
 * Writes a table's keys into a module's memory back to back at `keysAt`, zeroes `slack` bytes after
 * them (the module reads 16 bytes at a time), and their lengths as int32s at `lengthsAt`.
 */
export function placeKeys(memory: Uint8Array, keysAt: number, lengthsAt: number, keys: readonly Uint8Array[], slack: number): void {
  let at = keysAt;
  for (const key of keys) {
    memory.set(key, at);
    at += key.length;
  }
  memory.fill(0, at, at + slack);
  const lengths = new Int32Array(memory.buffer, lengthsAt, keys.length);
  keys.forEach((key, i) => (lengths[i] = key.length));
}

/** What a row converter module exports (copy-json.c, copy-binary.c) besides its convert_rows. */
export interface ConverterExports extends ModuleMemory {
  stop(): number;
  reason(): number;
  rows(): number;
}

/** Why a converter module stopped (STOP_* in its C source). */
export const ConverterStop = { end: 0, outputFull: 1, givenBack: 2 } as const;

/** Bytes after each region a converter module may read or write past its end (vector loads and stores, positional reads). */
const SLACK = 64;
/** Output a converter module writes per call at most; the caller copies it out. */
export const CONVERTER_OUTPUT_BYTES = 1024 * 1024;

/**
 * A row converter module's instance and memory: the table's keys (back to back, with their lengths)
 * and each column's kind code, an output region, and the input (last, so that it can grow). A chunk
 * is copied in once (`load`); the subclass's `convert` then runs from any row start inside it and
 * copies what the module wrote out (`copyOut`).
 */
export abstract class ChunkConverter<Exports extends ConverterExports> {
  protected readonly keys: number;
  protected readonly keyLengths: number;
  protected readonly kinds: number;
  protected readonly count: number;
  protected readonly output: number;
  protected readonly input: number;
  private memory: Uint8Array;
  protected loadedFrom = 0;
  protected loadedTo = 0;
  /** Where the last `convert` stopped: an index into the loaded chunk, at a row start. */
  stoppedAt = 0;
  /** Why it stopped (ConverterStop). */
  stopReason = 0;
  /** Rows the last `convert` wrote. */
  rows = 0;

  /** Throws when the memory cannot be had (callers' `for` gives undefined then). */
  protected constructor(
    protected readonly exports: Exports,
    keys: readonly Uint8Array[],
    kinds: Uint8Array,
  ) {
    // The columns: one kind each, and one key each where the rows name them (NDJSON; none in COPY text).
    this.count = kinds.length;
    const regions = keyRegions(exports, keys, SLACK);
    this.keys = regions.keys;
    this.keyLengths = regions.keyLengths;
    this.kinds = align(regions.end, 16);
    this.output = align(this.kinds + kinds.length, 16);
    this.input = align(this.output + CONVERTER_OUTPUT_BYTES + SLACK, PAGE);
    this.memory = memoryOf(exports, this.input + 64 * 1024 + SLACK);
    placeKeys(this.memory, this.keys, this.keyLengths, keys, SLACK);
    this.memory.set(kinds, this.kinds);
  }

  /** Copies `chunk[from, to)` into the module's memory. Throws a RangeError when the memory cannot grow to hold it. */
  load(chunk: Uint8Array, from: number, to: number): void {
    const needed = this.input + (to - from) + SLACK;
    if (needed > this.memory.length) this.memory = memoryOf(this.exports, align(needed, PAGE));
    this.memory.set(chunk.subarray(from, to), this.input);
    this.memory.fill(0, this.input + (to - from), needed);
    this.loadedFrom = from;
    this.loadedTo = to;
  }

  /** Records where and why the module stopped, and copies the `written` bytes it wrote to `target[targetAt]`. */
  protected copyOut(written: number, target: Uint8Array, targetAt: number): number {
    const e = this.exports;
    this.stoppedAt = this.loadedFrom + e.stop();
    this.stopReason = e.reason();
    this.rows = e.rows();
    if (written > 0) target.set(this.memory.subarray(this.output, this.output + written), targetAt);
    return written;
  }
}
