import { describe, expect, it } from '@jest/globals';
import { formatBytes, formatCount, formatDate } from '../../../lambdas/core/util/format.js';

describe('formatCount', () => {
  it('groups integers exactly as en-US Intl does', () => {
    const values = [0, 7, 12, 999, 1000, 1001, 9999, 10_000, 123_456, 999_999, 1_000_000, 1_234_567, 98_765_432_109, Number.MAX_SAFE_INTEGER, -1, -999, -1000, -1_234_567];
    for (const n of values) expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
  });

  it('leaves fractions and unsafe integers to Intl', () => {
    for (const n of [1234.5678, 0.5, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY]) expect(formatCount(n)).toBe(n.toLocaleString('en-US'));
  });
});

describe('formatDate', () => {
  it('writes the month, day, year and UTC time as the en-US short date did', () => {
    for (const iso of ['2026-12-01T09:02:01.947Z', '2024-01-15T02:00:00.000Z', '2025-07-04T23:59:59.999Z', '2000-02-29T00:00:00Z', '2026-03-09T12:30:00+05:30']) {
      const d = new Date(iso);
      const viaIntl = `${d.toLocaleDateString('en-US', { month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC' })} ${d.toISOString().slice(11, 16)} UTC`;
      expect(formatDate(iso)).toBe(viaIntl);
    }
    expect(formatDate('2026-12-01T09:02:01.947Z')).toBe('Dec 1, 2026 09:02 UTC');
  });

  it('shows a dash for no time and passes text that is no time through', () => {
    expect(formatDate(undefined)).toBe('-');
    expect(formatDate('')).toBe('-');
    expect(formatDate('not a date')).toBe('not a date');
  });
});

describe('formatBytes', () => {
  it('keeps the plan style, with an optional separator', () => {
    expect(formatBytes(512)).toBe('512B');
    expect(formatBytes(1536)).toBe('1.5KB');
    expect(formatBytes(42_090_000, ' ')).toBe('40.1 MB');
  });
});
