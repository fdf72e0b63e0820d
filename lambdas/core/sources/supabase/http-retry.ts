import { ConnectionError } from '../../errors.js';
import type { Exchange, HttpResult } from './http-exchange.js';
import { describeRestError } from './rest-errors.js';

export type { HttpResult } from './http-exchange.js';

/**
 * HTTP with retries, as a wrapper around a plain exchange (the way restic wraps a backend in its retry
 * backend): network failures, time-outs and transient statuses (408, 425, 429, 5xx) are tried again
 * with jittered exponential backoff (or the server's Retry-After), bodies are read whole as bytes, and
 * what still fails after every attempt is one TransportError.
 */

const MAX_RETRY_DELAY_MS = 10_000;

export interface RetryPolicy {
  readonly attempts: number;
  readonly delayMs: number;
  readonly timeoutMs: number;
}

const utf8 = new TextDecoder();

/** A body as fetch's text() would have given it (UTF-8, byte order mark dropped, bad bytes replaced). */
export function bodyText(body: Uint8Array): string {
  return utf8.decode(body);
}

/** A request that failed after every attempt (network, timeout, or a transient status each time). */
export class TransportError extends ConnectionError {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function transientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function retryDelay(policy: RetryPolicy, attempt: number, retryAfter: string | null): number {
  const seconds = retryAfter === null ? NaN : Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 30_000);
  const ceiling = Math.min(policy.delayMs * 2 ** attempt, MAX_RETRY_DELAY_MS);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string; name?: string } })?.cause;
  // fetch rejects with the abort reason; Node's HTTP client with an AbortError whose cause it is.
  if ((error as Error)?.name === 'TimeoutError' || cause?.name === 'TimeoutError') return `no answer within the request time limit`;
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
}

/** Sends one request (body read in full), retrying network failures and transient statuses with backoff. */
async function send(exchange: Exchange, input: string, init: RequestInit, policy: RetryPolicy, closed: AbortSignal): Promise<HttpResult> {
  // supabase-js reads with GET and HEAD; a body would only come from a write, which the driver never sends.
  if (init.body !== undefined && init.body !== null && typeof init.body !== 'string') throw new TypeError('the REST driver sends no request body but text');
  const body = typeof init.body === 'string' ? init.body : undefined;
  let last: { status?: number; reason: string; cause?: unknown } = { reason: 'no attempt' };
  for (let attempt = 0; attempt < policy.attempts; attempt++) {
    if (closed.aborted) throw new TransportError('the session was closed', undefined);
    // One controller per attempt, its timer cleared and listeners removed when the attempt ends, so
    // nothing accumulates on the session-long `closed` signal over thousands of pages.
    const controller = new AbortController();
    const abort = () => controller.abort(new DOMException('The operation was aborted', 'AbortError'));
    const timer = setTimeout(() => controller.abort(new DOMException('The request timed out', 'TimeoutError')), policy.timeoutMs);
    closed.addEventListener('abort', abort);
    init.signal?.addEventListener('abort', abort);
    let retryAfter: string | null = null;
    try {
      const response = await exchange(input, { ...(init.method ? { method: init.method } : {}), ...(init.headers ? { headers: init.headers } : {}), ...(body !== undefined ? { body } : {}), signal: controller.signal });
      if (!transientStatus(response.status)) return response;
      retryAfter = response.headers.get('retry-after');
      last = { status: response.status, reason: `HTTP ${response.status}${describeRestError(bodyText(response.body))}` };
    } catch (error) {
      if (closed.aborted) throw new TransportError('the session was closed', undefined, { cause: error });
      if (init.signal?.aborted) throw error;
      last = { reason: networkReason(error), cause: error };
    } finally {
      clearTimeout(timer);
      closed.removeEventListener('abort', abort);
      init.signal?.removeEventListener('abort', abort);
    }
    if (attempt + 1 < policy.attempts) await sleep(retryDelay(policy, attempt, retryAfter), closed);
  }
  throw new TransportError(`${last.reason} (${policy.attempts} attempt${policy.attempts === 1 ? '' : 's'})`, last.status, { cause: last.cause });
}

/** One request (body read in full) through `exchange`, with the policy's retries; stops when `closed` aborts. */
export type RetryingRequest = (input: string, init: RequestInit) => Promise<HttpResult>;

export function withRetries(exchange: Exchange, policy: RetryPolicy, closed: AbortSignal): RetryingRequest {
  return (input, init) => send(exchange, input, init, policy, closed);
}
