import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
// The engine's heavy modules (the PostgreSQL driver, the row converters, the sample shop) are
// imported by the commands that use them, so that `list`, `validate` and `--help` start without
// them (docs/performance.md, "Tenth session").
import { listBackups, readManifest } from '../../lambdas/core/catalog.js';
import { completionOf, snapshotIds, snapshotsAt } from '../../lambdas/core/media/catalog.js';
import { DrError, InvalidBackupError, LockTimeoutError, SchemaDriftError, UsageError, describeError } from '../../lambdas/core/errors.js';
import { pruneBackups } from '../../lambdas/core/retention.js';
import { describeHolder } from '../../lambdas/core/restore-locks.js';
import { lastRestore, type RestoreRecord } from '../../lambdas/core/restore-record.js';
import { DEFAULT_RPO_HOURS, describeRpo, rpoOf, rpoStatus, type RpoStatus } from '../../lambdas/core/rpo.js';
import { DEFAULT_BACKUP_ROWS, ROWS_CHOICES, type RowsChoice } from '../../lambdas/core/format/row-encoding.js';
import { DEFAULT_SUSPECT_DROP_PERCENT } from '../../lambdas/core/format/manifest.js';
import { describeDatabase } from '../../lambdas/core/postgres/connection.js';
import type { SourceSession } from '../../lambdas/core/sources/source.js';
import { FileStore } from '../../lambdas/core/storage/file-store.js';
import { openStore, parseLocation } from '../../lambdas/core/storage/location.js';
import type { BackupStore } from '../../lambdas/core/storage/store.js';
import { redactCredentials } from '../../lambdas/core/util/redact.js';
import { defaultJobs, isTruthy, loadEnv, splitList } from './config.js';
import { databaseUrl, locationFor, resolveBackup, storeFor, storeForReading, storeOptions } from './context.js';
import { appendRunLog } from './run-log.js';
import { withCliHint } from './hints.js';
import { confirm, jsonOption, positiveInt } from './options.js';
import { mediaCommand } from './media.js';
import { serveDashboard } from './dashboard.js';
import { existsSync } from 'node:fs';
import { FAIL, OK, Output, formatBytes, formatCount, formatDate, formatDuration, table } from './output.js';

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number above 0');
  return n;
}

function percent(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 100) throw new InvalidArgumentError('must be a percentage above 0 and at most 100');
  return n;
}

/** Drills keep to a location of their own, so their sample backups never mix with the real ones. */
const DEFAULT_DRILL_LOCATION = './drills';

const rpoOption = () => new Option('--rpo-hours <hours>', 'recovery point objective the newest good backup is judged against').argParser(positiveNumber).default(DEFAULT_RPO_HOURS);
function isoTime(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError('must be a time in ISO 8601, e.g. 2026-11-30T13:00:00Z');
  return date;
}

const atOption = () => new Option('--at <time>', 'with `latest`: the newest good backup completed at or before this time (ISO 8601); `media restore --at` picks the media of the same point').argParser(isoTime);
const allowSuspectOption = () => new Option('--allow-suspect', 'let `latest` pick a backup the mass-deletion canary flagged as suspect');

/** `3 h ago`, `2 d ago`: how old a backup is, for prompts and lists. */
function age(iso: string | undefined, now = Date.now()): string {
  if (!iso) return 'age unknown';
  const hours = (now - new Date(iso).getTime()) / 3_600_000;
  if (hours < 1) return `${Math.max(0, Math.round(hours * 60))} min ago`;
  return hours < 48 ? `${hours.toFixed(1)} h ago` : `${(hours / 24).toFixed(1)} d ago`;
}

function describeSource(source: { driver: string; host?: string; port?: number; database?: string } | undefined): string {
  if (!source) return 'unknown source';
  return `${source.host ?? 'unknown host'}${source.port && source.port !== 5432 ? `:${source.port}` : ''}/${source.database ?? '?'} (${source.driver})`;
}

/** What the operator must see before saying "yes": which backup, how old, from where, how many rows, into what. */
async function describeRestore(store: BackupStore, backupId: string, target: string): Promise<string> {
  let parsed: Awaited<ReturnType<typeof readManifest>>;
  try {
    parsed = await readManifest(store, backupId);
  } catch (error) {
    // The restore itself says what is wrong with the backup, after checking all of it.
    if (error instanceof InvalidBackupError) return `  backup:  ${backupId} in ${store.description} (its metadata.json is not valid)\n  target:  ${target}`;
    throw error;
  }
  const m = parsed.manifest;
  const source = parsed.format === 'v1' ? describeSource(parsed.manifest.source) : 'unknown source (legacy backup)';
  const flags = parsed.format === 'v1' ? [parsed.manifest.purpose === 'drill' ? 'DRILL backup (sample data)' : undefined, parsed.manifest.suspect ? `SUSPECT: ${parsed.manifest.suspect.reason}` : undefined].filter(Boolean) : [];
  return [
    `  backup:  ${backupId} in ${store.description}, taken ${formatDate(m.timestamp)} (${age(parsed.format === 'v1' ? parsed.manifest.completedAt : m.timestamp)})`,
    `  source:  ${source}`,
    `  rows:    ${formatCount(m.totalRecords)} in ${m.tables.length} tables`,
    `  target:  ${target} (every restored table is replaced)`,
    ...flags.map((f) => `  ! ${f}`),
  ].join('\n');
}

async function openSource(opts: { db?: string; schema?: string; tables?: string; jobs?: number; driver?: string; supabaseUrl?: string; supabaseKey?: string }): Promise<SourceSession> {
  const env = loadEnv();
  const schemas = splitList(opts.schema) ?? splitList(env.BACKUP_SCHEMAS);
  const tables = splitList(opts.tables) ?? splitList(env.BACKUP_TABLES);
  const supabaseUrl = opts.supabaseUrl ?? env.SUPABASE_URL;
  const supabaseKey = opts.supabaseKey ?? env.SUPABASE_SERVICE_ROLE_KEY;
  const driver = opts.driver ?? (opts.db === undefined && supabaseUrl && supabaseKey ? 'supabase' : 'postgres');
  if (driver === 'supabase') {
    if (!supabaseUrl || !supabaseKey) throw new UsageError('The supabase driver needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY (or --supabase-url and --supabase-key)');
    const [{ openSupabaseSource }, { SHOP_TABLES }] = await Promise.all([import('../../lambdas/core/sources/supabase/source.js'), import('../../lambdas/core/sample/shop.js')]);
    // The plan's nine tables unless configured; `--tables '*'` takes every table PostgREST describes.
    const listed = tables?.length === 1 && tables[0] === '*' ? undefined : (tables ?? [...SHOP_TABLES]);
    return openSupabaseSource({ url: supabaseUrl, serviceRoleKey: supabaseKey, ...(listed ? { tables: listed } : {}), ...(schemas ? { schemas } : {}), ...(opts.jobs ? { workers: opts.jobs } : {}) });
  }
  const { openPostgresSource } = await import('../../lambdas/core/postgres/source.js');
  return openPostgresSource({
    databaseUrl: databaseUrl(opts.db),
    ...(schemas ? { schemas } : {}),
    ...(tables ? { tables } : {}),
    jobs: opts.jobs ?? defaultJobs(),
    onSchemaError: (error) => process.stderr.write(`! The schema could not be read (${describeError(error)}); this backup restores only into databases that have the tables\n`),
  });
}

function describeRecord(r: RestoreRecord): string {
  return `backup ${r.backupId} from ${r.location}, ${formatCount(r.totalRecords)} records, ${formatDate(r.restoredAt)} (${age(r.restoredAt)})`;
}

/** Asks (or refuses) before a restore replaces the target's tables; `details` says what would be restored. */
function confirmRestore(details: string | undefined, target: string, yes: boolean | undefined): Promise<void> {
  return confirm(details === undefined ? undefined : `Restore this backup?\n${details}`, `Refusing to restore into ${target} without confirmation: pass --yes or set SKIP_RESTORE_CONFIRMATION=true`, 'Restore cancelled; nothing was changed', yes);
}

export function buildProgram(): Command {
  const program = new Command('iconic-dr')
    .description('Disaster recovery for the Live It Iconic database: consistent backups, validated all-or-nothing restores, drills.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Environment: DATABASE_URL, BACKUP_LOCATION (default ./backups), SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY
(supabase driver), SKIP_RESTORE_CONFIRMATION=true (same as --yes), AWS_ENDPOINT_URL_S3, BACKUP_KMS_KEY_ID.
Exit codes: 0 success, 1 a check failed, 2 usage or configuration error, 3 runtime failure.`,
    );

  program
    .command('backup')
    .description('back up every table from one consistent snapshot; prints the backup id')
    .option('--db <url>', 'source database (default: $DATABASE_URL)')
    .option('--to <location>', 'folder, file://… or s3://bucket/prefix (default: $BACKUP_LOCATION or ./backups)')
    .option('--schema <names>', 'comma-separated schemas to back up (default: public)')
    .option('--tables <names>', "comma-separated tables (default: every table of the schemas; supabase driver: the plan's nine tables, '*' for all)")
    .option('--jobs <n>', 'exports in parallel: tables from the shared snapshot (postgres driver; default: CPU count, max 4), or REST requests for tables and key ranges (supabase driver; default 4)', positiveInt('--jobs', 32))
    .option('--compression-level <n>', 'compression level 1 (fast) to 9 (small); default zstd 5 for copy rows, 3 for json, gzip 1 (ICONIC_DR_COMPRESSION)', positiveInt('--compression-level', 9))
    .addOption(new Option('--rows <encoding>', "row encoding: copy (the table's own COPY text, as pg_dump writes it; smaller than pg_dump's archive) or json (NDJSON, one JSON object per row, readable by versions before copy text); default $ICONIC_DR_ROWS, else copy; the supabase driver always writes json").choices(Object.keys(ROWS_CHOICES)))
    .addOption(new Option('--driver <driver>', 'source driver (default: supabase when SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are set and --db is not)').choices(['postgres', 'supabase']))
    .option('--supabase-url <url>', 'Supabase project URL (default: $SUPABASE_URL)')
    .option('--supabase-key <key>', 'service-role key (default: $SUPABASE_SERVICE_ROLE_KEY)')
    .option('--suspect-threshold <percent>', 'mark the backup suspect when total or any table\'s rows fell by more than this against the previous good backup of the same source', percent, DEFAULT_SUSPECT_DROP_PERCENT)
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      const store = await storeFor(opts.to);
      const started = Date.now();
      let result;
      try {
        const { createBackup } = await import('../../lambdas/core/backup.js');
        const source = await openSource(opts);
        const asked = (opts.rows as RowsChoice | undefined) ?? loadEnv().ICONIC_DR_ROWS;
        const rows = ROWS_CHOICES[asked ?? DEFAULT_BACKUP_ROWS];
        // The default is the best the source can write; only a choice it cannot honour is worth a warning.
        if (asked && !(source.rowEncodings ?? ['ndjson']).includes(rows)) out.warn(`Rows are written as json: the ${source.info.driver} driver cannot write ${rows}`);
        try {
          result = await createBackup({
          store,
          source,
          suspectDropPercent: opts.suspectThreshold,
          rows,
          ...(opts.compressionLevel ? { compressionLevel: opts.compressionLevel } : {}),
          onProgress: (event) => {
            if (event.type === 'start') out.note(`Created backup directory: ${store.description.replace(/\/$/, '')}/${event.backupId}`);
            else if (event.type === 'table-progress') out.progress(event.table, event.records, event.estimatedRows);
            else out.note(`${OK} Backed up ${event.records} records from ${event.table}`);
          },
          });
        } finally {
          await source.close();
        }
      } catch (error) {
        await appendRunLog(store, { command: 'backup', result: 'failed', durationMs: Date.now() - started, error: describeError(error) });
        throw error;
      }
      const m = result.manifest;
      await appendRunLog(store, { command: 'backup', result: 'ok', backupId: result.backupId, database: describeSource(m.source), records: m.totalRecords, bytes: m.totalBytes, durationMs: m.durationMs, ...(m.suspect ? { suspect: m.suspect.reason } : {}) });
      out.note(`${OK} Backup completed successfully: ${formatCount(m.totalRecords)} records in ${m.tables.length} tables, ${formatBytes(m.totalBytes)}, ${formatDuration(m.durationMs)} (${m.consistency === 'snapshot' ? 'one consistent snapshot' : 'per-table consistency'})`);
      if (m.suspect) out.warn(`! SUSPECT backup: ${m.suspect.reason}. It is kept, but \`latest\` skips it (restore it by its id, or --allow-suspect); check for a mass deletion before the good backups age out`);
      out.line(result.backupId);
      out.result({
        backupId: result.backupId,
        location: result.location,
        timestamp: m.timestamp,
        completedAt: m.completedAt,
        durationMs: m.durationMs,
        consistency: m.consistency,
        source: m.source,
        purpose: m.purpose,
        suspect: m.suspect ?? null,
        tables: m.tables.map((t) => ({ table: t, records: m.recordCounts[t], bytes: m.tableDetails[t]!.bytes })),
        totalRecords: m.totalRecords,
        totalBytes: m.totalBytes,
      });
    });

  program
    .command('list')
    .description('list backups, newest first (incomplete ones are marked)')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .addOption(rpoOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      const store = await storeForReading(opts.from);
      const backups = await listBackups(store);
      const paired = await snapshotsAt(store, backups.map((b) => completionOf(b)));
      const mediaFor = (b: (typeof backups)[number]) => paired[backups.indexOf(b)]?.snapshotId;
      const hasMedia = paired.some(Boolean) || (await snapshotIds(store)).some((s) => s.complete);
      out.result(backups.map((b) => ({ ...b, location: store.description, mediaSnapshot: mediaFor(b) ?? null })));
      if (backups.length === 0) {
        out.line(`No backups in ${store.description}`);
        return;
      }
      const status = (b: (typeof backups)[number]) => {
        if (b.status === 'incomplete') return `INCOMPLETE: ${b.problem}`;
        if (b.status !== 'complete') return `${b.status.toUpperCase()}: ${b.problem}`;
        return `complete${b.format === 'legacy' ? ' (legacy)' : ''}`;
      };
      const flags = (b: (typeof backups)[number]) => [b.purpose === 'drill' ? 'drill' : '', b.suspect ? 'SUSPECT' : '', b.consistency === 'per-table' ? 'per-table' : ''].filter(Boolean).join(',') || '-';
      out.line(
        table(
          ['Backup ID', 'Size', 'Records', 'Date', 'Source', 'Flags', ...(hasMedia ? ['Media'] : []), 'Status'],
          backups.map((b) => [b.backupId, formatBytes(b.totalBytes), b.totalRecords === undefined ? '-' : formatCount(b.totalRecords), formatDate(b.timestamp), b.source ? describeSource(b.source) : '-', flags(b), ...(hasMedia ? [mediaFor(b) ?? '-'] : []), status(b)]),
          [1, 2],
        ),
      );
      out.line('');
      out.line('complete = metadata.json valid and every file present with its size; `validate` checks checksums and rows');
      for (const b of backups.filter((x) => x.suspect)) out.line(`! ${b.backupId} is SUSPECT: ${b.suspect!.reason}`);
      const rpo = rpoOf(backups, store.description, opts.rpoHours);
      out.line(`${rpo.met ? OK : FAIL} ${describeRpo(rpo)}`);
    });

  program
    .command('validate')
    .description('check a backup: manifest, every file present, sizes, SHA-256, rows (exit 1 when invalid)')
    .argument('[backup]', 'backup id, "latest", the path/URL of one backup, or a folder holding one backup', 'latest')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .option('--quick', 'check presence and sizes only')
    .addOption(allowSuspectOption())
    .addOption(jsonOption())
    .action(async (ref: string, opts) => {
      const out = new Output(Boolean(opts.json));
      const { store, backupId, foundIn } = await resolveBackup(ref, opts.from, { allowSuspect: Boolean(opts.allowSuspect) });
      if (foundIn) out.note(`Using backup ${backupId}, the one backup in ${foundIn}`);
      const { validateBackup } = await import('../../lambdas/core/validate.js');
      const report = await validateBackup(store, backupId, { quick: Boolean(opts.quick), onProgress: (t, done, total) => out.progress(`validating ${t}`, done, total) });
      out.stopProgress();
      out.result(report);
      if (report.valid) {
        out.line(`${OK} Backup validation passed${report.quick ? ' (quick: sizes only)' : ''}: ${backupId}`);
        out.line(`${OK} metadata.json: Valid${report.format === 'legacy' ? ' (legacy format)' : ''}`);
        for (const t of report.tables) out.line(`${OK} ${t.table}: ${t.records ?? t.expectedRecords} records`);
        out.line(`${OK} All tables accounted for`);
      } else {
        out.line(`${FAIL} Backup validation failed: ${backupId} (${report.problems.length} problem${report.problems.length === 1 ? '' : 's'})`);
        for (const p of report.problems) out.line(`${FAIL} ${p}`);
        process.exitCode = 1;
      }
      for (const w of report.warnings) out.note(`! ${w}`);
    });

  program
    .command('download')
    .description('copy one backup (e.g. from S3) into a local folder, checking every checksum')
    .argument('[backup]', 'backup id, "latest", or the URL of one backup', 'latest')
    .option('--from <location>', 'where the backup is, e.g. s3://bucket/prefix (default: $BACKUP_LOCATION or ./backups)')
    .option('--to <dir>', 'local folder to copy into; the backup lands in <dir>/<backup-id>, and `validate <dir>` / `restore <dir>` find it there', './backup')
    .addOption(allowSuspectOption())
    .addOption(jsonOption())
    .action(async (ref: string, opts) => {
      const out = new Output(Boolean(opts.json));
      const { store, backupId } = await resolveBackup(ref, opts.from, { allowSuspect: Boolean(opts.allowSuspect) });
      const destination = parseLocation(opts.to);
      if (destination.kind !== 'file') throw new UsageError('--to must be a local folder');
      const { copyBackup } = await import('../../lambdas/core/download.js');
      const result = await copyBackup(store, backupId, new FileStore(destination.path), (key) => out.note(`  downloading ${key}`));
      out.result(result);
      out.line(`${OK} Downloaded ${backupId}: ${result.files} files, ${formatBytes(result.bytes)} -> ${result.destination}`);
    });

  program
    .command('restore')
    .description('restore a backup into a database in one all-or-nothing transaction: sizes checked first, every file\'s SHA-256 and row count while it loads, counts and foreign keys before commit')
    .argument('<backup>', 'backup id, "latest", the path/URL of one backup, or a folder holding one backup')
    .option('--db <url>', 'target database (default: $DATABASE_URL); without the backup\'s tables, they are created from the backup\'s schema')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .option('--tables <names>', 'comma-separated tables to restore (default: all in the backup)')
    .option('--lock-wait <seconds>', 'how long to wait for the tables\' locks (who holds them is shown while waiting)', positiveNumber, 60)
    .option('--schema-only', 'create the backup\'s schema in a database without its tables, and load no rows')
    .option('--no-create', 'refuse a target without the backup\'s tables instead of creating them')
    .addOption(atOption())
    .addOption(allowSuspectOption())
    .option('-y, --yes', 'do not ask for confirmation (also SKIP_RESTORE_CONFIRMATION=true)')
    .addOption(jsonOption())
    .action(async (ref: string, opts) => {
      const out = new Output(Boolean(opts.json));
      const url = databaseUrl(opts.db);
      const target = describeDatabase(url).label;
      // Refused before any work where no one can be asked.
      await confirmRestore(undefined, target, opts.yes);
      const { store, backupId, foundIn } = await resolveBackup(ref, opts.from, { allowSuspect: Boolean(opts.allowSuspect), ...(opts.at ? { at: opts.at } : {}) });
      if (foundIn) out.note(`Using backup ${backupId}, the one backup in ${foundIn}`);
      const details = await describeRestore(store, backupId, target);
      await confirmRestore(details, target, opts.yes);
      out.line(`Restoring backup from ${backupId}`);
      out.note(details);
      const tables = splitList(opts.tables);
      const lockWaits: { waitedMs: number; holders: readonly unknown[] }[] = [];
      const started = Date.now();
      const { restoreBackup } = await import('../../lambdas/core/restore.js');
      let result;
      try {
        result = await restoreBackup({
          store,
          backupId,
          databaseUrl: url,
          lockTimeoutMs: Math.round(opts.lockWait * 1000),
          createSchema: opts.create !== false,
          schemaOnly: Boolean(opts.schemaOnly),
          ...(tables ? { tables } : {}),
          onProgress: (event) => {
            if (event.type === 'validated') out.line(`${OK} Backup checked: ${event.tables} tables, ${formatCount(event.totalRecords)} records (manifest and file sizes; checksums and row counts are verified while loading)`);
            else if (event.type === 'schema-notes') for (const n of event.notes) out.warn(`! ${n}`);
            else if (event.type === 'schema-created') out.line(`${OK} Created the backup's schema in the empty target (${event.statements} statements: types, functions, sequences, tables, views)`);
            else if (event.type === 'schema-completed') out.line(`${OK} Added constraints, indexes, triggers, policies, grants and owners (${event.statements} statements)`);
            else if (event.type === 'lock-wait') {
              lockWaits.push({ waitedMs: event.waitedMs, holders: event.holders });
              out.warn(`… waiting ${formatDuration(event.waitedMs)} for the tables' locks${event.holders.length ? `, held by ${event.holders.map(describeHolder).join('; ')}` : ''}`);
            } else if (event.type === 'table-start') out.progress(`restoring ${event.table}`, 0, event.expectedRecords);
            else if (event.type === 'table-progress') out.progress(`restoring ${event.table}`, event.records, event.expectedRecords);
            else if (event.type === 'table-done') {
              out.stopProgress();
              out.line(`${OK} Restored ${event.records} records to ${event.table}`);
            } else if (event.type === 'indexes-start') {
              if (out.interactive) out.note(`building ${event.indexes} index${event.indexes === 1 ? '' : 'es'} from the loaded rows…`);
            } else if (event.type === 'indexes-rebuilt') out.line(`${OK} Built ${event.indexes} index${event.indexes === 1 ? '' : 'es'} from the loaded rows in ${formatDuration(event.durationMs)}`);
            else out.line(`${OK} Counts verified in the transaction (${event.tables} tables)`);
          },
        });
      } catch (error) {
        await appendRunLog(store, { command: 'restore', result: 'failed', backupId, database: target, durationMs: Date.now() - started, error: describeError(error) });
        throw error;
      }
      await appendRunLog(store, { command: 'restore', result: 'ok', backupId, database: target, records: result.totalRecords, durationMs: result.durationMs });
      out.result({ ...result, location: store.description, lockWaits });
      out.line(`${OK} Restore completed: ${formatCount(result.totalRecords)} records into ${result.target} in ${formatDuration(result.durationMs)}`);
      if (!result.recorded) out.warn('! The restore could not be recorded in the target (no CREATE privilege on the database for schema iconic_dr); name the backup when you run verify');
    });

  program
    .command('verify')
    .description("compare each table's exact row count with a backup's manifest (exit 1 when any differs); without BACKUP, the backup last restored into the database")
    .argument('[backup]', 'backup id, "latest", or the path/URL of one backup (default: the one the target\'s restore log names, else latest)')
    .option('--db <url>', 'database to check (default: $DATABASE_URL)')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .option('--tables <names>', 'only these tables')
    .addOption(allowSuspectOption())
    .addOption(jsonOption())
    .action(async (ref: string | undefined, opts) => {
      const out = new Output(Boolean(opts.json));
      const url = databaseUrl(opts.db);
      let tables = splitList(opts.tables);
      let resolved: { store: BackupStore; backupId: string };
      const restored = ref === undefined ? await lastRestore(url) : undefined;
      if (restored) {
        resolved = { store: await openStore(restored.location, storeOptions()), backupId: restored.backupId };
        tables ??= [...restored.tables];
        out.note(`Comparing with backup ${restored.backupId} from ${restored.location}, restored ${formatDate(restored.restoredAt)} (the database's restore log)`);
      } else {
        resolved = await resolveBackup(ref, opts.from, { allowSuspect: Boolean(opts.allowSuspect) });
        if (ref === undefined) out.note(`No restore recorded in ${describeDatabase(url).label}; comparing with the latest backup, ${resolved.backupId}`);
      }
      const { store, backupId } = resolved;
      const { verifyCounts } = await import('../../lambdas/core/verify.js');
      const report = await verifyCounts(store, backupId, url, tables ? { tables } : {});
      out.result({ ...report, location: store.description, lastRestore: restored ?? null });
      out.line(`Counts in ${report.database} against backup ${backupId}`);
      out.line(
        table(
          ['Table', 'Expected', 'Actual', 'Diff', ''],
          report.tables.map((t) => [t.table, formatCount(t.expected), t.actual === null ? 'missing' : formatCount(t.actual), t.diff === null ? '-' : t.diff > 0 ? `+${t.diff}` : String(t.diff), t.ok ? OK : FAIL]),
          [1, 2, 3],
        ),
      );
      if (report.schema.compared) {
        if (report.schema.same) out.line(`${OK} Schema matches the backup's`);
        else {
          out.warn(`! The schema differs from the backup's: ${report.schema.missing.length} statement(s) of the backup not in the database, ${report.schema.extra.length} in the database not in the backup`);
          for (const m of report.schema.missing.slice(0, 20)) out.warn(`  - ${m.split('\n')[0]!.slice(0, 160)}`);
          for (const x of report.schema.extra.slice(0, 20)) out.warn(`  + ${x.split('\n')[0]!.slice(0, 160)}`);
        }
      }
      if (report.ok) out.line(`${OK} All ${report.tables.length} tables match (${formatCount(report.actualTotal)} records)`);
      else {
        out.line(`${FAIL} ${report.tables.filter((t) => !t.ok).length} of ${report.tables.length} tables differ from the backup`);
        process.exitCode = 1;
      }
    });

  program
    .command('check')
    .description('integrity check: orphan rows per foreign key, NOT VALID constraints, invalid indexes, sequences behind data')
    .option('--db <url>', 'database to check (default: $DATABASE_URL)')
    .option('--schema <names>', 'comma-separated schemas (default: public)')
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      const schemas = splitList(opts.schema);
      const url = databaseUrl(opts.db);
      const { checkIntegrity } = await import('../../lambdas/core/integrity.js');
      const report = await checkIntegrity(url, schemas ? { schemas } : {});
      const restored = await lastRestore(url);
      out.result({ ...report, lastRestore: restored ?? null });
      out.line(`Integrity of ${report.database}`);
      if (restored) out.line(`  last restore: ${describeRecord(restored)}`);
      out.line(`${report.orphans.length ? FAIL : OK} ${report.foreignKeysChecked} foreign keys checked, ${report.orphans.length ? `${report.orphans.length} with orphan rows` : 'no orphan rows'}`);
      for (const o of report.orphans) out.line(`${FAIL} ${o.table}: ${formatCount(o.count)} orphan row(s) for ${o.constraint} -> ${o.references}`);
      out.line(`${report.invalidConstraints.length ? FAIL : OK} ${report.invalidConstraints.length ? `${report.invalidConstraints.length} NOT VALID constraint(s)` : 'all constraints validated'}`);
      for (const c of report.invalidConstraints) out.line(`${FAIL} ${c.table}: ${c.type} ${c.constraint} is NOT VALID`);
      for (const i of report.invalidIndexes) out.line(`${FAIL} ${i.table}: index ${i.index} is invalid`);
      for (const s of report.sequencesBehind) out.line(`${FAIL} ${s.sequence} is at ${s.lastValue}, behind max ${s.maxValue} of ${s.table}.${s.column}`);
      if (report.tablesWithoutPrimaryKey.length) out.note(`! tables without a primary key: ${report.tablesWithoutPrimaryKey.join(', ')}`);
      if (report.ok) out.line(`${OK} Integrity check passed`);
      else {
        out.line(`${FAIL} Integrity check failed: ${report.problems.length} problem(s)`);
        process.exitCode = 1;
      }
    });

  program
    .command('health')
    .description('is the database reachable, and is anything in the way of a backup or restore?')
    .option('--db <url>', 'database (default: $DATABASE_URL)')
    .option('--from <location>', 'backup location whose newest good backup is judged against the RPO (default: $BACKUP_LOCATION or ./backups)')
    .addOption(rpoOption())
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      const url = databaseUrl(opts.db);
      const { checkHealth } = await import('../../lambdas/core/health.js');
      const report = await checkHealth(url);
      const restored = await lastRestore(url);
      let rpo: RpoStatus | { location: string; error: string };
      try {
        rpo = await rpoStatus(await storeForReading(opts.from), opts.rpoHours);
      } catch (error) {
        // The database's health is the question here; an unreadable backup location is reported, not fatal.
        rpo = { location: locationFor(opts.from).location, error: describeError(error) };
      }
      out.result({ ...report, lastRestore: restored ?? null, rpo });
      out.line(`${OK} ${report.database} is reachable (${report.latencyMs} ms)`);
      out.line(`  PostgreSQL ${report.serverVersion}${report.inRecovery ? ' (standby)' : ''}, up ${formatDuration(report.uptimeSeconds * 1000)}`);
      out.line(`  ${formatBytes(report.sizeBytes)} in ${report.tables} tables, ${report.connections}/${report.maxConnections} connections`);
      out.line(`  last restore: ${restored ? describeRecord(restored) : 'none recorded'}`);
      if ('error' in rpo) out.line(`! backups in ${rpo.location} could not be read: ${rpo.error}`);
      else out.line(`${rpo.met ? OK : FAIL} ${describeRpo(rpo)}`);
      for (const w of report.warnings) out.line(`! ${w}`);
    });

  program
    .command('prune')
    .description('delete backups older than --keep-days (the newest complete backup is always kept)')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .option('--keep-days <days>', 'retention in days', positiveInt('--keep-days', 36_500), 30)
    .option('--dry-run', 'only say what would be deleted')
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      const store = await storeForReading(opts.from);
      const result = await pruneBackups(store, { keepDays: opts.keepDays, dryRun: Boolean(opts.dryRun) });
      out.result(result);
      const verb = result.dryRun ? 'Would delete' : 'Deleted';
      for (const id of result.deleted) out.line(`${OK} ${verb} ${id}`);
      out.line(`${OK} ${verb} ${result.deleted.length} backup(s) older than ${opts.keepDays} days; kept ${result.kept.length}`);
    });

  program
    .command('drill')
    .description('a whole disaster drill: back up, destroy, validate, restore, verify, compare (no --db: embedded Postgres with sample data)')
    .option('--db <url>', 'a disposable copy to drill on (its tables are emptied and restored; needs --yes)')
    .option('--to <location>', 'where the drill\'s backup and report go: a location of its own, never the real backups', DEFAULT_DRILL_LOCATION)
    .option('--rpo-from <location>', 'the real backups, whose newest good backup\'s age is the RPO measured (default: $BACKUP_LOCATION when set)')
    .addOption(rpoOption())
    .option('--scale <n>', 'sample data size for the embedded database (1 = ~1M rows)', positiveNumber, 0.02)
    .option('--schema <names>', 'comma-separated schemas (with --db; default public)')
    .option('-y, --yes', 'confirm that --db may be emptied and restored')
    .option('--no-media', 'leave Supabase Storage out (drilled when STORAGE_S3_* are set, and with no --db on an embedded S3 server with sample media: synced, restored into <bucket>-drill buckets, compared)')
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      // Loaded here, not at start-up: with the S3 client they are most of the CLI's code (docs/performance.md).
      const [{ runDrill }, { startEmbeddedStorage }, { describeEndpoint, storageClient, storageConfigured, storageConnectionFromEnv }] = await Promise.all([
        import('../../lambdas/core/drill.js'),
        import('../../lambdas/core/media/embedded-storage.js'),
        import('../../lambdas/core/media/storage-client.js'),
      ]);
      const store = await storeFor(opts.to);
      const configuredStorage = opts.media !== false && storageConfigured() ? storageConnectionFromEnv() : undefined;
      // The real backups: --rpo-from, else BACKUP_LOCATION when the user set it (never the default ./backups).
      const real = locationFor(opts.rpoFrom);
      const rpoLocation = real.explicit ? real.location : undefined;
      if (rpoLocation !== undefined && store.description === (await storeFor(rpoLocation)).description) {
        throw new UsageError(`The drill writes to ${store.description}, where the real backups are; give it a location of its own (--to)`);
      }
      const rpoStore = rpoLocation === undefined ? undefined : await storeForReading(rpoLocation);
      const schemas = splitList(opts.schema);
      // With no --db the whole drill runs on embedded parts: Storage too, unless STORAGE_S3_* name a real one.
      const embeddedStorage = opts.media !== false && !configuredStorage && !opts.db ? await startEmbeddedStorage() : undefined;
      const connection = embeddedStorage?.connection ?? configuredStorage;
      const mediaClient = connection ? storageClient(connection) : undefined;
      const started = Date.now();
      out.line(`Disaster recovery drill on ${opts.db ? describeDatabase(opts.db).label : `an embedded PostgreSQL with the Live It Iconic sample shop${embeddedStorage ? ` and an embedded S3 server as its Storage (${embeddedStorage.objects} sample files)` : ''}`}`);
      const report = await runDrill({
        store,
        ...(opts.db ? { databaseUrl: databaseUrl(opts.db) } : {}),
        confirmed: Boolean(opts.yes),
        scale: opts.scale,
        rpoHours: opts.rpoHours,
        ...(rpoStore ? { rpoStore } : {}),
        ...(schemas ? { schemas } : {}),
        ...(connection && mediaClient ? { media: { client: mediaClient, source: describeEndpoint(connection) } } : {}),
        onStep: (s) => out.line(`${s.ok ? OK : FAIL} ${s.name.padEnd(34)} ${formatDuration(s.ms).padStart(9)}   ${s.detail}`),
      }).finally(async () => {
        mediaClient?.destroy();
        await embeddedStorage?.stop();
      });
      await appendRunLog(store, { command: 'drill', result: report.ok ? 'ok' : 'failed', backupId: report.backupId, database: report.database, records: report.rowsRestored, durationMs: Date.now() - started });
      out.result(report);
      out.line('');
      out.line(`Backup:          ${report.backupId} in ${report.location} (a drill backup: never \`latest\` for a restore)`);
      out.line(`Recovery time:   ${formatDuration(report.recoveryTimeMs)} (validate + restore + verify + integrity) — RTO 1 h ${report.withinRto ? 'met' : 'MISSED'}`);
      out.line(`Recovery point:  ${report.rpo ? describeRpo(report.rpo) : 'not measured (pass --rpo-from with the real backups, or set BACKUP_LOCATION)'}`);
      out.line(`Rows restored:   ${formatCount(report.rowsRestored)} of ${formatCount(report.rowsBackedUp)} backed up`);
      out.line(`Media:           ${report.media ? `${formatCount(report.media.objects)} objects of snapshot ${report.media.snapshotId} restored into ${report.media.buckets.join(', ')}: ${report.media.identical ? 'every object identical' : 'DIFFERENCES'}` : 'not drilled (set STORAGE_S3_* to drill Supabase Storage)'}`);
      out.line(`Data lost:       ${report.dataLost ? `YES — ${report.tables.filter((t) => !t.identical).map((t) => t.table).join(', ')} differ` : 'none — every table is identical to before the disaster'}`);
      if (report.reports) out.line(`Report:          ${store.description.replace(/\/$/, '')}/${report.reports.markdown} (and .json)`);
      out.line(report.ok ? `${OK} Drill passed` : `${FAIL} Drill failed`);
      if (!report.ok) process.exitCode = 1;
    });

  program
    .command('dashboard')
    .description('serve the admin backups page and its API over a location on 127.0.0.1 (no auth: loopback only) until stopped')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .option('--drills <location>', 'where drill reports are (default: ./drills when it exists, else the backup location)')
    .option('--port <n>', 'port on 127.0.0.1 (0 = any free one)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('--port must be a whole number from 0 to 65535');
      return n;
    }, 8080)
    .addOption(rpoOption())
    .action(async (opts) => {
      const store = await storeForReading(opts.from);
      const drillsLocation = opts.drills ?? (existsSync(DEFAULT_DRILL_LOCATION) ? DEFAULT_DRILL_LOCATION : undefined);
      const drills = drillsLocation ? await storeForReading(drillsLocation) : undefined;
      const { url, close } = await serveDashboard({ store, ...(drills ? { drills } : {}), rpoHours: opts.rpoHours }, opts.port);
      process.stdout.write(`${url}\n`);
      process.stderr.write(`Serving ${store.description} on 127.0.0.1 (Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => void close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  program.addCommand(mediaCommand());

  return program;
}

/** A stable name for each kind of failure, for `--json` consumers. */
function errorCode(error: unknown): string {
  if (error instanceof CommanderError) return 'UsageError';
  if (error instanceof DrError) return error.name;
  return 'RuntimeError';
}

/** Lists that make an error actionable, carried in the JSON error. */
function errorDetails(error: unknown): Record<string, unknown> {
  if (error instanceof SchemaDriftError) return { differences: error.differences };
  if (error instanceof InvalidBackupError) return { problems: error.problems };
  if (error instanceof LockTimeoutError) return { holders: error.holders };
  return {};
}

function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Runs the CLI; returns the exit code. Errors become one line on stderr (stack only with
 * ICONIC_DR_DEBUG=1), and with --json also `{"error": {code, message, exitCode}}` on stdout.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const json = wantsJson(argv);
  const program = buildProgram();
  const override = (command: Command): void => {
    command.exitOverride();
    for (const sub of command.commands) override(sub);
  };
  override(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    let exitCode: number;
    let message: string;
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      exitCode = 2;
      message = redactCredentials(error.message.replace(/^error: /, ''));
    } else {
      message = withCliHint(describeError(error), error instanceof DrError ? error.hint : undefined);
      if (error instanceof InvalidBackupError) message += ' — run `iconic-dr validate` on it for every problem';
      exitCode = error instanceof DrError ? error.exitCode : 3;
      process.stderr.write(`iconic-dr: ${message}\n`);
      if (debugEnabled() && error instanceof Error && error.stack) process.stderr.write(`${redactCredentials(error.stack)}\n`);
    }
    if (json) process.stdout.write(`${JSON.stringify({ error: { code: errorCode(error), message, exitCode, ...errorDetails(error) } }, null, 2)}\n`);
    return exitCode;
  }
}

function debugEnabled(): boolean {
  // Read directly, not through loadEnv: an invalid environment is often the error being reported.
  return isTruthy(process.env.ICONIC_DR_DEBUG ?? '');
}
