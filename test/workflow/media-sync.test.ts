import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ENV, METRICS } from '../../lib/contract.js';
import { handler } from '../../lambdas/handlers/media-sync.js';
import { listSnapshots } from '../../lambdas/core/media/catalog.js';
import { verifyMedia } from '../../lambdas/core/media/restore.js';
import { S3RVER_CREDENTIALS, S3RVER_REGION, s3StoreFor, startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { functionEnvironment, setEnvironment } from './support/environment.js';
import { captureOutput, mockSecretsManager, type OutputCapture } from './support/lambda.js';

const PREFIX = 'backups';
const STORAGE_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:IconicDrStorage-AbCdEf';

/**
 * The hourly media-sync function with its real handler: one s3rver plays the backup bucket, another
 * Supabase Storage; only Secrets Manager is mocked (at the SDK client).
 */
describe('media-sync function (Secrets Manager mocked)', () => {
  const secrets = mockSecretsManager();
  let vault: TestS3Server;
  let storage: TestS3Server;
  let storageClient: S3Client;
  let restoreEnv: () => void;
  let output: OutputCapture;

  beforeAll(async () => {
    vault = await startS3Server();
    storage = await startS3Server();
    await storage.createBucket('avatars');
    storageClient = new S3Client({ endpoint: storage.endpoint, forcePathStyle: true, region: S3RVER_REGION, credentials: S3RVER_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
    await storageClient.send(new PutObjectCommand({ Bucket: 'avatars', Key: 'u1.png', Body: 'avatar one', ContentType: 'image/png' }));
    restoreEnv = setEnvironment({ ...functionEnvironment(vault, PREFIX), [ENV.storageSecretArn]: STORAGE_SECRET });
  });

  afterAll(async () => {
    restoreEnv?.();
    storageClient?.destroy();
    await vault?.stop();
    await storage?.stop();
  });

  beforeEach(() => {
    secrets.reset();
    secrets.values.clear();
    output = captureOutput();
  });
  afterEach(() => output.restore());

  it('waits quietly for the Storage secret before the first snapshot (no failure, no page on a new stack)', async () => {
    expect(await handler({ sync: 'media' })).toEqual({ snapshotId: null, objects: null, newObjects: null, bytesRead: null, snapshotAgeMinutes: null });
    expect(output.metric(METRICS.mediaSnapshotAgeMinutes)).toEqual([]);
  });

  it('syncs Storage into the bucket as a snapshot and emits MediaSnapshotAgeMinutes', async () => {
    secrets.values.set(STORAGE_SECRET, JSON.stringify({ endpoint: storage.endpoint, region: S3RVER_REGION, accessKeyId: S3RVER_CREDENTIALS.accessKeyId, secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey }));
    const result = await handler({ sync: 'media' });
    expect(result).toMatchObject({ objects: 1, newObjects: 1, snapshotAgeMinutes: 0 });
    expect(output.metric(METRICS.mediaSnapshotAgeMinutes)).toEqual([0]);
    const store = s3StoreFor(vault, PREFIX);
    const [latest] = await listSnapshots(store);
    expect(latest?.snapshotId).toBe(result.snapshotId);
    expect((await verifyMedia(storageClient, store, latest!.snapshot!)).ok).toBe(true);
  });

  it('once snapshots exist, a missing secret fails the run (and the age still reports)', async () => {
    await expect(handler({ sync: 'media' })).rejects.toThrow(/Supabase Storage secret/);
    expect(output.metric(METRICS.mediaSnapshotAgeMinutes)).toHaveLength(1);
    await expect(handler({ sync: 'other' } as never)).rejects.toThrow(/sync/);
  });
});
