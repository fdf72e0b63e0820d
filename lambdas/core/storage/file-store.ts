import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, link, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough, type Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { ObjectExistsError, ObjectNotFoundError, StorageError } from '../errors.js';
import type { BackupStore, StoredObject } from './store.js';
import { isSafeName, unsafeKeyReason } from './names.js';

const TEMP_SUFFIX = '.partial';

function storageError(action: string, target: string, error: unknown): StorageError {
  const code = (error as NodeJS.ErrnoException)?.code;
  const hint =
    code === 'EACCES' || code === 'EPERM'
      ? 'check the folder permissions'
      : code === 'ENOSPC'
        ? 'free disk space or choose another --to location'
        : code === 'EROFS'
          ? 'the file system is read-only: choose another location'
          : 'check that the location exists and is writable';
  // Local file-system errors are permanent for this run (permissions, read-only, no such place):
  // retrying them only burns time. EIO and friends are the exception a later run may not see.
  return new StorageError(`Could not ${action} ${target}: ${code ?? (error as Error)?.message ?? error} (${hint})`, { cause: error, retryable: code === 'EIO' || code === 'EAGAIN' || code === 'EBUSY' });
}

const MAX_FOLDER_DEPTH = 256;

/**
 * `mkdir -p` with a bounded number of steps. Node's own `mkdir({ recursive: true })` never returns
 * under /proc (it loops on ENOENT at full CPU), so each missing folder is created on its own, from
 * the deepest existing ancestor down; any error but EEXIST is final.
 */
export async function makeDirectories(dir: string, mode = 0o700): Promise<void> {
  const missing: string[] = [];
  let current = path.resolve(dir);
  for (let depth = 0; ; depth++) {
    try {
      const found = await stat(current);
      if (!found.isDirectory()) throw Object.assign(new Error(`${current} is not a folder`), { code: 'ENOTDIR', syscall: 'mkdir', path: current });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const parent = path.dirname(current);
      if (parent === current || depth >= MAX_FOLDER_DEPTH) throw error;
      missing.push(current);
      current = parent;
    }
  }
  for (const folder of missing.reverse()) {
    try {
      await mkdir(folder, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/**
 * Backups in a local folder (the plan's `/backups`). Files are written as `<key>.partial` and renamed
 * when complete; write-once objects are published with link(2), which fails instead of overwriting.
 * Backup files are created with mode 0600 as the plan asks (owner only).
 */
export class FileStore implements BackupStore {
  readonly description: string;

  constructor(readonly root: string) {
    this.root = path.resolve(root);
    this.description = this.root;
  }

  private resolve(key: string): string {
    const unsafe = unsafeKeyReason(key);
    if (unsafe) throw new StorageError(`Refusing key ${JSON.stringify(key)} in ${this.description}: ${unsafe}`);
    const full = path.resolve(this.root, ...key.split('/'));
    if (full !== this.root && !full.startsWith(this.root + path.sep)) throw new StorageError(`Refusing key outside the store: ${key}`);
    return full;
  }

  async beginBackup(backupId: string): Promise<void> {
    try {
      await makeDirectories(this.root);
      await mkdir(this.resolve(backupId), { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ObjectExistsError(`Backup ${backupId} already exists in ${this.description}; a backup is never overwritten`, { cause: error });
      throw storageError('create backup folder in', this.description, error);
    }
  }

  async writeObject(key: string, body: Readable): Promise<{ bytes: number }> {
    const target = this.resolve(key);
    const temp = `${target}${TEMP_SUFFIX}`;
    try {
      await makeDirectories(path.dirname(target));
      await pipeline(body, createWriteStream(temp, { mode: 0o600, flags: 'wx' }));
      await rename(temp, target);
      return { bytes: (await stat(target)).size };
    } catch (error) {
      await rm(temp, { force: true });
      if (error instanceof StorageError) throw error;
      // Errors raised by the producer (database, gzip) pass through unchanged: they are not storage faults.
      if ((error as NodeJS.ErrnoException).syscall === undefined) throw error;
      throw storageError('write', key, error);
    }
  }

  async createObject(key: string, body: string | Uint8Array): Promise<void> {
    const target = this.resolve(key);
    const temp = `${target}.${randomUUID()}${TEMP_SUFFIX}`;
    try {
      await makeDirectories(path.dirname(target));
      await writeFile(temp, body, { mode: 0o600, flag: 'wx' });
      await link(temp, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ObjectExistsError(`${key} already exists in ${this.description}; it is written once and never replaced`, { cause: error });
      throw storageError('write', key, error);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async readObject(key: string): Promise<Readable> {
    const file = this.resolve(key);
    try {
      await stat(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ObjectNotFoundError(`${key} is missing from ${this.description}`, { cause: error });
      throw storageError('read', key, error);
    }
    // An I/O error while reading is the storage's (exit 3), never evidence that the file is corrupt.
    const stream = createReadStream(file, { highWaterMark: 1024 * 1024 });
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    stream.once('error', (error) => out.destroy(storageError('read', key, error)));
    out.once('close', () => stream.destroy());
    return stream.pipe(out);
  }

  async statObject(key: string): Promise<StoredObject | undefined> {
    try {
      const s = await stat(this.resolve(key));
      return s.isFile() ? { key, size: s.size } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw storageError('read', key, error);
    }
  }

  async listObjects(prefix: string): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    const walk = async (dir: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw storageError('list', this.description, error);
      }
      for (const entry of entries) {
        const key = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix) || `${key}/`.startsWith(prefix)) await walk(path.join(dir, entry.name), key);
        } else if (entry.isFile() && key.startsWith(prefix) && !entry.name.endsWith(TEMP_SUFFIX)) {
          out.push({ key, size: (await stat(path.join(dir, entry.name))).size });
        }
      }
    };
    await walk(this.root, '');
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async listFolders(): Promise<string[]> {
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      // A name no key may use is never a backup; listing it would only make readers fail on it.
      return entries.filter((e) => e.isDirectory() && isSafeName(e.name)).map((e) => e.name).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw storageError('list', this.description, error);
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const objects = await this.listObjects(prefix);
    for (const o of objects) await rm(this.resolve(o.key), { force: true });
    // Remove the folder itself (and stray temp files) when the prefix names one.
    const folder = prefix.replace(/\/+$/, '');
    if (folder && !folder.includes('/')) await rm(this.resolve(folder), { recursive: true, force: true });
    return objects.length;
  }
}
