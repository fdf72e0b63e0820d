import type { ColumnInfo } from '../../format/manifest.js';

/** PostgREST query text: column names, the select list, and the keyset condition that pages a table. */

const SIMPLE_NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** A column name as PostgREST's query syntax needs it (quoted unless it is a plain identifier). */
export function fieldName(name: string): string {
  return SIMPLE_NAME.test(name) ? name : `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A value inside `or=(...)`: always quoted, so `,.:()` and a leading `{` keep no meaning. */
function quotedValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The `select` list: stored columns in table order, json/jsonb as their text (`col::text`). */
export function selectList(columns: readonly ColumnInfo[]): string {
  return columns.map((c) => (c.encoding === 'text' ? `${fieldName(c.name)}::text` : fieldName(c.name))).join(',');
}

/**
 * The keyset condition "key > last" for a (composite) primary key, as PostgREST's `or` filter:
 * `(a.gt.x,and(a.eq.x,b.gt.y))`. Used together with `a >= x`, which lets Postgres seek the index.
 */
export function keysetCondition(primaryKey: readonly string[], last: readonly string[]): string {
  const branches: string[] = [];
  for (let k = 0; k < primaryKey.length; k++) {
    const equal = primaryKey.slice(0, k).map((col, j) => `${fieldName(col)}.eq.${quotedValue(last[j]!)}`);
    const greater = `${fieldName(primaryKey[k]!)}.gt.${quotedValue(last[k]!)}`;
    branches.push(equal.length ? `and(${[...equal, greater].join(',')})` : greater);
  }
  return branches.join(',');
}

