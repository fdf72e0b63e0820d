import { spawn } from 'node:child_process';
import { createCipheriv } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { S3Store, type S3StoreOptions } from '../../lambdas/core/storage/s3-store.js';

/** The access key pair s3rver accepts (its only account). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const S3RVER_REGION = 'us-east-1';

export interface TestS3Server {
  /** `http://127.0.0.1:<port>`: pass it as the store's endpoint (path-style addressing). */
  readonly endpoint: string;
  /** A bucket created at start. */
  readonly bucket: string;
  stop(): Promise<void>;
  createBucket(name: string): Promise<void>;
}

// s3rver ships no type declarations; this is the part of its API used here.
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: { closeAllConnections?: () => void };
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

const requireCjs = createRequire(import.meta.url);

/**
 * s3rver signs its ListObjectsV2 continuation tokens with single DES, which OpenSSL 3 only offers
 * through its legacy provider: without `--openssl-legacy-provider` any listing past 1000 keys fails.
 */
function legacyCiphersAvailable(): boolean {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return true;
  } catch {
    return false;
  }
}

function serverOptions(directory: string, bucket: string): Record<string, unknown> {
  return { address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] };
}

async function startInProcess(directory: string, bucket: string): Promise<{ port: number; stop(): Promise<void> }> {
  const S3rver = requireCjs('s3rver') as S3rverConstructor;
  const server = new S3rver(serverOptions(directory, bucket));
  const { port } = await server.run();
  return {
    port,
    stop: async () => {
      // Keep-alive sockets from SDK clients would otherwise hold close() open.
      server.httpServer?.closeAllConnections?.();
      await server.close();
    },
  };
}

// Runs in a child `node --openssl-legacy-provider`; prints the port, exits when its stdin closes
// (so that it dies with the test worker even if stop() is never called).
const CHILD_SCRIPT = `
const S3rver = require(process.env.S3RVER_MODULE);
const server = new S3rver(JSON.parse(process.env.S3RVER_OPTIONS));
server.run().then(
  (address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'),
  (error) => { process.stderr.write(String((error && error.stack) || error)); process.exit(1); },
);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

async function startChild(directory: string, bucket: string): Promise<{ port: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD_SCRIPT], {
    env: { ...process.env, NODE_OPTIONS: '', S3RVER_MODULE: requireCjs.resolve('s3rver'), S3RVER_OPTIONS: JSON.stringify(serverOptions(directory, bucket)) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code} before listening: ${stderr.trim()}`)));
  });
  child.unref();
  return {
    port,
    stop: async () => {
      // Unreferenced so that a forgotten stop() never holds the worker open; referenced again to wait for the exit.
      child.ref();
      child.stdin.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * Starts s3rver on loopback with a fresh directory and one bucket. In-process when this process has
 * OpenSSL's legacy provider (NODE_OPTIONS=--openssl-legacy-provider), else in a child process that
 * has it, so that listings past 1000 keys work either way. Sets s3rver's key pair as the default
 * AWS credentials when none are set, so stores built with the default credential chain can sign.
 */
export async function startS3Server(): Promise<TestS3Server> {
  process.env.AWS_ACCESS_KEY_ID ??= S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY ??= S3RVER_CREDENTIALS.secretAccessKey;
  const directory = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-s3rver-'));
  const bucket = 'iconic-dr-test';
  const server = legacyCiphersAvailable() ? await startInProcess(directory, bucket) : await startChild(directory, bucket);
  const endpoint = `http://127.0.0.1:${server.port}`;
  const client = new S3Client({ endpoint, forcePathStyle: true, region: S3RVER_REGION, credentials: S3RVER_CREDENTIALS });
  return {
    endpoint,
    bucket,
    createBucket: async (name: string) => {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    stop: async () => {
      client.destroy();
      await server.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** An S3Store on the test server, under `prefix` of its default bucket unless options say otherwise. */
export function s3StoreFor(server: Pick<TestS3Server, 'endpoint' | 'bucket'>, prefix: string, options: Partial<S3StoreOptions> = {}): S3Store {
  return new S3Store({ bucket: server.bucket, prefix, endpoint: server.endpoint, region: S3RVER_REGION, ...options });
}
