import os from 'node:os';
import { z } from 'zod';
import { ConfigError } from '../../lambdas/core/errors.js';

/** `1`, `true`, `yes` in any case: on; anything else (`0`, `false`, empty) off. */
export function isTruthy(value: string): boolean {
  return /^(1|true|yes)$/i.test(value.trim());
}

const truthy = z
  .string()
  .optional()
  .transform((v) => (v === undefined ? undefined : isTruthy(v)));

/** The CLI's environment (DESIGN.md §5), read once and validated. Values are never printed. */
const envSchema = z.object({
  DATABASE_URL: z.string().trim().min(1).optional(),
  BACKUP_LOCATION: z.string().trim().min(1).default('./backups'),
  SUPABASE_URL: z.url({ message: 'SUPABASE_URL must be a URL such as https://<project>.supabase.co' }).optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().trim().min(1).optional(),
  SKIP_RESTORE_CONFIRMATION: truthy,
  AWS_ENDPOINT_URL_S3: z.url({ message: 'AWS_ENDPOINT_URL_S3 must be a URL' }).optional(),
  AWS_REGION: z.string().optional(),
  BACKUP_KMS_KEY_ID: z.string().trim().min(1).optional(),
  BACKUP_TABLES: z.string().trim().min(1).optional(),
  BACKUP_SCHEMAS: z.string().trim().min(1).optional(),
  ICONIC_DR_DEBUG: truthy,
  /** `backup --rows`'s default: `copy` or `json`. */
  ICONIC_DR_ROWS: z.enum(['copy', 'json'], { message: 'ICONIC_DR_ROWS must be copy or json' }).optional(),
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
