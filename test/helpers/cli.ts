import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin', 'iconic-dr.mjs');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real CLI (`bin/iconic-dr.mjs`, what `npx iconic-dr` runs) with no TTY on stdin; `node` is this test's own unless given. */
export function runCli(args: readonly string[], env: Record<string, string | undefined> = {}, cwd = ROOT, node = process.execPath): Promise<CliResult> {
  const base = { ...process.env };
  for (const key of ['DATABASE_URL', 'BACKUP_LOCATION', 'SUPABASE_URL', 'SUPABASE_SERVICE_ROLE_KEY', 'SKIP_RESTORE_CONFIRMATION']) delete base[key];
  return new Promise((resolve, reject) => {
    const child = spawn(node, [BIN, ...args], { cwd, env: { ...base, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
