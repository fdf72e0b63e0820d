// An esbuild plugin for bundles that run on Node.js only (bin/build-cli.mjs).
import { readFile } from 'node:fs/promises';

/**
 * pg tells Cloudflare Workers apart by constructing a `Response` when there is no `navigator`. On
 * Node 20 that global loads all of Node's fetch (undici): ~20 ms of every command that connects to
 * PostgreSQL (docs/performance.md, "Twelfth session"). Should pg word the probe differently, the
 * file is bundled as it is (test/unit/build/pg-on-node.test.ts notices).
 */
export const PG_CLOUDFLARE_PROBE = "typeof Response === 'function'";

/** @type {import('esbuild').Plugin} */
export const pgOnNode = {
  name: 'pg-on-node',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      return source.includes(PG_CLOUDFLARE_PROBE) ? { contents: source.replace(PG_CLOUDFLARE_PROBE, 'false'), loader: 'js' } : undefined;
    });
  },
};
