import { z } from 'zod';
import { ENV } from '../../lib/contract.js';
import { type CapacityBasis, chooseCompute, type ComputeChoice, type RoutedStep } from '../core/capacity.js';
import { fullBackupFilter, subsetBackupIds } from './shared/backup-scope.js';
import { configOnce, planComputeEnv } from './shared/config.js';
import { logger } from './shared/observability.js';
import { type CompleteBackup, completeBackups, findBackup } from '../core/catalog.js';
import { backupStore } from './shared/store.js';
import { executionSchema, taskHandler } from './shared/task.js';

/**
 * `PlanCompute` task of the machines with `compute: 'auto'`: decides, per routed step, whether it
 * runs in Lambda or as a Fargate task (lambdas/core/capacity.ts), from the manifest of the backup
 * the run works on — for a new backup, the previous complete full backup; for a restore, the
 * backup being restored. The machine's Choice states read `$.compute.<step>`.
 */
const config = configOnce('plan-compute', planComputeEnv);

export const planComputeEventSchema = z.strictObject({
  /** The backup a restore works on; absent for a new backup (the previous full one is the basis). */
  backupId: z.string().trim().min(1).regex(/^[^/]+$/, 'a backup id, not a path').optional(),
  steps: z.array(z.enum(['backup', 'validate', 'restore'])).min(1),
  execution: executionSchema,
});

export type PlanComputeResult = Partial<Record<RoutedStep, 'lambda' | 'fargate'>> & {
  basis: { backupId: string; totalBytes: number; durationMs: number } | null;
  estimates: Partial<Record<RoutedStep, ComputeChoice>>;
};

function basisOf(backup: CompleteBackup | undefined): CapacityBasis | undefined {
  if (!backup) return undefined;
  // A legacy backup has no duration: its size alone decides.
  const durationMs = backup.manifest.format === 'v1' ? backup.manifest.manifest.durationMs : 0;
  return { backupId: backup.backupId, totalBytes: backup.totalBytes, durationMs };
}

export const handler = taskHandler({
  name: 'plan-compute',
  event: planComputeEventSchema,
  async run({ backupId, steps }): Promise<PlanComputeResult> {
    const env = config();
    const store = backupStore({ bucket: env[ENV.backupBucket], prefix: env[ENV.backupPrefix] });
    const backup = backupId
      ? (await findBackup(store, backupId)).complete
      : (await completeBackups(store, { limit: 1, filter: fullBackupFilter(await subsetBackupIds(store), env[ENV.backupTables]) }))[0];
    const basis = basisOf(backup);
    const result: PlanComputeResult = { basis: basis ?? null, estimates: {} };
    for (const step of steps) {
      const sizing = env[ENV.lambdaSizing][step];
      if (!sizing) continue;
      const choice = chooseCompute(step, basis, sizing);
      result[step] = choice.compute;
      result.estimates[step] = choice;
    }
    logger.info('Compute planned', { basis: result.basis, ...Object.fromEntries(steps.map((s) => [s, result[s]])) });
    return result;
  },
});
