import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * Secure defaults as pure functions: each returns the props a resource gets unless a construct
 * merges an explicit, documented override on top (STYLE.md #8).
 */

/** A customer-managed key that rotates yearly and outlives the stack (backups need it to be read). */
export function secureKeyProps(description: string): kms.KeyProps {
  return {
    description,
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
    pendingWindow: Duration.days(30),
  };
}

/** Properties every bucket of the stack shares: private, TLS-only, owner-enforced, kept on delete. */
export function secureBucketBaseProps(): s3.BucketProps {
  return {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

/**
 * Lifecycle of the backup bucket: backups under `prefix` expire after `retentionDays`; noncurrent
 * versions (left by expiry or by a delete) go after `noncurrentDays`; incomplete multipart uploads
 * after one day; expired delete markers are cleaned up.
 */
export function backupLifecycleRules(prefix: string, retentionDays: number, noncurrentDays: number): s3.LifecycleRule[] {
  return [
    {
      id: 'expire-backups',
      enabled: true,
      ...(prefix ? { prefix: `${prefix}/` } : {}),
      expiration: Duration.days(retentionDays),
    },
    {
      id: 'noncurrent-versions-and-uploads',
      enabled: true,
      noncurrentVersionExpiration: Duration.days(noncurrentDays),
      abortIncompleteMultipartUploadAfter: Duration.days(1),
      expiredObjectDeleteMarker: true,
    },
  ];
}

/** Lifecycle of the access-log bucket. */
export function accessLogLifecycleRules(retentionDays: number): s3.LifecycleRule[] {
  return [
    {
      id: 'expire-access-logs',
      enabled: true,
      expiration: Duration.days(retentionDays),
      abortIncompleteMultipartUploadAfter: Duration.days(1),
    },
  ];
}

/** Default retention of every log group of the stack. */
export const DEFAULT_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS;

/** Collects every prop problem of a construct, then throws them all at once (STYLE.md #7). */
export class PropErrors {
  private readonly problems: string[] = [];

  constructor(private readonly construct: string) {}

  check(ok: boolean, problem: string): void {
    if (!ok) this.problems.push(problem);
  }

  throwIfAny(): void {
    if (this.problems.length > 0) {
      throw new Error(`Invalid ${this.construct} props:\n- ${this.problems.join('\n- ')}`);
    }
  }
}

/** True for a positive whole number. */
export function isPositiveInteger(value: number): boolean {
  return Number.isInteger(value) && value > 0;
}
