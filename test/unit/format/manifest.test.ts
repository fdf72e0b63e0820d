import { describe, expect, it } from '@jest/globals';
import { backupIdFor, backupIdToDate, isBackupId } from '../../../lambdas/core/format/ids.js';
import { parseManifest, qualifiedTableName, serializeManifest, tableFileKey, type Manifest } from '../../../lambdas/core/format/manifest.js';

function manifest(): Manifest {
  return {
    formatVersion: 1,
    backupId: '2024-01-15T02-00-00-000Z',
    timestamp: '2024-01-15T02:00:00.000Z',
    completedAt: '2024-01-15T02:00:05.000Z',
    durationMs: 5000,
    tables: ['products'],
    recordCounts: { products: 2 },
    totalRecords: 2,
    totalBytes: 40,
    success: true,
    consistency: 'snapshot',
    purpose: 'backup',
    source: { driver: 'postgres', host: 'db:5432', database: 'shop', serverVersion: '15.4' },
    tableDetails: {
      products: {
        schema: 'public',
        name: 'products',
        records: 2,
        bytes: 40,
        files: [{ key: 'products.ndjson.gz', records: 2, bytes: 40, sha256: 'a'.repeat(64) }],
        columns: [{ name: 'id', type: 'bigint', nullable: false, encoding: 'json' }],
        generatedColumns: [],
        primaryKey: ['id'],
        foreignKeys: [],
      },
    },
    sequences: [],
    compression: 'gzip',
  };
}

describe('backup ids', () => {
  it('are the start time with : and . replaced by -', () => {
    expect(backupIdFor(new Date('2024-01-15T02:00:00.000Z'))).toBe('2024-01-15T02-00-00-000Z');
    expect(isBackupId('2024-01-15T02-00-00-000Z')).toBe(true);
    expect(isBackupId('logs')).toBe(false);
    expect(backupIdToDate('2024-01-15T02-00-00-123Z')?.toISOString()).toBe('2024-01-15T02:00:00.123Z');
    expect(backupIdToDate('2024-13-45T02-00-00-000Z')).toBeUndefined();
  });
});

describe('metadata.json (format v1)', () => {
  it('round-trips through serialize and parse', () => {
    const parsed = parseManifest(serializeManifest(manifest()));
    expect(parsed).toEqual({ ok: true, value: { format: 'v1', manifest: manifest() } });
  });

  it('keeps every field of the plan\'s format', () => {
    const text = JSON.parse(serializeManifest(manifest()));
    for (const field of ['timestamp', 'tables', 'recordCounts', 'totalRecords', 'success']) expect(text).toHaveProperty(field);
  });

  it('reports totals that do not add up, each problem separately', () => {
    const m = manifest();
    m.totalRecords = 3;
    m.totalBytes = 41;
    m.recordCounts.products = 5;
    const parsed = parseManifest(JSON.stringify(m));
    expect(parsed.ok).toBe(false);
    const problems = parsed.ok ? [] : parsed.problems;
    expect(problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/totalRecords is 3/), expect.stringMatching(/totalBytes is 41/), expect.stringMatching(/recordCounts\.products \(5\)/)]),
    );
  });

  it('rejects file keys that could escape the backup folder and malformed checksums', () => {
    const m = manifest();
    m.tableDetails.products!.files[0]!.key = '../evil.gz';
    m.tableDetails.products!.files[0]!.sha256 = 'xyz';
    const parsed = parseManifest(JSON.stringify(m));
    expect(parsed.ok ? [] : parsed.problems.join('\n')).toMatch(/plain file name[\s\S]*SHA-256/);
  });

  it('rejects an unknown format version and non-JSON text', () => {
    expect(parseManifest(JSON.stringify({ ...manifest(), formatVersion: 2 }))).toEqual({ ok: false, problems: [expect.stringMatching(/formatVersion 2 is not supported/)] });
    expect(parseManifest('{"tables": [')).toEqual({ ok: false, problems: [expect.stringMatching(/not valid JSON/)] });
    expect(parseManifest('[]')).toEqual({ ok: false, problems: ['metadata.json is not a JSON object'] });
  });

  it("reads the plan's legacy metadata and checks its totals", () => {
    const legacy = { timestamp: '2024-01-15T02:00:00.000Z', tables: ['products', 'orders'], recordCounts: { products: 2, orders: 3 }, totalRecords: 5, success: true };
    expect(parseManifest(JSON.stringify(legacy))).toMatchObject({ ok: true, value: { format: 'legacy' } });
    expect(parseManifest(JSON.stringify({ ...legacy, totalRecords: 6 }))).toMatchObject({ ok: false, problems: [expect.stringMatching(/totalRecords is 6/)] });
    expect(parseManifest(JSON.stringify({ ...legacy, success: false }))).toMatchObject({ ok: false, problems: [expect.stringMatching(/did not succeed/)] });
  });
});

describe('file naming', () => {
  it('keeps the plan\'s names for public tables and escapes anything unsafe', () => {
    expect(qualifiedTableName('public', 'orders')).toBe('orders');
    expect(qualifiedTableName('sales', 'orders')).toBe('sales.orders');
    expect(tableFileKey('orders')).toBe('orders.ndjson.zst');
    expect(tableFileKey('orders', 1)).toBe('orders.part-0001.ndjson.zst');
    expect(tableFileKey('Mixed Case/Table"')).toBe('Mixed%20Case%2FTable%22.ndjson.zst');
    expect(tableFileKey('żółw')).toBe('%C5%BC%C3%B3%C5%82w.ndjson.zst');
    expect(tableFileKey('orders', undefined, 'gzip')).toBe('orders.ndjson.gz');
  });
});
