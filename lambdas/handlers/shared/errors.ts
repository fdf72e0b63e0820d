import { z } from 'zod';
import { DrError, UsageError } from '../../core/errors.js';
import { withAwsHint } from './hints.js';

/**
 * Errors of the Lambda adapters, and the one mapping from any thrown value to what a task throws
 * (lib/contract.ts, "Errors"): Step Functions retries only `TransientError` (and Lambda service
 * errors); every other name is permanent and goes to the failure alert.
 */

/**
 * Trying again later may succeed (throttling, a network blip, a database that is restarting).
 * Thrown by the handlers instead of a retryable DrError; `cause` keeps the original error and the
 * message is the original one. Step Functions retries it with backoff (TRANSIENT_ERRORS).
 */
export class TransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    // Set literally, not from the class: the name is the contract with the state machines.
    this.name = 'TransientError';
  }
}

/**
 * An alert could not be delivered: SNS refused the publish (IAM, KMS) or Slack rejected the webhook
 * call. Fix the topic policy, the notify role or the webhook secret; `retryable` when the service
 * was only unavailable or throttling.
 */
export class AlertDeliveryError extends DrError {
  readonly exitCode = 3 as const;
  override readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options);
    this.name = 'AlertDeliveryError';
    this.retryable = options?.retryable ?? false;
  }
}

/**
 * What a task rethrows for a failure: a retryable DrError becomes a TransientError (message and
 * cause kept); every other error keeps its own name (CountMismatchError, ConfigError, …) so the
 * state machine's Catch and the alert show it. A DrError's hint is added to its message as advice in
 * state machine terms (shared/hints.ts): the message is the Cause the alert shows. Never returns a
 * non-Error.
 */
export function toTaskError(error: unknown): Error {
  if (error instanceof TransientError) return error;
  if (error instanceof DrError) {
    // The same object, its message completed: its class, name and cause stay what Catch and the logs see.
    error.message = withAwsHint(error.message, error.hint);
    return error.retryable ? new TransientError(error.message, { cause: error }) : error;
  }
  if (error instanceof Error) return error;
  return new Error(typeof error === 'string' ? error : 'Unknown failure (a non-Error value was thrown)');
}

/** `name: message` of an AWS SDK error, one line, for messages that say what failed. */
export function awsErrorSummary(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const first = (error.message.split('\n')[0] ?? '').trim().slice(0, 200);
  return first && first !== error.name ? `${error.name}: ${first}` : error.name;
}

/** One readable line per zod issue: `path: message`. Never includes the input's values. */
export function describeIssues(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    return `${prefix}${path ? `${path}: ` : ''}${issue.message}`;
  });
}

/** Parses a task's event, turning every schema problem (all at once) into one UsageError. */
export function parseEvent<S extends z.ZodType>(schema: S, event: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(event);
  if (parsed.success) return parsed.data;
  throw new UsageError(`Invalid ${what} input: ${describeIssues(parsed.error).join('; ')}`);
}
