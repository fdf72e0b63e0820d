import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createBackup } from '../../lambdas/core/backup.js';
import { listBackups, resolveBackupId } from '../../lambdas/core/catalog.js';
import { copyBackup } from '../../lambdas/core/download.js';
import { restoreBackup } from '../../lambdas/core/restore.js';
import { openPostgresSource } from '../../lambdas/core/postgres/source.js';
import type { SourceSession } from '../../lambdas/core/sources/source.js';
import { FileStore } from '../../lambdas/core/storage/file-store.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import { HARD_DATA_SQL, HARD_SCHEMA_SQL, HARD_TABLES } from '../fixtures/hard-schema.js';
import { runCli } from '../helpers/cli.js';
import { snapshotTables } from '../helpers/compare.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { backupDatabase } from '../helpers/engine.js';
import { S3RVER_CREDENTIALS, S3RVER_REGION, s3StoreFor, startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { because } from '../helpers/expect-message.js';

describe('backups on S3 (real S3-compatible server, s3rver): backup -> list -> validate -> download -> restore', () => {
  let s3: TestS3Server;
  let source: TestDatabase;
  let target: TestDatabase;
  let downloads: string;
  let expected: Record<string, string[]>;

  const cliEnv = () => ({
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: S3RVER_REGION,
  });

  beforeAll(async () => {
    s3 = await startS3Server();
    source = await createTestDatabase('s3_src');
    target = await createTestDatabase('s3_dst');
    await source.query(HARD_SCHEMA_SQL);
    await source.query(HARD_DATA_SQL);
    await target.query(HARD_SCHEMA_SQL);
    expected = await snapshotTables(source, HARD_TABLES);
    downloads = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-download-'));
  });

  afterAll(async () => {
    await source?.drop();
    await target?.drop();
    await s3?.stop();
    if (downloads) await rm(downloads, { recursive: true, force: true });
  });

  it('engine: the fidelity schema round-trips through S3 and through a downloaded copy', async () => {
    const store = s3StoreFor(s3, 'engine/backups');
    const backup = await backupDatabase(store, source.url);
    expect((await listBackups(store)).map((b) => [b.backupId, b.complete])).toEqual([[backup.backupId, true]]);
    expect((await validateBackup(store, backup.backupId)).problems).toEqual([]);

    await restoreBackup({ store, backupId: backup.backupId, databaseUrl: target.url });
    expect(await snapshotTables(target, HARD_TABLES)).toEqual(expected);

    const local = new FileStore(downloads);
    const copied = await copyBackup(store, backup.backupId, local);
    // Every table file, schema.json, schema.sql and metadata.json.
    expect(copied.files).toBe(HARD_TABLES.length + 3);
    expect((await validateBackup(local, backup.backupId)).valid).toBe(true);
    await target.query('TRUNCATE everything, employees');
    await restoreBackup({ store: local, backupId: backup.backupId, databaseUrl: target.url });
    expect(await snapshotTables(target, HARD_TABLES)).toEqual(expected);
  });

  it('an upload interrupted mid-stream leaves no complete backup, and the previous latest stays latest', async () => {
    const store = s3StoreFor(s3, 'interrupted', { partSize: 5 * 1024 * 1024 });
    const good = await backupDatabase(store, source.url, { startedAt: new Date('2030-01-01T00:00:00Z') });
    const real = await openPostgresSource({ databaseUrl: source.url, jobs: 1 });
    // A source that dies after ~6 MiB of one table, as a dropped connection would.
    const failing: SourceSession = {
      ...real,
      async exportTable(table) {
        if (table.name !== 'everything') return real.exportTable(table, 0);
        return Readable.from(
          (async function* () {
            for (let i = 0; i < 6; i++) yield Buffer.alloc(1024 * 1024, `{"id":${i}}\n`);
            throw new Error('connection lost mid-table');
          })(),
        );
      },
    };
    await expect(createBackup({ store, source: failing, startedAt: new Date('2030-01-02T00:00:00Z') })).rejects.toThrow(/connection lost mid-table/);
    await real.close();
    const backups = await listBackups(store);
    expect(backups.filter((b) => b.complete).map((b) => b.backupId)).toEqual([good.backupId]);
    expect(await resolveBackupId(store, 'latest')).toBe(good.backupId);
    expect(await store.statObject('2030-01-02T00-00-00-000Z/metadata.json')).toBeUndefined();
  });

  it('CLI: backup --to s3://, list, validate, download, restore --from s3://', async () => {
    const location = `s3://${s3.bucket}/cli/nightly`;
    const backup = await runCli(['backup', '--db', source.url, '--to', location], cliEnv());
    because(backup.stderr, () => expect(backup.code).toBe(0));
    const id = backup.stdout.trim();

    const list = await runCli(['list', '--from', location, '--json'], cliEnv());
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)[0]).toMatchObject({ backupId: id, complete: true, location });

    const validate = await runCli(['validate', `${location}/${id}`], cliEnv());
    because(validate.stderr, () => expect(validate.code).toBe(0));
    expect(validate.stdout).toContain('✓ Backup validation passed');

    const download = await runCli(['download', 'latest', '--from', location, '--to', downloads], cliEnv());
    because(download.stderr, () => expect(download.code).toBe(0));
    const local = await runCli(['validate', path.join(downloads, id), '--json']);
    expect(JSON.parse(local.stdout).valid).toBe(true);

    await target.query('TRUNCATE egg, chicken CASCADE');
    const restore = await runCli(['restore', 'latest', '--from', location, '--db', target.url, '--yes'], cliEnv());
    because(restore.stderr, () => expect(restore.code).toBe(0));
    expect(await snapshotTables(target, HARD_TABLES)).toEqual(expected);
  });

  it('CLI: a bucket that does not exist is one line naming the bucket, exit 3', async () => {
    const result = await runCli(['list', '--from', 's3://no-such-bucket-here/x'], cliEnv());
    expect(result.code).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('no-such-bucket-here');
  });
});
