import { beforeAll, describe, expect, it } from 'vitest';
import {
  BACKUP_STATES,
  type DrFunction,
  ENV,
  HANDLER_NAMES,
  METRICS,
  METRICS_NAMESPACE,
  RESTORE_STATES,
  SERVICE_NAME,
  TRANSIENT_ERRORS,
} from '../../lib/index.js';
import {
  allowedActions,
  type CfnResource,
  definitionOf,
  logicalId,
  ofType,
  type PolicyStatement,
  roleStatements,
  type SynthResult,
  synthStack,
} from './helpers.js';

/** One synthesis of the full stack (Slack on, e-mail subscriptions) shared by every test here. */
let synth: SynthResult;
let resources: Record<string, CfnResource>;

beforeAll(() => {
  synth = synthStack({ slack: true, criticalEmails: ['oncall@example.com'], warningEmails: ['team@example.com'], tables: ['products', 'orders'] });
  resources = synth.resources;
});

function functions(): Record<string, DrFunction> {
  const { stack } = synth;
  const all: Record<string, DrFunction> = {
    backup: stack.backup.backupFunction,
    backupValidate: stack.backup.validateFunction,
    pickBackup: stack.restore.pickBackupFunction,
    restoreValidate: stack.restore.validateFunction,
    restore: stack.restore.restoreFunction,
    verifyCounts: stack.restore.verifyCountsFunction,
    integrityCheck: stack.restore.integrityCheckFunction,
    notify: stack.notifyFunction,
  };
  if (stack.alerting.slackNotifier) all.slackNotifier = stack.alerting.slackNotifier;
  return all;
}

function lambdaOf(fn: DrFunction): CfnResource {
  return resources[logicalId(fn.function)] as CfnResource;
}

function envOf(fn: DrFunction): Record<string, unknown> {
  return ((lambdaOf(fn).Properties?.Environment as { Variables: Record<string, unknown> }) ?? { Variables: {} }).Variables;
}

function statementsOf(fn: DrFunction): PolicyStatement[] {
  return roleStatements(resources, logicalId(fn.role));
}

const ref = (construct: Parameters<typeof logicalId>[0]) => ({ Ref: logicalId(construct) });

describe('Lambda functions', () => {
  it('has one function per handler, and nothing else runs code in the stack', () => {
    const handlers = Object.values(functions()).map((fn) => fn.handlerName);
    expect(new Set(handlers)).toEqual(new Set(HANDLER_NAMES));
    expect(Object.keys(ofType(resources, 'AWS::Lambda::Function')).sort()).toEqual(Object.values(functions()).map((fn) => logicalId(fn.function)).sort());
  });

  it('runs every function on Node.js 22 or newer, arm64, with X-Ray active tracing and an ESM handler', () => {
    for (const fn of Object.values(functions())) {
      const props = lambdaOf(fn).Properties ?? {};
      expect(props.Runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.TracingConfig).toEqual({ Mode: 'Active' });
      expect(props.Handler).toBe('index.handler');
    }
  });

  it('gives every function its own log group with retention, and write access to it only', () => {
    for (const fn of Object.values(functions())) {
      const group = logicalId(fn.logGroup);
      expect(lambdaOf(fn).Properties?.LoggingConfig).toEqual({ LogGroup: { Ref: group } });
      expect(resources[group]?.Properties?.RetentionInDays).toBe(90);
      expect(statementsOf(fn)).toContainEqual(expect.objectContaining({ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [group, 'Arn'] } }));
      const role = resources[logicalId(fn.role)] as CfnResource;
      expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('sets the Powertools variables so metrics land in LiveItIconic with service=iconic-dr', () => {
    for (const fn of Object.values(functions())) {
      expect(envOf(fn)).toMatchObject({ [ENV.serviceName]: SERVICE_NAME, [ENV.metricsNamespace]: METRICS_NAMESPACE, [ENV.logLevel]: 'INFO' });
    }
  });

  it('sets the timeouts and memory of the plan, and reserved concurrency 1 on backup only', () => {
    const { backup, restore, pickBackup, notify } = functions();
    expect(lambdaOf(backup!).Properties).toMatchObject({ Timeout: 900, MemorySize: 1024, ReservedConcurrentExecutions: 1 });
    expect(lambdaOf(restore!).Properties).toMatchObject({ Timeout: 900 });
    expect(lambdaOf(pickBackup!).Properties).toMatchObject({ Timeout: 60 });
    expect(lambdaOf(notify!).Properties).toMatchObject({ Timeout: 30 });
    const reserved = Object.values(functions()).filter((fn) => lambdaOf(fn).Properties?.ReservedConcurrentExecutions !== undefined);
    expect(reserved).toEqual([backup]);
  });

  it('gives each function exactly the environment of the contract', () => {
    const f = functions();
    const keys = (fn: DrFunction | undefined) => Object.keys(envOf(fn!)).filter((key) => !key.startsWith('POWERTOOLS_') && key !== 'NODE_OPTIONS').sort();
    const store = [ENV.backupBucket, ENV.backupPrefix];
    expect(keys(f.backup)).toEqual([...store, ENV.backupKmsKeyId, ENV.sourceSecretArn, ENV.backupSchemas, ENV.backupTables].sort());
    expect(keys(f.backupValidate)).toEqual([...store].sort());
    expect(keys(f.restoreValidate)).toEqual([...store].sort());
    expect(keys(f.pickBackup)).toEqual([...store, ENV.restoreTargets].sort());
    expect(keys(f.restore)).toEqual([...store, ENV.targetSecretArns].sort());
    expect(keys(f.verifyCounts)).toEqual([...store, ENV.targetSecretArns].sort());
    expect(keys(f.integrityCheck)).toEqual([ENV.targetSecretArns]);
    expect(keys(f.notify)).toEqual([ENV.criticalTopicArn, ENV.warningTopicArn].sort());
    expect(keys(f.slackNotifier)).toEqual([ENV.slackWebhookSecretArn]);

    const { stack } = synth;
    expect(envOf(f.backup!)).toMatchObject({
      [ENV.backupBucket]: ref(stack.vault.bucket),
      [ENV.backupPrefix]: 'backups',
      [ENV.backupKmsKeyId]: { 'Fn::GetAtt': [logicalId(stack.vault.key), 'Arn'] },
      [ENV.sourceSecretArn]: ref(stack.secrets.source),
      [ENV.backupSchemas]: 'public',
      [ENV.backupTables]: 'products,orders',
    });
    expect(envOf(f.pickBackup!)[ENV.restoreTargets]).toBe('staging,production');
    expect(envOf(f.restore!)[ENV.targetSecretArns]).toEqual({
      'Fn::Join': ['', ['{"staging":"', ref(stack.secrets.targets.staging), '","production":"', ref(stack.secrets.targets.production), '"}']],
    });
    expect(envOf(f.notify!)).toMatchObject({ [ENV.criticalTopicArn]: ref(stack.alerting.criticalTopic), [ENV.warningTopicArn]: ref(stack.alerting.warningTopic) });
    expect(envOf(f.slackNotifier!)[ENV.slackWebhookSecretArn]).toEqual(ref(stack.alerting.slackWebhookSecret!));
  });

  it('never puts a secret value or a connection string in an environment', () => {
    const secretIds = new Set(Object.keys(ofType(resources, 'AWS::SecretsManager::Secret')));
    for (const fn of Object.values(functions())) {
      for (const [key, value] of Object.entries(envOf(fn))) {
        expect(key).not.toMatch(/PASSWORD|TOKEN|DATABASE_URL|CONNECTION|WEBHOOK_URL|API_KEY/i);
        const text = JSON.stringify(value);
        expect(text).not.toMatch(/postgres(ql)?:\/\/|hooks\.slack\.com|password/i);
        if (key.endsWith('_SECRET_ARN')) {
          expect(secretIds.has((value as { Ref: string }).Ref)).toBe(true);
        }
      }
    }
  });
});

describe('Secrets', () => {
  it('creates the source, staging, production and Slack secrets with generated placeholders, never a value', () => {
    const { stack } = synth;
    const secrets = ofType(resources, 'AWS::SecretsManager::Secret');
    expect(Object.keys(secrets).sort()).toEqual(
      [stack.secrets.source, stack.secrets.targets.staging, stack.secrets.targets.production, stack.alerting.slackWebhookSecret!].map(logicalId).sort(),
    );
    for (const secret of Object.values(secrets)) {
      expect(secret.Properties).not.toHaveProperty('SecretString');
      expect(secret.Properties?.GenerateSecretString).toBeDefined();
      expect(secret.Properties?.KmsKeyId).toBeDefined();
    }
    for (const db of [stack.secrets.source, stack.secrets.targets.staging, stack.secrets.targets.production]) {
      const generate = secrets[logicalId(db)]?.Properties?.GenerateSecretString as { SecretStringTemplate: string; GenerateStringKey: string };
      expect(generate.GenerateStringKey).toBe('password');
      expect(JSON.parse(generate.SecretStringTemplate)).toEqual({ engine: 'postgres', host: '', port: 5432, dbname: 'postgres', username: 'postgres', sslmode: 'require' });
    }
    const slack = secrets[logicalId(stack.alerting.slackWebhookSecret!)]?.Properties?.GenerateSecretString as { GenerateStringKey: string };
    expect(slack.GenerateStringKey).toBe('webhookUrl');
  });

  it('encrypts the database secrets with a rotating key that only the database functions may use through Secrets Manager', () => {
    const { stack } = synth;
    const key = resources[logicalId(stack.secrets.key)] as CfnResource;
    expect(key.Properties?.EnableKeyRotation).toBe(true);
    const statements = (key.Properties?.KeyPolicy as { Statement: PolicyStatement[] & { Principal?: unknown }[] }).Statement as (PolicyStatement & { Principal: { AWS: unknown } })[];
    const decrypt = statements.find((s) => s.Action === 'kms:Decrypt');
    expect(decrypt?.Condition).toEqual({ StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } });
    const roles = (decrypt?.Principal.AWS as { 'Fn::GetAtt': string[] }[]).map((p) => p['Fn::GetAtt'][0]).sort();
    const f = functions();
    expect(roles).toEqual([f.backup, f.restore, f.verifyCounts, f.integrityCheck].map((fn) => logicalId(fn!.role)).sort());
  });

  it('lets each function read only its own secrets', () => {
    const { stack } = synth;
    const readable = (fn: DrFunction) =>
      statementsOf(fn)
        .filter((s) => allowedActions([s]).includes('secretsmanager:GetSecretValue'))
        .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
        .map((r) => (r as { Ref: string }).Ref)
        .sort();
    const f = functions();
    const targets = [stack.secrets.targets.production, stack.secrets.targets.staging].map(logicalId).sort();
    expect(readable(f.backup!)).toEqual([logicalId(stack.secrets.source)]);
    expect(readable(f.restore!)).toEqual(targets);
    expect(readable(f.verifyCounts!)).toEqual(targets);
    expect(readable(f.integrityCheck!)).toEqual(targets);
    expect(readable(f.slackNotifier!)).toEqual([logicalId(stack.alerting.slackWebhookSecret!)]);
    for (const fn of [f.backupValidate, f.restoreValidate, f.pickBackup, f.notify]) expect(readable(fn!)).toEqual([]);
  });
});

describe('IAM least privilege', () => {
  const objects = () => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalId(synth.stack.vault.bucket), 'Arn'] }, '/backups/*']] });
  const viaS3 = { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } };

  it('lets the backup role put, read and list backups under the prefix, but never delete', () => {
    const statements = statementsOf(functions().backup!);
    const actions = allowedActions(statements);
    expect(actions.filter((a) => a.startsWith('s3:')).sort()).toEqual(['s3:AbortMultipartUpload', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    expect(actions.some((a) => /delete|\*/i.test(a) && !a.startsWith('xray:'))).toBe(false);
    expect(statements).toContainEqual(expect.objectContaining({ Action: ['s3:AbortMultipartUpload', 's3:PutObject'], Resource: objects() }));
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [logicalId(synth.stack.vault.bucket), 'Arn'] } }),
    );
    // A prefix condition would make S3 answer 403 instead of 404 for missing keys (see dr-function.ts).
    expect(statements.find((s) => s.Action === 's3:ListBucket')?.Condition).toBeUndefined();
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'kms:GenerateDataKey', Condition: viaS3, Resource: { 'Fn::GetAtt': [logicalId(synth.stack.vault.key), 'Arn'] } }));
  });

  it('lets validate, pick-backup, restore and verify-counts only read and list backups', () => {
    const f = functions();
    for (const fn of [f.backupValidate, f.restoreValidate, f.pickBackup, f.restore, f.verifyCounts]) {
      const statements = statementsOf(fn!);
      const actions = allowedActions(statements);
      expect(actions.filter((a) => a.startsWith('s3:')).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
      expect(actions.filter((a) => a.startsWith('kms:'))).toEqual(['kms:Decrypt']);
      expect(statements).toContainEqual(expect.objectContaining({ Action: 's3:GetObject', Resource: objects() }));
      expect(statements).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt', Condition: viaS3 }));
    }
  });

  it('gives integrity-check, notify and the Slack notifier no access to the bucket', () => {
    const f = functions();
    for (const fn of [f.integrityCheck, f.notify, f.slackNotifier]) {
      expect(allowedActions(statementsOf(fn!)).filter((a) => a.startsWith('s3:'))).toEqual([]);
    }
  });

  it('lets only notify publish to the alert topics, with their key through SNS', () => {
    const { stack } = synth;
    const statements = statementsOf(functions().notify!);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'sns:Publish', Resource: [ref(stack.alerting.criticalTopic), ref(stack.alerting.warningTopic)] }));
    expect(statements).toContainEqual(
      expect.objectContaining({
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': [logicalId(stack.alerting.key), 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['sns.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
      }),
    );
    for (const [name, fn] of Object.entries(functions())) {
      if (name !== 'notify') expect(allowedActions(statementsOf(fn))).not.toContain('sns:Publish');
    }
  });

  it('lets each state machine invoke only its own functions, and each schedule start only its machine', () => {
    const { stack } = synth;
    const invoked = (machineRole: Parameters<typeof logicalId>[0]) =>
      roleStatements(resources, logicalId(machineRole))
        .filter((s) => s.Action === 'lambda:InvokeFunction')
        .flatMap((s) => s.Resource as unknown[])
        .map((r) => JSON.stringify(r).match(/"Fn::GetAtt":\["([^"]+)"/)?.[1])
        .filter((id, i, all) => all.indexOf(id) === i)
        .sort();
    const f = functions();
    expect(invoked(stack.backup.stateMachine.stateMachine.role)).toEqual([f.backup, f.backupValidate, f.notify].map((fn) => logicalId(fn!.function)).sort());
    expect(invoked(stack.restore.stateMachine.stateMachine.role)).toEqual(
      [f.pickBackup, f.restoreValidate, f.restore, f.verifyCounts, f.integrityCheck, f.notify].map((fn) => logicalId(fn!.function)).sort(),
    );
    const starts = Object.values(ofType(resources, 'AWS::IAM::Policy')).flatMap((p) =>
      (p.Properties?.PolicyDocument as { Statement: PolicyStatement[] }).Statement.filter((s) => s.Action === 'states:StartExecution').map((s) => s.Resource),
    );
    expect(starts).toHaveLength(2);
    expect(starts).toEqual(expect.arrayContaining([ref(stack.backup.stateMachine.stateMachine), ref(stack.restore.stateMachine.stateMachine)]));
  });
});

describe('Schedules', () => {
  const rule = (construct: Parameters<typeof logicalId>[0]) => resources[logicalId(construct)]?.Properties as { ScheduleExpression: string; State: string; Targets: { Arn: unknown; Input: string }[] };

  it('backs up daily at 02:00 UTC', () => {
    const backup = rule(synth.stack.backup.schedule);
    expect(backup.ScheduleExpression).toBe('cron(0 2 * * ? *)');
    expect(backup.State).toBe('ENABLED');
    expect(backup.Targets[0]?.Arn).toEqual(ref(synth.stack.backup.stateMachine.stateMachine));
    expect(JSON.parse(backup.Targets[0]!.Input)).toEqual({ trigger: 'schedule' });
  });

  it('drills weekly with a random backup of the last 7 days into staging', () => {
    const weekly = rule(synth.stack.restore.weeklyDrill);
    expect(weekly.ScheduleExpression).toBe('cron(0 4 ? * SUN *)');
    expect(weekly.Targets[0]?.Arn).toEqual(ref(synth.stack.restore.stateMachine.stateMachine));
    expect(JSON.parse(weekly.Targets[0]!.Input)).toEqual({ backupId: 'random', maxAgeDays: 7, target: 'staging', drill: 'weekly' });
  });

  it('runs the full drill on the first Friday of the month at 14:00 UTC, into staging', () => {
    const monthly = rule(synth.stack.restore.monthlyDrill);
    expect(monthly.ScheduleExpression).toBe('cron(0 14 ? * 6#1 *)');
    expect(JSON.parse(monthly.Targets[0]!.Input)).toEqual({ backupId: 'latest', target: 'staging', drill: 'monthly' });
  });

  it('never schedules a production restore', () => {
    for (const r of Object.values(ofType(resources, 'AWS::Events::Rule'))) {
      expect(JSON.stringify(r.Properties)).not.toContain('production');
    }
  });
});

describe('State machines', () => {
  const machines = () => ({
    backup: { construct: synth.stack.backup.stateMachine, states: BACKUP_STATES },
    restore: { construct: synth.stack.restore.stateMachine, states: RESTORE_STATES },
  });

  it('log ALL levels without execution data to their own log group, with X-Ray tracing', () => {
    for (const { construct } of Object.values(machines())) {
      const props = resources[logicalId(construct.stateMachine)]?.Properties ?? {};
      expect(props.LoggingConfiguration).toEqual({
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [logicalId(construct.logGroup), 'Arn'] } } }],
        IncludeExecutionData: false,
        Level: 'ALL',
      });
      expect(props.TracingConfiguration).toEqual({ Enabled: true });
      expect(props.StateMachineType).toBe('STANDARD');
    }
  });

  it('have exactly the documented state names', () => {
    for (const { construct, states } of Object.values(machines())) {
      const definition = definitionOf(resources, logicalId(construct.stateMachine));
      expect(Object.keys(definition.States).sort()).toEqual(Object.values(states).sort());
      expect(definition.TimeoutSeconds).toBe(7200);
    }
    expect(definitionOf(resources, logicalId(synth.stack.backup.stateMachine.stateMachine)).StartAt).toBe(BACKUP_STATES.backup);
    expect(definitionOf(resources, logicalId(synth.stack.restore.stateMachine.stateMachine)).StartAt).toBe(RESTORE_STATES.pickBackup);
  });

  it('retry only transient errors, invoke functions directly and catch every work task into the failure alert', () => {
    const caught = {
      backup: [BACKUP_STATES.backup, BACKUP_STATES.validate],
      restore: [RESTORE_STATES.pickBackup, RESTORE_STATES.validate, RESTORE_STATES.restore, RESTORE_STATES.verifyCounts, RESTORE_STATES.integrityCheck],
    };
    const failureState = { backup: BACKUP_STATES.alertFailure, restore: RESTORE_STATES.notifyFailure };
    for (const [name, { construct }] of Object.entries(machines()) as [keyof typeof caught, ReturnType<typeof machines>['backup']][]) {
      const definition = definitionOf(resources, logicalId(construct.stateMachine));
      for (const [stateName, state] of Object.entries(definition.States)) {
        if (state.Type !== 'Task') continue;
        expect(state.Resource, stateName).toMatch(/^arn:aws:lambda:/);
        expect(state.Retry, stateName).toEqual([expect.objectContaining({ ErrorEquals: [...TRANSIENT_ERRORS] })]);
        if (caught[name].includes(stateName as never)) {
          expect(state.Catch, stateName).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: failureState[name] }]);
        } else {
          expect(state.Catch, stateName).toBeUndefined();
        }
      }
    }
  });
});

describe('Alerting', () => {
  it('encrypts both topics with a rotating key that CloudWatch alarms may use, and denies non-TLS publishing', () => {
    const { stack } = synth;
    for (const topic of [stack.alerting.criticalTopic, stack.alerting.warningTopic]) {
      expect(resources[logicalId(topic)]?.Properties?.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [logicalId(stack.alerting.key), 'Arn'] });
      const policy = Object.values(ofType(resources, 'AWS::SNS::TopicPolicy')).find((p) => JSON.stringify(p.Properties?.Topics) === JSON.stringify([ref(topic)]));
      const statements = (policy?.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' } }));
    }
    const key = resources[logicalId(stack.alerting.key)]?.Properties as { EnableKeyRotation: boolean; KeyPolicy: { Statement: Record<string, unknown>[] } };
    expect(key.EnableKeyRotation).toBe(true);
    expect(key.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({ Sid: 'AllowCloudWatchAlarmsToPublish', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'] }),
    );
  });

  it('subscribes the e-mails per severity and the Slack notifier to both topics', () => {
    const { stack } = synth;
    const subs = Object.values(ofType(resources, 'AWS::SNS::Subscription')).map((s) => s.Properties as { Protocol: string; Endpoint: unknown; TopicArn: unknown });
    expect(subs).toContainEqual({ Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: ref(stack.alerting.criticalTopic) });
    expect(subs).toContainEqual({ Protocol: 'email', Endpoint: 'team@example.com', TopicArn: ref(stack.alerting.warningTopic) });
    const slack = { 'Fn::GetAtt': [logicalId(stack.alerting.slackNotifier!.function), 'Arn'] };
    expect(subs).toContainEqual({ Protocol: 'lambda', Endpoint: slack, TopicArn: ref(stack.alerting.criticalTopic) });
    expect(subs).toContainEqual({ Protocol: 'lambda', Endpoint: slack, TopicArn: ref(stack.alerting.warningTopic) });
    expect(subs).toHaveLength(4);
  });
});

describe('Alarms', () => {
  type Alarm = {
    MetricName?: string;
    Namespace?: string;
    Dimensions?: { Name: string; Value: unknown }[];
    Statistic?: string;
    Period?: number;
    Threshold: number;
    ComparisonOperator: string;
    EvaluationPeriods: number;
    DatapointsToAlarm?: number;
    TreatMissingData: string;
    AlarmActions: unknown[];
    OKActions: unknown[];
    Metrics?: unknown[];
  };
  const alarm = (id: string): Alarm => resources[logicalId(synth.stack.monitoring.alarms[id]!)]?.Properties as Alarm;
  const critical = () => [ref(synth.stack.alerting.criticalTopic)];
  const warning = () => [ref(synth.stack.alerting.warningTopic)];
  const custom = (name: string) => ({ MetricName: name, Namespace: 'LiveItIconic', Dimensions: [{ Name: 'service', Value: 'iconic-dr' }] });

  it('pages when no backup succeeded in 24 h, missing data breaching', () => {
    expect(alarm('NoSuccessfulBackup')).toMatchObject({
      ...custom(METRICS.backupStatus),
      Statistic: 'Maximum',
      Period: 3600,
      EvaluationPeriods: 24,
      DatapointsToAlarm: 24,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: critical(),
      OKActions: critical(),
    });
  });

  it('pages on a failed backup, an S3 upload failure, +50 % size, and a failed backup execution', () => {
    expect(alarm('BackupFailed')).toMatchObject({ ...custom(METRICS.backupStatus), Statistic: 'Minimum', Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'notBreaching', AlarmActions: critical() });
    expect(alarm('BackupUploadFailed')).toMatchObject({ MetricName: METRICS.backupUploadFailures, Namespace: 'LiveItIconic', Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', AlarmActions: critical() });
    expect(alarm('BackupSizeIncreaseCritical')).toMatchObject({ ...custom(METRICS.backupSizeChangePercent), Statistic: 'Maximum', Threshold: 50, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: critical() });
    const machine = alarm('BackupStateMachineFailed');
    expect(machine).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', AlarmActions: critical() });
    expect(JSON.stringify(machine.Metrics)).toMatch(/ExecutionsFailed[\s\S]*ExecutionsTimedOut[\s\S]*ExecutionsAborted/);
  });

  it('counts StorageError lines of the backup log as upload failures', () => {
    const filter = resources[logicalId(synth.stack.monitoring.uploadFailureFilter)]?.Properties as Record<string, unknown>;
    expect(filter).toMatchObject({
      LogGroupName: ref(synth.stack.backup.backupFunction.logGroup),
      FilterPattern: '{ ($.level = "ERROR") && ($.error.name = "StorageError") }',
      MetricTransformations: [{ MetricNamespace: 'LiveItIconic', MetricName: 'BackupUploadFailures', MetricValue: '1', Unit: 'Count' }],
    });
  });

  it('warns on a backup over 1 h, +25 % size, a failed drill, recovery over the RTO and a failed restore execution', () => {
    expect(alarm('BackupSlow')).toMatchObject({ ...custom(METRICS.backupDurationSeconds), Statistic: 'Maximum', Threshold: 3600, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: warning() });
    expect(alarm('BackupSizeIncreaseWarning')).toMatchObject({ ...custom(METRICS.backupSizeChangePercent), Threshold: 25, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: warning() });
    expect(alarm('DrillFailed')).toMatchObject({ ...custom(METRICS.drillStatus), Statistic: 'Minimum', Threshold: 1, ComparisonOperator: 'LessThanThreshold', AlarmActions: warning() });
    expect(alarm('RecoveryTimeOverRto')).toMatchObject({ ...custom(METRICS.recoveryTimeSeconds), Statistic: 'Maximum', Threshold: 3600, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: warning() });
    expect(alarm('RestoreStateMachineFailed')).toMatchObject({ Threshold: 1, AlarmActions: warning() });
  });

  it('warns on errors of every function', () => {
    const errorAlarms = Object.keys(synth.stack.monitoring.alarms).filter((id) => id.endsWith('Errors'));
    expect(errorAlarms).toHaveLength(Object.keys(functions()).length);
    for (const id of errorAlarms) {
      expect(alarm(id)).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Statistic: 'Sum', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', AlarmActions: warning() });
    }
    const alarmed = errorAlarms.map((id) => JSON.stringify(alarm(id).Dimensions)).sort();
    expect(alarmed).toEqual(Object.values(functions()).map((fn) => JSON.stringify([{ Name: 'FunctionName', Value: ref(fn.function) }])).sort());
  });

  it('has no alarm without an action', () => {
    for (const a of Object.values(ofType(resources, 'AWS::CloudWatch::Alarm'))) {
      expect((a.Properties?.AlarmActions as unknown[]).length).toBe(1);
    }
  });
});

describe('Dashboard', () => {
  it('shows backup status, duration, size trend, records per table and drill recovery time', () => {
    const dashboards = Object.values(ofType(resources, 'AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties?.DashboardBody);
    for (const text of ['Last backup status', 'Backup duration', 'Backup size trend', 'Records per table', 'recovery time', ...Object.values(METRICS).filter((m) => m !== METRICS.backupUploadFailures)]) {
      expect(body).toContain(text);
    }
    expect(body).toContain("filter message = 'Table backed up'");
  });
});

describe('Outputs', () => {
  it('tells the operator which secrets to fill in and how to start executions', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, unknown>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['BackupBucketName', 'BackupLocation', 'BackupStateMachineArn', 'RestoreStateMachineArn', 'SourceSecretArn', 'StagingSecretArn', 'ProductionSecretArn', 'SlackWebhookSecretArn', 'CriticalTopicArn', 'WarningTopicArn', 'DashboardName']),
    );
  });
});
