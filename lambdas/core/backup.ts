import { pipeline } from 'node:stream';
import { ObjectExistsError, OperationFailedError, UsageError, isDrError } from './errors.js';
import { DEFAULT_LEVELS, compressor, configuredCodec, type Codec } from './format/codec.js';
import { backupIdFor } from './format/ids.js';
import { DEFAULT_BACKUP_ROWS, DEFAULT_ROW_ENCODING, ROWS_CHOICES, type RowEncoding } from './format/row-encoding.js';
import { DEFAULT_SUSPECT_DROP_PERCENT, FORMAT_VERSION, MANIFEST_FILE, serializeManifest, tableFileKey, type Manifest, type SourceInfo, type SuspectInfo, type TableEntry } from './format/manifest.js';
import type { SourceTable } from './sources/source.js';
import type { SourceSession } from './sources/source.js';
import { identityFromSource, sameDatabase } from './target-identity.js';
import { newestBackupWhere } from './catalog.js';
import { formatCount } from './util/format.js';
import { createHash } from 'node:crypto';
import { SCHEMA_JSON_FILE, SCHEMA_SQL_FILE, schemaSql, type SchemaScript } from './schema/capture.js';
import type { BackupStore } from './storage/store.js';
import { HashingPassThrough, LineCounter, runPool } from './util/streams.js';

export type BackupProgress =
  | { readonly type: 'start'; readonly backupId: string; readonly tables: number; readonly estimatedRows: number }
  | { readonly type: 'table-progress'; readonly table: string; readonly records: number; readonly estimatedRows: number }
  | { readonly type: 'table-done'; readonly table: string; readonly records: number; readonly bytes: number };

export interface BackupOptions {
  readonly store: BackupStore;
  readonly source: SourceSession;
  /** The backup's start time; its id derives from it. @default now */
  readonly startedAt?: Date;
  /** Codec of the table files. @default ICONIC_DR_COMPRESSION, else zstd */
  readonly compression?: Codec;
  /** The codec's level (zstd 1-19, gzip 1-9). @default {@link defaultCompressionLevel}: zstd 5 for copy text, 3 for NDJSON; gzip 1 */
  readonly compressionLevel?: number;
  /**
   * How rows are written where the source can: `copy-text` (the table's own COPY text, postgres
   * driver) or `ndjson`. Sources that write only NDJSON (the supabase driver) ignore it.
   * @default 'copy-text' (DEFAULT_BACKUP_ROWS)
   */
  readonly rows?: RowEncoding;
  /** `drill` marks a backup of sample or disposable data: never `latest` for a restore. @default 'backup' */
  readonly purpose?: 'backup' | 'drill';
  /**
   * The mass-deletion canary: a backup whose total rows, or any table's rows, fell by more than this
   * percentage against the previous good backup of the same source is marked `suspect`. @default 50
   */
  readonly suspectDropPercent?: number;
  readonly onProgress?: (event: BackupProgress) => void;
}

export interface BackupResult {
  readonly backupId: string;
  readonly location: string;
  readonly manifest: Manifest;
}

/**
 * The level a table file is compressed at unless told: zstd 5 for copy text, the codec's default
 * otherwise (codec.ts DEFAULT_LEVELS). The bench shop's copy text is 38 % smaller than its NDJSON
 * before compression (183 against 295 MB), so zstd's stronger search costs the backup less than it
 * saves: at 5 it is 0.96x the `pg_dump -Fc` archive in 1.59-1.75 s, against 1.02x in 1.25-1.49 s at
 * 3 and NDJSON's 1.16x in 1.43-1.52 s at 3 (docs/performance.md, fifteenth session).
 */
export function defaultCompressionLevel(codec: Codec, rows: RowEncoding): number {
  return codec === 'zstd' && rows === 'copy-text' ? 5 : DEFAULT_LEVELS[codec];
}

/** The encoding this backup writes: the one asked for where the source can write it, else NDJSON. */
function rowEncodingFor(options: BackupOptions): RowEncoding {
  const wanted = options.rows ?? ROWS_CHOICES[DEFAULT_BACKUP_ROWS];
  return (options.source.rowEncodings ?? [DEFAULT_ROW_ENCODING]).includes(wanted) ? wanted : DEFAULT_ROW_ENCODING;
}

/** One table's rows, or one part of them, as written: a file of the table's manifest entry. */
type ExportedFile = TableEntry['files'][number];

/**
 * Counts a table's rows across its parts for progress: `table-progress` at most every 500 ms with the
 * sum of every part's rows so far, `table-done` once the last part is written.
 */
class TableTally {
  private readonly rowsByPart: number[];
  private readonly files: (ExportedFile | undefined)[];
  private lastReport = 0;

  constructor(
    private readonly table: SourceTable,
    parts: number,
    private readonly onProgress: BackupOptions['onProgress'],
  ) {
    this.rowsByPart = new Array<number>(parts).fill(0);
    this.files = new Array<ExportedFile | undefined>(parts).fill(undefined);
  }

  rows(part: number, lines: number): void {
    this.rowsByPart[part] = lines;
    const now = Date.now();
    if (now - this.lastReport > 500) {
      this.lastReport = now;
      this.onProgress?.({ type: 'table-progress', table: this.table.qualified, records: this.rowsByPart.reduce((a, b) => a + b, 0), estimatedRows: this.table.estimatedRows });
    }
  }

  /** Records a written part; the table's files once every part is written. */
  written(part: number, file: ExportedFile): ExportedFile[] | undefined {
    this.files[part] = file;
    if (this.files.some((f) => f === undefined)) return undefined;
    const files = this.files as ExportedFile[];
    this.onProgress?.({ type: 'table-done', table: this.table.qualified, records: files.reduce((s, f) => s + f.records, 0), bytes: files.reduce((s, f) => s + f.bytes, 0) });
    return files;
  }
}

function partsOf(table: SourceTable): number {
  return Math.max(1, Math.floor(table.parts ?? 1));
}

/** One file to write: a table, or one of its parts, and the key it is written to. */
interface FileJob {
  readonly table: SourceTable;
  readonly part: number;
  readonly key: string;
  readonly size: number;
}

/**
 * Every file of the backup, largest first, so the last to finish is a small one and the workers stay
 * busy; a table's parts keep their order. A table's part files are named `<table>.part-NNNN…`,
 * which is also the whole file of a table named `<table>.part-NNNN`: a backup in which two files
 * would share a name is refused before anything is written.
 */
function fileJobs(tables: readonly SourceTable[], codec: Codec, rows: RowEncoding): FileJob[] {
  const owners = new Map<string, string>();
  const jobs: FileJob[] = [];
  for (const table of tables) {
    const parts = partsOf(table);
    for (let part = 0; part < parts; part++) {
      const key = tableFileKey(table.qualified, parts > 1 ? part + 1 : undefined, codec, rows);
      const other = owners.get(key);
      if (other !== undefined && other !== table.qualified) throw new UsageError(`Tables ${other} and ${table.qualified} would both be written to ${key}; back one of them up in another run (--tables)`);
      owners.set(key, table.qualified);
      jobs.push({ table, part, key, size: table.estimatedBytes / parts });
    }
  }
  return jobs.sort((x, y) => y.size - x.size);
}

async function exportFile(options: BackupOptions, codec: Codec, backupId: string, { table, part, key }: FileJob, worker: number, tally: TableTally): Promise<ExportedFile> {
  const rows = rowEncodingFor(options);
  const source = await options.source.exportTable(table, worker, rows, part);
  const counter = new LineCounter((lines) => tally.rows(part, lines));
  const hasher = new HashingPassThrough();
  let producerError: Error | undefined;
  // releaseInput: the source's chunks are handed over as they are pushed, and LineCounter keeps none.
  const body = pipeline(source, counter, compressor(codec, options.compressionLevel ?? defaultCompressionLevel(codec, rows), { releaseInput: true }), hasher, (error) => {
    if (error) producerError = error;
  });
  try {
    await options.store.writeObject(`${backupId}/${key}`, body);
  } catch (error) {
    // A database error surfaces through the body stream; report it rather than the storage symptom.
    throw producerError && producerError !== error ? producerError : error;
  }
  if (counter.endsMidLine) throw new OperationFailedError(`The export of ${table.qualified} ended in the middle of a row`);
  return { key, records: counter.lines, bytes: hasher.bytes, sha256: hasher.sha256, compression: codec, ...(rows === 'copy-text' ? { rows } : {}) };
}

function tableEntry(options: BackupOptions, table: SourceTable, files: ExportedFile[]): TableEntry {
  const records = files.reduce((s, f) => s + f.records, 0);
  return {
    schema: table.schema,
    name: table.name,
    records,
    bytes: files.reduce((s, f) => s + f.bytes, 0),
    files,
    // Every column of a copy-text table is marked so: readers older than copy text refuse the value.
    columns: rowEncodingFor(options) === 'copy-text' ? table.columns.map((c) => ({ ...c, encoding: 'copy-text' as const })) : table.columns,
    generatedColumns: table.generatedColumns,
    primaryKey: table.primaryKey,
    foreignKeys: table.foreignKeys,
  };
}

/** Writes the schema as `schema.json` (what restore applies) and `schema.sql` (for people), each checksummed. */
async function writeSchemaFiles(store: BackupStore, backupId: string, script: SchemaScript): Promise<NonNullable<Manifest['schema']>> {
  const write = async (key: string, text: string) => {
    const body = Buffer.from(text, 'utf8');
    await store.createObject(`${backupId}/${key}`, body);
    return { key, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') };
  };
  return { json: await write(SCHEMA_JSON_FILE, `${JSON.stringify(script, null, 2)}\n`), sql: await write(SCHEMA_SQL_FILE, schemaSql(script, backupId)) };
}

/** A source as an identity to compare; REST sources name no database, so their project host stands for it. */
function sourceIdentity(source: SourceInfo) {
  return { ...identityFromSource(source), database: source.database ?? source.host };
}

function percentDrop(before: number, after: number): number {
  return before > 0 ? ((before - after) / before) * 100 : 0;
}

/**
 * Compares the new backup's row counts with the previous good backup of the same source and purpose
 * (tables both hold): a sharp fall is the classic way a DR system loses data, by backing up the damage
 * until the good backups age out. Returns why the backup is suspect, or undefined.
 */
async function massDeletionCanary(store: BackupStore, manifest: Manifest, thresholdPercent: number): Promise<SuspectInfo | undefined> {
  const previous = await newestBackupWhere(
    store,
    (b) => b.backupId !== manifest.backupId && b.complete && !b.suspect && b.purpose === manifest.purpose && b.source !== undefined && b.source.driver === manifest.source.driver && sameDatabase(sourceIdentity(b.source), sourceIdentity(manifest.source)),
  );
  if (!previous?.recordCounts) return undefined;
  const common = manifest.tables.filter((t) => previous.recordCounts![t] !== undefined);
  const before = common.reduce((s, t) => s + previous.recordCounts![t]!, 0);
  const after = common.reduce((s, t) => s + manifest.recordCounts[t]!, 0);
  const fallen = common.filter((t) => percentDrop(previous.recordCounts![t]!, manifest.recordCounts[t]!) > thresholdPercent);
  const totalFell = percentDrop(before, after) > thresholdPercent;
  if (!totalFell && fallen.length === 0) return undefined;
  const detail = fallen.map((t) => `${t} ${formatCount(previous.recordCounts![t]!)} -> ${formatCount(manifest.recordCounts[t]!)}`).join(', ');
  const total = `rows fell from ${formatCount(before)} to ${formatCount(after)} (-${Math.round(percentDrop(before, after))} %)`;
  return { reason: `${total}${detail ? `; ${detail}` : ''} since ${previous.backupId}`, comparedWith: previous.backupId, thresholdPercent };
}

/**
 * Backs up every table of an open source session into `<store>/<backupId>/`, streaming each table
 * through the codec and SHA-256 (memory does not grow with table size), then writes metadata.json last and
 * only once. On failure the partial backup is removed where the store allows it; without
 * metadata.json it is never listed as complete or restorable anyway.
 */
export async function createBackup(options: BackupOptions): Promise<BackupResult> {
  const startedAt = options.startedAt ?? new Date();
  const backupId = backupIdFor(startedAt);
  const { store, source } = options;
  const codec = options.compression ?? configuredCodec();
  await store.beginBackup(backupId);
  let schemaFiles: Promise<Manifest['schema']> | undefined;
  try {
    options.onProgress?.({ type: 'start', backupId, tables: source.tables.length, estimatedRows: source.tables.reduce((s, t) => s + t.estimatedRows, 0) });
    const jobs = fileJobs(source.tables, codec, rowEncodingFor(options));
    const tallies = new Map(source.tables.map((t) => [t.qualified, new TableTally(t, partsOf(t), options.onProgress)]));
    const entries = new Map<string, TableEntry>();
    // Written as soon as the source has the schema, while the tables export.
    schemaFiles = source.schema?.then((script) => (script ? writeSchemaFiles(store, backupId, script) : undefined));
    schemaFiles?.catch(() => undefined);
    await runPool(jobs, source.workers, async (job, slot) => {
      const tally = tallies.get(job.table.qualified)!;
      const files = tally.written(job.part, await exportFile(options, codec, backupId, job, slot, tally));
      if (files) entries.set(job.table.qualified, tableEntry(options, job.table, files));
    });

    const schema = await schemaFiles;
    const tables = source.tables.map((t) => t.qualified);
    const tableDetails = Object.fromEntries(tables.map((t) => [t, entries.get(t)!]));
    const completedAt = new Date();
    const manifest: Manifest = {
      formatVersion: FORMAT_VERSION,
      backupId,
      timestamp: startedAt.toISOString(),
      completedAt: completedAt.toISOString(),
      durationMs: Math.max(0, completedAt.getTime() - startedAt.getTime()),
      tables,
      recordCounts: Object.fromEntries(tables.map((t) => [t, tableDetails[t]!.records])),
      totalRecords: tables.reduce((s, t) => s + tableDetails[t]!.records, 0),
      totalBytes: tables.reduce((s, t) => s + tableDetails[t]!.bytes, 0),
      success: true,
      consistency: source.consistency,
      source: source.info,
      tableDetails,
      sequences: [...source.sequences],
      compression: codec,
      purpose: options.purpose ?? 'backup',
      ...(schema ? { schema } : {}),
    };
    const suspect = await massDeletionCanary(store, manifest, options.suspectDropPercent ?? DEFAULT_SUSPECT_DROP_PERCENT);
    if (suspect) manifest.suspect = suspect;
    await store.createObject(`${backupId}/${MANIFEST_FILE}`, serializeManifest(manifest));
    return { backupId, location: store.description, manifest };
  } catch (error) {
    // A schema file still being written would land after the clean-up.
    await schemaFiles?.catch(() => undefined);
    if (!(error instanceof ObjectExistsError)) await store.deletePrefix(`${backupId}/`).catch(() => undefined);
    if (isDrError(error)) throw error;
    throw new OperationFailedError(`Backup ${backupId} failed: ${(error as Error)?.message ?? error}; no complete backup was written`, { cause: error });
  }
}
