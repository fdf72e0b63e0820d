import { isGoodBackup, newestBackupWhere, type BackupSummary } from './catalog.js';
import type { BackupStore } from './storage/store.js';

/** The plan's recovery point objective for the database: one backup a day. */
export const DEFAULT_RPO_HOURS = 24;

export interface RpoStatus {
  readonly location: string;
  readonly rpoHours: number;
  /** The newest good backup (complete, not a drill's, not suspect), if there is one. */
  readonly backupId?: string;
  readonly completedAt?: string;
  /** Hours since that backup completed: the data an immediate disaster would lose. */
  readonly ageHours?: number;
  /** A good backup exists and is younger than the RPO. */
  readonly met: boolean;
}

/** How old the newest good backup in `store` is, against the RPO. */
export async function rpoStatus(store: BackupStore, rpoHours = DEFAULT_RPO_HOURS, now = new Date()): Promise<RpoStatus> {
  const newest = await newestBackupWhere(store, (b) => isGoodBackup(b));
  return rpoOf(newest ? [newest] : [], store.description, rpoHours, now);
}

/** The same, from a listing the caller already has (`list` shows both). */
export function rpoOf(backups: readonly BackupSummary[], location: string, rpoHours = DEFAULT_RPO_HOURS, now = new Date()): RpoStatus {
  const newest = backups.find((b) => isGoodBackup(b));
  const completedAt = newest?.completedAt ?? newest?.timestamp;
  if (!newest || !completedAt) return { location, rpoHours, met: false };
  const ageHours = Math.max(0, (now.getTime() - new Date(completedAt).getTime()) / 3_600_000);
  return { location, rpoHours, backupId: newest.backupId, completedAt, ageHours: Math.round(ageHours * 100) / 100, met: ageHours <= rpoHours };
}

/** `3.2 h old, within the 24 h RPO` / `no good backup: RPO 24 h MISSED`. */
export function describeRpo(status: RpoStatus): string {
  if (status.ageHours === undefined) return `no good backup in ${status.location}: RPO ${status.rpoHours} h MISSED`;
  return `newest good backup ${status.backupId} is ${status.ageHours.toFixed(1)} h old: ${status.met ? `within the ${status.rpoHours} h RPO` : `RPO ${status.rpoHours} h MISSED`}`;
}
