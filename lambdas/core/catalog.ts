import { BackupNotFoundError, InvalidBackupError, UsageError } from './errors.js';
import { backupIdToDate, isBackupId } from './format/ids.js';
import { MANIFEST_FILE, parseManifest, type ParsedManifest } from './format/manifest.js';
import type { BackupStore } from './storage/store.js';
import { readText } from './storage/store.js';
import { MAX_MANIFEST_BYTES } from './limits.js';

export interface BackupSummary {
  readonly backupId: string;
  /** metadata.json is present and readable: the backup finished. */
  readonly complete: boolean;
  readonly format: 'v1' | 'legacy' | 'unknown';
  readonly timestamp?: string;
  readonly tables?: readonly string[];
  readonly recordCounts?: Readonly<Record<string, number>>;
  readonly totalRecords?: number;
  /** Bytes stored, from the listing (all files, metadata included). */
  readonly totalBytes: number;
  readonly consistency?: string;
  /** Why an incomplete/unreadable backup is so. */
  readonly problem?: string;
}

/** Reads and parses a backup's metadata.json; fails when it is missing or unreadable. */
export async function readManifest(store: BackupStore, backupId: string): Promise<ParsedManifest> {
  const key = `${backupId}/${MANIFEST_FILE}`;
  if (!(await store.statObject(key))) {
    const objects = await store.listObjects(`${backupId}/`);
    if (objects.length === 0) throw new BackupNotFoundError(`No backup ${backupId} in ${store.description}; run \`iconic-dr list\` to see the backups there`);
    throw new BackupNotFoundError(`Backup ${backupId} in ${store.description} is incomplete (no metadata.json): it was interrupted and cannot be used`);
  }
  const parsed = parseManifest(await readText(store, key));
  if (!parsed.ok) throw new InvalidBackupError(`Backup ${backupId} has an invalid metadata.json: ${parsed.problems[0]}`, parsed.problems);
  return parsed.value;
}

/** Every backup folder in the store, newest first; incomplete ones are listed as such. */
export async function listBackups(store: BackupStore): Promise<BackupSummary[]> {
  const folders = await store.listFolders();
  const summaries: BackupSummary[] = [];
  for (const folder of folders) {
    const objects = await store.listObjects(`${folder}/`);
    const hasManifest = objects.some((o) => o.key === `${folder}/${MANIFEST_FILE}`);
    // The plan's layout keeps `logs/` beside the backups: only id-named folders or folders with a manifest are backups.
    if (!hasManifest && !isBackupId(folder)) continue;
    const totalBytes = objects.reduce((s, o) => s + o.size, 0);
    const manifestSize = objects.find((o) => o.key === `${folder}/${MANIFEST_FILE}`)?.size ?? 0;
    if (manifestSize > MAX_MANIFEST_BYTES) {
      // Known from the listing: refuse without reading it (a hostile one may be hundreds of MB).
      summaries.push({ backupId: folder, complete: false, format: 'unknown', totalBytes, problem: `metadata.json is ${manifestSize} bytes, more than the ${MAX_MANIFEST_BYTES}-byte limit`, ...timestampOf(folder) });
      continue;
    }
    if (!hasManifest) {
      summaries.push({ backupId: folder, complete: false, format: 'unknown', totalBytes, problem: 'no metadata.json (interrupted or in progress)', ...timestampOf(folder) });
      continue;
    }
    const parsed = parseManifest(await readText(store, `${folder}/${MANIFEST_FILE}`));
    if (!parsed.ok) {
      summaries.push({ backupId: folder, complete: false, format: 'unknown', totalBytes, problem: parsed.problems[0], ...timestampOf(folder) });
      continue;
    }
    const m = parsed.value.manifest;
    summaries.push({
      backupId: folder,
      complete: true,
      format: parsed.value.format,
      timestamp: m.timestamp,
      tables: m.tables,
      recordCounts: m.recordCounts,
      totalRecords: m.totalRecords,
      totalBytes,
      ...(parsed.value.format === 'v1' ? { consistency: parsed.value.manifest.consistency } : {}),
    });
  }
  return summaries.sort((a, b) => sortKey(b).localeCompare(sortKey(a)));
}

function timestampOf(folder: string): { timestamp?: string } {
  const date = backupIdToDate(folder);
  return date ? { timestamp: date.toISOString() } : {};
}

function sortKey(s: BackupSummary): string {
  return `${s.timestamp ?? ''}|${s.backupId}`;
}

/** Resolves `latest` to the newest complete backup; checks that a named backup exists. */
export async function resolveBackupId(store: BackupStore, ref: string): Promise<string> {
  const wanted = ref.trim();
  if (!wanted) throw new UsageError('Name a backup: an id, `latest`, or the path/URL of one backup');
  if (wanted.toLowerCase() === 'latest') {
    const latest = (await listBackups(store)).find((b) => b.complete);
    if (!latest) throw new BackupNotFoundError(`There is no complete backup in ${store.description}; create one with \`iconic-dr backup\``);
    return latest.backupId;
  }
  if (wanted.includes('/')) throw new UsageError(`"${wanted}" is not a backup id`);
  return wanted;
}
