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
      // Scavenges on this thread alone. V8 splits one among its helper threads and waits for them;
      // where the database, PostgREST and the zstd threads keep the cores busy, the helpers start
      // late, and an asked-for scavenge, meant to take a millisecond, held the event loop for up to
      // 35 ms. V8 reads the flag at every scavenge (docs/performance.md, twentieth session).
      v8.setFlagsFromString('--no-parallel-scavenge');
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

/**
 * Whether glibc's malloc keeps at most two arenas (`MALLOC_ARENA_MAX` 1 or 2 in the environment the
 * process started with: glibc reads it only then, so a running process cannot set it for itself).
 * The zstd binding allocates its output on the libuv threads, and uncapped, each of those threads
 * gets an arena of its own that keeps freed megabytes. Capped, the freed memory is reused, and
 * readers can ask for full collections half as often within the same peak RSS (docs/performance.md,
 * eleventh session; README "Speed"). False off Linux, where the variable means nothing.
 */
export function mallocArenasCapped(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'linux' && /^\s*[12]\s*$/.test(env.MALLOC_ARENA_MAX ?? '');
}

const MiB = 1024 * 1024;

/**
 * When readers of decompressed chunks ask for collections as the bytes go by: a scavenge every 4 MiB,
 * and a full collection every 24 MiB, or every 48 MiB with glibc's arenas capped. Restore reads so;
 * validate, which reads each chunk where it lies as it arrives, scavenges every 16 MiB and collects
 * every 96 MiB either way (format/codec.ts `pooledOutput`, with the measurements behind all three).
 */
export function readerCollections(arenasCapped: boolean = mallocArenasCapped()): { readonly minor: number; readonly major: number } {
  return { minor: 4 * MiB, major: (arenasCapped ? 48 : 24) * MiB };
}

/**
 * Collections asked for as bytes of outside-the-heap buffers go by: a full collection every `major`
 * bytes when set, a scavenge every `minor` bytes in between. A scavenge frees what died young (a
 * chunk let go of once used); what a scavenge found still in use is promoted, and only a full
 * collection frees it later.
 */
export class CollectionSchedule {
  private sinceMinor = 0;
  private sinceMajor = 0;

  constructor(
    private readonly every: { readonly minor?: number; readonly major?: number },
    private readonly collect: (kind: 'minor' | 'major') => void = collectGarbage,
  ) {}

  count(bytes: number): void {
    this.sinceMinor += bytes;
    this.sinceMajor += bytes;
    if (this.every.major !== undefined && this.sinceMajor >= this.every.major) {
      this.sinceMajor = 0;
      this.sinceMinor = 0;
      this.collect('major');
    } else if (this.every.minor !== undefined && this.sinceMinor >= this.every.minor) {
      this.sinceMinor = 0;
      this.collect('minor');
    }
  }
}
