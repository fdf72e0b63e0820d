import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { LockTimeoutError, UsageError } from '../../../lambdas/core/errors.js';
import { openPostgresSource } from '../../../lambdas/core/postgres/source.js';
import { createTestDatabase, urlAs, type TestDatabase } from '../../helpers/database.js';

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The backup connections open on the database, once they are `expected`: a closed connection leaves the server's list shortly after. */
async function backupConnections(db: TestDatabase, expected: readonly string[]): Promise<string[]> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const { rows } = await db.query<{ application_name: string }>("SELECT application_name FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'iconic-dr backup%' ORDER BY 1");
    const names = rows.map((r) => r.application_name);
    if (JSON.stringify(names) === JSON.stringify(expected) || Date.now() > deadline) return names;
    await sleep(50);
  }
}

/** Resolves once some session of the database waits for a lock. */
async function waitForLockWait(db: TestDatabase): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { rows } = await db.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    if (rows.length > 0) return;
    await sleep(50);
  }
  throw new Error('no session waits for a lock');
}

describe('the postgres backup session (real Postgres)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('pg_source');
    await db.query(`
      CREATE TABLE big (id int PRIMARY KEY, note text);
      CREATE TABLE small (id int PRIMARY KEY, big_id int REFERENCES big (id));
      CREATE FUNCTION shout(t text) RETURNS text LANGUAGE sql AS 'SELECT upper(t)';
      INSERT INTO big SELECT g, 'note ' || g FROM generate_series(1, 2000) g;
      INSERT INTO small SELECT g, g FROM generate_series(1, 50) g;
    `);
  });

  afterAll(async () => {
    await db.drop();
  });

  it('shares one snapshot across its slots, the coordinator last, and captures the schema while they export', async () => {
    const session = await openPostgresSource({ databaseUrl: db.url, jobs: 2 });
    try {
      expect(session.workers).toBe(2);
      // Rows committed after the session opened are in no slot's export.
      await db.query('INSERT INTO big SELECT g, $1 FROM generate_series(2001, 2100) g', ['late']);
      const big = session.tables.find((t) => t.name === 'big')!;
      // Both slots at once, the coordinator's (the last) before its schema capture is awaited: it
      // waits for the capture instead of running between the capture's statements.
      const [fromWorker, fromCoordinator, schema] = await Promise.all([session.exportTable(big, 0, 'copy-text').then(text), session.exportTable(big, 1, 'copy-text').then(text), session.schema]);
      expect(fromWorker.split('\n').filter(Boolean)).toHaveLength(2000);
      expect(fromCoordinator).toBe(fromWorker);
      expect(fromWorker).not.toContain('late');
      expect([...(schema?.tables ?? [])].sort()).toEqual(['big', 'small']);
      expect(JSON.stringify(schema)).toContain('shout');
    } finally {
      await session.close();
      await db.query('DELETE FROM big WHERE id > 2000');
    }
    expect(await backupConnections(db, [])).toEqual([]);
  });

  it('closes the worker connections it opened beyond the number of tables', async () => {
    const session = await openPostgresSource({ databaseUrl: db.url, jobs: 4, tables: ['small'] });
    try {
      expect(session.workers).toBe(1);
      expect(await backupConnections(db, ['iconic-dr backup'])).toEqual(['iconic-dr backup']);
      expect((await text(await session.exportTable(session.tables[0]!, 0, 'ndjson'))).split('\n').filter(Boolean)).toHaveLength(50);
    } finally {
      await session.close();
    }
    expect(await backupConnections(db, [])).toEqual([]);
  });

  it('minds only the connections it needs: a role limited to two backs up one table at --jobs 4, not two tables at --jobs 3 with a limit of one', async () => {
    const role = `dr_limited_${randomBytes(4).toString('hex')}`;
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'limited' CONNECTION LIMIT 2`);
    await db.query(`GRANT SELECT ON big, small TO ${role}`);
    try {
      const url = urlAs(db.url, role, 'limited');
      const session = await openPostgresSource({ databaseUrl: url, jobs: 4, tables: ['small'] });
      try {
        expect(session.workers).toBe(1);
        expect((await text(await session.exportTable(session.tables[0]!, 0, 'copy-text'))).split('\n').filter(Boolean)).toHaveLength(50);
      } finally {
        await session.close();
      }
      expect(await backupConnections(db, [])).toEqual([]);
      await db.query(`ALTER ROLE ${role} CONNECTION LIMIT 1`);
      await expect(openPostgresSource({ databaseUrl: url, jobs: 3, tables: ['big', 'small'] })).rejects.toThrow(/too many connections/);
      expect(await backupConnections(db, [])).toEqual([]);
    } finally {
      await db.query(`REVOKE ALL ON big, small FROM ${role}`);
      await db.query(`DROP ROLE ${role}`);
    }
  });

  it('leaves no connection open when it refuses: an unknown table, a lock it cannot get', async () => {
    await expect(openPostgresSource({ databaseUrl: db.url, jobs: 3, tables: ['big', 'nope'] })).rejects.toThrow(UsageError);
    expect(await backupConnections(db, [])).toEqual([]);

    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE small IN ACCESS EXCLUSIVE MODE');
      await expect(openPostgresSource({ databaseUrl: db.url, jobs: 3, lockTimeoutMs: 200 })).rejects.toThrow(LockTimeoutError);
      expect(await backupConnections(db, [])).toEqual([]);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
  });

  it('gives up, within the lock timeout, on a table a migration asked for after the backup locked it', async () => {
    const session = await openPostgresSource({ databaseUrl: db.url, jobs: 2, lockTimeoutMs: 300 });
    const migration = new pg.Client({ connectionString: db.url });
    await migration.connect();
    try {
      await migration.query('BEGIN');
      // Waits for the backup's ACCESS SHARE lock; the worker's own lock request then queues behind it.
      const waiting = migration.query('LOCK TABLE big IN ACCESS EXCLUSIVE MODE');
      waiting.catch(() => undefined);
      await waitForLockWait(db);
      const big = session.tables.find((t) => t.name === 'big')!;
      await expect(session.exportTable(big, 0, 'copy-text').then(text)).rejects.toThrow(/lock timeout/);
      await session.close();
      await waiting;
    } finally {
      await session.close();
      await migration.query('ROLLBACK').catch(() => undefined);
      await migration.end();
    }
  });

  it('goes on without the schema when the role cannot read the catalog, every slot still exporting', async () => {
    // Roles are the server's, not the database's: a name of this run's own.
    const role = `dr_blind_${randomBytes(4).toString('hex')}`;
    await db.query(`CREATE ROLE ${role} LOGIN PASSWORD 'blind'`);
    await db.query(`GRANT SELECT ON big, small TO ${role}`);
    await db.query('REVOKE SELECT ON pg_catalog.pg_proc FROM PUBLIC');
    const schemaErrors: unknown[] = [];
    try {
      const session = await openPostgresSource({ databaseUrl: urlAs(db.url, role, 'blind'), jobs: 2, onSchemaError: (error) => schemaErrors.push(error) });
      try {
        const small = session.tables.find((t) => t.name === 'small')!;
        const exports = await Promise.all([0, 1].map(async (slot) => text(await session.exportTable(small, slot, 'copy-text'))));
        expect(exports[0]!.split('\n').filter(Boolean)).toHaveLength(50);
        expect(exports[1]).toBe(exports[0]);
        expect(await session.schema).toBeUndefined();
        expect(schemaErrors).toHaveLength(1);
        expect(String(schemaErrors[0])).toMatch(/permission denied/);
      } finally {
        await session.close();
      }
    } finally {
      await db.query('GRANT SELECT ON pg_catalog.pg_proc TO PUBLIC');
      await db.query(`REVOKE ALL ON big, small FROM ${role}`);
      await db.query(`DROP ROLE ${role}`);
    }
  });
});
