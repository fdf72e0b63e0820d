/*
 * What the row converter modules (copy-json.c, copy-binary.c) report after each call to their
 * convert_rows, as wasm/module.ts ChunkConverter reads it: where they stopped, why, and how many rows
 * they wrote.
 */
#ifndef ICONIC_DR_CONVERTER_H
#define ICONIC_DR_CONVERTER_H

#include <stdint.h>

/* Why convert_rows stopped: its input ended (or a message or line was cut there), the output has no room for the next row, or the next row is the JavaScript side's. */
enum { STOP_END = 0, STOP_OUTPUT_FULL = 1, STOP_GIVE_BACK = 2 };

static int32_t stopped_at;
static int32_t stop_reason;
static int32_t rows_written;

/* Records the outcome of a convert_rows call and returns the output bytes it wrote. */
static inline int32_t stopped(int32_t at, int32_t reason, int32_t rows, int32_t written) {
  stopped_at = at;
  stop_reason = reason;
  rows_written = rows;
  return written;
}

__attribute__((export_name("stop")))
int32_t stop(void) { return stopped_at; }

__attribute__((export_name("reason")))
int32_t reason(void) { return stop_reason; }

__attribute__((export_name("rows")))
int32_t rows(void) { return rows_written; }

#endif
