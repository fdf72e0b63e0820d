import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ENV, METRICS } from '../../../lib/contract.js';
import { handler as backup, sizeChangePercent } from '../../../lambdas/handlers/backup.js';
import { handler as integrityCheck, schemasOf } from '../../../lambdas/handlers/integrity-check.js';
import { handler as notify } from '../../../lambdas/handlers/notify.js';
import { handler as pickBackup, matchTables } from '../../../lambdas/handlers/pick-backup.js';
import { handler as restore } from '../../../lambdas/handlers/restore.js';
import { handler as slackNotifier } from '../../../lambdas/handlers/slack-notifier.js';
import { handler as validate } from '../../../lambdas/handlers/validate.js';
import { handler as validateFile } from '../../../lambdas/handlers/validate-file.js';
import { handler as validatePlan } from '../../../lambdas/handlers/validate-plan.js';
import { handler as validateSummary } from '../../../lambdas/handlers/validate-summary.js';
import { handler as verifyCounts } from '../../../lambdas/handlers/verify-counts.js';
import { setEnvironment } from '../../workflow/support/environment.js';
import { ARNS, captureOutput, type Handler, lambdaContext, mockSecretsManager, mockSns, type OutputCapture } from '../../workflow/support/lambda.js';
import { because } from '../../helpers/expect-message.js';
import { freshQuery } from '../../helpers/fresh-module.js';

/**
 * The handlers' own logic, before any engine call: event validation, the production confirmation
 * rule, request checks, and how failures are thrown. Nothing here reaches S3 or PostgreSQL.
 */

const execution = { id: 'arn:aws:states:us-east-1:123456789012:execution:IconicDrRestore:unit', startTime: '2026-11-25T04:00:00.000Z' };
const ID = '2026-11-25T02-00-00-000Z';
const secrets = mockSecretsManager();
const sns = mockSns();

async function failure(handler: Handler, event: unknown): Promise<Error> {
  const outcome = await handler(event, lambdaContext('unit')).then(
    (value) => ({ value }),
    (error: unknown) => ({ error: error as Error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error;
}

describe('handler input validation and error mapping (Secrets Manager and SNS mocked)', () => {
  let restoreEnv: () => void;
  let output: OutputCapture;

  beforeAll(() => {
    restoreEnv = setEnvironment({
      [ENV.backupBucket]: 'vault',
      [ENV.backupPrefix]: 'backups',
      [ENV.sourceSecretArn]: ARNS.source,
      [ENV.targetSecretArns]: JSON.stringify({ staging: ARNS.staging, production: ARNS.production }),
      [ENV.verifySecretArns]: JSON.stringify({ staging: ARNS.stagingReadOnly, production: ARNS.productionReadOnly }),
      [ENV.restoreTargets]: 'staging,production',
      [ENV.criticalTopicArn]: ARNS.critical,
      [ENV.warningTopicArn]: ARNS.warning,
      [ENV.slackWebhookSecretArn]: ARNS.slack,
      // Nothing may reach S3 here: an unroutable endpoint makes a mistake fail loudly.
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1',
      AWS_REGION: 'us-east-1',
    });
  });

  afterAll(() => restoreEnv?.());

  beforeEach(() => {
    secrets.reset();
    secrets.values.clear();
    sns.reset();
    output = captureOutput();
  });

  afterEach(() => output.restore());

  it('rejects malformed events with one UsageError listing every problem (Secrets Manager mocked)', async () => {
    const cases: [Handler, unknown, RegExp][] = [
      [backup, { request: { tables: ['orders; DROP TABLE x'] }, execution }, /^Invalid backup input: request\.tables\.0: not a table name/],
      [backup, { request: {} }, /^Invalid backup input: execution: /],
      [validate, { backupId: '../etc', execution }, /backupId: a backup id, not a path/],
      [validatePlan, { backupId: '../etc', execution }, /^Invalid validate-plan input: backupId: a backup id, not a path/],
      [validateFile, { backupId: ID, item: { kind: 'table', key: 'orders.ndjson.zst' }, maxProblems: 0, execution }, /^Invalid validate-file input: item\.table: .+; maxProblems: /],
      [validateFile, { backupId: ID, item: { kind: 'schema', key: 'schema.json', table: 'orders' }, maxProblems: 3, execution }, /item: Unrecognized key: "table"/],
      [validateSummary, { validation: { backupId: ID }, execution }, /^Invalid validate-summary input: validation\./],
      [pickBackup, { request: { target: 'staging' }, execution }, /request\.backupId: missing: give a backup id, "latest" or "random"/],
      [pickBackup, { request: { backupId: 'latest', target: 'staging', drill: 'daily', maxAgeDays: 0 }, execution }, /request\.maxAgeDays: .+; request\.drill: /],
      [restore, { backupId: ID, target: 'staging', execution }, /^Invalid restore input: tables: .+; confirm: /],
      [verifyCounts, { backupId: ID, target: 'staging', tables: [], execution }, /tables: /],
      [integrityCheck, { backupId: ID, tables: null, execution }, /target: /],
      [notify, { event: 'BackupExploded', workflow: 'backup', execution, state: {} }, /event: /],
      [notify, { event: 'BackupFailed', workflow: 'backup', execution: { id: execution.id, startTime: 'yesterday' }, state: {} }, /execution\.startTime: /],
      [slackNotifier, { Records: [] }, /Records: no SNS records/],
      // Unknown keys are refused by name: a typo must never widen what a task does.
      [backup, { request: { tabels: ['orders'] }, execution }, /request: Unrecognized key: "tabels"/],
      [pickBackup, { request: { backupId: 'latest', target: 'staging', tabels: ['orders'] }, execution }, /request: Unrecognized key: "tabels"/],
      [restore, { backupId: ID, target: 'staging', tables: null, confirm: null, execution, force: true }, /Unrecognized key: "force"/],
      [verifyCounts, { backupId: ID, target: 'staging', tables: null, execution: { ...execution, extra: 1 } }, /execution: Unrecognized key: "extra"/],
      [notify, { event: 'BackupFailed', workflow: 'backup', execution, state: {}, topic: 'x' }, /Unrecognized key: "topic"/],
    ];
    for (const [handler, event, message] of cases) {
      const error = await failure(handler, event);
      because(JSON.stringify(event), () => expect(error.name).toBe('UsageError'));
      expect(error.message).toMatch(message);
    }
    expect(secrets.requested()).toEqual([]);
    // Each failure is logged once at ERROR with the error object, never returned.
    expect(output.logs().filter((line) => line.level === 'ERROR')).toHaveLength(cases.length);
  });

  describe('validate-summary (touches no storage)', () => {
    const plan = {
      backupId: ID,
      location: 's3://vault/backups',
      format: 'v1',
      level: 'rows',
      problems: [],
      tables: [
        { table: 'products', expectedRecords: 3 },
        { table: 'orders', expectedRecords: 4 },
      ],
      items: [
        { kind: 'table', table: 'products', key: 'products.part-0001.ndjson.zst' },
        { kind: 'table', table: 'products', key: 'products.part-0002.ndjson.zst' },
        { kind: 'table', table: 'orders', key: 'orders.ndjson.zst' },
        { kind: 'schema', key: 'schema.json' },
      ],
      totalRecords: 7,
      totalBytes: 4096,
      maxProblems: 10,
    };
    const good = [
      { key: 'products.part-0001.ndjson.zst', table: 'products', records: 2, problems: [] },
      { key: 'products.part-0002.ndjson.zst', table: 'products', records: 1, problems: [] },
      { key: 'orders.ndjson.zst', table: 'orders', records: 4, problems: [] },
      { key: 'schema.json', problems: [] },
    ];

    it('folds the files\' checks into the Validate result, problems in the manifest\'s order', async () => {
      expect(await validateSummary({ validation: { ...plan, results: good }, execution })).toEqual({ backupId: ID, valid: true, problems: [], tables: 2, totalRecords: 7, totalBytes: 4096 });
      const bad = [{ ...good[0]!, problems: ['products.part-0001.ndjson.zst: 1 records, the manifest says 2'] }, good[1]!, { key: 'orders.ndjson.zst', table: 'orders', problems: ['orders.ndjson.zst: missing'] }, { key: 'schema.json', problems: ['schema.json: missing'] }];
      expect(await validateSummary({ validation: { ...plan, results: bad }, execution })).toEqual({
        backupId: ID,
        valid: false,
        problems: ['products.part-0001.ndjson.zst: 1 records, the manifest says 2', 'orders.ndjson.zst: missing', 'schema.json: missing'],
        tables: 2,
        totalRecords: 7,
        totalBytes: 4096,
      });
      // An unusable manifest: its problems, no files.
      const { totalRecords: _none, ...unplanned } = plan;
      expect(await validateSummary({ validation: { ...unplanned, format: 'unknown', problems: ['metadata.json: missing (the backup is incomplete)'], tables: [], items: [], results: [] }, execution })).toEqual({
        backupId: ID,
        valid: false,
        problems: ['metadata.json: missing (the backup is incomplete)'],
        tables: 0,
        totalRecords: 0,
        totalBytes: 4096,
      });
      expect(secrets.requested()).toEqual([]);
    });

    it('fails with the error of a file check that failed, never reporting the backup invalid; a transient one as FileCheckFailed (no retry of the summary)', async () => {
      const failed = (Error: string, Cause: string) => [good[0]!, { key: 'products.part-0002.ndjson.zst', error: { Error, Cause } }, { key: 'orders.ndjson.zst', error: { Error } }, good[3]!];
      const storage = await failure(validateSummary, { validation: { ...plan, results: failed('StorageError', JSON.stringify({ errorType: 'StorageError', errorMessage: 'S3 is unreachable', trace: [] })) }, execution });
      expect(storage.name).toBe('StorageError');
      expect(storage.message).toBe('products.part-0002.ndjson.zst could not be checked (StorageError: S3 is unreachable); 1 more files could not be checked either. Validate again once the cause is fixed');
      const transient = await failure(validateSummary, { validation: { ...plan, results: failed('TransientError', 'throttled') }, execution });
      expect(transient.name).toBe('FileCheckFailed');
      expect(transient.message).toMatch(/^products\.part-0002\.ndjson\.zst could not be checked \(TransientError: throttled\)/);
      // Checks that do not match the plan are the summary's input error.
      expect(await failure(validateSummary, { validation: { ...plan, results: good.slice(1) }, execution })).toMatchObject({ name: 'UsageError', message: expect.stringContaining('The checks do not match the plan') });
    });
  });

  it('refuses a production restore unless confirm equals the backup id, before reading any credentials (Secrets Manager mocked)', async () => {
    for (const confirm of [null, 'latest', '2026-11-24T02-00-00-000Z']) {
      const error = await failure(restore, { backupId: ID, target: 'production', tables: null, confirm, execution });
      expect(error.name).toBe('ConfirmationRequiredError');
      expect(error.message).toBe(`A restore into production needs confirmation: start it again with "confirm": "${ID}" in the input. Nothing was changed.`);
    }
    expect(secrets.requested()).toEqual([]);
  });

  it('fails a restore into a target whose secret is still the placeholder with a ConfigError naming the secret (Secrets Manager mocked)', async () => {
    secrets.values.set(ARNS.staging, JSON.stringify({ engine: 'postgres', host: '', port: 5432, dbname: 'postgres', username: 'postgres', password: 'generated', sslmode: 'require' }));
    const error = await failure(restore, { backupId: ID, target: 'staging', tables: null, confirm: null, execution });
    expect(error).toMatchObject({ name: 'ConfigError', message: expect.stringContaining(`restore target "staging" secret ${ARNS.staging} is not configured yet`) });
    const unknown = await failure(verifyCounts, { backupId: ID, target: 'qa', tables: null, execution });
    expect(unknown).toMatchObject({ name: 'UsageError', message: 'Unknown restore target "qa": use one of staging, production' });
  });

  it('checks the restore request in PickBackup before looking for backups', async () => {
    const unknown = await failure(pickBackup, { request: { backupId: 'latest', target: 'qa' }, execution });
    expect(unknown).toMatchObject({ name: 'UsageError', message: 'Unknown restore target "qa": use one of staging, production' });
    const maxAge = await failure(pickBackup, { request: { backupId: 'latest', target: 'staging', maxAgeDays: 3 }, execution });
    expect(maxAge).toMatchObject({ name: 'UsageError', message: '"maxAgeDays" goes with "backupId": "random" only' });
  });

  it('sends a production request on the staging machine to the production machine, before looking for backups', async () => {
    const undo = setEnvironment({ [ENV.restoreTargets]: 'staging' });
    try {
      const stagingPick = (await import(`../../../lambdas/handlers/pick-backup.js${freshQuery()}`)).handler as Handler;
      const error = await failure(stagingPick, { request: { backupId: ID, target: 'production', confirm: ID }, execution });
      expect(error).toMatchObject({ name: 'UsageError', message: expect.stringContaining('runs through the production restore state machine (stack output ProductionRestoreStateMachineArn)') });
    } finally {
      undo();
    }
  });

  it('notify: refuses an event of the other workflow, and maps SNS failures while still flushing the metrics (SNS mocked)', async () => {
    expect(await failure(notify, { event: 'RestoreSucceeded', workflow: 'backup', execution, state: {} })).toMatchObject({ name: 'UsageError', message: 'Event RestoreSucceeded does not belong to the backup workflow' });

    sns.failWith(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
    const throttled = await failure(notify, { event: 'BackupFailed', workflow: 'backup', execution, state: { error: { Error: 'ConnectionError', Cause: 'down' } } });
    expect(throttled.name).toBe('TransientError');
    expect(output.metric(METRICS.backupStatus)).toEqual([0]);
    // A throttled publish may be delivered by the retry: not counted as undelivered.
    expect(output.metric(METRICS.alertDeliveryFailures)).toEqual([]);

    sns.failWith(Object.assign(new Error('User is not authorized to perform: SNS:Publish'), { name: 'AuthorizationErrorException', $metadata: { httpStatusCode: 403 } }));
    const denied = await failure(notify, { event: 'BackupFailed', workflow: 'backup', execution, state: {} });
    expect(denied).toMatchObject({ name: 'AlertDeliveryError', message: expect.stringContaining(`SNS refused the alert for ${ARNS.critical}`) });
    // A refusal is final: counted at once, so the alert-delivery alarm pages without waiting for retries.
    expect(output.metric(METRICS.alertDeliveryFailures)).toEqual([1]);
  });

  it('notify: publishes to the topic of the routing and returns what it published (SNS mocked)', async () => {
    const result = await notify({ event: 'RestoreFailed', workflow: 'restore', execution, state: { backupId: 'latest', target: 'production', error: { Error: 'BackupNotFoundError', Cause: 'No backup' } } });
    expect(result).toEqual({ event: 'RestoreFailed', published: ['critical'], recoveryTimeSeconds: null });
    expect(sns.published()).toEqual([
      expect.objectContaining({
        TopicArn: ARNS.critical,
        Subject: 'CRITICAL iconic-dr: restore into production failed at PickBackup (BackupNotFoundError)',
        MessageAttributes: expect.objectContaining({ severity: { DataType: 'String', StringValue: 'critical' }, event: { DataType: 'String', StringValue: 'RestoreFailed' } }),
      }),
    ]);
    const [emf] = output.metrics();
    expect(emf).toMatchObject({ namespace: 'LiveItIconic', dimensions: [['service']], service: 'iconic-dr', values: { [METRICS.restoreStatus]: 0 } });
  });

  it('helpers: table matching, size change, integrity schemas', () => {
    expect(matchTables(ID, ['public.orders', 'products', 'orders'], ['products', 'orders', 'sales.refunds'])).toEqual(['orders', 'products']);
    expect(matchTables(ID, ['sales.refunds'], ['products', 'sales.refunds'])).toEqual(['sales.refunds']);
    expect(() => matchTables(ID, ['order', 'x.products'], ['products', 'orders'])).toThrow(`Backup ${ID} has no table order, x.products; it has: products, orders`);
    expect(sizeChangePercent(150, 100)).toBe(50);
    expect(sizeChangePercent(1000, 3000)).toBe(-66.67);
    expect(sizeChangePercent(100, undefined)).toBeNull();
    expect(sizeChangePercent(100, 0)).toBeNull();
    expect(schemasOf(null)).toEqual(['public']);
    expect(schemasOf(['products', 'sales.refunds', 'public.orders', 'sales.x'])).toEqual(['public', 'sales']);
  });
});
