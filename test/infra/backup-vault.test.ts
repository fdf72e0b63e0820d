import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { BackupVault } from '../../lib/index.js';
import { type CfnResource, logicalId, ofType, roleStatements, testApp } from './helpers.js';

const REPLICA = {
  bucketArn: 'arn:aws:s3:::iconic-dr-replica-eu-west-1',
  kmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
};

describe('BackupVault', () => {
  let vault: BackupVault;
  let template: Template;
  let resources: Record<string, CfnResource>;
  let locked: { vault: BackupVault; template: Template; resources: Record<string, CfnResource> };

  beforeAll(() => {
    // Prepare: one default vault and one with every option, in two small stacks of one app.
    const app = testApp();
    const stack = new Stack(app, 'VaultDefaults');
    vault = new BackupVault(stack, 'Vault');
    const lockedStack = new Stack(app, 'VaultLocked');
    const lockedVault = new BackupVault(lockedStack, 'Vault', { retentionDays: 60, objectLockRetentionDays: 30, objectLockMode: 'COMPLIANCE', replica: REPLICA });
    // Synthesize only once every stack is in the tree.
    template = Template.fromStack(stack);
    resources = template.toJSON().Resources;
    const lockedTemplate = Template.fromStack(lockedStack);
    locked = { vault: lockedVault, template: lockedTemplate, resources: lockedTemplate.toJSON().Resources };
  });

  it('encrypts backups with a rotating customer-managed key that is retained', () => {
    template.hasResource('AWS::KMS::Key', { Properties: { EnableKeyRotation: true }, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: { 'Fn::GetAtt': [logicalId(vault.key), 'Arn'] } }, BucketKeyEnabled: true },
        ],
      },
    });
  });

  it('makes the backup bucket versioned, private, owner-enforced and retained', () => {
    const bucket = resources[logicalId(vault.bucket)] as CfnResource;
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
    expect(bucket.Properties).not.toHaveProperty('ReplicationConfiguration');
  });

  it('locks every backup object by default (GOVERNANCE, as long as the lifecycle keeps it), so no role can delete or overwrite it early', () => {
    const bucket = resources[logicalId(vault.bucket)] as CfnResource;
    expect(bucket.Properties).toMatchObject({ ObjectLockEnabled: true, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 90 } } } });
    const policy = Object.values(ofType(resources, 'AWS::S3::BucketPolicy')).find((p) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify({ Ref: logicalId(vault.bucket) }));
    const statements = (policy?.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({ Sid: 'NoEarlyDeletion', Effect: 'Deny', Principal: { AWS: '*' }, Action: ['s3:BypassGovernanceRetention', 's3:DeleteObjectVersion', 's3:PutObjectLegalHold', 's3:PutObjectRetention'] }),
    );
    // Without a break-glass principal, nobody is excepted.
    expect(statements.find((st) => st.Sid === 'NoEarlyDeletion')).not.toHaveProperty('Condition');
  });

  it('denies disabling or scheduling the deletion of the vault key to all but the break-glass principal', () => {
    const key = resources[logicalId(vault.key)]?.Properties as { KeyPolicy: { Statement: Record<string, unknown>[] } };
    expect(key.KeyPolicy.Statement).toContainEqual(expect.objectContaining({ Sid: 'KeepTheBackupKey', Effect: 'Deny', Principal: { AWS: '*' }, Action: ['kms:DisableKey', 'kms:ScheduleKeyDeletion'] }));
    const stack = new Stack(testApp(), 'BreakGlass');
    const withBreakGlass = new BackupVault(stack, 'Vault', { breakGlassPrincipalArn: 'arn:aws:iam::123456789012:role/break-glass' });
    const statements = (Template.fromStack(stack).toJSON().Resources[logicalId(withBreakGlass.key)].Properties.KeyPolicy as { Statement: Record<string, unknown>[] }).Statement;
    expect(statements.find((st) => st.Sid === 'KeepTheBackupKey')).toMatchObject({ Condition: { ArnNotEquals: { 'aws:PrincipalArn': 'arn:aws:iam::123456789012:role/break-glass' } } });
  });

  it('records every object-level call on the backup bucket with a CloudTrail data-event trail, unless turned off', () => {
    const trail = resources[logicalId(vault.trail!)]?.Properties as Record<string, unknown>;
    expect(trail).toMatchObject({ IsLogging: true, EnableLogFileValidation: true, S3BucketName: { Ref: logicalId(vault.accessLogsBucket) }, S3KeyPrefix: 'cloudtrail' });
    expect(trail.EventSelectors).toEqual([
      { DataResources: [{ Type: 'AWS::S3::Object', Values: [{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(vault.bucket), 'Arn'] }, '/']] }] }], IncludeManagementEvents: false, ReadWriteType: 'All' },
    ]);
    const quiet = new Stack(testApp(), 'NoTrail');
    new BackupVault(quiet, 'Vault', { dataEvents: false, objectLock: false });
    const quietResources = Template.fromStack(quiet).toJSON().Resources as Record<string, CfnResource>;
    expect(Object.keys(ofType(quietResources, 'AWS::CloudTrail::Trail'))).toEqual([]);
    expect(Object.values(ofType(quietResources, 'AWS::S3::Bucket')).some((b) => b.Properties?.ObjectLockEnabled)).toBe(false);
  });

  it('expires backups after 90 days, noncurrent versions after 30 and aborts multipart uploads after 1 day', () => {
    const bucket = resources[logicalId(vault.bucket)] as CfnResource;
    expect(bucket.Properties?.LifecycleConfiguration).toEqual({
      Rules: [
        { Id: 'expire-backups', Status: 'Enabled', Prefix: 'backups/', ExpirationInDays: 90 },
        {
          Id: 'noncurrent-versions-and-uploads',
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          ExpiredObjectDeleteMarker: true,
        },
      ],
    });
  });

  it('denies every request without TLS (and old TLS) on both buckets', () => {
    const policies = Object.values(ofType(resources, 'AWS::S3::BucketPolicy'));
    const buckets = [logicalId(vault.bucket), logicalId(vault.accessLogsBucket)];
    for (const bucket of buckets) {
      const policy = policies.find((p) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify({ Ref: bucket }));
      const statements = (policy?.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }));
    }
  });

  it('logs server access to a separate SSE-S3, private, expiring, retained bucket', () => {
    const bucket = resources[logicalId(vault.bucket)] as CfnResource;
    expect(bucket.Properties?.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logicalId(vault.accessLogsBucket) }, LogFilePrefix: 'backup-bucket/' });
    const logs = resources[logicalId(vault.accessLogsBucket)] as CfnResource;
    expect(logs.DeletionPolicy).toBe('Retain');
    expect(logs.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [{ Id: 'expire-access-logs', Status: 'Enabled', ExpirationInDays: 365, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }] },
    });
    // Log delivery is allowed by bucket policy, for this account's backup bucket only.
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId(vault.accessLogsBucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Allow', Action: 's3:PutObject', Principal: { Service: 'logging.s3.amazonaws.com' }, Condition: Match.objectLike({ ArnLike: { 'aws:SourceArn': { 'Fn::GetAtt': [logicalId(vault.bucket), 'Arn'] } } }) }),
        ]),
      },
    });
  });

  it('turns on Object Lock with the given mode and days, and retention follows retentionDays', () => {
    const bucket = locked.resources[logicalId(locked.vault.bucket)] as CfnResource;
    expect(bucket.Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 30 } } },
      LifecycleConfiguration: { Rules: [expect.objectContaining({ ExpirationInDays: 60 }), expect.anything()] },
    });
  });

  it('replicates SSE-KMS objects to the given bucket with the replica key, not delete markers', () => {
    const bucket = locked.resources[logicalId(locked.vault.bucket)] as CfnResource;
    const replication = bucket.Properties?.ReplicationConfiguration as { Role: unknown; Rules: Record<string, unknown>[] };
    expect(replication.Rules).toEqual([
      expect.objectContaining({
        Id: 'replicate-backups',
        Status: 'Enabled',
        Priority: 0,
        Destination: expect.objectContaining({ Bucket: REPLICA.bucketArn, EncryptionConfiguration: { ReplicaKmsKeyID: REPLICA.kmsKeyArn } }),
        SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: 'Enabled' } },
        DeleteMarkerReplication: { Status: 'Disabled' },
      }),
    ]);
    const roleId = (replication.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] as string;
    const statements = roleStatements(locked.resources, roleId);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.sort()).toEqual(
      [
        's3:GetReplicationConfiguration',
        's3:ListBucket',
        's3:GetObjectVersionForReplication',
        's3:GetObjectVersionAcl',
        's3:GetObjectVersionTagging',
        's3:GetObjectRetention',
        's3:GetObjectLegalHold',
        's3:ReplicateObject',
        's3:ReplicateTags',
        'kms:Decrypt',
        'kms:Encrypt',
        'kms:GenerateDataKey',
      ].sort(),
    );
    expect(statements).toContainEqual(expect.objectContaining({ Action: ['kms:Encrypt', 'kms:GenerateDataKey'], Resource: REPLICA.kmsKeyArn, Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } } }));
    expect(locked.resources[roleId]?.Properties).not.toHaveProperty('RoleName');
  });

  it('reports every invalid prop at once', () => {
    const stack = new Stack(testApp(), 'Invalid');
    expect(() => new BackupVault(stack, 'Vault', { retentionDays: 0, objectLockRetentionDays: 120, backupPrefix: '', replica: { bucketArn: 'bucket', kmsKeyArn: 'alias/x' } })).toThrow(
      /retentionDays must be a positive whole number[\s\S]*backupPrefix[\s\S]*objectLockRetentionDays \(120\) must not exceed[\s\S]*replica.bucketArn[\s\S]*replica.kmsKeyArn/,
    );
  });
});
