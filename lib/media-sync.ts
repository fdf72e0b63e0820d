import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { scheduleDelivery } from './backup-pipeline.js';
import type { BackupVault } from './backup-vault.js';
import { ENV } from './contract.js';
import { valuelessSecret } from './database-secrets.js';
import { PropErrors } from './defaults.js';
import { DrFunction, type DrFunctionNetwork, type FunctionSizing } from './dr-function.js';

export interface MediaSyncProps {
  readonly vault: BackupVault;
  /** Key that encrypts the Storage secret. */
  readonly secretKey: kms.IKey;
  /**
   * How often Supabase Storage is synced (the media RPO is 1 h).
   * @default 'rate(1 hour)'
   */
  readonly schedule?: string;
  /** Failed scheduled deliveries go here (its alarm pages). */
  readonly scheduleDeadLetterQueue?: sqs.IQueue;
  /** @default 1024 MB, 15 min (a first sync may need several runs; stored contents are kept) */
  readonly sizing?: FunctionSizing;
  readonly network?: DrFunctionNetwork;
}

/**
 * User files and media (RPO 1 hour): an hourly function copies what changed in Supabase Storage
 * (through its S3 endpoint, credentials in a secret the operator fills) into the backup bucket as
 * content-addressed objects and a point-in-time snapshot, and emits MediaSnapshotAgeMinutes.
 */
export class MediaSync extends Construct {
  public readonly storageSecret: secretsmanager.Secret;
  public readonly syncFunction: DrFunction;
  public readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: MediaSyncProps) {
    super(scope, id);
    const schedule = props.schedule ?? 'rate(1 hour)';
    const errors = new PropErrors('MediaSync');
    errors.check(/^(rate|cron)\(.+\)$/.test(schedule), `schedule must be an EventBridge rate(...) or cron(...) expression (got ${schedule})`);
    errors.throwIfAny();

    this.storageSecret = valuelessSecret(this, 'StorageSecret', {
      description: 'iconic-dr: Supabase Storage S3 access ({"endpoint":"https://<ref>.supabase.co/storage/v1/s3","region":"…","accessKeyId":"…","secretAccessKey":"…"})',
      encryptionKey: props.secretKey,
    });
    Validations.of(this.storageSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'The S3 access keys belong to the Supabase project, which Secrets Manager cannot rotate; the operator rotates them in Supabase and updates the secret (runbook).',
    });

    this.syncFunction = new DrFunction(this, 'SyncFunction', {
      handler: 'media-sync',
      description: 'Hourly: Supabase Storage into the backup bucket (content-addressed snapshot), MediaSnapshotAgeMinutes',
      timeout: props.sizing?.timeout ?? Duration.minutes(15),
      memorySize: props.sizing?.memorySize ?? 1024,
      // One sync at a time: a second would copy the same objects and race for the same snapshot id.
      reservedConcurrentExecutions: 1,
      ...(props.scheduleDeadLetterQueue ? { deadLetterQueue: props.scheduleDeadLetterQueue } : {}),
      retryAttempts: 0,
      ...(props.network ? { network: props.network } : {}),
    })
      .bindBackupStore(props.vault, 'write')
      .addEnvironment(ENV.storageSecretArn, this.storageSecret.secretArn);
    this.storageSecret.grantRead(this.syncFunction.role);
    Validations.of(this.syncFunction.function).acknowledge({
      id: 'Serverless-LambdaAsyncFailureDestination',
      reason: 'Failed scheduled invocations go to the schedule dead-letter queue (DeadLetterConfig, alarmed); an on-failure destination would hold the same events twice.',
    });

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'iconic-dr hourly media sync (Supabase Storage, RPO 1 h)',
      schedule: events.Schedule.expression(schedule),
      targets: [new targets.LambdaFunction(this.syncFunction.function, { event: events.RuleTargetInput.fromObject({ sync: 'media' }), ...scheduleDelivery(props.scheduleDeadLetterQueue) })],
    });
  }
}
