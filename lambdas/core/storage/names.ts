/**
 * The one check for every name that becomes part of a path or object key: backup ids, table file
 * names of every format (v1 `files[].key`, the legacy `<table>.json`), keys given to a store. A
 * backup's metadata.json is input from whoever could write to the bucket or folder, so a name in it
 * must never reach outside the backup's folder (`../planted`), nor mean something else on another OS.
 */

const MAX_NAME_BYTES = 255;

/** Why `name` cannot be one path segment, or undefined when it is safe. */
export function unsafeNameReason(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name === '.' || name === '..') return 'is a relative folder reference';
  if (name.includes('/') || name.includes('\\')) return 'contains a path separator';
  // NUL ends a path in C, other control characters hide in terminals and logs.
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character';
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) return `is longer than ${MAX_NAME_BYTES} bytes`;
  return undefined;
}

export function isSafeName(name: string): boolean {
  return unsafeNameReason(name) === undefined;
}

/** Why a store key (`<segment>/<segment>…`) is unsafe, or undefined when every segment is safe. */
export function unsafeKeyReason(key: string): string | undefined {
  for (const segment of key.split('/')) {
    const reason = unsafeNameReason(segment);
    if (reason) return `"${printable(segment)}" ${reason}`;
  }
  return undefined;
}

/** A name as it may be shown in a message: control characters escaped, length capped. */
export function printable(name: string): string {
  const shown = name.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
}
