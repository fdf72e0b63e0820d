import { beforeAll, describe, expect, it } from '@jest/globals';
import { ENV, METRICS } from '../../lib/contract.js';
import { because } from '../helpers/expect-message.js';
import { allowedActions, logicalId, ofType, roleStatements, synthStack, testApp, type SynthResult } from './helpers.js';

describe('media sync in the template (issue 12)', () => {
  let synth: SynthResult;

  beforeAll(() => {
    synth = synthStack({ criticalEmails: ['oncall@example.com'] });
  });

  it('runs hourly with a retry policy and the schedule dead-letter queue, one sync at a time', () => {
    const media = synth.stack.media!;
    const rule = synth.resources[logicalId(media.schedule)]?.Properties as { ScheduleExpression: string; Targets: { Input: string; RetryPolicy: unknown; DeadLetterConfig: unknown }[] };
    expect(rule.ScheduleExpression).toBe('rate(1 hour)');
    expect(rule.Targets[0]).toMatchObject({ Input: '{"sync":"media"}', RetryPolicy: { MaximumRetryAttempts: 8 }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(synth.stack.scheduleDeadLetterQueue), 'Arn'] } } });
    expect(synth.resources[logicalId(media.syncFunction.function)]?.Properties).toMatchObject({ ReservedConcurrentExecutions: 1, Timeout: 900, Environment: { Variables: expect.objectContaining({ [ENV.storageSecretArn]: { Ref: logicalId(media.storageSecret) } }) } });
  });

  it('reads the Storage secret only through its role, writes the bucket, never deletes', () => {
    const media = synth.stack.media!;
    const actions = allowedActions(roleStatements(synth.resources, logicalId(media.syncFunction.role)));
    expect(actions).toContain('secretsmanager:GetSecretValue');
    expect(actions.some((a) => a.startsWith('s3:PutObject'))).toBe(true);
    expect(actions.filter((a) => /^s3:Delete/.test(a))).toEqual([]);
    const secret = synth.resources[logicalId(media.storageSecret)]?.Properties ?? {};
    expect(secret).not.toHaveProperty('SecretString');
    expect(secret).not.toHaveProperty('GenerateSecretString');
  });

  it('pages when the newest media snapshot is older than 75 min, never before the first one', () => {
    const alarm = synth.resources[logicalId(synth.stack.monitoring.alarms.MediaSnapshotTooOld!)]?.Properties;
    expect(alarm).toMatchObject({ MetricName: METRICS.mediaSnapshotAgeMinutes, Namespace: 'LiveItIconic', Threshold: 75, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', AlarmActions: [{ Ref: logicalId(synth.stack.alerting.criticalTopic) }] });
    expect(JSON.stringify(synth.resources[logicalId(synth.stack.monitoring.dashboard)]?.Properties)).toContain('Minutes since the last media snapshot');
  });

  it('restores media in both restore lanes: each reads the vault and only its own lane\'s target secrets, writes nothing to the vault', () => {
    const { restore } = synth.stack;
    for (const [lane, fn] of [['staging', restore.restoreMediaFunction!], ['production', restore.production.restoreMediaFunction!]] as const) {
      const statements = roleStatements(synth.resources, logicalId(fn.role));
      const actions = allowedActions(statements);
      because(lane, () => expect(actions).toContain('secretsmanager:GetSecretValue'));
      because(lane, () => expect(actions.filter((a) => /^s3:(Put|Delete)/.test(a))).toEqual([]));
      const secretsRead = JSON.stringify(statements.filter((s) => ([] as string[]).concat(s.Action as string | string[]).includes('secretsmanager:GetSecretValue')).map((s) => s.Resource));
      const staging = logicalId(synth.stack.secrets.targets.staging!);
      const production = logicalId(synth.stack.secrets.targets.production!);
      because(lane, () => expect(secretsRead.includes(staging)).toBe(lane === 'staging'));
      because(lane, () => expect(secretsRead.includes(production)).toBe(lane === 'production'));
      because(lane, () => expect(secretsRead).not.toContain(logicalId(synth.stack.media!.storageSecret)));
    }
  });

  it('is left out with mediaSchedule: false', () => {
    const without = synthStack({ mediaSchedule: false }, testApp());
    expect(without.stack.media).toBeUndefined();
    expect(without.stack.restore.restoreMediaFunction).toBeUndefined();
    expect(without.stack.restore.production.restoreMediaFunction).toBeUndefined();
    const pick = without.resources[logicalId(without.stack.restore.pickBackupFunction.function)]?.Properties as { Environment: { Variables: Record<string, unknown> } };
    expect(pick.Environment.Variables[ENV.restoreMedia]).toBe('false');
    const weekly = without.resources[logicalId(without.stack.restore.weeklyDrill)]?.Properties as { Targets: { Input: string }[] };
    expect(JSON.parse(weekly.Targets[0]!.Input)).not.toHaveProperty('media');
    expect(Object.values(ofType(without.resources, 'AWS::CloudWatch::Alarm')).map((a) => (a.Properties as { MetricName?: string }).MetricName)).not.toContain(METRICS.mediaSnapshotAgeMinutes);
  });
});
