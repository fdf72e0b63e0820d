import { startPostgrest } from '../dev/postgrest.js';
import { startRestGateway } from '../dev/rest-gateway.js';
import type { Cleanup } from './cleanup.js';

export interface SupabaseApi {
  /** Project URL for the CLI (`--supabase-url`): supabase-js calls `<url>/rest/v1/...`. */
  readonly url: string;
  readonly serviceRoleKey: string;
}

/**
 * A Supabase-shaped REST API over the source database: the real PostgREST the tests use
 * (bin/dev/postgrest.ts), behind a small proxy that takes off the `/rest/v1` prefix, as
 * Supabase's gateway does. The tests strip it inside their own `fetch`, but the CLI runs in
 * another process, so the prefix has to be handled on the wire.
 */
export async function startSupabaseApi(adminUrl: string, databaseUrl: string, cleanup: Cleanup): Promise<SupabaseApi | { skipped: string }> {
  const postgrest = await startPostgrest({ databaseUrl, adminDatabaseUrl: adminUrl });
  cleanup.defer('stop PostgREST', () => postgrest.stop());
  const proxy = await startRestGateway(postgrest.restUrl);
  cleanup.defer('stop the /rest/v1 proxy', () => proxy.stop());
  return { url: proxy.url, serviceRoleKey: postgrest.serviceRoleKey };
}
