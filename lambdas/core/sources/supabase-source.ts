import { AsyncLocalStorage } from 'node:async_hooks';
import { Readable } from 'node:stream';
import { createClient, type SupabaseClient, type SupabaseClientOptions } from '@supabase/supabase-js';
import ws from 'ws';
import { ConfigError, ConnectionError, DrError, OperationFailedError, PrivilegeError, UsageError } from '../errors.js';
import { qualifiedTableName, type ColumnInfo, type ForeignKeyInfo } from '../format/manifest.js';
import type { TableShape } from './postgres-catalog.js';
import type { SourceSession } from './source.js';
import { collectGarbage } from '../util/gc.js';

/**
 * The supabase driver: reads every table through the project's REST API (PostgREST) with
 * `@supabase/supabase-js`, using keyset pagination on the primary key, and writes format v1 exactly as
 * the postgres driver does. There is no snapshot across tables (`consistency: per-table`).
 *
 * Fidelity: supabase-js parses responses with `JSON.parse`, which rounds bigints and numerics. The
 * driver therefore takes each page's body bytes as PostgREST produced them (PostgREST renders rows
 * with Postgres' own JSON functions, as `row_to_json` does) and splits the top-level JSON array into
 * NDJSON lines without parsing any number or decoding the page. json/jsonb columns are selected as
 * `col::text`, as the postgres driver does, so that SQL NULL and JSON null stay distinct.
 *
 * Paging: `ORDER BY pk LIMIT pageSize` then `pk > last` (composite keys: `a >= x AND (a > x OR
 * (a = x AND b > y))`, which Postgres serves from the key's index), never OFFSET. The last key is read
 * from the last row's bytes, so bigint keys past 2^53 stay exact. A page shorter than asked for may only
 * be the server's max-rows cap, so a table ends with an empty page or with a page shorter than an
 * earlier one. One page is written while the next is fetched: at most two pages in memory per table.
 *
 * What the REST description cannot say (see also docs):
 * - which columns are generated: name them in `generatedColumns`, else they are stored as ordinary
 *   columns and a restore into a schema that generates them reports drift;
 * - sequence positions: none are recorded; restore raises each sequence to the restored maximum;
 * - type modifiers (`numeric`, not `numeric(10,2)`), and json hidden behind a domain (stored as JSON,
 *   so SQL NULL and JSON null are not told apart there);
 * - foreign keys whose columns are also the table's key (PostgREST describes them as one-to-one and
 *   leaves them out); foreign keys are recorded one column at a time.
 * Values are rendered in PostgREST's session settings (the server's TimeZone, DateStyle-independent
 * JSON), which on Supabase are Postgres' defaults.
 */

export interface SupabaseSourceOptions {
  /** Project URL, e.g. `https://<project>.supabase.co` (the REST API is at `<url>/rest/v1`). */
  readonly url: string;
  /** The service-role key (bypasses row-level security). Never logged, never put in a message. */
  readonly serviceRoleKey: string;
  /** Only these tables (`products` or `schema.table`). @default every table the REST API describes in `schemas` */
  readonly tables?: readonly string[];
  /** Exposed schemas to read. @default ['public'] */
  readonly schemas?: readonly string[];
  /** Rows asked for per request. The server's max-rows may return fewer; pages continue until the table is exhausted. @default 1000 */
  readonly pageSize?: number;
  /** The fetch to use (tests pass one that serves PostgREST without the `/rest/v1` prefix). @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /**
   * Generated columns per table (`{ orders: ['total'] }`). The REST description does not say which
   * columns are generated; list them here so they are left out of the rows as the postgres driver
   * does (restore recomputes them).
   */
  readonly generatedColumns?: Readonly<Record<string, readonly string[]>>;
  /** Tables exported at the same time. @default 2 */
  readonly workers?: number;
  /** Attempts per HTTP request for transient failures (network, 408, 429, 5xx). @default 5 */
  readonly attempts?: number;
  /** First retry delay; doubles per attempt (with jitter), at most 10 s. @default 300 ms */
  readonly retryDelayMs?: number;
  /** Time limit per HTTP request, body included. @default 120 s */
  readonly requestTimeoutMs?: number;
}

const DEFAULT_PAGE_SIZE = 1000;

/**
 * Pages are buffers outside V8's heap (the socket's chunks, then the body they are joined into, which
 * becomes the page's NDJSON), freed only when a collection finds them dead. The JS heap grows too
 * slowly to prompt one, and V8's own external-memory trigger lets ~64 MB of dead pages pile up first.
 * Collecting after every 4 MB of pages keeps that down. Measured with the CLI on 1M rows (peak RSS, 3
 * runs each): 148-158 MiB without, 139-156 every 16 MB, 133-138 every 4 MB, for ~0.9 s more GC pause
 * over the ~9 s run (the live heap is ~15 MB, each collection ~8 ms).
 */
const GC_EVERY_BYTES = 4 * 1024 * 1024;
const MAX_RETRY_DELAY_MS = 10_000;

type RealtimeTransport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;

// ---------------------------------------------------------------------------------------------------
// JSON byte scanning: rows stay the exact bytes the server produced. UTF-8 encodes every non-ASCII
// character with bytes >= 0x80 only, so looking for `"`, `\`, brackets, commas and whitespace one byte
// at a time never lands inside a character.

function malformed(what: string, at: number): OperationFailedError {
  return new OperationFailedError(`The REST API returned malformed JSON (${what} at byte ${at})`);
}

function isWhitespace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipWhitespace(bytes: Buffer, i: number): number {
  while (i < bytes.length && isWhitespace(bytes[i])) i++;
  return i;
}

/** `bytes[i]` is `"`: returns the index just past the closing quote. */
function scanString(bytes: Buffer, i: number): number {
  // Most strings (member names, short values) end within a few bytes, sooner than a native search
  // returns; long ones are left to it, which is several times faster per byte.
  const near = Math.min(i + 24, bytes.length);
  for (let j = i + 1; j < near; j++) {
    const c = bytes[j];
    if (c === 0x22) return j + 1;
    if (c === 0x5c) j++;
  }
  for (let from = near; ; ) {
    const quote = bytes.indexOf(0x22, from);
    if (quote === -1) throw malformed('unterminated string', i);
    // Escaped if preceded by an odd number of backslashes.
    let p = quote - 1;
    while (bytes[p] === 0x5c) p--;
    if ((quote - 1 - p) % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Returns the index just past the JSON value starting at `i` (no whitespace before it). */
function scanValue(bytes: Buffer, i: number): number {
  const first = bytes[i];
  if (first === 0x22) return scanString(bytes, i);
  if (first === 0x7b || first === 0x5b) {
    let depth = 0;
    let j = i;
    while (j < bytes.length) {
      const c = bytes[j];
      if (c === 0x22) {
        j = scanString(bytes, j);
        continue;
      }
      if (c === 0x7b || c === 0x5b) depth++;
      else if (c === 0x7d || c === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    throw malformed('unterminated object or array', i);
  }
  let j = i;
  while (j < bytes.length) {
    const c = bytes[j];
    if (c === 0x2c || c === 0x5d || c === 0x7d || isWhitespace(c)) break;
    j++;
  }
  if (j === i) throw malformed('missing value', i);
  return j;
}

/**
 * Copies `from[start, end)` to `to` at `at` without the whitespace outside strings; returns the end in
 * `to`. `to` may be `from` when `at <= start`.
 */
function copyCompact(from: Buffer, start: number, end: number, to: Buffer, at: number): number {
  let i = start;
  while (i < end) {
    const c = from[i]!;
    if (c === 0x22) {
      const stringEnd = scanString(from, i);
      at += from.copy(to, at, i, stringEnd);
      i = stringEnd;
    } else {
      if (!isWhitespace(c)) to[at++] = c;
      i++;
    }
  }
  return at;
}

/** The first `byte` at or after `from`, or `bytes.length` if there is none. */
function nextByte(bytes: Buffer, byte: number, from: number): number {
  const at = bytes.indexOf(byte, from);
  return at === -1 ? bytes.length : at;
}

export interface NdjsonRows {
  /** The objects, one per line, each followed by `\n`. */
  readonly ndjson: Buffer;
  readonly rows: number;
  /** The last object's line (without its `\n`), a view into `ndjson`; empty when there are no rows. */
  readonly last: Buffer;
}

const NO_BYTES = Buffer.alloc(0);

/**
 * Turns the bytes of a JSON array of objects into NDJSON: each object exactly as written (no number is
 * parsed, so bigints and numerics keep every digit), one per line. An object with raw line breaks
 * outside its strings, which a nested `json` value could carry, loses its whitespace outside strings so
 * that it stays on one line. The page is never decoded (megabyte strings would sit in V8's old
 * generation until a full collection), and the NDJSON is written over `body`, whose bytes are not
 * usable afterwards, even when it is refused: n objects need n newlines where the array has n + 1
 * brackets and commas, so the output never overtakes the input still to be read.
 */
export function splitJsonArrayBytes(body: Buffer): NdjsonRows {
  // fetch's text(), which this replaces, dropped a UTF-8 byte order mark.
  let i = skipWhitespace(body, body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0);
  if (body[i] !== 0x5b) throw malformed('expected an array', i);
  i = skipWhitespace(body, i + 1);
  if (body[i] === 0x5d) {
    if (skipWhitespace(body, i + 1) !== body.length) throw malformed('text after the array', i + 1);
    return { ndjson: NO_BYTES, rows: 0, last: NO_BYTES };
  }
  let at = 0;
  let rows = 0;
  let lastStart = 0;
  // The next raw line feed / carriage return at or after the current object, found with one native
  // search per occurrence rather than per object, so a page is scanned for them once.
  let lf = -1;
  let cr = -1;
  for (;;) {
    if (body[i] !== 0x7b) throw malformed('expected an object', i);
    const end = scanValue(body, i);
    if (lf < i) lf = nextByte(body, 0x0a, i);
    if (cr < i) cr = nextByte(body, 0x0d, i);
    lastStart = at;
    at = lf < end || cr < end ? copyCompact(body, i, end, body, at) : at + body.copy(body, at, i, end);
    body[at++] = 0x0a;
    rows++;
    i = skipWhitespace(body, end);
    const c = body[i];
    if (c === 0x2c) {
      i = skipWhitespace(body, i + 1);
      continue;
    }
    if (c === 0x5d) {
      if (skipWhitespace(body, i + 1) !== body.length) throw malformed('text after the array', i + 1);
      return { ndjson: body.subarray(0, at), rows, last: body.subarray(lastStart, at - 1) };
    }
    throw malformed('expected , or ]', i);
  }
}

/** The raw texts of some top-level members of a JSON object (`{"id":12,...}` -> id: `12`); only those are decoded. */
export function objectMembers(object: Buffer, names: ReadonlySet<string>): Map<string, string> {
  const found = new Map<string, string>();
  let i = skipWhitespace(object, 0);
  if (object[i] !== 0x7b) throw malformed('expected an object', i);
  i = skipWhitespace(object, i + 1);
  if (object[i] === 0x7d) return found;
  for (;;) {
    if (object[i] !== 0x22) throw malformed('expected a member name', i);
    const keyEnd = scanString(object, i);
    const key = JSON.parse(object.toString('utf8', i, keyEnd)) as string;
    i = skipWhitespace(object, keyEnd);
    if (object[i] !== 0x3a) throw malformed('expected :', i);
    i = skipWhitespace(object, i + 1);
    const valueEnd = scanValue(object, i);
    if (names.has(key)) found.set(key, object.toString('utf8', i, valueEnd));
    i = skipWhitespace(object, valueEnd);
    const c = object[i];
    if (c === 0x2c) {
      i = skipWhitespace(object, i + 1);
      continue;
    }
    if (c === 0x7d) return found;
    throw malformed('expected , or }', i);
  }
}

/** A JSON scalar's text as a PostgREST filter value: strings unquoted, numbers with every digit as written. */
export function filterValue(raw: string): string {
  if (raw.startsWith('"')) return JSON.parse(raw) as string;
  if (raw === 'null' || raw.startsWith('{') || raw.startsWith('[')) throw new OperationFailedError(`A primary key value cannot be used for paging: ${raw.slice(0, 40)}`);
  return raw;
}

// ---------------------------------------------------------------------------------------------------
// PostgREST query text.

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

// ---------------------------------------------------------------------------------------------------
// The REST description (OpenAPI 2 document PostgREST serves at its root).

interface OpenApiProperty {
  readonly format?: string;
  readonly type?: string;
  readonly description?: string;
  readonly maxLength?: number;
}
interface OpenApiDefinition {
  readonly properties?: Record<string, OpenApiProperty>;
  readonly required?: string[];
}
interface OpenApiDocument {
  readonly definitions?: Record<string, OpenApiDefinition>;
  readonly paths?: Record<string, Record<string, unknown>>;
}

/** `public.order_status[]` -> `order_status[]`: types as `format_type` names them, schema left out. */
export function restTypeName(property: OpenApiProperty): string {
  let type = (property.format ?? property.type ?? 'unknown').trim();
  const qualified = /^(?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)\.(.+)$/.exec(type);
  if (qualified) type = qualified[1]!;
  if (property.maxLength !== undefined && (type === 'character' || type === 'character varying')) type = `${type}(${property.maxLength})`;
  return type;
}

function isJsonType(type: string): boolean {
  return /^jsonb?(\[\])*$/.test(type);
}

/** Builds the table shape from its REST description: columns, primary key (`<pk/>`), foreign keys (`<fk …/>`). */
export function shapeFromDefinition(schema: string, name: string, definition: OpenApiDefinition, generated: readonly string[] = []): TableShape {
  const qualified = qualifiedTableName(schema, name);
  const properties = Object.entries(definition.properties ?? {});
  const required = new Set(definition.required ?? []);
  const unknownGenerated = generated.filter((g) => !properties.some(([n]) => n === g));
  if (unknownGenerated.length) throw new UsageError(`generatedColumns names column${unknownGenerated.length > 1 ? 's' : ''} ${unknownGenerated.join(', ')} that ${qualified} does not have`);
  const columns: ColumnInfo[] = properties
    .filter(([n]) => !generated.includes(n))
    .map(([n, p]) => {
      const type = restTypeName(p);
      return { name: n, type, nullable: !required.has(n), encoding: isJsonType(type) ? 'text' : 'json' };
    });
  const primaryKey = properties.filter(([, p]) => p.description?.includes('<pk/>')).map(([n]) => n);
  const foreignKeys: ForeignKeyInfo[] = [];
  for (const [n, p] of properties) {
    for (const match of (p.description ?? '').matchAll(/<fk table='([^']*)' column='([^']*)'\/>/g)) {
      foreignKeys.push({ name: `${name}_${n}_fkey`, columns: [n], references: qualifiedTableName(schema, match[1]!), referencedColumns: [match[2]!], deferrable: false });
    }
  }
  return { oid: 0, schema, name, qualified, columns, generatedColumns: [...generated], defaultedColumns: [], primaryKey, foreignKeys, partitioned: false, estimatedRows: 0, estimatedBytes: 0 };
}

// ---------------------------------------------------------------------------------------------------
// HTTP: retries for transient failures, one-line errors for permanent ones.

interface RetryPolicy {
  readonly attempts: number;
  readonly delayMs: number;
  readonly timeoutMs: number;
}

interface HttpResult {
  readonly status: number;
  readonly statusText: string;
  readonly headers: Headers;
  /** Bytes, not text: a page is split without ever becoming a string (see splitJsonArrayBytes). */
  readonly body: Buffer;
}

const utf8 = new TextDecoder();

/** A body as fetch's text() would have given it (UTF-8, byte order mark dropped, bad bytes replaced). */
function bodyText(body: Uint8Array): string {
  return utf8.decode(body);
}

/** A request that failed after every attempt (network, timeout, or a transient status each time). */
class TransportError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function transientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function retryDelay(policy: RetryPolicy, attempt: number, retryAfter: string | null): number {
  const seconds = retryAfter === null ? NaN : Number(retryAfter);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, 30_000);
  const ceiling = Math.min(policy.delayMs * 2 ** attempt, MAX_RETRY_DELAY_MS);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if ((error as Error)?.name === 'TimeoutError') return `no answer within the request time limit`;
  return cause?.code ?? cause?.message ?? (error as Error)?.message ?? String(error);
}

/** The whole body. Not arrayBuffer() or bytes(): they copy the joined chunks once more, a page of garbage per page. */
async function readBody(response: Response): Promise<Buffer> {
  if (!response.body) return NO_BYTES;
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of response.body) {
    chunks.push(chunk);
    length += chunk.length;
  }
  return Buffer.concat(chunks, length);
}

/** Sends one request (body read in full), retrying network failures and transient statuses with backoff. */
async function send(baseFetch: typeof fetch, input: string, init: RequestInit, policy: RetryPolicy, closed: AbortSignal): Promise<HttpResult> {
  let last: { status?: number; reason: string; cause?: unknown } = { reason: 'no attempt' };
  for (let attempt = 0; attempt < policy.attempts; attempt++) {
    if (closed.aborted) throw new TransportError('the session was closed', undefined);
    // One controller per attempt, its timer cleared and listeners removed when the attempt ends, so
    // nothing accumulates on the session-long `closed` signal over thousands of pages.
    const controller = new AbortController();
    const abort = () => controller.abort(new DOMException('The operation was aborted', 'AbortError'));
    const timer = setTimeout(() => controller.abort(new DOMException('The request timed out', 'TimeoutError')), policy.timeoutMs);
    closed.addEventListener('abort', abort);
    init.signal?.addEventListener('abort', abort);
    let retryAfter: string | null = null;
    try {
      const response = await baseFetch(input, { ...init, signal: controller.signal });
      const body = await readBody(response);
      if (!transientStatus(response.status)) return { status: response.status, statusText: response.statusText, headers: response.headers, body };
      retryAfter = response.headers.get('retry-after');
      last = { status: response.status, reason: `HTTP ${response.status}${describeRestError(bodyText(body))}` };
    } catch (error) {
      if (closed.aborted) throw new TransportError('the session was closed', undefined, { cause: error });
      if (init.signal?.aborted) throw error;
      last = { reason: networkReason(error), cause: error };
    } finally {
      clearTimeout(timer);
      closed.removeEventListener('abort', abort);
      init.signal?.removeEventListener('abort', abort);
    }
    if (attempt + 1 < policy.attempts) await sleep(retryDelay(policy, attempt, retryAfter), closed);
  }
  throw new TransportError(`${last.reason} (${policy.attempts} attempt${policy.attempts === 1 ? '' : 's'})`, last.status, { cause: last.cause });
}

interface RestError {
  readonly code?: string;
  readonly message?: string;
  readonly hint?: string | null;
}

function oneLine(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

function parseRestError(body: string): RestError {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as RestError;
  } catch {
    // not JSON: a gateway's page
  }
  return body.trim() ? { message: body } : {};
}

function describeRestError(body: string | RestError): string {
  const error = typeof body === 'string' ? parseRestError(body) : body;
  const text = [error.code, error.message].filter((s) => s && String(s).trim()).join(' ');
  return text ? `: ${oneLine(text)}` : '';
}

/** Maps a REST failure on one table to a typed, one-line error that says what to check. */
function tableError(qualified: string, status: number, error: RestError, action: string): DrError {
  const code = error.code ?? '';
  const detail = `HTTP ${status}${describeRestError(error)}`;
  if (code.startsWith('PGRST30') || (status === 401 && code !== '42501'))
    return new ConfigError(`The REST API rejected the key while ${action} ${qualified} (${detail}); check SUPABASE_SERVICE_ROLE_KEY (use the project's service-role key)`);
  if (code === '42501' || status === 401 || status === 403)
    return new PrivilegeError(`The key may not read ${qualified} (${detail}); use the service-role key, or GRANT SELECT ON ${qualified} TO service_role`);
  if (code === 'PGRST106') return new ConfigError(`The REST API does not expose the schema of ${qualified} (${detail}); add it to the API's exposed schemas or leave it out`);
  if (code === '42P01' || code === 'PGRST205' || status === 404) return new UsageError(`Table ${qualified} does not exist or is not exposed by the REST API (${detail}); check --tables and the exposed schemas`);
  if (code === '42703' || code === 'PGRST204' || code === 'PGRST200')
    return new OperationFailedError(`The columns of ${qualified} changed while ${action} it (${detail}); run the backup again`);
  return new OperationFailedError(`The REST API failed while ${action} ${qualified} (${detail})`);
}

function transportFailure(target: string, host: string, error: TransportError): ConnectionError {
  return new ConnectionError(`No usable answer from the REST API at ${host} while ${target}: ${oneLine(error.message)}; check that the project is up and reachable, then retry`, { cause: error, retryable: true });
}

/** The role a JWT-style API key claims, without verifying it (the server does that). */
function claimedRole(key: string): string | undefined {
  const parts = key.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { role?: unknown };
    return typeof payload.role === 'string' ? payload.role : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// The session.

interface CaptureSlot {
  body?: Buffer;
  failure?: unknown;
}

interface Page {
  readonly rows: number;
  readonly ndjson: Buffer;
  readonly lastKey: readonly string[];
}

/** `schema.table` names a schema; a plain name is looked up in the configured schemas. */
function nameParts(entry: string): { schema?: string; name: string } {
  const dot = entry.indexOf('.');
  return dot > 0 ? { schema: entry.slice(0, dot), name: entry.slice(dot + 1) } : { name: entry };
}

/**
 * Opens a backup session over a Supabase project's REST API. Tables come from `tables`, or else every
 * table the API describes in `schemas`; each must have a primary key the driver can page on, and the
 * key must be able to read it, else the session is refused with a one-line error naming the table.
 */
export async function openSupabaseSource(options: SupabaseSourceOptions): Promise<SourceSession> {
  let base: URL;
  try {
    base = new URL(options.url);
    if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error('not http(s)');
  } catch (error) {
    throw new ConfigError('SUPABASE_URL is not an http(s) URL; use the project URL, e.g. https://<project>.supabase.co', { cause: error });
  }
  const host = base.hostname;
  const key = options.serviceRoleKey?.trim();
  if (!key) throw new ConfigError('The supabase driver needs the service-role key (SUPABASE_SERVICE_ROLE_KEY)');
  const role = claimedRole(key);
  if (role === 'anon' || role === 'authenticated' || key.startsWith('sb_publishable_'))
    throw new ConfigError(`SUPABASE_SERVICE_ROLE_KEY holds a ${role ?? 'publishable'} key: row-level security could hide rows from the backup; use the project's service-role (secret) key`);

  const schemas = options.schemas?.length ? [...options.schemas] : ['public'];
  const pageSize = Math.max(1, Math.floor(options.pageSize ?? DEFAULT_PAGE_SIZE));
  const policy: RetryPolicy = {
    attempts: Math.max(1, Math.floor(options.attempts ?? 5)),
    delayMs: Math.max(0, options.retryDelayMs ?? 300),
    timeoutMs: Math.max(1, options.requestTimeoutMs ?? 120_000),
  };
  const baseFetch = options.fetch ?? globalThis.fetch;
  const closing = new AbortController();
  const capture = new AsyncLocalStorage<CaptureSlot>();
  const restRoot = new URL('rest/v1/', base.href.endsWith('/') ? base.href : `${base.href}/`).href;

  // supabase-js gets the transport through `global.fetch`. A page's body bytes are kept for the driver
  // (in the request's capture slot) and supabase-js is handed an empty body, so it parses nothing.
  const clientFetch: typeof fetch = async (input, init) => {
    const slot = capture.getStore();
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    try {
      const result = await send(baseFetch, url, init ?? {}, policy, closing.signal);
      const ok = result.status >= 200 && result.status < 300;
      if (slot && ok) slot.body = result.body;
      const nullBody = [101, 103, 204, 205, 304].includes(result.status);
      return new Response(ok || nullBody ? null : bodyText(result.body), { status: result.status, statusText: result.statusText, headers: result.headers });
    } catch (error) {
      if (slot) slot.failure = error;
      throw error;
    }
  };
  const client: SupabaseClient = createClient(base.href, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    // Node 20 has no WebSocket; supabase-js wants a transport even though realtime is never used.
    realtime: { transport: ws as unknown as RealtimeTransport },
    global: { fetch: clientFetch },
  });

  async function describeSchema(schema: string): Promise<OpenApiDocument> {
    let result: HttpResult;
    try {
      result = await send(baseFetch, restRoot, { method: 'GET', headers: { apikey: key!, Authorization: `Bearer ${key}`, Accept: 'application/openapi+json', 'Accept-Profile': schema } }, policy, closing.signal);
    } catch (error) {
      if (error instanceof TransportError) throw transportFailure(`reading the schema description of ${schema}`, host, error);
      throw error;
    }
    const text = bodyText(result.body);
    if (result.status === 401 || result.status === 403)
      throw new ConfigError(`The REST API at ${host} rejected the key (HTTP ${result.status}${describeRestError(text)}); check SUPABASE_SERVICE_ROLE_KEY (use the project's service-role key)`);
    const restError = parseRestError(text);
    if (restError.code === 'PGRST106') throw new ConfigError(`The REST API at ${host} does not expose schema ${schema} (HTTP ${result.status}${describeRestError(restError)}); add it to the exposed schemas or leave it out`);
    if (result.status !== 200) throw new ConfigError(`The REST API at ${host} did not describe schema ${schema} (HTTP ${result.status}${describeRestError(restError)}); check SUPABASE_URL and that the API's OpenAPI description is enabled`);
    let document: OpenApiDocument;
    try {
      document = JSON.parse(text) as OpenApiDocument;
    } catch (error) {
      throw new ConfigError(`${host} did not answer with a REST API schema description (not JSON); check SUPABASE_URL`, { cause: error });
    }
    if (!document || typeof document !== 'object' || typeof document.definitions !== 'object') throw new ConfigError(`${host} did not answer with a REST API schema description; check SUPABASE_URL and that the OpenAPI description is enabled`);
    return document;
  }

  /** Runs one supabase-js request with its body captured; maps failures to typed errors. */
  async function run<T extends { error: RestError | null; status: number; count?: number | null }>(qualified: string, action: string, request: () => PromiseLike<T>): Promise<{ result: T; body: Buffer | undefined }> {
    const slot: CaptureSlot = {};
    const result = await capture.run(slot, () => Promise.resolve(request()));
    if (result.error) {
      if (slot.failure instanceof TransportError) throw transportFailure(`${action} ${qualified}`, host, slot.failure);
      if (slot.failure !== undefined || result.status === 0) throw new ConnectionError(`The request to the REST API at ${host} failed while ${action} ${qualified}: ${oneLine(String(result.error.message ?? slot.failure))}`, { cause: slot.failure });
      throw tableError(qualified, result.status, result.error, action);
    }
    return { result, body: slot.body };
  }

  async function probe(shape: TableShape): Promise<number> {
    const { result } = await run(shape.qualified, 'checking access to', () =>
      client
        .schema(shape.schema)
        .from(shape.name)
        .select(selectList(shape.columns.filter((c) => shape.primaryKey.includes(c.name))), { count: 'planned' })
        .limit(0)
        .retry(false),
    );
    return Math.max(0, result.count ?? 0);
  }

  // Which tables, from the REST description of each schema involved.
  const wanted = (options.tables ?? []).map((entry) => ({ entry, ...nameParts(entry) }));
  const described = new Map<string, OpenApiDocument>();
  for (const schema of [...new Set([...schemas, ...wanted.flatMap((w) => (w.schema ? [w.schema] : []))])]) described.set(schema, await describeSchema(schema));

  const generated = options.generatedColumns ?? {};
  const selected: { schema: string; name: string }[] = [];
  const missing: { schema: string; name: string }[] = [];
  if (wanted.length) {
    for (const w of wanted) {
      const candidates = w.schema ? [w.schema] : schemas;
      const schema = candidates.find((s) => described.get(s)?.definitions?.[w.name]);
      if (schema) selected.push({ schema, name: w.name });
      else missing.push({ schema: candidates[0]!, name: w.name });
    }
  } else {
    for (const schema of schemas) {
      const document = described.get(schema)!;
      for (const name of Object.keys(document.definitions ?? {}).sort()) {
        // Relations PostgREST offers only for reading are views (or materialized/foreign tables), not tables.
        const methods = Object.keys(document.paths?.[`/${name}`] ?? {});
        if (methods.length && methods.every((m) => m === 'get')) continue;
        selected.push({ schema, name });
      }
    }
  }

  if (missing.length) {
    // Not described: the key may not see it, or it does not exist. Ask, to say which.
    for (const m of missing) await run(qualifiedTableName(m.schema, m.name), 'checking access to', () => client.schema(m.schema).from(m.name).select('*').limit(0).retry(false));
    const names = missing.map((m) => qualifiedTableName(m.schema, m.name));
    throw new UsageError(`Table${names.length > 1 ? 's' : ''} ${names.join(', ')} not described by the REST API in schema${schemas.length > 1 ? 's' : ''} ${schemas.join(', ')}; check --tables and the exposed schemas`);
  }
  const unique = selected.filter((s, i) => selected.findIndex((o) => o.schema === s.schema && o.name === s.name) === i);
  if (unique.length === 0) throw new UsageError(`No tables to back up: the REST API describes none in schema${schemas.length > 1 ? 's' : ''} ${schemas.join(', ')}`);

  const shapes = unique.map(({ schema, name }) => {
    const qualified = qualifiedTableName(schema, name);
    return shapeFromDefinition(schema, name, described.get(schema)!.definitions![name]!, generated[qualified] ?? generated[`${schema}.${name}`] ?? []);
  });
  const keyless = shapes.filter((s) => s.primaryKey.length === 0).map((s) => s.qualified);
  if (keyless.length)
    throw new UsageError(`Table${keyless.length > 1 ? 's' : ''} ${keyless.join(', ')} ha${keyless.length > 1 ? 've' : 's'} no primary key, which the supabase driver pages on; add one, back ${keyless.length > 1 ? 'them' : 'it'} up with the postgres driver (--db), or leave ${keyless.length > 1 ? 'them' : 'it'} out with --tables`);
  for (const s of shapes) {
    const arrayKey = s.columns.filter((c) => s.primaryKey.includes(c.name) && (c.type.endsWith(']') || c.encoding === 'text'));
    if (arrayKey.length || s.primaryKey.some((k) => s.generatedColumns.includes(k)))
      throw new UsageError(`Table ${s.qualified} has a primary key the supabase driver cannot page on (${s.primaryKey.join(', ')}); back it up with the postgres driver (--db)`);
    for (const c of [...s.columns.map((x) => x.name), ...s.primaryKey]) if (c.includes('"')) throw new UsageError(`Column ${JSON.stringify(c)} of ${s.qualified} has a name the REST query syntax cannot carry; back it up with the postgres driver (--db)`);
  }

  // Every table readable with this key (refuse up front, not half-way), and its size for progress.
  const tables: TableShape[] = [];
  for (let i = 0; i < shapes.length; i += 4) {
    const batch = shapes.slice(i, i + 4);
    const estimates = await Promise.all(batch.map((s) => probe(s)));
    batch.forEach((s, j) => {
      const rows = estimates[j]!;
      // REST gives no size; a rough one lets the backup start the widest, longest tables first.
      tables.push({ ...s, estimatedRows: rows, estimatedBytes: rows * Math.max(1, s.columns.length) * 16 });
    });
  }

  async function fetchPage(table: TableShape, select: string, last: readonly string[] | undefined): Promise<Page> {
    const { body } = await run(table.qualified, 'reading', () => {
      let query = client.schema(table.schema).from(table.name).select(select);
      if (last) {
        const first = fieldName(table.primaryKey[0]!);
        if (table.primaryKey.length === 1) query = query.gt(first, last[0]!);
        else query = query.gte(first, last[0]!).or(keysetCondition(table.primaryKey, last));
      }
      for (const k of table.primaryKey) query = query.order(fieldName(k), { ascending: true });
      return query.limit(pageSize).retry(false);
    });
    let split: NdjsonRows;
    try {
      split = splitJsonArrayBytes(body ?? Buffer.from('[]'));
    } catch (error) {
      throw new OperationFailedError(`Reading ${table.qualified}: ${(error as Error).message}; check SUPABASE_URL points at the project's API`, { cause: error });
    }
    if (split.rows === 0) return { rows: 0, ndjson: split.ndjson, lastKey: last ?? [] };
    const members = objectMembers(split.last, new Set(table.primaryKey));
    const lastKey = table.primaryKey.map((k) => {
      const raw = members.get(k);
      if (raw === undefined) throw new OperationFailedError(`The REST API left the primary key column ${k} out of the rows of ${table.qualified}; run the backup again`);
      return filterValue(raw);
    });
    if (last && lastKey.every((v, i) => v === last[i])) throw new OperationFailedError(`Paging ${table.qualified} did not advance past key (${lastKey.join(', ')}); the rows may be changing under a different collation`);
    return { rows: split.rows, ndjson: split.ndjson, lastKey };
  }

  let pageBytes = 0;
  async function* pages(table: TableShape): AsyncGenerator<Buffer> {
    const select = selectList(table.columns);
    let largest = 0;
    let pending: Promise<Page> | undefined = fetchPage(table, select, undefined);
    while (pending) {
      const page: Page = await pending;
      pending = undefined;
      if (page.rows === 0) return;
      // A page shorter than asked for ends the table only when it is also shorter than an earlier page:
      // otherwise the server's max-rows may have capped it, and the next page (possibly empty) tells.
      const ended = page.rows < pageSize && page.rows < largest;
      largest = Math.max(largest, page.rows);
      if (!ended) {
        // Ask for the next page while this one is written: two pages in memory at most.
        pending = fetchPage(table, select, page.lastKey);
        pending.catch(() => undefined);
      }
      yield page.ndjson;
      pageBytes += page.ndjson.length;
      if (pageBytes >= GC_EVERY_BYTES) {
        pageBytes = 0;
        collectGarbage();
      }
    }
  }

  const workers = Math.max(1, Math.min(Math.floor(options.workers ?? 2), tables.length));
  return {
    info: { driver: 'supabase', host },
    consistency: 'per-table',
    workers,
    tables,
    sequences: [],
    async exportTable(table: TableShape): Promise<Readable> {
      return Readable.from(pages(table), { objectMode: false, highWaterMark: 64 * 1024 });
    },
    async close() {
      closing.abort();
      // No realtime channel is ever opened. removeAllChannels() would start realtime-js's 10 s
      // disconnect timer, which it never clears, and keep the process alive that long.
      if (client.getChannels().length > 0) await client.removeAllChannels().catch(() => undefined);
    },
  };
}
