import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RestoreTarget, SourceData } from './dataset.js';
import { measure, type Measured } from './measure.js';
import type { BenchServer } from './server.js';
import type { SupabaseApi } from './supabase.js';
import { restoreFloor } from './restore-floor.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The real CLI, as users run it (`npx iconic-dr`): its startup is part of what they wait for. */
export const CLI = path.join(ROOT, 'bin', 'iconic-dr.mjs');

/**
 * How to start the CLI as `npx iconic-dr ARGS` does: node and the entry. Its `#!` line is plain
 * `#!/usr/bin/env node` (no variables or flags: busybox's env refuses `-S`; a test keeps it so).
 */
export function cliArgs(args: readonly string[]): string[] {
  return [CLI, ...args];
}

export interface BenchContext {
  readonly server: BenchServer;
  readonly source: SourceData;
  readonly workDir: string;
  readonly supabase: SupabaseApi | undefined;
  /** `backup --rows` of the postgres-driver backup. */
  readonly rows: 'copy' | 'json';
}

/** What a backup run left behind: an archive file or directory, and for iconic-dr the backup id. */
export interface Artifact {
  readonly path: string;
  readonly backupId?: string;
}

export interface BackupRun {
  readonly measured: Measured;
  readonly bytes: number | undefined;
  readonly artifact: Artifact | undefined;
  /** Duration the tool reports for itself (iconic-dr), to tell its work from process startup. */
  readonly reportedSeconds?: number;
}

export type BackupKey = 'pg_dump_fc' | 'pg_dump_fd' | 'floor' | 'iconic' | 'supabase';
export type RestoreKey = 'pg_restore_single' | 'pg_restore_j2' | 'restore_floor' | 'restore_socket_floor' | 'iconic_restore';
export type ValidateKey = 'iconic_validate';

export interface BackupMethod {
  readonly key: BackupKey;
  readonly label: string;
  run(ctx: BenchContext, runNo: number): Promise<BackupRun>;
}

export interface RestoreMethod {
  readonly key: RestoreKey;
  readonly label: string;
  /** The backup method whose artifact this restores. */
  readonly input: BackupKey;
  run(ctx: BenchContext, artifact: Artifact, target: RestoreTarget): Promise<{ measured: Measured; reportedSeconds?: number }>;
}

export async function pathSize(p: string): Promise<number> {
  const s = await stat(p);
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const entry of await readdir(p)) total += await pathSize(path.join(p, entry));
  return total;
}

/** The CLI must act only on what the bench passes, not on DATABASE_URL, SUPABASE_* or BACKUP_* from the shell. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const key of ['DATABASE_URL', 'BACKUP_LOCATION', 'BACKUP_SCHEMAS', 'BACKUP_TABLES', 'SKIP_RESTORE_CONFIRMATION', 'SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

function parseCliJson<T>(stdout: string, what: string): T {
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new Error(`iconic-dr ${what} --json printed no JSON document: ${stdout.slice(0, 200)}`);
  }
}

interface CliBackupResult {
  readonly backupId: string;
  readonly durationMs: number;
}

async function iconicBackup(ctx: BenchContext, runNo: number, name: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<BackupRun> {
  const to = path.join(ctx.workDir, `${name}-${runNo}`);
  const measured = await measure(process.execPath, cliArgs(['backup', ...args, '--to', to, '--json']), { env });
  const result = parseCliJson<CliBackupResult>(measured.stdout, 'backup');
  return { measured, bytes: await pathSize(path.join(to, result.backupId)), artifact: { path: to, backupId: result.backupId }, reportedSeconds: result.durationMs / 1000 };
}

export const BACKUP_METHODS: readonly BackupMethod[] = [
  {
    key: 'pg_dump_fc',
    label: 'pg_dump -Fc',
    async run(ctx, runNo) {
      const file = path.join(ctx.workDir, `pg_dump-${runNo}.dump`);
      const measured = await measure(ctx.server.tools.pg_dump, ['-Fc', '-f', file, `--dbname=${ctx.source.url}`]);
      return { measured, bytes: await pathSize(file), artifact: { path: file } };
    },
  },
  {
    key: 'pg_dump_fd',
    label: 'pg_dump -Fd -j 2',
    async run(ctx, runNo) {
      const dir = path.join(ctx.workDir, `pg_dump_dir-${runNo}`);
      const measured = await measure(ctx.server.tools.pg_dump, ['-Fd', '-j', '2', '-f', dir, `--dbname=${ctx.source.url}`]);
      return { measured, bytes: await pathSize(dir), artifact: { path: dir } };
    },
  },
  {
    key: 'floor',
    label: 'COPY every table to /dev/null (floor)',
    async run(ctx) {
      // One psql session, tables one after another, the rows written to /dev/null by psql itself:
      // the server's cheapest way out plus a minimal client, nothing compressed or stored.
      const copies = ctx.source.tables.flatMap((t) => ['-c', `COPY "${t.schema}"."${t.name}" TO STDOUT`]);
      const measured = await measure(ctx.server.tools.psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', `--dbname=${ctx.source.url}`, ...copies], { discardStdout: true });
      return { measured, bytes: undefined, artifact: undefined };
    },
  },
  {
    key: 'iconic',
    label: 'iconic-dr backup (postgres driver)',
    run: (ctx, runNo) => iconicBackup(ctx, runNo, 'iconic', ['--db', ctx.source.url, '--rows', ctx.rows], cliEnv()),
  },
  {
    key: 'supabase',
    label: 'iconic-dr backup (supabase driver, PostgREST)',
    run(ctx, runNo) {
      if (!ctx.supabase) throw new Error('no REST API running');
      // The key goes through the environment, not argv, so it shows in no process listing or error.
      return iconicBackup(ctx, runNo, 'supabase', ['--driver', 'supabase', '--supabase-url', ctx.supabase.url], cliEnv({ SUPABASE_SERVICE_ROLE_KEY: ctx.supabase.serviceRoleKey }));
    },
  },
];

interface CliRestoreResult {
  readonly durationMs: number;
}

export async function iconicRestore(artifact: Artifact, target: RestoreTarget): Promise<{ measured: Measured; reportedSeconds: number }> {
  const measured = await measure(process.execPath, cliArgs(['restore', artifact.backupId!, '--from', artifact.path, '--db', target.url, '--yes', '--json']), { env: cliEnv() });
  return { measured, reportedSeconds: parseCliJson<CliRestoreResult>(measured.stdout, 'restore').durationMs / 1000 };
}

/** `iconic-dr validate` in full (every file decompressed, every row parsed): the check restore skips. */
export async function iconicValidate(artifact: Artifact): Promise<{ measured: Measured; valid: boolean }> {
  const measured = await measure(process.execPath, cliArgs(['validate', artifact.backupId!, '--from', artifact.path, '--json']), { env: cliEnv() });
  return { measured, valid: parseCliJson<{ valid: boolean }>(measured.stdout, 'validate').valid };
}

/**
 * A data-only pg_restore loads tables in archive order (not foreign-key order), so without this the
 * first child table fails its foreign key; it also keeps the shop's own triggers from rewriting rows.
 * iconic-dr's restore does the same (session_replication_role = replica), then checks the keys.
 */
const DISABLE_TRIGGERS = '--disable-triggers';

export const RESTORE_METHODS: readonly RestoreMethod[] = [
  {
    key: 'pg_restore_single',
    label: 'pg_restore --single-transaction --data-only --disable-triggers',
    input: 'pg_dump_fc',
    async run(ctx, artifact, target) {
      return { measured: await measure(ctx.server.tools.pg_restore, ['--single-transaction', '--data-only', DISABLE_TRIGGERS, `--dbname=${target.url}`, artifact.path]) };
    },
  },
  {
    key: 'pg_restore_j2',
    label: 'pg_restore -j 2 --data-only --disable-triggers (not atomic)',
    input: 'pg_dump_fc',
    async run(ctx, artifact, target) {
      return { measured: await measure(ctx.server.tools.pg_restore, ['-j', '2', '--data-only', DISABLE_TRIGGERS, `--dbname=${target.url}`, artifact.path]) };
    },
  },
  {
    key: 'restore_floor',
    label: 'server-side COPY FROM binary files, one transaction (floor)',
    // Reads files the server exported itself (restore-floor.ts); pg_dump's archive only says the backups ran.
    input: 'pg_dump_fc',
    async run(ctx, _artifact, target) {
      return { measured: await restoreFloor(ctx, target) };
    },
  },
  {
    key: 'restore_socket_floor',
    label: 'psql \\copy of the same files through the socket, one transaction (socket floor)',
    // The same files and script, but psql reads each file and sends it: the least a client can do.
    input: 'pg_dump_fc',
    async run(ctx, _artifact, target) {
      return { measured: await restoreFloor(ctx, target, 'socket') };
    },
  },
  {
    key: 'iconic_restore',
    label: 'iconic-dr restore (one transaction)',
    input: 'iconic',
    run: (_ctx, artifact, target) => iconicRestore(artifact, target),
  },
];

export async function removeArtifact(artifact: Artifact | undefined): Promise<void> {
  if (artifact) await rm(artifact.path, { recursive: true, force: true });
}

/** Rebuilds dist/cli (what `npm ci` does), so bin/iconic-dr.mjs runs the bundle, not tsx. */
export async function buildCliBundle(): Promise<void> {
  // measure() throws CommandFailed on a non-zero exit.
  await measure(process.execPath, [path.join(ROOT, 'bin', 'build-cli.mjs')]);
}

/** Node + CLI module loading, paid by every iconic-dr row: printed so it can be told apart. */
export async function cliStartup(): Promise<Measured> {
  return measure(process.execPath, cliArgs(['--version']), { env: cliEnv() });
}
