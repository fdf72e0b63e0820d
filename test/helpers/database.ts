import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** A database of its own for one test file; `drop()` removes it. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  drop(): Promise<void>;
}

/** How the run's admin URL reaches the test files: Jest starts its workers after the global setup, with its environment. */
export const ADMIN_DATABASE_URL_VARIABLE = 'ICONIC_DR_TEST_ADMIN_DATABASE_URL';

export function adminUrl(): string {
  const url = process.env[ADMIN_DATABASE_URL_VARIABLE];
  if (!url) throw new Error(`${ADMIN_DATABASE_URL_VARIABLE} is not set: run the tests through Jest (jest.config.js), whose global setup finds a Postgres`);
  return url;
}

export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const name = `dr_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // An idle pooled connection can still be closing when drop() forces the database away; its FATAL
  // 57P01 then arrives with no query to fail and would surface as an unhandled error. A query's own
  // errors still reject its promise.
  pool.on('error', () => undefined);
  return {
    name,
    url,
    query: (sql, params) => pool.query(sql, params as unknown[]),
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: adminUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** The same database's URL, logging in as another role. */
export function urlAs(url: string, role: string, password: string): string {
  const as = new URL(url);
  as.username = role;
  as.password = password;
  return as.toString();
}

export { withClient } from '../../bin/dev/pg-client.js';
