import type pg from 'pg';
import { quoteIdent, quoteLiteral } from './postgres/connection.js';

/**
 * An index that a restore drops before loading its (emptied) table and builds again afterwards,
 * inside the same transaction: one sorted build instead of an insert per row at a random place in
 * the index, each with its own WAL record (measured on the bench data: the four secondary indexes
 * cost ~0.9 s of inserts, ~0.3 s to build; the seven primary keys and unique constraints that no
 * foreign key references ~2.0 s of inserts, ~0.45 s to build). A rollback brings the index back as
 * it was.
 */
export interface DeferredIndex {
  /** `schema.table`, for messages. */
  readonly table: string;
  /** Schema-qualified, quoted name of the index's table. */
  readonly tableSql: string;
  /** Schema-qualified, quoted name of the index. */
  readonly indexSql: string;
  /** Its bare name, as ALTER TABLE … CLUSTER ON wants it (a constraint's index bears the constraint's name). */
  readonly name: string;
  /** pg_get_indexdef(): the exact CREATE INDEX (method, columns, opclasses, collations, WHERE, WITH). */
  readonly definition: string;
  readonly comment: string | null;
  readonly clustered: boolean;
  /** The primary key or unique constraint the index stands behind, attached again once it is built. */
  readonly constraint?: DeferredConstraint;
}

export interface DeferredConstraint {
  readonly kind: 'PRIMARY KEY' | 'UNIQUE';
  readonly deferrable: boolean;
  readonly initiallyDeferred: boolean;
  readonly comment: string | null;
}

/** What rebuilds an index (pg_index i, its pg_class ic, its table t in namespace n): an IndexRow. */
const INDEX_COLUMNS = `n.nspname || '.' || t.relname AS table,
       quote_ident(n.nspname) || '.' || quote_ident(t.relname) AS table_sql,
       quote_ident(n.nspname) || '.' || quote_ident(ic.relname) AS index_sql,
       ic.relname AS name,
       pg_get_indexdef(i.indexrelid) AS definition,
       obj_description(i.indexrelid, 'pg_class') AS comment,
       i.indisclustered AS clustered`;

/**
 * Indexes that can be dropped and created again with nothing lost: only what pg_get_indexdef()
 * describes in full. Not these: indexes behind a constraint (primary keys and unique constraints are
 * DEFERRABLE_CONSTRAINTS' to decide; exclusion constraints stay) or that a foreign key references.
 * Left alone (maintained while loading): the replica identity, partitioned tables
 * and their partitions' indexes, indexes of extensions, in another tablespace, with a statistics
 * target or a security label, and invalid ones. Also left alone: indexes this role could drop but
 * not create again (DROP INDEX needs the table's owner, CREATE INDEX also CREATE on its schema).
 */
const DEFERRABLE_INDEXES = `
SELECT ${INDEX_COLUMNS}
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE i.indrelid = ANY($1::oid[])
  AND t.relkind = 'r' AND NOT t.relispartition AND ic.relkind = 'i'
  AND i.indisvalid AND i.indisready AND i.indislive AND NOT i.indisreplident
  AND ic.reltablespace = 0
  AND pg_has_role(t.relowner, 'USAGE') AND has_schema_privilege(n.oid, 'CREATE')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid AND d.deptype IN ('e', 'x', 'i'))
  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid OR h.inhparent = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0)
  AND NOT EXISTS (SELECT 1 FROM pg_seclabel s WHERE s.classoid = 'pg_class'::regclass AND s.objoid = i.indexrelid)
ORDER BY t.oid, ic.relname`;

/**
 * Primary keys and unique constraints whose index can be built again and attached with
 * `ADD CONSTRAINT … USING INDEX`, nothing lost: no foreign key references them (dropping one would
 * take the key with it, and adding the key back checks every row again), nothing else depends on
 * them (a view grouping by the key, an extension; a deferrable one's recheck trigger goes and comes
 * back with it), the table stands outside any inheritance or
 * partitioning, and the index is what plain `ADD CONSTRAINT` makes: a b-tree on columns, not
 * expressions, with each key column's default operator class, collation and ordering (USING INDEX
 * accepts nothing else). The same ownership, tablespace, replica-identity, statistics and
 * security-label rules as for plain indexes.
 */
const DEFERRABLE_CONSTRAINTS = `
SELECT ${INDEX_COLUMNS},
       c.contype AS kind,
       c.condeferrable AS deferrable,
       c.condeferred AS initially_deferred,
       obj_description(c.oid, 'pg_constraint') AS constraint_comment
FROM pg_constraint c
JOIN pg_index i ON i.indexrelid = c.conindid
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_am am ON am.oid = ic.relam
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE c.conrelid = ANY($1::oid[]) AND c.contype IN ('p', 'u')
  AND c.conname = ic.relname AND c.conislocal AND c.coninhcount = 0
  AND t.relkind = 'r' AND NOT t.relispartition AND am.amname = 'btree'
  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = t.oid OR h.inhparent = t.oid)
  AND i.indisvalid AND i.indisready AND i.indislive AND NOT i.indisreplident
  AND i.indexprs IS NULL AND i.indpred IS NULL
  AND ic.reltablespace = 0
  AND pg_has_role(t.relowner, 'USAGE') AND has_schema_privilege(n.oid, 'CREATE')
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.refclassid = 'pg_constraint'::regclass AND d.refobjid = c.oid
                  AND NOT (d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid)
                  AND NOT (d.classid = 'pg_trigger'::regclass AND d.deptype = 'i'))
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE ((d.classid = 'pg_constraint'::regclass AND d.objid = c.oid) OR (d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid))
                  AND d.deptype IN ('e', 'x'))
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indexrelid AND (a.attstattarget >= 0 OR a.attoptions IS NOT NULL))
  AND NOT EXISTS (SELECT 1 FROM pg_seclabel s WHERE s.classoid = 'pg_class'::regclass AND s.objoid = i.indexrelid)
  AND NOT EXISTS (
    SELECT 1 FROM unnest(i.indkey::int2[], i.indcollation::oid[], i.indclass::oid[], i.indoption::int2[]) AS k(attnum, collation_oid, opclass, options)
    LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
    LEFT JOIN pg_opclass o ON o.oid = k.opclass
    WHERE k.opclass IS NOT NULL
      AND (a.attnum IS NULL OR a.attcollation IS DISTINCT FROM k.collation_oid OR NOT o.opcdefault OR k.options <> 0))
ORDER BY t.oid, ic.relname`;

interface IndexRow {
  table: string;
  table_sql: string;
  index_sql: string;
  name: string;
  definition: string;
  comment: string | null;
  clustered: boolean;
}

interface ConstraintRow extends IndexRow {
  kind: 'p' | 'u';
  deferrable: boolean;
  initially_deferred: boolean;
  constraint_comment: string | null;
}

const deferredIndex = (r: IndexRow): DeferredIndex => ({ table: r.table, tableSql: r.table_sql, indexSql: r.index_sql, name: r.name, definition: r.definition, comment: r.comment, clustered: r.clustered });

/**
 * The indexes of these tables that a restore may drop and build again: plain ones
 * (DEFERRABLE_INDEXES), then those behind primary keys and unique constraints
 * (DEFERRABLE_CONSTRAINTS); nothing is changed.
 */
export async function deferrableIndexes(client: pg.Client, tableOids: readonly number[]): Promise<DeferredIndex[]> {
  const { rows: plain } = await client.query<IndexRow>(DEFERRABLE_INDEXES, [tableOids]);
  const { rows: constrained } = await client.query<ConstraintRow>(DEFERRABLE_CONSTRAINTS, [tableOids]);
  return [
    ...plain.map(deferredIndex),
    ...constrained.map((r) => ({
      ...deferredIndex(r),
      constraint: { kind: r.kind === 'p' ? ('PRIMARY KEY' as const) : ('UNIQUE' as const), deferrable: r.deferrable, initiallyDeferred: r.initially_deferred, comment: r.constraint_comment },
    })),
  ];
}

/** The statements that drop these indexes (a constraint's index goes with its constraint). */
export function dropStatements(indexes: readonly DeferredIndex[]): string[] {
  const plain = indexes.filter((i) => !i.constraint);
  const byTable = new Map<string, DeferredIndex[]>();
  for (const index of indexes) if (index.constraint) byTable.set(index.tableSql, [...(byTable.get(index.tableSql) ?? []), index]);
  return [
    ...(plain.length ? [`DROP INDEX ${plain.map((i) => i.indexSql).join(', ')}`] : []),
    ...[...byTable].map(([tableSql, constrained]) => `ALTER TABLE ${tableSql} ${constrained.map((i) => `DROP CONSTRAINT ${quoteIdent(i.name)}`).join(', ')}`),
  ];
}

/** The statements that build one index again as it was: the index, its constraint, comments and CLUSTER mark. */
export function rebuildStatements(index: DeferredIndex): string[] {
  const { constraint } = index;
  return [
    index.definition,
    ...(constraint
      ? [
          `ALTER TABLE ${index.tableSql} ADD CONSTRAINT ${quoteIdent(index.name)} ${constraint.kind} USING INDEX ${quoteIdent(index.name)}${constraint.deferrable ? ` DEFERRABLE INITIALLY ${constraint.initiallyDeferred ? 'DEFERRED' : 'IMMEDIATE'}` : ''}`,
          ...(constraint.comment !== null ? [`COMMENT ON CONSTRAINT ${quoteIdent(index.name)} ON ${index.tableSql} IS ${quoteLiteral(constraint.comment)}`] : []),
        ]
      : []),
    ...(index.comment !== null ? [`COMMENT ON INDEX ${index.indexSql} IS ${quoteLiteral(index.comment)}`] : []),
    ...(index.clustered ? [`ALTER TABLE ${index.tableSql} CLUSTER ON ${quoteIdent(index.name)}`] : []),
  ];
}

/**
 * Drops the deferrable indexes of these (locked, emptied) tables and returns what rebuilds them.
 * Indexes of tables the restore role does not own stay in place, and the load maintains them as it
 * goes (slower, same result).
 */
export async function dropDeferrableIndexes(client: pg.Client, tableOids: readonly number[]): Promise<DeferredIndex[]> {
  const indexes = await deferrableIndexes(client, tableOids);
  const statements = dropStatements(indexes);
  // One round trip for all of them: inside the restore's transaction, a failure still undoes every one.
  if (statements.length > 0) await client.query(statements.join('; '));
  return indexes;
}

/**
 * Builds the dropped indexes again, with their constraints, comments and CLUSTER marks; a unique
 * one fails on duplicates (23505). The tables must have no pending trigger events (deferred
 * foreign-key checks): PostgreSQL refuses CREATE INDEX on such a table.
 */
export async function rebuildIndexes(client: pg.Client, deferred: readonly DeferredIndex[], onIndex?: (index: DeferredIndex) => void): Promise<void> {
  // pg_get_indexdef() names no tablespace: the index was in the database's default, and a
  // default_tablespace set on the database or role must not move it elsewhere (pg_dump does the same).
  await client.query("SET LOCAL default_tablespace = ''");
  for (const index of deferred) {
    onIndex?.(index);
    // The index with its constraint, comments and CLUSTER mark: one round trip.
    await client.query(rebuildStatements(index).join('; '));
  }
}
