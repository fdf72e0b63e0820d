import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { BACKUP_STATES as B, METRICS, METRICS_NAMESPACE, SERVICE_NAME } from '../../lib/contract.js';
import { handler as backup } from '../../lambdas/handlers/backup.js';
import { handler as backupAge } from '../../lambdas/handlers/backup-age.js';
import { handler as notify } from '../../lambdas/handlers/notify.js';
import { createShop, SHOP_TABLES } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import { readManifest } from '../../lambdas/core/catalog.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { s3StoreFor, startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { functionEnvironment, setEnvironment } from './support/environment.js';
import { ARNS, captureOutput, databaseSecretFor, type Handler, mockSecretsManager, mockSns, type OutputCapture } from './support/lambda.js';
import { type Definitions, runMachine, synthDefinitions } from './support/machines.js';
import { validationTasks } from './support/validation-tasks.js';
import { freshQuery } from '../helpers/fresh-module.js';

/**
 * The backup state machine as synthesized, executed with the real backup, validation and notify
 * handlers against a real PostgreSQL (the sample shop) and a real S3 server (s3rver). Only Secrets
 * Manager and SNS are mocked, at the SDK client.
 */

const PREFIX = 'backups';
const secrets = mockSecretsManager();
const sns = mockSns();

function tasks(overrides: Partial<Record<string, Handler>> = {}): Record<string, Handler> {
  return {
    [B.backup]: backup,
    ...validationTasks(),
    [B.publishResult]: notify,
    [B.alertInvalidBackup]: notify,
    [B.alertFailure]: notify,
    ...overrides,
  } as Record<string, Handler>;
}

describe('backup state machine with the real handlers, PostgreSQL and S3 (SNS and Secrets Manager mocked)', () => {
  let definitions: Definitions;
  let s3: TestS3Server;
  let source: TestDatabase;
  let restoreEnv: () => void;
  let output: OutputCapture;

  beforeAll(async () => {
    definitions = synthDefinitions();
    s3 = await startS3Server();
    source = await createTestDatabase('wf_backup_src');
    const client = await connect(source.url);
    await createShop(client, 0.002);
    await client.end();
    restoreEnv = setEnvironment(functionEnvironment(s3, PREFIX));
  });

  afterAll(async () => {
    restoreEnv?.();
    await source?.drop();
    await s3?.stop();
  });

  beforeEach(() => {
    secrets.reset();
    secrets.values.clear();
    secrets.values.set(ARNS.source, databaseSecretFor(source.url));
    sns.reset();
    output = captureOutput();
  });

  afterEach(() => output.restore());

  it('emits no backup age before the first full backup, so the critical alarm cannot fire on a new stack', async () => {
    expect(await backupAge({ check: 'backup-age' })).toEqual({ backupId: null, hoursSinceLastSuccessfulBackup: null });
    expect(output.metric(METRICS.hoursSinceLastSuccessfulBackup)).toEqual([]);
  });

  it('backs up every table into a valid backup and publishes BackupStatus 1 with size, duration and records as EMF (SNS, Secrets Manager mocked)', async () => {
    const run = await runMachine(definitions.backup, { trigger: 'schedule' }, tasks(), 'IconicDrBackup');

    expect(run.error).toBeUndefined();
    expect(run.path).toEqual([B.backup, B.validatePlan, B.validate, B.validateSummary, B.isBackupValid, B.publishResult, B.succeeded]);
    const result = run.output!.backup as { backupId: string; location: string; tables: string[]; totalRecords: number; totalBytes: number; recordCounts: Record<string, number> };
    expect(result).toMatchObject({ location: `s3://${s3.bucket}/${PREFIX}/${result.backupId}`, previousBackupId: null, sizeChangePercent: null });
    expect([...result.tables].sort()).toEqual([...SHOP_TABLES].sort());
    expect(run.output!.validation).toMatchObject({ backupId: result.backupId, valid: true, problems: [], tables: SHOP_TABLES.length, totalRecords: result.totalRecords, totalBytes: result.totalBytes });
    expect(run.output!.notification).toEqual({ event: 'BackupSucceeded', published: [], recoveryTimeSeconds: null });

    // The backup is there and valid, read independently of the handlers.
    const report = await validateBackup(s3StoreFor(s3, PREFIX), result.backupId);
    expect(report.valid).toBe(true);
    expect(report.totalRecords).toBe(result.totalRecords);

    // EMF: namespace LiveItIconic, the one `service` dimension, the backup metrics.
    const [emf, ...more] = output.metrics();
    expect(more).toEqual([]);
    expect(emf).toMatchObject({ namespace: METRICS_NAMESPACE, dimensions: [['service']], service: SERVICE_NAME });
    expect(emf!.values).toEqual({
      [METRICS.backupStatus]: 1,
      [METRICS.backupDurationSeconds]: expect.any(Number),
      [METRICS.backupSizeBytes]: result.totalBytes,
      [METRICS.backupRecords]: result.totalRecords,
      [METRICS.backupSuspect]: 0,
    });
    expect(emf!.units).toMatchObject({ [METRICS.backupDurationSeconds]: 'Seconds', [METRICS.backupSizeBytes]: 'Bytes' });

    // One `Table backed up` line per table for the dashboard; nothing published on success.
    const perTable = output.logs().filter((line) => line.message === 'Table backed up');
    expect(perTable.map((line) => line.table).sort()).toEqual([...SHOP_TABLES].sort());
    expect(perTable.every((line) => line.level === 'INFO' && typeof line.records === 'number' && typeof line.bytes === 'number')).toBe(true);
    expect(perTable.find((line) => line.table === 'orders')?.records).toBe(result.recordCounts.orders);
    expect(sns.published()).toEqual([]);
  });

  it('compares the size with the previous complete backup and emits BackupSizeChangePercent (Secrets Manager mocked)', async () => {
    const first = await runMachine(definitions.backup, {}, tasks());
    // New reviews with ~640 bytes of random text each: repeated text would compress to almost nothing.
    await source.query("INSERT INTO reviews (product_id, user_id, rating, title, body) SELECT r.product_id, r.user_id, r.rating, r.title, (SELECT string_agg(md5(random()::text || r.product_id::text || g::text), '') FROM generate_series(1, 20) g) FROM reviews r");
    const second = await runMachine(definitions.backup, {}, tasks());

    const previous = first.output!.backup as { backupId: string; totalBytes: number };
    const latest = second.output!.backup as { backupId: string; totalBytes: number; previousBackupId: string; sizeChangePercent: number };
    expect(latest.previousBackupId).toBe(previous.backupId);
    expect(latest.sizeChangePercent).toBeCloseTo(((latest.totalBytes - previous.totalBytes) / previous.totalBytes) * 100, 1);
    expect(latest.sizeChangePercent).toBeGreaterThan(25);
    expect(output.metric(METRICS.backupSizeChangePercent).at(-1)).toBe(latest.sizeChangePercent);
  });

  it('backs up only the tables the input names, as a subset that neither the size comparison nor the backup age counts (Secrets Manager mocked)', async () => {
    const full = await runMachine(definitions.backup, {}, tasks());
    const run = await runMachine(definitions.backup, { tables: ['products', 'public.product_variants'] }, tasks());
    expect(run.error).toBeUndefined();
    const subset = run.output!.backup as { backupId: string; tables: string[]; scope: string; previousBackupId: string | null; sizeChangePercent: number | null };
    expect(subset.tables.sort()).toEqual(['product_variants', 'products']);
    expect(subset).toMatchObject({ scope: 'subset', previousBackupId: null, sizeChangePercent: null });

    // The next full backup compares with the last full one, not with the subset (no -90 %/+900 % jump).
    const next = (await runMachine(definitions.backup, {}, tasks())).output!.backup as { backupId: string; previousBackupId: string; sizeChangePercent: number; scope: string };
    expect(next).toMatchObject({ scope: 'full', previousBackupId: (full.output!.backup as { backupId: string }).backupId });
    expect(Math.abs(next.sizeChangePercent)).toBeLessThan(5);

    // The age check measures from the newest full backup.
    output.clear();
    const age = (await backupAge({ check: 'backup-age' })) as { backupId: string; hoursSinceLastSuccessfulBackup: number };
    expect(age.backupId).toBe(next.backupId);
    expect(age.hoursSinceLastSuccessfulBackup).toBeLessThan(0.1);
    expect(output.metric(METRICS.hoursSinceLastSuccessfulBackup)).toEqual([age.hoursSinceLastSuccessfulBackup]);
    await runMachine(definitions.backup, { tables: ['orders'] }, tasks());
    expect(((await backupAge({ check: 'backup-age' })) as { backupId: string }).backupId).toBe(next.backupId);
  });

  it('refuses a backup input with an unknown key, naming it, without writing anything (SNS, Secrets Manager mocked)', async () => {
    const run = await runMachine(definitions.backup, { tabels: ['orders'] }, tasks());
    expect(run.error?.name).toBe('BackupFailed');
    expect(run.calls[B.alertFailure]?.[0]).toMatchObject({ state: { error: { Error: 'UsageError', Cause: expect.stringContaining('Unrecognized key: "tabels"') } } });
    expect(secrets.requested()).toEqual([]);
  });

  it('fails at Backup when the source secret is not filled in, alerting the critical topic with BackupStatus 0 (SNS, Secrets Manager mocked)', async () => {
    secrets.values.set(ARNS.source, databaseSecretFor(source.url, { host: '' }));
    const run = await runMachine(definitions.backup, { trigger: 'schedule' }, tasks());

    expect(run.error?.name).toBe('BackupFailed');
    expect(run.path).toEqual([B.backup, B.failedBackup, B.alertFailure, B.failed]);
    expect(run.error?.message).toBe('Backup failed with ConfigError. No new backup was written; the newest complete backup is older than planned.');
    expect(run.calls[B.backup]).toHaveLength(1); // ConfigError is permanent: no retry
    expect(run.calls[B.alertFailure]).toEqual([expect.objectContaining({ state: expect.objectContaining({ error: { Error: 'ConfigError', Cause: expect.stringContaining(ARNS.source) } }) })]);
    const [alert, ...more] = sns.published();
    expect(more).toEqual([]);
    expect(alert).toMatchObject({ TopicArn: ARNS.critical, Subject: 'CRITICAL iconic-dr: backup failed at Backup (ConfigError)' });
    expect(alert!.Message).toContain('is not configured yet');
    expect(alert!.Message).toContain(`https://console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/${run.executionArn}`);
    expect(alert!.MessageAttributes?.severity?.StringValue).toBe('critical');
    expect(output.metric(METRICS.backupStatus)).toEqual([0]);
    // A failed run reports its duration too, so the slow-backup alarm sees a run killed at its timeout.
    expect(output.metric(METRICS.backupDurationSeconds)).toEqual([expect.any(Number)]);
    expect(run.output).toBeUndefined();
  });

  it('with BACKUP_ROWS=copy the daily backup writes each table as COPY text, and the Validate map checks it (Secrets Manager mocked)', async () => {
    const fresh = (await import(`../../lambdas/handlers/backup.js${freshQuery()}`)).handler as Handler;
    const restoreRows = setEnvironment({ BACKUP_ROWS: 'copy' });
    const run = await runMachine(definitions.backup, {}, tasks({ [B.backup]: fresh })).finally(restoreRows);

    expect(run.error).toBeUndefined();
    const { backupId, totalRecords } = run.output!.backup as { backupId: string; totalRecords: number };
    expect(run.output!.validation).toMatchObject({ backupId, valid: true, problems: [], totalRecords });
    const parsed = await readManifest(s3StoreFor(s3, PREFIX), backupId);
    if (parsed.format !== 'v1') throw new Error('expected a v1 manifest');
    const files = Object.values(parsed.manifest.tableDetails).flatMap((t) => t.files);
    expect(files.length).toBeGreaterThanOrEqual(SHOP_TABLES.length);
    expect(files.every((f) => f.rows === 'copy-text' && f.key.includes('.copy.'))).toBe(true);
  });

  it('logs an S3 failure at ERROR as a StorageError (the upload-failure metric filter) and alerts (SNS, Secrets Manager mocked)', async () => {
    // A fresh copy of the function (it reads its environment once), configured with a bucket that does not exist.
    const fresh = (await import(`../../lambdas/handlers/backup.js${freshQuery()}`)).handler as Handler;
    const restoreBucket = setEnvironment({ BACKUP_BUCKET: 'no-such-bucket' });
    const run = await runMachine(definitions.backup, {}, tasks({ [B.backup]: fresh })).finally(restoreBucket);

    expect(run.error?.name).toBe('BackupFailed');
    expect(run.calls[B.alertFailure]?.[0]).toMatchObject({ state: { error: { Error: 'StorageError', Cause: expect.stringContaining('no-such-bucket does not exist') } } });
    const failures = output.logs().filter((line) => line.level === 'ERROR');
    expect(failures).toEqual([expect.objectContaining({ message: 'backup failed', error: expect.objectContaining({ name: 'StorageError' }) })]);
    expect(sns.published().map((p) => p.TopicArn)).toEqual([ARNS.critical]);
  });

  it('retries a connection failure as TransientError, and never logs or publishes the database password (SNS, Secrets Manager mocked)', async () => {
    secrets.values.set(ARNS.source, databaseSecretFor(source.url, { password: 'S3cr3t-Pa55word', port: 1 }));
    const run = await runMachine(definitions.backup, {}, tasks());
    expect(run.error?.name).toBe('BackupFailed');
    // ECONNREFUSED is retryable: TransientError, retried by the machine, then alerted.
    expect(run.calls[B.backup]).toHaveLength(5);
    expect(run.calls[B.alertFailure]?.[0]).toMatchObject({ state: { error: { Error: 'TransientError', Cause: expect.stringContaining('Cannot connect to') } } });
    expect(output.text()).not.toContain('S3cr3t-Pa55word');
    expect(JSON.stringify(sns.published())).not.toContain('S3cr3t-Pa55word');
    expect(JSON.stringify(run.calls)).not.toContain('S3cr3t-Pa55word');
  });

  it('a backup taken after a mass deletion is marked suspect, pages through BackupSuspect 1, and is never the latest good backup (Secrets Manager mocked)', async () => {
    const before = await backupAge({ check: 'backup-age' });
    await source.query('TRUNCATE order_items, orders, reviews CASCADE');
    const run = await runMachine(definitions.backup, { trigger: 'schedule' }, tasks(), 'IconicDrBackup');
    expect(run.error).toBeUndefined();
    const result = run.output!.backup as { backupId: string; suspect: { reason: string; comparedWith: string } | null };
    expect(result.suspect?.reason).toMatch(/orders [\d,]+ -> 0/);
    expect(output.metric(METRICS.backupSuspect)).toEqual([1]);
    // The hours since the last good backup still count from the backup before the deletion.
    expect((await backupAge({ check: 'backup-age' })).backupId).toBe(before.backupId);
  });
});
