import http from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

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
        const chunks: Buffer[] = [];
        let length = 0;
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          length += chunk.length;
        });
        response.on('error', reject);
        response.on('close', () => {
          if (!response.complete) reject(new Error('the connection closed before the response ended'));
        });
        response.on('end', () => {
          decodeBody(Buffer.concat(chunks, length), response.headers['content-encoding']).then(
            (body) => resolve({ status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', headers: responseHeaders(response.headers), body }),
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
