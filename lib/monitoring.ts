import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Alerting, Severity } from './alerting.js';
import type { BackupPipeline } from './backup-pipeline.js';
import type { MediaSync } from './media-sync.js';
import { DEFAULT_RTO_SECONDS, METRIC_DIMENSIONS, METRICS, METRICS_NAMESPACE } from './contract.js';
import { isPositiveInteger, PropErrors } from './defaults.js';
import type { DrFunction } from './dr-function.js';
import type { RestoreWorkflow } from './restore-workflow.js';

/** The plan's thresholds. */
export interface AlarmThresholds {
  /**
   * Hours since the last successful (complete, full) backup before the critical alarm.
   * @default 26 (the daily backup plus two hours of slack for a slow or retried run)
   */
  readonly maxHoursWithoutBackup?: number;
  /**
   * Size increase (percent, vs the previous backup) that pages.
   * @default 50
   */
  readonly criticalSizeIncreasePercent?: number;
  /**
   * Size increase (percent) that warns.
   * @default 25
   */
  readonly warningSizeIncreasePercent?: number;
  /**
   * Backup duration (seconds) that warns. Must be below the backup function's timeout, or it could
   * never fire (a backup is killed at its timeout).
   * @default 60 % of the backup function's timeout (of the Fargate backup's ceiling when backups may run on Fargate)
   */
  readonly maxBackupDurationSeconds?: number;
  /**
   * The recovery time objective: a restore execution longer than this warns. Must be below the
   * restore machine's timeout, or it could never fire.
   * @default 3600
   */
  readonly rtoSeconds?: number;
  /**
   * Critical when the newest media snapshot is older than this (media RPO 1 h plus a margin).
   * @default 75
   */
  readonly maxMediaSnapshotAgeMinutes?: number;
}

export interface DrMonitoringProps {
  readonly alerting: Alerting;
  readonly backup: BackupPipeline;
  readonly restore: RestoreWorkflow;
  /** Every function of the stack by a PascalCase label: each gets `<label>Errors` and `<label>Headroom` alarms. */
  readonly functions: Readonly<Record<string, DrFunction>>;
  /**
   * Backup, validate or restore may run as Fargate tasks: warn when one used more than 60 % of its
   * ceiling (StepCeilingPercent, emitted by the task at its end), and show it on the dashboard.
   * @default false
   */
  readonly fargateSteps?: boolean;
  /** The notify function: an alert that could not be delivered pages. */
  readonly notifyFunction: DrFunction;
  /** Dead-letter queues by a PascalCase label: each pages on its first message. */
  readonly deadLetterQueues?: Readonly<Record<string, sqs.IQueue>>;
  /** @default - the plan's thresholds */
  readonly thresholds?: AlarmThresholds;
  /** The hourly media sync, when the stack has one: its snapshot age alarm and dashboard number. */
  readonly media?: MediaSync;
  /**
   * Schedules, for the dashboard's header.
   * @default - not shown
   */
  readonly schedules?: { readonly backup?: string; readonly weeklyDrill?: string; readonly monthlyDrill?: string };
  /**
   * Dashboard name.
   * @default - generated
   */
  readonly dashboardName?: string;
}

/** A custom metric of the stack, with the one dimension the handlers emit (`service`). */
export function drMetric(metricName: string, statistic: string, period: Duration, label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { ...METRIC_DIMENSIONS },
    statistic,
    period,
    ...(label ? { label } : {}),
  });
}

const HOUR = Duration.hours(1);
const FIVE_MINUTES = Duration.minutes(5);
/** A run using more than this share of a timeout is close to being killed by it. */
export const HEADROOM_SHARE = 0.6;

/** `1 h`, `90 min`, `45 s`: thresholds as the dashboard and alarm texts say them. */
export function humanSeconds(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/**
 * The plan's alarms and the dashboard, arranged so that one failed run pages once: the notify
 * function sends each failed run's one message (with the step, the error and what to do), so the
 * alarms that would repeat it (BackupFailed, DrillFailed, upload failures, function errors) are
 * Dashboard-only; the alarms that notify what no run reports page:
 *
 * Critical: no successful backup for `maxHoursWithoutBackup` (HoursSinceLastSuccessfulBackup, from
 * the hourly check), size +50 %, a backup execution that timed out or was aborted (notify never
 * ran), a restore execution that timed out, an alert the notify function could not deliver, a
 * message in a dead-letter queue (a scheduled start or a Slack post lost).
 * Warning: size +25 %, a backup over `maxBackupDurationSeconds`, a restore execution over the RTO,
 * any function using more than 60 % of its timeout (headroom).
 * OK transitions go to the warning topic, never to the pager.
 */
export class DrMonitoring extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;
  /** Alarms by id, for tests and for composite alarms. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** Counts S3 write failures logged by the backup function. */
  public readonly uploadFailureFilter: logs.MetricFilter;

  constructor(scope: Construct, id: string, props: DrMonitoringProps) {
    super(scope, id);
    // A backup may run on Fargate (compute fargate/auto): its ceiling is then the longer one.
    const backupTimeout = Math.max(props.backup.backupFunction.timeout.toSeconds(), props.backup.fargate?.backup.timeout.toSeconds() ?? 0);
    const restoreMachineTimeout = props.restore.machineTimeout.toSeconds();
    const t = {
      maxHoursWithoutBackup: props.thresholds?.maxHoursWithoutBackup ?? 26,
      criticalSizeIncreasePercent: props.thresholds?.criticalSizeIncreasePercent ?? 50,
      warningSizeIncreasePercent: props.thresholds?.warningSizeIncreasePercent ?? 25,
      maxBackupDurationSeconds: props.thresholds?.maxBackupDurationSeconds ?? Math.floor(backupTimeout * HEADROOM_SHARE),
      rtoSeconds: props.thresholds?.rtoSeconds ?? DEFAULT_RTO_SECONDS,
      maxMediaSnapshotAgeMinutes: props.thresholds?.maxMediaSnapshotAgeMinutes ?? 75,
    };
    const errors = new PropErrors('DrMonitoring');
    errors.check(isPositiveInteger(t.maxHoursWithoutBackup) && t.maxHoursWithoutBackup <= 24 * 14, 'maxHoursWithoutBackup must be a whole number of hours, 1-336');
    errors.check(t.warningSizeIncreasePercent > 0 && t.warningSizeIncreasePercent < t.criticalSizeIncreasePercent, 'warningSizeIncreasePercent must be above 0 and below criticalSizeIncreasePercent');
    errors.check(t.maxBackupDurationSeconds > 0 && t.maxBackupDurationSeconds < backupTimeout, `maxBackupDurationSeconds (${t.maxBackupDurationSeconds}) must be above 0 and below the backup function's timeout (${backupTimeout} s), or the alarm could never fire`);
    errors.check(t.rtoSeconds > 0 && t.rtoSeconds < restoreMachineTimeout, `rtoSeconds (${t.rtoSeconds}) must be above 0 and below the restore machine's timeout (${restoreMachineTimeout} s), or the alarm could never fire`);
    errors.throwIfAny();

    const alarms: Record<string, cloudwatch.Alarm> = {};
    const add = (severity: Severity, alarmId: string, metric: cloudwatch.IMetric, options: Omit<cloudwatch.AlarmProps, 'metric'>) => {
      alarms[alarmId] = props.alerting.addAlarm(severity, new cloudwatch.Alarm(this, alarmId, { metric, ...options }));
    };
    const gt = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
    const gte = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    const lt = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD;
    const notBreaching = cloudwatch.TreatMissingData.NOT_BREACHING;

    // Critical --------------------------------------------------------------------------------
    // Missing data is not breaching: the hourly check emits nothing before the first complete full
    // backup, so a new stack does not page before its first backup was due (that backup's own
    // failure pages through notify). Once backups exist the check emits every hour; if it stops,
    // its schedule's dead-letter queue and its headroom alarm say so.
    add('critical', 'NoSuccessfulBackup', drMetric(METRICS.hoursSinceLastSuccessfulBackup, 'Maximum', HOUR), {
      alarmDescription: `CRITICAL: the newest successful backup is more than ${t.maxHoursWithoutBackup} h old (RPO 24 h). Runbook: start the backup state machine; look at the last execution's AlertFailure.`,
      threshold: t.maxHoursWithoutBackup,
      comparisonOperator: gt,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    if (props.media) {
      // Missing data is not breaching: no snapshot exists before the Storage secret is filled in.
      add('critical', 'MediaSnapshotTooOld', drMetric(METRICS.mediaSnapshotAgeMinutes, 'Maximum', HOUR), {
        alarmDescription: `CRITICAL: the newest media snapshot (Supabase Storage) is more than ${t.maxMediaSnapshotAgeMinutes} min old (media RPO 1 h). Runbook: look at the media sync function's last errors; check the Storage secret and the project's S3 access keys.`,
        threshold: t.maxMediaSnapshotAgeMinutes,
        comparisonOperator: gt,
        evaluationPeriods: 1,
        treatMissingData: notBreaching,
      });
    }
    add('critical', 'BackupSuspect', drMetric(METRICS.backupSuspect, 'Maximum', HOUR), {
      alarmDescription: 'CRITICAL: the newest backup is SUSPECT (mass-deletion canary): its rows fell by more than half against the previous good backup. It is kept but not used as latest. Runbook: check the source for a mass deletion or truncated tables before the good backups age out; restore the previous good backup if the data is gone.',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    add('critical', 'BackupSizeIncreaseCritical', drMetric(METRICS.backupSizeChangePercent, 'Maximum', HOUR), {
      alarmDescription: `CRITICAL: backup size grew more than ${t.criticalSizeIncreasePercent} % over the previous full backup.`,
      threshold: t.criticalSizeIncreasePercent,
      comparisonOperator: gt,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    add('critical', 'BackupExecutionUnreported', machineEnds(props.backup.stateMachine, ['timedOut', 'aborted']), {
      alarmDescription: 'CRITICAL: a backup execution timed out or was aborted, so its failure alert was never sent.',
      threshold: 1,
      comparisonOperator: gte,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    for (const [prefix, machine] of [['', props.restore.stateMachine], ['Production', props.restore.production.stateMachine]] as const) {
      add('critical', `${prefix}RestoreExecutionTimedOut`, machineEnds(machine, ['timedOut']), {
        alarmDescription: `CRITICAL: a ${prefix ? 'production ' : ''}restore execution timed out, so its failure alert was never sent. Check the target: a COMMITTED restore may not be verified.`,
        threshold: 1,
        comparisonOperator: gte,
        evaluationPeriods: 1,
        treatMissingData: notBreaching,
      });
    }
    // An alert that never went out: SNS refused it for good (notify counts AlertDeliveryFailures),
    // or every retry of a transient failure failed (one task tries a failing notify 4 times: 4
    // errors within the window; a single error is a blip the retry delivered, and does not page).
    add('critical', 'AlertDeliveryFailed', new cloudwatch.MathExpression({
      expression: 'IF(FILL(refused, 0) >= 1 OR FILL(errors, 0) >= 4, 1, 0)',
      usingMetrics: {
        refused: drMetric(METRICS.alertDeliveryFailures, 'Sum', Duration.minutes(15)),
        errors: props.notifyFunction.function.metricErrors({ statistic: 'Sum', period: Duration.minutes(15) }),
      },
      period: Duration.minutes(15),
      label: 'Alerts not delivered',
    }), {
      alarmDescription: 'CRITICAL: the notify function could not deliver an alert (SNS refused it, or every retry failed): a failed backup or restore may have paged nobody. Look at the executions that ended in BackupFailed/RestoreFailed, and at the notify role and topic key.',
      threshold: 1,
      comparisonOperator: gte,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    for (const [label, queue] of Object.entries(props.deadLetterQueues ?? {})) {
      add('critical', `${label}NotEmpty`, queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: FIVE_MINUTES }), {
        alarmDescription: `CRITICAL: ${label} holds a delivery that failed every retry (a scheduled backup/drill start or a Slack post was lost). Look at the message, fix the cause, redrive it.`,
        threshold: 1,
        comparisonOperator: gte,
        evaluationPeriods: 1,
        treatMissingData: notBreaching,
      });
    }

    // Warning ---------------------------------------------------------------------------------
    add('warning', 'BackupSizeIncreaseWarning', drMetric(METRICS.backupSizeChangePercent, 'Maximum', HOUR), {
      alarmDescription: `WARNING: backup size grew more than ${t.warningSizeIncreasePercent} % over the previous full backup.`,
      threshold: t.warningSizeIncreasePercent,
      comparisonOperator: gt,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    // BackupDurationSeconds is emitted for failed runs too (start to alert), so a backup killed at
    // its timeout reaches this threshold.
    add('warning', 'BackupSlow', drMetric(METRICS.backupDurationSeconds, 'Maximum', HOUR), {
      alarmDescription: `WARNING: a backup run took longer than ${humanSeconds(t.maxBackupDurationSeconds)} (its function stops at ${humanSeconds(backupTimeout)}): raise its memory or timeout (docs/runbook.md).`,
      threshold: t.maxBackupDurationSeconds,
      comparisonOperator: gt,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    // ExecutionTime covers every closed execution, failed and timed out included: a restore slower
    // than the RTO is seen even when it never succeeds.
    for (const [prefix, machine] of [['', props.restore.stateMachine], ['Production', props.restore.production.stateMachine]] as const) {
      add('warning', `${prefix}RecoveryTimeOverRto`, machine.metric('ExecutionTime', { statistic: 'Maximum', period: FIVE_MINUTES }), {
        alarmDescription: `WARNING: a ${prefix ? 'production ' : ''}restore execution ran longer than the RTO (${humanSeconds(t.rtoSeconds)}).`,
        threshold: t.rtoSeconds * 1000,
        comparisonOperator: gt,
        evaluationPeriods: 1,
        treatMissingData: notBreaching,
      });
    }
    for (const [label, fn] of Object.entries(props.functions)) {
      const limit = fn.timeout.toMilliseconds();
      add('warning', `${label}Headroom`, fn.function.metricDuration({ statistic: 'Maximum', period: FIVE_MINUTES }), {
        alarmDescription: `WARNING: the ${fn.handlerName} function (${label}) used more than ${HEADROOM_SHARE * 100} % of its ${humanSeconds(limit / 1000)} timeout: raise its memory or timeout before it is killed (stack prop functionSizing).`,
        threshold: Math.floor(limit * HEADROOM_SHARE),
        comparisonOperator: gt,
        evaluationPeriods: 1,
        treatMissingData: notBreaching,
      });
    }

    if (props.fargateSteps) {
      // Lambda steps have their Headroom alarms on Duration; a Fargate step reports its own share.
      add('warning', 'FargateStepHeadroom', drMetric(METRICS.stepCeilingPercent, 'Maximum', HOUR), {
        alarmDescription: `WARNING: a Fargate step (backup, validate or restore) used more than ${HEADROOM_SHARE * 100} % of its ceiling: raise its vCPU (stack prop fargateSizing) or its timeout before a run is stopped at it. docs/scale.md.`,
        threshold: HEADROOM_SHARE * 100,
        comparisonOperator: gt,
        evaluationPeriods: 1,
        treatMissingData: notBreaching,
      });
    }

    // Dashboard only: the run that caused them already sent its one message ------------------
    add('dashboard', 'BackupFailed', drMetric(METRICS.backupStatus, 'Minimum', HOUR), {
      alarmDescription: 'A backup failed or was invalid (BackupStatus 0). Notified by the run itself (AlertFailure), not by this alarm.',
      threshold: 1,
      comparisonOperator: lt,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    this.uploadFailureFilter = new logs.MetricFilter(this, 'UploadFailureFilter', {
      logGroup: props.backup.backupFunction.logGroup,
      filterPattern: logs.FilterPattern.all(logs.FilterPattern.stringValue('$.level', '=', 'ERROR'), logs.FilterPattern.stringValue('$.error.name', '=', 'StorageError')),
      metricNamespace: METRICS_NAMESPACE,
      metricName: METRICS.backupUploadFailures,
      metricValue: '1',
      unit: cloudwatch.Unit.COUNT,
    });
    add('dashboard', 'BackupUploadFailed', this.uploadFailureFilter.metric({ statistic: 'Sum', period: FIVE_MINUTES }), {
      alarmDescription: 'The backup function could not write to S3 (StorageError in its log). The failed run pages through AlertFailure.',
      threshold: 1,
      comparisonOperator: gte,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    add('dashboard', 'DrillFailed', drMetric(METRICS.drillStatus, 'Minimum', HOUR), {
      alarmDescription: 'A restore drill failed (DrillStatus 0): the backups may not be restorable. Notified by the drill itself (NotifyFailure).',
      threshold: 1,
      comparisonOperator: lt,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    for (const [label, fn] of Object.entries(props.functions)) {
      add('dashboard', `${label}Errors`, fn.function.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }), {
        alarmDescription: `The ${fn.handlerName} function (${label}) reported errors; the run it belongs to reports them.`,
        threshold: 1,
        comparisonOperator: gte,
        evaluationPeriods: 1,
        treatMissingData: notBreaching,
      });
    }
    this.alarms = alarms;

    this.dashboard = this.buildDashboard(props, t);
  }

  private buildDashboard(props: DrMonitoringProps, t: Required<AlarmThresholds>): cloudwatch.Dashboard {
    const { rtoSeconds: rto, maxBackupDurationSeconds: maxDuration, warningSizeIncreasePercent: warnSize, criticalSizeIncreasePercent: critSize } = t;
    const day = Duration.days(1);
    const when = props.schedules ?? {};
    const header = [
      `RPO: alarm after ${t.maxHoursWithoutBackup} h without a successful backup${when.backup ? ` (backup ${when.backup} UTC)` : ''}`,
      `RTO ${humanSeconds(rto)}`,
      ...(when.weeklyDrill ? [`weekly drill ${when.weeklyDrill}`] : []),
      ...(when.monthlyDrill ? [`monthly drill ${when.monthlyDrill}`] : []),
    ].join(' · ');
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.days(30),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# iconic-dr: Live It Iconic database backups and restores\n${header}`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.SingleValueWidget({
        title: `Hours since the last successful backup (alarm > ${t.maxHoursWithoutBackup})`,
        metrics: [drMetric(METRICS.hoursSinceLastSuccessfulBackup, 'Maximum', HOUR, 'Hours')],
        setPeriodToTimeRange: false,
        width: 3,
      }),
      new cloudwatch.SingleValueWidget({
        title: 'Last backup status (1 = ok)',
        metrics: [drMetric(METRICS.backupStatus, 'Minimum', day, 'BackupStatus')],
        setPeriodToTimeRange: false,
        width: 3,
      }),
      new cloudwatch.SingleValueWidget({
        title: 'Last backup',
        metrics: [drMetric(METRICS.backupDurationSeconds, 'Maximum', day, 'Duration (s)'), drMetric(METRICS.backupRecords, 'Maximum', day, 'Records')],
        width: 6,
      }),
      new cloudwatch.SingleValueWidget({
        title: 'Last drill',
        metrics: [drMetric(METRICS.drillStatus, 'Minimum', Duration.days(7), 'DrillStatus'), drMetric(METRICS.recoveryTimeSeconds, 'Maximum', Duration.days(7), 'Recovery time (s)')],
        width: 6,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alerting.alarms], width: 6, height: 6 }),
    );
    if (props.media) {
      dashboard.addWidgets(
        new cloudwatch.SingleValueWidget({
          title: `Minutes since the last media snapshot (alarm > ${t.maxMediaSnapshotAgeMinutes})`,
          metrics: [drMetric(METRICS.mediaSnapshotAgeMinutes, 'Maximum', HOUR, 'Minutes')],
          setPeriodToTimeRange: false,
          width: 6,
        }),
      );
    }
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Backup duration (s)',
        left: [drMetric(METRICS.backupDurationSeconds, 'Maximum', day, 'Duration')],
        leftAnnotations: [{ value: maxDuration, label: `Warning: ${humanSeconds(maxDuration)}`, color: cloudwatch.Color.ORANGE }],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Backup size trend',
        left: [drMetric(METRICS.backupSizeBytes, 'Maximum', day, 'Size (bytes)')],
        right: [drMetric(METRICS.backupSizeChangePercent, 'Maximum', day, 'Change vs previous (%)')],
        rightAnnotations: [
          { value: warnSize, label: `Warning +${warnSize} %`, color: cloudwatch.Color.ORANGE },
          { value: critSize, label: `Critical +${critSize} %`, color: cloudwatch.Color.RED },
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Records backed up',
        left: [drMetric(METRICS.backupRecords, 'Maximum', day, 'Records')],
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: 'Records per table (latest backups)',
        logGroupNames: [props.backup.backupFunction.logGroup.logGroupName],
        queryLines: ["fields @timestamp, table, records, bytes", "filter message = 'Table backed up'", 'stats latest(records) as records, latest(bytes) as bytes by table', 'sort table asc'],
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 8,
        height: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Drill / restore recovery time (s)',
        left: [drMetric(METRICS.recoveryTimeSeconds, 'Maximum', day, 'Recovery time')],
        leftAnnotations: [{ value: rto, label: `RTO ${humanSeconds(rto)}`, color: cloudwatch.Color.RED }],
        right: [drMetric(METRICS.drillStatus, 'Minimum', day, 'DrillStatus'), drMetric(METRICS.restoreStatus, 'Minimum', day, 'RestoreStatus')],
        width: 8,
        height: 8,
      }),
      ...(props.fargateSteps
        ? [
            new cloudwatch.GraphWidget({
              title: 'Fargate steps: share of their ceiling (%)',
              left: [drMetric(METRICS.stepCeilingPercent, 'Maximum', day, 'Largest share')],
              leftAnnotations: [{ value: HEADROOM_SHARE * 100, label: 'Warning', color: cloudwatch.Color.ORANGE }],
              width: 8,
              height: 8,
            }),
          ]
        : []),
      new cloudwatch.GraphWidget({
        title: 'Executions',
        left: [
          props.backup.stateMachine.metricSucceeded({ period: day, label: 'Backup succeeded' }),
          props.backup.stateMachine.metricFailed({ period: day, label: 'Backup failed' }),
          props.restore.stateMachine.metricSucceeded({ period: day, label: 'Restore succeeded' }),
          props.restore.stateMachine.metricFailed({ period: day, label: 'Restore failed' }),
          props.restore.production.stateMachine.metricSucceeded({ period: day, label: 'Production restore succeeded' }),
          props.restore.production.stateMachine.metricFailed({ period: day, label: 'Production restore failed' }),
        ],
        width: 8,
        height: 8,
      }),
    );
    return dashboard;
  }
}

/**
 * Executions of a machine that ended without running their own notify task (timed out, aborted),
 * per 5 minutes. Failed executions are not counted: each ran NotifyFailure/AlertFailure, which sent
 * the run's one message.
 */
function machineEnds(machine: sfn.StateMachine, ends: readonly ('timedOut' | 'aborted')[]): cloudwatch.IMetric {
  const metrics = { timedOut: machine.metricTimedOut({ statistic: 'Sum', period: FIVE_MINUTES }), aborted: machine.metricAborted({ statistic: 'Sum', period: FIVE_MINUTES }) };
  if (ends.length === 1) return metrics[ends[0]!];
  return new cloudwatch.MathExpression({
    expression: ends.map((end) => `FILL(${end}, 0)`).join(' + '),
    usingMetrics: Object.fromEntries(ends.map((end) => [end, metrics[end]])),
    period: FIVE_MINUTES,
    label: `${ends.join(' or ')} executions`,
  });
}
