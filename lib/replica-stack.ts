import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { BackupVault } from './backup-vault.js';

export interface BackupReplicaStackProps extends StackProps {
  /**
   * Days a replicated backup is kept.
   * @default 90
   */
  readonly retentionDays?: number;
}

/**
 * The destination of cross-region replication: a BackupVault (same secure defaults: rotating KMS
 * key, versioned, private, TLS-only, lifecycle, access logs, RETAIN) deployed in the replica region.
 *
 * Two steps, because a bucket in another region cannot be referenced at deploy time without
 * custom resources: deploy this stack (`-c replicaRegion=eu-west-1`), then deploy the main stack
 * with `-c replicaBucketArn=<ReplicaBucketArn> -c replicaKmsKeyArn=<ReplicaKmsKeyArn>` from its outputs.
 */
export class BackupReplicaStack extends Stack {
  public readonly vault: BackupVault;

  constructor(scope: Construct, id: string, props: BackupReplicaStackProps = {}) {
    super(scope, id, { description: 'iconic-dr: cross-region replica of the backup bucket', ...props });
    this.vault = new BackupVault(this, 'ReplicaVault', props.retentionDays !== undefined ? { retentionDays: props.retentionDays } : {});
    new CfnOutput(this, 'ReplicaBucketArn', { value: this.vault.bucket.bucketArn, description: 'Pass as -c replicaBucketArn=… to the main stack' });
    new CfnOutput(this, 'ReplicaKmsKeyArn', { value: this.vault.key.keyArn, description: 'Pass as -c replicaKmsKeyArn=… to the main stack' });
  }
}
