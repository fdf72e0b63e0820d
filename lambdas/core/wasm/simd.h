/*
 * What the modules of this folder share: 16-byte vectors (WebAssembly's 128-bit SIMD; SSE2 when a
 * source is compiled for the host to debug it), and the comparison of a row's key with the
 * table's. Included by each .c; bin/build-wasm.mjs hashes it with each source.
 */
#ifndef ICONIC_DR_SIMD_H
#define ICONIC_DR_SIMD_H

#include <stdint.h>

typedef uint8_t bytes16 __attribute__((vector_size(16), aligned(1)));

#if defined(__wasm__)
#include <wasm_simd128.h>
static inline unsigned mask_of(bytes16 m) { return wasm_i8x16_bitmask((v128_t)m); }
#else
#include <emmintrin.h>
static inline unsigned mask_of(bytes16 m) { return (unsigned)_mm_movemask_epi8((__m128i)m); }
#endif

static inline bytes16 load16(const uint8_t *p) {
  bytes16 v;
  __builtin_memcpy(&v, p, 16);
  return v;
}

static inline void store16(uint8_t *p, bytes16 v) { __builtin_memcpy(p, &v, 16); }

static inline int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* Whether the `length` bytes at b + p are the key's, sixteen at a time (both readable 16 bytes past their end). */
static inline int key_matches(const uint8_t *b, int32_t p, const uint8_t *key, int32_t length) {
  int32_t j = 0;
  for (; j + 16 <= length; j += 16)
    if (mask_of((bytes16)(load16(b + p + j) != load16(key + j)))) return 0;
  return j == length || !(mask_of((bytes16)(load16(b + p + j) != load16(key + j))) & ((1u << (length - j)) - 1));
}

/*
 * After a row's previous member (or its `{`, for the first): the `,` unless `first`, then the key's
 * bytes (`"name":`). Returns the index after them, or -1.
 */
static inline int32_t member_key_end(const uint8_t *b, int32_t p, int32_t end, const uint8_t *key, int32_t length, int first) {
  if (!first && b[p++] != ',') return -1;
  if (p + length > end || !key_matches(b, p, key, length)) return -1;
  return p + length;
}

/* Which bytes of a vector end a run of plain bytes (a mask bit per byte). */
typedef unsigned (*vector_stops)(bytes16 v);

/*
 * Copies src[p...] to out[*u...] sixteen bytes at a time up to the first byte `stops` flags (one
 * must come before the readable end); returns its index and leaves *u where it would go. Writes up
 * to 15 bytes past that.
 */
static inline int32_t copy_to_stop(const uint8_t *src, int32_t p, uint8_t *out, int32_t *u, vector_stops stops) {
  int32_t w = *u;
  for (;;) {
    bytes16 v = load16(src + p);
    store16(out + w, v);
    unsigned found = stops(v);
    if (found) {
      int32_t plain = __builtin_ctz(found);
      *u = w + plain;
      return p + plain;
    }
    p += 16;
    w += 16;
  }
}

#endif
