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
export function instantiate<Exports extends ModuleMemory>(base64: string): Exports | undefined {
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

/** The module's memory as bytes, grown to at least `bytes` (throws a RangeError when it cannot grow). */
export function memoryOf(exports: ModuleMemory, bytes = 0): Uint8Array {
  const memory = exports.memory;
  if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
  // A grown memory has a new buffer (the old one is detached).
  return new Uint8Array(memory.buffer);
}
