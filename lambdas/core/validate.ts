import { pipeline } from 'node:stream';
import { BackupNotFoundError, InvalidBackupError, StorageError } from './errors.js';
import { readManifest } from './catalog.js';
import { schemaFileProblems, schemaFiles } from './schema/files.js';
import { decompressor, type Codec } from './format/codec.js';
import { LineEndWatch, copyTextLineProblem } from './format/copy-text-lines.js';
import { MANIFEST_FILE, fileCodec, fileRows, legacyTableFileKey, type LegacyManifest, type Manifest, type TableEntry } from './format/manifest.js';
import { MAX_LEGACY_FILE_BYTES, maxLineBytes } from './limits.js';
import type { BackupStore } from './storage/store.js';
import { CLAIM_FILE, ObjectTooLargeError, readText } from './storage/store.js';
import { HashingPassThrough, LineTooLongError, readLines, runPool } from './util/streams.js';

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

type CheckLevel = 'sizes' | 'checksums' | 'rows';

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

  const copyText = fileRows(file) === 'copy-text';
  const lineEnd = new LineEndWatch();
  const lines = copyText ? pipeline(source, hasher, decompressor(codec), lineEnd, onError) : pipeline(source, hasher, decompressor(codec), onError);
  let records = 0;
  let badLines = 0;
  let stopped: string | undefined;
  const expectedKeys = table.columns.length;
  try {
    for await (const line of readLines(lines, lineLimit)) {
      records++;
      if (records > file.records) {
        // More rows than the manifest promised: a decompression bomb or another file. Reading on
        // would only inflate more; what is known already makes the backup invalid.
        stopped = `${file.key}: holds more than the manifest's ${file.records} records; stopped reading there`;
        break;
      }
      if (copyText) {
        const bad = copyTextLineProblem(line, expectedKeys);
        if (bad !== undefined && ++badLines <= MAX_PROBLEMS_PER_FILE) problems.push(`${file.key}: line ${records} ${bad}`);
        continue;
      }
      let row: unknown;
      try {
        row = JSON.parse(line.toString('utf8'));
      } catch {
        row = undefined;
      }
      const fine = typeof row === 'object' && row !== null && !Array.isArray(row) && Object.keys(row).length === expectedKeys;
      if (!fine && ++badLines <= MAX_PROBLEMS_PER_FILE) {
        problems.push(`${file.key}: line ${records} is not a JSON object with the table's ${expectedKeys} columns`);
      }
    }
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
  if (copyText && lineEnd.endsMidLine) problems.push(`${file.key}: ends in the middle of a row (truncated)`);
  const bad = checksumProblem(file, hasher.sha256);
  if (bad) problems.push(bad);
  if (records !== file.records) problems.push(`${file.key}: ${records} records, the manifest says ${file.records}`);
  return { records, problems };
}

async function validateV1(store: BackupStore, backupId: string, manifest: Manifest, options: ValidateOptions): Promise<Omit<ValidationReport, 'backupId' | 'location' | 'quick'>> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const tables: TableValidation[] = [];
  if (manifest.backupId !== backupId) warnings.push(`metadata.json names backup ${manifest.backupId} but the folder is ${backupId} (renamed or copied)`);
  const level: CheckLevel = options.quick ? 'sizes' : options.checksumsOnly ? 'checksums' : 'rows';
  const lineLimit = options.maxLineBytes ?? maxLineBytes();
  let done = 0;
  const results = new Map<string, TableValidation>();
  // Largest tables first so the concurrent checks finish together.
  const order = [...manifest.tables].sort((a, b) => manifest.tableDetails[b]!.bytes - manifest.tableDetails[a]!.bytes);
  await runPool(order, options.concurrency ?? 2, async (name) => {
    const entry = manifest.tableDetails[name]!;
    const tableProblems: string[] = [];
    let records: number | undefined = 0;
    for (const file of entry.files) {
      const result = await checkV1File(store, backupId, entry, file, fileCodec(manifest, file), level, lineLimit);
      tableProblems.push(...result.problems);
      records = result.records === undefined || records === undefined ? undefined : records + result.records;
    }
    results.set(name, { table: name, expectedRecords: entry.records, ...(level !== 'rows' || records === undefined ? {} : { records }), ok: tableProblems.length === 0, problems: tableProblems });
    options.onProgress?.(name, ++done, manifest.tables.length);
  });
  for (const name of manifest.tables) {
    const result = results.get(name)!;
    problems.push(...result.problems);
    tables.push(result);
  }
  // The claim object of an S3 backup is the store's, not the backup's.
  const listed = new Set([MANIFEST_FILE, CLAIM_FILE, ...manifest.tables.flatMap((t) => manifest.tableDetails[t]!.files.map((f) => f.key)), ...schemaFiles(manifest).map((f) => f.key)]);
  for (const object of await store.listObjects(`${backupId}/`)) {
    const name = object.key.slice(backupId.length + 1);
    if (!listed.has(name)) warnings.push(`${name}: not listed in metadata.json`);
  }
  return { format: 'v1', valid: problems.length === 0, problems, warnings, tables, totalRecords: manifest.totalRecords };
}

async function validateLegacy(store: BackupStore, backupId: string, manifest: LegacyManifest, options: ValidateOptions): Promise<Omit<ValidationReport, 'backupId' | 'location' | 'quick'>> {
  const problems: string[] = [];
  const tables: TableValidation[] = [];
  let index = 0;
  for (const name of manifest.tables) {
    options.onProgress?.(name, index++, manifest.tables.length);
    const key = legacyTableFileKey(name);
    const expected = manifest.recordCounts[name] ?? 0;
    const tableProblems: string[] = [];
    let records: number | undefined;
    const stat = await store.statObject(`${backupId}/${key}`);
    if (!stat) tableProblems.push(`${key}: missing`);
    else if (stat.size === 0) tableProblems.push(`${key}: empty file (0 bytes)`);
    else if (!options.quick) {
      let text: string | undefined;
      try {
        text = await readText(store, `${backupId}/${key}`, MAX_LEGACY_FILE_BYTES);
      } catch (error) {
        // Too large to parse safely is a property of the bytes; a read that failed is the storage's.
        if (!(error instanceof ObjectTooLargeError)) throw error;
        tableProblems.push(`${key}: ${error.message}`);
      }
      if (text !== undefined) try {
        const rows: unknown = JSON.parse(text);
        if (!Array.isArray(rows)) tableProblems.push(`${key}: not a JSON array`);
        else {
          records = rows.length;
          const bad = rows.findIndex((r) => typeof r !== 'object' || r === null || Array.isArray(r));
          if (bad !== -1) tableProblems.push(`${key}: element ${bad + 1} is not a JSON object`);
          if (rows.length !== expected) tableProblems.push(`${key}: ${rows.length} records, metadata.json says ${expected}`);
        }
      } catch (error) {
        tableProblems.push(`${key}: not valid JSON (${(error as Error).message})`);
      }
    }
    problems.push(...tableProblems);
    tables.push({ table: name, expectedRecords: expected, ...(records === undefined ? {} : { records }), ok: tableProblems.length === 0, problems: tableProblems });
  }
  return { format: 'legacy', valid: problems.length === 0, problems, warnings: [], tables, totalRecords: manifest.totalRecords };
}

/**
 * Checks a backup without trusting it: the manifest's schema and totals, then every file's presence,
 * size, SHA-256, line count and that each line is a JSON object of the table's width. Every problem
 * is reported, not only the first.
 */
export async function validateBackup(store: BackupStore, backupId: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  const base = { backupId, location: store.description, quick: options.quick ?? false };
  let parsed;
  try {
    parsed = await readManifest(store, backupId);
  } catch (error) {
    if (error instanceof InvalidBackupError) return { ...base, format: 'unknown', valid: false, problems: error.problems, warnings: [], tables: [] };
    if (error instanceof BackupNotFoundError && (await store.listObjects(`${backupId}/`)).length > 0) {
      return { ...base, format: 'unknown', valid: false, problems: [`metadata.json: missing (the backup is incomplete)`], warnings: [], tables: [] };
    }
    throw error;
  }
  const result = parsed.format === 'v1' ? await validateV1(store, backupId, parsed.manifest, options) : await validateLegacy(store, backupId, parsed.manifest, options);
  const schemaProblems = parsed.format === 'v1' ? await schemaFileProblems(store, backupId, parsed.manifest, options.quick ?? false) : [];
  if (schemaProblems.length) return { ...base, ...result, valid: false, problems: [...result.problems, ...schemaProblems] };
  return { ...base, ...result };
}

/** Validates and returns the parsed backup, or throws InvalidBackupError listing every problem. */
export async function requireValidBackup(store: BackupStore, backupId: string, options: ValidateOptions = {}): Promise<{ report: ValidationReport; backup: ParsedBackup }> {
  const report = await validateBackup(store, backupId, options);
  if (!report.valid) {
    throw new InvalidBackupError(`Backup ${backupId} is not valid (${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}: ${report.problems[0]}); nothing was restored`, report.problems);
  }
  return { report, backup: await readManifest(store, backupId) };
}
