import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { runPool } from '../util/streams.js';
import { sampleMedia } from '../sample/media.js';
import { storageClient, type StorageConnection } from './storage-client.js';

export interface EmbeddedStorageHandle {
  /** Where it listens, with its (well-known, loopback-only) keys: pass it as STORAGE_S3_* would be. */
  readonly connection: StorageConnection;
  readonly objects: number;
  stop(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: { closeAllConnections?: () => void };
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

/**
 * An S3-compatible server on loopback playing Supabase Storage for the embedded drill (as the
 * embedded PostgreSQL plays the database), seeded with the sample shop's media. s3rver speaks the
 * same S3 protocol as Storage's endpoint; its keys are its fixed defaults and it listens on
 * 127.0.0.1 only, in a temporary folder removed by stop(). Undefined when s3rver is not installed.
 */
export async function startEmbeddedStorage(): Promise<EmbeddedStorageHandle | undefined> {
  let S3rver: S3rverConstructor;
  try {
    S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  } catch {
    return undefined;
  }
  const directory = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-storage-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const stop = async () => {
    server.httpServer?.closeAllConnections?.();
    await server.close().catch(() => undefined);
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const { port } = await server.run();
    const connection: StorageConnection = { endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
    const client = storageClient(connection);
    const objects = sampleMedia();
    try {
      for (const bucket of new Set(objects.map((o) => o.bucket))) await client.send(new CreateBucketCommand({ Bucket: bucket }));
      await runPool(objects, 8, async (o) => {
        await client.send(new PutObjectCommand({ Bucket: o.bucket, Key: o.key, Body: o.body, ContentType: o.contentType, ...(o.cacheControl ? { CacheControl: o.cacheControl } : {}), ...(o.metadata ? { Metadata: { ...o.metadata } } : {}) }));
      });
    } finally {
      client.destroy();
    }
    return { connection, objects: objects.length, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
