import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { UsageError } from '../../lambdas/core/errors.js';
import { restoreBackup } from '../../lambdas/core/restore.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import { HARD_DATA_SQL, HARD_SCHEMA_SQL, HARD_TABLES } from '../fixtures/hard-schema.js';
import { runCli } from '../helpers/cli.js';
import { snapshotTables } from '../helpers/compare.js';
import { adminUrl, createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { backupDatabase, tempFileStore } from '../helpers/engine.js';
import { withClient } from '../../bin/dev/pg-client.js';
import { because } from '../helpers/expect-message.js';

const run = promisify(execFile);

/** What a fresh Supabase project has before any migration: its roles, `auth.uid()`, and default privileges on public. */
const FRESH_PROJECT_SQL = `
CREATE SCHEMA IF NOT EXISTS auth;
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
`;

/** A Supabase-shaped app schema: RLS on auth.uid(), a trigger function, a view, enum, domain, identity, generated, partial and expression indexes, comments, grants. */
const SUPABASE_APP_SQL = `
CREATE TYPE order_state AS ENUM ('open', 'paid', 'void');
CREATE DOMAIN email AS text CHECK (VALUE ~ '^[^@]+@[^@]+$');
CREATE TABLE profiles (
  id uuid PRIMARY KEY,
  email email NOT NULL,
  display_name text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  profile_id uuid NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
  state order_state NOT NULL DEFAULT 'open',
  qty integer NOT NULL CHECK (qty > 0),
  unit_price numeric(10, 2) NOT NULL,
  total numeric(12, 2) GENERATED ALWAYS AS (qty * unit_price) STORED,
  note text
);
CREATE INDEX orders_open_idx ON orders (profile_id) WHERE state = 'open';
CREATE INDEX profiles_email_lower_idx ON profiles (lower(email));
CREATE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE TRIGGER profiles_touch BEFORE UPDATE ON profiles FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
ALTER TABLE profiles ENABLE ROW LEVEL SECURITY;
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY "own profile" ON profiles FOR SELECT TO authenticated USING (id = auth.uid());
CREATE POLICY "own orders" ON orders FOR ALL TO authenticated USING (profile_id = auth.uid()) WITH CHECK (profile_id = auth.uid());
CREATE VIEW open_orders WITH (security_invoker = true) AS SELECT id, profile_id, total FROM orders WHERE state = 'open';
COMMENT ON TABLE profiles IS 'One row per auth user';
COMMENT ON COLUMN orders.total IS 'qty × unit_price';
REVOKE ALL ON profiles, orders, open_orders FROM anon, authenticated, service_role;
GRANT SELECT ON profiles TO anon;
GRANT SELECT, INSERT, UPDATE ON profiles, orders TO authenticated;
GRANT SELECT ON open_orders TO authenticated;
GRANT ALL ON profiles, orders TO service_role;
INSERT INTO profiles (id, email, display_name) VALUES ('11111111-1111-1111-1111-111111111111', 'a@example.com', 'Ann'), ('22222222-2222-2222-2222-222222222222', 'b@example.com', NULL);
INSERT INTO orders (profile_id, state, qty, unit_price, note) VALUES ('11111111-1111-1111-1111-111111111111', 'open', 2, 9.99, 'first'), ('22222222-2222-2222-2222-222222222222', 'paid', 1, 100, NULL);
`;

/** `pg_dump --schema-only` of one schema, without comments, session settings and blank lines, sorted. */
async function dumpSchema(db: TestDatabase, schema = 'public'): Promise<string[]> {
  const url = new URL(db.url);
  const { stdout } = await run('pg_dump', ['--schema-only', '--schema', schema, '--host', url.hostname, '--port', url.port || '5432', '--username', decodeURIComponent(url.username) || 'postgres', db.name], {
    env: { ...process.env, PGPASSWORD: decodeURIComponent(url.password) },
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .split('\n')
    .filter((line) => line.trim() && !line.startsWith('--') && !/^\\(un)?restrict /.test(line) && !/^SET |^SELECT pg_catalog\.set_config/.test(line))
    .sort();
}

/** Every sequence of public with its position. */
async function sequencesOf(db: TestDatabase): Promise<string[]> {
  const { rows: names } = await db.query<{ name: string }>("SELECT quote_ident(sequencename) AS name FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1");
  const out: string[] = [];
  for (const { name } of names) {
    const { rows } = await db.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM public.${name}`);
    out.push(`${name} ${rows[0]!.last_value} ${rows[0]!.is_called}`);
  }
  return out;
}

async function ensureSupabaseRoles(): Promise<void> {
  await withClient(adminUrl(), async (admin) => {
    for (const role of ['anon', 'authenticated', 'service_role']) await admin.query(`DO $$ BEGIN CREATE ROLE ${role} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
  });
}

describe('the backup carries the schema: restore into an empty database (real Postgres, pg_dump as the judge)', () => {
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  const dbs: TestDatabase[] = [];
  const database = async (label: string) => {
    const db = await createTestDatabase(label);
    dbs.push(db);
    return db;
  };

  beforeAll(async () => {
    await ensureSupabaseRoles();
    files = await tempFileStore();
  });

  afterAll(async () => {
    for (const db of dbs) await db.drop().catch(() => undefined);
    await files?.cleanup();
  });

  it('the hard-case schema: same pg_dump --schema-only, same rows, same sequences', async () => {
    const source = await database('schema_hard_src');
    await source.query(HARD_SCHEMA_SQL);
    await source.query(HARD_DATA_SQL);
    await source.query("COMMENT ON TABLE everything IS 'every type'; CREATE INDEX everything_vc_idx ON everything (lower(vc)) WHERE vc IS NOT NULL");
    const backup = await backupDatabase(files.store, source.url);
    expect(backup.manifest.schema?.json.key).toBe('schema.json');
    expect((await validateBackup(files.store, backup.backupId)).valid).toBe(true);

    const target = await database('schema_hard_dst');
    const result = await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: target.url });
    expect(result.schemaCreated).toBe(true);
    expect(await dumpSchema(target)).toEqual(await dumpSchema(source));
    expect(await snapshotTables(target, HARD_TABLES)).toEqual(await snapshotTables(source, HARD_TABLES));
    expect(await sequencesOf(target)).toEqual(await sequencesOf(source));
  });

  it('a Supabase-shaped app restores into a fresh project with its policies, grants (not the defaults) and auth.uid() intact, through the CLI', async () => {
    const source = await database('schema_supa_src');
    await source.query(FRESH_PROJECT_SQL);
    await source.query(SUPABASE_APP_SQL);
    const backup = await runCli(['backup', '--db', source.url, '--to', files.root]);
    because(backup.stderr, () => expect(backup.code).toBe(0));
    const id = backup.stdout.trim();

    const target = await database('schema_supa_dst');
    await target.query(FRESH_PROJECT_SQL);
    const restore = await runCli(['restore', id, '--from', files.root, '--db', target.url, '--yes']);
    because(restore.stderr, () => expect(restore.code).toBe(0));
    expect(restore.stdout).toContain("Created the backup's schema in the empty target");
    expect(await dumpSchema(target)).toEqual(await dumpSchema(source));
    expect(await snapshotTables(target, ['profiles', 'orders'])).toEqual(await snapshotTables(source, ['profiles', 'orders']));
    expect(await sequencesOf(target)).toEqual(await sequencesOf(source));
    // The fresh project's default privileges would have opened every table to anon: the backup's grants won.
    const { rows } = await target.query<{ g: string }>("SELECT string_agg(privilege_type, ',' ORDER BY privilege_type) AS g FROM information_schema.role_table_grants WHERE grantee = 'anon' AND table_name = 'orders'");
    expect(rows[0]!.g).toBeNull();
    const validate = await runCli(['validate', id, '--from', files.root]);
    expect(validate.code).toBe(0);
    const verify = JSON.parse((await runCli(['verify', '--db', target.url, '--json'])).stdout);
    expect(verify).toMatchObject({ ok: true, backupId: id, schema: { compared: true, same: true } });
    await target.query('CREATE INDEX orders_note_idx ON orders (note)');
    const drifted = await runCli(['verify', '--db', target.url, '--json']);
    expect(JSON.parse(drifted.stdout).schema).toMatchObject({ compared: true, same: false, missing: [], extra: ['CREATE INDEX orders_note_idx ON public.orders USING btree (note)'] });
    expect(drifted.stderr).toContain('! The schema differs from the backup');
  });

  it('--schema-only creates the tables without rows; --no-create keeps the old refusal', async () => {
    const source = await database('schema_only_src');
    await source.query(FRESH_PROJECT_SQL);
    await source.query(SUPABASE_APP_SQL);
    const backup = await backupDatabase(files.store, source.url);
    const refused = await database('schema_nocreate');
    const noCreate = await runCli(['restore', backup.backupId, '--from', files.root, '--db', refused.url, '--yes', '--no-create']);
    expect(noCreate.code).toBe(1);
    expect(noCreate.stderr).toContain('table does not exist in the target');
    const target = await database('schema_only_dst');
    await target.query(FRESH_PROJECT_SQL);
    const only = await runCli(['restore', backup.backupId, '--from', files.root, '--db', target.url, '--yes', '--schema-only']);
    because(only.stderr, () => expect(only.code).toBe(0));
    expect(await dumpSchema(target)).toEqual(await dumpSchema(source));
    expect((await target.query<{ n: string }>('SELECT count(*)::text AS n FROM orders')).rows[0]!.n).toBe('0');
  });

  it('a failure midway (an object that cannot be created) leaves the empty target as it was; missing roles are listed before anything is created', async () => {
    const source = await database('schema_fail_src');
    await source.query(HARD_SCHEMA_SQL);
    const backup = await backupDatabase(files.store, source.url);
    const target = await database('schema_fail_dst');
    await target.query("CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$");
    const error = (await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: target.url }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/while creating the schema \(CREATE FUNCTION public\.refuse_insert\(\).*already exists.*rolled back/);
    const { rows } = await target.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'S')");
    expect(rows[0]!.n).toBe('0');

    const role = `dr_schema_role_${Math.floor(Math.random() * 1e6)}`;
    const withRole = await database('schema_role_src');
    await withClient(adminUrl(), (admin) => admin.query(`CREATE ROLE ${role} NOLOGIN`));
    try {
      await withRole.query(`CREATE TABLE t (id int PRIMARY KEY); GRANT SELECT ON t TO ${role}`);
      const roleBackup = await backupDatabase(files.store, withRole.url);
      await withRole.query(`DROP TABLE t`);
      const empty = await database('schema_role_dst');
      await withClient(adminUrl(), (admin) => admin.query(`DROP ROLE ${role}`));
      const missing = (await restoreBackup({ store: files.store, backupId: roleBackup.backupId, databaseUrl: empty.url }).catch((e: unknown) => e)) as Error;
      expect(missing).toBeInstanceOf(UsageError);
      expect(missing.message).toContain(role);
    } finally {
      await withClient(adminUrl(), (admin) => admin.query(`DROP ROLE IF EXISTS ${role}`)).catch(() => undefined);
    }
  });
});
