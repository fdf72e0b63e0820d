/** Human numbers shared by the CLI and the alerts. */

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
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
