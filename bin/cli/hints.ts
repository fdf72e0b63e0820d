import type { Hint } from '../../lambdas/core/errors.js';

/** The engine's hints (lambdas/core/errors.ts) in the CLI's words: its flags and commands (lambdas/handlers/shared/hints.ts has the AWS side). */
const CLI_HINTS: Readonly<Record<Hint, string>> = {
  'list-backups': 'run `iconic-dr list` to see the backups there',
  'allow-suspect': 'pass --allow-suspect to take it',
  'backup-location': 'pass --to/--from or set BACKUP_LOCATION',
  'create-backup': 'create one with `iconic-dr backup`',
  'choose-tables': 'check --tables',
  'restore-referencing-tables': 'leave out --tables, or add them to it',
  'use-postgres-driver': 'or back it up with the postgres driver (--db) instead',
  'use-existing-server': 'pass --db URL to use an existing server',
  confirm: 'pass --yes to confirm it',
};

/** `message; advice` for an error whose engine message leaves the CLI-specific advice out. */
export function withCliHint(message: string, hint: Hint | undefined): string {
  return hint ? `${message}; ${CLI_HINTS[hint]}` : message;
}
