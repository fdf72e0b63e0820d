import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { CollectionSchedule, mallocArenasCapped, readerCollections } from '../../../lambdas/core/util/gc.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('CollectionSchedule', () => {
  it('asks for a scavenge every `minor` bytes and a full collection every `major` bytes, the full one resetting both counts', () => {
    const asked: string[] = [];
    const schedule = new CollectionSchedule({ minor: 4, major: 10 }, (kind) => asked.push(kind));
    for (const bytes of [3, 1, 4, 2, 1, 3, 6]) schedule.count(bytes);
    // 3 | 4: minor | 8: minor | 10: major (not also minor) | 11 | 14: minor | 20: major
    expect(asked).toEqual(['minor', 'minor', 'major', 'minor', 'major']);
  });

  it('without `major` only scavenges, and one large count asks once', () => {
    const asked: string[] = [];
    const schedule = new CollectionSchedule({ minor: 4 }, (kind) => asked.push(kind));
    schedule.count(100);
    schedule.count(3);
    schedule.count(1);
    expect(asked).toEqual(['minor', 'minor']);
  });
});

describe('mallocArenasCapped', () => {
  it('is true only for MALLOC_ARENA_MAX 1 or 2 on Linux, where glibc reads it', () => {
    expect(mallocArenasCapped({ MALLOC_ARENA_MAX: '2' }, 'linux')).toBe(true);
    expect(mallocArenasCapped({ MALLOC_ARENA_MAX: ' 1 ' }, 'linux')).toBe(true);
    expect(mallocArenasCapped({}, 'linux')).toBe(false);
    for (const value of ['', '0', '4', '8', '2x', '12']) expect(mallocArenasCapped({ MALLOC_ARENA_MAX: value }, 'linux')).toBe(false);
    expect(mallocArenasCapped({ MALLOC_ARENA_MAX: '2' }, 'darwin')).toBe(false);
    expect(mallocArenasCapped({ MALLOC_ARENA_MAX: '2' }, 'win32')).toBe(false);
  });

  it('the readers ask for full collections half as often with the arenas capped', () => {
    expect(readerCollections(true)).toEqual({ minor: 4 * 1024 * 1024, major: 48 * 1024 * 1024 });
    expect(readerCollections(false)).toEqual({ minor: 4 * 1024 * 1024, major: 24 * 1024 * 1024 });
  });
});

describe('collectGarbage', () => {
  it('scavenges on the calling thread alone once it has been asked for a collection (V8 --trace-gc-nvp)', async () => {
    // A child process of its own: the flag is process-wide. Young objects enough that V8 would give
    // the scavenge to its helper threads (background time > 0 without the flag, on an idle machine).
    const script = `
      const { collectGarbage } = await import(${JSON.stringify(path.join(root, 'lambdas/core/util/gc.ts'))});
      collectGarbage('minor');
      let keep = [];
      for (let round = 0; round < 6; round++) {
        for (let i = 0; i < 200000; i++) keep.push({ i, s: 'x' + i });
        collectGarbage('minor');
        keep = keep.slice(-1000);
      }
      collectGarbage('major');`;
    // execFile rejects if the child fails; V8 writes its trace to stdout.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--trace-gc-nvp', '--input-type=module', '-e', script], { cwd: root, maxBuffer: 16 << 20 });
    // The scavenges after the first ask (the last ones: 6 asked for, and V8's own in between).
    const scavenges = stdout.split('\n').filter((line) => line.includes(' gc=s '));
    expect(scavenges.length).toBeGreaterThanOrEqual(6);
    for (const line of scavenges.slice(-6)) expect(line).toMatch(/ background\.scavenge\.parallel=0\.00 /);
  });
});
