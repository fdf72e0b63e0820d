import { describe, expect, it } from '@jest/globals';
import { parseManifest } from '../../../lambdas/core/format/manifest.js';
import { splitBackupLocation } from '../../../lambdas/core/storage/location.js';
import { isSafeName, unsafeKeyReason, unsafeNameReason } from '../../../lambdas/core/storage/names.js';
import { because } from '../../helpers/expect-message.js';

describe('the one safe-name check', () => {
  it('accepts what backups are made of', () => {
    for (const name of ['2024-01-15T02-00-00-000Z', 'metadata.json', 'products.ndjson.gz', 'sales.orders.part-0001.ndjson.gz', '%22odd%20name%22.ndjson.gz', '.claim.json', 'ünïcode.json']) {
      because(name, () => expect(isSafeName(name)).toBe(true));
    }
  });

  it('refuses what would leave a folder or mean something else elsewhere', () => {
    expect(unsafeNameReason('..')).toBe('is a relative folder reference');
    expect(unsafeNameReason('.')).toBe('is a relative folder reference');
    expect(unsafeNameReason('')).toBe('is empty');
    expect(unsafeNameReason('../planted.json')).toBe('contains a path separator');
    expect(unsafeNameReason('..\\planted.json')).toBe('contains a path separator');
    expect(unsafeNameReason('a\u0000b')).toBe('contains a control character');
    expect(unsafeNameReason('x'.repeat(256))).toBe('is longer than 255 bytes');
    expect(unsafeKeyReason('2024-01-15T02-00-00-000Z/../x')).toBe('".." is a relative folder reference');
  });

  it('applies to legacy table names and v1 file keys alike', () => {
    const legacy = parseManifest(JSON.stringify({ timestamp: '2024-01-15T02:00:00.000Z', tables: ['users', '../planted'], recordCounts: { users: 1, '../planted': 1 }, totalRecords: 2, success: true }));
    expect(legacy).toEqual({ ok: false, problems: ['metadata.json tables.1: must be a table name that is also a plain file name'] });
    const windows = parseManifest(JSON.stringify({ timestamp: '2024-01-15T02:00:00.000Z', tables: ['..\\planted'], recordCounts: { '..\\planted': 1 }, totalRecords: 1, success: true }));
    expect(windows.ok).toBe(false);
  });

  it('refuses a backup URL whose last segment is not one folder name', () => {
    expect(() => splitBackupLocation('s3://bucket/prefix/..')).toThrow(/is a relative folder reference/);
  });
});
