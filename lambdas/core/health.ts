import { connect, describeDatabase } from './postgres/connection.js';

export interface HealthReport {
  readonly database: string;
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly serverVersion: string;
  readonly inRecovery: boolean;
  readonly sizeBytes: number;
  readonly connections: number;
  readonly maxConnections: number;
  readonly uptimeSeconds: number;
  readonly tables: number;
  /** Transactions open longer than 5 minutes: they hold back vacuum and can block a restore's locks. */
  readonly longTransactions: number;
  readonly warnings: readonly string[];
}

/** The plan's `db:health`: is the database reachable, and is anything in the way of a backup or restore? */
export async function checkHealth(databaseUrl: string): Promise<HealthReport> {
  const started = Date.now();
  const client = await connect(databaseUrl, 'iconic-dr health');
  try {
    await client.query('SELECT 1');
    const latencyMs = Date.now() - started;
    const { rows } = await client.query<{
      version: string;
      recovery: boolean;
      size: string;
      connections: number;
      max: number;
      uptime: number;
      tables: number;
      long: number;
    }>(
      `SELECT current_setting('server_version') AS version, pg_is_in_recovery() AS recovery,
              pg_database_size(current_database())::text AS size,
              (SELECT count(*)::int FROM pg_stat_activity) AS connections,
              current_setting('max_connections')::int AS max,
              extract(epoch FROM now() - pg_postmaster_start_time())::int AS uptime,
              (SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'iconic_dr') AND n.nspname NOT LIKE 'pg_toast%') AS tables,
              (SELECT count(*)::int FROM pg_stat_activity WHERE xact_start < now() - interval '5 minutes' AND pid <> pg_backend_pid()) AS long`,
    );
    const r = rows[0]!;
    const warnings: string[] = [];
    if (r.connections >= r.max * 0.9) warnings.push(`${r.connections} of ${r.max} connections in use`);
    if (r.long > 0) warnings.push(`${r.long} transaction(s) open for more than 5 minutes`);
    if (r.recovery) warnings.push('the server is a standby (read-only): it can be backed up, not restored into');
    return {
      database: describeDatabase(databaseUrl).label,
      ok: true,
      latencyMs,
      serverVersion: r.version,
      inRecovery: r.recovery,
      sizeBytes: Number(r.size),
      connections: r.connections,
      maxConnections: r.max,
      uptimeSeconds: r.uptime,
      tables: r.tables,
      longTransactions: r.long,
      warnings,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
