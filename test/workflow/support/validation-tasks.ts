import { VALIDATE_FILE_STATES as V } from '../../../lib/contract.js';
import { handler as validateFile } from '../../../lambdas/handlers/validate-file.js';
import { handler as validatePlan } from '../../../lambdas/handlers/validate-plan.js';
import { handler as validateSummary } from '../../../lambdas/handlers/validate-summary.js';
import type { Handler } from './lambda.js';

/** The tasks of the `Validate` step's Lambda route (the same names in both machines), bound to their real handlers. */
export function validationTasks(): Record<string, Handler> {
  return { ValidatePlan: validatePlan, [V.validateFile]: validateFile, ValidateSummary: validateSummary } as Record<string, Handler>;
}
