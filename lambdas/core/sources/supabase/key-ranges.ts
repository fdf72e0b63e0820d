/**
 * Key ranges that split a table for the supabase driver. Keyset paging is sequential: the next page's
 * condition is the last key of the page before, so one table is one request at a time, and the
 * biggest table sets the backup's length. A table whose first key column is an integer or a uuid is
 * cut into ranges of that column between its smallest and largest value, and each range is paged on
 * its own, at the same time as the others.
 *
 * The ranges cover every value, not only the span seen: the first has no lower bound and the last no
 * upper bound, so a row written below the smallest or above the largest key while the backup runs
 * is read as it would be without ranges.
 */

export type SplittableKey = 'integer' | 'uuid';

/** Whether a key column of this type (as the REST description names it) can be cut into ranges. */
export function splittableKey(type: string): SplittableKey | undefined {
  if (type === 'smallint' || type === 'integer' || type === 'bigint') return 'integer';
  if (type === 'uuid') return 'uuid';
  return undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER = /^-?\d+$/;

function toBigInt(kind: SplittableKey, value: string): bigint | undefined {
  if (kind === 'integer') return INTEGER.test(value) ? BigInt(value) : undefined;
  // Postgres orders uuids byte by byte, which is the order of their 128-bit values.
  return UUID.test(value) ? BigInt(`0x${value.replace(/-/g, '')}`) : undefined;
}

function fromBigInt(kind: SplittableKey, value: bigint): string {
  if (kind === 'integer') return value.toString();
  const hex = value.toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * At most `parts - 1` split points, strictly increasing, each above `min` and at most `max`, cutting
 * [min, max] into ranges of (nearly) equal width: range i is [point i-1, point i), the first open
 * below and the last open above. Fewer when the span holds fewer values; none when a bound is not a
 * value of the kind (the table is then read in one range).
 */
export function splitPoints(kind: SplittableKey, min: string, max: string, parts: number): string[] {
  const low = toBigInt(kind, min);
  const high = toBigInt(kind, max);
  if (low === undefined || high === undefined || high <= low || parts < 2) return [];
  const span = high - low + 1n;
  const count = BigInt(Math.floor(parts)) < span ? BigInt(Math.floor(parts)) : span;
  const points: string[] = [];
  for (let i = 1n; i < count; i++) points.push(fromBigInt(kind, low + (span * i) / count));
  return points;
}
