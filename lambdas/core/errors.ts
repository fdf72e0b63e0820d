import { redactCredentials } from './util/redact.js';

/**
 * The engine's error hierarchy. Every error the engine throws on purpose is a DrError: it carries an
 * exit code for the CLI (DESIGN.md §5), a `retryable` flag for Step Functions Retry, keeps `cause`,
 * and its message says what to do. Messages never contain secrets or connection strings.
 */
export abstract class DrError extends Error {
  /** CLI exit code: 1 a check failed, 2 usage/configuration, 3 runtime failure. */
  abstract readonly exitCode: 1 | 2 | 3;
  /** True when trying again later may succeed (network blips, throttling). */
  readonly retryable: boolean = false;
  /** Which advice the front end adds in its own words (a CLI flag, a state machine input). */
  readonly hint?: Hint;

  constructor(message: string, options?: DrErrorOptions) {
    // Messages often quote what the user typed: a URL with a password must never be echoed back.
    super(redactCredentials(message), options && 'cause' in options ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    if (options?.hint) this.hint = options.hint;
  }
}

/**
 * Advice that depends on how the engine was called. The engine's messages say what is wrong in terms
 * every caller shares (Lambda users have no `--tables`); bin/cli/hints.ts words these for the CLI,
 * lambdas/handlers/shared/hints.ts for the state machines (a new hint needs a line in both).
 */
export type Hint =
  | 'list-backups'
  | 'allow-suspect'
  | 'backup-location'
  | 'create-backup'
  | 'choose-tables'
  | 'restore-referencing-tables'
  | 'use-postgres-driver'
  | 'use-existing-server'
  | 'confirm';

export interface DrErrorOptions {
  readonly cause?: unknown;
  readonly hint?: Hint;
}

/** Bad command-line input or arguments: fix the command. */
export class UsageError extends DrError {
  readonly exitCode = 2 as const;
}

/** Missing or invalid configuration (environment, secrets, props): fix the configuration. */
export class ConfigError extends DrError {
  readonly exitCode = 2 as const;
}

/** The named backup does not exist (or is not complete) in the store: run `list` to see what does. */
export class BackupNotFoundError extends DrError {
  readonly exitCode = 2 as const;
}

/**
 * A backup failed validation. `problems` lists every problem found, not only the first.
 * Thrown by restore before it touches the target.
 */
export class InvalidBackupError extends DrError {
  readonly exitCode = 1 as const;
  constructor(
    message: string,
    readonly problems: readonly string[],
    options?: DrErrorOptions,
  ) {
    super(message, options);
  }
}

/** The target database's tables/columns differ from the backup's: migrate the target first. */
export class SchemaDriftError extends DrError {
  readonly exitCode = 1 as const;
  constructor(
    message: string,
    readonly differences: readonly string[],
  ) {
    super(message);
  }
}

/** Restored/verified row counts differ from the manifest. */
export class CountMismatchError extends DrError {
  readonly exitCode = 1 as const;
}

/** Restored data breaks a constraint (orphans, unique, check): the restore was rolled back. */
export class IntegrityError extends DrError {
  readonly exitCode = 1 as const;
}

/** The database could not be reached or refused the session. */
export class ConnectionError extends DrError {
  readonly exitCode = 3 as const;
  override readonly retryable: boolean;
  constructor(message: string, options?: DrErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.retryable = options?.retryable ?? true;
  }
}

/** The database user lacks a privilege the operation needs; the message names it. */
export class PrivilegeError extends DrError {
  readonly exitCode = 3 as const;
}

/** A storage operation failed. `retryable` separates throttling/network from access denied. */
export class StorageError extends DrError {
  readonly exitCode = 3 as const;
  override readonly retryable: boolean;
  constructor(message: string, options?: DrErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.retryable = options?.retryable ?? false;
  }
}

/** A write-once object (metadata.json, a backup id) already exists: never overwrite a backup. */
export class ObjectExistsError extends StorageError {}

/** An object that should be there is not. */
export class ObjectNotFoundError extends StorageError {}

/** A restore or backup failed at run time; the target was left unchanged (rolled back). */
export class OperationFailedError extends DrError {
  readonly exitCode = 3 as const;
}

/**
 * A backed-up value cannot be turned into the COPY bytes of its column (copy-text.ts, copy-binary.ts):
 * the restore names the table and rolls back.
 */
export class RowConversionError extends OperationFailedError {}

/** A destructive operation needs explicit confirmation (`--yes`, or `confirm` in the input). */
export class ConfirmationRequiredError extends DrError {
  readonly exitCode = 2 as const;
}

export function isDrError(error: unknown): error is DrError {
  return error instanceof DrError;
}

/** A one-line description of any thrown value, without stack traces. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
  return redactCredentials(text);
}

/** A table lock could not be taken in time (a migration or long transaction holds it); retry later. */
export class LockTimeoutError extends DrError {
  readonly exitCode = 3 as const;
  override readonly retryable = true;
  /** The sessions that held the locks, where they could be seen (pid, application, user, state, times). */
  readonly holders: readonly { readonly pid: number; readonly application: string | null; readonly user: string | null; readonly state: string | null; readonly transactionStart: string | null; readonly queryStart: string | null }[];
  constructor(message: string, options?: DrErrorOptions & { holders?: LockTimeoutError['holders'] }) {
    super(message, options);
    this.holders = options?.holders ?? [];
  }
}
