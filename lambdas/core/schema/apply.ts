import type pg from 'pg';
import { UsageError } from '../errors.js';
import type { SchemaScript } from './capture.js';

/** The first line of a statement, short: what a failure message names. */
function label(statement: string): string {
  const line = statement.split('\n')[0]!.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 77)}…` : line;
}

/**
 * Applies one phase of a backup's schema inside the caller's transaction. Before the first phase,
 * every role the schema names must exist (owners, grantees, policy roles): a missing one is a usage
 * error listing them all, before anything is created.
 */
export async function applySchema(client: pg.Client, script: SchemaScript, phase: 'preData' | 'postData', onStatement?: (label: string) => void): Promise<void> {
  if (phase === 'preData') {
    const { rows } = await client.query<{ role: string }>('SELECT r AS role FROM unnest($1::text[]) r WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) ORDER BY r', [script.roles]);
    if (rows.length) {
      throw new UsageError(`The backup's schema names roles the target does not have: ${rows.map((r) => r.role).join(', ')}; create them first (a Supabase project already has anon, authenticated and service_role); nothing was changed`);
    }
    // Function bodies may refer to tables created after them, as pg_dump's output does.
    await client.query('SET LOCAL check_function_bodies = off');
  }
  for (const statement of script[phase]) {
    onStatement?.(label(statement));
    await client.query(statement);
  }
}
