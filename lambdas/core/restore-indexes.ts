import type pg from 'pg';
import { quoteIdent, quoteLiteral } from './postgres/connection.js';

/**
 * A plain index that a restore drops before loading its (emptied) table and builds again afterwards,
 * inside the same transaction: one sorted build instead of an insert per row at a random place in
 * the index (measured on the bench data: the four secondary indexes cost ~0.9 s of inserts, ~0.3 s
 * to build). A rollback brings the index back as it was.
 */
export interface DeferredIndex {
  /** `schema.table`, for messages. */
  readonly table: string;
  /** Schema-qualified, quoted name of the index's table. */
  readonly tableSql: string;
  /** Schema-qualified, quoted name of the index. */
  readonly indexSql: string;
  /** Its bare name, as ALTER TABLE … CLUSTER ON wants it. */
  readonly name: string;
  /** pg_get_indexdef(): the exact CREATE INDEX (method, columns, opclasses, collations, WHERE, WITH). */
  readonly definition: string;
  readonly comment: string | null;
  readonly clustered: boolean;
}

/**
 * Indexes that can be dropped and created again with nothing lost: only what pg_get_indexdef()
 * describes in full. Left alone (maintained while loading): indexes behind a constraint (primary
 * key, unique, exclusion) or that a foreign key references, the replica identity, partitioned tables
 * and their partitions' indexes, indexes of extensions, in another tablespace, with a statistics
 * target or a security label, and invalid ones. Also left alone: indexes this role could drop but
 * not create again (DROP INDEX needs the table's owner, CREATE INDEX also CREATE on its schema).
 */
const DEFERRABLE_INDEXES = `
SELECT n.nspname || '.' || t.relname AS table,
       quote_ident(n.nspname) || '.' || quote_ident(t.relname) AS table_sql,
       quote_ident(n.nspname) || '.' || quote_ident(ic.relname) AS index_sql,
       ic.relname AS name,
       pg_get_indexdef(i.indexrelid) AS definition,
       obj_description(i.indexrelid, 'pg_class') AS comment,
       i.indisclustered AS clustered
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

/** The indexes of these tables that a restore may drop and build again (see DEFERRABLE_INDEXES); nothing is changed. */
export async function deferrableIndexes(client: pg.Client, tableOids: readonly number[]): Promise<DeferredIndex[]> {
  const { rows } = await client.query<{ table: string; table_sql: string; index_sql: string; name: string; definition: string; comment: string | null; clustered: boolean }>(DEFERRABLE_INDEXES, [tableOids]);
  return rows.map((r) => ({ table: r.table, tableSql: r.table_sql, indexSql: r.index_sql, name: r.name, definition: r.definition, comment: r.comment, clustered: r.clustered }));
}

/**
 * Drops the deferrable indexes of these (locked, emptied) tables and returns what rebuilds them.
 * Indexes of tables the restore role does not own stay in place, and the load maintains them as it
 * goes (slower, same result).
 */
export async function dropDeferrableIndexes(client: pg.Client, tableOids: readonly number[]): Promise<DeferredIndex[]> {
  const indexes = await deferrableIndexes(client, tableOids);
  if (indexes.length) await client.query(`DROP INDEX ${indexes.map((i) => i.indexSql).join(', ')}`);
  return indexes;
}

/**
 * Builds the dropped indexes again, with their comments and CLUSTER marks; a unique one fails on
 * duplicates (23505). The tables must have no pending trigger events (deferred foreign-key checks):
 * PostgreSQL refuses CREATE INDEX on such a table.
 */
export async function rebuildIndexes(client: pg.Client, deferred: readonly DeferredIndex[], onIndex?: (index: DeferredIndex) => void): Promise<void> {
  // pg_get_indexdef() names no tablespace: the index was in the database's default, and a
  // default_tablespace set on the database or role must not move it elsewhere (pg_dump does the same).
  await client.query("SET LOCAL default_tablespace = ''");
  for (const index of deferred) {
    onIndex?.(index);
    await client.query(index.definition);
    if (index.comment !== null) await client.query(`COMMENT ON INDEX ${index.indexSql} IS ${quoteLiteral(index.comment)}`);
    if (index.clustered) await client.query(`ALTER TABLE ${index.tableSql} CLUSTER ON ${quoteIdent(index.name)}`);
  }
}
