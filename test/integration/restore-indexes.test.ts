import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { restoreBackup, type RestoreProgress } from '../../lambdas/core/restore.js';
import type { BackupResult } from '../../lambdas/core/backup.js';
import { IntegrityError } from '../../lambdas/core/errors.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { adminUrl, createTestDatabase, urlAs, type TestDatabase } from '../helpers/database.js';
import type { tempFileStore } from '../helpers/engine.js';
import { snapshotTables } from '../helpers/compare.js';
import { sourceTargetBackup, type RoundTrip } from '../helpers/round-trip.js';
import { because } from '../helpers/expect-message.js';

/** Every kind of index a restore meets: the plain ones it rebuilds after loading, and the ones it must leave in place. */
const SCHEMA_SQL = `
CREATE TABLE accounts (
  id bigint PRIMARY KEY,
  email text NOT NULL,
  region text,
  score integer,
  note text,
  CONSTRAINT accounts_email_key UNIQUE (email)
);
CREATE INDEX accounts_region_idx ON accounts (region DESC NULLS LAST) INCLUDE (score) WITH (fillfactor = 70);
CREATE INDEX accounts_lower_email_idx ON accounts (lower(email) text_pattern_ops);
CREATE INDEX accounts_high_score_idx ON accounts (score) WHERE score > 900;
CREATE UNIQUE INDEX accounts_note_key ON accounts (note);
CREATE INDEX accounts_hash_idx ON accounts USING hash (region);
COMMENT ON INDEX accounts_region_idx IS 'region''s lookups';
CLUSTER accounts USING accounts_region_idx;
-- Left in place: the replica identity, and an index with its own statistics target.
CREATE UNIQUE INDEX accounts_identity_idx ON accounts (id, email);
ALTER TABLE accounts REPLICA IDENTITY USING INDEX accounts_identity_idx;
CREATE INDEX accounts_expr_stats_idx ON accounts ((score * 2));
ALTER INDEX accounts_expr_stats_idx ALTER COLUMN 1 SET STATISTICS 500;
CREATE TABLE events (
  id bigint PRIMARY KEY WITH (fillfactor = 80),
  account_id bigint NOT NULL REFERENCES accounts (id),
  at timestamptz NOT NULL
);
CREATE INDEX events_account_id_idx ON events (account_id, at);
ALTER TABLE events CLUSTER ON events_pkey;
COMMENT ON CONSTRAINT events_pkey ON events IS 'one row per event';
-- Unique constraints: a deferrable one with a comment is rebuilt; the key a view groups by stays.
CREATE TABLE tags (
  id bigint PRIMARY KEY,
  label text NOT NULL COLLATE "C",
  slug text,
  CONSTRAINT tags_label_key UNIQUE (label) DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT tags_slug_key UNIQUE NULLS NOT DISTINCT (slug) INCLUDE (label)
);
COMMENT ON CONSTRAINT tags_label_key ON tags IS 'one per label';
COMMENT ON INDEX tags_slug_key IS 'slug lookups';
CREATE VIEW tag_labels AS SELECT id, label FROM tags GROUP BY id;
`;

const DATA_SQL = `
INSERT INTO accounts SELECT g, 'user' || g || '@example.com', (ARRAY['eu', 'us', NULL, 'apac'])[g % 4 + 1], (g * 7919) % 1000, CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ' || g END FROM generate_series(1, 3000) g;
INSERT INTO events SELECT g, (g * 31) % 3000 + 1, timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(1, 6000) g;
INSERT INTO tags SELECT g, 'label ' || (g * 7) % 500, CASE WHEN g = 500 THEN NULL ELSE 'slug-' || g END FROM generate_series(1, 500) g;
`;

const TABLES = ['accounts', 'events', 'tags'];
/** Left in place: accounts_pkey (events references it), tags_pkey (a view groups by it), the replica identity and the index with a statistics target. */
const REBUILT = ['accounts_email_key', 'accounts_hash_idx', 'accounts_high_score_idx', 'accounts_lower_email_idx', 'accounts_note_key', 'accounts_region_idx', 'events_account_id_idx', 'events_pkey', 'tags_label_key', 'tags_slug_key'];

interface IndexFacts {
  name: string;
  oid: number;
  definition: string;
  comment: string | null;
  clustered: boolean;
  replident: boolean;
  valid: boolean;
}

async function indexFacts(db: TestDatabase): Promise<Map<string, IndexFacts>> {
  const { rows } = await db.query<IndexFacts>(
    `SELECT c.relname AS name, c.oid::int AS oid, pg_get_indexdef(i.indexrelid) AS definition, obj_description(i.indexrelid, 'pg_class') AS comment,
            i.indisclustered AS clustered, i.indisreplident AS replident, i.indisvalid AS valid
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
     WHERE t.relname = ANY($1::text[]) ORDER BY c.relname`,
    [TABLES],
  );
  return new Map(rows.map((r) => [r.name, r]));
}

const without = (facts: IndexFacts) => ({ ...facts, oid: 0 });

/** Every constraint of the tables as the catalog describes it, each column's NOT NULL mark, and the triggers (a deferrable key's recheck trigger among them). */
async function constraintFacts(db: TestDatabase): Promise<unknown[]> {
  const { rows } = await db.query(
    `SELECT t.relname AS table, c.conname AS name, c.contype AS kind, pg_get_constraintdef(c.oid) AS definition, c.condeferrable AS deferrable,
            c.condeferred AS deferred, c.convalidated AS validated, obj_description(c.oid, 'pg_constraint') AS comment,
            i.indimmediate AS immediate, i.indisprimary AS primary, i.indnullsnotdistinct AS nulls_not_distinct
     FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid LEFT JOIN pg_index i ON i.indexrelid = c.conindid
     WHERE t.relname = ANY($1::text[]) ORDER BY t.relname, c.conname`,
    [TABLES],
  );
  const { rows: columns } = await db.query(
    `SELECT t.relname AS table, a.attname AS column, a.attnotnull AS not_null FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid
     WHERE t.relname = ANY($1::text[]) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY t.relname, a.attnum`,
    [TABLES],
  );
  const { rows: triggers } = await db.query(
    `SELECT t.relname AS table, g.tgfoid::regproc::text AS function, c.conname AS constraint, g.tgdeferrable AS deferrable, g.tginitdeferred AS deferred, g.tgenabled AS enabled
     FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid LEFT JOIN pg_constraint c ON c.oid = g.tgconstraint
     WHERE t.relname = ANY($1::text[]) ORDER BY t.relname, c.conname, g.tgfoid::regproc::text, g.tgname`,
    [TABLES],
  );
  return [...rows, ...columns, ...triggers];
}

describe('restore builds plain indexes after loading, inside the transaction (real Postgres)', () => {
  let target: TestDatabase;
  let files: Awaited<ReturnType<typeof tempFileStore>>;
  let backup: BackupResult;
  let expectedRows: Record<string, string[]>;
  let roundTrip: RoundTrip | undefined;

  beforeAll(async () => {
    roundTrip = await sourceTargetBackup('indexes', { schemaSql: SCHEMA_SQL, dataSql: DATA_SQL, tables: TABLES });
    ({ target, files, backup, expected: expectedRows } = roundTrip);
  });

  afterAll(async () => {
    await roundTrip?.drop();
  });

  it('rebuilds exactly the plain indexes and the unreferenced keys, each as it was (definition, constraint, comments, CLUSTER mark), and leaves the others untouched', async () => {
    const before = await indexFacts(target);
    const constraintsBefore = await constraintFacts(target);
    const events: RestoreProgress[] = [];
    await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: target.url, onProgress: (e) => events.push(e) });
    const after = await indexFacts(target);

    expect([...after.keys()]).toEqual([...before.keys()]);
    const rebuilt = [...after.values()].filter((f) => f.oid !== before.get(f.name)!.oid).map((f) => f.name);
    expect(rebuilt).toEqual(REBUILT);
    for (const [name, facts] of after) because(name, () => expect(without(facts)).toEqual(without(before.get(name)!)));
    expect(after.get('accounts_region_idx')).toMatchObject({ comment: "region's lookups", clustered: true });
    expect(after.get('accounts_identity_idx')!.replident).toBe(true);
    expect(after.get('events_pkey')).toMatchObject({ clustered: true });
    expect(after.get('tags_slug_key')).toMatchObject({ comment: 'slug lookups' });
    expect(await constraintFacts(target)).toEqual(constraintsBefore);
    expect(constraintsBefore).toContainEqual(expect.objectContaining({ name: 'tags_label_key', deferrable: true, deferred: true, immediate: false, comment: 'one per label' }));
    expect(constraintsBefore).toContainEqual(expect.objectContaining({ table: 'tags', function: 'unique_key_recheck', constraint: 'tags_label_key' }));
    expect(events.find((e) => e.type === 'indexes-start')).toMatchObject({ indexes: REBUILT.length });
    expect(events.find((e) => e.type === 'indexes-rebuilt')).toMatchObject({ indexes: REBUILT.length });

    expect(await snapshotTables(target, TABLES)).toEqual(expectedRows);
    // The rebuilt indexes hold every row: an index-only count through each equals the table's.
    await target.query('SET enable_seqscan = off');
    const { rows } = await target.query<{ n: string }>("SELECT count(*)::text AS n FROM accounts WHERE score > 900");
    const { rows: plain } = await target.query<{ n: string }>("SELECT count(*)::text AS n FROM accounts WHERE score + 0 > 900");
    expect(rows[0]!.n).toBe(plain[0]!.n);
    await target.query('RESET enable_seqscan');
  });

  it('keeps every index in place when asked not to defer (deferIndexes: false)', async () => {
    const before = await indexFacts(target);
    const events: RestoreProgress[] = [];
    await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: target.url, deferIndexes: false, onProgress: (e) => events.push(e) });
    const after = await indexFacts(target);
    for (const [name, facts] of after) because(name, () => expect(facts.oid).toBe(before.get(name)!.oid));
    expect(events.some((e) => e.type === 'indexes-rebuilt')).toBe(false);
    expect(await snapshotTables(target, TABLES)).toEqual(expectedRows);
  });

  it.each([
    // A plain unique index the backup's rows break.
    ['a rebuilt unique index', 'accounts_note_key', ['DROP INDEX accounts_note_key', 'CREATE UNIQUE INDEX accounts_note_key ON accounts ((note IS NULL)) WHERE note IS NOT NULL OR id < 10']],
    // A unique constraint (dropped and built again like the keys): the backup's accounts share regions.
    ['a unique constraint built again', 'accounts_region_key', ['ALTER TABLE accounts ADD CONSTRAINT accounts_region_key UNIQUE (region)']],
    // Deferrable: in replica mode its recheck trigger does not fire, so a load with it in place let
    // duplicates in (checked: two equal rows committed); built again after loading, it refuses them.
    ['a deferrable unique constraint', 'accounts_region_key', ['ALTER TABLE accounts ADD CONSTRAINT accounts_region_key UNIQUE (region) DEFERRABLE INITIALLY DEFERRED']],
  ])('rolls back when %s finds duplicates: the target keeps its rows, indexes and constraints', async (_what, index, breaking) => {
    const strict = await createTestDatabase('indexes_strict');
    try {
      await strict.query(SCHEMA_SQL);
      for (const statement of breaking) await strict.query(statement);
      await strict.query("INSERT INTO accounts (id, email, region, note) VALUES (1, 'kept@example.com', 'eu', 'kept')");
      const before = await indexFacts(strict);
      const constraintsBefore = await constraintFacts(strict);
      const error = await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: strict.url }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IntegrityError);
      expect((error as Error).message).toMatch(new RegExp(`building index ${index}`));
      expect((error as Error).message).toMatch(/rolled back/);
      const { rows } = await strict.query<{ email: string }>('SELECT email FROM accounts');
      expect(rows).toEqual([{ email: 'kept@example.com' }]);
      expect(await indexFacts(strict)).toEqual(before);
      expect(await constraintFacts(strict)).toEqual(constraintsBefore);
    } finally {
      await strict.drop();
    }
  });

  /**
   * Runs `body` with the target's URL for a new non-superuser login role that `grant` prepares; the
   * role and its privileges are removed afterwards (`revoke` undoes what DROP OWNED does not).
   */
  async function asNewRole(grant: (role: string, admin: pg.Client) => Promise<void>, body: (url: string, role: string) => Promise<void>, revoke?: (role: string, admin: pg.Client) => Promise<void>): Promise<void> {
    const role = `dr_role_${randomBytes(3).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    const admin = await connect(adminUrl());
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER PASSWORD '${password}'`);
      await target.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
      await grant(role, admin);
      await body(urlAs(target.url, role, password), role);
    } finally {
      await revoke?.(role, admin).catch(() => undefined);
      await target.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await admin.end();
    }
  }

  /** Restores as this role and checks that every index is the one that was there (same OID) and the rows are right. */
  async function restoreKeepsIndexes(url: string, triggerMode: string): Promise<void> {
    const before = await indexFacts(target);
    const events: RestoreProgress[] = [];
    const result = await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: url, onProgress: (e) => events.push(e) });
    expect(result.triggerMode).toBe(triggerMode);
    const after = await indexFacts(target);
    for (const [name, facts] of after) because(name, () => expect(facts.oid).toBe(before.get(name)!.oid));
    expect(events.some((e) => e.type === 'indexes-rebuilt')).toBe(false);
    expect(await snapshotTables(target, TABLES)).toEqual(expectedRows);
  }

  it('keeps the indexes in place when the restore role may load the tables but not drop their indexes (not the owner)', async () => {
    // A loader role: SET on session_replication_role (PostgreSQL 15+, as both the local and the
    // embedded server are) and table privileges, but it owns nothing, so it may not DROP INDEX.
    await asNewRole(
      async (role, admin) => {
        await admin.query(`GRANT SET ON PARAMETER session_replication_role TO ${role}`);
        await target.query(`GRANT SELECT, INSERT, TRUNCATE ON ALL TABLES IN SCHEMA public TO ${role}`);
      },
      (url) => restoreKeepsIndexes(url, 'session_replication_role'),
      async (role, admin) => {
        await admin.query(`REVOKE SET ON PARAMETER session_replication_role FROM ${role}`);
      },
    );
  });

  it('keeps the indexes in place for an owner without CREATE on the schema (it could drop them, not build them again)', async () => {
    // Tables handed over with ALTER TABLE … OWNER TO; on PostgreSQL 15+ PUBLIC has no CREATE on public.
    await asNewRole(
      async (role) => {
        await target.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
        await target.query(`ALTER TABLE accounts OWNER TO ${role}`);
        await target.query(`ALTER TABLE events OWNER TO ${role}`);
        await target.query(`ALTER TABLE tags OWNER TO ${role}`);
      },
      async (url, role) => {
        const { rows } = await target.query<{ create: boolean }>(`SELECT has_schema_privilege('${role}', 'public', 'CREATE') AS create`);
        expect(rows[0]!.create).toBe(false);
        await restoreKeepsIndexes(url, 'disable_trigger');
      },
      async () => {
        await target.query('ALTER TABLE accounts OWNER TO CURRENT_USER');
        await target.query('ALTER TABLE events OWNER TO CURRENT_USER');
        await target.query('ALTER TABLE tags OWNER TO CURRENT_USER');
      },
    );
  });

  it('puts back comments with backslashes and quotes as they were, whatever standard_conforming_strings the database sets', async () => {
    const comment = "C:\\temp\\new 'q' \\x41";
    await target.query(`COMMENT ON INDEX events_account_id_idx IS ${"'"}${comment.replace(/'/g, "''")}${"'"}`);
    await target.query(`ALTER DATABASE "${target.name}" SET standard_conforming_strings = off`);
    try {
      await restoreBackup({ store: files.store, backupId: backup.backupId, databaseUrl: target.url });
    } finally {
      await target.query(`ALTER DATABASE "${target.name}" RESET standard_conforming_strings`);
    }
    const after = await indexFacts(target);
    expect(after.get('events_account_id_idx')!.comment).toBe(comment);
  });
});
