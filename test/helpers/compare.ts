import type { TestDatabase } from './database.js';

/** Every row of a table as Postgres' own text, sorted: equal lists mean equal contents. */
export async function tableRowsAsText(db: TestDatabase, table: string, schema = 'public'): Promise<string[]> {
  const name = `"${schema.replace(/"/g, '""')}"."${table.replace(/"/g, '""')}"`;
  const { rows } = await db.query<{ r: string }>(`SELECT r::text AS r FROM ${name} r ORDER BY 1`);
  return rows.map((row) => row.r);
}

export async function snapshotTables(db: TestDatabase, tables: readonly string[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of tables) out[t] = await tableRowsAsText(db, t);
  return out;
}
