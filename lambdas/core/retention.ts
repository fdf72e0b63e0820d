import { isGoodBackup, listBackups, type BackupSummary } from './catalog.js';
import { UsageError } from './errors.js';
import { backupIdToDate } from './format/ids.js';
import type { BackupStore } from './storage/store.js';

export interface PruneResult {
  readonly deleted: readonly string[];
  readonly kept: readonly string[];
  readonly dryRun: boolean;
}

const DAY_MS = 86_400_000;

function ageOf(b: BackupSummary): Date | undefined {
  return b.timestamp ? new Date(b.timestamp) : backupIdToDate(b.backupId);
}

/**
 * Deletes backups older than `keepDays` (the plan keeps 30 days locally; S3 uses its lifecycle rule).
 * The newest complete backup is always kept, however old, and so is the newest one not flagged by
 * the mass-deletion canary (so a run of suspect backups can never age out the last good one), and
 * any backup of unknown age.
 * Incomplete backups older than a day are leftovers of interrupted runs and go too.
 */
export async function pruneBackups(store: BackupStore, options: { keepDays: number; now?: Date; dryRun?: boolean }): Promise<PruneResult> {
  if (!Number.isFinite(options.keepDays) || options.keepDays < 1) throw new UsageError('The days to keep must be a whole number, at least 1');
  const now = options.now ?? new Date();
  const backups = await listBackups(store);
  const protectedIds = new Set([backups.find((b) => b.complete)?.backupId, backups.find((b) => b.complete && !b.suspect)?.backupId, backups.find((b) => isGoodBackup(b))?.backupId]);
  const deleted: string[] = [];
  const kept: string[] = [];
  for (const b of backups) {
    const date = ageOf(b);
    const limit = b.complete ? options.keepDays * DAY_MS : DAY_MS;
    const expired = date !== undefined && now.getTime() - date.getTime() > limit && !protectedIds.has(b.backupId);
    if (!expired) {
      kept.push(b.backupId);
      continue;
    }
    if (!options.dryRun) await store.deletePrefix(`${b.backupId}/`);
    deleted.push(b.backupId);
  }
  return { deleted, kept, dryRun: options.dryRun ?? false };
}
