/**
 * In-process throughput of the restore's row converters (NDJSON to binary COPY and to COPY text),
 * without a database: the guard that a change to copy-binary.ts, copy-binary-encoders.ts or
 * copy-text.ts does not make them slower. `npm run bench` measures whole restores, where the server
 * dominates and a few percent of client time disappear in the noise.
 *
 *   npx tsx bin/dev/converter-bench.ts [--rows 200000] [--runs 5] [--against <dir>] [--core <dir>] [--only 'products (text and jsonb) binary']
 *
 * `--against <dir>` also loads the converters from another copy of lambdas/core (e.g. the previous
 * commit's, from `git archive HEAD lambdas/core | tar -x -C /tmp/base`, then `/tmp/base/lambdas/core`)
 * and runs both turn about on the same rows; `--core` replaces the version measured. Prints the
 * median of the runs per table and converter, as CPU time (steadier on a shared machine) and wall
 * time, the output's SHA-256 (equal across versions), and with `--against` the median ratio of the
 * pairs' CPU times.
 */
import { createHash, type Hash } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

interface Converter {
  convert(buf: Buffer, start: number, end: number): void;
  take(force?: boolean): Buffer | undefined;
}

type Kind = 'bool' | 'int4' | 'int8' | 'numeric' | 'text' | 'jsonb' | 'uuid' | 'timestamptz' | 'date';

interface Table {
  readonly name: string;
  /** Rows per `--rows`: wide rows are fewer, so that each table is tens of megabytes. */
  readonly scale: number;
  readonly columns: readonly { readonly name: string; readonly kind: Kind }[];
  readonly row: (i: number, random: () => number) => Record<string, unknown>;
}

/** Deterministic, so every version converts the same bytes. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** A timestamptz as row_to_json writes it in UTC. */
function timestamp(random: () => number): string {
  const ms = Date.UTC(2023, 0, 1) + Math.floor(random() * 3 * 365 * 86_400_000);
  const micros = String(Math.floor(random() * 1_000_000)).padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${micros}+00:00`;
}

const WORDS = ['iconic', 'linen', 'shirt', 'summer', 'blue', 'organic', 'cotton', 'relaxed', 'fit', 'hand-finished', 'Zürich', 'café', '“quoted”', 'size', 'M', 'with "pockets"', 'line\nbreak', 'tab\there'];

function words(random: () => number, count: number): string {
  return Array.from({ length: count }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');
}

const TABLES: readonly Table[] = [
  {
    name: 'order_items',
    scale: 1,
    columns: [
      { name: 'id', kind: 'int8' },
      { name: 'order_id', kind: 'int8' },
      { name: 'product_id', kind: 'uuid' },
      { name: 'variant_id', kind: 'uuid' },
      { name: 'sku', kind: 'text' },
      { name: 'quantity', kind: 'int4' },
      { name: 'unit_price', kind: 'numeric' },
      { name: 'discount', kind: 'numeric' },
      { name: 'total', kind: 'numeric' },
      { name: 'is_gift', kind: 'bool' },
      { name: 'created_at', kind: 'timestamptz' },
      { name: 'updated_at', kind: 'timestamptz' },
    ],
    row: (i, random) => {
      const quantity = 1 + Math.floor(random() * 4);
      const price = (5 + random() * 200).toFixed(2);
      return {
        id: 1_000_000 + i,
        order_id: 500_000 + Math.floor(i / 3),
        product_id: uuid(random),
        variant_id: uuid(random),
        sku: `LII-${Math.floor(random() * 99_999)}-${['S', 'M', 'L', 'XL'][i % 4]}`,
        quantity,
        unit_price: new Raw(price),
        discount: random() < 0.7 ? null : new Raw((random() * 20).toFixed(2)),
        total: new Raw((Number(price) * quantity).toFixed(2)),
        is_gift: random() < 0.1,
        created_at: timestamp(random),
        updated_at: timestamp(random),
      };
    },
  },
  {
    name: 'products (text and jsonb)',
    scale: 0.25,
    columns: [
      { name: 'id', kind: 'int8' },
      { name: 'title', kind: 'text' },
      { name: 'description', kind: 'text' },
      { name: 'attributes', kind: 'jsonb' },
      { name: 'launched_on', kind: 'date' },
      { name: 'created_at', kind: 'timestamptz' },
    ],
    row: (i, random) => ({
      id: i + 1,
      title: words(random, 4),
      description: words(random, 40 + Math.floor(random() * 80)),
      // json/jsonb travel as their text (a JSON string), as the backup carries them.
      attributes: JSON.stringify({ material: words(random, 2), care: words(random, 8), sizes: ['S', 'M', 'L'], weight_g: Math.floor(random() * 900), origin: { country: 'PT', city: 'Porto' } }),
      launched_on: new Date(Date.UTC(2020, 0, 1) + Math.floor(random() * 2000) * 86_400_000).toISOString().slice(0, 10),
      created_at: timestamp(random),
    }),
  },
];

/** A number's exact text, written bare (row_to_json writes numerics as JSON numbers with every digit). */
class Raw {
  constructor(readonly text: string) {}
}

function rowJson(row: Record<string, unknown>): string {
  return `{${Object.entries(row).map(([k, v]) => `${JSON.stringify(k)}:${v instanceof Raw ? v.text : JSON.stringify(v)}`).join(',')}}`;
}

function ndjson(table: Table, rows: number): { data: Buffer; lines: Int32Array } {
  const random = mulberry32(42);
  const text = Array.from({ length: rows }, (_, i) => `${rowJson(table.row(i, random))}\n`).join('');
  const data = Buffer.from(text);
  const lines = new Int32Array(rows + 1);
  let n = 0;
  for (let at = data.indexOf(0x0a); at >= 0; at = data.indexOf(0x0a, at + 1)) lines[++n] = at + 1;
  return { data, lines };
}

interface Timing {
  readonly wallMs: number;
  /** CPU time of the process: on a shared machine far steadier than wall time, which counts waiting for a core. */
  readonly cpuMs: number;
}

/** Converts every line; with `hash`, the output's SHA-256 too (so versions can be compared byte for byte). */
function run(converter: Converter, data: Buffer, lines: Int32Array, hash?: Hash): Timing {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  let bytes = 0;
  for (let i = 0; i + 1 < lines.length; i++) {
    converter.convert(data, lines[i]!, lines[i + 1]! - 1);
    const batch = converter.take();
    if (batch) {
      bytes += batch.length;
      hash?.update(batch);
    }
  }
  const last = converter.take(true);
  if (last) hash?.update(last);
  bytes += last?.length ?? 0;
  if (bytes === 0) throw new Error('no output');
  const used = process.cpuUsage(cpu);
  return { wallMs: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: (used.user + used.system) / 1000 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

interface Versions {
  readonly binary: new (columns: readonly { name: string; kind: Kind }[]) => Converter;
  readonly text: new (columns: readonly string[]) => Converter;
}

async function load(core: string): Promise<Versions> {
  const binary = (await import(path.join(core, 'copy-binary.ts'))) as { NdjsonToCopyBinary: Versions['binary'] };
  const text = (await import(path.join(core, 'copy-text.ts'))) as { NdjsonToCopyBytes: Versions['text'] };
  return { binary: binary.NdjsonToCopyBinary, text: text.NdjsonToCopyBytes };
}

function summary(times: readonly Timing[], bytes: number): string {
  const cpu = median(times.map((t) => t.cpuMs));
  const wall = median(times.map((t) => t.wallMs));
  const fastest = Math.min(...times.map((t) => t.cpuMs));
  return `cpu median ${cpu.toFixed(1).padStart(6)} ms (${(bytes / 1e6 / (cpu / 1000)).toFixed(0).padStart(4)} MB/s), min ${fastest.toFixed(1).padStart(6)} ms  wall median ${wall.toFixed(1).padStart(6)} ms  cpu runs ${times.map((t) => t.cpuMs.toFixed(0)).join(', ')}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rows: { type: 'string', default: '200000' }, runs: { type: 'string', default: '5' }, core: { type: 'string' }, against: { type: 'string' }, only: { type: 'string' } } });
  const here = path.dirname(fileURLToPath(import.meta.url));
  const current = await load(path.resolve(values.core ?? path.join(here, '../../lambdas/core')));
  // With --against, both versions convert the same rows turn about in one process, so a change in
  // the machine's load hits both; the ratio of each pair is what is reported.
  const baseline = values.against ? await load(path.resolve(values.against)) : undefined;
  const rows = Number(values.rows);
  const runs = Number(values.runs);
  for (const table of TABLES) {
    const { data, lines } = ndjson(table, Math.round(rows * table.scale));
    const converters: [string, (v: Versions) => Converter][] = [
      ['binary', (v) => new v.binary(table.columns)],
      ['text', (v) => new v.text(table.columns.map((c) => c.name))],
    ];
    for (const [name, make] of converters) {
      if (values.only && !`${table.name} ${name}`.includes(values.only)) continue;
      const versions = baseline ? [current, baseline] : [current];
      const hashes = versions.map((v) => {
        const hash = createHash('sha256');
        run(make(v), data, lines, hash); // warm-up: the JIT's tiers, the slabs' first allocations
        return hash.digest('hex').slice(0, 12);
      });
      const times: Timing[][] = versions.map(() => []);
      for (let r = 0; r < runs; r++) {
        const order = r % 2 === 0 ? versions.map((_, i) => i) : versions.map((_, i) => versions.length - 1 - i);
        for (const i of order) times[i]!.push(run(make(versions[i]!), data, lines));
      }
      const label = `${table.name.padEnd(26)} ${name.padEnd(7)}`;
      process.stdout.write(`${label} ${summary(times[0]!, data.length)}  sha256 ${hashes[0]}\n`);
      if (baseline) {
        process.stdout.write(`${label.replace(/\S/g, ' ')} ${summary(times[1]!, data.length)}  sha256 ${hashes[1]} (--against)\n`);
        const ratios = times[0]!.map((t, i) => t.cpuMs / times[1]![i]!.cpuMs);
        const minRatio = Math.min(...times[0]!.map((t) => t.cpuMs)) / Math.min(...times[1]!.map((t) => t.cpuMs));
        process.stdout.write(`${label.replace(/\S/g, ' ')} cpu this/against: median of the pairs' ratios ${median(ratios).toFixed(3)}, ratio of the minimums ${minRatio.toFixed(3)}${hashes[0] === hashes[1] ? '' : '  OUTPUT DIFFERS'}\n`);
      }
    }
  }
}

await main();
