import { parseArgs } from 'node:util';
import { SHOP_PROFILES, type ShopProfile } from '../../lambdas/core/sample/shop.js';

export interface BenchOptions {
  /** Dataset size: 1 ≈ 1M rows (see lambdas/core/sample/shop.ts). */
  readonly scale: number;
  /** Which sample data: `realistic` (compresses like a real shop's) or `incompressible` (md5 hex text). */
  readonly profile: ShopProfile;
  /** Timed repetitions of every command; the table reports the median. */
  readonly runs: number;
  /** Which timed phase to run; the other phase still runs once, untimed, when needed (fidelity). */
  readonly only: 'backup' | 'restore' | undefined;
  /** Keep the work directory (archives, backups) and print where it is. */
  readonly keep: boolean;
  /** Drop the seeded source database at the end (it is kept for reuse by default). */
  readonly drop: boolean;
}

export const USAGE = `Usage: npm run bench -- [--scale N] [--profile realistic|incompressible] [--runs N] [--only backup|restore] [--keep] [--drop]

  --scale N     dataset size, 1 = ~1M rows (lambdas/core/sample/shop.ts) (default 1)
  --profile P   realistic: names, addresses, phrases, jsonb documents, skewed values (default);
                incompressible: the first generator's md5 hex text
  --runs N      repeat each timed command N times and report the median (default 1)
  --only P      time only the backup or the restore phase (the other runs once, untimed, if needed)
  --keep        keep the work directory with the archives and backups
  --drop        drop the seeded source database at the end (default: keep it for the next run)

Database: BENCH_DATABASE_URL, else TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres;
the embedded PostgreSQL when that is unreachable (only if pg_dump/pg_restore/psql of its version exist).`;

export class ArgsError extends Error {}

export function parseBenchArgs(argv: readonly string[]): BenchOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        scale: { type: 'string' },
        profile: { type: 'string' },
        runs: { type: 'string' },
        only: { type: 'string' },
        keep: { type: 'boolean' },
        drop: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new ArgsError((error as Error).message);
  }
  if (parsed.help) return 'help';
  const scale = parsed.scale === undefined ? 1 : Number(parsed.scale);
  // The generator rounds row counts; below ~0.0001 some tables would round to one row.
  if (!Number.isFinite(scale) || scale <= 0 || scale > 100) throw new ArgsError('--scale must be a number above 0 and at most 100');
  const runs = parsed.runs === undefined ? 1 : Number(parsed.runs);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new ArgsError('--runs must be a whole number from 1 to 50');
  const only = parsed.only;
  if (only !== undefined && only !== 'backup' && only !== 'restore') throw new ArgsError('--only must be backup or restore');
  const profile = parsed.profile ?? 'realistic';
  if (!(SHOP_PROFILES as readonly string[]).includes(profile)) throw new ArgsError(`--profile must be ${SHOP_PROFILES.join(' or ')}`);
  return { scale, profile: profile as ShopProfile, runs, only, keep: parsed.keep ?? false, drop: parsed.drop ?? false };
}
