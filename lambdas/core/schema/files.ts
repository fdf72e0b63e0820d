import { createHash } from 'node:crypto';
import { InvalidBackupError } from '../errors.js';
import type { Manifest } from '../format/manifest.js';
import type { BackupStore } from '../storage/store.js';
import { readText } from '../storage/store.js';
import type { SchemaScript } from './capture.js';

/** Every problem with a backup's schema files: missing, another size, another SHA-256 (sizes only when quick). */
export async function schemaFileProblems(store: BackupStore, backupId: string, manifest: Manifest, quick: boolean): Promise<string[]> {
  if (!manifest.schema) return [];
  const problems: string[] = [];
  for (const file of [manifest.schema.json, manifest.schema.sql]) {
    const stat = await store.statObject(`${backupId}/${file.key}`);
    if (!stat) {
      problems.push(`${file.key}: missing`);
      continue;
    }
    if (stat.size !== file.bytes) {
      problems.push(`${file.key}: ${stat.size} bytes, the manifest says ${file.bytes} (truncated or modified)`);
      continue;
    }
    if (quick) continue;
    const sha256 = createHash('sha256').update(await readText(store, `${backupId}/${file.key}`), 'utf8').digest('hex');
    if (sha256 !== file.sha256) problems.push(`${file.key}: SHA-256 ${sha256.slice(0, 12)}… differs from the manifest's ${file.sha256.slice(0, 12)}… (corrupted)`);
  }
  return problems;
}

/** The schema a restore applies, checked against the manifest's SHA-256 first. */
export async function readSchemaScript(store: BackupStore, backupId: string, manifest: Manifest): Promise<SchemaScript | undefined> {
  if (!manifest.schema) return undefined;
  const text = await readText(store, `${backupId}/${manifest.schema.json.key}`);
  const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
  if (sha256 !== manifest.schema.json.sha256) throw new InvalidBackupError(`Backup ${backupId} is not valid: ${manifest.schema.json.key} does not match its SHA-256 (corrupted); nothing was changed`, [`${manifest.schema.json.key}: SHA-256 differs`]);
  return JSON.parse(text) as SchemaScript;
}

/** The schema files a manifest names, for copying and listing beside the table files. */
export function schemaFiles(manifest: Manifest): { key: string; bytes: number; sha256: string }[] {
  return manifest.schema ? [manifest.schema.json, manifest.schema.sql] : [];
}
