import type pg from 'pg';
import { quoteIdent, quoteLiteral, quoteQualified } from '../postgres/connection.js';

/**
 * The schema of the backed-up schemas, read from the catalog in the backup's snapshot, as SQL a person
 * can read and psql can apply, in two phases: `preData` creates what rows need (extensions, types,
 * functions, sequences, tables, views), `postData` what is faster and safer built after the rows are in
 * (constraints, indexes, triggers, row-level security and policies, comments, grants, owners,
 * materialized view contents). The engine applies both inside the restore's one transaction.
 */
export interface SchemaScript {
  readonly formatVersion: 1;
  readonly schemas: readonly string[];
  /** Extensions the database had: created on the target only if it offers them. */
  readonly extensions: readonly { readonly name: string; readonly schema: string }[];
  /** Every role the script names (owners, grantees, policy roles): they must exist on the target. */
  readonly roles: readonly string[];
  /** Qualified names (as in the manifest) of the tables the script creates. */
  readonly tables: readonly string[];
  readonly preData: readonly string[];
  readonly postData: readonly string[];
}

export const SCHEMA_JSON_FILE = 'schema.json';
export const SCHEMA_SQL_FILE = 'schema.sql';

/** Roles every PostgreSQL has: never a reason to refuse a restore. */
const BUILTIN_ROLES = new Set(['PUBLIC']);

/** GRANTs that give exactly `entries` (aclexplode rows; the owner's own rights are implicit). */
function grantStatements(kind: 'TABLE' | 'SEQUENCE' | 'FUNCTION', target: string, owner: string, entries: readonly AclRow[]): string[] {
  const statements: string[] = [];
  const byGrantee = new Map<string, { privileges: string[]; grantable: string[] }>();
  for (const e of entries) {
    if (e.grantee === owner) continue;
    const slot = byGrantee.get(e.grantee) ?? { privileges: [], grantable: [] };
    (e.grantable ? slot.grantable : slot.privileges).push(e.privilege);
    byGrantee.set(e.grantee, slot);
  }
  for (const [grantee, { privileges, grantable }] of [...byGrantee].sort(([a], [b]) => a.localeCompare(b))) {
    const who = grantee === 'PUBLIC' ? 'PUBLIC' : quoteIdent(grantee);
    if (privileges.length) statements.push(`GRANT ${privileges.sort().join(', ')} ON ${kind} ${target} TO ${who}`);
    if (grantable.length) statements.push(`GRANT ${grantable.sort().join(', ')} ON ${kind} ${target} TO ${who} WITH GRANT OPTION`);
  }
  return statements;
}

/**
 * Revokes whatever the target granted to anyone but the owner, looked up when applied: a fresh
 * Supabase project's default privileges grant ALL on new objects in public to anon, authenticated
 * and service_role, and a restore must end with exactly the backup's grants.
 */
function revokeExisting(kind: 'TABLE' | 'SEQUENCE' | 'FUNCTION', target: string, catalog: string): string {
  const body = `DECLARE r record; BEGIN FOR r IN ${catalog} LOOP EXECUTE format('REVOKE ALL ON ${kind} ${target.replace(/'/g, "''").replace(/%/g, '%%')} FROM %s', r.grantee); END LOOP; END`;
  return `DO ${dollarQuote(body)}`;
}

function dollarQuote(body: string): string {
  let tag = '$iconic$';
  for (let n = 0; body.includes(tag); n++) tag = `$iconic${n}$`;
  return `${tag}${body}${tag}`;
}

interface AclRow {
  grantee: string;
  privilege: string;
  grantable: boolean;
}

/** Reads the schema of `schemas` (tables limited to `tables` when given: then views are left out). */
export async function captureSchema(client: pg.Client, schemas: readonly string[], tables: readonly { schema: string; name: string; qualified: string; oid: number }[], options: { allTables: boolean }): Promise<SchemaScript> {
  const pre: string[] = [];
  const post: string[] = [];
  const roles = new Set<string>();
  const role = (name: string) => {
    if (!BUILTIN_ROLES.has(name)) roles.add(name);
    return quoteIdent(name);
  };
  // Each kind's privileges in one query for all its objects (one round trip, not one per object),
  // every object's entries in aclexplode's order.
  const aclsOf = async (catalog: 'pg_proc' | 'pg_class', kind: 'f' | 's' | 'r', oids: readonly number[]): Promise<Map<number, AclRow[]>> => {
    const byOid = new Map<number, AclRow[]>(oids.map((oid) => [oid, []]));
    if (oids.length === 0) return byOid;
    const [acl, owner] = catalog === 'pg_proc' ? ['proacl', 'proowner'] : ['relacl', 'relowner'];
    const { rows } = await client.query<AclRow & { oid: number }>(
      `SELECT o.oid::int AS oid, CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) END AS grantee, a.privilege_type AS privilege, a.is_grantable AS grantable
       FROM ${catalog} o, aclexplode(coalesce(o.${acl}, acldefault('${kind}', o.${owner}))) WITH ORDINALITY a(grantor, grantee, privilege_type, is_grantable, n)
       WHERE o.oid = ANY($1::oid[]) ORDER BY o.oid, a.n`,
      [oids],
    );
    for (const { oid, grantee, privilege, grantable } of rows) byOid.get(oid)!.push({ grantee, privilege, grantable });
    return byOid;
  };
  const comment = (kind: string, target: string, text: string | null) => {
    if (text !== null) post.push(`COMMENT ON ${kind} ${target} IS ${quoteLiteral(text)}`);
  };

  const { rows: extensions } = await client.query<{ name: string; schema: string }>(
    `SELECT e.extname AS name, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY e.extname`,
  );
  for (const e of extensions) {
    pre.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(e.schema)}`);
    pre.push(`DO ${dollarQuote(`BEGIN IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = ${quoteLiteral(e.name)}) THEN CREATE EXTENSION IF NOT EXISTS ${quoteIdent(e.name)} WITH SCHEMA ${quoteIdent(e.schema)}; END IF; END`)}`);
  }

  const { rows: nspRows } = await client.query<{ name: string; owner: string; comment: string | null }>(
    `SELECT n.nspname AS name, pg_get_userbyid(n.nspowner) AS owner, obj_description(n.oid, 'pg_namespace') AS comment FROM pg_namespace n WHERE n.nspname = ANY($1) ORDER BY n.nspname`,
    [schemas],
  );
  for (const n of nspRows) if (n.name !== 'public') pre.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(n.name)} AUTHORIZATION ${role(n.owner)}`);

  // Objects that belong to an extension are the extension's to create.
  const notExtension = (classid: string, oid: string) => `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${classid}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

  // Types: enums, composites, domains (in creation order, which is dependency order for these).
  const { rows: types } = await client.query<{ oid: number; schema: string; name: string; kind: string; owner: string; comment: string | null; labels: string[] | null; base: string | null; notnull: boolean; def: string | null; collation: string | null; checks: string[] | null; attrs: { name: string; type: string }[] | null }>(
    `SELECT t.oid::int, n.nspname AS schema, t.typname AS name, t.typtype::text AS kind, pg_get_userbyid(t.typowner) AS owner, obj_description(t.oid, 'pg_type') AS comment,
            CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)::text[] END AS labels,
            CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base, t.typnotnull AS notnull, t.typdefault AS def,
            CASE WHEN t.typcollation <> 0 AND t.typcollation <> (SELECT b.typcollation FROM pg_type b WHERE b.oid = t.typbasetype) THEN (SELECT quote_ident(c.collname) FROM pg_collation c WHERE c.oid = t.typcollation) END AS collation,
            CASE WHEN t.typtype = 'd' THEN ARRAY(SELECT 'CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.contypid = t.oid ORDER BY c.conname)::text[] END AS checks,
            CASE WHEN t.typtype = 'c' THEN (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) END AS attrs
     FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = ANY($1) AND (t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
       AND ${notExtension('pg_type', 't.oid')}
     ORDER BY t.oid`,
    [schemas],
  );
  for (const t of types) {
    const name = quoteQualified(t.schema, t.name);
    if (t.kind === 'e') pre.push(`CREATE TYPE ${name} AS ENUM (${(t.labels ?? []).map(quoteLiteral).join(', ')})`);
    else if (t.kind === 'c') pre.push(`CREATE TYPE ${name} AS (${(t.attrs ?? []).map((a) => `${quoteIdent(a.name)} ${a.type}`).join(', ')})`);
    else pre.push(`CREATE DOMAIN ${name} AS ${t.base}${t.collation ? ` COLLATE ${t.collation}` : ''}${t.def !== null ? ` DEFAULT ${t.def}` : ''}${t.notnull ? ' NOT NULL' : ''}${(t.checks ?? []).map((c) => ` ${c}`).join('')}`);
    post.push(`ALTER ${t.kind === 'd' ? 'DOMAIN' : 'TYPE'} ${name} OWNER TO ${role(t.owner)}`);
    comment(t.kind === 'd' ? 'DOMAIN' : 'TYPE', name, t.comment);
  }

  // Functions and procedures (bodies are not checked at creation: check_function_bodies is off while applying).
  const { rows: functions } = await client.query<{ oid: number; def: string; signature: string; kind: string; owner: string; comment: string | null }>(
    `SELECT p.oid::int, pg_get_functiondef(p.oid) AS def, p.oid::regprocedure::text AS signature, p.prokind::text AS kind, pg_get_userbyid(p.proowner) AS owner, obj_description(p.oid, 'pg_proc') AS comment
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = ANY($1) AND p.prokind IN ('f', 'p') AND ${notExtension('pg_proc', 'p.oid')}
     ORDER BY p.oid`,
    [schemas],
  );
  const functionAcls = await aclsOf('pg_proc', 'f', functions.filter((f) => f.kind !== 'p').map((f) => f.oid));
  for (const f of functions) {
    // pg_get_functiondef says CREATE OR REPLACE: a function of the same name already in the target must
    // fail the restore (and roll it back), not be silently replaced.
    pre.push(f.def.trim().replace(/^CREATE OR REPLACE (FUNCTION|PROCEDURE)/, 'CREATE $1'));
    const kind = f.kind === 'p' ? 'PROCEDURE' : 'FUNCTION';
    post.push(`ALTER ${kind} ${f.signature} OWNER TO ${role(f.owner)}`);
    comment(kind, f.signature, f.comment);
    if (kind === 'FUNCTION') {
      post.push(revokeExisting('FUNCTION', f.signature, `SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE p.oid = ${quoteLiteral(f.signature)}::regprocedure AND a.grantee <> p.proowner`));
      const entries = functionAcls.get(f.oid)!;
      for (const e of entries) if (e.grantee !== 'PUBLIC') role(e.grantee);
      post.push(...grantStatements('FUNCTION', f.signature, f.owner, entries));
    }
  }

  // Sequences that are not an identity column's (identity sequences come with their column).
  const { rows: sequences } = await client.query<{ oid: number; schema: string; name: string; type: string; start: string; increment: string; min: string; max: string; cache: string; cycle: boolean; owner: string; ownedBy: string | null; comment: string | null }>(
    `SELECT c.oid::int, n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start, s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max,
            s.seqcache::text AS cache, s.seqcycle AS cycle, pg_get_userbyid(c.relowner) AS owner, obj_description(c.oid, 'pg_class') AS comment,
            (SELECT quote_ident(tn.nspname) || '.' || quote_ident(t.relname) || '.' || quote_ident(a.attname) FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a' AND d.refclassid = 'pg_class'::regclass LIMIT 1) AS "ownedBy"
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid
     WHERE c.relkind = 'S' AND n.nspname = ANY($1) AND ${notExtension('pg_class', 'c.oid')}
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
     ORDER BY c.oid`,
    [schemas],
  );
  const sequenceAcls = await aclsOf('pg_class', 's', sequences.map((s) => s.oid));
  for (const s of sequences) {
    const name = quoteQualified(s.schema, s.name);
    pre.push(`CREATE SEQUENCE ${name} AS ${s.type} INCREMENT BY ${s.increment} MINVALUE ${s.min} MAXVALUE ${s.max} START WITH ${s.start} CACHE ${s.cache}${s.cycle ? ' CYCLE' : ''}`);
    post.push(`ALTER SEQUENCE ${name} OWNER TO ${role(s.owner)}`);
    if (s.ownedBy) post.push(`ALTER SEQUENCE ${name} OWNED BY ${s.ownedBy}`);
    comment('SEQUENCE', name, s.comment);
    post.push(revokeExisting('SEQUENCE', name, `SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = ${quoteLiteral(name)}::regclass AND a.grantee <> c.relowner`));
    const entries = sequenceAcls.get(s.oid)!;
    for (const e of entries) if (e.grantee !== 'PUBLIC') role(e.grantee);
    post.push(...grantStatements('SEQUENCE', name, s.owner, entries));
  }

  // Tables, then their partitions.
  const oids = tables.map((t) => t.oid);
  const { rows: partitions } = await client.query<{ oid: number; parent: number }>(
    `WITH RECURSIVE p AS (SELECT i.inhrelid AS oid, i.inhparent AS parent FROM pg_inherits i WHERE i.inhparent = ANY($1::oid[])
       UNION ALL SELECT i.inhrelid, i.inhparent FROM pg_inherits i JOIN p ON i.inhparent = p.oid)
     SELECT p.oid::int AS oid, p.parent::int AS parent FROM p JOIN pg_class c ON c.oid = p.oid WHERE c.relispartition`,
    [oids],
  );
  const allOids = [...oids, ...partitions.map((p) => p.oid)];
  const { rows: rels } = await client.query<{ oid: number; schema: string; name: string; kind: string; owner: string; comment: string | null; partkey: string | null; bound: string | null; parent: string | null; rls: boolean; force: boolean; options: string[] | null; persistence: string }>(
    `SELECT c.oid::int, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, pg_get_userbyid(c.relowner) AS owner, obj_description(c.oid, 'pg_class') AS comment,
            CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partkey, CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS bound,
            (SELECT quote_ident(pn.nspname) || '.' || quote_ident(pc.relname) FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = c.oid AND c.relispartition) AS parent,
            c.relrowsecurity AS rls, c.relforcerowsecurity AS force, c.reloptions AS options, c.relpersistence::text AS persistence
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1::oid[]) ORDER BY c.relispartition, c.oid`,
    [allOids],
  );
  const { rows: columns } = await client.query<{ relid: number; name: string; type: string; notnull: boolean; def: string | null; generated: string; identity: string; collation: string | null; comment: string | null; seq: { name: string; start: string; increment: string; min: string; max: string; cache: string; cycle: boolean } | null }>(
    `SELECT a.attrelid::int AS relid, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS def,
            a.attgenerated::text AS generated, a.attidentity::text AS identity, col_description(a.attrelid, a.attnum) AS comment,
            CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END AS collation,
            CASE WHEN a.attidentity <> '' THEN (SELECT json_build_object('name', quote_ident(sn.nspname) || '.' || quote_ident(sc.relname), 'start', s.seqstart::text, 'increment', s.seqincrement::text, 'min', s.seqmin::text, 'max', s.seqmax::text, 'cache', s.seqcache::text, 'cycle', s.seqcycle)
               FROM pg_depend dp JOIN pg_class sc ON sc.oid = dp.objid JOIN pg_namespace sn ON sn.oid = sc.relnamespace JOIN pg_sequence s ON s.seqrelid = sc.oid
               WHERE dp.refobjid = a.attrelid AND dp.refobjsubid = a.attnum AND dp.deptype = 'i' AND dp.classid = 'pg_class'::regclass LIMIT 1) END AS seq
     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum`,
    [allOids],
  );
  const relationAcls = await aclsOf('pg_class', 'r', rels.map((r) => r.oid));
  for (const r of rels) {
    const name = quoteQualified(r.schema, r.name);
    const unlogged = r.persistence === 'u' ? 'UNLOGGED ' : '';
    const withOptions = r.options?.length ? ` WITH (${r.options.join(', ')})` : '';
    if (r.parent) {
      pre.push(`CREATE ${unlogged}TABLE ${name} PARTITION OF ${r.parent} ${r.bound}${withOptions}`);
    } else {
      const definitions = columns
        .filter((c) => c.relid === r.oid)
        .map((c) => {
          let d = `${quoteIdent(c.name)} ${c.type}`;
          if (c.collation) d += ` COLLATE ${c.collation}`;
          if (c.generated === 's') d += ` GENERATED ALWAYS AS (${c.def}) STORED`;
          else if (c.identity && c.seq) d += ` GENERATED ${c.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY (SEQUENCE NAME ${c.seq.name} START WITH ${c.seq.start} INCREMENT BY ${c.seq.increment} MINVALUE ${c.seq.min} MAXVALUE ${c.seq.max} CACHE ${c.seq.cache}${c.seq.cycle ? ' CYCLE' : ''})`;
          else if (c.def !== null) d += ` DEFAULT ${c.def}`;
          if (c.notnull) d += ' NOT NULL';
          return d;
        });
      pre.push(`CREATE ${unlogged}TABLE ${name} (${definitions.join(', ')})${r.partkey ? ` PARTITION BY ${r.partkey}` : ''}${withOptions}`);
    }
    post.push(`ALTER TABLE ${name} OWNER TO ${role(r.owner)}`);
    comment('TABLE', name, r.comment);
    for (const c of columns.filter((x) => x.relid === r.oid && x.comment !== null)) comment('COLUMN', `${name}.${quoteIdent(c.name)}`, c.comment);
    if (r.rls) post.push(`ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY`);
    if (r.force) post.push(`ALTER TABLE ${name} FORCE ROW LEVEL SECURITY`);
    post.push(revokeExisting('TABLE', name, `SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = ${quoteLiteral(name)}::regclass AND a.grantee <> c.relowner`));
    const entries = relationAcls.get(r.oid)!;
    for (const e of entries) if (e.grantee !== 'PUBLIC') role(e.grantee);
    post.push(...grantStatements('TABLE', name, r.owner, entries));
  }

  // Constraints: keys and checks first (foreign keys point at keys), then foreign keys. Constraints a
  // partition inherits come with its parent's.
  const { rows: constraints } = await client.query<{ table: string; name: string; def: string; kind: string; partitioned: boolean; comment: string | null }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS table, con.conname AS name, pg_get_constraintdef(con.oid) AS def, con.contype::text AS kind, c.relkind = 'p' AS partitioned, obj_description(con.oid, 'pg_constraint') AS comment
     FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE con.conrelid = ANY($1::oid[]) AND con.contype IN ('p', 'u', 'c', 'x', 'f') AND con.conparentid = 0 AND NOT (con.contype = 'c' AND con.conislocal = false)
     ORDER BY (con.contype = 'f'), con.conrelid, con.conname`,
    [allOids],
  );
  for (const c of constraints) {
    post.push(`ALTER TABLE ${c.partitioned ? '' : 'ONLY '}${c.table} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
    if (c.comment !== null) post.push(`COMMENT ON CONSTRAINT ${quoteIdent(c.name)} ON ${c.table} IS ${quoteLiteral(c.comment)}`);
  }

  // Indexes not behind a constraint, and not a partition's copy of its parent's index.
  const { rows: indexes } = await client.query<{ def: string; name: string; clustered: boolean; table: string; comment: string | null }>(
    `SELECT pg_get_indexdef(i.indexrelid) AS def, quote_ident(n.nspname) || '.' || quote_ident(ic.relname) AS name, i.indisclustered AS clustered,
            quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS table, obj_description(i.indexrelid, 'pg_class') AS comment
     FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
     WHERE i.indrelid = ANY($1::oid[]) AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x'))
       AND NOT ic.relispartition
     ORDER BY i.indexrelid`,
    [allOids],
  );
  for (const i of indexes) {
    post.push(i.def);
    if (i.clustered) post.push(`ALTER TABLE ${i.table} CLUSTER ON ${i.name.split('.').pop()}`);
    comment('INDEX', i.name, i.comment);
  }

  // Triggers (user triggers; the internal ones of foreign keys come with the constraints).
  const { rows: triggers } = await client.query<{ def: string; name: string; table: string; enabled: string; comment: string | null }>(
    `SELECT pg_get_triggerdef(t.oid) AS def, quote_ident(t.tgname) AS name, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS table, t.tgenabled::text AS enabled, obj_description(t.oid, 'pg_trigger') AS comment
     FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE t.tgrelid = ANY($1::oid[]) AND NOT t.tgisinternal AND t.tgparentid = 0 ORDER BY t.oid`,
    [allOids],
  );
  for (const t of triggers) {
    post.push(t.def);
    if (t.enabled === 'D') post.push(`ALTER TABLE ${t.table} DISABLE TRIGGER ${t.name}`);
    else if (t.enabled === 'R') post.push(`ALTER TABLE ${t.table} ENABLE REPLICA TRIGGER ${t.name}`);
    else if (t.enabled === 'A') post.push(`ALTER TABLE ${t.table} ENABLE ALWAYS TRIGGER ${t.name}`);
    if (t.comment !== null) post.push(`COMMENT ON TRIGGER ${t.name} ON ${t.table} IS ${quoteLiteral(t.comment)}`);
  }

  // Row-level security policies.
  const { rows: policies } = await client.query<{ name: string; table: string; permissive: boolean; cmd: string; roles: string[]; qual: string | null; check: string | null }>(
    `SELECT quote_ident(p.polname) AS name, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS table, p.polpermissive AS permissive, p.polcmd::text AS cmd,
            ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END FROM unnest(p.polroles) r)::text[] AS roles,
            pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS check
     FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE p.polrelid = ANY($1::oid[]) ORDER BY p.oid`,
    [allOids],
  );
  const commands: Record<string, string> = { r: 'SELECT', a: 'INSERT', w: 'UPDATE', d: 'DELETE', '*': 'ALL' };
  for (const p of policies) {
    const to = p.roles.map((r) => (r === 'PUBLIC' ? 'PUBLIC' : role(r))).join(', ');
    post.push(`CREATE POLICY ${p.name} ON ${p.table} AS ${p.permissive ? 'PERMISSIVE' : 'RESTRICTIVE'} FOR ${commands[p.cmd] ?? 'ALL'} TO ${to}${p.qual !== null ? ` USING (${p.qual})` : ''}${p.check !== null ? ` WITH CHECK (${p.check})` : ''}`);
  }

  // Views and materialized views (all tables only: a subset could leave a view without its table).
  if (options.allTables) {
    const { rows: views } = await client.query<{ oid: number; schema: string; name: string; kind: string; def: string; owner: string; options: string[] | null; comment: string | null }>(
      `SELECT c.oid::int, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, pg_get_viewdef(c.oid) AS def, pg_get_userbyid(c.relowner) AS owner, c.reloptions AS options, obj_description(c.oid, 'pg_class') AS comment
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm') AND n.nspname = ANY($1) AND ${notExtension('pg_class', 'c.oid')} ORDER BY c.oid`,
      [schemas],
    );
    const viewAcls = await aclsOf('pg_class', 'r', views.map((v) => v.oid));
    for (const v of views) {
      const name = quoteQualified(v.schema, v.name);
      const withOptions = v.options?.length ? ` WITH (${v.options.join(', ')})` : '';
      const body = v.def.trim().replace(/;$/, '');
      if (v.kind === 'v') pre.push(`CREATE VIEW ${name}${withOptions} AS ${body}`);
      else {
        pre.push(`CREATE MATERIALIZED VIEW ${name}${withOptions} AS ${body} WITH NO DATA`);
        post.push(`REFRESH MATERIALIZED VIEW ${name}`);
      }
      post.push(`ALTER ${v.kind === 'm' ? 'MATERIALIZED VIEW' : 'VIEW'} ${name} OWNER TO ${role(v.owner)}`);
      comment(v.kind === 'm' ? 'MATERIALIZED VIEW' : 'VIEW', name, v.comment);
      post.push(revokeExisting('TABLE', name, `SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = ${quoteLiteral(name)}::regclass AND a.grantee <> c.relowner`));
      const entries = viewAcls.get(v.oid)!;
      for (const e of entries) if (e.grantee !== 'PUBLIC') role(e.grantee);
      post.push(...grantStatements('TABLE', name, v.owner, entries));
    }
  }

  return { formatVersion: 1, schemas: [...schemas], extensions, roles: [...roles].sort(), tables: tables.map((t) => t.qualified), preData: pre, postData: post };
}

/** The schema as one SQL file a person can read and apply with psql (`psql -1 -f schema.sql`). */
export function schemaSql(script: SchemaScript, backupId: string): string {
  const header = [
    `-- Schema of backup ${backupId}, schemas ${script.schemas.join(', ')}, written by iconic-dr.`,
    `-- Roles it names (they must exist): ${script.roles.join(', ') || 'none'}.`,
    '-- Apply in one transaction (psql -1 -f schema.sql); load the data between the two parts for speed.',
    'SET check_function_bodies = false;',
    '',
  ];
  const block = (title: string, statements: readonly string[]) => [`-- ${title}`, ...statements.map((s) => `${s};\n`)];
  return [...header, ...block('Part 1: before the data (types, functions, sequences, tables, views)', script.preData), '', ...block('Part 2: after the data (constraints, indexes, triggers, policies, comments, grants, owners)', script.postData), ''].join('\n');
}
