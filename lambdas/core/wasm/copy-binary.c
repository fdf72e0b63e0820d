/*
 * The restore's NDJSON-to-binary-COPY converter for the rows that make up nearly all of a shop's
 * data, compiled to WebAssembly with 128-bit SIMD (bin/build-wasm.mjs; embedded in
 * copy-binary.wasm.ts). It reads whole NDJSON lines and writes each row as the binary COPY tuple
 * copy-binary.ts `NdjsonToCopyBinary` writes for it, byte for byte, for the common forms only: a
 * row in the backup layout (`{`, the table's keys in order, no whitespace, `}`), each value null or
 * of its column's kind: a string without `\u` escapes (text, json, jsonb), a flat array of them and
 * nulls (text[], varchar[]), bytea in hex, true/false, an integer in range of at most 19 digits (5
 * for int2, 10 for int4, leading zeros counted), a plain decimal (numeric), a uuid, a timestamp /
 * timestamptz / date of a 4-digit year from 0001, AD, with at most six fraction digits. At any other line it
 * stops, and the caller gives that line to the JavaScript converter, which converts it or names
 * what is wrong with it (so whatever is written is the JavaScript converter's answer).
 *
 * `convert_copy_rows` does the same for the lines of a copy-text backup (COPY's text format: fields
 * separated by tabs, `\N` for NULL, backslash escapes), for tables of the same kinds but arrays,
 * with the values in the text COPY writes under the backup's settings (copy-text-binary.ts
 * `CopyTextToCopyBinary`, whose JavaScript side converts the lines given back).
 *
 * Reads run up to 64 bytes past the input's end and writes up to 16 bytes past the output's end
 * (vector loads and stores, positional reads): the caller leaves that much slack after both regions.
 */
#include "converter.h"
#include "simd.h"

enum {
  KIND_TEXT = 0,
  KIND_JSON = 1,
  KIND_JSONB = 2,
  KIND_BOOL = 3,
  KIND_INT2 = 4,
  KIND_INT4 = 5,
  KIND_INT8 = 6,
  KIND_NUMERIC = 7,
  KIND_UUID = 8,
  KIND_TIMESTAMPTZ = 9,
  KIND_TIMESTAMP = 10,
  KIND_DATE = 11,
  KIND_TEXT_ARRAY = 12,
  KIND_VARCHAR_ARRAY = 13,
  KIND_BYTEA = 14,
};

static inline void put16(uint8_t *out, int32_t value) {
  out[0] = (uint8_t)(value >> 8);
  out[1] = (uint8_t)value;
}

static inline void put32(uint8_t *out, int32_t value) {
  out[0] = (uint8_t)(value >> 24);
  out[1] = (uint8_t)(value >> 16);
  out[2] = (uint8_t)(value >> 8);
  out[3] = (uint8_t)value;
}

static inline void put64(uint8_t *out, int64_t value) {
  put32(out, (int32_t)(value >> 32));
  put32(out + 4, (int32_t)value);
}

static inline int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Two decimal digits at p, or -1. */
static inline int32_t two_digits(const uint8_t *b, int32_t p) {
  if (!is_digit(b[p]) || !is_digit(b[p + 1])) return -1;
  return (b[p] - '0') * 10 + (b[p + 1] - '0');
}

/* Whether c ends a bare value: `,` or `}` in an NDJSON row, a tab or the newline in a COPY text row. */
static inline int value_ends(uint8_t c, int copy_text) {
  return copy_text ? c == '\t' || c == '\n' : c == ',' || c == '}';
}

/*
 * The byte the escape `\e` stands for in a string: JSON's `\" \\ \/ \b \f \n \r \t`, or COPY text's
 * `\\ \b \f \n \r \t \v`; -1 for any other (`\u`, octal, `\x`: the JavaScript side's).
 */
static inline int32_t escaped_byte(uint8_t e, int copy_text) {
  switch (e) {
    case '\\': return '\\';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return 0x08;
    case 'f': return 0x0c;
    case '"':
    case '/': return copy_text ? -1 : e;
    case 'v': return copy_text ? 0x0b : -1;
    default: return -1;
  }
}

/* `"`, `\\` and the line's newline. */
static inline unsigned string_stops(bytes16 v) {
  return mask_of((bytes16)((v == (bytes16){0} + '"') | (v == (bytes16){0} + '\\') | (v == (bytes16){0} + '\n')));
}

/* A string value (text, json; jsonb with its version byte): returns the index after its closing quote, or -1. */
static inline int32_t string_value(const uint8_t *b, int32_t p, int32_t line_end, uint8_t *out, int32_t *used, int jsonb) {
  if (b[p] != '"') return -1;
  p++;
  int32_t length_at = *used;
  int32_t u = length_at + 4;
  if (jsonb) out[u++] = 1;
  for (;;) {
    p = copy_to_stop(b, p, out, &u, string_stops);
    if (p >= line_end) return -1;
    uint8_t c = b[p];
    if (c == '"') break;
    if (c == '\n') return -1;
    int32_t unescaped = escaped_byte(b[p + 1], 0);
    if (unescaped < 0) return -1;
    out[u++] = (uint8_t)unescaped;
    p += 2;
  }
  put32(out + length_at, u - length_at - 4);
  *used = u;
  return p + 1;
}

/*
 * A one-dimensional JSON array of strings and nulls (text[], varchar[]) in array_send's layout:
 * dimensions, null flag, element type, the size and lower bound 1, then each element (copy-binary-
 * encoders.ts encodeArray). Nested arrays and anything else are given back.
 */
static inline int32_t array_value(const uint8_t *b, int32_t p, int32_t line_end, uint8_t *out, int32_t *used, int32_t element_oid) {
  if (b[p] != '[') return -1;
  int32_t length_at = *used;
  if (b[p + 1] == ']') {
    put32(out + length_at, 12);
    put32(out + length_at + 4, 0);
    put32(out + length_at + 8, 0);
    put32(out + length_at + 12, element_oid);
    *used = length_at + 16;
    return p + 2;
  }
  int32_t header_at = length_at + 4;
  int32_t u = header_at + 20;
  int32_t count = 0;
  int32_t has_null = 0;
  p++;
  for (;;) {
    if (b[p] == '"') p = string_value(b, p, line_end, out, &u, 0);
    else if (b[p] == 'n' && b[p + 1] == 'u' && b[p + 2] == 'l' && b[p + 3] == 'l') {
      put32(out + u, -1);
      u += 4;
      has_null = 1;
      p += 4;
    } else return -1;
    if (p < 0 || p >= line_end) return -1;
    count++;
    uint8_t separator = b[p++];
    if (separator == ']') break;
    if (separator != ',') return -1;
  }
  put32(out + header_at, 1);
  put32(out + header_at + 4, has_null);
  put32(out + header_at + 8, element_oid);
  put32(out + header_at + 12, count);
  put32(out + header_at + 16, 1);
  put32(out + length_at, u - length_at - 4);
  *used = u;
  return p;
}

/* An integer (int2/int4/int8) of at most 19 digits, in range: the index after it, or -1. */
static inline int32_t integer_value(const uint8_t *b, int32_t p, uint8_t *out, int32_t *used, int kind, int copy_text) {
  int negative = b[p] == '-';
  if (negative) p++;
  int32_t from = p;
  uint64_t magnitude = 0;
  // 19 digits fit in 64 unsigned bits; a longer one (leading zeros) is the JavaScript side's (BigInt).
  // Snowflake-style bigint keys have 19 digits: the module takes them.
  while (is_digit(b[p]) && p - from < 19) magnitude = magnitude * 10 + (uint64_t)(b[p++] - '0');
  if (p == from || !value_ends(b[p], copy_text)) return -1;
  int32_t count = p - from;
  int32_t u = *used;
  if (kind == KIND_INT8) {
    if (magnitude > (negative ? 9223372036854775808ULL : 9223372036854775807ULL)) return -1;
    put32(out + u, 8);
    put64(out + u + 4, negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude);
    *used = u + 12;
    return p;
  }
  // Digits counted as the JavaScript side counts them (leading zeros too): int4 takes at most 10, int2 5.
  if (count > 10) return -1;
  int64_t n = negative ? -(int64_t)magnitude : (int64_t)magnitude;
  if (kind == KIND_INT4) {
    if (n > 2147483647LL || n < -2147483648LL) return -1;
    put32(out + u, 4);
    put32(out + u + 4, (int32_t)n);
    *used = u + 8;
  } else {
    if (count > 5 || n > 32767 || n < -32768) return -1;
    put32(out + u, 2);
    put16(out + u + 4, (int32_t)n);
    *used = u + 6;
  }
  return p;
}

/* A plain decimal `-?[0-9]+(\.[0-9]+)?` as numeric's base-10000 groups (copy-binary-encoders.ts encodeNumeric). */
static inline int32_t numeric_value(const uint8_t *b, int32_t p, uint8_t *out, int32_t *used, int copy_text) {
  int negative = b[p] == '-';
  if (negative) p++;
  int32_t int_from = p;
  while (is_digit(b[p])) p++;
  int32_t int_to = p;
  int32_t frac_from = p;
  int32_t frac_to = p;
  if (b[p] == '.') {
    frac_from = ++p;
    while (is_digit(b[p])) p++;
    frac_to = p;
    if (frac_to == frac_from) return -1;
  }
  if (int_to == int_from || !value_ends(b[p], copy_text)) return -1;
  int32_t lead = int_from;
  while (lead < int_to && b[lead] == '0') lead++;
  int32_t dscale = frac_to - frac_from;
  if (dscale > 0x3fff) return -1;
  int32_t int_digits = int_to - lead;
  int32_t at = *used;
  uint8_t *digits_at = out + at + 12;
  int32_t weight = (int_digits + 3) / 4 - 1;
  int32_t count = 0;
  int32_t last_non_zero = 0;
  int32_t group = 0;
  int32_t in_group = (4 - (int_digits % 4)) % 4;
  int32_t total = int_digits + dscale;
  for (int32_t k = 0; k < total; k++) {
    int32_t digit_at = k < int_digits ? lead + k : frac_from + (k - int_digits);
    group = group * 10 + (b[digit_at] - '0');
    if (++in_group == 4 || k == total - 1) {
      for (; in_group < 4; in_group++) group *= 10;
      if (count == 0 && group == 0) weight--;
      else {
        put16(digits_at + count * 2, group);
        count++;
        if (group != 0) last_non_zero = count;
      }
      group = 0;
      in_group = 0;
    }
  }
  count = last_non_zero;
  put32(out + at, 8 + count * 2);
  put16(out + at + 4, count);
  put16(out + at + 6, count == 0 ? 0 : weight);
  put16(out + at + 8, count == 0 || !negative ? 0x0000 : 0x4000);
  put16(out + at + 10, dscale);
  *used = at + 12 + count * 2;
  return p;
}

/* The 36 characters of a uuid (either case) at q as its 16 bytes: 0, or -1. */
static inline int32_t uuid_bytes(const uint8_t *b, int32_t q, uint8_t *out, int32_t *used) {
  if (b[q + 8] != '-' || b[q + 13] != '-' || b[q + 18] != '-' || b[q + 23] != '-') return -1;
  int32_t u = *used;
  put32(out + u, 16);
  u += 4;
  int32_t from = q;
  for (int k = 0; k < 16; k++) {
    if (q == from + 8 || q == from + 13 || q == from + 18 || q == from + 23) q++;
    int h = hex_value(b[q]);
    int l = hex_value(b[q + 1]);
    if (h < 0 || l < 0) return -1;
    out[u++] = (uint8_t)((h << 4) | l);
    q += 2;
  }
  *used = u;
  return 0;
}

/* A uuid as its 16 bytes: a JSON string, or a COPY text field. */
static inline int32_t uuid_value(const uint8_t *b, int32_t p, uint8_t *out, int32_t *used, int copy_text) {
  if (copy_text) return value_ends(b[p + 36], 1) && uuid_bytes(b, p, out, used) == 0 ? p + 36 : -1;
  if (b[p] != '"' || b[p + 37] != '"' || uuid_bytes(b, p + 1, out, used) < 0) return -1;
  return p + 38;
}

/*
 * bytea in its hex output as its bytes: `"\\x0a1b"` in the JSON, `\\x0a1b` in COPY text (the output's
 * backslash escaped in both); the escape output is given back.
 */
static inline int32_t bytea_value(const uint8_t *b, int32_t p, int32_t line_end, uint8_t *out, int32_t *used, int copy_text) {
  if (!copy_text && b[p++] != '"') return -1;
  if (b[p] != '\\' || b[p + 1] != '\\' || b[p + 2] != 'x') return -1;
  int32_t q = p + 3;
  int32_t length_at = *used;
  int32_t u = length_at + 4;
  for (;;) {
    if (copy_text && value_ends(b[q], 1)) break;
    if (q >= line_end) return -1;
    if (!copy_text && b[q] == '"') break;
    int h = hex_value(b[q]);
    int l = hex_value(b[q + 1]);
    if (h < 0 || l < 0) return -1;
    out[u++] = (uint8_t)((h << 4) | l);
    q += 2;
  }
  put32(out + length_at, u - length_at - 4);
  *used = u;
  return copy_text ? q : q + 1;
}

/* Days in a month of a year from 1. */
static inline int32_t days_in_month(int32_t year, int32_t month) {
  if (month != 2) return month == 4 || month == 6 || month == 9 || month == 11 ? 30 : 31;
  return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28;
}

/* Days since 1970-01-01 of a proleptic Gregorian date of a year from 1 (copy-binary-encoders.ts daysFromCivil; C's division truncates, so only for y >= 0). */
static inline int32_t days_from_civil(int32_t year, int32_t month, int32_t day) {
  int32_t y = month <= 2 ? year - 1 : year;
  int32_t era = y / 400;
  int32_t yoe = y - era * 400;
  int32_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/*
 * `"YYYY-MM-DD"` (date) or `"YYYY-MM-DDTHH:MM:SS[.ffffff][±HH[:MM[:SS]]]"` (the zone for timestamptz
 * only), AD; in COPY text the same without the quotes and with a space for the `T`.
 */
static inline int32_t datetime_value(const uint8_t *b, int32_t p, uint8_t *out, int32_t *used, int kind, int copy_text) {
  if (!copy_text && b[p] != '"') return -1;
  int32_t q = copy_text ? p : p + 1;
  int32_t century = two_digits(b, q);
  int32_t years = two_digits(b, q + 2);
  if (century < 0 || years < 0 || b[q + 4] != '-' || b[q + 7] != '-') return -1;
  int32_t year = century * 100 + years;
  // Year 0 (which PostgreSQL never writes: 1 BC is `0001-… BC`) would need floor division below.
  if (year == 0) return -1;
  int32_t month = two_digits(b, q + 5);
  int32_t day = two_digits(b, q + 8);
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return -1;
  q += 10;
  int64_t seconds = 0;
  int32_t micros = 0;
  int32_t offset = 0;
  if (kind != KIND_DATE) {
    if (b[q] != (copy_text ? ' ' : 'T') || b[q + 3] != ':' || b[q + 6] != ':') return -1;
    int32_t hour = two_digits(b, q + 1);
    int32_t minute = two_digits(b, q + 4);
    int32_t second = two_digits(b, q + 7);
    // No hour 24 and no leap second: PostgreSQL writes neither (copy-binary-encoders.ts refuses them).
    if (hour < 0 || minute < 0 || second < 0 || hour > 23 || minute > 59 || second > 59) return -1;
    seconds = hour * 3600 + minute * 60 + second;
    q += 9;
    if (b[q] == '.') {
      q++;
      int32_t places = 0;
      while (is_digit(b[q])) {
        if (++places > 6) return -1;
        micros = micros * 10 + (b[q++] - '0');
      }
      if (places == 0) return -1;
      for (; places < 6; places++) micros *= 10;
    }
    if (b[q] == '+' || b[q] == '-') {
      if (kind == KIND_TIMESTAMP) return -1;
      int32_t sign = b[q] == '-' ? -1 : 1;
      int32_t oh = two_digits(b, q + 1);
      if (oh < 0) return -1;
      q += 3;
      int32_t om = 0;
      int32_t os = 0;
      if (b[q] == ':') {
        om = two_digits(b, q + 1);
        q += 3;
        if (om >= 0 && b[q] == ':') {
          os = two_digits(b, q + 1);
          q += 3;
        }
      }
      if (om < 0 || os < 0 || oh > 15 || om > 59 || os > 59) return -1;
      offset = sign * (oh * 3600 + om * 60 + os);
    }
  }
  if (copy_text ? !value_ends(b[q], 1) : b[q] != '"') return -1;
  int32_t days = days_from_civil(year, month, day) - 10957;
  int32_t u = *used;
  if (kind == KIND_DATE) {
    put32(out + u, 4);
    put32(out + u + 4, days);
    *used = u + 8;
  } else {
    int64_t total = (int64_t)days * 86400 + seconds - offset;
    put32(out + u, 8);
    put64(out + u + 4, total * 1000000 + micros);
    *used = u + 12;
  }
  return copy_text ? q : q + 1;
}

/* A boolean: `true`/`false` in JSON, `t`/`f` in COPY text. */
static inline int32_t bool_value(const uint8_t *b, int32_t p, uint8_t *out, int32_t *used, int copy_text) {
  int32_t u = *used;
  put32(out + u, 1);
  uint8_t c = b[p];
  int32_t after;
  if (copy_text) after = (c == 't' || c == 'f') && value_ends(b[p + 1], 1) ? p + 1 : -1;
  else if (c == 't') after = b[p + 1] == 'r' && b[p + 2] == 'u' && b[p + 3] == 'e' ? p + 4 : -1;
  else after = c == 'f' && b[p + 1] == 'a' && b[p + 2] == 'l' && b[p + 3] == 's' && b[p + 4] == 'e' ? p + 5 : -1;
  if (after < 0) return -1;
  out[u + 4] = c == 't';
  *used = u + 5;
  return after;
}

/* A tab, a backslash, the line's newline and a carriage return (never raw in COPY TO's text; given back): where a COPY text field's plain run stops. */
static inline unsigned copy_text_stops(bytes16 v) {
  return mask_of((bytes16)((v == (bytes16){0} + '\t') | (v == (bytes16){0} + '\\') | (v == (bytes16){0} + '\n') | (v == (bytes16){0} + '\r')));
}

/*
 * A COPY text field as text (json, jsonb with its version byte): its bytes with the escapes COPY
 * writes (`\b \f \n \r \t \v \\`) undone; any other backslash sequence (octal, `\x`, `\N` inside a
 * value), which COPY TO does not write, is given back. Returns the index of the tab or newline after it.
 */
static inline int32_t copy_text_string(const uint8_t *b, int32_t p, int32_t line_end, uint8_t *out, int32_t *used, int jsonb) {
  int32_t length_at = *used;
  int32_t u = length_at + 4;
  if (jsonb) out[u++] = 1;
  for (;;) {
    p = copy_to_stop(b, p, out, &u, copy_text_stops);
    if (p >= line_end || b[p] == '\t') break;
    if (b[p] == '\r') return -1;
    int32_t unescaped = escaped_byte(b[p + 1], 1);
    if (unescaped < 0) return -1;
    out[u++] = (uint8_t)unescaped;
    p += 2;
  }
  put32(out + length_at, u - length_at - 4);
  *used = u;
  return p;
}

/*
 * One value of the column's kind at p, written with its length: the index after it, or -1. An
 * NDJSON row's value (`copy_text` 0) or a COPY text field (1, `\N` for NULL; no arrays).
 */
static inline int32_t value(const uint8_t *b, int32_t p, int32_t line_end, uint8_t *out, int32_t *used, int kind, int copy_text) {
  uint8_t c = b[p];
  if (copy_text ? c == '\\' && b[p + 1] == 'N' && value_ends(b[p + 2], 1) : c == 'n') {
    if (!copy_text && (b[p + 1] != 'u' || b[p + 2] != 'l' || b[p + 3] != 'l')) return -1;
    put32(out + *used, -1);
    *used += 4;
    return copy_text ? p + 2 : p + 4;
  }
  switch (kind) {
    case KIND_TEXT:
    case KIND_JSON:
      return copy_text ? copy_text_string(b, p, line_end, out, used, 0) : string_value(b, p, line_end, out, used, 0);
    case KIND_JSONB:
      return copy_text ? copy_text_string(b, p, line_end, out, used, 1) : string_value(b, p, line_end, out, used, 1);
    case KIND_BOOL:
      return bool_value(b, p, out, used, copy_text);
    case KIND_INT2:
    case KIND_INT4:
    case KIND_INT8:
      return integer_value(b, p, out, used, kind, copy_text);
    case KIND_NUMERIC:
      return numeric_value(b, p, out, used, copy_text);
    case KIND_UUID:
      return uuid_value(b, p, out, used, copy_text);
    case KIND_TIMESTAMPTZ:
    case KIND_TIMESTAMP:
    case KIND_DATE:
      return datetime_value(b, p, out, used, kind, copy_text);
    case KIND_TEXT_ARRAY:
      return copy_text ? -1 : array_value(b, p, line_end, out, used, 25);
    case KIND_VARCHAR_ARRAY:
      return copy_text ? -1 : array_value(b, p, line_end, out, used, 1043);
    case KIND_BYTEA:
      return bytea_value(b, p, line_end, out, used, copy_text);
    default:
      return -1;
  }
}

/* The row of the NDJSON line b[p, line_end) as its binary COPY tuple at out[u]: where the tuple ends, or -1. */
static inline int32_t convert_row(const uint8_t *b, int32_t p, int32_t line_end, uint8_t *out, int32_t u, const uint8_t *keys, const int32_t *key_lengths, const uint8_t *kinds, int32_t count) {
  if (b[p] != '{') return -1;
  p++;
  put16(out + u, count);
  u += 2;
  const uint8_t *key = keys;
  for (int32_t i = 0; i < count; i++) {
    p = member_key_end(b, p, line_end, key, key_lengths[i], i == 0);
    if (p < 0) return -1;
    key += key_lengths[i];
    p = value(b, p, line_end, out, &u, kinds[i], 0);
    if (p < 0 || p >= line_end) return -1;
  }
  return b[p] == '}' && p + 1 == line_end ? u : -1;
}

/* The row of the COPY text line b[p, line_end) (`count` fields, at least one) as its binary COPY tuple at out[u]: where the tuple ends, or -1. */
static inline int32_t convert_copy_row(const uint8_t *b, int32_t p, int32_t line_end, uint8_t *out, int32_t u, const uint8_t *kinds, int32_t count) {
  put16(out + u, count);
  u += 2;
  for (int32_t i = 0; i < count; i++) {
    if (i > 0 && b[p++] != '\t') return -1;
    p = value(b, p, line_end, out, &u, kinds[i], 1);
    if (p < 0 || p > line_end) return -1;
  }
  return p == line_end ? u : -1;
}

/* The index of the next newline at or after p, or `end` when there is none before it (the caller loads whole lines). */
static inline int32_t line_end_from(const uint8_t *b, int32_t p, int32_t end) {
  const bytes16 newline = (bytes16){0} + '\n';
  for (; p < end; p += 16) {
    unsigned stops = mask_of((bytes16)(load16(b + p) == newline));
    if (stops) return p + __builtin_ctz(stops);
  }
  return end;
}

static int32_t bytes_needed;

/* convert_rows and convert_copy_rows: the row loop, an NDJSON or a COPY text row at a time. */
static inline int32_t convert_lines(const uint8_t *b, int32_t from, int32_t end, uint8_t *out, int32_t out_room, const uint8_t *keys, const int32_t *key_lengths, const uint8_t *kinds, int32_t count, int32_t bound_per_byte, int32_t bound_per_column, int copy_text) {
  int32_t p = from;
  int32_t u = 0;
  int32_t written_rows = 0;
  int32_t why = STOP_END;
  while (p < end) {
    int32_t line_end = line_end_from(b, p, end);
    if (line_end >= end) {
      why = STOP_GIVE_BACK;
      break;
    }
    int64_t bound = (int64_t)(line_end - p) * bound_per_byte + (int64_t)count * bound_per_column + 2;
    if (bound > out_room - u) {
      why = STOP_OUTPUT_FULL;
      bytes_needed = bound > 0x7fffffff ? 0x7fffffff : (int32_t)bound;
      break;
    }
    int32_t written = copy_text ? convert_copy_row(b, p, line_end, out, u, kinds, count) : convert_row(b, p, line_end, out, u, keys, key_lengths, kinds, count);
    if (written < 0) {
      why = STOP_GIVE_BACK;
      break;
    }
    u = written;
    written_rows++;
    p = line_end + 1;
  }
  return stopped(p, why, written_rows, u);
}

/*
 * Converts the NDJSON lines of b[from, end) (whole lines: b[end - 1] is a newline) into
 * out[0, out_room), row after row, while each line is a row this module writes and its bound (its
 * length times `bound_per_byte`, plus `bound_per_column` per column and 2: NdjsonToCopyBinary's) fits
 * in what is left of the output. Returns the output bytes written; `stop()` gives where it stopped
 * (a line start), `reason()` why (STOP_*), `rows()` how many rows it wrote and, after
 * STOP_OUTPUT_FULL, `needed()` the bound of the line it stopped at.
 */
__attribute__((export_name("convert_rows")))
int32_t convert_rows(const uint8_t *b, int32_t from, int32_t end, uint8_t *out, int32_t out_room, const uint8_t *keys, const int32_t *key_lengths, const uint8_t *kinds, int32_t count, int32_t bound_per_byte, int32_t bound_per_column) {
  return convert_lines(b, from, end, out, out_room, keys, key_lengths, kinds, count, bound_per_byte, bound_per_column, 0);
}

/* convert_rows for COPY text lines (`count` of at least one field each; the keys are not used). */
__attribute__((export_name("convert_copy_rows")))
int32_t convert_copy_rows(const uint8_t *b, int32_t from, int32_t end, uint8_t *out, int32_t out_room, const uint8_t *kinds, int32_t count, int32_t bound_per_byte, int32_t bound_per_column) {
  return convert_lines(b, from, end, out, out_room, 0, 0, kinds, count, bound_per_byte, bound_per_column, 1);
}

__attribute__((export_name("needed")))
int32_t needed(void) { return bytes_needed; }
