/** Backup ids are the start time as ISO-8601 UTC with `:` and `.` replaced by `-` (format v1). */
export const BACKUP_ID_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

export function backupIdFor(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

export function isBackupId(value: string): boolean {
  return BACKUP_ID_PATTERN.test(value);
}

/** The start time encoded in a backup id, or undefined for names that are not ids. */
export function backupIdToDate(backupId: string): Date | undefined {
  if (!isBackupId(backupId)) return undefined;
  const iso = `${backupId.slice(0, 10)}T${backupId.slice(11, 13)}:${backupId.slice(14, 16)}:${backupId.slice(17, 19)}.${backupId.slice(20, 23)}Z`;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
