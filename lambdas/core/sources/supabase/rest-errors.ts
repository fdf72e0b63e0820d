import { ConfigError, ConnectionError, OperationFailedError, PrivilegeError, UsageError, type DrError } from '../../errors.js';
import type { TransportError } from './http-retry.js';

/** PostgREST's error bodies, and what a failure on one table means for the user, in one line. */

export interface RestError {
  readonly code?: string;
  readonly message?: string;
  readonly hint?: string | null;
}

export function oneLine(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function parseRestError(body: string): RestError {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as RestError;
  } catch {
    // not JSON: a gateway's page
  }
  return body.trim() ? { message: body } : {};
}

export function describeRestError(body: string | RestError): string {
  const error = typeof body === 'string' ? parseRestError(body) : body;
  const text = [error.code, error.message].filter((s) => s && String(s).trim()).join(' ');
  return text ? `: ${oneLine(text)}` : '';
}

/** Maps a REST failure on one table to a typed, one-line error that says what to check. */
export function tableError(qualified: string, status: number, error: RestError, action: string): DrError {
  const code = error.code ?? '';
  const detail = `HTTP ${status}${describeRestError(error)}`;
  if (code.startsWith('PGRST30') || (status === 401 && code !== '42501'))
    return new ConfigError(`The REST API rejected the key while ${action} ${qualified} (${detail}); check SUPABASE_SERVICE_ROLE_KEY (use the project's service-role key)`);
  if (code === '42501' || status === 401 || status === 403)
    return new PrivilegeError(`The key may not read ${qualified} (${detail}); use the service-role key, or GRANT SELECT ON ${qualified} TO service_role`);
  if (code === 'PGRST106') return new ConfigError(`The REST API does not expose the schema of ${qualified} (${detail}); add it to the API's exposed schemas or leave it out`);
  if (code === '42P01' || code === 'PGRST205' || status === 404) return new UsageError(`Table ${qualified} does not exist or is not exposed by the REST API (${detail}); check the exposed schemas`, { hint: 'choose-tables' });
  if (code === '42703' || code === 'PGRST204' || code === 'PGRST200')
    return new OperationFailedError(`The columns of ${qualified} changed while ${action} it (${detail}); run the backup again`);
  return new OperationFailedError(`The REST API failed while ${action} ${qualified} (${detail})`);
}

export function transportFailure(target: string, host: string, error: TransportError): ConnectionError {
  return new ConnectionError(`No usable answer from the REST API at ${host} while ${target}: ${oneLine(error.message)}; check that the project is up and reachable, then retry`, { cause: error, retryable: true });
}

