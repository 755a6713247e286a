/* Byte planes of fixed-size elements. Floats are first rotated left by one
 * bit so that the sign lands in bit 0: the top plane then holds the
 * exponent byte-aligned (bf16, f32: the 8 exponent bits; f16: 5 exponent
 * bits + 3 mantissa bits; f64: the top 8 exponent bits). */
#include <string.h>

#include "core/cpu.h"
#include "codecs/lossless.h"

static inline uint16_t rotl16(uint16_t v) { return (uint16_t)((v << 1) | (v >> 15)); }
static inline uint16_t rotr16(uint16_t v) { return (uint16_t)((v >> 1) | (v << 15)); }

static void split2(const uint8_t *src, size_t n, int rotate, uint8_t *p0, uint8_t *p1)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t v = (uint16_t)(src[2 * i] | (src[2 * i + 1] << 8));
        if (rotate) v = rotl16(v);
        p0[i] = (uint8_t)(v >> 8);
        p1[i] = (uint8_t)v;
    }
}

static void merge2(const uint8_t *p0, const uint8_t *p1, size_t n, int rotate, uint8_t *dst)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t v = (uint16_t)((p0[i] << 8) | p1[i]);
        if (rotate) v = rotr16(v);
        dst[2 * i] = (uint8_t)v;
        dst[2 * i + 1] = (uint8_t)(v >> 8);
    }
}

static void split4(const uint8_t *src, size_t n, int rotate, uint8_t *const *p)
{
    for (size_t i = 0; i < n; i++) {
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
    for (size_t i = 0; i < n; i++) {
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
