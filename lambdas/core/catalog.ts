import { BackupNotFoundError, InvalidBackupError, UsageError } from './errors.js';
import { backupIdToDate, isBackupId } from './format/ids.js';
import { MANIFEST_FILE, legacyTableFileKey, parseManifest, type ParsedManifest, type SourceInfo, type SuspectInfo } from './format/manifest.js';
import type { BackupStore } from './storage/store.js';
import { schemaFiles } from './schema/files.js';
import { readText } from './storage/store.js';
import { MAX_MANIFEST_BYTES } from './limits.js';

/**
 * What `list` could establish without reading the data: `complete` = a valid metadata.json and every
 * file it names present with its recorded size (checksums and rows are checked by `validate`);
 * `incomplete` = no metadata.json (interrupted or still running); `damaged` = a file is missing or
 * has another size; `invalid` = metadata.json cannot be read or fails its schema.
 */
export type BackupStatus = 'complete' | 'incomplete' | 'damaged' | 'invalid';

export interface BackupSummary {
  readonly backupId: string;
  readonly status: BackupStatus;
  /** `status === 'complete'`: the manifest is valid and every file it names is there with its size. */
  readonly complete: boolean;
  readonly format: 'v1' | 'legacy' | 'unknown';
  readonly timestamp?: string;
  readonly completedAt?: string;
  readonly durationMs?: number;
  readonly tables?: readonly string[];
  readonly recordCounts?: Readonly<Record<string, number>>;
  readonly totalRecords?: number;
  /** Bytes stored, from the listing (all files, metadata included). */
  readonly totalBytes: number;
  readonly consistency?: string;
  /** Where the backup came from (v1 manifests; never credentials). */
  readonly source?: SourceInfo;
  /** `drill` backups hold sample or disposable data and are never `latest`. */
  readonly purpose: 'backup' | 'drill';
  /** The mass-deletion canary fired: rows fell sharply against an earlier good backup. */
  readonly suspect?: SuspectInfo;
  /** Why a backup that is not complete is so. */
  readonly problem?: string;
}

/** Options for picking `latest`. */
export interface PickOptions {
  /** Let a backup flagged by the mass-deletion canary be `latest`. @default false */
  readonly allowSuspect?: boolean;
  /** `latest` as of this time: the newest good backup completed at or before it (one recovery point with media). */
  readonly at?: Date;
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

/** The files a manifest names, with their sizes where the format records them. */
function expectedFiles(parsed: ParsedManifest): { key: string; bytes?: number }[] {
  if (parsed.format === 'legacy') return parsed.manifest.tables.map((t) => ({ key: legacyTableFileKey(t) }));
  return [...parsed.manifest.tables.flatMap((t) => parsed.manifest.tableDetails[t]!.files.map((f) => ({ key: f.key, bytes: f.bytes }))), ...schemaFiles(parsed.manifest)];
}

/** Every backup folder in the store, newest first, each with what the listing and its manifest prove. */
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
      summaries.push({ backupId: folder, status: 'invalid', complete: false, format: 'unknown', purpose: 'backup', totalBytes, problem: `metadata.json is ${manifestSize} bytes, more than the ${MAX_MANIFEST_BYTES}-byte limit`, ...timestampOf(folder) });
      continue;
    }
    if (!hasManifest) {
      summaries.push({ backupId: folder, status: 'incomplete', complete: false, format: 'unknown', purpose: 'backup', totalBytes, problem: 'no metadata.json (interrupted or in progress)', ...timestampOf(folder) });
      continue;
    }
    const parsed = parseManifest(await readText(store, `${folder}/${MANIFEST_FILE}`));
    if (!parsed.ok) {
      summaries.push({ backupId: folder, status: 'invalid', complete: false, format: 'unknown', purpose: 'backup', totalBytes, problem: parsed.problems[0], ...timestampOf(folder) });
      continue;
    }
    const sizes = new Map(objects.map((o) => [o.key.slice(folder.length + 1), o.size]));
    const damage = expectedFiles(parsed.value).flatMap((f) => {
      const size = sizes.get(f.key);
      if (size === undefined) return [`${f.key} is missing`];
      return f.bytes !== undefined && size !== f.bytes ? [`${f.key} has ${size} bytes, the manifest says ${f.bytes}`] : [];
    });
    const m = parsed.value.manifest;
    const v1 = parsed.value.format === 'v1' ? parsed.value.manifest : undefined;
    summaries.push({
      backupId: folder,
      status: damage.length ? 'damaged' : 'complete',
      complete: damage.length === 0,
      format: parsed.value.format,
      timestamp: m.timestamp,
      tables: m.tables,
      recordCounts: m.recordCounts,
      totalRecords: m.totalRecords,
      totalBytes,
      purpose: v1?.purpose ?? 'backup',
      ...(v1 ? { completedAt: v1.completedAt, durationMs: v1.durationMs, consistency: v1.consistency, source: v1.source } : {}),
      ...(v1?.suspect ? { suspect: v1.suspect } : {}),
      ...(damage.length ? { problem: damage.length === 1 ? damage[0] : `${damage[0]} (and ${damage.length - 1} more)` } : {}),
    });
  }
  return summaries.sort((a, b) => sortKey(b).localeCompare(sortKey(a)));
}

/** A backup a restore may pick by itself: complete, not a drill's, and not flagged by the canary unless allowed. */
export function isGoodBackup(b: BackupSummary, options: PickOptions = {}): boolean {
  const done = b.completedAt ?? b.timestamp;
  const inTime = !options.at || (done !== undefined && new Date(done) <= options.at);
  return b.complete && b.purpose === 'backup' && (options.allowSuspect === true || b.suspect === undefined) && inTime;
}

function timestampOf(folder: string): { timestamp?: string } {
  const date = backupIdToDate(folder);
  return date ? { timestamp: date.toISOString() } : {};
}

function sortKey(s: BackupSummary): string {
  return `${s.timestamp ?? ''}|${s.backupId}`;
}

/**
 * Resolves `latest` to the newest good backup (complete, not a drill's, not suspect unless allowed);
 * checks that a named backup exists. A named backup is taken as named, drill or suspect.
 */
export async function resolveBackupId(store: BackupStore, ref: string, options: PickOptions = {}): Promise<string> {
  const wanted = ref.trim();
  if (!wanted) throw new UsageError('Name a backup: an id, `latest`, or the path/URL of one backup');
  if (wanted.toLowerCase() === 'latest') {
    const backups = await listBackups(store);
    const latest = backups.find((b) => isGoodBackup(b, options));
    if (latest) return latest.backupId;
    if (options.at && backups.some((b) => isGoodBackup(b, { ...options, at: undefined }))) throw new BackupNotFoundError(`No good backup in ${store.description} completed at or before ${options.at.toISOString()}`);
    const suspect = backups.find((b) => isGoodBackup(b, { allowSuspect: true }));
    if (suspect) throw new BackupNotFoundError(`The newest complete backup in ${store.description}, ${suspect.backupId}, is suspect (${suspect.suspect?.reason}) and there is no good one after it; name a backup, or allow suspect ones (--allow-suspect)`);
    if (backups.some((b) => b.complete)) throw new BackupNotFoundError(`${store.description} holds only drill backups; name one, or point at the real backups (--from or BACKUP_LOCATION)`);
    throw new BackupNotFoundError(`There is no complete backup in ${store.description}; create one with \`iconic-dr backup\``);
  }
  if (wanted.includes('/')) throw new UsageError(`"${wanted}" is not a backup id`);
  return wanted;
}
