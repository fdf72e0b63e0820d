import { z } from 'zod';
import { ENV } from '../../lib/contract.js';
import { readManifest } from '../core/catalog.js';
import { boundItemValidation, checkValidationItem, type ItemValidation, MAX_ITEM_PROBLEMS } from '../core/validate.js';
import { configOnce, storeEnv } from './shared/config.js';
import { backupStore } from './shared/store.js';
import { executionSchema, taskHandler } from './shared/task.js';
import { backupIdSchema, validationItemSchema } from './shared/validation.js';

/**
 * `ValidateFile`, one item of the `Validate` Distributed Map (lib/parallel-validation.ts): checks one
 * file of the backup (size, SHA-256, rows) against the manifest, which it reads itself so the item
 * stays small. A bad file is a result (its problems, at most `maxProblems`); throws only when the
 * check cannot run (storage, a file the manifest does not list).
 */
const config = configOnce('validate-file', storeEnv);

export const validateFileEventSchema = z.strictObject({
  backupId: backupIdSchema,
  item: validationItemSchema,
  maxProblems: z.number().int().min(1).max(MAX_ITEM_PROBLEMS),
  execution: executionSchema,
});

export const handler = taskHandler({
  name: 'validate-file',
  event: validateFileEventSchema,
  async run({ backupId, item, maxProblems }): Promise<ItemValidation> {
    const env = config();
    const store = backupStore({ bucket: env[ENV.backupBucket], prefix: env[ENV.backupPrefix] });
    const result = await checkValidationItem(store, backupId, await readManifest(store, backupId), item);
    return boundItemValidation(result, maxProblems);
  },
});
