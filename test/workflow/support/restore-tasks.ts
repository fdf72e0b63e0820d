import { RESTORE_STATES as R } from '../../../lib/contract.js';
import { handler as integrityCheck } from '../../../lambdas/handlers/integrity-check.js';
import { handler as notify } from '../../../lambdas/handlers/notify.js';
import { handler as pickBackup } from '../../../lambdas/handlers/pick-backup.js';
import { handler as restore } from '../../../lambdas/handlers/restore.js';
import { handler as restoreMedia } from '../../../lambdas/handlers/restore-media.js';
import { handler as verifyCounts } from '../../../lambdas/handlers/verify-counts.js';
import type { Handler } from './lambda.js';
import { validationTasks } from './validation-tasks.js';

/** Every task of the restore machine bound to its real handler; `overrides` replace some (a spy, a gated copy). */
export function restoreTasks(overrides: Readonly<Record<string, Handler>> = {}): Record<string, Handler> {
  return {
    [R.pickBackup]: pickBackup,
    ...validationTasks(),
    [R.restore]: restore,
    [R.verifyCounts]: verifyCounts,
    [R.integrityCheck]: integrityCheck,
    [R.restoreMedia]: restoreMedia,
    [R.notifySuccess]: notify,
    [R.notifyFailure]: notify,
    [R.alertInvalidBackup]: notify,
    ...overrides,
  } as Record<string, Handler>;
}
