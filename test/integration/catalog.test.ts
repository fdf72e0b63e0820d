import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { completeBackups, findBackup, readManifest, resolveBackupId } from '../../lambdas/core/catalog.js';
import { BackupNotFoundError } from '../../lambdas/core/errors.js';
import { legacyTableFileKey } from '../../lambdas/core/format/manifest.js';
import { tempFileStore } from '../helpers/engine.js';

/** Legacy manifests: the folder store and no database are enough to exercise the catalog's rules. */
const legacyManifest = (id: string, tables: readonly string[]) =>
  JSON.stringify({ timestamp: id.replace(/T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z/, 'T$1:$2:$3.$4Z'), tables, recordCounts: Object.fromEntries(tables.map((t) => [t, 1])), totalRecords: tables.length, success: true });

describe('the backup catalog, one for the CLI and the Lambdas (folder store)', () => {
  let files: Awaited<ReturnType<typeof tempFileStore>>;

  async function addBackup(id: string, options: { tables?: string[]; manifest?: boolean; missingFile?: boolean } = {}): Promise<void> {
    const tables = options.tables ?? ['orders'];
    await mkdir(path.join(files.root, id), { recursive: true });
    for (const [i, table] of tables.entries()) if (!(options.missingFile && i === 0)) await writeFile(path.join(files.root, id, legacyTableFileKey(table)), '[{"id":1}]');
    if (options.manifest !== false) await writeFile(path.join(files.root, id, 'metadata.json'), legacyManifest(id, tables));
  }

  beforeEach(async () => {
    files = await tempFileStore();
  });
  afterEach(async () => files.cleanup());

  it('resolves latest to the newest complete backup, passing over interrupted and damaged ones', async () => {
    await addBackup('2026-01-01T02-00-00-000Z');
    await addBackup('2026-01-02T02-00-00-000Z', { manifest: false });
    await addBackup('2026-01-03T02-00-00-000Z', { missingFile: true });
    await mkdir(path.join(files.root, 'logs'));
    expect(await resolveBackupId(files.store, 'latest')).toBe('2026-01-01T02-00-00-000Z');
    expect((await completeBackups(files.store)).map((b) => b.backupId)).toEqual(['2026-01-01T02-00-00-000Z']);
  });

  it('stops at the limit and at since, and keeps only what the filter accepts', async () => {
    await addBackup('2026-01-01T02-00-00-000Z');
    await addBackup('2026-01-02T02-00-00-000Z', { tables: ['orders', 'users'] });
    await addBackup('2026-01-03T02-00-00-000Z');
    expect((await completeBackups(files.store, { limit: 2 })).map((b) => b.backupId)).toEqual(['2026-01-03T02-00-00-000Z', '2026-01-02T02-00-00-000Z']);
    expect((await completeBackups(files.store, { since: new Date('2026-01-02T00:00:00Z') })).map((b) => b.backupId)).toEqual(['2026-01-03T02-00-00-000Z', '2026-01-02T02-00-00-000Z']);
    expect((await completeBackups(files.store, { filter: (b) => b.tables.includes('users') })).map((b) => b.backupId)).toEqual(['2026-01-02T02-00-00-000Z']);
  });

  it('tells a missing backup from an interrupted one, by listing, and words both once', async () => {
    await addBackup('2026-01-02T02-00-00-000Z', { manifest: false });
    expect(await findBackup(files.store, '2026-01-01T02-00-00-000Z')).toEqual({ missing: true });
    expect(await findBackup(files.store, '2026-01-02T02-00-00-000Z')).toEqual({ missing: false });
    const missing = await readManifest(files.store, '2026-01-01T02-00-00-000Z').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(BackupNotFoundError);
    expect(missing).toMatchObject({ hint: 'list-backups', message: expect.stringMatching(/^No backup 2026-01-01T02-00-00-000Z in /) });
    await expect(readManifest(files.store, '2026-01-02T02-00-00-000Z')).rejects.toThrow(/is incomplete \(no metadata\.json\)/);
  });

  it('says there is no complete backup, with the hint to create one, in an empty store', async () => {
    await expect(resolveBackupId(files.store, 'latest')).rejects.toMatchObject({ name: 'BackupNotFoundError', hint: 'create-backup' });
  });
});
