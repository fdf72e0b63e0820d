import type { Hint } from '../../core/errors.js';

/**
 * The engine's hints (lambdas/core/errors.ts) in the words of someone who starts a state machine or
 * reads its alert: the machines' input fields (lib/contract.ts, "Task I/O") and the stack's parts,
 * never a CLI flag. bin/cli/hints.ts words the same hints for the CLI.
 */
const AWS_HINTS: Readonly<Record<Hint, string>> = {
  'list-backups': 'set "backupId" in the restore input to a backup the vault holds (the admin API lists them at /admin/backups), or to "latest"',
  'allow-suspect': 'set "backupId" in the restore input to that backup\'s id to restore it anyway',
  'backup-location': 'check the vault bucket and prefix the stack gave the function (BACKUP_BUCKET, BACKUP_PREFIX)',
  'create-backup': 'start the backup state machine to create one',
  'choose-tables': 'check "tables" in the state machine input',
  'restore-referencing-tables': 'leave "tables" out of the restore input, or add them to it',
  'use-postgres-driver': 'or back it up through a database connection (the postgres driver) instead',
  'use-existing-server': 'point the target\'s secret at an existing database server',
  confirm: 'set "confirm" in the restore input to the backup id',
};

/** The advice for a hint, as the alert of a failed step shows it. */
export function awsAdvice(hint: Hint): string {
  return AWS_HINTS[hint];
}

/** `message; advice` for an error whose engine message leaves the front end's advice out (once, however often it is called). */
export function withAwsHint(message: string, hint: Hint | undefined): string {
  if (!hint) return message;
  const advice = `; ${AWS_HINTS[hint]}`;
  return message.endsWith(advice) ? message : `${message}${advice}`;
}
