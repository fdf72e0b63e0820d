import { SUBSET_MARKER_PREFIX } from '../../../lib/contract.js';
import { isBackupId } from '../../core/format/ids.js';
import type { BackupStore } from '../../core/storage/store.js';

/**
 * Which backups are full. A backup taken with a `tables` subset (before a risky migration, say) is a
 * real backup, but `latest` and `random` must not pick it for a drill or an emergency restore, and
 * the next full backup must not be compared with its size.
 *
 * The backup function records a subset in a marker object beside the backups
 * (`<prefix>/_scope/<backupId>.json`, lib/contract.ts) written before the backup starts, so a
 * complete subset backup always has its marker. Backups written elsewhere (the CLI) have no marker;
 * when the stack names its tables, a backup that lacks one of them is not full either.
 */

/** `products` and `public.products` are the same table. */
export function normalTable(name: string): string {
  return name.startsWith('public.') ? name.slice('public.'.length) : name;
}

/** Ids of the backups the backup function marked as subsets. */
export async function subsetBackupIds(store: BackupStore): Promise<Set<string>> {
  const objects = await store.listObjects(`${SUBSET_MARKER_PREFIX}/`);
  return new Set(objects.map((o) => o.key.slice(SUBSET_MARKER_PREFIX.length + 1).replace(/\.json$/, '')).filter(isBackupId));
}

/** Marks a backup as a subset, before it is written (write-once, like every backup object). */
export async function markSubsetBackup(store: BackupStore, backupId: string, tables: readonly string[]): Promise<void> {
  await store.createObject(`${SUBSET_MARKER_PREFIX}/${backupId}.json`, JSON.stringify({ backupId, scope: 'subset', tables }));
}

/** True when a backup request names tables that do not cover the configured set. */
export function isSubsetRequest(requested: readonly string[] | undefined, configured: readonly string[]): boolean {
  if (!requested?.length) return false;
  if (!configured.length) return true;
  const have = new Set(requested.map(normalTable));
  return !configured.every((t) => have.has(normalTable(t)));
}

/** A predicate for full backups: not marked as a subset and, when tables are configured, holding all of them. */
export function fullBackupFilter(subsets: ReadonlySet<string>, configured: readonly string[]): (backup: { backupId: string; tables: readonly string[] }) => boolean {
  return ({ backupId, tables }) => {
    if (subsets.has(backupId)) return false;
    const have = new Set(tables.map(normalTable));
    return configured.every((t) => have.has(normalTable(t)));
  };
}

/** A predicate for backups that hold every requested table. */
export function holdsTables(requested: readonly string[]): (backup: { tables: readonly string[] }) => boolean {
  return ({ tables }) => {
    const have = new Set(tables.map(normalTable));
    return requested.every((t) => have.has(normalTable(t)));
  };
}
