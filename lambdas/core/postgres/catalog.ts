import type pg from 'pg';
import { qualifiedTableName, type ForeignKeyInfo } from '../format/manifest.js';
import { quoteIdent, quoteQualified } from './connection.js';
import type { SourceTable } from '../sources/source.js';
import type { JsonKind } from './copy-text-json.js';

/** A table as the Postgres catalog describes it: the source-neutral shape, plus what only Postgres knows. */
export interface TableShape extends SourceTable {
  readonly oid: number;
  /** Stored columns that fill themselves when a row leaves them out: a DEFAULT or an identity. */
  readonly defaultedColumns: string[];
  /** Partitioned parents hold no rows of their own: read them without ONLY. */
  readonly partitioned: boolean;
}

/**
 * What a query reads a table's own rows from: `ONLY schema.table`, so that rows of tables inheriting
 * from it are not counted as its own, or `schema.table` for a partitioned parent, whose rows are all
 * in its partitions.
 */
export function tableRows(table: Pick<TableShape, 'schema' | 'name' | 'partitioned'>): string {
  return `${table.partitioned ? '' : 'ONLY '}${quoteQualified(table.schema, table.name)}`;
}

export interface OwnedSequence {
  readonly schema: string;
  readonly name: string;
  readonly table: string;
  readonly column: string;
}

interface TypeRow {
  oid: number;
  typname: string;
  typtype: string;
  typbasetype: number;
  typelem: number;
  typcategory: string;
}

/**
 * json and jsonb (also behind domains and arrays) are stored as their text: `row_to_json` renders SQL
 * NULL and JSON null alike, and only the text keeps plain `json` exactly as it was written.
 */
async function textEncodedTypes(client: pg.Client, typeOids: number[]): Promise<Set<number>> {
  const { rows } = await client.query<TypeRow>(
    `WITH RECURSIVE t AS (
       SELECT oid, typname::text, typtype::text, typbasetype::int, typelem::int, typcategory::text, oid AS root FROM pg_type WHERE oid = ANY($1::oid[])
       UNION ALL
       SELECT p.oid, p.typname::text, p.typtype::text, p.typbasetype::int, p.typelem::int, p.typcategory::text, t.root
       FROM t JOIN pg_type p ON p.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype WHEN t.typcategory = 'A' THEN t.typelem ELSE 0 END
     )
     SELECT root AS oid, typname, typtype, typbasetype, typelem, typcategory FROM t WHERE typname IN ('json', 'jsonb')`,
    [typeOids],
  );
  return new Set(rows.map((r) => Number(r.oid)));
}

/** Ordinary and partitioned tables (not partitions) of the given schemas, optionally only the named ones. */
export async function describeTables(client: pg.Client, schemas: readonly string[], only?: readonly string[]): Promise<TableShape[]> {
  const { rows: tables } = await client.query<{ oid: number; schema: string; name: string; partitioned: boolean; reltuples: number; bytes: string }>(
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind = 'p' AS partitioned, greatest(c.reltuples, 0)::float8 AS reltuples,
            pg_total_relation_size(c.oid)::text AS bytes
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY($1::text[])
     ORDER BY n.nspname, c.relname`,
    [schemas],
  );
  const selected = only ? tables.filter((t) => only.includes(qualifiedTableName(t.schema, t.name)) || only.includes(`${t.schema}.${t.name}`)) : tables;
  if (selected.length === 0) return [];
  const oids = selected.map((t) => t.oid);

  const { rows: columns } = await client.query<{ relid: number; name: string; type: string; typid: number; notnull: boolean; generated: string; identity: string; hasdef: boolean }>(
    `SELECT a.attrelid::int AS relid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.atttypid::int AS typid,
            a.attnotnull AS notnull, a.attgenerated::text AS generated, a.attidentity::text AS identity, a.atthasdef AS hasdef
     FROM pg_attribute a WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  const textTypes = await textEncodedTypes(client, [...new Set(columns.map((c) => c.typid))]);

  const { rows: constraints } = await client.query<{ relid: number; name: string; kind: string; columns: string[]; refschema: string | null; reftable: string | null; refcolumns: string[] | null; deferrable: boolean }>(
    `SELECT con.conrelid::int AS relid, con.conname AS name, con.contype::text AS kind, con.condeferrable AS deferrable,
            ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o)::text[] AS columns,
            rn.nspname AS refschema, rc.relname AS reftable,
            CASE WHEN con.contype = 'f' THEN ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o)::text[] END AS refcolumns
     FROM pg_constraint con
     LEFT JOIN pg_class rc ON rc.oid = con.confrelid LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
     WHERE con.conrelid = ANY($1::oid[]) AND con.contype IN ('p', 'f') AND con.conparentid = 0
     ORDER BY con.conrelid, con.conname`,
    [oids],
  );

  return selected.map((t) => {
    const own = columns.filter((c) => c.relid === t.oid);
    const cons = constraints.filter((c) => c.relid === t.oid);
    const pk = cons.find((c) => c.kind === 'p');
    return {
      oid: t.oid,
      schema: t.schema,
      name: t.name,
      qualified: qualifiedTableName(t.schema, t.name),
      columns: own
        .filter((c) => c.generated === '')
        .map((c) => ({
          name: c.name,
          type: c.type,
          nullable: !c.notnull,
          encoding: textTypes.has(c.typid) ? ('text' as const) : ('json' as const),
          ...(c.identity === 'a' || c.identity === 'd' ? { identity: c.identity as 'a' | 'd' } : {}),
        })),
      generatedColumns: own.filter((c) => c.generated !== '').map((c) => c.name),
      defaultedColumns: own.filter((c) => c.generated === '' && (c.hasdef || c.identity !== '')).map((c) => c.name),
      primaryKey: pk?.columns ?? [],
      foreignKeys: cons
        .filter((c) => c.kind === 'f')
        .map((c) => ({
          name: c.name,
          columns: c.columns,
          references: qualifiedTableName(c.refschema ?? 'public', c.reftable ?? ''),
          referencedColumns: c.refcolumns ?? [],
          deferrable: c.deferrable,
        })),
      partitioned: t.partitioned,
      estimatedRows: Math.round(Number(t.reltuples)),
      estimatedBytes: Number(t.bytes),
    };
  });
}

/** Sequences owned by columns of the given tables (serial and identity columns). */
export async function ownedSequences(client: pg.Client, tables: readonly TableShape[]): Promise<OwnedSequence[]> {
  if (tables.length === 0) return [];
  const { rows } = await client.query<{ schema: string; name: string; relid: number; column: string }>(
    `SELECT sn.nspname AS schema, sc.relname AS name, d.refobjid::int AS relid, a.attname AS column
     FROM pg_depend d
     JOIN pg_class sc ON sc.oid = d.objid AND sc.relkind = 'S'
     JOIN pg_namespace sn ON sn.oid = sc.relnamespace
     JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
     WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
       AND d.refobjid = ANY($1::oid[])
     ORDER BY 1, 2`,
    [tables.map((t) => t.oid)],
  );
  const byOid = new Map(tables.map((t) => [t.oid, t.qualified]));
  return rows.map((r) => ({ schema: r.schema, name: r.name, table: byOid.get(Number(r.relid)) ?? '', column: r.column }));
}

/** Orders tables so that referenced tables come before the tables that reference them (cycles kept stable). */
export function foreignKeyOrder<T extends { qualified: string; foreignKeys: readonly ForeignKeyInfo[] }>(tables: readonly T[]): T[] {
  const byName = new Map(tables.map((t) => [t.qualified, t]));
  const ordered: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (t: T): void => {
    if (state.get(t.qualified)) return;
    state.set(t.qualified, 'visiting');
    for (const fk of t.foreignKeys) {
      const parent = byName.get(fk.references);
      if (parent && parent !== t && !state.get(parent.qualified)) visit(parent);
    }
    state.set(t.qualified, 'done');
    ordered.push(t);
  };
  for (const t of tables) visit(t);
  return ordered;
}

/**
 * Columns (as `relid:name`) whose values row_to_json renders as JSON objects: composite types,
 * directly or behind domains and arrays. The client-side COPY conversion does not handle those.
 */
export async function compositeColumns(client: pg.Client, tableOids: readonly number[]): Promise<Set<string>> {
  if (tableOids.length === 0) return new Set();
  const { rows } = await client.query<{ relid: number; name: string }>(
    `WITH RECURSIVE cols AS (
       SELECT a.attrelid::int AS relid, a.attname AS name, a.atttypid AS typ FROM pg_attribute a
       WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
     ), t AS (
       SELECT c.relid, c.name, p.oid, p.typtype::text AS typtype, p.typbasetype, p.typelem, p.typcategory::text AS typcategory
       FROM cols c JOIN pg_type p ON p.oid = c.typ
       UNION ALL
       SELECT t.relid, t.name, p.oid, p.typtype::text, p.typbasetype, p.typelem, p.typcategory::text
       FROM t JOIN pg_type p ON p.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype WHEN t.typcategory = 'A' THEN t.typelem ELSE 0 END
     )
     SELECT DISTINCT relid, name FROM t WHERE typtype = 'c'`,
    [tableOids],
  );
  return new Set(rows.map((r) => `${r.relid}:${r.name}`));
}

/** A column's type with domains resolved to their base type (restore's binary COPY, the backup's JSON writer). */
interface BaseType {
  readonly relid: number;
  readonly name: string;
  readonly oid: number;
  readonly typtype: string;
  readonly typelem: number;
  readonly typcategory: string;
  /** Whether a cast from the type to json exists (row_to_json uses it for user types). */
  readonly json_cast: boolean;
}

/** Every column's base type, keyed `relid:name`. */
async function baseTypes(client: pg.Client, tableOids: readonly number[]): Promise<Map<string, BaseType>> {
  if (tableOids.length === 0) return new Map();
  const { rows } = await client.query<BaseType>(
    `WITH RECURSIVE t AS (
       SELECT a.attrelid::int AS relid, a.attname::text AS name, p.oid, p.typtype::text AS typtype, p.typbasetype, p.typelem::int AS typelem, p.typcategory::text AS typcategory
       FROM pg_attribute a JOIN pg_type p ON p.oid = a.atttypid
       WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
       UNION ALL
       SELECT t.relid, t.name, p.oid, p.typtype::text, p.typbasetype, p.typelem::int, p.typcategory::text FROM t JOIN pg_type p ON p.oid = t.typbasetype WHERE t.typtype = 'd'
     )
     SELECT relid, name, oid::int AS oid, typtype, typelem, typcategory,
            EXISTS (SELECT 1 FROM pg_cast c WHERE c.castsource = t.oid AND c.casttarget = 'json'::regtype) AS json_cast
     FROM t WHERE typtype <> 'd'`,
    [tableOids],
  );
  return new Map(rows.map((r) => [`${r.relid}:${r.name}`, r]));
}

/**
 * Every column's type (as `relid:name`) with domains resolved to their base type: the type OID, or
 * `enum` for enum types. Restore uses it to pick binary COPY for tables it can encode exactly.
 */
export async function columnBaseTypes(client: pg.Client, tableOids: readonly number[]): Promise<Map<string, number | 'enum'>> {
  const types = await baseTypes(client, tableOids);
  return new Map([...types].map(([key, t]) => [key, t.typtype === 'e' ? 'enum' : Number(t.oid)]));
}

const NUMBER_TYPES = new Set([20, 21, 23, 700, 701, 1700]); // int8, int2, int4, float4, float8, numeric
const FIRST_NORMAL_OBJECT_ID = 16384;

/** How row_to_json renders a column of this base type, or undefined where COPY text does not carry it. */
function jsonKind(encoding: string, type: BaseType | undefined): JsonKind | undefined {
  if (encoding === 'text') return 'string';
  if (!type || type.typelem !== 0 || type.typcategory === 'A' || !['b', 'e', 'r', 'm'].includes(type.typtype)) return undefined;
  if ((type.oid >= FIRST_NORMAL_OBJECT_ID && type.json_cast) || type.oid === 114 || type.oid === 3802) return undefined;
  if (type.oid === 16) return 'bool';
  if (NUMBER_TYPES.has(type.oid)) return 'number';
  if (type.oid === 1114) return 'timestamp';
  if (type.oid === 1184) return 'timestamptz';
  return 'string';
}

/**
 * Per table (locked already), how `row_to_json` renders each stored column (copy-text-json.ts), or
 * undefined when some column is of a type it renders in a way COPY text does not carry (arrays and
 * composites as JSON arrays and objects, user types with a cast to json, anything with an element
 * type): such a table, and one of no columns, keeps the server's own `row_to_json`. Domains count as
 * their base type, as json.c takes them; json and jsonb are carried as text (`string`).
 */
export async function jsonKinds(client: pg.Client, tables: readonly TableShape[]): Promise<Map<number, JsonKind[] | undefined>> {
  const kinds = new Map<number, JsonKind[] | undefined>();
  const base = await baseTypes(client, tables.map((t) => t.oid));
  for (const table of tables) {
    const columnKinds = table.columns.map((c) => jsonKind(c.encoding, base.get(`${table.oid}:${c.name}`)));
    // A table of no columns has no COPY column list to ask for; row_to_json gives its {} rows.
    if (table.columns.length === 0 || columnKinds.includes(undefined)) {
      kinds.set(table.oid, undefined);
      continue;
    }
    // The catalog above is the snapshot's; COPY formats with the types as they are once the table is
    // locked. A column type changed in between (ALTER … TYPE without a rewrite committed while the
    // backup waited for its lock) would be written as the old type: such a table keeps row_to_json.
    // A query's row description gives each column's base type as it is now.
    const { fields } = await client.query(`SELECT ${table.columns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${tableRows(table)} LIMIT 0`);
    const unchanged = fields.length === table.columns.length && table.columns.every((c, i) => fields[i]!.dataTypeID === base.get(`${table.oid}:${c.name}`)?.oid);
    kinds.set(table.oid, unchanged ? (columnKinds as JsonKind[]) : undefined);
  }
  return kinds;
}
