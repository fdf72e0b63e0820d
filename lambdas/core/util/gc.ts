import v8 from 'node:v8';
import vm from 'node:vm';

let gc: ((options?: { type: 'minor'; execution: 'sync' }) => void) | null | undefined;

/**
 * A garbage collection, where this Node allows one to be asked for. Buffers made outside V8's heap
 * (socket chunks, native zstd output) are freed only when a collection finds them dead, and the
 * small JS heap of a streaming copy rarely prompts one, so dead megabytes pile up in RSS. Callers
 * ask every few MiB of such buffers (docs/performance.md).
 *
 * `minor` (a scavenge of the young generation, about a millisecond) frees what died since the last
 * one, which is all a pipeline that reuses its long-lived buffers leaves (util/buffer-pool.ts);
 * `major` also sweeps the old generation, tens of milliseconds on a CLI's heap.
 */
export function collectGarbage(kind: 'minor' | 'major' = 'major'): void {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as typeof gc;
    } catch {
      gc = null;
    }
  }
  // In Node 20 a scavenge frees the dead buffers' memory right away only with `execution: 'sync'`
  // (without it they were still counted 300 ms later), and `{type: 'major'}` only scavenges: the
  // full collection is the call without options.
  if (kind === 'minor') gc?.({ type: 'minor', execution: 'sync' });
  else gc?.();
}
