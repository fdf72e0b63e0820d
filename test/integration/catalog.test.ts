import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { completeBackups, findBackup, listBackups, newestBackupWhere, readManifest, resolveBackupId, type BackupSummary } from '../../lambdas/core/catalog.js';
import { BackupNotFoundError } from '../../lambdas/core/errors.js';
import { legacyTableFileKey } from '../../lambdas/core/format/manifest.js';
import type { BackupStore } from '../../lambdas/core/storage/store.js';
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

  it('finds the newest backup a test accepts as listBackups does, reading manifests only from the newest down to it', async () => {
    const ids = ['2026-01-01T02-00-00-000Z', '2026-01-02T02-00-00-000Z', '2026-01-03T02-00-00-000Z', '2026-01-04T02-00-00-000Z', '2026-01-05T02-00-00-000Z', '2026-01-06T02-00-00-000Z'];
    await addBackup(ids[0]!, { tables: ['orders', 'users'] });
    await addBackup(ids[1]!);
    await addBackup(ids[2]!, { missingFile: true });
    await addBackup(ids[3]!, { tables: ['users'] });
    await addBackup(ids[4]!, { manifest: false });
    await addBackup(ids[5]!);
    // A folder of an older layout, not named by an id: always considered, in listBackups' order.
    await mkdir(path.join(files.root, 'before-ids'));
    await writeFile(path.join(files.root, 'before-ids', 'metadata.json'), legacyManifest('2026-01-03T12-00-00-000Z', ['orders']));
    await writeFile(path.join(files.root, 'before-ids', legacyTableFileKey('orders')), '[{"id":1}]');
    await mkdir(path.join(files.root, 'logs'));

    const manifestReads: string[] = [];
    const counting = new Proxy(files.store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== 'readObject' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
        return (key: string, ...rest: unknown[]) => {
          if (key.endsWith('/metadata.json')) manifestReads.push(key.slice(0, key.indexOf('/')));
          return (value as (...args: unknown[]) => unknown).call(target, key, ...rest);
        };
      },
    }) as BackupStore;

    const tests: Record<string, (b: BackupSummary) => boolean> = {
      complete: (b) => b.complete,
      'holds users': (b) => b.complete && (b.tables ?? []).includes('users'),
      'holds users and orders': (b) => b.complete && (b.tables ?? []).includes('users') && (b.tables ?? []).includes('orders'),
      'from before Jan 4': (b) => b.complete && (b.timestamp ?? '') < '2026-01-04',
      incomplete: (b) => b.status === 'incomplete',
      none: () => false,
    };
    const all = await listBackups(files.store);
    for (const [name, accept] of Object.entries(tests)) {
      manifestReads.length = 0;
      const found = await newestBackupWhere(counting, accept);
      expect({ name, found: found?.backupId }).toEqual({ name, found: all.find(accept)?.backupId });
      if (name === 'complete') expect(manifestReads.sort()).toEqual([ids[5], 'before-ids'].sort());
      if (name === 'holds users') expect(manifestReads.sort()).toEqual([ids[3], ids[5], 'before-ids'].sort());
    }
    expect((await newestBackupWhere(files.store, tests['from before Jan 4']!))?.backupId).toBe('before-ids');
  });

  it('says there is no complete backup, with the hint to create one, in an empty store', async () => {
    await expect(resolveBackupId(files.store, 'latest')).rejects.toMatchObject({ name: 'BackupNotFoundError', hint: 'create-backup' });
  });
});
