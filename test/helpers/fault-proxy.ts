import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS, S3RVER_REGION } from './s3-server.js';

/**
 * What the proxy does to one request:
 * - `status-500` / `status-503`: answers InternalError / SlowDown without forwarding;
 * - `reset-before`: closes the connection without forwarding (nothing happened at the server);
 * - `lost-response`: forwards, lets the server finish (the write happened), then closes the
 *   connection instead of answering;
 * - `reset-mid-body`: answers the headers and half the body, then resets the connection;
 * - `stall-mid-body`: answers the headers and half the body, then sends nothing more while keeping
 *   the connection open (until the client gives up or the proxy closes);
 * - `stall-after-headers`: answers the headers, then no byte of the body;
 * - `stall-before-response`: forwards, then never answers;
 * - `slow`: forwards 300 ms late (a slow PUT, to widen races), otherwise unharmed.
 * The body faults apply to GETs with a body of 2 bytes or more; other requests pass through.
 */
export type Fault = 'status-500' | 'status-503' | 'reset-before' | 'lost-response' | 'reset-mid-body' | 'stall-mid-body' | 'stall-after-headers' | 'stall-before-response' | 'slow';

export interface ProxiedRequest {
  readonly method: string;
  readonly bucket: string;
  /** The object key (path-style URL), '' for bucket-level requests (listings). */
  readonly key: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
}

export type FaultDecider = (request: ProxiedRequest, index: number) => Fault | undefined;

export interface FaultProxy {
  /** Give this to the store as its endpoint. */
  readonly endpoint: string;
  /** Every request seen, with the fault applied to it. */
  readonly log: { method: string; key: string; fault: Fault | undefined }[];
  /** Replaces the fault schedule (undefined: pass everything through). */
  setDecider(decider: FaultDecider | undefined): void;
  close(): Promise<void>;
}

/** mulberry32: a small seeded PRNG, so a fault schedule is the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BODY_FAULTS: ReadonlySet<Fault> = new Set(['reset-mid-body', 'stall-mid-body', 'stall-after-headers']);

/**
 * A seeded schedule of transient faults: each request fails with probability `rate`, with one of
 * `faults` picked evenly, except that one request (method and key) never fails more than
 * `maxInARow` times in a row. Faults stay transient, so every operation must get through.
 */
export function seededFaults(seed: number, rate: number, faults: readonly Fault[], maxInARow = 2): FaultDecider {
  const random = seededRandom(seed);
  const streak = new Map<string, number>();
  return (request) => {
    const roll = random();
    const pick = random();
    const id = `${request.method} ${request.bucket}/${request.key}?${[...request.query.keys()].sort().join('&')}`;
    const inARow = streak.get(id) ?? 0;
    // Body faults only exist for GETs; any other request gets one of the request-level faults.
    const usable = request.method === 'GET' ? faults : faults.filter((f) => !BODY_FAULTS.has(f));
    const fault = roll < rate && inARow < maxInARow && usable.length > 0 ? usable[Math.floor(pick * usable.length)] : undefined;
    streak.set(id, fault ? inARow + 1 : 0);
    return fault;
  };
}

function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
}

function answer(res: ServerResponse, status: number, code: string, message: string): void {
  const body = s3ErrorXml(code, message);
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * An HTTP proxy in front of the S3 test server that injects storage faults (DESIGN: a fault-injecting
 * proxy for storage faults). It also gives s3rver what real S3 has and s3rver lacks: `If-None-Match: *`
 * on PUT is enforced atomically per key (412 PreconditionFailed when the key exists), so that
 * write-once and claim races are tested end to end rather than only at the SDK boundary.
 */
export async function startFaultProxy(target: string, options: { decide?: FaultDecider; conditionalWrites?: boolean } = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  let decide = options.decide;
  let index = 0;
  const log: FaultProxy['log'] = [];
  const held = new Set<Socket>();
  const locks = new Map<string, Promise<void>>();
  const s3 = new S3Client({ endpoint: target, forcePathStyle: true, region: S3RVER_REGION, credentials: S3RVER_CREDENTIALS });

  const forward = (req: IncomingMessage, res: ServerResponse, fault: Fault | undefined, done: () => void): void => {
    if (fault === 'slow') {
      req.pause();
      setTimeout(() => forward(req, res, undefined, done), 300);
      return;
    }
    const headers = { ...req.headers };
    delete headers.expect;
    const up = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (upRes) => {
      const finish = () => done();
      if (fault === 'lost-response') {
        upRes.resume();
        upRes.once('end', () => {
          req.socket.destroy();
          finish();
        });
        return;
      }
      if (fault === 'stall-before-response') {
        upRes.resume();
        upRes.once('end', finish);
        held.add(req.socket);
        return;
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      const length = Number(upRes.headers['content-length'] ?? 0);
      const bodyFault = req.method === 'GET' && length > 1 && (fault === 'reset-mid-body' || fault === 'stall-mid-body' || fault === 'stall-after-headers');
      if (bodyFault) {
        let sent = 0;
        const half = fault === 'stall-after-headers' ? 0 : Math.floor(length / 2);
        if (half === 0) {
          res.flushHeaders();
          held.add(req.socket);
        }
        upRes.on('data', (chunk: Buffer) => {
          if (sent >= half) return;
          const piece = chunk.subarray(0, half - sent);
          sent += piece.length;
          // Reset only once the first half has left, so that the client has headers and bytes in hand.
          const reached = sent >= half;
          res.write(piece, () => {
            if (reached && fault === 'reset-mid-body') setTimeout(() => req.socket.destroy(), 20);
          });
          if (reached && fault !== 'reset-mid-body') held.add(req.socket);
        });
        upRes.once('end', finish);
        return;
      }
      upRes.pipe(res);
      upRes.once('end', finish);
    });
    up.once('error', () => {
      req.socket.destroy();
      done();
    });
    req.pipe(up);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const request: ProxiedRequest = { method: req.method ?? 'GET', bucket, key: decodeURIComponent(rest.join('/')), query: url.searchParams, headers: req.headers };
    const fault = decide?.(request, index++);
    log.push({ method: request.method, key: request.key, fault });
    if (fault === 'status-500' || fault === 'status-503' || fault === 'reset-before') {
      req.resume();
      req.once('end', () => {
        if (fault === 'reset-before') req.socket.destroy();
        else if (fault === 'status-503') answer(res, 503, 'SlowDown', 'Please reduce your request rate.');
        else answer(res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      });
      return;
    }
    const conditional = options.conditionalWrites !== false && request.method === 'PUT' && req.headers['if-none-match'] === '*' && !request.query.has('uploadId');
    if (!conditional) {
      forward(req, res, fault, () => undefined);
      return;
    }
    // One conditional PUT per key at a time: check and write are atomic, as on S3.
    const lockKey = `${bucket}/${request.key}`;
    const previous = locks.get(lockKey) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    locks.set(lockKey, previous.then(() => mine));
    void previous.then(async () => {
      let exists = true;
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: request.key }));
      } catch (error) {
        exists = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404;
      }
      if (exists) {
        req.resume();
        req.once('end', () => {
          answer(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
          release();
        });
        return;
      }
      forward(req, res, fault, release);
    });
  });
  server.on('connection', (socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    setDecider: (next) => {
      decide = next;
    },
    close: async () => {
      for (const socket of held) socket.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      s3.destroy();
    },
  };
}
