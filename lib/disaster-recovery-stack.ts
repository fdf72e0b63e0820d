import { Annotations, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AdminApi, type AdminApiProps } from './admin-api.js';
import { MediaSync } from './media-sync.js';
import { Alerting, deadLetterQueue } from './alerting.js';
import { BackupPipeline, DEFAULT_BACKUP_SCHEDULE } from './backup-pipeline.js';
import { DrTaskCluster, type FargateSizing, type StepCompute } from './fargate-steps.js';
import { BackupVault, type ObjectLockMode, type ReplicaDestination } from './backup-vault.js';
import { DatabaseSecrets } from './database-secrets.js';
import { type ContainerStep, DEFAULT_RTO_SECONDS, ENV } from './contract.js';
import { DrFunction, type DrFunctionNetwork, type FunctionSizing } from './dr-function.js';
import { type AlarmThresholds, DrMonitoring } from './monitoring.js';
import { type DatabaseLocation, DEFAULT_MONTHLY_DRILL_SCHEDULE, DEFAULT_WEEKLY_DRILL_SCHEDULE, RestoreWorkflow } from './restore-workflow.js';

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
   * S3 Object Lock on the backup bucket (GOVERNANCE, bypassable only by breakGlassPrincipalArn).
   * @default true
   */
  readonly objectLock?: boolean;
  /**
   * S3 Object Lock default retention in days for new backup objects.
   * @default - retentionDays
   */
  readonly objectLockRetentionDays?: number;
  /**
   * CloudTrail data events for the backup bucket (who read, wrote or tried to delete backups).
   * @default true
   */
  readonly bucketDataEvents?: boolean;
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
   * Files of a backup the validation checks at the same time, on the Lambda route (the `Validate`
   * Distributed Map's MaxConcurrency, in the backup and both restore machines). `validate` in
   * functionSizing sizes the function that checks one file.
   * @default 8
   */
  readonly validateConcurrency?: number;
  /**
   * How the daily backup writes table rows: `copy` (each table's COPY text) or `json` (NDJSON).
   * @default 'copy'
   */
  readonly backupRows?: 'json' | 'copy';
  /**
   * ARNs of the principals (roles, users) that may start a production restore: they get a role
   * that may start the production restore machine, and nothing else in the stack grants it. Nobody
   * but the production restore functions (and `breakGlassPrincipalArn`) may read the production
   * secret's value.
   * @default - no starter role (synth warns: production restores need someone allowed to start them)
   */
  readonly productionRestorePrincipals?: readonly string[];
  /**
   * Where production's database is (host, port, dbname: no credentials). A restore into staging (a
   * drill) refuses a target that is this database; the staging functions cannot read the production
   * secret to find out themselves.
   * @default - not compared (the backup's source and the iconic-dr database markers still are)
   */
  readonly productionDatabase?: DatabaseLocation;
  /**
   * The break-glass principal (an ARN): the only one besides the functions that may read the
   * production secret, and the only one that may disable or schedule the deletion of the vault key.
   * @default - none
   */
  readonly breakGlassPrincipalArn?: string;
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
  /**
   * The admin API and `/admin/backups` page for the shop's admins (Supabase Auth tokens with the
   * admin claim).
   * @default - no admin API
   */
  readonly adminApi?: Omit<AdminApiProps, 'vault' | 'network'>;
  /**
   * Sync Supabase Storage (user files and media, RPO 1 h) into the backup bucket on this schedule;
   * `false` leaves media out.
   * @default 'rate(1 hour)'
   */
  readonly mediaSchedule?: string | false;
  /**
   * Where backup, validate and restore run: `lambda` (15 minutes at most), `fargate` (an ECS Fargate
   * task each, ARM64, hours), or `auto` (Lambda unless the backup's manifest says the step would use
   * more than half of its Lambda timeout). `fargate` and `auto` build a container image at deploy
   * (Docker needed where `cdk deploy` runs; `cdk synth` needs none). docs/scale.md.
   * @default 'lambda'
   */
  readonly compute?: StepCompute;
  /**
   * CPU, memory and ceiling of each Fargate step.
   * @default - 2 vCPU, 4 GiB, 90 minutes each
   */
  readonly fargateSizing?: { readonly [K in ContainerStep]?: FargateSizing };
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
  /** The hourly media sync, unless `mediaSchedule` is false. */
  public readonly media?: MediaSync;
  /** The admin API, when `adminApi` was given. */
  public readonly adminApi?: AdminApi;
  /** The role the productionRestorePrincipals assume to start a production restore. */
  public readonly productionRestoreStarter?: iam.Role;
  /** EventBridge deliveries (scheduled backups, drills, the age check) that failed every retry. */
  public readonly scheduleDeadLetterQueue: sqs.Queue;
  /** The ECS cluster, network and image of the Fargate steps (compute `fargate` or `auto`). */
  public readonly taskCluster?: DrTaskCluster;

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
      ...(props.objectLock !== undefined ? { objectLock: props.objectLock } : {}),
      ...(props.bucketDataEvents !== undefined ? { dataEvents: props.bucketDataEvents } : {}),
      ...(props.breakGlassPrincipalArn ? { breakGlassPrincipalArn: props.breakGlassPrincipalArn } : {}),
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

    const compute = props.compute ?? 'lambda';
    const fargateSizing = props.fargateSizing ?? {};
    const taskCluster = compute === 'lambda' ? undefined : new DrTaskCluster(this, 'Tasks', withNetwork);
    this.taskCluster = taskCluster;
    const routing = { compute, ...(taskCluster ? { taskCluster } : {}) };

    this.backup = new BackupPipeline(this, 'Backup', {
      ...routing,
      fargateSizing: { ...(fargateSizing.backup ? { backup: fargateSizing.backup } : {}), ...(fargateSizing.validate ? { validate: fargateSizing.validate } : {}) },
      vault: this.vault,
      sourceSecret: this.secrets.source,
      notifyFunction: this.notifyFunction,
      ...(props.backupSchedule ? { schedule: props.backupSchedule } : {}),
      ...(props.tables ? { tables: props.tables } : {}),
      ...(props.schemas ? { schemas: props.schemas } : {}),
      ...(sizing.backup ? { backupSizing: sizing.backup } : {}),
      ...(sizing.validate ? { validateSizing: sizing.validate } : {}),
      ...(props.validateConcurrency !== undefined ? { validateConcurrency: props.validateConcurrency } : {}),
      ...(props.backupRows ? { rows: props.backupRows } : {}),
      ...(props.backupMachineTimeout ? { machineTimeout: props.backupMachineTimeout } : {}),
      scheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
      ...withNetwork,
    });
    this.restore = new RestoreWorkflow(this, 'Restore', {
      ...routing,
      fargateSizing: { ...(fargateSizing.restore ? { restore: fargateSizing.restore } : {}), ...(fargateSizing.validate ? { validate: fargateSizing.validate } : {}) },
      vault: this.vault,
      targetSecrets: this.secrets.targets,
      readOnlySecrets: this.secrets.readOnlyTargets,
      notifyFunction: this.notifyFunction,
      ...(props.drillsEnabled !== undefined ? { drillsEnabled: props.drillsEnabled } : {}),
      ...(props.weeklyDrillSchedule ? { weeklyDrillSchedule: props.weeklyDrillSchedule } : {}),
      ...(props.monthlyDrillSchedule ? { monthlyDrillSchedule: props.monthlyDrillSchedule } : {}),
      sizing,
      ...(props.validateConcurrency !== undefined ? { validateConcurrency: props.validateConcurrency } : {}),
      ...(props.productionDatabase ? { protectedDatabases: { production: props.productionDatabase } } : {}),
      ...(props.restoreMachineTimeout ? { machineTimeout: props.restoreMachineTimeout } : {}),
      backupTables: props.tables ?? [],
      scheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
      media: props.mediaSchedule !== false,
      ...withNetwork,
    });

    if (props.mediaSchedule !== false) {
      this.media = new MediaSync(this, 'Media', {
        vault: this.vault,
        secretKey: this.secrets.key,
        scheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
        ...(props.mediaSchedule ? { schedule: props.mediaSchedule } : {}),
        ...withNetwork,
      });
    }

    if (props.adminApi) this.adminApi = new AdminApi(this, 'AdminApi', { ...props.adminApi, vault: this.vault, ...(network ? { network } : {}) });

    this.monitoring = new DrMonitoring(this, 'Monitoring', {
      alerting: this.alerting,
      ...(this.media ? { media: this.media } : {}),
      backup: this.backup,
      restore: this.restore,
      functions: {
        BackupFunction: this.backup.backupFunction,
        BackupValidatePlanFunction: this.backup.validation.planFunction,
        BackupValidateFunction: this.backup.validateFunction,
        BackupValidateSummaryFunction: this.backup.validation.summaryFunction,
        BackupAgeFunction: this.backup.ageCheckFunction,
        PickBackupFunction: this.restore.pickBackupFunction,
        RestoreValidatePlanFunction: this.restore.validation.planFunction,
        RestoreValidateFunction: this.restore.validateFunction,
        RestoreValidateSummaryFunction: this.restore.validation.summaryFunction,
        RestoreFunction: this.restore.restoreFunction,
        VerifyCountsFunction: this.restore.verifyCountsFunction,
        IntegrityCheckFunction: this.restore.integrityCheckFunction,
        ProductionPickBackupFunction: this.restore.production.pickBackupFunction,
        ProductionRestoreFunction: this.restore.production.restoreFunction,
        ProductionVerifyCountsFunction: this.restore.production.verifyCountsFunction,
        ProductionIntegrityCheckFunction: this.restore.production.integrityCheckFunction,
        NotifyFunction: this.notifyFunction,
        ...(this.media ? { MediaSyncFunction: this.media.syncFunction } : {}),
        ...(this.restore.restoreMediaFunction ? { RestoreMediaFunction: this.restore.restoreMediaFunction } : {}),
        ...(this.restore.production.restoreMediaFunction ? { ProductionRestoreMediaFunction: this.restore.production.restoreMediaFunction } : {}),
        ...(this.adminApi ? { AdminApiFunction: this.adminApi.function } : {}),
        ...(this.alerting.slackNotifier ? { SlackNotifierFunction: this.alerting.slackNotifier } : {}),
        ...(this.backup.planner ? { BackupPlanComputeFunction: this.backup.planner.function } : {}),
        ...(this.restore.planner ? { RestorePlanComputeFunction: this.restore.planner.function } : {}),
      },
      fargateSteps: compute !== 'lambda',
      notifyFunction: this.notifyFunction,
      deadLetterQueues: {
        ScheduleDeadLetterQueue: this.scheduleDeadLetterQueue,
        ...(this.alerting.deliveryDeadLetterQueue ? { AlertDeliveryDeadLetterQueue: this.alerting.deliveryDeadLetterQueue } : {}),
      },
      schedules: {
        backup: props.backupSchedule ?? DEFAULT_BACKUP_SCHEDULE,
        ...(props.drillsEnabled === false ? {} : { weeklyDrill: props.weeklyDrillSchedule ?? DEFAULT_WEEKLY_DRILL_SCHEDULE, monthlyDrill: props.monthlyDrillSchedule ?? DEFAULT_MONTHLY_DRILL_SCHEDULE }),
      },
      ...(props.thresholds ? { thresholds: props.thresholds } : {}),
    });

    this.productionRestoreStarter = this.guardProduction(props);

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('BackupBucketName', this.vault.bucket.bucketName, 'Bucket that holds the backups (under the backups/ prefix)');
    output('BackupLocation', this.vault.location, 'BACKUP_LOCATION for the iconic-dr CLI');
    output('BackupStateMachineArn', this.backup.stateMachine.stateMachineArn, 'Start an on-demand backup: aws stepfunctions start-execution --state-machine-arn <this> --input "{}"');
    output('RestoreStateMachineArn', this.restore.stateMachine.stateMachineArn, 'Start a restore into staging: --input {"backupId":"latest","target":"staging"}');
    output('ProductionRestoreStateMachineArn', this.restore.production.stateMachine.stateMachineArn, 'Production restores only (assume the starter role): --input {"backupId":"<id>","target":"production","confirm":"<id>"}');
    if (this.productionRestoreStarter) output('ProductionRestoreStarterRoleArn', this.productionRestoreStarter.roleArn, 'Assume this role to start a production restore');
    output('SourceSecretArn', this.secrets.source.secretArn, 'Fill in the source database credentials');
    output('StagingSecretArn', this.secrets.targets.staging.secretArn, 'Fill in the staging database credentials');
    output('ProductionSecretArn', this.secrets.targets.production.secretArn, 'Fill in the production database credentials');
    output('StagingReadOnlySecretArn', this.secrets.readOnlyTargets.staging.secretArn, 'Fill in read-only (SELECT) credentials of staging, for the checks after a restore');
    output('ProductionReadOnlySecretArn', this.secrets.readOnlyTargets.production.secretArn, 'Fill in read-only (SELECT) credentials of production, for the checks after a restore');
    if (this.alerting.slackWebhookSecret) output('SlackWebhookSecretArn', this.alerting.slackWebhookSecret.secretArn, 'Put {"webhookUrl":"https://hooks.slack.com/…"} here');
    output('CriticalTopicArn', this.alerting.criticalTopic.topicArn, 'Critical alerts (subscribe a pager)');
    output('WarningTopicArn', this.alerting.warningTopic.topicArn, 'Warnings');
    output('DashboardName', this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard');
    if (this.media) output('StorageSecretArn', this.media.storageSecret.secretArn, 'Fill in the Supabase Storage S3 access: {"endpoint","region","accessKeyId","secretAccessKey"}');
    if (this.adminApi) {
      output('AdminBackupsUrl', `${this.adminApi.stage.url}admin/backups`, 'The admin backups page (sign in with an admin access token)');
    }
  }

  /**
   * Production restores behind IAM, not only behind a typed confirmation: the production secret's
   * value is readable only by the production restore function and its Fargate task (and the break-glass principal), and
   * only the named principals get a role that may start the production restore machine.
   */
  private guardProduction(props: DisasterRecoveryStackProps): iam.Role | undefined {
    const lane = this.restore.production;
    // The checks after a restore read the read-only secret: only the restore function reads this one.
    const readers = [lane.restoreFunction.role.roleArn, ...(lane.restoreTask ? [lane.restoreTask.taskRole.roleArn] : []), ...(props.breakGlassPrincipalArn ? [props.breakGlassPrincipalArn] : [])];
    this.secrets.targets.production.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyProductionRestoreReads',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['secretsmanager:GetSecretValue'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': readers } },
      }),
    );
    const principals = props.productionRestorePrincipals ?? [];
    if (principals.length === 0) {
      Annotations.of(this).addWarningV2('iconic-dr:no-production-restore-principals', 'No productionRestorePrincipals: no one is given a role that may start the production restore machine. Pass -c productionRestorePrincipals=arn:aws:iam::<account>:role/<on-call> (docs/deploy.md).');
      return undefined;
    }
    const role = new iam.Role(this, 'ProductionRestoreStarter', {
      assumedBy: new iam.CompositePrincipal(...principals.map((arn) => new iam.ArnPrincipal(arn))),
      description: 'iconic-dr: may start (and watch) the production restore state machine, nothing else',
      maxSessionDuration: Duration.hours(1),
    });
    lane.stateMachine.grantStartExecution(role);
    lane.stateMachine.grantRead(role);
    return role;
  }
}
