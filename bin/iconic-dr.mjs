#!/usr/bin/env node
// Entry of `npx iconic-dr`. Runs the bundle that `npm ci` builds (bin/build-cli.mjs) when it is
// newer than every source file, else the TypeScript sources through tsx, so no build step is ever
// needed and an edited checkout never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bundle = path.join(root, 'dist', 'cli', 'iconic-dr.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  if (process.env.ICONIC_DR_FROM_SOURCE || !existsSync(bundle)) return false;
  const built = statSync(bundle).mtimeMs;
  return [path.join(root, 'bin'), path.join(root, 'lambdas', 'core')].every((dir) => newestSource(dir) <= built);
}

if (bundleIsFresh()) {
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('./iconic-dr.ts', import.meta.url).href);
}
