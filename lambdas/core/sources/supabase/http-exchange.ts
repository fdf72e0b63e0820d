import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { giveBack, pageBuffers, streamBuffers } from '../../util/buffer-pool.js';

/**
 * One HTTP request and its whole body as bytes: what the retry layer (http-retry.ts) sends pages
 * through. Two ways: a caller's `fetch` (tests hand one in), or Node's own HTTP client, which the
 * driver uses by default because a page then arrives as the socket's buffers, not through web
 * streams (measured in docs/performance.md).
 */

export interface HttpResult {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** Bytes, not text: a page is split without ever becoming a string (see splitJsonArrayBytes). */
  readonly body: Buffer;
}

export interface ExchangeInit {
  readonly method?: string;
  readonly headers?: ConstructorParameters<typeof Headers>[0];
  readonly body?: string;
  readonly signal: AbortSignal;
}

export type Exchange = (url: string, init: ExchangeInit) => Promise<HttpResult>;

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

/** Requests through a `fetch` (which decodes any content encoding itself). */
export function fetchExchange(baseFetch: typeof fetch): Exchange {
  return async (url, init) => {
    const response = await baseFetch(url, { method: init.method ?? 'GET', ...(init.headers ? { headers: init.headers } : {}), ...(init.body !== undefined ? { body: init.body } : {}), signal: init.signal });
    const body = await readBody(response);
    return { status: response.status, statusText: response.statusText, headers: response.headers, body };
  };
}

const decoders: Record<string, (body: Buffer) => Promise<Buffer>> = {
  gzip: promisify(zlib.gunzip),
  'x-gzip': promisify(zlib.gunzip),
  deflate: promisify(zlib.inflate),
  br: promisify(zlib.brotliDecompress),
};

/** A response's body as sent, undone of its content encodings (last applied first), as fetch does. */
async function decodeBody(body: Buffer, contentEncoding: string | undefined): Promise<Buffer> {
  // No body to decode (HEAD, 204, 304, an empty answer), whatever the encoding header says, as fetch.
  if (body.length === 0) return body;
  const codings = (contentEncoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c && c !== 'identity');
  for (const coding of codings.reverse()) {
    const decode = decoders[coding];
    if (!decode) throw new Error(`the response has a content encoding this client cannot read (${coding})`);
    body = await decode(body);
  }
  return body;
}

/**
 * A response body gathered in one of the backup's pooled buffers while it fits: a stream buffer
 * (1 MiB), moved to a page buffer (4 MiB) when it outgrows that, else joined as usual. Made fresh per
 * page, bodies were hundreds of megabytes of outside-the-heap buffers per backup, each freed only by
 * a collection; pooled, the backup pipeline gives a page's buffer back once the compressor has copied
 * it (`releaseInput`).
 */
class BodyBuffer {
  private pooled: Buffer | undefined;
  private length = 0;
  private overflow: Buffer[] | undefined;

  append(chunk: Buffer): void {
    if (this.overflow) {
      this.overflow.push(chunk);
      this.length += chunk.length;
      return;
    }
    this.pooled ??= streamBuffers.take();
    if (this.length + chunk.length > this.pooled.length && this.pooled.length < pageBuffers.bufferBytes) {
      const larger = pageBuffers.take();
      this.pooled.copy(larger, 0, 0, this.length);
      streamBuffers.give(this.pooled);
      this.pooled = larger;
    }
    if (this.length + chunk.length <= this.pooled.length) {
      this.length += chunk.copy(this.pooled, this.length);
      return;
    }
    this.overflow = [this.pooled.subarray(0, this.length), chunk];
    this.length += chunk.length;
  }

  bytes(): Buffer {
    if (!this.overflow) return this.pooled ? this.pooled.subarray(0, this.length) : Buffer.alloc(0);
    const joined = Buffer.concat(this.overflow, this.length);
    if (this.pooled) giveBack(this.pooled);
    return joined;
  }
}

function responseHeaders(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

/**
 * Node's HTTP client with kept-alive connections. Asks for compressed bodies as fetch does (a REST
 * page of JSON is several times smaller gzipped, which counts over the internet) and decodes them.
 * `close()` ends the idle connections.
 */
export function nodeExchange(): { readonly exchange: Exchange; close(): void } {
  const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) } as const;
  const exchange: Exchange = (url, init) =>
    new Promise<HttpResult>((resolve, reject) => {
      const target = new URL(url);
      const agent = target.protocol === 'https:' ? agents['https:'] : target.protocol === 'http:' ? agents['http:'] : undefined;
      if (!agent) return reject(new TypeError(`not an http(s) URL: ${target.protocol}`));
      const headers: Record<string, string> = { 'accept-encoding': 'gzip, deflate, br' };
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      const send = target.protocol === 'https:' ? https.request : http.request;
      const request = send(target, { method: init.method ?? 'GET', headers, agent, signal: init.signal }, (response) => {
        const body = new BodyBuffer();
        response.on('data', (chunk: Buffer) => body.append(chunk));
        response.on('error', reject);
        response.on('close', () => {
          if (!response.complete) reject(new Error('the connection closed before the response ended'));
        });
        response.on('end', () => {
          const encoding = response.headers['content-encoding'];
          const bytes = body.bytes();
          decodeBody(bytes, encoding).then(
            (decoded) => {
              // A decoded body is a new buffer: the pooled one that held the encoded bytes is free again.
              if (decoded !== bytes) giveBack(bytes);
              resolve({ status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', headers: responseHeaders(response.headers), body: decoded });
            },
            reject,
          );
        });
      });
      request.on('error', reject);
      request.end(init.body);
    });
  return {
    exchange,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}
