import type pg from 'pg';
import { connect } from './postgres/connection.js';

/**
 * Every restore leaves a row in the target's `iconic_dr.restores`: which backup, from where, when,
 * and how it ended. `verify` and `check` without a backup then compare with what was actually
 * restored (not with whatever is `latest` by now), and `health` shows it.
 */
export interface RestoreRecord {
  readonly backupId: string;
  readonly location: string;
  readonly restoredAt: string;
  readonly tables: readonly string[];
  readonly totalRecords: number;
  /** `restored`: only a committed restore leaves a record (a failed one leaves the target exactly as it was). */
  readonly result: 'restored';
}

const SCHEMA = `CREATE SCHEMA IF NOT EXISTS iconic_dr;
CREATE TABLE IF NOT EXISTS iconic_dr.restores (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  backup_id text NOT NULL,
  location text NOT NULL,
  restored_at timestamptz NOT NULL DEFAULT now(),
  tables text[] NOT NULL,
  total_records bigint NOT NULL,
  result text NOT NULL
);
COMMENT ON TABLE iconic_dr.restores IS 'Restores by iconic-dr into this database (verify and check compare with the newest one)'`;

/**
 * Appends the record inside the restore's transaction, so it commits with the data or not at all. A
 * savepoint keeps a role without CREATE on the database from failing the restore; resolves false then.
 */
export async function recordRestore(client: pg.Client, record: Omit<RestoreRecord, 'restoredAt' | 'result'>): Promise<boolean> {
  await client.query('SAVEPOINT iconic_dr_record');
  try {
    await client.query(SCHEMA);
    await client.query("INSERT INTO iconic_dr.restores (backup_id, location, tables, total_records, result) VALUES ($1, $2, $3, $4, 'restored')", [record.backupId, record.location, record.tables, record.totalRecords]);
    await client.query('RELEASE SAVEPOINT iconic_dr_record');
    return true;
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT iconic_dr_record');
    return false;
  }
}

/** The newest successful restore recorded in the database, or undefined (none, or no table yet). */
export async function lastRestore(databaseUrl: string): Promise<RestoreRecord | undefined> {
  const client = await connect(databaseUrl, 'iconic-dr');
  try {
    const { rows: exists } = await client.query<{ t: string | null }>("SELECT to_regclass('iconic_dr.restores')::text AS t");
    if (!exists[0]?.t) return undefined;
    const { rows } = await client.query<{ backup_id: string; location: string; restored_at: Date; tables: string[]; total_records: string; result: string }>(
      "SELECT backup_id, location, restored_at, tables, total_records::text AS total_records, result FROM iconic_dr.restores WHERE result = 'restored' ORDER BY restored_at DESC, id DESC LIMIT 1",
    );
    const r = rows[0];
    return r ? { backupId: r.backup_id, location: r.location, restoredAt: r.restored_at.toISOString(), tables: r.tables, totalRecords: Number(r.total_records), result: 'restored' } : undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}
