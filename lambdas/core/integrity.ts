import type pg from 'pg';
import { connect, describeDatabase, quoteIdent } from './postgres/connection.js';

export interface OrphanFinding {
  /** The referencing table, the constraint, and the table it references (as Postgres names them). */
  readonly table: string;
  readonly constraint: string;
  readonly references: string;
  readonly count: number;
}

export interface IntegrityReport {
  readonly database: string;
  readonly ok: boolean;
  readonly foreignKeysChecked: number;
  readonly orphans: readonly OrphanFinding[];
  /** Constraints added NOT VALID and never validated: existing rows were never checked. */
  readonly invalidConstraints: readonly { readonly table: string; readonly constraint: string; readonly type: string }[];
  /** Indexes left invalid by a failed CREATE INDEX CONCURRENTLY. */
  readonly invalidIndexes: readonly { readonly table: string; readonly index: string }[];
  /** Sequences behind their column's maximum: the next insert would collide. */
  readonly sequencesBehind: readonly { readonly sequence: string; readonly table: string; readonly column: string; readonly lastValue: string; readonly maxValue: string }[];
  /** Not a failure, but such tables cannot be backed up by the supabase driver and are hard to repair. */
  readonly tablesWithoutPrimaryKey: readonly string[];
  readonly problems: readonly string[];
}

interface ForeignKeyRow {
  constraint: string;
  child: string;
  parent: string;
  columns: string[];
  refcolumns: string[];
}

const FOREIGN_KEYS_SQL = `
  SELECT con.conname AS constraint, con.conrelid::regclass::text AS child, con.confrelid::regclass::text AS parent,
         ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS columns,
         ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS refcolumns
  FROM pg_constraint con
  WHERE con.contype = 'f' AND con.conparentid = 0`;

async function orphansFor(client: pg.Client, fks: readonly ForeignKeyRow[]): Promise<OrphanFinding[]> {
  const findings: OrphanFinding[] = [];
  for (const fk of fks) {
    // MATCH SIMPLE: a row with any NULL in the key references nothing and is not an orphan.
    const notNull = fk.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(' AND ');
    const join = fk.columns.map((c, i) => `p.${quoteIdent(fk.refcolumns[i]!)} = c.${quoteIdent(c)}`).join(' AND ');
    const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${fk.child} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${fk.parent} p WHERE ${join})`);
    const count = Number(rows[0]!.n);
    if (count > 0) findings.push({ table: fk.child, constraint: fk.constraint, references: fk.parent, count });
  }
  return findings;
}

/**
 * Orphan rows for every foreign key from or to the given tables (used inside the restore
 * transaction). `trustedWithin`: skip keys whose both ends are in `tableOids`, because their rows
 * come from one consistent snapshot of a database that enforced those keys.
 */
export async function countOrphans(client: pg.Client, tableOids: readonly number[], options: { trustedWithin?: boolean } = {}): Promise<OrphanFinding[]> {
  const scope = options.trustedWithin
    ? '(con.conrelid = ANY($1::oid[])) <> (con.confrelid = ANY($1::oid[]))'
    : '(con.conrelid = ANY($1::oid[]) OR con.confrelid = ANY($1::oid[]))';
  const { rows } = await client.query<ForeignKeyRow>(`${FOREIGN_KEYS_SQL} AND ${scope} ORDER BY 2, 1`, [tableOids]);
  return orphansFor(client, rows);
}

/**
 * The plan's `db:integrity-check` / `db:check-orphans` / `db:check-constraints`: orphans per foreign
 * key, NOT VALID constraints, invalid indexes, sequences behind their data.
 */
export async function checkIntegrity(databaseUrl: string, options: { schemas?: readonly string[] } = {}): Promise<IntegrityReport> {
  const schemas = options.schemas?.length ? options.schemas : ['public'];
  const client = await connect(databaseUrl, 'iconic-dr check');
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    const { rows: fks } = await client.query<ForeignKeyRow>(
      `${FOREIGN_KEYS_SQL} AND con.connamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY($1::text[])) ORDER BY 2, 1`,
      [schemas],
    );
    const orphans = await orphansFor(client, fks);
    const { rows: invalidConstraints } = await client.query<{ table: string; constraint: string; type: string }>(
      `SELECT con.conrelid::regclass::text AS table, con.conname AS constraint,
              CASE con.contype WHEN 'f' THEN 'foreign key' WHEN 'c' THEN 'check' ELSE con.contype::text END AS type
       FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
       WHERE NOT con.convalidated AND n.nspname = ANY($1::text[]) ORDER BY 1, 2`,
      [schemas],
    );
    const { rows: invalidIndexes } = await client.query<{ table: string; index: string }>(
      `SELECT i.indrelid::regclass::text AS table, i.indexrelid::regclass::text AS index
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE NOT i.indisvalid AND n.nspname = ANY($1::text[]) ORDER BY 1, 2`,
      [schemas],
    );
    const { rows: noPk } = await client.query<{ table: string }>(
      `SELECT c.oid::regclass::text AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY($1::text[])
         AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conrelid = c.oid AND con.contype = 'p') ORDER BY 1`,
      [schemas],
    );
    const { rows: sequences } = await client.query<{ sequence: string; table: string; column: string }>(
      `SELECT d.objid::regclass::text AS sequence, d.refobjid::regclass::text AS table, a.attname AS column
       FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
       JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace n ON n.oid = t.relnamespace
       JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
       WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') AND n.nspname = ANY($1::text[])
       ORDER BY 1`,
      [schemas],
    );
    const sequencesBehind: IntegrityReport['sequencesBehind'][number][] = [];
    for (const s of sequences) {
      const { rows } = await client.query<{ last: string; called: boolean; max: string | null }>(
        `SELECT (SELECT last_value::text FROM ${s.sequence}) AS last, (SELECT is_called FROM ${s.sequence}) AS called, (SELECT max(${quoteIdent(s.column)})::text FROM ${s.table}) AS max`,
      );
      const r = rows[0]!;
      if (r.max !== null && /^-?\d+$/.test(r.max)) {
        const next = r.called ? BigInt(r.last) + 1n : BigInt(r.last);
        if (next <= BigInt(r.max)) sequencesBehind.push({ sequence: s.sequence, table: s.table, column: s.column, lastValue: r.last, maxValue: r.max });
      }
    }
    await client.query('COMMIT');
    const problems = [
      ...orphans.map((o) => `${o.table}: ${o.count} orphan row(s) for ${o.constraint} -> ${o.references}`),
      ...invalidConstraints.map((c) => `${c.table}: ${c.type} constraint ${c.constraint} is NOT VALID (existing rows were never checked)`),
      ...invalidIndexes.map((i) => `${i.table}: index ${i.index} is invalid (rebuild it)`),
      ...sequencesBehind.map((s) => `${s.sequence}: at ${s.lastValue}, behind max(${s.table}.${s.column}) = ${s.maxValue}; the next insert will collide`),
    ];
    return {
      database: describeDatabase(databaseUrl).label,
      ok: problems.length === 0,
      foreignKeysChecked: fks.length,
      orphans,
      invalidConstraints,
      invalidIndexes,
      sequencesBehind,
      tablesWithoutPrimaryKey: noPk.map((r) => r.table),
      problems,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
