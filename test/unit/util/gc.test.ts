import { describe, expect, it } from '@jest/globals';
import { CollectionSchedule } from '../../../lambdas/core/util/gc.js';

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
