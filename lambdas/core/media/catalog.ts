import { createHash } from 'node:crypto';
import { BackupNotFoundError, InvalidBackupError, UsageError } from '../errors.js';
import { backupIdToDate } from '../format/ids.js';
import type { BackupStore } from '../storage/store.js';
import { readText } from '../storage/store.js';
import { SNAPSHOTS_PREFIX, objectsListSchema, snapshotKey, snapshotSchema, type MediaObject, type MediaSnapshot } from './snapshot.js';

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

/** The snapshot's listing, checked against the SHA-256 its snapshot.json recorded. */
export async function readObjects(vault: BackupStore, snapshot: MediaSnapshot): Promise<MediaObject[]> {
  const text = await readText(vault, snapshot.objectsFile.key);
  const sha256 = createHash('sha256').update(text).digest('hex');
  if (sha256 !== snapshot.objectsFile.sha256) throw new InvalidBackupError(`Media snapshot ${snapshot.snapshotId}: objects.json does not match its checksum (corrupted)`, ['objects.json checksum differs']);
  return objectsListSchema.parse(JSON.parse(text));
}

function parseTime(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`${value} is not a time; use ISO 8601, e.g. 2026-11-30T13:00:00Z`);
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
  const candidates = (await listSnapshots(vault)).filter((s) => s.complete && (!limit || new Date(s.snapshot!.completedAt) <= limit));
  const chosen = candidates[0]?.snapshot;
  if (!chosen) throw new BackupNotFoundError(limit ? `No complete media snapshot in ${vault.description} completed at or before ${limit.toISOString()}` : `There is no complete media snapshot in ${vault.description}; run \`iconic-dr media sync\``);
  return chosen;
}

/**
 * One recovery point: of `snapshots` (newest first), the one completed closest before `time` (a
 * database backup's completion), or undefined.
 */
export function snapshotBefore(snapshots: readonly MediaSnapshot[], time: string | undefined): MediaSnapshot | undefined {
  return time === undefined ? undefined : snapshots.find((m) => new Date(m.completedAt) <= new Date(time));
}

export function snapshotDate(snapshotId: string): Date | undefined {
  return backupIdToDate(snapshotId);
}
