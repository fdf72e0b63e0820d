import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidBackupError } from '../errors.js';
import { MAX_MANIFEST_BYTES } from '../limits.js';
import type { BackupStore } from '../storage/store.js';
import { collectGarbage } from '../util/gc.js';
import { HashingPassThrough } from '../util/streams.js';
import { mediaObjectSchema, NO_METADATA, objectsListSchema, type MediaObject, type MediaSnapshot } from './snapshot.js';

/**
 * objects.json is a JSON array written one object per line (`[`, `{…},` …, `]`), so a sync writes it
 * and every reader reads it as a stream: a snapshot of 100,000 objects never exists as one string
 * (nor twice, as text and as a parsed copy). It stays a plain JSON array for any other reader.
 */

/** One line of the listing may hold an object with its user metadata (S3 caps that at 2 KB), never more. */
const MAX_LINE_CHARS = 1024 * 1024;
/** A listing of ten million objects is ~3 GB; past that it is not a file a sync wrote. */
const MAX_LISTING_BYTES = 4 * 1024 * MAX_MANIFEST_BYTES;
const CHUNK_BYTES = 64 * 1024;
/** Parsing a line leaves its text and zod's copy behind; a collection this often keeps that garbage from doubling the peak. */
const GC_EVERY_LINES = 20_000;

function* listingText(objects: readonly (MediaObject | undefined)[]): Generator<Buffer> {
  let pending = '[\n';
  const present = objects.filter((o): o is MediaObject => o !== undefined);
  for (const [i, o] of present.entries()) {
    pending += `${JSON.stringify(o)}${i === present.length - 1 ? '' : ','}\n`;
    if (pending.length >= CHUNK_BYTES) {
      yield Buffer.from(pending);
      pending = '';
    }
  }
  yield Buffer.from(`${pending}]\n`);
}

/** Writes the listing (holes from objects that vanished are skipped); returns what snapshot.json records of it. */
export async function writeObjectsFile(vault: BackupStore, key: string, objects: readonly (MediaObject | undefined)[]): Promise<{ key: string; sha256: string; bytes: number }> {
  const hasher = new HashingPassThrough();
  const body = Readable.from(listingText(objects)).pipe(hasher);
  const { bytes } = await vault.writeObject(key, body);
  return { key, sha256: hasher.sha256, bytes };
}

/** The snapshot's listing, streamed and checked against the SHA-256 its snapshot.json recorded. */
export async function readObjects(vault: BackupStore, snapshot: MediaSnapshot): Promise<MediaObject[]> {
  const corrupted = (detail: string) => new InvalidBackupError(`Media snapshot ${snapshot.snapshotId}: objects.json ${detail}`, [`objects.json ${detail}`]);
  const hasher = new HashingPassThrough();
  const source = await vault.readObject(snapshot.objectsFile.key);
  // Settles with the read's error (a vault that fails mid-way), never rejects: the loop below decides.
  const reading: Promise<unknown> = pipeline(source, hasher).then(
    () => undefined,
    (error: unknown) => error,
  );
  const objects: MediaObject[] = [];
  let whole: string[] | undefined;
  let wholeChars = 0;
  let state: 'start' | 'items' | 'end' = 'start';
  try {
    for await (const line of createInterface({ input: hasher, crlfDelay: Infinity })) {
      if (hasher.bytes > MAX_LISTING_BYTES) throw corrupted(`is larger than ${MAX_LISTING_BYTES} bytes`);
      if (whole) {
        // An older listing written as one line (JSON.stringify of the array): read whole, bounded.
        wholeChars += line.length;
        if (wholeChars > MAX_MANIFEST_BYTES) throw corrupted(`is a single-line listing larger than ${MAX_MANIFEST_BYTES} bytes`);
        whole.push(line);
        continue;
      }
      if (state === 'start') {
        if (line === '[') state = 'items';
        else {
          if (line.length > MAX_MANIFEST_BYTES) throw corrupted(`is a single-line listing larger than ${MAX_MANIFEST_BYTES} bytes`);
          whole = [line];
          wholeChars = line.length;
        }
        continue;
      }
      if (line.length > MAX_LINE_CHARS) throw corrupted(`has a line longer than ${MAX_LINE_CHARS} characters`);
      if (state === 'end') {
        if (line.trim()) throw corrupted('has content after its closing ]');
        continue;
      }
      if (line === ']') {
        state = 'end';
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(line.endsWith(',') ? line.slice(0, -1) : line);
      } catch {
        throw corrupted(`line ${objects.length + 2} is not JSON`);
      }
      const parsed = mediaObjectSchema.safeParse(value);
      if (!parsed.success) throw corrupted(`line ${objects.length + 2}: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
      const object = parsed.data;
      if (!Object.keys(object.metadata).length) object.metadata = NO_METADATA;
      objects.push(object);
      if (objects.length % GC_EVERY_LINES === 0) collectGarbage();
    }
  } catch (error) {
    // Stopped early (a bad line): end the read and let the pipeline settle quietly.
    source.destroy();
    hasher.destroy();
    await reading;
    throw error;
  }
  const failed = await reading;
  if (failed) throw failed;
  if (hasher.sha256 !== snapshot.objectsFile.sha256) throw corrupted('does not match its checksum (corrupted)');
  if (whole) {
    let value: unknown;
    try {
      value = JSON.parse(whole.join('\n'));
    } catch {
      throw corrupted('is not JSON');
    }
    const parsed = objectsListSchema.safeParse(value);
    if (!parsed.success) throw corrupted(`is not a listing: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  }
  if (state !== 'end') throw corrupted('ends before its closing ]');
  return objects;
}
