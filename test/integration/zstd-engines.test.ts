import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { compress as bindingCompress } from '@mongodb-js/zstd';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ZSTD_FRAME_BYTES, compressor, decompressor, zstdEngine } from '../../lambdas/core/format/codec.js';
import { connect } from '../../lambdas/core/postgres/connection.js';
import { createShop, SHOP_TABLES } from '../../lambdas/core/sample/shop.js';
import { runCli } from '../helpers/cli.js';
import { snapshotTables } from '../helpers/compare.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { LAMBDA_NODE_VERSION, hasZlibZstd, nodeWithZlibZstd } from '../helpers/node-zlib-zstd.js';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHILD = path.join(ROOT, 'test', 'fixtures', 'zstd-engine-child.ts');
const MiB = 1024 * 1024;

interface ChildReport {
  readonly engine: string;
  readonly node: string;
  readonly sha256: Record<string, string>;
}

/** Shop-like text (repeated keys and words), so frames compress as a backup's do. */
function shopText(bytes: number): Buffer {
  const words = ['shipped', 'pending', 'Amsterdam', 'Willow Drive', '{"city": "Miami", "country": "US"}', 'EUR', '562.99', '\\N', 'google_pay'];
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${i}\t${words[i % words.length]}\t${words[(i * 7) % words.length]}\t2024-01-01 00:05:${String(i % 60).padStart(2, '0')}+00\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

/**
 * Edge sizes for the frame writer and readers: an empty table's one empty frame; one byte; exactly one
 * frame; random bytes, whose compressed frames outgrow node:zlib's output chunk for compressing; and
 * several frames.
 */
const CASES: Record<string, Buffer> = {
  empty: Buffer.alloc(0),
  'one-byte': Buffer.from('x'),
  'one-frame': shopText(ZSTD_FRAME_BYTES),
  random: randomBytes(ZSTD_FRAME_BYTES + 1),
  'three-and-a-half-frames': shopText(3.5 * MiB),
};

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Runs test/fixtures/zstd-engine-child.ts on `node`; its last line of output is the report. */
async function runChild<Report = ChildReport>(node: string, mode: 'compress' | 'decompress' | 'abort', dir: string): Promise<Report> {
  const { stdout } = await run(node, ['--import', 'tsx', CHILD, mode, dir], { cwd: ROOT, maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Report;
}

async function decompressHere(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(
    createReadStream(file),
    decompressor('zstd'),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done();
      },
    }),
  );
  return hash.digest('hex');
}

describe(`zstd engines: files written with node:zlib's zstd (Node >= 22.15; Node ${LAMBDA_NODE_VERSION} is the Lambda runtime) and with this Node's engine (the @mongodb-js/zstd binding on Node 20) read each other`, () => {
  let lambdaNode: string;
  let dir: string;

  beforeAll(async () => {
    lambdaNode = await nodeWithZlibZstd();
    dir = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-zstd-engines-'));
  }, 180_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('each side runs the engine it should', async () => {
    const child = await runChild(lambdaNode, 'decompress', dir);
    expect(child.engine).toBe('node:zlib');
    expect(Number(child.node.slice(1).split('.')[0])).toBeGreaterThanOrEqual(22);
    expect((await zstdEngine()).name).toBe(hasZlibZstd() ? 'node:zlib' : '@mongodb-js/zstd');
  }, 60_000);

  it('node:zlib writes frames this Node reads back byte for byte, at every edge size', async () => {
    const folder = await mkdtemp(path.join(dir, 'lambda-writes-'));
    for (const [name, data] of Object.entries(CASES)) await writeFile(path.join(folder, `${name}.raw`), data);
    await runChild(lambdaNode, 'compress', folder);
    for (const [name, data] of Object.entries(CASES)) {
      const file = path.join(folder, `${name}.zst`);
      expect((await readFile(file)).length).toBeGreaterThan(0);
      expect(await decompressHere(file)).toBe(sha(data));
    }
  }, 60_000);

  it('this Node writes frames node:zlib reads back byte for byte, and a foreign frame larger than ours too', async () => {
    const folder = await mkdtemp(path.join(dir, 'here-writes-'));
    for (const [name, data] of Object.entries(CASES)) await pipeline(async function* () { yield data; }, compressor('zstd', 5), createWriteStream(path.join(folder, `${name}.zst`)));
    // One 3 MiB frame, as another zstd writer may make (the format allows up to 32 MiB): node:zlib
    // decompresses it over several output chunks.
    const large = shopText(3 * MiB);
    await writeFile(path.join(folder, 'large-frame.zst'), await bindingCompress(large, 5));
    const child = await runChild(lambdaNode, 'decompress', folder);
    expect(child.engine).toBe('node:zlib');
    expect(child.sha256).toEqual({ ...Object.fromEntries(Object.entries(CASES).map(([name, data]) => [name, sha(data)])), 'large-frame': sha(large) });
  }, 60_000);

  it('a writer destroyed mid-file on node:zlib fails with its error and leaves nothing pending', async () => {
    expect(await runChild<unknown>(lambdaNode, 'abort', dir)).toEqual({ engine: 'node:zlib', error: 'the export failed', unhandled: [] });
  }, 60_000);

  describe('the CLI on both: a backup made on either Node validates and restores exactly on the other (real Postgres)', () => {
    let source: TestDatabase;
    const targets: TestDatabase[] = [];
    let expected: Record<string, string[]>;

    beforeAll(async () => {
      source = await createTestDatabase('zstd_engines_src');
      const client = await connect(source.url);
      // ~3 MB of orders' COPY text: three frames for the largest table.
      await createShop(client, 0.03);
      await client.end();
      expected = await snapshotTables(source, SHOP_TABLES);
    }, 120_000);

    afterAll(async () => {
      await source?.drop();
      for (const target of targets) await target.drop();
    });

    async function roundTrip(writer: string, reader: string): Promise<void> {
      const folder = await mkdtemp(path.join(dir, 'cli-'));
      const backup = await runCli(['backup', '--db', source.url, '--to', folder, '--json'], {}, ROOT, writer);
      expect(backup.stderr).not.toMatch(/error/i);
      expect(backup.code).toBe(0);
      const { backupId } = JSON.parse(backup.stdout) as { backupId: string };
      const validate = await runCli(['validate', backupId, '--from', folder, '--json'], {}, ROOT, reader);
      expect(validate.code).toBe(0);
      expect(JSON.parse(validate.stdout)).toMatchObject({ valid: true, problems: [] });
      const target = await createTestDatabase('zstd_engines_dst');
      targets.push(target);
      const restore = await runCli(['restore', backupId, '--from', folder, '--db', target.url, '--yes', '--json'], {}, ROOT, reader);
      expect(restore.code).toBe(0);
      expect(await snapshotTables(target, SHOP_TABLES)).toEqual(expected);
    }

    it('backed up on node:zlib (the Lambda runtime), validated and restored on this Node', () => roundTrip(lambdaNode, process.execPath), 180_000);

    it('backed up on this Node, validated and restored on node:zlib (the Lambda runtime)', () => roundTrip(process.execPath, lambdaNode), 180_000);
  });
});
