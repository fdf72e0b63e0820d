import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RestoreTarget } from './dataset.js';
import { quoteIdent, withClient } from './db.js';
import type { BenchContext } from './methods.js';
import { measure, type Measured } from './measure.js';
import { deferrableIndexes, dropStatements, rebuildStatements } from '../../lambdas/core/restore-indexes.js';

/**
 * The restore floor: what the server alone takes to load the rows in one transaction, with no client
 * work at all. Each table is exported once, untimed, as a binary COPY file the server writes itself;
 * the timed part is one psql transaction that empties the tables, drops the indexes iconic-dr's
 * restore drops (restore-indexes.ts: plain ones, and primary keys and unique constraints no foreign
 * key references), loads every file with a server-side
 * `COPY … FROM '<file>' (FORMAT binary, FREEZE)`, builds the indexes (and their constraints) again and commits. iconic-dr's
 * restore does that plus everything a client does (reading, checking, converting, sending) and its
 * checks before committing, so this row is the most it can hope for; `pg_restore --data-only` loads
 * COPY text with every index maintained.
 *
 * Needs the bench's own kind of server: local, and a user that may read and write server files.
 *
 * The socket floor loads the same files with psql's `\copy` (psql reads each file and sends it as
 * COPY data): what the protocol alone costs the server, next to the file floor.
 */
let exported: Promise<{ dir: string; tables: FloorTable[] }> | undefined;

const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

interface FloorTable {
  readonly table: string;
  readonly columns: string;
  readonly file: string;
}

/** The source's tables as server-side binary COPY files, written on the first call (untimed). */
function exportOnce(ctx: BenchContext): Promise<{ dir: string; tables: FloorTable[] }> {
  exported ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'iconic-bench-floor-'));
    // The server writes the files as its own OS user.
    await chmod(dir, 0o777);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const tables = await floorTables(ctx, dir);
    await withClient(ctx.source.url, async (client) => {
      for (const t of tables) await client.query(`COPY ${t.table} (${t.columns}) TO ${literal(t.file)} WITH (FORMAT binary)`);
    });
    return { dir, tables };
  })();
  return exported;
}

async function floorTables(ctx: BenchContext, dir: string): Promise<FloorTable[]> {
  return withClient(ctx.source.url, async (client) => {
    const tables: FloorTable[] = [];
    for (const t of ctx.source.tables) {
      const { rows } = await client.query<{ columns: string }>(
        `SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS columns FROM pg_attribute
         WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''`,
        [`${quoteIdent(t.schema)}.${quoteIdent(t.name)}`],
      );
      const table = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
      const file = path.join(dir, `${t.schema}.${t.name}.bin`);
      tables.push({ table, columns: rows[0]!.columns, file });
    }
    return tables;
  });
}

/**
 * Exports the tables (first call only, untimed), then times the one-transaction load into `target`:
 * `server`, the server reads the files itself; `socket`, psql reads them and sends them through the
 * connection (`\copy`), as any client must, with no client work beyond reading the file.
 */
export async function restoreFloor(ctx: BenchContext, target: RestoreTarget, via: 'server' | 'socket' = 'server'): Promise<Measured> {
  const { dir, tables } = await exportOnce(ctx);
  // Exactly the indexes iconic-dr's restore drops and builds again.
  const indexes = await withClient(target.url, async (client) => {
    const { rows } = await client.query<{ oid: number }>('SELECT unnest($1::regclass[])::oid AS oid', [tables.map((t) => t.table)]);
    return deferrableIndexes(client, rows.map((r) => r.oid));
  });
  const script = [
    'BEGIN;',
    "SET LOCAL session_replication_role = 'replica';",
    `TRUNCATE ONLY ${tables.map((t) => t.table).join(', ')};`,
    ...dropStatements(indexes).map((statement) => `${statement};`),
    ...tables.map((t) => (via === 'server' ? `COPY ${t.table} (${t.columns}) FROM ${literal(t.file)} WITH (FORMAT binary, FREEZE);` : `\\copy ${t.table} (${t.columns}) FROM ${literal(t.file)} WITH (FORMAT binary, FREEZE)`)),
    ...(indexes.length ? ["SET LOCAL default_tablespace = '';"] : []),
    ...indexes.flatMap((i) => rebuildStatements(i).map((statement) => `${statement};`)),
    'COMMIT;',
  ].join('\n');
  const scriptFile = path.join(dir, 'restore.sql');
  await writeFile(scriptFile, script);
  try {
    return await measure(ctx.server.tools.psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', `--dbname=${target.url}`, '-f', scriptFile]);
  } finally {
    await rm(scriptFile, { force: true });
  }
}
