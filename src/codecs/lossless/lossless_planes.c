/* Byte planes of fixed-size elements. Floats are first rotated left by one
 * bit so that the sign lands in bit 0: the top plane then holds the
 * exponent byte-aligned (bf16, f32: the 8 exponent bits; f16: 5 exponent
 * bits + 3 mantissa bits; f64: the top 8 exponent bits). */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/cpu.h"
#include "codecs/lossless/lossless.h"

static inline uint16_t rotl16(uint16_t v) { return (uint16_t)((v << 1) | (v >> 15)); }
static inline uint16_t rotr16(uint16_t v) { return (uint16_t)((v >> 1) | (v << 15)); }

static void split2(const uint8_t *src, size_t n, int rotate, uint8_t *p0, uint8_t *p1)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i lo = _mm_set1_epi16(0xff);
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + 2 * i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + 2 * i + 16));
        if (rotate) {
            a = _mm_or_si128(_mm_slli_epi16(a, 1), _mm_srli_epi16(a, 15));
            b = _mm_or_si128(_mm_slli_epi16(b, 1), _mm_srli_epi16(b, 15));
        }
        _mm_storeu_si128((__m128i *)(p0 + i), _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8)));
        _mm_storeu_si128((__m128i *)(p1 + i), _mm_packus_epi16(_mm_and_si128(a, lo), _mm_and_si128(b, lo)));
    }
#endif
    for (; i < n; i++) {
        uint16_t v = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8));
        if (rotate) v = rotl16(v);
        p0[i] = (uint8_t)(v >> 8);
        p1[i] = (uint8_t)v;
    }
}

static void merge2(const uint8_t *p0, const uint8_t *p1, size_t n, int rotate, uint8_t *dst)
{
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        _mm_prefetch((const char *)(p1 + i + 1024), _MM_HINT_T0); /* a raw plane is read from the cold payload */
        __builtin_prefetch(dst + 2 * i + 2048, 1);                  /* and the output is cold */
        __m128i h = _mm_loadu_si128((const __m128i *)(p0 + i)), l = _mm_loadu_si128((const __m128i *)(p1 + i));
        __m128i a = _mm_unpacklo_epi8(l, h), b = _mm_unpackhi_epi8(l, h);
        if (rotate) {
            a = _mm_or_si128(_mm_srli_epi16(a, 1), _mm_slli_epi16(a, 15));
            b = _mm_or_si128(_mm_srli_epi16(b, 1), _mm_slli_epi16(b, 15));
        }
        _mm_storeu_si128((__m128i *)(dst + 2 * i), a);
        _mm_storeu_si128((__m128i *)(dst + 2 * i + 16), b);
    }
#endif
    for (; i < n; i++) {
        uint16_t v = (uint16_t)((p0[i] << 8) | p1[i]);
        if (rotate) v = rotr16(v);
        dst[2 * i] = (uint8_t)v;
        dst[2 * i + 1] = (uint8_t)(v >> 8);
    }
}

static void split4(const uint8_t *src, size_t n, int rotate, uint8_t *const *p)
{
    size_t i = 0;
#ifdef __SSE2__
    const __m128i lo16 = _mm_set1_epi16(0xff), lo32 = _mm_set1_epi32(0xffff);
    for (; i + 16 <= n; i += 16) {
        __m128i v[4], w[2][2];
        for (int k = 0; k < 4; k++) {
            v[k] = _mm_loadu_si128((const __m128i *)(src + 4 * i + 16 * k));
            if (rotate) v[k] = _mm_or_si128(_mm_slli_epi32(v[k], 1), _mm_srli_epi32(v[k], 31));
        }
        /* 32 -> two 16-bit halves (signed pack is safe: values < 2^15 after masking? no: use shifts) */
        for (int k = 0; k < 2; k++) {
            __m128i a = v[2 * k], b = v[2 * k + 1];
            /* high halves */
            __m128i ah = _mm_srai_epi32(_mm_slli_epi32(_mm_srli_epi32(a, 16), 16), 16);
            __m128i bh = _mm_srai_epi32(_mm_slli_epi32(_mm_srli_epi32(b, 16), 16), 16);
            __m128i al = _mm_srai_epi32(_mm_slli_epi32(_mm_and_si128(a, lo32), 16), 16);
            __m128i bl = _mm_srai_epi32(_mm_slli_epi32(_mm_and_si128(b, lo32), 16), 16);
            w[k][0] = _mm_packs_epi32(ah, bh); /* 8 high u16 */
            w[k][1] = _mm_packs_epi32(al, bl); /* 8 low u16 */
        }
        for (int h = 0; h < 2; h++) {
            __m128i a = w[0][h], b = w[1][h];
            _mm_storeu_si128((__m128i *)(p[2 * h] + i), _mm_packus_epi16(_mm_srli_epi16(a, 8), _mm_srli_epi16(b, 8)));
            _mm_storeu_si128((__m128i *)(p[2 * h + 1] + i), _mm_packus_epi16(_mm_and_si128(a, lo16), _mm_and_si128(b, lo16)));
        }
    }
#endif
    for (; i < n; i++) {
        uint32_t v;
        memcpy(&v, src + 4 * i, 4); /* little-endian hosts only (checked in the build) */
        if (rotate) v = (v << 1) | (v >> 31);
        p[0][i] = (uint8_t)(v >> 24);
        p[1][i] = (uint8_t)(v >> 16);
        p[2][i] = (uint8_t)(v >> 8);
        p[3][i] = (uint8_t)v;
    }
}

static void merge4(const uint8_t *const *p, size_t n, int rotate, uint8_t *dst)
{
    size_t i = 0;
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        for (int k = 1; k < 4; k++) _mm_prefetch((const char *)(p[k] + i + 1024), _MM_HINT_T0); /* raw planes */
        __builtin_prefetch(dst + 4 * i + 4096, 1);
        __builtin_prefetch(dst + 4 * i + 4096 + 64, 1);
        __m128i b0 = _mm_loadu_si128((const __m128i *)(p[0] + i)), b1 = _mm_loadu_si128((const __m128i *)(p[1] + i));
        __m128i b2 = _mm_loadu_si128((const __m128i *)(p[2] + i)), b3 = _mm_loadu_si128((const __m128i *)(p[3] + i));
        __m128i h0 = _mm_unpacklo_epi8(b1, b0), h1 = _mm_unpackhi_epi8(b1, b0); /* high u16 */
        __m128i l0 = _mm_unpacklo_epi8(b3, b2), l1 = _mm_unpackhi_epi8(b3, b2); /* low u16 */
        __m128i v[4] = {_mm_unpacklo_epi16(l0, h0), _mm_unpackhi_epi16(l0, h0), _mm_unpacklo_epi16(l1, h1),
                        _mm_unpackhi_epi16(l1, h1)};
        for (int k = 0; k < 4; k++) {
            if (rotate) v[k] = _mm_or_si128(_mm_srli_epi32(v[k], 1), _mm_slli_epi32(v[k], 31));
            _mm_storeu_si128((__m128i *)(dst + 4 * i + 16 * k), v[k]);
        }
    }
#endif
    for (; i < n; i++) {
        uint32_t v = ((uint32_t)p[0][i] << 24) | ((uint32_t)p[1][i] << 16) | ((uint32_t)p[2][i] << 8) | p[3][i];
        if (rotate) v = (v >> 1) | (v << 31);
        memcpy(dst + 4 * i, &v, 4);
    }
}

static void split8(const uint8_t *src, size_t n, int rotate, uint8_t *const *p)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, src + 8 * i, 8);
        if (rotate) v = (v << 1) | (v >> 63);
        for (int k = 0; k < 8; k++) p[k][i] = (uint8_t)(v >> (56 - 8 * k));
    }
}

static void merge8(const uint8_t *const *p, size_t n, int rotate, uint8_t *dst)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t v = 0;
        for (int k = 0; k < 8; k++) v |= (uint64_t)p[k][i] << (56 - 8 * k);
        if (rotate) v = (v >> 1) | (v << 63);
        memcpy(dst + 8 * i, &v, 8);
    }
}

void tp_ll_split(const uint8_t *src, size_t n, unsigned elem, int rotate, uint8_t *const *p)
{
    switch (elem) {
    case 1: memcpy(p[0], src, n); break;
    case 2: split2(src, n, rotate, p[0], p[1]); break;
    case 4: split4(src, n, rotate, p); break;
    default: split8(src, n, rotate, p); break;
    }
}

void tp_ll_merge(const uint8_t *const *p, size_t n, unsigned elem, int rotate, uint8_t *dst)
{
    switch (elem) {
    case 1: memcpy(dst, p[0], n); break;
    case 2: merge2(p[0], p[1], n, rotate, dst); break;
    case 4: merge4(p, n, rotate, dst); break;
    default: merge8(p, n, rotate, dst); break;
    }
}
