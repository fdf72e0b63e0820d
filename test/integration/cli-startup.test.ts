import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli } from '../helpers/cli.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REGISTER = path.join(HERE, '../fixtures/module-log/register.mjs');
const BIN = path.join(HERE, '../../bin/iconic-dr.mjs');
const LEGACY = path.join(HERE, '../fixtures/legacy-backups');
const ID = '2024-01-15T02-00-00-000Z';

/**
 * Whether the modules a CLI process imported include a package's files (`dir`, a path under
 * node_modules such as `pg/` or `zod/v4/classic/`): from the TypeScript sources (tsx) it resolves
 * from node_modules; from the bundle (dist/cli) it lives inside a chunk, which its source map names.
 */
async function loadedPackage(moduleLog: string, dir: string): Promise<boolean> {
  const urls = (await readFile(moduleLog, 'utf8')).split('\n').filter((u) => u.startsWith('file:'));
  if (!urls.length) throw new Error('the module log is empty: the preloaded hook did not run');
  const needle = `node_modules/${dir}`;
  for (const url of urls) {
    const file = fileURLToPath(url);
    if (file.split(path.sep).join('/').includes(needle)) return true;
    if (file.includes(`${path.sep}dist${path.sep}cli${path.sep}`) && existsSync(`${file}.map`)) {
      const sources = (JSON.parse(await readFile(`${file}.map`, 'utf8')) as { sources: string[] }).sources;
      if (sources.some((s) => s.includes(needle))) return true;
    }
  }
  return false;
}

const loadedPg = (moduleLog: string) => loadedPackage(moduleLog, 'pg/');

describe('CLI start-up (docs/performance.md "Tenth session")', () => {
  let dir: string;
  let root: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'iconic-startup-'));
    root = path.join(dir, 'backups');
    await cp(LEGACY, root, { recursive: true });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const withModuleLog = (name: string) => {
    const log = path.join(dir, `${name}.modules`);
    return { log, env: { NODE_OPTIONS: `--import ${pathToFileURL(REGISTER).href}`, ICONIC_DR_TEST_MODULE_LOG: log } };
  };

  it('list and validate run without loading the PostgreSQL driver', async () => {
    const list = withModuleLog('list');
    const listed = await runCli(['list', '--from', root, '--json'], list.env);
    expect(listed.code).toBe(0);
    expect(await loadedPg(list.log)).toBe(false);

    const validate = withModuleLog('validate');
    const validated = await runCli(['validate', ID, '--from', root, '--json'], validate.env);
    expect(validated.code).toBe(0);
    expect(JSON.parse(validated.stdout).valid).toBe(true);
    expect(await loadedPg(validate.log)).toBe(false);
  });

  it("reads its environment with zod's mini build, not the full one whose set-up cost every command ~70 ms", async () => {
    const validate = withModuleLog('validate-zod');
    const validated = await runCli(['validate', ID, '--from', root, '--json'], { ...validate.env, ICONIC_DR_ROWS: 'json' });
    expect(validated.code).toBe(0);
    expect(await loadedPackage(validate.log, 'zod/v4/mini/')).toBe(true);
    expect(await loadedPackage(validate.log, 'zod/v4/classic/')).toBe(false);

    const blank = await runCli(['list', '--from', root], { BACKUP_TABLES: '   ' });
    expect(blank.code).toBe(2);
    expect(blank.stderr).toContain('BACKUP_TABLES is blank');
  });

  it('a command that connects loads it (the check above can see the driver)', async () => {
    const check = withModuleLog('check');
    // Nothing listens on port 1: the connection fails after the driver was loaded.
    const result = await runCli(['check', '--db', 'postgres://postgres@127.0.0.1:1/none', '--json'], check.env);
    expect(result.code).toBe(3);
    expect(await loadedPg(check.log)).toBe(true);
  });

  it('the #! line is plain `env node`, which every env runs (`env -S`, for a variable or a flag, fails on busybox and old coreutils)', async () => {
    // docs/performance.md, "Eleventh session": `#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node` stopped
    // `npx iconic-dr` on busybox's env (Alpine) with "invalid option -- 'S'".
    const firstLine = (await readFile(BIN, 'utf8')).split('\n', 1)[0];
    expect(firstLine).toBe('#!/usr/bin/env node');
  });
});
