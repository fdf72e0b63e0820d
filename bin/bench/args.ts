import { parseArgs } from 'node:util';
import { DEFAULT_BACKUP_ROWS } from '../../lambdas/core/format/row-encoding.js';
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
  /** Row encoding of the iconic-dr postgres-driver backup (`backup --rows`); the supabase driver always writes json. */
  readonly rows: 'copy' | 'json';
  /** Run the media sync case instead of the database bench (issue 12). */
  readonly media: { readonly objects: number; readonly megabytes: number } | undefined;
}

export const USAGE = `Usage: npm run bench -- [--scale N] [--profile realistic|incompressible] [--runs N] [--only backup|restore] [--rows copy|json] [--keep] [--drop]
       npm run bench -- --media [--media-objects N] [--media-mb N] [--keep]

  --scale N     dataset size, 1 = ~1M rows (lambdas/core/sample/shop.ts) (default 1)
  --profile P   realistic: names, addresses, phrases, jsonb documents, skewed values (default);
                incompressible: the first generator's md5 hex text
  --runs N      repeat each timed command N times and report the median (default 1)
  --only P      time only the backup or the restore phase (the other runs once, untimed, if needed)
  --rows R      row encoding of the iconic-dr postgres-driver backup: copy (the table's own COPY
                text, the CLI's default) or json (NDJSON); the supabase driver always writes json
  --keep        keep the work directory with the archives and backups
  --drop        drop the seeded source database at the end (default: keep it for the next run)
  --media       the media case instead: first sync of Supabase Storage (an S3 server), an unchanged
                hourly sync and one with 1 % changed, with requests, bytes and peak RSS
  --media-objects N   objects in Storage (default 10000)
  --media-mb N        their total size in MB (default 1000)

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
        rows: { type: 'string' },
        keep: { type: 'boolean' },
        drop: { type: 'boolean' },
        media: { type: 'boolean' },
        'media-objects': { type: 'string' },
        'media-mb': { type: 'string' },
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
  const rows = parsed.rows ?? DEFAULT_BACKUP_ROWS;
  if (rows !== 'copy' && rows !== 'json') throw new ArgsError('--rows must be copy or json');
  const profile = parsed.profile ?? 'realistic';
  if (!(SHOP_PROFILES as readonly string[]).includes(profile)) throw new ArgsError(`--profile must be ${SHOP_PROFILES.join(' or ')}`);
  const objects = parsed['media-objects'] === undefined ? 10_000 : Number(parsed['media-objects']);
  const megabytes = parsed['media-mb'] === undefined ? 1000 : Number(parsed['media-mb']);
  if ((parsed['media-objects'] !== undefined || parsed['media-mb'] !== undefined) && !parsed.media) throw new ArgsError('--media-objects and --media-mb go with --media');
  if (!Number.isInteger(objects) || objects < 10 || objects > 1_000_000) throw new ArgsError('--media-objects must be a whole number from 10 to 1000000');
  if (!Number.isFinite(megabytes) || megabytes <= 0 || megabytes > 100_000) throw new ArgsError('--media-mb must be a number above 0 and at most 100000');
  const media = parsed.media ? { objects, megabytes } : undefined;
  return { scale, profile: profile as ShopProfile, runs, only, rows, keep: parsed.keep ?? false, drop: parsed.drop ?? false, media };
}
