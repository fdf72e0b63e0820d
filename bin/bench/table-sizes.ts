import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { measure } from './measure.js';

/** Compressed bytes per table (`schema.name` → bytes) of one dump. */
export type TableSizes = ReadonlyMap<string, number>;

/**
 * Per-table sizes of a `pg_dump -Fd` directory: its table of contents names each TABLE DATA entry's
 * dump id, whose data is `<id>.dat.gz` (zlib at pg_dump's default level, as in `-Fc`).
 */
export async function pgDumpDirectorySizes(pgRestore: string, dir: string): Promise<TableSizes> {
  const { stdout } = await measure(pgRestore, ['-l', dir]);
  const sizes = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const match = /^(\d+); \d+ \d+ TABLE DATA (\S+) (\S+) /.exec(line);
    if (!match) continue;
    const file = path.join(dir, `${match[1]}.dat.gz`);
    const bytes = await stat(file).then((s) => s.size, () => stat(path.join(dir, `${match[1]}.dat`)).then((s) => s.size, () => undefined));
    if (bytes !== undefined) sizes.set(`${match[2]}.${match[3]}`, bytes);
  }
  return sizes;
}

/** Per-table sizes of an iconic-dr backup, from its manifest, with the codec of its files. */
export async function iconicBackupSizes(backupDir: string): Promise<{ sizes: TableSizes; codecs: string }> {
  const manifest = JSON.parse(await readFile(path.join(backupDir, 'metadata.json'), 'utf8')) as {
    compression?: string;
    tableDetails: Record<string, { schema: string; name: string; bytes: number; files: { compression?: string }[] }>;
  };
  const sizes = new Map<string, number>();
  const codecs = new Set<string>();
  for (const detail of Object.values(manifest.tableDetails)) {
    sizes.set(`${detail.schema}.${detail.name}`, detail.bytes);
    for (const f of detail.files) codecs.add(f.compression ?? manifest.compression ?? 'gzip');
  }
  return { sizes, codecs: [...codecs].join('+') };
}
