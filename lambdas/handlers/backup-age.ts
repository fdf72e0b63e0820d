import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { ENV, METRICS } from '../../lib/contract.js';
import { completeBackups } from '../core/catalog.js';
import { fullBackupFilter, subsetBackupIds } from './shared/backup-scope.js';
import { backupAgeEnv, configOnce } from './shared/config.js';
import { logger, metrics } from './shared/observability.js';
import { backupStore } from './shared/store.js';
import { taskHandler } from './shared/task.js';

/**
 * Hourly (EventBridge): emits HoursSinceLastSuccessfulBackup, the age of the newest complete full
 * backup in the bucket — the number on-call wants first, and what the "no successful backup"
 * critical alarm watches. It reads the bucket, not the backup runs' metrics: a backup whose result
 * could not be published still counts, a subset backup does not.
 *
 * Before the first complete full backup it emits nothing (and says so in its log): the alarm treats
 * missing data as not breaching, so a new stack whose secrets are not filled yet does not page
 * before its first backup was even due — the failed scheduled backup pages for itself.
 */
const config = configOnce('backup-age', backupAgeEnv);

/** The rule's fixed input; anything else is refused (it is not an operator's entry point). */
export const backupAgeEventSchema = z.strictObject({ check: z.literal('backup-age') });

export interface BackupAgeResult {
  backupId: string | null;
  hoursSinceLastSuccessfulBackup: number | null;
}

export const handler = taskHandler({
  name: 'backup-age',
  event: backupAgeEventSchema,
  async run(): Promise<BackupAgeResult> {
    const env = config();
    const store = backupStore({ bucket: env[ENV.backupBucket], prefix: env[ENV.backupPrefix] });
    const [newest] = await completeBackups(store, { limit: 1, filter: fullBackupFilter(await subsetBackupIds(store), env[ENV.backupTables]) });
    if (!newest) {
      logger.info('No complete full backup yet: nothing to measure', { location: store.description });
      return { backupId: null, hoursSinceLastSuccessfulBackup: null };
    }
    const manifest = newest.manifest;
    const completed = new Date(manifest.format === 'v1' ? manifest.manifest.completedAt : manifest.manifest.timestamp);
    const hours = Math.max(0, Math.round(((Date.now() - completed.getTime()) / 3_600_000) * 100) / 100);
    metrics.addMetric(METRICS.hoursSinceLastSuccessfulBackup, MetricUnit.Count, hours);
    logger.info('Backup age measured', { backupId: newest.backupId, completedAt: completed.toISOString(), hours });
    return { backupId: newest.backupId, hoursSinceLastSuccessfulBackup: hours };
  },
});
