import { z } from 'zod';
import { DEFAULT_RTO_SECONDS, ENV, type HandlerName } from '../../../lib/contract.js';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_BACKUP_ROWS } from '../../core/format/row-encoding.js';
import { describeIssues } from './errors.js';

/**
 * The functions' environment (lib/contract.ts, "Environment variables"): validated with zod, every
 * problem reported at once in one ConfigError naming the variables (never their values), read once
 * per container on the first invocation and kept.
 *
 * Read on the first invocation rather than at import: a ConfigError thrown inside the handler
 * reaches the state machine by name and lands in the failure alert with its message, where an
 * import-time failure would only show as a Lambda init error.
 */

/** Unset and blank are the same (CDK writes `""` for "no tables"). */
const blankIsUnset = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

const required = z.preprocess(blankIsUnset, z.string({ error: 'not set' }).trim());
const optional = z.preprocess(blankIsUnset, z.string().trim().optional());
const commaList = (fallback: string[]) =>
  z.preprocess(
    blankIsUnset,
    z
      .string()
      .optional()
      .transform((value) =>
        value === undefined
          ? fallback
          : value
              .split(',')
              .map((item) => item.trim())
              .filter(Boolean),
      ),
  );

/** A variable holding JSON: parsed, or one issue saying what was expected (never quoting the value). */
const jsonText = (expected: string) =>
  z.string({ error: 'not set' }).transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: `not JSON (expected ${expected})` });
      return z.NEVER;
    }
  });

const targetSecretArns = z.preprocess(
  blankIsUnset,
  jsonText('{"staging":"arn:…","production":"arn:…"}')
    .pipe(
      z
        .record(z.string(), z.string().min(1, 'empty secret ARN'))
        .refine((map) => Object.keys(map).length > 0, 'names no restore target')
        .refine((map) => Object.keys(map).every((name) => /^[a-z][a-z0-9-]*$/.test(name)), 'target names are lower-case letters, digits and -'),
    ),
);

/** Where backups are: `s3://${BACKUP_BUCKET}/${BACKUP_PREFIX}`. */
export const storeEnv = z.object({
  [ENV.backupBucket]: required,
  [ENV.backupPrefix]: z.preprocess(blankIsUnset, z.string().default('backups').transform((p) => p.replace(/^\/+|\/+$/g, ''))),
});

/** media-sync: where snapshots go, and the Storage secret. */
export const mediaSyncEnv = storeEnv.extend({ [ENV.backupKmsKeyId]: optional, [ENV.storageSecretArn]: required });

/** admin-api: where backups are, and which JWT claim makes a caller an admin. */
export const adminApiEnv = storeEnv.extend({
  [ENV.adminClaim]: z.preprocess(blankIsUnset, z.string().trim().default('app_metadata.role')),
  [ENV.adminClaimValue]: z.preprocess(blankIsUnset, z.string().trim().default('admin')),
});

export const backupEnv = storeEnv.extend({
  [ENV.backupKmsKeyId]: optional,
  [ENV.sourceSecretArn]: required,
  [ENV.backupSchemas]: commaList(['public']),
  [ENV.backupTables]: commaList([]),
  [ENV.backupRows]: z.preprocess(blankIsUnset, z.enum(['json', 'copy']).default(DEFAULT_BACKUP_ROWS)),
});

export const pickBackupEnv = storeEnv.extend({
  /** The tables the daily backup takes (empty: every table of its schemas): what a full backup holds. */
  [ENV.backupTables]: commaList([]),
  [ENV.restoreTargets]: z.preprocess(blankIsUnset, z.string({ error: 'not set' })).transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ),
  [ENV.restoreMedia]: z.preprocess(blankIsUnset, z.enum(['true', 'false']).default('false')).transform((value) => value === 'true'),
});

/** plan-compute: where backups are, which tables a full backup holds, and each routed step's Lambda sizing. */
export const planComputeEnv = storeEnv.extend({
  [ENV.backupTables]: commaList([]),
  [ENV.lambdaSizing]: z.preprocess(
    blankIsUnset,
    jsonText('{"backup":{"timeoutSeconds":900,"memoryMb":1024},…}').pipe(z.partialRecord(z.enum(['backup', 'validate', 'restore']), z.strictObject({ timeoutSeconds: z.number().int().positive(), memoryMb: z.number().int().positive() }))),
  ),
});

export const backupAgeEnv = storeEnv.extend({ [ENV.backupTables]: commaList([]) });

export const targetsEnv = z.object({ [ENV.targetSecretArns]: targetSecretArns });
/** verify-counts and integrity-check: the targets' READ-ONLY secrets (VERIFY_SECRET_ARNS), never the read-write ones. */
export const readOnlyTargetsEnv = z.object({ [ENV.verifySecretArns]: targetSecretArns });
export const storeAndTargetsEnv = storeEnv.extend(targetsEnv.shape);
export const storeAndReadOnlyTargetsEnv = storeEnv.extend(readOnlyTargetsEnv.shape);

/**
 * The restore function's: RESTORE_GATE, when set, is the execution ARN prefix of the one machine
 * allowed to drive it (the production restore machine).
 */
export const restoreEnv = storeAndTargetsEnv.extend({
  [ENV.restoreGate]: optional,
  /** Databases an unconfirmed restore must never touch, by name: `{"production":{"host","port","dbname"}}`. */
  [ENV.protectedDatabases]: z.preprocess(
    blankIsUnset,
    z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined) return {};
        try {
          return JSON.parse(text) as unknown;
        } catch {
          ctx.addIssue({ code: 'custom', message: 'not JSON (expected {"production":{"host":"…","port":5432,"dbname":"postgres"}})' });
          return z.NEVER;
        }
      })
      .pipe(z.record(z.string(), z.strictObject({ host: z.string().min(1), port: z.number().int().positive().default(5432), dbname: z.string().min(1).default('postgres') }))),
  ),
});

export const notifyEnv = z.object({
  [ENV.criticalTopicArn]: required,
  [ENV.warningTopicArn]: required,
  /** The RTO the stack alarms on (its `rtoSeconds` threshold), judged in restore messages. */
  [ENV.rtoSeconds]: z.preprocess(blankIsUnset, z.coerce.number().int().positive().default(DEFAULT_RTO_SECONDS)),
  /** Fallback for the console link's region when an execution ARN has none. */
  AWS_REGION: optional,
});

export const slackEnv = z.object({ [ENV.slackWebhookSecretArn]: required });

/** Validates the environment of one function; throws a ConfigError listing every problem. */
export function readConfig<S extends z.ZodType>(fn: HandlerName, schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(`The ${fn} function is misconfigured: ${describeIssues(parsed.error).join('; ')}. The stack sets these variables (lib/contract.ts); redeploy it.`);
}

/** `readConfig` once per container: the first call validates, later calls return the same object. */
export function configOnce<S extends z.ZodType>(fn: HandlerName, schema: S): () => z.output<S> {
  let config: z.output<S> | undefined;
  return () => (config ??= readConfig(fn, schema));
}

/** restore-media: the vault, the targets' secrets (their `storage`), and the same gate as restore's. */
export const restoreMediaEnv = storeAndTargetsEnv.extend({ [ENV.restoreGate]: optional });
