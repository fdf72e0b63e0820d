/**
 * How a table file's rows are written (docs/format.md "Row encodings"). `ndjson`: one `row_to_json`
 * object per line, what every backup before copy text holds and what the supabase driver always
 * writes. `copy-text`: PostgreSQL's own COPY text format for the table's stored columns, as
 * `pg_dump` writes it: no JSON rendering on the server and no conversion on restore.
 */
export const ROW_ENCODINGS = ['ndjson', 'copy-text'] as const;
export type RowEncoding = (typeof ROW_ENCODINGS)[number];

/** What a file without `rows` in its manifest entry holds: every backup written before copy text. */
export const DEFAULT_ROW_ENCODING: RowEncoding = 'ndjson';

/** The spellings of `backup --rows` and ICONIC_DR_ROWS, and the encoding each writes. */
export const ROWS_CHOICES = { json: 'ndjson', copy: 'copy-text' } as const satisfies Record<string, RowEncoding>;
export type RowsChoice = keyof typeof ROWS_CHOICES;

/**
 * What a backup writes unless told otherwise (CLI, Lambda, bench): the tables' COPY text, 17 %
 * smaller than NDJSON at its default zstd 5 (0.96x the `pg_dump -Fc` archive against NDJSON's
 * 1.16x on the bench shop), restored and validated as fast, for a backup that spends more CPU on zstd
 * (0.45x against 0.39x `pg_dump -Fc` on a quiet machine; docs/performance.md, "Sixteenth
 * session"). Readers older than copy text refuse it, so `json` stays for them. The stack's
 * `backupRows` default (lib/backup-pipeline.ts) is tied to this by a test.
 */
export const DEFAULT_BACKUP_ROWS: RowsChoice = 'copy';

/** The middle of a table file's name: `orders.ndjson.zst`, `orders.copy.zst`. */
export function rowsSuffix(rows: RowEncoding): string {
  return rows === 'copy-text' ? '.copy' : '.ndjson';
}
