import type { Readable } from 'node:stream';
import type pg from 'pg';
import { LockTimeoutError, PrivilegeError, UsageError } from '../errors.js';
import type { SequenceInfo } from '../format/manifest.js';
import type { RowEncoding } from '../format/row-encoding.js';
import { connect, databaseIdentity, lockTimeoutOf, pgCode, quoteIdent, quoteQualified } from './connection.js';
import { describeTables, jsonKinds, ownedSequences, tableRows, type TableShape } from './catalog.js';
import { CopyTextToJson, type JsonKind } from './copy-text-json.js';
import type { SourceSession } from '../sources/source.js';
import { CopyOutStream } from './copy-out.js';
import { captureSchema, type SchemaScript } from '../schema/capture.js';

/**
 * Session settings that make every value's text exact and independent of the server's defaults:
 * pg_dump's (setup_connection in pg_dump.c) plus UTC and hex bytea. Backups and restores of both
 * row encodings run under them: COPY text is read back under the settings it was written with.
 */
export const EXACT_OUTPUT_SETTINGS = [
  "SET client_encoding = 'UTF8'",
  'SET standard_conforming_strings = on',
  'SET extra_float_digits = 3',
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  "SET TimeZone = 'UTC'",
  "SET bytea_output = 'hex'",
  'SET statement_timeout = 0',
  'SET idle_in_transaction_session_timeout = 0',
];

export interface PostgresSourceOptions {
  readonly databaseUrl: string;
  /** Schemas whose tables are backed up. @default ['public'] */
  readonly schemas?: readonly string[];
  /** Only these tables (`products` or `schema.table`). @default every table of the schemas */
  readonly tables?: readonly string[];
  /** Parallel connections sharing one exported snapshot. @default 1 */
  readonly jobs?: number;
  /** How long to wait for the ACCESS SHARE locks that keep DDL out during the backup. @default 60 s */
  readonly lockTimeoutMs?: number;
  /** Told when the schema could not be read (the backup goes on without a schema file). */
  readonly onSchemaError?: (error: unknown) => void;
  /**
   * Who writes NDJSON rows: `client`, from the table's COPY text (copy-text-json.ts), where every
   * column's type allows it, else the server; `server`, always the server's `row_to_json`. The
   * lines are the same bytes either way. @default 'client'
   */
  readonly jsonRows?: 'client' | 'server';
}

/** The SELECT that renders each row as exactly the JSON Postgres produces, generated columns left out. */
export function exportQuery(table: TableShape): string {
  const columns = table.columns.map((c) => (c.encoding === 'text' ? `${quoteIdent(c.name)}::text AS ${quoteIdent(c.name)}` : quoteIdent(c.name)));
  return `SELECT row_to_json(x.*) FROM (SELECT ${columns.join(', ')} FROM ${tableRows(table)}) x`;
}

/**
 * Binary COPY of the one JSON column: each row arrives as its JSON text as it is, with no escaping
 * and no scan of it by the server for characters to quote (what `FORMAT csv` with a quote and a
 * delimiter JSON never contains cost). CopyOutStream's `singleFieldLines` makes each row one line.
 */
export function copyOutStatement(table: TableShape): string {
  return `COPY (${exportQuery(table)}) TO STDOUT WITH (FORMAT binary)`;
}

/**
 * The table's own COPY text of its stored columns (generated columns left out), as pg_dump writes
 * it. `COPY t TO` reads only `t` itself, like `ONLY`; a partitioned table has no rows of its own and
 * COPY refuses it, so its rows come through a query over its partitions.
 */
export function copyTextStatement(table: TableShape): string {
  const columns = table.columns.map((c) => quoteIdent(c.name)).join(', ');
  const name = quoteQualified(table.schema, table.name);
  // A table without columns: `()` is a syntax error; COPY of the table alone writes its rows as empty lines.
  if (table.partitioned) return `COPY (SELECT ${columns} FROM ${name}) TO STDOUT`;
  return columns ? `COPY ${name} (${columns}) TO STDOUT` : `COPY ${name} TO STDOUT`;
}

/**
 * Applies EXACT_OUTPUT_SETTINGS in one round trip (one simple-protocol query of several statements,
 * which a remote database answers in one RTT instead of nine).
 */
export async function applyExactOutputSettings(client: pg.Client): Promise<void> {
  await client.query(EXACT_OUTPUT_SETTINGS.join('; '));
}

async function beginSnapshot(client: pg.Client): Promise<void> {
  await applyExactOutputSettings(client);
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
}

/** The errors of reading or locking the tables, as what the user should do. */
async function lockErrors<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const code = pgCode(error);
    if (code === '42501') throw new PrivilegeError(`The backup user may not read every table (${(error as Error).message}); grant SELECT on them`, { cause: error });
    if (code === '55P03') throw new LockTimeoutError(`Timed out waiting for a lock on the tables (a migration or long transaction holds them); try again later`, { cause: error });
    throw error;
  }
}

/** A worker connection with the exact-output settings, in a transaction that has not yet taken its snapshot. */
async function openWorker(databaseUrl: string): Promise<pg.Client> {
  const worker = await connect(databaseUrl, 'iconic-dr backup worker');
  try {
    await beginSnapshot(worker);
  } catch (error) {
    await worker.end().catch(() => undefined);
    throw error;
  }
  return worker;
}

/**
 * The schema from the coordinator's snapshot. A catalog the role cannot fully read costs the schema
 * file, not the backup: the savepoint keeps the snapshot transaction usable. Rejects only when the
 * transaction itself is lost (the connection dropped).
 */
async function captureSchemaInSnapshot(coordinator: pg.Client, schemas: readonly string[], tables: readonly TableShape[], options: PostgresSourceOptions): Promise<SchemaScript | undefined> {
  await coordinator.query('SAVEPOINT iconic_dr_schema');
  try {
    const schema = await captureSchema(coordinator, schemas, tables, { allTables: !options.tables?.length });
    await coordinator.query('RELEASE SAVEPOINT iconic_dr_schema');
    return schema;
  } catch (error) {
    await coordinator.query('ROLLBACK TO SAVEPOINT iconic_dr_schema');
    await coordinator.query('RELEASE SAVEPOINT iconic_dr_schema');
    options.onSchemaError?.(error);
    return undefined;
  }
}

/**
 * Opens a backup session on Postgres: one REPEATABLE READ, READ ONLY transaction whose snapshot is
 * exported to `jobs - 1` more connections (as `pg_dump -j` does), so every table comes from the same
 * instant. Tables are locked ACCESS SHARE so no DDL can change them while they are read.
 *
 * The session is ready once the snapshot is shared, ~0.1 s sooner than if it waited for everything
 * the coordinator reads (docs/performance.md, eighteenth session): the workers connect while the
 * coordinator reads the catalog, and the coordinator captures the schema while the workers already
 * export (its own first export waits for it; `schema` resolves when it is done). Which column kinds
 * NDJSON needs are read only when a table is first exported as NDJSON.
 */
export async function openPostgresSource(options: PostgresSourceOptions): Promise<SourceSession> {
  const schemas = options.schemas?.length ? options.schemas : ['public'];
  const jobs = Math.max(1, Math.floor(options.jobs ?? 1));
  const lockTimeoutMs = lockTimeoutOf(options.lockTimeoutMs);
  const coordinator = await connect(options.databaseUrl, 'iconic-dr backup');
  // Opened before the tables are known: a database of fewer tables than jobs closes the extra ones.
  const pendingWorkers = Array.from({ length: jobs - 1 }, () => openWorker(options.databaseUrl));
  // Awaited later; until then a failed connect must not count as an unhandled rejection.
  for (const pending of pendingWorkers) pending.catch(() => undefined);
  const clients: pg.Client[] = [coordinator];
  let schemaCapture: Promise<SchemaScript | undefined> | undefined;
  try {
    const identity = await databaseIdentity(coordinator, options.databaseUrl);
    await beginSnapshot(coordinator);
    // Before the catalog is read: its table sizes take the same locks the LOCK below does, and a
    // migration holding one must make the backup give up in time, not wait with it.
    await coordinator.query(`SET LOCAL lock_timeout = ${lockTimeoutMs}`);
    const tables = await lockErrors(describeTables(coordinator, schemas, options.tables));
    if (options.tables?.length) {
      const missing = options.tables.filter((name) => !tables.some((t) => t.qualified === name || `${t.schema}.${t.name}` === name));
      if (missing.length) throw new UsageError(`Table${missing.length > 1 ? 's' : ''} not found in schema${schemas.length > 1 ? 's' : ''} ${schemas.join(', ')}: ${missing.join(', ')}`);
    }
    if (tables.length === 0) throw new UsageError(`No tables to back up in schema${schemas.length > 1 ? 's' : ''} ${schemas.join(', ')}`);
    await lockErrors(coordinator.query(`LOCK TABLE ${tables.map((t) => quoteQualified(t.schema, t.name)).join(', ')} IN ACCESS SHARE MODE`));
    await coordinator.query('SET LOCAL lock_timeout = 0');

    const sequences: SequenceInfo[] = [];
    const owned = await ownedSequences(coordinator, tables);
    if (owned.length > 0) {
      // Every sequence's state in one query (one round trip, not one per sequence).
      const reads = owned.map((seq, i) => `SELECT ${i} AS i, last_value::text AS last_value, is_called FROM ${quoteQualified(seq.schema, seq.name)}`);
      const { rows } = await coordinator.query<{ i: number; last_value: string; is_called: boolean }>(`${reads.join(' UNION ALL ')} ORDER BY i`);
      for (const row of rows) {
        const seq = owned[row.i]!;
        sequences.push({ schema: seq.schema, name: seq.name, table: seq.table, column: seq.column, lastValue: row.last_value, isCalled: row.is_called });
      }
    }

    const workerCount = Math.min(jobs, tables.length);
    // Exported before the schema's savepoint: pg_export_snapshot refuses a subtransaction.
    const snapshotId = workerCount > 1 ? (await coordinator.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id : undefined;
    const capture = captureSchemaInSnapshot(coordinator, schemas, tables, options);
    schemaCapture = capture;
    capture.catch(() => undefined);
    const opened = await Promise.allSettled(pendingWorkers);
    clients.push(...opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : [])));
    for (const surplus of clients.splice(workerCount)) await surplus.end().catch(() => undefined);
    // Only a connection the tables need counts: one beyond them may fail (a server near its limit).
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed && clients.length < workerCount) throw failed.reason;
    if (snapshotId !== undefined) {
      // A worker's COPY takes its table's lock itself, and queues behind a migration that asked for
      // the table after the coordinator locked it, which waits for the coordinator: without a
      // timeout, the backup and the migration would wait for each other for ever (pg_dump's workers
      // use NOWAIT for the same reason).
      await Promise.all(clients.slice(1).map((worker) => worker.query(`SET TRANSACTION SNAPSHOT '${snapshotId.replace(/'/g, "''")}'; SET LOCAL lock_timeout = ${lockTimeoutMs}`)));
    }

    // row_to_json costs the server ~2.7x the CPU of COPY text (docs/performance.md): where the types
    // allow, the client writes the JSON. Read on the first NDJSON export, by the client about to
    // export: every client shares the snapshot, and the coordinator's locks keep the types fixed.
    let kinds: Promise<Map<number, JsonKind[] | undefined>> | undefined;
    const kindsFor = (client: pg.Client) => (options.jsonRows === 'server' ? Promise.resolve(new Map<number, JsonKind[] | undefined>()) : (kinds ??= jsonKinds(client, tables)));

    // Worker slots in the order the backup hands out its largest files: the coordinator, busy with
    // the schema for its first ~0.1-0.2 s, comes last, so the largest table starts at once.
    const slots = [...clients.slice(1), coordinator];

    return {
      info: { driver: 'postgres', ...identity },
      consistency: 'snapshot',
      workers: slots.length,
      tables,
      sequences,
      rowEncodings: ['ndjson', 'copy-text'],
      schema: capture,
      async exportTable(table: TableShape, worker: number, rows: RowEncoding = 'ndjson'): Promise<Readable> {
        const client = slots[worker];
        if (!client) throw new Error(`no worker ${worker}`);
        // The coordinator is busy with the schema until it is captured (pg would queue this COPY
        // between two of its statements otherwise).
        if (client === coordinator) await capture;
        const columnKinds = rows === 'copy-text' ? undefined : (await kindsFor(client)).get(table.oid);
        const stream =
          rows === 'copy-text'
            ? new CopyOutStream(copyTextStatement(table))
            : columnKinds
              ? new CopyOutStream(copyTextStatement(table), { jsonRows: new CopyTextToJson(table.columns.map((c, i) => ({ name: c.name, kind: columnKinds[i]! }))) })
              : new CopyOutStream(copyOutStatement(table), { singleFieldLines: true });
        return client.query(stream as unknown as pg.Submittable) as unknown as Readable;
      },
      async close() {
        await capture.catch(() => undefined);
        await Promise.all(
          clients.map(async (c) => {
            await c.query('ROLLBACK').catch(() => undefined);
            await c.end().catch(() => undefined);
          }),
        );
      },
    };
  } catch (error) {
    await schemaCapture?.catch(() => undefined);
    const workers = await Promise.allSettled(pendingWorkers);
    const opened = workers.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    await Promise.all([...new Set([...clients, ...opened])].map((c) => c.end().catch(() => undefined)));
    throw error;
  }
}

