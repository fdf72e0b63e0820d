import { describe, expect, it } from '@jest/globals';
import { CollectionSchedule, mallocArenasCapped, readerCollections } from '../../../lambdas/core/util/gc.js';

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
