import { describe, expect, it } from '@jest/globals';
import { isTransientAwsError } from '../../../lambdas/core/util/aws-errors.js';

describe('isTransientAwsError (S3 store and Lambda adapters alike)', () => {
  const sdk = (name: string, status: number, extra: object = {}) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, ...extra });

  it('recognizes transient AWS SDK failures', () => {
    expect(isTransientAwsError(sdk('ThrottlingException', 400))).toBe(true);
    expect(isTransientAwsError(sdk('InternalServiceError', 500))).toBe(true);
    expect(isTransientAwsError(sdk('Whatever', 503))).toBe(true);
    expect(isTransientAwsError(sdk('Whatever', 429))).toBe(true);
    expect(isTransientAwsError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransientAwsError(sdk('AccessDeniedException', 400))).toBe(false);
    expect(isTransientAwsError(sdk('AuthorizationError', 403))).toBe(false);
    expect(isTransientAwsError('nope')).toBe(false);
  });

  it('knows the names either list knew before they were one: S3 throttling, KMS, service errors', () => {
    for (const name of ['SlowDown', 'BandwidthLimitExceeded', 'KMS.KMSInternalException', 'KMS.DependencyTimeoutException', 'ServiceUnavailableException', 'InternalErrorException', 'TimeoutError']) {
      expect(isTransientAwsError(sdk(name, 400))).toBe(true);
    }
  });

  it('reads fields, not the prototype: a plain object from another realm classifies the same', () => {
    expect(isTransientAwsError({ name: 'Error', code: 'ECONNREFUSED' })).toBe(true);
    expect(isTransientAwsError({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } })).toBe(false);
  });
});
