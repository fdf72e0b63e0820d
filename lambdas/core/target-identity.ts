import { DrError } from './errors.js';
import type { SourceInfo } from './format/manifest.js';
import { connect, databaseIdentity, describeDatabase } from './postgres/connection.js';

/**
 * Who a database is, told apart without trusting names alone: the cluster's
 * `pg_control_system().system_identifier` (where the role may read it) with the database name, else
 * host:port/dbname, plus a marker the operator puts on the database itself (its COMMENT, e.g.
 * `COMMENT ON DATABASE postgres IS 'iconic-dr:staging'`).
 *
 * A drill restores unconfirmed into "staging" every week. A staging secret pasted with the
 * production host would have it empty production on schedule, so before an unconfirmed restore the
 * target's identity is compared with the backup's source and with production's, and a match refuses
 * the restore before anything is touched.
 */

/** The marker a database's COMMENT may carry: `iconic-dr:<role>` (e.g. staging, production). */
export const IDENTITY_MARKER = /\biconic-dr:([a-z][a-z0-9-]*)\b/;

export interface DatabaseIdentity {
  /** Host as configured (lower case), never credentials. */
  readonly host?: string | undefined;
  readonly port?: number | undefined;
  readonly database?: string | undefined;
  /** `pg_control_system().system_identifier`, when readable. */
  readonly systemIdentifier?: string | undefined;
  /** The role named by the database's `iconic-dr:<role>` comment, when set. */
  readonly marker?: string | undefined;
}

/** A readable `host:port/db (system id …, marked …)` for alerts: names, never credentials. */
export function describeIdentity(identity: DatabaseIdentity): string {
  const place = `${identity.host ?? '?'}${identity.port ? `:${identity.port}` : ''}/${identity.database ?? '?'}`;
  const extra = [identity.systemIdentifier ? `system id ${identity.systemIdentifier}` : undefined, identity.marker ? `marked ${identity.marker}` : undefined].filter(Boolean);
  return extra.length ? `${place} (${extra.join(', ')})` : place;
}

/** What a URL says about the database (no connection): host, port, database. */
export function identityFromUrl(url: string): DatabaseIdentity {
  const { database } = describeDatabase(url);
  try {
    const parsed = new URL(url);
    return { host: parsed.hostname.toLowerCase() || undefined, port: Number(parsed.port || 5432), database };
  } catch {
    return { database };
  }
}

/** The identity a backup's manifest recorded for its source. */
export function identityFromSource(source: SourceInfo): DatabaseIdentity {
  return {
    host: source.host?.replace(/:\d+$/, '').toLowerCase(),
    port: source.port ?? (source.host && /:\d+$/.test(source.host) ? Number(source.host.split(':').pop()) : undefined),
    database: source.database,
    systemIdentifier: source.systemIdentifier,
  };
}

/**
 * Connects and reads the identity: the URL's host/port/dbname, the system identifier when the role
 * may call pg_control_system() (a superuser or pg_monitor member; Supabase's postgres role may not),
 * and the `iconic-dr:<role>` marker from the database's comment.
 */
export async function readDatabaseIdentity(url: string): Promise<DatabaseIdentity> {
  const fromUrl = identityFromUrl(url);
  const client = await connect(url, 'iconic-dr identity');
  try {
    const { rows } = await client.query<{ database: string; comment: string | null }>(
      `SELECT current_database() AS database, shobj_description(d.oid, 'pg_database') AS comment FROM pg_database d WHERE d.datname = current_database()`,
    );
    // Not readable by every role: host/port/dbname and the marker still tell databases apart then.
    const { systemIdentifier } = await databaseIdentity(client, url);
    const marker = IDENTITY_MARKER.exec(rows[0]?.comment ?? '')?.[1];
    return { ...fromUrl, database: rows[0]?.database ?? fromUrl.database, systemIdentifier, marker };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * True when two identities name the same database: the same cluster (system identifier) and
 * database name when both identifiers are known, else the same host, port (when both are known)
 * and database name.
 */
export function sameDatabase(a: DatabaseIdentity, b: DatabaseIdentity): boolean {
  if (!a.database || !b.database || a.database !== b.database) return false;
  if (a.systemIdentifier && b.systemIdentifier) return a.systemIdentifier === b.systemIdentifier;
  if (!a.host || !b.host || a.host !== b.host) return false;
  return a.port === undefined || b.port === undefined || a.port === b.port;
}

/** An unconfirmed restore (a drill) was pointed at the backup's source or at production. */
export class TargetIdentityError extends DrError {
  readonly exitCode = 2 as const;
  constructor(
    message: string,
    readonly target: DatabaseIdentity,
    readonly matches: DatabaseIdentity,
  ) {
    super(message);
  }
}

export interface TargetGuardInput {
  /** Name of the restore target (e.g. `staging`). */
  readonly targetName: string;
  readonly target: DatabaseIdentity;
  /** The backup's source, from its manifest (absent for legacy backups). */
  readonly source?: DatabaseIdentity | undefined;
  /** Databases an unconfirmed restore must never touch, by name (e.g. `production`). */
  readonly protectedDatabases?: Readonly<Record<string, DatabaseIdentity>>;
}

/**
 * Refuses an unconfirmed restore into a database that is the backup's source, a protected database
 * (production), or that carries a marker other than the target's own name. Throws
 * TargetIdentityError naming both databases; returns quietly when the target is another database.
 */
export function assertSafeUnconfirmedTarget(input: TargetGuardInput): void {
  const { targetName, target } = input;
  const refuse = (what: string, other: DatabaseIdentity): never => {
    throw new TargetIdentityError(
      `Refused: the "${targetName}" target ${describeIdentity(target)} is ${what} ${describeIdentity(other)}. An unconfirmed restore (a drill) would empty it. Nothing was changed. Point the ${targetName} secret at the ${targetName} database (docs/deploy.md, "Fill in the secrets").`,
      target,
      other,
    );
  };
  if (target.marker && target.marker !== targetName) refuse(`marked "iconic-dr:${target.marker}", not "iconic-dr:${targetName}":`, target);
  if (input.source && sameDatabase(target, input.source)) refuse("the backup's source database", input.source);
  for (const [name, database] of Object.entries(input.protectedDatabases ?? {})) {
    if (sameDatabase(target, database)) refuse(`the ${name} database`, database);
  }
}
