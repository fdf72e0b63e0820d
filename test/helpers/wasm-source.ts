import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FOLDER = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../lambdas/core/wasm');

/** The SHA-256 bin/build-wasm.mjs records for a module: its C source, then every header of the folder by name. */
export function wasmSourceSha256(name: string): string {
  const hash = createHash('sha256').update(readFileSync(path.join(FOLDER, `${name}.c`)));
  for (const header of readdirSync(FOLDER).sort().filter((f) => f.endsWith('.h'))) hash.update(readFileSync(path.join(FOLDER, header)));
  return hash.digest('hex');
}
