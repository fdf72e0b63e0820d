import os from 'node:os';
import { z } from 'zod';
import { ENV } from '../../lib/contract.js';
import { createBackup } from '../core/backup.js';
import { completeBackups } from '../core/catalog.js';
import { backupIdFor } from '../core/format/ids.js';
import { ROWS_CHOICES } from '../core/format/row-encoding.js';
import { openPostgresSource } from '../core/postgres/source.js';
import { fullBackupFilter, isSubsetRequest, markSubsetBackup, subsetBackupIds } from './shared/backup-scope.js';
import { backupEnv, configOnce } from './shared/config.js';
import { logger } from './shared/observability.js';
import { databaseUrlFromSecret } from './shared/secrets.js';
import { backupLocation, backupStore } from './shared/store.js';
import { executionSchema, taskHandler } from './shared/task.js';

/**
 * `Backup` task of the backup machine: backs up the source database (secret SOURCE_SECRET_ARN) into
 * `s3://BACKUP_BUCKET/BACKUP_PREFIX/<new id>/` from one consistent snapshot, and compares its size
 * with the previous complete backup.
 *
 * Event `{ request: <execution input>, execution }`; `request.tables` overrides BACKUP_TABLES.
 * Logs `Table backed up` (table, records, bytes) per table for the dashboard; a failure is logged at
 * ERROR with the error under `error` (task.ts), so a StorageError feeds the upload-failure metric filter.
 */
const config = configOnce('backup', backupEnv);

const tableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/, 'not a table name (table or schema.table)');

/** The machine's input: `{}`, `{"trigger":"schedule"}` or `{"tables":[…]}`; any other key is refused by name. */
export const backupEventSchema = z.strictObject({
  request: z
    .strictObject({
      trigger: z.enum(['schedule', 'manual']).optional(),
      tables: z.array(tableName).min(1, 'name at least one table, or leave "tables" out').optional(),
    })
    .default({}),
  execution: executionSchema,
});

export interface BackupTaskResult {
  backupId: string;
  /** `subset` when the request named tables that do not cover the configured set (never `latest`). */
  scope: 'full' | 'subset';
  location: string;
  tables: string[];
  recordCounts: Record<string, number>;
  totalRecords: number;
  totalBytes: number;
  durationMs: number;
  previousBackupId: string | null;
  sizeChangePercent: number | null;
  /** Set when the mass-deletion canary fired: rows fell sharply against the previous good backup. */
  suspect: { reason: string; comparedWith: string } | null;
}

/** Change of `bytes` over `previous` in percent (2 decimals); null without a usable previous size. */
export function sizeChangePercent(bytes: number, previous: number | undefined): number | null {
  if (previous === undefined || previous <= 0) return null;
  return Math.round(((bytes - previous) / previous) * 10_000) / 100;
}

export const handler = taskHandler({
  name: 'backup',
  event: backupEventSchema,
  async run({ request }): Promise<BackupTaskResult> {
    const env = config();
    const store = backupStore({ bucket: env[ENV.backupBucket], prefix: env[ENV.backupPrefix], kmsKeyId: env[ENV.backupKmsKeyId] });
    const subset = isSubsetRequest(request.tables, env[ENV.backupTables]);
    // A subset is compared with nothing; a full backup only with the previous full one, so a subset
    // in between never makes the next full backup look like a +N % jump.
    const [previous] = subset ? [] : await completeBackups(store, { limit: 1, filter: fullBackupFilter(await subsetBackupIds(store), env[ENV.backupTables]) });
    const tables = request.tables ?? env[ENV.backupTables];
    const startedAt = new Date();
    // Marked before anything is written: a complete subset backup always has its marker.
    if (subset) await markSubsetBackup(store, backupIdFor(startedAt), tables);
    const databaseUrl = await databaseUrlFromSecret(env[ENV.sourceSecretArn], 'source database');
    const source = await openPostgresSource({
      databaseUrl,
      schemas: env[ENV.backupSchemas],
      ...(tables.length ? { tables } : {}),
      jobs: Math.min(4, Math.max(1, os.availableParallelism())),
    });
    let result;
    try {
      result = await createBackup({
        store,
        source,
        startedAt,
        rows: ROWS_CHOICES[env[ENV.backupRows]],
        onProgress: (event) => {
          if (event.type === 'start') logger.info('Backup started', { backupId: event.backupId, tables: event.tables, estimatedRows: event.estimatedRows });
          if (event.type === 'table-done') logger.info('Table backed up', { table: event.table, records: event.records, bytes: event.bytes });
        },
      });
    } finally {
      await source.close();
    }
    const m = result.manifest;
    const output: BackupTaskResult = {
      backupId: result.backupId,
      scope: subset ? 'subset' : 'full',
      location: backupLocation(store, result.backupId),
      tables: [...m.tables],
      recordCounts: { ...m.recordCounts },
      totalRecords: m.totalRecords,
      totalBytes: m.totalBytes,
      durationMs: m.durationMs,
      previousBackupId: previous?.backupId ?? null,
      sizeChangePercent: sizeChangePercent(m.totalBytes, previous?.totalBytes),
      suspect: m.suspect ? { reason: m.suspect.reason, comparedWith: m.suspect.comparedWith } : null,
    };
    logger.info('Backup completed', { ...output, recordCounts: undefined, tables: output.tables.length });
    return output;
  },
});
