import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { scheduleDelivery } from './backup-pipeline.js';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { BackupVault } from './backup-vault.js';
import { CONFIRMATION_REQUIRED_ERROR, CONFIRMED_TARGETS, ENV, needsConfirmation, type FailureOutcome, type HandlerName, NOTIFY_EVENTS, RESTORE_STATES as S } from './contract.js';
import { PropErrors } from './defaults.js';
import { DrFunction, type DrFunctionNetwork, type FunctionSizing } from './dr-function.js';
import { ComputePlanner, routedStep } from './compute-routing.js';
import { ParallelValidation } from './parallel-validation.js';
import { type DrTaskCluster, type FargateSizing, FargateStep, type StepCompute } from './fargate-steps.js';
import { DrStateMachine, EXECUTION_FIELDS, failureRecord, lambdaStep } from './workflow.js';

/** Weekly drill: Sunday 04:00 UTC, two hours after the daily backup. */
export const DEFAULT_WEEKLY_DRILL_SCHEDULE = 'cron(0 4 ? * SUN *)';
/** Monthly full drill: the first Friday of the month at 14:00 UTC (the plan). */
export const DEFAULT_MONTHLY_DRILL_SCHEDULE = 'cron(0 14 ? * 6#1 *)';

/** Input of the weekly drill execution: a random backup of the last 7 days into staging. */
export const WEEKLY_DRILL_INPUT = { backupId: 'random', maxAgeDays: 7, target: 'staging', drill: 'weekly' } as const;
/** Input of the monthly full drill execution: the newest backup into staging. */
export const MONTHLY_DRILL_INPUT = { backupId: 'latest', target: 'staging', drill: 'monthly' } as const;

/** The functions of the restore workflow whose memory and timeout are props. */
export type SizedRole = 'pickBackup' | 'validate' | 'restore' | 'verifyCounts' | 'integrityCheck' | 'restoreMedia';

export interface RestoreWorkflowProps {
  /** Where backups are read from. */
  readonly vault: BackupVault;
  /** Credentials of each restore target, by name; must include `staging` and `production`. */
  readonly targetSecrets: Readonly<Record<string, secretsmanager.ISecret>>;
  /**
   * Read-only credentials of each restore target (same names), for the checks after a restore:
   * verify-counts and integrity-check read only these, never the targets' read-write secrets.
   */
  readonly readOnlySecrets: Readonly<Record<string, secretsmanager.ISecret>>;
  /** The notify function (publishes alerts and metrics), shared with the backup pipeline. */
  readonly notifyFunction: DrFunction;
  /**
   * Run the weekly and monthly drills (restores into staging).
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
   * @default 'cron(0 14 ? * 6#1 *)' (first Friday, 14:00)
   */
  readonly monthlyDrillSchedule?: string;
  /**
   * Memory and timeout of each function, by its role.
   * @default - restore and validate 1024 MB / 15 min, verify-counts and integrity-check 512 MB / 5 min, pick-backup 256 MB / 1 min
   */
  readonly sizing?: { readonly [K in SizedRole]?: FunctionSizing };
  /**
   * Files of the backup the `Validate` Distributed Map checks at the same time (its MaxConcurrency;
   * each is one validate-file invocation reading one file from the bucket).
   * @default 8
   */
  readonly validateConcurrency?: number;
  /**
   * Longest a restore execution may run. Must exceed the RTO, or the RTO alarm could never fire.
   * @default 2 hours
   */
  readonly machineTimeout?: Duration;
  /**
   * The tables the daily backup takes (empty: every table of its schemas): `latest` and `random`
   * pick only backups that hold all of them.
   * @default []
   */
  readonly backupTables?: readonly string[];
  /**
   * Databases an unconfirmed restore (staging, drills) must never touch, by name, known without
   * their credentials (the staging functions may not read production's secret).
   * @default - none (the backup's source and the databases' iconic-dr markers are still checked)
   */
  readonly protectedDatabases?: Readonly<Record<string, DatabaseLocation>>;
  /**
   * Where EventBridge puts a drill start it could not deliver after its retries.
   * @default - none
   */
  readonly scheduleDeadLetterQueue?: sqs.IQueue;
  /**
   * Network placement of the functions.
   * @default - no VPC
   */
  readonly network?: DrFunctionNetwork;
  /**
   * The stack syncs media (Supabase Storage): a restore may ask for `"media": true`, which restores
   * the media snapshot of the same recovery point into the target's Storage (the `storage` object of
   * the target's secret) after the database is verified; the drills do so too.
   * @default false
   */
  readonly media?: boolean;
  /**
   * Where Validate and Restore run: `lambda`, `fargate`, or `auto` (Fargate when the chosen backup's
   * manifest says the step would use more than half of its Lambda timeout).
   * @default 'lambda'
   */
  readonly compute?: StepCompute;
  /** The ECS cluster of the Fargate steps (required unless compute is `lambda`). */
  readonly taskCluster?: DrTaskCluster;
  /**
   * CPU, memory and ceiling of the Fargate steps.
   * @default - 2 vCPU, 4 GiB, 90 minutes each
   */
  readonly fargateSizing?: { readonly validate?: FargateSizing; readonly restore?: FargateSizing };
}

/**
 * The restore workflow, in two lanes with the same states: the restore machine (staging and the
 * weekly/monthly drills) and the production restore machine (CONFIRMED_TARGETS), each with its own
 * pick-backup, restore, verify-counts and integrity-check functions that read only their lane's
 * target secrets (the staging lane cannot read production's); one set of validation functions
 * (read-only on the bucket, lib/parallel-validation.ts) serves both. The production machine has a fixed name, `<stack>-ProductionRestore`,
 * whose executions are the only ones its restore function answers (RESTORE_GATE).
 *
 * Machine input: `{ "backupId": "<id>"|"latest"|"random", "target": "staging"|"production",
 * "confirm"?: "<id>", "tables"?: [...], "maxAgeDays"?: 7, "drill"?: "weekly"|"monthly",
 * "media"?: true, "mediaExact"?: true }` (media only when the stack syncs it).
 *
 * `PickBackup` -> `CheckConfirmation` (production without `confirm` equal to the resolved id ->
 * `ExplainConfirmation` -> `ConfirmationRequired` Fail, nothing touched) -> `ValidatePlan` ->
 * `Validate` (a Distributed Map of `ValidateFile` over the backup's files) -> `ValidateSummary` (on
 * the Fargate route one `ValidateOnFargate` task) ->
 * `IsBackupValid` (invalid -> `AlertInvalidBackup` -> `BackupInvalid` Fail) -> `Restore` ->
 * `VerifyCounts` -> `IntegrityCheck` -> `MediaRequested` (`"media": true` -> `RestoreMedia`) ->
 * `NotifySuccess` -> `RestoreSucceeded`; an error in any of the work tasks -> `Failed<Step>` (records the step, the error and whether the target is
 * untouched, unchanged or COMMITTED-then-unverified) -> `NotifyFailure` -> `RestoreFailed` Fail,
 * whose Cause says the same. Notify tasks are caught too: a failing alert still ends in the Fail
 * state that tells what happened.
 *
 * The confirmation is checked right after the backup id is resolved, before validation, so a
 * refused production restore costs seconds, not a full validation, and the operator learns the id
 * to type at once. The Restore function checks it again (defence in depth).
 */
export class RestoreWorkflow extends Construct {
  public readonly pickBackupFunction: DrFunction;
  /** Checks one file of a backup (`ValidateFile`, validate-file); the Fargate validate task mirrors it. */
  public readonly validateFunction: DrFunction;
  /** The plan, file and summary functions of the `Validate` step's Lambda route, shared by both lanes. */
  public readonly validation: ParallelValidation;
  public readonly restoreFunction: DrFunction;
  public readonly verifyCountsFunction: DrFunction;
  public readonly integrityCheckFunction: DrFunction;
  /** Restores media after the database, when the stack syncs media. */
  public readonly restoreMediaFunction?: DrFunction;
  public readonly stateMachine: sfn.StateMachine;
  /** Where the machine logs every state transition (without execution data). */
  public readonly stateMachineLogs: logs.ILogGroup;
  /** The production restore machine and its functions: the only ones that can read the production secret. */
  public readonly production: RestoreLane;
  /** The restore machine's timeout (the RTO alarm must stay below it). */
  public readonly machineTimeout: Duration;
  public readonly weeklyDrill: events.Rule;
  public readonly monthlyDrill: events.Rule;
  /** The staging lane's restore step as a Fargate task (compute `fargate` or `auto`). */
  public readonly restoreTask?: FargateStep;
  /** The Fargate validate task, shared by both lanes (compute `fargate` or `auto`). */
  public readonly validateTask?: FargateStep;
  /** The plan-compute function, shared by both lanes (compute `auto`). */
  public planner?: ComputePlanner;
  private readonly compute: StepCompute;

  constructor(scope: Construct, id: string, props: RestoreWorkflowProps) {
    super(scope, id);
    const weekly = props.weeklyDrillSchedule ?? DEFAULT_WEEKLY_DRILL_SCHEDULE;
    const monthly = props.monthlyDrillSchedule ?? DEFAULT_MONTHLY_DRILL_SCHEDULE;
    const errors = new PropErrors('RestoreWorkflow');
    for (const [name, expression] of [['weeklyDrillSchedule', weekly], ['monthlyDrillSchedule', monthly]] as const) {
      errors.check(/^(cron|rate)\(.+\)$/.test(expression), `${name} "${expression}" must be an EventBridge cron(...) or rate(...) expression`);
    }
    for (const required of ['staging', 'production']) errors.check(required in props.targetSecrets, `targetSecrets must include "${required}"`);
    for (const name of Object.keys(props.targetSecrets)) errors.check(/^[a-z][a-z0-9-]*$/.test(name), `target name "${name}" must be lower-case letters, digits and -`);
    for (const name of Object.keys(props.targetSecrets)) errors.check(name in props.readOnlySecrets, `readOnlySecrets must include "${name}"`);
    this.compute = props.compute ?? 'lambda';
    errors.check(this.compute === 'lambda' || props.taskCluster !== undefined, `compute '${this.compute}' needs taskCluster (the ECS cluster of the Fargate steps)`);
    errors.throwIfAny();

    this.machineTimeout = props.machineTimeout ?? Duration.hours(2);
    const network = props.network ? { network: props.network } : {};
    this.validation = new ParallelValidation(this, 'Validation', { vault: props.vault, purpose: 'a backup before it is restored', ...(props.sizing?.validate ? { fileSizing: props.sizing.validate } : {}), ...network });
    this.validateFunction = this.validation.fileFunction;
    if (this.compute !== 'lambda' && props.taskCluster) {
      this.validateTask = new FargateStep(this, 'ValidateTask', { cluster: props.taskCluster, step: 'validate', mirrors: this.validateFunction, ...(props.fargateSizing?.validate ? { sizing: props.fargateSizing.validate } : {}) });
    }

    const confirmed = Object.fromEntries(Object.entries(props.targetSecrets).filter(([name]) => needsConfirmation(name)));
    const unconfirmed = Object.fromEntries(Object.entries(props.targetSecrets).filter(([name]) => !needsConfirmation(name)));
    // Both machines have fixed names, so each restore function answers only executions of its own
    // machine (RESTORE_GATE): a direct invoke would skip the validation step's alert and the
    // failure alerts.
    const stack = Stack.of(this);
    const gateOf = (name: string) => `arn:${Aws.PARTITION}:states:${Aws.REGION}:${Aws.ACCOUNT_ID}:execution:${name}:`;
    const stagingName = `${stack.stackName}-Restore`.slice(0, 80);
    const staging = this.lane(this, props, { label: 'restore', targetSecrets: unconfirmed, stateMachineName: stagingName, gate: gateOf(stagingName) });
    if (props.protectedDatabases && Object.keys(props.protectedDatabases).length > 0) {
      const located = Object.fromEntries(Object.entries(props.protectedDatabases).map(([name, db]) => [name, { host: db.host, port: db.port ?? 5432, dbname: db.dbname ?? 'postgres' }]));
      staging.restoreFunction.addEnvironment(ENV.protectedDatabases, JSON.stringify(located));
    }
    this.pickBackupFunction = staging.pickBackupFunction;
    this.restoreFunction = staging.restoreFunction;
    this.restoreTask = staging.restoreTask;
    this.verifyCountsFunction = staging.verifyCountsFunction;
    this.integrityCheckFunction = staging.integrityCheckFunction;
    if (staging.restoreMediaFunction) this.restoreMediaFunction = staging.restoreMediaFunction;
    this.stateMachine = staging.stateMachine;
    this.stateMachineLogs = staging.stateMachineLogs;

    // Production gets its own machine and functions: only they may read its secret, and only the
    // principals of productionRestorePrincipals may start it.
    const productionName = `${stack.stackName}-ProductionRestore`.slice(0, 80);
    this.production = this.lane(new Construct(this, 'Production'), props, {
      label: 'production restore',
      targetSecrets: confirmed,
      stateMachineName: productionName,
      gate: gateOf(productionName),
    });

    const drillsEnabled = props.drillsEnabled ?? true;
    // A drill proves the whole recovery point, files included (it skips media only while the vault
    // has no media snapshot at all: Storage not configured yet).
    const drillInput = <T extends object>(input: T) => (props.media ? { ...input, media: true } : input);
    const machine = this.stateMachine;
    this.weeklyDrill = new events.Rule(this, 'WeeklyDrill', {
      description: 'iconic-dr weekly restore drill: a random backup of the last 7 days into staging',
      schedule: events.Schedule.expression(weekly),
      enabled: drillsEnabled,
      targets: [new targets.SfnStateMachine(machine, { input: events.RuleTargetInput.fromObject(drillInput(WEEKLY_DRILL_INPUT)), ...scheduleDelivery(props.scheduleDeadLetterQueue) })],
    });
    this.monthlyDrill = new events.Rule(this, 'MonthlyDrill', {
      description: 'iconic-dr monthly full DR drill: the newest backup into staging, first Friday 14:00 UTC',
      schedule: events.Schedule.expression(monthly),
      enabled: drillsEnabled,
      targets: [new targets.SfnStateMachine(machine, { input: events.RuleTargetInput.fromObject(drillInput(MONTHLY_DRILL_INPUT)), ...scheduleDelivery(props.scheduleDeadLetterQueue) })],
    });
  }

  /** One restore machine with its own database functions, for the targets it may restore. */
  private lane(scope: Construct, props: RestoreWorkflowProps, lane: LaneOptions): RestoreLane {
    const network = props.network ? { network: props.network } : {};
    const readOnly = Object.fromEntries(Object.keys(lane.targetSecrets).map((name) => [name, props.readOnlySecrets[name]!]));
    // Each function of the lane: its role's sizing from the props, else the default given here.
    const laneFunction = (role: SizedRole, id: string, handler: HandlerName, description: string, timeout: Duration, memorySize: number) =>
      new DrFunction(scope, id, { handler, description, timeout: props.sizing?.[role]?.timeout ?? timeout, memorySize: props.sizing?.[role]?.memorySize ?? memorySize, ...network });
    const pickBackupFunction = laneFunction('pickBackup', 'PickBackupFunction', 'pick-backup', 'Resolves latest/random/<id> to a complete backup and normalizes the restore request', Duration.minutes(1), 256)
      .bindBackupStore(props.vault, 'read')
      .addEnvironment(ENV.restoreTargets, Object.keys(lane.targetSecrets).join(','))
      .addEnvironment(ENV.restoreMedia, props.media ? 'true' : 'false')
      .addEnvironment(ENV.backupTables, (props.backupTables ?? []).join(','));

    const restoreFunction = laneFunction('restore', 'RestoreFunction', 'restore', 'Restores a backup into a target database in one transaction (all-or-nothing)', Duration.minutes(15), 1024)
      .bindBackupStore(props.vault, 'read')
      .bindRestoreTargets(lane.targetSecrets);
    if (lane.gate) restoreFunction.addEnvironment(ENV.restoreGate, lane.gate);
    const restoreTask =
      this.compute !== 'lambda' && props.taskCluster
        ? new FargateStep(scope, 'RestoreTask', { cluster: props.taskCluster, step: 'restore', mirrors: restoreFunction, ...(props.fargateSizing?.restore ? { sizing: props.fargateSizing.restore } : {}) })
        : undefined;
    if (this.compute === 'auto') {
      this.planner ??= new ComputePlanner(this, 'Planner', { vault: props.vault, lambdas: { validate: this.validateFunction, restore: restoreFunction }, backupTables: props.backupTables ?? [], ...(props.network ? { network: props.network } : {}) });
    }

    const verifyCountsFunction = laneFunction('verifyCounts', 'VerifyCountsFunction', 'verify-counts', 'Compares row counts of the target with the backup manifest', Duration.minutes(5), 512)
      .bindBackupStore(props.vault, 'read')
      .bindReadOnlyTargets(readOnly);

    const integrityCheckFunction = laneFunction('integrityCheck', 'IntegrityCheckFunction', 'integrity-check', 'Checks the target for orphan rows and NOT VALID constraints', Duration.minutes(5), 512).bindReadOnlyTargets(readOnly);

    const restoreMediaFunction = props.media
      ? laneFunction('restoreMedia', 'RestoreMediaFunction', 'restore-media', "Restores the recovery point's media snapshot into the target's Supabase Storage and verifies every object", Duration.minutes(15), 1024)
          .bindBackupStore(props.vault, 'read')
          .bindRestoreTargets(lane.targetSecrets)
      : undefined;
    if (restoreMediaFunction && lane.gate) restoreMediaFunction.addEnvironment(ENV.restoreGate, lane.gate);

    const notify = props.notifyFunction;
    const notifyPayload = (event: string) => ({ event, workflow: 'restore', execution: EXECUTION_FIELDS, 'state.$': '$' });
    const resolved = {
      'backupId.$': '$.backup.backupId',
      'target.$': '$.backup.target',
      'tables.$': '$.backup.tables',
      execution: EXECUTION_FIELDS,
    };

    const failed = new sfn.Fail(scope, S.failed, { error: 'RestoreFailed', causePath: '$.failure.summary' });
    const notifyFailure = lambdaStep(scope, S.notifyFailure, notify, {
      comment: 'Alert: the restore failed (RestoreStatus 0, DrillStatus 0 for drills); production failures page',
      payload: notifyPayload(NOTIFY_EVENTS.restoreFailed),
      resultPath: '$.notification',
    });
    // A failing alert cannot alert about itself, but it must not hide what failed: the Fail state
    // still says it (the alert-delivery alarm on the notify function pages for it).
    notifyFailure.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.notifyError' }).next(failed);
    const catchInto = (step: string, stateName: string, outcome: FailureOutcome, consequence: string) => ({
      handler: failureRecord(scope, stateName, step, outcome, consequence).next(notifyFailure),
      props: { errors: ['States.ALL'], resultPath: '$.error' },
    });
    const onPick = catchInto(S.pickBackup, S.failedPickBackup, 'untouched', 'No backup was chosen and nothing was done to the target.');
    const onValidate = catchInto(S.validate, S.failedValidate, 'untouched', 'The backup could not be validated and the target was not touched.');
    const onRestore = catchInto(S.restore, S.failedRestore, 'unchanged', 'The restore was refused before it began or rolled back: the target is exactly as it was before.');
    const onVerify = catchInto(S.verifyCounts, S.failedVerifyCounts, 'committed-unverified', 'The restore was COMMITTED and then failed verification: the target holds the restored data but its row counts differ from the backup.');
    const onIntegrity = catchInto(S.integrityCheck, S.failedIntegrityCheck, 'committed-unverified', 'The restore was COMMITTED and then failed verification: the target holds the restored data but the integrity check found problems.');
    const onMedia = catchInto(S.restoreMedia, S.failedRestoreMedia, 'committed-unverified', "The database restore was COMMITTED and verified, then restoring the media failed: the Storage of the target may hold part of the snapshot. Run the same input again (a media restore only uploads what differs).");

    const pick = lambdaStep(scope, S.pickBackup, pickBackupFunction, {
      comment: 'Resolve latest/random/<id> and normalize the request',
      payload: { 'request.$': '$', execution: EXECUTION_FIELDS },
      resultPath: '$.backup',
    }).addCatch(onPick.handler, onPick.props);

    const refuse = new sfn.Pass(scope, S.explainConfirmation, {
      comment: 'Say what to type to confirm a production restore',
      parameters: {
        'cause.$': `States.Format('A production restore needs confirmation: start the execution again with "confirm": "{}" (the resolved backup id) in the input. Nothing was changed.', $.backup.backupId)`,
      },
    }).next(new sfn.Fail(scope, S.confirmationRequired, { error: CONFIRMATION_REQUIRED_ERROR, causePath: '$.cause' }));

    const validatePayload = { 'backupId.$': '$.backup.backupId', execution: EXECUTION_FIELDS };
    const validateStep = () =>
      this.validation.states(scope, {
        names: { plan: S.validatePlan, map: S.validate, summary: S.validateSummary },
        backupIdPath: '$.backup.backupId',
        resultPath: '$.validation',
        ...(props.validateConcurrency !== undefined ? { maxConcurrency: props.validateConcurrency } : {}),
        comment: 'Validate the backup before touching the target',
      });
    const routedValidate = routedStep(scope, { compute: this.compute, step: 'validate', stateName: S.validate, lambda: validateStep, ...(this.validateTask ? { fargate: this.validateTask } : {}), payload: validatePayload, resultPath: '$.validation', comment: 'Validate the backup before touching the target', onError: onValidate.handler });
    // With compute `auto`, PlanCompute reads the chosen backup's manifest first.
    const validate = this.planner ? this.planner.planState(scope, ['validate', 'restore'], '$.backup.backupId').next(routedValidate) : routedValidate;

    const invalid = new sfn.Fail(scope, S.invalid, { error: 'BackupInvalid', cause: 'The backup failed validation; the target was not touched. The problems are in the output of the Validate step (ValidateSummary, or ValidateOnFargate).' });
    const alertInvalid = lambdaStep(scope, S.alertInvalidBackup, notify, {
      comment: 'Alert: the backup is invalid, the target was not touched',
      payload: notifyPayload(NOTIFY_EVENTS.backupInvalid),
      resultPath: '$.notification',
    });
    alertInvalid.addCatch(invalid, { errors: ['States.ALL'], resultPath: '$.notifyError' }).next(invalid);

    const restorePayload = { ...resolved, 'confirm.$': '$.backup.confirm' };
    const restoreStep = () =>
      lambdaStep(scope, S.restore, restoreFunction, {
        comment: 'Restore into the target in one transaction',
        payload: restorePayload,
        resultPath: '$.restore',
      });
    const restore = routedStep(scope, { compute: this.compute, step: 'restore', stateName: S.restore, lambda: restoreStep, ...(restoreTask ? { fargate: restoreTask } : {}), payload: restorePayload, resultPath: '$.restore', comment: 'Restore into the target in one transaction', onError: onRestore.handler });

    const verify = lambdaStep(scope, S.verifyCounts, verifyCountsFunction, {
      comment: 'Compare row counts with the manifest',
      payload: resolved,
      resultPath: '$.verification',
    }).addCatch(onVerify.handler, onVerify.props);

    const integrity = lambdaStep(scope, S.integrityCheck, integrityCheckFunction, {
      comment: 'Check foreign keys and constraints of the target',
      payload: resolved,
      resultPath: '$.integrity',
    }).addCatch(onIntegrity.handler, onIntegrity.props);

    const notifySuccess = lambdaStep(scope, S.notifySuccess, notify, {
      comment: 'Report success with the recovery time (RestoreStatus 1, RecoveryTimeSeconds, DrillStatus 1 for drills)',
      payload: notifyPayload(NOTIFY_EVENTS.restoreSucceeded),
      resultPath: '$.notification',
    });
    notifySuccess.addCatch(
      new sfn.Fail(scope, S.notifySuccessFailed, { error: 'NotificationFailed', cause: 'The restore succeeded and was verified; only the success notification (and its metrics) failed. See the notifyError in the state.' }),
      { errors: ['States.ALL'], resultPath: '$.notifyError' },
    ).next(new sfn.Succeed(scope, S.succeeded));

    // The media of the same recovery point, once the database is in and verified.
    const afterChecks: sfn.IChainable = restoreMediaFunction
      ? new sfn.Choice(scope, S.mediaRequested, { comment: 'Restore media too when the input asked for "media": true' })
          .when(
            sfn.Condition.and(sfn.Condition.isPresent('$.backup.media'), sfn.Condition.booleanEquals('$.backup.media', true)),
            lambdaStep(scope, S.restoreMedia, restoreMediaFunction, {
              comment: "Restore the media snapshot of the same recovery point into the target's Storage and verify every object",
              payload: {
                'backupId.$': '$.backup.backupId',
                'target.$': '$.backup.target',
                'confirm.$': '$.backup.confirm',
                'mediaSnapshotId.$': '$.backup.mediaSnapshotId',
                'exact.$': '$.backup.mediaExact',
                execution: EXECUTION_FIELDS,
              },
              resultPath: '$.media',
            })
              .addCatch(onMedia.handler, onMedia.props)
              .next(notifySuccess),
          )
          .otherwise(notifySuccess)
      : notifySuccess;

    const confirmedTarget = CONFIRMED_TARGETS.map((name) => sfn.Condition.stringEquals('$.backup.target', name));
    const unconfirmedProduction = sfn.Condition.and(
      confirmedTarget.length === 1 ? confirmedTarget[0]! : sfn.Condition.or(...confirmedTarget),
      sfn.Condition.not(sfn.Condition.and(sfn.Condition.isPresent('$.confirm'), sfn.Condition.isString('$.confirm'), sfn.Condition.stringEqualsJsonPath('$.confirm', '$.backup.backupId'))),
    );

    const definition = pick.next(
      new sfn.Choice(scope, S.checkConfirmation, { comment: 'Production restores need "confirm" equal to the resolved backup id' })
        .when(unconfirmedProduction, refuse)
        .otherwise(
          validate.next(
            new sfn.Choice(scope, S.isBackupValid)
              .when(sfn.Condition.booleanEquals('$.validation.valid', true), restore.next(verify).next(integrity).next(afterChecks))
              .otherwise(alertInvalid),
          ),
        ),
    );

    const machine = new DrStateMachine(scope, 'Machine', {
      ...(lane.stateMachineName ? { stateMachineName: lane.stateMachineName } : {}),
      definition,
      timeout: this.machineTimeout,
      comment: `iconic-dr ${lane.label}: PickBackup -> CheckConfirmation -> Validate -> Restore -> VerifyCounts -> IntegrityCheck -> NotifySuccess`,
      functions: [
        pickBackupFunction.function,
        ...(this.compute === 'fargate' ? [] : [...this.validation.functions.map((fn) => fn.function), restoreFunction.function]),
        ...(this.planner ? [this.planner.function.function] : []),
        verifyCountsFunction.function,
        integrityCheckFunction.function,
        notify.function,
        ...(restoreMediaFunction ? [restoreMediaFunction.function] : []),
      ],
      taskDefinitions: [...(this.validateTask ? [this.validateTask.taskDefinition] : []), ...(restoreTask ? [restoreTask.taskDefinition] : [])],
    });

    return { pickBackupFunction, restoreFunction, verifyCountsFunction, integrityCheckFunction, ...(restoreMediaFunction ? { restoreMediaFunction } : {}), stateMachine: machine.stateMachine, stateMachineLogs: machine.logGroup, ...(restoreTask ? { restoreTask } : {}) };
  }

  /** The functions of the workflow (for alarms). */
  get functions(): readonly DrFunction[] {
    const p = this.production;
    const media = [this.restoreMediaFunction, p.restoreMediaFunction].filter((f): f is DrFunction => f !== undefined);
    return [this.pickBackupFunction, ...this.validation.functions, this.restoreFunction, this.verifyCountsFunction, this.integrityCheckFunction, p.pickBackupFunction, p.restoreFunction, p.verifyCountsFunction, p.integrityCheckFunction, ...media, ...(this.planner ? [this.planner.function] : [])];
  }
}

/** Where a database is (no credentials): what the staging guard compares a target with. */
export interface DatabaseLocation {
  readonly host: string;
  /** @default 5432 */
  readonly port?: number;
  /** @default 'postgres' */
  readonly dbname?: string;
}

interface LaneOptions {
  /** In the machine's comment. */
  readonly label: string;
  readonly targetSecrets: Readonly<Record<string, secretsmanager.ISecret>>;
  /** A fixed name, so the restore function can tell its own machine's executions (RESTORE_GATE). */
  readonly stateMachineName?: string;
  /** Execution ARN prefix the restore function requires (RESTORE_GATE). */
  readonly gate?: string;
}

/** The functions and the machine of one restore lane (staging or production). */
export interface RestoreLane {
  readonly pickBackupFunction: DrFunction;
  readonly restoreFunction: DrFunction;
  readonly verifyCountsFunction: DrFunction;
  readonly integrityCheckFunction: DrFunction;
  readonly restoreMediaFunction?: DrFunction;
  readonly stateMachine: sfn.StateMachine;
  readonly stateMachineLogs: logs.ILogGroup;
  /** The restore step as a Fargate task (compute `fargate` or `auto`). */
  readonly restoreTask?: FargateStep;
}
