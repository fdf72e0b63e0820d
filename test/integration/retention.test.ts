import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { listBackups } from '../../lambdas/core/catalog.js';
import { pruneBackups } from '../../lambdas/core/retention.js';
import { tempFileStore } from '../helpers/engine.js';

const legacyManifest = (timestamp: string) => JSON.stringify({ timestamp, tables: [], recordCounts: {}, totalRecords: 0, success: true });

describe('retention (prune) on a folder store', () => {
  let files: Awaited<ReturnType<typeof tempFileStore>>;

  async function addBackup(id: string, complete = true): Promise<void> {
    await mkdir(path.join(files.root, id), { recursive: true });
    await writeFile(path.join(files.root, id, 'orders.ndjson.gz'), 'x');
    if (complete) await writeFile(path.join(files.root, id, 'metadata.json'), legacyManifest(id.replace(/T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z/, 'T$1:$2:$3.$4Z')));
  }

  beforeEach(async () => {
    files = await tempFileStore();
  });
  afterEach(async () => files.cleanup());

  it('deletes complete backups past the retention and stale incomplete ones, keeps the rest', async () => {
    await addBackup('2024-01-01T02-00-00-000Z');
    await addBackup('2024-01-20T02-00-00-000Z');
    await addBackup('2024-02-10T02-00-00-000Z');
    await addBackup('2024-02-09T02-00-00-000Z', false);
    await addBackup('2024-02-10T09-00-00-000Z', false);
    await mkdir(path.join(files.root, 'logs'));
    const result = await pruneBackups(files.store, { keepDays: 30, now: new Date('2024-02-10T12:00:00Z') });
    expect([...result.deleted].sort()).toEqual(['2024-01-01T02-00-00-000Z', '2024-02-09T02-00-00-000Z']);
    expect((await listBackups(files.store)).map((b) => b.backupId)).toEqual(['2024-02-10T09-00-00-000Z', '2024-02-10T02-00-00-000Z', '2024-01-20T02-00-00-000Z']);
  });

  it('always keeps the newest complete backup, however old, and a dry run deletes nothing', async () => {
    await addBackup('2020-01-01T02-00-00-000Z');
    await addBackup('2019-01-01T02-00-00-000Z');
    const dry = await pruneBackups(files.store, { keepDays: 30, dryRun: true });
    expect(dry.deleted).toEqual(['2019-01-01T02-00-00-000Z']);
    expect((await listBackups(files.store)).length).toBe(2);
    const real = await pruneBackups(files.store, { keepDays: 30 });
    expect(real.kept).toEqual(['2020-01-01T02-00-00-000Z']);
  });
});
