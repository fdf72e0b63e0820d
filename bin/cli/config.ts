import os from 'node:os';
import * as z from '../../lambdas/core/util/zod.js';
import { ConfigError } from '../../lambdas/core/errors.js';

/** `1`, `true`, `yes` in any case: on; anything else (`0`, `false`, empty) off. */
export function isTruthy(value: string): boolean {
  return /^(1|true|yes)$/i.test(value.trim());
}

const truthy = z.pipe(
  z.optional(z.string()),
  z.transform((v: string | undefined) => (v === undefined ? undefined : isTruthy(v))),
);

/** A value that is not only spaces, trimmed. */
const text = (name: string) => z.string().check(z.trim(), z.minLength(1, { message: `${name} is blank` }));

/** The CLI's environment (DESIGN.md §5), read once and validated. Values are never printed. */
const envSchema = z.object({
  DATABASE_URL: z.optional(text('DATABASE_URL')),
  BACKUP_LOCATION: z._default(text('BACKUP_LOCATION'), './backups'),
  SUPABASE_URL: z.optional(z.url({ message: 'SUPABASE_URL must be a URL such as https://<project>.supabase.co' })),
  SUPABASE_SERVICE_ROLE_KEY: z.optional(text('SUPABASE_SERVICE_ROLE_KEY')),
  SKIP_RESTORE_CONFIRMATION: truthy,
  AWS_ENDPOINT_URL_S3: z.optional(z.url({ message: 'AWS_ENDPOINT_URL_S3 must be a URL' })),
  AWS_REGION: z.optional(z.string()),
  BACKUP_KMS_KEY_ID: z.optional(text('BACKUP_KMS_KEY_ID')),
  BACKUP_TABLES: z.optional(text('BACKUP_TABLES')),
  BACKUP_SCHEMAS: z.optional(text('BACKUP_SCHEMAS')),
  ICONIC_DR_DEBUG: truthy,
  /** `backup --rows`'s default: `copy` or `json`. */
  ICONIC_DR_ROWS: z.optional(z.enum(['copy', 'json'], { message: 'ICONIC_DR_ROWS must be copy or json' })),
});

export type CliEnv = z.infer<typeof envSchema>;

let cached: CliEnv | undefined;

export function loadEnv(env: NodeJS.ProcessEnv = process.env): CliEnv {
  if (cached && env === process.env) return cached;
  const blanksRemoved = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(blanksRemoved);
  if (!parsed.success) {
    // Every problem at once: fixing one variable per run is a slow way to learn about the next.
    throw new ConfigError(`Invalid environment: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  if (env === process.env) cached = parsed.data;
  return parsed.data;
}

export function splitList(value: string | undefined): string[] | undefined {
  if (!value) return undefined;
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
}

/** Parallel table workers: one per core, at most 4 (more only adds contention on the server). */
export function defaultJobs(): number {
  return Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length));
}
