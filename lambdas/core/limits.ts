import * as z from './util/zod.js';
import { ConfigError } from './errors.js';

/**
 * Bounds on what a backup may make this program read into memory (docs/reliability.md). They are
 * far above anything a real backup holds, and low enough that a hostile or broken one costs little.
 */
const MiB = 1024 * 1024;

/** metadata.json larger than this is refused before it is read (a real one is a few MiB at most). */
export const MAX_MANIFEST_BYTES = 64 * MiB;

/** A legacy `<table>.json` (a whole JSON array, parsed at once) larger than this is refused. */
export const MAX_LEGACY_FILE_BYTES = 512 * MiB;

/** One NDJSON row (one line) longer than this stops a read; ICONIC_DR_MAX_LINE_BYTES raises it. @default 64 MiB */
export const DEFAULT_MAX_LINE_BYTES = 64 * MiB;

let cachedLineBytes: number | undefined;

/** The line bound: ICONIC_DR_MAX_LINE_BYTES when set (validated), else the default. */
export function maxLineBytes(env: NodeJS.ProcessEnv = process.env): number {
  if (cachedLineBytes !== undefined && env === process.env) return cachedLineBytes;
  const raw = env.ICONIC_DR_MAX_LINE_BYTES;
  let value = DEFAULT_MAX_LINE_BYTES;
  if (raw !== undefined && raw !== '') {
    const parsed = z.wholeNumberText(1024, 1024 * MiB).safeParse(raw);
    if (!parsed.success) throw new ConfigError('Invalid environment: ICONIC_DR_MAX_LINE_BYTES must be a whole number of bytes from 1024 to 1073741824');
    value = parsed.data;
  }
  if (env === process.env) cachedLineBytes = value;
  return value;
}
