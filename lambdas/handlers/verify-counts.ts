import { z } from 'zod';
import { ENV } from '../../lib/contract.js';
import { CountMismatchError } from '../core/errors.js';
import { verifyCounts } from '../core/verify.js';
import { configOnce, storeAndReadOnlyTargetsEnv } from './shared/config.js';
import { logger } from './shared/observability.js';
import { targetDatabaseUrl } from './shared/secrets.js';
import { backupStore } from './shared/store.js';
import { executionSchema, taskHandler } from './shared/task.js';

/**
 * `VerifyCounts` task of the restore machine: exact `count(*)` of every restored table in the target
 * against the backup's manifest, after the restore committed. Any difference (the application wrote
 * to the target meanwhile, or a table is missing) throws CountMismatchError listing them.
 */
const config = configOnce('verify-counts', storeAndReadOnlyTargetsEnv);

export const verifyEventSchema = z.strictObject({
  backupId: z.string().trim().min(1).regex(/^[^/]+$/, 'a backup id, not a path'),
  target: z.string().trim().min(1),
  tables: z.array(z.string().trim().min(1)).min(1).nullable(),
  execution: executionSchema,
});

export interface VerifyTaskResult {
  ok: true;
  tables: { table: string; expected: number; actual: number; diff: number }[];
}

export const handler = taskHandler({
  name: 'verify-counts',
  event: verifyEventSchema,
  async run({ backupId, target, tables }): Promise<VerifyTaskResult> {
    const env = config();
    const store = backupStore({ bucket: env[ENV.backupBucket], prefix: env[ENV.backupPrefix] });
    const databaseUrl = await targetDatabaseUrl(env[ENV.verifySecretArns], target, 'read-only');
    const report = await verifyCounts(store, backupId, databaseUrl, tables ? { tables } : {});
    if (!report.ok) {
      const differ = report.tables.filter((t) => !t.ok);
      const detail = differ
        .slice(0, 5)
        .map((t) => (t.actual === null ? `${t.table} is missing` : `${t.table} has ${t.actual} rows, the backup ${t.expected} (${t.diff! > 0 ? '+' : ''}${t.diff})`))
        .join('; ');
      throw new CountMismatchError(`${differ.length} of ${report.tables.length} tables in ${target} differ from backup ${backupId}: ${detail}${differ.length > 5 ? '; …' : ''}. Did something write to ${target} during the restore?`);
    }
    logger.info('Counts verified', { backupId, target, tables: report.tables.length, records: report.actualTotal });
    return { ok: true, tables: report.tables.map((t) => ({ table: t.table, expected: t.expected, actual: t.actual ?? 0, diff: t.diff ?? 0 })) };
  },
});
