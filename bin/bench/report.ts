import os from 'node:os';
import type { SourceData } from './dataset.js';
import type { BackupKey, RestoreKey, ValidateKey } from './methods.js';
import type { TableSizes } from './table-sizes.js';

export interface RunSample {
  readonly seconds: number;
  readonly peakRssBytes: number;
  /** Duration the tool reports for its own work (iconic-dr), when it reports one. */
  readonly reportedSeconds?: number;
}

export interface MethodResult {
  readonly key: BackupKey | RestoreKey | ValidateKey;
  readonly label: string;
  /** validate: timed against the iconic-dr backup, not against a pg tool. */
  readonly phase: 'backup' | 'restore' | 'validate';
  readonly runs: RunSample[];
  /** Output size of the last run (archives are deterministic up to a few bytes). */
  bytes?: number;
  error?: string;
}

export type YesNo = 'yes' | 'no' | 'n/a';

export interface ReportInput {
  readonly results: readonly MethodResult[];
  readonly source: SourceData;
  readonly scale: number;
  readonly runs: number;
  readonly serverDescription: string;
  readonly loadAtStart: readonly number[];
  readonly identical: YesNo;
  readonly supabaseIdentical: YesNo;
  /** Size of the iconic-dr and pg_dump -Fc outputs even when their rows were not timed (--only restore). */
  readonly sizes: { readonly iconic?: number; readonly pgDump?: number };
  /** Compressed bytes per table: iconic-dr's manifest against the `pg_dump -Fd` directory's files. */
  readonly tableSizes?: { readonly iconic: TableSizes; readonly pgDump: TableSizes; readonly codec: string };
  readonly notes: readonly string[];
}

const MB = 1e6;
const MIB = 1024 * 1024;

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function medianSeconds(result: MethodResult | undefined): number | undefined {
  return result && !result.error && result.runs.length ? median(result.runs.map((r) => r.seconds)) : undefined;
}

/** The highest of the runs: the memory targets are about the worst moment, not the typical one. */
export function peakRss(result: MethodResult | undefined): number | undefined {
  return result && !result.error && result.runs.length ? Math.max(...result.runs.map((r) => r.peakRssBytes)) : undefined;
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b <= 0 ? 'n/a' : (a / b).toFixed(2);
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');

function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  // First column left-aligned (names), the numbers right-aligned.
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** One row per table: compressed size of iconic-dr's file(s) against pg_dump's, then the totals. */
function renderTableSizes(sizes: NonNullable<ReportInput['tableSizes']>): string[] {
  const names = [...sizes.iconic.keys()].sort((a, b) => (sizes.pgDump.get(b) ?? 0) - (sizes.pgDump.get(a) ?? 0));
  const mb = (b: number | undefined) => (b === undefined ? '-' : `${(b / MB).toFixed(2)} MB`);
  const rows = names.map((t) => [t, mb(sizes.pgDump.get(t)), mb(sizes.iconic.get(t)), ratio(sizes.iconic.get(t), sizes.pgDump.get(t))]);
  const sum = (m: TableSizes) => names.reduce((s, t) => s + (m.get(t) ?? 0), 0);
  rows.push(['all tables', mb(sum(sizes.pgDump)), mb(sum(sizes.iconic)), ratio(sum(sizes.iconic), sum(sizes.pgDump))]);
  return renderTable(['table', 'pg_dump -Fd', `iconic-dr (${sizes.codec})`, 'size ratio'], rows);
}

export function renderReport(input: ReportInput): string[] {
  const byKey = (key: BackupKey | RestoreKey | ValidateKey) => input.results.find((r) => r.key === key);
  const anchor = { backup: medianSeconds(byKey('pg_dump_fc')), restore: medianSeconds(byKey('pg_restore_single')), validate: medianSeconds(byKey('iconic')) };
  const { rows, tableBytes } = input.source;

  const tableRows = input.results.map((r) => {
    const name = `${r.phase === 'backup' ? '' : `${r.phase}: `}${r.label}`;
    if (r.error) return [name, 'FAILED', '', '', '', '', ''];
    const s = medianSeconds(r)!;
    return [
      name,
      s.toFixed(2),
      count(rows / s),
      (tableBytes / MB / s).toFixed(1),
      r.bytes === undefined ? '-' : `${(r.bytes / MB).toFixed(1)} MB`,
      `${(peakRss(r)! / MIB).toFixed(0)} MiB`,
      ratio(s, anchor[r.phase]),
    ];
  });

  const out: string[] = [];
  out.push(
    `iconic-dr bench: scale ${input.scale}, ${count(rows)} rows in ${input.source.tables.length} tables, ${(tableBytes / MB).toFixed(1)} MB table data (${(input.source.totalBytes / MB).toFixed(1)} MB with indexes, ${(input.source.textBytes / MB).toFixed(1)} MB as row text), source ${input.source.name}${input.source.reused ? ' (reused)' : ' (seeded now)'}, median of ${input.runs} run${input.runs > 1 ? 's' : ''}`,
  );
  out.push('');
  out.push(...renderTable(['method', 'seconds', 'rows/s', 'MB/s', 'output', 'peak RSS', 'ratio'], tableRows));
  out.push('');
  out.push('  MB/s: table data (pg_table_size = heap + TOAST, no indexes) / seconds; MB = 10^6 bytes.');
  out.push('  ratio: backups to pg_dump -Fc, restores to pg_restore --single-transaction --data-only --disable-triggers, validate to the iconic-dr backup (wall clock, median).');
  out.push('  pg_restore needs --disable-triggers: data-only restores load in archive order and would trip the foreign keys.');
  out.push('  peak RSS: the command\'s process tree (not the server); iconic-dr rows run the real CLI (the bundle npm ci builds): node startup included.');
  for (const r of input.results) {
    if (r.error) out.push(`  ${r.label} FAILED: ${r.error}`);
    else if (r.runs.length > 1) out.push(`  ${r.label}: runs ${r.runs.map((x) => x.seconds.toFixed(2)).join(', ')} s`);
  }
  for (const note of input.notes) out.push(`  ${note}`);
  if (input.tableSizes) {
    out.push('');
    out.push(...renderTableSizes(input.tableSizes));
    out.push('  pg_dump -Fd: each table\'s <dump id>.dat.gz (zlib, pg_dump\'s default level, as in -Fc); iconic-dr: the table\'s files in metadata.json.');
  }
  out.push('');
  const cpu = os.cpus()[0]?.model?.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  const load = (l: readonly number[]) => l.map((x) => x.toFixed(2)).join(' ');
  out.push(
    `machine: ${os.availableParallelism()} cores (${cpu}), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB memory, ${input.serverDescription}, Node ${process.version}, load average ${load(input.loadAtStart)} at start, ${load(os.loadavg())} at end`,
  );

  const iconic = byKey('iconic');
  const iconicRestore = byKey('iconic_restore');
  const mib = (b: number | undefined) => (b === undefined ? 'n/a' : (b / MIB).toFixed(0));
  out.push(
    [
      `backup_ratio=${ratio(medianSeconds(iconic), anchor.backup)}`,
      `restore_ratio=${ratio(medianSeconds(iconicRestore), anchor.restore)}`,
      `size_ratio=${ratio(input.sizes.iconic, input.sizes.pgDump)}`,
      `validate_ratio=${ratio(medianSeconds(byKey('iconic_validate')), anchor.validate)}`,
      `backup_rss_mb=${mib(peakRss(iconic))}`,
      `restore_rss_mb=${mib(peakRss(iconicRestore))}`,
      `supabase_ratio=${ratio(medianSeconds(byKey('supabase')), anchor.backup)}`,
      `supabase_identical=${input.supabaseIdentical}`,
      `identical=${input.identical}`,
    ].join(' '),
  );
  return out;
}
