import { Duration } from 'aws-cdk-lib';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { BACKUP_STATES as B, ENV, RESTORE_STATES as R } from '../../lib/contract.js';
import { handler as backup } from '../../lambdas/handlers/backup.js';
import { handler as notify } from '../../lambdas/handlers/notify.js';
import { handler as planCompute } from '../../lambdas/handlers/plan-compute.js';
import { createShop, fingerprintTables, SHOP_TABLES, type TableFingerprint } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { type AslDefinition, type CfnResource, definitionOf, logicalId, synthStack } from '../infra/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { type FakeAws, startFakeAws } from '../helpers/fake-aws.js';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { fargateTaskHandler, type StartedTask } from '../helpers/step-task.js';
import { functionEnvironment, setEnvironment } from './support/environment.js';
import { ARNS, databaseSecretFor, type Handler, mockSecretsManager, mockSns } from './support/lambda.js';
import { runMachine } from './support/machines.js';
import { restoreTasks } from './support/restore-tasks.js';
import { validationTasks } from './support/validation-tasks.js';

/**
 * The machines with `compute: 'auto'`, as synthesized, executed in aws-local-stepfunctions: the
 * Lambda tasks bound to the real handlers in this process, the Fargate tasks to the local runner
 * of the container entry point (a process each, with its task definition's environment), against
 * the real PostgreSQL and S3 server. Secrets Manager and SNS are mocked at the SDK client for the
 * in-process handlers; the task processes reach Secrets Manager and Step Functions at a fake
 * endpoint (test/helpers/fake-aws.ts).
 *
 * PlanCompute runs with Lambda sizing so small (1 s, 1 MB) that any backup it has a manifest of
 * "would not fit": the first backup (no manifest yet) goes to Lambda, every later step to Fargate.
 * The staging restore task's ceiling is 30 s, so the timeout test is short.
 */

const PREFIX = 'backups';
const RESTORE_CEILING_SECONDS = 30;
const SHOP = SHOP_TABLES.map((name) => ({ schema: 'public', name, qualified: name }));
const TINY_LAMBDAS = JSON.stringify({ backup: { timeoutSeconds: 1, memoryMb: 1 }, validate: { timeoutSeconds: 1, memoryMb: 1 }, restore: { timeoutSeconds: 1, memoryMb: 1 } });
const secrets = mockSecretsManager();
const sns = mockSns();

describe('machines with compute auto: Lambda and Fargate routes with the real handlers and the container entry point (SNS, Secrets Manager mocked; faked at their endpoint for the tasks)', () => {
  let resources: Record<string, CfnResource>;
  let backupMachine: AslDefinition;
  let restoreMachine: AslDefinition;
  let stagingMachineName: string;
  let s3: TestS3Server;
  let fake: FakeAws;
  let source: TestDatabase;
  let staging: TestDatabase;
  let restoreEnv: () => void;
  let started: StartedTask[] = [];

  beforeAll(async () => {
    const synth = synthStack({ compute: 'auto', fargateSizing: { restore: { timeout: Duration.seconds(RESTORE_CEILING_SECONDS) } } });
    resources = synth.resources;
    backupMachine = definitionOf(resources, logicalId(synth.stack.backup.stateMachine));
    restoreMachine = definitionOf(resources, logicalId(synth.stack.restore.stateMachine));
    stagingMachineName = `${synth.stack.stackName}-Restore`;
    [s3, fake, source, staging] = await Promise.all([startS3Server(), startFakeAws(), createTestDatabase('fg_src'), createTestDatabase('fg_staging')]);
    const client = await connect(source.url);
    await createShop(client, 0.002);
    await client.end();
    restoreEnv = setEnvironment({ ...functionEnvironment(s3, PREFIX), [ENV.lambdaSizing]: TINY_LAMBDAS });
  });

  afterAll(async () => {
    for (const task of started) task.process.kill('SIGKILL');
    restoreEnv?.();
    await Promise.all([source?.drop(), staging?.drop(), fake?.close(), s3?.stop()]);
  });

  beforeEach(() => {
    started = [];
    secrets.reset();
    secrets.values.clear();
    sns.reset();
    point('source', databaseSecretFor(source.url));
    point('staging', databaseSecretFor(staging.url));
    secrets.values.set(ARNS.stagingReadOnly, databaseSecretFor(staging.url));
  });

  /** Puts a secret where both the in-process handlers and the task processes read it. */
  function point(name: 'source' | 'staging', value: string): void {
    secrets.values.set(ARNS[name], value);
    fake.secrets.set(ARNS[name], value);
  }

  function fargate(): Handler {
    const local = functionEnvironment(s3, PREFIX);
    const runtime = { AWS_ACCESS_KEY_ID: local.AWS_ACCESS_KEY_ID!, AWS_SECRET_ACCESS_KEY: local.AWS_SECRET_ACCESS_KEY!, AWS_REGION: local.AWS_REGION!, AWS_ENDPOINT_URL_S3: local.AWS_ENDPOINT_URL_S3! };
    return fargateTaskHandler({ fake, resources, local: { ...local, [ENV.backupKmsKeyId]: '' }, runtime, onStart: (task) => started.push(task) });
  }

  const backupTasks = (): Record<string, Handler> => ({
    PlanCompute: planCompute,
    [B.backup]: backup,
    [`${B.backup}OnFargate`]: fargate(),
    ...validationTasks(),
    [`${B.validate}OnFargate`]: fargate(),
    [B.publishResult]: notify,
    [B.alertInvalidBackup]: notify,
    [B.alertFailure]: notify,
  });

  const fargateRestoreTasks = (): Record<string, Handler> => restoreTasks({ PlanCompute: planCompute, [`${R.validate}OnFargate`]: fargate(), [`${R.restore}OnFargate`]: fargate() });

  async function prints(database: TestDatabase): Promise<TableFingerprint[]> {
    const client = await connect(database.url);
    try {
      return await fingerprintTables(client, SHOP);
    } finally {
      await client.end();
    }
  }

  it('backs up in Lambda while there is no manifest to go on, then on Fargate once the previous backup says it would not fit', async () => {
    const first = await runMachine(backupMachine, { trigger: 'schedule' }, backupTasks(), 'IconicDrTest-Backup');
    expect(first.error).toBeUndefined();
    expect(first.path).toEqual(['PlanCompute', `Route${B.backup}`, B.backup, `Route${B.validate}`, B.validatePlan, B.validate, B.validateSummary, B.isBackupValid, B.publishResult, B.succeeded]);
    expect(first.output!.compute).toMatchObject({ backup: 'lambda', validate: 'lambda', basis: null });
    expect(started).toEqual([]);

    const second = await runMachine(backupMachine, { trigger: 'schedule' }, backupTasks(), 'IconicDrTest-Backup');
    expect(second.error).toBeUndefined();
    expect(second.path).toEqual(['PlanCompute', `Route${B.backup}`, `Prepare${B.backup}OnFargate`, `${B.backup}OnFargate`, `Route${B.validate}`, `Prepare${B.validate}OnFargate`, `${B.validate}OnFargate`, B.isBackupValid, B.publishResult, B.succeeded]);
    const previous = first.output!.backup as Record<string, unknown>;
    const latest = second.output!.backup as Record<string, unknown>;
    expect(second.output!.compute).toMatchObject({ backup: 'fargate', validate: 'fargate', basis: { backupId: previous.backupId } });
    // The Fargate step returns what the Lambda returns: same keys, compared with the previous backup.
    expect(Object.keys(latest).sort()).toEqual(Object.keys(previous).sort());
    expect(latest).toMatchObject({ scope: 'full', previousBackupId: previous.backupId, totalRecords: previous.totalRecords });
    expect(second.output!.validation).toMatchObject({ backupId: latest.backupId, valid: true, problems: [] });
    // Validate returns the same result from the Distributed Map (Lambda route) as from the Fargate task.
    expect(Object.keys(first.output!.validation as object).sort()).toEqual(Object.keys(second.output!.validation as object).sort());
    expect(first.output!.validation).toMatchObject({ valid: true, problems: [], tables: (second.output!.validation as { tables: number }).tables });
    expect(await Promise.all(started.map((task) => task.exited))).toEqual([{ code: 0, signal: null }, { code: 0, signal: null }]);
    expect(second.output!.notification).toMatchObject({ event: 'BackupSucceeded' });
  });

  it('restores on Fargate when the backup\'s manifest says Lambda would not do: the staging tables equal the source, then the checks and the success notice', async () => {
    const run = await runMachine(restoreMachine, { backupId: 'latest', target: 'staging' }, fargateRestoreTasks(), stagingMachineName);
    expect(run.error).toBeUndefined();
    expect(run.path).toEqual([R.pickBackup, R.checkConfirmation, 'PlanCompute', `Route${R.validate}`, `Prepare${R.validate}OnFargate`, `${R.validate}OnFargate`, R.isBackupValid, `Route${R.restore}`, `Prepare${R.restore}OnFargate`, `${R.restore}OnFargate`, R.verifyCounts, R.integrityCheck, R.mediaRequested, R.notifySuccess, R.succeeded]);
    expect(run.output!.restore).toMatchObject({ target: 'staging', backupId: (run.output!.backup as { backupId: string }).backupId });
    expect(run.output!.verification).toMatchObject({ ok: true });
    expect(await prints(staging)).toEqual(await prints(source));
    expect(sns.published().map((p) => p.TopicArn)).toEqual([ARNS.warning]);
  });

  it('a Fargate restore that fails ends in FailedRestore -> NotifyFailure with its error name, the target unchanged', async () => {
    const before = await prints(staging);
    point('staging', databaseSecretFor(staging.url, { host: '' }));
    const run = await runMachine(restoreMachine, { backupId: 'latest', target: 'staging' }, fargateRestoreTasks(), stagingMachineName);
    expect(run.error).toEqual({ name: 'RestoreFailed', message: 'Restore failed with ConfigError. The restore was refused before it began or rolled back: the target is exactly as it was before.' });
    expect(run.path.slice(-4)).toEqual([`${R.restore}OnFargate`, R.failedRestore, R.notifyFailure, R.failed]);
    expect(run.calls[R.notifyFailure]?.[0]).toMatchObject({ state: { error: { Error: 'ConfigError', Cause: expect.stringContaining('is not configured yet') }, failure: { step: R.restore, outcome: 'unchanged' } } });
    const [alert, ...more] = sns.published();
    expect(more).toEqual([]);
    expect(alert).toMatchObject({ TopicArn: ARNS.warning, Subject: expect.stringContaining('ConfigError') });
    expect(await prints(staging)).toEqual(before);
  });

  it('a Fargate restore stuck behind a lock stops itself before its ceiling; the state times out into FailedRestore -> NotifyFailure, the target unchanged', async () => {
    await staging.query('UPDATE orders SET shipping = 12345.67 WHERE id = (SELECT min(id) FROM orders)');
    const before = await prints(staging);
    const holder = new pg.Client({ connectionString: staging.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE orders IN ACCESS SHARE MODE');
    let run;
    try {
      run = await runMachine(restoreMachine, { backupId: 'latest', target: 'staging' }, fargateRestoreTasks(), stagingMachineName);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect(run.error).toEqual({ name: 'RestoreFailed', message: 'Restore failed with States.Timeout. The restore was refused before it began or rolled back: the target is exactly as it was before.' });
    expect(run.path.slice(-4)).toEqual([`${R.restore}OnFargate`, R.failedRestore, R.notifyFailure, R.failed]);
    // The task ended on its own at its deadline (exit 124), before Step Functions gave up: nothing could commit after.
    const restoreTask = started.at(-1)!;
    expect(await restoreTask.exited).toEqual({ code: 124, signal: null });
    expect(fake.outcome(restoreTask.token)).toBeUndefined();
    expect(sns.published().map((p) => p.Subject)).toEqual([expect.stringContaining('States.Timeout')]);
    expect(await prints(staging)).toEqual(before);
  });
});
