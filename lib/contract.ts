/**
 * The contract between the infrastructure (lib/) and the Lambda handlers (lambdas/handlers/).
 * Tests on both sides rely on these names; change them only through an issue (DESIGN.md).
 *
 * ## Handlers
 * One entry file per function, `lambdas/handlers/<name>.ts`, exporting `handler`. The names are
 * {@link HANDLER_NAMES}. Functions are bundled by esbuild as ESM for Node.js 24 on arm64.
 *
 * ## Environment variables (never a secret value, never a connection string)
 * Every function:
 * - `POWERTOOLS_SERVICE_NAME` = `iconic-dr` (also the `service` metric dimension the alarms watch)
 * - `POWERTOOLS_METRICS_NAMESPACE` = `LiveItIconic`
 * - `POWERTOOLS_LOG_LEVEL` = `INFO`
 * - `NODE_OPTIONS` = `--enable-source-maps` (added by the bundler)
 *
 * Per function (see {@link ENV}):
 * | function        | variables                                                                  |
 * |-----------------|----------------------------------------------------------------------------|
 * | backup          | BACKUP_BUCKET, BACKUP_PREFIX, BACKUP_KMS_KEY_ID, SOURCE_SECRET_ARN,        |
 * |                 | BACKUP_SCHEMAS, BACKUP_TABLES, BACKUP_ROWS                                 |
 * | validate        | BACKUP_BUCKET, BACKUP_PREFIX (the Fargate validate task only)              |
 * | validate-plan   | BACKUP_BUCKET, BACKUP_PREFIX                                               |
 * | validate-file   | BACKUP_BUCKET, BACKUP_PREFIX                                               |
 * | validate-summary| (none: it reads nothing)                                                   |
 * | pick-backup     | BACKUP_BUCKET, BACKUP_PREFIX, RESTORE_TARGETS, BACKUP_TABLES               |
 * | restore         | BACKUP_BUCKET, BACKUP_PREFIX, TARGET_SECRET_ARNS, RESTORE_GATE (production)|
 * | verify-counts   | BACKUP_BUCKET, BACKUP_PREFIX, VERIFY_SECRET_ARNS                           |
 * | integrity-check | VERIFY_SECRET_ARNS                                                         |
 * | notify          | CRITICAL_TOPIC_ARN, WARNING_TOPIC_ARN, RTO_SECONDS                         |
 * | slack-notifier  | SLACK_WEBHOOK_SECRET_ARN                                                   |
 * | backup-age      | BACKUP_BUCKET, BACKUP_PREFIX, BACKUP_TABLES                                |
 * | plan-compute    | BACKUP_BUCKET, BACKUP_PREFIX, BACKUP_TABLES, LAMBDA_SIZING                 |
 *
 * A Fargate step task (lambdas/container, compute `fargate`/`auto`) gets its Lambda twin's variables
 * plus DR_STEP and DR_STEP_TIMEOUT_SECONDS in its task definition, and DR_STEP_INPUT, DR_TASK_TOKEN
 * and DR_STEP_ENTERED_AT per run (container overrides of its state).
 *
 * The restore workflow has two lanes with the same state names: the restore machine (staging,
 * drills; its functions' TARGET_SECRET_ARNS hold only unconfirmed targets) and the production
 * restore machine (CONFIRMED_TARGETS only; fixed name `<stack>-ProductionRestore`, whose execution
 * ARN prefix is its restore function's RESTORE_GATE).
 * - `VERIFY_SECRET_ARNS`: as TARGET_SECRET_ARNS, for the targets' READ-ONLY secrets (the checks
 *   after a restore never read the read-write ones).
 * - `RTO_SECONDS`: the stack's RTO threshold, judged in restore messages.
 * - `RESTORE_GATE`: execution ARN prefix a restore function requires (direct invokes are refused).
 * - `PROTECTED_DATABASES` (staging restore, optional): JSON `{"production":{"host","port","dbname"}}`,
 *   databases an unconfirmed restore must never touch, known without reading their credentials.
 *
 * - `BACKUP_BUCKET`: bucket name. `BACKUP_PREFIX`: key prefix without slashes (`backups`); the
 *   store location is `s3://${BACKUP_BUCKET}/${BACKUP_PREFIX}`. IAM allows object access and
 *   listing only under that prefix (ListObjectsV2 must pass `Prefix`).
 * - `BACKUP_KMS_KEY_ID`: ARN of the vault's KMS key, for SSE-KMS on new objects (backup only).
 * - `SOURCE_SECRET_ARN`: ARN of the source database secret.
 * - `TARGET_SECRET_ARNS`: JSON object mapping restore target name to secret ARN,
 *   `{"staging":"arn:…","production":"arn:…"}`. `RESTORE_TARGETS`: comma list of those names.
 * - `BACKUP_SCHEMAS`: comma list, default `public`. `BACKUP_TABLES`: comma list of tables, or
 *   empty for every ordinary table of the schemas. `BACKUP_ROWS`: `json` (default) or `copy`.
 * - `CRITICAL_TOPIC_ARN` / `WARNING_TOPIC_ARN`: SNS topics (KMS-encrypted) for notify.
 * - `SLACK_WEBHOOK_SECRET_ARN`: secret holding `{"webhookUrl":"https://hooks.slack.com/…"}`.
 *
 * Database secrets (source and each target) hold JSON, filled in by the operator after deploy (the
 * stack creates them empty, so no deploy rewrites them):
 * `{"engine":"postgres","host":"…","port":5432,"dbname":"postgres","username":"postgres","password":"…","sslmode":"require"}`,
 * No value or an empty `host` means "not configured yet": handlers fail with a ConfigError naming the secret.
 *
 * ## Errors
 * Step Functions retries only {@link TRANSIENT_ERRORS}. Handlers signal a retryable failure by
 * throwing an error whose `name` is `TransientError` (e.g. wrapping a DrError with
 * `retryable: true`); every other error name is permanent and goes to the failure alert.
 *
 * ## Metrics
 * EMF through Powertools Metrics, namespace `LiveItIconic`, with exactly one dimension,
 * `service` = `iconic-dr` (Powertools' default dimension; do not add others, or the alarms never
 * see the data). Names: {@link METRICS}. The notify function emits them (see the task contract in
 * docs / the state machine constructs).
 *
 * ## Task I/O (state machines)
 * Tasks invoke the function ARN directly (`payloadResponseOnly`): a handler's event is exactly the
 * task's Parameters below and its return value is exactly the task result (no `{Payload}`
 * envelope). Results are stored with ResultPath, so the state document accumulates
 * `{ ...executionInput, backup, validation, restore, verification, integrity, error?, notification }`.
 * `execution` is always `{ "id": "<execution ARN>", "startTime": "<ISO time>" }`. Every key of a
 * result that a later Parameters reads must be present (use `null`, never omit).
 *
 * Every task event and machine input is strict: an unknown key is a UsageError naming it.
 *
 * Backup machine (input: `{}`, `{"trigger":"schedule"}` or `{"tables":["public.products"]}`):
 * - `Backup` <- `{ request: <execution input>, execution }`
 *   -> `$.backup` = `{ backupId, location, tables: string[], recordCounts: {table: n},
 *   totalRecords, totalBytes, durationMs, previousBackupId: string|null, sizeChangePercent: number|null,
 *   scope: "full"|"subset" }` (previous = the previous full backup; a subset compares with nothing)
 * - `Validate` <- `{ backupId, execution }` -> `$.validation` = `{ backupId, valid: boolean,
 *   problems: string[], tables, totalRecords, totalBytes }`. Invalid is a result, not an error;
 *   throw only when validation could not run (storage, not found). On the Lambda route it is three
 *   states (lib/parallel-validation.ts), on the Fargate route one task (the `validate` handler):
 *   - `ValidatePlan` <- `{ backupId, execution }` -> `$.validation` = the plan `{ backupId, location,
 *     format, level, problems, tables: [{ table, expectedRecords }], items: [{ kind: "table", table, key }
 *     | { kind: "schema", key }], totalRecords?, totalBytes, maxProblems }`;
 *   - `Validate` (Distributed Map over `$.validation.items`, child executions STANDARD) runs
 *     `ValidateFile` <- `{ backupId, item, maxProblems, execution }` -> `{ key, table?, records?,
 *     problems }` per file (a failed check is caught into `ValidateFileFailed` -> `{ key, error }`),
 *     all of them at `$.validation.results`;
 *   - `ValidateSummary` <- `{ validation: <plan with results>, execution }` -> `$.validation` = the
 *     result above (replacing the plan); throws the error of a file check that failed.
 * - `PublishResult` / `AlertInvalidBackup` / `AlertFailure` (notify) <- `{ event, workflow: "backup",
 *   execution, state: <state document> }` -> `$.notification` = `{ event, published: string[], ... }`
 *
 * Restore machine (input: `{ backupId: "<id>"|"latest"|"random", target: "staging"|"production",
 * confirm?: "<id>", tables?: string[], maxAgeDays?: number, drill?: "weekly"|"monthly" }`):
 * - `PickBackup` <- `{ request: <execution input>, execution }` -> `$.backup` = `{ backupId (resolved),
 *   requested, target, confirm: string|null, tables: string[]|null, drill: "weekly"|"monthly"|null,
 *   location }`; throws UsageError (bad input/target) or BackupNotFoundError.
 * - `CheckConfirmation` (Choice): target `production` and input `confirm` absent or not equal to
 *   `$.backup.backupId` -> `ExplainConfirmation` -> `ConfirmationRequired` (Fail, Error
 *   `ConfirmationRequired`, Cause says what to type). Nothing else has run.
 * - `Validate` <- `{ backupId, execution }` -> `$.validation` (as above); invalid ->
 *   `AlertInvalidBackup` -> `BackupInvalid` (Fail).
 * - `Restore` <- `{ backupId, target, tables, confirm, execution }` -> `$.restore` = `{ backupId,
 *   target, targetIdentity, tables: string[], restoredRecords: {table: n}, totalRecords, durationMs }`;
 *   must itself refuse production unless `confirm === backupId` (ConfirmationRequiredError), and an
 *   unconfirmed target that is the backup's source or production (TargetIdentityError).
 * - `VerifyCounts` <- `{ backupId, target, tables, execution }` -> `$.verification` = `{ ok: true,
 *   tables: [{ table, expected, actual, diff }] }`; throws CountMismatchError when counts differ.
 * - `IntegrityCheck` <- `{ backupId, target, tables, execution }` -> `$.integrity` = `{ ok: true,
 *   orphans: [...], invalidConstraints: [...] }`; throws IntegrityError when problems are found.
 * - `NotifySuccess` / `NotifyFailure` / `AlertInvalidBackup` (notify) <- `{ event, workflow: "restore",
 *   execution, state }` -> `$.notification` = `{ event, published, recoveryTimeSeconds?: number }`.
 * A Catch on the work tasks puts `{ Error: <error name>, Cause: <message> }` at `$.error` and goes to
 * `Failed<Step>` (Pass: `$.failure` = `{ step, outcome: FailureOutcome, error, summary }`), then to
 * `AlertFailure` / `NotifyFailure`, then to the Fail state whose Cause is `$.failure.summary`. Notify
 * tasks are caught into their Fail state (`$.notifyError`); the AlertDeliveryFailed alarm pages.
 *
 * Notify emits (all with the one `service` dimension): BackupSucceeded -> BackupStatus 1,
 * BackupDurationSeconds (durationMs/1000), BackupSizeBytes, BackupRecords, BackupSizeChangePercent
 * (when not null); BackupFailed / BackupInvalid (backup) -> BackupStatus 0; RestoreSucceeded ->
 * RestoreStatus 1, RecoveryTimeSeconds (now - execution.startTime), DrillStatus 1 when a drill;
 * RestoreFailed / BackupInvalid (restore) -> RestoreStatus 0, DrillStatus 0 when a drill (drill =
 * `state.backup.drill ?? state.drill`); BackupFailed/BackupInvalid also emit BackupDurationSeconds
 * (start to alert). Routing: backup failures, failures of confirmed targets and TargetIdentityError
 * -> critical topic (the run's one page); other restore failures and restore successes -> warning.
 * backup-age emits HoursSinceLastSuccessfulBackup hourly (nothing before the first full backup).
 *
 * ## Logs the infrastructure reads
 * - backup: a failed S3 write is logged at ERROR with the original error under `error`
 *   (Powertools `logger.error('…', error)`), so `error.name` = `StorageError` feeds the
 *   `BackupUploadFailures` metric filter (critical alarm).
 * - backup: one INFO line per table, message `Table backed up`, keys `table`, `records`, `bytes`,
 *   read by the dashboard's "records per table" widget.
 */

/** Handler entry names: `lambdas/handlers/<name>.ts`. */
export const HANDLER_NAMES = [
  'backup',
  'validate',
  'validate-plan',
  'validate-file',
  'validate-summary',
  'restore',
  'verify-counts',
  'integrity-check',
  'pick-backup',
  'notify',
  'slack-notifier',
  'backup-age',
  'admin-api',
  'media-sync',
  'plan-compute',
  'restore-media',
] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];

/** Value of POWERTOOLS_SERVICE_NAME and of the `service` metric dimension. */
export const SERVICE_NAME = 'iconic-dr';
/** CloudWatch namespace of every custom metric. */
export const METRICS_NAMESPACE = 'LiveItIconic';
/** The only dimension the alarms use. */
export const METRIC_DIMENSIONS = { service: SERVICE_NAME } as const;

/** Default key prefix of backups in the bucket. */
export const DEFAULT_BACKUP_PREFIX = 'backups';

/** Environment variable names. */
export const ENV = {
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
  logLevel: 'POWERTOOLS_LOG_LEVEL',
  backupBucket: 'BACKUP_BUCKET',
  backupPrefix: 'BACKUP_PREFIX',
  backupKmsKeyId: 'BACKUP_KMS_KEY_ID',
  sourceSecretArn: 'SOURCE_SECRET_ARN',
  targetSecretArns: 'TARGET_SECRET_ARNS',
  restoreTargets: 'RESTORE_TARGETS',
  backupSchemas: 'BACKUP_SCHEMAS',
  backupTables: 'BACKUP_TABLES',
  /** backup: how table rows are written, `json` (NDJSON, the default) or `copy` (the table's COPY text; docs/format.md). */
  backupRows: 'BACKUP_ROWS',
  criticalTopicArn: 'CRITICAL_TOPIC_ARN',
  warningTopicArn: 'WARNING_TOPIC_ARN',
  slackWebhookSecretArn: 'SLACK_WEBHOOK_SECRET_ARN',
  rtoSeconds: 'RTO_SECONDS',
  productionSecretArn: 'PRODUCTION_SECRET_ARN',
  verifySecretArns: 'VERIFY_SECRET_ARNS',
  restoreGate: 'RESTORE_GATE',
  /** media-sync: the Supabase Storage S3 secret ({"endpoint","region","accessKeyId","secretAccessKey"}). */
  storageSecretArn: 'STORAGE_SECRET_ARN',
  /** pick-backup: `true` when the stack syncs media, so a restore may ask for `"media": true`. */
  restoreMedia: 'RESTORE_MEDIA',
  /** admin-api: the JWT claim (dot path, e.g. `app_metadata.role`) and the value that make a caller an admin. */
  adminClaim: 'ADMIN_CLAIM',
  adminClaimValue: 'ADMIN_CLAIM_VALUE',
  protectedDatabases: 'PROTECTED_DATABASES',
  /** Fargate step task (lambdas/container): which step, set in the task definition. */
  containerStep: 'DR_STEP',
  /** Fargate step task: the step's ceiling in seconds (the state's TimeoutSeconds), set in the task definition. */
  containerStepTimeoutSeconds: 'DR_STEP_TIMEOUT_SECONDS',
  /** Fargate step task, per run (container override): the task's event as JSON, as the Lambda would get it. */
  containerStepInput: 'DR_STEP_INPUT',
  /** Fargate step task, per run: the Step Functions task token the result is sent back with. */
  containerTaskToken: 'DR_TASK_TOKEN',
  /** Fargate step task, per run: when the state was entered (ISO time), the start of its ceiling. */
  containerStepEnteredAt: 'DR_STEP_ENTERED_AT',
  /** plan-compute: each routed step's Lambda sizing, JSON `{"backup":{"timeoutSeconds":900,"memoryMb":1024},…}`. */
  lambdaSizing: 'LAMBDA_SIZING',
} as const;

/** Steps that can run as a Fargate task instead of a Lambda function (lambdas/container). */
export const CONTAINER_STEPS = ['backup', 'validate', 'restore'] as const;
export type ContainerStep = (typeof CONTAINER_STEPS)[number];

/** How often a Fargate step tells Step Functions it is alive; the state's HeartbeatSeconds is a few of these. */
export const CONTAINER_HEARTBEAT_SECONDS = 60;

/** Metric names (DESIGN.md §6), plus one the infrastructure derives from the backup logs. */
export const METRICS = {
  backupStatus: 'BackupStatus',
  backupDurationSeconds: 'BackupDurationSeconds',
  backupSizeBytes: 'BackupSizeBytes',
  backupRecords: 'BackupRecords',
  backupSizeChangePercent: 'BackupSizeChangePercent',
  restoreStatus: 'RestoreStatus',
  recoveryTimeSeconds: 'RecoveryTimeSeconds',
  drillStatus: 'DrillStatus',
  /** An alert SNS refused for good (IAM, KMS): emitted by notify, which then fails; pages through the alert-delivery alarm. */
  alertDeliveryFailures: 'AlertDeliveryFailures',
  /** Hours since the last successful backup, emitted hourly by the backup-age check (0 until the first backup). */
  hoursSinceLastSuccessfulBackup: 'HoursSinceLastSuccessfulBackup',
  /** Minutes since the newest complete media snapshot (Supabase Storage), emitted by the hourly media sync. */
  mediaSnapshotAgeMinutes: 'MediaSnapshotAgeMinutes',
  /** 1 when a successful backup was marked suspect by the mass-deletion canary (rows fell sharply), else 0. */
  backupSuspect: 'BackupSuspect',
  /** From a log metric filter on the backup function (no dimensions), not emitted by handlers. */
  backupUploadFailures: 'BackupUploadFailures',
  /** A Fargate step's duration as a percentage of its ceiling (the state's timeout), emitted by the container at its end. */
  stepCeilingPercent: 'StepCeilingPercent',
} as const;

/** Restore targets the stack creates a secret for. `production` needs `confirm`. */
export const RESTORE_TARGETS = ['staging', 'production'] as const;
export type RestoreTarget = (typeof RESTORE_TARGETS)[number];

/**
 * Targets a restore into which needs `"confirm": "<backupId>"`, runs only through the production
 * restore machine (IAM), and pages when it fails. The one place this set is spelled: the machines,
 * the handlers and the alert routing read it from here.
 */
export const CONFIRMED_TARGETS: readonly RestoreTarget[] = ['production'];

/** True for a target that needs confirmation (and pages on failure). */
export function needsConfirmation(target: string): boolean {
  return (CONFIRMED_TARGETS as readonly string[]).includes(target);
}

/** The plan's recovery time objective, the default of the `rtoSeconds` threshold. */
export const DEFAULT_RTO_SECONDS = 3600;

/**
 * Key prefix, under BACKUP_PREFIX, of the markers the backup function writes for a backup taken
 * with a `tables` subset: `<prefix>/_scope/<backupId>.json` = `{"backupId","scope":"subset","tables":[…]}`.
 * Not an id-named folder, so listings of backups pass over it; `latest`/`random` skip the backups
 * it names unless the restore asks for tables.
 */
export const SUBSET_MARKER_PREFIX = '_scope';

/** Error names Step Functions retries; everything else is permanent. */
export const TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
  'TransientError',
] as const;

/** State names of the backup state machine (tests bind task overrides by these). */
export const BACKUP_STATES = {
  backup: 'Backup',
  /** The validation step: on the Lambda route the Distributed Map between ValidatePlan and ValidateSummary; the failure records' step name. */
  validate: 'Validate',
  validatePlan: 'ValidatePlan',
  validateSummary: 'ValidateSummary',
  isBackupValid: 'IsBackupValid',
  publishResult: 'PublishResult',
  succeeded: 'BackupSucceeded',
  alertInvalidBackup: 'AlertInvalidBackup',
  invalid: 'BackupInvalid',
  failedBackup: 'FailedBackup',
  failedValidate: 'FailedValidate',
  alertFailure: 'AlertFailure',
  failed: 'BackupFailed',
  publishFailed: 'PublishFailed',
} as const;

/** State names of the restore state machine (tests bind task overrides by these). */
export const RESTORE_STATES = {
  pickBackup: 'PickBackup',
  checkConfirmation: 'CheckConfirmation',
  explainConfirmation: 'ExplainConfirmation',
  confirmationRequired: 'ConfirmationRequired',
  /** As in BACKUP_STATES. */
  validate: 'Validate',
  validatePlan: 'ValidatePlan',
  validateSummary: 'ValidateSummary',
  isBackupValid: 'IsBackupValid',
  alertInvalidBackup: 'AlertInvalidBackup',
  invalid: 'BackupInvalid',
  restore: 'Restore',
  verifyCounts: 'VerifyCounts',
  integrityCheck: 'IntegrityCheck',
  mediaRequested: 'MediaRequested',
  restoreMedia: 'RestoreMedia',
  notifySuccess: 'NotifySuccess',
  succeeded: 'RestoreSucceeded',
  failedPickBackup: 'FailedPickBackup',
  failedValidate: 'FailedValidate',
  failedRestore: 'FailedRestore',
  failedVerifyCounts: 'FailedVerifyCounts',
  failedIntegrityCheck: 'FailedIntegrityCheck',
  failedRestoreMedia: 'FailedRestoreMedia',
  notifyFailure: 'NotifyFailure',
  failed: 'RestoreFailed',
  notifySuccessFailed: 'NotifySuccessFailed',
} as const;

/** State names inside the `Validate` Distributed Map (its ItemProcessor), the same in both machines. */
export const VALIDATE_FILE_STATES = {
  validateFile: 'ValidateFile',
  fileCheckFailed: 'ValidateFileFailed',
} as const;

/**
 * What a failed step means for the target, recorded by its Failed<Step> state at `$.failure.outcome`
 * and said in the Fail state's Cause: `untouched` (nothing ran against it), `unchanged` (the restore
 * was refused before it began or rolled back), `committed-unverified` (the restore COMMITTED, then a
 * check after it failed).
 */
export type FailureOutcome = 'untouched' | 'unchanged' | 'committed-unverified' | 'no-backup' | 'unvalidated-backup';

/** `event` values the notify function receives. */
export const NOTIFY_EVENTS = {
  backupSucceeded: 'BackupSucceeded',
  backupFailed: 'BackupFailed',
  backupInvalid: 'BackupInvalid',
  restoreSucceeded: 'RestoreSucceeded',
  restoreFailed: 'RestoreFailed',
} as const;

/** Error name of the Fail state that refuses an unconfirmed production restore. */
export const CONFIRMATION_REQUIRED_ERROR = 'ConfirmationRequired';
