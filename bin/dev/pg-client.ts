import pg from 'pg';

/** Runs `work` with a client of its own on `url`, closed afterwards. (No vitest import: the bench uses it too.) */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
