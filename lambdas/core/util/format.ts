/** Human numbers and dates shared by the CLI and the alerts. */

/**
 * `1,234,567`, as `toLocaleString('en-US')` writes it. Integers are grouped by hand: the first use of
 * Intl in a process loads ICU's data, ~15 ms of every CLI command that prints a count.
 */
export function formatCount(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let grouped = digits.slice(0, digits.length % 3 || 3);
  for (let i = grouped.length; i < digits.length; i += 3) grouped += `,${digits.slice(i, i + 3)}`;
  return n < 0 ? `-${grouped}` : grouped;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** `Dec 1, 2026 09:02 UTC`, or `-` without a time; text that is no time comes back as it is. Without Intl, as formatCount. */
export function formatDate(iso: string | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()} ${d.toISOString().slice(11, 16)} UTC`;
}

/** `124.5MB` (the plan's `backup:list` style) or, with a separator, `124.5 MB`. */
export function formatBytes(bytes: number, unitSeparator = ''): string {
  if (bytes < 1024) return `${bytes}${unitSeparator}B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)}${unitSeparator}${units[unit]}`;
}
