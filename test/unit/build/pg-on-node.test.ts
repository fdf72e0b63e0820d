import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as esbuild from 'esbuild';
// @ts-expect-error: a plain JavaScript module of the build scripts, without declarations.
import { PG_CLOUDFLARE_PROBE, pgOnNode } from '../../../bin/build/pg-on-node.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Connects to a port where nothing listens, then prints whether Node's fetch (undici) was loaded. */
const PROGRAM = `
import pg from 'pg';
const client = new pg.Client({ host: '127.0.0.1', port: 1, user: 'none', database: 'none', connectionTimeoutMillis: 2000 });
let refused = false;
await client.connect().catch(() => { refused = true; });
process.stdout.write(JSON.stringify({ refused, undici: process.moduleLoadList.some((m) => m.includes('undici')) }));
`;

describe('pgOnNode: the CLI bundle skips pg\'s Cloudflare probe', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'iconic-pg-on-node-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('pg still words its probe as the plugin expects (else the plugin would quietly do nothing)', async () => {
    expect(await readFile(path.join(ROOT, 'node_modules/pg/lib/stream.js'), 'utf8')).toContain(PG_CLOUDFLARE_PROBE);
  });

  it('a bundled pg client connects without loading undici', async () => {
    const outfile = path.join(dir, 'connect.mjs');
    await esbuild.build({
      stdin: { contents: PROGRAM, resolveDir: ROOT, loader: 'js' },
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['pg-native'],
      banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
      plugins: [pgOnNode],
      logLevel: 'silent',
    });
    const bundled = await readFile(outfile, 'utf8');
    expect(bundled).not.toContain('typeof Response === "function"');
    const { stdout } = await promisify(execFile)(process.execPath, [outfile], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({ refused: true, undici: false });
  });
});
