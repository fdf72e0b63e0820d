import pg from 'pg';
import { ADMIN_DATABASE_URL_VARIABLE } from './database.js';
import { startTestPostgres } from './postgres-server.js';

/** Cluster-wide roles the PostgREST helper creates (a Supabase project's); the run leaves none behind. */
const SUPABASE_ROLES = ['authenticator', 'anon', 'authenticated', 'service_role'];

async function existingRoles(url: string): Promise<Set<string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [SUPABASE_ROLES]);
    return new Set(rows.map((r) => r.rolname));
  } finally {
    await client.end();
  }
}

/** Drops the Supabase roles this run created (every test database, where they held grants, is gone by now). */
async function dropCreatedRoles(url: string, before: ReadonlySet<string>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const role of SUPABASE_ROLES) {
      if (before.has(role)) continue;
      await client.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await client.query(`DROP ROLE IF EXISTS ${role}`).catch((error: Error) => process.stderr.write(`could not drop test role ${role}: ${error.message}\n`));
    }
  } finally {
    await client.end();
  }
}

/** What teardown() undoes; Jest runs setup and teardown in its main process, so globalThis carries it. */
const TEARDOWN = Symbol.for('iconic-dr.test.teardown');

/**
 * Finds a Postgres for the whole run: TEST_DATABASE_URL or the local server when reachable, else an
 * embedded one started here. Test files read the admin URL from ICONIC_DR_TEST_ADMIN_DATABASE_URL.
 */
export default async function setup(): Promise<void> {
  const server = await startTestPostgres();
  const rolesBefore = await existingRoles(server.url);
  process.env[ADMIN_DATABASE_URL_VARIABLE] = server.url;
  (globalThis as Record<symbol, unknown>)[TEARDOWN] = async () => {
    await dropCreatedRoles(server.url, rolesBefore).catch(() => undefined);
    await server.stop();
  };
}

/** Drops the roles this run created and stops the Postgres that setup started (if it started one). */
export async function teardown(): Promise<void> {
  const undo = (globalThis as Record<symbol, unknown>)[TEARDOWN] as (() => Promise<void>) | undefined;
  await undo?.();
}
