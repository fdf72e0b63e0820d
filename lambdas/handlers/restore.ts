import { z } from 'zod';
import { CONFIRMED_TARGETS, ENV, needsConfirmation } from '../../lib/contract.js';
import { ConfigError, ConfirmationRequiredError } from '../core/errors.js';
import { restoreBackup } from '../core/restore.js';
import { describeIdentity, readDatabaseIdentity } from '../core/target-identity.js';
import { configOnce, restoreEnv } from './shared/config.js';
import { logger } from './shared/observability.js';
import { targetDatabaseUrl } from './shared/secrets.js';
import { backupStore } from './shared/store.js';
import { checkUnconfirmedTarget } from './shared/target-guard.js';
import { executionSchema, taskHandler } from './shared/task.js';

/**
 * `Restore` task of the restore machine: restores a backup into a target database in one
 * transaction (the engine validates first, checks the schema, loads, verifies counts, and rolls back
 * on any failure). A production restore is refused unless `confirm` equals the backup id, even
 * though the machine's CheckConfirmation already stopped unconfirmed ones (defence in depth: the
 * function can be invoked on its own).
 *
 * An unconfirmed restore (staging, the drills) first checks who the target is: a target that is the
 * backup's source or a confirmed target (production) is refused with TargetIdentityError before
 * anything is touched (shared/target-guard.ts).
 */
const config = configOnce('restore', restoreEnv);

export { CONFIRMED_TARGETS };

/** URLs of the confirmed targets this function may read, other than `target`; unfilled secrets are skipped. */
async function protectedUrls(targetSecretArns: Readonly<Record<string, string>>, target: string): Promise<Record<string, string>> {
  const urls: Record<string, string> = {};
  for (const name of Object.keys(targetSecretArns).filter((n) => n !== target && needsConfirmation(n))) {
    try {
      urls[name] = await targetDatabaseUrl(targetSecretArns, name);
    } catch (error) {
      // Production not filled in yet: the source and the marker checks still apply.
      if (!(error instanceof ConfigError)) throw error;
      logger.warn('Confirmed target not configured; not compared', { target: name });
    }
  }
  return urls;
}

export const restoreEventSchema = z.strictObject({
  backupId: z.string().trim().min(1).regex(/^[^/]+$/, 'a backup id, not a path'),
  target: z.string().trim().min(1),
  tables: z.array(z.string().trim().min(1)).min(1).nullable(),
  confirm: z.string().nullable(),
  execution: executionSchema,
});

export interface RestoreTaskResult {
  backupId: string;
  target: string;
  /** Who the target database is (host:port/db, system id, marker): names only, never credentials. */
  targetIdentity: string;
  tables: string[];
  restoredRecords: Record<string, number>;
  totalRecords: number;
  durationMs: number;
}

export const handler = taskHandler({
  name: 'restore',
  event: restoreEventSchema,
  async run({ backupId, target, tables, confirm, execution }): Promise<RestoreTaskResult> {
    if (needsConfirmation(target) && confirm !== backupId) {
      throw new ConfirmationRequiredError(`A restore into ${target} needs confirmation: start it again with "confirm": "${backupId}" in the input. Nothing was changed.`);
    }
    const env = config();
    // The production function answers only its own machine, which validated the backup and alerts on
    // the outcome: a direct invoke (a console test event, a script) is refused. IAM decides who may
    // start that machine; this keeps the function from being a way around it by mistake.
    const gate = env[ENV.restoreGate];
    if (gate && !execution.id.startsWith(gate)) {
      throw new ConfirmationRequiredError(`A restore into ${target} runs only through its state machine (${gate.split(':').slice(-2, -1)[0]}), which validates the backup and alerts on the outcome; this invocation came from ${execution.id.split(':').slice(0, 7).join(':') || 'elsewhere'}. Nothing was changed.`);
    }
    const store = backupStore({ bucket: env[ENV.backupBucket], prefix: env[ENV.backupPrefix] });
    const databaseUrl = await targetDatabaseUrl(env[ENV.targetSecretArns], target);
    // Every restore records who its target is; an unconfirmed one also checks it is not the source or production.
    const identity = needsConfirmation(target)
      ? await readDatabaseIdentity(databaseUrl)
      : await checkUnconfirmedTarget({ store, backupId, targetName: target, targetUrl: databaseUrl, protectedUrls: await protectedUrls(env[ENV.targetSecretArns], target), protectedDatabases: env[ENV.protectedDatabases] });
    logger.info('Restore started', { backupId, target, tables });
    const result = await restoreBackup({
      store,
      backupId,
      databaseUrl,
      ...(tables ? { tables } : {}),
      onProgress: (event) => {
        if (event.type === 'validated') logger.info('Backup validated', { backupId: event.backupId, tables: event.tables, totalRecords: event.totalRecords });
        if (event.type === 'table-done') logger.info('Table restored', { table: event.table, records: event.records });
        if (event.type === 'indexes-rebuilt') logger.info('Indexes rebuilt', { indexes: event.indexes, durationMs: event.durationMs });
      },
    });
    const output: RestoreTaskResult = {
      backupId,
      target,
      targetIdentity: describeIdentity(identity),
      tables: result.tables.map((t) => t.table),
      restoredRecords: Object.fromEntries(result.tables.map((t) => [t.table, t.records])),
      totalRecords: result.totalRecords,
      durationMs: result.durationMs,
    };
    logger.info('Restore committed', { backupId, target, database: result.target, tables: output.tables.length, totalRecords: output.totalRecords, durationMs: output.durationMs, triggerMode: result.triggerMode });
    return output;
  },
});
