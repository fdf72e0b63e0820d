import { describe, expect, it } from '@jest/globals';
import { causeMessage, describeNotification, executionConsoleLink, failedStep, formatSeconds, type NotificationInput, type StateDocument } from '../../../lambdas/handlers/shared/notifications.js';
import { escapeSlack, slackMessageFor } from '../../../lambdas/handlers/shared/slack.js';
import { METRICS } from '../../../lib/contract.js';
import { because } from '../../helpers/expect-message.js';

const EXECUTION = { id: 'arn:aws:states:eu-west-1:123456789012:execution:IconicDrRestore:run-1', startTime: '2026-11-25T04:00:00.000Z' };
const NOW = new Date('2026-11-25T04:07:30.000Z');
const ID = '2026-11-25T02-00-00-000Z';
const picked = (target: string, drill: 'weekly' | 'monthly' | null = null) => ({ backupId: ID, requested: 'latest', target, confirm: null, tables: null, drill, location: `s3://b/backups/${ID}` });
const backupResult = { backupId: ID, location: `s3://b/backups/${ID}`, tables: ['products', 'orders'], recordCounts: { products: 20, orders: 400 }, totalRecords: 420, totalBytes: 123_456, durationMs: 4200, previousBackupId: '2026-11-24T02-00-00-000Z', sizeChangePercent: 3.5 };

function describeAt(event: string, workflow: 'backup' | 'restore', state: StateDocument) {
  return describeNotification({ event, workflow, execution: EXECUTION, state } as NotificationInput, NOW);
}

describe('notifications: routing, readable messages and metrics', () => {
  it('routes: backup failures page, production restore failures page, staging/drill failures and restore successes warn, a good backup publishes nothing', () => {
    const failure = { Error: 'OperationFailedError', Cause: 'boom' };
    const cases: [string, 'backup' | 'restore', StateDocument, string | null][] = [
      ['BackupSucceeded', 'backup', { backup: backupResult, validation: { valid: true, problems: [] } }, null],
      ['BackupFailed', 'backup', { error: failure }, 'critical'],
      ['BackupInvalid', 'backup', { backup: backupResult, validation: { valid: false, problems: ['x'] } }, 'critical'],
      ['RestoreSucceeded', 'restore', { backup: picked('production') }, 'warning'],
      ['RestoreFailed', 'restore', { backup: picked('production'), error: failure }, 'critical'],
      ['RestoreFailed', 'restore', { target: 'production', error: failure }, 'critical'],
      ['RestoreFailed', 'restore', { backup: picked('staging'), error: failure }, 'warning'],
      ['RestoreFailed', 'restore', { backup: picked('staging', 'weekly'), error: failure }, 'warning'],
      ['BackupInvalid', 'restore', { backup: picked('production'), validation: { valid: false, problems: ['x'] } }, 'critical'],
      ['BackupInvalid', 'restore', { backup: picked('staging'), validation: { valid: false, problems: ['x'] } }, 'warning'],
      // A drill pointed at the source or production pages, whatever its target's name.
      ['RestoreFailed', 'restore', { backup: picked('staging', 'weekly'), error: { Error: 'TargetIdentityError', Cause: 'Refused' } }, 'critical'],
    ];
    for (const [event, workflow, state, topic] of cases) {
      const n = describeAt(event, workflow, state);
      because(`${event} ${workflow} ${JSON.stringify(state)}`, () => expect(n.topic).toBe(topic));
      expect(n.subject.length).toBeLessThan(100);
      expect(n.subject).toMatch(/^[\x20-\x7E]+$/);
    }
  });

  it('emits the contract metrics for each outcome', () => {
    const metrics = (event: string, workflow: 'backup' | 'restore', state: StateDocument) => Object.fromEntries(describeAt(event, workflow, state).metrics.map((m) => [m.name, m.value]));
    expect(metrics('BackupSucceeded', 'backup', { backup: backupResult })).toEqual({
      [METRICS.backupStatus]: 1,
      [METRICS.backupDurationSeconds]: 4.2,
      [METRICS.backupSizeBytes]: 123_456,
      [METRICS.backupRecords]: 420,
      [METRICS.backupSizeChangePercent]: 3.5,
      [METRICS.backupSuspect]: 0,
    });
    // The mass-deletion canary: a suspect backup succeeds, says so, and pages through BackupSuspect.
    const suspect = { ...backupResult, suspect: { reason: 'rows fell from 420 to 20 (-95 %)', comparedWith: '2026-11-24T02-00-00-000Z' } };
    expect(metrics('BackupSucceeded', 'backup', { backup: suspect })[METRICS.backupSuspect]).toBe(1);
    expect(describeAt('BackupSucceeded', 'backup', { backup: suspect }).message).toContain('SUSPECT (mass-deletion canary): rows fell from 420 to 20 (-95 %)');
    expect(metrics('BackupSucceeded', 'backup', { backup: { ...backupResult, sizeChangePercent: null, previousBackupId: null } })).not.toHaveProperty(METRICS.backupSizeChangePercent);
    // Failed runs report their duration too (start to alert), so a run killed at its timeout is seen.
    expect(metrics('BackupFailed', 'backup', {})).toEqual({ [METRICS.backupStatus]: 0, [METRICS.backupDurationSeconds]: 450 });
    expect(metrics('BackupInvalid', 'backup', { backup: backupResult })).toEqual({ [METRICS.backupStatus]: 0, [METRICS.backupDurationSeconds]: 450 });
    // A subset backup says it succeeded, but its size and records would read as a drop.
    expect(metrics('BackupSucceeded', 'backup', { backup: { ...backupResult, scope: 'subset' } })).toEqual({ [METRICS.backupStatus]: 1, [METRICS.backupDurationSeconds]: 4.2 });
    expect(metrics('RestoreSucceeded', 'restore', { backup: picked('staging') })).toEqual({ [METRICS.restoreStatus]: 1, [METRICS.recoveryTimeSeconds]: 450 });
    expect(metrics('RestoreSucceeded', 'restore', { backup: picked('staging', 'weekly') })).toEqual({ [METRICS.restoreStatus]: 1, [METRICS.recoveryTimeSeconds]: 450, [METRICS.drillStatus]: 1 });
    expect(metrics('RestoreFailed', 'restore', { backup: picked('staging', 'monthly') })).toEqual({ [METRICS.restoreStatus]: 0, [METRICS.drillStatus]: 0 });
    // A drill that failed before PickBackup resolved anything: the drill flag comes from the input.
    expect(metrics('RestoreFailed', 'restore', { drill: 'weekly', target: 'staging' })).toEqual({ [METRICS.restoreStatus]: 0, [METRICS.drillStatus]: 0 });
    expect(metrics('BackupInvalid', 'restore', { backup: picked('production') })).toEqual({ [METRICS.restoreStatus]: 0 });
    expect(describeAt('RestoreSucceeded', 'restore', { backup: picked('staging') }).recoveryTimeSeconds).toBe(450);
  });

  it('writes a restore success with the recovery time against the RTO and the numbers', () => {
    const n = describeAt('RestoreSucceeded', 'restore', {
      backup: picked('staging', 'weekly'),
      restore: { tables: ['products', 'orders'], totalRecords: 420, durationMs: 2500 },
      verification: { tables: [{ table: 'products' }, { table: 'orders' }] },
      integrity: { orphans: [], invalidConstraints: [] },
    });
    expect(n.subject).toBe('OK iconic-dr: weekly drill (restore into staging) succeeded, recovery time 7 min 30 s');
    expect(n.message).toContain(`Backup ${ID} was restored into staging`);
    expect(n.message).toContain('Recovery time: 7 min 30 s from start to verified (RTO 1 h: met).');
    // The RTO is the stack's threshold (RTO_SECONDS), not a constant of the code.
    const strict = describeNotification({ event: 'RestoreSucceeded', workflow: 'restore', execution: EXECUTION, state: { backup: picked('staging') }, rtoSeconds: 300 }, NOW);
    expect(strict.message).toContain('(RTO 5 min: NOT met)');
    expect(n.message).toContain('Restored: 420 records in 2 tables');
    expect(n.message).toContain(`Console:   https://console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION.id}`);
  });

  it('says which step failed, what that means for the target, and the error from the Lambda JSON cause', () => {
    const cause = JSON.stringify({ errorType: 'CountMismatchError', errorMessage: '1 of 9 tables in production differ from backup X', trace: ['at …'] });
    const n = describeAt('RestoreFailed', 'restore', { backup: picked('production'), validation: { valid: true, problems: [] }, restore: { tables: [], totalRecords: 1, durationMs: 1 }, error: { Error: 'CountMismatchError', Cause: cause } });
    expect(n.subject).toBe('CRITICAL iconic-dr: restore into production failed at VerifyCounts (CountMismatchError)');
    expect(n.message).toContain('The restore was COMMITTED');
    expect(n.message).toContain('Cause: 1 of 9 tables in production differ from backup X');
    expect(n.message).not.toContain('trace');
  });

  it('tells, for an invalid new backup, which earlier backup to restore by id', () => {
    const n = describeAt('BackupInvalid', 'backup', { backup: backupResult, validation: { valid: false, problems: Array.from({ length: 12 }, (_, i) => `file${i}: corrupted`) } });
    expect(n.subject).toBe(`CRITICAL iconic-dr: new backup ${ID} is INVALID (12 problems)`);
    expect(n.message).toContain('The previous backup is 2026-11-24T02-00-00-000Z');
    expect(n.message).toContain('… and 2 more');
  });

  it('infers the failed step and reads causes', () => {
    expect(failedStep('backup', {})).toBe('Backup');
    expect(failedStep('backup', { backup: backupResult })).toBe('Validate');
    expect(failedStep('restore', {})).toBe('PickBackup');
    expect(failedStep('restore', { backup: picked('staging') })).toBe('Validate');
    expect(failedStep('restore', { backup: picked('staging'), validation: { valid: true, problems: [] } })).toBe('Restore');
    expect(causeMessage('{"errorMessage":"m","errorType":"E"}')).toBe('m');
    expect(causeMessage('plain text')).toBe('plain text');
    expect(causeMessage(undefined)).toBe('(no message)');
    expect(executionConsoleLink('arn:aws:states:ap-southeast-2:1:execution:M:x')).toBe('https://console.aws.amazon.com/states/home?region=ap-southeast-2#/v2/executions/details/arn:aws:states:ap-southeast-2:1:execution:M:x');
    expect([formatSeconds(42.04), formatSeconds(450), formatSeconds(3600), formatSeconds(5400)]).toEqual(['42.0 s', '7 min 30 s', '1 h', '1 h 30 min']);
  });

  it('keeps SNS subjects ASCII and under 100 characters', () => {
    const n = describeAt('RestoreFailed', 'restore', { target: 'staging', backupId: 'latest', error: { Error: `Ünïcode${'E'.repeat(120)}`, Cause: 'x' } });
    expect(n.subject).toMatch(/^WARNING iconic-dr: restore into staging failed at PickBackup \(\?n\?codeE+\.\.\.$/);
    expect(n.subject).toHaveLength(99);
  });

  it('keeps odd state documents from breaking the alert', () => {
    const n = describeAt('RestoreFailed', 'restore', { backup: 'not an object', error: { Error: 'States.Timeout' } } as unknown as StateDocument);
    expect(n.topic).toBe('warning');
    expect(n.message).toContain('Error: States.Timeout');
  });

  it('formats Slack messages with escaped text and a link button', () => {
    expect(escapeSlack('a < b & c > d')).toBe('a &lt; b &amp; c &gt; d');
    const message = slackMessageFor({
      TopicArn: 'arn:aws:sns:us-east-1:1:IconicDr-WarningTopic',
      Subject: 'OK iconic-dr: restore into staging succeeded',
      Message: 'x'.repeat(5000),
      MessageAttributes: { severity: { Value: 'ok' }, link: { Value: 'https://console.aws.amazon.com/states/home' }, event: { Value: 'RestoreSucceeded' } },
    });
    expect(message.text).toBe('OK iconic-dr: restore into staging succeeded');
    const [header, section, actions, context] = message.blocks as { text?: { text: string }; elements?: { url?: string; text?: string }[] }[];
    expect(header?.text?.text).toBe(':white_check_mark: OK iconic-dr: restore into staging succeeded');
    expect(section?.text?.text.length).toBeLessThanOrEqual(3000);
    expect(actions?.elements?.[0]?.url).toBe('https://console.aws.amazon.com/states/home');
    expect(context?.elements?.[0]?.text).toBe('IconicDr-WarningTopic · RestoreSucceeded');
  });
});
