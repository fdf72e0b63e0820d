import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readObjects, writeObjectsFile } from '../../../lambdas/core/media/objects-file.js';
import type { MediaObject, MediaSnapshot } from '../../../lambdas/core/media/snapshot.js';
import type { FileStore } from '../../../lambdas/core/storage/file-store.js';
import { tempFileStore } from '../../helpers/engine.js';
import { because } from '../../helpers/expect-message.js';

const KEY = 'media/snapshots/s/objects.json';

function object(i: number, extra: Partial<MediaObject> = {}): MediaObject {
  return { bucket: i % 2 ? 'avatars' : 'products', key: `k ${i}/é,\n"${i}"`, size: i, sha256: createHash('sha256').update(String(i)).digest('hex'), etag: `"${i}"`, lastModified: '2026-11-30T12:00:00.000Z', metadata: { n: String(i) }, ...extra };
}

function snapshotFor(file: { key: string; sha256: string; bytes: number }): MediaSnapshot {
  return { formatVersion: 1, snapshotId: 's', startedAt: '2026-11-30T12:00:00.000Z', completedAt: '2026-11-30T12:00:01.000Z', source: 'storage', objectsFile: file, buckets: [], stats: { objects: 0, bytes: 0, new: 0, changed: 0, deleted: 0, unchanged: 0, bytesRead: 0, contentsStored: 0 }, problems: [] };
}

describe('objects.json, written and read as a stream', () => {
  let vault: { store: FileStore; root: string; cleanup(): Promise<void> };
  beforeEach(async () => {
    vault = await tempFileStore();
  });
  afterEach(async () => vault.cleanup());

  async function put(text: string): Promise<MediaSnapshot> {
    await vault.store.createObject(KEY, text);
    return snapshotFor({ key: KEY, sha256: createHash('sha256').update(text).digest('hex'), bytes: Buffer.byteLength(text) });
  }

  it('round-trips every entry (keys with commas, newlines and quotes), skipping the holes of vanished objects, and stays a JSON array', async () => {
    const objects = [...Array.from({ length: 3000 }, (_, i) => object(i)), undefined, object(3001, { contentType: 'image/png', cacheControl: 'max-age=1' })];
    const file = await writeObjectsFile(vault.store, KEY, objects);
    const read = await readObjects(vault.store, snapshotFor(file));
    expect(read).toEqual(objects.filter(Boolean));
    const text = await (await vault.store.readObject(KEY)).toArray();
    expect(JSON.parse(Buffer.concat(text).toString())).toHaveLength(3001);
    expect(file.bytes).toBe(Buffer.concat(text).length);
  });

  it('writes and reads an empty listing', async () => {
    const file = await writeObjectsFile(vault.store, KEY, []);
    expect(await readObjects(vault.store, snapshotFor(file))).toEqual([]);
  });

  it('reads a listing written on one line by earlier versions, longer than a line of the new format may be', async () => {
    const objects = Array.from({ length: 8000 }, (_, i) => object(i));
    const snapshot = await put(JSON.stringify(objects));
    expect(snapshot.objectsFile.bytes).toBeGreaterThan(1024 * 1024);
    expect(await readObjects(vault.store, snapshot)).toEqual(objects);
  });

  it('refuses a listing whose bytes differ from its checksum, or that is cut, malformed or padded', async () => {
    const good = `[\n${JSON.stringify(object(1))},\n${JSON.stringify(object(2))}\n]\n`;
    const tampered = await put(good);
    await vault.store.deletePrefix(KEY);
    await vault.store.createObject(KEY, good.replace('"size":1', '"size":7'));
    await expect(readObjects(vault.store, tampered)).rejects.toThrow(/checksum/);

    for (const [text, problem] of [
      [`[\n${JSON.stringify(object(1))},\n`, /ends before its closing \]/],
      [`[\n{"bucket":\n]\n`, /line 2 is not JSON/],
      [`[\n${JSON.stringify({ ...object(1), sha256: 'x' })}\n]\n`, /line 2: sha256/],
      [`[\n${JSON.stringify(object(1))}\n]\nextra\n`, /content after its closing \]/],
      [`[\n"${'x'.repeat(1024 * 1024 + 10)}"\n]\n`, /line longer than/],
    ] as const) {
      await vault.store.deletePrefix(KEY);
      const snapshot = await put(text);
      await because(text.slice(0, 40), () => expect(readObjects(vault.store, snapshot)).rejects.toThrow(problem));
    }
  });
});
