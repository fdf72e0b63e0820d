import * as z from '../util/zod.js';
import { InvalidBackupError } from '../errors.js';
import { printable, unsafeNameReason } from '../storage/names.js';
import { CODECS, DEFAULT_CODEC, fileSuffix, type Codec } from './codec.js';
import { DEFAULT_ROW_ENCODING, ROW_ENCODINGS, type RowEncoding } from './row-encoding.js';

/**
 * Backup format v1 (docs/format.md). `metadata.json` keeps every field of the plan's original
 * metadata (timestamp, tables, recordCounts, totalRecords, success) and adds what a restore needs to
 * prove itself: files with sizes and SHA-256, the tables' shapes, sequence positions.
 */
export const FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'metadata.json';

const nonNegativeInt = z.nonNegativeInt();
const sha256Hex = z.string().check(z.regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256'));

export const fileEntrySchema = z.object({
  /** Object key relative to the backup folder, e.g. `orders.ndjson.zst`, `orders.copy.zst`. */
  key: z.string().check(
    z.minLength(1),
    z.refine((k) => unsafeNameReason(k) === undefined, 'must be a plain file name (no path separators, `..` or control characters)'),
  ),
  records: nonNegativeInt,
  bytes: nonNegativeInt,
  sha256: sha256Hex,
  /** The file's codec; absent in backups older than zstd support: the manifest's `compression`. */
  compression: z.optional(z.enum(CODECS)),
  /**
   * How the rows are written: absent or `ndjson` (every backup before copy text), `copy-text` (the
   * table's COPY text; its columns then say `encoding: "copy-text"`, which readers older than copy
   * text refuse, so they never parse such a file as NDJSON).
   */
  rows: z.optional(z.enum(ROW_ENCODINGS)),
});

export const columnSchema = z.object({
  name: z.nonEmptyString(),
  /** `format_type()` of the column, e.g. `numeric(12,2)`, `timestamp with time zone`. */
  type: z.nonEmptyString(),
  nullable: z.boolean(),
  /**
   * How the value is stored in a row: `json` = as Postgres' `row_to_json` renders the type;
   * `text` = the column's text output as a JSON string (json/jsonb, so that SQL NULL and JSON null differ);
   * `copy-text` = the column's COPY text, in a table whose files are `rows: "copy-text"` (every column of it).
   */
  encoding: z._default(z.enum(['json', 'text', 'copy-text']), 'json'),
  /** `a` always / `d` by default for identity columns. */
  identity: z.optional(z.enum(['a', 'd'])),
});

export const foreignKeySchema = z.object({
  name: z.string(),
  columns: z.array(z.string()).check(z.minLength(1)),
  /** Qualified name of the referenced table, as in `tables`. */
  references: z.string(),
  referencedColumns: z.array(z.string()).check(z.minLength(1)),
  deferrable: z._default(z.boolean(), false),
});

export const tableEntrySchema = z.object({
  schema: z.nonEmptyString(),
  name: z.nonEmptyString(),
  records: nonNegativeInt,
  bytes: nonNegativeInt,
  files: z.array(fileEntrySchema),
  /** Stored (non-generated) columns in row order. Generated columns are listed apart, not stored. */
  columns: z.array(columnSchema),
  generatedColumns: z._default(z.array(z.string()), []),
  primaryKey: z._default(z.array(z.string()), []),
  foreignKeys: z._default(z.array(foreignKeySchema), []),
});

export const sequenceSchema = z.object({
  schema: z.string(),
  name: z.string(),
  /** Qualified table (as in `tables`) and column that own the sequence, when it has an owner. */
  table: z.optional(z.string()),
  column: z.optional(z.string()),
  /** bigint as a decimal string: sequences go past 2^53. */
  lastValue: z.string().check(z.regex(/^-?\d+$/)),
  isCalled: z.boolean(),
});

/**
 * Where a backup came from: enough to tell two databases apart (a restore target against the
 * backup's source, a drill's sample shop against production), never a credential.
 */
export const sourceSchema = z.object({
  driver: z.enum(['postgres', 'supabase']),
  host: z.optional(z.string()),
  port: z.optional(z.number().check(z.int(), z.positive())),
  database: z.optional(z.string()),
  serverVersion: z.optional(z.string()),
  /** `pg_control_system().system_identifier` (a decimal string) when the backup role could read it. */
  systemIdentifier: z.optional(z.string().check(z.regex(/^\d+$/))),
});

export const schemaFileSchema = z.object({
  key: z.string().check(
    z.minLength(1),
    z.refine((k) => !k.includes('/') && k !== '.' && k !== '..', 'must be a plain file name'),
  ),
  bytes: nonNegativeInt,
  sha256: sha256Hex,
});

export const suspectSchema = z.object({
  reason: z.nonEmptyString(),
  /** The good backup the counts were compared with. */
  comparedWith: z.nonEmptyString(),
  /** The drop, in percent, that counted as suspect. */
  thresholdPercent: z.number().check(z.positive(), z.lte(100)),
});

export const manifestSchema = z
  .object({
    formatVersion: z.literal(FORMAT_VERSION),
    backupId: z.nonEmptyString(),
    timestamp: z.iso.datetime(),
    completedAt: z.iso.datetime(),
    durationMs: nonNegativeInt,
    /** Qualified table names (`products`, or `schema.table` outside `public`). */
    tables: z.array(z.nonEmptyString()),
    recordCounts: z.record(z.string(), nonNegativeInt),
    totalRecords: nonNegativeInt,
    totalBytes: nonNegativeInt,
    success: z.literal(true),
    consistency: z.enum(['snapshot', 'per-table']),
    source: sourceSchema,
    tableDetails: z.record(z.string(), tableEntrySchema),
    sequences: z._default(z.array(sequenceSchema), []),
    /** The codec the writer used; a file's own `compression` wins. Older backups: gzip. */
    compression: z._default(z.enum(CODECS), 'gzip'),
    /**
     * The schema of the backed-up schemas (absent in older backups and supabase-driver backups):
     * `json` is what the engine applies, `sql` the same for people and psql.
     */
    schema: z.optional(z.object({ json: schemaFileSchema, sql: schemaFileSchema })),
    /** `drill`: written by a drill (sample or disposable data); never resolved as `latest` for a restore. */
    purpose: z._default(z.enum(['backup', 'drill']), 'backup'),
    /**
     * Set when rows fell sharply against the previous good backup of the same source (the
     * mass-deletion canary): such a backup is kept but never picked as `latest` unless asked for.
     */
    suspect: z.optional(suspectSchema),
  })
  .check(
    z.superRefine((m, ctx) => {
      const issue = (message: string) => ctx.addIssue({ code: 'custom', message });
      if (new Set(m.tables).size !== m.tables.length) issue('tables lists a table twice');
      let total = 0;
      let bytes = 0;
      const keys = new Set<string>();
      for (const table of m.tables) {
        const detail = m.tableDetails[table];
        if (!detail) {
          issue(`tableDetails has no entry for ${table}`);
          continue;
        }
        if (m.recordCounts[table] !== detail.records) issue(`recordCounts.${table} (${m.recordCounts[table]}) differs from tableDetails (${detail.records})`);
        const fileRecords = detail.files.reduce((sum, f) => sum + f.records, 0);
        if (fileRecords !== detail.records) issue(`${table}: its files hold ${fileRecords} records, the table says ${detail.records}`);
        const fileBytes = detail.files.reduce((sum, f) => sum + f.bytes, 0);
        if (fileBytes !== detail.bytes) issue(`${table}: its files hold ${fileBytes} bytes, the table says ${detail.bytes}`);
        for (const f of detail.files) {
          if (keys.has(f.key)) issue(`file ${f.key} is listed twice`);
          keys.add(f.key);
        }
        const rows = new Set(detail.files.map(fileRows));
        const copyColumns = detail.columns.filter((c) => c.encoding === 'copy-text').length;
        if (rows.size > 1) issue(`${table}: its files mix row encodings (${[...rows].join(', ')})`);
        else if (rows.has('copy-text') && copyColumns !== detail.columns.length) issue(`${table}: its files are copy-text, so every column's encoding must be copy-text`);
        else if (!rows.has('copy-text') && copyColumns > 0) issue(`${table}: columns of encoding copy-text in a table whose files are not copy-text`);
        total += detail.records;
        bytes += detail.bytes;
      }
      for (const name of Object.keys(m.tableDetails)) if (!m.tables.includes(name)) issue(`tableDetails.${name} is not in tables`);
      for (const name of Object.keys(m.recordCounts)) if (!m.tables.includes(name)) issue(`recordCounts.${name} is not in tables`);
      if (total !== m.totalRecords) issue(`totalRecords is ${m.totalRecords} but the tables add up to ${total}`);
      if (bytes !== m.totalBytes) issue(`totalBytes is ${m.totalBytes} but the files add up to ${bytes}`);
    }),
  );

export type FileEntry = z.infer<typeof fileEntrySchema>;
export type ColumnInfo = z.infer<typeof columnSchema>;
export type ForeignKeyInfo = z.infer<typeof foreignKeySchema>;
export type TableEntry = z.infer<typeof tableEntrySchema>;
export type SequenceInfo = z.infer<typeof sequenceSchema>;
export type SourceInfo = z.infer<typeof sourceSchema>;
export type SuspectInfo = z.infer<typeof suspectSchema>;
export type Manifest = z.infer<typeof manifestSchema>;

/** The mass-deletion canary's default: half the rows gone since the last good backup is a deletion, not trade. */
export const DEFAULT_SUSPECT_DROP_PERCENT = 50;

/** The plan's original metadata.json, written by `scripts/backup/database-backup.ts`. */
export const legacyManifestSchema = z.object({
  timestamp: z.nonEmptyString(),
  // Each name becomes the file `<table>.json`: `../planted` would read and write outside the backup.
  tables: z.array(
    z.string().check(
      z.minLength(1),
      z.refine((t) => unsafeNameReason(legacyTableFileKey(t, false)) === undefined, 'must be a table name that is also a plain file name'),
    ),
  ),
  recordCounts: z.record(z.string(), nonNegativeInt),
  totalRecords: nonNegativeInt,
  success: z.boolean(),
});
export type LegacyManifest = z.infer<typeof legacyManifestSchema>;

export type ParsedManifest =
  | { readonly format: 'v1'; readonly manifest: Manifest }
  | { readonly format: 'legacy'; readonly manifest: LegacyManifest };

export type ManifestParseResult = { ok: true; value: ParsedManifest } | { ok: false; problems: string[] };

function formatIssues(error: { readonly issues: readonly z.core.$ZodIssue[] }): string[] {
  return error.issues.map((i) => (i.path.length ? `metadata.json ${i.path.join('.')}: ${i.message}` : `metadata.json: ${i.message}`));
}

/** Parses metadata.json text as format v1, or as the plan's legacy format when it has no formatVersion. */
export function parseManifest(text: string): ManifestParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`metadata.json is not valid JSON (${(error as Error).message})`] };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, problems: ['metadata.json is not a JSON object'] };
  if ('formatVersion' in raw) {
    const version = (raw as { formatVersion: unknown }).formatVersion;
    if (version !== FORMAT_VERSION) return { ok: false, problems: [`metadata.json formatVersion ${JSON.stringify(version)} is not supported (this build reads ${FORMAT_VERSION})`] };
    const parsed = manifestSchema.safeParse(raw);
    return parsed.success ? { ok: true, value: { format: 'v1', manifest: parsed.data } } : { ok: false, problems: formatIssues(parsed.error) };
  }
  const legacy = legacyManifestSchema.safeParse(raw);
  if (!legacy.success) return { ok: false, problems: formatIssues(legacy.error) };
  const problems: string[] = [];
  if (!legacy.data.success) problems.push('metadata.json says the backup did not succeed (success: false)');
  const sum = legacy.data.tables.reduce((s, t) => s + (legacy.data.recordCounts[t] ?? 0), 0);
  for (const t of legacy.data.tables) if (legacy.data.recordCounts[t] === undefined) problems.push(`metadata.json recordCounts has no entry for ${t}`);
  if (sum !== legacy.data.totalRecords) problems.push(`metadata.json totalRecords is ${legacy.data.totalRecords} but the tables add up to ${sum}`);
  return problems.length ? { ok: false, problems } : { ok: true, value: { format: 'legacy', manifest: legacy.data } };
}

/** The codec a table file was written with. */
export function fileCodec(manifest: Pick<Manifest, 'compression'>, file: Pick<FileEntry, 'compression'>): Codec {
  return file.compression ?? manifest.compression;
}

/** How a table file's rows are written. */
export function fileRows(file: Pick<FileEntry, 'rows'>): RowEncoding {
  return file.rows ?? DEFAULT_ROW_ENCODING;
}

export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** `products` for tables in `public`, `schema.table` elsewhere: the plan's names stay as they were. */
export function qualifiedTableName(schema: string, name: string): string {
  return schema === 'public' ? name : `${schema}.${name}`;
}

/** The inverse of qualifiedTableName for names without a recorded schema (legacy backups). */
export function splitQualifiedName(qualified: string): [schema: string, name: string] {
  const dot = qualified.indexOf('.');
  return dot === -1 ? ['public', qualified] : [qualified.slice(0, dot), qualified.slice(dot + 1)];
}

/**
 * The file name of a table's data. Characters outside [A-Za-z0-9_.-] are %-escaped so that any
 * Postgres identifier maps to a safe, unique object key.
 */
export function tableFileKey(qualifiedName: string, part?: number, codec: Codec = DEFAULT_CODEC, rows: RowEncoding = DEFAULT_ROW_ENCODING): string {
  const safe = qualifiedName.replace(/[^A-Za-z0-9_.-]/g, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
  const suffix = fileSuffix(codec, rows);
  return part === undefined ? `${safe}${suffix}` : `${safe}.part-${String(part).padStart(4, '0')}${suffix}`;
}

/** `<table>.json`; refuses (InvalidBackupError) a name that would leave the backup's folder. */
export function legacyTableFileKey(table: string, check = true): string {
  const key = `${table}.json`;
  const reason = check ? unsafeNameReason(key) : undefined;
  if (reason) throw new InvalidBackupError(`metadata.json names table "${printable(table)}", whose file name ${reason}: the backup is not valid`, [`metadata.json tables: "${printable(table)}" is not a plain file name`]);
  return key;
}
