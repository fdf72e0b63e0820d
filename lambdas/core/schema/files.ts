import { createHash } from 'node:crypto';
import { InvalidBackupError } from '../errors.js';
import type { Manifest } from '../format/manifest.js';
import type { BackupStore } from '../storage/store.js';
import { readText } from '../storage/store.js';
import type { SchemaScript } from './capture.js';

/** A schema file as the manifest lists it. */
export interface SchemaFile {
  readonly key: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Every problem with a backup's schema files: missing, another size, another SHA-256 (sizes only when quick). */
export async function schemaFileProblems(store: BackupStore, backupId: string, manifest: Manifest, quick: boolean): Promise<string[]> {
  const problems: string[] = [];
  for (const file of schemaFiles(manifest)) {
    const problem = await schemaFileProblem(store, backupId, file, quick);
    if (problem) problems.push(problem);
  }
  return problems;
}

/** One schema file's problem (missing, wrong size, or, unless `quick`, wrong SHA-256), if any. */
export async function schemaFileProblem(store: BackupStore, backupId: string, file: SchemaFile, quick: boolean): Promise<string | undefined> {
  const stat = await store.statObject(`${backupId}/${file.key}`);
  if (!stat) return `${file.key}: missing`;
  if (stat.size !== file.bytes) return `${file.key}: ${stat.size} bytes, the manifest says ${file.bytes} (truncated or modified)`;
  if (quick) return undefined;
  const sha256 = createHash('sha256').update(await readText(store, `${backupId}/${file.key}`), 'utf8').digest('hex');
  return sha256 === file.sha256 ? undefined : `${file.key}: SHA-256 ${sha256.slice(0, 12)}… differs from the manifest's ${file.sha256.slice(0, 12)}… (corrupted)`;
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
export function schemaFiles(manifest: Manifest): SchemaFile[] {
  return manifest.schema ? [manifest.schema.json, manifest.schema.sql] : [];
}
