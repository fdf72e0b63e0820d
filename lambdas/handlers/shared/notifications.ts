import { z } from 'zod';
import { DEFAULT_RTO_SECONDS, METRICS, needsConfirmation, NOTIFY_EVENTS } from '../../../lib/contract.js';
import { formatBytes, formatCount } from '../../core/util/format.js';

/**
 * What the notify function says about a finished (or failed) workflow: which topic, a subject and a
 * plain-text message an on-call engineer can act on (what happened, which backup and target, the
 * numbers, what to do, a console link), and the metrics to emit. Pure: the handler publishes.
 *
 * Routing (lib/contract.ts): backup failures and invalid backups, any failure of a restore into a
 * confirmed target (production), and a drill refused because its target is the source or production
 * (TargetIdentityError), go to the critical topic (pages, once per failed run: no alarm repeats
 * them); other failures of restores and drills, and restore successes, go to the warning topic
 * (Slack); a successful backup publishes nothing — its metrics feed the alarms and the dashboard.
 */

export const NOTIFY_EVENT_NAMES = Object.values(NOTIFY_EVENTS) as [string, ...string[]];
export type NotifyEvent = (typeof NOTIFY_EVENTS)[keyof typeof NOTIFY_EVENTS];
export type Workflow = 'backup' | 'restore';
export type Topic = 'critical' | 'warning';
export type Severity = 'critical' | 'warning' | 'ok';

/** Error names that page whatever the target: a drill pointed at the source or at production. */
export const PAGING_ERRORS: readonly string[] = ['TargetIdentityError'];

const EVENTS_OF: Record<Workflow, readonly string[]> = {
  backup: [NOTIFY_EVENTS.backupSucceeded, NOTIFY_EVENTS.backupFailed, NOTIFY_EVENTS.backupInvalid],
  restore: [NOTIFY_EVENTS.restoreSucceeded, NOTIFY_EVENTS.restoreFailed, NOTIFY_EVENTS.backupInvalid],
};

/** A part of the state document that may be missing or odd after a failure: parse what is there. */
const lenient = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);
const drillSchema = z.enum(['weekly', 'monthly']);

/** The accumulated state document (`{ ...input, backup, validation, restore, verification, integrity, error }`). */
export const stateSchema = z.looseObject({
  backupId: lenient(z.string()),
  target: lenient(z.string()),
  drill: lenient(drillSchema),
  backup: lenient(
    z.looseObject({
      backupId: z.string(),
      scope: z.enum(['full', 'subset']).optional().catch(undefined),
      requested: z.string().optional().catch(undefined),
      target: z.string().optional().catch(undefined),
      drill: drillSchema.nullish().catch(undefined),
      tables: z.array(z.string()).nullish().catch(undefined),
      totalRecords: z.number().optional().catch(undefined),
      totalBytes: z.number().optional().catch(undefined),
      durationMs: z.number().optional().catch(undefined),
      previousBackupId: z.string().nullish().catch(undefined),
      sizeChangePercent: z.number().nullish().catch(undefined),
      suspect: z.looseObject({ reason: z.string(), comparedWith: z.string().optional() }).nullish().catch(undefined),
    }),
  ),
  validation: lenient(z.looseObject({ valid: z.boolean(), problems: z.array(z.string()).catch([]), tables: z.number().optional().catch(undefined), totalRecords: z.number().optional().catch(undefined) })),
  restore: lenient(z.looseObject({ tables: z.array(z.string()).catch([]), totalRecords: z.number(), durationMs: z.number() })),
  verification: lenient(z.looseObject({ tables: z.array(z.looseObject({ table: z.string() })).catch([]) })),
  integrity: lenient(z.looseObject({ orphans: z.array(z.unknown()).catch([]), invalidConstraints: z.array(z.unknown()).catch([]) })),
  error: lenient(z.looseObject({ Error: z.string(), Cause: z.string().optional().catch(undefined) })),
  /** Set by the machine's Failed<Step> states: which task failed and what that means for the target. */
  failure: lenient(z.looseObject({ step: z.string(), outcome: z.string().optional().catch(undefined) })),
});
export type StateDocument = z.output<typeof stateSchema>;

export interface NotificationInput {
  /** The recovery time objective judged in restore messages (the stack's threshold). @default 3600 */
  readonly rtoSeconds?: number;
  readonly event: string;
  readonly workflow: Workflow;
  readonly execution: { readonly id: string; readonly startTime: string };
  readonly state: StateDocument;
}

export interface MetricDatum {
  readonly name: string;
  readonly unit: 'Count' | 'Seconds' | 'Bytes' | 'Percent';
  readonly value: number;
}

export interface Notification {
  readonly event: string;
  readonly workflow: Workflow;
  readonly severity: Severity;
  /** Where it is published; null: nothing is published (a successful backup). */
  readonly topic: Topic | null;
  /** ASCII, one line, under 100 characters (SNS e-mail subject). */
  readonly subject: string;
  readonly message: string;
  /** The execution in the Step Functions console. */
  readonly link: string;
  readonly backupId: string | null;
  readonly target: string | null;
  readonly drill: 'weekly' | 'monthly' | null;
  readonly metrics: readonly MetricDatum[];
  /** Restore successes: now - execution start, in seconds. */
  readonly recoveryTimeSeconds: number | null;
}

/** True when `event` may be sent for `workflow`. */
export function eventFits(workflow: Workflow, event: string): boolean {
  return EVENTS_OF[workflow].includes(event);
}

export function formatSeconds(seconds: number): string {
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)} min${whole % 60 ? ` ${whole % 60} s` : ''}`;
  const minutes = Math.round((whole % 3600) / 60);
  return `${Math.floor(whole / 3600)} h${minutes ? ` ${minutes} min` : ''}`;
}

/** The Step Functions console page of an execution, in the execution's region. */
export function executionConsoleLink(executionArn: string, fallbackRegion = 'us-east-1'): string {
  const region = executionArn.split(':')[3] || fallbackRegion;
  return `https://console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionArn}`;
}

/**
 * The readable part of a Catch's `Cause`. Real Step Functions puts the Lambda error there as JSON
 * (`{"errorType","errorMessage","trace"}`); local interpreters put the message itself.
 */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '(no message)';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (parsed && typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the message itself
  }
  return cause;
}

/**
 * Which task failed: what the machine recorded (`failure.step`, set by the Failed<Step> state of the
 * task's Catch); for older definitions, inferred from which results the state document has.
 */
export function failedStep(workflow: Workflow, state: StateDocument): string {
  if (state.failure?.step) return state.failure.step;
  if (workflow === 'backup') return state.backup ? 'Validate' : 'Backup';
  if (!state.backup) return 'PickBackup';
  if (!state.validation) return 'Validate';
  if (!state.restore) return 'Restore';
  if (!state.verification) return 'VerifyCounts';
  return 'IntegrityCheck';
}

/** SNS subjects: ASCII, one line, under 100 characters (else SNS refuses the publish). */
function subjectLine(text: string): string {
  const line = text
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7E]/g, '?')
    .trim();
  return line.length <= 99 ? line : `${line.slice(0, 96)}...`;
}

function problemList(problems: readonly string[], max = 10): string[] {
  const lines = problems.slice(0, max).map((p) => `  - ${p}`);
  if (problems.length > max) lines.push(`  - … and ${problems.length - max} more (see the output of ValidateSummary, or ValidateOnFargate)`);
  return lines;
}

const CONSEQUENCE: Record<string, (target: string, backupId: string) => string> = {
  PickBackup: (target) => `No backup was chosen, so nothing was done to ${target}.`,
  Validate: (target) => `The backup could not be validated, so ${target} was not touched.`,
  Restore: (target) => `The restore runs in one transaction: it was refused before it began or rolled back, so ${target} is exactly as it was before.`,
  VerifyCounts: (target, id) => `The restore was COMMITTED, but the row counts after it differ: ${target} now holds backup ${id}'s data plus or minus what the counts show. Find out what wrote to it.`,
  IntegrityCheck: (target, id) => `The restore was COMMITTED, but the integrity check after it failed: ${target} now holds backup ${id}'s data and has the problems below.`,
};

const ADVICE: Record<string, string> = {
  PickBackup: 'check the input (backupId: an id, "latest" or "random"; target) and that complete backups exist ("npx iconic-dr list --from s3://<bucket>/backups"), then start the restore again.',
  Validate: 'fix the cause above (S3 access, the backup id) and start the restore again.',
  Restore: 'fix the cause above (the target secret, the target\'s schema, locks held by the application) and start the restore again; docs/runbook.md has the steps.',
  VerifyCounts: 'stop whatever writes to the target, compare with "npx iconic-dr verify <backup id> --db <target>", and restore again (docs/runbook.md).',
  IntegrityCheck: 'look at the problems with "npx iconic-dr check --db <target>"; restore again or repair them before the application uses the target (docs/runbook.md).',
};

/** Builds the notification and the metrics for one notify call. */
export function describeNotification(input: NotificationInput, now: Date = new Date(), fallbackRegion?: string): Notification {
  const { event, workflow, execution, state } = input;
  const rtoSeconds = input.rtoSeconds ?? DEFAULT_RTO_SECONDS;
  const link = executionConsoleLink(execution.id, fallbackRegion);
  const started = new Date(execution.startTime);
  const elapsedSeconds = Math.max(0, Math.round((now.getTime() - started.getTime()) / 100) / 10);
  const drill = workflow === 'restore' ? (state.backup?.drill ?? state.drill ?? null) : null;
  const target = workflow === 'restore' ? (state.backup?.target ?? state.target ?? null) : null;
  const backupId = state.backup?.backupId ?? state.backupId ?? null;
  const footer = ['', `Execution: ${execution.id}`, `Started:   ${execution.startTime} (${formatSeconds(elapsedSeconds)} ago)`, `Console:   ${link}`];
  const error = state.error ? { name: state.error.Error, message: causeMessage(state.error.Cause) } : undefined;
  const errorLines = error ? [`Error: ${error.name}`, `Cause: ${error.message}`] : [];
  const drillLabel = drill ? `${drill} drill` : null;
  const metrics: MetricDatum[] = [];
  const base = { event, workflow, link, backupId, target, drill } as const;

  if (workflow === 'backup') {
    const b = state.backup;
    const subset = b?.scope === 'subset';
    if (event === NOTIFY_EVENTS.backupSucceeded) {
      metrics.push({ name: METRICS.backupStatus, unit: 'Count', value: 1 });
      // A subset's size and records would read as a drop on the dashboard and in the next comparison.
      if (subset) metrics.push({ name: METRICS.backupDurationSeconds, unit: 'Seconds', value: (b?.durationMs ?? 0) / 1000 });
      else if (b?.durationMs !== undefined) metrics.push({ name: METRICS.backupDurationSeconds, unit: 'Seconds', value: b.durationMs / 1000 });
      if (!subset && b?.totalBytes !== undefined) metrics.push({ name: METRICS.backupSizeBytes, unit: 'Bytes', value: b.totalBytes });
      if (!subset && b?.totalRecords !== undefined) metrics.push({ name: METRICS.backupRecords, unit: 'Count', value: b.totalRecords });
      if (!subset && b?.sizeChangePercent != null) metrics.push({ name: METRICS.backupSizeChangePercent, unit: 'Percent', value: b.sizeChangePercent });
      // 1 pages through the BackupSuspect alarm: the bad state was backed up, and the good backups will age out.
      if (!subset) metrics.push({ name: METRICS.backupSuspect, unit: 'Count', value: b?.suspect ? 1 : 0 });
      const change = b?.sizeChangePercent == null ? 'no previous backup to compare with' : `${b.sizeChangePercent > 0 ? '+' : ''}${b.sizeChangePercent} % vs ${b.previousBackupId}`;
      return {
        ...base,
        severity: 'ok',
        topic: null,
        subject: subjectLine(`OK iconic-dr: backup ${backupId ?? ''} succeeded`),
        message: [
          `Backup ${backupId} is complete and valid.`,
          ...(b?.suspect ? [`SUSPECT (mass-deletion canary): ${b.suspect.reason}. It is kept but never picked as latest; check for a mass deletion before the good backups age out.`] : []),
          `Records: ${formatCount(b?.totalRecords ?? 0)} in ${b?.tables?.length ?? 0} tables; size ${formatBytes(b?.totalBytes ?? 0, ' ')} (${change}); took ${formatSeconds((b?.durationMs ?? 0) / 1000)}.`,
          ...footer,
        ].join('\n'),
        metrics,
        recoveryTimeSeconds: null,
      };
    }
    metrics.push({ name: METRICS.backupStatus, unit: 'Count', value: 0 });
    // Failed runs report their duration too (start to alert): a backup killed at its timeout is the
    // slowest backup of all, and the headroom alarm must see it.
    metrics.push({ name: METRICS.backupDurationSeconds, unit: 'Seconds', value: elapsedSeconds });
    if (event === NOTIFY_EVENTS.backupInvalid) {
      const problems = state.validation?.problems ?? [];
      const previous = b?.previousBackupId;
      return {
        ...base,
        severity: 'critical',
        topic: 'critical',
        subject: subjectLine(`CRITICAL iconic-dr: new backup ${backupId} is INVALID (${problems.length} problem${problems.length === 1 ? '' : 's'})`),
        message: [
          `The backup just written, ${backupId}, failed validation: do not restore it.`,
          `Problems (${problems.length}):`,
          ...problemList(problems),
          '',
          previous
            ? `The previous backup is ${previous}. To restore now, name it by id: a restore of "latest" would pick ${backupId} and stop at validation.`
            : 'There is no earlier complete backup.',
          'What to do: find the cause (S3 errors in the backup function log, a changed schema), then start the backup state machine again (docs/runbook.md, "A backup failed").',
          ...footer,
        ].join('\n'),
        metrics,
        recoveryTimeSeconds: null,
      };
    }
    const step = failedStep('backup', state);
    return {
      ...base,
      severity: 'critical',
      topic: 'critical',
      subject: subjectLine(`CRITICAL iconic-dr: backup failed at ${step}${error ? ` (${error.name})` : ''}`),
      message: [
        step === 'Backup'
          ? 'The database backup failed: no new backup was written, and the newest complete backup is older than planned (RPO 24 h).'
          : `Backup ${backupId} was written but could not be validated, so it cannot be trusted yet.`,
        ...errorLines,
        '',
        'What to do: fix the cause above, then start the backup state machine again (docs/runbook.md, "A backup failed").',
        ...footer,
      ].join('\n'),
      metrics,
      recoveryTimeSeconds: null,
    };
  }

  // Restore workflow.
  const where = target ?? 'the target';
  const critical = (target !== null && needsConfirmation(target)) || (error !== undefined && PAGING_ERRORS.includes(error.name));
  const failureTopic: Topic = critical ? 'critical' : 'warning';
  const failureSeverity: Severity = critical ? 'critical' : 'warning';
  const prefix = critical ? 'CRITICAL' : 'WARNING';
  const what = drillLabel ? `${drillLabel} (restore into ${where})` : `restore into ${where}`;
  const about = [`Backup: ${backupId ?? state.backupId ?? '(not chosen)'}${state.backup?.requested && state.backup.requested !== backupId ? ` (requested: ${state.backup.requested})` : ''}`, `Target: ${where}${drillLabel ? ` — ${drillLabel}` : ''}`];

  if (event === NOTIFY_EVENTS.restoreSucceeded) {
    metrics.push({ name: METRICS.restoreStatus, unit: 'Count', value: 1 });
    metrics.push({ name: METRICS.recoveryTimeSeconds, unit: 'Seconds', value: elapsedSeconds });
    if (drill) metrics.push({ name: METRICS.drillStatus, unit: 'Count', value: 1 });
    const r = state.restore;
    const verified = state.verification?.tables.length ?? 0;
    const withinRto = elapsedSeconds <= rtoSeconds;
    return {
      ...base,
      severity: 'ok',
      topic: 'warning',
      subject: subjectLine(`OK iconic-dr: ${what} succeeded, recovery time ${formatSeconds(elapsedSeconds)}`),
      message: [
        `Backup ${backupId} was restored into ${where}, its row counts verified and its integrity checked.`,
        ...about,
        `Recovery time: ${formatSeconds(elapsedSeconds)} from start to verified (RTO ${formatSeconds(rtoSeconds)}: ${withinRto ? 'met' : 'NOT met'}).`,
        r ? `Restored: ${formatCount(r.totalRecords)} records in ${r.tables.length} tables; the restore transaction took ${formatSeconds(r.durationMs / 1000)}.` : 'Restored: (no details)',
        `Counts: all ${verified} tables match the backup.`,
        `Integrity: no orphan rows, no NOT VALID constraints.`,
        ...footer,
      ].join('\n'),
      metrics,
      recoveryTimeSeconds: elapsedSeconds,
    };
  }

  metrics.push({ name: METRICS.restoreStatus, unit: 'Count', value: 0 });
  if (drill) metrics.push({ name: METRICS.drillStatus, unit: 'Count', value: 0 });
  if (event === NOTIFY_EVENTS.backupInvalid) {
    const problems = state.validation?.problems ?? [];
    return {
      ...base,
      severity: failureSeverity,
      topic: failureTopic,
      subject: subjectLine(`${prefix} iconic-dr: ${what} stopped, backup ${backupId} is INVALID`),
      message: [
        `Backup ${backupId} failed validation, so the ${what} stopped before touching it: ${where} is unchanged.`,
        ...about,
        `Problems (${problems.length}):`,
        ...problemList(problems),
        '',
        'What to do: restore an older backup by id ("npx iconic-dr list", then "npx iconic-dr validate <id>"), and find out why this one is corrupt (docs/runbook.md).',
        ...footer,
      ].join('\n'),
      metrics,
      recoveryTimeSeconds: null,
    };
  }

  const step = failedStep('restore', state);
  return {
    ...base,
    severity: failureSeverity,
    topic: failureTopic,
    subject: subjectLine(`${prefix} iconic-dr: ${what} failed at ${step}${error ? ` (${error.name})` : ''}`),
    message: [
      `The ${what} failed at ${step}.`,
      (CONSEQUENCE[step] ?? CONSEQUENCE.Restore!)(where, backupId ?? '?'),
      ...about,
      ...errorLines,
      '',
      `What to do: ${ADVICE[step] ?? ADVICE.Restore}`,
      ...footer,
    ].join('\n'),
    metrics,
    recoveryTimeSeconds: null,
  };
}
