import { type CfnElement, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudtrail from 'aws-cdk-lib/aws-cloudtrail';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULT_BACKUP_PREFIX } from './contract.js';
import {
  accessLogLifecycleRules,
  backupLifecycleRules,
  isPositiveInteger,
  PropErrors,
  secureBucketBaseProps,
  secureKeyProps,
} from './defaults.js';

/** Object Lock mode for the default retention of new backup objects. */
export type ObjectLockMode = 'GOVERNANCE' | 'COMPLIANCE';

/**
 * An existing bucket that receives a replica of every backup (cross-region replication).
 *
 * The destination must be versioned and encrypted with the given key, and live in another region
 * (or account). `BackupReplicaStack` creates such a bucket; deploy it first and pass its outputs.
 */
export interface ReplicaDestination {
  /** ARN of the destination bucket, `arn:aws:s3:::name`. */
  readonly bucketArn: string;
  /** ARN of the KMS key that encrypts replicas in the destination region. */
  readonly kmsKeyArn: string;
}

export interface BackupVaultProps {
  /**
   * Days a backup is kept before the lifecycle expires it.
   * @default 90 (the plan's S3 retention)
   */
  readonly retentionDays?: number;
  /**
   * Days a noncurrent object version (after expiry or a delete) is kept before it is removed.
   * @default 30
   */
  readonly noncurrentVersionRetentionDays?: number;
  /**
   * Key prefix under which backups are written.
   * @default 'backups'
   */
  readonly backupPrefix?: string;
  /**
   * S3 Object Lock on the backup bucket, so that no role (the backup role included) and no careless
   * admin can delete or overwrite a backup's objects before they expire: an overwrite only adds a
   * version, the locked one stays. Turning it on for an existing bucket replaces the bucket (the old
   * one is retained): see CHANGELOG.
   * @default true
   */
  readonly objectLock?: boolean;
  /**
   * Days of Object Lock default retention for new objects.
   * @default - retentionDays (locked exactly as long as the lifecycle keeps them)
   */
  readonly objectLockRetentionDays?: number;
  /**
   * Object Lock mode. GOVERNANCE lets only principals with `s3:BypassGovernanceRetention` delete
   * early (the bucket policy denies it to everyone but `breakGlassPrincipalArn`); COMPLIANCE lets
   * nobody, not even the root user.
   * @default 'GOVERNANCE'
   */
  readonly objectLockMode?: ObjectLockMode;
  /**
   * The one principal (ARN) that may bypass governance retention, delete object versions, and
   * disable or schedule the deletion of the vault key. Everyone else is denied by the bucket and
   * key policies.
   * @default - nobody (change the policies through a deploy to recover)
   */
  readonly breakGlassPrincipalArn?: string;
  /**
   * Record every object-level call on the backup bucket (who read, wrote or tried to delete which
   * backup) with a CloudTrail trail of data events, into the access-log bucket under `cloudtrail/`.
   * @default true
   */
  readonly dataEvents?: boolean;
  /**
   * Replicate every object to this bucket (another region). The replication role is created here.
   * @default - no replication
   */
  readonly replica?: ReplicaDestination;
  /**
   * Days server access logs are kept.
   * @default 365
   */
  readonly accessLogRetentionDays?: number;
}

/**
 * Where backups live: a customer-managed KMS key (rotated) and a versioned, private, TLS-only
 * bucket encrypted with it, with lifecycle expiry, server access logs to a separate bucket,
 * RETAIN on stack deletion, optional Object Lock and optional cross-region replication.
 */
export class BackupVault extends Construct {
  /** Encrypts the backup objects. Retained with the bucket: without it backups are unreadable. */
  public readonly key: kms.Key;
  /** The backup bucket. */
  public readonly bucket: s3.Bucket;
  /** Receives the backup bucket's server access logs (SSE-S3: log delivery cannot use SSE-KMS). */
  public readonly accessLogsBucket: s3.Bucket;
  /** Key prefix of backups, without slashes. */
  public readonly backupPrefix: string;
  /** Days before a backup expires. */
  public readonly retentionDays: number;
  /** The role S3 replicates with, when `replica` is set. */
  public readonly replicationRole?: iam.Role;
  /** The data-event trail of the backup bucket, when `dataEvents` is on. */
  public readonly trail?: cloudtrail.Trail;

  constructor(scope: Construct, id: string, props: BackupVaultProps = {}) {
    super(scope, id);
    const retentionDays = props.retentionDays ?? 90;
    const noncurrentDays = props.noncurrentVersionRetentionDays ?? 30;
    const accessLogDays = props.accessLogRetentionDays ?? 365;
    const prefix = (props.backupPrefix ?? DEFAULT_BACKUP_PREFIX).replace(/^\/+|\/+$/g, '');
    const lockOn = props.objectLock ?? true;
    const lockDays = lockOn ? (props.objectLockRetentionDays ?? retentionDays) : undefined;

    const errors = new PropErrors('BackupVault');
    errors.check(isPositiveInteger(retentionDays), `retentionDays must be a positive whole number (got ${retentionDays})`);
    errors.check(isPositiveInteger(noncurrentDays), `noncurrentVersionRetentionDays must be a positive whole number (got ${noncurrentDays})`);
    errors.check(isPositiveInteger(accessLogDays), `accessLogRetentionDays must be a positive whole number (got ${accessLogDays})`);
    errors.check(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(prefix), `backupPrefix "${props.backupPrefix}" must be a non-empty key prefix of letters, digits, . _ - and /`);
    if (lockDays !== undefined) {
      errors.check(isPositiveInteger(lockDays), `objectLockRetentionDays must be a positive whole number (got ${lockDays})`);
      errors.check(lockDays <= retentionDays, `objectLockRetentionDays (${lockDays}) must not exceed retentionDays (${retentionDays}): locked versions could not expire`);
    }
    errors.check(lockOn || (props.objectLockMode === undefined && props.objectLockRetentionDays === undefined), 'objectLockMode and objectLockRetentionDays need objectLock on');
    if (props.replica) {
      const { bucketArn, kmsKeyArn } = props.replica;
      errors.check(Token.isUnresolved(bucketArn) || /^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucketArn), `replica.bucketArn "${bucketArn}" is not an S3 bucket ARN`);
      errors.check(Token.isUnresolved(kmsKeyArn) || /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(kmsKeyArn), `replica.kmsKeyArn "${kmsKeyArn}" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)`);
    }
    errors.throwIfAny();

    this.backupPrefix = prefix;
    this.retentionDays = retentionDays;

    this.key = new kms.Key(this, 'Key', secureKeyProps('Encrypts Live It Iconic database backups (iconic-dr)'));

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      ...secureBucketBaseProps(),
      encryption: s3.BucketEncryption.S3_MANAGED,
      lifecycleRules: accessLogLifecycleRules(accessLogDays),
    });

    // Our own replication role (CDK's default one has a fixed name and wildcard KMS actions).
    const replicationRole = props.replica
      ? new iam.Role(this, 'ReplicationRole', { assumedBy: new iam.ServicePrincipal('s3.amazonaws.com'), description: 'iconic-dr: replicates backups to the replica bucket' })
      : undefined;
    this.replicationRole = replicationRole;
    const replicationRules: s3.ReplicationRule[] | undefined = props.replica
      ? [
          {
            id: 'replicate-backups',
            destination: s3.Bucket.fromBucketArn(this, 'ReplicaBucket', props.replica.bucketArn),
            kmsKey: kms.Key.fromKeyArn(this, 'ReplicaKey', props.replica.kmsKeyArn),
            sseKmsEncryptedObjects: true,
            deleteMarkerReplication: false,
            priority: 0,
          },
        ]
      : undefined;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...secureBucketBaseProps(),
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'backup-bucket/',
      lifecycleRules: backupLifecycleRules(prefix, retentionDays, noncurrentDays),
      ...(lockDays !== undefined
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention:
              props.objectLockMode === 'COMPLIANCE'
                ? s3.ObjectLockRetention.compliance(Duration.days(lockDays))
                : s3.ObjectLockRetention.governance(Duration.days(lockDays)),
          }
        : {}),
      ...(replicationRules && replicationRole ? { replicationRules, replicationRole } : {}),
    });
    if (props.replica && replicationRole) this.grantReplication(replicationRole, props.replica);

    // Backups that survive an attacker with a role of the stack or a careless admin: nobody but the
    // break-glass principal may bypass the lock, delete versions, or turn the key off.
    const exceptBreakGlass = props.breakGlassPrincipalArn ? { conditions: { ArnNotEquals: { 'aws:PrincipalArn': props.breakGlassPrincipalArn } } } : {};
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'NoEarlyDeletion',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:BypassGovernanceRetention', 's3:DeleteObjectVersion', 's3:PutObjectRetention', 's3:PutObjectLegalHold'],
        resources: [this.bucket.arnForObjects('*')],
        ...exceptBreakGlass,
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'KeepTheBackupKey',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:DisableKey', 'kms:ScheduleKeyDeletion'],
        resources: ['*'],
        ...exceptBreakGlass,
      }),
    );

    if (props.dataEvents ?? true) {
      this.trail = new cloudtrail.Trail(this, 'DataEvents', {
        bucket: this.accessLogsBucket,
        s3KeyPrefix: 'cloudtrail',
        isMultiRegionTrail: false,
        includeGlobalServiceEvents: false,
        managementEvents: cloudtrail.ReadWriteType.NONE,
        enableFileValidation: true,
      });
      this.trail.addS3EventSelector([{ bucket: this.bucket }], { readWriteType: cloudtrail.ReadWriteType.ALL, includeManagementEvents: false });
    }
  }

  /** Exactly what S3 replication of SSE-KMS objects needs: read versions here, write replicas there. */
  private grantReplication(role: iam.Role, replica: ReplicaDestination): void {
    const stack = Stack.of(this);
    // arn:aws:kms:<region>:<account>:key/<id>: S3 uses the key from the replica's region.
    const replicaRegion = Token.isUnresolved(replica.kmsKeyArn) ? stack.region : (replica.kmsKeyArn.split(':')[3] ?? stack.region);
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadReplicationConfiguration', actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'], resources: [this.bucket.bucketArn] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSourceVersions',
        // Locked objects replicate with their retention: S3 reads it with the role (the replica vault has Object Lock too).
        actions: ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging', 's3:GetObjectRetention', 's3:GetObjectLegalHold'],
        resources: [this.bucket.arnForObjects('*')],
      }),
    );
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'WriteReplicas', actions: ['s3:ReplicateObject', 's3:ReplicateTags'], resources: [`${replica.bucketArn}/*`] }));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptSource',
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptReplicas',
        actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
        resources: [replica.kmsKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${replicaRegion}.amazonaws.com` } },
      }),
    );
    const reason = 'Replication copies every object version of the backup bucket; access is limited to the objects of the two buckets and to replication actions.';
    Validations.of(role).acknowledge(
      { id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as CfnElement)}.Arn>/*]`, reason },
      { id: `AwsSolutions-IAM5[Resource::${replica.bucketArn}/*]`, reason },
    );
  }

  /** `s3://bucket/prefix`, the store location handlers open. */
  get location(): string {
    return `s3://${this.bucket.bucketName}/${this.backupPrefix}`;
  }
}
