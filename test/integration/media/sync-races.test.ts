import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readObjects } from '../../../lambdas/core/media/objects-file.js';
import { syncMedia } from '../../../lambdas/core/media/sync.js';
import { FileStore } from '../../../lambdas/core/storage/file-store.js';
import { S3RVER_CREDENTIALS, S3RVER_REGION, startS3Server, type TestS3Server } from '../../helpers/s3-server.js';

/**
 * Storage keeps changing while a sync runs: an object listed may be gone or rewritten by the time it is
 * read. The sync reports each such object and still writes a complete snapshot (s3rver plays Storage).
 */
describe('media sync: objects that change or vanish between the listing and the copy', () => {
  let storage: TestS3Server;
  let client: S3Client;
  let work: string;

  beforeAll(async () => {
    storage = await startS3Server();
    client = new S3Client({ endpoint: storage.endpoint, forcePathStyle: true, region: S3RVER_REGION, credentials: S3RVER_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
    await storage.createBucket('uploads');
    work = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-media-races-'));
  });

  afterAll(async () => {
    client?.destroy();
    await storage?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('reports a vanished object (left out of the snapshot) and a rewritten one (recorded with the content read), and keeps the rest', async () => {
    const put = (key: string, body: string) => client.send(new PutObjectCommand({ Bucket: 'uploads', Key: key, Body: body, ContentType: 'text/plain' }));
    for (let i = 0; i < 20; i++) await put(`file-${String(i).padStart(2, '0')}.txt`, `version one of file ${i}`);
    const vault = new FileStore(path.join(work, 'vault'));
    const problems: string[] = [];
    // The sync's own client holds its reads until the changes below have landed, so the race is certain.
    const syncClient = new S3Client({ endpoint: storage.endpoint, forcePathStyle: true, region: S3RVER_REGION, credentials: S3RVER_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
    let changes: Promise<unknown> = Promise.resolve();
    syncClient.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') await changes;
      return next(args);
    }, { step: 'initialize' });

    const { snapshot } = await syncMedia({
      client: syncClient,
      source: 'storage.test',
      vault,
      buckets: ['uploads'],
      concurrency: 1,
      onProgress: (event) => {
        if (event.type === 'problem') problems.push(event.problem);
        // Between the listing and the copies: one object is deleted, another rewritten with other bytes.
        if (event.type === 'listed') {
          changes = Promise.all([client.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: 'file-05.txt' })), put('file-09.txt', 'version two, longer than the first one')]);
        }
      },
    });

    expect(problems).toHaveLength(2);
    expect(problems.find((p) => p.includes('file-05.txt'))).toMatch(/vanished while the sync ran; not in this snapshot/);
    expect(problems.find((p) => p.includes('file-09.txt'))).toMatch(/changed while the sync ran; the snapshot has the content read/);
    expect(snapshot.problems).toEqual(problems);
    expect(snapshot.stats).toMatchObject({ objects: 19, new: 19, changed: 0, deleted: 0 });

    const listed = await readObjects(vault, snapshot);
    expect(listed.map((o) => o.key)).toEqual(Array.from({ length: 20 }, (_, i) => `file-${String(i).padStart(2, '0')}.txt`).filter((k) => k !== 'file-05.txt'));
    const rewritten = listed.find((o) => o.key === 'file-09.txt')!;
    expect(rewritten.size).toBe(Buffer.byteLength('version two, longer than the first one'));
    syncClient.destroy();
  });
});
