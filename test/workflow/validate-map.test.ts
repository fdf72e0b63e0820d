import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { BACKUP_STATES as B, VALIDATE_FILE_STATES as V } from '../../lib/contract.js';
import { tableFileKey } from '../../lambdas/core/format/manifest.js';
import { createShop, SHOP_TABLES } from '../../lambdas/core/sample/shop.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { CLAIM_FILE } from '../../lambdas/core/storage/store.js';
import { validateBackup } from '../../lambdas/core/validate.js';
import { handler as backup, type BackupTaskResult } from '../../lambdas/handlers/backup.js';
import { handler as notify } from '../../lambdas/handlers/notify.js';
import { handler as validate } from '../../lambdas/handlers/validate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freshQuery } from '../helpers/fresh-module.js';
import { S3RVER_CREDENTIALS, S3RVER_REGION, s3StoreFor, startS3Server, type TestS3Server } from '../helpers/s3-server.js';
import { functionEnvironment, setEnvironment } from './support/environment.js';
import { ARNS, captureOutput, databaseSecretFor, type Handler, mockSecretsManager, mockSns, type OutputCapture } from './support/lambda.js';
import { type Definitions, runMachine, synthDefinitions } from './support/machines.js';
import { validationTasks } from './support/validation-tasks.js';

/**
 * The `Validate` step's Lambda route, in the backup machine as synthesized: `ValidatePlan`, the
 * `Validate` Distributed Map running `ValidateFile` once per file of the backup, `ValidateSummary`.
 * aws-local-stepfunctions runs the Map's ItemProcessor in-process, one run per item at most
 * MaxConcurrency at a time, as it runs an inline Map (it ignores ProcessorConfig: there are no child
 * executions here, and `$$.Execution` inside an item is the parent's, which is why the ItemSelector
 * passes the parent's execution explicitly — the template test checks that).
 *
 * Real handlers, a real PostgreSQL (the sample shop) and a real S3 server; backups are written by
 * the real backup handler and some are damaged between Backup and Validate. Only Secrets Manager
 * and SNS are mocked, at the SDK client.
 */

const PREFIX = 'backups';
const LEGACY_FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/legacy-backups/2024-01-15T02-00-00-000Z');
const VALIDATE = [B.validatePlan, B.validate, B.validateSummary];
const secrets = mockSecretsManager();
const sns = mockSns();

describe('the Validate Distributed Map of the backup machine with the real handlers, PostgreSQL and S3 (SNS and Secrets Manager mocked)', () => {
  let definitions: Definitions;
  let s3: TestS3Server;
  let source: TestDatabase;
  let restoreEnv: () => void;
  let output: OutputCapture;

  function tasks(overrides: Partial<Record<string, Handler>> = {}): Record<string, Handler> {
    return { [B.backup]: backup, ...validationTasks(), [B.publishResult]: notify, [B.alertInvalidBackup]: notify, [B.alertFailure]: notify, ...overrides } as Record<string, Handler>;
  }

  /** The backup task, then `damage` to what it wrote, before Validate reads it. */
  function backupThen(damage: (backupId: string) => Promise<void>): Handler {
    return async (event, context) => {
      const result = (await backup(event, context)) as BackupTaskResult;
      await damage(result.backupId);
      return result;
    };
  }

  async function s3Call<T>(send: (client: S3Client) => Promise<T>): Promise<T> {
    const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: S3RVER_REGION, credentials: S3RVER_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
    try {
      return await send(client);
    } finally {
      client.destroy();
    }
  }

  /** Flips one byte in the middle of an object. */
  async function flipByte(key: string): Promise<void> {
    const Key = `${PREFIX}/${key}`;
    const bytes = Buffer.from(await s3Call(async (c) => (await c.send(new GetObjectCommand({ Bucket: s3.bucket, Key }))).Body!.transformToByteArray()));
    bytes[Math.floor(bytes.length / 2)]! ^= 0x24;
    await s3Call((c) => c.send(new PutObjectCommand({ Bucket: s3.bucket, Key, Body: bytes })));
  }

  /** The files of a stored backup that a validation checks: everything but the manifest and the store's claim. */
  async function backupFiles(backupId: string): Promise<string[]> {
    const objects = await s3StoreFor(s3, PREFIX).listObjects(`${backupId}/`);
    return objects.map((o) => o.key.slice(backupId.length + 1)).filter((name) => name !== 'metadata.json' && name !== CLAIM_FILE).sort();
  }

  /** A Backup stand-in that puts the legacy fixture (with `files` replaced) into the bucket as `backupId`. */
  function legacyBackup(backupId: string, files: Record<string, string> = {}): Handler {
    return async () => {
      let totalBytes = 0;
      for (const name of await readdir(LEGACY_FIXTURE)) {
        const body = files[name] ?? (await readFile(path.join(LEGACY_FIXTURE, name), 'utf8'));
        totalBytes += Buffer.byteLength(body);
        await s3Call((c) => c.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${backupId}/${name}`, Body: body })));
      }
      const manifest = JSON.parse(await readFile(path.join(LEGACY_FIXTURE, 'metadata.json'), 'utf8')) as { tables: string[]; recordCounts: Record<string, number>; totalRecords: number };
      const result: BackupTaskResult = { backupId, scope: 'full', location: `s3://${s3.bucket}/${PREFIX}/${backupId}`, tables: manifest.tables, recordCounts: manifest.recordCounts, totalRecords: manifest.totalRecords, totalBytes, durationMs: 0, previousBackupId: null, sizeChangePercent: null, suspect: null };
      return result;
    };
  }

  beforeAll(async () => {
    definitions = synthDefinitions();
    s3 = await startS3Server();
    source = await createTestDatabase('wf_validate_src');
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

  it('checks every file of a new backup in its own Map item, several at once and at most MaxConcurrency (8), and returns exactly what the single validate task returns', async () => {
    let running = 0;
    let peak = 0;
    const counting: Handler = async (event, context) => {
      peak = Math.max(peak, ++running);
      try {
        return await validationTasks()[V.validateFile]!(event, context);
      } finally {
        running--;
      }
    };
    const run = await runMachine(definitions.backup, { trigger: 'schedule' }, tasks({ [V.validateFile]: counting }), 'IconicDrBackup');

    expect(run.error).toBeUndefined();
    expect(run.path).toEqual([B.backup, ...VALIDATE, B.isBackupValid, B.publishResult, B.succeeded]);
    const result = run.output!.backup as BackupTaskResult;
    const files = await backupFiles(result.backupId);
    // One item per table file plus the schema files, each checked once, with the run's execution.
    expect(files.length).toBeGreaterThan(SHOP_TABLES.length);
    expect(run.itemPath).toEqual(files.map(() => V.validateFile));
    const checked = (run.calls[V.validateFile] as { backupId: string; item: { key: string }; execution: { id: string } }[]);
    expect(checked.map((c) => c.item.key).sort()).toEqual(files);
    expect(new Set(checked.map((c) => `${c.backupId} ${c.execution.id}`))).toEqual(new Set([`${result.backupId} ${run.executionArn}`]));
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(8);

    // The step's result is the contract's, the same as the single task's (the Fargate route's), and
    // it replaced the plan at $.validation.
    const single = await validate({ backupId: result.backupId, execution: { id: run.executionArn, startTime: new Date().toISOString() } });
    expect(run.output!.validation).toEqual(single);
    expect(run.output!.validation).toEqual({ backupId: result.backupId, valid: true, problems: [], tables: SHOP_TABLES.length, totalRecords: result.totalRecords, totalBytes: result.totalBytes });
  });

  it('reports a file with one flipped byte as that file\'s problem, with valid false, and takes the invalid branch with its alert (SNS, Secrets Manager mocked)', async () => {
    let backupId = '';
    const run = await runMachine(definitions.backup, {}, tasks({ [B.backup]: backupThen(async (id) => flipByte(`${(backupId = id)}/${tableFileKey('orders', undefined, 'zstd', 'copy-text')}`)) }));

    expect(run.error?.name).toBe('BackupInvalid');
    expect(run.path).toEqual([B.backup, ...VALIDATE, B.isBackupValid, B.alertInvalidBackup, B.invalid]);
    const validation = run.output?.validation ?? (run.calls[B.alertInvalidBackup]?.[0] as { state: { validation: unknown } }).state.validation;
    expect(validation).toMatchObject({ backupId, valid: false, tables: SHOP_TABLES.length });
    const problems = (validation as { problems: string[] }).problems;
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.startsWith(`${tableFileKey('orders', undefined, 'zstd', 'copy-text')}: `))).toBe(true);
    expect(problems.join('\n')).toMatch(/orders\.copy\.zst: (SHA-256 .* \(corrupted\)|cannot be decompressed)/);
    // The same problems, in the same order, as the engine's own validation (the CLI's).
    expect(problems).toEqual([...(await validateBackup(s3StoreFor(s3, PREFIX), backupId)).problems]);
    const [alert] = sns.published();
    expect(alert?.Message).toContain('orders.copy.zst');
  });

  it('reports a missing file as missing, the other files checked as usual (SNS, Secrets Manager mocked)', async () => {
    let backupId = '';
    const key = tableFileKey('reviews', undefined, 'zstd', 'copy-text');
    const run = await runMachine(definitions.backup, {}, tasks({ [B.backup]: backupThen(async (id) => void (await s3Call((c) => c.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `${PREFIX}/${(backupId = id)}/${key}` }))))) }));

    expect(run.error?.name).toBe('BackupInvalid');
    expect(run.path).toEqual([B.backup, ...VALIDATE, B.isBackupValid, B.alertInvalidBackup, B.invalid]);
    const validation = (run.calls[B.alertInvalidBackup]?.[0] as { state: { validation: { valid: boolean; problems: string[] } } }).state.validation;
    expect(validation).toMatchObject({ backupId, valid: false, problems: [`${key}: missing`] });
    // Every file the manifest lists had its item, the missing one included.
    expect(run.itemPath).toHaveLength((await backupFiles(backupId)).length + 1);
  });

  it('validates a legacy backup file by file, and reports its broken file (SNS, Secrets Manager mocked)', async () => {
    const good = await runMachine(definitions.backup, {}, tasks({ [B.backup]: legacyBackup('2024-01-15T02-00-00-000Z') }));
    expect(good.error).toBeUndefined();
    expect(good.path).toEqual([B.backup, ...VALIDATE, B.isBackupValid, B.publishResult, B.succeeded]);
    const legacy = JSON.parse(await readFile(path.join(LEGACY_FIXTURE, 'metadata.json'), 'utf8')) as { tables: string[]; totalRecords: number };
    const stored = (good.output!.backup as BackupTaskResult).totalBytes;
    expect(good.output!.validation).toEqual({ backupId: '2024-01-15T02-00-00-000Z', valid: true, problems: [], tables: legacy.tables.length, totalRecords: legacy.totalRecords, totalBytes: stored });
    expect(good.itemPath).toEqual(legacy.tables.map(() => V.validateFile));
    expect((good.calls[V.validateFile] as { item: unknown }[]).map((c) => c.item)).toEqual(expect.arrayContaining(legacy.tables.map((table) => ({ kind: 'table', table, key: `${table}.json` }))));

    const broken = await runMachine(definitions.backup, {}, tasks({ [B.backup]: legacyBackup('2024-01-16T02-00-00-000Z', { 'orders.json': '[{"id": 1},' }) }));
    expect(broken.error?.name).toBe('BackupInvalid');
    const validation = (broken.calls[B.alertInvalidBackup]?.[0] as { state: { validation: { problems: string[] } } }).state.validation;
    expect(validation).toMatchObject({ valid: false, tables: legacy.tables.length, totalRecords: legacy.totalRecords });
    expect(validation.problems).toEqual([expect.stringMatching(/^orders\.json: not valid JSON \(/)]);
  });

  it('fails Validate with StorageError when a file check cannot read the bucket: FailedValidate, the critical alert, never "invalid" (SNS, Secrets Manager mocked)', async () => {
    // A fresh copy of the function (it reads its environment once), configured with a bucket that does not exist.
    const fresh = (await import(`../../lambdas/handlers/validate-file.js${freshQuery()}`)).handler as Handler;
    let files: string[] = [];
    const run = await runMachine(
      definitions.backup,
      {},
      tasks({
        [B.backup]: backupThen(async (id) => {
          files = await backupFiles(id);
        }),
        // The handler reads its configuration synchronously on its first call: the variable is set
        // only around that, so the checks running at the same time cannot leave it behind.
        [V.validateFile]: (event, context) => {
          const undo = setEnvironment({ BACKUP_BUCKET: 'no-such-bucket' });
          try {
            return fresh(event, context);
          } finally {
            undo();
          }
        },
      }),
    );

    expect(run.error).toEqual({ name: 'BackupFailed', message: 'Validate failed with StorageError. The backup was written but could not be validated: do not trust it yet.' });
    expect(run.path).toEqual([B.backup, ...VALIDATE, B.failedValidate, B.alertFailure, B.failed]);
    // Each file's check failed once (a missing bucket is not retried), was recorded in its item, and
    // the summary failed with the check's error.
    expect(run.itemPath.filter((state) => state === V.validateFile)).toHaveLength(files.length);
    expect(run.itemPath.filter((state) => state === V.fileCheckFailed)).toHaveLength(files.length);
    expect((run.results[V.validateFile] ?? []).every((r) => r instanceof Error && r.name === 'StorageError')).toBe(true);
    expect(run.calls[B.alertFailure]?.[0]).toMatchObject({ state: { failure: { step: B.validate, outcome: 'unvalidated-backup', error: 'StorageError' }, error: { Error: 'StorageError', Cause: expect.stringContaining('could not be checked') } } });
    expect(run.calls[B.alertInvalidBackup]).toBeUndefined();
    expect(sns.published().map((p) => p.TopicArn)).toEqual([ARNS.critical]);
  });
});
