import { GetParameterError } from '@aws-lambda-powertools/parameters';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import { z } from 'zod';
import { ConfigError, UsageError } from '../../core/errors.js';
import { awsErrorSummary, describeIssues, isTransientAwsError, TransientError } from './errors.js';

/**
 * Secrets Manager through Powertools Parameters, cached for a few minutes per container so that a
 * warm function does not call Secrets Manager on every invocation, yet picks up a rotated password
 * soon after the operator changes it.
 *
 * Secret values never leave this module except as the database URL handed to the engine (in
 * memory only): they are not logged, not put in errors (a JSON parse error would quote the text,
 * so the raw string is parsed here with a fixed message), not returned in task results.
 */
export const SECRET_MAX_AGE_SECONDS = 300;

/** Supabase Storage's S3 access: the media-sync secret, and `storage` in a restore target's secret. */
export const storageSecretSchema = z.object({
  endpoint: z.url('not a URL (https://<ref>.supabase.co/storage/v1/s3)'),
  region: z.string().min(1),
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
});

/** The database secret JSON (lib/contract.ts; docs/deploy.md). */
export const databaseSecretSchema = z.object({
  engine: z.string().optional(),
  host: z.string({ error: 'missing' }).trim(),
  port: z.coerce.number({ error: 'not a number' }).int().min(1).max(65535).default(5432),
  dbname: z.string().trim().min(1).default('postgres'),
  username: z.string({ error: 'missing' }).min(1, 'empty'),
  password: z.string({ error: 'missing (use "" for none)' }),
  /**
   * libpq's meaning: `require` encrypts without verifying the certificate (what Supabase's direct and
   * pooler connections need without a CA bundle), `verify-full` also verifies it against Node's CA
   * store, `disable` is plain TCP (a database inside the VPC, tests).
   */
  sslmode: z.enum(['disable', 'require', 'verify-full'], { error: 'must be "require", "verify-full" or "disable"' }).default('require'),
  /**
   * A role that may only read (SELECT on the restored tables), for the checks after a restore. The
   * checks never need more, so a bug or a hostile backup cannot make them write.
   */
  readOnlyUsername: z.string().trim().optional(),
  readOnlyPassword: z.string().optional(),
  /**
   * The target project's Supabase Storage (S3 access), where a restore with `"media": true` puts
   * the files back. Kept in the target's own secret: the project's database and files go together.
   */
  storage: z.unknown().optional(),
});
export type DatabaseSecret = z.output<typeof databaseSecretSchema>;

/** A postgres:// URL for the engine. Every part is percent-encoded; the password is in it, so the URL is never logged. */
export function databaseUrlFrom(secret: DatabaseSecret): string {
  const host = secret.host.includes(':') && !secret.host.startsWith('[') ? `[${secret.host}]` : secret.host;
  const auth = `${encodeURIComponent(secret.username)}${secret.password ? `:${encodeURIComponent(secret.password)}` : ''}`;
  // node-postgres reads `sslmode=require` as verify-full; `no-verify` is libpq's `require`.
  const sslmode = secret.sslmode === 'require' ? 'no-verify' : secret.sslmode;
  return `postgres://${auth}@${host}:${secret.port}/${encodeURIComponent(secret.dbname)}?sslmode=${sslmode}`;
}

/**
 * The URL for checks that must never write (verify-counts, integrity-check): the secret's read-only
 * role when it names one, and in any case a session whose transactions are read-only
 * (`default_transaction_read_only`), so even the restore role cannot write through it.
 */
export function readOnlyDatabaseUrlFrom(secret: DatabaseSecret): string {
  const user = secret.readOnlyUsername ? { username: secret.readOnlyUsername, password: secret.readOnlyPassword ?? '' } : {};
  return `${databaseUrlFrom({ ...secret, ...user })}&options=${encodeURIComponent('-c default_transaction_read_only=on')}`;
}

/** Reads a secret's JSON, mapping every failure to ConfigError (fix it) or TransientError (retry). */
export async function readSecretJson(secretArn: string, label: string): Promise<unknown> {
  let raw: string | Uint8Array | undefined;
  try {
    raw = await getSecret(secretArn, { maxAge: SECRET_MAX_AGE_SECONDS });
  } catch (error) {
    const cause = error instanceof GetParameterError && error.cause !== undefined ? error.cause : error;
    if (isTransientAwsError(cause)) throw new TransientError(`Secrets Manager did not answer for the ${label} secret ${secretArn} (${awsErrorSummary(cause)}); try again`, { cause });
    const name = cause instanceof Error ? cause.name : '';
    const hint =
      name === 'ResourceNotFoundException'
        ? /secret value/i.test(cause instanceof Error ? cause.message : '')
          ? 'it has no value yet: put the JSON of docs/deploy.md ("Fill in the secrets") in it'
          : 'it does not exist: check the ARN the stack passed (redeploy) and that it was not deleted'
        : name === 'AccessDeniedException'
          ? "the function's role may not read it: redeploy the stack, which grants secretsmanager:GetSecretValue"
          : name.startsWith('Decryption') || name.startsWith('KMS')
            ? "its KMS key refused to decrypt it: check the key policy and that the key is enabled"
            : `Secrets Manager refused the request (${awsErrorSummary(cause)})`;
    throw new ConfigError(`Cannot read the ${label} secret ${secretArn}: ${hint}`, { cause });
  }
  if (raw === undefined) throw new ConfigError(`The ${label} secret ${secretArn} has no value: put one in (docs/deploy.md)`);
  const text = typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConfigError(`The ${label} secret ${secretArn} is not JSON: put the JSON shown in docs/deploy.md in it`);
  }
}

/** The database URL of a database secret; a secret with an empty `host` is "not configured yet". */
export async function databaseUrlFromSecret(secretArn: string, label: string): Promise<string> {
  const parsed = databaseSecretSchema.safeParse(await readSecretJson(secretArn, label));
  if (!parsed.success) {
    throw new ConfigError(`The ${label} secret ${secretArn} is not a database secret: ${describeIssues(parsed.error).join('; ')} (expected {"host","port","dbname","username","password","sslmode"}; docs/deploy.md)`);
  }
  if (!parsed.data.host) {
    throw new ConfigError(`The ${label} secret ${secretArn} is not configured yet (its "host" is empty): put the database's host, user and password in it (docs/deploy.md, "Fill in the secrets")`);
  }
  return databaseUrlFrom(parsed.data);
}

/** As databaseUrlFromSecret, for a read-only check (readOnlyDatabaseUrlFrom). */
export async function readOnlyDatabaseUrlFromSecret(secretArn: string, label: string): Promise<string> {
  const parsed = databaseSecretSchema.safeParse(await readSecretJson(secretArn, label));
  if (!parsed.success || !parsed.data.host) return databaseUrlFromSecret(secretArn, label);
  return readOnlyDatabaseUrlFrom(parsed.data);
}

const slackSecretSchema = z.object({ webhookUrl: z.string() });

/** True for the URLs a webhook may have: https anywhere, or plain http on loopback (a local test server). */
function acceptableWebhook(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname));
  } catch {
    return false;
  }
}

/** The Slack incoming-webhook URL from `{"webhookUrl": "https://hooks.slack.com/…"}`. */
export async function slackWebhookUrl(secretArn: string): Promise<string> {
  const parsed = slackSecretSchema.safeParse(await readSecretJson(secretArn, 'Slack webhook'));
  if (!parsed.success || !acceptableWebhook(parsed.data.webhookUrl)) {
    throw new ConfigError(`The Slack webhook secret ${secretArn} is not configured yet: put {"webhookUrl":"https://hooks.slack.com/services/…"} in it (docs/deploy.md)`);
  }
  return parsed.data.webhookUrl;
}

/** The database URL of a restore target, from TARGET_SECRET_ARNS; an unknown name is a UsageError. */
export async function targetDatabaseUrl(targetSecretArns: Readonly<Record<string, string>>, target: string, access: 'read-write' | 'read-only' = 'read-write'): Promise<string> {
  const arn = targetSecretArns[target];
  if (!arn) throw new UsageError(`Unknown restore target "${target}": use one of ${Object.keys(targetSecretArns).join(', ')}`);
  return access === 'read-only' ? readOnlyDatabaseUrlFromSecret(arn, `read-only restore target "${target}"`) : databaseUrlFromSecret(arn, `restore target "${target}"`);
}

/**
 * The Supabase Storage of a restore target, from the `storage` object of its secret; a secret
 * without one is a ConfigError that says what to add.
 */
export async function targetStorageConnection(targetSecretArns: Readonly<Record<string, string>>, target: string): Promise<z.output<typeof storageSecretSchema>> {
  const arn = targetSecretArns[target];
  if (!arn) throw new UsageError(`Unknown restore target "${target}": use one of ${Object.keys(targetSecretArns).join(', ')}`);
  const secret = await readSecretJson(arn, `restore target "${target}"`);
  const storage = typeof secret === 'object' && secret !== null ? (secret as { storage?: unknown }).storage : undefined;
  if (storage === undefined) {
    throw new ConfigError(`The restore target "${target}" secret ${arn} has no "storage": add "storage": {"endpoint","region","accessKeyId","secretAccessKey"} (the ${target} project's Storage S3 access; docs/deploy.md) to restore media, or start the restore without "media"`);
  }
  const parsed = storageSecretSchema.safeParse(storage);
  if (!parsed.success) throw new ConfigError(`The "storage" of the restore target "${target}" secret ${arn} is not filled in: ${describeIssues(parsed.error).join('; ')} (docs/deploy.md)`);
  return parsed.data;
}
