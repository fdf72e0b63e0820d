import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { nodeExchange } from '../../../../lambdas/core/sources/supabase/http-exchange.js';
import { giveBack, pageBuffers, streamBuffers } from '../../../../lambdas/core/util/buffer-pool.js';
import { TransportError, withRetries } from '../../../../lambdas/core/sources/supabase/http-retry.js';

/** A real HTTP server on loopback; each test says what a path answers. */
describe("the supabase driver's Node HTTP transport (a real server on loopback)", () => {
  const page = Buffer.from(`[${Array.from({ length: 2000 }, (_, i) => `{"id":${i},"note":"row ${i} é"}`).join(',')}]`);
  const big = Buffer.from(Array.from({ length: 3 * 1024 * 1024 / 8 }, (_, i) => (i % 100_000).toString(36).padStart(8, '.')).join(''));
  const huge = Buffer.concat([big, big.subarray(0, 2 * 1024 * 1024)]);
  const seen: http.IncomingHttpHeaders[] = [];
  let cutOnce = true;
  let server: http.Server;
  let base: string;
  const transport = nodeExchange();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers);
      const path = req.url ?? '/';
      if (path === '/gzip') return res.writeHead(200, 'Fine', { 'content-encoding': 'gzip', 'set-cookie': ['a=1', 'b=2'] }).end(zlib.gzipSync(page));
      if (path === '/br') return res.writeHead(200, { 'content-encoding': 'br' }).end(zlib.brotliCompressSync(page));
      if (path === '/twice') return res.writeHead(200, { 'content-encoding': 'deflate, gzip' }).end(zlib.gzipSync(zlib.deflateSync(page)));
      if (path === '/empty-gzip') return res.writeHead(req.method === 'HEAD' ? 200 : 204, { 'content-encoding': 'gzip' }).end();
      if (path === '/zstd-only') return res.writeHead(200, { 'content-encoding': 'compress' }).end('???');
      if (path === '/cut') {
        // The first answer promises the whole page and stops half-way; the next is whole.
        if (cutOnce) {
          cutOnce = false;
          res.writeHead(200, { 'content-length': String(page.length) });
          res.write(page.subarray(0, page.length >> 1));
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        }
        return res.writeHead(200, { 'content-length': String(page.length) }).end(page);
      }
      if (path === '/big' || path === '/huge') {
        // Past one stream buffer (1 MiB), or past one page buffer too (4 MiB), written in pieces.
        const body = path === '/big' ? big : huge;
        res.writeHead(200);
        for (let i = 0; i < 24; i++) res.write(body.subarray(Math.floor((i * body.length) / 24), Math.floor(((i + 1) * body.length) / 24)));
        return res.end();
      }
      if (path === '/silent') return; // never answers
      res.writeHead(404).end('{"message":"nothing here"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    transport.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const signal = () => new AbortController().signal;

  it('asks for compressed bodies as fetch does and undoes gzip, brotli and stacked encodings', async () => {
    for (const path of ['/gzip', '/br', '/twice']) {
      const result = await transport.exchange(`${base}${path}`, { headers: { apikey: 'k' }, signal: signal() });
      expect(result.body.equals(page)).toBe(true);
    }
    const gzip = await transport.exchange(`${base}/gzip`, { signal: signal() });
    expect([gzip.status, gzip.statusText]).toEqual([200, 'Fine']);
    expect(gzip.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(seen[0]!['accept-encoding']).toBe('gzip, deflate, br');
    expect(seen[0]!['apikey']).toBe('k');
  });

  it('gathers a page in a pooled stream buffer, a larger one in a pooled page buffer, and one larger still as a buffer of its own', async () => {
    const small = await transport.exchange(`${base}/gzip`, { signal: signal() });
    const plain = await transport.exchange(`${base}/nothing`, { signal: signal() });
    expect(streamBuffers.owns(plain.body)).toBe(true);
    // Decoded bodies are new buffers (the pooled one held the encoded bytes).
    expect(streamBuffers.owns(small.body)).toBe(false);
    expect(pageBuffers.owns(small.body)).toBe(false);

    const idleStreamBuffers = streamBuffers.idleCount;
    const large = await transport.exchange(`${base}/big`, { signal: signal() });
    expect(large.body.length).toBe(big.length);
    expect(large.body.equals(big)).toBe(true);
    expect(pageBuffers.owns(large.body)).toBe(true);
    // The stream buffer it outgrew went back, and given back once written, the page buffer serves the next page.
    expect(streamBuffers.idleCount).toBeGreaterThanOrEqual(idleStreamBuffers);
    giveBack(large.body);
    const madeBefore = pageBuffers.madeBytes;
    const again = await transport.exchange(`${base}/big`, { signal: signal() });
    expect(again.body.equals(big)).toBe(true);
    expect(pageBuffers.madeBytes).toBe(madeBefore);

    const larger = await transport.exchange(`${base}/huge`, { signal: signal() });
    expect(larger.body.length).toBe(huge.length);
    expect(larger.body.equals(huge)).toBe(true);
    expect(pageBuffers.owns(larger.body) || streamBuffers.owns(larger.body)).toBe(false);
  });

  it('reads no body where there is none, whatever the encoding header says (HEAD, 204)', async () => {
    for (const method of ['HEAD', 'GET']) {
      const result = await transport.exchange(`${base}/empty-gzip`, { method, signal: signal() });
      expect([result.status, result.body.length]).toEqual([method === 'HEAD' ? 200 : 204, 0]);
    }
  });

  it('refuses an encoding it cannot read, and passes other statuses on with their body', async () => {
    await expect(transport.exchange(`${base}/zstd-only`, { signal: signal() })).rejects.toThrow(/content encoding this client cannot read \(compress\)/);
    const missing = await transport.exchange(`${base}/nothing`, { signal: signal() });
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toBe('{"message":"nothing here"}');
  });

  it('a body cut short by a closed connection is a failure, which the retry layer tries again', async () => {
    const request = withRetries(transport.exchange, { attempts: 2, delayMs: 1, timeoutMs: 5000 }, signal());
    const result = await request(`${base}/cut`, {});
    expect(cutOnce).toBe(false);
    expect(result.body.equals(page)).toBe(true);
  });

  it('a server that never answers is a time-out, reported as such after every attempt', async () => {
    const request = withRetries(transport.exchange, { attempts: 2, delayMs: 1, timeoutMs: 200 }, signal());
    const error = await request(`${base}/silent`, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toBe('no answer within the request time limit (2 attempts)');
  });
});
