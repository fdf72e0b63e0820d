/*
 * Validate's fast row check, compiled to WebAssembly with 128-bit SIMD (bin/build-wasm.mjs; the
 * module is embedded in row-check.wasm.ts). It accepts a line only when it is exactly a row in the
 * layout backups write: `{` then the table's keys in order, each `"name":` followed by a JSON string,
 * number, true, false or null, or a flat array of them (`[]` too, no whitespace: a text[] column),
 * `,` between members, `}` and the line's `\n`. Any other line, and any line longer than the
 * caller's limit, stops it, and the caller gives that line the general check in JavaScript
 * (json-bytes.ts `rowObjectMembers`), so a line is never accepted here that the general check would
 * refuse: every byte it accepts is compared or classified as JSON's grammar and `rowObjectMembers`
 * do, only sixteen string bytes at a time.
 *
 * Reads run up to 16 bytes past the region's end (vector loads, literal look-ahead): the caller
 * leaves that many bytes of slack after it. Offsets are 32-bit (wasm32).
 */
#include "simd.h"

typedef int8_t signed16 __attribute__((vector_size(16)));

static inline int is_hex(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static inline int is_simple_escape(uint8_t c) {
  return c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't';
}

/* After a string's opening quote at p: the index after its closing quote, or -1. */
static inline int32_t string_end(const uint8_t *b, int32_t p, int32_t end) {
  const bytes16 quote = (bytes16){0} + '"';
  const bytes16 backslash = (bytes16){0} + '\\';
  /* Bytes below 0x20 (control characters, the newline among them), compared as signed after a flip. */
  const signed16 control = (signed16)((bytes16){0} + (0x20 ^ 0x80));
  for (;;) {
    bytes16 v = load16(b + p);
    unsigned stops = mask_of((bytes16)((v == quote) | (v == backslash) | (bytes16)((signed16)(v ^ 0x80) < control)));
    if (!stops) {
      p += 16;
      if (p >= end) return -1;
      continue;
    }
    p += __builtin_ctz(stops);
    if (p >= end) return -1;
    uint8_t c = b[p];
    if (c == '"') return p + 1;
    if (c != '\\') return -1;
    uint8_t escaped = b[p + 1];
    if (is_simple_escape(escaped)) p += 2;
    else if (escaped == 'u' && p + 6 <= end && is_hex(b[p + 2]) && is_hex(b[p + 3]) && is_hex(b[p + 4]) && is_hex(b[p + 5])) p += 6;
    else return -1;
  }
}

/* The index after the JSON number at p, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, or -1. */
static inline int32_t number_end(const uint8_t *b, int32_t p, int32_t end) {
  if (b[p] == '-') p++;
  uint8_t first = b[p];
  if (first == '0') p++;
  else if (first >= '1' && first <= '9') {
    p++;
    while (is_digit(b[p])) p++;
  } else return -1;
  if (b[p] == '.') {
    int32_t from = ++p;
    while (is_digit(b[p])) p++;
    if (p == from) return -1;
  }
  if (b[p] == 'e' || b[p] == 'E') {
    p++;
    if (b[p] == '+' || b[p] == '-') p++;
    int32_t from = p;
    while (is_digit(b[p])) p++;
    if (p == from) return -1;
  }
  return p <= end ? p : -1;
}

/* The index after the JSON string, number, true, false or null at p, or -1. */
static inline int32_t scalar_end(const uint8_t *b, int32_t p, int32_t end) {
  uint8_t c = b[p];
  if (c == '"') return string_end(b, p + 1, end);
  if (c == '-' || is_digit(c)) return number_end(b, p, end);
  if (c == 'n') return b[p + 1] == 'u' && b[p + 2] == 'l' && b[p + 3] == 'l' && p + 4 <= end ? p + 4 : -1;
  if (c == 't') return b[p + 1] == 'r' && b[p + 2] == 'u' && b[p + 3] == 'e' && p + 4 <= end ? p + 4 : -1;
  if (c == 'f') return b[p + 1] == 'a' && b[p + 2] == 'l' && b[p + 3] == 's' && b[p + 4] == 'e' && p + 5 <= end ? p + 5 : -1;
  return -1;
}

/* After a `[` at p: the index after a flat array of scalars without whitespace (`[]` too), or -1 (nested values are the JavaScript check's). */
static inline int32_t array_end(const uint8_t *b, int32_t p, int32_t end) {
  p++;
  if (b[p] == ']') return p + 1;
  for (;;) {
    p = scalar_end(b, p, end);
    if (p < 0 || p >= end) return -1;
    uint8_t separator = b[p++];
    if (separator == ']') return p;
    if (separator != ',') return -1;
  }
}

/* The index after the row starting at p (after its `}`), or -1 when it is not the table's row. */
static inline int32_t row_end(const uint8_t *b, int32_t p, int32_t end, const uint8_t *keys, const int32_t *key_lengths, int32_t count) {
  if (b[p] != '{') return -1;
  p++;
  const uint8_t *key = keys;
  for (int32_t i = 0; i < count; i++) {
    p = member_key_end(b, p, end, key, key_lengths[i], i == 0);
    if (p < 0) return -1;
    key += key_lengths[i];
    p = b[p] == '[' ? array_end(b, p, end) : scalar_end(b, p, end);
    if (p < 0 || p >= end) return -1;
  }
  return b[p] == '}' ? p + 1 : -1;
}

static int32_t stopped_at;

/*
 * Accepts rows from `from` in b[0, end) while each is the table's row, ends in `\n` before `end`, is
 * at most `max_line` bytes long (without its `\n`) and fewer than `max_rows` have been accepted.
 * Returns how many it accepted; `stop()` then gives the index where it stopped (a line start).
 * `keys` holds the keys back to back (with 16 bytes of slack after), `key_lengths` their lengths.
 */
__attribute__((export_name("accept_rows")))
int32_t accept_rows(const uint8_t *b, int32_t from, int32_t end, const uint8_t *keys, const int32_t *key_lengths, int32_t count, int32_t max_rows, int32_t max_line) {
  int32_t p = from;
  int32_t rows = 0;
  while (rows < max_rows && p < end) {
    int32_t after = row_end(b, p, end, keys, key_lengths, count);
    if (after < 0 || after >= end || b[after] != '\n' || after - p > max_line) break;
    rows++;
    p = after + 1;
  }
  stopped_at = p;
  return rows;
}

__attribute__((export_name("stop")))
int32_t stop(void) { return stopped_at; }
