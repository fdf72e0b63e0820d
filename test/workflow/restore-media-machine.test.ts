import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ENV, RESTORE_STATES as R } from '../../lib/contract.js';
import { readSnapshot } from '../../lambdas/core/media/catalog.js';
import { verifyMedia } from '../../lambdas/core/media/restore.js';
import { syncMedia } from '../../lambdas/core/media/sync.js';
import { createShop, SHOP_SCHEMA_SQL } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { backupDatabase } from '../helpers/engine.js';
import { S3RVER_CREDENTIALS, S3RVER_REGION, s3StoreFor, startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { functionEnvironment, setEnvironment } from './support/environment.js';
import { ARNS, captureOutput, databaseSecretFor, mockSecretsManager, mockSns, type OutputCapture } from './support/lambda.js';
import { type Definitions, runMachine, synthDefinitions } from './support/machines.js';
import { restoreTasks } from './support/restore-tasks.js';

/**
 * The restore state machine with `"media": true`, as synthesized, executed with the real handlers:
 * one s3rver is the vault (backups and media), one plays production's Supabase Storage (where the
 * snapshots were taken) and one staging's. Only Secrets Manager and SNS are mocked, at the SDK client.
 */

const PREFIX = 'backups';
const secrets = mockSecretsManager();
const sns = mockSns();

function clientFor(server: TestS3Server): S3Client {
  return new S3Client({ endpoint: server.endpoint, forcePathStyle: true, region: S3RVER_REGION, credentials: S3RVER_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
}

function storageOf(server: TestS3Server): Record<string, string> {
  return { endpoint: server.endpoint, region: S3RVER_REGION, accessKeyId: S3RVER_CREDENTIALS.accessKeyId, secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey };
}

async function listing(client: S3Client, bucket: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const page = await client.send(new ListObjectsV2Command({ Bucket: bucket })).catch(() => ({ Contents: [] }));
  for (const o of page.Contents ?? []) {
    const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
    out[o.Key!] = await body.Body!.transformToString();
  }
  return out;
}

describe('restore state machine with media: the recovery point\'s files into the target\'s Storage (SNS and Secrets Manager mocked)', () => {
  let definitions: Definitions;
  let vault: TestS3Server;
  let production: TestS3Server;
  let staging: TestS3Server;
  let productionClient: S3Client;
  let stagingClient: S3Client;
  let sourceDb: TestDatabase;
  let stagingDb: TestDatabase;
  let oldBackupId: string;
  let backupId: string;
  let pointSnapshotId: string;
  let laterSnapshotId: string;
  let undoEnv: () => void;
  let output: OutputCapture;

  const tasks = () => restoreTasks();

  function pointStaging(storage: Record<string, string> | undefined): void {
    const secret = databaseSecretFor(stagingDb.url, storage ? { storage } : {});
    secrets.values.set(ARNS.staging, secret);
    secrets.values.set(ARNS.stagingReadOnly, secret);
  }

  beforeAll(async () => {
    definitions = synthDefinitions();
    [vault, production, staging] = await Promise.all([startS3Server(), startS3Server(), startS3Server()]);
    productionClient = clientFor(production);
    stagingClient = clientFor(staging);
    [sourceDb, stagingDb] = await Promise.all([createTestDatabase('wf_media_src'), createTestDatabase('wf_media_stg')]);
    const src = await connect(sourceDb.url);
    await createShop(src, 0.001);
    await src.end();
    const stg = await connect(stagingDb.url);
    await stg.query(SHOP_SCHEMA_SQL);
    await stg.end();

    const store = s3StoreFor(vault, PREFIX);
    oldBackupId = (await backupDatabase(store, sourceDb.url, { startedAt: new Date('2020-01-01T00:00:00Z') })).backupId;
    await production.createBucket('products');
    await production.createBucket('avatars');
    await productionClient.send(new PutObjectCommand({ Bucket: 'products', Key: 'shirts/red shirt €.jpg', Body: 'red shirt v1', ContentType: 'image/jpeg', Metadata: { owner: 'shop' } }));
    await productionClient.send(new PutObjectCommand({ Bucket: 'avatars', Key: 'u1/a+b%20.png', Body: 'avatar one', ContentType: 'image/png' }));
    await productionClient.send(new PutObjectCommand({ Bucket: 'avatars', Key: 'empty.txt', Body: '' }));
    const source = production.endpoint.replace(/^https?:\/\//, '');
    pointSnapshotId = (await syncMedia({ client: productionClient, source, vault: store })).snapshot.snapshotId;
    // The recovery point: the backup completes after the first snapshot and before the second.
    backupId = (await backupDatabase(store, sourceDb.url)).backupId;
    await productionClient.send(new PutObjectCommand({ Bucket: 'products', Key: 'shirts/red shirt €.jpg', Body: 'red shirt v2 (after the backup)', ContentType: 'image/jpeg' }));
    await productionClient.send(new PutObjectCommand({ Bucket: 'products', Key: 'later.jpg', Body: 'uploaded after the backup' }));
    await productionClient.send(new DeleteObjectCommand({ Bucket: 'avatars', Key: 'empty.txt' }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    laterSnapshotId = (await syncMedia({ client: productionClient, source, vault: store })).snapshot.snapshotId;
    expect(laterSnapshotId > pointSnapshotId).toBe(true);

    undoEnv = setEnvironment({ ...functionEnvironment(vault, PREFIX), [ENV.restoreMedia]: 'true' });
  });

  afterAll(async () => {
    undoEnv?.();
    productionClient?.destroy();
    stagingClient?.destroy();
    await Promise.all([sourceDb, stagingDb].map((db) => db?.drop()));
    await Promise.all([vault, production, staging].map((s) => s?.stop()));
  });

  beforeEach(() => {
    secrets.reset();
    secrets.values.clear();
    secrets.values.set(ARNS.production, databaseSecretFor(sourceDb.url));
    sns.reset();
    output = captureOutput();
  });
  afterEach(() => output.restore());

  it('restores the database, then the media snapshot of the same recovery point (not the newest), and verifies every object', async () => {
    pointStaging(storageOf(staging));

    const run = await runMachine(definitions.restore, { backupId: 'latest', target: 'staging', media: true }, tasks(), 'IconicDrRestore');

    expect(run.error).toBeUndefined();
    expect(run.path).toEqual([R.pickBackup, R.checkConfirmation, R.validatePlan, R.validate, R.validateSummary, R.isBackupValid, R.restore, R.verifyCounts, R.integrityCheck, R.mediaRequested, R.restoreMedia, R.notifySuccess, R.succeeded]);
    expect(run.output!.backup).toMatchObject({ backupId, media: true, mediaSnapshotId: pointSnapshotId, mediaExact: false });
    expect(run.output!.media).toMatchObject({ snapshotId: pointSnapshotId, target: 'staging', bucketsCreated: ['avatars', 'products'], uploaded: 3, objectsVerified: 3 });
    // The files as they were at the recovery point: v1 of the shirt, no later upload, the 0-byte file back.
    expect(await listing(stagingClient, 'products')).toEqual({ 'shirts/red shirt €.jpg': 'red shirt v1' });
    expect(await listing(stagingClient, 'avatars')).toEqual({ 'u1/a+b%20.png': 'avatar one', 'empty.txt': '' });
    const snapshot = await readSnapshot(s3StoreFor(vault, PREFIX), pointSnapshotId);
    expect((await verifyMedia(stagingClient, s3StoreFor(vault, PREFIX), snapshot)).ok).toBe(true);
    // Production's Storage (the snapshots' source) was only read, never written.
    expect(await listing(productionClient, 'products')).toEqual({ 'shirts/red shirt €.jpg': 'red shirt v2 (after the backup)', 'later.jpg': 'uploaded after the backup' });

    // Without "media" the machine skips the step.
    const plain = await runMachine(definitions.restore, { backupId: 'latest', target: 'staging' }, tasks(), 'IconicDrRestore');
    expect(plain.error).toBeUndefined();
    expect(plain.path).toEqual([R.pickBackup, R.checkConfirmation, R.validatePlan, R.validate, R.validateSummary, R.isBackupValid, R.restore, R.verifyCounts, R.integrityCheck, R.mediaRequested, R.notifySuccess, R.succeeded]);
    expect(plain.calls[R.restoreMedia]).toBeUndefined();
  });

  it('with mediaExact also deletes what the snapshot does not have', async () => {
    pointStaging(storageOf(staging));
    await stagingClient.send(new PutObjectCommand({ Bucket: 'products', Key: 'stray.jpg', Body: 'not in the snapshot' }));

    const run = await runMachine(definitions.restore, { backupId, target: 'staging', media: true, mediaExact: true }, tasks(), 'IconicDrRestore');

    expect(run.error).toBeUndefined();
    expect(run.output!.media).toMatchObject({ deleted: 1 });
    expect(await listing(stagingClient, 'products')).toEqual({ 'shirts/red shirt €.jpg': 'red shirt v1' });
  });

  it('refuses a drill whose staging Storage is the one the snapshots came from, writing nothing, and alerts', async () => {
    pointStaging(storageOf(production));
    const before = await listing(productionClient, 'products');

    const run = await runMachine(definitions.restore, { backupId, target: 'staging', drill: 'weekly', media: true }, tasks(), 'IconicDrRestore');

    expect(run.error?.name).toBe('RestoreFailed');
    expect(run.path.slice(-4)).toEqual([R.restoreMedia, R.failedRestoreMedia, R.notifyFailure, R.failed]);
    expect(run.calls[R.notifyFailure]?.[0]).toMatchObject({ state: { error: { Error: 'TargetIdentityError', Cause: expect.stringContaining('is the Storage media snapshot') } } });
    expect(run.error?.message).toContain('the Storage of the target may hold part of the snapshot');
    expect(await listing(productionClient, 'products')).toEqual(before);
    const [alert, ...more] = sns.published();
    expect(more).toEqual([]);
    // SNS subjects stop at 100 characters; the message has the whole story.
    expect(alert).toMatchObject({ TopicArn: ARNS.critical, Subject: expect.stringMatching(/^CRITICAL iconic-dr: weekly drill \(restore into staging\) failed at RestoreMedia \(TargetIdentity/) });
    expect(alert!.Message).toContain('TargetIdentityError');
  });

  it('says what to add when the target secret has no storage, and fails at PickBackup, touching nothing, when no snapshot precedes the backup', async () => {
    pointStaging(undefined);
    const missing = await runMachine(definitions.restore, { backupId, target: 'staging', media: true }, tasks(), 'IconicDrRestore');
    expect(missing.calls[R.notifyFailure]?.[0]).toMatchObject({ state: { error: { Error: 'ConfigError', Cause: expect.stringContaining('has no "storage"') } } });

    pointStaging(storageOf(staging));
    const tooOld = await runMachine(definitions.restore, { backupId: oldBackupId, target: 'staging', media: true }, tasks(), 'IconicDrRestore');
    expect(tooOld.path).toEqual([R.pickBackup, R.failedPickBackup, R.notifyFailure, R.failed]);
    expect(tooOld.calls[R.notifyFailure]?.[0]).toMatchObject({ state: { error: { Error: 'BackupNotFoundError', Cause: expect.stringContaining(`at or before backup ${oldBackupId} completed`) } } });

    const misspelt = await runMachine(definitions.restore, { backupId, target: 'staging', mediaExact: true }, tasks(), 'IconicDrRestore');
    expect(misspelt.calls[R.notifyFailure]?.[0]).toMatchObject({ state: { error: { Error: 'UsageError', Cause: expect.stringContaining('"mediaExact" goes with "media": true only') } } });
  });
});
