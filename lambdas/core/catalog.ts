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

/** A backup folder that holds a metadata.json, with its parsed manifest. */
export interface CompleteBackup {
  readonly backupId: string;
  readonly manifest: ParsedManifest;
  /** Bytes of the table files (v1 manifest), or of everything stored (legacy backups). */
  readonly totalBytes: number;
}

/** What a look-up of one backup id found: a readable metadata.json, or a folder without one (`missing`: nothing at all). */
export type FoundBackup = { readonly complete: CompleteBackup } | { readonly complete?: undefined; readonly missing: boolean };

/**
 * Looks a backup up by listing its folder before reading anything: a HEAD of a missing
 * metadata.json is answered 403, not 404, on real S3 when the role's s3:ListBucket is limited to the
 * backup prefix (lib/dr-function.ts), which statObject would report as "access denied". Listing is
 * allowed, so an interrupted backup (the backup role may not delete its partial files) is told apart
 * from a complete one without that request.
 *
 * Throws InvalidBackupError when the manifest is unreadable.
 */
export async function findBackup(store: BackupStore, backupId: string): Promise<FoundBackup> {
  const objects = await store.listObjects(`${backupId}/`);
  if (!objects.some((o) => o.key === `${backupId}/${MANIFEST_FILE}`)) return { missing: objects.length === 0 };
  const manifest = await parseStoredManifest(store, backupId);
  const totalBytes = manifest.format === 'v1' ? manifest.manifest.totalBytes : objects.reduce((sum, o) => sum + o.size, 0);
  return { complete: { backupId, manifest, totalBytes } };
}

/** Reads and parses a backup's metadata.json; fails when it is missing or unreadable. */
export async function readManifest(store: BackupStore, backupId: string): Promise<ParsedManifest> {
  const found = await findBackup(store, backupId);
  if (found.complete) return found.complete.manifest;
  throw backupNotFound(store, backupId, found.missing);
}

/** The one wording of "that backup is not there" (the CLI adds how to list them). */
export function backupNotFound(store: BackupStore, backupId: string, missing: boolean): BackupNotFoundError {
  return missing
    ? new BackupNotFoundError(`No backup ${backupId} in ${store.description}`, { hint: 'list-backups' })
    : new BackupNotFoundError(`Backup ${backupId} in ${store.description} is incomplete (no metadata.json): it was interrupted and cannot be used; pick another one`, { hint: 'list-backups' });
}

async function parseStoredManifest(store: BackupStore, backupId: string): Promise<ParsedManifest> {
  const parsed = parseManifest(await readText(store, `${backupId}/${MANIFEST_FILE}`));
  if (!parsed.ok) throw new InvalidBackupError(`Backup ${backupId} has an invalid metadata.json: ${parsed.problems[0]}`, parsed.problems);
  return parsed.value;
}

/** The files a manifest names, with their sizes where the format records them. */
function expectedFiles(parsed: ParsedManifest): { key: string; bytes?: number }[] {
  if (parsed.format === 'legacy') return parsed.manifest.tables.map((t) => ({ key: legacyTableFileKey(t) }));
  return [...parsed.manifest.tables.flatMap((t) => parsed.manifest.tableDetails[t]!.files.map((f) => ({ key: f.key, bytes: f.bytes }))), ...schemaFiles(parsed.manifest)];
}

/**
 * One folder as `list` sees it, from one listing and at most one manifest read; undefined for a
 * folder that is not a backup (the plan's layout keeps `logs/` beside the backups: only id-named
 * folders or folders with a manifest are backups).
 */
async function inspectFolder(store: BackupStore, folder: string): Promise<{ summary: BackupSummary; manifest?: ParsedManifest } | undefined> {
  const objects = await store.listObjects(`${folder}/`);
  const hasManifest = objects.some((o) => o.key === `${folder}/${MANIFEST_FILE}`);
  if (!hasManifest && !isBackupId(folder)) return undefined;
  const totalBytes = objects.reduce((s, o) => s + o.size, 0);
  const unusable = (status: 'incomplete' | 'invalid', problem: string | undefined) => ({ summary: { backupId: folder, status, complete: false, format: 'unknown', purpose: 'backup', totalBytes, problem, ...timestampOf(folder) } as BackupSummary });
  const manifestSize = objects.find((o) => o.key === `${folder}/${MANIFEST_FILE}`)?.size ?? 0;
  // Known from the listing: refuse without reading it (a hostile one may be hundreds of MB).
  if (manifestSize > MAX_MANIFEST_BYTES) return unusable('invalid', `metadata.json is ${manifestSize} bytes, more than the ${MAX_MANIFEST_BYTES}-byte limit`);
  if (!hasManifest) return unusable('incomplete', 'no metadata.json (interrupted or in progress)');
  const parsed = parseManifest(await readText(store, `${folder}/${MANIFEST_FILE}`));
  if (!parsed.ok) return unusable('invalid', parsed.problems[0]);
  const sizes = new Map(objects.map((o) => [o.key.slice(folder.length + 1), o.size]));
  const damage = expectedFiles(parsed.value).flatMap((f) => {
    const size = sizes.get(f.key);
    if (size === undefined) return [`${f.key} is missing`];
    return f.bytes !== undefined && size !== f.bytes ? [`${f.key} has ${size} bytes, the manifest says ${f.bytes}`] : [];
  });
  const m = parsed.value.manifest;
  const v1 = parsed.value.format === 'v1' ? parsed.value.manifest : undefined;
  const summary: BackupSummary = {
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
  };
  return { summary, manifest: parsed.value };
}

/** Every backup folder in the store, newest first, each with what the listing and its manifest prove. */
export async function listBackups(store: BackupStore): Promise<BackupSummary[]> {
  const summaries: BackupSummary[] = [];
  for (const folder of await store.listFolders()) {
    const inspected = await inspectFolder(store, folder);
    if (inspected) summaries.push(inspected.summary);
  }
  return summaries.sort((a, b) => sortKey(b).localeCompare(sortKey(a)));
}

/**
 * The newest backup `accept` takes (the one `listBackups(store).find(accept)` gives, as a backup's
 * manifest time is its id's), without inspecting every folder: id-named folders from the newest,
 * stopping at the first accepted one, plus every folder not named by an id (older layouts), ordered
 * as listBackups orders them. A nightly backup's canary and the RPO check ask this of a location
 * holding months of backups, where listBackups costs a listing and a manifest read per backup (two
 * S3 requests each).
 */
export async function newestBackupWhere(store: BackupStore, accept: (backup: BackupSummary) => boolean): Promise<BackupSummary | undefined> {
  const folders = await store.listFolders();
  let newest: BackupSummary | undefined;
  const newerThanFound = (summary: BackupSummary) => !newest || sortKey(summary).localeCompare(sortKey(newest)) > 0;
  for (const folder of folders.filter((f) => !isBackupId(f))) {
    const inspected = await inspectFolder(store, folder);
    if (inspected && accept(inspected.summary) && newerThanFound(inspected.summary)) newest = inspected.summary;
  }
  for (const backupId of folders.filter(isBackupId).sort().reverse()) {
    const inspected = await inspectFolder(store, backupId);
    if (inspected && accept(inspected.summary)) {
      if (newerThanFound(inspected.summary)) newest = inspected.summary;
      break;
    }
  }
  return newest;
}

/** Which good backups `completeBackups` returns. */
export interface CompleteBackupsOptions extends PickOptions {
  /** Stop after this many. */
  readonly limit?: number;
  /** Stop at backups started before this time. */
  readonly since?: Date;
  /** Only backups this accepts (full backups, backups holding some tables: handlers/shared/backup-scope.ts). */
  readonly filter?: (backup: { readonly backupId: string; readonly tables: readonly string[] }) => boolean;
}

/**
 * Good backups (isGoodBackup: complete, not a drill's, not suspect unless allowed), newest first.
 * Unlike `listBackups` it walks the id-named folders from the newest and stops as soon as it has
 * `limit` of them or passes `since`: "latest" costs two listings and one manifest read.
 */
export async function completeBackups(store: BackupStore, options: CompleteBackupsOptions = {}): Promise<CompleteBackup[]> {
  const folders = (await store.listFolders()).filter(isBackupId).sort().reverse();
  const found: CompleteBackup[] = [];
  for (const backupId of folders) {
    if (options.limit !== undefined && found.length >= options.limit) break;
    if (options.since && (backupIdToDate(backupId)?.getTime() ?? 0) < options.since.getTime()) break;
    const inspected = await inspectFolder(store, backupId);
    if (!inspected?.manifest || !isGoodBackup(inspected.summary, options)) continue;
    if (options.filter && !options.filter({ backupId, tables: inspected.summary.tables ?? [] })) continue;
    const manifest = inspected.manifest;
    found.push({ backupId, manifest, totalBytes: manifest.format === 'v1' ? manifest.manifest.totalBytes : inspected.summary.totalBytes });
  }
  return found;
}

/** A backup a restore may pick by itself: complete, not a drill's, and not flagged by the canary unless allowed. */
export function isGoodBackup(b: BackupSummary, options: PickOptions = {}): boolean {
  const done = b.completedAt ?? b.timestamp;
  const inTime = !options.at || (done !== undefined && new Date(done) <= options.at);
  // The one place that says a drill's backup or a suspect one is never `latest`, `random` or the previous good backup.
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
    const [latest] = await completeBackups(store, { ...options, limit: 1 });
    if (latest) return latest.backupId;
    throw noLatestBackup(store, await listBackups(store), options);
  }
  if (wanted.includes('/')) throw new UsageError(`"${wanted}" is not a backup id`);
  return wanted;
}

/** Why there is no `latest`: only older, suspect, drill, or no complete backups at all. */
function noLatestBackup(store: BackupStore, backups: readonly BackupSummary[], options: PickOptions): BackupNotFoundError {
  if (options.at && backups.some((b) => isGoodBackup(b, { ...options, at: undefined }))) return new BackupNotFoundError(`No good backup in ${store.description} completed at or before ${options.at.toISOString()}`);
  const suspect = backups.find((b) => isGoodBackup(b, { allowSuspect: true }));
  if (suspect) return new BackupNotFoundError(`The newest complete backup in ${store.description}, ${suspect.backupId}, is suspect (${suspect.suspect?.reason}) and there is no good one after it; name a backup, or allow suspect ones`, { hint: 'allow-suspect' });
  if (backups.some((b) => b.complete)) return new BackupNotFoundError(`${store.description} holds only drill backups; name one, or point at the real backups`, { hint: 'backup-location' });
  return new BackupNotFoundError(`There is no complete backup in ${store.description}`, { hint: 'create-backup' });
}
