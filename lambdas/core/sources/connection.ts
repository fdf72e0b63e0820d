import pg from 'pg';
import { ConnectionError } from '../errors.js';

// bigint and numeric never pass through JS numbers: the engine moves rows as JSON text, and the few
// values it reads itself (counts, sequence positions) are parsed explicitly.
pg.types.setTypeParser(20, (v) => v);

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

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', '57P03', '53300']);

/** Opens a client, turning every connection failure into a one-line ConnectionError without the URL. */
export async function connect(url: string, applicationName = 'iconic-dr'): Promise<pg.Client> {
  const { label } = describeDatabase(url);
  let client: pg.Client;
  try {
    client = new pg.Client({ connectionString: url, application_name: applicationName, connectionTimeoutMillis: 15_000 });
  } catch (error) {
    throw new ConnectionError(`The database URL for ${label} is invalid: ${(error as Error).message}`, { cause: error, retryable: false });
  }
  // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
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
