import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from '@jest/globals';
import { createBackup, defaultCompressionLevel, type BackupProgress } from '../../lambdas/core/backup.js';
import { compressor } from '../../lambdas/core/format/codec.js';
import { UsageError } from '../../lambdas/core/errors.js';
import type { SourceSession, SourceTable } from '../../lambdas/core/sources/source.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import { tempFileStore } from '../helpers/engine.js';

function table(name: string, parts: number | undefined, estimatedRows: number): SourceTable {
  return { schema: 'public', name, qualified: name, columns: [{ name: 'id', type: 'bigint', nullable: false, encoding: 'json' }], generatedColumns: [], primaryKey: ['id'], foreignKeys: [], estimatedRows, estimatedBytes: estimatedRows * 16, ...(parts ? { parts } : {}) };
}

/** Rows `{"id":n}` from `from` to `to` - 1, a few per chunk, after a pause so that exports overlap. */
function rows(from: number, to: number, delayMs: number): Readable {
  async function* lines() {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    for (let id = from; id < to; id += 7) yield Buffer.from(Array.from({ length: Math.min(7, to - id) }, (_, k) => `{"id":${id + k}}\n`).join(''));
  }
  return Readable.from(lines(), { objectMode: false });
}

/** A source whose `parted` table comes in three parts of 100 rows and `whole` in one file. */
function partedSource(fail?: { part: number }): SourceSession & { exports: string[]; busy: number; mostBusy: number } {
  const session = {
    info: { driver: 'supabase' as const, host: 'test' },
    consistency: 'per-table' as const,
    workers: 2,
    tables: [table('whole', undefined, 50), table('parted', 3, 300)],
    sequences: [],
    exports: [] as string[],
    busy: 0,
    mostBusy: 0,
    async exportTable(t: SourceTable, _worker: number, _rows?: unknown, part = 0) {
      session.exports.push(`${t.name}/${part}`);
      session.busy++;
      session.mostBusy = Math.max(session.mostBusy, session.busy);
      const stream = t.name === 'whole' ? rows(0, 50, 5) : t.name === 'sparse' ? rows(part * 10, part === 1 ? 10 : part * 10 + 10, 1) : rows(part * 100, part * 100 + 100, 30 - part * 10);
      stream.on('close', () => session.busy--);
      if (fail && t.name === 'parted' && part === fail.part) stream.on('data', () => stream.destroy(new Error('the REST API went away')));
      return stream;
    },
    async close() {},
  };
  return session;
}

describe('createBackup with a table in parts', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => cleanup?.());

  it('writes one file per part, in part order, at the same time, with the rows counted across parts', async () => {
    const files = await tempFileStore();
    cleanup = files.cleanup;
    const source = partedSource();
    const events: BackupProgress[] = [];
    const { backupId, manifest } = await createBackup({ store: files.store, source, onProgress: (e) => events.push(e) });

    // The largest first: the three parts (100 rows each by the estimate) before the 50-row table.
    expect(source.exports).toEqual(['parted/0', 'parted/1', 'parted/2', 'whole/0']);
    expect(source.mostBusy).toBe(2);
    const parted = manifest.tableDetails['parted']!;
    expect(parted.files.map((f) => [f.key, f.records])).toEqual([
      ['parted.part-0001.ndjson.zst', 100],
      ['parted.part-0002.ndjson.zst', 100],
      ['parted.part-0003.ndjson.zst', 100],
    ]);
    expect([parted.records, parted.bytes]).toEqual([300, parted.files.reduce((s, f) => s + f.bytes, 0)]);
    expect(manifest.tableDetails['whole']!.files.map((f) => f.key)).toEqual(['whole.ndjson.zst']);
    expect(manifest.recordCounts).toEqual({ whole: 50, parted: 300 });

    // One table-done per table, with every part's rows, once its last part is written.
    const done = events.filter((e) => e.type === 'table-done');
    expect(done).toHaveLength(2);
    expect(done).toEqual(expect.arrayContaining([expect.objectContaining({ table: 'parted', records: 300, bytes: parted.bytes }), expect.objectContaining({ table: 'whole', records: 50 })]));
    expect(events.filter((e) => e.type === 'table-progress' && e.table === 'parted').every((e) => e.type === 'table-progress' && e.records <= 300)).toBe(true);

    const report = await validateBackup(files.store, backupId);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
  });

  it('writes a part without rows as a valid empty file (a key range nothing falls in)', async () => {
    const files = await tempFileStore();
    cleanup = files.cleanup;
    const source = { ...partedSource(), tables: [table('sparse', 3, 30)] };
    const { backupId, manifest } = await createBackup({ store: files.store, source });
    expect(manifest.tableDetails['sparse']!.files.map((f) => f.records)).toEqual([10, 0, 10]);
    expect(manifest.recordCounts).toEqual({ sparse: 20 });
    const report = await validateBackup(files.store, backupId);
    expect(report.problems).toEqual([]);
  });

  it('refuses, before writing, a table whose part would share a file with another table', async () => {
    const files = await tempFileStore();
    cleanup = files.cleanup;
    const source = { ...partedSource(), tables: [table('parted', 3, 300), table('parted.part-0002', undefined, 5)] };
    const error = await createBackup({ store: files.store, source }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe('Tables parted and parted.part-0002 would both be written to parted.part-0002.ndjson.zst; back one of them up in another run (--tables)');
    expect(source.exports).toEqual([]);
    expect((await readdir(files.root)).filter((e) => !e.startsWith('logs'))).toEqual([]);
  });

  it('a part that fails fails the backup and leaves no files behind', async () => {
    const files = await tempFileStore();
    cleanup = files.cleanup;
    const error = await createBackup({ store: files.store, source: partedSource({ part: 1 }) }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/the REST API went away/);
    expect(await readdir(path.join(files.root)).then((entries) => entries.filter((e) => !e.startsWith('logs')))).toEqual([]);
  });
});

describe('createBackup: the default compression level follows the row encoding', () => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  /** ~400 KB of rows in a shop's words: levels 3 and 5 give different bytes for it. */
  const content = Buffer.from(Array.from({ length: 6000 }, (_, i) => `${i}\t${['red', 'blue', 'green', 'shipped', 'pending'][(i * 7) % 5]} order ${(i * 7919) % 1000}\t${(i * 31) % 997}.${i % 100}\n`).join(''));

  async function compressed(level: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of Readable.from([content]).pipe(compressor('zstd', level))) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async function writtenFile(rows: 'copy-text' | 'ndjson'): Promise<Buffer> {
    const files = await tempFileStore();
    cleanup = files.cleanup;
    const source: SourceSession = {
      info: { driver: 'postgres', host: 'test' },
      consistency: 'snapshot',
      workers: 1,
      rowEncodings: ['ndjson', 'copy-text'],
      tables: [table('orders', undefined, 6000)],
      sequences: [],
      exportTable: async () => Readable.from([content]),
      async close() {},
    };
    const result = await createBackup({ store: files.store, source, rows, compression: 'zstd' });
    return readFile(path.join(files.root, result.backupId, result.manifest.tableDetails['orders']!.files[0]!.key));
  }

  it('zstd 5 for copy text, 3 for NDJSON, gzip 1 (defaultCompressionLevel)', async () => {
    const [level3, level5] = [await compressed(3), await compressed(5)];
    expect(level5.equals(level3)).toBe(false);
    expect((await writtenFile('copy-text')).equals(level5)).toBe(true);
    await cleanup?.();
    expect((await writtenFile('ndjson')).equals(level3)).toBe(true);
    expect([defaultCompressionLevel('zstd', 'copy-text'), defaultCompressionLevel('zstd', 'ndjson'), defaultCompressionLevel('gzip', 'copy-text')]).toEqual([5, 3, 1]);
  });
});
