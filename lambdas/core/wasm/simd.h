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

#endif
