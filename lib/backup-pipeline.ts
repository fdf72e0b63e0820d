import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { BackupVault } from './backup-vault.js';
import { BACKUP_STATES as S, ENV, NOTIFY_EVENTS, SUBSET_MARKER_PREFIX } from './contract.js';
import { PropErrors } from './defaults.js';
import { DrFunction, type DrFunctionNetwork, type FunctionSizing } from './dr-function.js';
import { ComputePlanner, routedStep } from './compute-routing.js';
import { ParallelValidation } from './parallel-validation.js';
import { type DrTaskCluster, type FargateSizing, FargateStep, type StepCompute } from './fargate-steps.js';
import { DrStateMachine, EXECUTION_FIELDS, failureRecord, lambdaStep } from './workflow.js';

/** The daily backup at 02:00 UTC (the plan's RPO of 24 h). */
export const DEFAULT_BACKUP_SCHEDULE = 'cron(0 2 * * ? *)';

export interface BackupPipelineProps {
  /** Where backups are written. */
  readonly vault: BackupVault;
  /** Credentials of the database to back up. */
  readonly sourceSecret: secretsmanager.ISecret;
  /** The notify function (publishes alerts and metrics), shared with the restore workflow. */
  readonly notifyFunction: DrFunction;
  /**
   * When the backup runs (EventBridge schedule expression, UTC).
   * @default 'cron(0 2 * * ? *)'
   */
  readonly schedule?: string;
  /**
   * Turn the schedule on. Off, the machine is still there for on-demand backups.
   * @default true
   */
  readonly scheduleEnabled?: boolean;
  /**
   * Tables to back up (`table` or `schema.table`).
   * @default - every ordinary table of `schemas`
   */
  readonly tables?: readonly string[];
  /**
   * Schemas whose tables are backed up.
   * @default ['public']
   */
  readonly schemas?: readonly string[];
  /**
   * Memory and timeout of the backup function.
   * @default 1024 MB, 15 minutes
   */
  readonly backupSizing?: FunctionSizing;
  /**
   * Memory and timeout of the validate function, which checks one file of the backup at a time
   * (`ValidateFile`): the largest file, not the whole backup, has to fit in it.
   * @default 1024 MB, 15 minutes
   */
  readonly validateSizing?: FunctionSizing;
  /**
   * Files of the backup the `Validate` Distributed Map checks at the same time (its MaxConcurrency;
   * each is one validate-file invocation reading one file from the bucket).
   * @default 8
   */
  readonly validateConcurrency?: number;
  /**
   * How the backup writes table rows: `copy` (each table's own COPY text, as pg_dump writes it: less
   * database CPU, 17 % smaller; versions before copy text refuse such backups) or `json` (NDJSON,
   * readable by every iconic-dr version).
   * @default 'copy'
   */
  readonly rows?: 'json' | 'copy';
  /**
   * Longest a backup execution may run.
   * @default 2 hours
   */
  readonly machineTimeout?: Duration;
  /**
   * Where EventBridge puts a scheduled start it could not deliver after its retries.
   * @default - none
   */
  readonly scheduleDeadLetterQueue?: sqs.IQueue;
  /**
   * Network placement of the functions.
   * @default - no VPC
   */
  readonly network?: DrFunctionNetwork;
  /**
   * Where Backup and Validate run: `lambda`, `fargate`, or `auto` (Fargate when the previous full
   * backup's manifest says the step would use more than half of its Lambda timeout).
   * @default 'lambda'
   */
  readonly compute?: StepCompute;
  /** The ECS cluster of the Fargate steps (required unless compute is `lambda`). */
  readonly taskCluster?: DrTaskCluster;
  /**
   * CPU, memory and ceiling of the Fargate steps.
   * @default - 2 vCPU, 4 GiB, 90 minutes each
   */
  readonly fargateSizing?: { readonly backup?: FargateSizing; readonly validate?: FargateSizing };
}

/** The backup format's manifest, written last and once (docs/format.md). */
const MANIFEST_FILE = 'metadata.json';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/;

/**
 * The daily backup: a backup function (reserved concurrency 1: never two at once, writes but cannot
 * delete), a validate function (reads), and the backup state machine, started by an EventBridge
 * schedule.
 *
 * Machine: `Backup` -> `ValidatePlan` -> `Validate` (a Distributed Map of `ValidateFile` over the
 * backup's files, lib/parallel-validation.ts) -> `ValidateSummary` -> `IsBackupValid` ->
 * `PublishResult` -> `BackupSucceeded`; on the Fargate route Validate is one task (`ValidateOnFargate`);
 * invalid -> `AlertInvalidBackup` -> `BackupInvalid` (Fail); an error in Backup or Validate ->
 * `FailedBackup`/`FailedValidate` (records the step and error) -> `AlertFailure` -> `BackupFailed`
 * (Fail, its Cause says which step failed with which error). Notify tasks are caught.
 */
export class BackupPipeline extends Construct {
  public readonly backupFunction: DrFunction;
  /** Checks one file of a backup (`ValidateFile`, validate-file); the Fargate validate task mirrors it. */
  public readonly validateFunction: DrFunction;
  /** The plan, file and summary functions of the `Validate` step's Lambda route. */
  public readonly validation: ParallelValidation;
  public readonly stateMachine: sfn.StateMachine;
  /** Where the machine logs every state transition (without execution data). */
  public readonly stateMachineLogs: logs.ILogGroup;
  public readonly schedule: events.Rule;
  /** The Fargate tasks of Backup and Validate (compute `fargate` or `auto`). */
  public readonly fargate?: { readonly backup: FargateStep; readonly validate: FargateStep };
  /** The plan-compute function (compute `auto`). */
  public readonly planner?: ComputePlanner;
  /** Hourly: emits HoursSinceLastSuccessfulBackup from the bucket. */
  public readonly ageCheckFunction: DrFunction;
  public readonly ageCheckSchedule: events.Rule;

  constructor(scope: Construct, id: string, props: BackupPipelineProps) {
    super(scope, id);
    const schedule = props.schedule ?? DEFAULT_BACKUP_SCHEDULE;
    const schemas = props.schemas ?? ['public'];
    const tables = props.tables ?? [];

    const errors = new PropErrors('BackupPipeline');
    errors.check(/^(cron|rate)\(.+\)$/.test(schedule), `schedule "${schedule}" must be an EventBridge cron(...) or rate(...) expression`);
    errors.check(schemas.length > 0, 'schemas must name at least one schema');
    for (const name of [...schemas, ...tables]) errors.check(IDENTIFIER.test(name), `"${name}" is not a table/schema name (letters, digits, _; schema.table)`);
    errors.check(props.rows === undefined || props.rows === 'json' || props.rows === 'copy', `rows must be json or copy (got ${String(props.rows)})`);
    const compute = props.compute ?? 'lambda';
    errors.check(compute === 'lambda' || props.taskCluster !== undefined, `compute '${compute}' needs taskCluster (the ECS cluster of the Fargate steps)`);
    errors.throwIfAny();

    const network = props.network ? { network: props.network } : {};
    this.backupFunction = new DrFunction(this, 'BackupFunction', {
      handler: 'backup',
      description: 'Backs up the shop database to the backup bucket (never two at once)',
      timeout: props.backupSizing?.timeout ?? Duration.minutes(15),
      memorySize: props.backupSizing?.memorySize ?? 1024,
      reservedConcurrentExecutions: 1,
      ...network,
    })
      .bindBackupStore(props.vault, 'write')
      .bindSourceDatabase(props.sourceSecret)
      .addEnvironment(ENV.backupSchemas, schemas.join(','))
      .addEnvironment(ENV.backupTables, tables.join(','))
      .addEnvironment(ENV.backupRows, props.rows ?? 'copy');

    this.validation = new ParallelValidation(this, 'Validation', { vault: props.vault, purpose: 'a new backup', ...(props.validateSizing ? { fileSizing: props.validateSizing } : {}), ...network });
    this.validateFunction = this.validation.fileFunction;

    if (compute !== 'lambda' && props.taskCluster) {
      this.fargate = {
        backup: new FargateStep(this, 'BackupTask', { cluster: props.taskCluster, step: 'backup', mirrors: this.backupFunction, ...(props.fargateSizing?.backup ? { sizing: props.fargateSizing.backup } : {}) }),
        validate: new FargateStep(this, 'ValidateTask', { cluster: props.taskCluster, step: 'validate', mirrors: this.validateFunction, ...(props.fargateSizing?.validate ? { sizing: props.fargateSizing.validate } : {}) }),
      };
    }

    // A backup's manifest (and its subset marker) is its truth: the backup role may create it, never
    // replace it. The store creates them with If-None-Match; a plain PUT over one is denied. Table
    // files are covered by Object Lock (an overwrite only adds a version; the locked one stays).
    props.vault.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ManifestsAreWriteOnce',
        effect: iam.Effect.DENY,
        principals: [this.backupFunction.role, ...(this.fargate ? [this.fargate.backup.taskRole] : [])].map((role) => new iam.ArnPrincipal(role.roleArn)),
        actions: ['s3:PutObject'],
        resources: [props.vault.bucket.arnForObjects(`${props.vault.backupPrefix}/*/${MANIFEST_FILE}`), props.vault.bucket.arnForObjects(`${props.vault.backupPrefix}/${SUBSET_MARKER_PREFIX}/*`)],
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );


    const notify = props.notifyFunction;
    const notifyPayload = (event: string) => ({ event, workflow: 'backup', execution: EXECUTION_FIELDS, 'state.$': '$' });

    const failed = new sfn.Fail(this, S.failed, { error: 'BackupFailed', causePath: '$.failure.summary' });
    const alertFailure = lambdaStep(this, S.alertFailure, notify, {
      comment: 'Alert: the backup failed (BackupStatus 0, critical topic: the one page of the run)',
      payload: notifyPayload(NOTIFY_EVENTS.backupFailed),
      resultPath: '$.notification',
    });
    alertFailure.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.notifyError' }).next(failed);
    const onBackup = failureRecord(this, S.failedBackup, S.backup, 'no-backup', 'No new backup was written; the newest complete backup is older than planned.').next(alertFailure);
    const onValidate = failureRecord(this, S.failedValidate, S.validate, 'unvalidated-backup', 'The backup was written but could not be validated: do not trust it yet.').next(alertFailure);

    const invalid = new sfn.Fail(this, S.invalid, { error: 'BackupInvalid', cause: 'The new backup failed validation; the problems are in the output of the Validate step (ValidateSummary, or ValidateOnFargate).' });
    const alertInvalid = lambdaStep(this, S.alertInvalidBackup, notify, {
      comment: 'Alert: the new backup failed validation (BackupStatus 0, critical topic)',
      payload: notifyPayload(NOTIFY_EVENTS.backupInvalid),
      resultPath: '$.notification',
    });
    alertInvalid.addCatch(invalid, { errors: ['States.ALL'], resultPath: '$.notifyError' }).next(invalid);

    // The execution's input, not `$`: states before this one (PlanCompute) may add to `$`.
    const backupPayload = { 'request.$': '$$.Execution.Input', execution: EXECUTION_FIELDS };
    const backupStep = () =>
      lambdaStep(this, S.backup, this.backupFunction, {
        comment: 'Back up the source database into a new backup id',
        payload: backupPayload,
        resultPath: '$.backup',
        maxAttempts: 4,
      });
    const backup = routedStep(this, { compute, step: 'backup', stateName: S.backup, lambda: backupStep, ...(this.fargate ? { fargate: this.fargate.backup } : {}), payload: backupPayload, resultPath: '$.backup', comment: 'Back up the source database into a new backup id', onError: onBackup, maxAttempts: 4 });

    const validatePayload = { 'backupId.$': '$.backup.backupId', execution: EXECUTION_FIELDS };
    const validateStep = () =>
      this.validation.states(this, {
        names: { plan: S.validatePlan, map: S.validate, summary: S.validateSummary },
        backupIdPath: '$.backup.backupId',
        resultPath: '$.validation',
        ...(props.validateConcurrency !== undefined ? { maxConcurrency: props.validateConcurrency } : {}),
        comment: 'Validate the backup just written',
      });
    const validate = routedStep(this, { compute, step: 'validate', stateName: S.validate, lambda: validateStep, ...(this.fargate ? { fargate: this.fargate.validate } : {}), payload: validatePayload, resultPath: '$.validation', comment: 'Validate the backup just written', onError: onValidate });
    if (compute === 'auto') {
      this.planner = new ComputePlanner(this, 'Planner', { vault: props.vault, lambdas: { backup: this.backupFunction, validate: this.validateFunction }, backupTables: tables, ...(props.network ? { network: props.network } : {}) });
    }

    const publish = lambdaStep(this, S.publishResult, notify, {
      comment: 'Publish the result: BackupStatus 1 and the size/duration/records metrics',
      payload: notifyPayload(NOTIFY_EVENTS.backupSucceeded),
      resultPath: '$.notification',
    });
    publish
      .addCatch(new sfn.Fail(this, S.publishFailed, { error: 'NotificationFailed', cause: 'The backup is complete and valid; only publishing its result (metrics) failed. See the notifyError in the state.' }), {
        errors: ['States.ALL'],
        resultPath: '$.notifyError',
      })
      .next(new sfn.Succeed(this, S.succeeded));

    const definition = (this.planner ? this.planner.planState(this, ['backup', 'validate']).next(backup) : backup)
      .next(validate)
      .next(new sfn.Choice(this, S.isBackupValid).when(sfn.Condition.booleanEquals('$.validation.valid', true), publish).otherwise(alertInvalid));

    const machine = new DrStateMachine(this, 'Machine', {
      definition,
      timeout: props.machineTimeout ?? Duration.hours(2),
      comment: 'iconic-dr backup: Backup -> Validate -> PublishResult',
      // With compute `fargate` the machine never invokes the backup and validate functions.
      functions: [...(compute === 'fargate' ? [] : [this.backupFunction.function, ...this.validation.functions.map((fn) => fn.function)]), notify.function, ...(this.planner ? [this.planner.function.function] : [])],
      taskDefinitions: this.fargate ? [this.fargate.backup.taskDefinition, this.fargate.validate.taskDefinition] : [],
    });
    this.stateMachine = machine.stateMachine;
    this.stateMachineLogs = machine.logGroup;

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'iconic-dr daily database backup',
      schedule: events.Schedule.expression(schedule),
      enabled: props.scheduleEnabled ?? true,
      targets: [new targets.SfnStateMachine(this.stateMachine, { input: events.RuleTargetInput.fromObject({ trigger: 'schedule' }), ...scheduleDelivery(props.scheduleDeadLetterQueue) })],
    });

    this.ageCheckFunction = new DrFunction(this, 'AgeCheckFunction', {
      handler: 'backup-age',
      description: 'Hourly: HoursSinceLastSuccessfulBackup from the newest complete full backup',
      timeout: Duration.minutes(1),
      memorySize: 256,
      ...(props.scheduleDeadLetterQueue ? { deadLetterQueue: props.scheduleDeadLetterQueue } : {}),
      retryAttempts: 2,
      ...network,
    })
      .bindBackupStore(props.vault, 'read')
      .addEnvironment(ENV.backupTables, tables.join(','));
    Validations.of(this.ageCheckFunction.function).acknowledge({
      id: 'Serverless-LambdaAsyncFailureDestination',
      reason: 'Failed scheduled invocations go to the schedule dead-letter queue (DeadLetterConfig, alarmed); an on-failure destination would hold the same events twice.',
    });
    this.ageCheckSchedule = new events.Rule(this, 'AgeCheckSchedule', {
      description: 'iconic-dr hourly backup age (HoursSinceLastSuccessfulBackup)',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(this.ageCheckFunction.function, { event: events.RuleTargetInput.fromObject({ check: 'backup-age' }), ...scheduleDelivery(props.scheduleDeadLetterQueue) })],
    });
  }

  /** The functions of the pipeline (for alarms). */
  get functions(): readonly DrFunction[] {
    return [this.backupFunction, ...this.validation.functions, this.ageCheckFunction, ...(this.planner ? [this.planner.function] : [])];
  }
}

/**
 * How EventBridge delivers a scheduled start: a few retries within an hour (a start delivered later
 * than that would be the next run's job), then the dead-letter queue, whose alarm pages.
 */
export function scheduleDelivery(queue: sqs.IQueue | undefined): { retryAttempts: number; maxEventAge: Duration; deadLetterQueue?: sqs.IQueue } {
  return { retryAttempts: 8, maxEventAge: Duration.hours(1), ...(queue ? { deadLetterQueue: queue } : {}) };
}
