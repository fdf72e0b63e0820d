import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { listSnapshots, resolveSnapshot } from '../../lambdas/core/media/catalog.js';
import { pruneMedia } from '../../lambdas/core/media/prune.js';
import { restoreMedia, verifyMedia } from '../../lambdas/core/media/restore.js';
import { OBJECTS_PREFIX } from '../../lambdas/core/media/snapshot.js';
import { syncMedia } from '../../lambdas/core/media/sync.js';
import { storageClient } from '../../lambdas/core/media/storage-client.js';
import { seededFaults, startFaultProxy } from '../helpers/fault-proxy.js';
import { FileStore } from '../../lambdas/core/storage/file-store.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase } from '../helpers/database.js';
import { createShop } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { S3RVER_CREDENTIALS, S3RVER_REGION, s3StoreFor, startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { because } from '../helpers/expect-message.js';

/**
 * Supabase Storage is an S3-compatible endpoint: one s3rver plays it (several buckets), the vault is a
 * folder or a bucket on another s3rver. Everything goes through the real @aws-sdk/client-s3.
 */
describe('media: Supabase Storage snapshots (S3 server playing Storage)', () => {
  let storage: TestS3Server;
  let vaultServer: TestS3Server;
  let client: S3Client;
  let work: string;
  let vault: string;
  let env: Record<string, string>;

  const KEYS = ['plain.txt', 'with space/file name.png', 'unicodé/日本語.txt', 'percent%20and+plus.bin', 'a/../b/dots.txt', 'empty.bin'];
  const put = (bucket: string, key: string, body: string, extra: { ContentType?: string; CacheControl?: string; Metadata?: Record<string, string> } = {}) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
  const read = async (bucket: string, key: string) => {
    const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return { body: await r.Body!.transformToString(), contentType: r.ContentType, cacheControl: r.CacheControl, metadata: r.Metadata };
  };
  const keysOf = async (bucket: string) => ((await client.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).sort();
  const emptyBucket = async (bucket: string) => {
    for (const key of await keysOf(bucket)) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  };

  beforeAll(async () => {
    storage = await startS3Server();
    vaultServer = await startS3Server();
    client = new S3Client({ endpoint: storage.endpoint, forcePathStyle: true, region: S3RVER_REGION, credentials: S3RVER_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
    await storage.createBucket('avatars');
    await storage.createBucket('products');
    for (const [i, key] of KEYS.entries()) await put('products', key, key === 'empty.bin' ? '' : `content of ${key} #${i}`, { ContentType: 'image/png', CacheControl: 'max-age=3600', Metadata: { owner: `user-${i}` } });
    await put('avatars', 'u1.png', 'avatar one', { ContentType: 'image/png' });
    await put('avatars', 'u2.png', 'avatar two');
    work = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-media-'));
    vault = path.join(work, 'vault');
    env = { STORAGE_S3_ENDPOINT: storage.endpoint, STORAGE_S3_REGION: S3RVER_REGION, STORAGE_S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, BACKUP_LOCATION: vault };
  });

  afterAll(async () => {
    client?.destroy();
    await storage?.stop();
    await vaultServer?.stop();
    await rm(work, { recursive: true, force: true });
  });

  let first: string;
  let second: string;
  const originals = new Map<string, Awaited<ReturnType<typeof read>>>();

  it('sync copies every object of every bucket and prints the snapshot id', async () => {
    for (const key of KEYS) originals.set(key, await read('products', key));
    const result = await runCli(['media', 'sync', '--json'], env);
    because(result.stderr, () => expect(result.code).toBe(0));
    const json = JSON.parse(result.stdout);
    first = json.snapshotId;
    expect(json.buckets.map((b: { name: string }) => b.name)).toEqual(['avatars', 'iconic-dr-test', 'products']);
    expect(json.stats).toMatchObject({ objects: KEYS.length + 2, new: KEYS.length + 2, changed: 0, deleted: 0 });
    expect(json.requests.get).toBe(KEYS.length + 2);
    const text = await runCli(['media', 'sync', '--buckets', 'avatars'], env);
    expect(text.stdout).toMatch(/^\d{4}-\d{2}-\d{2}T[\d-]+Z\n$/);
  });

  it('an unchanged sync reads no object; a changed one reads only what changed, and counts new/changed/deleted', async () => {
    const unchanged = JSON.parse((await runCli(['media', 'sync', '--json'], env)).stdout);
    expect(unchanged.requests.get).toBe(0);
    expect(unchanged.stats).toMatchObject({ new: 0, changed: 0, deleted: 0, bytesRead: 0, contentsStored: 0 });

    await new Promise((r) => setTimeout(r, 1100)); // a new last-modified second for the changed object
    await put('products', 'plain.txt', 'new content', { ContentType: 'text/plain' });
    await put('products', 'added.txt', 'brand new');
    await client.send(new DeleteObjectCommand({ Bucket: 'avatars', Key: 'u2.png' }));
    const changed = JSON.parse((await runCli(['media', 'sync', '--json'], env)).stdout);
    second = changed.snapshotId;
    expect(changed.requests.get).toBe(2);
    expect(changed.stats).toMatchObject({ new: 1, changed: 1, deleted: 1, objects: KEYS.length + 2 });

    const list = await runCli(['media', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/Snapshot ID\s+Time\s+Objects\s+Size\s+New\s+Changed\s+Deleted/);
    expect(list.stdout).toContain(second);
    const listed = JSON.parse((await runCli(['media', 'list', '--json'], env)).stdout);
    expect(listed[0]).toMatchObject({ snapshotId: second, complete: true, new: 1, changed: 1, deleted: 1 });
  });

  it('verify passes on the live buckets and lists every difference when an object changes', async () => {
    const ok = await runCli(['media', 'verify', 'latest'], env);
    because(ok.stdout + ok.stderr, () => expect(ok.code).toBe(0));
    await put('products', 'added.txt', 'tampered');
    await put('products', 'extra.txt', 'not in the snapshot');
    const bad = await runCli(['media', 'verify', 'latest', '--json'], env);
    expect(bad.code).toBe(1);
    const report = JSON.parse(bad.stdout);
    expect(report.differences).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'added.txt', problem: 'content differs' }), expect.objectContaining({ key: 'extra.txt', problem: 'extra' })]));
  });

  it('restores a snapshot into emptied buckets with the same bytes and metadata, deleted files included', async () => {
    const refused = await runCli(['media', 'restore', first], env);
    expect(refused.code).toBe(2);
    await emptyBucket('products');
    await emptyBucket('avatars');
    const result = await runCli(['media', 'restore', first, '--yes', '--json'], env);
    because(result.stderr, () => expect(result.code).toBe(0));
    expect(JSON.parse(result.stdout)).toMatchObject({ uploaded: KEYS.length + 2, unchanged: 0 });
    for (const key of KEYS) expect(await read('products', key)).toEqual(originals.get(key));
    expect((await read('avatars', 'u2.png')).body).toBe('avatar two');
    const verify = await runCli(['media', 'verify', first], env);
    because(verify.stdout, () => expect(verify.code).toBe(0));
    // Restoring again uploads nothing: what is there already equals the snapshot.
    expect(JSON.parse((await runCli(['media', 'restore', first, '--yes', '--json'], env)).stdout)).toMatchObject({ uploaded: 0, unchanged: KEYS.length + 2 });
  });

  it('--exact deletes what the snapshot does not have; --at picks the snapshot of that time', async () => {
    await put('products', 'stray.txt', 'left over');
    const at = JSON.parse((await runCli(['media', 'list', '--json'], env)).stdout).find((s: { snapshotId: string }) => s.snapshotId === second).completedAt as string;
    const result = await runCli(['media', 'restore', 'latest', '--at', at, '--exact', '--yes', '--json'], env);
    because(result.stderr, () => expect(result.code).toBe(0));
    expect(JSON.parse(result.stdout)).toMatchObject({ snapshotId: second });
    expect(await keysOf('products')).not.toContain('stray.txt');
    expect(await keysOf('products')).toContain('added.txt');
    expect(await keysOf('avatars')).toEqual(['u1.png']);
    const early = await runCli(['media', 'restore', 'latest', '--at', '2000-01-01T00:00:00Z', '--yes'], env);
    expect(early.code).toBe(2);
  });

  it('creates a missing bucket on restore, and refuses without Storage configured', async () => {
    const vaultStore = new FileStore(vault);
    const snapshot = await resolveSnapshot(vaultStore, first);
    const other = new S3Client({ endpoint: vaultServer.endpoint, forcePathStyle: true, region: S3RVER_REGION, credentials: S3RVER_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
    try {
      const result = await restoreMedia(other, vaultStore, snapshot, { buckets: ['avatars'] });
      expect(result.bucketsCreated).toEqual(['avatars']);
      expect((await verifyMedia(other, vaultStore, snapshot, ['avatars'])).ok).toBe(true);
    } finally {
      other.destroy();
    }
    const unconfigured = await runCli(['media', 'sync', '--json'], { BACKUP_LOCATION: vault });
    expect(unconfigured.code).toBe(2);
    expect(JSON.parse(unconfigured.stdout).error.message).toContain('STORAGE_S3_ENDPOINT');
  });

  it('prune keeps every content a kept snapshot references and sweeps the rest', async () => {
    const dir = path.join(work, 'prune-vault');
    const store = new FileStore(dir);
    const day = 86_400_000;
    await put('avatars', 'old.png', 'only in the old snapshot');
    const old = await syncMedia({ client, source: 'test', vault: store, buckets: ['avatars'], now: new Date(Date.now() - 40 * day) });
    await client.send(new DeleteObjectCommand({ Bucket: 'avatars', Key: 'old.png' }));
    const recent = await syncMedia({ client, source: 'test', vault: store, buckets: ['avatars'] });
    expect(old.snapshot.stats.objects).toBe(recent.snapshot.stats.objects + 1);
    const contentsBefore = (await store.listObjects(OBJECTS_PREFIX)).length;
    const result = await pruneMedia(store, { keepDays: 30 });
    expect(result.deletedSnapshots).toEqual([old.snapshot.snapshotId]);
    expect(result.deletedContents).toBe(1);
    expect((await store.listObjects(OBJECTS_PREFIX)).length).toBe(contentsBefore - 1);
    expect((await listSnapshots(store)).map((s) => s.snapshotId)).toEqual([recent.snapshot.snapshotId]);
    expect((await verifyMedia(client, store, recent.snapshot, ['avatars'])).ok).toBe(true);
  });

  it('names one recovery point: list pairs each database backup with the media snapshot before it, and restore --at picks by time', async () => {
    const db = await createTestDatabase('media_point');
    try {
      const c = await connect(db.url);
      await createShop(c, 0.001);
      await c.end();
      const newestSnapshot = (await listSnapshots(new FileStore(vault))).find((s) => s.complete)!.snapshotId;
      const backup = await runCli(['backup', '--db', db.url], env);
      because(backup.stderr, () => expect(backup.code).toBe(0));
      const listed = JSON.parse((await runCli(['list', '--json'], env)).stdout) as { backupId: string; mediaSnapshot: string | null }[];
      expect(listed).toEqual([expect.objectContaining({ backupId: backup.stdout.trim(), mediaSnapshot: newestSnapshot })]);
      expect((await runCli(['list'], env)).stdout).toMatch(/Media\s+Status/);
      const before = await runCli(['restore', 'latest', '--at', '2000-01-01T00:00:00Z', '--db', db.url, '--yes'], env);
      expect(before.code).toBe(2);
      expect(before.stderr).toContain('completed at or before 2000-01-01T00:00:00.000Z');
      const now = await runCli(['restore', 'latest', '--at', new Date().toISOString(), '--db', db.url, '--yes'], env);
      because(now.stderr, () => expect(now.code).toBe(0));
      expect(now.stdout).toContain(`Restoring backup from ${backup.stdout.trim()}`);
    } finally {
      await db.drop();
    }
  });

  it('the drill drills media too: synced, restored into <bucket>-drill buckets of its own, compared, reported', async () => {
    const db = await createTestDatabase('media_drill');
    try {
      const c = await connect(db.url);
      await createShop(c, 0.001);
      await c.end();
      const live = await keysOf('products');
      const cwd = await mkdtemp(path.join(work, 'drill-'));
      const result = await runCli(['drill', '--db', db.url, '--yes', '--json'], { ...env, BACKUP_LOCATION: '' }, cwd);
      because(result.stderr, () => expect(result.code).toBe(0));
      const report = JSON.parse(result.stdout);
      expect(report.media).toMatchObject({ identical: true, buckets: ['avatars-drill', 'iconic-dr-test-drill', 'products-drill'] });
      expect(await keysOf('products-drill')).toEqual(live);
      // The live buckets are left as they were.
      expect(await keysOf('products')).toEqual(live);
      expect(report.steps.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['Media: sync Storage', 'Media: restore into drill buckets', 'Media: compare every object']));
      const markdown = await readFile(path.join(cwd, 'drills', report.reports.markdown), 'utf8');
      expect(markdown).toMatch(/Media \(Supabase Storage\): snapshot \S+, \d+ objects restored into .*: every object identical/);
    } finally {
      await db.drop();
    }
  });

  it('works with the vault on S3 too', async () => {
    await vaultServer.createBucket('vault');
    const store = s3StoreFor({ endpoint: vaultServer.endpoint, bucket: 'vault' }, 'db');
    const { snapshot } = await syncMedia({ client, source: 'test', vault: store, buckets: ['products'] });
    await emptyBucket('products');
    const restored = await restoreMedia(client, store, snapshot);
    expect(restored.uploaded).toBe(snapshot.stats.objects);
    expect((await verifyMedia(client, store, snapshot)).ok).toBe(true);
  });

  it('a seeded schedule of transient faults (5xx, resets, lost answers, stalls) on Storage: sync and restore still get every byte', async () => {
    const proxy = await startFaultProxy(storage.endpoint);
    const faulty = storageClient({ endpoint: proxy.endpoint, region: S3RVER_REGION, accessKeyId: S3RVER_CREDENTIALS.accessKeyId, secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey }, { connectTimeoutMs: 2000, requestTimeoutMs: 5000, socketTimeoutMs: 700, maxAttempts: 5 });
    const store = new FileStore(path.join(work, 'faulty-vault'));
    try {
      for (let i = 0; i < 20; i++) await put('products', `bulk/${i}.bin`, `payload ${i} `.repeat(200 + i));
      proxy.setDecider(seededFaults(7, 0.25, ['status-500', 'status-503', 'reset-before', 'lost-response', 'reset-mid-body', 'stall-mid-body', 'stall-after-headers']));
      const { snapshot } = await syncMedia({ client: faulty, source: 'test', vault: store, buckets: ['products'] });
      proxy.setDecider(undefined);
      expect((await verifyMedia(client, store, snapshot)).ok).toBe(true);
      await emptyBucket('products');
      proxy.setDecider(seededFaults(8, 0.25, ['status-500', 'status-503', 'reset-before', 'lost-response', 'reset-mid-body', 'stall-mid-body']));
      await restoreMedia(faulty, store, snapshot);
      proxy.setDecider(undefined);
      const report = await verifyMedia(client, store, snapshot);
      expect(report.differences).toEqual([]);
      const faulted = proxy.log.filter((r) => r.fault !== undefined);
      because(`${faulted.length} of ${proxy.log.length} requests faulted`, () => expect(faulted.length / proxy.log.length).toBeGreaterThanOrEqual(0.1));
    } finally {
      proxy.setDecider(undefined);
      faulty.destroy();
      await proxy.close();
    }
  });
});
