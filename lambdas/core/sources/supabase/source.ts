import { Readable } from 'node:stream';
import type { SupabaseClient, SupabaseClientOptions } from '@supabase/supabase-js';
import { ConfigError, ConnectionError, OperationFailedError, UsageError } from '../../errors.js';
import { qualifiedTableName } from '../../format/manifest.js';
import type { SourceSession, SourceTable } from '../source.js';
import type { RowEncoding } from '../../format/row-encoding.js';
import { giveBack, pageBuffers, pooled, streamBuffers } from '../../util/buffer-pool.js';
import { CollectionSchedule } from '../../util/gc.js';
import { runPool } from '../../util/streams.js';
import { fetchExchange, nodeExchange } from './http-exchange.js';
import { bodyText, TransportError, withRetries, type HttpResult, type RetryPolicy } from './http-retry.js';
import { shapeFromDefinition, type OpenApiDocument } from './openapi.js';
import { contentRangeRows, filterValue, objectMembers, splitJsonArrayBytes, type NdjsonRows } from './page-bytes.js';
import { splitPoints, splittableKey } from './key-ranges.js';
import { fieldName, keysetCondition, selectList } from './postgrest-query.js';
import { describeRestError, oneLine, parseRestError, tableError, transportFailure, type RestError } from './rest-errors.js';

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
 * Paging: `ORDER BY pk LIMIT n` then `pk > last` (composite keys: `a >= x AND (a > x OR (a = x AND
 * b > y))`, which Postgres serves from the key's index), never OFFSET; `n` is sized in bytes
 * (DEFAULT_PAGE_BYTES). The last key is read from the last row's bytes, so bigint keys past 2^53
 * stay exact. A page shorter than asked for may only be the server's max-rows cap, so a table ends
 * with an empty page or with a page shorter than an earlier one. One page is written while the next
 * is fetched: at most two pages in memory per table (or part).
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
  /**
   * The most rows asked for per request. A table's first page asks for at most `FIRST_PAGE_ROWS`;
   * later ones for about `pageBytes` of the rows seen so far, up to this. The server's max-rows may
   * return fewer (Supabase's default is 1,000); pages continue until the table is exhausted.
   * @default 10,000
   */
  readonly pageSize?: number;
  /** About this many bytes of JSON per page, once a table's first page has shown its rows' width. @default 2 MiB */
  readonly pageBytes?: number;
  /** A fetch to send requests with (tests pass one that serves PostgREST without the `/rest/v1` prefix). @default Node's HTTP client (http-exchange.ts) */
  readonly fetch?: typeof fetch;
  /**
   * Generated columns per table (`{ orders: ['total'] }`). The REST description does not say which
   * columns are generated; list them here so they are left out of the rows as the postgres driver
   * does (restore recomputes them).
   */
  readonly generatedColumns?: Readonly<Record<string, readonly string[]>>;
  /** Requests in flight at once: tables, or key ranges of a table, read at the same time. @default 4 */
  readonly workers?: number;
  /**
   * A table the server estimates at twice this many rows or more, whose first key column is an
   * integer or a uuid, is read as key ranges of about this many rows (at most 8), at the same time,
   * each written as one part of the table. @default 100,000
   */
  readonly rowsPerPart?: number;
  /** Attempts per HTTP request for transient failures (network, 408, 429, 5xx). @default 5 */
  readonly attempts?: number;
  /** First retry delay; doubles per attempt (with jitter), at most 10 s. @default 300 ms */
  readonly retryDelayMs?: number;
  /** Time limit per HTTP request, body included. @default 120 s */
  readonly requestTimeoutMs?: number;
}

/**
 * Every request costs PostgREST and the database ~1.8 ms of CPU before a row is read (JWT, role,
 * request settings, the transaction), so pages are as large as memory allows: 1,000-row pages spent
 * ~2 CPU-s of the shop's backup on that alone. Pages are sized in bytes because one `json_agg` of
 * many wide rows costs the database more per row than several smaller ones (docs/performance.md,
 * nineteenth session).
 */
const DEFAULT_PAGE_SIZE = 10_000;
const DEFAULT_PAGE_BYTES = 2 * 1024 * 1024;
/**
 * Rows of a table's first page, before its rows' width is known: few, so that a table of very wide
 * rows (documents, images in bytea) starts with a page that fits in memory; the next page is sized
 * from these. One more small request per table or part.
 */
const FIRST_PAGE_ROWS = 100;
const DEFAULT_ROWS_PER_PART = 100_000;
/** Tables checked at once while the session opens (their access, size estimate and key range). */
const PROBES_IN_FLIGHT = 4;
const MAX_PARTS = 8;
/** Requests in flight: one table's keyset pages come one after another, so more cover the round trips. */
const DEFAULT_WORKERS = 4;

/**
 * Pages are buffers outside V8's heap, freed only when a collection finds them dead, and the JS heap
 * grows too slowly to prompt one. Pages read by Node's HTTP client sit in the backup's pooled stream
 * or page buffers (http-exchange.ts), which the compressor gives back, so only the socket's chunks
 * die, and the zstd writer's scavenge every 4 MiB of the same bytes (format/codec.ts) frees them: a
 * schedule of the driver's own on top doubled the asked-for scavenges for nothing (with gzip, which
 * asks for none, the peak is ~10 MiB higher; docs/performance.md, twentieth session). Pages that are new
 * buffers (decoded from gzip, or from a given fetch), and pool buffers made anew because none came
 * back (the gzip codec keeps its input), are promoted before they die, so for those a full collection
 * every 32 MB of them. Measured with the CLI on 1M rows (docs/performance.md, eighth session): pages
 * not pooled, 4.7-5.3 s of client CPU, 137-149 MiB and 54 full collections.
 */
const FRESH_PAGE_COLLECTIONS = { major: 32 * 1024 * 1024 } as const;

type RealtimeTransport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;

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

/** What the transport saw for one supabase-js request: the page's body bytes, or why it failed. */
interface CaptureSlot {
  body?: Buffer;
  /** The rows the response's Content-Range counts, when it says (see splitJsonArrayBytes). */
  rows?: number;
  failure?: unknown;
}

/**
 * The request header that names a supabase-js request's capture slot. The transport reads it and
 * takes it off again, so the server never sees it. An explicit tag rather than async context: the
 * hand-over then holds whatever supabase-js does between the query and the fetch.
 */
const SLOT_HEADER = 'x-iconic-dr-capture';

/** A supabase-js query that has not been sent yet; awaiting it sends it. */
interface PendingQuery<T> extends PromiseLike<T> {
  setHeader(name: string, value: string): PromiseLike<T>;
}

interface Page {
  readonly rows: number;
  /** The rows this page asked for. */
  readonly asked: number;
  readonly ndjson: Buffer;
  readonly lastKey: readonly string[];
}

/** A response's rows as NDJSON (page-bytes.ts); a body that is not a JSON array of objects is one error naming the table. */
function pageRows(reading: string, qualified: string, body: Buffer | undefined, rows?: number): NdjsonRows {
  try {
    return splitJsonArrayBytes(body ?? Buffer.from('[]'), rows);
  } catch (error) {
    throw new OperationFailedError(`${reading} ${qualified}: ${(error as Error).message}; check SUPABASE_URL points at the project's API`, { cause: error });
  }
}

/** ` to https://host/path` for a redirect's Location (its query left out), or nothing. */
function redirectTarget(location: string | null, from: string): string {
  if (!location) return '';
  try {
    const target = new URL(location, from);
    return ` to ${target.origin}${target.pathname}`;
  } catch {
    return '';
  }
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
  const pageBytes = Math.max(1, Math.floor(options.pageBytes ?? DEFAULT_PAGE_BYTES));
  const policy: RetryPolicy = {
    attempts: Math.max(1, Math.floor(options.attempts ?? 5)),
    delayMs: Math.max(0, options.retryDelayMs ?? 300),
    timeoutMs: Math.max(1, options.requestTimeoutMs ?? 120_000),
  };
  // supabase-js and ws take ~0.1 s to load: they load while the REST description is read.
  const supabaseJs = Promise.all([import('@supabase/supabase-js'), import('ws')]);
  supabaseJs.catch(() => undefined);
  const closing = new AbortController();
  const transport = options.fetch ? { exchange: fetchExchange(options.fetch), close() {} } : nodeExchange();
  const request = withRetries(transport.exchange, policy, closing.signal);
  const slots = new Map<string, CaptureSlot>();
  let lastSlot = 0;
  const restRoot = new URL('rest/v1/', base.href.endsWith('/') ? base.href : `${base.href}/`).href;

  // supabase-js gets the transport through `global.fetch`. A page's body bytes are kept for the driver
  // (in the capture slot its request names) and supabase-js is handed an empty body, so it parses nothing.
  const clientFetch: typeof fetch = async (input, init) => {
    let slot: CaptureSlot | undefined;
    let sent = init ?? {};
    const headers = new Headers(init?.headers);
    const id = headers.get(SLOT_HEADER);
    if (id !== null) {
      slot = slots.get(id);
      headers.delete(SLOT_HEADER);
      sent = { ...sent, headers };
    }
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    try {
      const result = await request(url, sent);
      const ok = result.status >= 200 && result.status < 300;
      if (slot && ok) {
        slot.body = result.body;
        slot.rows = contentRangeRows(result.headers.get('content-range'));
      }
      const nullBody = [101, 103, 204, 205, 304].includes(result.status);
      return new Response(ok || nullBody ? null : bodyText(result.body), { status: result.status, statusText: result.statusText, headers: result.headers });
    } catch (error) {
      if (slot) slot.failure = error;
      throw error;
    }
  };
  async function describeSchema(schema: string): Promise<OpenApiDocument> {
    let result: HttpResult;
    try {
      result = await request(restRoot, { method: 'GET', headers: { apikey: key!, Authorization: `Bearer ${key}`, Accept: 'application/openapi+json', 'Accept-Profile': schema } });
    } catch (error) {
      if (error instanceof TransportError) throw transportFailure(`reading the schema description of ${schema}`, host, error);
      throw error;
    }
    const text = bodyText(result.body);
    if (result.status === 401 || result.status === 403)
      throw new ConfigError(`The REST API at ${host} rejected the key (HTTP ${result.status}${describeRestError(text)}); check SUPABASE_SERVICE_ROLE_KEY (use the project's service-role key)`);
    const restError = parseRestError(text);
    if (restError.code === 'PGRST106') throw new ConfigError(`The REST API at ${host} does not expose schema ${schema} (HTTP ${result.status}${describeRestError(restError)}); add it to the exposed schemas or leave it out`);
    // Redirects are not followed: the service-role key would go with the request to wherever they point.
    if (result.status >= 300 && result.status < 400)
      throw new ConfigError(`The REST API at ${host} answered with a redirect (HTTP ${result.status}${redirectTarget(result.headers.get('location'), restRoot)}); set SUPABASE_URL to the project's API address itself, e.g. https://<project>.supabase.co`);
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

  /** Sends one supabase-js query with its body captured; maps failures to typed errors. */
  async function run<T extends { error: RestError | null; status: number; count?: number | null }>(qualified: string, action: string, query: PendingQuery<T>): Promise<{ result: T; body: Buffer | undefined; rows: number | undefined }> {
    const slot: CaptureSlot = {};
    const id = String(++lastSlot);
    slots.set(id, slot);
    let result: T;
    try {
      result = await query.setHeader(SLOT_HEADER, id);
    } finally {
      slots.delete(id);
    }
    if (result.error) {
      if (slot.failure instanceof TransportError) throw transportFailure(`${action} ${qualified}`, host, slot.failure);
      if (slot.failure !== undefined || result.status === 0) throw new ConnectionError(`The request to the REST API at ${host} failed while ${action} ${qualified}: ${oneLine(String(result.error.message ?? slot.failure))}`, { cause: slot.failure });
      throw tableError(qualified, result.status, result.error, action);
    }
    return { result, body: slot.body, rows: slot.rows };
  }

  async function probe(shape: SourceTable): Promise<number> {
    const { result } = await run(
      shape.qualified,
      'checking access to',
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

  const [{ createClient }, { default: ws }] = await supabaseJs;
  const client: SupabaseClient = createClient(base.href, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    // Node 20 has no WebSocket; supabase-js wants a transport even though realtime is never used.
    realtime: { transport: ws as unknown as RealtimeTransport },
    global: { fetch: clientFetch },
  });

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
    for (const m of missing) await run(qualifiedTableName(m.schema, m.name), 'checking access to', client.schema(m.schema).from(m.name).select('*').limit(0).retry(false));
    const names = missing.map((m) => qualifiedTableName(m.schema, m.name));
    throw new UsageError(`Table${names.length > 1 ? 's' : ''} ${names.join(', ')} not described by the REST API in schema${schemas.length > 1 ? 's' : ''} ${schemas.join(', ')}; check the exposed schemas`, { hint: 'choose-tables' });
  }
  const unique = selected.filter((s, i) => selected.findIndex((o) => o.schema === s.schema && o.name === s.name) === i);
  if (unique.length === 0) throw new UsageError(`No tables to back up: the REST API describes none in schema${schemas.length > 1 ? 's' : ''} ${schemas.join(', ')}`);

  const shapes = unique.map(({ schema, name }) => {
    const qualified = qualifiedTableName(schema, name);
    return shapeFromDefinition(schema, name, described.get(schema)!.definitions![name]!, generated[qualified] ?? generated[`${schema}.${name}`] ?? []);
  });
  const keyless = shapes.filter((s) => s.primaryKey.length === 0).map((s) => s.qualified);
  if (keyless.length)
    throw new UsageError(`Table${keyless.length > 1 ? 's' : ''} ${keyless.join(', ')} ha${keyless.length > 1 ? 've' : 's'} no primary key, which the supabase driver pages on; add one, or leave ${keyless.length > 1 ? 'them' : 'it'} out of the tables backed up`, { hint: 'use-postgres-driver' });
  for (const s of shapes) {
    const arrayKey = s.columns.filter((c) => s.primaryKey.includes(c.name) && (c.type.endsWith(']') || c.encoding === 'text'));
    if (arrayKey.length || s.primaryKey.some((k) => s.generatedColumns.includes(k)))
      throw new UsageError(`Table ${s.qualified} has a primary key the supabase driver cannot page on (${s.primaryKey.join(', ')})`, { hint: 'use-postgres-driver' });
    for (const c of [...s.columns.map((x) => x.name), ...s.primaryKey]) if (c.includes('"')) throw new UsageError(`Column ${JSON.stringify(c)} of ${s.qualified} has a name the REST query syntax cannot carry`, { hint: 'use-postgres-driver' });
  }

  /** The first key column's smallest or largest value, or undefined for an empty table. */
  async function keyBound(shape: SourceTable, order: 'smallest' | 'largest'): Promise<string | undefined> {
    const first = fieldName(shape.primaryKey[0]!);
    const { body } = await run(shape.qualified, 'reading the key range of', client.schema(shape.schema).from(shape.name).select(first).order(first, { ascending: order === 'smallest' }).limit(1).retry(false));
    const split = pageRows('Reading the key range of', shape.qualified, body);
    const raw = split.rows === 0 ? undefined : objectMembers(split.last, new Set([shape.primaryKey[0]!])).get(shape.primaryKey[0]!);
    const bound = raw === undefined ? undefined : filterValue(raw);
    if (body) giveBack(body);
    return bound;
  }

  const rowsPerPart = Math.max(1, Math.floor(options.rowsPerPart ?? DEFAULT_ROWS_PER_PART));
  /** Split points of the first key column, per table read in key ranges (see key-ranges.ts). */
  const splits = new Map<string, string[]>();
  async function keyRanges(shape: SourceTable, estimatedRows: number): Promise<string[]> {
    const kind = splittableKey(shape.columns.find((c) => c.name === shape.primaryKey[0])?.type ?? '');
    const parts = Math.min(MAX_PARTS, Math.floor(estimatedRows / rowsPerPart));
    if (!kind || parts < 2) return [];
    const [smallest, largest] = await Promise.all([keyBound(shape, 'smallest'), keyBound(shape, 'largest')]);
    return smallest === undefined || largest === undefined ? [] : splitPoints(kind, smallest, largest, parts);
  }

  // Every table readable with this key (refuse up front, not half-way), its size for progress, and
  // the key ranges of the large ones.
  const tables: SourceTable[] = new Array(shapes.length);
  await runPool(
    shapes.map((shape, index) => ({ shape, index })),
    PROBES_IN_FLIGHT,
    async ({ shape, index }) => {
      const rows = await probe(shape);
      const points = await keyRanges(shape, rows);
      if (points.length) splits.set(shape.qualified, points);
      // REST gives no size; a rough one lets the backup start the widest, longest tables first.
      tables[index] = { ...shape, estimatedRows: rows, estimatedBytes: rows * Math.max(1, shape.columns.length) * 16, parts: points.length + 1 };
    },
  );

  /** Part `part`'s key range: from `lower` (inclusive) to `upper` (exclusive); open where undefined. */
  function rangeOf(table: SourceTable, part: number): { lower?: string; upper?: string } {
    const points = splits.get(table.qualified) ?? [];
    return { ...(part > 0 ? { lower: points[part - 1]! } : {}), ...(part < points.length ? { upper: points[part]! } : {}) };
  }

  async function fetchPage(table: SourceTable, select: string, range: { lower?: string; upper?: string }, last: readonly string[] | undefined, asked: number): Promise<Page> {
    let query = client.schema(table.schema).from(table.name).select(select);
    const first = fieldName(table.primaryKey[0]!);
    if (last) {
      if (table.primaryKey.length === 1) query = query.gt(first, last[0]!);
      else query = query.gte(first, last[0]!).or(keysetCondition(table.primaryKey, last));
    } else if (range.lower !== undefined) query = query.gte(first, range.lower);
    if (range.upper !== undefined) query = query.lt(first, range.upper);
    for (const k of table.primaryKey) query = query.order(fieldName(k), { ascending: true });
    const { body, rows } = await run(table.qualified, 'reading', query.limit(asked).retry(false));
    const split = pageRows('Reading', table.qualified, body, rows);
    if (split.rows === 0) {
      // Nothing of an empty page is written: its buffer can serve the next page.
      if (body) giveBack(body);
      return { rows: 0, asked, ndjson: split.ndjson, lastKey: last ?? [] };
    }
    const members = objectMembers(split.last, new Set(table.primaryKey));
    const lastKey = table.primaryKey.map((k) => {
      const raw = members.get(k);
      if (raw === undefined) throw new OperationFailedError(`The REST API left the primary key column ${k} out of the rows of ${table.qualified}; run the backup again`);
      return filterValue(raw);
    });
    if (last && lastKey.every((v, i) => v === last[i])) throw new OperationFailedError(`Paging ${table.qualified} did not advance past key (${lastKey.join(', ')}); the rows may be changing under a different collation`);
    return { rows: split.rows, asked, ndjson: split.ndjson, lastKey };
  }

  const freshPageCollections = new CollectionSchedule(FRESH_PAGE_COLLECTIONS);
  const poolsMade = () => streamBuffers.madeBytes + pageBuffers.madeBytes;
  let poolMadeBefore = poolsMade();
  async function* pages(table: SourceTable, part: number): AsyncGenerator<Buffer> {
    const select = selectList(table.columns);
    const range = rangeOf(table, part);
    let largest = 0;
    let rowsRead = 0;
    let bytesRead = 0;
    let pending: Promise<Page> | undefined = fetchPage(table, select, range, undefined, Math.min(pageSize, FIRST_PAGE_ROWS));
    while (pending) {
      const page: Page = await pending;
      pending = undefined;
      if (page.rows === 0) return;
      // A page shorter than asked for ends the table only when it is also shorter than an earlier page:
      // otherwise the server's max-rows may have capped it, and the next page (possibly empty) tells.
      // (A page shorter than an earlier one is shorter than the cap, whatever each page asked for.)
      const ended = page.rows < page.asked && page.rows < largest;
      largest = Math.max(largest, page.rows);
      rowsRead += page.rows;
      bytesRead += page.ndjson.length;
      if (!ended) {
        // Ask for the next page while this one is written: two pages in memory at most.
        const asked = Math.max(1, Math.min(pageSize, Math.floor((pageBytes * rowsRead) / Math.max(1, bytesRead))));
        pending = fetchPage(table, select, range, page.lastKey, asked);
        pending.catch(() => undefined);
      }
      yield page.ndjson;
      // New buffers call for full collections: a page that is not a pooled one, and pool buffers made
      // because none came back (a compressor that keeps its input: gzip gives nothing back).
      const poolMade = poolsMade();
      freshPageCollections.count((pooled(page.ndjson) ? 0 : page.ndjson.length) + poolMade - poolMadeBefore);
      poolMadeBefore = poolMade;
    }
  }

  const workers = Math.max(1, Math.floor(options.workers ?? DEFAULT_WORKERS));
  return {
    info: { driver: 'supabase', host },
    consistency: 'per-table',
    workers,
    tables,
    sequences: [],
    async exportTable(table: SourceTable, _worker: number, _rows?: RowEncoding, part = 0): Promise<Readable> {
      if (part < 0 || part >= (splits.get(table.qualified)?.length ?? 0) + 1) throw new OperationFailedError(`${table.qualified} has no part ${part + 1}`);
      return Readable.from(pages(table, part), { objectMode: false, highWaterMark: 64 * 1024 });
    },
    async close() {
      closing.abort();
      transport.close();
      // No realtime channel is ever opened. removeAllChannels() would start realtime-js's 10 s
      // disconnect timer, which it never clears, and keep the process alive that long.
      if (client.getChannels().length > 0) await client.removeAllChannels().catch(() => undefined);
    },
  };
}
