import pg from 'pg';
import { startEmbeddedPostgres } from '../../lambdas/core/postgres/embedded.js';

export interface TestPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  if (await reachable(url)) return { url, stop: async () => undefined };
  const embedded = await startEmbeddedPostgres({ persistent: false });
  return { url: embedded.url, stop: () => embedded.stop() };
}
