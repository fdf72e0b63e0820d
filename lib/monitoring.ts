import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { Alerting, Severity } from './alerting.js';
import type { BackupPipeline } from './backup-pipeline.js';
import { METRIC_DIMENSIONS, METRICS, METRICS_NAMESPACE } from './contract.js';
import { isPositiveInteger, PropErrors } from './defaults.js';
import type { DrFunction } from './dr-function.js';
import type { RestoreWorkflow } from './restore-workflow.js';

/** The plan's thresholds. */
export interface AlarmThresholds {
  /**
   * Hours without a successful backup before the critical alarm.
   * @default 24
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
   * Backup duration (seconds) that warns.
   * @default 3600
   */
  readonly maxBackupDurationSeconds?: number;
  /**
   * Recovery time (seconds) over the RTO that warns.
   * @default 3600
   */
  readonly rtoSeconds?: number;
}

export interface DrMonitoringProps {
  readonly alerting: Alerting;
  readonly backup: BackupPipeline;
  readonly restore: RestoreWorkflow;
  /** Every function of the stack by a PascalCase label: each gets a `<label>Errors` warning alarm. */
  readonly functions: Readonly<Record<string, DrFunction>>;
  /** @default - the plan's thresholds */
  readonly thresholds?: AlarmThresholds;
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

/**
 * The plan's alarms and the dashboard.
 *
 * Critical (critical topic): no successful backup in 24 h (missing data breaches), backup failed,
 * S3 upload failed, size +50 %, backup state machine failed/timed out/aborted.
 * Warning (warning topic): backup longer than 1 h, size +25 %, drill failed, recovery time over
 * the RTO, restore state machine failed (the workflow itself pages for production failures;
 * a refused confirmation or a staging drill is not a page), any function error.
 */
export class DrMonitoring extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;
  /** Alarms by id, for tests and for composite alarms. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** Counts S3 write failures logged by the backup function. */
  public readonly uploadFailureFilter: logs.MetricFilter;

  constructor(scope: Construct, id: string, props: DrMonitoringProps) {
    super(scope, id);
    const t = {
      maxHoursWithoutBackup: props.thresholds?.maxHoursWithoutBackup ?? 24,
      criticalSizeIncreasePercent: props.thresholds?.criticalSizeIncreasePercent ?? 50,
      warningSizeIncreasePercent: props.thresholds?.warningSizeIncreasePercent ?? 25,
      maxBackupDurationSeconds: props.thresholds?.maxBackupDurationSeconds ?? 3600,
      rtoSeconds: props.thresholds?.rtoSeconds ?? 3600,
    };
    const errors = new PropErrors('DrMonitoring');
    errors.check(isPositiveInteger(t.maxHoursWithoutBackup) && t.maxHoursWithoutBackup <= 24, 'maxHoursWithoutBackup must be 1-24 (CloudWatch evaluates at most one day)');
    errors.check(t.warningSizeIncreasePercent > 0 && t.warningSizeIncreasePercent < t.criticalSizeIncreasePercent, 'warningSizeIncreasePercent must be above 0 and below criticalSizeIncreasePercent');
    errors.check(t.maxBackupDurationSeconds > 0 && t.rtoSeconds > 0, 'maxBackupDurationSeconds and rtoSeconds must be positive');
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
    add('Critical', 'NoSuccessfulBackup', drMetric(METRICS.backupStatus, 'Maximum', HOUR), {
      alarmDescription: `CRITICAL: no successful backup in the last ${t.maxHoursWithoutBackup} h (RPO 24 h). Missing data counts as a failure. Runbook: start the backup state machine; check AlertFailure of the last execution.`,
      threshold: 1,
      comparisonOperator: lt,
      evaluationPeriods: t.maxHoursWithoutBackup,
      datapointsToAlarm: t.maxHoursWithoutBackup,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    add('Critical', 'BackupFailed', drMetric(METRICS.backupStatus, 'Minimum', HOUR), {
      alarmDescription: 'CRITICAL: a backup failed or was invalid (BackupStatus 0).',
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
    add('Critical', 'BackupUploadFailed', this.uploadFailureFilter.metric({ statistic: 'Sum', period: FIVE_MINUTES }), {
      alarmDescription: 'CRITICAL: the backup function could not write to S3 (StorageError in its log).',
      threshold: 1,
      comparisonOperator: gte,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    add('Critical', 'BackupSizeIncreaseCritical', drMetric(METRICS.backupSizeChangePercent, 'Maximum', HOUR), {
      alarmDescription: `CRITICAL: backup size grew more than ${t.criticalSizeIncreasePercent} % over the previous backup.`,
      threshold: t.criticalSizeIncreasePercent,
      comparisonOperator: gt,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    add('Critical', 'BackupStateMachineFailed', machineFailures(props.backup.stateMachine.stateMachine), {
      alarmDescription: 'CRITICAL: a backup execution failed, timed out or was aborted.',
      threshold: 1,
      comparisonOperator: gte,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });

    // Warning ---------------------------------------------------------------------------------
    add('Warning', 'BackupSlow', drMetric(METRICS.backupDurationSeconds, 'Maximum', HOUR), {
      alarmDescription: `WARNING: a backup took longer than ${t.maxBackupDurationSeconds} s.`,
      threshold: t.maxBackupDurationSeconds,
      comparisonOperator: gt,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    add('Warning', 'BackupSizeIncreaseWarning', drMetric(METRICS.backupSizeChangePercent, 'Maximum', HOUR), {
      alarmDescription: `WARNING: backup size grew more than ${t.warningSizeIncreasePercent} % over the previous backup.`,
      threshold: t.warningSizeIncreasePercent,
      comparisonOperator: gt,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    add('Warning', 'DrillFailed', drMetric(METRICS.drillStatus, 'Minimum', HOUR), {
      alarmDescription: 'WARNING: a restore drill failed (DrillStatus 0): the backups may not be restorable.',
      threshold: 1,
      comparisonOperator: lt,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    add('Warning', 'RecoveryTimeOverRto', drMetric(METRICS.recoveryTimeSeconds, 'Maximum', HOUR), {
      alarmDescription: `WARNING: a restore took longer than the RTO (${t.rtoSeconds} s).`,
      threshold: t.rtoSeconds,
      comparisonOperator: gt,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    add('Warning', 'RestoreStateMachineFailed', machineFailures(props.restore.stateMachine.stateMachine), {
      alarmDescription: 'WARNING: a restore execution failed, timed out or was aborted (production failures also page through NotifyFailure).',
      threshold: 1,
      comparisonOperator: gte,
      evaluationPeriods: 1,
      treatMissingData: notBreaching,
    });
    for (const [label, fn] of Object.entries(props.functions)) {
      add('Warning', `${label}Errors`, fn.function.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES }), {
        alarmDescription: `WARNING: the ${fn.handlerName} function (${label}) reported errors.`,
        threshold: 1,
        comparisonOperator: gte,
        evaluationPeriods: 1,
        treatMissingData: notBreaching,
      });
    }
    this.alarms = alarms;

    this.dashboard = this.buildDashboard(props, t.rtoSeconds, t.maxBackupDurationSeconds, t.warningSizeIncreasePercent, t.criticalSizeIncreasePercent);
  }

  private buildDashboard(props: DrMonitoringProps, rto: number, maxDuration: number, warnSize: number, critSize: number): cloudwatch.Dashboard {
    const day = Duration.days(1);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.days(30),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: '# iconic-dr: Live It Iconic database backups and restores\nRPO 24 h (daily 02:00 UTC backup) · RTO 1 h · weekly drill to staging · monthly full drill (first Friday 14:00 UTC)',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.SingleValueWidget({
        title: 'Last backup status (1 = ok)',
        metrics: [drMetric(METRICS.backupStatus, 'Minimum', day, 'BackupStatus')],
        setPeriodToTimeRange: false,
        width: 6,
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
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Backup duration (s)',
        left: [drMetric(METRICS.backupDurationSeconds, 'Maximum', day, 'Duration')],
        leftAnnotations: [{ value: maxDuration, label: 'Warning: 1 h', color: cloudwatch.Color.ORANGE }],
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
        leftAnnotations: [{ value: rto, label: 'RTO 1 h', color: cloudwatch.Color.RED }],
        right: [drMetric(METRICS.drillStatus, 'Minimum', day, 'DrillStatus'), drMetric(METRICS.restoreStatus, 'Minimum', day, 'RestoreStatus')],
        width: 8,
        height: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Executions',
        left: [
          props.backup.stateMachine.stateMachine.metricSucceeded({ period: day, label: 'Backup succeeded' }),
          props.backup.stateMachine.stateMachine.metricFailed({ period: day, label: 'Backup failed' }),
          props.restore.stateMachine.stateMachine.metricSucceeded({ period: day, label: 'Restore succeeded' }),
          props.restore.stateMachine.stateMachine.metricFailed({ period: day, label: 'Restore failed' }),
        ],
        width: 8,
        height: 8,
      }),
    );
    return dashboard;
  }
}

/** Failed + timed out + aborted executions of a machine, per 5 minutes. */
function machineFailures(machine: sfn.StateMachine): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
    usingMetrics: {
      failed: machine.metricFailed({ statistic: 'Sum', period: FIVE_MINUTES }),
      timedOut: machine.metricTimedOut({ statistic: 'Sum', period: FIVE_MINUTES }),
      aborted: machine.metricAborted({ statistic: 'Sum', period: FIVE_MINUTES }),
    },
    period: FIVE_MINUTES,
    label: 'Failed, timed out or aborted executions',
  });
}
