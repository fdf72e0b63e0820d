import type { TestProject } from 'vitest/node';
import { startTestPostgres } from './postgres-server.js';

/**
 * Finds a Postgres for the whole run: TEST_DATABASE_URL or the local server when reachable, else an
 * embedded one started here. Test files read the admin URL from the provided context.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startTestPostgres();
  project.provide('adminDatabaseUrl', server.url);
  return async () => server.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}
