import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { ConfigError, ConnectionError, CountMismatchError, LockTimeoutError, StorageError, UsageError } from '../../../lambdas/core/errors.js';
import { AlertDeliveryError, parseEvent, toTaskError, TransientError } from '../../../lambdas/handlers/shared/errors.js';
import { TRANSIENT_ERRORS } from '../../../lib/contract.js';

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
});
