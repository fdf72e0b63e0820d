import { Readable } from 'node:stream';
import { StorageError } from '../errors.js';

export interface ResumableReadOptions {
  /** Where the bytes come from, for messages: `s3://bucket/key`. Never credentials. */
  readonly describe: string;
  /** Bytes the object holds (Content-Length of the first response); a body that ends short is resumed. */
  readonly total: number | undefined;
  /** Reading gives up after this many failures in a row without a new byte. */
  readonly attempts: number;
  /** First pause before resuming; doubles per failure in a row, at most 5 s. @default 200 ms */
  readonly retryDelayMs?: number;
  /** Opens the object again from byte `offset` (a Range request pinned to the same version). */
  open(offset: number): Promise<Readable>;
}

/** Resumes in one read at most this many times in all, whatever the progress between failures. */
const MAX_RESUMES = 100;
const MAX_RETRY_DELAY_MS = 5_000;

function reasonOf(error: unknown): string {
  const e = error as { code?: string; name?: string; message?: string } | undefined;
  const text = e?.code ?? e?.name ?? 'Error';
  const message = (e?.message ?? String(error)).split('\n')[0]!.slice(0, 200);
  return message && !message.startsWith(text) ? `${text}: ${message}` : message || text;
}

/**
 * An object's bytes as one stream that survives the network: a body that errors (reset, aborted),
 * stops early, or times out for inactivity is reopened from the byte where it stopped, up to
 * `attempts` failures in a row. Consumers (hashing, gunzip, COPY) see one seamless stream, so a
 * dropped connection is never mistaken for a corrupt file. When reading gives up, the stream fails
 * with a retryable StorageError: storage unavailable, not backup invalid.
 */
export class ResumableRead extends Readable {
  private position = 0;
  private failures = 0;
  private resumes = 0;
  private generation = 0;
  private body: Readable | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    first: Readable,
    private readonly options: ResumableReadOptions,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.attach(first);
  }

  /** Bytes delivered so far. */
  get bytesRead(): number {
    return this.position;
  }

  override _read(): void {
    this.body?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.generation++;
    clearTimeout(this.timer);
    this.body?.destroy();
    this.body = undefined;
    callback(error);
  }

  private attach(body: Readable): void {
    const generation = ++this.generation;
    this.body = body;
    const current = () => generation === this.generation && !this.destroyed;
    body.on('data', (chunk: Buffer) => {
      if (!current()) return;
      this.position += chunk.length;
      this.failures = 0;
      if (!this.push(chunk)) body.pause();
    });
    body.once('end', () => {
      if (!current()) return;
      const { total } = this.options;
      if (total !== undefined && this.position < total) {
        this.retry(new Error(`the connection closed after ${this.position} of ${total} bytes`));
        return;
      }
      this.generation++;
      this.body = undefined;
      this.push(null);
    });
    body.once('error', (error) => {
      if (current()) this.retry(error);
    });
    body.once('close', () => {
      // Destroyed without 'end' or 'error' (an aborted response can do that): the rest is missing.
      if (current()) this.retry(new Error('the connection closed early'));
    });
  }

  private retry(error: unknown): void {
    this.generation++;
    const old = this.body;
    this.body = undefined;
    old?.destroy();
    if (this.destroyed) return;
    this.failures++;
    this.resumes++;
    const permanent = error instanceof StorageError && !error.retryable;
    if (permanent) {
      this.destroy(error);
      return;
    }
    if (this.failures >= this.options.attempts || this.resumes > MAX_RESUMES) {
      const of = this.options.total === undefined ? '' : ` of ${this.options.total}`;
      this.destroy(
        new StorageError(
          `Reading ${this.options.describe} failed after ${this.position}${of} bytes (${reasonOf(error)}; ${this.failures} failed attempt${this.failures === 1 ? '' : 's'} in a row): storage or the network is unavailable, the backup itself was not found faulty; try again later`,
          { cause: error, retryable: true },
        ),
      );
      return;
    }
    const base = this.options.retryDelayMs ?? 200;
    const delay = Math.min(base * 2 ** (this.failures - 1), MAX_RETRY_DELAY_MS) * (0.5 + Math.random() / 2);
    this.timer = setTimeout(() => {
      const generation = this.generation;
      this.options.open(this.position).then(
        (body) => {
          if (this.destroyed || generation !== this.generation) {
            body.destroy();
            return;
          }
          this.attach(body);
        },
        (openError: unknown) => {
          if (!this.destroyed && generation === this.generation) this.retry(openError);
        },
      );
    }, delay);
  }
}
