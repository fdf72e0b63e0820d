import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import type pg from 'pg';
import { SHOP_SCHEMA_SQL, SHOP_TABLES, createShop, fingerprintTables, seedStatements, type ShopProfile, type TableFingerprint } from '../../lambdas/core/sample/shop.js';
import type { Cleanup } from './cleanup.js';
import { databaseUrl, quoteIdent, withClient } from './db.js';

const execFileAsync = promisify(execFile);

export interface TableRef {
  readonly schema: string;
  readonly name: string;
  readonly qualified: string;
}

export interface SourceData {
  readonly name: string;
  readonly url: string;
  readonly tables: readonly TableRef[];
  readonly rows: number;
  /** pg_table_size summed: heap + TOAST (+ FSM/VM), no indexes: the data every method moves. */
  readonly tableBytes: number;
  /** pg_total_relation_size summed: with indexes, which a restore rebuilds or maintains. */
  readonly totalBytes: number;
  /** Length of every row as text (row::text), roughly what a logical dump carries before compression. */
  readonly textBytes: number;
  readonly reused: boolean;
}

export const SHOP_REFS: readonly TableRef[] = SHOP_TABLES.map((name) => ({ schema: 'public', name, qualified: `public.${name}` }));

/** `iconic_bench_s1`, `iconic_bench_s0_05`, `iconic_bench_s1_incompressible`: one seeded database per scale and profile, kept between runs. */
export function sourceName(scale: number, profile: ShopProfile): string {
  return `iconic_bench_s${String(scale).replace(/[^0-9]/g, '_')}${profile === 'realistic' ? '' : `_${profile}`}`;
}

/**
 * Written as the database's comment once seeding finished: a reused database must come from the
 * same generator (shop.ts may change) and still hold the rows it was seeded with.
 */
interface SeedMarker {
  readonly generator: string;
  readonly rows: Record<string, number>;
}

const MARKER_PREFIX = 'iconic-bench ';

function generatorStamp(scale: number, profile: ShopProfile): string {
  return createHash('md5').update(SHOP_SCHEMA_SQL).update(seedStatements(scale, profile).join(';\n')).digest('hex').slice(0, 12);
}

async function countRows(client: pg.Client): Promise<Record<string, number>> {
  const rows: Record<string, number> = {};
  for (const t of SHOP_REFS) {
    const { rows: r } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
    rows[t.name] = Number(r[0]!.n);
  }
  return rows;
}

async function readMarker(admin: pg.Client, name: string): Promise<SeedMarker | undefined | 'absent'> {
  const { rows } = await admin.query<{ c: string | null }>(`SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`, [name]);
  if (rows.length === 0) return 'absent';
  const comment = rows[0]!.c;
  if (!comment?.startsWith(MARKER_PREFIX)) return undefined;
  try {
    return JSON.parse(comment.slice(MARKER_PREFIX.length)) as SeedMarker;
  } catch {
    return undefined;
  }
}

async function reusable(adminUrl: string, name: string, scale: number, profile: ShopProfile): Promise<boolean | 'absent'> {
  const marker = await withClient(adminUrl, (admin) => readMarker(admin, name));
  if (marker === 'absent') return 'absent';
  if (!marker || marker.generator !== generatorStamp(scale, profile)) return false;
  const counts = await withClient(databaseUrl(adminUrl, name), countRows);
  return SHOP_REFS.every((t) => counts[t.name] === marker.rows[t.name]);
}

/**
 * Seeds into a scratch database and renames it into place only when complete, so an interrupted
 * seed never passes for a finished one and two benches starting at once cannot half-fill one database.
 */
async function seed(adminUrl: string, name: string, scale: number, profile: ShopProfile, cleanup: Cleanup): Promise<void> {
  const scratch = `${name}_seeding_${process.pid}`;
  await withClient(adminUrl, async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)}`);
    await admin.query(`CREATE DATABASE ${quoteIdent(scratch)}`);
  });
  const scratchDrop = cleanup.defer(`drop ${scratch}`, () => withClient(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`)));
  const rows = await withClient(databaseUrl(adminUrl, scratch), async (client) => {
    await createShop(client, scale, profile);
    // Frozen, all-visible pages: the first reader (the first timed method) would otherwise pay
    // for setting hint bits on every page, which would bias the comparison against it.
    await client.query('VACUUM (FREEZE, ANALYZE)');
    return countRows(client);
  });
  const marker: SeedMarker = { generator: generatorStamp(scale, profile), rows };
  const renamed = await withClient(adminUrl, async (admin) => {
    await admin.query(`COMMENT ON DATABASE ${quoteIdent(scratch)} IS ${literal(MARKER_PREFIX + JSON.stringify(marker))}`);
    try {
      await admin.query(`ALTER DATABASE ${quoteIdent(scratch)} RENAME TO ${quoteIdent(name)}`);
      return true;
    } catch (error) {
      // Another bench seeded the same scale meanwhile: use its copy (same generator, same rows).
      if ((error as { code?: string }).code === '42P04') return false;
      throw error;
    }
  });
  if (renamed) scratchDrop.forget();
  else await scratchDrop.now();
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Reuses `iconic_bench_s<scale>` when it is intact, else (re)seeds it; then VACUUM ANALYZE and warms the cache. */
export async function prepareSource(adminUrl: string, scale: number, profile: ShopProfile, cleanup: Cleanup, log: (line: string) => void): Promise<SourceData> {
  const name = sourceName(scale, profile);
  const state = await reusable(adminUrl, name, scale, profile);
  if (state !== true) {
    if (state === false) {
      log(`${name} exists but is not an intact seed of this generator at scale ${scale}; dropping it`);
      // No FORCE: if another bench is using it, fail loudly rather than pull it from under it.
      await withClient(adminUrl, (admin) => admin.query(`DROP DATABASE ${quoteIdent(name)}`));
    }
    log(`seeding ${name} (scale ${scale}, ${profile}); scale 1 takes ~2-3 min (realistic) or ~15-30 s (incompressible)`);
    const started = Date.now();
    await seed(adminUrl, name, scale, profile, cleanup);
    log(`seeded ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } else {
    log(`reusing ${name}`);
  }
  const url = databaseUrl(adminUrl, name);
  return withClient(url, async (client) => {
    await client.query('VACUUM ANALYZE');
    const rows = Object.values(await countRows(client)).reduce((a, b) => a + b, 0);
    const { rows: sizes } = await client.query<{ table_bytes: string; total_bytes: string }>(
      `SELECT sum(pg_table_size(c.oid))::text AS table_bytes, sum(pg_total_relation_size(c.oid))::text AS total_bytes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relname = ANY($1)`,
      [SHOP_REFS.map((t) => t.name)],
    );
    const textBytes = await warm(client);
    return { name, url, tables: SHOP_REFS, rows, tableBytes: Number(sizes[0]!.table_bytes), totalBytes: Number(sizes[0]!.total_bytes), textBytes, reused: state === true };
  });
}

/**
 * Reads every row and detoasts every value once, so the first timed method does not pay for disk
 * reads; the text length it sums comes for free. Returns the total length of the rows as text.
 */
async function warm(client: pg.Client): Promise<number> {
  let total = 0;
  for (const t of SHOP_REFS) {
    const { rows } = await client.query<{ n: string | null }>(`SELECT sum(length(x::text))::text AS n FROM ${quoteIdent(t.schema)}.${quoteIdent(t.name)} x`);
    total += Number(rows[0]!.n ?? 0);
  }
  return total;
}

export async function fingerprint(url: string): Promise<TableFingerprint[]> {
  return withClient(url, (client) => fingerprintTables(client, SHOP_REFS));
}

/** Names of the tables whose fingerprints differ (row count or content). */
export function differences(expected: readonly TableFingerprint[], actual: readonly TableFingerprint[]): string[] {
  const out: string[] = [];
  for (const e of expected) {
    const a = actual.find((x) => x.table === e.table);
    if (!a) out.push(`${e.table} missing`);
    else if (a.rows !== e.rows) out.push(`${e.table} has ${a.rows} rows, source ${e.rows}`);
    else if (a.md5 !== e.md5) out.push(`${e.table} content differs`);
  }
  return out;
}

export interface RestoreTarget {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * Empty restore targets: a schema-only template created once, copied per restore run, so every
 * restore starts from the same empty tables whatever the previous one left behind.
 */
export class Targets {
  private seq = 0;
  private readonly template = `iconic_bench_tpl_${process.pid}`;

  private constructor(
    private readonly adminUrl: string,
    private readonly cleanup: Cleanup,
  ) {}

  static async create(adminUrl: string, cleanup: Cleanup): Promise<Targets> {
    const targets = new Targets(adminUrl, cleanup);
    const name = targets.template;
    await withClient(adminUrl, (admin) => admin.query(`CREATE DATABASE ${quoteIdent(name)}`));
    cleanup.defer(`drop ${name}`, () => withClient(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)));
    await withClient(databaseUrl(adminUrl, name), (client) => client.query(SHOP_SCHEMA_SQL));
    return targets;
  }

  async next(): Promise<RestoreTarget> {
    this.cleanup.throwIfStopped();
    const name = `iconic_bench_t_${process.pid}_${++this.seq}`;
    const adminUrl = this.adminUrl;
    await withClient(adminUrl, (admin) => admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(this.template)}`));
    const dropStep = this.cleanup.defer(`drop ${name}`, () => withClient(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)));
    return { name, url: databaseUrl(adminUrl, name), drop: () => dropStep.now() };
  }
}

export async function dropSource(adminUrl: string, name: string): Promise<void> {
  await withClient(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
}

/**
 * Before a timed command, untimed: flushes the server's dirty buffers (a checkpoint the previous
 * restore's writes would otherwise trigger lands inside whichever command runs next) and the files
 * the previous commands wrote (the kernel writes them back ~30 s later, in the middle of a later
 * run: three validate runs right after the backups took 1.27, 1.47 and 1.62 s; 1.14-1.19 s after).
 */
export async function settle(adminUrl: string): Promise<void> {
  await withClient(adminUrl, (admin) => admin.query('CHECKPOINT'));
  await execFileAsync('sync');
}
