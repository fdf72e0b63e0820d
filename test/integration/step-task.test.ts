import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ENV, METRICS } from '../../lib/contract.js';
import type { DisasterRecoveryStack } from '../../lib/index.js';
import { createShop } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import { type CfnResource, logicalId, synthStack } from '../infra/helpers.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { type FakeAws, startFakeAws } from '../helpers/fake-aws.js';
import { s3StoreFor, startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { containerEnvironment, startStepTask } from '../helpers/step-task.js';
import { functionEnvironment } from '../workflow/support/environment.js';
import { ARNS, databaseSecretFor } from '../workflow/support/lambda.js';

/**
 * The Fargate step task's entry point as the process it is: bundled as the image bundles it,
 * started with the synthesized task definition's environment and the state's per-run overrides,
 * against the real PostgreSQL and S3 server. Secrets Manager and Step Functions are a fake endpoint
 * the process's own SDK clients call (test/helpers/fake-aws.ts).
 */

const PREFIX = 'backups';
const STAGING_GATE = 'arn:aws:states:us-east-1:123456789012:execution:IconicDrTest-Restore:';

describe('the step task process (Secrets Manager and Step Functions faked at their endpoint)', () => {
  let stack: DisasterRecoveryStack;
  let resources: Record<string, CfnResource>;
  let s3: TestS3Server;
  let fake: FakeAws;
  let source: TestDatabase;
  let target: TestDatabase;
  let backupId: string;
  let runs = 0;

  beforeAll(async () => {
    ({ stack, resources } = synthStack({ compute: 'fargate' }));
    [s3, fake, source, target] = await Promise.all([startS3Server(), startFakeAws(), createTestDatabase('task_src'), createTestDatabase('task_dst')]);
    const client = await connect(source.url);
    await createShop(client, 0.002);
    await client.end();
    fake.secrets.set(ARNS.source, databaseSecretFor(source.url, { password: 'S3cr3t-Pa55word' }));
    fake.secrets.set(ARNS.staging, databaseSecretFor(target.url));
  });

  afterAll(async () => {
    await Promise.all([source?.drop(), target?.drop(), fake?.close(), s3?.stop()]);
  });

  /** Local stand-ins of the task definition's resource-valued variables (no KMS key on the S3 server). */
  const local = () => ({ ...functionEnvironment(s3, PREFIX), [ENV.backupKmsKeyId]: '' });

  /** What ECS puts around the task definition's variables: credentials and region (the task role), the S3 endpoint here. */
  function ecsRuntime(): Record<string, string> {
    const local = functionEnvironment(s3, PREFIX);
    return { AWS_ACCESS_KEY_ID: local.AWS_ACCESS_KEY_ID!, AWS_SECRET_ACCESS_KEY: local.AWS_SECRET_ACCESS_KEY!, AWS_REGION: local.AWS_REGION!, AWS_ENDPOINT_URL_S3: local.AWS_ENDPOINT_URL_S3!, ...fake.environment() };
  }

  /** Starts one step as its task definition and the state's overrides would. */
  async function start(taskDefinition: string, event: unknown, extra: Record<string, string> = {}) {
    const token = `token-${++runs}`;
    const env = {
      ...containerEnvironment(resources, taskDefinition, local()),
      [ENV.containerStepInput]: JSON.stringify(event),
      [ENV.containerTaskToken]: token,
      [ENV.containerStepEnteredAt]: new Date().toISOString(),
      ...ecsRuntime(),
      ...extra,
    };
    return startStepTask(env);
  }

  const execution = (machine: string) => ({ id: `arn:aws:states:us-east-1:123456789012:execution:${machine}:run-${runs + 1}`, startTime: new Date().toISOString() });
  const backupTask = () => logicalId(stack.backup.fargate!.backup.taskDefinition);
  const validateTask = () => logicalId(stack.backup.fargate!.validate.taskDefinition);
  const restoreTask = () => logicalId(stack.restore.restoreTask!.taskDefinition);

  it('backs up as the backup task: reads the source secret through Secrets Manager, reports the result on its token, exits 0', async () => {
    const task = await start(backupTask(), { request: { trigger: 'schedule' }, execution: execution('IconicDrTest-Backup') });
    const outcome = await fake.waitFor(task.token);
    expect(await task.exited).toEqual({ code: 0, signal: null });
    expect(outcome.status).toBe('success');
    const result = (outcome as { output: { backupId: string; totalRecords: number; scope: string; location: string } }).output;
    expect(result).toMatchObject({ scope: 'full', location: `s3://${s3.bucket}/${PREFIX}/${result.backupId}` });
    backupId = result.backupId;

    const report = await validateBackup(s3StoreFor(s3, PREFIX), backupId);
    expect(report.valid).toBe(true);
    expect(report.totalRecords).toBe(result.totalRecords);
    expect(fake.secretRequests).toEqual([ARNS.source]);
    // The step's duration as a share of its ceiling, as EMF in the task's log.
    const emf = task.output().split('\n').filter((line) => line.includes(METRICS.stepCeilingPercent));
    expect(emf).toHaveLength(1);
    expect(JSON.parse(emf[0]!)[METRICS.stepCeilingPercent]).toBeLessThan(100);
    expect(task.output()).not.toContain('S3cr3t-Pa55word');
  });

  it('validates as the validate task and returns what the Lambda returns', async () => {
    const task = await start(validateTask(), { backupId, execution: execution('IconicDrTest-Backup') });
    const outcome = await fake.waitFor(task.token);
    expect((await task.exited).code).toBe(0);
    expect(outcome).toMatchObject({ status: 'success', output: { backupId, valid: true, problems: [] } });
  });

  it('restores as the staging restore task, in one transaction, and reports the restored counts', async () => {
    const task = await start(restoreTask(), { backupId, target: 'staging', tables: null, confirm: null, execution: { ...execution('IconicDrTest-Restore'), id: `${STAGING_GATE}run-restore` } });
    const outcome = await fake.waitFor(task.token);
    expect((await task.exited).code).toBe(0);
    expect(outcome.status).toBe('success');
    const orders = await target.query<{ n: string }>('SELECT count(*) AS n FROM orders');
    const sourceOrders = await source.query<{ n: string }>('SELECT count(*) AS n FROM orders');
    expect(orders.rows[0]!.n).toBe(sourceOrders.rows[0]!.n);
    expect((outcome as { output: { restoredRecords: Record<string, number> } }).output.restoredRecords.orders).toBe(Number(sourceOrders.rows[0]!.n));
  });

  it('reports a failure with its error name on the token (SendTaskFailure) and exits 1', async () => {
    const task = await start(restoreTask(), { backupId, target: 'qa', tables: null, confirm: null, execution: { ...execution('IconicDrTest-Restore'), id: `${STAGING_GATE}run-qa` } });
    const outcome = await fake.waitFor(task.token);
    expect((await task.exited).code).toBe(1);
    expect(outcome).toEqual({ status: 'failure', error: 'UsageError', cause: expect.stringContaining('Unknown restore target "qa"') });
  });

  it('answers an invocation that is not its own machine with ConfirmationRequiredError, as the Lambda does', async () => {
    const task = await start(restoreTask(), { backupId, target: 'staging', tables: null, confirm: null, execution: execution('SomethingElse') });
    expect(await fake.waitFor(task.token)).toMatchObject({ status: 'failure', error: 'ConfirmationRequiredError' });
  });

  it('reports a misconfigured task (no step input) as ConfigError', async () => {
    const task = await start(validateTask(), {}, { [ENV.containerStepInput]: '' });
    const outcome = await fake.waitFor(task.token);
    expect((await task.exited).code).toBe(1);
    expect(outcome).toMatchObject({ status: 'failure', error: 'ConfigError', cause: expect.stringContaining(ENV.containerStepInput) });
  });

  it('stops itself at its deadline while a restore waits for a lock: exit 124, nothing reported, the target unchanged', async () => {
    await target.query("UPDATE orders SET shipping = 12345.67 WHERE id = (SELECT min(id) FROM orders)");
    const before = await target.query<{ n: string; edited: string }>("SELECT count(*) AS n, count(*) FILTER (WHERE shipping = 12345.67) AS edited FROM orders");
    const holder = new pg.Client({ connectionString: target.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE orders IN ACCESS SHARE MODE');
    try {
      // Entered 5,336 s ago with a 5,400 s ceiling: the deadline (60 s before it) is 4 s away.
      const ceiling = Number(containerEnvironment(resources, restoreTask(), local())[ENV.containerStepTimeoutSeconds]);
      const enteredAt = new Date(Date.now() - (ceiling - 64) * 1000).toISOString();
      const task = await start(restoreTask(), { backupId, target: 'staging', tables: null, confirm: null, execution: { ...execution('IconicDrTest-Restore'), id: `${STAGING_GATE}run-deadline` } }, { [ENV.containerStepEnteredAt]: enteredAt });
      expect(await task.exited).toEqual({ code: 124, signal: null });
      expect(fake.outcome(task.token)).toBeUndefined();
      expect(task.output()).toContain('its deadline');
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    const after = await target.query<{ n: string; edited: string }>("SELECT count(*) AS n, count(*) FILTER (WHERE shipping = 12345.67) AS edited FROM orders");
    expect(after.rows[0]).toEqual(before.rows[0]);
    expect(before.rows[0]!.edited).toBe('1');
  });
});
