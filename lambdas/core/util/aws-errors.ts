/**
 * The one answer to "may an AWS call that failed succeed if tried again later?", for the S3 store
 * and the Lambda adapters (Secrets Manager, SNS). It reads the error's fields only (name, code,
 * status, `$retryable`), never `instanceof`: a network error from another realm (a test runner's
 * sandbox, a second copy of a library) is classified the same as in production.
 */

/** The fields of an AWS SDK v3 error (or a Node network error) that say what went wrong. */
export interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number; attempts?: number };
}

export function sdkError(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/** Error names of throttling and of service-side failures, across S3, KMS, SNS and Secrets Manager. */
const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'InternalError',
  'InternalErrorException',
  'InternalServiceError',
  'InternalServiceErrorException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'KMSThrottlingException',
  'KMS.ThrottlingException',
  'KMS.KMSInternalException',
  'KMS.DependencyTimeoutException',
]);

/** Node's codes for a connection that failed or broke: the network, not the request. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN']);

/** True when an AWS SDK (or network) failure may succeed on a later attempt. */
export function isTransientAwsError(error: unknown): boolean {
  const e = sdkError(error);
  const status = e.$metadata?.httpStatusCode;
  if (e.name !== undefined && TRANSIENT_NAMES.has(e.name)) return true;
  if (e.code !== undefined && NETWORK_CODES.has(e.code)) return true;
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  return Boolean(e.$retryable);
}
