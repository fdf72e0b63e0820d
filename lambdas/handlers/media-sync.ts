import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { ENV, METRICS } from '../../lib/contract.js';
import { ConfigError } from '../core/errors.js';
import { newestSnapshot } from '../core/media/catalog.js';
import { describeEndpoint, storageClient, type StorageConnection } from '../core/media/storage-client.js';
import { syncMedia } from '../core/media/sync.js';
import { configOnce, mediaSyncEnv } from './shared/config.js';
import { logger, metrics } from './shared/observability.js';
import { readSecretJson, storageSecretSchema } from './shared/secrets.js';
import { backupStore } from './shared/store.js';
import { taskHandler } from './shared/task.js';

/**
 * Hourly (EventBridge): one incremental sync of Supabase Storage into the backup bucket (media RPO
 * 1 h), then MediaSnapshotAgeMinutes, the age of the newest complete snapshot, which the critical
 * alarm watches. The age is emitted even when the sync fails, so a run of failures shows as a
 * growing age. A first sync too large for one run keeps what it stored; the next run reuses it.
 */
const config = configOnce('media-sync', mediaSyncEnv);

export const mediaSyncEventSchema = z.strictObject({ sync: z.literal('media') });

export interface MediaSyncResult {
  snapshotId: string | null;
  objects: number | null;
  newObjects: number | null;
  bytesRead: number | null;
  snapshotAgeMinutes: number | null;
}

async function storageConnection(secretArn: string): Promise<StorageConnection> {
  const parsed = storageSecretSchema.safeParse(await readSecretJson(secretArn, 'Supabase Storage'));
  if (!parsed.success) throw new ConfigError(`The Supabase Storage secret ${secretArn} is not filled in: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')} (docs/deploy.md)`);
  return parsed.data;
}

export const handler = taskHandler({
  name: 'media-sync',
  event: mediaSyncEventSchema,
  async run(): Promise<MediaSyncResult> {
    const env = config();
    const vault = backupStore({ bucket: env[ENV.backupBucket], prefix: env[ENV.backupPrefix], kmsKeyId: env[ENV.backupKmsKeyId] });
    try {
      let connection: StorageConnection;
      try {
        connection = await storageConnection(env[ENV.storageSecretArn]);
      } catch (error) {
        // Before the operator fills the secret in, and before any snapshot, there is nothing to
        // protect yet: no failure every hour (and no page) for a stack that was just deployed.
        if (error instanceof ConfigError && !(await newestSnapshot(vault).catch(() => undefined))) {
          logger.warn('Supabase Storage is not configured yet: media sync waits for the Storage secret', { reason: error.message });
          return { snapshotId: null, objects: null, newObjects: null, bytesRead: null, snapshotAgeMinutes: null };
        }
        throw error;
      }
      const client = storageClient(connection);
      try {
        const { snapshot, requests } = await syncMedia({ client, source: describeEndpoint(connection), vault, onProgress: (event) => event.type === 'problem' && logger.warn('Media object changed or vanished during the sync', { problem: event.problem }) });
        logger.info('Media snapshot written', { snapshotId: snapshot.snapshotId, ...snapshot.stats, requests });
        return { snapshotId: snapshot.snapshotId, objects: snapshot.stats.objects, newObjects: snapshot.stats.new, bytesRead: snapshot.stats.bytesRead, snapshotAgeMinutes: 0 };
      } finally {
        client.destroy();
      }
    } finally {
      const newest = await newestSnapshot(vault).catch(() => undefined);
      if (newest) {
        const minutes = Math.max(0, Math.round((Date.now() - new Date(newest.completedAt).getTime()) / 60_000));
        metrics.addMetric(METRICS.mediaSnapshotAgeMinutes, MetricUnit.Count, minutes);
      }
    }
  },
});
