import { z } from 'zod';
import { ENV } from '../../lib/contract.js';
import { planValidation, problemsPerItem } from '../core/validate.js';
import { configOnce, storeEnv } from './shared/config.js';
import { logger } from './shared/observability.js';
import { backupStore } from './shared/store.js';
import { executionSchema, taskHandler } from './shared/task.js';
import { backupIdSchema, planResult, type ValidatePlanResult } from './shared/validation.js';

/**
 * `ValidatePlan`, the first state of the parallel validation (lib/parallel-validation.ts): reads and
 * checks the backup's manifest and lists its files, each a work item of the `Validate` Distributed
 * Map. An unusable manifest is a result (its problems, no items: the summary reports the backup
 * invalid); throws only when there is no backup or the storage fails.
 */
const config = configOnce('validate-plan', storeEnv);

export const validatePlanEventSchema = z.strictObject({
  backupId: backupIdSchema,
  execution: executionSchema,
});

/**
 * Characters of problem text all the files' results may hold together: the Map's output and the
 * state it lands in must stay under Step Functions' 256 KiB, beside the plan and the earlier results.
 */
export const PROBLEM_BUDGET_CHARS = 96 * 1024;

export const handler = taskHandler({
  name: 'validate-plan',
  event: validatePlanEventSchema,
  async run({ backupId }): Promise<ValidatePlanResult> {
    const env = config();
    const store = backupStore({ bucket: env[ENV.backupBucket], prefix: env[ENV.backupPrefix] });
    const { plan } = await planValidation(store, backupId);
    // An unreadable manifest says nothing of sizes: what is stored under the backup, as a size for the alert.
    const totalBytes = plan.totalBytes ?? (await store.listObjects(`${backupId}/`)).reduce((sum, o) => sum + o.size, 0);
    if (plan.warnings.length) logger.warn('Backup has warnings', { backupId, warnings: plan.warnings.slice(0, 20), warningCount: plan.warnings.length });
    logger.info('Validation planned', { backupId, format: plan.format, files: plan.items.length, problems: plan.problems.length });
    return planResult(plan, totalBytes, problemsPerItem(plan.items.length, PROBLEM_BUDGET_CHARS));
  },
});
