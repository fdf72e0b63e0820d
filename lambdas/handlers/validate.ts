import { z } from 'zod';
import { ENV } from '../../lib/contract.js';
import { readManifest } from '../core/catalog.js';
import type { BackupStore } from '../core/storage/store.js';
import { validateBackup, type ValidationReport } from '../core/validate.js';
import { configOnce, storeEnv } from './shared/config.js';
import { logger } from './shared/observability.js';
import { backupStore } from './shared/store.js';
import { executionSchema, taskHandler } from './shared/task.js';

/**
 * The whole `Validate` step in one process: the Fargate route's task (`ValidateOnFargate`,
 * lambdas/container). Checks a backup without trusting it (manifest, every file's size, SHA-256 and
 * rows). An invalid backup is a result (`valid: false` with every problem), not an error; the task
 * throws only when validation cannot run (storage unreachable, no such backup). The Lambda route
 * runs the same checks file by file (validate-plan, validate-file, validate-summary) and returns the
 * same result.
 */
const config = configOnce('validate', storeEnv);

export const validateEventSchema = z.strictObject({
  backupId: z.string().trim().min(1).regex(/^[^/]+$/, 'a backup id, not a path'),
  execution: executionSchema,
});

export interface ValidateTaskResult {
  backupId: string;
  valid: boolean;
  problems: string[];
  /** Number of tables in the backup. */
  tables: number;
  totalRecords: number;
  totalBytes: number;
}

/** The backup's table bytes from its manifest, or what is stored under it when there is no v1 manifest. */
async function storedBytes(store: BackupStore, backupId: string, format: ValidationReport['format']): Promise<number> {
  if (format === 'v1') {
    const parsed = await readManifest(store, backupId);
    if (parsed.format === 'v1') return parsed.manifest.totalBytes;
  }
  return (await store.listObjects(`${backupId}/`)).reduce((sum, o) => sum + o.size, 0);
}

export const handler = taskHandler({
  name: 'validate',
  event: validateEventSchema,
  async run({ backupId }): Promise<ValidateTaskResult> {
    const env = config();
    const store = backupStore({ bucket: env[ENV.backupBucket], prefix: env[ENV.backupPrefix] });
    const report = await validateBackup(store, backupId);
    const result: ValidateTaskResult = {
      backupId,
      valid: report.valid,
      problems: [...report.problems],
      tables: report.tables.length,
      totalRecords: report.totalRecords ?? report.tables.reduce((sum, t) => sum + t.expectedRecords, 0),
      totalBytes: await storedBytes(store, backupId, report.format),
    };
    if (result.valid) logger.info('Backup is valid', { ...result, problems: undefined });
    else logger.warn('Backup is invalid', { backupId, problems: result.problems.slice(0, 20), problemCount: result.problems.length });
    return result;
  },
});
