import { z } from 'zod';
import type { ItemValidation, ValidationItem, ValidationPlan } from '../../core/validate.js';
import { MAX_ITEM_PROBLEMS } from '../../core/validate.js';

/**
 * The payloads of the parallel validation (`ValidatePlan` -> `Validate` Distributed Map of
 * `ValidateFile` -> `ValidateSummary`, lib/parallel-validation.ts), shared by its three handlers.
 * While it runs, `$.validation` holds the plan, and the Map adds each file's check under `results`;
 * `ValidateSummary` replaces it all with the ValidateTaskResult.
 */

export const backupIdSchema = z.string().trim().min(1).regex(/^[^/]+$/, 'a backup id, not a path');

export const validationItemSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('table'), table: z.string().min(1), key: z.string().min(1) }),
  z.strictObject({ kind: z.literal('schema'), key: z.string().min(1) }),
]) satisfies z.ZodType<ValidationItem>;

/** The `ValidatePlan` result: the core plan without its warnings (logged instead), with the stored bytes and each check's problem budget. */
export const validationPlanSchema = z.strictObject({
  backupId: backupIdSchema,
  location: z.string(),
  format: z.enum(['v1', 'legacy', 'unknown']),
  level: z.enum(['sizes', 'checksums', 'rows']),
  problems: z.array(z.string()),
  tables: z.array(z.strictObject({ table: z.string().min(1), expectedRecords: z.number().int().nonnegative() })),
  items: z.array(validationItemSchema),
  totalRecords: z.number().int().nonnegative().optional(),
  totalBytes: z.number().int().nonnegative(),
  /** Problems each `ValidateFile` result may carry, so all of them fit in the state (256 KiB). */
  maxProblems: z.number().int().min(1).max(MAX_ITEM_PROBLEMS),
});
export type ValidatePlanResult = z.output<typeof validationPlanSchema>;

export function planResult(plan: ValidationPlan, totalBytes: number, maxProblems: number): ValidatePlanResult {
  return {
    backupId: plan.backupId,
    location: plan.location,
    format: plan.format,
    level: plan.level,
    problems: [...plan.problems],
    tables: plan.tables.map((t) => ({ ...t })),
    items: [...plan.items],
    ...(plan.totalRecords === undefined ? {} : { totalRecords: plan.totalRecords }),
    totalBytes,
    maxProblems,
  };
}

/** A `ValidateFile` result: the check of one file (ItemValidation). */
export const itemValidationSchema = z.strictObject({
  key: z.string().min(1),
  table: z.string().min(1).optional(),
  records: z.number().int().nonnegative().optional(),
  problems: z.array(z.string()),
}) satisfies z.ZodType<ItemValidation>;

/** What the Map's `ValidateFileFailed` state records when a file's check failed after its retries: its Catch's error. */
export const failedItemSchema = z.strictObject({
  key: z.string().min(1),
  error: z.looseObject({ Error: z.string(), Cause: z.string().optional() }),
});
