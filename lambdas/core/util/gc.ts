import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | null | undefined;

/**
 * A full garbage collection, where this Node allows one to be asked for. Buffers made outside V8's
 * heap (socket chunks, native zstd output) are freed only when a collection finds them dead, and
 * the small JS heap of a streaming copy rarely prompts one, so dead megabytes pile up in RSS.
 * Callers ask every few MiB of such buffers (docs/performance.md).
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
