import { readManifest } from '../../core/catalog.js';
import { type DatabaseIdentity, assertSafeUnconfirmedTarget, identityFromSource, identityFromUrl, readDatabaseIdentity } from '../../core/target-identity.js';
import type { BackupStore } from '../../core/storage/store.js';
import { logger } from './observability.js';

export interface UnconfirmedTargetCheck {
  readonly store: BackupStore;
  readonly backupId: string;
  /** Name of the target (`staging`). */
  readonly targetName: string;
  readonly targetUrl: string;
  /** URLs of the confirmed targets this function can read (production), by name. */
  readonly protectedUrls: Readonly<Record<string, string>>;
  /** Databases known by name only (PROTECTED_DATABASES: the stack's productionDatabase). */
  readonly protectedDatabases?: Readonly<Record<string, { host: string; port: number; dbname: string }>>;
}

/**
 * Before an unconfirmed restore (drills, staging) touches anything: reads the target's identity and
 * refuses it when it is the backup's source (from the manifest), a confirmed target (production:
 * by host/port/dbname from its secret when this function may read it, else from the stack's
 * PROTECTED_DATABASES, never connecting to it), or a database marked for another role. Throws TargetIdentityError, which the notify function pages with.
 */
export async function checkUnconfirmedTarget(check: UnconfirmedTargetCheck): Promise<DatabaseIdentity> {
  const target = await readDatabaseIdentity(check.targetUrl);
  const parsed = await readManifest(check.store, check.backupId);
  const source = parsed.format === 'v1' ? identityFromSource(parsed.manifest.source) : undefined;
  const protectedDatabases: Record<string, DatabaseIdentity> = Object.fromEntries(Object.entries(check.protectedUrls).map(([name, url]) => [name, identityFromUrl(url)]));
  for (const [name, db] of Object.entries(check.protectedDatabases ?? {})) protectedDatabases[`${name} (as configured)`] = { host: db.host.toLowerCase(), port: db.port, database: db.dbname };
  assertSafeUnconfirmedTarget({ targetName: check.targetName, target, source, protectedDatabases });
  logger.info('Target identity checked', { target: check.targetName, identity: target, source });
  return target;
}
