import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { CopyTextLimit, CopyTextRows, copyTextLineProblem } from '../../../lambdas/core/format/copy-text-lines.js';
import { columnSchema, parseManifest, tableFileKey, type Manifest } from '../../../lambdas/core/format/manifest.js';
import { LineTooLongError } from '../../../lambdas/core/util/streams.js';

const line = (text: string) => Buffer.from(text, 'utf8');

describe('copyTextLineProblem: one COPY text row against the column count', () => {
  it('accepts rows as COPY TO writes them: raw tabs between fields, escapes inside values, \\N for NULL', () => {
    expect(copyTextLineProblem(line('1\tabc\t\\N'), 3)).toBeUndefined();
    expect(copyTextLineProblem(line('1\ttab\\there\\nnewline \\\\ backslash\t\\\\x00ff'), 3)).toBeUndefined();
    expect(copyTextLineProblem(line(''), 1)).toBeUndefined();
    expect(copyTextLineProblem(line('żółć 🎉\t{"a": "\\\\."}'), 2)).toBeUndefined();
  });

  it('counts fields by raw tabs only: an escaped tab is data', () => {
    expect(copyTextLineProblem(line('a\\tb'), 1)).toBeUndefined();
    expect(copyTextLineProblem(line('a\\\tb'), 1)).toBeUndefined();
    expect(copyTextLineProblem(line('a\tb'), 3)).toBe('has 2 fields, the table has 3 columns');
    expect(copyTextLineProblem(line('a\tb\\n\tc\td'), 3)).toBe('has 4 fields, the table has 3 columns');
  });

  it('refuses what COPY TO never writes: the end-of-data marker, a lone trailing backslash, a raw carriage return', () => {
    expect(copyTextLineProblem(line('\\.'), 1)).toBe('holds the end-of-data marker \\.');
    expect(copyTextLineProblem(line('a\t\\.'), 2)).toBe('holds the end-of-data marker \\.');
    expect(copyTextLineProblem(line('abc\\'), 1)).toMatch(/lone backslash/);
    expect(copyTextLineProblem(line('abc\r'), 1)).toMatch(/carriage return/);
  });
});

async function drain(source: Readable, ...transforms: NodeJS.ReadWriteStream[]): Promise<void> {
  await pipeline(source, ...(transforms as [NodeJS.ReadWriteStream]), new Writable({ write: (_c, _e, done) => done() }));
}

/** Feeds `text` to a CopyTextRows in chunks of `size` bytes; what it counted, found and where it stopped. */
function scan(text: string, columns: number, size: number, maxRecords = 1000, maxLineBytes = 1000) {
  const bad: string[] = [];
  const rows = new CopyTextRows(columns, maxRecords, maxLineBytes, (row, problem) => bad.push(`${row}: ${problem}`));
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length; at += size) if (!rows.push(bytes.subarray(at, at + size))) break;
  rows.finish();
  return { records: rows.records, bad, stopped: rows.stopped, endsMidLine: rows.endsMidLine };
}

describe('CopyTextRows: a file checked chunk by chunk', () => {
  it('counts and checks the same rows whatever the chunk size, rows and escapes cut across chunks', () => {
    const text = ['1\tplain\t\\N', '2\ttab\\there\\\\x\t{"a": 1}', '3\t\t', '4\tżółć 🎉\tlast'].join('\n') + '\n';
    for (const size of [1, 2, 3, 7, 64, 1 << 20]) expect(scan(text, 3, size)).toEqual({ records: 4, bad: [], stopped: undefined, endsMidLine: false });
  });

  it('reports each bad row by number with the same words as a single row check', () => {
    const text = 'a\tb\tc\nonly one\nx\ty\tz\n\\.\nq\tr\\\n';
    for (const size of [1, 5, 1024]) {
      expect(scan(text, 3, size).bad).toEqual([
        `2: ${copyTextLineProblem(Buffer.from('only one'), 3)}`,
        `4: ${copyTextLineProblem(Buffer.from('\\.'), 3)}`,
        `5: ${copyTextLineProblem(Buffer.from('q\tr\\'), 3)}`,
      ]);
    }
  });

  it('a table without columns: every row is an empty line, and a line with anything in it is not its row', () => {
    for (const size of [1, 3, 1024]) {
      expect(scan('\n\n\n', 0, size)).toEqual({ records: 3, bad: [], stopped: undefined, endsMidLine: false });
      expect(scan('\nx\n\t\n\n', 0, size).bad).toEqual(['2: is not empty, and the table has no columns', '3: is not empty, and the table has no columns']);
    }
    expect(copyTextLineProblem(Buffer.alloc(0), 0)).toBeUndefined();
    expect(copyTextLineProblem(Buffer.alloc(0), 1)).toBeUndefined();
    expect(copyTextLineProblem(Buffer.from('\\N'), 0)).toBe('is not empty, and the table has no columns');
  });

  it('a one-column table with no tab anywhere: every row has one field (the tab cursor never runs ahead)', () => {
    const text = Array.from({ length: 500 }, (_, i) => `row ${i}`).join('\n') + '\n';
    expect(scan(text, 1, 4096)).toEqual({ records: 500, bad: [], stopped: undefined, endsMidLine: false });
    expect(scan(text, 2, 4096).bad).toHaveLength(500);
  });

  it('tells a cut-off last row, counting and checking it; stops at one row too many and at a row over the limit', () => {
    expect(scan('a\t1\nb\t2\n', 2, 3)).toMatchObject({ records: 2, endsMidLine: false, bad: [] });
    expect(scan('a\t1\nb', 2, 3)).toMatchObject({ records: 2, endsMidLine: true, bad: ['2: has 1 field, the table has 2 columns'] });
    expect(scan('a\nb\nc\n', 1, 2, 2)).toMatchObject({ records: 3, stopped: 'too-many-records' });
    const long = scan(`short\n${'x'.repeat(60)}\n`, 1, 16, 1000, 50);
    expect(long.stopped).toBeInstanceOf(LineTooLongError);
    expect(long.records).toBe(1);
  });
});

describe('CopyTextLimit', () => {
  it('CopyTextLimit passes the promised rows, reports them, and stops at one row too many or a line too long', async () => {
    const seen: number[] = [];
    await drain(Readable.from([Buffer.from('a\n'), Buffer.from('b\nc\n')]), new CopyTextLimit(3, 100, () => new Error('too many'), (rows) => seen.push(rows)));
    expect(seen.at(-1)).toBe(3);
    await expect(drain(Readable.from([Buffer.from('a\nb\nc\n')]), new CopyTextLimit(2, 100, (max) => new Error(`more than ${max}`)))).rejects.toThrow('more than 2');
    await expect(drain(Readable.from([Buffer.from('a\nb\nc')]), new CopyTextLimit(2, 100, (max) => new Error(`more than ${max}`)))).rejects.toThrow('more than 2');
    await expect(drain(Readable.from([Buffer.from('x'.repeat(50)), Buffer.from('x'.repeat(60))]), new CopyTextLimit(5, 100, () => new Error('too many')))).rejects.toBeInstanceOf(LineTooLongError);
  });
});

function copyManifest(): Manifest {
  const columns = [
    { name: 'id', type: 'bigint', nullable: false, encoding: 'copy-text' as const },
    { name: 'doc', type: 'jsonb', nullable: true, encoding: 'copy-text' as const },
  ];
  return {
    formatVersion: 1,
    backupId: '2024-01-15T02-00-00-000Z',
    timestamp: '2024-01-15T02:00:00.000Z',
    completedAt: '2024-01-15T02:00:05.000Z',
    durationMs: 5000,
    tables: ['products', 'orders'],
    recordCounts: { products: 2, orders: 1 },
    totalRecords: 3,
    totalBytes: 70,
    success: true,
    consistency: 'snapshot',
    purpose: 'backup',
    source: { driver: 'postgres', host: 'db', port: 5432, database: 'shop' },
    tableDetails: {
      products: { schema: 'public', name: 'products', records: 2, bytes: 40, files: [{ key: 'products.copy.zst', records: 2, bytes: 40, sha256: 'a'.repeat(64), compression: 'zstd', rows: 'copy-text' }], columns, generatedColumns: [], primaryKey: ['id'], foreignKeys: [] },
      orders: { schema: 'public', name: 'orders', records: 1, bytes: 30, files: [{ key: 'orders.ndjson.zst', records: 1, bytes: 30, sha256: 'b'.repeat(64), compression: 'zstd' }], columns: columns.map((c) => ({ ...c, encoding: c.name === 'doc' ? ('text' as const) : ('json' as const) })), generatedColumns: [], primaryKey: ['id'], foreignKeys: [] },
    },
    sequences: [],
    compression: 'zstd',
  };
}

describe('the manifest of copy-text files', () => {
  it('names copy-text files .copy.zst / .copy.gz, parts too', () => {
    expect(tableFileKey('orders', undefined, 'zstd', 'copy-text')).toBe('orders.copy.zst');
    expect(tableFileKey('sales.orders', 2, 'gzip', 'copy-text')).toBe('sales.orders.part-0002.copy.gz');
    expect(tableFileKey('orders', undefined, 'zstd')).toBe('orders.ndjson.zst');
  });

  it('reads a mixed backup: rows default to ndjson when absent', () => {
    const parsed = parseManifest(JSON.stringify(copyManifest()));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok || parsed.value.format !== 'v1') throw new Error('not v1');
    expect(parsed.value.manifest.tableDetails['products']!.files[0]!.rows).toBe('copy-text');
    expect(parsed.value.manifest.tableDetails['orders']!.files[0]!.rows).toBeUndefined();
  });

  it('refuses copy-text files whose columns are not marked copy-text, and copy-text columns in an NDJSON table', () => {
    const unmarked = copyManifest();
    unmarked.tableDetails['products']!.columns = unmarked.tableDetails['products']!.columns.map((c) => ({ ...c, encoding: 'json' }));
    const a = parseManifest(JSON.stringify(unmarked));
    expect(a.ok ? [] : a.problems).toEqual(['metadata.json: products: its files are copy-text, so every column\'s encoding must be copy-text']);
    const stray = copyManifest();
    stray.tableDetails['orders']!.columns[0]!.encoding = 'copy-text';
    const b = parseManifest(JSON.stringify(stray));
    expect(b.ok ? [] : b.problems).toEqual(['metadata.json: orders: columns of encoding copy-text in a table whose files are not copy-text']);
  });

  it('a reader older than copy text (column encodings json|text only, unknown file fields dropped) refuses the manifest instead of reading the file as NDJSON', () => {
    const olderColumn = z.object({ ...columnSchema.shape, encoding: z.enum(['json', 'text']).default('json') });
    const result = z.array(olderColumn).safeParse(copyManifest().tableDetails['products']!.columns);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['0.encoding', '1.encoding']);
  });
});
