import { z } from 'zod';
import { ENV, needsConfirmation } from '../../lib/contract.js';
import { ConfirmationRequiredError, IntegrityError } from '../core/errors.js';
import { readSnapshot } from '../core/media/catalog.js';
import { restoreMedia, verifyMedia } from '../core/media/restore.js';
import { describeEndpoint, storageClient } from '../core/media/storage-client.js';
import { TargetIdentityError } from '../core/target-identity.js';
import { configOnce, restoreMediaEnv } from './shared/config.js';
import { logger } from './shared/observability.js';
import { targetStorageConnection } from './shared/secrets.js';
import { backupStore } from './shared/store.js';
import { executionSchema, taskHandler } from './shared/task.js';

/**
 * `RestoreMedia` task of the restore machine (input `"media": true`): after the database was
 * restored and verified, puts the target project's Supabase Storage back to the media snapshot of
 * the same recovery point (chosen by PickBackup), then compares every object with the snapshot.
 *
 * The target's Storage comes from the `storage` object of the target's own secret. Like the
 * database restore, a production restore needs `confirm` and runs only from its machine; an
 * unconfirmed one (staging, drills) is refused when the target's Storage is the one the snapshot
 * was taken from, since that is production's.
 */
const config = configOnce('restore-media', restoreMediaEnv);

export const restoreMediaEventSchema = z.strictObject({
  backupId: z.string().trim().min(1),
  target: z.string().trim().min(1),
  confirm: z.string().nullable(),
  mediaSnapshotId: z.string().trim().min(1).regex(/^[^/]+$/, 'a snapshot id, not a path'),
  exact: z.boolean(),
  execution: executionSchema,
});

export interface RestoreMediaTaskResult {
  snapshotId: string;
  target: string;
  /** The target Storage's endpoint host and path (never keys). */
  storage: string;
  buckets: readonly string[];
  bucketsCreated: readonly string[];
  uploaded: number;
  unchanged: number;
  deleted: number;
  bytes: number;
  objectsVerified: number;
  durationMs: number;
}

export const handler = taskHandler({
  name: 'restore-media',
  event: restoreMediaEventSchema,
  async run({ backupId, target, confirm, mediaSnapshotId, exact, execution }): Promise<RestoreMediaTaskResult> {
    if (needsConfirmation(target) && confirm !== backupId) {
      throw new ConfirmationRequiredError(`A media restore into ${target} needs confirmation: start it again with "confirm": "${backupId}" in the input. Nothing was changed.`);
    }
    const env = config();
    const gate = env[ENV.restoreGate];
    if (gate && !execution.id.startsWith(gate)) {
      throw new ConfirmationRequiredError(`A media restore into ${target} runs only through its state machine (${gate.split(':').slice(-2, -1)[0]}). Nothing was changed.`);
    }
    const started = Date.now();
    const vault = backupStore({ bucket: env[ENV.backupBucket], prefix: env[ENV.backupPrefix] });
    const snapshot = await readSnapshot(vault, mediaSnapshotId);
    const connection = await targetStorageConnection(env[ENV.targetSecretArns], target);
    const storage = describeEndpoint(connection);
    if (!needsConfirmation(target) && storage === snapshot.source) {
      const identity = { host: storage, database: 'storage' };
      throw new TargetIdentityError(
        `Refused: the "${target}" Storage ${storage} is the Storage media snapshot ${snapshot.snapshotId} was taken from. An unconfirmed restore (a drill) must not write into it. Nothing was changed. Point the "storage" of the ${target} secret at the ${target} project (docs/deploy.md).`,
        identity,
        identity,
      );
    }
    const client = storageClient(connection);
    try {
      logger.info('Media restore started', { snapshotId: snapshot.snapshotId, target, storage, exact, objects: snapshot.stats.objects });
      const restored = await restoreMedia(client, vault, snapshot, { exact });
      // Without `exact` the target may hold more than the snapshot: only what the snapshot has is compared then.
      const report = await verifyMedia(client, vault, snapshot, restored.buckets);
      const differences = exact ? report.differences : report.differences.filter((d) => d.problem !== 'extra');
      if (differences.length) {
        throw new IntegrityError(
          `Media restore into ${target}: ${differences.length} object(s) differ from media snapshot ${snapshot.snapshotId} after the restore (first: ${differences[0]!.bucket}/${differences[0]!.key}: ${differences[0]!.problem}); run the restore again or check the target's Storage`,
        );
      }
      const result: RestoreMediaTaskResult = {
        snapshotId: snapshot.snapshotId,
        target,
        storage,
        buckets: restored.buckets,
        bucketsCreated: restored.bucketsCreated,
        uploaded: restored.uploaded,
        unchanged: restored.unchanged,
        deleted: restored.deleted,
        bytes: restored.bytes,
        objectsVerified: report.objectsChecked,
        durationMs: Date.now() - started,
      };
      logger.info('Media restored and verified', { ...result });
      return result;
    } finally {
      client.destroy();
    }
  },
});
