import { createInterface } from 'node:readline/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { createBackup } from '../../lambdas/core/backup.js';
import { listBackups } from '../../lambdas/core/catalog.js';
import { copyBackup } from '../../lambdas/core/download.js';
import { runDrill } from '../../lambdas/core/drill.js';
import { ConfirmationRequiredError, DrError, InvalidBackupError, UsageError, describeError } from '../../lambdas/core/errors.js';
import { checkHealth } from '../../lambdas/core/health.js';
import { checkIntegrity } from '../../lambdas/core/integrity.js';
import { pruneBackups } from '../../lambdas/core/retention.js';
import { restoreBackup } from '../../lambdas/core/restore.js';
import { SHOP_TABLES } from '../../lambdas/core/sample/shop.js';
import { describeDatabase } from '../../lambdas/core/sources/connection.js';
import { openPostgresSource } from '../../lambdas/core/sources/postgres-source.js';
import type { SourceSession } from '../../lambdas/core/sources/source.js';
import { FileStore } from '../../lambdas/core/storage/file-store.js';
import { parseLocation } from '../../lambdas/core/storage/location.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import { verifyCounts } from '../../lambdas/core/verify.js';
import { redactCredentials } from '../../lambdas/core/util/redact.js';
import { defaultJobs, loadEnv, splitList } from './config.js';
import { databaseUrl, resolveBackup, storeFor } from './context.js';
import { FAIL, OK, Output, formatBytes, formatCount, formatDate, formatDuration, table } from './output.js';

function positiveInt(name: string, max = 1_000_000) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
    return n;
  };
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number above 0');
  return n;
}

const jsonOption = () => new Option('--json', 'print one JSON document on stdout instead of text');

async function openSource(opts: { db?: string; schema?: string; tables?: string; jobs?: number; driver?: string; supabaseUrl?: string; supabaseKey?: string }): Promise<SourceSession> {
  const env = loadEnv();
  const schemas = splitList(opts.schema) ?? splitList(env.BACKUP_SCHEMAS);
  const tables = splitList(opts.tables) ?? splitList(env.BACKUP_TABLES);
  const supabaseUrl = opts.supabaseUrl ?? env.SUPABASE_URL;
  const supabaseKey = opts.supabaseKey ?? env.SUPABASE_SERVICE_ROLE_KEY;
  const driver = opts.driver ?? (opts.db === undefined && supabaseUrl && supabaseKey ? 'supabase' : 'postgres');
  if (driver === 'supabase') {
    if (!supabaseUrl || !supabaseKey) throw new UsageError('The supabase driver needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY (or --supabase-url and --supabase-key)');
    const { openSupabaseSource } = await import('../../lambdas/core/sources/supabase-source.js');
    // The plan's nine tables unless configured; `--tables '*'` takes every table PostgREST describes.
    const listed = tables?.length === 1 && tables[0] === '*' ? undefined : (tables ?? [...SHOP_TABLES]);
    return openSupabaseSource({ url: supabaseUrl, serviceRoleKey: supabaseKey, ...(listed ? { tables: listed } : {}), ...(schemas ? { schemas } : {}) });
  }
  return openPostgresSource({ databaseUrl: databaseUrl(opts.db), ...(schemas ? { schemas } : {}), ...(tables ? { tables } : {}), jobs: opts.jobs ?? defaultJobs() });
}

async function confirmRestore(backupId: string, target: string, yes: boolean | undefined): Promise<void> {
  if (yes || loadEnv().SKIP_RESTORE_CONFIRMATION) return;
  if (!process.stdin.isTTY) {
    throw new ConfirmationRequiredError(`Refusing to restore into ${target} without confirmation: pass --yes or set SKIP_RESTORE_CONFIRMATION=true`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`Restore backup ${backupId} into ${target}? Every restored table is replaced. Type "yes" to continue: `);
    if (answer.trim().toLowerCase() !== 'yes') throw new ConfirmationRequiredError('Restore cancelled; nothing was changed');
  } finally {
    rl.close();
  }
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
    .option('--jobs <n>', 'tables exported in parallel from the shared snapshot (default: CPU count, max 4)', positiveInt('--jobs', 32))
    .option('--compression-level <n>', 'gzip level 1 (fast, default) to 9 (small)', positiveInt('--compression-level', 9))
    .addOption(new Option('--driver <driver>', 'source driver (default: supabase when SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY are set and --db is not)').choices(['postgres', 'supabase']))
    .option('--supabase-url <url>', 'Supabase project URL (default: $SUPABASE_URL)')
    .option('--supabase-key <key>', 'service-role key (default: $SUPABASE_SERVICE_ROLE_KEY)')
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      const store = await storeFor(opts.to);
      const source = await openSource(opts);
      let result;
      try {
        result = await createBackup({
          store,
          source,
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
      const m = result.manifest;
      out.note(`${OK} Backup completed successfully: ${formatCount(m.totalRecords)} records in ${m.tables.length} tables, ${formatBytes(m.totalBytes)}, ${formatDuration(m.durationMs)} (${m.consistency === 'snapshot' ? 'one consistent snapshot' : 'per-table consistency'})`);
      out.line(result.backupId);
      out.result({
        backupId: result.backupId,
        location: result.location,
        timestamp: m.timestamp,
        completedAt: m.completedAt,
        durationMs: m.durationMs,
        consistency: m.consistency,
        tables: m.tables.map((t) => ({ table: t, records: m.recordCounts[t], bytes: m.tableDetails[t]!.bytes })),
        totalRecords: m.totalRecords,
        totalBytes: m.totalBytes,
      });
    });

  program
    .command('list')
    .description('list backups, newest first (incomplete ones are marked)')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      const store = await storeFor(opts.from);
      const backups = await listBackups(store);
      out.result(backups.map((b) => ({ ...b, location: store.description })));
      if (backups.length === 0) {
        out.line(`No backups in ${store.description}`);
        return;
      }
      out.line(
        table(
          ['Backup ID', 'Size', 'Records', 'Date', 'Status'],
          backups.map((b) => [b.backupId, formatBytes(b.totalBytes), b.totalRecords === undefined ? '-' : formatCount(b.totalRecords), formatDate(b.timestamp), b.complete ? (b.format === 'legacy' ? 'complete (legacy)' : 'complete') : `INCOMPLETE: ${b.problem}`]),
          [1, 2],
        ),
      );
    });

  program
    .command('validate')
    .description('check a backup: manifest, every file present, sizes, SHA-256, rows (exit 1 when invalid)')
    .argument('[backup]', 'backup id, "latest", or the path/URL of one backup', 'latest')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .option('--quick', 'check presence and sizes only')
    .addOption(jsonOption())
    .action(async (ref: string, opts) => {
      const out = new Output(Boolean(opts.json));
      const { store, backupId } = await resolveBackup(ref, opts.from);
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
    .argument('<backup>', 'backup id, "latest", or the URL of one backup')
    .requiredOption('--from <location>', 'where the backup is, e.g. s3://bucket/prefix')
    .requiredOption('--to <dir>', 'local folder to copy into (the backup lands in <dir>/<backup-id>)')
    .addOption(jsonOption())
    .action(async (ref: string, opts) => {
      const out = new Output(Boolean(opts.json));
      const { store, backupId } = await resolveBackup(ref, opts.from);
      const destination = parseLocation(opts.to);
      if (destination.kind !== 'file') throw new UsageError('--to must be a local folder');
      const result = await copyBackup(store, backupId, new FileStore(destination.path), (key) => out.note(`  downloading ${key}`));
      out.result(result);
      out.line(`${OK} Downloaded ${backupId}: ${result.files} files, ${formatBytes(result.bytes)} -> ${result.destination}`);
    });

  program
    .command('restore')
    .description('restore a backup into a database in one all-or-nothing transaction, checking every file (size, SHA-256, row count) as it loads')
    .argument('<backup>', 'backup id, "latest", or the path/URL of one backup')
    .option('--db <url>', 'target database (default: $DATABASE_URL); its schema must exist')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .option('--tables <names>', 'comma-separated tables to restore (default: all in the backup)')
    .option('-y, --yes', 'do not ask for confirmation (also SKIP_RESTORE_CONFIRMATION=true)')
    .addOption(jsonOption())
    .action(async (ref: string, opts) => {
      const out = new Output(Boolean(opts.json));
      const url = databaseUrl(opts.db);
      const target = describeDatabase(url).label;
      if (!opts.yes && !loadEnv().SKIP_RESTORE_CONFIRMATION && !process.stdin.isTTY) await confirmRestore('', target, false);
      const { store, backupId } = await resolveBackup(ref, opts.from);
      await confirmRestore(backupId, target, opts.yes);
      out.line(`Restoring backup from ${backupId}`);
      const tables = splitList(opts.tables);
      const result = await restoreBackup({
        store,
        backupId,
        databaseUrl: url,
        ...(tables ? { tables } : {}),
        onProgress: (event) => {
          if (event.type === 'validated') out.line(`${OK} Backup validated: ${event.tables} tables, ${formatCount(event.totalRecords)} records`);
          else if (event.type === 'table-start') out.progress(`restoring ${event.table}`, 0, event.expectedRecords);
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
      out.result(result);
      out.line(`${OK} Restore completed: ${formatCount(result.totalRecords)} records into ${result.target} in ${formatDuration(result.durationMs)}`);
    });

  program
    .command('verify')
    .description("compare each table's exact row count with a backup's manifest (exit 1 when any differs)")
    .argument('[backup]', 'backup id, "latest", or the path/URL of one backup', 'latest')
    .option('--db <url>', 'database to check (default: $DATABASE_URL)')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .option('--tables <names>', 'only these tables')
    .addOption(jsonOption())
    .action(async (ref: string, opts) => {
      const out = new Output(Boolean(opts.json));
      const url = databaseUrl(opts.db);
      const { store, backupId } = await resolveBackup(ref, opts.from);
      const tables = splitList(opts.tables);
      const report = await verifyCounts(store, backupId, url, tables ? { tables } : {});
      out.result(report);
      out.line(`Counts in ${report.database} against backup ${backupId}`);
      out.line(
        table(
          ['Table', 'Expected', 'Actual', 'Diff', ''],
          report.tables.map((t) => [t.table, formatCount(t.expected), t.actual === null ? 'missing' : formatCount(t.actual), t.diff === null ? '-' : t.diff > 0 ? `+${t.diff}` : String(t.diff), t.ok ? OK : FAIL]),
          [1, 2, 3],
        ),
      );
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
      const report = await checkIntegrity(databaseUrl(opts.db), schemas ? { schemas } : {});
      out.result(report);
      out.line(`Integrity of ${report.database}`);
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
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      const report = await checkHealth(databaseUrl(opts.db));
      out.result(report);
      out.line(`${OK} ${report.database} is reachable (${report.latencyMs} ms)`);
      out.line(`  PostgreSQL ${report.serverVersion}${report.inRecovery ? ' (standby)' : ''}, up ${formatDuration(report.uptimeSeconds * 1000)}`);
      out.line(`  ${formatBytes(report.sizeBytes)} in ${report.tables} tables, ${report.connections}/${report.maxConnections} connections`);
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
      const store = await storeFor(opts.from);
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
    .option('--to <location>', 'where the drill backup goes (default: $BACKUP_LOCATION or ./backups)')
    .option('--scale <n>', 'sample data size for the embedded database (1 = ~1M rows)', positiveNumber, 0.02)
    .option('--schema <names>', 'comma-separated schemas (with --db; default public)')
    .option('-y, --yes', 'confirm that --db may be emptied and restored')
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      const store = await storeFor(opts.to);
      const schemas = splitList(opts.schema);
      out.line(`Disaster recovery drill on ${opts.db ? describeDatabase(opts.db).label : 'an embedded PostgreSQL with the Live It Iconic sample shop'}`);
      const report = await runDrill({
        store,
        ...(opts.db ? { databaseUrl: databaseUrl(opts.db) } : {}),
        confirmed: Boolean(opts.yes),
        scale: opts.scale,
        ...(schemas ? { schemas } : {}),
        onStep: (s) => out.line(`${s.ok ? OK : FAIL} ${s.name.padEnd(34)} ${formatDuration(s.ms).padStart(9)}   ${s.detail}`),
      });
      out.result(report);
      out.line('');
      out.line(`Backup:          ${report.backupId} in ${report.location}`);
      out.line(`Recovery time:   ${formatDuration(report.recoveryTimeMs)} (validate + restore + verify + integrity) — RTO 1 h ${report.withinRto ? 'met' : 'MISSED'}`);
      out.line(`Rows restored:   ${formatCount(report.rowsRestored)} of ${formatCount(report.rowsBackedUp)} backed up`);
      out.line(`Data lost:       ${report.dataLost ? `YES — ${report.tables.filter((t) => !t.identical).map((t) => t.table).join(', ')} differ` : 'none — every table is identical to before the disaster'}`);
      out.line(report.ok ? `${OK} Drill passed` : `${FAIL} Drill failed`);
      if (!report.ok) process.exitCode = 1;
    });

  return program;
}

/** Runs the CLI; returns the exit code. Errors become one line on stderr (stack only with ICONIC_DR_DEBUG=1). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      return 2;
    }
    let message = describeError(error);
    if (error instanceof InvalidBackupError) message += ' — run `iconic-dr validate` on it for every problem';
    process.stderr.write(`iconic-dr: ${message}\n`);
    if (process.env.ICONIC_DR_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${redactCredentials(error.stack)}\n`);
    return error instanceof DrError ? error.exitCode : 3;
  }
}
