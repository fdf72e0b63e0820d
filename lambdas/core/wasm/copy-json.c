/*
 * The backup's COPY-text-to-JSON writer for the rows that make up nearly all of a shop's data,
 * compiled to WebAssembly with 128-bit SIMD (bin/build-wasm.mjs; embedded in copy-json.wasm.ts).
 * It reads the CopyData messages of `COPY … TO STDOUT` (text) and writes each row as the JSON line
 * postgres/copy-text-json.ts `CopyTextToJson.convert` writes for it, byte for byte. It handles only
 * the common forms: a string field without escapes other than COPY's `\\ \b \f \n \r \t \v`, a
 * number that is not NaN or an infinity, t/f, NULL, and a timestamp in the form
 * `YYYY-MM-DD HH:MM:SS[.f]` with (timestamptz) a `+HH`/`-HH` zone and no ` BC`. At any other
 * message or field it stops, and the caller hands that message to the JavaScript writer, which
 * writes it or refuses it (so whatever is written is the JavaScript writer's answer).
 *
 * Reads run up to 16 bytes past the input's end and writes up to 16 bytes past the output's end
 * (vector loads and stores): the caller leaves that much slack after both regions. Every field
 * scan stops at the row's newline (a control character), which the message's length puts in place.
 */
#include "converter.h"
#include "simd.h"

/* Copies n bytes, 16 at a time: may write up to 15 bytes past out + n. */
static inline void copy_over(uint8_t *out, const uint8_t *in, int32_t n) {
  for (int32_t k = 0; k < n; k += 16) store16(out + k, load16(in + k));
}

enum { KIND_STRING = 0, KIND_NUMBER = 1, KIND_BOOL = 2, KIND_TIMESTAMP = 3, KIND_TIMESTAMPTZ = 4 };

static const uint8_t HEX[16] = "0123456789abcdef";

/* Where the last field ended (its tab or the row's newline); -1 from a writer means "give back". */
static int32_t field_stop;

static inline int32_t unicode_escape(uint8_t *out, int32_t u, uint8_t c) {
  out[u] = '\\';
  out[u + 1] = 'u';
  out[u + 2] = '0';
  out[u + 3] = '0';
  out[u + 4] = HEX[c >> 4];
  out[u + 5] = HEX[c & 15];
  return u + 6;
}

/* `"`, `\\` and control characters (the field's tab and the row's newline among them). */
static inline unsigned text_stops(bytes16 v) {
  return mask_of((bytes16)((v == (bytes16){0} + '"') | (v == (bytes16){0} + '\\') | (bytes16)(v < (bytes16){0} + 0x20)));
}

/* A text field as escape_json writes it (copy-text-json.ts writeString). */
static inline int32_t write_string(const uint8_t *src, int32_t p, uint8_t *out, int32_t u) {
  out[u++] = '"';
  for (;;) {
    p = copy_to_stop(src, p, out, &u, text_stops);
    uint8_t c = src[p];
    if (c == '\t' || c == '\n') break;
    if (c == '"') {
      out[u] = '\\';
      out[u + 1] = '"';
      u += 2;
      p++;
    } else if (c == '\\') {
      uint8_t e = src[p + 1];
      if (e == '\\' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
        out[u] = '\\';
        out[u + 1] = e;
        u += 2;
      } else if (e == 'v') u = unicode_escape(out, u, 0x0b);
      else return -1;
      p += 2;
    } else {
      u = unicode_escape(out, u, c);
      p++;
    }
  }
  out[u++] = '"';
  field_stop = p;
  return u;
}

/* A number as its output function wrote it; NaN and the infinities (written quoted) are given back. */
static inline int32_t write_number(const uint8_t *src, int32_t p, uint8_t *out, int32_t u) {
  uint8_t c = src[p];
  if (c == 'N' || c == 'I' || (c == '-' && src[p + 1] == 'I')) return -1;
  const bytes16 space = (bytes16){0} + 0x20;
  int32_t from = u;
  for (;;) {
    bytes16 v = load16(src + p);
    store16(out + u, v);
    unsigned stops = mask_of((bytes16)(v < space));
    if (stops) {
      int32_t n = __builtin_ctz(stops);
      p += n;
      u += n;
      break;
    }
    p += 16;
    u += 16;
  }
  if (u == from) return -1;
  field_stop = p;
  return u;
}

/* `YYYY-MM-DD HH:MM:SS[.f]` (+ `±HH` with a zone) as `"YYYY-MM-DDTHH:MM:SS[.f][±HH:00]"`; other forms given back. */
static inline int32_t write_timestamp(const uint8_t *src, int32_t p, uint8_t *out, int32_t u, int with_zone) {
  const bytes16 tab = (bytes16){0} + '\t';
  const bytes16 newline = (bytes16){0} + '\n';
  int32_t stop = p;
  for (;;) {
    bytes16 v = load16(src + stop);
    unsigned stops = mask_of((bytes16)((v == tab) | (v == newline)));
    if (stops) {
      stop += __builtin_ctz(stops);
      break;
    }
    stop += 16;
  }
  if (stop - p < 19 || src[p + 4] != '-' || src[p + 7] != '-' || src[p + 10] != ' ' || src[p + 13] != ':' || src[p + 16] != ':') return -1;
  /* The date's eight digits, as the JavaScript fast path asks (copy-text-json.ts isoDateDigits). */
  if (!is_digit(src[p]) || !is_digit(src[p + 1]) || !is_digit(src[p + 2]) || !is_digit(src[p + 3]) || !is_digit(src[p + 5]) || !is_digit(src[p + 6]) || !is_digit(src[p + 8]) || !is_digit(src[p + 9])) return -1;
  uint8_t sign = src[stop - 3];
  if (src[stop - 1] == 'C' || (with_zone && sign != '+' && sign != '-')) return -1;
  out[u] = '"';
  store16(out + u + 1, load16(src + p));
  out[u + 11] = 'T';
  copy_over(out + u + 12, src + p + 11, stop - (p + 11));
  u += 12 + stop - (p + 11);
  if (with_zone) {
    out[u] = ':';
    out[u + 1] = '0';
    out[u + 2] = '0';
    u += 3;
  }
  out[u++] = '"';
  field_stop = stop;
  return u;
}

/*
 * The row src[start, end) (a CopyData payload, its newline included) as its JSON line at out[u];
 * returns where the line ends, or -1 to give the row back.
 */
static inline int32_t convert_row(const uint8_t *src, int32_t start, int32_t end, uint8_t *out, int32_t u, const uint8_t *keys, const int32_t *key_lengths, const uint8_t *kinds, int32_t count) {
  if (end <= start || src[end - 1] != '\n' || count == 0) return -1;
  int32_t p = start;
  const uint8_t *key = keys;
  for (int32_t i = 0; i < count; i++) {
    int32_t length = key_lengths[i];
    copy_over(out + u, key, length);
    u += length;
    key += length;
    if (src[p] == '\\' && src[p + 1] == 'N' && (src[p + 2] == '\t' || src[p + 2] == '\n')) {
      out[u] = 'n';
      out[u + 1] = 'u';
      out[u + 2] = 'l';
      out[u + 3] = 'l';
      u += 4;
      p += 2;
    } else {
      switch (kinds[i]) {
        case KIND_STRING:
          u = write_string(src, p, out, u);
          break;
        case KIND_NUMBER:
          u = write_number(src, p, out, u);
          break;
        case KIND_BOOL: {
          uint8_t c = src[p];
          if (c == 't') {
            out[u] = 't';
            out[u + 1] = 'r';
            out[u + 2] = 'u';
            out[u + 3] = 'e';
            u += 4;
          } else if (c == 'f') {
            out[u] = 'f';
            out[u + 1] = 'a';
            out[u + 2] = 'l';
            out[u + 3] = 's';
            out[u + 4] = 'e';
            u += 5;
          } else return -1;
          field_stop = p + 1;
          break;
        }
        case KIND_TIMESTAMP:
        case KIND_TIMESTAMPTZ:
          u = write_timestamp(src, p, out, u, kinds[i] == KIND_TIMESTAMPTZ);
          break;
        default:
          return -1;
      }
      if (u < 0) return -1;
      p = field_stop;
    }
    uint8_t separator = src[p];
    if (i < count - 1 ? separator != '\t' : separator != '\n' || p + 1 != end) return -1;
    p++;
  }
  out[u] = '}';
  out[u + 1] = '\n';
  return u + 2;
}


/*
 * Converts the CopyData messages of in[from, end) into out[0, out_room), row after row, while each
 * message is whole, is CopyData, holds a row this module writes, and its bound (`bound_fixed` +
 * `bound_per_byte` per payload byte: CopyTextToJson.maxBytes) fits in what is left of the output.
 * Returns the output bytes written; `stop()` gives where it stopped in `in` (a message start),
 * `reason()` why (STOP_*), `rows()` how many rows it wrote.
 */
__attribute__((export_name("convert_rows")))
int32_t convert_rows(const uint8_t *in, int32_t from, int32_t end, uint8_t *out, int32_t out_room, const uint8_t *keys, const int32_t *key_lengths, const uint8_t *kinds, int32_t count, int32_t bound_fixed, int32_t bound_per_byte) {
  int32_t p = from;
  int32_t u = 0;
  int32_t written_rows = 0;
  int32_t why = STOP_END;
  while (p + 5 <= end) {
    if (in[p] != 'd') {
      why = STOP_GIVE_BACK;
      break;
    }
    uint32_t length = ((uint32_t)in[p + 1] << 24) | ((uint32_t)in[p + 2] << 16) | ((uint32_t)in[p + 3] << 8) | (uint32_t)in[p + 4];
    if (length < 4) {
      why = STOP_GIVE_BACK;
      break;
    }
    if (length > (uint32_t)(end - p - 1)) break;
    int32_t next = p + 1 + (int32_t)length;
    int32_t payload = (int32_t)length - 4;
    if ((int64_t)bound_fixed + (int64_t)bound_per_byte * payload > (int64_t)(out_room - u)) {
      why = STOP_OUTPUT_FULL;
      break;
    }
    int32_t written = convert_row(in, p + 5, next, out, u, keys, key_lengths, kinds, count);
    if (written < 0) {
      why = STOP_GIVE_BACK;
      break;
    }
    u = written;
    written_rows++;
    p = next;
  }
  return stopped(p, why, written_rows, u);
}
