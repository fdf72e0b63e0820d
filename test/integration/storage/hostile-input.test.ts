import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { copyBackup } from '../../../lambdas/core/download.js';
import { InvalidBackupError } from '../../../lambdas/core/errors.js';
import { FileStore } from '../../../lambdas/core/storage/file-store.js';
import { validateBackup } from '../../../lambdas/core/validate.js';
import { runCli } from '../../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { because } from '../../helpers/expect-message.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/legacy-backups');
const ID = '2024-01-15T02-00-00-000Z';

/**
 * A legacy backup whose metadata.json names the table `../planted`, with a well-formed
 * `planted.json` waiting beside the backup folder: before the safe-name check, validate read it
 * and passed, and download wrote it outside the backup's folder.
 */
async function plantedBackup(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-hostile-'));
  await cp(path.join(FIXTURE, ID), path.join(root, ID), { recursive: true });
  const metadataFile = path.join(root, ID, 'metadata.json');
  const metadata = JSON.parse(await readFile(metadataFile, 'utf8')) as { tables: string[]; recordCounts: Record<string, number>; totalRecords: number };
  metadata.tables.push('../planted');
  metadata.recordCounts['../planted'] = 1;
  metadata.totalRecords += 1;
  await writeFile(metadataFile, JSON.stringify(metadata));
  await writeFile(path.join(root, 'planted.json'), '[{"id": 1}]');
  return root;
}

describe('hostile names never become paths outside a backup (legacy format)', () => {
  let root: string;
  let destination: string;

  beforeAll(async () => {
    root = await plantedBackup();
    destination = await mkdtemp(path.join(os.tmpdir(), 'iconic-dr-hostile-dest-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(destination, { recursive: true, force: true });
  });

  it('validate refuses a legacy table named ../planted instead of reading planted.json beside the backup', async () => {
    const report = await validateBackup(new FileStore(root), ID);
    expect(report.valid).toBe(false);
    expect(report.problems.join('\n')).toContain('metadata.json tables.9: must be a table name that is also a plain file name');
  });

  it('download refuses it before writing anything, inside or outside the destination', async () => {
    const error = await copyBackup(new FileStore(root), ID, new FileStore(destination)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidBackupError);
    expect(await readdir(destination)).toEqual([]);
    expect(await readdir(path.dirname(destination))).not.toContain('planted.json');
  });

  it('the CLI says so with exit 1 for validate and download', async () => {
    const validate = await runCli(['validate', ID, '--from', root]);
    expect(validate.code).toBe(1);
    expect(validate.stdout).toContain('must be a table name that is also a plain file name');
    const download = await runCli(['download', ID, '--from', root, '--to', destination]);
    expect(download.code).toBe(1);
    expect(await readdir(destination)).toEqual([]);
  });

  it('a file store refuses any key with a .. segment, whoever asks', async () => {
    const store = new FileStore(path.join(root, ID));
    await expect(store.readObject('../planted.json')).rejects.toThrow(/Refusing key/);
    await expect(store.statObject('x/../../planted.json')).rejects.toThrow(/Refusing key/);
  });
});

describe('credentials in any URL are never printed (CLI)', () => {
  const SECRET = 'PASSWORD';

  it('validate postgres://user:PASSWORD@host/db: a usage error that keeps the password out of stdout and stderr', async () => {
    const result = await runCli(['validate', `postgres://user:${SECRET}@db.example.com/shop`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('postgres://user:***@db.example.com/shop');
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it('every command that takes a location, with --json, with a password holding @ and #', async () => {
    const url = `postgresql://admin:p@ss#${SECRET}@db.example.com:5432/shop`;
    for (const args of [
      ['validate', '--from', url, '--json'],
      ['list', '--from', url],
      ['list', '--from', url, '--json'],
      ['backup', '--to', url, '--db', 'postgres://u@127.0.0.1:1/x'],
      ['download', 'latest', '--from', url, '--to', os.tmpdir()],
      ['prune', '--from', url],
    ]) {
      const result = await runCli(args);
      because(args.join(' '), () => expect(result.code).not.toBe(0));
      because(args.join(' '), () => expect(result.stdout + result.stderr).not.toContain(SECRET));
      because(args.join(' '), () => expect(result.stdout + result.stderr).not.toContain('p@ss'));
    }
  });
});

describe('a location that cannot exist fails at once (CLI)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('proc');
    await db.query('CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, \'a\')');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('backup --to /proc/x exits 3 with one clear line instead of retrying mkdir forever', async () => {
    const result = await runCli(['backup', '--db', db.url, '--to', '/proc/iconic-dr-x']);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^iconic-dr: Could not create backup folder in \/proc\/iconic-dr-x: ENOENT/m);
    expect(result.stdout).toBe('');
  });

  it('download --to a folder under /proc exits 3 too', async () => {
    const root = await plantedBackup();
    try {
      // A good legacy backup this time: only the destination is impossible.
      await writeFile(path.join(root, ID, 'metadata.json'), await readFile(path.join(FIXTURE, ID, 'metadata.json')));
      const result = await runCli(['download', ID, '--from', root, '--to', '/proc/iconic-dr-y/z']);
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('/proc/iconic-dr-y');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('a folder whose name no key may use never breaks a listing', () => {
  it('is left out of listFolders, so list still shows the real backups', async () => {
    const root = await plantedBackup();
    try {
      await writeFile(path.join(root, ID, 'metadata.json'), await readFile(path.join(FIXTURE, ID, 'metadata.json')));
      await cp(path.join(root, ID), path.join(root, 'bad\\name'), { recursive: true });
      const store = new FileStore(root);
      expect(await store.listFolders()).toEqual([ID]);
      const list = await runCli(['list', '--from', root, '--json']);
      expect(list.code).toBe(0);
      expect((JSON.parse(list.stdout) as { backupId: string }[]).map((b) => b.backupId)).toEqual([ID]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
