import { pipeline } from 'node:stream';
import { readManifest } from './catalog.js';
import { schemaFiles } from './schema/files.js';
import { InvalidBackupError } from './errors.js';
import { MANIFEST_FILE, legacyTableFileKey } from './format/manifest.js';
import type { BackupStore } from './storage/store.js';
import { readText } from './storage/store.js';
import { HashingPassThrough } from './util/streams.js';

export interface DownloadResult {
  readonly backupId: string;
  readonly files: number;
  readonly bytes: number;
  readonly destination: string;
}

/**
 * Copies one complete backup between stores (the plan's `backup:download-s3`), checking each file's
 * SHA-256 on the way and writing metadata.json last, so the copy is complete or not a backup at all.
 */
export async function copyBackup(from: BackupStore, backupId: string, to: BackupStore, onFile?: (key: string) => void): Promise<DownloadResult> {
  const parsed = await readManifest(from, backupId);
  const files =
    parsed.format === 'v1'
      ? [...parsed.manifest.tables.flatMap((t) => parsed.manifest.tableDetails[t]!.files.map((f) => ({ key: f.key, sha256: f.sha256 as string | undefined }))), ...schemaFiles(parsed.manifest)]
      : parsed.manifest.tables.map((t) => ({ key: legacyTableFileKey(t), sha256: undefined as string | undefined }));
  await to.beginBackup(backupId);
  let bytes = 0;
  try {
    for (const file of files) {
      onFile?.(file.key);
      const hasher = new HashingPassThrough();
      const body = pipeline(await from.readObject(`${backupId}/${file.key}`), hasher, () => undefined);
      const written = await to.writeObject(`${backupId}/${file.key}`, body);
      if (file.sha256 && hasher.sha256 !== file.sha256) throw new InvalidBackupError(`${file.key} arrived with SHA-256 ${hasher.sha256.slice(0, 12)}…, the manifest says ${file.sha256.slice(0, 12)}…`, [`${file.key}: checksum mismatch`]);
      bytes += written.bytes;
    }
    const manifestText = await readText(from, `${backupId}/${MANIFEST_FILE}`);
    await to.createObject(`${backupId}/${MANIFEST_FILE}`, manifestText);
    bytes += Buffer.byteLength(manifestText);
  } catch (error) {
    await to.deletePrefix(`${backupId}/`).catch(() => undefined);
    throw error;
  }
  return { backupId, files: files.length + 1, bytes, destination: `${to.description}/${backupId}` };
}
