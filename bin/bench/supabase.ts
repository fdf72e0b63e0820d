import type { Cleanup } from './cleanup.js';

export interface SupabaseApi {
  /** Project URL for the CLI (`--supabase-url`): supabase-js calls `<url>/rest/v1/...`. */
  readonly url: string;
  readonly serviceRoleKey: string;
}

/**
 * A Supabase-shaped REST API over the source database: the real PostgREST the tests use
 * (test/helpers/postgrest.ts), behind a small proxy that takes off the `/rest/v1` prefix, as
 * Supabase's gateway does. The tests strip it inside their own `fetch`, but the CLI runs in
 * another process, so the prefix has to be handled on the wire.
 */
export async function startSupabaseApi(adminUrl: string, databaseUrl: string, cleanup: Cleanup): Promise<SupabaseApi | { skipped: string }> {
  let helper: typeof import('../../test/helpers/postgrest.js');
  try {
    helper = await import('../../test/helpers/postgrest.js');
  } catch (error) {
    return { skipped: `test/helpers/postgrest.ts could not be loaded (${(error as Error).message.split('\n')[0]})` };
  }
  if (typeof helper.startPostgrest !== 'function') return { skipped: 'test/helpers/postgrest.ts does not export startPostgrest' };
  // Passing the admin URL keeps the helper from reading the test run's (set by Jest's global setup).
  const postgrest = await helper.startPostgrest({ databaseUrl, adminDatabaseUrl: adminUrl });
  cleanup.defer('stop PostgREST', () => postgrest.stop());
  const { startRestGateway } = await import('../../test/helpers/rest-gateway.js');
  const proxy = await startRestGateway(postgrest.restUrl);
  cleanup.defer('stop the /rest/v1 proxy', () => proxy.stop());
  return { url: proxy.url, serviceRoleKey: postgrest.serviceRoleKey };
}
