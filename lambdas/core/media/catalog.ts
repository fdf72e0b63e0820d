import { BackupNotFoundError, InvalidBackupError, UsageError } from '../errors.js';
import { backupIdToDate } from '../format/ids.js';
import type { BackupStore } from '../storage/store.js';
import { readText } from '../storage/store.js';
import { SNAPSHOTS_PREFIX, snapshotKey, snapshotSchema, type MediaSnapshot } from './snapshot.js';

export interface SnapshotSummary {
  readonly snapshotId: string;
  readonly complete: boolean;
  readonly snapshot?: MediaSnapshot;
  readonly problem?: string;
}

/** Snapshot ids, newest first, and whether each is complete: one listing, nothing read. */
export async function snapshotIds(vault: BackupStore): Promise<{ snapshotId: string; complete: boolean }[]> {
  const keys = new Set((await vault.listObjects(SNAPSHOTS_PREFIX)).map((o) => o.key));
  const ids = [...new Set([...keys].map((k) => k.slice(SNAPSHOTS_PREFIX.length).split('/')[0]!).filter(Boolean))].sort().reverse();
  return ids.map((snapshotId) => ({ snapshotId, complete: keys.has(snapshotKey(snapshotId)) }));
}

/** The newest complete snapshot, reading only its snapshot.json (the hourly paths: sync, age). */
export async function newestSnapshot(vault: BackupStore): Promise<MediaSnapshot | undefined> {
  const newest = (await snapshotIds(vault)).find((s) => s.complete);
  return newest ? readSnapshot(vault, newest.snapshotId) : undefined;
}

/** Every snapshot folder, newest first; only `snapshot.json` is read, never the listings. */
export async function listSnapshots(vault: BackupStore): Promise<SnapshotSummary[]> {
  const summaries: SnapshotSummary[] = [];
  for (const { snapshotId, complete } of await snapshotIds(vault)) {
    if (!complete) {
      summaries.push({ snapshotId, complete: false, problem: 'no snapshot.json (interrupted or in progress)' });
      continue;
    }
    try {
      summaries.push({ snapshotId, complete: true, snapshot: await readSnapshot(vault, snapshotId) });
    } catch (error) {
      summaries.push({ snapshotId, complete: false, problem: (error as Error).message });
    }
  }
  return summaries;
}

export async function readSnapshot(vault: BackupStore, snapshotId: string): Promise<MediaSnapshot> {
  if (!(await vault.statObject(snapshotKey(snapshotId)))) throw new BackupNotFoundError(`No complete media snapshot ${snapshotId} in ${vault.description}; run \`iconic-dr media list\``);
  let raw: unknown;
  try {
    raw = JSON.parse(await readText(vault, snapshotKey(snapshotId)));
  } catch (error) {
    throw new InvalidBackupError(`Media snapshot ${snapshotId}: snapshot.json is not valid JSON`, ['snapshot.json is not valid JSON'], { cause: error });
  }
  const parsed = snapshotSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `snapshot.json ${i.path.join('.')}: ${i.message}`);
    throw new InvalidBackupError(`Media snapshot ${snapshotId} is not valid: ${problems[0]}`, problems);
  }
  return parsed.data;
}

function parseTime(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--at ${value} is not a time; use ISO 8601, e.g. 2026-11-30T13:00:00Z`);
  return date;
}

/**
 * `latest` = the newest complete snapshot; with `at`, the newest completed at or before that time
 * (the same rule `restore --at` applies to database backups, so one time names one recovery point).
 */
export async function resolveSnapshot(vault: BackupStore, ref: string, at?: string): Promise<MediaSnapshot> {
  const wanted = ref.trim();
  if (wanted.toLowerCase() !== 'latest' && !at) return readSnapshot(vault, wanted);
  const limit = at ? parseTime(at) : undefined;
  const chosen = limit ? await snapshotAt(vault, limit) : await newestSnapshot(vault);
  if (!chosen) throw new BackupNotFoundError(limit ? `No complete media snapshot in ${vault.description} completed at or before ${limit.toISOString()}` : `There is no complete media snapshot in ${vault.description}; run \`iconic-dr media sync\``);
  return chosen;
}

/**
 * For each time, the newest complete snapshot completed at or before it (one recovery point with a
 * database backup completed then), or undefined. One listing; only the snapshot.json files near
 * each time are read, once each (an id is its start time, so later ids cannot qualify): with 90
 * days of hourly snapshots, pairing backups must not read two thousand of them. Unreadable
 * snapshots are passed over, as `media list` reports them.
 */
export async function snapshotsAt(vault: BackupStore, times: readonly (Date | undefined)[]): Promise<(MediaSnapshot | undefined)[]> {
  const ids = (await snapshotIds(vault)).filter((s) => s.complete).map((s) => s.snapshotId);
  const cache = new Map<string, Promise<MediaSnapshot | undefined>>();
  const read = (snapshotId: string) => {
    let pending = cache.get(snapshotId);
    if (!pending) {
      pending = readSnapshot(vault, snapshotId).catch((error: unknown) => {
        if (error instanceof InvalidBackupError) return undefined;
        throw error;
      });
      cache.set(snapshotId, pending);
    }
    return pending;
  };
  const found: (MediaSnapshot | undefined)[] = [];
  for (const time of times) {
    let chosen: MediaSnapshot | undefined;
    for (const snapshotId of time ? ids : []) {
      const started = snapshotDate(snapshotId);
      if (started && started > time!) continue;
      const snapshot = await read(snapshotId);
      if (snapshot && new Date(snapshot.completedAt) <= time!) {
        chosen = snapshot;
        break;
      }
    }
    found.push(chosen);
  }
  return found;
}

/** When a database backup completed (else when it started): the time its recovery point is paired by. */
export function completionOf(backup: { readonly completedAt?: string | undefined; readonly timestamp?: string | undefined }): Date | undefined {
  const time = backup.completedAt ?? backup.timestamp;
  const date = time === undefined ? undefined : new Date(time);
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

export async function snapshotAt(vault: BackupStore, time: Date): Promise<MediaSnapshot | undefined> {
  return (await snapshotsAt(vault, [time]))[0];
}

export function snapshotDate(snapshotId: string): Date | undefined {
  return backupIdToDate(snapshotId);
}
