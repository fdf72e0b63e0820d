import { createBackup } from './backup.js';
import { ConfirmationRequiredError } from './errors.js';
import { checkIntegrity } from './integrity.js';
import { restoreBackup } from './restore.js';
import { createShop, fingerprintTables, type TableFingerprint } from './sample/shop.js';
import { connect, describeDatabase, quoteQualified } from './postgres/connection.js';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './postgres/embedded.js';
import { openPostgresSource } from './postgres/source.js';
import type { BackupStore } from './storage/store.js';
import { DEFAULT_RPO_HOURS, rpoStatus, type RpoStatus } from './rpo.js';
import type { S3Client } from '@aws-sdk/client-s3';
import { restoreMedia, verifyMedia } from './media/restore.js';
import { syncMedia } from './media/sync.js';
import { validateBackup } from './validate.js';
import { verifyCounts } from './verify.js';

/** The plan's recovery time objective for critical services. */
export const RTO_MS = 60 * 60 * 1000;

export interface DrillStep {
  readonly name: string;
  readonly ms: number;
  readonly ok: boolean;
  readonly detail: string;
}

export interface DrillOptions {
  /** A disposable copy to drill on; its data is destroyed and restored. @default an embedded Postgres with sample data */
  readonly databaseUrl?: string;
  /** Required with databaseUrl: the drill empties that database's tables. */
  readonly confirmed?: boolean;
  readonly store: BackupStore;
  /** Sample data size for the embedded database (1 = ~1M rows). @default 0.02 */
  readonly scale?: number;
  readonly schemas?: readonly string[];
  readonly jobs?: number;
  /**
   * Where the real backups are: the drill measures the RPO as the age of the newest good backup there
   * (the drill's own backup is fresh, so it proves nothing about the RPO). @default not measured
   */
  readonly rpoStore?: BackupStore;
  readonly rpoHours?: number;
  /**
   * Supabase Storage to drill too: synced into the drill's location, restored into buckets of the
   * drill's own (`<bucket>-drill`, never the live ones) and compared object by object.
   * @default media left out
   */
  readonly media?: { readonly client: S3Client; readonly source: string; readonly buckets?: readonly string[] };
  readonly onStep?: (step: DrillStep) => void;
}

/** Where a drill restores a Storage bucket: a bucket of its own, never the live one. */
export const drillBucket = (bucket: string): string => `${bucket}-drill`;

export interface DrillReport {
  readonly ok: boolean;
  readonly database: string;
  readonly embedded: boolean;
  readonly backupId: string;
  readonly location: string;
  readonly steps: readonly DrillStep[];
  readonly rowsBackedUp: number;
  readonly rowsRestored: number;
  /** From the disaster to a verified restore: validate + restore + verify + integrity check. */
  readonly recoveryTimeMs: number;
  readonly rtoMs: number;
  readonly withinRto: boolean;
  readonly dataLost: boolean;
  readonly tables: readonly { readonly table: string; readonly rowsBefore: number; readonly rowsAfter: number; readonly identical: boolean }[];
  /** The RPO measured on the real backups (`rpoStore`), or null when no location was given. */
  readonly rpo: RpoStatus | null;
  /** The media part, when Storage was drilled: snapshot, objects, the drill's buckets, identical or not. */
  readonly media: { readonly snapshotId: string; readonly objects: number; readonly bytes: number; readonly buckets: readonly string[]; readonly identical: boolean } | null;
  readonly startedAt: string;
  /** Keys of the Markdown and JSON reports written beside the drill's backup. */
  readonly reports: { readonly markdown: string; readonly json: string } | null;
}

const ms = (n: number) => (n < 1000 ? `${n} ms` : `${(n / 1000).toFixed(1)} s`);

/** The report a manager reads, in the plan's drill checklist order: steps, times, rows, data lost, RTO/RPO. */
export function drillReportMarkdown(r: DrillReport): string {
  const yes = (ok: boolean) => (ok ? 'met' : '**MISSED**');
  const lines = [
    `# Disaster recovery drill — ${r.startedAt.slice(0, 10)}`,
    '',
    `**Result: ${r.ok ? 'PASSED' : 'FAILED'}**`,
    '',
    `- Database drilled: ${r.database}${r.embedded ? ' (embedded PostgreSQL with sample data)' : ''}`,
    `- Backup: ${r.backupId} in ${r.location}`,
    `- Recovery time (validate + restore + verify + integrity): ${ms(r.recoveryTimeMs)}; RTO ${r.rtoMs / 3_600_000} h ${yes(r.withinRto)}`,
    r.rpo
      ? r.rpo.ageHours === undefined
        ? `- RPO: no good backup in ${r.rpo.location}; RPO ${r.rpo.rpoHours} h **MISSED**`
        : `- RPO: newest good backup ${r.rpo.backupId} in ${r.rpo.location} is ${r.rpo.ageHours.toFixed(1)} h old; RPO ${r.rpo.rpoHours} h ${yes(r.rpo.met)}`
      : '- RPO: not measured (no backup location given)',
    `- Rows: ${r.rowsBackedUp} backed up, ${r.rowsRestored} restored`,
    r.media ? `- Media (Supabase Storage): snapshot ${r.media.snapshotId}, ${r.media.objects} objects restored into ${r.media.buckets.join(', ')}: ${r.media.identical ? 'every object identical' : '**DIFFERENCES**'}` : '- Media: not drilled (Supabase Storage not configured)',
    `- Data lost: ${r.dataLost ? `**YES** (${r.tables.filter((t) => !t.identical).map((t) => t.table).join(', ')})` : 'none; every table identical to before the disaster'}`,
    '',
    '## Checklist',
    '',
    '| Step | Time | Result | Detail |',
    '|---|---:|---|---|',
    ...r.steps.map((s) => `| ${s.name} | ${ms(s.ms)} | ${s.ok ? 'ok' : 'FAILED'} | ${s.detail.replace(/\|/g, '\\|')} |`),
    '',
    '## Tables',
    '',
    '| Table | Rows before | Rows after | Identical |',
    '|---|---:|---:|---|',
    ...r.tables.map((t) => `| ${t.table} | ${t.rowsBefore} | ${t.rowsAfter} | ${t.identical ? 'yes' : '**NO**'} |`),
    '',
  ];
  return lines.join('\n');
}

/** Writes the drill's reports once, beside its backup: `drill-reports/<backupId>.md` and `.json`. */
async function writeDrillReport(store: BackupStore, report: DrillReport): Promise<{ markdown: string; json: string }> {
  const markdown = `drill-reports/${report.backupId}.md`;
  const json = `drill-reports/${report.backupId}.json`;
  await store.createObject(markdown, drillReportMarkdown(report));
  await store.createObject(json, `${JSON.stringify({ ...report, reports: { markdown, json } }, null, 2)}\n`);
  return { markdown, json };
}

/**
 * A whole disaster drill (the plan's monthly checklist): back up, destroy the data, validate, restore,
 * verify counts and integrity, and prove by content fingerprints that nothing was lost.
 */
export async function runDrill(options: DrillOptions): Promise<DrillReport> {
  if (options.databaseUrl && !options.confirmed) {
    throw new ConfirmationRequiredError(`The drill empties every table of ${describeDatabase(options.databaseUrl).label} and restores it; confirm that it is a disposable copy`, { hint: 'confirm' });
  }
  const startedAt = new Date().toISOString();
  const steps: DrillStep[] = [];
  const step = async <T>(name: string, action: () => Promise<T>, detail: (value: T) => string, ok: (value: T) => boolean = () => true): Promise<T> => {
    const started = Date.now();
    const value = await action();
    const s = { name, ms: Date.now() - started, ok: ok(value), detail: detail(value) };
    steps.push(s);
    options.onStep?.(s);
    return value;
  };

  let embedded: EmbeddedPostgresHandle | undefined;
  try {
    let databaseUrl = options.databaseUrl;
    if (!databaseUrl) {
      const scale = options.scale ?? 0.02;
      embedded = await step('Start embedded PostgreSQL', () => startEmbeddedPostgres(), (e) => `port ${e.port}`);
      const server = embedded;
      databaseUrl = await step(
        'Create the shop with sample data',
        async () => {
          const admin = await connect(server.url);
          await admin.query('CREATE DATABASE iconic_shop');
          await admin.end();
          const url = server.url.replace(/\/postgres$/, '/iconic_shop');
          const client = await connect(url);
          try {
            await createShop(client, scale);
          } finally {
            await client.end();
          }
          return url;
        },
        () => `scale ${scale}`,
      );
    }
    const url = databaseUrl;
    const schemas = options.schemas?.length ? options.schemas : ['public'];

    const source = await openPostgresSource({ databaseUrl: url, schemas, jobs: options.jobs ?? 1 });
    const tables = source.tables.map((t) => ({ schema: t.schema, name: t.name, qualified: t.qualified }));
    let backup;
    try {
      backup = await step('Back up', () => createBackup({ store: options.store, source, purpose: 'drill' }), (b) => `${b.manifest.totalRecords} rows in ${b.manifest.tables.length} tables -> ${b.backupId}`);
    } finally {
      await source.close();
    }
    const client = await connect(url, 'iconic-dr drill');
    let before: TableFingerprint[];
    try {
      before = await fingerprintTables(client, tables);
      await step(
        'Disaster: destroy the data',
        () => client.query(`TRUNCATE ${tables.map((t) => quoteQualified(t.schema, t.name)).join(', ')}`),
        () => `${tables.length} tables emptied`,
      );
    } finally {
      await client.end();
    }

    const recoveryStarted = Date.now();
    const validation = await step('Validate the backup', () => validateBackup(options.store, backup.backupId), (v) => (v.valid ? 'checksums and rows match' : v.problems.join('; ')), (v) => v.valid);
    const restore = await step('Restore', () => restoreBackup({ store: options.store, backupId: backup.backupId, databaseUrl: url }), (r) => `${r.totalRecords} rows, one transaction`);
    const verify = await step('Verify counts', () => verifyCounts(options.store, backup.backupId, url), (v) => (v.ok ? `${v.actualTotal} rows match` : `${v.tables.filter((t) => !t.ok).length} tables differ`), (v) => v.ok);
    const integrity = await step('Integrity check', () => checkIntegrity(url, { schemas }), (i) => (i.ok ? `${i.foreignKeysChecked} foreign keys, no orphans` : i.problems.join('; ')), (i) => i.ok);
    const recoveryTimeMs = Date.now() - recoveryStarted;

    const check = await connect(url, 'iconic-dr drill');
    let after: TableFingerprint[];
    try {
      after = await fingerprintTables(check, tables);
    } finally {
      await check.end();
    }
    const comparison = before.map((b, i) => ({ table: b.table, rowsBefore: b.rows, rowsAfter: after[i]!.rows, identical: b.md5 === after[i]!.md5 && b.rows === after[i]!.rows }));
    const dataLost = comparison.some((c) => !c.identical);
    steps.push({ name: 'Compare contents', ms: 0, ok: !dataLost, detail: dataLost ? `${comparison.filter((c) => !c.identical).length} tables differ from before the disaster` : 'every table identical to before the disaster' });
    options.onStep?.(steps[steps.length - 1]!);

    // The plan's Scenario 2 (complete failure): a brand-new, empty database restored from the backup
    // alone, schema included. Only on the embedded server, where the drill may create databases.
    let scenario2Ok = true;
    if (embedded) {
      const server = embedded;
      const freshUrl = server.url.replace(/\/postgres$/, '/iconic_shop_new');
      const fresh = await step(
        'Restore into a new, empty database',
        async () => {
          const admin = await connect(server.url);
          await admin.query('CREATE DATABASE iconic_shop_new');
          await admin.end();
          const restored = await restoreBackup({ store: options.store, backupId: backup.backupId, databaseUrl: freshUrl });
          const client = await connect(freshUrl, 'iconic-dr drill');
          try {
            const prints = await fingerprintTables(client, tables);
            return { restored, identical: prints.every((p, i) => p.md5 === before[i]!.md5 && p.rows === before[i]!.rows) };
          } finally {
            await client.end();
          }
        },
        (r) => (r.identical ? `schema created, ${r.restored.totalRecords} rows, every table identical` : 'tables differ from the source'),
        (r) => r.restored.schemaCreated && r.identical,
      );
      scenario2Ok = fresh.restored.schemaCreated && fresh.identical;
    }

    let media: DrillReport['media'] = null;
    if (options.media) {
      const { client, source, buckets } = options.media;
      const synced = await step('Media: sync Storage', () => syncMedia({ client, source, vault: options.store, ...(buckets ? { buckets } : {}) }), (r) => `${r.snapshot.stats.objects} objects in ${r.snapshot.buckets.length} bucket(s) -> ${r.snapshot.snapshotId}`);
      const targets = synced.snapshot.buckets.map((b) => drillBucket(b.name));
      await step('Media: restore into drill buckets', () => restoreMedia(client, options.store, synced.snapshot, { targetBucket: drillBucket, exact: true }), (r) => `${r.uploaded} uploaded, ${r.unchanged} already equal, into ${targets.join(', ')}`);
      const compared = await step('Media: compare every object', () => verifyMedia(client, options.store, synced.snapshot, undefined, { targetBucket: drillBucket }), (v) => (v.ok ? `${v.objectsChecked} objects identical` : `${v.differences.length} difference(s)`), (v) => v.ok);
      media = { snapshotId: synced.snapshot.snapshotId, objects: synced.snapshot.stats.objects, bytes: synced.snapshot.stats.bytes, buckets: targets, identical: compared.ok };
    }

    const rpo = options.rpoStore ? await rpoStatus(options.rpoStore, options.rpoHours ?? DEFAULT_RPO_HOURS) : null;
    const report: DrillReport = {
      ok: validation.valid && verify.ok && integrity.ok && !dataLost && scenario2Ok && (media?.identical ?? true) && recoveryTimeMs <= RTO_MS && (rpo?.met ?? true),
      database: describeDatabase(url).label,
      embedded: embedded !== undefined,
      backupId: backup.backupId,
      location: options.store.description,
      steps,
      rowsBackedUp: backup.manifest.totalRecords,
      rowsRestored: restore.totalRecords,
      recoveryTimeMs,
      rtoMs: RTO_MS,
      withinRto: recoveryTimeMs <= RTO_MS,
      dataLost,
      tables: comparison,
      rpo,
      media,
      startedAt,
      reports: null,
    };
    return { ...report, reports: await writeDrillReport(options.store, report) };
  } finally {
    await embedded?.stop();
  }
}
