import type pg from 'pg';
import { ConnectionError, UsageError } from '../errors.js';
import type { SourceInfo } from '../format/manifest.js';

let driver: Promise<typeof pg> | undefined;

/**
 * The pg driver, loaded by the first connection: commands that never connect (list, validate) start
 * without it (docs/performance.md, "Tenth session").
 */
function pgDriver(): Promise<typeof pg> {
  driver ??= import('pg').then((module) => {
    const loaded = (module as { default?: typeof pg }).default ?? (module as unknown as typeof pg);
    // bigint and numeric never pass through JS numbers: the engine moves rows as JSON text, and the few
    // values it reads itself (counts, sequence positions) are parsed explicitly.
    loaded.types.setTypeParser(20, (v) => v);
    return loaded;
  });
  return driver;
}

/** `host:port/database` for messages and manifests: never user names, passwords or query strings. */
export function describeDatabase(url: string): { host: string; database: string; label: string } {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname ? `${parsed.hostname}${parsed.port ? `:${parsed.port}` : ''}` : 'local socket';
    const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres';
    return { host, database, label: `${host}/${database}` };
  } catch {
    return { host: 'unknown', database: 'unknown', label: 'the database (unparsable URL)' };
  }
}

const ENCODE_HINT = 'percent-encode special characters in the user name and password (@ as %40, # as %23, / as %2F, ? as %3F, : as %3A)';

/**
 * Checks a database URL before anything connects with it. A password with an unescaped `@ # / ?`
 * parses as a different host (`p@ss#word` became host `ss`), so such URLs are refused as a usage
 * error. The message never repeats the URL: it may hold a password.
 */
export function checkDatabaseUrl(url: string): string {
  if (!/^postgres(ql)?:\/\//i.test(url)) throw new UsageError('The database URL must start with postgres:// or postgresql://');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`The database URL cannot be parsed; ${ENCODE_HINT}`);
  }
  // '@' outside the user info, or a fragment, only happen when the password was not encoded.
  if (parsed.hash || `${parsed.pathname}${parsed.search}`.includes('@')) throw new UsageError(`The database URL's password (or user name) holds an unescaped character; ${ENCODE_HINT}`);
  try {
    decodeURIComponent(parsed.password);
    decodeURIComponent(parsed.username);
  } catch {
    throw new UsageError(`The database URL's password (or user name) has a broken %-escape; ${ENCODE_HINT}`);
  }
  return url;
}

/**
 * What identifies the database a client is connected to, for manifests and for telling two databases
 * apart: host, port, name, server version, and the cluster's system identifier where the role may
 * read it (pg_control_system() is limited to superusers and pg_monitor by default). Call it outside a
 * transaction: a refused pg_control_system() would abort one.
 */
export async function databaseIdentity(client: pg.Client, url: string): Promise<Omit<SourceInfo, 'driver'>> {
  const { host, database } = describeDatabase(url);
  let port: number | undefined;
  try {
    port = Number(new URL(url).port || 5432);
  } catch {
    port = undefined;
  }
  const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
  let systemIdentifier: string | undefined;
  try {
    const { rows: control } = await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    systemIdentifier = control[0]?.id;
  } catch {
    systemIdentifier = undefined;
  }
  return { host: host.replace(/:\d+$/, ''), ...(port && Number.isFinite(port) ? { port } : {}), database, serverVersion: rows[0]?.server_version ?? 'unknown', ...(systemIdentifier ? { systemIdentifier } : {}) };
}

/**
 * The `lock_timeout` a backup or a restore waits for its tables' locks with, in whole milliseconds
 * (at least 1: PostgreSQL's 0 would mean for ever). @default 60 s
 */
export function lockTimeoutOf(ms: number | undefined): number {
  return Math.max(1, Math.floor(ms ?? 60_000));
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', '57P03', '53300']);

/**
 * Opens a client, turning every connection failure into a one-line ConnectionError without the URL.
 * `signal` abandons an attempt still under way (its socket is closed at once; the promise rejects).
 */
export async function connect(url: string, applicationName = 'iconic-dr', options: { readonly signal?: AbortSignal } = {}): Promise<pg.Client> {
  const { label } = describeDatabase(url);
  const pgModule = await pgDriver();
  options.signal?.throwIfAborted();
  let client: pg.Client;
  try {
    client = new pgModule.Client({ connectionString: url, application_name: applicationName, connectionTimeoutMillis: 15_000 });
  } catch (error) {
    throw new ConnectionError(`The database URL for ${label} is invalid: ${(error as Error).message}`, { cause: error, retryable: false });
  }
  // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
  client.on('error', () => undefined);
  // end() would only half-close a connection still starting (a Terminate, then waiting for the
  // server's goodbye), which a server that never answers keeps open: the socket itself is closed.
  const abandon = () => (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  options.signal?.addEventListener('abort', abandon, { once: true });
  try {
    await client.connect();
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    await client.end().catch(() => undefined);
    const code = pgCode(error) ?? '';
    const reason = (error as Error).message || code || 'unknown error';
    const hint =
      code === '28P01' || code === '28000'
        ? 'check the user name and password'
        : code === '3D000'
          ? 'check the database name'
          : 'check that the server is running and reachable, and the host/port';
    throw new ConnectionError(`Cannot connect to ${label}: ${reason} (${hint})`, { cause: error, retryable: TRANSIENT_CODES.has(code) });
  } finally {
    options.signal?.removeEventListener('abort', abandon);
  }
  return client;
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteQualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The SQLSTATE of a server error (pg's `error.code`), else undefined. */
export function pgCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : undefined;
}
