import { OperationFailedError } from '../../errors.js';
import { CARRIAGE_RETURN, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, MalformedJsonError, NEWLINE, OPEN_BRACE, OPEN_BRACKET, QUOTE, SPACE, copyCompact, isWhitespace, scanString, scanValue, skipWhitespace } from '../../json-bytes.js';

/**
 * A REST page's bytes as NDJSON rows: each row stays the exact bytes the server produced (json-bytes.ts
 * scans them), so no number is parsed and no page is decoded to a string.
 */

function malformed(what: string, at: number): OperationFailedError {
  return new OperationFailedError(`The REST API returned malformed JSON (${what} at byte ${at})`);
}

/** Runs a page scan, saying that the REST API's bytes were malformed where the scanner found them so. */
function fromRestApi<T>(scan: () => T): T {
  try {
    return scan();
  } catch (error) {
    if (error instanceof MalformedJsonError) throw malformed(error.what, error.at);
    throw error;
  }
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

export const NO_BYTES = Buffer.alloc(0);

/**
 * Turns the bytes of a JSON array of objects into NDJSON: each object exactly as written (no number is
 * parsed, so bigints and numerics keep every digit), one per line. An object with raw line breaks
 * outside its strings, which a nested `json` value could carry, loses its whitespace outside strings so
 * that it stays on one line. The page is never decoded (megabyte strings would sit in V8's old
 * generation until a full collection), and the NDJSON is written over `body`, whose bytes are not
 * usable afterwards, even when it is refused: n objects need n newlines where the array has n + 1
 * brackets and commas, so the output never overtakes the input still to be read.
 */
export function splitJsonArrayBytes(body: Buffer, expectedRows?: number): NdjsonRows {
  if (expectedRows !== undefined && expectedRows > 0) {
    const aggregated = splitAggregated(body, expectedRows);
    if (aggregated) return aggregated;
  }
  return fromRestApi(() => splitArray(body));
}

/** The rows a PostgREST response says it holds (`Content-Range: 0-999/*` is 1000), if it says. */
export function contentRangeRows(header: string | null | undefined): number | undefined {
  const match = /^\s*(\d+)-(\d+)\//.exec(header ?? '');
  if (!match) return undefined;
  const rows = Number(match[2]) - Number(match[1]) + 1;
  return Number.isSafeInteger(rows) && rows > 0 ? rows : undefined;
}

/** Where the body's JSON starts: after a UTF-8 byte order mark (fetch's text(), which the scans replace, dropped it) and whitespace. */
function firstToken(body: Buffer): number {
  return skipWhitespace(body, body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0);
}

/**
 * The page as PostgreSQL's `json_agg` lays it out, which is how PostgREST answers: `[row, \n row]`,
 * each separator `}, \n {`. JSON strings never hold a raw line feed, so every raw line feed is
 * whitespace between tokens; when each one sits in such a separator and there are exactly
 * `rows - 1` of them (the rows PostgREST's Content-Range counts), they are the separators, and
 * the rows are the bytes between them: found with a native search per row instead of a scan of
 * every byte. Anything else (a row with line breaks or carriage returns of its own, a count that does
 * not match, another layout) returns undefined, and the full scan decides. The NDJSON is written over
 * `body`, as the full scan writes it, byte for byte the same.
 */
export function splitAggregated(body: Buffer, rows: number): NdjsonRows | undefined {
  const open = firstToken(body);
  let close = body.length - 1;
  while (close > open && isWhitespace(body[close])) close--;
  if (body[open] !== OPEN_BRACKET || body[close] !== CLOSE_BRACKET || body[open + 1] !== OPEN_BRACE || body[close - 1] !== CLOSE_BRACE) return undefined;
  if (body.indexOf(CARRIAGE_RETURN, open) !== -1) return undefined;
  let separators = 0;
  for (let k = body.indexOf(NEWLINE, open); k !== -1 && k < close; k = body.indexOf(NEWLINE, k + 1)) {
    if (body[k - 3] !== CLOSE_BRACE || body[k - 2] !== COMMA || body[k - 1] !== SPACE || body[k + 1] !== SPACE || body[k + 2] !== OPEN_BRACE) return undefined;
    if (++separators >= rows) return undefined;
  }
  if (separators !== rows - 1) return undefined;
  // The count is the only other witness; a row that holds a separator of its own and a count one too
  // high would match it. The first and last rows must each be one whole object, or the full scan decides.
  const firstEnd = rows === 1 ? close : body.indexOf(NEWLINE, open) - 2;
  const lastStart = rows === 1 ? open + 1 : body.lastIndexOf(NEWLINE, close) + 2;
  if (!wholeObject(body, open + 1, firstEnd) || (rows > 1 && !wholeObject(body, lastStart, close))) return undefined;
  let at = 0;
  let rowStart = open + 1;
  for (let k = body.indexOf(NEWLINE, open); k !== -1 && k < close; k = body.indexOf(NEWLINE, k + 1)) {
    at += body.copy(body, at, rowStart, k - 2);
    body[at++] = NEWLINE;
    rowStart = k + 2;
  }
  const lastLine = at;
  at += body.copy(body, at, rowStart, close);
  body[at++] = NEWLINE;
  return { ndjson: body.subarray(0, at), rows, last: body.subarray(lastLine, at - 1) };
}

/** Whether body[start, end) is exactly one JSON object (by the page scanner, which throws on malformed JSON). */
function wholeObject(body: Buffer, start: number, end: number): boolean {
  try {
    return body[start] === OPEN_BRACE && scanValue(body, start) === end;
  } catch (error) {
    if (error instanceof MalformedJsonError) return false;
    throw error;
  }
}

function splitArray(body: Buffer): NdjsonRows {
  let i = firstToken(body);
  if (body[i] !== OPEN_BRACKET) throw malformed('expected an array', i);
  i = skipWhitespace(body, i + 1);
  if (body[i] === CLOSE_BRACKET) {
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
    if (body[i] !== OPEN_BRACE) throw malformed('expected an object', i);
    const end = scanValue(body, i);
    if (lf < i) lf = nextByte(body, NEWLINE, i);
    if (cr < i) cr = nextByte(body, CARRIAGE_RETURN, i);
    lastStart = at;
    at = lf < end || cr < end ? copyCompact(body, i, end, body, at) : at + body.copy(body, at, i, end);
    body[at++] = NEWLINE;
    rows++;
    i = skipWhitespace(body, end);
    const c = body[i];
    if (c === COMMA) {
      i = skipWhitespace(body, i + 1);
      continue;
    }
    if (c === CLOSE_BRACKET) {
      if (skipWhitespace(body, i + 1) !== body.length) throw malformed('text after the array', i + 1);
      return { ndjson: body.subarray(0, at), rows, last: body.subarray(lastStart, at - 1) };
    }
    throw malformed('expected , or ]', i);
  }
}

/** The raw texts of some top-level members of a JSON object (`{"id":12,...}` -> id: `12`); only those are decoded. */
export function objectMembers(object: Buffer, names: ReadonlySet<string>): Map<string, string> {
  return fromRestApi(() => members(object, names));
}

function members(object: Buffer, names: ReadonlySet<string>): Map<string, string> {
  const found = new Map<string, string>();
  let i = skipWhitespace(object, 0);
  if (object[i] !== OPEN_BRACE) throw malformed('expected an object', i);
  i = skipWhitespace(object, i + 1);
  if (object[i] === CLOSE_BRACE) return found;
  for (;;) {
    if (object[i] !== QUOTE) throw malformed('expected a member name', i);
    const keyEnd = scanString(object, i);
    const key = JSON.parse(object.toString('utf8', i, keyEnd)) as string;
    i = skipWhitespace(object, keyEnd);
    if (object[i] !== COLON) throw malformed('expected :', i);
    i = skipWhitespace(object, i + 1);
    const valueEnd = scanValue(object, i);
    if (names.has(key)) found.set(key, object.toString('utf8', i, valueEnd));
    i = skipWhitespace(object, valueEnd);
    const c = object[i];
    if (c === COMMA) {
      i = skipWhitespace(object, i + 1);
      continue;
    }
    if (c === CLOSE_BRACE) return found;
    throw malformed('expected , or }', i);
  }
}

/** A JSON scalar's text as a PostgREST filter value: strings unquoted, numbers with every digit as written. */
export function filterValue(raw: string): string {
  if (raw.startsWith('"')) return JSON.parse(raw) as string;
  if (raw === 'null' || raw.startsWith('{') || raw.startsWith('[')) throw new OperationFailedError(`A primary key value cannot be used for paging: ${raw.slice(0, 40)}`);
  return raw;
}

