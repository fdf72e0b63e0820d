import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { BackupNotFoundError, ConfigError, ConnectionError, CountMismatchError, LockTimeoutError, StorageError, UsageError, type Hint } from '../../../lambdas/core/errors.js';
import { AlertDeliveryError, parseEvent, toTaskError, TransientError } from '../../../lambdas/handlers/shared/errors.js';
import { awsAdvice } from '../../../lambdas/handlers/shared/hints.js';
import { taskHandler } from '../../../lambdas/handlers/shared/task.js';
import { withCliHint } from '../../../bin/cli/hints.js';
import { TRANSIENT_ERRORS } from '../../../lib/contract.js';
import { because } from '../../helpers/expect-message.js';

/** Every hint, checked complete by the compiler. */
const HINTS = Object.keys({
  'list-backups': true,
  'allow-suspect': true,
  'backup-location': true,
  'create-backup': true,
  'choose-tables': true,
  'restore-referencing-tables': true,
  'use-postgres-driver': true,
  'use-existing-server': true,
  confirm: true,
} satisfies Record<Hint, true>) as Hint[];

describe('task error mapping (what Step Functions Retry/Catch see)', () => {
  it('turns a retryable DrError into TransientError, keeping message and cause', () => {
    for (const original of [new ConnectionError('Cannot connect to db:5432/postgres: ECONNRESET'), new StorageError('S3 is throttling', { retryable: true }), new LockTimeoutError('locks'), new AlertDeliveryError('SNS busy', { retryable: true })]) {
      const mapped = toTaskError(original);
      expect(mapped).toBeInstanceOf(TransientError);
      expect(mapped.name).toBe('TransientError');
      expect(TRANSIENT_ERRORS).toContain(mapped.name);
      expect(mapped.message).toBe(original.message);
      expect(mapped.cause).toBe(original);
    }
  });

  it('rethrows permanent errors as they are, under their own name', () => {
    const cases = [
      [new CountMismatchError('orders differs'), 'CountMismatchError'],
      [new ConfigError('secret not configured'), 'ConfigError'],
      [new ConnectionError('bad password', { retryable: false }), 'ConnectionError'],
      [new StorageError('Access denied'), 'StorageError'],
      [new UsageError('bad input'), 'UsageError'],
      [new TypeError('a bug'), 'TypeError'],
    ] as const;
    for (const [error, name] of cases) {
      expect(toTaskError(error)).toBe(error);
      expect(toTaskError(error).name).toBe(name);
      expect(TRANSIENT_ERRORS).not.toContain(name);
    }
  });

  it('never returns a non-Error', () => {
    expect(toTaskError('boom')).toMatchObject({ name: 'Error', message: 'boom' });
    expect(toTaskError(undefined)).toBeInstanceOf(Error);
    const transient = new TransientError('again');
    expect(toTaskError(transient)).toBe(transient);
  });

  it('reports every schema problem of an event in one UsageError, without the values', () => {
    const schema = z.object({ backupId: z.string().min(1), target: z.enum(['staging', 'production']), tables: z.array(z.string()).optional() });
    const error = (() => {
      try {
        parseEvent(schema, { backupId: '', target: 'prod-secret-value', tables: 'orders' }, 'restore');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error?.message).toMatch(/^Invalid restore input: backupId: .+; target: .+; tables: .+$/);
    expect(error?.message).not.toContain('prod-secret-value');
  });

  it('ends the message of a hinted error with advice in state machine terms, never a CLI flag, keeping the error itself', () => {
    const error = new BackupNotFoundError('No backup 2019-01-01T00-00-00-000Z in s3://vault/backups', { hint: 'list-backups' });
    const mapped = toTaskError(error);
    expect(mapped).toBe(error);
    expect(mapped.name).toBe('BackupNotFoundError');
    expect(mapped.message).toBe('No backup 2019-01-01T00-00-00-000Z in s3://vault/backups; set "backupId" in the restore input to a backup the vault holds (the admin API lists them at /admin/backups), or to "latest"');
    expect(mapped.message).not.toContain('iconic-dr list');
    // Mapped twice (a container step maps what the handler already mapped): the advice once.
    expect(toTaskError(mapped).message).toBe(mapped.message);

    const retryable = toTaskError(new StorageError('S3 is throttling', { retryable: true, hint: 'backup-location' }));
    expect(retryable).toBeInstanceOf(TransientError);
    expect(retryable.message).toBe(`S3 is throttling; ${awsAdvice('backup-location')}`);
  });

  it('words every hint for AWS without the flags or commands of the CLI, and differently from it', () => {
    for (const hint of HINTS) {
      const advice = awsAdvice(hint);
      because(`hint ${hint}: ${advice}`, () => expect(advice).not.toMatch(/--[a-z]|iconic-dr|`/));
      because(`hint ${hint}`, () => expect(withCliHint('x', hint)).not.toBe(`x; ${advice}`));
    }
  });

  it('a handler failing with a hinted error throws it with the AWS advice and not the CLI flag', async () => {
    const handler = taskHandler({
      name: 'restore',
      event: z.object({}),
      run: async () => {
        throw new UsageError('Cannot empty the tables: orders is referenced by order_items. Restore the referencing tables too', { hint: 'restore-referencing-tables' });
      },
    });
    const failure = await handler({}).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure).toBeInstanceOf(UsageError);
    expect(failure?.message).toBe('Cannot empty the tables: orders is referenced by order_items. Restore the referencing tables too; leave "tables" out of the restore input, or add them to it');
    expect(failure?.message).not.toContain('--tables');
  });
});
