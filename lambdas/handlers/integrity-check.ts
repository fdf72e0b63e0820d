import { z } from 'zod';
import { ENV } from '../../lib/contract.js';
import { IntegrityError } from '../core/errors.js';
import { checkIntegrity } from '../core/integrity.js';
import { configOnce, readOnlyTargetsEnv } from './shared/config.js';
import { logger } from './shared/observability.js';
import { targetDatabaseUrl } from './shared/secrets.js';
import { executionSchema, taskHandler } from './shared/task.js';

/**
 * `IntegrityCheck` task of the restore machine: orphan rows of every foreign key, NOT VALID
 * constraints, invalid indexes and sequences behind their data, in the schemas of the restored
 * tables (`public` when the whole backup was restored). Any problem throws IntegrityError.
 */
const config = configOnce('integrity-check', readOnlyTargetsEnv);

export const integrityEventSchema = z.strictObject({
  backupId: z.string().trim().min(1),
  target: z.string().trim().min(1),
  tables: z.array(z.string().trim().min(1)).min(1).nullable(),
  execution: executionSchema,
});

export interface IntegrityTaskResult {
  ok: true;
  orphans: { table: string; constraint: string; references: string; count: number }[];
  invalidConstraints: { table: string; constraint: string; type: string }[];
}

/** Schemas of backup table names (`products` is in public, `sales.orders` in sales). */
export function schemasOf(tables: readonly string[] | null): string[] {
  if (!tables) return ['public'];
  return [...new Set(tables.map((t) => (t.includes('.') ? t.slice(0, t.indexOf('.')) : 'public')))];
}

export const handler = taskHandler({
  name: 'integrity-check',
  event: integrityEventSchema,
  async run({ backupId, target, tables }): Promise<IntegrityTaskResult> {
    const env = config();
    const databaseUrl = await targetDatabaseUrl(env[ENV.verifySecretArns], target, 'read-only');
    const report = await checkIntegrity(databaseUrl, { schemas: schemasOf(tables) });
    if (!report.ok) {
      throw new IntegrityError(`The integrity check of ${target} after restoring ${backupId} found ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}: ${report.problems.slice(0, 3).join('; ')}${report.problems.length > 3 ? '; …' : ''}`);
    }
    logger.info('Integrity checked', { backupId, target, foreignKeysChecked: report.foreignKeysChecked, tablesWithoutPrimaryKey: report.tablesWithoutPrimaryKey });
    return { ok: true, orphans: [...report.orphans], invalidConstraints: [...report.invalidConstraints] };
  },
});
