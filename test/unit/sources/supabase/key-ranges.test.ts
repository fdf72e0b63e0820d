import { describe, expect, it } from '@jest/globals';
import { splitPoints, splittableKey } from '../../../../lambdas/core/sources/supabase/key-ranges.js';

describe('key ranges of the supabase driver', () => {
  it('cuts integer and uuid keys only', () => {
    expect(['smallint', 'integer', 'bigint'].map(splittableKey)).toEqual(['integer', 'integer', 'integer']);
    expect(splittableKey('uuid')).toBe('uuid');
    for (const type of ['text', 'numeric', 'character varying(20)', 'timestamp with time zone', 'bigint[]']) expect(splittableKey(type)).toBeUndefined();
  });

  it('cuts [min, max] into ranges of nearly equal width, strictly increasing, inside the span', () => {
    expect(splitPoints('integer', '1', '100', 4)).toEqual(['26', '51', '76']);
    expect(splitPoints('integer', '-10', '9', 2)).toEqual(['0']);
    // Each point is the first key of the next range: the ranges [1, 26), [26, 51), ... hold 25 values each.
    for (const [min, max, parts] of [['0', '7', 3], ['5', '1000003', 8], ['-3', '3', 7]] as const) {
      const points = splitPoints('integer', min, max, parts).map(BigInt);
      expect(points.length).toBe(Math.min(parts, Number(BigInt(max) - BigInt(min) + 1n)) - 1);
      expect(points.every((p, i) => p > BigInt(min) && p <= BigInt(max) && (i === 0 || p > points[i - 1]!))).toBe(true);
    }
  });

  it('keeps every digit of bigints a JavaScript number would round', () => {
    expect(splitPoints('integer', '-9223372036854775808', '9223372036854775807', 4)).toEqual(['-4611686018427387904', '0', '4611686018427387904']);
    expect(splitPoints('integer', '9007199254740992', '9007199254740995', 4)).toEqual(['9007199254740993', '9007199254740994', '9007199254740995']);
  });

  it('makes fewer ranges than asked when the span holds fewer values, none when there is nothing to cut', () => {
    expect(splitPoints('integer', '10', '12', 8)).toEqual(['11', '12']);
    expect(splitPoints('integer', '10', '10', 8)).toEqual([]);
    expect(splitPoints('integer', '12', '10', 8)).toEqual([]);
    expect(splitPoints('integer', '1', '100', 1)).toEqual([]);
  });

  it('cuts uuids by their 128-bit value, in the canonical form Postgres orders byte by byte', () => {
    expect(splitPoints('uuid', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 4)).toEqual([
      '40000000-0000-0000-0000-000000000000',
      '80000000-0000-0000-0000-000000000000',
      'c0000000-0000-0000-0000-000000000000',
    ]);
    const points = splitPoints('uuid', '0A6C1D5E-0000-4000-8000-000000000001', 'f0e1d2c3-b4a5-4697-8877-665544332211', 8);
    expect(points).toHaveLength(7);
    // As strings they sort as the values do: what PostgREST's lt./gte. filters compare.
    expect([...points].sort()).toEqual(points);
    expect(points.every((p) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(p) && p > '0a6c1d5e-0000-4000-8000-000000000001' && p <= 'f0e1d2c3-b4a5-4697-8877-665544332211')).toBe(true);
  });

  it('reads a table in one range when a bound is not a value of its kind', () => {
    expect(splitPoints('integer', '1.5', '100', 4)).toEqual([]);
    expect(splitPoints('integer', '1', '1e3', 4)).toEqual([]);
    expect(splitPoints('uuid', 'not-a-uuid', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 4)).toEqual([]);
  });
});
