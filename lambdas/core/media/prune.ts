import type { BackupStore } from '../storage/store.js';
import { listSnapshots, snapshotDate } from './catalog.js';
import { readObjects } from './objects-file.js';
import { LEASES_PREFIX, OBJECTS_PREFIX, SNAPSHOTS_PREFIX } from './snapshot.js';

const DAY_MS = 86_400_000;
/** A sync that started longer ago than this is taken as dead: its lease no longer defers the sweep. */
const LEASE_MS = 6 * 3_600_000;

export interface MediaPruneResult {
  readonly deletedSnapshots: readonly string[];
  readonly keptSnapshots: readonly string[];
  /** Stored contents no kept snapshot references (deleted unless dry run). */
  readonly deletedContents: number;
  readonly keptContents: number;
  /** Why the sweep of contents was skipped, when it was (a sync in progress). */
  readonly sweepSkipped?: string;
  readonly dryRun: boolean;
}

/**
 * Keeps snapshots for `keepDays` (and always the newest complete one), then deletes the stored
 * contents that no kept snapshot references (mark and sweep). A sync in progress holds a lease; while
 * one is younger than 6 h the sweep waits for a later prune, so it never deletes a content a running
 * sync has stored but not yet recorded.
 */
export async function pruneMedia(vault: BackupStore, options: { keepDays: number; now?: Date; dryRun?: boolean }): Promise<MediaPruneResult> {
  const now = (options.now ?? new Date()).getTime();
  const snapshots = await listSnapshots(vault);
  const newestComplete = snapshots.find((s) => s.complete)?.snapshotId;
  const kept: typeof snapshots = [];
  const deletedSnapshots: string[] = [];
  for (const s of snapshots) {
    const time = s.snapshot ? new Date(s.snapshot.completedAt).getTime() : (snapshotDate(s.snapshotId)?.getTime() ?? Number.NaN);
    const limit = s.complete ? options.keepDays * DAY_MS : DAY_MS;
    if (s.snapshotId === newestComplete || Number.isNaN(time) || now - time <= limit) kept.push(s);
    else deletedSnapshots.push(s.snapshotId);
  }
  if (!options.dryRun) for (const id of deletedSnapshots) await vault.deletePrefix(`${SNAPSHOTS_PREFIX}${id}/`);

  const leases = await vault.listObjects(LEASES_PREFIX);
  const live = leases.filter((l) => {
    const started = snapshotDate(l.key.slice(LEASES_PREFIX.length))?.getTime() ?? Number.NaN;
    return Number.isNaN(started) || now - started < LEASE_MS;
  });
  const base = { deletedSnapshots, keptSnapshots: kept.map((s) => s.snapshotId), dryRun: options.dryRun ?? false };
  if (live.length) return { ...base, deletedContents: 0, keptContents: 0, sweepSkipped: `a sync is in progress (${live.length} lease${live.length === 1 ? '' : 's'}); contents are swept by a later prune` };

  const referenced = new Set<string>();
  for (const s of kept) if (s.snapshot) for (const o of await readObjects(vault, s.snapshot)) referenced.add(o.sha256);
  const contents = await vault.listObjects(OBJECTS_PREFIX);
  const unreferenced = contents.filter((c) => !referenced.has(c.key.slice(c.key.lastIndexOf('/') + 1)));
  if (!options.dryRun) for (const c of unreferenced) await vault.deletePrefix(c.key);
  return { ...base, deletedContents: unreferenced.length, keptContents: contents.length - unreferenced.length };
}
