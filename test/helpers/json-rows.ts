/**
 * Generated JSON rows for the row checks' tests (json-bytes.ts, wasm/row-check.ts): values of every
 * JSON kind, objects with or without whitespace, and one-byte corruptions of a line.
 */
export const SPACES = ['', '', '', ' ', '\t', '\r', '  '];
export const STRINGS = ['', 'plain', 'é 日本 🎉', 'q"uote', 'back\\slash', 'ctl\u0001\u001f', 'slash/', '\ud83c\udf89', 'tab\there', '{"nested": "json"}'];
export const NUMBERS = ['0', '-0', '1', '-12', '3.25', '1e5', '1E+5', '2.5e-300', '12345678901234567890', '-0.0001'];

export function value(next: () => number, depth: number): string {
  const pick = <T,>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
  const sp = () => pick(SPACES);
  const kind = depth > 3 ? Math.floor(next() * 4) : Math.floor(next() * 6);
  if (kind === 0) return JSON.stringify(pick(STRINGS));
  if (kind === 1) return pick(NUMBERS);
  if (kind === 2) return pick(['true', 'false', 'null']);
  if (kind === 3) return JSON.stringify(pick(STRINGS)).replace(/[a-z]/, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
  if (kind === 4) return `[${sp()}${Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1)).join(`${sp()},${sp()}`)}${sp()}]`;
  return object(next, depth + 1);
}

/** Member names no one-byte edit turns into one another: a corrupted row never holds a duplicate, which JSON.parse would fold. */
export const NAMES = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot'];

export function object(next: () => number, depth: number): string {
  const sp = () => SPACES[Math.floor(next() * SPACES.length)]!;
  const count = Math.floor(next() * 6);
  const members = Array.from({ length: count }, (_, i) => `${sp()}"${NAMES[i]}"${sp()}:${sp()}${value(next, depth)}${sp()}`);
  return `{${members.join(',')}${count === 0 ? sp() : ''}}`;
}

/** One random edit of one byte: deleted, doubled, or replaced by a byte JSON cares about (or any byte). */
export function mutate(line: Buffer, next: () => number): Buffer {
  const at = Math.floor(next() * line.length);
  const edit = Math.floor(next() * 3);
  const SYNTAX = Buffer.from('{}[]",:\\0123456789-+.eEtrufalsn \t\r\u0001');
  const byte = next() < 0.8 ? SYNTAX[Math.floor(next() * SYNTAX.length)]! : Math.floor(next() * 256);
  if (edit === 0) return Buffer.concat([line.subarray(0, at), line.subarray(at + 1)]);
  if (edit === 1) return Buffer.concat([line.subarray(0, at), line.subarray(at, at + 1), line.subarray(at)]);
  const copy = Buffer.from(line);
  copy[at] = byte === 0x0a ? 0x20 : byte;
  return copy;
}
