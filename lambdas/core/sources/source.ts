import type { Readable } from 'node:stream';
import type { ColumnInfo, ForeignKeyInfo, SequenceInfo, SourceInfo } from '../format/manifest.js';
import type { RowEncoding } from '../format/row-encoding.js';
import type { SchemaScript } from '../schema/capture.js';

/**
 * A table as every driver can describe it: what a backup records about it and needs to schedule it.
 * Nothing here is Postgres-specific (no OID): the REST driver knows only the API's description.
 */
export interface SourceTable {
  readonly schema: string;
  readonly name: string;
  /** `products`, or `schema.table` outside `public`. */
  readonly qualified: string;
  /** Stored columns in order; generated columns are apart. */
  readonly columns: ColumnInfo[];
  readonly generatedColumns: string[];
  readonly primaryKey: string[];
  readonly foreignKeys: ForeignKeyInfo[];
  readonly estimatedRows: number;
  readonly estimatedBytes: number;
  /**
   * How many files the source exports the table as (`exportTable`'s `part`, 0 to parts - 1), which
   * the backup writes at the same time; their rows concatenate in part order. @default 1
   */
  readonly parts?: number;
}

/**
 * A database being backed up. Drivers (postgres, supabase) open a session, describe the tables, and
 * stream each table as NDJSON: one JSON object per row, `\n`-terminated, in the encoding of format v1;
 * drivers that list `copy-text` in `rowEncodings` stream the table's COPY text when asked.
 */
export interface SourceSession {
  readonly info: SourceInfo;
  /** `snapshot` when every table is read from one snapshot; `per-table` otherwise. */
  readonly consistency: 'snapshot' | 'per-table';
  /** How many tables (or parts of tables) may be exported at the same time (worker slots 0..workers-1). */
  readonly workers: number;
  readonly tables: readonly SourceTable[];
  readonly sequences: readonly SequenceInfo[];
  /**
   * The schema of the backed-up schemas from the same snapshot (postgres driver), so a restore can
   * create it; undefined when it could not be read. A promise: the driver may still be reading it
   * while the first tables export.
   */
  readonly schema?: Promise<SchemaScript | undefined>;
  /** The row encodings `exportTable` can write. @default ['ndjson'] */
  readonly rowEncodings?: readonly RowEncoding[];
  /**
   * Streams one table's rows in `rows` (one of `rowEncodings`, default ndjson), or one part of them
   * when the table has `parts`; `worker` is the slot the caller holds, so one slot serves one export
   * at a time.
   */
  exportTable(table: SourceTable, worker: number, rows?: RowEncoding, part?: number): Promise<Readable>;
  close(): Promise<void>;
}
