import { Duration } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { DEFAULT_BACKUP_ROWS } from '../../lambdas/core/format/row-encoding.js';
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
  VALIDATE_FILE_STATES,
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
  testApp,
} from './helpers.js';
import { because } from '../helpers/expect-message.js';

/** One synthesis of the full stack (Slack on, e-mail subscriptions) shared by every test here. */
let synth: SynthResult;
let resources: Record<string, CfnResource>;

beforeAll(() => {
  synth = synthStack({ slack: true, criticalEmails: ['oncall@example.com'], warningEmails: ['team@example.com'], tables: ['products', 'orders'], adminApi: { jwtIssuer: 'https://abcdefgh.supabase.co/auth/v1' } });
  resources = synth.resources;
});

function functions(): Record<string, DrFunction> {
  const { stack } = synth;
  const all: Record<string, DrFunction> = {
    backup: stack.backup.backupFunction,
    backupValidatePlan: stack.backup.validation.planFunction,
    backupValidate: stack.backup.validateFunction,
    backupValidateSummary: stack.backup.validation.summaryFunction,
    backupAge: stack.backup.ageCheckFunction,
    pickBackup: stack.restore.pickBackupFunction,
    restoreValidatePlan: stack.restore.validation.planFunction,
    restoreValidate: stack.restore.validateFunction,
    restoreValidateSummary: stack.restore.validation.summaryFunction,
    restore: stack.restore.restoreFunction,
    verifyCounts: stack.restore.verifyCountsFunction,
    integrityCheck: stack.restore.integrityCheckFunction,
    prodPickBackup: stack.restore.production.pickBackupFunction,
    prodRestore: stack.restore.production.restoreFunction,
    prodVerifyCounts: stack.restore.production.verifyCountsFunction,
    prodIntegrityCheck: stack.restore.production.integrityCheckFunction,
    notify: stack.notifyFunction,
    mediaSync: stack.media!.syncFunction,
    restoreMedia: stack.restore.restoreMediaFunction!,
    prodRestoreMedia: stack.restore.production.restoreMediaFunction!,
    adminApi: stack.adminApi!.function,
  };
  if (stack.alerting.slackNotifier) all.slackNotifier = stack.alerting.slackNotifier;
  return all;
}

function lambdaOf(fn: DrFunction, from: Record<string, CfnResource> = resources): CfnResource {
  return from[logicalId(fn.function)] as CfnResource;
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
    // plan-compute exists only with compute 'auto' (test/infra/fargate-steps.test.ts); the
    // `validate` handler runs only as the Fargate validate task (Lambda validates file by file).
    expect(new Set(handlers)).toEqual(new Set(HANDLER_NAMES.filter((name) => name !== 'plan-compute' && name !== 'validate')));
    expect(Object.keys(functions())).toHaveLength(22);
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

  it('sets the timeouts and memory of the plan, and reserved concurrency 1 on backup and media sync only', () => {
    const { backup, restore, pickBackup, notify, mediaSync } = functions();
    expect(lambdaOf(backup!).Properties).toMatchObject({ Timeout: 900, MemorySize: 1024, ReservedConcurrentExecutions: 1 });
    expect(lambdaOf(restore!).Properties).toMatchObject({ Timeout: 900 });
    expect(lambdaOf(pickBackup!).Properties).toMatchObject({ Timeout: 60 });
    expect(lambdaOf(notify!).Properties).toMatchObject({ Timeout: 30 });
    const reserved = Object.values(functions()).filter((fn) => lambdaOf(fn).Properties?.ReservedConcurrentExecutions !== undefined);
    expect(reserved).toEqual([backup, mediaSync]);
  });

  it('gives each function exactly the environment of the contract', () => {
    const f = functions();
    const keys = (fn: DrFunction | undefined) => Object.keys(envOf(fn!)).filter((key) => !key.startsWith('POWERTOOLS_') && key !== 'NODE_OPTIONS').sort();
    const store = [ENV.backupBucket, ENV.backupPrefix];
    expect(keys(f.backup)).toEqual([...store, ENV.backupKmsKeyId, ENV.sourceSecretArn, ENV.backupSchemas, ENV.backupTables, ENV.backupRows].sort());
    // The stack's default is the engine's (lib/ cannot import it, so this test ties them).
    expect(envOf(f.backup!)[ENV.backupRows]).toBe(DEFAULT_BACKUP_ROWS);
    expect(DEFAULT_BACKUP_ROWS).toBe('copy');
    for (const fn of [f.backupValidatePlan, f.backupValidate, f.restoreValidatePlan, f.restoreValidate]) expect(keys(fn)).toEqual([...store].sort());
    for (const fn of [f.backupValidateSummary, f.restoreValidateSummary]) expect(keys(fn)).toEqual([]);
    expect(keys(f.backupAge)).toEqual([...store, ENV.backupTables].sort());
    expect(keys(f.pickBackup)).toEqual([...store, ENV.restoreTargets, ENV.backupTables, ENV.restoreMedia].sort());
    expect(envOf(f.pickBackup!)[ENV.restoreMedia]).toBe('true');
    expect(keys(f.restoreMedia)).toEqual([...store, ENV.targetSecretArns, ENV.restoreGate].sort());
    expect(keys(f.prodRestoreMedia)).toEqual([...store, ENV.targetSecretArns, ENV.restoreGate].sort());
    expect(envOf(f.prodRestoreMedia!)[ENV.restoreGate]).toEqual(envOf(f.prodRestore!)[ENV.restoreGate]);
    // Each lane's media restore reads only its own lane's target secrets (staging never production's).
    expect(envOf(f.restoreMedia!)[ENV.targetSecretArns]).toEqual(envOf(f.restore!)[ENV.targetSecretArns]);
    expect(envOf(f.prodRestoreMedia!)[ENV.targetSecretArns]).toEqual(envOf(f.prodRestore!)[ENV.targetSecretArns]);
    expect(keys(f.restore)).toEqual([...store, ENV.targetSecretArns, ENV.restoreGate].sort());
    expect(keys(f.prodRestore)).toEqual([...store, ENV.targetSecretArns, ENV.restoreGate].sort());
    expect(keys(f.prodPickBackup)).toEqual([...store, ENV.restoreTargets, ENV.backupTables, ENV.restoreMedia].sort());
    expect(keys(f.verifyCounts)).toEqual([...store, ENV.verifySecretArns].sort());
    expect(keys(f.integrityCheck)).toEqual([ENV.verifySecretArns]);
    expect(keys(f.notify)).toEqual([ENV.criticalTopicArn, ENV.warningTopicArn, ENV.rtoSeconds].sort());
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
    expect(envOf(f.pickBackup!)[ENV.restoreTargets]).toBe('staging');
    expect(envOf(f.prodPickBackup!)[ENV.restoreTargets]).toBe('production');
    // The production restore function answers only executions of its own, fixed-name machine.
    expect(JSON.stringify(envOf(f.prodRestore!)[ENV.restoreGate])).toContain(':execution:IconicDrTest-ProductionRestore:');
    expect(resources[logicalId(stack.restore.production.stateMachine)]?.Properties?.StateMachineName).toBe('IconicDrTest-ProductionRestore');
    expect(JSON.stringify(envOf(f.restore!)[ENV.restoreGate])).toContain(':execution:IconicDrTest-Restore:');
    expect(resources[logicalId(stack.restore.stateMachine)]?.Properties?.StateMachineName).toBe('IconicDrTest-Restore');
    // What a full backup holds, so that latest/random never pick a subset.
    expect(envOf(f.pickBackup!)[ENV.backupTables]).toBe('products,orders');
    // The RTO the alarm uses is the one the alerts judge against (one fact, carried by the contract).
    expect(envOf(f.notify!)[ENV.rtoSeconds]).toBe('3600');
    expect(envOf(f.restore!)[ENV.targetSecretArns]).toEqual({ 'Fn::Join': ['', ['{"staging":"', ref(stack.secrets.targets.staging), '"}']] });
    expect(envOf(f.prodRestore!)[ENV.targetSecretArns]).toEqual({ 'Fn::Join': ['', ['{"production":"', ref(stack.secrets.targets.production), '"}']] });
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
  it('creates the source, staging, production and Slack secrets empty: no value and no generator a later deploy could rewrite', () => {
    const { stack } = synth;
    const secrets = ofType(resources, 'AWS::SecretsManager::Secret');
    expect(Object.keys(secrets).sort()).toEqual(
      [stack.secrets.source, stack.secrets.targets.staging, stack.secrets.targets.production, stack.secrets.readOnlyTargets.staging, stack.secrets.readOnlyTargets.production, stack.alerting.slackWebhookSecret!, stack.media!.storageSecret].map(logicalId).sort(),
    );
    for (const secret of Object.values(secrets)) {
      // CloudFormation regenerates a generated value when its settings change, and rewrites a
      // SecretString when the template changes: either would wipe what the operator typed.
      expect(secret.Properties).not.toHaveProperty('SecretString');
      expect(secret.Properties).not.toHaveProperty('GenerateSecretString');
      expect(secret.Properties?.KmsKeyId).toBeDefined();
    }
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
    expect(roles).toEqual([f.backup, f.restore, f.verifyCounts, f.integrityCheck, f.prodRestore, f.prodVerifyCounts, f.prodIntegrityCheck, f.mediaSync, f.restoreMedia, f.prodRestoreMedia].map((fn) => logicalId(fn!.role)).sort());
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
    expect(readable(f.backup!)).toEqual([logicalId(stack.secrets.source)]);
    // The staging machine's functions (drills) cannot read production's credentials at all, and the
    // checks after a restore read only the read-only secrets.
    expect(readable(f.restore!)).toEqual([logicalId(stack.secrets.targets.staging)]);
    for (const fn of [f.verifyCounts, f.integrityCheck]) expect(readable(fn!)).toEqual([logicalId(stack.secrets.readOnlyTargets.staging)]);
    expect(readable(f.prodRestore!)).toEqual([logicalId(stack.secrets.targets.production)]);
    for (const fn of [f.prodVerifyCounts, f.prodIntegrityCheck]) expect(readable(fn!)).toEqual([logicalId(stack.secrets.readOnlyTargets.production)]);
    expect(readable(f.slackNotifier!)).toEqual([logicalId(stack.alerting.slackWebhookSecret!)]);
    for (const fn of [f.backupValidatePlan, f.backupValidate, f.backupValidateSummary, f.restoreValidatePlan, f.restoreValidate, f.restoreValidateSummary, f.pickBackup, f.prodPickBackup, f.notify, f.backupAge]) expect(readable(fn!)).toEqual([]);
  });

  it('tells the staging restore where production is (no credentials), so a drill can refuse it without reading its secret', () => {
    const located = synthStack({ productionDatabase: { host: 'db.prod.example.com' } }, testApp());
    const env = (fn: DrFunction) => ((located.resources[logicalId(fn.function)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables ?? {});
    expect(env(located.stack.restore.restoreFunction)[ENV.protectedDatabases]).toBe('{"production":{"host":"db.prod.example.com","port":5432,"dbname":"postgres"}}');
    expect(env(located.stack.restore.production.restoreFunction)).not.toHaveProperty(ENV.protectedDatabases);
  });

  it('denies reading the production secret to everyone but the production restore functions and the break-glass principal', () => {
    const guarded = synthStack({ breakGlassPrincipalArn: 'arn:aws:iam::123456789012:role/break-glass', productionRestorePrincipals: ['arn:aws:iam::123456789012:role/oncall'] }, testApp());
    const policies = Object.values(ofType(guarded.resources, 'AWS::SecretsManager::ResourcePolicy'));
    expect(policies).toHaveLength(1);
    expect(policies[0]?.Properties?.SecretId).toEqual({ Ref: logicalId(guarded.stack.secrets.targets.production) });
    const [deny] = (policies[0]?.Properties?.ResourcePolicy as { Statement: Record<string, unknown>[] }).Statement;
    const p = guarded.stack.restore.production;
    expect(deny).toMatchObject({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'secretsmanager:GetSecretValue',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [{ 'Fn::GetAtt': [logicalId(p.restoreFunction.role), 'Arn'] }, 'arn:aws:iam::123456789012:role/break-glass'] } },
    });
  });

  it('lets only the named principals start a production restore, through a role that may do nothing else', () => {
    const guarded = synthStack({ productionRestorePrincipals: ['arn:aws:iam::123456789012:role/oncall'] }, testApp());
    const starter = guarded.stack.productionRestoreStarter!;
    const role = guarded.resources[logicalId(starter)]?.Properties as { AssumeRolePolicyDocument: { Statement: { Principal: unknown }[] } };
    expect(role.AssumeRolePolicyDocument.Statement.map((st) => st.Principal)).toEqual([{ AWS: 'arn:aws:iam::123456789012:role/oncall' }]);
    const statements = roleStatements(guarded.resources, logicalId(starter));
    const start = statements.find((st) => allowedActions([st]).includes('states:StartExecution'));
    expect(start?.Resource).toEqual({ Ref: logicalId(guarded.stack.restore.production.stateMachine) });
    expect(allowedActions(statements).filter((a) => !a.startsWith('states:'))).toEqual([]);
    // Nothing else in the stack may start it: only EventBridge rules start machines, and none starts
    // this one. The machine's own role (Step Functions alone assumes it) starts the child executions
    // of its Validate Distributed Map, which run only ValidateFile.
    const machineRole = guarded.stack.restore.production.stateMachine.role;
    const startsProduction = Object.entries(ofType(guarded.resources, 'AWS::IAM::Policy')).filter(([, pol]) => JSON.stringify(pol.Properties?.PolicyDocument).includes('states:StartExecution') && JSON.stringify(pol.Properties?.PolicyDocument).includes(logicalId(guarded.stack.restore.production.stateMachine)));
    expect(startsProduction.map(([, pol]) => pol.Properties?.Roles)).toEqual(expect.arrayContaining([[{ Ref: logicalId(starter) }], [{ Ref: logicalId(machineRole) }]]));
    expect(startsProduction).toHaveLength(2);
    const trust = guarded.resources[logicalId(machineRole)]?.Properties as { AssumeRolePolicyDocument: { Statement: { Principal: unknown }[] } };
    expect(trust.AssumeRolePolicyDocument.Statement.map((st) => st.Principal)).toEqual([{ Service: 'states.amazonaws.com' }]);
    expect(Annotations.fromStack(synth.stack).findWarning('*', Match.stringLikeRegexp('No productionRestorePrincipals'))).toHaveLength(1);
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

  it('lets the backup role create a manifest or subset marker, never replace one (a PUT without If-None-Match is denied)', () => {
    const { stack } = synth;
    const policy = Object.values(ofType(resources, 'AWS::S3::BucketPolicy')).find((p) => JSON.stringify(p.Properties?.Bucket) === JSON.stringify(ref(stack.vault.bucket)));
    const statements = (policy?.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    const bucketArn = { 'Fn::GetAtt': [logicalId(stack.vault.bucket), 'Arn'] };
    expect(statements).toContainEqual({
      Sid: 'ManifestsAreWriteOnce',
      Effect: 'Deny',
      Principal: { AWS: { 'Fn::GetAtt': [logicalId(stack.backup.backupFunction.role), 'Arn'] } },
      Action: 's3:PutObject',
      Resource: [{ 'Fn::Join': ['', [bucketArn, '/backups/*/metadata.json']] }, { 'Fn::Join': ['', [bucketArn, '/backups/_scope/*']] }],
      Condition: { Null: { 's3:if-none-match': 'true' } },
    });
  });

  it('lets validate, pick-backup, restore and verify-counts only read and list backups', () => {
    const f = functions();
    for (const fn of [f.backupValidatePlan, f.backupValidate, f.restoreValidatePlan, f.restoreValidate, f.pickBackup, f.restore, f.verifyCounts]) {
      const statements = statementsOf(fn!);
      const actions = allowedActions(statements);
      expect(actions.filter((a) => a.startsWith('s3:')).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
      expect(actions.filter((a) => a.startsWith('kms:'))).toEqual(['kms:Decrypt']);
      expect(statements).toContainEqual(expect.objectContaining({ Action: 's3:GetObject', Resource: objects() }));
      expect(statements).toContainEqual(expect.objectContaining({ Action: 'kms:Decrypt', Condition: viaS3 }));
    }
  });

  it('gives integrity-check, notify, the Slack notifier and validate-summary no access to the bucket', () => {
    const f = functions();
    for (const fn of [f.integrityCheck, f.notify, f.slackNotifier, f.backupValidateSummary, f.restoreValidateSummary]) {
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
    expect(invoked(stack.backup.stateMachine.role)).toEqual([f.backup, f.backupValidatePlan, f.backupValidate, f.backupValidateSummary, f.notify].map((fn) => logicalId(fn!.function)).sort());
    expect(invoked(stack.restore.stateMachine.role)).toEqual(
      [f.pickBackup, f.restoreValidatePlan, f.restoreValidate, f.restoreValidateSummary, f.restore, f.verifyCounts, f.integrityCheck, f.restoreMedia, f.notify].map((fn) => logicalId(fn!.function)).sort(),
    );
    const machines = [stack.backup.stateMachine, stack.restore.stateMachine, stack.restore.production.stateMachine];
    const machineRoles = machines.map((m) => JSON.stringify({ Ref: logicalId(m.role) }));
    const startsBy = (byMachines: boolean) =>
      Object.values(ofType(resources, 'AWS::IAM::Policy'))
        .filter((p) => ((p.Properties?.Roles ?? []) as unknown[]).some((r) => machineRoles.includes(JSON.stringify(r))) === byMachines)
        .flatMap((p) => (p.Properties?.PolicyDocument as { Statement: PolicyStatement[] }).Statement.filter((s) => s.Action === 'states:StartExecution').map((s) => ({ roles: p.Properties?.Roles, resource: s.Resource })));
    // The schedules start their own machine.
    const scheduled = startsBy(false).map((s) => s.resource);
    expect(scheduled).toHaveLength(2);
    expect(scheduled).toEqual(expect.arrayContaining([ref(stack.backup.stateMachine), ref(stack.restore.stateMachine)]));
    // Each machine starts only itself: the child executions of its Validate Distributed Map.
    expect(startsBy(true)).toEqual(expect.arrayContaining(machines.map((m) => ({ roles: [{ Ref: logicalId(m.role) }], resource: ref(m) }))));
    expect(startsBy(true)).toHaveLength(3);
  });
});

describe('Schedules', () => {
  const rule = (construct: Parameters<typeof logicalId>[0]) => resources[logicalId(construct)]?.Properties as { ScheduleExpression: string; State: string; Targets: { Arn: unknown; Input: string }[] };

  it('backs up daily at 02:00 UTC', () => {
    const backup = rule(synth.stack.backup.schedule);
    expect(backup.ScheduleExpression).toBe('cron(0 2 * * ? *)');
    expect(backup.State).toBe('ENABLED');
    expect(backup.Targets[0]?.Arn).toEqual(ref(synth.stack.backup.stateMachine));
    expect(JSON.parse(backup.Targets[0]!.Input)).toEqual({ trigger: 'schedule' });
  });

  it('drills weekly with a random backup of the last 7 days into staging', () => {
    const weekly = rule(synth.stack.restore.weeklyDrill);
    expect(weekly.ScheduleExpression).toBe('cron(0 4 ? * SUN *)');
    expect(weekly.Targets[0]?.Arn).toEqual(ref(synth.stack.restore.stateMachine));
    // The stack syncs media, so the drill restores the files of the recovery point too.
    expect(JSON.parse(weekly.Targets[0]!.Input)).toEqual({ backupId: 'random', maxAgeDays: 7, target: 'staging', drill: 'weekly', media: true });
  });

  it('runs the full drill on the first Friday of the month at 14:00 UTC, into staging', () => {
    const monthly = rule(synth.stack.restore.monthlyDrill);
    expect(monthly.ScheduleExpression).toBe('cron(0 14 ? * 6#1 *)');
    expect(JSON.parse(monthly.Targets[0]!.Input)).toEqual({ backupId: 'latest', target: 'staging', drill: 'monthly', media: true });
  });

  it('never schedules a production restore', () => {
    for (const r of Object.values(ofType(resources, 'AWS::Events::Rule'))) {
      expect(JSON.stringify(r.Properties)).not.toContain('production');
    }
  });
});

describe('State machines', () => {
  const machines = () => ({
    backup: { construct: { stateMachine: synth.stack.backup.stateMachine, logGroup: synth.stack.backup.stateMachineLogs }, states: BACKUP_STATES },
    restore: { construct: { stateMachine: synth.stack.restore.stateMachine, logGroup: synth.stack.restore.stateMachineLogs }, states: RESTORE_STATES },
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
    expect(definitionOf(resources, logicalId(synth.stack.backup.stateMachine)).StartAt).toBe(BACKUP_STATES.backup);
    expect(definitionOf(resources, logicalId(synth.stack.restore.stateMachine)).StartAt).toBe(RESTORE_STATES.pickBackup);
  });

  it('retry only transient errors, invoke functions directly and catch every work task into the failure alert', () => {
    const caught = {
      backup: [BACKUP_STATES.backup, BACKUP_STATES.validatePlan, BACKUP_STATES.validate, BACKUP_STATES.validateSummary],
      restore: [RESTORE_STATES.pickBackup, RESTORE_STATES.validatePlan, RESTORE_STATES.validate, RESTORE_STATES.validateSummary, RESTORE_STATES.restore, RESTORE_STATES.verifyCounts, RESTORE_STATES.integrityCheck, RESTORE_STATES.restoreMedia],
    };
    // The states of a step that fail into its Failed<Step> state, which records the step's name.
    const stepOf: Record<string, string> = { [BACKUP_STATES.validatePlan]: BACKUP_STATES.validate, [BACKUP_STATES.validateSummary]: BACKUP_STATES.validate };
    const failureState: Record<string, string> = {
      [BACKUP_STATES.backup]: BACKUP_STATES.failedBackup,
      [BACKUP_STATES.validate]: BACKUP_STATES.failedValidate,
      [BACKUP_STATES.validatePlan]: BACKUP_STATES.failedValidate,
      [BACKUP_STATES.validateSummary]: BACKUP_STATES.failedValidate,
      [RESTORE_STATES.pickBackup]: RESTORE_STATES.failedPickBackup,
      // Validate -> FailedValidate in both machines (one key).
      [RESTORE_STATES.restore]: RESTORE_STATES.failedRestore,
      [RESTORE_STATES.verifyCounts]: RESTORE_STATES.failedVerifyCounts,
      [RESTORE_STATES.integrityCheck]: RESTORE_STATES.failedIntegrityCheck,
      [RESTORE_STATES.restoreMedia]: RESTORE_STATES.failedRestoreMedia,
    };
    for (const [name, { construct }] of Object.entries(machines()) as [keyof typeof caught, ReturnType<typeof machines>['backup']][]) {
      const definition = definitionOf(resources, logicalId(construct.stateMachine));
      // The Validate Distributed Map is caught like a task; its item's task is checked in the test below.
      because(`${name} ${BACKUP_STATES.validate}`, () => expect(definition.States[BACKUP_STATES.validate]?.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: failureState[BACKUP_STATES.validate] }]));
      for (const [stateName, state] of Object.entries(definition.States)) {
        if (state.Type !== 'Task') continue;
        because(stateName, () => expect(state.Resource).toMatch(/^arn:aws:lambda:/));
        because(stateName, () => expect(state.Retry).toEqual([expect.objectContaining({ ErrorEquals: [...TRANSIENT_ERRORS] })]));
        if (caught[name].includes(stateName as never)) {
          because(stateName, () => expect(state.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: failureState[stateName] }]));
          expect(definition.States[failureState[stateName]!]).toMatchObject({ Type: 'Pass', ResultPath: '$.failure', Parameters: expect.objectContaining({ step: stepOf[stateName] ?? stateName }) });
        } else {
          // Notify tasks: a failing alert still ends in a Fail state that says what happened.
          because(stateName, () => expect(state.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.notifyError', Next: expect.any(String) }]));
          expect(definition.States[state.Catch![0]!.Next]?.Type).toBe('Fail');
        }
      }
    }
  });

  it('validate on the Lambda route as ValidatePlan -> a Distributed Map of ValidateFile over the plan\'s files (MaxConcurrency 8, no tolerated failure) -> ValidateSummary, in all three machines', () => {
    const { stack } = synth;
    const lanes = [
      { machine: stack.backup.stateMachine, validation: stack.backup.validation, next: BACKUP_STATES.isBackupValid },
      { machine: stack.restore.stateMachine, validation: stack.restore.validation, next: RESTORE_STATES.isBackupValid },
      { machine: stack.restore.production.stateMachine, validation: stack.restore.validation, next: RESTORE_STATES.isBackupValid },
    ];
    const arn = (fn: DrFunction) => `arn:aws:lambda:us-east-1:123456789012:function:${logicalId(fn.function)}`;
    const execution = { 'id.$': '$$.Execution.Id', 'startTime.$': '$$.Execution.StartTime' };
    for (const { machine, validation, next } of lanes) {
      const states = definitionOf(resources, logicalId(machine)).States;
      expect(states[BACKUP_STATES.validatePlan]).toMatchObject({ Type: 'Task', Resource: arn(validation.planFunction), Parameters: { 'backupId.$': '$.backup.backupId', execution }, ResultPath: '$.validation', Next: BACKUP_STATES.validate });
      const map = states[BACKUP_STATES.validate]!;
      expect(map).toMatchObject({
        Type: 'Map',
        ItemsPath: '$.validation.items',
        // The parent's execution: inside a child execution `$$.Execution` is the child's.
        ItemSelector: { 'backupId.$': '$.validation.backupId', 'item.$': '$$.Map.Item.Value', 'maxProblems.$': '$.validation.maxProblems', execution },
        MaxConcurrency: 8,
        ToleratedFailurePercentage: 0,
        Label: BACKUP_STATES.validate,
        ResultPath: '$.validation.results',
        Next: BACKUP_STATES.validateSummary,
      });
      const processor = map.ItemProcessor as { ProcessorConfig: unknown; StartAt: string; States: Record<string, Record<string, unknown>> };
      expect(processor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
      expect(processor.StartAt).toBe(VALIDATE_FILE_STATES.validateFile);
      expect(Object.keys(processor.States).sort()).toEqual(Object.values(VALIDATE_FILE_STATES).sort());
      expect(processor.States[VALIDATE_FILE_STATES.validateFile]).toMatchObject({
        Type: 'Task',
        Resource: arn(validation.fileFunction),
        Parameters: { 'backupId.$': '$.backupId', 'item.$': '$.item', 'maxProblems.$': '$.maxProblems', 'execution.$': '$.execution' },
        Retry: [expect.objectContaining({ ErrorEquals: [...TRANSIENT_ERRORS] })],
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: VALIDATE_FILE_STATES.fileCheckFailed }],
        TimeoutSeconds: 960,
        End: true,
      });
      expect(processor.States[VALIDATE_FILE_STATES.fileCheckFailed]).toEqual(expect.objectContaining({ Type: 'Pass', Parameters: { 'key.$': '$.item.key', 'error.$': '$.error' }, End: true }));
      expect(states[BACKUP_STATES.validateSummary]).toMatchObject({ Type: 'Task', Resource: arn(validation.summaryFunction), Parameters: { 'validation.$': '$.validation', execution }, ResultPath: '$.validation', Next: next });
    }
    // The file function is sized as the validate function was: one file has to fit in it.
    expect(resources[logicalId(stack.backup.validation.fileFunction.function)]?.Properties).toMatchObject({ Timeout: 900, MemorySize: 1024 });
  });

  it('writes rows as the backupRows prop says (json by default, copy on request), and refuses another value', () => {
    const copy = synthStack({ backupRows: 'copy' }, testApp());
    const backupEnv = (copy.resources[logicalId(copy.stack.backup.backupFunction.function)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(backupEnv[ENV.backupRows]).toBe('copy');
    expect(() => synthStack({ backupRows: 'csv' as 'copy' }, testApp())).toThrow(/rows must be json or copy \(got csv\)/);
  });

  it('takes the Map\'s MaxConcurrency from validateConcurrency, and refuses one that is not a whole number from 1', () => {
    const tuned = synthStack({ validateConcurrency: 3 }, testApp());
    for (const machine of [tuned.stack.backup.stateMachine, tuned.stack.restore.stateMachine, tuned.stack.restore.production.stateMachine]) {
      expect(definitionOf(tuned.resources, logicalId(machine)).States[BACKUP_STATES.validate]).toMatchObject({ MaxConcurrency: 3 });
    }
    for (const bad of [0, 2.5]) expect(() => synthStack({ validateConcurrency: bad }, testApp())).toThrow(/validateConcurrency must be a whole number from 1/);
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
    const dlq = { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack.alerting.deliveryDeadLetterQueue!), 'Arn'] } };
    expect(subs).toContainEqual({ Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: ref(stack.alerting.criticalTopic), RedrivePolicy: dlq });
    expect(subs).toContainEqual({ Protocol: 'email', Endpoint: 'team@example.com', TopicArn: ref(stack.alerting.warningTopic), RedrivePolicy: dlq });
    const slack = { 'Fn::GetAtt': [logicalId(stack.alerting.slackNotifier!.function), 'Arn'] };
    const redrive = { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack.alerting.deliveryDeadLetterQueue!), 'Arn'] } };
    expect(subs).toContainEqual({ Protocol: 'lambda', Endpoint: slack, TopicArn: ref(stack.alerting.criticalTopic), RedrivePolicy: redrive });
    expect(subs).toContainEqual({ Protocol: 'lambda', Endpoint: slack, TopicArn: ref(stack.alerting.warningTopic), RedrivePolicy: redrive });
    expect(subs).toHaveLength(4);
  });

  it('keeps a failed Slack post: the notifier retries twice, then its dead-letter queue (encrypted, TLS only) takes it', () => {
    const { stack } = synth;
    const notifier = resources[logicalId(stack.alerting.slackNotifier!.function)]?.Properties as Record<string, unknown>;
    expect(notifier.DeadLetterConfig).toEqual({ TargetArn: { 'Fn::GetAtt': [logicalId(stack.alerting.deliveryDeadLetterQueue!), 'Arn'] } });
    const invokeConfig = Object.values(ofType(resources, 'AWS::Lambda::EventInvokeConfig')).find((c) => JSON.stringify(c.Properties?.FunctionName) === JSON.stringify(ref(stack.alerting.slackNotifier!.function)));
    expect(invokeConfig?.Properties).toMatchObject({ MaximumRetryAttempts: 2 });
    for (const queue of [stack.alerting.deliveryDeadLetterQueue!, stack.scheduleDeadLetterQueue]) {
      expect(resources[logicalId(queue)]?.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86400 });
    }
  });

  it('gives every EventBridge target a retry policy and the dead-letter queue', () => {
    const { stack } = synth;
    const rules = Object.values(ofType(resources, 'AWS::Events::Rule'));
    expect(rules.length).toBe(5); // backup, age check, weekly and monthly drills, media sync
    for (const rule of rules) {
      for (const target of rule.Properties?.Targets as Record<string, unknown>[]) {
        expect(target).toMatchObject({ RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(stack.scheduleDeadLetterQueue), 'Arn'] } } });
      }
    }
  });

  it('warns at synth when no one would receive an alert, and not when someone does', () => {
    const quiet = synthStack({}, testApp());
    expect(Annotations.fromStack(quiet.stack).findWarning('*', Match.stringLikeRegexp('No one is subscribed to the critical alert topic'))).toHaveLength(1);
    for (const props of [{ criticalEmails: ['oncall@example.com'] }, { slack: true }, { externalSubscribers: true }]) {
      const heard = synthStack(props, testApp());
      expect(Annotations.fromStack(heard.stack).findWarning('*', Match.stringLikeRegexp('No one is subscribed'))).toHaveLength(0);
    }
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

  const dashboardOnly = ['BackupFailed', 'BackupUploadFailed', 'DrillFailed'];

  it('pages when the newest successful backup is older than 26 h, and never before the first backup (missing data not breaching)', () => {
    expect(alarm('NoSuccessfulBackup')).toMatchObject({
      ...custom(METRICS.hoursSinceLastSuccessfulBackup),
      Statistic: 'Maximum',
      Period: 3600,
      EvaluationPeriods: 1,
      Threshold: 26,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: critical(),
    });
  });

  it('pages when a backup is suspect (the mass-deletion canary fired)', () => {
    expect(alarm('BackupSuspect')).toMatchObject({
      ...custom(METRICS.backupSuspect),
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: critical(),
    });
  });

  it('emits HoursSinceLastSuccessfulBackup hourly from a check that reads the bucket', () => {
    const { stack } = synth;
    const rule = resources[logicalId(stack.backup.ageCheckSchedule)]?.Properties as { ScheduleExpression: string; Targets: { Arn: unknown; Input: string }[] };
    expect(rule.ScheduleExpression).toBe('rate(1 hour)');
    expect(rule.Targets[0]).toMatchObject({ Arn: { 'Fn::GetAtt': [logicalId(stack.backup.ageCheckFunction.function), 'Arn'] }, Input: '{"check":"backup-age"}' });
    expect(allowedActions(statementsOf(stack.backup.ageCheckFunction))).not.toContain('s3:PutObject');
  });

  it('pages once per failed run: alarms that repeat a run\'s own alert notify nobody, and recoveries never go to the pager', () => {
    for (const id of dashboardOnly) {
      because(id, () => expect(alarm(id).AlarmActions ?? []).toEqual([]));
      because(id, () => expect(alarm(id).OKActions ?? []).toEqual([]));
    }
    for (const id of Object.keys(synth.stack.monitoring.alarms).filter((id) => id.endsWith('Errors'))) because(id, () => expect(alarm(id).AlarmActions ?? []).toEqual([]));
    const criticalAlarms = Object.keys(synth.stack.monitoring.alarms).filter((id) => JSON.stringify(alarm(id).AlarmActions) === JSON.stringify(critical()));
    expect(criticalAlarms.sort()).toEqual(['AlertDeliveryFailed', 'BackupExecutionUnreported', 'BackupSizeIncreaseCritical', 'BackupSuspect', 'MediaSnapshotTooOld', 'NoSuccessfulBackup', 'ProductionRestoreExecutionTimedOut', 'RestoreExecutionTimedOut', 'ScheduleDeadLetterQueueNotEmpty', 'AlertDeliveryDeadLetterQueueNotEmpty'].sort());
    for (const a of Object.values(ofType(resources, 'AWS::CloudWatch::Alarm'))) {
      expect(a.Properties?.OKActions ?? [warning()[0]]).not.toContainEqual(critical()[0]);
    }
    // A failed execution ran its notify task, which paged: only timed-out/aborted ones page here.
    const backupMachine = JSON.stringify(alarm('BackupExecutionUnreported').Metrics);
    expect(backupMachine).toMatch(/ExecutionsTimedOut[\s\S]*ExecutionsAborted/);
    expect(backupMachine).not.toContain('ExecutionsFailed');
    expect(alarm('RestoreExecutionTimedOut')).toMatchObject({ MetricName: 'ExecutionsTimedOut', Namespace: 'AWS/States' });
    const delivery = alarm('AlertDeliveryFailed');
    expect(delivery).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', AlarmActions: critical() });
    const expression = JSON.stringify(delivery.Metrics);
    expect(expression).toContain('IF(FILL(refused, 0) >= 1 OR FILL(errors, 0) >= 4, 1, 0)');
    expect(expression).toContain(METRICS.alertDeliveryFailures);
    expect(expression).toContain(JSON.stringify({ Name: 'FunctionName', Value: ref(synth.stack.notifyFunction.function) }));
    expect(alarm('AlertDeliveryDeadLetterQueueNotEmpty')).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 });
  });

  it('counts StorageError lines of the backup log as upload failures', () => {
    const filter = resources[logicalId(synth.stack.monitoring.uploadFailureFilter)]?.Properties as Record<string, unknown>;
    expect(filter).toMatchObject({
      LogGroupName: ref(synth.stack.backup.backupFunction.logGroup),
      FilterPattern: '{ ($.level = "ERROR") && ($.error.name = "StorageError") }',
      MetricTransformations: [{ MetricNamespace: 'LiveItIconic', MetricName: 'BackupUploadFailures', MetricValue: '1', Unit: 'Count' }],
    });
  });

  it('has only reachable duration alarms: the backup at 60 % of its timeout, restores over the RTO on every closed execution', () => {
    expect(alarm('BackupSlow')).toMatchObject({ ...custom(METRICS.backupDurationSeconds), Statistic: 'Maximum', Threshold: 540, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: warning() });
    expect(alarm('RecoveryTimeOverRto')).toMatchObject({ Namespace: 'AWS/States', MetricName: 'ExecutionTime', Statistic: 'Maximum', Threshold: 3_600_000, AlarmActions: warning() });
    expect(alarm('BackupSizeIncreaseWarning')).toMatchObject({ ...custom(METRICS.backupSizeChangePercent), Threshold: 25, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: warning() });
    expect(() => synthStack({ thresholds: { maxBackupDurationSeconds: 3600 } }, testApp())).toThrow(/maxBackupDurationSeconds \(3600\) must be .* below the backup function's timeout \(900 s\)/);
    expect(() => synthStack({ thresholds: { rtoSeconds: 7200 } }, testApp())).toThrow(/rtoSeconds \(7200\) must be .* below the restore machine's timeout/);
  });

  it('warns when any function uses more than 60 % of its timeout, and takes memory and timeouts as props', () => {
    const headroom = Object.keys(synth.stack.monitoring.alarms).filter((id) => id.endsWith('Headroom'));
    expect(headroom).toHaveLength(Object.keys(functions()).length);
    for (const [, fn] of Object.entries(functions())) {
      const id = headroom.find((h) => JSON.stringify(alarm(h).Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: ref(fn.function) }]));
      because(fn.handlerName, () => expect(id).toBeDefined());
      expect(alarm(id!)).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Duration', Statistic: 'Maximum', Threshold: Math.floor(fn.timeout.toMilliseconds() * 0.6), AlarmActions: warning() });
    }
    const sized = synthStack({ functionSizing: { backup: { memorySize: 3008, timeout: Duration.minutes(10) }, restore: { memorySize: 4096 } } }, testApp());
    expect(lambdaOf(sized.stack.backup.backupFunction, sized.resources).Properties).toMatchObject({ MemorySize: 3008, Timeout: 600 });
    expect(lambdaOf(sized.stack.restore.restoreFunction, sized.resources).Properties).toMatchObject({ MemorySize: 4096, Timeout: 900 });
    expect((sized.resources[logicalId(sized.stack.monitoring.alarms.BackupFunctionHeadroom!)]?.Properties as Alarm).Threshold).toBe(360_000);
  });
});

describe('Dashboard', () => {
  it('shows backup status, duration, size trend, records per table and drill recovery time', () => {
    const dashboards = Object.values(ofType(resources, 'AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]?.Properties?.DashboardBody);
    for (const text of ['Hours since the last successful backup (alarm > 26)', 'Warning: 9 min', 'RTO 1 h', 'cron(0 2 * * ? *)', 'Last backup status', 'Backup duration', 'Backup size trend', 'Records per table', 'recovery time', ...Object.values(METRICS).filter((m) => m !== METRICS.backupUploadFailures && m !== METRICS.alertDeliveryFailures && m !== METRICS.stepCeilingPercent)]) {
      expect(body).toContain(text);
    }
    expect(body).toContain("filter message = 'Table backed up'");
  });
});

describe('Outputs', () => {
  it('tells the operator which secrets to fill in and how to start executions', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, unknown>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['BackupBucketName', 'BackupLocation', 'BackupStateMachineArn', 'RestoreStateMachineArn', 'ProductionRestoreStateMachineArn', 'SourceSecretArn', 'StagingSecretArn', 'ProductionSecretArn', 'StagingReadOnlySecretArn', 'ProductionReadOnlySecretArn', 'SlackWebhookSecretArn', 'CriticalTopicArn', 'WarningTopicArn', 'DashboardName']),
    );
  });
});
