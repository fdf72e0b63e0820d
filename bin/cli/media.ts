import { Command } from 'commander';
import { confirm, jsonOption, positiveInt } from './options.js';
import { readBucketSettings } from '../../lambdas/core/media/bucket-settings.js';
import { listSnapshots, resolveSnapshot } from '../../lambdas/core/media/catalog.js';
import { describeObject } from '../../lambdas/core/media/snapshot.js';
import { parseLocation } from '../../lambdas/core/storage/location.js';
import { splitList } from './config.js';
import { databaseUrl, locationFor, storeFor, storeForReading } from './context.js';
import { FAIL, OK, Output, formatBytes, formatCount, formatDate, formatDuration, table } from './output.js';


function confirmMedia(question: string | undefined, yes: boolean | undefined): Promise<void> {
  return confirm(question, 'Refusing to write into Supabase Storage without confirmation: pass --yes or set SKIP_RESTORE_CONFIRMATION=true', 'Media restore cancelled; nothing was changed', yes);
}

// The modules that speak S3 load when a media command runs: the AWS SDK is most of what every
// other command would otherwise compile at start-up (docs/performance.md).
const storageModule = () => import('../../lambdas/core/media/storage-client.js');
const syncModule = () => import('../../lambdas/core/media/sync.js');
const restoreModule = () => import('../../lambdas/core/media/restore.js');
const pruneModule = () => import('../../lambdas/core/media/prune.js');

async function openStorage() {
  const { describeEndpoint, storageClient, storageConnectionFromEnv } = await storageModule();
  const connection = storageConnectionFromEnv();
  return { client: storageClient(connection), source: describeEndpoint(connection) };
}

/**
 * `iconic-dr media …`: Supabase Storage (user files and media, RPO 1 h) into the same location as the
 * database backups, as content-addressed objects and point-in-time snapshots.
 */
export function mediaCommand(): Command {
  const media = new Command('media').description('back up, list, verify, restore and prune Supabase Storage files (STORAGE_S3_ENDPOINT, STORAGE_S3_REGION, STORAGE_S3_ACCESS_KEY_ID, STORAGE_S3_SECRET_ACCESS_KEY)');

  media
    .command('sync')
    .description('copy what changed in Storage since the last snapshot and write a new snapshot; prints its id')
    .option('--buckets <names>', 'comma-separated buckets (default: every bucket the endpoint lists)')
    .option('--to <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .option('--db <url>', 'the project database, to record bucket settings S3 cannot express (public, size limit, MIME types)')
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      const vault = await storeFor(opts.to);
      const { client, source } = await openStorage();
      try {
        const bucketSettings = opts.db ? await readBucketSettings(databaseUrl(opts.db)) : undefined;
        const buckets = splitList(opts.buckets);
        const started = Date.now();
        const { syncMedia } = await syncModule();
        const { snapshot, requests } = await syncMedia({
          client,
          source,
          vault,
          ...(buckets ? { buckets } : {}),
          ...(bucketSettings ? { bucketSettings } : {}),
          onProgress: (event) => {
            if (event.type === 'listed') out.note(`Listed ${formatCount(event.objects)} objects; ${formatCount(event.toCopy)} new or changed to copy`);
            else if (event.type === 'problem') out.warn(`! ${event.problem}`);
          },
        });
        const s = snapshot.stats;
        out.note(`${OK} Media snapshot ${snapshot.snapshotId}: ${formatCount(s.objects)} objects, ${formatBytes(s.bytes)} in ${snapshot.buckets.length} bucket(s); ${s.new} new, ${s.changed} changed, ${s.deleted} deleted; ${formatBytes(s.bytesRead)} read in ${formatDuration(Date.now() - started)}`);
        out.line(snapshot.snapshotId);
        out.result({ ...snapshot, location: vault.description, requests });
      } finally {
        client.destroy();
      }
    });

  media
    .command('list')
    .description('media snapshots, newest first: time, objects, bytes, new/changed/deleted')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      const vault = await storeForReading(opts.from);
      const snapshots = await listSnapshots(vault);
      out.result(snapshots.map((s) => (s.snapshot ? { snapshotId: s.snapshotId, complete: true, startedAt: s.snapshot.startedAt, completedAt: s.snapshot.completedAt, buckets: s.snapshot.buckets.map((b) => b.name), ...s.snapshot.stats, problems: s.snapshot.problems.length } : { snapshotId: s.snapshotId, complete: false, problem: s.problem })));
      if (!snapshots.length) {
        out.line(`No media snapshots in ${vault.description}`);
        return;
      }
      out.line(
        table(
          ['Snapshot ID', 'Time', 'Objects', 'Size', 'New', 'Changed', 'Deleted', 'Status'],
          snapshots.map((s) =>
            s.snapshot
              ? [s.snapshotId, formatDate(s.snapshot.completedAt), formatCount(s.snapshot.stats.objects), formatBytes(s.snapshot.stats.bytes), String(s.snapshot.stats.new), String(s.snapshot.stats.changed), String(s.snapshot.stats.deleted), s.snapshot.problems.length ? `complete (${s.snapshot.problems.length} reported)` : 'complete']
              : [s.snapshotId, '-', '-', '-', '-', '-', '-', `INCOMPLETE: ${s.problem}`],
          ),
          [2, 3, 4, 5, 6],
        ),
      );
    });

  media
    .command('verify')
    .description('compare the live Storage buckets with a snapshot (exit 1 with every difference listed)')
    .argument('<snapshot>', 'snapshot id or "latest"')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .option('--buckets <names>', 'only these buckets')
    .addOption(jsonOption())
    .action(async (ref: string, opts) => {
      const out = new Output(Boolean(opts.json));
      const vault = await storeForReading(opts.from);
      const snapshot = await resolveSnapshot(vault, ref);
      const { client } = await openStorage();
      try {
        const { verifyMedia } = await restoreModule();
        const report = await verifyMedia(client, vault, snapshot, splitList(opts.buckets));
        out.result(report);
        for (const d of report.differences) out.line(`${FAIL} ${d.problem === 'bucket missing' ? `bucket ${d.bucket}` : describeObject(d)}: ${d.problem}${d.detail ? ` (${d.detail})` : ''}`);
        if (report.ok) out.line(`${OK} Storage matches media snapshot ${report.snapshotId}: ${formatCount(report.objectsChecked)} objects in ${report.buckets.length} bucket(s)`);
        else {
          out.line(`${FAIL} ${report.differences.length} difference(s) from media snapshot ${report.snapshotId}`);
          process.exitCode = 1;
        }
      } finally {
        client.destroy();
      }
    });

  media
    .command('restore')
    .description('upload every object that is missing or differs from a snapshot (creates missing buckets); --exact also deletes objects not in it')
    .argument('<snapshot>', 'snapshot id or "latest"')
    .option('--at <time>', 'the newest snapshot completed at or before this time (ISO 8601), as `restore --at` picks the database backup')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .option('--buckets <names>', 'only these buckets')
    .option('--exact', 'also delete live objects that are not in the snapshot')
    .option('-y, --yes', 'do not ask for confirmation (also SKIP_RESTORE_CONFIRMATION=true)')
    .addOption(jsonOption())
    .action(async (ref: string, opts) => {
      const out = new Output(Boolean(opts.json));
      await confirmMedia(undefined, opts.yes);
      const vault = await storeForReading(opts.from);
      const snapshot = await resolveSnapshot(vault, ref, opts.at);
      const buckets = splitList(opts.buckets);
      const { client, source } = await openStorage();
      try {
        await confirmMedia(`Restore media snapshot ${snapshot.snapshotId} (${formatDate(snapshot.completedAt)}, ${formatCount(snapshot.stats.objects)} objects) into ${source}${opts.exact ? ', deleting objects it does not have' : ''}?`, opts.yes);
        const { restoreMedia } = await restoreModule();
        const result = await restoreMedia(client, vault, snapshot, { ...(buckets ? { buckets } : {}), exact: Boolean(opts.exact) });
        out.result(result);
        for (const b of result.bucketsCreated) out.line(`${OK} Created bucket ${b}`);
        out.line(`${OK} Media restored from ${result.snapshotId}: ${formatCount(result.uploaded)} uploaded (${formatBytes(result.bytes)}), ${formatCount(result.unchanged)} already equal${opts.exact ? `, ${formatCount(result.deleted)} deleted` : ''}`);
        const settings = snapshot.buckets.filter((b) => result.buckets.includes(b.name) && (b.public !== undefined || b.fileSizeLimit || b.allowedMimeTypes));
        for (const b of settings) out.note(`! bucket ${b.name}: set public=${b.public ?? '?'}, file size limit ${b.fileSizeLimit ?? 'none'}, MIME types ${b.allowedMimeTypes?.join(', ') ?? 'any'} in the Storage settings (S3 cannot)`);
      } finally {
        client.destroy();
      }
    });

  media
    .command('prune')
    .description('delete snapshots past the retention and the stored contents no kept snapshot references')
    .option('--from <location>', 'backup location (default: $BACKUP_LOCATION or ./backups)')
    .option('--keep-days <days>', 'retention in days (default: 90 on S3, 30 in a folder)', positiveInt('--keep-days', 36_500))
    .option('--dry-run', 'only say what would be deleted')
    .addOption(jsonOption())
    .action(async (opts) => {
      const out = new Output(Boolean(opts.json));
      const vault = await storeForReading(opts.from);
      const days = opts.keepDays ?? (parseLocation(locationFor(opts.from).location).kind === 's3' ? 90 : 30);
      const { pruneMedia } = await pruneModule();
      const result = await pruneMedia(vault, { keepDays: days, dryRun: Boolean(opts.dryRun) });
      out.result(result);
      const verb = result.dryRun ? 'Would delete' : 'Deleted';
      out.line(`${OK} ${verb} ${result.deletedSnapshots.length} snapshot(s) older than ${days} days (kept ${result.keptSnapshots.length}) and ${result.deletedContents} stored content(s) no kept snapshot uses`);
      if (result.sweepSkipped) out.note(`! ${result.sweepSkipped}`);
    });

  return media;
}
