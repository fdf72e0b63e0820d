import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Alerting, deadLetterQueue } from './alerting.js';
import { BackupPipeline, DEFAULT_BACKUP_SCHEDULE } from './backup-pipeline.js';
import { BackupVault, type ObjectLockMode, type ReplicaDestination } from './backup-vault.js';
import { DatabaseSecrets } from './database-secrets.js';
import { DEFAULT_RTO_SECONDS, ENV } from './contract.js';
import { DrFunction, type DrFunctionNetwork, type FunctionSizing } from './dr-function.js';
import { type AlarmThresholds, DrMonitoring } from './monitoring.js';
import { DEFAULT_MONTHLY_DRILL_SCHEDULE, DEFAULT_WEEKLY_DRILL_SCHEDULE, RestoreWorkflow } from './restore-workflow.js';

export interface DisasterRecoveryStackProps extends StackProps {
  /**
   * Daily backup schedule (EventBridge expression, UTC).
   * @default 'cron(0 2 * * ? *)'
   */
  readonly backupSchedule?: string;
  /**
   * Days a backup is kept in S3.
   * @default 90
   */
  readonly retentionDays?: number;
  /**
   * Tables to back up (`table` or `schema.table`).
   * @default - every ordinary table of `schemas`
   */
  readonly tables?: readonly string[];
  /**
   * Schemas to back up.
   * @default ['public']
   */
  readonly schemas?: readonly string[];
  /**
   * E-mail addresses for critical alerts (on-call).
   * @default - none
   */
  readonly criticalEmails?: readonly string[];
  /**
   * E-mail addresses for warnings.
   * @default - none
   */
  readonly warningEmails?: readonly string[];
  /**
   * Post alerts to Slack (creates the webhook secret and the Slack notifier).
   * @default false
   */
  readonly slack?: boolean;
  /**
   * S3 Object Lock default retention in days for new backup objects.
   * @default - no Object Lock
   */
  readonly objectLockRetentionDays?: number;
  /**
   * Object Lock mode.
   * @default 'GOVERNANCE'
   */
  readonly objectLockMode?: ObjectLockMode;
  /**
   * Replicate backups to a bucket in another region (see BackupReplicaStack).
   * @default - no replica
   */
  readonly replica?: ReplicaDestination;
  /**
   * Run the Lambda functions in this VPC (when the database is only reachable from it).
   * @default - no VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Look up this VPC by id and run the functions in it (needs an explicit env account and region,
   * and credentials at synth time for the lookup). Ignored when `vpc` is given.
   * @default - no VPC
   */
  readonly vpcId?: string;
  /**
   * Subnets for the functions when `vpc` is set.
   * @default - private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Run the weekly and monthly restore drills into staging.
   * @default true
   */
  readonly drillsEnabled?: boolean;
  /**
   * Weekly drill schedule (UTC).
   * @default 'cron(0 4 ? * SUN *)'
   */
  readonly weeklyDrillSchedule?: string;
  /**
   * Monthly full drill schedule (UTC).
   * @default 'cron(0 14 ? * 6#1 *)'
   */
  readonly monthlyDrillSchedule?: string;
  /**
   * Alarm thresholds.
   * @default - 26 h without a successful backup, +50 %, +25 %, 60 % of the backup timeout, RTO 1 h
   */
  readonly thresholds?: AlarmThresholds;
  /**
   * The alert topics have subscribers created outside this stack (a pager integration). Without
   * e-mails, Slack or this, synth warns that alerts reach nobody.
   * @default false
   */
  readonly externalSubscribers?: boolean;
  /**
   * Memory and timeout per function (the runbook's knob when a backup or restore nears 15 minutes).
   * @default - backup, validate, restore 1024 MB / 15 min; verify-counts, integrity-check 512 MB / 5 min; pick-backup 256 MB / 1 min; notify 256 MB / 30 s
   */
  readonly functionSizing?: { readonly [K in 'backup' | 'validate' | 'restore' | 'verifyCounts' | 'integrityCheck' | 'pickBackup' | 'notify']?: FunctionSizing };
  /**
   * Longest a backup execution may run.
   * @default 2 hours
   */
  readonly backupMachineTimeout?: Duration;
  /**
   * Longest a restore execution may run; must exceed the RTO.
   * @default 2 hours
   */
  readonly restoreMachineTimeout?: Duration;
}

/**
 * iconic-dr on AWS: the backup vault, the database secrets, alerting, the backup pipeline, the
 * restore workflow with its drills, and the alarms and dashboard (DESIGN.md §6).
 */
export class DisasterRecoveryStack extends Stack {
  public readonly vault: BackupVault;
  public readonly secrets: DatabaseSecrets;
  public readonly alerting: Alerting;
  public readonly notifyFunction: DrFunction;
  public readonly backup: BackupPipeline;
  public readonly restore: RestoreWorkflow;
  public readonly monitoring: DrMonitoring;
  /** EventBridge deliveries (scheduled backups, drills, the age check) that failed every retry. */
  public readonly scheduleDeadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: DisasterRecoveryStackProps = {}) {
    super(scope, id, {
      description: 'iconic-dr: disaster recovery for the Live It Iconic database (backups, restores, drills, alarms)',
      ...props,
    });
    const vpc = props.vpc ?? (props.vpcId ? ec2.Vpc.fromLookup(this, 'Vpc', { vpcId: props.vpcId }) : undefined);
    const network: DrFunctionNetwork | undefined = vpc ? { vpc, ...(props.vpcSubnets ? { vpcSubnets: props.vpcSubnets } : {}) } : undefined;
    const withNetwork = network ? { network } : {};

    this.vault = new BackupVault(this, 'Vault', {
      ...(props.retentionDays !== undefined ? { retentionDays: props.retentionDays } : {}),
      ...(props.objectLockRetentionDays !== undefined ? { objectLockRetentionDays: props.objectLockRetentionDays } : {}),
      ...(props.objectLockMode ? { objectLockMode: props.objectLockMode } : {}),
      ...(props.replica ? { replica: props.replica } : {}),
    });
    this.secrets = new DatabaseSecrets(this, 'Secrets');
    this.alerting = new Alerting(this, 'Alerting', {
      ...(props.criticalEmails ? { criticalEmails: props.criticalEmails } : {}),
      ...(props.warningEmails ? { warningEmails: props.warningEmails } : {}),
      slack: props.slack ?? false,
      ...(props.externalSubscribers !== undefined ? { externalSubscribers: props.externalSubscribers } : {}),
      ...withNetwork,
    });
    const sizing = props.functionSizing ?? {};
    this.notifyFunction = new DrFunction(this, 'NotifyFunction', {
      handler: 'notify',
      description: 'Publishes backup/restore results to SNS and emits the LiveItIconic metrics',
      timeout: sizing.notify?.timeout ?? Duration.seconds(30),
      memorySize: sizing.notify?.memorySize ?? 256,
      ...withNetwork,
    })
      .bindAlertTopics(this.alerting.criticalTopic, this.alerting.warningTopic)
      .addEnvironment(ENV.rtoSeconds, String(props.thresholds?.rtoSeconds ?? DEFAULT_RTO_SECONDS));
    this.scheduleDeadLetterQueue = deadLetterQueue(this, 'ScheduleDeadLetterQueue');

    this.backup = new BackupPipeline(this, 'Backup', {
      vault: this.vault,
      sourceSecret: this.secrets.source,
      notifyFunction: this.notifyFunction,
      ...(props.backupSchedule ? { schedule: props.backupSchedule } : {}),
      ...(props.tables ? { tables: props.tables } : {}),
      ...(props.schemas ? { schemas: props.schemas } : {}),
      ...(sizing.backup ? { backupSizing: sizing.backup } : {}),
      ...(sizing.validate ? { validateSizing: sizing.validate } : {}),
      ...(props.backupMachineTimeout ? { machineTimeout: props.backupMachineTimeout } : {}),
      scheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
      ...withNetwork,
    });
    this.restore = new RestoreWorkflow(this, 'Restore', {
      vault: this.vault,
      targetSecrets: this.secrets.targets,
      notifyFunction: this.notifyFunction,
      ...(props.drillsEnabled !== undefined ? { drillsEnabled: props.drillsEnabled } : {}),
      ...(props.weeklyDrillSchedule ? { weeklyDrillSchedule: props.weeklyDrillSchedule } : {}),
      ...(props.monthlyDrillSchedule ? { monthlyDrillSchedule: props.monthlyDrillSchedule } : {}),
      sizing,
      ...(props.restoreMachineTimeout ? { machineTimeout: props.restoreMachineTimeout } : {}),
      backupTables: props.tables ?? [],
      scheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
      ...withNetwork,
    });

    this.monitoring = new DrMonitoring(this, 'Monitoring', {
      alerting: this.alerting,
      backup: this.backup,
      restore: this.restore,
      functions: {
        BackupFunction: this.backup.backupFunction,
        BackupValidateFunction: this.backup.validateFunction,
        BackupAgeFunction: this.backup.ageCheckFunction,
        PickBackupFunction: this.restore.pickBackupFunction,
        RestoreValidateFunction: this.restore.validateFunction,
        RestoreFunction: this.restore.restoreFunction,
        VerifyCountsFunction: this.restore.verifyCountsFunction,
        IntegrityCheckFunction: this.restore.integrityCheckFunction,
        NotifyFunction: this.notifyFunction,
        ...(this.alerting.slackNotifier ? { SlackNotifierFunction: this.alerting.slackNotifier } : {}),
      },
      notifyFunction: this.notifyFunction,
      deadLetterQueues: {
        ScheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
        ...(this.alerting.slackDeadLetterQueue ? { SlackDeadLetterQueue: this.alerting.slackDeadLetterQueue } : {}),
      },
      schedules: {
        backup: props.backupSchedule ?? DEFAULT_BACKUP_SCHEDULE,
        ...(props.drillsEnabled === false ? {} : { weeklyDrill: props.weeklyDrillSchedule ?? DEFAULT_WEEKLY_DRILL_SCHEDULE, monthlyDrill: props.monthlyDrillSchedule ?? DEFAULT_MONTHLY_DRILL_SCHEDULE }),
      },
      ...(props.thresholds ? { thresholds: props.thresholds } : {}),
    });

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('BackupBucketName', this.vault.bucket.bucketName, 'Bucket that holds the backups (under the backups/ prefix)');
    output('BackupLocation', this.vault.location, 'BACKUP_LOCATION for the iconic-dr CLI');
    output('BackupStateMachineArn', this.backup.stateMachine.stateMachine.stateMachineArn, 'Start an on-demand backup: aws stepfunctions start-execution --state-machine-arn <this> --input "{}"');
    output('RestoreStateMachineArn', this.restore.stateMachine.stateMachine.stateMachineArn, 'Start a restore: --input {"backupId":"latest","target":"staging"}');
    output('SourceSecretArn', this.secrets.source.secretArn, 'Fill in the source database credentials');
    output('StagingSecretArn', this.secrets.targets.staging.secretArn, 'Fill in the staging database credentials');
    output('ProductionSecretArn', this.secrets.targets.production.secretArn, 'Fill in the production database credentials');
    if (this.alerting.slackWebhookSecret) output('SlackWebhookSecretArn', this.alerting.slackWebhookSecret.secretArn, 'Put {"webhookUrl":"https://hooks.slack.com/…"} here');
    output('CriticalTopicArn', this.alerting.criticalTopic.topicArn, 'Critical alerts (subscribe a pager)');
    output('WarningTopicArn', this.alerting.warningTopic.topicArn, 'Warnings');
    output('DashboardName', this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard');
  }
}
