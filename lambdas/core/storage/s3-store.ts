import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Readable, Transform, finished } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import * as z from '../util/zod.js';
import { ConfigError, ObjectExistsError, ObjectNotFoundError, StorageError } from '../errors.js';
import { isSafeName, unsafeKeyReason } from './names.js';
import { ResumableRead } from './resumable-read.js';
import { CLAIM_FILE, type BackupStore, type StoredObject } from './store.js';
import { isTransientAwsError, sdkError } from '../util/aws-errors.js';

export interface S3StoreOptions {
  readonly bucket: string;
  /** Key prefix inside the bucket (the store's root); leading/trailing slashes are ignored. */
  readonly prefix: string;
  /** S3-compatible endpoint; defaults to AWS_ENDPOINT_URL_S3. Implies path-style addressing. */
  readonly endpoint?: string;
  readonly region?: string;
  /** SSE-KMS key id/ARN for new objects; without it the bucket's default encryption applies. */
  readonly kmsKeyId?: string;
  /** A ready client (tests, or callers that share one); the options above then only name the location. */
  readonly client?: S3Client;
  /** Multipart part size in bytes (min 5 MiB). Tests lower it to exercise multipart with small bodies. */
  readonly partSize?: number;
  /** Timeouts and retry budget; unset fields come from the environment (see s3TimeoutsFromEnv), then the defaults. */
  readonly timeouts?: Partial<S3Timeouts>;
}

/**
 * Every network wait of the store is bounded (docs/reliability.md). Environment variables:
 * ICONIC_DR_S3_CONNECT_TIMEOUT_MS, ICONIC_DR_S3_REQUEST_TIMEOUT_MS, ICONIC_DR_S3_SOCKET_TIMEOUT_MS,
 * ICONIC_DR_S3_MAX_ATTEMPTS, ICONIC_DR_S3_READ_ATTEMPTS.
 */
export interface S3Timeouts {
  /** TCP (and TLS) connection set-up. @default 10 s */
  readonly connectTimeoutMs: number;
  /**
   * From sending a request until its response headers arrive, a 16 MiB part upload included: the
   * outer bound for a server that trickles. A stalled request or body is caught sooner, by the
   * socket inactivity timeout. @default 10 min (a part still goes up at 0.25 Mbit/s)
   */
  readonly requestTimeoutMs: number;
  /**
   * No byte in either direction for this long fails the request (a stalled body included); a
   * body read this way is resumed from where it stopped. @default 20 s
   */
  readonly socketTimeoutMs: number;
  /** SDK attempts per request (throttling, 5xx, resets, timeouts), with exponential backoff. @default 5 */
  readonly maxAttempts: number;
  /** A body that fails mid-read is reopened from its last byte, up to this many failures in a row. @default 4 */
  readonly readAttempts: number;
}

export const DEFAULT_S3_TIMEOUTS: S3Timeouts = { connectTimeoutMs: 10_000, requestTimeoutMs: 600_000, socketTimeoutMs: 20_000, maxAttempts: 5, readAttempts: 4 };

const positiveMs = z.optional(z.wholeNumberText(1, 3_600_000));
const attemptsSchema = z.optional(z.wholeNumberText(1, 20));
const timeoutEnvSchema = z.object({
  ICONIC_DR_S3_CONNECT_TIMEOUT_MS: positiveMs,
  ICONIC_DR_S3_REQUEST_TIMEOUT_MS: positiveMs,
  ICONIC_DR_S3_SOCKET_TIMEOUT_MS: positiveMs,
  ICONIC_DR_S3_MAX_ATTEMPTS: attemptsSchema,
  ICONIC_DR_S3_READ_ATTEMPTS: attemptsSchema,
});

/** The timeouts set in the environment (validated; a bad value is a ConfigError naming the variable). */
export function s3TimeoutsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<S3Timeouts> {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('ICONIC_DR_S3_') && v !== undefined && v !== ''));
  const parsed = timeoutEnvSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`Invalid environment: ${issue.path.join('.')}: ${issue.message} (milliseconds from 1 to 3600000, attempts from 1 to 20)`);
  }
  const e = parsed.data;
  return {
    ...(e.ICONIC_DR_S3_CONNECT_TIMEOUT_MS ? { connectTimeoutMs: e.ICONIC_DR_S3_CONNECT_TIMEOUT_MS } : {}),
    ...(e.ICONIC_DR_S3_REQUEST_TIMEOUT_MS ? { requestTimeoutMs: e.ICONIC_DR_S3_REQUEST_TIMEOUT_MS } : {}),
    ...(e.ICONIC_DR_S3_SOCKET_TIMEOUT_MS ? { socketTimeoutMs: e.ICONIC_DR_S3_SOCKET_TIMEOUT_MS } : {}),
    ...(e.ICONIC_DR_S3_MAX_ATTEMPTS ? { maxAttempts: e.ICONIC_DR_S3_MAX_ATTEMPTS } : {}),
    ...(e.ICONIC_DR_S3_READ_ATTEMPTS ? { readAttempts: e.ICONIC_DR_S3_READ_ATTEMPTS } : {}),
  };
}


const MiB = 1024 * 1024;
/**
 * 16 MiB parts: S3 allows 10,000 parts, so one object can reach 160 GiB, far beyond a gzipped table;
 * memory stays near (queueSize + 1) × partSize ≈ 80 MiB whatever the table size.
 */
const DEFAULT_PART_SIZE = 16 * MiB;
const QUEUE_SIZE = 4;
const DELETE_BATCH = 1000;

/** What an operation needs, to name the right permission when S3 refuses it. */
type Operation = 'write' | 'read' | 'list' | 'delete';

const PERMISSION: Record<Operation, string> = {
  write: 's3:PutObject',
  read: 's3:GetObject',
  list: 's3:ListBucket',
  delete: 's3:DeleteObject',
};

const KMS_PERMISSION: Partial<Record<Operation, string>> = {
  write: 'kms:GenerateDataKey and kms:Decrypt',
  read: 'kms:Decrypt',
};

function statusOf(error: unknown): number | undefined {
  return sdkError(error).$metadata?.httpStatusCode;
}

function isNotFound(error: unknown): boolean {
  const { name } = sdkError(error);
  return name === 'NoSuchKey' || name === 'NotFound' || (statusOf(error) === 404 && name !== 'NoSuchBucket');
}

function isConditionalConflict(error: unknown): boolean {
  const { name } = sdkError(error);
  return name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || statusOf(error) === 412 || statusOf(error) === 409;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function oneLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0]!.trim().slice(0, 300);
}

const contentTypeOf = (key: string): string => (key.endsWith('.json') ? 'application/json' : key.endsWith('.gz') ? 'application/gzip' : key.endsWith('.zst') ? 'application/zstd' : 'application/octet-stream');

const byKey = (a: StoredObject, b: StoredObject): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * Backups in an S3 bucket (or an S3-compatible server) under a prefix. Streams go up as multipart
 * uploads through lib-storage, so memory stays bounded and the SDK's integrity checksums apply to
 * every part; write-once objects use conditional writes (`If-None-Match: *`).
 */
export class S3Store implements BackupStore {
  readonly description: string;
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly timeouts: S3Timeouts;
  private readonly kmsKeyId: string | undefined;
  private readonly partSize: number;
  /** Claims this store wrote, by backup id: the claim's exact bytes. */
  private readonly claims = new Map<string, Buffer>();

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix.replace(/^\/+|\/+$/g, '');
    this.description = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    this.kmsKeyId = options.kmsKeyId || undefined;
    this.partSize = Math.max(options.partSize ?? DEFAULT_PART_SIZE, 5 * MiB);
    this.timeouts = { ...DEFAULT_S3_TIMEOUTS, ...s3TimeoutsFromEnv(), ...options.timeouts };
    this.client = options.client ?? new S3Client(clientConfig(options, this.timeouts));
  }

  private fullKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  /** The full key of one object; every key a caller names passes the one safe-name check first. */
  private objectKey(key: string): string {
    const unsafe = unsafeKeyReason(key);
    if (unsafe) throw new StorageError(`Refusing key ${JSON.stringify(key)} in ${this.description}: ${unsafe}`);
    return this.fullKey(key);
  }

  private rootPrefix(): string {
    return this.prefix ? `${this.prefix}/` : '';
  }

  private url(key: string): string {
    return `s3://${this.bucket}/${this.fullKey(key)}`;
  }

  private encryption(): { ServerSideEncryption?: 'aws:kms'; SSEKMSKeyId?: string } {
    return this.kmsKeyId ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: this.kmsKeyId } : {};
  }

  /**
   * Turns an SDK failure (already retried by the client) into a one-line StorageError that says what
   * to check. Messages name the bucket, key and permission, never credentials or request signatures.
   */
  private toStorageError(error: unknown, operation: Operation, key?: string): StorageError {
    if (error instanceof StorageError) return error;
    const e = sdkError(error);
    const name = e.name ?? 'Error';
    const target = key === undefined ? this.description : this.url(key);
    const fail = (message: string, retryable = false): StorageError => new StorageError(message, { cause: error, retryable });
    const kmsHint = KMS_PERMISSION[operation];

    if (name === 'CredentialsProviderError' || /could not load credentials/i.test(e.message ?? '')) {
      return fail(`No AWS credentials found for ${target}: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with an IAM role`);
    }
    if (name === 'InvalidAccessKeyId') return fail(`The AWS access key id is not valid for ${target}: check AWS_ACCESS_KEY_ID or the AWS profile in use`);
    if (name === 'SignatureDoesNotMatch') return fail(`S3 rejected the request signature for ${target}: check that AWS_SECRET_ACCESS_KEY matches the access key id`);
    if (name === 'ExpiredToken' || name === 'ExpiredTokenException' || name === 'TokenRefreshRequired') {
      return fail(`The AWS credentials used for ${target} have expired: refresh the session (e.g. aws sso login) or the role credentials`);
    }
    if (name === 'RequestTimeTooSkewed') return fail(`S3 rejected the request to ${target} because the system clock is off: synchronise the clock (NTP)`);
    if (name === 'NoSuchBucket') return fail(`Bucket ${this.bucket} does not exist: check the bucket name and region of ${this.description}`);
    if (name === 'InvalidBucketName') return fail(`"${this.bucket}" is not a valid bucket name: check the location ${this.description}`);
    if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || name === 'IllegalLocationConstraintException' || statusOf(error) === 301) {
      return fail(`Bucket ${this.bucket} is in another region: set AWS_REGION to the bucket's region (${name})`);
    }
    if (name.startsWith('KMS.') && !isTransientAwsError(e)) {
      return fail(
        `The KMS key refused the request for ${target} (${name}): check that the key${this.kmsKeyId ? ` ${this.kmsKeyId}` : ''} exists, is enabled, is in the bucket's region, and its key policy allows ${kmsHint ?? 'kms:Decrypt'} to this role`,
      );
    }
    if (name === 'AccessDenied' || name === 'Forbidden' || name === 'AllAccessDisabled' || name === 'AccountProblem' || statusOf(error) === 403) {
      const kms = kmsHint ? `; with SSE-KMS the KMS key policy must also allow ${kmsHint}` : '';
      const resource = operation === 'list' ? `arn:aws:s3:::${this.bucket}` : `arn:aws:s3:::${this.bucket}/${this.rootPrefix()}*`;
      return fail(`Access denied to ${target} (${name}): check that the IAM policy allows ${PERMISSION[operation]} on ${resource} and that no bucket policy denies it${kms}`);
    }
    if (isTransientAwsError(e)) {
      const attempts = e.$metadata?.attempts;
      return fail(`S3 is unavailable or throttling requests to ${target} (${e.code ?? name}${attempts ? ` after ${attempts} attempts` : ''}): try again later`, true);
    }
    const detail = oneLine(e.message);
    return fail(`S3 request for ${target} failed (${name}${detail && detail !== name ? `: ${detail}` : ''})`);
  }

  async beginBackup(backupId: string): Promise<void> {
    let taken: boolean;
    try {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.fullKey(`${backupId}/`), MaxKeys: 1 }));
      taken = (page.KeyCount ?? 0) > 0 || (page.Contents?.length ?? 0) > 0;
    } catch (error) {
      throw this.toStorageError(error, 'list');
    }
    if (taken) throw new ObjectExistsError(`Backup ${backupId} already exists in ${this.description}; a backup is never overwritten`);
    // The listing above is not atomic: two writers that both list before either writes would both
    // go on. The claim is (If-None-Match: * on real S3), and it is written before any table file,
    // so the loser stops having written nothing. Its random token tells our claim from another's.
    const claim = Buffer.from(`${JSON.stringify({ backupId, writer: randomUUID(), host: hostname(), pid: process.pid, claimedAt: new Date().toISOString() })}\n`, 'utf8');
    try {
      await this.putOnce(`${backupId}/${CLAIM_FILE}`, claim);
    } catch (error) {
      if (error instanceof ObjectExistsError) {
        throw new ObjectExistsError(`Backup ${backupId} in ${this.description} is being written by another run (its claim ${CLAIM_FILE} exists); this run wrote nothing. Start the backup again for a new id`, { cause: error });
      }
      throw error;
    }
    this.claims.set(backupId, claim);
  }

  async writeObject(key: string, body: Readable): Promise<{ bytes: number }> {
    let full: string;
    try {
      full = this.objectKey(key);
    } catch (error) {
      body.destroy();
      throw error;
    }
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    // The producer's own failure (a database or gzip error, or its stream closing early) is kept
    // apart so that it is rethrown unchanged, not as whatever lib-storage reports after aborting.
    // Only the body is watched: lib-storage tears the counter down itself when S3 fails.
    let producerError: unknown;
    finished(body, { writable: false }, (error) => {
      if (!error) return;
      producerError ??= error;
      counter.destroy(error);
    });
    body.pipe(counter);

    const upload = new Upload({
      client: this.client,
      queueSize: QUEUE_SIZE,
      partSize: this.partSize,
      // A failed multipart upload is aborted; the bucket's lifecycle rule covers aborts that fail too.
      leavePartsOnError: false,
      params: { Bucket: this.bucket, Key: full, Body: counter, ContentType: contentTypeOf(key), ...this.encryption() },
    });
    try {
      await upload.done();
      return { bytes };
    } catch (error) {
      const failure = producerError !== undefined ? producerError : this.toStorageError(error, 'write', key);
      // Nobody will read the rest of the producer's output: stop it rather than leave it stalled.
      body.unpipe(counter);
      counter.destroy();
      body.destroy();
      throw failure;
    }
  }

  async createObject(key: string, body: string | Uint8Array): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const backupId = key.split('/')[0]!;
    const claim = this.claims.get(backupId);
    if (claim && key !== `${backupId}/${CLAIM_FILE}`) {
      // Servers without conditional writes cannot make the claim atomic; at least never publish a
      // backup whose claim another writer has taken over since.
      const current = await this.readSmall(`${backupId}/${CLAIM_FILE}`);
      if (!current || !sameBytes(current, claim)) {
        throw new ObjectExistsError(`Backup ${backupId} in ${this.description} was claimed by another run while this one wrote it; ${key} was not written. Start the backup again for a new id`);
      }
    }
    await this.putOnce(key, bytes);
  }

  /**
   * Write-once PUT with one truth about the outcome. When the answer is lost (a reset after S3 stored
   * the object, so the SDK's retry meets 412, or every attempt timed out), the object is read back:
   * the same bytes mean this write succeeded; other bytes mean another writer's, ObjectExistsError.
   */
  private async putOnce(key: string, bytes: Uint8Array): Promise<void> {
    const full = this.objectKey(key);
    const exists = (cause?: unknown): ObjectExistsError =>
      new ObjectExistsError(`${key} already exists in ${this.description}; it is written once and never replaced`, cause === undefined ? undefined : { cause });
    // Real S3 enforces If-None-Match atomically; this pre-check only covers S3-compatible servers
    // without conditional writes (s3rver, older MinIO). A 403 here (no s3:ListBucket) is left to the PUT.
    let found: boolean;
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: full }));
      found = true;
    } catch (error) {
      if (!isNotFound(error) && statusOf(error) !== 403) throw this.toStorageError(error, 'read', key);
      found = false;
    }
    if (found) {
      if (await this.holds(key, bytes)) return;
      throw exists();
    }
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: full,
          Body: bytes,
          IfNoneMatch: '*',
          ContentType: contentTypeOf(key),
          ...this.encryption(),
        }),
      );
    } catch (error) {
      const conflict = isConditionalConflict(error);
      if (conflict || isTransientAwsError(error)) {
        let ours: boolean;
        try {
          ours = await this.holds(key, bytes);
        } catch {
          // The read-back failed too: the outcome is unknown, and so is the storage's health.
          throw this.toStorageError(error, 'write', key);
        }
        if (ours) return;
        if (conflict) throw exists(error);
      }
      throw this.toStorageError(error, 'write', key);
    }
  }

  /** True when `key` exists and holds exactly `bytes`. */
  private async holds(key: string, bytes: Uint8Array): Promise<boolean> {
    const stored = await this.readSmall(key, bytes.byteLength);
    return stored !== undefined && sameBytes(stored, bytes);
  }

  /** A small object's bytes (undefined when missing); stops at `limit` + 1 bytes. */
  private async readSmall(key: string, limit = 1024 * 1024): Promise<Buffer | undefined> {
    let stream: Readable;
    try {
      stream = await this.readObject(key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size > limit) {
        stream.destroy();
        break;
      }
    }
    return Buffer.concat(chunks);
  }

  async readObject(key: string): Promise<Readable> {
    const full = this.objectKey(key);
    const open = async (offset: number, etag?: string) => {
      try {
        const response = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: full, ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}), ...(etag ? { IfMatch: etag } : {}) }),
        );
        const stream = response.Body;
        if (!(stream instanceof Readable)) throw new StorageError(`S3 returned no readable body for ${this.url(key)}`, { retryable: true });
        if (offset > 0 && !response.ContentRange?.startsWith(`bytes ${offset}-`)) {
          stream.destroy();
          throw new StorageError(`S3 ignored the range request for ${this.url(key)} (resuming a read at byte ${offset}); the endpoint must support Range GETs`);
        }
        return { stream, length: response.ContentLength, etag: response.ETag };
      } catch (error) {
        if (error instanceof StorageError) throw error;
        if (isNotFound(error)) throw new ObjectNotFoundError(`${key} is missing from ${this.description}`, { cause: error });
        if (offset > 0 && isConditionalConflict(error)) {
          throw new StorageError(`${this.url(key)} changed while it was being read (its ETag differs); read it again`, { cause: error, retryable: true });
        }
        throw this.toStorageError(error, 'read', key);
      }
    };
    const first = await open(0);
    // Resumed reads are pinned to the version first read: If-Match with its ETag.
    return new ResumableRead(first.stream, {
      describe: this.url(key),
      total: first.length,
      attempts: this.timeouts.readAttempts,
      open: async (offset) => (await open(offset, first.etag)).stream,
    });
  }

  async statObject(key: string): Promise<StoredObject | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return { key, size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.toStorageError(error, 'read', key);
    }
  }

  async listObjects(prefix: string): Promise<StoredObject[]> {
    const root = this.rootPrefix();
    const out: StoredObject[] = [];
    try {
      for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: root + prefix })) {
        for (const object of page.Contents ?? []) {
          // Zero-byte "folder" markers (console "Create folder") are not objects of a backup.
          if (!object.Key || object.Key.endsWith('/')) continue;
          out.push({ key: object.Key.slice(root.length), size: object.Size ?? 0 });
        }
      }
    } catch (error) {
      throw this.toStorageError(error, 'list');
    }
    return out.sort(byKey);
  }

  async listFolders(): Promise<string[]> {
    const root = this.rootPrefix();
    const folders: string[] = [];
    try {
      for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket: this.bucket, Prefix: root, Delimiter: '/' })) {
        for (const common of page.CommonPrefixes ?? []) {
          const name = common.Prefix?.slice(root.length).replace(/\/$/, '');
          // A name no key may use is never a backup; listing it would only make readers fail on it.
          if (name && isSafeName(name)) folders.push(name);
        }
      }
    } catch (error) {
      throw this.toStorageError(error, 'list');
    }
    return folders.sort();
  }

  async deletePrefix(prefix: string): Promise<number> {
    // On a versioned bucket this leaves delete markers; the lifecycle rule expires noncurrent versions.
    const objects = await this.listObjects(prefix);
    let deleted = 0;
    for (let i = 0; i < objects.length; i += DELETE_BATCH) {
      const batch = objects.slice(i, i + DELETE_BATCH);
      let errors: { Key?: string; Code?: string; Message?: string }[];
      try {
        const result = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((o) => ({ Key: this.fullKey(o.key) })), Quiet: true } }),
        );
        errors = result.Errors ?? [];
      } catch (error) {
        throw this.toStorageError(error, 'delete', prefix);
      }
      if (errors.length > 0) {
        // DeleteObjects answers 200 and lists per-key failures: report the first, with its code.
        const first = errors[0]!;
        const relative = first.Key?.slice(this.rootPrefix().length) ?? prefix;
        const code = first.Code ?? 'Error';
        throw this.toStorageError(Object.assign(new Error(first.Message ?? code), { name: code, $metadata: {} }), 'delete', relative);
      }
      deleted += batch.length;
    }
    return deleted;
  }
}

function clientConfig(options: S3StoreOptions, timeouts: S3Timeouts): S3ClientConfig {
  const endpoint = options.endpoint || process.env.AWS_ENDPOINT_URL_S3 || undefined;
  const region = options.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
  return {
    region,
    // Transient failures (throttling, 5xx, timeouts, resets) are retried by the SDK with backoff;
    // what is left after the last attempt becomes a StorageError with retryable = true.
    maxAttempts: timeouts.maxAttempts,
    retryMode: 'standard',
    // Every wait is bounded: connection set-up, time to the response headers, and inactivity of the
    // socket (a stalled body). A body that times out while a slow consumer holds it back is not lost:
    // readObject resumes it from its last byte.
    requestHandler: {
      connectionTimeout: timeouts.connectTimeoutMs,
      requestTimeout: timeouts.requestTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: timeouts.socketTimeoutMs,
    },
    // The SDK's default integrity checksums (CRC32 on every part) stay on, for S3-compatible servers
    // too: lib-storage sends each part as a buffer, which s3rver stores correctly (it only corrupts
    // streamed PutObject bodies with trailing checksums, which this store never sends).
    ...(endpoint
      ? // S3-compatible servers are addressed by path, not by bucket subdomain.
        { endpoint, forcePathStyle: true }
      : // A bucket in another region than the configured one is found instead of failing with a redirect.
        { followRegionRedirects: true }),
  };
}
