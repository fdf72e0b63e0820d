import cliProgress from 'cli-progress';

export const OK = '✓';
export const FAIL = '✗';

export { formatBytes, formatCount, formatDate } from '../../lambdas/core/util/format.js';

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Left-aligned columns, the plan's `backup:list` look. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly number[] = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (rightAligned.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/**
 * Where output goes: results on stdout (human lines or one JSON document), progress and notes on
 * stderr, and a progress bar only when stderr is a terminal and JSON was not asked for.
 */
export class Output {
  private bar: cliProgress.SingleBar | undefined;

  constructor(readonly json: boolean) {}

  get interactive(): boolean {
    return !this.json && process.stderr.isTTY === true;
  }

  /** A human result line (stdout); suppressed in JSON mode. */
  line(text: string): void {
    if (!this.json) process.stdout.write(`${text}\n`);
  }

  /** A human note (stderr), kept out of stdout so scripts can capture results. */
  note(text: string): void {
    this.stopProgress();
    if (!this.json) process.stderr.write(`${text}\n`);
  }

  /** A warning (stderr) shown in JSON mode too: the JSON document carries it as well, scripts' logs keep it. */
  warn(text: string): void {
    this.stopProgress();
    process.stderr.write(`${text}\n`);
  }

  result(value: unknown): void {
    if (this.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  progress(label: string, value: number, total: number): void {
    if (!this.interactive) return;
    if (!this.bar) {
      this.bar = new cliProgress.SingleBar(
        { format: '{label} [{bar}] {percentage}% | {value}/{total} rows', hideCursor: true, clearOnComplete: true, stream: process.stderr, fps: 5 },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(total, value, 1), value, { label });
    }
    this.bar.setTotal(Math.max(total, value, 1));
    this.bar.update(value, { label });
  }

  stopProgress(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
