import { describe, expect, it } from '@jest/globals';
import { StorageError, UsageError, describeError } from '../../../lambdas/core/errors.js';
import { redactCredentials } from '../../../lambdas/core/util/redact.js';

describe('redactCredentials', () => {
  it('keeps the user and host of a database URL and drops its password', () => {
    expect(redactCredentials('Unsupported location postgres://user:PASSWORD@db.example.com:5432/shop: use a folder')).toBe(
      'Unsupported location postgres://user:***@db.example.com:5432/shop: use a folder',
    );
  });

  it('redacts up to the last @, so a password with unescaped @ # / ? leaks no tail', () => {
    const text = redactCredentials('bad postgresql://admin:p@ss#wo/rd?x@host/db and more');
    expect(text).toBe('bad postgresql://admin:***@host/db and more');
    for (const piece of ['p@ss', 'ss#wo', 'rd?x']) expect(text).not.toContain(piece);
  });

  it('redacts every URL of a message, any scheme, and secret query parameters', () => {
    const text = redactCredentials('from s3://k:SECRET1@bucket/p to https://u:SECRET2@h/x?X-Amz-Signature=SECRET3&a=1 (mysql://r:SECRET4@m)');
    for (const secret of ['SECRET1', 'SECRET2', 'SECRET3', 'SECRET4']) expect(text).not.toContain(secret);
    expect(text).toContain('a=1');
  });

  it('leaves text without credentials as it is', () => {
    for (const text of ['s3://bucket/prefix/2024-01-15T02-00-00-000Z', 'postgres://user@host/db', 'plain words: a=b', '/backups/x@y']) expect(redactCredentials(text)).toBe(text);
  });

  it('applies to every DrError message and to describeError of foreign errors', () => {
    expect(new UsageError('Unsupported location postgres://u:HUNTER2@h/db').message).not.toContain('HUNTER2');
    expect(new StorageError('no s3://AKIA:HUNTER2@bucket').message).not.toContain('HUNTER2');
    expect(describeError(new Error('connect postgres://u:HUNTER2@h/db failed'))).not.toContain('HUNTER2');
  });
});
