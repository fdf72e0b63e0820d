import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { CONFIRMATION_REQUIRED_ERROR, METRICS, RESTORE_STATES as R } from '../../lib/contract.js';
import { WEEKLY_DRILL_INPUT } from '../../lib/restore-workflow.js';
import { backupIdFor } from '../../lambdas/core/format/ids.js';
import { tableFileKey } from '../../lambdas/core/format/manifest.js';
import { createShop, fingerprintTables, SHOP_SCHEMA_SQL, SHOP_TABLES, type TableFingerprint } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { handler as backup } from '../../lambdas/handlers/backup.js';
import { handler as restore } from '../../lambdas/handlers/restore.js';
import { awsAdvice } from '../../lambdas/handlers/shared/hints.js';
import { createTestDatabase, databaseUrl, type TestDatabase } from '../helpers/database.js';
import { backupDatabase } from '../helpers/engine.js';
import { S3RVER_CREDENTIALS, S3RVER_REGION, s3StoreFor, startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { freshQuery } from '../helpers/fresh-module.js';
import { functionEnvironment, setEnvironment } from './support/environment.js';
import { ARNS, captureOutput, databaseSecretFor, type Handler, mockSecretsManager, mockSns, type OutputCapture } from './support/lambda.js';
import { type Definitions, PRODUCTION_MACHINE_NAME, runMachine, synthDefinitions } from './support/machines.js';
import { restoreTasks } from './support/restore-tasks.js';

/**
 * The restore state machine as synthesized, executed with the real pick-backup, validate, restore,
 * verify-counts, integrity-check and notify handlers against real PostgreSQL databases (source,
 * staging, production) and a real S3 server holding real backups. Only Secrets Manager (which
 * database each target's secret points at) and SNS (the alerts) are mocked, at the SDK client.
 */

const PREFIX = 'backups';
const CORRUPT_ID = '2020-01-01T00-00-00-000Z';
const secrets = mockSecretsManager();
const sns = mockSns();
/** The Validate step's states on the Lambda route. */
const VALIDATE = [R.validatePlan, R.validate, R.validateSummary];
const SHOP = SHOP_TABLES.map((name) => ({ schema: 'public', name, qualified: name }));

describe('restore state machine with the real handlers, PostgreSQL and S3 (SNS and Secrets Manager mocked)', () => {
  let definitions: Definitions;
  let s3: TestS3Server;
  let source: TestDatabase;
  let staging: TestDatabase;
  let production: TestDatabase;
  let scratch: TestDatabase;
  let goodId: string;
  let interruptedId: string;
  let subsetId: string;
  let sourcePrints: TableFingerprint[];
  let restoreEnv: () => void;
  let output: OutputCapture;
  const restoreSpy = jest.fn(restore);

  /** Points a target's read-write secret and its read-only secret (the checks after a restore) at a database. */
  function point(target: 'staging' | 'production', secretJson: string): void {
    secrets.values.set(ARNS[target], secretJson);
    secrets.values.set(ARNS[`${target}ReadOnly`], secretJson);
  }

  const tasks = (): Record<string, Handler> => restoreTasks({ [R.restore]: restoreSpy as Handler });

  async function prints(database: TestDatabase): Promise<TableFingerprint[]> {
    const client: pg.Client = await connect(database.url);
    try {
      return await fingerprintTables(client, SHOP);
    } finally {
      await client.end();
    }
  }

  async function shop(database: TestDatabase, scale: number | null): Promise<void> {
    const client = await connect(database.url);
    if (scale === null) await client.query(SHOP_SCHEMA_SQL);
    else await createShop(client, scale);
    await client.end();
  }

  function s3Client(): S3Client {
    return new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: S3RVER_REGION, credentials: S3RVER_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
  }

  async function putObject(Key: string, Body: Buffer): Promise<void> {
    const client = s3Client();
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body }));
    client.destroy();
  }

  /** Flips bits in the middle of one table object of a backup, in the S3 server. */
  async function corrupt(backupId: string, table: string): Promise<void> {
    const client = s3Client();
    const Key = `${PREFIX}/${backupId}/${tableFileKey(table, undefined, 'zstd', 'copy-text')}`;
    const bytes = Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key }))).Body!.transformToByteArray());
    client.destroy();
    bytes[Math.floor(bytes.length / 2)]! ^= 0x24;
    await putObject(Key, bytes);
  }

  beforeAll(async () => {
    definitions = synthDefinitions();
    s3 = await startS3Server();
    [source, staging, production, scratch] = await Promise.all(['wf_restore_src', 'wf_restore_stg', 'wf_restore_prd', 'wf_restore_tmp'].map((label) => createTestDatabase(label)));
    await Promise.all([shop(source, 0.002), shop(staging, null), shop(production, 0.001), shop(scratch, 0.001)]);
    sourcePrints = await prints(source);
    const store = s3StoreFor(s3, PREFIX);
    goodId = (await backupDatabase(store, source.url)).backupId;
    await backupDatabase(store, source.url, { startedAt: new Date('2020-01-01T00:00:00Z') });
    await corrupt(CORRUPT_ID, 'orders');
    // An interrupted backup, newer than the good one: table files but no metadata.json (the backup
    // role cannot delete its partial files). "latest" and "random" must pass over it.
    interruptedId = backupIdFor(new Date(Date.now() + 60_000));
    await putObject(`${PREFIX}/${interruptedId}/${tableFileKey('orders', undefined, 'zstd', 'copy-text')}`, Buffer.from('partial'));
    restoreEnv = setEnvironment(functionEnvironment(s3, PREFIX));
    // A subset backup (one table) taken after the full one by the real backup function: "latest"
    // and "random" must not pick it, or a drill restores one table and calls it a recovery.
    secrets.values.set(ARNS.source, databaseSecretFor(source.url));
    const capture = captureOutput();
    try {
      subsetId = ((await backup({ request: { tables: ['orders'] }, execution: { id: 'arn:aws:states:us-east-1:123456789012:execution:IconicDrBackup:subset', startTime: new Date().toISOString() } })) as { backupId: string }).backupId;
    } finally {
      capture.restore();
    }
    expect(subsetId > goodId).toBe(true);
  });

  afterAll(async () => {
    restoreEnv?.();
    await Promise.all([source, staging, production, scratch].map((db) => db?.drop()));
    await s3?.stop();
  });

  beforeEach(() => {
    secrets.reset();
    secrets.values.clear();
    point('staging', databaseSecretFor(staging.url));
    point('production', databaseSecretFor(production.url));
    sns.reset();
    restoreSpy.mockReset();
    restoreSpy.mockImplementation(restore);
    output = captureOutput();
  });

  afterEach(() => output.restore());

  it('restores the latest backup into staging: the tables equal the source and NotifySuccess reports the recovery time (SNS, Secrets Manager mocked)', async () => {
    const run = await runMachine(definitions.restore, { backupId: 'latest', target: 'staging' }, tasks(), 'IconicDrRestore');

    expect(run.error).toBeUndefined();
    expect(run.path).toEqual([R.pickBackup, R.checkConfirmation, ...VALIDATE, R.isBackupValid, R.restore, R.verifyCounts, R.integrityCheck, R.mediaRequested, R.notifySuccess, R.succeeded]);
    expect(run.output!.backup).toEqual({ backupId: goodId, requested: 'latest', target: 'staging', confirm: null, tables: null, drill: null, location: `s3://${s3.bucket}/${PREFIX}/${goodId}`, media: false, mediaSnapshotId: null, mediaExact: false });
    expect(run.output!.restore).toMatchObject({ backupId: goodId, target: 'staging', totalRecords: sourcePrints.reduce((sum, t) => sum + t.rows, 0) });
    // The restore records who its target was (names only).
    expect((run.output!.restore as { targetIdentity: string }).targetIdentity).toMatch(new RegExp(`^127\\.0\\.0\\.1:5432/${new URL(staging.url).pathname.slice(1)}`));
    expect(run.output!.verification).toMatchObject({ ok: true, tables: expect.arrayContaining([expect.objectContaining({ table: 'orders', diff: 0 })]) });
    expect(run.output!.integrity).toEqual({ ok: true, orphans: [], invalidConstraints: [] });
    expect(await prints(staging)).toEqual(sourcePrints);
    // The checks after the restore read the read-only secret, never the read-write one.
    expect(secrets.requested()).toEqual(expect.arrayContaining([ARNS.staging, ARNS.stagingReadOnly]));

    const notification = run.output!.notification as { event: string; published: string[]; recoveryTimeSeconds: number };
    expect(notification).toEqual({ event: 'RestoreSucceeded', published: ['warning'], recoveryTimeSeconds: expect.any(Number) });
    expect(notification.recoveryTimeSeconds).toBeGreaterThanOrEqual(0);
    expect(notification.recoveryTimeSeconds).toBeLessThan(120);
    expect(output.metric(METRICS.restoreStatus)).toEqual([1]);
    expect(output.metric(METRICS.recoveryTimeSeconds)).toEqual([notification.recoveryTimeSeconds]);
    expect(output.metric(METRICS.drillStatus)).toEqual([]);
    const [message, ...more] = sns.published();
    expect(more).toEqual([]);
    expect(message).toMatchObject({ TopicArn: ARNS.warning, Subject: expect.stringMatching(/^OK iconic-dr: restore into staging succeeded, recovery time \d/) });
    expect(message!.Message).toContain(`Backup ${goodId} was restored into staging`);
    expect(message!.Message).toContain(`Console:   https://console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${run.executionArn}`);
  });

  it('runs the weekly drill: a random recent backup into staging, with DrillStatus 1 (SNS, Secrets Manager mocked)', async () => {
    const run = await runMachine(definitions.restore, WEEKLY_DRILL_INPUT, tasks());

    expect(run.error).toBeUndefined();
    // The corrupted backup is from 2020 and the interrupted one has no metadata.json: only the good one is a candidate.
    expect(run.output!.backup).toMatchObject({ backupId: goodId, requested: 'random', drill: 'weekly' });
    expect(output.metric(METRICS.drillStatus)).toEqual([1]);
    expect(sns.published()[0]?.Subject).toMatch(/^OK iconic-dr: weekly drill \(restore into staging\) succeeded/);
  });

  it('stops a corrupted backup at Validate with an alert, leaving staging unchanged (SNS, Secrets Manager mocked)', async () => {
    point('staging', databaseSecretFor(scratch.url));
    const before = await prints(scratch);

    const run = await runMachine(definitions.restore, { backupId: CORRUPT_ID, target: 'staging' }, tasks());

    expect(run.error?.name).toBe('BackupInvalid');
    expect(run.path).toEqual([R.pickBackup, R.checkConfirmation, ...VALIDATE, R.isBackupValid, R.alertInvalidBackup, R.invalid]);
    expect(restoreSpy).not.toHaveBeenCalled();
    const validation = run.calls[R.alertInvalidBackup]?.[0] as { state: { validation: { valid: boolean; problems: string[] } } };
    expect(validation.state.validation.valid).toBe(false);
    expect(validation.state.validation.problems.join('\n')).toMatch(/orders\.copy\.zst: (SHA-256|cannot be decompressed)/);
    expect(await prints(scratch)).toEqual(before);
    const [alert] = sns.published();
    expect(alert).toMatchObject({ TopicArn: ARNS.warning, Subject: `WARNING iconic-dr: restore into staging stopped, backup ${CORRUPT_ID} is INVALID` });
    expect(alert!.Message).toContain('staging is unchanged');
    expect(alert!.Message).toContain('orders.copy.zst');
    expect(output.metric(METRICS.restoreStatus)).toEqual([0]);
  });

  /** The production machine's tasks: its restore function answers only executions of that machine (RESTORE_GATE). */
  async function productionTasks(): Promise<Record<string, Handler>> {
    const undo = setEnvironment({ RESTORE_GATE: `arn:aws:states:us-east-1:123456789012:execution:${PRODUCTION_MACHINE_NAME}:` });
    try {
      const gated = (await import(`../../lambdas/handlers/restore.js${freshQuery()}`)).handler as Handler;
      const first = await gated({ backupId: goodId, target: 'staging', tables: null, confirm: null, execution: { id: 'x', startTime: new Date().toISOString() } }).catch((error: Error) => error);
      expect((first as Error).name).toBe('ConfirmationRequiredError'); // reads its environment now, while the gate is set
      restoreSpy.mockImplementation(gated as typeof restore);
    } finally {
      undo();
    }
    return tasks();
  }

  it('refuses a production restore without confirm at CheckConfirmation, before any other task runs (SNS, Secrets Manager mocked)', async () => {
    const before = await prints(production);

    const run = await runMachine(definitions.productionRestore, { backupId: 'latest', target: 'production' }, await productionTasks(), PRODUCTION_MACHINE_NAME);

    expect(run.error).toEqual({ name: CONFIRMATION_REQUIRED_ERROR, message: expect.stringContaining(`"confirm": "${goodId}"`) });
    expect(run.path).toEqual([R.pickBackup, R.checkConfirmation, R.explainConfirmation, R.confirmationRequired]);
    expect(Object.keys(run.calls)).toEqual([R.pickBackup]);
    expect(restoreSpy).not.toHaveBeenCalled();
    expect(secrets.requested()).toEqual([]); // no database credentials were even read
    expect(await prints(production)).toEqual(before);
    expect(sns.published()).toEqual([]);
  });

  it('restores into production through the production machine when confirm equals the resolved backup id (SNS, Secrets Manager mocked)', async () => {
    const run = await runMachine(definitions.productionRestore, { backupId: goodId, target: 'production', confirm: goodId }, await productionTasks(), PRODUCTION_MACHINE_NAME);

    expect(run.error).toBeUndefined();
    expect(restoreSpy).toHaveBeenCalledTimes(1);
    expect(await prints(production)).toEqual(sourcePrints);
    expect(sns.published().map((p) => p.TopicArn)).toEqual([ARNS.warning]);
  });

  it('refuses a confirmed production restore invoked directly or from another machine, touching nothing (SNS, Secrets Manager mocked)', async () => {
    await productionTasks();
    const before = await prints(production);
    const direct = await restoreSpy({ backupId: goodId, target: 'production', tables: null, confirm: goodId, execution: { id: 'arn:aws:states:us-east-1:123456789012:execution:IconicDrRestore:forged', startTime: new Date().toISOString() } }).catch((error: Error) => error);
    expect(direct).toMatchObject({ name: 'ConfirmationRequiredError', message: expect.stringContaining(`runs only through its state machine (${PRODUCTION_MACHINE_NAME})`) });
    const viaStaging = await runMachine(definitions.productionRestore, { backupId: goodId, target: 'production', confirm: goodId }, tasks(), 'IconicDrRestore');
    expect(viaStaging.error?.name).toBe('RestoreFailed');
    expect(await prints(production)).toEqual(before);
    expect(secrets.requested()).toEqual([]);
  });

  it('ends a failing task in NotifyFailure -> Fail with the failure alert published (SNS, Secrets Manager mocked)', async () => {
    const missing = databaseUrl('dr_wf_no_such_database');
    point('staging', databaseSecretFor(missing));

    const run = await runMachine(definitions.restore, { backupId: 'latest', target: 'staging' }, tasks());

    expect(run.error?.name).toBe('RestoreFailed');
    expect(run.path).toEqual([R.pickBackup, R.checkConfirmation, ...VALIDATE, R.isBackupValid, R.restore, R.failedRestore, R.notifyFailure, R.failed]);
    expect(run.calls[R.restore]).toHaveLength(1); // a missing database is permanent: no retry
    expect(run.calls[R.notifyFailure]?.[0]).toMatchObject({ event: 'RestoreFailed', state: { error: { Error: 'ConnectionError', Cause: expect.stringContaining('does not exist') } } });
    const [alert, ...more] = sns.published();
    expect(more).toEqual([]);
    expect(alert).toMatchObject({ TopicArn: ARNS.warning, Subject: 'WARNING iconic-dr: restore into staging failed at Restore (ConnectionError)' });
    expect(alert!.Message).toContain('rolled back, so staging is exactly as it was before');
    expect(alert!.Message).toContain('dr_wf_no_such_database');
    expect(alert!.MessageAttributes?.link?.StringValue).toContain(run.executionArn);
    expect(output.metric(METRICS.restoreStatus)).toEqual([0]);
  });

  it('pages the critical topic when a confirmed production restore fails, and reports a missing or interrupted backup from PickBackup (SNS, Secrets Manager mocked)', async () => {
    point('production', databaseSecretFor(databaseUrl('dr_wf_no_such_database')));
    const failed = await runMachine(definitions.productionRestore, { backupId: goodId, target: 'production', confirm: goodId }, await productionTasks(), PRODUCTION_MACHINE_NAME);
    expect(failed.error?.name).toBe('RestoreFailed');
    expect(sns.published().at(-1)).toMatchObject({ TopicArn: ARNS.critical, Subject: 'CRITICAL iconic-dr: restore into production failed at Restore (ConnectionError)' });

    const unknown = await runMachine(definitions.restore, { backupId: '2019-01-01T00-00-00-000Z', target: 'staging' }, tasks());
    expect(unknown.error?.name).toBe('RestoreFailed');
    expect(unknown.path).toEqual([R.pickBackup, R.failedPickBackup, R.notifyFailure, R.failed]);
    expect(unknown.calls[R.notifyFailure]?.[0]).toMatchObject({ state: { error: { Error: 'BackupNotFoundError' } } });
    expect(sns.published().at(-1)?.Subject).toBe('WARNING iconic-dr: restore into staging failed at PickBackup (BackupNotFoundError)');
    // The engine's hint worded for the machine's input, not the CLI's `iconic-dr list`.
    expect(sns.published().at(-1)?.Message).toMatch(/Cause: No backup 2019-01-01T00-00-00-000Z in \S+; set "backupId" in the restore input/);
    expect(sns.published().at(-1)?.Message).toContain(awsAdvice('list-backups'));
    const causeLine = sns.published().at(-1)?.Message?.split('\n').find((line) => line.startsWith('Cause: '));
    expect(causeLine).not.toContain('iconic-dr list');

    const interrupted = await runMachine(definitions.restore, { backupId: interruptedId, target: 'staging' }, tasks());
    expect(interrupted.calls[R.notifyFailure]?.[0]).toMatchObject({ state: { error: { Error: 'BackupNotFoundError', Cause: expect.stringContaining('is incomplete (no metadata.json)') } } });
  });

  it('refuses an input with an unknown key, naming it, before anything is restored (SNS, Secrets Manager mocked)', async () => {
    point('staging', databaseSecretFor(scratch.url));
    const before = await prints(scratch);

    const run = await runMachine(definitions.restore, { backupId: 'latest', target: 'staging', tabels: ['orders'] }, tasks());

    expect(run.error?.name).toBe('RestoreFailed');
    expect(run.error?.message).toMatch(/^PickBackup failed with UsageError\. /);
    expect(run.path).toEqual([R.pickBackup, R.failedPickBackup, R.notifyFailure, R.failed]);
    expect(restoreSpy).not.toHaveBeenCalled();
    expect(run.calls[R.notifyFailure]?.[0]).toMatchObject({ state: { error: { Error: 'UsageError', Cause: expect.stringContaining('"tabels"') } } });
    expect(await prints(scratch)).toEqual(before);
  });

  it('picks only full backups for latest and random, and a subset backup only when the input asks for its tables (SNS, Secrets Manager mocked)', async () => {
    const latest = await runMachine(definitions.restore, { backupId: 'latest', target: 'staging' }, { ...tasks(), [R.restore]: async () => Promise.reject(new Error('stop here')) });
    expect(latest.calls[R.validatePlan]?.[0]).toMatchObject({ backupId: goodId });

    const subset = await runMachine(definitions.restore, { backupId: 'latest', target: 'staging', tables: ['orders'] }, { ...tasks(), [R.restore]: async () => Promise.reject(new Error('stop here')) });
    expect(subset.output ?? subset.calls[R.validatePlan]?.[0]).toMatchObject({ backupId: subsetId });
  });

  it('refuses a drill whose staging secret points at the source or at production, leaving it untouched and paging with both named (SNS, Secrets Manager mocked)', async () => {
    for (const [wrong, label] of [
      [source, "the backup's source database"],
      [production, 'the production database'],
    ] as const) {
      sns.reset();
      secrets.reset();
      point('staging', databaseSecretFor(wrong.url));
      const before = await prints(wrong);

      const run = await runMachine(definitions.restore, WEEKLY_DRILL_INPUT, tasks());

      expect(run.error?.name).toBe('RestoreFailed');
      expect(run.error?.message).toMatch(/^Restore failed with TargetIdentityError\. The restore was refused before it began/);
      expect(run.path).toEqual([R.pickBackup, R.checkConfirmation, ...VALIDATE, R.isBackupValid, R.restore, R.failedRestore, R.notifyFailure, R.failed]);
      expect(await prints(wrong)).toEqual(before);
      const [alert, ...more] = sns.published();
      expect(more).toEqual([]);
      expect(alert).toMatchObject({ TopicArn: ARNS.critical, Subject: 'CRITICAL iconic-dr: weekly drill (restore into staging) failed at Restore (TargetIdentityError)' });
      const database = new URL(wrong.url).pathname.slice(1);
      expect(alert!.Message).toContain(`the "staging" target 127.0.0.1:5432/${database}`);
      expect(alert!.Message).toContain(`is ${label} 127.0.0.1:5432/${database}`);
      expect(output.metric(METRICS.drillStatus)).toEqual([0]);
      output.clear();
    }
  });

  it('refuses a drill into a database whose iconic-dr marker names another role, touching nothing (SNS, Secrets Manager mocked)', async () => {
    const client = await connect(scratch.url);
    const name = new URL(scratch.url).pathname.slice(1);
    await client.query(`COMMENT ON DATABASE "${name}" IS 'shop database -- iconic-dr:production'`);
    try {
      point('staging', databaseSecretFor(scratch.url));
      const before = await prints(scratch);

      const run = await runMachine(definitions.restore, WEEKLY_DRILL_INPUT, tasks());

      expect(run.calls[R.notifyFailure]?.[0]).toMatchObject({ state: { error: { Error: 'TargetIdentityError', Cause: expect.stringContaining('marked "iconic-dr:production", not "iconic-dr:staging"') } } });
      expect(await prints(scratch)).toEqual(before);
      expect(sns.published().map((p) => p.TopicArn)).toEqual([ARNS.critical]);

      // Marked for staging, the same database is a fine drill target.
      await client.query(`COMMENT ON DATABASE "${name}" IS 'iconic-dr:staging'`);
      const ok = await runMachine(definitions.restore, WEEKLY_DRILL_INPUT, tasks());
      expect(ok.error).toBeUndefined();
    } finally {
      await client.query(`COMMENT ON DATABASE "${name}" IS NULL`);
      await client.end();
    }
  });

  it('refuses a drill into production as the stack locates it, with a staging function that cannot read the production secret (SNS, Secrets Manager mocked)', async () => {
    const location = { host: '127.0.0.1', port: 5432, dbname: new URL(production.url).pathname.slice(1) };
    const undo = setEnvironment({ TARGET_SECRET_ARNS: JSON.stringify({ staging: ARNS.staging }), PROTECTED_DATABASES: JSON.stringify({ production: location }) });
    let stagingOnly: Handler;
    try {
      stagingOnly = (await import(`../../lambdas/handlers/restore.js${freshQuery()}`)).handler as Handler;
      // Reads its environment now, while it is set (an unknown target fails right after reading it).
      const first = await stagingOnly({ backupId: goodId, target: 'qa', tables: null, confirm: null, execution: { id: 'x', startTime: new Date().toISOString() } }).catch((error: Error) => error);
      expect((first as Error).message).toBe('Unknown restore target "qa": use one of staging');
    } finally {
      undo();
    }
    point('staging', databaseSecretFor(production.url));
    const before = await prints(production);

    const run = await runMachine(definitions.restore, WEEKLY_DRILL_INPUT, { ...tasks(), [R.restore]: stagingOnly });

    expect(run.calls[R.notifyFailure]?.[0]).toMatchObject({ state: { error: { Error: 'TargetIdentityError', Cause: expect.stringContaining(`is the production (as configured) database 127.0.0.1:5432/${location.dbname}`) } } });
    expect(secrets.requested()).not.toContain(ARNS.production);
    expect(await prints(production)).toEqual(before);
    expect(sns.published().map((p) => p.TopicArn)).toEqual([ARNS.critical]);
  });

  it('restores a copy-text backup (backup --rows copy) by its id into staging: Validate, Restore and VerifyCounts read it like NDJSON (SNS, Secrets Manager mocked)', async () => {
    // Older than the good backup and outside the drills' window, so latest and random never pick it.
    const copyText = await backupDatabase(s3StoreFor(s3, PREFIX), source.url, { rows: 'copy-text', startedAt: new Date('2021-06-01T00:00:00Z') });
    expect(copyText.manifest.tableDetails['orders']!.files[0]).toMatchObject({ key: 'orders.copy.zst', rows: 'copy-text' });
    await staging.query('DELETE FROM wishlists');

    const run = await runMachine(definitions.restore, { backupId: copyText.backupId, target: 'staging' }, tasks(), 'IconicDrRestore');

    expect(run.error).toBeUndefined();
    expect(run.path).toEqual([R.pickBackup, R.checkConfirmation, ...VALIDATE, R.isBackupValid, R.restore, R.verifyCounts, R.integrityCheck, R.mediaRequested, R.notifySuccess, R.succeeded]);
    expect(run.output!.verification).toMatchObject({ ok: true });
    expect(await prints(staging)).toEqual(sourcePrints);
  });
});
