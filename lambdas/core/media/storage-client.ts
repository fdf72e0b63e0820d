import { S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../errors.js';
import { DEFAULT_S3_TIMEOUTS, s3TimeoutsFromEnv, type S3Timeouts } from '../storage/s3-store.js';

/**
 * How to reach Supabase Storage through its S3-compatible endpoint
 * (`https://<project-ref>.supabase.co/storage/v1/s3`, path-style, the project's region, the S3 access
 * keys from the project's settings), kept apart from the backup location's own credentials.
 */
export interface StorageConnection {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const STORAGE_ENV = ['STORAGE_S3_ENDPOINT', 'STORAGE_S3_REGION', 'STORAGE_S3_ACCESS_KEY_ID', 'STORAGE_S3_SECRET_ACCESS_KEY'] as const;

/** Whether every STORAGE_S3_* variable is set (commands that drill media only when it is). */
export function storageConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return STORAGE_ENV.every((n) => Boolean(env[n]?.trim()));
}

/** Reads STORAGE_S3_* from the environment; every missing one is named at once. */
export function storageConnectionFromEnv(env: NodeJS.ProcessEnv = process.env): StorageConnection {
  const missing = STORAGE_ENV.filter((n) => !env[n]?.trim());
  if (missing.length) throw new ConfigError(`Supabase Storage is not configured: set ${missing.join(', ')} (the project's S3 endpoint, region and S3 access keys)`);
  try {
    new URL(env.STORAGE_S3_ENDPOINT!);
  } catch {
    throw new ConfigError('STORAGE_S3_ENDPOINT must be a URL such as https://<project-ref>.supabase.co/storage/v1/s3');
  }
  return { endpoint: env.STORAGE_S3_ENDPOINT!.trim(), region: env.STORAGE_S3_REGION!.trim(), accessKeyId: env.STORAGE_S3_ACCESS_KEY_ID!.trim(), secretAccessKey: env.STORAGE_S3_SECRET_ACCESS_KEY!.trim() };
}

/** The same bounded waits as the backup location's (ICONIC_DR_S3_* override both). */
export function storageTimeouts(): S3Timeouts {
  return { ...DEFAULT_S3_TIMEOUTS, ...s3TimeoutsFromEnv() };
}

export function storageClient(connection: StorageConnection, overrides: Partial<S3Timeouts> = {}): S3Client {
  const timeouts = { ...storageTimeouts(), ...overrides };
  return new S3Client({
    endpoint: connection.endpoint,
    region: connection.region,
    forcePathStyle: true,
    credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey },
    // Transient failures (throttling, 5xx, resets, timeouts) are retried with backoff by the SDK;
    // every wait is bounded, a stalled body by the socket's inactivity.
    maxAttempts: timeouts.maxAttempts,
    retryMode: 'standard',
    requestHandler: { connectionTimeout: timeouts.connectTimeoutMs, requestTimeout: timeouts.requestTimeoutMs, throwOnRequestTimeout: true, socketTimeout: timeouts.socketTimeoutMs },
    // Supabase Storage and other S3-compatible servers do not all accept the SDK's default CRC32
    // trailers on streamed bodies; the content's SHA-256 is checked by iconic-dr itself.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The endpoint's host, for snapshots and messages (never keys). */
export function describeEndpoint(connection: StorageConnection): string {
  try {
    const url = new URL(connection.endpoint);
    return `${url.host}${url.pathname.replace(/\/$/, '')}`;
  } catch {
    return 'storage';
  }
}
