/**
 * `npm run bench -- --media`: the media sync (issue 12) against an S3 server playing Supabase
 * Storage, as users run it (`iconic-dr media sync` as a process): the first sync of N objects, an
 * unchanged hourly sync (no per-object request), and an hourly sync after 1 % of the objects
 * changed. Requests are counted at the server (a counting proxy in front of it), not by our own
 * code; peak RSS is the CLI process tree's. No timing is asserted: the numbers are for reading.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS, S3RVER_REGION, startS3Server } from '../dev/s3-server.js';
import { mediaBytes } from '../../lambdas/core/sample/media.js';
import { runPool } from '../../lambdas/core/util/streams.js';
import type { Cleanup } from './cleanup.js';
import { measure } from './measure.js';
import { buildCliBundle, cliArgs, cliEnv, pathSize } from './methods.js';

export interface MediaBenchOptions {
  /** Objects in Storage before the first sync. */
  readonly objects: number;
  /** Their total size, about. */
  readonly megabytes: number;
  /** Share of objects changed between two hourly syncs. */
  readonly changedPercent: number;
  readonly keep: boolean;
}

const MIB = 1024 * 1024;

/** Deterministic xorshift: the same Storage every run. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

interface PlannedObject {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  readonly contentType: string;
}

/**
 * A shop's Storage: product images (most of the bytes, a long tail of large ones), avatars (many,
 * small) and uploads (PDF invoices, a few large). Sizes are skewed like real media; the bytes are
 * random, as JPEG/PNG/PDF content is already compressed.
 */
export function planStorage(objects: number, megabytes: number): PlannedObject[] {
  const random = prng(12);
  const kinds = [
    { bucket: 'product-images', share: 0.45, weight: 6, type: 'image/jpeg', ext: 'jpg', folder: (i: number) => `products/${1000 + (i % 997)}/` },
    { bucket: 'avatars', share: 0.45, weight: 0.6, type: 'image/png', ext: 'png', folder: (i: number) => `users/${(i * 7919) % 100_000}/` },
    { bucket: 'uploads', share: 0.1, weight: 3, type: 'application/pdf', ext: 'pdf', folder: (i: number) => `invoices/2026/${String(1 + (i % 12)).padStart(2, '0')}/` },
  ];
  const planned: { bucket: string; key: string; weight: number; contentType: string }[] = [];
  for (let i = 0; i < objects; i++) {
    const r = random();
    let acc = 0;
    const kind = kinds.find((k) => (acc += k.share) >= r) ?? kinds[0]!;
    // Log-normal-ish: most objects near the median, a few ten times larger.
    const skew = Math.exp((random() + random() + random() - 1.5) * 1.6);
    const name = i % 97 === 0 ? `photo ${i} (édition spéciale)+%.${kind.ext}` : `${i.toString(36)}.${kind.ext}`;
    planned.push({ bucket: kind.bucket, key: `${kind.folder(i)}${name}`, weight: kind.weight * skew, contentType: kind.type });
  }
  const totalWeight = planned.reduce((sum, p) => sum + p.weight, 0);
  const bytes = megabytes * 1e6;
  return planned.map((p) => ({ bucket: p.bucket, key: p.key, contentType: p.contentType, size: Math.max(0, Math.round((p.weight / totalWeight) * bytes)) }));
}

function contentOf(o: PlannedObject, version: number): Buffer {
  return mediaBytes(`${o.bucket}/${o.key}#${version}`, o.size);
}

/** A pass-through HTTP proxy that counts the requests the CLI makes to Storage, by method. */
async function countingProxy(target: string): Promise<{ endpoint: string; counts: () => Record<string, number>; reset(): void; close(): Promise<void> }> {
  const upstream = new URL(target);
  let counts: Record<string, number> = {};
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    // Path-style: `/bucket/key` is one object; `/` and `/bucket?…` are listings and bucket lookups.
    const objectRequest = (req.url ?? '/').split('?')[0]!.split('/').filter(Boolean).length > 1;
    const kind = req.method === 'GET' && !objectRequest ? 'LIST' : (req.method ?? 'OTHER');
    counts[kind] = (counts[kind] ?? 0) + 1;
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    reset: () => (counts = {}),
    close: async () => {
      server.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface SyncRow {
  readonly label: string;
  readonly seconds: number;
  readonly peakRssMiB: number;
  readonly objects: number;
  readonly copied: number;
  readonly bytesRead: number;
  readonly requests: Record<string, number>;
}

interface CliSnapshot {
  readonly snapshotId: string;
  readonly stats: { objects: number; bytes: number; new: number; changed: number; deleted: number; bytesRead: number };
}

/** Runs the media bench and prints its table; returns the exit code (1 when a sync's result is wrong). */
export async function mediaBench(options: MediaBenchOptions, cleanup: Cleanup, log: (line: string) => void): Promise<number> {
  // The CLI as `npx iconic-dr` runs it after `npm ci`: the bundle, not tsx (~40 MB more RSS).
  await buildCliBundle();
  const plan = planStorage(options.objects, options.megabytes);
  const totalBytes = plan.reduce((sum, o) => sum + o.size, 0);
  log(`media: ${plan.length} objects, ${(totalBytes / 1e6).toFixed(0)} MB in ${new Set(plan.map((o) => o.bucket)).size} buckets`);

  const storage = await startS3Server();
  cleanup.defer('media Storage server', () => storage.stop());
  const proxy = await countingProxy(storage.endpoint);
  cleanup.defer('media request counter', () => proxy.close());
  const vault = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-media-bench-'));
  if (options.keep) log(`media: vault kept at ${vault}`);
  else cleanup.defer('media vault', () => rm(vault, { recursive: true, force: true }));

  const client = new S3Client({ endpoint: storage.endpoint, forcePathStyle: true, region: S3RVER_REGION, credentials: S3RVER_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED' });
  cleanup.defer('media S3 client', () => client.destroy());
  for (const bucket of new Set(plan.map((o) => o.bucket))) await storage.createBucket(bucket);
  const put = (o: PlannedObject, version: number) => client.send(new PutObjectCommand({ Bucket: o.bucket, Key: o.key, Body: contentOf(o, version), ContentType: o.contentType }));
  let uploaded = 0;
  await runPool(plan, 16, async (o) => {
    cleanup.throwIfStopped();
    await put(o, 1);
    if (++uploaded % 2000 === 0) log(`media: seeded ${uploaded}/${plan.length} objects`);
  });

  const env = cliEnv({
    STORAGE_S3_ENDPOINT: proxy.endpoint,
    STORAGE_S3_REGION: S3RVER_REGION,
    STORAGE_S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    STORAGE_S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  });
  const rows: SyncRow[] = [];
  const problems: string[] = [];
  const sync = async (label: string): Promise<CliSnapshot> => {
    cleanup.throwIfStopped();
    proxy.reset();
    const measured = await measure(process.execPath, cliArgs(['media', 'sync', '--to', vault, '--json']), { env });
    const snapshot = JSON.parse(measured.stdout) as CliSnapshot;
    const copied = snapshot.stats.new + snapshot.stats.changed;
    rows.push({ label, seconds: measured.seconds, peakRssMiB: measured.peakRssBytes / MIB, objects: snapshot.stats.objects, copied, bytesRead: snapshot.stats.bytesRead, requests: proxy.counts() });
    log(`media: ${label}: ${measured.seconds.toFixed(2)} s, ${(measured.peakRssBytes / MIB).toFixed(0)} MiB, ${copied} copied, requests ${JSON.stringify(proxy.counts())}`);
    return snapshot;
  };

  const first = await sync('first sync');
  if (first.stats.objects !== plan.length || first.stats.bytes !== totalBytes) problems.push(`first sync recorded ${first.stats.objects} objects / ${first.stats.bytes} bytes, Storage holds ${plan.length} / ${totalBytes}`);
  const unchanged = await sync('hourly, nothing changed');
  const perObject = (rows.at(-1)!.requests.GET ?? 0) + (rows.at(-1)!.requests.HEAD ?? 0);
  if (unchanged.stats.new + unchanged.stats.changed !== 0 || perObject !== 0) problems.push(`an unchanged sync copied ${unchanged.stats.new + unchanged.stats.changed} objects with ${perObject} GET/HEAD requests (expected none)`);

  // An hour of a shop: 1 % of the objects touched, as replaced images, new uploads and deletions.
  const touched = Math.max(3, Math.round((plan.length * options.changedPercent) / 100));
  const random = prng(99);
  const picks = [...new Set(Array.from({ length: touched * 2 }, () => Math.floor(random() * plan.length)))].slice(0, touched);
  const replaced = picks.slice(0, Math.ceil(touched * 0.6)).map((i) => plan[i]!);
  const deleted = picks.slice(Math.ceil(touched * 0.6), Math.ceil(touched * 0.8)).map((i) => plan[i]!);
  const added = picks.slice(Math.ceil(touched * 0.8)).map((i, n) => ({ ...plan[i]!, key: `${plan[i]!.key}.new-${n}` }));
  const jobs: (() => Promise<unknown>)[] = [...replaced.map((o) => () => put(o, 2)), ...added.map((o) => () => put(o, 1)), ...deleted.map((o) => () => client.send(new DeleteObjectCommand({ Bucket: o.bucket, Key: o.key })))];
  await runPool(jobs, 16, async (job) => {
    await job();
  });
  const hourly = await sync(`hourly, ${options.changedPercent} % changed`);
  if (hourly.stats.changed !== replaced.length || hourly.stats.new !== added.length || hourly.stats.deleted !== deleted.length) {
    problems.push(`the hourly sync saw ${hourly.stats.new} new / ${hourly.stats.changed} changed / ${hourly.stats.deleted} deleted; expected ${added.length} / ${replaced.length} / ${deleted.length}`);
  }
  const vaultBytes = await pathSize(vault);

  const header = ['media case', 'seconds', 'peak RSS MiB', 'objects', 'copied', 'MB read', 'MB/s', 'LIST', 'GET', 'HEAD', 'other'];
  const lines = rows.map((r) => [
    r.label,
    r.seconds.toFixed(2),
    r.peakRssMiB.toFixed(0),
    String(r.objects),
    String(r.copied),
    (r.bytesRead / 1e6).toFixed(1),
    r.bytesRead ? (r.bytesRead / 1e6 / r.seconds).toFixed(1) : '-',
    String(r.requests.LIST ?? 0),
    String(r.requests.GET ?? 0),
    String(r.requests.HEAD ?? 0),
    String(Object.entries(r.requests).filter(([k]) => !['LIST', 'GET', 'HEAD'].includes(k)).reduce((s, [, n]) => s + n, 0)),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const render = (cells: readonly string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const out = [
    '',
    `Media sync: ${plan.length} objects, ${(totalBytes / 1e6).toFixed(0)} MB (s3rver as Supabase Storage, vault a local folder of ${(vaultBytes / 1e6).toFixed(0)} MB after 3 snapshots)`,
    render(header),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...lines.map(render),
    ...(problems.length ? ['', ...problems.map((p) => `PROBLEM: ${p}`)] : []),
    '',
    `media_objects=${plan.length} media_mb=${(totalBytes / 1e6).toFixed(0)} media_first_s=${rows[0]!.seconds.toFixed(2)} media_first_rss_mib=${rows[0]!.peakRssMiB.toFixed(0)} media_unchanged_get=${perObject} media_unchanged_s=${rows[1]!.seconds.toFixed(2)} media_hourly_s=${rows[2]!.seconds.toFixed(2)} media_hourly_get=${rows[2]!.requests.GET ?? 0} media_peak_rss_mib=${Math.max(...rows.map((r) => r.peakRssMiB)).toFixed(0)} media_ok=${problems.length ? 'no' : 'yes'}`,
  ];
  for (const line of out) process.stdout.write(`${line}\n`);
  return problems.length ? 1 : 0;
}
