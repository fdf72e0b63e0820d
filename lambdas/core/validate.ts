import { pipeline } from 'node:stream';
import { BackupNotFoundError, InvalidBackupError, StorageError, UsageError } from './errors.js';
import { readManifest } from './catalog.js';
import { schemaFileProblem, schemaFiles } from './schema/files.js';
import { decompressor, type Codec } from './format/codec.js';
import { CopyTextRows } from './format/copy-text-lines.js';
import { NdjsonRows } from './format/ndjson-rows.js';
import { MANIFEST_FILE, fileCodec, fileRows, legacyTableFileKey, type LegacyManifest, type Manifest, type TableEntry } from './format/manifest.js';
import { MAX_LEGACY_FILE_BYTES, maxLineBytes } from './limits.js';
import type { BackupStore } from './storage/store.js';
import { CLAIM_FILE, ObjectTooLargeError, readText } from './storage/store.js';
import { streamBuffers } from './util/buffer-pool.js';
import { HashingPassThrough, LineTooLongError, runPool } from './util/streams.js';

export interface TableValidation {
  readonly table: string;
  readonly expectedRecords: number;
  /** Lines/elements actually found (undefined in quick mode or when unreadable). */
  readonly records?: number;
  readonly ok: boolean;
  readonly problems: readonly string[];
}

export interface ValidationReport {
  readonly backupId: string;
  readonly location: string;
  readonly format: 'v1' | 'legacy' | 'unknown';
  readonly quick: boolean;
  readonly valid: boolean;
  /** Every problem found, across the manifest and all files. */
  readonly problems: readonly string[];
  /** Not fatal: e.g. files in the folder that the manifest does not list. */
  readonly warnings: readonly string[];
  readonly tables: readonly TableValidation[];
  readonly totalRecords?: number;
}

export type ParsedBackup = { readonly format: 'v1'; readonly manifest: Manifest } | { readonly format: 'legacy'; readonly manifest: LegacyManifest };

export interface ValidateOptions {
  /** Check presence and sizes only, not checksums and rows. */
  readonly quick?: boolean;
  /**
   * Check sizes and SHA-256 only, without decompressing: every byte is proven to be what the backup
   * wrote. Restore uses this and checks each file's row count as it loads, inside its transaction.
   */
  readonly checksumsOnly?: boolean;
  /** Files checked at the same time (decompression runs on the thread pool). @default 2 */
  readonly concurrency?: number;
  /** A row (line) longer than this stops the file's check. @default maxLineBytes() (64 MiB, ICONIC_DR_MAX_LINE_BYTES) */
  readonly maxLineBytes?: number;
  readonly onProgress?: (table: string, done: number, total: number) => void;
}

const MAX_PROBLEMS_PER_FILE = 5;

function checksumProblem(file: TableEntry['files'][number], actual: string): string | undefined {
  return actual === file.sha256 ? undefined : `${file.key}: SHA-256 ${actual.slice(0, 12)}… differs from the manifest's ${file.sha256.slice(0, 12)}… (corrupted)`;
}

/**
 * A read that failed is a storage fault (retryable, exit 3), never evidence against the backup: only
 * bytes that arrived can prove a file corrupt. The store's own errors are StorageErrors already.
 */
function storageFault(error: unknown): StorageError | undefined {
  return error instanceof StorageError ? error : undefined;
}

async function checkV1File(store: BackupStore, backupId: string, table: TableEntry, file: TableEntry['files'][number], codec: Codec, level: CheckLevel, lineLimit: number): Promise<{ records?: number; problems: string[] }> {
  const key = `${backupId}/${file.key}`;
  const stat = await store.statObject(key);
  if (!stat) return { problems: [`${file.key}: missing`] };
  const problems: string[] = [];
  if (stat.size === 0) problems.push(`${file.key}: empty file (0 bytes), expected ${file.bytes}`);
  else if (stat.size !== file.bytes) problems.push(`${file.key}: ${stat.size} bytes, the manifest says ${file.bytes} (truncated or modified)`);
  if (level === 'sizes') return { problems };

  const hasher = new HashingPassThrough();
  let streamError: Error | undefined;
  const onError = (error: Error | null | undefined) => {
    if (error) streamError ??= error;
  };
  const source = await store.readObject(key);
  if (level === 'checksums') {
    try {
      for await (const chunk of pipeline(source, hasher, onError)) void chunk;
    } catch (error) {
      const fault = storageFault(streamError) ?? storageFault(error);
      if (fault) throw fault;
      return { problems: [...problems, `${file.key}: cannot be read (${(streamError ?? (error as Error)).message})`] };
    }
    const bad = checksumProblem(file, hasher.sha256);
    return { problems: bad ? [...problems, bad] : problems };
  }

  // Every chunk is checked where it lies and given back before the next is read (pooledOutput).
  const lines = pipeline(source, hasher, decompressor(codec, { pooledOutput: 'read-at-once' }), onError);
  let records = 0;
  let badLines = 0;
  let stopped: string | undefined;
  const expectedKeys = table.columns.length;
  // More rows than the manifest promised: a decompression bomb or another file. Reading on would
  // only inflate more; what is known already makes the backup invalid.
  const tooMany = `${file.key}: holds more than the manifest's ${file.records} records; stopped reading there`;
  const copyRows =
    fileRows(file) === 'copy-text'
      ? new CopyTextRows(expectedKeys, file.records, lineLimit, (row, problem) => {
          if (++badLines <= MAX_PROBLEMS_PER_FILE) problems.push(`${file.key}: line ${row} ${problem}`);
        })
      : undefined;
  // Checked chunk by chunk, as bytes where they lie: no per-row buffer, string or await
  // (format/copy-text-lines.ts, format/ndjson-rows.ts).
  const rows =
    copyRows ??
    new NdjsonRows(
      table.columns.map((c) => c.name),
      file.records,
      lineLimit,
      (row) => {
        if (++badLines <= MAX_PROBLEMS_PER_FILE) problems.push(`${file.key}: line ${row} is not a JSON object with the table's ${expectedKeys} columns`);
      },
    );
  try {
    for await (const chunk of lines) {
      const more = rows.push(chunk as Buffer);
      streamBuffers.give(chunk as Buffer);
      if (!more) break;
    }
    rows.finish();
    records = rows.records;
    if (rows.stopped === 'too-many-records') stopped = tooMany;
    else if (rows.stopped) throw rows.stopped;
  } catch (error) {
    if (error instanceof LineTooLongError) stopped = `${file.key}: ${error.message} (the limit for one row); stopped reading there`;
    else streamError ??= error as Error;
  }
  if (stopped) {
    lines.destroy();
    source.destroy();
    const fault = storageFault(streamError);
    if (fault) throw fault;
    return { problems: [...problems, stopped] };
  }
  if (badLines > MAX_PROBLEMS_PER_FILE) problems.push(`${file.key}: ${badLines - MAX_PROBLEMS_PER_FILE} more bad lines`);
  if (streamError) {
    const fault = storageFault(streamError);
    if (fault) throw fault;
    problems.push(`${file.key}: cannot be decompressed (${streamError.message})`);
    return { problems };
  }
  if (copyRows?.endsMidLine) problems.push(`${file.key}: ends in the middle of a row (truncated)`);
  const bad = checksumProblem(file, hasher.sha256);
  if (bad) problems.push(bad);
  if (records !== file.records) problems.push(`${file.key}: ${records} records, the manifest says ${file.records}`);
  return { records, problems };
}

/** How deep a validation reads: presence and sizes, or also SHA-256, or also every row. */
export type CheckLevel = 'sizes' | 'checksums' | 'rows';

function checkLevel(options: ValidateOptions): CheckLevel {
  return options.quick ? 'sizes' : options.checksumsOnly ? 'checksums' : 'rows';
}

/**
 * One unit of work of a validation: one file of the backup, checked on its own (size, SHA-256,
 * rows) so that the files can be checked anywhere at once (a Step Functions Distributed Map).
 * `table`: a table's data file (v1: one of its `files`; legacy: `<table>.json`); `schema`: one of
 * the v1 schema files.
 */
export type ValidationItem = { readonly kind: 'table'; readonly table: string; readonly key: string } | { readonly kind: 'schema'; readonly key: string };

/**
 * What can be known of a backup before any file is read: its manifest (read and checked), the files
 * to check, and what the checks will be folded into. Plain data (JSON), so it can travel between
 * Step Functions states.
 */
export interface ValidationPlan {
  readonly backupId: string;
  readonly location: string;
  readonly format: ValidationReport['format'];
  readonly level: CheckLevel;
  /** Problems found before any file is read: an unreadable or missing manifest. With any, `items` is empty. */
  readonly problems: readonly string[];
  /** Not fatal: the manifest names another backup id, files it does not list. */
  readonly warnings: readonly string[];
  /** The manifest's tables in its order, with the records it promises. */
  readonly tables: readonly { readonly table: string; readonly expectedRecords: number }[];
  /** Every file to check: each table's files in manifest order, then the schema files. */
  readonly items: readonly ValidationItem[];
  readonly totalRecords?: number;
  /** The table files' bytes: the manifest's (v1), else what is stored under the backup (legacy, and an unknown format when the plan listed it). */
  readonly totalBytes?: number;
}

/** The check of one item: what was found in its file. */
export interface ItemValidation {
  readonly key: string;
  /** The item's table (absent for a schema file). */
  readonly table?: string;
  /** Rows (lines, elements) found; absent when they were not counted or the file could not be read to its end. */
  readonly records?: number;
  readonly problems: readonly string[];
}

/** A plan, with the manifest it came from when there is one (for the checks in the same process). */
export interface PlannedValidation {
  readonly plan: ValidationPlan;
  readonly backup?: ParsedBackup;
}

/**
 * Reads and checks a backup's manifest and lists what to check, without reading any table file.
 * A manifest that cannot be used is a result (`format: 'unknown'`, its problems, no items), not an
 * error; throws when there is no backup at all or the storage fails.
 */
export async function planValidation(store: BackupStore, backupId: string, options: ValidateOptions = {}): Promise<PlannedValidation> {
  const base = { backupId, location: store.description, level: checkLevel(options), tables: [], items: [], warnings: [] };
  let backup: ParsedBackup;
  try {
    backup = await readManifest(store, backupId);
  } catch (error) {
    if (error instanceof InvalidBackupError) return { plan: { ...base, format: 'unknown', problems: error.problems } };
    if (error instanceof BackupNotFoundError) {
      const objects = await store.listObjects(`${backupId}/`);
      if (objects.length > 0) return { plan: { ...base, format: 'unknown', problems: [`metadata.json: missing (the backup is incomplete)`], totalBytes: objects.reduce((sum, o) => sum + o.size, 0) } };
    }
    throw error;
  }
  const objects = await store.listObjects(`${backupId}/`);
  if (backup.format === 'legacy') {
    const { manifest } = backup;
    return {
      backup,
      plan: {
        ...base,
        format: 'legacy',
        problems: [],
        tables: manifest.tables.map((table) => ({ table, expectedRecords: manifest.recordCounts[table] ?? 0 })),
        items: manifest.tables.map((table) => ({ kind: 'table', table, key: legacyTableFileKey(table) })),
        totalRecords: manifest.totalRecords,
        totalBytes: objects.reduce((sum, o) => sum + o.size, 0),
      },
    };
  }
  const { manifest } = backup;
  const warnings: string[] = [];
  if (manifest.backupId !== backupId) warnings.push(`metadata.json names backup ${manifest.backupId} but the folder is ${backupId} (renamed or copied)`);
  // The claim object of an S3 backup is the store's, not the backup's.
  const listed = new Set([MANIFEST_FILE, CLAIM_FILE, ...manifest.tables.flatMap((t) => manifest.tableDetails[t]!.files.map((f) => f.key)), ...schemaFiles(manifest).map((f) => f.key)]);
  for (const object of objects) {
    const name = object.key.slice(backupId.length + 1);
    if (!listed.has(name)) warnings.push(`${name}: not listed in metadata.json`);
  }
  return {
    backup,
    plan: {
      ...base,
      format: 'v1',
      problems: [],
      warnings,
      tables: manifest.tables.map((table) => ({ table, expectedRecords: manifest.tableDetails[table]!.records })),
      items: [
        ...manifest.tables.flatMap((table) => manifest.tableDetails[table]!.files.map((f): ValidationItem => ({ kind: 'table', table, key: f.key }))),
        ...schemaFiles(manifest).map((f): ValidationItem => ({ kind: 'schema', key: f.key })),
      ],
      totalRecords: manifest.totalRecords,
      totalBytes: manifest.totalBytes,
    },
  };
}

async function checkLegacyFile(store: BackupStore, backupId: string, key: string, expected: number, level: CheckLevel): Promise<{ records?: number; problems: string[] }> {
  const problems: string[] = [];
  const stat = await store.statObject(`${backupId}/${key}`);
  if (!stat) return { problems: [`${key}: missing`] };
  if (stat.size === 0) return { problems: [`${key}: empty file (0 bytes)`] };
  // A legacy file has no checksum: beyond its size, only parsing it proves anything.
  if (level === 'sizes') return { problems };
  let text: string | undefined;
  try {
    text = await readText(store, `${backupId}/${key}`, MAX_LEGACY_FILE_BYTES);
  } catch (error) {
    // Too large to parse safely is a property of the bytes; a read that failed is the storage's.
    if (!(error instanceof ObjectTooLargeError)) throw error;
    return { problems: [`${key}: ${error.message}`] };
  }
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch (error) {
    return { problems: [`${key}: not valid JSON (${(error as Error).message})`] };
  }
  if (!Array.isArray(rows)) return { problems: [`${key}: not a JSON array`] };
  const bad = rows.findIndex((r) => typeof r !== 'object' || r === null || Array.isArray(r));
  if (bad !== -1) problems.push(`${key}: element ${bad + 1} is not a JSON object`);
  if (rows.length !== expected) problems.push(`${key}: ${rows.length} records, metadata.json says ${expected}`);
  return { records: rows.length, problems };
}

/**
 * Checks one item of a plan against the manifest the plan was made from (`backup`): its presence
 * and size, and, as deep as the options say, its SHA-256 and rows. A problem with the file is a
 * result; throws a StorageError when the storage failed, and a UsageError for an item the manifest
 * does not name.
 */
export async function checkValidationItem(store: BackupStore, backupId: string, backup: ParsedBackup, item: ValidationItem, options: ValidateOptions = {}): Promise<ItemValidation> {
  const level = checkLevel(options);
  const unknown = () => new UsageError(`${item.key} is not ${item.kind === 'table' ? `a file of table ${item.table}` : 'a schema file'} in the metadata.json of backup ${backupId}: validate again from a new plan`);
  if (item.kind === 'schema') {
    const file = backup.format === 'v1' ? schemaFiles(backup.manifest).find((f) => f.key === item.key) : undefined;
    if (!file) throw unknown();
    const problem = await schemaFileProblem(store, backupId, file, level === 'sizes');
    return { key: item.key, problems: problem ? [problem] : [] };
  }
  if (backup.format === 'legacy') {
    if (!backup.manifest.tables.includes(item.table) || legacyTableFileKey(item.table) !== item.key) throw unknown();
    const result = await checkLegacyFile(store, backupId, item.key, backup.manifest.recordCounts[item.table] ?? 0, level);
    return { key: item.key, table: item.table, ...result };
  }
  const entry = Object.hasOwn(backup.manifest.tableDetails, item.table) ? backup.manifest.tableDetails[item.table] : undefined;
  const file = entry?.files.find((f) => f.key === item.key);
  if (!entry || !file) throw unknown();
  const result = await checkV1File(store, backupId, entry, file, fileCodec(backup.manifest, file), level, options.maxLineBytes ?? maxLineBytes());
  return { key: item.key, table: item.table, ...result };
}

/**
 * Folds the checks of a plan's items into the report `validateBackup` gives: the manifest's
 * problems, then each table's (manifest order, each file in order), then the schema files'.
 * `results` holds one check per item of the plan, in the plan's order (as a Map state returns them).
 */
export function summarizeValidation(plan: ValidationPlan, results: readonly ItemValidation[]): ValidationReport {
  const base = { backupId: plan.backupId, location: plan.location, quick: plan.level === 'sizes', format: plan.format };
  if (plan.format === 'unknown') return { ...base, valid: false, problems: [...plan.problems], warnings: [...plan.warnings], tables: [] };
  const mismatch = plan.items.findIndex((item, i) => results[i]?.key !== item.key);
  if (mismatch !== -1 || results.length !== plan.items.length) {
    const where = mismatch === -1 ? `${results.length} checks for ${plan.items.length} files` : `check ${mismatch + 1} is of ${results[mismatch]?.key ?? 'nothing'}, the plan's file ${mismatch + 1} is ${plan.items[mismatch]!.key}`;
    throw new UsageError(`The checks do not match the plan of backup ${plan.backupId} (${where}): validate again from a new plan`);
  }
  const checked = plan.items.map((item, i) => ({ item, check: results[i]! }));
  const problems: string[] = [...plan.problems];
  const tables: TableValidation[] = [];
  for (const { table, expectedRecords } of plan.tables) {
    const checks = checked.filter(({ item }) => item.kind === 'table' && item.table === table).map(({ check }) => check);
    const tableProblems = checks.flatMap((c) => c.problems);
    // v1 counts rows only at level `rows` (a table without files has 0); a legacy file is parsed whenever it is read.
    const counted = plan.format === 'legacy' ? checks.length > 0 : plan.level === 'rows';
    const records = counted && checks.every((c) => c.records !== undefined) ? checks.reduce((sum, c) => sum + c.records!, 0) : undefined;
    problems.push(...tableProblems);
    tables.push({ table, expectedRecords, ...(records === undefined ? {} : { records }), ok: tableProblems.length === 0, problems: tableProblems });
  }
  for (const { item, check } of checked) if (item.kind === 'schema') problems.push(...check.problems);
  return { ...base, valid: problems.length === 0, problems, warnings: [...plan.warnings], tables, ...(plan.totalRecords === undefined ? {} : { totalRecords: plan.totalRecords }) };
}

/** Longest problem text a bounded check keeps. */
export const MAX_PROBLEM_CHARS = 300;

/** Most problems a bounded check keeps (a file's check finds about ten at most: MAX_PROBLEMS_PER_FILE bad lines and a few more). */
export const MAX_ITEM_PROBLEMS = 10;

/**
 * How many problems each of `items` checks may keep so that all of them, at MAX_PROBLEM_CHARS each,
 * fit in `budgetChars`: between 1 (every bad file still says what is wrong with it) and MAX_ITEM_PROBLEMS.
 */
export function problemsPerItem(items: number, budgetChars: number): number {
  if (items <= 0) return MAX_ITEM_PROBLEMS;
  return Math.min(MAX_ITEM_PROBLEMS, Math.max(1, Math.floor(budgetChars / (items * MAX_PROBLEM_CHARS))));
}

/**
 * At most `maxProblems` problems of one check, each at most `maxChars` characters, the last saying
 * how many were left out: a check's result stays small wherever it has to travel (Step Functions
 * states hold 256 KiB). The full list is what `validateBackup` reports.
 */
export function boundItemValidation(result: ItemValidation, maxProblems: number, maxChars = MAX_PROBLEM_CHARS): ItemValidation {
  const limit = Math.max(1, Math.floor(maxProblems));
  const clip = (text: string) => (text.length <= maxChars ? text : `${text.slice(0, maxChars - 1)}…`);
  const problems = result.problems.length <= limit ? result.problems.map(clip) : [...result.problems.slice(0, limit - 1).map(clip), `${result.key}: ${result.problems.length - limit + 1} more problems`];
  return { ...result, problems };
}

/**
 * Checks a backup without trusting it: the manifest's schema and totals, then every file's presence,
 * size, SHA-256, line count and that each line is a JSON object of the table's width. Every problem
 * is reported, not only the first.
 *
 * The same pieces as the state machines' parallel validation: `planValidation`, a
 * `checkValidationItem` per file (here `concurrency` tables at a time, largest first), and
 * `summarizeValidation`.
 */
export async function validateBackup(store: BackupStore, backupId: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  return (await validateWithManifest(store, backupId, options)).report;
}

/** The report, and the manifest it checked the files against (none when it could not be read). */
export async function validateWithManifest(store: BackupStore, backupId: string, options: ValidateOptions = {}): Promise<{ report: ValidationReport; backup: ParsedBackup | undefined }> {
  const { plan, backup } = await planValidation(store, backupId, options);
  if (!backup) return { report: summarizeValidation(plan, []), backup };
  const results: ItemValidation[] = [];
  const check = async (index: number) => {
    results[index] = await checkValidationItem(store, backupId, backup, plan.items[index]!, options);
  };
  const indexes = plan.items.map((_, i) => i);
  if (backup.format === 'v1') {
    const tableItems = (table: string) =>
      indexes.filter((i) => {
        const item = plan.items[i]!;
        return item.kind === 'table' && item.table === table;
      });
    const { manifest } = backup;
    let done = 0;
    // Largest tables first so the concurrent checks finish together.
    const order = [...manifest.tables].sort((a, b) => manifest.tableDetails[b]!.bytes - manifest.tableDetails[a]!.bytes);
    await runPool(order, options.concurrency ?? 2, async (table) => {
      for (const item of tableItems(table)) await check(item);
      options.onProgress?.(table, ++done, manifest.tables.length);
    });
  } else {
    // One file per table, in the manifest's order.
    for (const i of indexes) {
      options.onProgress?.(plan.tables[i]!.table, i, plan.tables.length);
      await check(i);
    }
  }
  for (const i of indexes) if (plan.items[i]!.kind === 'schema') await check(i);
  return { report: summarizeValidation(plan, results), backup };
}

/**
 * Validates and returns the parsed backup, or throws InvalidBackupError listing every problem. The
 * backup returned is the manifest the files were checked against, not a second read of it (one
 * request fewer on S3, and no chance of a manifest replaced in between).
 */
export async function requireValidBackup(store: BackupStore, backupId: string, options: ValidateOptions = {}): Promise<{ report: ValidationReport; backup: ParsedBackup }> {
  const { report, backup } = await validateWithManifest(store, backupId, options);
  if (!report.valid || !backup) {
    throw new InvalidBackupError(`Backup ${backupId} is not valid (${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}: ${report.problems[0]}); nothing was restored`, report.problems);
  }
  return { report, backup };
}
