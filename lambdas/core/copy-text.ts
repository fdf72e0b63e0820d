/**
 * Turns format-v1 NDJSON rows into PostgreSQL COPY text rows in the client, so a restore can load
 * with plain `COPY … FROM STDIN` (the server's cheapest path) instead of parsing JSON per row with
 * `json_to_record`. Numbers are copied as their JSON text (never through a double), strings are
 * unescaped from JSON and escaped for COPY, arrays become array literals. Composite values (JSON
 * objects) are not handled here: tables with composite columns use the json_to_record path.
 */

export class RowConversionError extends Error {
  override name = 'RowConversionError';
}

const COPY_SPECIAL = /[\\\n\r\t]/;

function copyEscape(value: string): string {
  if (!COPY_SPECIAL.test(value)) return value;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 92) out += '\\\\';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else out += value[i];
  }
  return out;
}

/** A cursor over one line of JSON text. */
class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new RowConversionError(`${what} at offset ${this.pos}`);
  }

  skipSpace(): void {
    let c = this.text.charCodeAt(this.pos);
    while (c === 32 || c === 9 || c === 10 || c === 13) c = this.text.charCodeAt(++this.pos);
  }

  expect(code: number, what: string): void {
    this.skipSpace();
    if (this.text.charCodeAt(this.pos) !== code) this.fail(`expected ${what}`);
    this.pos++;
  }

  /** A JSON string token starting at pos (on the quote), decoded. */
  string(): string {
    const start = this.pos;
    let i = start + 1;
    let escaped = false;
    const text = this.text;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        i += 2;
        continue;
      }
      if (Number.isNaN(c)) this.fail('unterminated string');
      i++;
    }
    this.pos = i + 1;
    return escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
  }

  /** A bare token (number, true, false, null): its text. */
  bare(): string {
    const start = this.pos;
    const text = this.text;
    let c = text.charCodeAt(this.pos);
    while (this.pos < text.length && c !== 44 && c !== 125 && c !== 93 && c !== 32) c = text.charCodeAt(++this.pos);
    if (this.pos === start) this.fail('expected a value');
    return text.slice(start, this.pos);
  }
}

const NEEDS_NO_QUOTES = /^[^\s"\\{},]+$/;

function arrayElement(s: Scanner): string {
  s.skipSpace();
  const c = s.text.charCodeAt(s.pos);
  if (c === 34) {
    const value = s.string();
    // Always quoted: "NULL", "" and values with separators must stay strings.
    return `"${value.replace(/[\\"]/g, '\\$&')}"`;
  }
  if (c === 91) return arrayLiteral(s);
  if (c === 123) s.fail('composite value in an array');
  const token = s.bare();
  if (token === 'null') return 'NULL';
  if (token === 'true') return 't';
  if (token === 'false') return 'f';
  if (!NEEDS_NO_QUOTES.test(token)) s.fail('unexpected token');
  return token;
}

/** A JSON array (pos on `[`) as a PostgreSQL array literal, nested for multi-dimensional arrays. */
function arrayLiteral(s: Scanner): string {
  s.pos++;
  s.skipSpace();
  if (s.text.charCodeAt(s.pos) === 93) {
    s.pos++;
    return '{}';
  }
  const parts: string[] = [];
  for (;;) {
    parts.push(arrayElement(s));
    s.skipSpace();
    const c = s.text.charCodeAt(s.pos++);
    if (c === 93) break;
    if (c !== 44) s.fail('expected , or ] in array');
  }
  return `{${parts.join(',')}}`;
}

/** One column value (pos on its first character) as a COPY text field. */
function field(s: Scanner): string {
  s.skipSpace();
  const c = s.text.charCodeAt(s.pos);
  if (c === 34) return copyEscape(s.string());
  if (c === 91) return copyEscape(arrayLiteral(s));
  if (c === 123) s.fail('composite value');
  const token = s.bare();
  if (token === 'null') return '\\N';
  if (token === 'true') return 't';
  if (token === 'false') return 'f';
  return token;
}

/**
 * A converter for rows of the given columns (in row order). Each row must be a JSON object with
 * exactly these keys in this order, as format v1 writes them; anything else is an error, never a
 * silently shifted column. Columns in `skip` are read and left out of the output.
 */
export function ndjsonToCopyConverter(columns: readonly string[], skip: ReadonlySet<string> = new Set()): (line: string) => string {
  const names = [...columns];
  const keep = names.map((n) => !skip.has(n));
  // row_to_json writes `"name":` with no spaces; matching that text directly skips decoding each key.
  const keyTokens = names.map((n) => `${JSON.stringify(n)}:`);
  return (line: string): string => {
    const s = new Scanner(line);
    s.expect(123, '{');
    const fields: string[] = [];
    for (let i = 0; i < names.length; i++) {
      if (line.startsWith(keyTokens[i]!, s.pos)) s.pos += keyTokens[i]!.length;
      else {
        s.skipSpace();
        if (s.text.charCodeAt(s.pos) !== 34) s.fail(`expected key "${names[i]}"`);
        const key = s.string();
        if (key !== names[i]) s.fail(`expected key "${names[i]}", found "${key}"`);
        s.expect(58, ':');
      }
      const value = field(s);
      if (keep[i]) fields.push(value);
      s.skipSpace();
      const sep = s.text.charCodeAt(s.pos++);
      if (i < names.length - 1 ? sep !== 44 : sep !== 125) s.fail(i < names.length - 1 ? 'expected ,' : 'expected } (more keys than columns)');
    }
    s.skipSpace();
    if (s.pos !== line.length) s.fail('trailing data');
    return `${fields.join('\t')}\n`;
  };
}

/**
 * NDJSON text chunks (any split) to COPY text Buffers of about `batchBytes`, converting each row.
 * Rows are encoded straight into a reused-size Buffer, so the heap holds one row's strings at a time
 * rather than a rope of a whole batch. Errors carry the 1-based row number.
 */
export async function* convertNdjsonStream(chunks: AsyncIterable<string>, convert: (line: string) => string, batchBytes = 128 * 1024): AsyncGenerator<Buffer> {
  let pending = '';
  let out = Buffer.allocUnsafe(batchBytes);
  let used = 0;
  let row = 0;
  const full: Buffer[] = [];
  const take = (line: string) => {
    row++;
    let text: string;
    try {
      text = convert(line);
    } catch (error) {
      throw new RowConversionError(`row ${row}: ${(error as Error).message}`);
    }
    // UTF-8 needs at most 3 bytes per UTF-16 unit.
    if (used + text.length * 3 > out.length) {
      if (used > 0) full.push(out.subarray(0, used));
      out = Buffer.allocUnsafe(Math.max(batchBytes, text.length * 3));
      used = 0;
    }
    used += out.write(text, used);
  };
  for await (const chunk of chunks) {
    let start = 0;
    let end = chunk.indexOf('\n');
    if (end !== -1 && pending) {
      take(pending + chunk.slice(0, end));
      pending = '';
      start = end + 1;
      end = chunk.indexOf('\n', start);
    }
    while (end !== -1) {
      take(chunk.slice(start, end));
      start = end + 1;
      end = chunk.indexOf('\n', start);
    }
    pending += chunk.slice(start);
    while (full.length) yield full.shift()!;
  }
  if (pending) take(pending);
  while (full.length) yield full.shift()!;
  if (used > 0) yield out.subarray(0, used);
}
