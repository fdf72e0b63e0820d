import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { ENV, needsConfirmation } from '../../lib/contract.js';
import { backupNotFound, completeBackups, findBackup } from '../core/catalog.js';
import { BackupNotFoundError, InvalidBackupError, UsageError } from '../core/errors.js';
import type { ParsedManifest } from '../core/format/manifest.js';
import type { BackupStore } from '../core/storage/store.js';
import { backupIdToDate } from '../core/format/ids.js';
import { newestSnapshot, snapshotAt } from '../core/media/catalog.js';
import type { MediaSnapshot } from '../core/media/snapshot.js';
import { fullBackupFilter, holdsTables, subsetBackupIds } from './shared/backup-scope.js';
import { configOnce, pickBackupEnv } from './shared/config.js';
import { logger } from './shared/observability.js';
import { backupLocation, backupStore } from './shared/store.js';
import { executionSchema, taskHandler } from './shared/task.js';

/**
 * `PickBackup` task of the restore machine: checks the request and resolves the backup to restore.
 * `latest` is the newest complete full backup; `random` a random complete full backup of the last
 * `maxAgeDays` days (the weekly drill); with `tables` in the request, any complete backup holding
 * those tables qualifies (shared/backup-scope.ts). An id must name a complete backup. Requested
 * tables are matched to the backup's names (`products` and `public.products` are the same table).
 *
 * Unknown keys are refused (naming them): `{"tabels": […]}` must not become a full restore.
 *
 * Whether a production restore is confirmed is decided next, by the machine's CheckConfirmation
 * (and again by the Restore function): this task only passes `confirm` on.
 */
const config = configOnce('pick-backup', pickBackupEnv);

export const DEFAULT_MAX_AGE_DAYS = 7;

export const restoreRequestSchema = z.strictObject({
  backupId: z
    .string({ error: 'missing: give a backup id, "latest" or "random"' })
    .trim()
    .min(1, 'empty: give a backup id, "latest" or "random"')
    .regex(/^[^/\s]+$/, 'not a backup id (no slashes or spaces)'),
  target: z.string({ error: 'missing: give the restore target, e.g. "staging"' }).trim().min(1),
  confirm: z.string().trim().nullish(),
  tables: z.array(z.string().trim().min(1)).min(1, 'name at least one table, or leave "tables" out').nullish(),
  maxAgeDays: z.number().int().min(1).max(365).nullish(),
  drill: z.enum(['weekly', 'monthly']).nullish(),
  /** Restore the media (Supabase Storage) of the same recovery point too, after the database. */
  media: z.boolean().nullish(),
  /** With `media`: also delete the objects the snapshot does not have (`media restore --exact`). */
  mediaExact: z.boolean().nullish(),
});

export const pickBackupEventSchema = z.strictObject({ request: restoreRequestSchema, execution: executionSchema });

export interface PickBackupResult {
  backupId: string;
  requested: string;
  target: string;
  confirm: string | null;
  tables: string[] | null;
  drill: 'weekly' | 'monthly' | null;
  location: string;
  /** Whether the machine restores media after the database. */
  media: boolean;
  /** The media snapshot of the same recovery point (closest before the backup completed), when `media`. */
  mediaSnapshotId: string | null;
  mediaExact: boolean;
}

/** Maps requested table names to the backup's (`public.x` is `x`); unknown names are a UsageError. */
export function matchTables(backupId: string, requested: readonly string[], available: readonly string[]): string[] {
  const matched: string[] = [];
  const unknown: string[] = [];
  for (const name of requested) {
    const candidates = [name, name.startsWith('public.') ? name.slice('public.'.length) : `public.${name}`];
    const hit = candidates.find((c) => available.includes(c));
    if (hit) matched.push(hit);
    else unknown.push(name);
  }
  if (unknown.length) throw new UsageError(`Backup ${backupId} has no table ${unknown.join(', ')}; it has: ${available.join(', ')}`);
  return [...new Set(matched)];
}

async function resolve(store: BackupStore, requested: string, maxAgeDays: number, tables: readonly string[] | null | undefined, configured: readonly string[]): Promise<{ backupId: string; manifest?: ParsedManifest }> {
  const wanted = requested.toLowerCase();
  if (wanted !== 'latest' && wanted !== 'random') return resolveById(store, requested);
  const filter = tables?.length ? holdsTables(tables) : fullBackupFilter(await subsetBackupIds(store), configured);
  const kind = tables?.length ? `complete backup holding ${tables.join(', ')}` : 'complete full backup';
  if (wanted === 'latest') {
    const [latest] = await completeBackups(store, { limit: 1, filter });
    if (!latest) throw new BackupNotFoundError(`There is no ${kind} in ${store.description}: start the backup state machine first`);
    return latest;
  }
  const recent = await completeBackups(store, { since: new Date(Date.now() - maxAgeDays * 86_400_000), filter });
  if (!recent.length) throw new BackupNotFoundError(`There is no ${kind} from the last ${maxAgeDays} days in ${store.description}: the daily backup is not running (check the backup state machine)`);
  return recent[randomInt(recent.length)]!;
}

async function resolveById(store: BackupStore, requested: string): Promise<{ backupId: string; manifest?: ParsedManifest }> {
  let found;
  try {
    found = await findBackup(store, requested);
  } catch (error) {
    // Complete but with an unreadable manifest: Validate reports that as an invalid backup and alerts.
    if (error instanceof InvalidBackupError) return { backupId: requested };
    throw error;
  }
  if (found.complete) return found.complete;
  throw backupNotFound(store, requested, found.missing);
}

/**
 * The media snapshot of the backup's recovery point: the newest completed at or before the backup.
 * None is an error, except for a drill in a vault that has no media snapshot at all yet (undefined).
 */
async function mediaSnapshotFor(store: BackupStore, backupId: string, manifest: ParsedManifest | undefined, drill: boolean): Promise<MediaSnapshot | undefined> {
  const completed = (manifest?.format === 'v1' ? new Date(manifest.manifest.completedAt) : undefined) ?? backupIdToDate(backupId);
  const chosen = completed ? await snapshotAt(store, completed) : undefined;
  if (chosen) return chosen;
  if (drill && !(await newestSnapshot(store))) return undefined;
  throw new BackupNotFoundError(`There is no complete media snapshot in ${store.description} taken at or before backup ${backupId} completed: start the restore without "media", or pick a later backup. Nothing was changed.`);
}

export const handler = taskHandler({
  name: 'pick-backup',
  event: pickBackupEventSchema,
  async run({ request }): Promise<PickBackupResult> {
    const env = config();
    const targets = env[ENV.restoreTargets];
    if (!targets.includes(request.target) && needsConfirmation(request.target)) {
      throw new UsageError(`A restore into ${request.target} runs through the production restore state machine (stack output ProductionRestoreStateMachineArn), which only named principals may start; this machine restores into ${targets.join(', ')}. Nothing was changed.`);
    }
    if (!targets.includes(request.target)) throw new UsageError(`Unknown restore target "${request.target}": use one of ${targets.join(', ')}`);
    if (request.maxAgeDays != null && request.backupId.toLowerCase() !== 'random') throw new UsageError('"maxAgeDays" goes with "backupId": "random" only');
    if (request.media && !env[ENV.restoreMedia]) throw new UsageError('This stack does not back up media (deployed with media=false): start the restore without "media". Nothing was changed.');
    if (request.mediaExact && !request.media) throw new UsageError('"mediaExact" goes with "media": true only');
    const store = backupStore({ bucket: env[ENV.backupBucket], prefix: env[ENV.backupPrefix] });
    const { backupId, manifest } = await resolve(store, request.backupId, request.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS, request.tables, env[ENV.backupTables]);
    const tables = request.tables ? (manifest ? matchTables(backupId, request.tables, manifest.manifest.tables) : [...request.tables]) : null;
    // Chosen before anything is touched: a restore asked for media but without a snapshot to go with
    // the backup must fail here, not after the database was replaced.
    const mediaSnapshotId = request.media ? ((await mediaSnapshotFor(store, backupId, manifest, Boolean(request.drill)))?.snapshotId ?? null) : null;
    if (request.media && !mediaSnapshotId) {
      // Only a drill gets here (mediaSnapshotFor throws for a person's restore): the stack has never
      // synced media (the Storage secret is not filled in yet), so there is nothing to drill.
      logger.warn('No media snapshot at all yet: the drill restores the database only', { backupId });
    }
    const media = mediaSnapshotId !== null;
    const result: PickBackupResult = {
      backupId,
      requested: request.backupId,
      target: request.target,
      confirm: request.confirm ?? null,
      tables,
      drill: request.drill ?? null,
      location: backupLocation(store, backupId),
      media,
      mediaSnapshotId,
      mediaExact: media && Boolean(request.mediaExact),
    };
    logger.info('Backup picked', { ...result });
    return result;
  },
});
