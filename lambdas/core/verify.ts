import { readManifest } from './catalog.js';
import { splitQualifiedName } from './format/manifest.js';
import { UsageError } from './errors.js';
import { connect, describeDatabase, quoteQualified } from './postgres/connection.js';
import type { BackupStore } from './storage/store.js';
import { captureSchema } from './schema/capture.js';
import { readSchemaScript } from './schema/files.js';
import { describeTables } from './postgres/catalog.js';

export interface CountComparison {
  readonly table: string;
  readonly expected: number;
  /** null when the table does not exist in the database. */
  readonly actual: number | null;
  readonly diff: number | null;
  readonly ok: boolean;
}

export interface VerifyReport {
  readonly backupId: string;
  readonly database: string;
  readonly ok: boolean;
  readonly tables: readonly CountComparison[];
  readonly expectedTotal: number;
  readonly actualTotal: number;
  /**
   * The database's schema against the backup's schema file (when the backup has one and every table
   * was verified): statements the backup has that the database lacks, and the reverse. Reported, not
   * counted in `ok`: a restore may allow a target-only column, for one.
   */
  readonly schema: { readonly compared: boolean; readonly same: boolean; readonly missing: readonly string[]; readonly extra: readonly string[] };
}

/** Statements as a multiset: the same objects in another creation order are the same schema. */
function statementDifference(a: readonly string[], b: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const s of b) counts.set(s, (counts.get(s) ?? 0) + 1);
  const out: string[] = [];
  for (const s of a) {
    const n = counts.get(s) ?? 0;
    if (n > 0) counts.set(s, n - 1);
    else out.push(s);
  }
  return out;
}

function splitName(qualified: string, schemaOf?: (t: string) => string | undefined): [string, string] {
  const schema = schemaOf?.(qualified);
  if (schema) return [schema, schema === 'public' ? qualified : qualified.slice(schema.length + 1)];
  return splitQualifiedName(qualified);
}

/** The plan's `db:verify-counts`: exact `count(*)` per table against the backup's manifest. */
export async function verifyCounts(store: BackupStore, backupId: string, databaseUrl: string, options: { tables?: readonly string[] } = {}): Promise<VerifyReport> {
  const parsed = await readManifest(store, backupId);
  const m = parsed.manifest;
  const names = options.tables?.length ? options.tables : m.tables;
  const unknown = names.filter((t) => !m.tables.includes(t));
  if (unknown.length) throw new UsageError(`Backup ${backupId} has no table ${unknown.join(', ')}`);
  const schemaOf = parsed.format === 'v1' ? (t: string) => parsed.manifest.tableDetails[t]?.schema : undefined;
  const client = await connect(databaseUrl, 'iconic-dr verify');
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const tables: CountComparison[] = [];
    for (const table of names) {
      const [schema, name] = splitName(table, schemaOf);
      const expected = m.recordCounts[table] ?? 0;
      const { rows: exists } = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [quoteQualified(schema, name)]);
      if (!exists[0]?.ok) {
        tables.push({ table, expected, actual: null, diff: null, ok: false });
        continue;
      }
      const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteQualified(schema, name)}`);
      const actual = Number(rows[0]!.n);
      tables.push({ table, expected, actual, diff: actual - expected, ok: actual === expected });
    }
    const script = parsed.format === 'v1' && names.length === m.tables.length && tables.every((t) => t.actual !== null) ? await readSchemaScript(store, backupId, parsed.manifest) : undefined;
    let schema: VerifyReport['schema'] = { compared: false, same: true, missing: [], extra: [] };
    if (script) {
      await client.query('SAVEPOINT iconic_dr_schema');
      try {
        const shapes = await describeTables(client, script.schemas, script.tables);
        const now = await captureSchema(client, script.schemas, shapes, { allTables: script.tables.length === m.tables.length });
        const before = [...script.preData, ...script.postData];
        const after = [...now.preData, ...now.postData];
        const missing = statementDifference(before, after);
        const extra = statementDifference(after, before);
        schema = { compared: true, same: missing.length === 0 && extra.length === 0, missing, extra };
      } catch {
        // The counts are the verdict; a catalog this role cannot read leaves the schema uncompared.
        await client.query('ROLLBACK TO SAVEPOINT iconic_dr_schema');
      }
    }
    await client.query('COMMIT');
    return {
      schema,
      backupId,
      database: describeDatabase(databaseUrl).label,
      ok: tables.every((t) => t.ok),
      tables,
      expectedTotal: tables.reduce((s, t) => s + t.expected, 0),
      actualTotal: tables.reduce((s, t) => s + (t.actual ?? 0), 0),
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
