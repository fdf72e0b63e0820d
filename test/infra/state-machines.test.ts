import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { BACKUP_STATES as B, CONFIRMATION_REQUIRED_ERROR, RESTORE_STATES as R, TRANSIENT_ERRORS, VALIDATE_FILE_STATES as V } from '../../lib/index.js';
import { type AslDefinition, definitionOf, logicalId, synthStack } from './helpers.js';
import '../helpers/promise-polyfill.js';

/**
 * The task I/O contract, executed: the synthesized definitions (from the template) run in
 * aws-local-stepfunctions with stub handlers bound by state name. The stubs return exactly the
 * documented shapes; the real handlers are exercised by test/workflow.
 */


type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Handler = (input: Json) => Promise<Json>;

const EXECUTION_ID = 'arn:aws:states:us-east-1:123456789012:execution:IconicDrRestore:test-run';
const BACKUP_ID = '2024-01-15T02-00-00-000Z';

let backupDefinition: AslDefinition;
let restoreDefinition: AslDefinition;

beforeAll(() => {
  const { stack, resources } = synthStack();
  backupDefinition = definitionOf(resources, logicalId(stack.backup.stateMachine));
  restoreDefinition = definitionOf(resources, logicalId(stack.restore.stateMachine));
});

function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** Runs a definition with stubs, recording every task's input by state name. */
async function execute(definition: AslDefinition, input: Json, stubs: Record<string, Handler>) {
  const calls: Record<string, Json[]> = {};
  const handlers = Object.fromEntries(
    Object.entries(stubs).map(([state, stub]) => [
      state,
      async (event: Json) => {
        (calls[state] ??= []).push(event);
        return stub(event);
      },
    ]),
  );
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  // The states inside the Validate Map's items too.
  const names = Object.entries(definition.States).flatMap(([name, state]) => [name, ...Object.keys((state.ItemProcessor as AslDefinition | undefined)?.States ?? {})]);
  const retryIntervalOverrides = Object.fromEntries(names.map((name) => [name, 0]));
  const run = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
    context: { Execution: { Id: EXECUTION_ID } } as never,
  });
  try {
    return { output: (await run.result) as Record<string, Json>, calls, error: undefined };
  } catch (error) {
    if (!(error instanceof ExecutionError)) throw error;
    const cause = error.cause as Error;
    return { output: undefined, calls, error: { name: cause.name, message: cause.message } };
  }
}

const execution = { id: EXECUTION_ID, startTime: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) };

// Results the handlers return (the contract).
const backupResult = {
  backupId: BACKUP_ID,
  location: `s3://bucket/backups/${BACKUP_ID}`,
  tables: ['public.products', 'public.orders'],
  recordCounts: { 'public.products': 5234, 'public.orders': 12543 },
  totalRecords: 17777,
  totalBytes: 1234567,
  durationMs: 81234,
  previousBackupId: '2024-01-14T02-00-00-000Z',
  sizeChangePercent: 3.5,
};
const validResult = { backupId: BACKUP_ID, valid: true, problems: [], tables: 2, totalRecords: 17777, totalBytes: 1234567 };
const invalidResult = { ...validResult, valid: false, problems: ['public.orders.ndjson.gz: sha256 mismatch'] };
// The Validate step's Lambda route: the plan, one check per file (the Distributed Map), the summary.
const items: { kind: string; key: string; table?: string }[] = [
  { kind: 'table', table: 'public.products', key: 'public.products.ndjson.zst' },
  { kind: 'table', table: 'public.orders', key: 'public.orders.ndjson.zst' },
  { kind: 'schema', key: 'schema.json' },
];
const planResult: { [key: string]: Json } = {
  backupId: BACKUP_ID,
  location: `s3://bucket/backups/${BACKUP_ID}`,
  format: 'v1',
  level: 'rows',
  problems: [],
  tables: [
    { table: 'public.products', expectedRecords: 5234 },
    { table: 'public.orders', expectedRecords: 12543 },
  ],
  items: items as Json[],
  totalRecords: 17777,
  totalBytes: 1234567,
  maxProblems: 10,
};
const fileResult = (event: Json): Json => {
  const item = (event as { item: { key: string; table?: string } }).item;
  return { key: item.key, ...(item.table ? { table: item.table } : {}), problems: [] };
};
/** The stubs of the Validate states that validate, ending in `summary`'s result. */
const validation = (summary: Json = validResult): Record<string, Handler> => ({
  [B.validatePlan]: async () => planResult,
  [V.validateFile]: async (event) => fileResult(event),
  [B.validateSummary]: async () => summary,
});
const notifyResult = (event: string) => ({ event, published: ['warning'], recoveryTimeSeconds: null });

describe('backup state machine', () => {
  const happy = (): Record<string, Handler> => ({
    [B.backup]: async () => backupResult,
    ...validation(),
    [B.publishResult]: async (event) => notifyResult((event as { event: string }).event),
    [B.alertInvalidBackup]: async (event) => notifyResult((event as { event: string }).event),
    [B.alertFailure]: async (event) => notifyResult((event as { event: string }).event),
  });

  it('backs up, validates and publishes the result, passing each task the documented input', async () => {
    const { output, calls, error } = await execute(backupDefinition, { trigger: 'schedule' }, happy());
    expect(error).toBeUndefined();
    expect(calls[B.backup]).toEqual([{ request: { trigger: 'schedule' }, execution }]);
    expect(calls[B.validatePlan]).toEqual([{ backupId: BACKUP_ID, execution }]);
    // One check per file, each with the parent execution (a child execution's own is not the run's).
    expect(calls[V.validateFile]).toHaveLength(items.length);
    expect(calls[V.validateFile]).toEqual(expect.arrayContaining(items.map((item) => ({ backupId: BACKUP_ID, item, maxProblems: 10, execution }))));
    // The summary gets the plan with every file's check, in the plan's order; its result replaces the plan.
    expect(calls[B.validateSummary]).toEqual([{ validation: { ...planResult, results: items.map((item) => fileResult({ item })) }, execution }]);
    expect(calls[B.publishResult]).toEqual([
      { event: 'BackupSucceeded', workflow: 'backup', execution, state: { trigger: 'schedule', backup: backupResult, validation: validResult } },
    ]);
    expect(output).toEqual({ trigger: 'schedule', backup: backupResult, validation: validResult, notification: notifyResult('BackupSucceeded') });
  });

  it('alerts and fails when the new backup is invalid', async () => {
    const { calls, error } = await execute(backupDefinition, {}, { ...happy(), ...validation(invalidResult) });
    expect(error?.name).toBe('BackupInvalid');
    expect(calls[B.publishResult]).toBeUndefined();
    expect(calls[B.alertInvalidBackup]).toEqual([{ event: 'BackupInvalid', workflow: 'backup', execution, state: { backup: backupResult, validation: invalidResult } }]);
  });

  it('alerts with the error and fails when a task fails, without retrying permanent errors', async () => {
    const { calls, error } = await execute(backupDefinition, {}, { ...happy(), [B.backup]: async () => Promise.reject(namedError('ConnectionError', 'could not connect to db.example.com')) });
    expect(error?.name).toBe('BackupFailed');
    expect(calls[B.backup]).toHaveLength(1);
    expect(calls[B.validatePlan]).toBeUndefined();
    const failure = { step: 'Backup', outcome: 'no-backup', error: 'ConnectionError', summary: 'Backup failed with ConnectionError. No new backup was written; the newest complete backup is older than planned.' };
    expect(calls[B.alertFailure]).toEqual([
      { event: 'BackupFailed', workflow: 'backup', execution, state: { error: { Error: 'ConnectionError', Cause: 'could not connect to db.example.com' }, failure } },
    ]);
    expect(error?.message).toBe(failure.summary);
  });

  it('still ends in BackupFailed saying what failed when the alert itself fails, and never reports a valid backup as failed when only publishing fails', async () => {
    const broken = async () => Promise.reject(namedError('AlertDeliveryError', 'SNS refused'));
    const failedRun = await execute(backupDefinition, {}, { ...happy(), [B.validatePlan]: async () => Promise.reject(namedError('StorageError', 'S3 down')), [B.alertFailure]: broken });
    expect(failedRun.error).toEqual({ name: 'BackupFailed', message: 'Validate failed with StorageError. The backup was written but could not be validated: do not trust it yet.' });

    const publishRun = await execute(backupDefinition, {}, { ...happy(), [B.publishResult]: broken });
    expect(publishRun.error?.name).toBe('NotificationFailed');
    expect(publishRun.error?.message).toMatch(/^The backup is complete and valid; only publishing/);
    expect(publishRun.calls[B.alertFailure]).toBeUndefined();
  });

  it('records a file check that failed inside its Map item and hands it to the summary, whose error fails Validate', async () => {
    let attempts = 0;
    const { calls, error } = await execute(backupDefinition, {}, {
      ...happy(),
      [V.validateFile]: async (event) => ((event as { item: { key: string } }).item.key === items[1]!.key ? (attempts++, Promise.reject(namedError('StorageError', 'S3 down'))) : fileResult(event)),
      [B.validateSummary]: async () => Promise.reject(namedError('StorageError', `${items[1]!.key} could not be checked`)),
    });
    expect(attempts).toBe(1);
    const results = (calls[B.validateSummary]?.[0] as { validation: { results: Json[] } }).validation.results;
    expect(results).toEqual([fileResult({ item: items[0]! }), { key: items[1]!.key, error: { Error: 'StorageError', Cause: 'S3 down' } }, fileResult({ item: items[2]! })]);
    expect(error).toEqual({ name: 'BackupFailed', message: 'Validate failed with StorageError. The backup was written but could not be validated: do not trust it yet.' });
    expect(calls[B.alertFailure]?.[0]).toMatchObject({ state: { failure: { step: 'Validate', outcome: 'unvalidated-backup', error: 'StorageError' } } });
  });

  it('retries TransientError and Lambda service errors', async () => {
    for (const name of ['TransientError', 'Lambda.TooManyRequestsException']) {
      let attempts = 0;
      const { calls, error } = await execute(backupDefinition, {}, {
        ...happy(),
        [B.backup]: async () => (++attempts < 3 ? Promise.reject(namedError(name, 'try again')) : backupResult),
      });
      expect(error).toBeUndefined();
      expect(calls[B.backup]).toHaveLength(3);
    }
    expect(TRANSIENT_ERRORS).toContain('TransientError');
  });
});

describe('restore state machine', () => {
  const picked = (overrides: Record<string, Json> = {}) => ({
    backupId: BACKUP_ID,
    requested: 'latest',
    target: 'staging',
    confirm: null,
    tables: null,
    drill: null,
    location: `s3://bucket/backups/${BACKUP_ID}`,
    ...overrides,
  });
  const restoreResult = { backupId: BACKUP_ID, target: 'staging', tables: ['public.products'], restoredRecords: { 'public.products': 5234 }, totalRecords: 5234, durationMs: 4200 };
  const verifyResult = { ok: true, tables: [{ table: 'public.products', expected: 5234, actual: 5234, diff: 0 }] };
  const integrityResult = { ok: true, orphans: [], invalidConstraints: [] };

  const stubs = (pick: Json = picked()): Record<string, Handler> => ({
    [R.pickBackup]: async () => pick,
    ...validation(),
    [R.alertInvalidBackup]: async (event) => notifyResult((event as { event: string }).event),
    [R.restore]: async () => restoreResult,
    [R.verifyCounts]: async () => verifyResult,
    [R.integrityCheck]: async () => integrityResult,
    [R.notifySuccess]: async () => ({ event: 'RestoreSucceeded', published: ['warning'], recoveryTimeSeconds: 42 }),
    [R.notifyFailure]: async (event) => notifyResult((event as { event: string }).event),
  });

  it('restores into staging, passing each task the documented input, and reports success', async () => {
    const input = { backupId: 'latest', target: 'staging' };
    const { output, calls, error } = await execute(restoreDefinition, input, stubs());
    expect(error).toBeUndefined();
    expect(calls[R.pickBackup]).toEqual([{ request: input, execution }]);
    expect(calls[R.validatePlan]).toEqual([{ backupId: BACKUP_ID, execution }]);
    expect(calls[V.validateFile]).toHaveLength(items.length);
    expect(calls[R.validateSummary]).toEqual([{ validation: { ...planResult, results: items.map((item) => fileResult({ item })) }, execution }]);
    const resolved = { backupId: BACKUP_ID, target: 'staging', tables: null, execution };
    expect(calls[R.restore]).toEqual([{ ...resolved, confirm: null }]);
    expect(calls[R.verifyCounts]).toEqual([resolved]);
    expect(calls[R.integrityCheck]).toEqual([resolved]);
    const state = { ...input, backup: picked(), validation: validResult, restore: restoreResult, verification: verifyResult, integrity: integrityResult };
    expect(calls[R.notifySuccess]).toEqual([{ event: 'RestoreSucceeded', workflow: 'restore', execution, state }]);
    expect(output).toEqual({ ...state, notification: { event: 'RestoreSucceeded', published: ['warning'], recoveryTimeSeconds: 42 } });
  });

  it('passes the resolved table list through', async () => {
    const { calls } = await execute(restoreDefinition, { backupId: BACKUP_ID, target: 'staging', tables: ['products'] }, stubs(picked({ tables: ['public.products'] })));
    expect(calls[R.restore]?.[0]).toMatchObject({ tables: ['public.products'] });
  });

  it('refuses a production restore without confirm before anything is touched, saying what to type', async () => {
    const { calls, error } = await execute(restoreDefinition, { backupId: 'latest', target: 'production' }, stubs(picked({ target: 'production' })));
    expect(error?.name).toBe(CONFIRMATION_REQUIRED_ERROR);
    expect(error?.message).toContain(`"confirm": "${BACKUP_ID}"`);
    expect(Object.keys(calls)).toEqual([R.pickBackup]);
  });

  it('refuses a production restore whose confirm names another backup', async () => {
    const { calls, error } = await execute(restoreDefinition, { backupId: 'latest', target: 'production', confirm: 'latest' }, stubs(picked({ target: 'production', confirm: 'latest' })));
    expect(error?.name).toBe(CONFIRMATION_REQUIRED_ERROR);
    expect(calls[R.restore]).toBeUndefined();
  });

  it('restores into production when confirm equals the resolved backup id', async () => {
    const { calls, error } = await execute(restoreDefinition, { backupId: BACKUP_ID, target: 'production', confirm: BACKUP_ID }, stubs(picked({ target: 'production', confirm: BACKUP_ID, requested: BACKUP_ID })));
    expect(error).toBeUndefined();
    expect(calls[R.restore]).toEqual([{ backupId: BACKUP_ID, target: 'production', tables: null, confirm: BACKUP_ID, execution }]);
  });

  it('alerts and stops at validation when the backup is invalid, never touching the target', async () => {
    const { calls, error } = await execute(restoreDefinition, { backupId: 'latest', target: 'staging' }, { ...stubs(), ...validation(invalidResult) });
    expect(error?.name).toBe('BackupInvalid');
    expect(calls[R.restore]).toBeUndefined();
    expect(calls[R.alertInvalidBackup]?.[0]).toMatchObject({ event: 'BackupInvalid', workflow: 'restore', state: { validation: invalidResult } });
  });

  const consequences: Record<string, [string, RegExp]> = {
    [R.pickBackup]: ['untouched', /nothing was done to the target/],
    [R.validatePlan]: ['untouched', /the target was not touched/],
    [R.validateSummary]: ['untouched', /the target was not touched/],
    [R.restore]: ['unchanged', /refused before it began or rolled back: the target is exactly as it was before/],
    [R.verifyCounts]: ['committed-unverified', /The restore was COMMITTED and then failed verification: .*row counts differ/],
    [R.integrityCheck]: ['committed-unverified', /The restore was COMMITTED and then failed verification: .*integrity check/],
  };
  // A failure in ValidatePlan or ValidateSummary is a failure of the Validate step.
  const stepOf = (state: string) => (state === R.validatePlan || state === R.validateSummary ? R.validate : state);
  for (const failing of [R.pickBackup, R.validatePlan, R.validateSummary, R.restore, R.verifyCounts, R.integrityCheck]) {
    it(`sends a failure in ${failing} to NotifyFailure with the step and the error, and its Fail state says what happened to the target`, async () => {
      const input = { backupId: 'random', maxAgeDays: 7, target: 'staging', drill: 'weekly' };
      const { calls, error } = await execute(restoreDefinition, input, { ...stubs(picked({ requested: 'random', drill: 'weekly' })), [failing]: async () => Promise.reject(namedError('CountMismatchError', `${failing} broke`)) });
      expect(error?.name).toBe('RestoreFailed');
      expect(calls[failing]).toHaveLength(1);
      expect(calls[R.notifySuccess]).toBeUndefined();
      expect(calls[R.notifyFailure]).toEqual([
        {
          event: 'RestoreFailed',
          workflow: 'restore',
          execution,
          state: expect.objectContaining({ ...input, error: { Error: 'CountMismatchError', Cause: `${failing} broke` }, failure: expect.objectContaining({ step: stepOf(failing), outcome: consequences[failing]![0], error: 'CountMismatchError' }) }),
        },
      ]);
      expect(error?.message).toMatch(new RegExp(`^${stepOf(failing)} failed with CountMismatchError\\. `));
      expect(error?.message).toMatch(consequences[failing]![1]);
      // "rolled back" is said only where it is true.
      if (consequences[failing]![0] === 'committed-unverified') expect(error?.message).not.toMatch(/rolled back/);
    });
  }

  it('ends in RestoreFailed with the truth when NotifyFailure itself fails, and in NotificationFailed (not RestoreFailed) when only the success notice fails', async () => {
    const broken = async () => Promise.reject(namedError('AlertDeliveryError', 'SNS refused'));
    const failedRun = await execute(restoreDefinition, { backupId: 'latest', target: 'staging' }, { ...stubs(), [R.verifyCounts]: async () => Promise.reject(namedError('CountMismatchError', 'differ')), [R.notifyFailure]: broken });
    expect(failedRun.error?.name).toBe('RestoreFailed');
    expect(failedRun.error?.message).toMatch(/^VerifyCounts failed with CountMismatchError\. The restore was COMMITTED/);

    const succeededRun = await execute(restoreDefinition, { backupId: 'latest', target: 'staging' }, { ...stubs(), [R.notifySuccess]: broken });
    expect(succeededRun.error?.name).toBe('NotificationFailed');
    expect(succeededRun.error?.message).toMatch(/^The restore succeeded and was verified/);
    expect(succeededRun.calls[R.notifyFailure]).toBeUndefined();
  });
});
