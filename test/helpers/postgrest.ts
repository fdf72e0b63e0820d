import { startPostgrest as startOn, type PostgrestOptions, type TestPostgrest } from '../../bin/dev/postgrest.js';
import { adminUrl } from './database.js';

export type { TestPostgrest };

/** bin/dev/postgrest.ts on the test cluster: the admin URL comes from the global setup. */
export function startPostgrest(options: Omit<PostgrestOptions, 'adminDatabaseUrl'> & { readonly adminDatabaseUrl?: string }): Promise<TestPostgrest> {
  return startOn({ ...options, adminDatabaseUrl: options.adminDatabaseUrl ?? adminUrl() });
}
