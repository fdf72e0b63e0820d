import type pg from 'pg';
import { LockTimeoutError } from './errors.js';
import { connect, pgCode } from './postgres/connection.js';

/** A session that holds (or waits ahead for) a lock the restore needs. Never its query text: it may hold data. */
export interface LockHolder {
  readonly pid: number;
  readonly application: string | null;
  readonly user: string | null;
  readonly state: string | null;
  /** When the holder's current transaction began (ISO time), where the role may see it. */
  readonly transactionStart: string | null;
  readonly queryStart: string | null;
}

const POLL_MS = 5_000;

async function blockingSessions(monitor: pg.Client, pid: number): Promise<LockHolder[]> {
  const { rows } = await monitor.query<{ pid: number; application: string | null; user: string | null; state: string | null; xact_start: Date | null; query_start: Date | null }>(
    `SELECT a.pid, nullif(a.application_name, '') AS application, a.usename AS user, a.state, a.xact_start, a.query_start
     FROM pg_stat_activity a WHERE a.pid = ANY(pg_blocking_pids($1)) ORDER BY a.xact_start NULLS LAST, a.pid`,
    [pid],
  );
  return rows.map((r) => ({ pid: r.pid, application: r.application, user: r.user, state: r.state, transactionStart: r.xact_start?.toISOString() ?? null, queryStart: r.query_start?.toISOString() ?? null }));
}

/** `pid 4242 (application "psql", user "app", idle in transaction since 2026-11-30T10:00:00.000Z)` */
export function describeHolder(h: LockHolder): string {
  const parts = [h.application ? `application "${h.application}"` : undefined, h.user ? `user "${h.user}"` : undefined, h.state ? `${h.state}${h.transactionStart ? ` since ${h.transactionStart}` : ''}` : undefined, h.queryStart ? `query started ${h.queryStart}` : undefined].filter(Boolean);
  return `pid ${h.pid}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/**
 * Takes the restore's table locks (`lockSql`, in the open transaction on `client`), and while they are
 * not granted, says every ~5 s which sessions are in the way, from a second connection. When
 * `lock_timeout` runs out the error names them, so an operator knows whom to stop.
 */
export async function lockTables(
  client: pg.Client,
  databaseUrl: string,
  lockSql: string,
  timeoutMs: number,
  onWait?: (event: { type: 'lock-wait'; waitedMs: number; holders: readonly LockHolder[] }) => void,
): Promise<void> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = rows[0]!.pid;
  const started = Date.now();
  let holders: LockHolder[] = [];
  let monitor: pg.Client | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const poll = async () => {
    try {
      if (!monitor) {
        const opened = await connect(databaseUrl, 'iconic-dr restore lock monitor');
        if (stopped) {
          await opened.end().catch(() => undefined);
          return;
        }
        monitor = opened;
      }
      const now = await blockingSessions(monitor, pid);
      if (stopped) return;
      if (now.length) holders = now;
      onWait?.({ type: 'lock-wait', waitedMs: Date.now() - started, holders: now });
    } catch {
      // The monitor only informs; the lock itself decides the restore's fate.
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  };
  timer = setTimeout(poll, Math.min(1_000, Math.max(50, Math.floor(timeoutMs / 2))));
  try {
    await client.query(lockSql);
  } catch (error) {
    if (pgCode(error) !== '55P03') throw error;
    const who = holders.length ? `held by ${holders.map(describeHolder).join('; ')}` : 'the sessions holding them had gone when the monitor looked';
    throw new LockTimeoutError(
      `Timed out after ${(timeoutMs / 1000).toFixed(timeoutMs < 10_000 ? 1 : 0)} s waiting for locks on the tables to restore, ${who}; end those transactions (or wait for them) and retry, or wait longer (--lock-wait); nothing was changed`,
      { cause: error, holders },
    );
  } finally {
    stopped = true;
    clearTimeout(timer);
    await monitor?.end().catch(() => undefined);
  }
}
