import { z } from 'zod';
import { TRANSIENT_ERRORS } from '../../lib/contract.js';
import { summarizeValidation } from '../core/validate.js';
import { causeMessage } from './shared/notifications.js';
import { logger } from './shared/observability.js';
import { executionSchema, taskHandler } from './shared/task.js';
import { failedItemSchema, itemValidationSchema, validationPlanSchema } from './shared/validation.js';
import type { ValidateTaskResult } from './validate.js';

/**
 * `ValidateSummary`, the last state of the parallel validation (lib/parallel-validation.ts): folds
 * the plan and every file's check into the `Validate` result (ValidateTaskResult, exactly what the
 * single validate task returns), which replaces the plan at `$.validation`.
 *
 * A file whose check failed (after its retries) fails the step with that check's error, so the
 * alert says `Validate failed with StorageError` as before, not that a Map run failed.
 */

export const validateSummaryEventSchema = z.strictObject({
  validation: validationPlanSchema.extend({ results: z.array(z.union([itemValidationSchema, failedItemSchema])) }),
  execution: executionSchema,
});

/** A file's check failed: the validation could not run, which is not evidence against the backup. */
export class FileCheckError extends Error {
  constructor(name: string, message: string) {
    super(message);
    // The check's own error name (StorageError, …), for the Catch and the alert; a transient one was
    // retried already, and retrying the summary would not check the file again.
    this.name = (TRANSIENT_ERRORS as readonly string[]).includes(name) ? 'FileCheckFailed' : name;
  }
}

export const handler = taskHandler({
  name: 'validate-summary',
  event: validateSummaryEventSchema,
  async run({ validation }): Promise<ValidateTaskResult> {
    const { results, maxProblems: _budget, totalBytes, ...plan } = validation;
    const failed = results.flatMap((r) => ('error' in r ? [r] : []));
    if (failed.length > 0) {
      const first = failed[0]!;
      throw new FileCheckError(first.error.Error, `${first.key} could not be checked (${first.error.Error}: ${causeMessage(first.error.Cause)})${failed.length > 1 ? `; ${failed.length - 1} more files could not be checked either` : ''}. Validate again once the cause is fixed`);
    }
    const report = summarizeValidation({ ...plan, warnings: [] }, results.flatMap((r) => ('error' in r ? [] : [r])));
    const result: ValidateTaskResult = {
      backupId: plan.backupId,
      valid: report.valid,
      problems: [...report.problems],
      tables: report.tables.length,
      totalRecords: report.totalRecords ?? report.tables.reduce((sum, t) => sum + t.expectedRecords, 0),
      totalBytes,
    };
    if (result.valid) logger.info('Backup is valid', { ...result, problems: undefined, files: plan.items.length });
    else logger.warn('Backup is invalid', { backupId: plan.backupId, problems: result.problems.slice(0, 20), problemCount: result.problems.length });
    return result;
  },
});
