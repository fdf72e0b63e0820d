#!/usr/bin/env node
// Bundles the Fargate step task (lambdas/container/main.ts) into one ESM file, the way the functions
// are bundled (lib/dr-function.ts): used by the Dockerfile at deploy time and by the tests, so the
// process they start is the one the image runs. Usage: node bin/build-task.mjs <outdir>
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'task'));
await esbuild.build({
  entryPoints: [path.join(root, 'lambdas', 'container', 'main.ts')],
  outfile: path.join(outdir, 'step-task.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  mainFields: ['module', 'main'],
  // Bundled CommonJS dependencies (pg, …) call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __drCreateRequire } from 'node:module'; const require = __drCreateRequire(import.meta.url);" },
  external: ['pg-native'],
  minify: true,
  // Error names are the contract with the state machines (DrError uses new.target.name).
  keepNames: true,
  sourcemap: true,
  logLevel: 'warning',
});
