import { Readable, Writable, pipeline as streamPipeline } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { CountMismatchError, DrError, IntegrityError, InvalidBackupError, OperationFailedError, PrivilegeError, RowConversionError, SchemaDriftError, StorageError, ObjectNotFoundError, UsageError, LockTimeoutError } from './errors.js';
import { decompressor, type Codec, type DecompressorOptions } from './format/codec.js';
import { CopyTextLimit } from './format/copy-text-lines.js';
import type { RowEncoding } from './format/row-encoding.js';
import { fileCodec, fileRows, legacyTableFileKey, splitQualifiedName, type ColumnInfo, type SequenceInfo } from './format/manifest.js';
import { copyIn } from './postgres/copy-in.js';
import { connect, describeDatabase, lockTimeoutOf, pgCode, quoteIdent, quoteLiteral, quoteQualified } from './postgres/connection.js';
import { dropDeferrableIndexes, rebuildIndexes, type DeferredIndex } from './restore-indexes.js';
import { columnBaseTypes, compositeColumns, describeTables, foreignKeyOrder, ownedSequences, tableRows, type TableShape } from './postgres/catalog.js';
import { NdjsonToCopyBytes, convertNdjsonBytes, type RowConverter } from './copy-text.js';
import { CopyTextToCopyBinary, hasCopyTextBinaryWriter } from './copy-text-binary.js';
import { batchWritten } from './slab-output.js';
import { BINARY_KIND_BY_OID, NdjsonToCopyBinary, type BinaryKind } from './copy-binary.js';
import { applyExactOutputSettings } from './postgres/source.js';
import type { BackupStore } from './storage/store.js';
import { readText } from './storage/store.js';
import { MAX_LEGACY_FILE_BYTES, maxLineBytes } from './limits.js';
import { countOrphans } from './integrity.js';
import { lockTables, type LockHolder } from './restore-locks.js';
import { recordRestore } from './restore-record.js';
import { applySchema } from './schema/apply.js';
import type { SchemaScript } from './schema/capture.js';
import { readSchemaScript } from './schema/files.js';
import { HashingPassThrough, LineTooLongError, MalformedLineError, NdjsonLimit, NotARowError } from './util/streams.js';
import { requireValidBackup, validateWithManifest, type ParsedBackup } from './validate.js';

export type RestoreProgress =
  /** The pre-check passed: the manifest and every file's presence and size (checksums and rows are checked while loading). */
  | { readonly type: 'validated'; readonly backupId: string; readonly tables: number; readonly totalRecords: number }
  /** The target had none of the backup's tables: the backup's schema was created (before the rows). */
  | { readonly type: 'schema-created'; readonly statements: number }
  /** Constraints, indexes, triggers, policies, grants and owners of the created schema were added (after the rows). */
  | { readonly type: 'schema-completed'; readonly statements: number }
  /** Target-only columns the restore allows (nullable or with a default): they get their default. */
  | { readonly type: 'schema-notes'; readonly notes: readonly string[] }
  /** The table locks are not granted yet: who holds them (sent about every 5 s while waiting). */
  | { readonly type: 'lock-wait'; readonly waitedMs: number; readonly holders: readonly LockHolder[] }
  | { readonly type: 'table-start'; readonly table: string; readonly expectedRecords: number }
  | { readonly type: 'table-progress'; readonly table: string; readonly records: number; readonly expectedRecords: number }
  | { readonly type: 'table-done'; readonly table: string; readonly records: number }
  /** Plain indexes dropped before loading are being built again, from the loaded rows (see restore-indexes.ts). */
  | { readonly type: 'indexes-start'; readonly indexes: number }
  | { readonly type: 'indexes-rebuilt'; readonly indexes: number; readonly durationMs: number }
  | { readonly type: 'verified'; readonly tables: number };

export interface RestoreOptions {
  readonly store: BackupStore;
  readonly backupId: string;
  /** Target database. It must already have the schema (tables, types); restore replaces the data. */
  readonly databaseUrl: string;
  /** Restore only these tables (names as in the manifest). @default every table of the backup */
  readonly tables?: readonly string[];
  /** How long to wait for exclusive locks on the target tables. @default 60 s */
  readonly lockTimeoutMs?: number;
  /**
   * Where the backup was read from, as recorded in the target's restore log (iconic_dr.restores) so
   * that `verify` without a backup compares with what was restored. @default the store's description
   */
  readonly location?: string;
  /**
   * `auto`: tables whose column types all have a binary encoder here are converted to binary COPY in
   * the client (fastest: the server parses nothing), other tables without composite columns to COPY
   * text, and the rest go through `json_to_record`; copy-text files of tables whose columns all have
   * a binary writer for COPY text are converted to binary too (copy-text-binary.ts). `text`: COPY
   * text wherever `auto` would use binary. `json`: every NDJSON table through `json_to_record`.
   * With `text` and `json`, copy-text files load their COPY text as it is. @default 'auto'
   */
  readonly loadMethod?: 'auto' | 'text' | 'json';
  /**
   * Drop the tables' plain indexes before loading and build them again from the loaded rows, in the
   * same transaction (restore-indexes.ts says which qualify). `false` keeps every index in place,
   * maintained row by row. @default true
   */
  readonly deferIndexes?: boolean;
  /**
   * When the target has none of the backup's tables, create them from the backup's schema file (in
   * the same transaction). `false` refuses such a target instead, as restores before schemas did. @default true
   */
  readonly createSchema?: boolean;
  /** Create the schema in a target without the tables, and load no rows. @default false */
  readonly schemaOnly?: boolean;
  readonly onProgress?: (event: RestoreProgress) => void;
}

export interface RestoreResult {
  readonly backupId: string;
  readonly target: string;
  readonly tables: readonly { readonly table: string; readonly records: number }[];
  readonly totalRecords: number;
  readonly durationMs: number;
  /** How user triggers were kept from firing: the replication role, or per-table DISABLE TRIGGER USER. */
  readonly triggerMode: 'session_replication_role' | 'disable_trigger';
  /** Differences from the backup's shape that were allowed (target-only columns that get their default). */
  readonly schemaNotes: readonly string[];
  /** Whether the restore was recorded in the target's iconic_dr.restores (false: no privilege to create it). */
  readonly recorded: boolean;
  /** The target had none of the tables and the backup's schema was created in it. */
  readonly schemaCreated: boolean;
}

/** One v1 table file: where it is and what the manifest promises about it. */
interface RestoreFile {
  readonly key: string;
  readonly records: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly codec: Codec;
  readonly rows: RowEncoding;
}

/** The file's name in the backup's folder (`orders.copy.zst`), as validate names it in its problems. */
function nameInBackup(backupId: string, file: RestoreFile): string {
  return file.key.slice(backupId.length + 1);
}

/** One table to load: where its rows are and how they are encoded. */
interface RestorePlan {
  readonly qualified: string;
  readonly schema: string;
  readonly name: string;
  readonly expectedRecords: number;
  /** v1: compressed NDJSON or COPY text files with the manifest's column list; legacy: one JSON array file. */
  readonly source: { readonly kind: 'v1'; readonly files: readonly RestoreFile[]; readonly columns: readonly ColumnInfo[]; readonly generated: readonly string[] } | { readonly kind: 'legacy'; readonly key: string };
}

function planTables(backupId: string, backup: ParsedBackup, only?: readonly string[]): RestorePlan[] {
  const all: RestorePlan[] =
    backup.format === 'v1'
      ? backup.manifest.tables.map((t) => {
          const d = backup.manifest.tableDetails[t]!;
          return { qualified: t, schema: d.schema, name: d.name, expectedRecords: d.records, source: { kind: 'v1', files: d.files.map((f) => ({ key: `${backupId}/${f.key}`, records: f.records, bytes: f.bytes, sha256: f.sha256, codec: fileCodec(backup.manifest, f), rows: fileRows(f) })), columns: d.columns, generated: d.generatedColumns } };
        })
      : backup.manifest.tables.map((t) => {
          const [schema, name] = splitQualifiedName(t);
          return { qualified: t, schema, name, expectedRecords: backup.manifest.recordCounts[t] ?? 0, source: { kind: 'legacy', key: `${backupId}/${legacyTableFileKey(t)}` } };
        });
  if (!only?.length) return all;
  const unknown = only.filter((t) => !all.some((p) => p.qualified === t));
  if (unknown.length) throw new UsageError(`Backup ${backupId} has no table${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; it has: ${all.map((p) => p.qualified).join(', ')}`);
  return all.filter((p) => only.includes(p.qualified));
}

/** Drivers that only see the REST description record types without modifiers (`numeric`, not `numeric(10,2)`). */
function sameType(backupType: string, targetType: string, exact: boolean): boolean {
  if (exact) return backupType === targetType;
  const base = (t: string) => t.replace(/\([^)]*\)/g, '').replace(/\s+/g, ' ').trim().toLowerCase();
  return base(backupType) === base(targetType) || base(targetType).endsWith(`.${base(backupType)}`);
}

/**
 * Compares the backup's shape with the target's: every difference that would lose or refuse data,
 * and apart from them the target-only columns that may simply take their default (a newer migration
 * added a nullable column or one with a default): those are allowed, with a note.
 */
function schemaDifferences(plans: readonly RestorePlan[], targets: ReadonlyMap<string, TableShape>, exactTypes: boolean): { differences: string[]; allowed: string[] } {
  const differences: string[] = [];
  const allowed: string[] = [];
  for (const plan of plans) {
    const target = targets.get(plan.qualified);
    if (!target) {
      differences.push(`${plan.qualified}: table does not exist in the target`);
      continue;
    }
    if (plan.source.kind !== 'v1') continue;
    const targetColumns = new Map(target.columns.map((c) => [c.name, c]));
    for (const column of plan.source.columns) {
      const there = targetColumns.get(column.name);
      // REST cannot tell generated columns apart, so supabase-driver backups store them: the target recomputes them.
      if (!there && !exactTypes && target.generatedColumns.includes(column.name)) continue;
      if (!there) differences.push(target.generatedColumns.includes(column.name) ? `${plan.qualified}.${column.name}: generated in the target, stored in the backup` : `${plan.qualified}.${column.name}: column missing in the target`);
      else if (!sameType(column.type, there.type, exactTypes)) differences.push(`${plan.qualified}.${column.name}: type ${column.type} in the backup, ${there.type} in the target`);
    }
    const backupColumns = new Set(plan.source.columns.map((c) => c.name));
    for (const column of target.columns) {
      if (backupColumns.has(column.name)) continue;
      if (column.nullable || target.defaultedColumns.includes(column.name)) allowed.push(`${plan.qualified}.${column.name}: exists only in the target; restored rows get its ${target.defaultedColumns.includes(column.name) ? 'default' : 'default (NULL)'}`);
      else differences.push(`${plan.qualified}.${column.name}: column exists only in the target, NOT NULL without a default`);
    }
    for (const name of plan.source.generated) if (!target.generatedColumns.includes(name) && !targetColumns.has(name)) differences.push(`${plan.qualified}.${name}: generated column missing in the target`);
  }
  return { differences, allowed };
}

/** The INSERT that turns staged JSON lines into rows, casting text-encoded columns back to their type. */
function insertStatement(target: TableShape, columns: readonly ColumnInfo[], jsonAsText: boolean): string {
  // The target's own types: equal to the backup's for v1 (checked), and exact where a driver recorded less.
  const typeOf = (c: ColumnInfo) => target.columns.find((t) => t.name === c.name)?.type ?? c.type;
  const definitions = columns.map((c) => `${quoteIdent(c.name)} ${jsonAsText && c.encoding === 'text' ? 'text' : typeOf(c)}`);
  const values = columns.map((c) => (jsonAsText && c.encoding === 'text' ? `x.${quoteIdent(c.name)}::${typeOf(c)}` : `x.${quoteIdent(c.name)}`));
  const overriding = target.columns.some((c) => c.identity) ? ' OVERRIDING SYSTEM VALUE' : '';
  return (
    `INSERT INTO ${quoteQualified(target.schema, target.name)} (${columns.map((c) => quoteIdent(c.name)).join(', ')})${overriding} ` +
    `SELECT ${values.join(', ')} FROM pg_temp.iconic_dr_load l, LATERAL json_to_record(l.line::json) AS x(${definitions.join(', ')})`
  );
}

/**
 * Stops a file at its first row beyond the manifest's count or at a line over the length bound, so a
 * decompression bomb is not inflated (and not sent to the server) past what the manifest promised.
 */
function limitRows(rows: Readable, backupId: string, file: RestoreFile, onRows?: (rows: number) => void): Readable {
  const tooMany = tooManyRows(backupId, file);
  // Every NDJSON row is a JSON object; copy-text rows are checked by whoever reads them (the converter, the server).
  const limit = file.rows === 'copy-text' ? new CopyTextLimit(file.records, maxLineBytes(), tooMany, onRows) : new NdjsonLimit(file.records, maxLineBytes(), tooMany);
  return streamPipeline(rows, limit, () => undefined);
}

function tooManyRows(backupId: string, file: RestoreFile): (max: number) => Error {
  const name = nameInBackup(backupId, file);
  return (max) => new InvalidBackupError(`Backup ${backupId} is not valid: ${name} holds more than the manifest's ${max} rows; rolled back, the target is unchanged`, [`${name}: more than the manifest's ${max} records`]);
}

/**
 * Streams a copy-text file's rows into the table as they are: the server parses its own COPY text,
 * under the session settings the backup wrote it with (EXACT_OUTPUT_SETTINGS). Resolves with the
 * rows the server loaded. For tables {@link copyTextBinaryKinds} leaves out, and loadMethod `text`
 * or `json`; the others are converted to binary (copy-text-binary.ts).
 */
async function copyTextRows(client: pg.Client, target: TableShape, columns: readonly ColumnInfo[], rows: Readable): Promise<number> {
  // FREEZE as in copyRows: the table was truncated in this transaction.
  const copy = client.query(copyIn(`COPY ${quoteQualified(target.schema, target.name)}${columnList(columns)} FROM STDIN${target.partitioned ? '' : ' WITH (FREEZE)'}`));
  await pipeline(rows, copy);
  return copy.rowCount ?? 0;
}

/** A COPY's column list; none for a table without columns (`()` is a syntax error, and COPY then takes the table's no columns). */
function columnList(columns: readonly ColumnInfo[]): string {
  return columns.length ? ` (${columns.map((c) => quoteIdent(c.name)).join(', ')})` : '';
}

/** Decompresses with errors of the source forwarded (a plain .pipe() would drop them and hang). */
function decompress(source: Readable, codec: Codec, options: DecompressorOptions = {}): Readable {
  return streamPipeline(source, decompressor(codec, options), () => undefined);
}

/** What copyRows reads: NDJSON rows, or copy-text rows (always converted to binary). */
type RowsIn = { readonly rows: 'ndjson'; readonly kinds: readonly (BinaryKind | undefined)[] | undefined } | { readonly rows: 'copy-text'; readonly kinds: readonly BinaryKind[] };

/** How one file's rows load: converted in the client by copyRows, COPY text sent as it is, or staged lines for json_to_record. */
type LoadPath = { readonly via: 'copy'; readonly rowsIn: RowsIn } | { readonly via: 'copy-text' } | { readonly via: 'staged' };

/**
 * Streams rows straight into the table as binary COPY (when `rowsIn.kinds` is given) or, from
 * NDJSON, as COPY text; resolves with the rows the server loaded. Values of columns the target
 * generates itself are read and dropped.
 */
async function copyRows(client: pg.Client, target: TableShape, columns: readonly ColumnInfo[], rowsIn: RowsIn, rows: Readable, onRows?: (rows: number) => void): Promise<number> {
  const generated = new Set(target.generatedColumns);
  const binary = rowsIn.kinds !== undefined;
  let converter: RowConverter;
  if (rowsIn.rows === 'copy-text') converter = new CopyTextToCopyBinary(columns.map((c, i) => ({ name: c.name, kind: rowsIn.kinds[i]! })));
  else if (rowsIn.kinds) {
    const kinds = rowsIn.kinds;
    converter = new NdjsonToCopyBinary(columns.map((c, i) => ({ name: c.name, kind: kinds[i] })));
  } else converter = new NdjsonToCopyBytes(columns.map((c) => c.name), generated);
  const loaded = columns.filter((c) => !generated.has(c.name));
  // FREEZE: the table was truncated in this (sub)transaction, so rows can be written frozen and
  // all-visible (no hint-bit rewrite or vacuum freeze later). Not allowed on partitioned tables.
  const options = [...(binary ? ['FORMAT binary'] : []), ...(target.partitioned ? [] : ['FREEZE'])];
  // Each batch's slab goes back to the pool once the socket has written it (slab-output.ts).
  const copy = client.query(copyIn(`COPY ${quoteQualified(target.schema, target.name)}${columnList(loaded)} FROM STDIN${options.length ? ` WITH (${options.join(', ')})` : ''}`, batchWritten));
  try {
    await pipeline(Readable.from(convertNdjsonBytes(rows, converter, onRows, { giveBackChunks: true }), { objectMode: false, highWaterMark: 256 * 1024 }), copy);
  } catch (error) {
    if (error instanceof RowConversionError) throw new OperationFailedError(`${target.qualified}: ${error.message}`, { cause: error });
    throw error;
  }
  return copy.rowCount ?? 0;
}

async function stageLines(client: pg.Client, lines: Readable): Promise<void> {
  await client.query('TRUNCATE pg_temp.iconic_dr_load');
  const copy = client.query(copyIn(`COPY pg_temp.iconic_dr_load (line) FROM STDIN WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')`));
  await pipeline(lines, copy);
}

/** Legacy tables are whole JSON arrays written by JavaScript; each element becomes one staged line. */
async function legacyLines(store: BackupStore, key: string, target: TableShape): Promise<Readable> {
  const rows = JSON.parse(await readText(store, key, MAX_LEGACY_FILE_BYTES)) as Record<string, unknown>[];
  const known = new Set([...target.columns.map((c) => c.name), ...target.generatedColumns]);
  const unknown = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) if (!known.has(k)) unknown.add(k);
  if (unknown.size) throw new SchemaDriftError(`The backup of ${target.qualified} has columns the target lacks: ${[...unknown].join(', ')}`, [...unknown].map((c) => `${target.qualified}.${c}: column missing in the target`));
  return Readable.from(
    (function* () {
      for (const row of rows) yield `${JSON.stringify(row)}\n`;
    })(),
  );
}

/** Picks the sequence position: the backed-up one, raised to the restored data's maximum when needed. */
async function resetSequences(client: pg.Client, targets: readonly TableShape[], recorded: readonly SequenceInfo[]): Promise<void> {
  const owned = await ownedSequences(client, targets);
  if (owned.length === 0) return;
  // Two round trips in all (every column's max, then every setval), not two per sequence.
  const maxima = `SELECT ${owned.map((seq, i) => {
    const table = targets.find((t) => t.qualified === seq.table)!;
    return `(SELECT max(${quoteIdent(seq.column)})::text FROM ${quoteQualified(table.schema, table.name)}) AS m${i}`;
  }).join(', ')}`;
  const { rows } = await client.query<Record<string, string | null>>(maxima);
  const setvals = owned.map((seq, i) => {
    const max = rows[0]?.[`m${i}`] ?? null;
    const saved = recorded.find((r) => r.schema === seq.schema && r.name === seq.name);
    let value: bigint | undefined;
    let called = true;
    if (saved) {
      value = BigInt(saved.lastValue);
      called = saved.isCalled;
    }
    if (max !== null && /^-?\d+$/.test(max) && (value === undefined || BigInt(max) > (called ? value : value - 1n))) {
      value = BigInt(max);
      called = true;
    }
    const name = quoteLiteral(quoteQualified(seq.schema, seq.name));
    return value === undefined ? `setval(${name}, (SELECT seqstart FROM pg_sequence WHERE seqrelid = ${name}::regclass), false)` : `setval(${name}, ${value.toString()}, ${called})`;
  });
  await client.query(`SELECT ${setvals.join(', ')}`);
}

/** The binary COPY kind of a target column's base type (an enum's is text's), if it has one. */
function columnKind(target: TableShape, column: ColumnInfo, baseTypes: ReadonlyMap<string, number | 'enum'>): BinaryKind | undefined {
  const base = baseTypes.get(`${target.oid}:${column.name}`);
  return base === 'enum' ? 'text' : base === undefined ? undefined : BINARY_KIND_BY_OID.get(base);
}

/**
 * Per column of the backup (in row order), its binary COPY encoding, undefined for columns the
 * target generates; or undefined when some column has no exact binary encoder (the table loads as
 * COPY text then).
 */
function binaryKinds(target: TableShape, columns: readonly ColumnInfo[], baseTypes: ReadonlyMap<string, number | 'enum'>): (BinaryKind | undefined)[] | undefined {
  const kinds: (BinaryKind | undefined)[] = [];
  for (const column of columns) {
    if (target.generatedColumns.includes(column.name)) {
      kinds.push(undefined);
      continue;
    }
    const kind = columnKind(target, column, baseTypes);
    // json/jsonb arrive as strings holding the JSON text (both drivers encode them so); all else as JSON values.
    if (kind === undefined || (kind === 'json' || kind === 'jsonb') !== (column.encoding === 'text')) return undefined;
    kinds.push(kind);
  }
  return kinds;
}

/**
 * Each column's kind when a copy-text file of these columns can be converted to binary COPY in the
 * client (copy-text-binary.ts), else undefined (its COPY text loads as it is): every column of a
 * kind with a binary writer for COPY text. The type and generated-column checks are defensive: the
 * schema check before loading already refuses a target whose column types differ from the backup's
 * or that generates a backed-up column (SchemaDriftError), and the conversion reads the text of the
 * backup's type.
 */
function copyTextBinaryKinds(target: TableShape, columns: readonly ColumnInfo[], baseTypes: ReadonlyMap<string, number | 'enum'>): BinaryKind[] | undefined {
  if (!columns.length) return undefined;
  const kinds: BinaryKind[] = [];
  for (const column of columns) {
    if (target.generatedColumns.includes(column.name)) return undefined;
    if (target.columns.find((c) => c.name === column.name)?.type !== column.type) return undefined;
    const kind = columnKind(target, column, baseTypes);
    if (!hasCopyTextBinaryWriter(kind)) return undefined;
    kinds.push(kind);
  }
  return kinds;
}

/**
 * Sizes of every file before the target is touched; a v1 file's SHA-256 and row count are checked
 * as it streams into the table, inside the transaction, so the data is read once. On any problem the
 * full check runs, to list every problem in the error.
 */
async function validateForRestore(store: BackupStore, backupId: string): Promise<ParsedBackup> {
  const sizes = await validateWithManifest(store, backupId, { quick: true });
  if (sizes.report.valid && sizes.backup?.format === 'v1') return sizes.backup;
  return (await requireValidBackup(store, backupId, { checksumsOnly: true })).backup;
}

/** The validate-style problem when a file is not byte for byte what the backup wrote, else undefined. */
async function fileProblem(store: BackupStore, backupId: string, file: RestoreFile, read?: HashingPassThrough): Promise<string | undefined> {
  const name = nameInBackup(backupId, file);
  let hasher = read;
  if (!hasher) {
    hasher = new HashingPassThrough();
    try {
      await pipeline(await store.readObject(file.key), hasher, new Writable({ write: (_chunk, _encoding, done) => done() }));
    } catch (error) {
      if (error instanceof StorageError) throw error;
      return `${name}: cannot be read (${(error as Error).message})`;
    }
  }
  if (hasher.bytes !== file.bytes) return `${name}: ${hasher.bytes} bytes, the manifest says ${file.bytes} (truncated or modified)`;
  if (hasher.sha256 !== file.sha256) return `${name}: SHA-256 ${hasher.sha256.slice(0, 12)}… differs from the manifest's ${file.sha256.slice(0, 12)}… (corrupted)`;
  return undefined;
}

function corruptBackup(backupId: string, problem: string, cause?: unknown): InvalidBackupError {
  return new InvalidBackupError(`Backup ${backupId} is not valid: ${problem}; rolled back, the target is unchanged`, [problem], cause === undefined ? undefined : { cause });
}

/** What every step of one restore reads: where the backup is, where it goes, and how. */
interface RestoreContext {
  readonly client: pg.Client;
  readonly store: BackupStore;
  readonly backupId: string;
  readonly backup: ParsedBackup;
  readonly plans: readonly RestorePlan[];
  readonly options: RestoreOptions;
  /** The target as it may be shown (no credentials). */
  readonly target: string;
}

/** Opens the restore's one transaction, with the output settings backups were written with. */
async function beginTransaction(client: pg.Client, lockTimeoutMs: number): Promise<void> {
  await applyExactOutputSettings(client);
  // One round trip: BEGIN opens the transaction block the SET LOCALs that follow it belong to.
  // Literals this restore builds (comments, sequence names) double quotes only, backslashes stay as they are.
  await client.query(`BEGIN; SET LOCAL lock_timeout = ${lockTimeoutMs}; SET LOCAL standard_conforming_strings = on`);
}

/** Keeps user triggers from firing: replica mode where the user may set it, else per-table DISABLE TRIGGER USER (after the tables are emptied). */
async function negotiateTriggerMode(client: pg.Client): Promise<RestoreResult['triggerMode']> {
  try {
    // The savepoint is taken even when the SET after it is refused: the rollback below returns to it.
    await client.query("SAVEPOINT replication_role; SET LOCAL session_replication_role = 'replica'");
    return 'session_replication_role';
  } catch (error) {
    if (pgCode(error) !== '42501') throw error;
    await client.query('ROLLBACK TO SAVEPOINT replication_role');
    return 'disable_trigger';
  }
}

/** The target's tables in load order (foreign keys first), what differences from the backup are allowed, and the schema script when it had to be created. */
interface PreparedTarget {
  readonly targets: readonly TableShape[];
  readonly allowed: readonly string[];
  readonly script?: SchemaScript;
}

/**
 * Reads the target's tables; into a target without the backup's tables (the plan's Scenario 2: a new,
 * empty project) creates the backup's own schema first, in this same transaction. Refuses a target
 * whose shape would lose or refuse data.
 */
async function prepareTarget(ctx: RestoreContext): Promise<PreparedTarget> {
  const { client, store, backupId, backup, plans, options } = ctx;
  const schemas = [...new Set(plans.map((p) => p.schema))];
  let shapes = await describeTables(client, schemas, plans.map((p) => p.qualified));
  const script = backup.format === 'v1' && shapes.length === 0 && options.createSchema !== false ? await readSchemaScript(store, backupId, backup.manifest) : undefined;
  if (script) {
    await during('creating the schema', (now) => applySchema(client, script, 'preData', (statement) => now(`creating the schema (${statement})`)));
    options.onProgress?.({ type: 'schema-created', statements: script.preData.length });
    shapes = await describeTables(client, schemas, plans.map((p) => p.qualified));
  } else if (options.schemaOnly) {
    throw new UsageError(shapes.length ? `A schema-only restore applies a backup's schema to a database without its tables; ${ctx.target} already has ${shapes.length} of them` : `Backup ${backupId} carries no schema (written before schemas were recorded, or by the supabase driver)`);
  }
  const byName = new Map(shapes.map((s) => [s.qualified, s]));
  const { differences, allowed } = schemaDifferences(plans, byName, backup.format !== 'v1' || backup.manifest.source.driver === 'postgres');
  if (differences.length) {
    throw new SchemaDriftError(
      `The target's schema differs from backup ${backupId} in ${differences.length} way${differences.length === 1 ? '' : 's'} (${differences.join('; ')}); make the target's tables match the backup's (the same migrations) or restore into a database that has its schema; nothing was changed`,
      differences,
    );
  }
  if (allowed.length) options.onProgress?.({ type: 'schema-notes', notes: allowed });
  return { targets: foreignKeyOrder(plans.map((p) => byName.get(p.qualified)!)), allowed, ...(script ? { script } : {}) };
}

/** Locks the tables (reporting who holds them while waiting), empties them, and disables their user triggers when replica mode was refused. */
async function emptyTables(ctx: RestoreContext, targets: readonly TableShape[], triggerMode: RestoreResult['triggerMode'], lockTimeoutMs: number): Promise<void> {
  const { client } = ctx;
  const list = targets.map((t) => quoteQualified(t.schema, t.name)).join(', ');
  await lockTables(client, ctx.options.databaseUrl, `LOCK TABLE ${list} IN ACCESS EXCLUSIVE MODE`, lockTimeoutMs, ctx.options.onProgress);
  try {
    await client.query(`TRUNCATE ${targets.some((t) => t.partitioned) ? '' : 'ONLY '}${list}`);
  } catch (error) {
    if (pgCode(error) === '0A000') throw new UsageError(`Cannot empty the tables: ${(error as { detail?: string }).detail ?? (error as Error).message} Restore the referencing tables too`, { cause: error, hint: 'restore-referencing-tables' });
    throw error;
  }
  if (triggerMode === 'session_replication_role') return;
  for (const t of targets) {
    try {
      await client.query(`ALTER TABLE ${quoteQualified(t.schema, t.name)} DISABLE TRIGGER USER`);
    } catch (error) {
      if (pgCode(error) === '42501') throw new PrivilegeError(`The restore user may neither set session_replication_role nor disable triggers on ${t.qualified}; grant it SET on session_replication_role (or superuser), or make it the tables' owner`, { cause: error });
      throw error;
    }
  }
  await client.query('SET CONSTRAINTS ALL DEFERRED');
}

/** How the target's columns load: which hold composite values (json_to_record only) and each column's base type (binary COPY encoders). */
interface LoadTypes {
  readonly composite: ReadonlySet<string>;
  readonly baseTypes: ReadonlyMap<string, number | 'enum'>;
}

/** Loads one table's files, checking each file's SHA-256 and row count as it streams; resolves with the rows loaded. */
async function loadTable(ctx: RestoreContext, shape: TableShape, plan: RestorePlan, types: LoadTypes): Promise<number> {
  const { client, store, backupId, options } = ctx;
  if (plan.source.kind === 'legacy') {
    await stageLines(client, await legacyLines(store, plan.source.key, shape));
    return (await client.query(insertStatement(shape, shape.columns, false))).rowCount ?? 0;
  }
  const columns = plan.source.columns;
  const viaCopy = options.loadMethod !== 'json' && !columns.some((c) => types.composite.has(`${shape.oid}:${c.name}`));
  const kinds = viaCopy && options.loadMethod !== 'text' ? binaryKinds(shape, columns, types.baseTypes) : undefined;
  const copyTextKinds = (options.loadMethod ?? 'auto') === 'auto' ? copyTextBinaryKinds(shape, columns, types.baseTypes) : undefined;
  const insert = insertStatement(shape, columns.filter((c) => !shape.generatedColumns.includes(c.name)), true);
  // How a file loads, decided once: whether its decompressed chunks may go back to the pool follows from it.
  const loadPath = (rows: RestoreFile['rows']): LoadPath => {
    if (rows === 'copy-text') return copyTextKinds ? { via: 'copy', rowsIn: { rows, kinds: copyTextKinds } } : { via: 'copy-text' };
    return viaCopy ? { via: 'copy', rowsIn: { rows, kinds } } : { via: 'staged' };
  };
  let records = 0;
  for (const file of plan.source.files) {
    const hasher = new HashingPassThrough();
    const path = loadPath(file.rows);
    // The converters read each chunk once and copy what they keep, so chunks go back to the pool
    // (copyRows); COPY text and staged lines go to the socket as they are.
    const rows = decompress(streamPipeline(await store.readObject(file.key), hasher, () => undefined), file.codec, path.via === 'copy' ? { pooledOutput: 'passed-on' } : {});
    const before = records;
    let lastReport = 0;
    const onRows = (loadedRows: number) => {
      const now = Date.now();
      if (now - lastReport < 500) return;
      lastReport = now;
      options.onProgress?.({ type: 'table-progress', table: plan.qualified, records: before + loadedRows, expectedRecords: plan.expectedRecords });
    };
    // Progress comes from the converter's row count, or from the limit's where nothing converts.
    const limited = limitRows(rows, backupId, file, path.via === 'copy-text' ? onRows : undefined);
    let loaded: number;
    try {
      if (path.via === 'copy') loaded = await copyRows(client, shape, columns, path.rowsIn, limited, onRows);
      else if (path.via === 'copy-text') loaded = await copyTextRows(client, shape, columns, limited);
      else {
        await stageLines(client, limited);
        loaded = (await client.query(insert)).rowCount ?? 0;
      }
    } catch (error) {
      throw await loadFailure(ctx, file, error, path.via === 'copy-text');
    }
    const problem = await fileProblem(store, backupId, file, hasher);
    if (problem) throw corruptBackup(backupId, problem);
    if (loaded !== file.records) {
      const name = nameInBackup(backupId, file);
      throw new InvalidBackupError(`Backup ${backupId} is not valid: ${name} holds ${loaded} rows, the manifest says ${file.records}; rolled back, the target is unchanged`, [`${name}: ${loaded} records, the manifest says ${file.records}`]);
    }
    records += loaded;
  }
  return records;
}

/**
 * The server's refusals of COPY text that say the text itself is not what PostgreSQL writes: bad
 * COPY format (a field too many or too few, a bad end-of-data marker) and bytes that are not UTF-8
 * (a NUL, a cut multi-byte character). Its other errors (a value out of a column's range, a target
 * in another encoding) can come from the target, so they stay what they are.
 */
const NOT_COPY_TEXT_CODES: ReadonlySet<string> = new Set(['22P04', '22021']);

function serverRefusedCopyText(error: unknown): error is Error & { code: string; where?: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && NOT_COPY_TEXT_CODES.has(code);
}

/** What a failed file load means: storage trouble, a file that is not what the backup wrote, or the error itself. */
async function loadFailure(ctx: RestoreContext, file: RestoreFile, error: unknown, serverParsedCopyText = false): Promise<unknown> {
  // A read that failed says nothing about the file: storage unavailable, not corrupt.
  if (error instanceof StorageError) return error;
  // A file that is not what the backup wrote fails in many ways (gzip, JSON, a type's input); say
  // that it is corrupt rather than what tripped over it.
  const problem = await fileProblem(ctx.store, ctx.backupId, file);
  if (problem) return corruptBackup(ctx.backupId, problem, error);
  if (error instanceof LineTooLongError || error instanceof NotARowError || error instanceof MalformedLineError) {
    return corruptBackup(ctx.backupId, `${nameInBackup(ctx.backupId, file)}: ${error.message}${error instanceof LineTooLongError ? ' (the limit for one row)' : ''}`, error);
  }
  // Its checksum matched, yet the server cannot read it as COPY text: written wrong, not damaged since.
  if (serverParsedCopyText && serverRefusedCopyText(error)) {
    const at = /line (\d+)/.exec(error.where ?? '')?.[1];
    return corruptBackup(ctx.backupId, `${nameInBackup(ctx.backupId, file)}: ${at ? `line ${at} ` : ''}is not COPY text PostgreSQL can read (${error.message})`, error);
  }
  return error;
}

/** Builds the plain indexes dropped before loading again, from the loaded rows. */
async function rebuildDeferredIndexes(ctx: RestoreContext, deferred: readonly DeferredIndex[]): Promise<void> {
  if (!deferred.length) return;
  const started = Date.now();
  ctx.options.onProgress?.({ type: 'indexes-start', indexes: deferred.length });
  await during('building indexes', (now) => rebuildIndexes(ctx.client, deferred, (index) => now(`building index ${index.name} of ${index.table}`)));
  ctx.options.onProgress?.({ type: 'indexes-rebuilt', indexes: deferred.length, durationMs: Date.now() - started });
}

/**
 * Foreign keys are triggers too, so in replica mode they were not checked while loading: check now.
 * Keys between tables of one snapshot backup held in the source when it was taken; only keys that
 * cross into tables this restore leaves alone (or per-table/legacy backups) can break. Without
 * replica mode the deferred constraints were checked already; the triggers are enabled again.
 */
async function checkForeignKeys(ctx: RestoreContext, targets: readonly TableShape[], triggerMode: RestoreResult['triggerMode']): Promise<void> {
  const { client, backup } = ctx;
  if (triggerMode === 'disable_trigger') {
    for (const t of targets) await client.query(`ALTER TABLE ${quoteQualified(t.schema, t.name)} ENABLE TRIGGER USER`);
    return;
  }
  const fromOneSnapshot = backup.format === 'v1' && backup.manifest.consistency === 'snapshot';
  const orphans = await countOrphans(client, targets.map((t) => t.oid), { trustedWithin: fromOneSnapshot });
  if (orphans.length) {
    const first = orphans[0]!;
    throw new IntegrityError(`Restored data breaks ${orphans.length} foreign key${orphans.length === 1 ? '' : 's'}: ${first.count} row(s) of ${first.table} have no ${first.references} (${first.constraint}); rolled back`);
  }
}

/** Every table holds exactly the backup's rows (none after a schema-only restore). */
async function checkCounts(ctx: RestoreContext, targets: readonly TableShape[]): Promise<void> {
  if (targets.length === 0) return;
  // Every table counted by one statement (one round trip to a remote target, not one per table).
  const { rows } = await ctx.client.query<Record<string, string>>(`SELECT ${targets.map((t, i) => `(SELECT count(*) FROM ${tableRows(t)})::text AS n${i}`).join(', ')}`);
  targets.forEach((t, i) => {
    const expected = ctx.options.schemaOnly ? 0 : ctx.plans.find((p) => p.qualified === t.qualified)!.expectedRecords;
    const actual = Number(rows[0]![`n${i}`]);
    if (actual !== expected) throw new CountMismatchError(`${t.qualified} holds ${actual} rows after the restore, the backup says ${expected}; rolled back`);
  });
}

/** A failure inside a step that names what it was doing (`loading public.orders`), for the error message. */
class StepFailure extends Error {
  constructor(
    readonly step: string,
    readonly error: unknown,
  ) {
    super(step);
  }
}

/** Runs a step whose failures should say what it was doing; `now` narrows that down (one schema statement, one index). */
async function during<T>(step: string, run: (now: (what: string) => void) => Promise<T>): Promise<T> {
  let doing = step;
  try {
    return await run((what) => (doing = what));
  } catch (error) {
    throw error instanceof StepFailure ? error : new StepFailure(doing, error);
  }
}

/**
 * The one mapping from what failed inside the transaction to what the restore throws, after the
 * rollback: storage trouble stays retryable, the engine's own errors pass as they are, and
 * PostgreSQL's errors become the typed error for their class, naming the step that failed.
 */
export function toRestoreError(step: string | undefined, error: unknown, restore: { readonly backupId: string; readonly target: string }): Error {
  if (error instanceof StorageError && !(error instanceof ObjectNotFoundError)) {
    return new StorageError(`Restore of ${restore.backupId} into ${restore.target} stopped: ${error.message}; the transaction was rolled back and the target is unchanged`, { cause: error, retryable: error.retryable });
  }
  if (error instanceof DrError) return error;
  const code = pgCode(error);
  const where = step ? ` while ${step}` : '';
  const message = `Restore of ${restore.backupId} into ${restore.target} failed${where}: ${(error as Error)?.message ?? error}; the transaction was rolled back and the target is unchanged`;
  if (code === '55P03') return new LockTimeoutError(`${message} (stop the application's writes and retry)`, { cause: error });
  if (code?.startsWith('23')) return new IntegrityError(message, { cause: error });
  if (code === '42501') return new PrivilegeError(message, { cause: error });
  return new OperationFailedError(message, { cause: error });
}

/**
 * Restores a backup into an existing database as ONE transaction: check the manifest and every
 * file's size first (refuse on any problem), check the target's shape, lock and empty the tables,
 * drop their plain indexes, load every row without firing user triggers while checking each file's
 * SHA-256 and row count, build the indexes again, reset sequences, check foreign keys and counts,
 * and commit only if everything matches. Any failure rolls back: the target is exactly as it was.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const started = Date.now();
  const { store, backupId, databaseUrl } = options;
  // The connection opens while the backup is checked (storage and database round trips at once); it
  // sends no statement before the check passes. A backup that fails the check abandons it: the
  // check's error is the one reported, at once, even while the target is still unreachable.
  const abandon = new AbortController();
  const connecting = connect(databaseUrl, 'iconic-dr restore', { signal: abandon.signal });
  connecting.catch(() => undefined);
  let backup: ParsedBackup;
  let plans: RestorePlan[];
  try {
    backup = await validateForRestore(store, backupId);
    plans = planTables(backupId, backup, options.tables);
  } catch (error) {
    abandon.abort();
    void connecting.then((c) => c.end()).catch(() => undefined);
    throw error;
  }
  options.onProgress?.({ type: 'validated', backupId, tables: plans.length, totalRecords: plans.reduce((s, p) => s + p.expectedRecords, 0) });

  const target = describeDatabase(databaseUrl).label;
  const lockTimeoutMs = lockTimeoutOf(options.lockTimeoutMs);
  const client = await connecting;
  const ctx: RestoreContext = { client, store, backupId, backup, plans, options, target };
  try {
    await beginTransaction(client, lockTimeoutMs);
    const triggerMode = await negotiateTriggerMode(client);
    const { targets, allowed, script } = await prepareTarget(ctx);
    await emptyTables(ctx, targets, triggerMode, lockTimeoutMs);

    const targetOids = targets.map((t) => t.oid);
    const deferredIndexes = options.deferIndexes === false ? [] : await dropDeferrableIndexes(client, targetOids);
    await client.query('CREATE TEMP TABLE iconic_dr_load (line text) ON COMMIT DROP');
    const types: LoadTypes = { composite: await compositeColumns(client, targetOids), baseTypes: await columnBaseTypes(client, targetOids) };
    const restored: { table: string; records: number }[] = [];
    for (const shape of options.schemaOnly ? [] : targets) {
      const plan = plans.find((p) => p.qualified === shape.qualified)!;
      options.onProgress?.({ type: 'table-start', table: plan.qualified, expectedRecords: plan.expectedRecords });
      const records = await during(`loading ${plan.qualified}`, () => loadTable(ctx, shape, plan, types));
      if (records !== plan.expectedRecords) throw new CountMismatchError(`${plan.qualified}: loaded ${records} rows, the backup says ${plan.expectedRecords}; rolled back`);
      restored.push({ table: plan.qualified, records });
      options.onProgress?.({ type: 'table-done', table: plan.qualified, records });
    }

    // Without replica mode, foreign-key checks were deferred and are still pending on the loaded
    // tables; PostgreSQL refuses CREATE INDEX and ALTER TABLE on a table with pending trigger events.
    if (triggerMode === 'disable_trigger') await client.query('SET CONSTRAINTS ALL IMMEDIATE');
    if (script) {
      // Keys, indexes, triggers, policies, grants and owners go in after the rows: built once, checked once.
      await during('completing the schema', (now) => applySchema(client, script, 'postData', (statement) => now(`completing the schema (${statement})`)));
      options.onProgress?.({ type: 'schema-completed', statements: script.postData.length });
    }
    await rebuildDeferredIndexes(ctx, deferredIndexes);
    await resetSequences(client, targets, backup.format === 'v1' ? backup.manifest.sequences : []);
    await checkForeignKeys(ctx, targets, triggerMode);
    await checkCounts(ctx, targets);
    options.onProgress?.({ type: 'verified', tables: targets.length });

    const ordered = plans.map((p) => restored.find((r) => r.table === p.qualified) ?? { table: p.qualified, records: 0 });
    const totalRecords = ordered.reduce((s, r) => s + r.records, 0);
    const recorded = await recordRestore(client, { backupId, location: options.location ?? store.description, tables: ordered.map((r) => r.table), totalRecords });
    await client.query('COMMIT');
    return { backupId, target, tables: ordered, totalRecords, durationMs: Date.now() - started, triggerMode, schemaNotes: allowed, recorded, schemaCreated: script !== undefined };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error instanceof StepFailure ? toRestoreError(error.step, error.error, ctx) : toRestoreError(undefined, error, ctx);
  } finally {
    await client.end().catch(() => undefined);
  }
}
