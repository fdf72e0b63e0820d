import { ConnectionError } from '../../errors.js';
import { describeRestError } from './rest-errors.js';

/**
 * HTTP with retries, as a wrapper around a plain fetch (the way restic wraps a backend in its retry
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

export interface HttpResult {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** Bytes, not text: a page is split without ever becoming a string (see splitJsonArrayBytes). */
  readonly body: Buffer;
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
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if ((error as Error)?.name === 'TimeoutError') return `no answer within the request time limit`;
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
}

/** The whole body. Not arrayBuffer() or bytes(): they copy the joined chunks once more, a page of garbage per page. */
async function readBody(response: Response): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of response.body) {
    chunks.push(chunk);
    length += chunk.length;
  }
  return Buffer.concat(chunks, length);
}

/** Sends one request (body read in full), retrying network failures and transient statuses with backoff. */
async function send(baseFetch: typeof fetch, input: string, init: RequestInit, policy: RetryPolicy, closed: AbortSignal): Promise<HttpResult> {
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
      const response = await baseFetch(input, { ...init, signal: controller.signal });
      const body = await readBody(response);
      if (!transientStatus(response.status)) return { status: response.status, statusText: response.statusText, headers: response.headers, body };
      retryAfter = response.headers.get('retry-after');
      last = { status: response.status, reason: `HTTP ${response.status}${describeRestError(bodyText(body))}` };
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

/** One request (body read in full) through `baseFetch`, with the policy's retries; stops when `closed` aborts. */
export type RetryingRequest = (input: string, init: RequestInit) => Promise<HttpResult>;

export function withRetries(baseFetch: typeof fetch, policy: RetryPolicy, closed: AbortSignal): RetryingRequest {
  return (input, init) => send(baseFetch, input, init, policy, closed);
}
